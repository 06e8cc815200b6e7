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

#[test]
fn every_dependency_comes_from_the_workspace() {
    for dir in crate_dirs() {
        let path = dir.join("Cargo.toml");
        let manifest = read(&path);
        assert!(manifest.contains("[lints]\nworkspace = true"), "{}: add `[lints] workspace = true`", path.display());
        let mut in_deps = false;
        for line in manifest.lines() {
            if line.starts_with('[') {
                in_deps = line.ends_with("dependencies]");
                continue;
            }
            let line = line.trim();
            if in_deps && !line.is_empty() && !line.starts_with('#') {
                assert!(
                    line.contains(".workspace = true") || line.contains("workspace = true"),
                    "{}: `{line}` must use `workspace = true`",
                    path.display()
                );
            }
        }
    }
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
