"""DBNet training targets with PaddleOCR's semantics, bit-identical, from Rust.

Drop-in replacements for ``ppocr/data/imaug``'s ``MakeBorderMap`` and ``MakeShrinkMap``, with
their keys: ``polys`` (an (N, P, 2) float32 array, shorter polygons padded by repeating their
last point, as ``DetLabelEncode`` builds it), ``ignore_tags`` (N bools); outputs
``threshold_map``, ``threshold_mask``, ``shrink_map`` and ``shrink_mask``, all float32 (H, W).

They differ from MhLiao/DB's (:mod:`ocrperf.dbnet`) as PaddleOCR does:

1. the border map runs first, on the polygons as labelled (not clipped, not reoriented), for
   every polygon not tagged ignored, also those the shrink step ignores later; a polygon of zero
   area gets none;
2. when the shrink at the ratio does not give exactly one piece, it is retried at the next ratio
   of ``np.arange(r, 1, r)`` (0.8 for 0.4), and every piece of the last try is filled;
3. with ``epoch`` and ``total_epoch`` among the keyword arguments, the ratio is
   ``r + 0.2 * epoch / total_epoch``;
4. validation (clipping, ``|area| < 1``, orientation) always runs;
5. the padded duplicate points are kept, with the zero-length edges they make, and float32
   arithmetic where PaddleOCR's NumPy does it in float32.
"""

from typing import Any

import numpy as np

from ocrperf import _native
from ocrperf.dbnet._inputs import flatten, image_size, set_tags

__all__ = ["MakeBorderMap", "MakeShrinkMap"]

Data = dict[str, Any]


def _scheduled(shrink_ratio: float, kwargs: dict[str, Any]) -> float:
    """PaddleOCR's epoch schedule, with its arithmetic (Python floats, in its order)."""
    if "total_epoch" in kwargs and "epoch" in kwargs:
        # float() only states the type: the value is already a float (or a NumPy scalar of it).
        return float(shrink_ratio + 0.2 * kwargs["epoch"] / float(kwargs["total_epoch"]))
    return shrink_ratio


def _validate_in_place(polys: Any, reversed_: np.ndarray, height: int, width: int) -> None:
    """PaddleOCR's ``validate_polygons`` edits of ``data['polys']``: clipped, then reversed rows."""
    if len(polys) == 0:
        return
    if isinstance(polys, np.ndarray):
        # The same values as PaddleOCR's per-polygon clip, in one call per axis.
        np.clip(polys[..., 0], 0, width - 1, out=polys[..., 0])
        np.clip(polys[..., 1], 0, height - 1, out=polys[..., 1])
    else:
        for polygon in polys:
            polygon[:, 0] = np.clip(polygon[:, 0], 0, width - 1)
            polygon[:, 1] = np.clip(polygon[:, 1], 0, height - 1)
    for index in np.flatnonzero(reversed_):
        polys[index] = polys[index][::-1, :]


class MakeShrinkMap:
    """PaddleOCR's ``MakeShrinkMap``: ``shrink_map`` and ``shrink_mask`` (H, W)."""

    def __init__(self, min_text_size: float = 8, shrink_ratio: float = 0.4, compact: bool = False, **kwargs: Any):
        self.min_text_size = min_text_size
        self.shrink_ratio = _scheduled(shrink_ratio, kwargs)
        self.compact = compact
        self._generator = _native.Generator(
            semantics="paddle", shrink_ratio=self.shrink_ratio, min_text_size=float(min_text_size)
        )

    def __call__(self, data: Data) -> Data:
        image, polys, ignore_tags = data["image"], data["polys"], data["ignore_tags"]
        height, width = image_size(image)
        flat = flatten(polys, ignore_tags)
        shrink_map, shrink_mask, ignored, reversed_ = self._generator.shrink(
            height, width, flat.points, flat.lengths, flat.ignore, True, flat.float32, None, self.compact
        )
        _validate_in_place(polys, reversed_, height, width)
        set_tags(ignore_tags, ignored)
        data["shrink_map"] = shrink_map
        data["shrink_mask"] = shrink_mask
        return data


class MakeBorderMap:
    """PaddleOCR's ``MakeBorderMap``: ``threshold_map`` and ``threshold_mask`` (H, W)."""

    def __init__(
        self,
        shrink_ratio: float = 0.4,
        thresh_min: float = 0.3,
        thresh_max: float = 0.7,
        compact: bool = False,
        **kwargs: Any,
    ):
        self.shrink_ratio = _scheduled(shrink_ratio, kwargs)
        self.thresh_min, self.thresh_max = thresh_min, thresh_max
        self.compact = compact
        self._generator = _native.Generator(
            semantics="paddle", shrink_ratio=self.shrink_ratio, thresh_min=thresh_min, thresh_max=thresh_max
        )

    def __call__(self, data: Data) -> Data:
        height, width = image_size(data["image"])
        flat = flatten(data["polys"], data["ignore_tags"])
        threshold_map, threshold_mask = self._generator.border(
            height, width, flat.points, flat.lengths, flat.ignore, flat.float32, None, self.compact
        )
        data["threshold_map"] = threshold_map
        data["threshold_mask"] = threshold_mask
        return data
