"""Profiler and ResourceMonitor against a duck-typed trainer (no torch, no Lightning needed)."""

import json
import shutil
import subprocess
import sys
import time
import warnings

import pytest

from conftest import TESTDATA
from ocrperf import _native
from ocrperf.lightning import (
    DEFAULT_METRICS,
    Profiler,
    ResourceAlert,
    ResourceMonitor,
    analyze_traces,
    parse_steps,
)


class FakeLogger:
    def __init__(self):
        self.logged = []

    def log_metrics(self, metrics, step):
        self.logged.append((step, dict(metrics)))


class FakeTrainer:
    def __init__(self, rank=0):
        self.global_rank, self.global_step = rank, 0
        self.loggers = [FakeLogger()]


# --------------------------------------------------------------------------------- Profiler
def test_steps_set_the_profiler_window():
    assert parse_steps("10..15") == {"skip_first": 9, "wait": 0, "warmup": 1, "active": 5, "repeat": 1}
    assert parse_steps("0..3") == {"skip_first": 0, "wait": 0, "warmup": 0, "active": 3, "repeat": 1}
    for bad in ["15..10", "5..5", "10-15", "a..b", ""]:
        with pytest.raises(ValueError, match="steps"):
            parse_steps(bad)
    assert Profiler(schedule={"wait": 1, "warmup": 1, "active": 3}).schedule == {
        "wait": 1,
        "warmup": 1,
        "active": 3,
        "repeat": 1,
    }
    with pytest.raises(ValueError, match="schedule takes wait, warmup, active, repeat and skip_first"):
        Profiler(schedule={"active": 2, "cycles": 3})
    with pytest.raises(ValueError, match="active >= 1"):
        Profiler(schedule={"wait": 1})


def test_a_window_is_analysed_logged_and_reported(tmp_path, capsys):
    window = tmp_path / "window1"
    shutil.copytree(TESTDATA / "traces" / "gloo" / "slow-rank1", window)
    trainer = FakeTrainer()
    trainer.global_step = 12
    report = Profiler(steps="1..3").analyze_window(trainer, window)
    assert (window / "report.md").read_text().startswith("# Trace analysis: rank0.pt.trace.json.gz\n")
    written = json.loads((window / "report.json").read_text())
    assert written["schema"] == "ocrperf.trace-analysis.v1"
    assert written == {key: value for key, value in report.items() if key != "metrics"}
    [(step, metrics)] = trainer.loggers[0].logged
    assert step == 12
    # The report's own metric names (`ToMetrics`), under the prefix; both ranks' step times.
    assert set(metrics) == {
        f"ocrperf/profile/trace.{name}"
        for name in [
            "steps.mean_ms",
            "steps.p95_ms",
            "dataloader.fraction",
            "gpu.busy_fraction",
            "rank0.steps.mean_ms",
            "rank1.steps.mean_ms",
        ]
    }
    assert 120 < metrics["ocrperf/profile/trace.steps.mean_ms"] < 145
    assert metrics["ocrperf/profile/trace.gpu.busy_fraction"] == 0.0
    assert [s["rank"] for s in report["stragglers"]] == [1]
    assert "straggler" in capsys.readouterr().out
    # Analysed again: the reports now beside the traces are not read as traces, told by their
    # content (the envelope's schema id), not their name; as `ocrperf trace analyze DIR` does.
    shutil.copy(window / "report.json", window / "kept-report.json")
    again = analyze_traces(window, prefix="p")
    assert again["metrics"]["p/trace.steps.mean_ms"] == metrics["ocrperf/profile/trace.steps.mean_ms"]
    assert [r["file"] for r in again["ranks"]] == [r["file"] for r in report["ranks"]]
    command = subprocess.run(
        [sys.executable, "-m", "ocrperf", "trace", "analyze", str(window), "--format", "json", "-q"],
        capture_output=True,
        text=True,
    )
    assert command.returncode == 0, command.stderr
    assert json.loads(command.stdout)["steps"] == again["steps"]


def test_the_native_analysis_is_the_commands(tmp_path):
    """One read gives the report, the page of `ocrperf trace analyze --format md` and the
    metrics the gate compares."""
    traces = TESTDATA / "traces" / "gloo" / "slow-rank1"
    analysis = _native.analyze_traces([traces], top=5)
    command = subprocess.run(
        [sys.executable, "-m", "ocrperf", "trace", "analyze", str(traces), "--top", "5", "--format", "md", "-q"],
        capture_output=True,
        text=True,
    )
    assert command.returncode == 0, command.stderr
    assert analysis["markdown"] == command.stdout
    assert analysis["report"]["schema"] == "ocrperf.trace-analysis.v1"
    assert len(analysis["report"]["top_ops"]) == 5
    assert analysis["metrics"]["trace.rank1.steps.mean_ms"] == analysis["report"]["ranks"][1]["steps"]["mean_ms"]
    assert analysis["warnings"] == []
    # Outputs are written atomically where asked; one named as an input is refused.
    trace = shutil.copy(traces / "rank0.pt.trace.json.gz", tmp_path / "rank0.json.gz")
    analysis = _native.analyze_traces(str(trace), markdown_out=tmp_path / "page.md")
    assert (tmp_path / "page.md").read_text() == analysis["markdown"]
    before = trace.read_bytes()
    # The one refusal of `ocrperf trace analyze -o`, naming the option.
    with pytest.raises(ValueError, match=r"rank0\.json\.gz: `json_out` would write over an input of this command"):
        _native.analyze_traces(trace, json_out=trace)
    with pytest.raises(ValueError, match=r"`markdown_out` would write over an input of this command"):
        _native.analyze_traces(tmp_path, markdown_out=trace)
    assert trace.read_bytes() == before


def test_bad_analysis_arguments_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="no traces given"):
        _native.analyze_traces([])
    with pytest.raises(ValueError, match="top must be >= 0"):
        _native.analyze_traces(tmp_path, top=-1)
    with pytest.raises(ValueError, match="no .json or .json.gz traces in this directory"):
        _native.analyze_traces(tmp_path)
    with pytest.raises(TypeError):
        _native.analyze_traces(3)


def test_a_broken_window_is_a_warning_not_a_crash(tmp_path):
    window = tmp_path / "window1"
    window.mkdir()
    (window / "rank0.pt.trace.json").write_text('{"traceEvents": [{"ph": "X", "ts": "abc"')
    with pytest.raises(ValueError, match=r"window1/rank0\.pt\.trace\.json: byte \d+: "):
        analyze_traces(window)
    with pytest.warns(UserWarning, match="could not be analysed"):
        assert Profiler().analyze_window(FakeTrainer(), window) is None
    assert not (window / "report.json").exists()


# -------------------------------------------------------------------------- ResourceMonitor
def run_monitor(callback, trainer, batches, pause=0.02):
    callback.on_fit_start(trainer, None)
    for index in range(batches):
        time.sleep(pause)
        callback.on_train_batch_end(trainer, None, None, None, index)
        trainer.global_step += 1
    callback.on_fit_end(trainer, None)


def test_the_monitor_logs_figures_every_n_steps(tmp_path):
    trainer = FakeTrainer()
    callback = ResourceMonitor(interval_s=0.05, log_every_n_steps=5, out=tmp_path / "samples.{rank}.jsonl", gpu=False)
    run_monitor(callback, trainer, batches=20)
    logged = trainer.loggers[0].logged
    # Every 5th batch, and once more at the end.
    assert [step for step, _ in logged] == [4, 9, 14, 19, 20]
    for _, metrics in logged:
        assert 0 <= metrics["ocrperf/monitor/host.cpu_percent"] <= 100
        assert metrics["ocrperf/monitor/process.rss_bytes"] > 1e6
        assert all(name.startswith("ocrperf/monitor/") for name in metrics)
    lines = (tmp_path / "samples.0.jsonl").read_text().splitlines()
    assert len(lines) >= 5 and json.loads(lines[0])["schema"].startswith("ocrperf.monitor-samples")
    assert callback.summary["samples"] >= 5
    assert callback.close() is callback.summary  # idempotent


def test_the_default_metrics_are_rusts_headline_figures():
    assert ResourceMonitor().metrics == DEFAULT_METRICS == _native.HEADLINE_METRICS
    latest = {
        "host.cpu_percent": 5.0,
        "gpu.0.utilization_percent": 90.0,
        "gpu.0.sm_clock_mhz": 1980.0,
        "disk.vda.busy_percent": 1.0,
        "net.eth0.rx_bytes_per_s": 10.0,
    }
    assert ResourceMonitor().selected(latest) == {
        "ocrperf/monitor/disk.vda.busy_percent": 1.0,
        "ocrperf/monitor/gpu.0.utilization_percent": 90.0,
        "ocrperf/monitor/host.cpu_percent": 5.0,
    }


def test_a_star_is_one_dotted_part_as_in_alert_rules():
    latest = {"gpu.0.power_w": 300.0, "gpu.0.power_limit_w": 700.0, "gpu.1.power_w": 250.0, "host.cpu_percent": 5.0}
    assert _native.select_metrics(latest, ["gpu.*.power_w"]) == {"gpu.0.power_w": 300.0, "gpu.1.power_w": 250.0}
    # fnmatch's `*` would span the dots; Rust's selection, the alert rules' matcher, does not.
    with pytest.warns(UserWarning, match=r"metric pattern `gpu\.\*` matches nothing the monitor records"):
        callback = ResourceMonitor(metrics=["gpu.*", "host.cpu_percent"])
    assert callback.selected(latest) == {"ocrperf/monitor/host.cpu_percent": 5.0}
    with pytest.raises(TypeError):
        _native.select_metrics(latest, "gpu.*.power_w")
    with pytest.raises(TypeError):
        _native.select_metrics({"host.cpu_percent": "high"}, ["host.*"])


def test_a_rule_that_matches_nothing_is_warned_about_at_the_start(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "typo"\nmetric = "host.cpu_prcent"\nop = ">"\nthreshold = 1\nmessage = "m"\n')
    callback = ResourceMonitor(interval_s=0.05, rules=rules, gpu=False)
    with pytest.warns(UserWarning, match=r"rules\.toml: rule `typo`: metric `host\.cpu_prcent` matches nothing"):
        callback.on_fit_start(FakeTrainer(), None)
    callback.close()


def test_alerts_become_warnings(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nname = "always"\nmetric = "host.memory_used_percent"\nop = ">"\nthreshold = 0\n'
        'severity = "warning"\nmessage = "memory is in use"\n'
    )
    callback = ResourceMonitor(interval_s=0.05, log_every_n_steps=2, rules=rules, gpu=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_monitor(callback, FakeTrainer(), batches=10, pause=0.03)
    alerts = [w for w in caught if issubclass(w.category, ResourceAlert)]
    assert len(alerts) == 1, [str(w.message) for w in caught]
    assert "ocrperf alert always (warning): memory is in use [host.memory_used_percent = " in str(alerts[0].message)


def test_only_rank_zero_samples_unless_per_rank():
    other = FakeTrainer(rank=1)
    run_monitor(ResourceMonitor(interval_s=0.05, log_every_n_steps=1, gpu=False), other, batches=3)
    assert other.loggers[0].logged == []
    per_rank = FakeTrainer(rank=1)
    run_monitor(ResourceMonitor(interval_s=0.05, log_every_n_steps=1, per_rank=True, gpu=False), per_rank, batches=3)
    assert all(name.startswith("ocrperf/monitor/rank1/") for _, m in per_rank.loggers[0].logged for name in m)


def test_no_gpu_is_said_not_fatal():
    with _native.ResourceMonitor(0.05, gpu=False) as monitor:
        assert monitor.gpus == 0 and monitor.gpu_note == "GPU sampling turned off"
        time.sleep(0.2)
        assert monitor.samples >= 1 and "host.cpu_percent" in monitor.latest()
    assert monitor.stop() is None


def test_bad_monitor_settings(tmp_path):
    with pytest.raises(ValueError, match="a sampling interval of 0s is out of range: sample every 10ms to 1day"):
        ResourceMonitor(interval_s=0)
    with pytest.raises(ValueError, match="log_every_n_steps"):
        ResourceMonitor(log_every_n_steps=0)
    with pytest.raises(ValueError, match=r"put \{rank\} in out"):
        ResourceMonitor(per_rank=True, out="samples.jsonl")
    (tmp_path / "bad.toml").write_text("[[rule]]\nname = 3\n")
    with pytest.raises(ValueError, match="bad.toml"):
        _native.ResourceMonitor(1.0, gpu=False, rules=str(tmp_path / "bad.toml"))
    with pytest.raises(ValueError, match="missing-dir"):
        _native.ResourceMonitor(1.0, gpu=False, out=str(tmp_path / "missing-dir" / "s.jsonl"))


def test_the_monitor_serves_prometheus():
    import urllib.request

    with _native.ResourceMonitor(0.05, gpu=False, prometheus="127.0.0.1:0") as monitor:
        address = monitor.prometheus_address
        assert address and address.startswith("127.0.0.1:")
        deadline = time.time() + 5
        while monitor.samples < 1 and time.time() < deadline:
            time.sleep(0.02)
        page = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    assert "cpu_percent" in page and "# TYPE" in page


def test_a_full_disk_for_the_sample_file_is_a_clear_error():
    with pytest.raises(ValueError, match=r"/dev/full: No space left on device"):
        _native.ResourceMonitor(1.0, gpu=False, out="/dev/full")
