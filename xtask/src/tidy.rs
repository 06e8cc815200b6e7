//! Repository rules that are cheap to check and easy to forget, run as ordinary tests.

use std::{fs, path::Path};

use crate::process::project_root;

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn crate_dirs() -> Vec<std::path::PathBuf> {
    let root = project_root();
    let manifest = read(&root.join("Cargo.toml"));
    let members = manifest.split("members = [").nth(1).unwrap().split(']').next().unwrap();
    members.split(',').map(|m| m.trim().trim_matches('"')).filter(|m| !m.is_empty()).map(|m| root.join(m)).collect()
}

#[test]
fn every_crate_root_starts_with_crate_docs() {
    for dir in crate_dirs() {
        for entry in ["src/lib.rs", "src/main.rs"] {
            let path = dir.join(entry);
            if path.exists() {
                assert!(read(&path).starts_with("//!"), "{} must start with `//!` crate docs", path.display());
            }
        }
    }
}

/// A manifest, parsed (a test failure naming the file when it is not TOML).
fn parse_manifest(text: &str, path: &str) -> toml::Table {
    toml::from_str(text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// One dependency of a manifest: the key it is declared under, the crate it names (`package`
/// when renamed, else the key), and its declaration.
struct Dependency<'a> {
    key: &'a str,
    krate: &'a str,
    spec: &'a toml::Value,
}

/// Every dependency of a manifest, from every dependency table however it is written:
/// `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]` (and `dev_dependencies`,
/// `build_dependencies`), the same under `[target.'cfg(...)'.*]`, and the sub-table form
/// (`[dependencies.regression]`), with renamed entries (`reg = { package = "regression" }`)
/// under the crate they name.
fn dependencies(manifest: &toml::Table) -> Vec<Dependency<'_>> {
    const TABLES: [&str; 5] =
        ["dependencies", "dev-dependencies", "dev_dependencies", "build-dependencies", "build_dependencies"];
    let targets =
        manifest.get("target").and_then(toml::Value::as_table).into_iter().flat_map(|targets| targets.values());
    let scopes = std::iter::once(manifest).chain(targets.filter_map(toml::Value::as_table));
    let mut found = Vec::new();
    for scope in scopes {
        for table in TABLES.iter().filter_map(|name| scope.get(*name).and_then(toml::Value::as_table)) {
            for (key, spec) in table {
                let krate = spec.get("package").and_then(toml::Value::as_str).unwrap_or(key);
                found.push(Dependency { key, krate, spec });
            }
        }
    }
    found
}

/// The dependencies of a manifest not taken from the workspace (`workspace = true`), and
/// whether it has `[lints] workspace = true`.
fn outside_the_workspace(manifest: &toml::Table) -> (Vec<String>, bool) {
    let from_workspace = |value: &toml::Value| value.get("workspace").and_then(toml::Value::as_bool) == Some(true);
    let outside = dependencies(manifest)
        .into_iter()
        .filter(|dependency| !from_workspace(dependency.spec))
        .map(|dependency| dependency.key.to_owned())
        .collect();
    (outside, manifest.get("lints").is_some_and(from_workspace))
}

#[test]
fn every_dependency_comes_from_the_workspace() {
    for dir in crate_dirs() {
        let path = dir.join("Cargo.toml");
        let manifest = parse_manifest(&read(&path), &path.display().to_string());
        let (outside, lints) = outside_the_workspace(&manifest);
        assert!(lints, "{}: add `[lints] workspace = true`", path.display());
        assert!(outside.is_empty(), "{}: {outside:?} must use `workspace = true`", path.display());
    }
    // Every way of writing a dependency is seen.
    let manifest = parse_manifest(
        "[lints]\nworkspace = true\n[dependencies]\na.workspace = true\nb = \"1\"\n\
         [dependencies.c]\nversion = \"1\"\n[dev-dependencies]\nd = { workspace = true }\n\
         e = { package = \"e-renamed\", version = \"1\" }\n[target.'cfg(unix)'.build-dependencies]\nf = \"1\"\n",
        "sample",
    );
    assert_eq!(outside_the_workspace(&manifest), (["b", "c", "e", "f"].map(String::from).to_vec(), true));
    assert!(!outside_the_workspace(&parse_manifest("[lints]\nrust.missing_docs = \"warn\"\n", "sample")).1);
}

/// The workspace crates that do one capability each.
const FEATURE_CRATES: &[&str] = &["polygon-cache", "profiler-analyze", "regression", "resource-monitor", "throughput"];

/// The workspace crates `krate` may depend on (normal, dev and build dependencies alike): the
/// crate graph is wide, not deep. `metrics-schema` is the vocabulary and depends on none;
/// feature crates depend on it alone; `ocrperf` composes them; the front ends reach every
/// capability through `ocrperf` (the Python package also runs the CLI for its console script).
fn allowed_workspace_dependencies(krate: &str) -> Vec<&'static str> {
    match krate {
        "metrics-schema" => Vec::new(),
        "ocrperf" => [&["metrics-schema"], FEATURE_CRATES].concat(),
        "cli" | "xtask" => vec!["ocrperf", "metrics-schema"],
        "ocrperf-py" => vec!["ocrperf", "metrics-schema", "cli"],
        _ => vec!["metrics-schema"],
    }
}

/// The workspace crates a manifest depends on, in any dependency table, however declared (see
/// [`dependencies`]).
fn workspace_dependencies(manifest: &str, members: &[String]) -> Vec<String> {
    dependencies(&parse_manifest(manifest, "manifest"))
        .into_iter()
        .filter(|dependency| members.iter().any(|member| member == dependency.krate))
        .map(|dependency| dependency.krate.to_owned())
        .collect()
}

/// What breaks the crate graph in `krate`'s manifest, one line each.
fn graph_violations(krate: &str, manifest: &str, members: &[String]) -> Vec<String> {
    let allowed = allowed_workspace_dependencies(krate);
    workspace_dependencies(manifest, members)
        .into_iter()
        .filter(|dependency| !allowed.contains(&dependency.as_str()))
        .map(|dependency| format!("{krate} depends on {dependency}; it may depend on: {}", allowed.join(", ")))
        .collect()
}

#[test]
fn the_crate_graph_is_wide_not_deep() {
    let dirs = crate_dirs();
    let members: Vec<String> =
        dirs.iter().filter_map(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    let mut violations = Vec::new();
    for (dir, krate) in dirs.iter().zip(&members) {
        violations.extend(graph_violations(krate, &read(&dir.join("Cargo.toml")), &members));
    }
    assert!(violations.is_empty(), "ARCHITECTURE.md's invariants:\n{}", violations.join("\n"));
    // The check itself catches a front end that reaches past `ocrperf`, and a feature crate that
    // depends on another.
    let members = ["cli", "ocrperf", "metrics-schema", "regression", "throughput"].map(String::from);
    assert_eq!(
        graph_violations("cli", "[dependencies]\nregression.workspace = true\nocrperf.workspace = true\n", &members),
        ["cli depends on regression; it may depend on: ocrperf, metrics-schema"]
    );
    assert_eq!(
        graph_violations("throughput", "[dev-dependencies]\nregression = { workspace = true }\n", &members).len(),
        1
    );
    assert!(graph_violations("ocrperf", "[dependencies]\nregression.workspace = true\n", &members).is_empty());
}

#[test]
fn the_graph_check_sees_sub_tables_renames_and_targets() {
    let members = ["cli", "ocrperf", "metrics-schema", "regression", "throughput"].map(String::from);
    // `[dependencies.regression]`: a table of its own.
    assert_eq!(
        graph_violations("cli", "[dependencies.regression]\nworkspace = true\n", &members),
        ["cli depends on regression; it may depend on: ocrperf, metrics-schema"]
    );
    // A renamed dependency counts as the crate it names, not its key.
    assert_eq!(
        workspace_dependencies("[dependencies]\nreg = { package = \"regression\", workspace = true }\n", &members),
        ["regression"]
    );
    assert_eq!(
        graph_violations("throughput", "[dev-dependencies.reg]\npackage = \"regression\"\npath = \"../r\"\n", &members),
        ["throughput depends on regression; it may depend on: metrics-schema"]
    );
    // A platform's own table, and a key that only looks like a member.
    assert_eq!(
        workspace_dependencies("[target.'cfg(unix)'.dependencies]\nthroughput.workspace = true\n", &members),
        ["throughput"]
    );
    assert!(
        workspace_dependencies("[dependencies]\nregression = { package = \"regex\", version = \"1\" }\n", &members)
            .is_empty()
    );
}

#[test]
fn ci_runs_the_readme_test_command_word_for_word() {
    let root = project_root();
    let readme = read(&root.join("README.md"));
    let ci = read(&root.join(".ci/run"));
    let command = readme
        .lines()
        .find_map(|line| line.strip_suffix("# run the tests").map(str::trim))
        .expect("README's quick start marks its test command with `# run the tests`");
    assert!(ci.lines().any(|line| line.trim() == command), ".ci/run must run `{command}` exactly");
}

/// The `.rs` files directly under `dir` and its subfolders, as module names (`reader/scan`).
fn modules(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "snapshots" {
                continue;
            }
            found.extend(modules(&path).into_iter().map(|m| format!("{name}/{m}")));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    found
}

/// The code map's entry for `name`: from its bullet (`- `name`: ...`) to the next bullet.
fn code_map_entry<'a>(map: &'a str, name: &str) -> Option<&'a str> {
    let start = map.find(&format!("\n- `{name}`"))? + 1;
    let rest = &map[start..];
    Some(rest[2..].find("\n- ").map_or(rest, |end| &rest[..end + 2]))
}

/// ARCHITECTURE.md's code map has an entry for every workspace member, and each entry names
/// every module file of its own crate (a file named only in another crate's entry does not
/// count), and the map names every tool under `tools/`: a module added without a line there is
/// a map that has gone stale.
#[test]
fn the_code_map_names_every_crate_and_module() {
    let root = project_root();
    let architecture = read(&root.join("ARCHITECTURE.md"));
    let map = architecture.split("## Code map").nth(1).expect("ARCHITECTURE.md has a `## Code map`");
    let map = map.split("\n## ").next().unwrap_or(map);
    let mut missing = Vec::new();
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(entry) = code_map_entry(map, &name) else {
            missing.push(format!("an entry `- `{name}`: ...`"));
            continue;
        };
        for module in modules(&dir.join("src")) {
            let file = module.rsplit('/').next().unwrap();
            if matches!(file, "lib" | "main" | "mod" | "error") {
                continue;
            }
            if !entry.contains(&format!("{file}.rs")) && !entry.contains(&format!("`{file}`")) {
                missing.push(format!("{name}/src/{module}.rs (in `{name}`'s entry)"));
            }
        }
    }
    let tools =
        fs::read_dir(root.join("tools")).map(|entries| entries.flatten().collect::<Vec<_>>()).unwrap_or_default();
    for tool in tools {
        let file = tool.file_name().to_string_lossy().into_owned();
        if file.ends_with(".py") && !map.contains(&format!("tools/{file}")) {
            missing.push(format!("tools/{file}"));
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map does not name: {}", missing.join(", "));
    // An entry ends at the next bullet.
    let sample = "\n- `a`: one.rs\n  two.rs\n- `b`: three.rs\n";
    assert_eq!(code_map_entry(sample, "a"), Some("- `a`: one.rs\n  two.rs"));
    assert_eq!(code_map_entry(sample, "c"), None);
}

/// Every rule id the README's rule tables list exists in the code, and every trace rule in
/// the code is in the README.
#[test]
fn readme_rule_ids_exist_in_the_code() {
    let root = project_root();
    let readme = read(&root.join("README.md"));
    let sources = [
        "profiler-analyze/src/analysis/recommend.rs",
        "profiler-analyze/src/run.rs",
        "resource-monitor/src/default_rules.toml",
        "regression/src/findings.rs",
        "regression/src/gate.rs",
    ]
    .map(|file| read(&root.join(file)))
    .join("\n");
    let mut missing = Vec::new();
    for line in readme.lines().filter(|line| line.starts_with("| `")) {
        let id = line.trim_start_matches("| `").split('`').next().unwrap_or_default();
        let looks_like_a_rule = id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.contains('-')
            && id.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        if looks_like_a_rule && !sources.contains(&format!("\"{id}\"")) {
            missing.push(id.to_owned());
        }
    }
    assert!(missing.is_empty(), "README lists rules the code does not have: {missing:?}");
    let recommend = read(&root.join("profiler-analyze/src/analysis/recommend.rs"));
    let table = recommend.split("pub(crate) const RULES").nth(1).unwrap().split("];").next().unwrap();
    for id in table.split('"').skip(1).step_by(2) {
        assert!(readme.contains(&format!("| `{id}` |")), "the README's trace rules table lacks `{id}`");
    }
}

/// `cli` parses, calls one library and renders: it names no measurement or workload types of
/// its own. The loader, the target generator's internals and the trace reader are reached
/// only through their crates' entry points or the `ocrperf` compositions.
#[test]
fn cli_holds_no_measurement_or_workload_code() {
    let root = project_root();
    let forbidden = [
        ("impl Dataset for", "a Dataset belongs in a library (see ocrperf::dbnet_pipeline)"),
        ("Loader::new(", "the loader runs in a library composition"),
        ("ThroughputRecorder::new(", "throughput is measured in a library"),
        ("std::thread::sleep(step", "the simulated step is the pipeline's"),
        ("\"traceEvents\"", "trace JSON is written by throughput::ChromeTimeline"),
        ("fn sniff", "input kinds are throughput::inputs::InputKind"),
    ];
    for module in modules(&root.join("cli/src")) {
        let path = root.join("cli/src").join(format!("{module}.rs"));
        let text = read(&path);
        for (pattern, why) in forbidden {
            assert!(!text.contains(pattern), "{}: contains `{pattern}`: {why}", path.display());
        }
    }
}
