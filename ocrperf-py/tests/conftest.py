"""Shared by the package's tests: the repository's ground truth and its reference digests."""

import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"

# The repository's ground-truth reader and sample builders (NumPy only).
sys.path.insert(0, str(ROOT / "tools"))
from gt_samples import paddle_digest, paddle_sample, read_gt, sha256  # noqa: E402,F401


def db_sample(path, dtype=np.float64):
    """DB's data dict for one ground-truth file (a blank image of the right size)."""
    (height, width), polygons, tags = read_gt(path, dtype)
    return {"image": np.zeros((height, width, 3), np.float32), "polygons": polygons,
            "ignore_tags": np.array(tags, dtype=np.uint8), "is_training": True, "filename": str(path)}


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
        result = subprocess.run([sys.executable, "-m", "ocrperf", "throughput", str(path), "--format", "json", "-q"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


def require(module):
    """Imports an optional module (torch, Lightning), or skips; with OCRPERF_REQUIRE_LIGHTNING=1
    (set where they are installed) a missing one fails instead of skipping."""
    import importlib
    import os

    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("OCRPERF_REQUIRE_LIGHTNING") == "1":
            raise
        pytest.skip(f"{module} is not installed", allow_module_level=True)
