"""Digest parity with PaddleOCR's own MakeBorderMap and MakeShrinkMap (recorded by
tools/paddle_parity.py from PaddleOCR's source files; only the digests are in the repository)."""

import json

import numpy as np
import pytest

from conftest import TESTDATA, paddle_digest, paddle_sample
from ocrperf.dbnet.paddle import MakeBorderMap, MakeShrinkMap

RECORDED = json.loads((TESTDATA / "paddle" / "digests.json").read_text())
SETS = ["dbnet", "dbnet-hard", "paddle-awkward"]


@pytest.mark.parametrize("schedule", sorted(RECORDED["schedules"]))
@pytest.mark.parametrize("name", SETS)
def test_paddle_classes_match_paddleocr(name, schedule):
    kwargs = RECORDED["schedules"][schedule]
    border, shrink = MakeBorderMap(**kwargs), MakeShrinkMap(**kwargs)
    files = sorted((TESTDATA / name / "gt").glob("*.txt"))
    assert files
    for path in files:
        expected = RECORDED["files"][f"{name}/{path.name}"][schedule]
        if "error" in expected:
            with pytest.raises(ValueError):
                shrink(border(paddle_sample(path)))
            continue
        data = shrink(border(paddle_sample(path)))
        assert data["shrink_map"].shape == data["threshold_map"].shape == paddle_sample(path)["image"].shape[:2]
        assert paddle_digest(data) == expected, (name, path.name, schedule)


def test_the_schedule_moves_the_ratio_as_paddleocr_does():
    assert MakeShrinkMap().shrink_ratio == 0.4
    assert MakeShrinkMap(epoch=3, total_epoch=10).shrink_ratio == 0.4 + 0.2 * 3 / 10.0
    assert MakeBorderMap(epoch=5, total_epoch=10).shrink_ratio == 0.5


def test_a_split_shrink_is_retried_and_every_piece_filled():
    # A dumbbell: at 0.4 the shrink splits in two; PaddleOCR retries at 0.8 (one piece here).
    # MhLiao/DB would fill only the first piece of the 0.4 split.
    pts = [
        (20, 20),
        (70, 20),
        (70, 44),
        (90, 44),
        (90, 20),
        (140, 20),
        (140, 60),
        (90, 60),
        (90, 48),
        (70, 48),
        (70, 60),
        (20, 60),
    ]
    polys = np.array([pts], dtype=np.float32)
    data = {"image": np.zeros((80, 160, 3), np.uint8), "polys": polys, "ignore_tags": np.array([False])}
    out = MakeShrinkMap()(MakeBorderMap()(data))
    assert out["shrink_map"][40, 45] == 1.0 and out["shrink_map"][40, 115] == 1.0
    assert not out["ignore_tags"][0]
