//! The floating-point geometry of the reference, with its exact operation order: NumPy's
//! pairwise sums for DB's signed area, and GEOS's (shapely's) area and length for the offset
//! distance D.

/// A polygon vertex in image coordinates.
pub type Point = [f64; 2];

/// The dtype the reference's polygons arrive in. Vertices are always carried as `f64` here
/// (every `f32` is exact in `f64`); where the reference does arithmetic in the array's own
/// dtype (a shift stored back into the array, a product of two NumPy scalars), `F32` rounds
/// each step to `f32` as NumPy does. MhLiao/DB builds `float64` polygons; PaddleOCR's
/// `DetLabelEncode` builds `float32` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Precision {
    /// `float64` polygons.
    #[default]
    F64,
    /// `float32` polygons.
    F32,
}

impl Precision {
    /// A value as stored into an array of this dtype.
    #[inline]
    pub(crate) fn store(self, value: f64) -> f64 {
        match self {
            Precision::F64 => value,
            Precision::F32 => f64::from(value as f32),
        }
    }

    /// `np.square(p1[0] - p2[0]) + np.square(p1[1] - p2[1])` on scalars of this dtype.
    #[inline]
    pub(crate) fn squared_length(self, p1: Point, p2: Point) -> f64 {
        match self {
            Precision::F64 => (p1[0] - p2[0]) * (p1[0] - p2[0]) + (p1[1] - p2[1]) * (p1[1] - p2[1]),
            Precision::F32 => {
                let (dx, dy) = (p1[0] as f32 - p2[0] as f32, p1[1] as f32 - p2[1] as f32);
                f64::from(dx * dx + dy * dy)
            }
        }
    }

    /// Axis-aligned extent `(height, width)` as `max(...) - min(...)` of NumPy scalars of this
    /// dtype (the subtraction rounds in it).
    pub(crate) fn extent(self, points: &[Point]) -> (f64, f64) {
        // max and min are vertices, exact in either dtype; only the difference rounds.
        let span = |axis: usize| {
            let (lo, hi) = points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[axis]), hi.max(p[axis])));
            match self {
                Precision::F64 => hi - lo,
                Precision::F32 => f64::from(hi as f32 - lo as f32),
            }
        };
        (span(1), span(0))
    }

    /// PaddleOCR's signed area: `area += p[0]*q[1] - p[1]*q[0]` over the vertices with `q` the
    /// previous one (starting from the last), in a Python loop on NumPy scalars of this dtype,
    /// then halved. Same sign as DB's area; only its sign and `|area| < 1` are used.
    pub(crate) fn paddle_area(self, points: &[Point]) -> f64 {
        let Some(&last) = points.last() else { return 0.0 };
        match self {
            Precision::F64 => {
                let mut area = 0.0;
                let mut q = last;
                for &p in points {
                    area += p[0] * q[1] - p[1] * q[0];
                    q = p;
                }
                area / 2.0
            }
            Precision::F32 => {
                let mut area = 0.0f32;
                let mut q = [last[0] as f32, last[1] as f32];
                for p in points {
                    let p = [p[0] as f32, p[1] as f32];
                    area += p[0] * q[1] - p[1] * q[0];
                    q = p;
                }
                f64::from(area / 2.0)
            }
        }
    }
}

/// DB's signed area, `Σ (x[i+1] − x[i]) · (y[i+1] + y[i]) / 2`, summed like `numpy.sum`.
///
/// It is the negative of the usual shoelace area, so it is positive for polygons that run
/// clockwise on screen; DB reverses those.
pub(crate) fn db_area(points: &[Point]) -> f64 {
    let n = points.len();
    let terms: Vec<f64> = (0..n)
        .map(|i| {
            let next = points[(i + 1) % n];
            (next[0] - points[i][0]) * (next[1] + points[i][1])
        })
        .collect();
    numpy_sum(&terms) / 2.0
}

/// `numpy.add.reduce` over a contiguous f64 array: pairwise summation with blocks of 128 and
/// eight accumulators, so results agree with NumPy to the last bit.
fn numpy_sum(values: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        // NumPy starts from -0.0 here so that a sum of negative zeros stays -0.0.
        return values.iter().fold(-0.0, |sum, &v| sum + v);
    }
    if n <= BLOCK {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&values[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for (k, acc) in r.iter_mut().enumerate() {
                *acc += values[i + k];
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &values[i..] {
            sum += v;
        }
        return sum;
    }
    let mut half = n / 2;
    half -= half % 8;
    numpy_sum(&values[..half]) + numpy_sum(&values[half..])
}

/// The closed ring shapely builds from a vertex list: the first point repeated at the end,
/// unless it is there already.
fn ring_len(points: &[Point]) -> usize {
    if points.first() == points.last() { points.len() } else { points.len() + 1 }
}

fn ring_at(points: &[Point], i: usize) -> Point {
    if i < points.len() { points[i] } else { points[0] }
}

/// `shapely.Polygon(points).area`: GEOS `Area::ofRingSigned`, absolute value.
pub(crate) fn geos_area(points: &[Point]) -> f64 {
    let n = ring_len(points);
    if n < 3 {
        return 0.0;
    }
    let x0 = ring_at(points, 0)[0];
    let mut p1 = ring_at(points, 0);
    let mut p2 = ring_at(points, 1);
    p2[0] -= x0;
    let mut sum = 0.0;
    for i in 1..n - 1 {
        let p0y = p1[1];
        p1 = p2;
        p2 = ring_at(points, i + 1);
        p2[0] -= x0;
        sum += p1[0] * (p0y - p2[1]);
    }
    (sum / 2.0).abs()
}

/// `shapely.Polygon(points).length`: GEOS `Length::ofLine` over the closed ring.
pub(crate) fn geos_length(points: &[Point]) -> f64 {
    let n = ring_len(points);
    if n <= 1 {
        return 0.0;
    }
    let mut length = 0.0;
    let [mut x0, mut y0] = ring_at(points, 0);
    for i in 1..n {
        let [x1, y1] = ring_at(points, i);
        let (dx, dy) = (x1 - x0, y1 - y0);
        length += (dx * dx + dy * dy).sqrt();
        (x0, y0) = (x1, y1);
    }
    length
}

/// DB's offset distance `D = area · (1 − r²) / perimeter`, evaluated as the reference does.
pub(crate) fn offset_distance(points: &[Point], shrink_ratio: f64) -> f64 {
    geos_area(points) * (1.0 - shrink_ratio.powi(2)) / geos_length(points)
}

/// pyclipper's conversion of a float vertex to Clipper's `cInt`: truncation toward zero.
pub(crate) fn truncate_to_clipper(points: &[Point]) -> Vec<[i64; 2]> {
    points.iter().map(|&[x, y]| [x.trunc() as i64, y.trunc() as i64]).collect()
}

/// NumPy's `.astype(np.int32)` of in-range floats: truncation toward zero.
pub(crate) fn truncate_to_i32(points: &[Point]) -> Vec<[i32; 2]> {
    points.iter().map(|&[x, y]| [x as i32, y as i32]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sum_matches_pairwise_order() {
        // numpy.sum gives 8.0 here (its eight accumulators); a sequential sum gives 1.0.
        let mut values = vec![1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1e16, 1.0];
        values.extend([0.0; 6]);
        assert_eq!(numpy_sum(&values), 8.0);
        assert_eq!(values.iter().sum::<f64>(), 1.0);
        assert_eq!(numpy_sum(&[0.5, 0.25]), 0.75);
        assert_eq!(numpy_sum(&[]).to_bits(), (-0.0f64).to_bits());
        let long: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.1).collect();
        assert!((numpy_sum(&long) - 49950.0).abs() < 1e-9);
    }

    #[test]
    fn areas_and_lengths_of_a_box() {
        let square = [[5.0, 5.0], [105.0, 5.0], [105.0, 25.0], [5.0, 25.0]];
        assert_eq!(geos_area(&square), 2000.0);
        assert_eq!(geos_length(&square), 240.0);
        assert_eq!(offset_distance(&square, 0.4), 2000.0 * (1.0 - 0.4f64 * 0.4) / 240.0);
        // Clockwise on screen (y down) has a positive DB area.
        assert_eq!(db_area(&square), -2000.0);
        let reversed: Vec<Point> = square.iter().rev().copied().collect();
        assert_eq!(db_area(&reversed), 2000.0);
        let closed = [square[0], square[1], square[2], square[3], square[0]];
        assert_eq!(geos_length(&closed), 240.0, "an explicitly closed ring is not closed twice");
        assert_eq!(Precision::F64.extent(&square), (20.0, 100.0));
        assert_eq!(Precision::F32.extent(&square), (20.0, 100.0));
    }

    #[test]
    fn truncation_is_toward_zero() {
        assert_eq!(truncate_to_clipper(&[[10.9, -10.9]]), [[10, -10]]);
        assert_eq!(truncate_to_i32(&[[-0.5, 639.999]]), [[0, 639]]);
    }
}
