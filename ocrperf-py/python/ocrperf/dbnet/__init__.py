"""DBNet training targets with MhLiao/DB's semantics, bit-identical, from Rust.

Drop-in replacements for DB's ``data/processes`` classes: change the import, keep the config::

    from ocrperf.dbnet import MakeSegDetectionData, MakeBorderMap

    processes = [..., MakeSegDetectionData(), MakeBorderMap(), ...]
    data = MakeBorderMap()(MakeSegDetectionData()(data))

Each takes and returns DB's data dict: ``image`` (H×W×C), ``polygons`` (a list of (P, 2)
arrays), ``ignore_tags`` (N), ``is_training``; it adds ``gt`` (1, H, W) and ``mask`` (H, W), or
``thresh_map`` and ``thresh_mask`` (H, W), all float32, and edits ``polygons`` and
``ignore_tags`` in place exactly as DB does (``MakeBorderMap`` relies on that).

``DBTargets`` runs both steps in one call with a polygon cache; PaddleOCR's classes are in
:mod:`ocrperf.dbnet.paddle`.

``compact=True`` returns the 0/1 maps (``gt``, ``mask``, ``thresh_mask``) as ``uint8``: lossless,
a quarter of the bytes through the DataLoader's queues; convert on the device
(``batch["gt"].cuda().float()``).
"""

from typing import Any

import numpy as np

from ocrperf import _native
from ocrperf.dbnet._inputs import Flat, flatten, image_size, set_tags

__all__ = ["DBTargets", "MakeBorderMap", "MakeSegDetectionData"]

Data = dict[str, Any]


def _validate_in_place(polygons: Any, flat: Flat, reversed_: np.ndarray, height: int, width: int) -> None:
    """DB's ``validate_polygons`` edits: each polygon clipped to the image in place, and
    reversed ones replaced by a reversed view. Only polygons that reach outside the image are
    written to (clipping leaves the others as they are)."""
    points, limit = flat.points, (width - 1, height - 1)
    if len(points) and (points.min() < 0 or (points.max(axis=0) > limit).any()):
        clipped = np.clip(points, 0, limit)
        starts = np.cumsum(flat.lengths) - flat.lengths
        changed = np.logical_or.reduceat((clipped != points).any(axis=1), starts)
        for index in np.flatnonzero(changed):
            polygon = polygons[index]
            if not isinstance(polygon, np.ndarray):
                polygon = np.asarray(polygon, dtype=np.float64)
                polygons[index] = polygon
            polygon[...] = clipped[starts[index] : starts[index] + flat.lengths[index]]
    for index in np.flatnonzero(reversed_):
        polygons[index] = polygons[index][::-1, :]


class MakeSegDetectionData:
    """MhLiao/DB's ``MakeSegDetectionData``: the shrink map ``gt`` (1, H, W) and ``mask``."""

    def __init__(self, min_text_size: float = 8, shrink_ratio: float = 0.4, compact: bool = False, **kwargs: Any):
        self.min_text_size = min_text_size
        self.shrink_ratio = shrink_ratio
        self.compact = compact
        self._generator = _native.Generator(
            semantics="db", shrink_ratio=shrink_ratio, min_text_size=float(min_text_size)
        )

    def __call__(self, data: Data) -> Data:
        return self.process(data)

    def process(self, data: Data) -> Data:
        image, polygons, ignore_tags = data["image"], data["polygons"], data["ignore_tags"]
        height, width = image_size(image)
        is_training = bool(data.get("is_training", True))
        flat = flatten(polygons, ignore_tags)
        gt, mask, ignored, reversed_ = self._generator.shrink(
            height, width, flat.points, flat.lengths, flat.ignore, is_training, flat.float32, None, self.compact
        )
        if is_training:
            _validate_in_place(polygons, flat, reversed_, height, width)
        set_tags(ignore_tags, ignored)
        filename = data.get("filename")
        data.update(
            image=image,
            polygons=polygons,
            gt=gt.reshape(1, height, width),
            mask=mask,
            filename="" if filename is None else filename,
        )
        return data


class MakeBorderMap:
    """MhLiao/DB's ``MakeBorderMap``: ``thresh_map`` and ``thresh_mask`` (H, W)."""

    def __init__(
        self,
        shrink_ratio: float = 0.4,
        thresh_min: float = 0.3,
        thresh_max: float = 0.7,
        compact: bool = False,
        **kwargs: Any,
    ):
        self.shrink_ratio, self.thresh_min, self.thresh_max = shrink_ratio, thresh_min, thresh_max
        self.compact = compact
        self._generator = _native.Generator(
            semantics="db", shrink_ratio=shrink_ratio, thresh_min=thresh_min, thresh_max=thresh_max
        )

    def __call__(self, data: Data) -> Data:
        return self.process(data)

    def process(self, data: Data) -> Data:
        height, width = image_size(data["image"])
        flat = flatten(data["polygons"], data["ignore_tags"])
        thresh, thresh_mask = self._generator.border(
            height, width, flat.points, flat.lengths, flat.ignore, flat.float32, None, self.compact
        )
        data["thresh_map"] = thresh
        data["thresh_mask"] = thresh_mask
        return data


class DBTargets:
    """Both of DB's steps in one call (``MakeSegDetectionData`` then ``MakeBorderMap``), with a
    process-local polygon cache.

    The output and the in-place edits are those of the two classes run in order. The cache keeps
    the per-polygon work (the Clipper offsets and the border distance patch) of each distinct
    polygon, so an unaugmented validation set, or any polygon seen again, costs only composing
    its patches. Cached and uncached maps are bit-identical.

    The cache lives in the process that calls: with a ``torch.utils.data.DataLoader`` every
    worker process has its own (``cache_mb`` each), and it survives from one epoch to the next
    only with ``persistent_workers=True``; otherwise the workers, and their caches, are started
    afresh every epoch. With ``num_workers=0`` the training process holds the one cache.
    Polygons that change every epoch (random augmentation) never hit; leave the cache on anyway,
    it is bounded by ``cache_mb``, or pass ``cache_mb=0`` to turn it off.
    """

    def __init__(
        self,
        min_text_size: float = 8,
        shrink_ratio: float = 0.4,
        thresh_min: float = 0.3,
        thresh_max: float = 0.7,
        cache_mb: float = 256,
        compact: bool = False,
    ):
        self.compact = compact
        self._generator = _native.Generator(
            semantics="db",
            shrink_ratio=shrink_ratio,
            min_text_size=float(min_text_size),
            thresh_min=thresh_min,
            thresh_max=thresh_max,
            cache_mb=float(cache_mb),  # its range (0 turns the cache off) is the library's
        )

    def __call__(self, data: Data) -> Data:
        image, polygons, ignore_tags = data["image"], data["polygons"], data["ignore_tags"]
        height, width = image_size(image)
        is_training = bool(data.get("is_training", True))
        flat = flatten(polygons, ignore_tags)
        gt, mask, thresh, thresh_mask, ignored, reversed_ = self._generator.generate(
            height, width, flat.points, flat.lengths, flat.ignore, is_training, flat.float32, self.compact
        )
        if is_training:
            _validate_in_place(polygons, flat, reversed_, height, width)
        set_tags(ignore_tags, ignored)
        filename = data.get("filename")
        data.update(
            polygons=polygons,
            gt=gt.reshape(1, height, width),
            mask=mask,
            thresh_map=thresh,
            thresh_mask=thresh_mask,
            filename="" if filename is None else filename,
        )
        return data

    def cache_stats(self) -> "dict[str, float] | None":
        """Hits, misses, hit rate, entries and bytes of this process's cache (None if off)."""
        return self._generator.cache_stats()
