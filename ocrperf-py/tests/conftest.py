"""Shared by the package's tests: the repository's ground truth and its reference digests.

The tests stand alone: the ground-truth reader and the digests are the package tests' own
(`gt_samples.py`, NumPy only), so the suite needs no other folder of the repository than
`testdata/`, but for one test: `test_the_old_import_path_still_works` imports the repository's
`integrations/lightning/ocrperf_callback.py`, the shim it checks.
"""

import json
import pathlib

import pytest
from gt_samples import db_sample, paddle_digest, paddle_sample, read_gt, sha256

__all__ = ["batch_events", "db_sample", "paddle_digest", "paddle_sample", "read_gt", "sha256"]


def batch_events(path):
    """The events of a batch-event file, after checking its schema header line."""
    lines = [json.loads(line) for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()]
    assert lines and lines[0].get("schema") == "ocrperf.batch-events.v1", lines[:1]
    return lines[1:]


ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"


@pytest.fixture(params=["dbnet", "dbnet-hard"])
def dataset(request):
    """``(ground-truth files, digests)`` of one of the repository's data sets."""
    root = TESTDATA / request.param
    digests = json.loads((root / "expected" / "digests.json").read_text())["files"]
    return sorted((root / "gt").glob("*.txt")), digests


@pytest.fixture
def throughput_report():
    """``ocrperf throughput PATH`` (the package's own command) as a parsed JSON envelope."""
    import subprocess
    import sys

    def run(path):
        result = subprocess.run(
            [sys.executable, "-m", "ocrperf", "throughput", str(path), "--format", "json", "-q"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


def require(module):
    """Imports an optional module (torch, Lightning, Hydra), or skips; with
    OCRPERF_REQUIRE_LIGHTNING=1 (`cargo xtask ci` sets it, having installed them) a missing one
    fails instead of skipping."""
    import importlib
    import os

    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("OCRPERF_REQUIRE_LIGHTNING") == "1":
            raise
        pytest.skip(f"{module} is not installed", allow_module_level=True)
