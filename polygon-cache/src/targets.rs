//! `Targets`: the four output maps, and the bookkeeping that lets a reused `Targets` clear only
//! what the previous image changed.

use crate::raster::{Canvas, fill_poly};

/// A row span that holds nothing.
const EMPTY: (usize, usize) = (usize::MAX, 0);

/// One map and, per row, the extent changed since it was last set to its background.
#[derive(Debug, Clone, Default)]
struct Map {
    values: Vec<f32>,
    background: f32,
    /// Per row, `[start, end)` covering every pixel written since the last reset (`EMPTY`
    /// when none). One extent per row, not one span per fill: a reset then clears each row
    /// in one contiguous fill (pixels between two spans are background already, so clearing
    /// them too changes nothing), instead of thousands of short fills.
    rows: Vec<(usize, usize)>,
}

impl Map {
    /// Makes every pixel `background`: the whole map after a size (or background) change,
    /// otherwise only each row's changed extent.
    fn reset(&mut self, height: usize, width: usize, background: f32) {
        let n = height * width;
        if self.values.len() != n || self.rows.len() != height || self.background.to_bits() != background.to_bits() {
            self.values.clear();
            self.values.resize(n, background);
            self.background = background;
            self.rows.clear();
            self.rows.resize(height, EMPTY);
        } else {
            for (row, extent) in self.rows.iter_mut().enumerate() {
                let (start, end) = std::mem::replace(extent, EMPTY);
                if start < end {
                    self.values[row * width + start..row * width + end].fill(background);
                }
            }
        }
    }

    /// `cv2.fillPoly` onto this map; `fill_poly` widens each row's extent as it writes.
    fn fill(&mut self, width: usize, height: usize, points: &[[i32; 2]], value: f32) {
        fill_poly(&mut Canvas { data: &mut self.values, dirty: &mut self.rows, width, height }, points, value);
    }

    fn mark(&mut self, row: usize, start: usize, end: usize) {
        let extent = &mut self.rows[row];
        *extent = (extent.0.min(start), extent.1.max(end));
    }
}

/// The four training targets of one image, `f32`, row-major `height × width`.
///
/// Reusing one `Targets` for many images (with [`crate::TargetGenerator::generate_into`]) is
/// the fast path: the maps are read-only from outside, so only the pixels the previous image
/// changed need resetting.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    height: usize,
    width: usize,
    gt: Map,
    mask: Map,
    thresh: Map,
    thresh_mask: Map,
}

impl PartialEq for Targets {
    /// Equal when the size and all four maps are equal (IEEE equality per pixel).
    fn eq(&self, other: &Targets) -> bool {
        (self.height, self.width) == (other.height, other.width) && self.maps() == other.maps()
    }
}

impl Targets {
    /// Image height.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Shrink (probability) map: 1 inside each shrunk text polygon.
    pub fn gt(&self) -> &[f32] {
        &self.gt.values
    }

    /// 0 over ignored polygons, 1 elsewhere.
    pub fn mask(&self) -> &[f32] {
        &self.mask.values
    }

    /// Threshold map, `thresh_min` far from text up to `thresh_max` on borders.
    pub fn thresh(&self) -> &[f32] {
        &self.thresh.values
    }

    /// 1 inside each dilated text polygon.
    pub fn thresh_mask(&self) -> &[f32] {
        &self.thresh_mask.values
    }

    /// The maps with their names, in the reference's order.
    pub fn maps(&self) -> [(&'static str, &[f32]); 4] {
        [("gt", self.gt()), ("mask", self.mask()), ("thresh", self.thresh()), ("thresh_mask", self.thresh_mask())]
    }

    /// Takes the four maps out, in the order of [`Targets::maps`], without copying them.
    pub fn into_maps(self) -> [Vec<f32>; 4] {
        [self.gt.values, self.mask.values, self.thresh.values, self.thresh_mask.values]
    }

    /// Sets the maps of one step to their background and leaves the other two empty: the
    /// shrink step's (`gt`, `mask`) or the border step's (`thresh`, `thresh_mask`).
    pub(crate) fn reset_step(&mut self, height: usize, width: usize, thresh_background: f32, shrink: bool) {
        self.height = height;
        self.width = width;
        if shrink {
            self.gt.reset(height, width, 0.0);
            self.mask.reset(height, width, 1.0);
        } else {
            self.thresh_mask.reset(height, width, 0.0);
            self.thresh.reset(height, width, thresh_background);
        }
    }

    /// Sets every map to its background for an image of `height × width`.
    pub(crate) fn reset(&mut self, height: usize, width: usize, thresh_background: f32) {
        self.height = height;
        self.width = width;
        self.gt.reset(height, width, 0.0);
        self.mask.reset(height, width, 1.0);
        self.thresh_mask.reset(height, width, 0.0);
        self.thresh.reset(height, width, thresh_background);
    }

    /// Fills a polygon into the shrink map.
    pub(crate) fn fill_gt(&mut self, points: &[[i32; 2]], value: f32) {
        self.gt.fill(self.width, self.height, points, value);
    }

    /// Fills a polygon into the shrink mask.
    pub(crate) fn fill_mask(&mut self, points: &[[i32; 2]], value: f32) {
        self.mask.fill(self.width, self.height, points, value);
    }

    /// Fills a polygon into the threshold mask.
    pub(crate) fn fill_thresh_mask(&mut self, points: &[[i32; 2]], value: f32) {
        self.thresh_mask.fill(self.width, self.height, points, value);
    }

    /// Composes a border patch straight into the threshold map.
    ///
    /// The reference builds `canvas = fmax(1 - patch, canvas)` over all polygons from a zero
    /// canvas, then maps it once through `t(c) = c * scale + offset` (float32 roundings). `fmax`
    /// skips NaN and is otherwise a maximum, so the canvas is the largest non-NaN `1 - patch`
    /// (or 0), in any order; and `t` is monotonic, so `t(max) = max(t(each))`. Hence keeping
    /// `thresh = max(thresh, t(1 - patch))` from `thresh = t(0) = offset` gives the same bits
    /// without a canvas. Only the rows and spans the patch kept are visited: elsewhere
    /// `1 - patch` is 0 and `t(0)` is already there.
    pub(crate) fn compose_thresh(&mut self, patch: &crate::border::DistancePatch, scale: f32, offset: f32) {
        let width = self.width;
        for (row, start, values) in patch.rows() {
            let target = &mut self.thresh.values[row * width + start..][..values.len()];
            for (out, &distance) in target.iter_mut().zip(values) {
                let candidate = (1.0 - distance) * scale + offset;
                // NaN (a patch pixel on a repeated vertex) leaves the pixel as it is: the
                // comparison is false. Written as a select with an unconditional store, so it
                // compiles to a vector max (`maxps` keeps its second operand on NaN) instead of
                // a compare and branch per pixel.
                *out = if candidate > *out { candidate } else { *out };
            }
            self.thresh.mark(row, start, start + values.len());
        }
    }
}
