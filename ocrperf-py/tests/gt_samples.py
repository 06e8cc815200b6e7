"""ICDAR-style ground truth as the DBNet pipelines build their samples (NumPy only).

The one reader, one way to build DB's and PaddleOCR's data dicts, and one digest, for the
package's tests (through `conftest.py`) and for the repository's tools (`tools/dbnet_reference.py`,
`tools/paddle_parity.py`, `tools/python_bench.py` put this folder on their path). It lives
with the tests so that they stand alone.
"""

import hashlib
import pathlib

import numpy as np


def read_gt(path, dtype=np.float64):
    """``(height, width), polygons, ignore_tags`` of one file: a ``# size W H`` line, then one
    polygon per line, ``x1,y1,...,xn,yn,transcription`` (``###`` = do not care)."""
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


def paddle_sample(path):
    """PaddleOCR's data dict: ``DetLabelEncode``'s float32 (N, P_max, 2), shorter polygons padded
    by repeating their last point, and a uint8 image."""
    (height, width), polygons, tags = read_gt(path, np.float32)
    most = max((len(p) for p in polygons), default=0)
    padded = [np.concatenate([p, np.repeat(p[-1:], most - len(p), axis=0)]) for p in polygons]
    polys = np.array(padded, dtype=np.float32) if padded else np.zeros((0, 0, 2), np.float32)
    return {"image": np.zeros((height, width, 3), np.uint8), "polys": polys, "ignore_tags": np.array(tags, dtype=bool)}


def sha256(array, dtype="<f4"):
    """SHA-256 of an array's bytes in ``dtype``, row-major."""
    return hashlib.sha256(np.ascontiguousarray(array, dtype=dtype).tobytes()).hexdigest()


def paddle_digest(data):
    """The digests of PaddleOCR's four maps and of its in-place edits (polys, ignore_tags)."""
    return {
        "shrink_map": sha256(data["shrink_map"]),
        "shrink_mask": sha256(data["shrink_mask"]),
        "threshold_map": sha256(data["threshold_map"]),
        "threshold_mask": sha256(data["threshold_mask"]),
        "polys_after": sha256(data["polys"], np.float32),
        "ignore_tags_after": sha256(data["ignore_tags"], np.bool_),
    }


def db_sample(path, dtype=np.float64):
    """DB's data dict for one ground-truth file (a blank image of the right size)."""
    (height, width), polygons, tags = read_gt(path, dtype)
    return {
        "image": np.zeros((height, width, 3), np.float32),
        "polygons": polygons,
        "ignore_tags": np.array(tags, dtype=np.uint8),
        "is_training": True,
        "filename": str(path),
    }
