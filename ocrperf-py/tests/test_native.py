"""What the native module promises beyond the maps' values: no copies, the GIL released, the
in-place edits of the references, and the console script."""

import subprocess
import sys
import threading

import numpy as np

from conftest import TESTDATA, db_sample, paddle_sample
from ocrperf import _native
from ocrperf.dbnet import DBTargets, MakeBorderMap, MakeSegDetectionData
from ocrperf.dbnet.paddle import MakeBorderMap as PaddleBorder
from ocrperf.dbnet.paddle import MakeShrinkMap as PaddleShrink

FIRST = sorted((TESTDATA / "dbnet" / "gt").glob("*.txt"))[0]


def test_maps_are_handed_over_without_a_copy():
    data = DBTargets()(db_sample(FIRST))
    for key in ("mask", "thresh_map", "thresh_mask"):
        array = data[key]
        # NumPy does not own the buffer: it is the Rust Vec, kept alive by the array's base.
        assert not array.flags.owndata and array.base is not None, key
        assert array.flags.c_contiguous and array.flags.writeable
    assert data["gt"].base is not None  # (1, H, W): a view of the (H, W) array


def test_in_place_edits_match_db():
    a, b = db_sample(FIRST), db_sample(FIRST)
    polygons_before = [p.copy() for p in a["polygons"]]
    MakeSegDetectionData()(a)
    DBTargets()(b)
    for data in (a, b):
        assert len(data["polygons"]) == len(polygons_before)
        for after, before in zip(data["polygons"], polygons_before):
            clipped = np.stack([np.clip(before[:, 0], 0, 639), np.clip(before[:, 1], 0, 639)], axis=1)
            assert np.array_equal(after, clipped) or np.array_equal(after, clipped[::-1])
    assert np.array_equal(a["ignore_tags"], b["ignore_tags"])
    assert a["ignore_tags"].dtype == np.uint8
    # MakeBorderMap sees the tags the shrink step set.
    assert MakeBorderMap()(a)["thresh_mask"].shape == (640, 640)


def test_paddle_edits_polys_in_place():
    data = paddle_sample(sorted((TESTDATA / "paddle-awkward" / "gt").glob("*.txt"))[1])
    polys = data["polys"]
    PaddleShrink()(PaddleBorder()(data))
    assert data["polys"] is polys and polys.dtype == np.float32
    assert polys[..., 0].min() >= 0 and polys[..., 1].min() >= 0


def test_the_gil_is_released_during_the_work():
    # A big image: the native call takes a while; a pure-Python thread keeps counting meanwhile
    # only if the call released the GIL.
    size = 3000
    rng = np.random.default_rng(1)
    polygons = []
    for _ in range(400):
        x, y = rng.uniform(50, size - 150, 2)
        polygons.append(np.array([[x, y], [x + 120, y], [x + 120, y + 40], [x, y + 40]]))
    data = {"image": np.zeros((size, size), np.uint8), "polygons": polygons, "ignore_tags": np.zeros(400, np.uint8)}
    count, running = [0], [True]

    def spin():
        while running[0]:
            count[0] += 1

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        before = count[0]
        DBTargets(cache_mb=0)(data)
        during = count[0] - before
    finally:
        running[0] = False
        thread.join()
    assert during > 1000, f"the counting thread ran {during} times during the call"


def test_the_console_script_is_the_cli(tmp_path):
    # `python -m ocrperf` runs the same entry point as the installed `ocrperf` script.
    result = subprocess.run([sys.executable, "-m", "ocrperf", "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ocrperf ")
    bad = subprocess.run(
        [sys.executable, "-m", "ocrperf", "trace", "analyze", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "missing.json" in bad.stderr and bad.stderr.count("\n") == 1


def test_cli_main_in_process_returns_the_exit_code(tmp_path):
    assert _native.cli_main(["ocrperf", "trace", "analyze", str(tmp_path / "nope.json")]) == 2


def test_the_package_installs_the_ocrperf_script():
    import pathlib
    import shutil

    script = pathlib.Path(sys.executable).parent / "ocrperf"
    found = str(script) if script.exists() else shutil.which("ocrperf")
    assert found, "pip install put no `ocrperf` script beside the interpreter"
    result = subprocess.run([found, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("ocrperf "), result.stderr


def test_db_config_construction_is_accepted():
    # DB's config system passes its own `cmd` and calls `process(data)`.
    seg = MakeSegDetectionData(cmd={}, min_text_size=8, shrink_ratio=0.4)
    border = MakeBorderMap(cmd={}, shrink_ratio=0.4, thresh_min=0.3, thresh_max=0.7)
    data = border.process(seg.process(db_sample(FIRST)))
    assert data["gt"].shape == (1, 640, 640) and data["thresh_map"].shape == (640, 640)
