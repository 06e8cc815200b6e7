//! The polygon work: everything about one validated polygon that does not depend on the rest
//! of the image, so it can be computed once and cached.

use crate::{
    Error,
    border::{DistancePatch, EdgeDistance},
    geom::{self, Point},
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
        /// The first path of the dilated polygon (`int32`), or `None` when the dilation is
        /// empty, which the reference fails on.
        dilated: Option<Vec<[i32; 2]>>,
        /// The offset distance D.
        distance: f64,
        /// The border distance patch, for this canvas size; `None` when the dilation is empty or
        /// the reference cannot place the patch on the canvas.
        patch: Option<DistancePatch>,
    },
}

impl PolygonWork {
    /// Does the polygon work for `polygon` (already validated: clipped and oriented) on a canvas
    /// of `width × height`.
    pub(crate) fn compute(
        polygon: &[Point],
        shrink_ratio: f64,
        mode: EdgeDistance,
        width: usize,
        height: usize,
    ) -> PolygonWork {
        let distance = geom::offset_distance(polygon, shrink_ratio);
        let integer = geom::truncate_to_clipper(polygon);
        let Some(shrunk) = offset::offset_polygon(&integer, -distance).into_iter().next() else {
            return PolygonWork::ShrunkAway;
        };
        let dilated = offset::offset_polygon(&integer, distance).into_iter().next();
        let patch = dilated
            .as_ref()
            .and_then(|dilated| DistancePatch::compute(polygon, dilated, distance, mode, width, height));
        PolygonWork::Text { shrunk: to_i32(&shrunk), dilated: dilated.as_deref().map(to_i32), distance, patch }
    }

    /// Approximate heap bytes, for the cache's weigher.
    pub(crate) fn bytes(&self) -> usize {
        let base = size_of::<PolygonWork>();
        match self {
            PolygonWork::ShrunkAway => base,
            PolygonWork::Text { shrunk, dilated, patch, .. } => {
                base + shrunk.len() * 8
                    + dilated.as_ref().map_or(0, |d| d.len() * 8)
                    + patch.as_ref().map_or(0, DistancePatch::bytes)
            }
        }
    }

    /// The dilated path and the patch, or the reference's failure for this polygon.
    pub(crate) fn border(&self, polygon: usize) -> Result<Option<Border<'_>>, Error> {
        match self {
            PolygonWork::ShrunkAway => Ok(None),
            PolygonWork::Text { dilated: None, distance, .. } => {
                Err(Error::EmptyDilation { polygon, distance: *distance })
            }
            PolygonWork::Text { patch: None, .. } => Err(Error::PatchOutsideImage { polygon }),
            PolygonWork::Text { dilated: Some(dilated), patch: Some(patch), .. } => Ok(Some(Border { dilated, patch })),
        }
    }
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
