"""Shared by the tests here: the `ocrperf` binary, run on an events file."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _binary():
    candidates = [os.environ.get("OCRPERF_BIN"), ROOT / "target/release/ocrperf", ROOT / "target/debug/ocrperf"]
    for candidate in candidates:
        if candidate and pathlib.Path(candidate).exists():
            return str(candidate)
    return None


@pytest.fixture
def throughput_report():
    """`ocrperf throughput PATH` as a parsed JSON envelope; skips when ocrperf is not built."""
    binary = _binary()
    if binary is None:
        pytest.skip("ocrperf is not built (cargo build), so the end-to-end half cannot run")

    def run(path):
        result = subprocess.run([binary, "throughput", str(path), "--format", "json", "-q"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run
