//! `ocrperf monitor` as a user runs it: sample files, wrapped commands, alerts, Prometheus,
//! kills, full disks and the HTML report.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{ocrperf, run, stderr, stdout};

/// Every line parses as JSON and the file ends with a newline; returns the lines.
fn valid_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "{} does not end with a complete line", path.display());
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

#[test]
fn samples_a_short_run_into_jsonl_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    let output = run(
        ocrperf()
            .args(["monitor", "--interval", "100ms", "--duration", "700ms", "--no-gpu", "--format", "json", "--out"])
            .arg(&out),
        0,
    );
    let lines = valid_jsonl(&out);
    assert_eq!(lines[0]["schema"], "ocrperf.monitor-samples.v1");
    assert_eq!(lines[0]["interval_ms"], 100);
    let samples = &lines[1..];
    assert!((6..=9).contains(&samples.len()), "{} samples", samples.len());
    for (index, sample) in samples.iter().enumerate() {
        assert_eq!(sample["i"], index as u64);
        assert!(sample["host"]["memory_total_bytes"].as_u64().unwrap() > 0);
        assert!(sample["t_ms"].as_u64().unwrap() > 1_700_000_000_000);
    }
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["schema"], "ocrperf.monitor-summary.v1");
    assert_eq!(report["samples"].as_u64().unwrap() as usize, samples.len());
    assert_eq!(report["gpu_note"], "GPU sampling turned off");
    let names: Vec<&str> = report["metrics"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(names.starts_with(&["host.cpu_percent", "host.cpu_min_core_percent", "host.load1"]), "{names:?}");
}

#[test]
fn csv_has_a_fixed_header_and_one_row_per_sample() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.csv");
    run(
        ocrperf().args(["monitor", "--interval", "100ms", "--duration", "500ms", "--no-gpu", "-q", "--out"]).arg(&out),
        0,
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["t_ms", "i", "host.cpu_percent"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 4);
    assert!(rows.iter().all(|row| row.len() == header.len()));
}

#[test]
fn a_wrapped_command_is_watched_and_its_exit_code_returned() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    let output =
        run(
            ocrperf()
                .args(["monitor", "--interval", "100ms", "--no-gpu", "--format", "json", "--out"])
                .arg(&out)
                .args(["--", "sh", "-c", "sleep 0.6; exit 7"]),
            7,
        );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["command_exit_code"], 7);
    let lines = valid_jsonl(&out);
    assert_eq!(lines[0]["watched"], "sh -c sleep 0.6; exit 7");
    assert!(lines[1..].iter().any(|s| s["process"]["alive"] == true && s["process"]["children"] == 1));
    run(ocrperf().args(["monitor", "--no-gpu", "-q", "--", "true"]), 0);
    let output = run(ocrperf().args(["monitor", "--no-gpu", "-q", "--", "/nonexistent/tool"]), 2);
    assert!(stderr(&output).contains("cannot run `/nonexistent/tool`"), "{}", stderr(&output));
}

#[test]
fn ctrl_c_is_forwarded_to_the_command() {
    let child = Command::new(assert_cmd::cargo::cargo_bin("ocrperf"))
        .args(["monitor", "--interval", "100ms", "--no-gpu", "-q", "--format", "json", "--"])
        .args(["sh", "-c", "trap 'exit 42' INT; while true; do sleep 0.05; done"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(output.status.code(), Some(42), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn alerts_fire_into_the_stream_and_fail_the_run_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"always\"\nmetric = \"host.memory_used_percent\"\nop = \">\"\nthreshold = 0\nfor = \"200ms\"\nseverity = \"critical\"\nmessage = \"memory in use\"\n",
    )
    .unwrap();
    let out = dir.path().join("s.jsonl");
    let args = ["monitor", "--interval", "100ms", "--duration", "800ms", "--no-gpu", "--format", "json"];
    let output = run(ocrperf().args(args).arg("--alerts").arg(&rules).arg("--out").arg(&out).arg("--fail-on-alert"), 1);
    assert!(
        stderr(&output).contains("alert FIRING [critical] always (host.memory_used_percent"),
        "{}",
        stderr(&output)
    );
    let lines = valid_jsonl(&out);
    let alerts: Vec<&serde_json::Value> = lines.iter().filter_map(|line| line.get("alert")).collect();
    assert_eq!(alerts.len(), 1, "fires once: {alerts:?}");
    assert_eq!(alerts[0]["state"], "firing");
    // Not before the condition has held 200 ms on the samples' own clock (ticks jitter on a
    // loaded machine, so the exact index may be 2 or later; the unit tests pin it exactly).
    let first_sample_ms = lines[1]["t_ms"].as_u64().unwrap();
    let fired_ms = alerts[0]["t_ms"].as_u64().unwrap();
    assert!(fired_ms - first_sample_ms >= 200, "fired after {} ms", fired_ms - first_sample_ms);
    assert!(alerts[0]["i"].as_u64().unwrap() >= 2);

    std::fs::write(&rules, "[[rule]]\nname = \"x\"\nmetric = \"m\"\nop = \"!=\"\nthreshold = 1\nmessage = \"m\"\n")
        .unwrap();
    let output = run(ocrperf().args(["monitor", "--duration", "1s"]).arg("--alerts").arg(&rules), 2);
    assert!(stderr(&output).contains("rules.toml: line 4: unknown variant `!=`"), "{}", stderr(&output));
}

#[test]
fn prometheus_serves_gauges_and_404s_other_paths() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(assert_cmd::cargo::cargo_bin("ocrperf"))
        .args([
            "monitor",
            "--interval",
            "100ms",
            "--duration",
            "3s",
            "--no-gpu",
            "-q",
            "--format",
            "json",
            "--prometheus",
            &address,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let get = |path: &str| -> Option<String> {
        let mut stream = TcpStream::connect(&address).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    };
    let started = Instant::now();
    let page = loop {
        if let Some(page) = get("/metrics").filter(|p| p.contains("ocrperf_host_cpu_percent")) {
            break page;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "no /metrics page");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(page.starts_with("HTTP/1.1 200 OK"));
    assert!(page.contains("# TYPE ocrperf_host_memory_used_percent gauge"));
    assert!(page.contains("ocrperf_alerts_active 0"));
    assert!(get("/").unwrap().starts_with("HTTP/1.1 404"));
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_killed_monitor_leaves_a_valid_jsonl_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.jsonl");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ocrperf"))
        .args(["monitor", "--interval", "20ms", "--no-gpu", "-q", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = valid_jsonl(&out);
    assert!(lines.len() > 10, "{} lines", lines.len());
    // And the report reader takes it.
    run(ocrperf().args(["monitor", "report", "-q", "-o"]).arg(dir.path().join("r.html")).arg(&out), 0);
}

#[test]
fn the_html_report_parses_and_holds_four_charts_and_the_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"busy\"\nmetric = \"host.cpu_percent\"\nop = \">=\"\nthreshold = 0\nmessage = \"any\"\n",
    )
    .unwrap();
    let out = dir.path().join("s.jsonl");
    run(
        ocrperf()
            .args(["monitor", "--interval", "100ms", "--duration", "600ms", "--no-gpu", "-q", "--alerts"])
            .arg(&rules)
            .arg("--out")
            .arg(&out),
        0,
    );
    let html_path = dir.path().join("report.html");
    run(ocrperf().args(["monitor", "report", "-q", "-o"]).arg(&html_path).arg(&out), 0);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let mut charts = 0;
    for chunk in html.split("<svg").skip(1) {
        let svg = format!("<svg{}", &chunk[..chunk.find("</svg>").unwrap() + "</svg>".len()]);
        let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("chart {charts} is not XML: {e}"));
        let texts: Vec<&str> = document.descendants().filter_map(|n| n.text()).collect();
        assert!(texts.iter().any(|t| t.contains("seconds")), "{texts:?}");
        charts += 1;
    }
    assert_eq!(charts, 4);
    // The alert fired at once: its band is drawn (a translucent red rectangle) and listed.
    assert!(
        html.contains("fill=\"#FF0000\" fill-opacity=\"0.15\"") || html.contains("opacity=\"0.15\""),
        "no alert band"
    );
    assert!(html.contains("<table id=\"alerts\">") && html.contains("<td>busy</td>"));
    assert!(html.contains("<td>host.cpu_percent</td>"));

    let svg_dir = dir.path().join("svg");
    run(ocrperf().args(["monitor", "report", "-q", "--svg"]).arg(&svg_dir).arg(&out), 0);
    for name in ["gpu.svg", "cpu.svg", "memory.svg", "disk.svg"] {
        assert!(svg_dir.join(name).exists(), "{name}");
    }
    std::fs::write(dir.path().join("bad.jsonl"), "{\"schema\":\"ocrperf.monitor-samples.v1\"}\n").unwrap();
    let output = run(ocrperf().args(["monitor", "report"]).arg(dir.path().join("bad.jsonl")), 2);
    assert!(stderr(&output).contains("bad.jsonl:1: not a sample-file header"), "{}", stderr(&output));
}

/// A full disk: a 64 KiB tmpfs (see `on_a_full_disk`).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_ends_the_run_with_exit_2_and_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    let command = format!(
        "{bin} monitor --interval 10ms --duration 20s --no-gpu -q --out {m}/s.jsonl; \
         code=$?; cp {m}/s.jsonl {d}/copy.jsonl; exit $code",
        m = mount.display(),
        bin = crate::ocrperf_path(),
        d = dir.path().display()
    );
    let output = crate::on_a_full_disk(&mount, &command);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("s.jsonl: No space left on device"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    let lines = valid_jsonl(&dir.path().join("copy.jsonl"));
    assert!(lines.len() > 10);
}
