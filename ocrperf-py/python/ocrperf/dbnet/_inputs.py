"""Flattening a sample's polygons for the native generator.

What cannot be flattened raises ``TypeError`` (not numbers, not arrays) or ``ValueError``
(wrong shapes, mismatched tags), naming the polygon. What a polygon's values must be (finite,
at least 3 points, within range) and the image's size (each side at least 1 pixel) are the
native generator's one check, which raises ``ValueError`` naming the polygon or the size.
"""

from typing import Any, NamedTuple

import numpy as np


class Flat(NamedTuple):
    """A sample's polygons as the native generator takes them."""

    points: np.ndarray  # (total points, 2) float64
    lengths: np.ndarray  # (polygons,) int64
    ignore: np.ndarray  # (polygons,) bool
    float32: bool  # every polygon was float32 (PaddleOCR's dtype), so the reference rounds there


def image_size(image: Any) -> "tuple[int, int]":
    """``(height, width)`` of an ``H×W[×C]`` image (anything with a ``.shape``); an empty side
    is the native generator's to refuse."""
    shape = getattr(image, "shape", None)
    if shape is None or len(shape) < 2:
        raise TypeError(
            f"image must be an array of shape (H, W[, C]), not {type(image).__name__}"
            + (f" of shape {tuple(shape)}" if shape is not None else "")
        )
    return int(shape[0]), int(shape[1])


def _polygon_array(index: int, polygon: Any) -> np.ndarray:
    try:
        array = np.asarray(polygon)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise ValueError(f"polygon {index}: not an array of (x, y) points ({err})") from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"polygon {index}: coordinates must be numbers, not dtype {array.dtype}")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"polygon {index}: expected an array of shape (P, 2), got shape {array.shape}")
    return array


def _fast_flatten(polygons: "list[Any] | tuple[Any, ...]", ignore_tags: Any) -> "Flat | None":
    """The common case in one concatenation: every polygon a numeric (P, 2) array,
    as many tags as polygons. ``None`` sends anything else to the checks that name the problem."""
    if not polygons or not all(type(p) is np.ndarray and p.ndim == 2 for p in polygons):
        return None
    try:
        points = np.concatenate(polygons)
        tags = np.asarray(ignore_tags)
    except (ValueError, TypeError):
        return None
    lengths = np.fromiter((len(p) for p in polygons), dtype=np.int64, count=len(polygons))
    if (
        points.dtype.kind not in "biuf"
        or points.shape[1] != 2
        or tags.shape != lengths.shape
        or tags.dtype.kind not in "biu"
    ):
        return None
    float32 = points.dtype == np.float32
    return Flat(points.astype(np.float64, copy=False), lengths, tags.astype(bool, copy=False), float32)


def flatten(polygons: Any, ignore_tags: Any) -> Flat:
    """Checks ``polygons`` (a list of (P, 2) arrays, or one (N, P, 2) array) and ``ignore_tags``
    (N values) and flattens them."""
    if isinstance(polygons, np.ndarray):
        if polygons.dtype == object or polygons.dtype.kind not in "biuf":
            raise TypeError(f"polygons must be numbers, not dtype {polygons.dtype}")
        if polygons.ndim >= 1 and len(polygons) == 0:
            arrays = []
        elif polygons.ndim != 3 or polygons.shape[2] != 2:
            raise ValueError(f"polygons must have shape (N, P, 2), got shape {polygons.shape}")
        else:
            # PaddleOCR's (N, P, 2): every polygon has P points; one reshape, no per-polygon work.
            if polygons.shape[1] >= 3:
                tags = np.asarray(ignore_tags)
                if tags.shape == (len(polygons),) and tags.dtype.kind in "biu":
                    return Flat(
                        polygons.reshape(-1, 2).astype(np.float64),
                        np.full(len(polygons), polygons.shape[1], dtype=np.int64),
                        tags.astype(bool),
                        polygons.dtype == np.float32,
                    )
            arrays = [_polygon_array(i, p) for i, p in enumerate(polygons)]
    elif isinstance(polygons, (list, tuple)):
        fast = _fast_flatten(polygons, ignore_tags)
        if fast is not None:
            return fast
        arrays = [_polygon_array(i, p) for i, p in enumerate(polygons)]
    else:
        raise TypeError(
            f"polygons must be a list of (P, 2) arrays or an (N, P, 2) array, not {type(polygons).__name__}"
        )
    tags = np.asarray(ignore_tags if ignore_tags is not None else [], dtype=object)
    if tags.ndim != 1 and not (tags.ndim == 0 and len(arrays) == 0):
        raise ValueError(f"ignore_tags must be a flat sequence, got shape {tags.shape}")
    if tags.size != len(arrays):
        raise ValueError(f"{len(arrays)} polygons but {tags.size} ignore tags")
    try:
        ignore = np.array([bool(tag) for tag in tags.reshape(-1)], dtype=bool)
    except (TypeError, ValueError) as err:
        raise TypeError(f"ignore_tags must be booleans: {err}") from None
    if not arrays:
        return Flat(np.empty((0, 2)), np.empty(0, dtype=np.int64), ignore, False)
    points = np.concatenate(arrays).astype(np.float64, copy=False)
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    float32 = all(a.dtype == np.float32 for a in arrays)
    return Flat(np.ascontiguousarray(points), lengths, ignore, float32)


def set_tags(ignore_tags: Any, ignored: np.ndarray) -> None:
    """Sets ``ignore_tags[i] = True`` where the step ignored polygon ``i``, in place, as the
    reference does (an array or a list)."""
    for index in np.flatnonzero(ignored):
        if not ignore_tags[index]:
            ignore_tags[index] = True
