//! The threshold (border) map's per-polygon distance patch.
//!
//! For every pixel of the dilated polygon's bounding box, the reference computes for each edge
//! `clip(distance / D, 0, 1)` in `f64`, stores it as `f32`, and keeps the minimum over edges
//! (NaN wins, as in `numpy.min`). A value only differs from 1 where the pixel lies within `D`
//! of the edge, so each edge is evaluated only over a conservative band around it: per row,
//! the columns within `D` (plus a safety margin) of the part of the segment near that row.
//! Everywhere else the reference's value is exactly 1.0, which is what the patch starts with.

use crate::geom::{Point, Precision};

/// How the distance from a pixel to a polygon edge is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EdgeDistance {
    /// DB's own formula (law of cosines): the distance to the edge's line where the angle at
    /// the pixel is obtuse, else to the nearer endpoint. It is what trained models expect.
    #[default]
    Reference,
    /// The true Euclidean distance from the pixel to the segment.
    Euclidean,
}

/// The minimum over edges of `clip(distance / D, 0, 1)` over the dilated polygon's box, kept
/// only where it can change the canvas: per canvas row, the span of pixels within reach of an
/// edge (elsewhere the value is exactly 1, and `fmax(1 - 1, canvas)` leaves the canvas as it
/// is), and only the part of the box the reference writes onto the canvas.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DistancePatch {
    spans: Box<[Span]>,
    values: Box<[f32]>,
}

/// Buffers reused from one patch to the next on a thread, so that a patch allocates exactly
/// once, at its final size (cached patches are kept, and growing buffers would leave slack).
#[derive(Default)]
struct Scratch {
    line: Vec<f32>,
    intervals: Vec<(usize, usize)>,
    spans: Vec<Span>,
    values: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// One polygon edge, shifted into the patch, with its squared length as the reference computes
/// it (in the polygon's dtype).
#[derive(Debug, Clone, Copy)]
struct Edge {
    p1: Point,
    p2: Point,
    c2: f64,
}

/// Computed pixels of one canvas row: columns `start..start + len`, stored at
/// `values[offset..offset + len]`. A row has one span per cluster of nearby edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    row: u32,
    start: u32,
    len: u32,
    offset: u32,
}

/// Widens `columns` to a whole number of SIMD blocks, within `0..width`, so the kernel never
/// runs its scalar remainder loop. The extra pixels lie outside the band, where the value is
/// exactly 1 and folding it in changes nothing.
fn lane_aligned(columns: std::ops::Range<usize>, width: usize) -> std::ops::Range<usize> {
    const BLOCK: usize = 8;
    let len = columns.len().div_ceil(BLOCK) * BLOCK;
    if len > width {
        return 0..width;
    }
    let end = (columns.start + len).min(width);
    end - len..end
}

/// How far past its end vertex an edge still evaluates pixels itself, as a fraction of its
/// length and at least `PAST_VERTEX_PIXELS` (see `Capsule::columns`). The distance keeps the
/// next edge's value below this edge's by a margin rounding cannot bridge: at least
/// (0.01 px / edge length)² / 2 relative, above 4e-14 for any edge within 32768 px.
const PAST_VERTEX: f64 = 1e-3;
const PAST_VERTEX_PIXELS: f64 = 1e-2;

/// How the edges' bands are evaluated.
#[derive(Clone, Copy)]
struct Band {
    /// Whether to evaluate only within reach of each edge (false when D is not a positive
    /// number, where every pixel is evaluated as the reference does).
    prune: bool,
    d: f64,
    mode: EdgeDistance,
}

/// Spans closer than this many pixels are merged: a span costs more than a few 1.0 values.
const SPAN_GAP: usize = 16;

/// The reference writes the patch with `canvas[ymin_valid:ymax_valid+1, xmin_valid:xmax_valid+1]
/// = fmax(1 - patch[...], ...)`: the box clamped to the canvas, with NumPy's slicing rules on
/// the patch side.
struct Placement {
    canvas_rows: std::ops::Range<usize>,
    canvas_cols: std::ops::Range<usize>,
    patch_rows: std::ops::Range<usize>,
    patch_cols: std::ops::Range<usize>,
}

impl Placement {
    /// `None` where the two slices differ in shape (NumPy raises there).
    fn new(
        x0: i64,
        y0: i64,
        width: usize,
        height: usize,
        canvas_width: usize,
        canvas_height: usize,
    ) -> Option<Placement> {
        let (x1, y1) = (x0 + width as i64 - 1, y0 + height as i64 - 1);
        let (w, h) = (canvas_width as i64, canvas_height as i64);
        let clamp = |v: i64, side: i64| v.max(0).min(side - 1);
        let (x0v, x1v, y0v, y1v) = (clamp(x0, w), clamp(x1, w), clamp(y0, h), clamp(y1, h));
        let placement = Placement {
            canvas_rows: python_slice(y0v, y1v + 1, h),
            canvas_cols: python_slice(x0v, x1v + 1, w),
            patch_rows: python_slice(y0v - y0, y1v - y1 + height as i64, height as i64),
            patch_cols: python_slice(x0v - x0, x1v - x1 + width as i64, width as i64),
        };
        let fits = placement.canvas_rows.len() == placement.patch_rows.len()
            && placement.canvas_cols.len() == placement.patch_cols.len();
        fits.then_some(placement)
    }
}

/// The indices `a[start:stop]` selects from an axis of length `len` (negative indices count
/// from the end, everything clamps; step 1).
fn python_slice(start: i64, stop: i64, len: i64) -> std::ops::Range<usize> {
    let resolve = |i: i64| if i < 0 { (i + len).max(0) } else { i.min(len) };
    let (start, stop) = (resolve(start), resolve(stop));
    start as usize..stop.max(start) as usize
}

impl DistancePatch {
    /// Computes the patch of `polygon` (float vertices, image coordinates) over the bounding box
    /// of `dilated` (the integer dilated polygon), with offset distance `d`, for a canvas of
    /// `canvas_width × canvas_height`. `None` where the reference fails to place the patch.
    pub(crate) fn compute(
        polygon: &[Point],
        dilated: &[[i64; 2]],
        d: f64,
        mode: EdgeDistance,
        precision: Precision,
        canvas_width: usize,
        canvas_height: usize,
    ) -> Option<DistancePatch> {
        let (mut xmin, mut xmax, mut ymin, mut ymax) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
        for &[x, y] in dilated {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
        let (width, height) = ((xmax - xmin + 1) as usize, (ymax - ymin + 1) as usize);
        let placement = Placement::new(xmin, ymin, width, height, canvas_width, canvas_height)?;
        // The reference shifts the float polygon by the integer box corner, in place: the
        // difference is exact in float64 and then stored in the polygon's own dtype.
        let shifted: Vec<Point> = polygon
            .iter()
            .map(|&[x, y]| [precision.store(x - xmin as f64), precision.store(y - ymin as f64)])
            .collect();
        // `square(p1 - p2)` of two vertices is NumPy scalar arithmetic in the polygon's dtype.
        let edges: Vec<Edge> = (0..shifted.len())
            .map(|i| {
                let (p1, p2) = (shifted[i], shifted[(i + 1) % shifted.len()]);
                Edge { p1, p2, c2: precision.squared_length(p1, p2) }
            })
            .collect();
        let prune = d.is_finite() && d > 0.0;
        let reach = d * (1.0 + 1e-4) + 1e-3;
        let edge_rows: Vec<(std::ops::Range<usize>, Capsule)> = edges
            .iter()
            .map(|&Edge { p1, p2, .. }| {
                let rows = if prune { band_rows(p1, p2, reach, height) } else { 0..height };
                (rows, Capsule::new(p1, p2, reach))
            })
            .collect();

        SCRATCH.with_borrow_mut(|scratch| {
            let Scratch { line, intervals, spans, values } = scratch;
            // One row of the part of the box that lands on the canvas: a polygon far outside
            // the image costs its visible part, not its whole box.
            line.clear();
            line.resize(placement.patch_cols.len(), 1.0);
            spans.clear();
            values.clear();
            Self::fill_spans(&placement, &edges, &edge_rows, Band { prune, d, mode }, line, intervals, spans, values);
            Some(DistancePatch { spans: spans.as_slice().into(), values: values.as_slice().into() })
        })
    }

    #[expect(clippy::too_many_arguments, reason = "the scratch buffers are passed apart to be borrowed apart")]
    fn fill_spans(
        placement: &Placement,
        edges: &[Edge],
        edge_rows: &[(std::ops::Range<usize>, Capsule)],
        band: Band,
        line: &mut [f32],
        intervals: &mut Vec<(usize, usize)>,
        spans: &mut Vec<Span>,
        values: &mut Vec<f32>,
    ) {
        let Band { prune, d, mode } = band;
        // `line[i]` is patch column `visible.start + i`.
        let visible = placement.patch_cols.clone();
        for (canvas_row, row) in placement.canvas_rows.clone().zip(placement.patch_rows.clone()) {
            let y = row as f64;
            intervals.clear();
            for (&Edge { p1, p2, c2 }, (rows, capsule)) in edges.iter().zip(edge_rows) {
                if !rows.contains(&row) {
                    continue;
                }
                let columns = if prune { capsule.columns(y, visible.end) } else { 0..visible.end };
                let columns = columns.start.max(visible.start) - visible.start
                    ..columns.end.min(visible.end).saturating_sub(visible.start);
                if columns.is_empty() {
                    continue;
                }
                intervals.push((columns.start, columns.end));
                match mode {
                    EdgeDistance::Reference => {
                        let lanes = lane_aligned(columns.clone(), line.len());
                        let segment = Edge { p1, p2, c2 };
                        reference_row_dispatch(&mut line[lanes.clone()], visible.start + lanes.start, y, segment, d);
                    }
                    EdgeDistance::Euclidean => {
                        for index in columns {
                            let column = (visible.start + index) as f64;
                            let value = (euclidean_distance(column, y, p1, p2) / d).clamp(0.0, 1.0) as f32;
                            line[index] = nan_min(line[index], value);
                        }
                    }
                }
            }
            intervals.sort_unstable();
            let mut merged = intervals.iter().copied();
            let Some(mut current) = merged.next() else { continue };
            for (lo, hi) in merged.chain([(usize::MAX, usize::MAX)]) {
                if lo <= current.1 + SPAN_GAP {
                    current.1 = current.1.max(hi);
                    continue;
                }
                let (start, end) = current;
                spans.push(Span {
                    row: canvas_row as u32,
                    start: (placement.canvas_cols.start + start) as u32,
                    len: (end - start) as u32,
                    offset: values.len() as u32,
                });
                values.extend_from_slice(&line[start..end]);
                line[start..end].fill(1.0);
                current = (lo, hi);
            }
        }
    }

    /// Bytes held, for the cache's weigher.
    pub(crate) fn bytes(&self) -> usize {
        size_of::<DistancePatch>() + self.values.len() * size_of::<f32>() + self.spans.len() * size_of::<Span>()
    }

    /// The computed spans as `(canvas row, first column, values)`, rows in order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (usize, usize, &[f32])> {
        self.spans.iter().map(|span| {
            let values = &self.values[span.offset as usize..(span.offset + span.len) as usize];
            (span.row as usize, span.start as usize, values)
        })
    }
}

/// Runs [`reference_row`] with AVX2 where the CPU has it. Only wider vectors, no FMA: every
/// lane rounds exactly as the scalar formula does.
#[inline]
fn reference_row_dispatch(out: &mut [f32], first_column: usize, y: f64, edge: Edge, d: f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn with_avx2(out: &mut [f32], first_column: usize, y: f64, edge: Edge, d: f64) {
            reference_row(out, first_column, y, edge, d);
        }
        // SAFETY: the CPU supports AVX2, checked just above.
        #[expect(unsafe_code, reason = "calling a target_feature function after detecting the feature")]
        unsafe {
            with_avx2(out, first_column, y, edge, d);
        }
        return;
    }
    reference_row(out, first_column, y, edge, d);
}

/// `numpy.minimum`: NaN if either is NaN. (`f64::clamp` keeps NaN, as `numpy.clip` does.)
#[inline]
fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else { a.min(b) }
}

/// Folds `clip(reference_distance / d, 0, 1) as f32` of the pixels `first_column..` of row `y`
/// into `out` (NaN-propagating minimum). The reference's exact IEEE operations per pixel, in a
/// loop without branches so that it compiles to SIMD (the endpoint/line choice is a select
/// before the square root, which takes the square root of the same value either way).
#[inline(always)]
fn reference_row(out: &mut [f32], first_column: usize, y: f64, edge: Edge, d: f64) {
    let Edge { p1, p2, c2 } = edge;
    let square = |v: f64| v * v;
    let (dy1, dy2) = (square(y - p1[1]), square(y - p2[1]));
    let first = first_column as i32;
    for (k, slot) in (0i32..).zip(out.iter_mut()) {
        let x = f64::from(first + k);
        let a2 = square(x - p1[0]) + dy1;
        let b2 = square(x - p2[0]) + dy2;
        let cosin = (c2 - a2 - b2) / (2.0 * (a2 * b2).sqrt());
        let square_sin = nan_to_num(1.0 - square(cosin));
        // a2 and b2 are never NaN, so a plain comparison is `fmin`; a square root over a
        // positive d is never below zero, so `min(1)` (keeping NaN) is `clip(0, 1)`.
        let nearer = if a2 < b2 { a2 } else { b2 };
        let squared = if cosin < 0.0 { nearer } else { a2 * b2 * square_sin / c2 };
        let q = squared.sqrt() / d;
        let value = (if q > 1.0 { 1.0 } else { q }) as f32;
        *slot = nan_min(*slot, value);
    }
}

/// DB's `_distance`, with NumPy's operation order and `nan_to_num`, one pixel at a time (the
/// form the tests check `reference_row` against).
#[cfg(test)]
fn reference_distance(x: f64, y: f64, p1: Point, p2: Point) -> f64 {
    let square = |v: f64| v * v;
    let a2 = square(x - p1[0]) + square(y - p1[1]);
    let b2 = square(x - p2[0]) + square(y - p2[1]);
    let c2 = square(p1[0] - p2[0]) + square(p1[1] - p2[1]);
    let cosin = (c2 - a2 - b2) / (2.0 * (a2 * b2).sqrt());
    let square_sin = nan_to_num(1.0 - square(cosin));
    if cosin < 0.0 { a2.min(b2).sqrt() } else { (a2 * b2 * square_sin / c2).sqrt() }
}

/// `numpy.nan_to_num` for a scalar.
#[inline]
fn nan_to_num(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else if v == f64::INFINITY {
        f64::MAX
    } else if v == f64::NEG_INFINITY {
        f64::MIN
    } else {
        v
    }
}

/// The distance from `(x, y)` to the segment `p1–p2`.
#[inline]
fn euclidean_distance(x: f64, y: f64, p1: Point, p2: Point) -> f64 {
    let (ex, ey) = (p2[0] - p1[0], p2[1] - p1[1]);
    let length2 = ex * ex + ey * ey;
    let t = if length2 > 0.0 { (((x - p1[0]) * ex + (y - p1[1]) * ey) / length2).clamp(0.0, 1.0) } else { 0.0 };
    let (dx, dy) = (x - (p1[0] + t * ex), y - (p1[1] + t * ey));
    (dx * dx + dy * dy).sqrt()
}

/// Rows that can hold a pixel within `reach` of the segment.
fn band_rows(p1: Point, p2: Point, reach: f64, height: usize) -> std::ops::Range<usize> {
    pixels_between(p1[1].min(p2[1]) - reach, p1[1].max(p2[1]) + reach, height)
}

/// The integer coordinates `i` in `0..len` with `lo ≤ i ≤ hi` (empty for NaN bounds).
///
/// Without SSE4.1, `f64::ceil`/`floor` are library calls; this runs per edge and row, so it
/// rounds with casts instead.
#[inline]
fn pixels_between(lo: f64, hi: f64, len: usize) -> std::ops::Range<usize> {
    // False for NaN bounds as well as for an empty range.
    let ordered = lo <= hi;
    if len == 0 || !ordered || hi < 0.0 || lo > (len as f64 - 1.0) {
        return 0..0;
    }
    let first = if lo <= 0.0 {
        0
    } else {
        let truncated = lo as usize;
        truncated + usize::from((truncated as f64) < lo)
    };
    let last = (hi as usize).min(len - 1);
    if first > last { 0..0 } else { first..last + 1 }
}

/// The pixels within `reach` of one edge: a capsule (the disks at both ends and the strip
/// between them). The per-edge constants are computed once; the band is then asked for row
/// after row.
#[derive(Debug, Clone, Copy)]
struct Capsule {
    p1: Point,
    ex: f64,
    ey: f64,
    length2: f64,
    reach: f64,
    /// `reach · |p2 − p1|`.
    reach_length: f64,
    /// How far past its ends the edge still evaluates pixels, in projection units (`t · L²`):
    /// at least 0.1% of the edge and 0.01 px.
    beyond: f64,
    inverse_ex: f64,
    inverse_ey: f64,
}

impl Capsule {
    fn new(p1: Point, p2: Point, reach: f64) -> Capsule {
        let (ex, ey) = (p2[0] - p1[0], p2[1] - p1[1]);
        let length2 = ex * ex + ey * ey;
        Capsule {
            p1,
            ex,
            ey,
            length2,
            reach,
            reach_length: reach * length2.sqrt(),
            beyond: length2.sqrt() * (length2.sqrt() * PAST_VERTEX).max(PAST_VERTEX_PIXELS),
            inverse_ex: 1.0 / ex,
            inverse_ey: 1.0 / ey,
        }
    }

    /// Columns of row `y` where this edge can set the patch's value: within `reach` of the
    /// segment and projecting onto it (a little beyond, for safety). Reciprocals stand in for
    /// divisions; the slack covers their last-bit differences many times over.
    ///
    /// Pixels past the end vertex are left to the next edge, which evaluates the disk around
    /// that vertex (its start) in full: there DB's formula gives this edge the distance to the
    /// shared vertex (the angle at the pixel is acute), computed from the same operands as the
    /// next edge's distance to it, and the next edge's value is never larger (its other
    /// endpoint can only be nearer, and where it uses its line the pixel sees it at an obtuse
    /// angle, so the line is nearer still, by a margin far above rounding once the pixel is
    /// 0.1% of the edge, and 0.01 px, past the vertex). Each vertex's disk is thus evaluated
    /// once, not twice.
    fn columns(&self, y: f64, width: usize) -> std::ops::Range<usize> {
        let Capsule { p1, ex, ey, length2, reach, reach_length, beyond, inverse_ex, inverse_ey } = *self;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        // The disk around the start vertex; the end vertex's belongs to the next edge.
        let dy = y - p1[1];
        if dy.abs() <= reach {
            let half = (reach * reach - dy * dy).sqrt();
            (lo, hi) = (p1[0] - half, p1[0] + half);
        }
        if length2 > 0.0 {
            let dy = y - p1[1];
            // |ex·dy − ey·(x − x1)| ≤ reach·L: within `reach` of the edge's line.
            let across = if ey != 0.0 {
                let (a, b) =
                    (p1[0] + (ex * dy - reach_length) * inverse_ey, p1[0] + (ex * dy + reach_length) * inverse_ey);
                Some((a.min(b), a.max(b)))
            } else if (ex * dy).abs() <= reach_length {
                Some((f64::NEG_INFINITY, f64::INFINITY))
            } else {
                None
            };
            // −δ ≤ ex·(x − x1) + ey·dy ≤ L² + δ: projecting onto the segment or just past it.
            let along = if ex != 0.0 {
                let (a, b) =
                    (p1[0] + (-beyond - ey * dy) * inverse_ex, p1[0] + (length2 + beyond - ey * dy) * inverse_ex);
                Some((a.min(b), a.max(b)))
            } else if (-beyond..=length2 + beyond).contains(&(ey * dy)) {
                Some((f64::NEG_INFINITY, f64::INFINITY))
            } else {
                None
            };
            if let (Some((a1, b1)), Some((a2, b2))) = (across, along) {
                let (a, b) = (a1.max(a2), b1.min(b2));
                if a <= b {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
            }
        }
        let slack = 1e-6 + reach * 1e-9;
        pixels_between(lo - slack, hi + slack, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANVAS: usize = 128;

    /// The canvas-sized map of the patch: its values in the spans, 1 elsewhere.
    fn dense(patch: &DistancePatch) -> Vec<f32> {
        let mut map = vec![1.0f32; CANVAS * CANVAS];
        for (row, start, values) in patch.rows() {
            map[row * CANVAS + start..][..values.len()].copy_from_slice(values);
        }
        map
    }

    /// Every edge evaluated at every pixel of the box, as the reference does, placed on the
    /// canvas.
    fn brute_force(polygon: &[Point], dilated: &[[i64; 2]], d: f64, mode: EdgeDistance) -> Vec<f32> {
        let (x0, y0) = (dilated.iter().map(|p| p[0]).min().unwrap(), dilated.iter().map(|p| p[1]).min().unwrap());
        let (x1, y1) = (dilated.iter().map(|p| p[0]).max().unwrap(), dilated.iter().map(|p| p[1]).max().unwrap());
        let shifted: Vec<Point> = polygon.iter().map(|&[x, y]| [x - x0 as f64, y - y0 as f64]).collect();
        let mut map = vec![1.0f32; CANVAS * CANVAS];
        for cy in y0.max(0)..=y1.min(CANVAS as i64 - 1) {
            for cx in x0.max(0)..=x1.min(CANVAS as i64 - 1) {
                let (x, y) = ((cx - x0) as f64, (cy - y0) as f64);
                let mut value = f32::INFINITY;
                for i in 0..shifted.len() {
                    let (p1, p2) = (shifted[i], shifted[(i + 1) % shifted.len()]);
                    let distance = match mode {
                        EdgeDistance::Reference => reference_distance(x, y, p1, p2),
                        EdgeDistance::Euclidean => euclidean_distance(x, y, p1, p2),
                    };
                    let v = (distance / d).clamp(0.0, 1.0) as f32;
                    value = if value.is_infinite() { v } else { nan_min(value, v) };
                }
                map[cy as usize * CANVAS + cx as usize] = value;
            }
        }
        map
    }

    #[test]
    fn pruning_and_spans_change_no_pixel() {
        let polygons: [&[Point]; 4] = [
            &[[10.3, 12.7], [80.9, 20.1], [75.2, 41.8], [8.6, 33.3]],
            &[[5.0, 5.0], [40.0, 5.0], [40.0, 5.0], [40.0, 30.0], [5.0, 30.0]],
            &[[20.0, 10.0], [60.0, 14.0], [61.0, 50.0], [40.0, 30.0], [18.0, 48.0]],
            &[[0.0, 90.0], [127.0, 95.5], [127.0, 127.0], [0.0, 127.0]],
        ];
        for polygon in polygons {
            let d = crate::geom::offset_distance(polygon, 0.4);
            let ints = crate::geom::truncate_to_clipper(polygon);
            let dilated = crate::offset::offset_polygon(&ints, d).remove(0);
            for mode in [EdgeDistance::Reference, EdgeDistance::Euclidean] {
                let fast =
                    dense(&DistancePatch::compute(polygon, &dilated, d, mode, Precision::F64, CANVAS, CANVAS).unwrap());
                let slow = brute_force(polygon, &dilated, d, mode);
                let same = fast.iter().zip(&slow).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{polygon:?} {mode:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Bands, spans, the vertex-disk hand-over and the SIMD kernel together give the
        /// reference's patch, bit for bit, on arbitrary polygons (concave, self-intersecting,
        /// with repeated vertices).
        #[test]
        fn any_polygon_matches_brute_force(
            points in proptest::collection::vec((0.0f64..127.0, 0.0f64..127.0), 3..9),
            repeat in proptest::prelude::any::<bool>(),
        ) {
            let mut polygon: Vec<Point> = points.into_iter().map(|(x, y)| [x, y]).collect();
            if repeat {
                polygon.insert(1, polygon[1]);
            }
            let d = crate::geom::offset_distance(&polygon, 0.4);
            let ints = crate::geom::truncate_to_clipper(&polygon);
            let Some(dilated) = crate::offset::offset_polygon(&ints, d).into_iter().next() else { return Ok(()) };
            for mode in [EdgeDistance::Reference, EdgeDistance::Euclidean] {
                let Some(patch) = DistancePatch::compute(&polygon, &dilated, d, mode, Precision::F64, CANVAS, CANVAS) else { continue };
                let (fast, slow) = (dense(&patch), brute_force(&polygon, &dilated, d, mode));
                let differing = fast.iter().zip(&slow).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
                proptest::prop_assert_eq!(differing, 0, "{:?}", mode);
            }
        }
    }

    #[test]
    fn pixel_ranges() {
        assert_eq!(pixels_between(-3.5, 2.5, 10), 0..3);
        assert_eq!(pixels_between(1.0, 1.0, 10), 1..2);
        assert_eq!(pixels_between(1.2, 1.8, 10), 0..0);
        assert_eq!(pixels_between(1.2, 25.0, 10), 2..10);
        assert_eq!(pixels_between(-2.0, -1.0, 10), 0..0);
        assert_eq!(pixels_between(f64::NAN, 3.0, 10), 0..0);
        assert_eq!(pixels_between(f64::INFINITY, f64::INFINITY, 10), 0..0);
        assert_eq!(pixels_between(f64::NEG_INFINITY, f64::INFINITY, 10), 0..10);
    }

    #[test]
    fn python_slicing() {
        assert_eq!(python_slice(2, 5, 10), 2..5);
        assert_eq!(python_slice(-3, 10, 10), 7..10);
        assert_eq!(python_slice(5, 2, 10), 5..5);
        assert_eq!(python_slice(-20, 3, 10), 0..3);
        assert_eq!(python_slice(0, 20, 10), 0..10);
    }

    #[test]
    fn reference_quirk_uses_the_endpoint_for_acute_angles() {
        // Above the middle of a 10-long edge at height 10 the angle at the pixel is acute.
        let quirk = reference_distance(5.0, 10.0, [0.0, 0.0], [10.0, 0.0]);
        assert!((quirk - 125f64.sqrt()).abs() < 1e-12);
        assert_eq!(euclidean_distance(5.0, 10.0, [0.0, 0.0], [10.0, 0.0]), 10.0);
        assert!((reference_distance(5.0, 2.0, [0.0, 0.0], [10.0, 0.0]) - 2.0).abs() < 1e-12);
        // A pixel on a repeated vertex is NaN in the reference and stays NaN.
        assert!(reference_distance(3.0, 4.0, [3.0, 4.0], [3.0, 4.0]).is_nan());
    }
}
