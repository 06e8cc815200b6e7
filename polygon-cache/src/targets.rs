//! `Targets`: the four output maps, and the bookkeeping that lets a reused `Targets` clear only
//! what the previous image changed.

use crate::raster::Canvas;

/// A row span that holds nothing.
const EMPTY: (usize, usize) = (usize::MAX, 0);

/// One map and, per row, the columns changed since it was last set to its background.
#[derive(Debug, Clone, Default)]
struct Map {
    values: Vec<f32>,
    background: f32,
    dirty: Vec<(usize, usize)>,
}

impl Map {
    /// Makes every pixel `background`: the whole map after a size (or background) change,
    /// otherwise only the spans that were changed.
    fn reset(&mut self, height: usize, width: usize, background: f32) {
        let n = height * width;
        if self.values.len() != n || self.dirty.len() != height || self.background.to_bits() != background.to_bits() {
            self.values.clear();
            self.values.resize(n, background);
            self.background = background;
            self.dirty.clear();
            self.dirty.resize(height, EMPTY);
            return;
        }
        for (row, span) in self.dirty.iter_mut().enumerate() {
            if span.0 < span.1 {
                self.values[row * width + span.0..row * width + span.1].fill(background);
            }
            *span = EMPTY;
        }
    }

    fn canvas(&mut self, width: usize, height: usize) -> Canvas<'_> {
        Canvas { data: &mut self.values, dirty: &mut self.dirty, width, height }
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

    /// Sets every map to its background for an image of `height × width`.
    pub(crate) fn reset(&mut self, height: usize, width: usize, thresh_background: f32) {
        self.height = height;
        self.width = width;
        self.gt.reset(height, width, 0.0);
        self.mask.reset(height, width, 1.0);
        self.thresh_mask.reset(height, width, 0.0);
        self.thresh.reset(height, width, thresh_background);
    }

    pub(crate) fn gt_canvas(&mut self) -> Canvas<'_> {
        self.gt.canvas(self.width, self.height)
    }

    pub(crate) fn mask_canvas(&mut self) -> Canvas<'_> {
        self.mask.canvas(self.width, self.height)
    }

    pub(crate) fn thresh_mask_canvas(&mut self) -> Canvas<'_> {
        self.thresh_mask.canvas(self.width, self.height)
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
                // NaN (a patch pixel on a repeated vertex) leaves the pixel as it is.
                if candidate > *out {
                    *out = candidate;
                }
            }
            let dirty = &mut self.thresh.dirty[row];
            *dirty = (dirty.0.min(start), dirty.1.max(start + values.len()));
        }
    }
}
