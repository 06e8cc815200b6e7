"""Bad input raises ValueError or TypeError naming the problem; it never crashes the process."""

import numpy as np
import pytest

from ocrperf import _native
from ocrperf.dbnet import DBTargets, MakeBorderMap, MakeSegDetectionData
from ocrperf.dbnet.paddle import MakeBorderMap as PaddleBorder
from ocrperf.dbnet.paddle import MakeShrinkMap as PaddleShrink

BOX = np.array([[10, 10], [60, 10], [60, 30], [10, 30]], dtype=np.float64)


def sample(polygons, tags=None, image=None):
    return {
        "image": np.zeros((40, 70, 3), np.float32) if image is None else image,
        "polygons": polygons,
        "ignore_tags": np.zeros(len(polygons), np.uint8) if tags is None else tags,
        "is_training": True,
    }


ALL = [MakeSegDetectionData(), MakeBorderMap(), DBTargets()]


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_nan_coordinates(step):
    bad = BOX.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"polygon 1: coordinate 5 is NaN, not a finite number"):
        step(sample([BOX.copy(), bad]))


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_three_columns(step):
    with pytest.raises(ValueError, match=r"polygon 0: expected an array of shape \(P, 2\), got shape \(4, 3\)"):
        step(sample([np.ones((4, 3))]))


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_object_array(step):
    with pytest.raises(TypeError, match=r"polygon 0: coordinates must be numbers, not dtype object"):
        step(sample([np.array([[1, 2], [3, "x"], [5, 6]], dtype=object)]))


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_two_point_polygon(step):
    with pytest.raises(ValueError, match=r"polygon 0: a polygon needs at least 3 points, found 2"):
        step(sample([np.array([[1.0, 2.0], [30.0, 20.0]])]))


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_an_empty_polygon(step):
    with pytest.raises(ValueError, match=r"polygon 0: expected an array of shape \(P, 2\), got shape \(0,\)"):
        step(sample([[]]))


def test_no_polygons_is_an_image_without_text():
    data = DBTargets()(sample([]))
    assert data["gt"].shape == (1, 40, 70) and not data["gt"].any()
    assert (data["mask"] == 1).all() and (data["thresh_map"] == np.float32(0.3)).all()
    empty = {
        "image": np.zeros((40, 70, 3), np.uint8),
        "polys": np.zeros((0, 0, 2), np.float32),
        "ignore_tags": np.zeros(0, bool),
    }
    out = PaddleShrink()(PaddleBorder()(empty))
    assert not out["shrink_map"].any() and not out["threshold_mask"].any()


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_an_image_of_size_zero(step):
    # Rust's one check of the size (the Python classes only read the shape).
    with pytest.raises(ValueError, match=r"image size 70x0: each side must be at least 1"):
        step(sample([BOX.copy()], image=np.zeros((0, 70, 3), np.float32)))


def test_an_image_that_is_not_an_array():
    with pytest.raises(TypeError, match=r"image must be an array of shape \(H, W\[, C\]\), not list"):
        DBTargets()(sample([BOX.copy()], image=[[0] * 70] * 40))


@pytest.mark.parametrize("step", ALL, ids=lambda s: type(s).__name__)
def test_mismatched_ignore_tags(step):
    with pytest.raises(ValueError, match=r"2 polygons but 3 ignore tags"):
        step(sample([BOX.copy(), BOX.copy()], tags=np.zeros(3, np.uint8)))


def test_polygons_of_the_wrong_kind():
    with pytest.raises(
        TypeError, match=r"polygons must be a list of \(P, 2\) arrays or an \(N, P, 2\) array, not dict"
    ):
        DBTargets()(sample({"a": BOX}))
    with pytest.raises(ValueError, match=r"polygon 0: not an array of \(x, y\) points"):
        DBTargets()(sample([[[1, 2], [3]]]))


def test_coordinates_beyond_the_limit():
    with pytest.raises(ValueError, match=r"polygon 0: coordinate 2 is 1e12, outside ±1e9"):
        DBTargets()(sample([np.array([[0.0, 0.0], [1e12, 0.0], [5.0, 5.0]])]))


def test_paddle_polys_of_the_wrong_shape():
    data = {
        "image": np.zeros((40, 70, 3), np.uint8),
        "polys": np.zeros((2, 4, 3), np.float32),
        "ignore_tags": np.zeros(2, bool),
    }
    with pytest.raises(ValueError, match=r"polys|polygons must have shape \(N, P, 2\), got shape \(2, 4, 3\)"):
        PaddleBorder()(data)


def test_bad_settings():
    with pytest.raises(ValueError, match=r"shrink_ratio must be a finite number in \(0, 1\), not 1.5"):
        MakeSegDetectionData(shrink_ratio=1.5)
    # One range per setting, the command line's too (`--shrink-ratio 0` is refused alike).
    with pytest.raises(ValueError, match=r"shrink_ratio must be a finite number in \(0, 1\), not 0"):
        _native.Generator(shrink_ratio=0.0)
    with pytest.raises(ValueError, match=r"min_text_size must be a finite number in \[0, ∞\), not inf"):
        _native.Generator(min_text_size=float("inf"))
    with pytest.raises(ValueError, match=r"thresh_max must be a finite number in \[0, 1\], not 1.5"):
        _native.Generator(thresh_max=1.5)
    with pytest.raises(
        ValueError, match=r"cache_mb must be a finite number in \[0, 1048576\] MiB \(0 turns the cache off\), not -1"
    ):
        DBTargets(cache_mb=-1)
    with pytest.raises(ValueError, match=r"semantics must be 'db' or 'paddle'"):
        _native.Generator(semantics="mmocr")


def test_the_native_call_checks_its_own_arguments():
    generator = _native.Generator()
    points, ignore = np.zeros((4, 2)), np.zeros(1, bool)
    with pytest.raises(ValueError, match=r"the polygon lengths add up to 5, but there are 4 points"):
        generator.generate(40, 70, points, np.array([5]), ignore, True, False, False)
    with pytest.raises(ValueError, match=r"image size 70x-3: each side must be at least 1"):
        generator.generate(-3, 70, points, np.array([4]), ignore, True, False, False)
    with pytest.raises(TypeError):
        generator.generate(40, 70, points.astype(np.float32), np.array([4]), ignore, True, False, False)


def test_a_rust_panic_is_a_python_exception():
    with pytest.raises(BaseException) as caught:
        _native._panic_for_test("on purpose")
    assert type(caught.value).__name__ == "PanicException"
    assert "on purpose" in str(caught.value)
    # The interpreter is fine afterwards.
    assert DBTargets()(sample([BOX.copy()]))["gt"].any()
