//! `ocrperf info`.

use metrics_schema::{Envelope, HostInfo, HostInfoReport};
use serde_json::Value;

use crate::{ocrperf, run, stderr, stdout};

#[test]
fn json_is_a_valid_envelope_that_round_trips() {
    let output = run(ocrperf().args(["info", "--format", "json"]), 0);
    let text = stdout(&output);
    assert!(text.starts_with("{\n  \"schema\": \"ocrperf.host-info.v1\","), "{text}");
    let envelope = Envelope::<HostInfoReport>::from_json(&text).unwrap();
    assert_eq!(envelope.tool_version, env!("CARGO_PKG_VERSION"));
    assert!(envelope.host.logical_cores >= 1 && envelope.host.total_memory_bytes > 0);
    let again: Value = serde_json::to_value(&envelope).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again, original);
    assert_eq!(envelope.host, HostInfo::detect(), "the same host description as every envelope");
}

#[test]
fn json_shape_is_stable() {
    // Outside any git checkout, so that `git` is absent everywhere this test runs.
    let dir = tempfile::tempdir().unwrap();
    let output = run(ocrperf().current_dir(dir.path()).args(["info", "--format", "json"]), 0);
    let mut value: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(value.get("git").is_none());
    // Optional facts (kernel, physical cores, GPUs) depend on the machine; the rest must be there.
    let host = value["host"].as_object_mut().unwrap();
    host.retain(|key, _| !matches!(key.as_str(), "kernel" | "physical_cores" | "gpus"));
    insta::assert_json_snapshot!("info_json", value, {
        ".created_at" => "[time]",
        ".tool_version" => "[version]",
        ".host.hostname" => "[hostname]",
        ".host.os" => "[os]",
        ".host.arch" => "[arch]",
        ".host.cpu_model" => "[cpu]",
        ".host.logical_cores" => "[cores]",
        ".host.total_memory_bytes" => "[bytes]",
    });
}

#[test]
fn json_is_the_default_when_stdout_is_not_a_terminal() {
    let output = run(ocrperf().arg("info"), 0);
    let value: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["schema"], "ocrperf.host-info.v1");
}

#[test]
fn table_and_markdown_list_the_host_fields() {
    let dir = tempfile::tempdir().unwrap();
    let table = stdout(&run(ocrperf().current_dir(dir.path()).args(["info", "--format", "table"]), 0));
    assert!(table.starts_with("Host\n\n  hostname "), "{table}");
    assert!(!table.contains('\u{1b}'), "no colour when stdout is a pipe");
    let markdown = stdout(&run(ocrperf().current_dir(dir.path()).args(["info", "--format", "md"]), 0));
    assert!(markdown.starts_with("# Host\n\n| field | value |\n|---|---|\n| hostname | "), "{markdown}");
    // Host values differ between machines; the layout and the field names must not.
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(?m)^(  [a-z ]+?  +)\S.*$", "$1[value]");
    settings.add_filter(r"(?m)^(\| [a-z ]+ \|) .+ \|$", "$1 [value] |");
    settings.add_filter(r"\| field \| \[value\] \|", "| field | value |");
    settings.add_filter(r"(?ms)^(GPUs|## GPUs)\n.*", "[gpus]\n");
    settings.bind(|| {
        insta::assert_snapshot!("info_table", table);
        insta::assert_snapshot!("info_markdown", markdown);
    });
}

#[test]
fn colour_is_forced_and_no_color_wins() {
    let forced = stdout(&run(ocrperf().args(["info", "--format", "table"]).env("CLICOLOR_FORCE", "1"), 0));
    assert!(forced.contains("\u{1b}[1m"), "{forced:?}");
    let plain =
        stdout(&run(ocrperf().args(["info", "--format", "table"]).env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1"), 0));
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[test]
fn output_file_is_written_whole_and_announced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.json");
    let output = run(ocrperf().args(["info", "-o"]).arg(&path), 0);
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), format!("wrote {}\n", path.display()));
    Envelope::<HostInfoReport>::read(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["host.json"], "no temporary file left behind");
}

#[test]
fn output_format_follows_the_extension_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("host.md");
    run(ocrperf().args(["info", "-q", "-o"]).arg(&md), 0);
    assert!(std::fs::read_to_string(&md).unwrap().starts_with("# Host\n"));
    let forced = dir.path().join("host.md.json");
    run(ocrperf().args(["info", "--format", "md", "-o"]).arg(&forced), 0);
    assert!(std::fs::read_to_string(&forced).unwrap().starts_with("# Host\n"));
    let txt = dir.path().join("host.txt");
    run(ocrperf().args(["info", "-o"]).arg(&txt), 0);
    assert!(std::fs::read_to_string(&txt).unwrap().starts_with("Host\n"));
}

#[test]
fn quiet_silences_the_note_and_dash_means_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(ocrperf().args(["info", "--quiet", "-o"]).arg(dir.path().join("h.json")), 0);
    assert_eq!(stderr(&output), "");
    let output = run(ocrperf().args(["info", "-o", "-", "--format", "json"]), 0);
    assert!(stdout(&output).contains("\"schema\": \"ocrperf.host-info.v1\""));
}
