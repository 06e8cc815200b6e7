//! The polygon work: everything about one validated polygon that does not depend on the rest
//! of the image, so it can be computed once and cached.

use crate::{
    Error,
    border::{DistancePatch, EdgeDistance},
    geom::{self, Point, Precision},
    offset,
};

/// The result of the polygon work for a polygon that passed the size check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PolygonWork {
    /// The shrink came back empty: the reference then masks the polygon out as ignored.
    ShrunkAway,
    /// A text region with its targets' ingredients.
    Text {
        /// The first path of the shrunk polygon, as `fillPoly` gets it (`int32`).
        shrunk: Vec<[i32; 2]>,
        /// The dilation and the distance patch.
        border: BorderWork,
    },
}

impl PolygonWork {
    /// Does the polygon work for `polygon` (already validated: clipped and oriented) on a canvas
    /// of `width × height`.
    pub(crate) fn compute(
        polygon: &[Point],
        shrink_ratio: f64,
        mode: EdgeDistance,
        precision: Precision,
        width: usize,
        height: usize,
    ) -> PolygonWork {
        let distance = geom::offset_distance(polygon, shrink_ratio);
        let integer = geom::truncate_to_clipper(polygon);
        let Some(shrunk) = offset::offset_polygon(&integer, -distance).into_iter().next() else {
            return PolygonWork::ShrunkAway;
        };
        let border = BorderWork::from_parts(polygon, &integer, distance, mode, precision, (width, height));
        PolygonWork::Text { shrunk: to_i32(&shrunk), border }
    }

    /// Approximate heap bytes, for the cache's weigher.
    pub(crate) fn bytes(&self) -> usize {
        let base = size_of::<PolygonWork>();
        match self {
            PolygonWork::ShrunkAway => base,
            PolygonWork::Text { shrunk, border } => base + shrunk.len() * 8 + border.bytes(),
        }
    }

    /// The dilated path and the patch, or the reference's failure for this polygon.
    pub(crate) fn border(&self, polygon: usize) -> Result<Option<Border<'_>>, Error> {
        match self {
            PolygonWork::ShrunkAway => Ok(None),
            PolygonWork::Text { border, .. } => border.border(polygon).map(Some),
        }
    }
}

/// The border part of the polygon work: the dilation by `D` and the distance patch. Alone, it
/// is what a border step needs when the shrink is not its business (PaddleOCR draws borders of
/// polygons whose shrink fails).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BorderWork {
    /// The first path of the dilated polygon (`int32`), or `None` when the dilation is empty,
    /// which the reference fails on.
    dilated: Option<Vec<[i32; 2]>>,
    /// The offset distance D.
    distance: f64,
    /// The border distance patch, for this canvas size; `None` when the dilation is empty or
    /// the reference cannot place the patch on the canvas.
    patch: Option<DistancePatch>,
}

impl BorderWork {
    /// The dilation by `D` (from `shrink_ratio`) and the distance patch of `polygon`.
    pub(crate) fn compute(
        polygon: &[Point],
        shrink_ratio: f64,
        mode: EdgeDistance,
        precision: Precision,
        width: usize,
        height: usize,
    ) -> BorderWork {
        let distance = geom::offset_distance(polygon, shrink_ratio);
        let integer = geom::truncate_to_clipper(polygon);
        BorderWork::from_parts(polygon, &integer, distance, mode, precision, (width, height))
    }

    /// The work from `D` and the integer polygon, when the caller has them already.
    fn from_parts(
        polygon: &[Point],
        integer: &[[i64; 2]],
        distance: f64,
        mode: EdgeDistance,
        precision: Precision,
        (width, height): (usize, usize),
    ) -> BorderWork {
        let dilated = offset::offset_polygon(integer, distance).into_iter().next();
        let patch = dilated
            .as_ref()
            .and_then(|dilated| DistancePatch::compute(polygon, dilated, distance, mode, precision, width, height));
        BorderWork { dilated: dilated.as_deref().map(to_i32), distance, patch }
    }

    /// Approximate heap bytes.
    fn bytes(&self) -> usize {
        self.dilated.as_ref().map_or(0, |d| d.len() * 8) + self.patch.as_ref().map_or(0, DistancePatch::bytes)
    }

    /// The dilated path and the patch, or the reference's failure: `IndexError` on an empty
    /// dilation, a broadcasting error where the patch cannot be placed.
    pub(crate) fn border(&self, polygon: usize) -> Result<Border<'_>, Error> {
        let dilated = self.dilated.as_deref().ok_or(Error::EmptyDilation { polygon, distance: self.distance })?;
        let patch = self.patch.as_ref().ok_or(Error::PatchOutsideImage { polygon })?;
        Ok(Border { dilated, patch })
    }
}

/// The shrunk pieces of `polygon` as PaddleOCR's `MakeShrinkMap` finds them: the offset by
/// `-D(r)` for each `r` of `np.arange(ratio, 1, ratio)` until one gives exactly one piece, and
/// then every piece of the last one tried (empty when nothing is left).
pub(crate) fn paddle_shrink(polygon: &[Point], shrink_ratio: f64) -> Vec<Vec<[i32; 2]>> {
    let integer = geom::truncate_to_clipper(polygon);
    let mut pieces = Vec::new();
    for ratio in numpy_arange(shrink_ratio, 1.0, shrink_ratio) {
        pieces = offset::offset_polygon(&integer, -geom::offset_distance(polygon, ratio));
        if pieces.len() == 1 {
            break;
        }
    }
    pieces.iter().map(|piece| to_i32(piece)).collect()
}

/// DB's shrink alone: the first piece of the offset by `-D`, `None` when nothing is left.
pub(crate) fn db_shrink(polygon: &[Point], shrink_ratio: f64) -> Option<Vec<[i32; 2]>> {
    let integer = geom::truncate_to_clipper(polygon);
    let distance = geom::offset_distance(polygon, shrink_ratio);
    offset::offset_polygon(&integer, -distance).first().map(|piece| to_i32(piece))
}

/// `np.arange(start, stop, step)` for floats: `ceil((stop - start) / step)` values, the second
/// `start + step` and the rest `start + i * (second - start)`, as NumPy fills them.
pub(crate) fn numpy_arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let length = ((stop - start) / step).ceil();
    // NaN (a NaN bound) gives nothing, as an empty range does.
    if length.is_nan() || length <= 0.0 {
        return Vec::new();
    }
    // A ratio this small would ask for millions of offsets; PaddleOCR's never come near.
    let length = length.min(1024.0) as usize;
    let second = start + step;
    let delta = second - start;
    (0..length)
        .map(|i| match i {
            0 => start,
            1 => second,
            _ => start + i as f64 * delta,
        })
        .collect()
}

/// What the threshold maps need of a text polygon.
pub(crate) struct Border<'a> {
    /// The dilated polygon, for the threshold mask.
    pub(crate) dilated: &'a [[i32; 2]],
    /// The distance patch, for the threshold map.
    pub(crate) patch: &'a DistancePatch,
}

/// `.astype(np.int32)` of Clipper's `int64` output (wrapping, as NumPy does).
fn to_i32(path: &[[i64; 2]]) -> Vec<[i32; 2]> {
    path.iter().map(|&[x, y]| [x as i32, y as i32]).collect()
}

#[cfg(test)]
mod tests {
    use super::numpy_arange;

    #[test]
    fn arange_matches_numpy() {
        // Printed by NumPy 2: np.arange(r, 1, r) for PaddleOCR's ratios.
        assert_eq!(numpy_arange(0.4, 1.0, 0.4), [0.4, 0.8]);
        assert_eq!(numpy_arange(0.45, 1.0, 0.45), [0.45, 0.9]);
        assert_eq!(numpy_arange(0.5, 1.0, 0.5), [0.5]);
        assert_eq!(numpy_arange(0.3, 1.0, 0.3), [0.3, 0.6, 0.8999999999999999]);
        assert!(numpy_arange(1.2, 1.0, 1.2).is_empty());
    }
}
