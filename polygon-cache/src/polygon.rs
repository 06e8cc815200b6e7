//! Text polygons as they come from ground truth.

use crate::{Error, geom::Point};

/// The largest coordinate magnitude accepted: far beyond any image, and safe for the `i32`
/// raster and Clipper's integer range.
pub const MAX_COORDINATE: f64 = 1.0e9;

/// One annotated text region: its vertices in image pixels and whether it is a "do not care"
/// region (`###` in ICDAR files).
#[derive(Debug, Clone, PartialEq)]
pub struct TextPolygon {
    points: Vec<Point>,
    ignore: bool,
}

impl TextPolygon {
    /// Checks and wraps the vertices.
    ///
    /// # Errors
    /// [`Error::TooFewPoints`], [`Error::NonFiniteCoordinate`] (NaN, ±∞) or
    /// [`Error::CoordinateOutOfRange`].
    pub fn new(points: Vec<Point>, ignore: bool) -> Result<TextPolygon, Error> {
        if points.len() < 3 {
            return Err(Error::TooFewPoints(points.len()));
        }
        for (index, &value) in points.iter().flatten().enumerate() {
            if !value.is_finite() {
                return Err(Error::NonFiniteCoordinate { index, value });
            }
            if value.abs() > MAX_COORDINATE {
                return Err(Error::CoordinateOutOfRange { index, value, limit: MAX_COORDINATE });
            }
        }
        Ok(TextPolygon { points, ignore })
    }

    /// Builds a polygon from a flat `x1, y1, x2, y2, …` list; a trailing lone value is
    /// dropped, so check the count first (the ground-truth parser does).
    ///
    /// # Errors
    /// As [`TextPolygon::new`].
    pub fn from_flat(coordinates: &[f64], ignore: bool) -> Result<TextPolygon, Error> {
        let points = coordinates.chunks_exact(2).map(|pair| [pair[0], pair[1]]).collect();
        TextPolygon::new(points, ignore)
    }

    /// The vertices.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Whether this region is "do not care".
    pub fn ignore(&self) -> bool {
        self.ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_polygons() {
        assert!(matches!(TextPolygon::new(vec![[0.0, 0.0], [1.0, 1.0]], false), Err(Error::TooFewPoints(2))));
        let nan = TextPolygon::new(vec![[0.0, 0.0], [1.0, f64::NAN], [2.0, 0.0]], false).unwrap_err();
        assert_eq!(nan.to_string(), "coordinate 3 is NaN, not a finite number");
        let inf = TextPolygon::from_flat(&[0.0, 0.0, f64::INFINITY, 1.0, 2.0, 0.0], true).unwrap_err();
        assert_eq!(inf.to_string(), "coordinate 2 is inf, not a finite number");
        let big = TextPolygon::from_flat(&[0.0, 0.0, 1e12, 1.0, 2.0, 0.0], true).unwrap_err();
        assert!(matches!(big, Error::CoordinateOutOfRange { index: 2, .. }));
        assert_eq!(big.to_string(), "coordinate 2 is 1e12, outside ±1e9");
        // Never the 309 digits of `{}`.
        let huge = TextPolygon::from_flat(&[0.0, 0.0, 1e308, 1.0, 2.0, 0.0], true).unwrap_err();
        assert_eq!(huge.to_string(), "coordinate 2 is 1e308, outside ±1e9");
        let ok = TextPolygon::from_flat(&[0.0, 0.0, 10.0, 0.0, 10.0, 5.0], true).unwrap();
        assert_eq!(ok.points().len(), 3);
        assert!(ok.ignore());
    }
}
