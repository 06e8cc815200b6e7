//! Polygon offsetting exactly as pyclipper's `PyclipperOffset` does it.
//!
//! The work is done by Clipper 6.4.2's `ClipperOffset` (the C++ library pyclipper wraps, as
//! compiled by `clipper-sys`), called through a ten-line C entry point (`offset_shim.cpp`) the
//! same way pyclipper calls it: miter limit 2.0, arc tolerance 0.25, `jtRound`,
//! `etClosedPolygon`, `Execute(Paths&, delta)`.
//!
//! Two shortcuts were measured and rejected. geo-clipper's `offset()` first runs an even-odd
//! boolean pass over the input, which removes collinear and repeated vertices and splits
//! self-intersections. clipper-sys's plain `execute` cannot set `ReverseSolution`, which
//! `ClipperOffset` sets for negative offsets; it changes which piece of a split polygon comes
//! first, and DB fills only the first.

#![expect(unsafe_code, reason = "Clipper is C++; this module is the one place that calls it")]

// The Clipper code the shim calls lives in clipper-sys's native library; naming the crate
// makes rustc link it.
use clipper_sys as _;

/// An integer point, as Clipper's `IntPoint` (`cInt` = `i64`).
pub(crate) type IntPoint = [i64; 2];

#[repr(C)]
struct OffsetResult {
    points: *mut i64,
    lengths: *mut usize,
    paths: usize,
}

unsafe extern "C" {
    fn ocrperf_clipper_offset(xy: *const i64, points: usize, delta: f64, out: *mut OffsetResult) -> i32;
    fn ocrperf_clipper_free(result: *mut OffsetResult);
}

/// Clipper's result arrays, freed by the shim when dropped: a panic while reading them (or an
/// early return) cannot leak them.
struct ClipperResult(OffsetResult);

impl Drop for ClipperResult {
    fn drop(&mut self) {
        // SAFETY: the arrays were allocated by `ocrperf_clipper_offset` (or are null, which the
        // shim's free accepts), and nothing borrows them once the guard is dropped.
        unsafe { ocrperf_clipper_free(&mut self.0) };
    }
}

impl ClipperResult {
    /// Path lengths, then the flat x, y coordinates of all paths.
    fn arrays(&self) -> (&[usize], &[i64]) {
        let result = &self.0;
        if result.paths == 0 || result.lengths.is_null() {
            return (&[], &[]);
        }
        // SAFETY: the shim filled `lengths` with `paths` entries and `points` with twice their
        // sum; both stay alive until `self` is dropped, which the borrow of `self` prevents.
        let lengths = unsafe { std::slice::from_raw_parts(result.lengths, result.paths) };
        let total: usize = lengths.iter().sum();
        if result.points.is_null() {
            return (&[], &[]);
        }
        // SAFETY: as above.
        let flat = unsafe { std::slice::from_raw_parts(result.points, total * 2) };
        (lengths, flat)
    }
}

/// Offsets one closed polygon by `delta` (negative shrinks), returning the paths in the order
/// pyclipper returns them; empty when nothing is left.
///
/// Coordinates must lie within Clipper's range (about ±4.6e18); `crate::MAX_COORDINATE`
/// keeps them far inside it. Should Clipper refuse anyway, the result is empty.
pub(crate) fn offset_polygon(path: &[IntPoint], delta: f64) -> Vec<Vec<IntPoint>> {
    let mut result =
        ClipperResult(OffsetResult { points: std::ptr::null_mut(), lengths: std::ptr::null_mut(), paths: 0 });
    // SAFETY: `path` is `len` pairs of i64 laid out as x0, y0, x1, y1, …; the shim only reads
    // it and fills `result` with arrays it allocated (freed by the guard). C++ exceptions
    // never cross the boundary.
    let status = unsafe { ocrperf_clipper_offset(path.as_ptr().cast::<i64>(), path.len(), delta, &mut result.0) };
    if status != 0 {
        return Vec::new();
    }
    let (lengths, flat) = result.arrays();
    let mut start = 0;
    lengths
        .iter()
        .map(|&length| {
            let path = flat[start * 2..(start + length) * 2].chunks_exact(2).map(|xy| [xy[0], xy[1]]).collect();
            start += length;
            path
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by pyclipper 1.4.0.
    #[test]
    fn matches_pyclipper_on_a_box() {
        let square = [[5, 5], [105, 5], [105, 25], [5, 25]];
        assert_eq!(offset_polygon(&square, -7.0), vec![vec![[98, 18], [12, 18], [12, 12], [98, 12]]]);
        let grown = offset_polygon(&square, 7.0);
        assert_eq!(grown.len(), 1);
        assert_eq!(grown[0].len(), 16);
        assert_eq!(&grown[0][..2], &[[109, -1], [111, 2]]);
    }

    /// A concave polygon that splits in two when shrunk; pyclipper 1.4.0 returns the left piece
    /// first (a plain union without `ReverseSolution` returns the right one first).
    #[test]
    fn split_pieces_come_in_pyclipper_order() {
        let polygon = [
            [327, 598],
            [362, 611],
            [396, 617],
            [428, 615],
            [458, 606],
            [488, 590],
            [517, 566],
            [543, 592],
            [509, 620],
            [472, 639],
            [434, 639],
            [394, 639],
            [353, 639],
            [311, 631],
        ];
        let pieces = offset_polygon(&polygon, -10.965193636566898);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], [[327, 623], [333, 612], [358, 621], [360, 622], [394, 628], [355, 628]]);
        assert_eq!(pieces[1][0], [431, 626]);
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        assert!(offset_polygon(&[], -1.0).is_empty());
        assert!(offset_polygon(&[[0, 0], [0, 0], [5, 5]], -1.0).is_empty());
        assert!(offset_polygon(&[[0, 0], [10, 0], [10, 10], [0, 10]], -20.0).is_empty(), "shrunk away");
        assert!(offset_polygon(&[[0, 0], [i64::MAX, 0], [0, 5]], 1.0).is_empty(), "out of Clipper's range");
    }
}
