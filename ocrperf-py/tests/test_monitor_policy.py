"""The resource monitor behaves as `ocrperf monitor` does: one loop in Rust serves both."""

import json
import subprocess
import sys
import textwrap

import pytest

from ocrperf import _native

# A sample file that stops taking bytes part-way through a run: the process's file-size limit
# (RLIMIT_FSIZE) makes the write that crosses it fail with EFBIG, as a full disk fails with ENOSPC.
MID_RUN_FAILURE = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    from ocrperf import _native

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (32768, resource.RLIM_INFINITY))
    monitor = _native.ResourceMonitor(0.01, gpu=False, out=sys.argv[1])
    deadline = time.monotonic() + 20
    warnings = []
    while not warnings and time.monotonic() < deadline:
        time.sleep(0.02)
        warnings = monitor.take_warnings()
    samples_then = monitor.samples
    time.sleep(0.2)
    try:
        monitor.stop()
        error = None
    except OSError as err:
        error = str(err)
    print(json.dumps({"warnings": warnings, "error": error, "samples_then": samples_then,
                      "samples_after": monitor.samples}))
    """
)


def test_a_sample_that_cannot_be_written_ends_the_sampling_with_an_error(tmp_path):
    out = tmp_path / "samples.jsonl"
    run = subprocess.run(
        [sys.executable, "-c", MID_RUN_FAILURE, str(out)], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(run.stdout)
    assert len(result["warnings"]) == 1, result
    assert result["warnings"][0].startswith("sampling stopped: writing samples: "), result
    assert "File too large" in result["warnings"][0], result
    assert result["error"] is not None and "File too large" in result["error"], result
    # The loop ended at the failed sample: no sample was taken after it.
    assert result["samples_after"] == result["samples_then"], result
    # The file ends with its last complete line.
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["schema"].startswith("ocrperf.monitor-samples") and len(lines) > 2


def test_a_bare_port_binds_loopback_as_the_command_line_does():
    with _native.ResourceMonitor(0.05, gpu=False, prometheus="0") as monitor:
        assert monitor.prometheus_address.startswith("127.0.0.1:"), monitor.prometheus_address
    with _native.ResourceMonitor(0.05, gpu=False, prometheus=":0") as monitor:
        assert monitor.prometheus_address.startswith("127.0.0.1:"), monitor.prometheus_address


@pytest.mark.parametrize("interval_s", [0.001, 86401.0, float("nan"), -1.0])
def test_the_interval_range_is_the_command_lines(interval_s):
    with pytest.raises(ValueError, match=r"interval|interval_s"):
        _native.ResourceMonitor(interval_s, gpu=False)


def test_a_process_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match=r"pid 4294967295: no such process"):
        _native.ResourceMonitor(1.0, gpu=False, pid=4294967295)
