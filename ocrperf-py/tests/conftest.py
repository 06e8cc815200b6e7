"""Shared by the package's tests: the repository's ground truth and its reference digests."""

import hashlib
import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"


def read_gt(path, dtype=np.float64):
    """An ICDAR-style file as DB's loader builds a sample: ``(height, width), polygons, tags``."""
    size, polygons, tags = None, [], []
    for line in pathlib.Path(path).read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("# size"):
            _, _, w, h = line.split()
            size = (int(h), int(w))
            continue
        parts = line.split(",")
        numbers = [float(v) for v in parts[: (len(parts) - 1) // 2 * 2]]
        polygons.append(np.array(numbers, dtype=dtype).reshape(-1, 2))
        tags.append(parts[-1] == "###")
    return size, polygons, tags


def db_sample(path, dtype=np.float64):
    """DB's data dict for one ground-truth file (a blank image of the right size)."""
    (height, width), polygons, tags = read_gt(path, dtype)
    return {"image": np.zeros((height, width, 3), np.float32), "polygons": polygons,
            "ignore_tags": np.array(tags, dtype=np.uint8), "is_training": True, "filename": str(path)}


def paddle_sample(path):
    """PaddleOCR's data dict: ``DetLabelEncode``'s float32 (N, P_max, 2) padded by repeating the
    last point."""
    (height, width), polygons, tags = read_gt(path, np.float32)
    most = max((len(p) for p in polygons), default=0)
    padded = [np.concatenate([p, np.repeat(p[-1:], most - len(p), axis=0)]) for p in polygons]
    polys = np.array(padded, dtype=np.float32) if padded else np.zeros((0, 0, 2), np.float32)
    return {"image": np.zeros((height, width, 3), np.uint8), "polys": polys,
            "ignore_tags": np.array(tags, dtype=bool)}


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


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
        pytest.skip(f"{module} is not installed")
