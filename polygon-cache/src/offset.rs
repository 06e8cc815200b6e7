//! Polygon offsetting that reproduces pyclipper's `PyclipperOffset` (Clipper 6.4.2) exactly.
//!
//! `ClipperOffset::Execute(Paths&, delta)` has two halves. The first builds one raw offset
//! polygon per input path (`DoOffset`); it is a few hundred lines of floating-point code, ported
//! here operation for operation (same IEEE sequence, the same `Round`, the platform libm), so the
//! raw polygons are the same integers. The second half is a Clipper union of those raw polygons,
//! which is the real Vatti clipper: it runs in the C++ Clipper 6.4.2 that `clipper-sys` bundles,
//! through its plain `execute` with the fill types pyclipper uses.
//!
//! geo-clipper's `offset()` is not used because it first runs an even-odd boolean pass over the
//! input, which removes collinear and repeated vertices and splits self-intersections: on a few
//! percent of real polygons that changes the result.

#![allow(unsafe_code, reason = "the Clipper union is C++ behind clipper-sys's C interface")]

use std::f64::consts::PI;

/// An integer point, as Clipper's `IntPoint` (`cInt` = `i64`).
pub(crate) type IntPoint = [i64; 2];

/// pyclipper's `PyclipperOffset()` default.
const ARC_TOLERANCE: f64 = 0.25;
/// Clipper's `def_arc_tolerance`.
const DEFAULT_ARC_TOLERANCE: f64 = 0.25;
/// Clipper's `TOLERANCE`, used by `NEAR_ZERO`.
const TOLERANCE: f64 = 1.0e-20;

/// Clipper's `Round()`: halves away from zero, then a C cast (truncation).
#[inline]
fn clipper_round(value: f64) -> i64 {
    if value < 0.0 { (value - 0.5) as i64 } else { (value + 0.5) as i64 }
}

/// Offsets one closed polygon by `delta` with round joins (`JT_ROUND`, `ET_CLOSEDPOLYGON`,
/// arc tolerance 0.25), returning the paths in the order pyclipper's `Execute` returns them.
///
/// The caller keeps coordinates well inside Clipper's range (`crate::MAX_COORDINATE` does).
pub(crate) fn offset_polygon(path: &[IntPoint], delta: f64) -> Vec<Vec<IntPoint>> {
    let Some(contour) = clean_contour(path) else {
        return Vec::new();
    };
    // FixOrientations: with a single path, it is the one holding the lowest point.
    let contour = if orientation(&contour) { contour } else { contour.into_iter().rev().collect() };
    let raw = do_offset(&contour, delta);
    let Some(raw) = raw else {
        return Vec::new();
    };
    if delta > 0.0 {
        union(&[raw], clipper_sys::PolyFillType_pftPositive).into_iter().flatten().collect()
    } else {
        negative_union(raw)
    }
}

/// `ClipperOffset::AddPath` for a closed polygon: drops a closing duplicate and consecutive
/// duplicates; fewer than three distinct points leave nothing.
fn clean_contour(path: &[IntPoint]) -> Option<Vec<IntPoint>> {
    let mut high = path.len().checked_sub(1)?;
    while high > 0 && path[0] == path[high] {
        high -= 1;
    }
    let mut contour = Vec::with_capacity(high + 1);
    contour.push(path[0]);
    for &point in &path[1..=high] {
        if *contour.last().unwrap_or(&point) != point {
            contour.push(point);
        }
    }
    (contour.len() >= 3).then_some(contour)
}

/// Clipper's `Area()` (double precision, the same summation order).
fn area(poly: &[IntPoint]) -> f64 {
    if poly.len() < 3 {
        return 0.0;
    }
    let mut a = 0.0;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        a += (poly[j][0] as f64 + poly[i][0] as f64) * (poly[j][1] as f64 - poly[i][1] as f64);
        j = i;
    }
    -a * 0.5
}

fn orientation(poly: &[IntPoint]) -> bool {
    area(poly) >= 0.0
}

fn unit_normal(p1: IntPoint, p2: IntPoint) -> [f64; 2] {
    if p1 == p2 {
        return [0.0, 0.0];
    }
    let mut dx = (p2[0] - p1[0]) as f64;
    let mut dy = (p2[1] - p1[1]) as f64;
    let f = 1.0 / (dx * dx + dy * dy).sqrt();
    dx *= f;
    dy *= f;
    [dy, -dx]
}

/// `ClipperOffset::DoOffset` for one closed polygon with round joins. `None` when Clipper would
/// skip the path.
fn do_offset(src: &[IntPoint], delta: f64) -> Option<Vec<IntPoint>> {
    if delta > -TOLERANCE && delta < TOLERANCE {
        return Some(src.to_vec());
    }
    let y = if ARC_TOLERANCE <= 0.0 {
        DEFAULT_ARC_TOLERANCE
    } else if ARC_TOLERANCE > delta.abs() * DEFAULT_ARC_TOLERANCE {
        delta.abs() * DEFAULT_ARC_TOLERANCE
    } else {
        ARC_TOLERANCE
    };
    let mut steps = PI / (1.0 - y / delta.abs()).acos();
    if steps > delta.abs() * PI {
        steps = delta.abs() * PI;
    }
    let two_pi = PI * 2.0;
    let mut sin = (two_pi / steps).sin();
    let cos = (two_pi / steps).cos();
    let steps_per_rad = steps / two_pi;
    if delta < 0.0 {
        sin = -sin;
    }
    let len = src.len();
    if len == 0 || (delta <= 0.0 && len < 3) {
        return None;
    }
    let mut normals = Vec::with_capacity(len);
    for j in 0..len - 1 {
        normals.push(unit_normal(src[j], src[j + 1]));
    }
    normals.push(unit_normal(src[len - 1], src[0]));

    let joiner = RoundJoiner { src, normals: &normals, delta, sin, cos, steps_per_rad };
    let mut dest = Vec::with_capacity(len * 4);
    let mut k = len - 1;
    for j in 0..len {
        joiner.offset_point(j, &mut k, &mut dest);
    }
    Some(dest)
}

struct RoundJoiner<'a> {
    src: &'a [IntPoint],
    normals: &'a [[f64; 2]],
    delta: f64,
    sin: f64,
    cos: f64,
    steps_per_rad: f64,
}

impl RoundJoiner<'_> {
    fn at(&self, j: usize, normal: [f64; 2]) -> IntPoint {
        [
            clipper_round(self.src[j][0] as f64 + normal[0] * self.delta),
            clipper_round(self.src[j][1] as f64 + normal[1] * self.delta),
        ]
    }

    /// `ClipperOffset::OffsetPoint` with `jtRound`.
    fn offset_point(&self, j: usize, k: &mut usize, dest: &mut Vec<IntPoint>) {
        let (nk, nj) = (self.normals[*k], self.normals[j]);
        let mut sin_a = nk[0] * nj[1] - nj[0] * nk[1];
        if (sin_a * self.delta).abs() < 1.0 {
            let cos_a = nk[0] * nj[0] + nj[1] * nk[1];
            if cos_a > 0.0 {
                dest.push(self.at(j, nk));
                return;
            }
        } else if sin_a > 1.0 {
            sin_a = 1.0;
        } else if sin_a < -1.0 {
            sin_a = -1.0;
        }
        if sin_a * self.delta < 0.0 {
            dest.push(self.at(j, nk));
            dest.push(self.src[j]);
            dest.push(self.at(j, nj));
        } else {
            self.round(j, *k, sin_a, dest);
        }
        *k = j;
    }

    /// `ClipperOffset::DoRound`.
    fn round(&self, j: usize, k: usize, sin_a: f64, dest: &mut Vec<IntPoint>) {
        let (nk, nj) = (self.normals[k], self.normals[j]);
        let a = sin_a.atan2(nk[0] * nj[0] + nk[1] * nj[1]);
        let steps = (clipper_round(self.steps_per_rad * a.abs()) as i32).max(1);
        let (mut x, mut y) = (nk[0], nk[1]);
        for _ in 0..steps {
            dest.push(self.at(j, [x, y]));
            let x2 = x;
            x = x * self.cos - self.sin * y;
            y = x2 * self.sin + y * self.cos;
        }
        dest.push(self.at(j, nj));
    }
}

/// The negative-delta branch of `ClipperOffset::Execute(Paths&)`: a union with a surrounding
/// rectangle under `pftNegative`, whose first result (the rectangle) is dropped.
///
/// Through the C interface the union comes back as a tree: the rectangle with the offset
/// pieces as its holes, in Clipper's output order, which is the order pyclipper returns them.
fn negative_union(raw: Vec<IntPoint>) -> Vec<Vec<IntPoint>> {
    let (mut left, mut top, mut right, mut bottom) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for &[x, y] in &raw {
        left = left.min(x);
        right = right.max(x);
        top = top.min(y);
        bottom = bottom.max(y);
    }
    let outer =
        vec![[left - 10, bottom + 10], [right + 10, bottom + 10], [right + 10, top - 10], [left - 10, top - 10]];
    let mut polygons = union(&[raw, outer], clipper_sys::PolyFillType_pftNegative);
    if polygons.is_empty() {
        return Vec::new();
    }
    // The rectangle is the first top-level contour; everything else follows it in order.
    let mut first = polygons.remove(0);
    first.remove(0);
    first.into_iter().chain(polygons.into_iter().flatten()).map(|piece| as_reversed_solution(&piece)).collect()
}

/// pyclipper's union runs with `ReverseSolution(true)`, which reverses each output ring's
/// links before Clipper reads it out backwards from its start point. Here the C interface ran
/// without it, so ring `[P(-1), P(-2), …, P(0)]` becomes `[P(1), P(2), …, P(0)]`.
fn as_reversed_solution(ring: &[IntPoint]) -> Vec<IntPoint> {
    let n = ring.len();
    (0..n).map(|i| ring[(2 * n - i - 2) % n]).collect()
}

/// Clipper `ctUnion` of closed subject paths with one fill type; each result polygon is its
/// outer contour followed by its holes.
fn union(paths: &[Vec<IntPoint>], fill: clipper_sys::PolyFillType) -> Vec<Vec<Vec<IntPoint>>> {
    let mut c_paths: Vec<clipper_sys::Path> = paths
        .iter()
        .map(|path| clipper_sys::Path {
            // Clipper only reads the input; the cast to `*mut` is what the C signature asks for.
            vertices: path.as_ptr().cast_mut(),
            vertices_count: path.len(),
            closed: 1,
        })
        .collect();
    let mut subject = clipper_sys::Polygon {
        paths: c_paths.as_mut_ptr(),
        paths_count: c_paths.len(),
        type_: clipper_sys::PolyType_ptSubject,
    };
    let input = clipper_sys::Polygons { polygons: &mut subject, polygons_count: 1 };
    // SAFETY: `input` points at `c_paths` and `paths`, which outlive the call; Clipper copies
    // them and returns freshly allocated output, which is copied out and then freed with the
    // library's own `free_polygons`. Coordinates are far inside Clipper's range (the caller's
    // contract), so Clipper does not throw across the C boundary.
    unsafe {
        let output = clipper_sys::execute(clipper_sys::ClipType_ctUnion, input, fill, fill);
        let result = copy_polygons(&output);
        clipper_sys::free_polygons(output);
        result
    }
}

/// # Safety
/// `output` must be a valid result of `clipper_sys::execute`.
unsafe fn copy_polygons(output: &clipper_sys::Polygons) -> Vec<Vec<Vec<IntPoint>>> {
    if output.polygons_count == 0 {
        return Vec::new();
    }
    // SAFETY: per the function contract the pointers and counts describe live arrays.
    let polygons = unsafe { std::slice::from_raw_parts(output.polygons, output.polygons_count) };
    polygons
        .iter()
        .map(|polygon| {
            if polygon.paths_count == 0 {
                return Vec::new();
            }
            // SAFETY: as above.
            let paths = unsafe { std::slice::from_raw_parts(polygon.paths, polygon.paths_count) };
            paths
                .iter()
                .map(|path| {
                    if path.vertices_count == 0 {
                        return Vec::new();
                    }
                    // SAFETY: as above.
                    unsafe { std::slice::from_raw_parts(path.vertices, path.vertices_count) }.to_vec()
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_is_clippers() {
        assert_eq!(clipper_round(2.5), 3);
        assert_eq!(clipper_round(-2.5), -3);
        assert_eq!(clipper_round(-2.4999), -2);
        assert_eq!(clipper_round(0.49999999999999994), 1, "Clipper adds 0.5 first, unlike f64::round");
    }

    /// Values printed by pyclipper 1.4.0 (see the crate's research notes).
    #[test]
    fn matches_pyclipper_on_a_box() {
        let square = [[5, 5], [105, 5], [105, 25], [5, 25]];
        let shrunk = offset_polygon(&square, -7.0);
        assert_eq!(shrunk, vec![vec![[98, 18], [12, 18], [12, 12], [98, 12]]]);
        let grown = offset_polygon(&square, 7.0);
        assert_eq!(grown.len(), 1);
        assert_eq!(grown[0].len(), 16);
        assert_eq!(grown[0][0], [109, -1]);
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        assert!(offset_polygon(&[], -1.0).is_empty());
        assert!(offset_polygon(&[[0, 0], [0, 0], [5, 5]], -1.0).is_empty());
        assert!(offset_polygon(&[[0, 0], [10, 0], [10, 10], [0, 10]], -20.0).is_empty(), "shrunk away");
    }
}
