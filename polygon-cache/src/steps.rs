//! The two steps of target generation apart, as training pipelines call them: the shrink step
//! (`gt`, `mask`) and the border step (`thresh`, `thresh_mask`), with DB's or PaddleOCR's
//! semantics ([`Semantics`]).
//!
//! DB runs the shrink step first and the border step on what it left: the validated polygons
//! and the ignore tags it set. PaddleOCR runs the border step first, on the polygons as given,
//! then the shrink step. Each step here is one of those classes' `__call__`, so a caller
//! chains them in its pipeline's order and passes the shrink step's polygons and tags on, as
//! the reference's in-place edits of the sample do.

use crate::{
    Error, Semantics, TargetGenerator, Targets, TextPolygon,
    generator::{clip_to_image, thresh_scaling, validate},
    geom::{self, Point, Precision},
    work::{self, BorderWork, PolygonWork},
};

/// What the shrink step made of one image.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShrinkStep {
    /// The shrink map, `height × width`.
    pub gt: Vec<f32>,
    /// The shrink mask, `height × width`.
    pub mask: Vec<f32>,
    /// Each polygon's ignore tag after the step (it sets those it masked out).
    pub ignored: Vec<bool>,
    /// Each polygon as the step left it: clipped to the image and reversed where validation
    /// ran, else as given.
    pub polygons: Vec<Vec<Point>>,
    /// Whether validation reversed each polygon.
    pub reversed: Vec<bool>,
}

/// What the border step made of one image.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BorderStep {
    /// The threshold map, `height × width`.
    pub thresh: Vec<f32>,
    /// The threshold mask, `height × width`.
    pub thresh_mask: Vec<f32>,
}

impl TargetGenerator {
    /// The shrink step: DB's `MakeSegDetectionData` or PaddleOCR's `MakeShrinkMap`, by
    /// [`crate::TargetConfig::semantics`].
    ///
    /// DB validates only when [`crate::TargetConfig::is_training`] and fills the first shrunk
    /// piece; PaddleOCR always validates (with its own area loop) and, when the shrink at the
    /// ratio does not give exactly one piece, retries at the next ratio of
    /// `np.arange(r, 1, r)` and fills every piece of the last try. With a cache (DB only) the
    /// whole polygon work is computed here, so that the border step after it finds it.
    ///
    /// # Errors
    /// [`Error::BadSize`] or [`Error::MapsTooLarge`].
    pub fn shrink_step(&self, height: usize, width: usize, polygons: &[TextPolygon]) -> Result<ShrinkStep, Error> {
        let config = self.config();
        config.check_size(width, height)?;
        let mut targets = Targets::default();
        targets.reset_step(height, width, 0.0, true);
        let mut ignored = Vec::with_capacity(polygons.len());
        let mut validated = Vec::with_capacity(polygons.len());
        let mut reversed = Vec::with_capacity(polygons.len());
        for polygon in polygons {
            let mut points = polygon.points().to_vec();
            let mut ignore = polygon.ignore();
            let flipped = match config.semantics {
                Semantics::Db => config.is_training && validate(&mut points, &mut ignore, height, width),
                Semantics::PaddleOcr => paddle_validate(&mut points, &mut ignore, height, width, config.precision),
            };
            let (h, w) = config.precision.extent(&points);
            let pieces = if ignore || h.min(w) < config.min_text_size {
                Vec::new()
            } else {
                match config.semantics {
                    Semantics::Db if self.cache().is_some() => {
                        match self.polygon_work(&points, width, height).as_ref() {
                            PolygonWork::Text { shrunk, .. } => vec![shrunk.clone()],
                            PolygonWork::ShrunkAway => Vec::new(),
                        }
                    }
                    Semantics::Db => work::db_shrink(&points, config.shrink_ratio).into_iter().collect(),
                    Semantics::PaddleOcr => work::paddle_shrink(&points, config.shrink_ratio),
                }
            };
            if pieces.is_empty() {
                targets.fill_mask(&geom::truncate_to_i32(&points), 0.0);
                ignore = true;
            }
            for piece in &pieces {
                targets.fill_gt(piece, 1.0);
            }
            ignored.push(ignore);
            validated.push(points);
            reversed.push(flipped);
        }
        let [gt, mask, _, _] = targets.into_maps();
        Ok(ShrinkStep { gt, mask, ignored, polygons: validated, reversed })
    }

    /// The border step: DB's or PaddleOCR's `MakeBorderMap`, by
    /// [`crate::TargetConfig::semantics`]. Polygons tagged ignored are skipped; PaddleOCR also
    /// skips those of zero area. The polygons are used as given (DB's have been through the
    /// shrink step; PaddleOCR's have not).
    ///
    /// # Errors
    /// [`Error::BadSize`], [`Error::MapsTooLarge`], or the reference's own failures:
    /// [`Error::EmptyDilation`], [`Error::PatchOutsideImage`].
    pub fn border_step(&self, height: usize, width: usize, polygons: &[TextPolygon]) -> Result<BorderStep, Error> {
        let config = self.config();
        config.check_size(width, height)?;
        let (scale, offset) = thresh_scaling(config);
        let mut targets = Targets::default();
        targets.reset_step(height, width, offset, false);
        for (index, polygon) in polygons.iter().enumerate() {
            let points = polygon.points();
            if polygon.ignore() || (config.semantics == Semantics::PaddleOcr && geom::geos_area(points) <= 0.0) {
                continue;
            }
            if let (Semantics::Db, Some(_)) = (config.semantics, self.cache()) {
                // The shrink step computed (and cached) this polygon's whole work.
                let work = self.polygon_work(points, width, height);
                if let Some(border) = work.border(index)? {
                    targets.fill_thresh_mask(border.dilated, 1.0);
                    targets.compose_thresh(border.patch, scale, offset);
                    continue;
                }
            }
            let work =
                BorderWork::compute(points, config.shrink_ratio, config.edge_distance, config.precision, width, height);
            let border = work.border(index)?;
            targets.fill_thresh_mask(border.dilated, 1.0);
            targets.compose_thresh(border.patch, scale, offset);
        }
        let [_, _, thresh, thresh_mask] = targets.into_maps();
        Ok(BorderStep { thresh, thresh_mask })
    }
}

/// PaddleOCR's `validate_polygons` for one polygon: clip to the image, ignore those with
/// `|area| < 1` and reverse those with a positive area (its own loop, in the polygons' dtype).
/// Returns whether it reversed the polygon.
fn paddle_validate(points: &mut [Point], ignore: &mut bool, height: usize, width: usize, precision: Precision) -> bool {
    clip_to_image(points, height, width);
    let area = precision.paddle_area(points);
    if area.abs() < 1.0 {
        *ignore = true;
    }
    if area > 0.0 {
        points.reverse();
    }
    area > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetConfig;

    fn polygon(points: &[[f64; 2]], ignore: bool) -> TextPolygon {
        TextPolygon::new(points.to_vec(), ignore).unwrap()
    }

    #[test]
    fn db_steps_chained_equal_the_one_call() {
        let polygons = [
            polygon(&[[10.0, 10.0], [60.0, 10.0], [60.0, 30.0], [10.0, 30.0]], false),
            polygon(&[[5.0, 35.0], [30.0, 35.0], [30.0, 38.0], [5.0, 38.0]], false),
            polygon(&[[40.0, 32.0], [68.0, 33.0], [66.0, 39.0], [41.0, 38.5]], true),
        ];
        let generator = TargetGenerator::default();
        let whole = generator.generate(40, 70, &polygons).unwrap();
        let shrink = generator.shrink_step(40, 70, &polygons).unwrap();
        assert_eq!(shrink.ignored, [false, true, true], "the thin box is masked out and tagged");
        let passed_on: Vec<TextPolygon> = shrink
            .polygons
            .iter()
            .zip(&shrink.ignored)
            .map(|(points, &ignore)| TextPolygon::new(points.clone(), ignore).unwrap())
            .collect();
        let border = generator.border_step(40, 70, &passed_on).unwrap();
        assert_eq!((shrink.gt.as_slice(), shrink.mask.as_slice()), (whole.gt(), whole.mask()));
        assert_eq!((border.thresh.as_slice(), border.thresh_mask.as_slice()), (whole.thresh(), whole.thresh_mask()));
    }

    #[test]
    fn paddle_draws_borders_of_polygons_it_later_ignores() {
        // 5 px high: too small for the shrink map, still drawn in the threshold map.
        let small = [polygon(&[[10.0, 10.0], [60.0, 10.0], [60.0, 15.0], [10.0, 15.0]], false)];
        let paddle = TargetGenerator::new(TargetConfig { semantics: Semantics::PaddleOcr, ..TargetConfig::default() });
        let border = paddle.border_step(40, 70, &small).unwrap();
        assert_eq!(border.thresh_mask[12 * 70 + 30], 1.0);
        let shrink = paddle.shrink_step(40, 70, &small).unwrap();
        assert_eq!(shrink.ignored, [true]);
        assert_eq!(shrink.mask[12 * 70 + 30], 0.0);
        let db = TargetGenerator::default().generate(40, 70, &small).unwrap();
        assert!(db.thresh_mask().iter().all(|&v| v == 0.0), "DB draws no border for it");
    }

    #[test]
    fn paddle_validation_runs_outside_training_and_skips_zero_area_borders() {
        let config = TargetConfig { semantics: Semantics::PaddleOcr, is_training: false, ..TargetConfig::default() };
        // Counter-clockwise on screen (positive area): reversed; and partly outside: clipped.
        let outside = [polygon(&[[-5.0, 10.0], [-5.0, 30.0], [60.0, 30.0], [60.0, 10.0]], false)];
        let shrink = TargetGenerator::new(config).shrink_step(40, 70, &outside).unwrap();
        assert_eq!(shrink.reversed, [true]);
        assert_eq!(shrink.polygons[0][3], [0.0, 10.0]);
        let flat = [polygon(&[[10.0, 10.0], [60.0, 10.0], [30.0, 10.0]], false)];
        let border = TargetGenerator::new(config).border_step(40, 70, &flat).unwrap();
        assert!(border.thresh_mask.iter().all(|&v| v == 0.0));
    }
}
