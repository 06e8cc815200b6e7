"""Digest parity with the DB reference through the Python API, on the repository's data sets."""

import json

import numpy as np

from conftest import TESTDATA, db_sample, sha256
from ocrperf.dbnet import DBTargets, MakeBorderMap, MakeSegDetectionData


def test_drop_in_classes_match_the_reference(dataset):
    files, digests = dataset
    seg, border = MakeSegDetectionData(), MakeBorderMap()
    for path in files:
        data = border(seg(db_sample(path)))
        assert data["gt"].shape == (1,) + data["mask"].shape and data["gt"].dtype == np.float32
        got = {
            "gt": sha256(data["gt"][0]),
            "mask": sha256(data["mask"]),
            "thresh": sha256(data["thresh_map"]),
            "thresh_mask": sha256(data["thresh_mask"]),
        }
        assert got == digests[path.name], path.name


def test_db_targets_cold_and_warm_match_the_reference(dataset):
    files, digests = dataset
    targets = DBTargets()
    for epoch in range(2):
        for path in files:
            data = targets(db_sample(path))
            got = {
                "gt": sha256(data["gt"][0]),
                "mask": sha256(data["mask"]),
                "thresh": sha256(data["thresh_map"]),
                "thresh_mask": sha256(data["thresh_mask"]),
            }
            assert got == digests[path.name], (epoch, path.name)
    stats = targets.cache_stats()
    assert stats["hits"] > 0 and stats["hits"] >= stats["misses"]
    assert stats["bypassed"] == 0 and not stats["standing_aside"], "a cache with room never stands aside"


def test_a_full_cache_that_does_not_hit_stands_aside_with_the_same_maps():
    root = TESTDATA / "dbnet"  # 1,316 polygons an epoch: a 1 MiB cache holds a few dozen
    files = sorted((root / "gt").glob("*.txt"))
    digests = json.loads((root / "expected" / "digests.json").read_text())["files"]
    targets = DBTargets(cache_mb=1)
    for _ in range(3):
        for path in files:
            data = targets(db_sample(path))
            assert sha256(data["thresh_map"]) == digests[path.name]["thresh"], path.name
    stats = targets.cache_stats()
    assert stats["standing_aside"] and stats["bypassed"] > stats["misses"], stats


def test_compact_maps_are_the_same_values_as_bytes(dataset):
    files, digests = dataset
    full, compact = DBTargets(cache_mb=0), DBTargets(cache_mb=0, compact=True)
    for path in files[:5]:
        a, b = full(db_sample(path)), compact(db_sample(path))
        for key in ("gt", "mask", "thresh_mask"):
            assert b[key].dtype == np.uint8
            np.testing.assert_array_equal(b[key].astype(np.float32), a[key])
        assert b["thresh_map"].dtype == np.float32
        np.testing.assert_array_equal(a["thresh_map"], b["thresh_map"])
