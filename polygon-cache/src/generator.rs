//! `TargetGenerator`: the four DBNet maps of one image.

use std::sync::Arc;

use crate::{
    EdgeDistance, Error, PolygonCache, Targets, TextPolygon,
    cache::PolygonKey,
    geom::{self, Point, Precision},
    gt::MAX_IMAGE_SIDE,
    work::PolygonWork,
};

/// Whose target semantics to reproduce, bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Semantics {
    /// MhLiao/DB's `MakeSegDetectionData` then `MakeBorderMap` (the reference).
    #[default]
    Db,
    /// PaddleOCR's `MakeBorderMap` then `MakeShrinkMap`: the border map on the unvalidated
    /// polygons (those later ignored included, those of zero area skipped), validation always,
    /// the shrink retried at a larger ratio unless it gives exactly one piece, and every piece
    /// filled. See [`TargetGenerator::shrink_step`] and [`TargetGenerator::border_step`].
    PaddleOcr,
}

/// The settings of DBNet target generation; the defaults are DB's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetConfig {
    /// Shrink ratio r of `D = area · (1 − r²) / perimeter` (0.4).
    pub shrink_ratio: f64,
    /// Polygons whose axis-aligned height or width is below this are ignored (8).
    pub min_text_size: f64,
    /// The threshold map's value far from text (0.3).
    pub thresh_min: f64,
    /// The threshold map's value on a text border (0.7).
    pub thresh_max: f64,
    /// Training-time validation: clip polygons to the image, ignore those with |area| < 1, and
    /// orient them as DB expects (true).
    pub is_training: bool,
    /// How edge distances are measured for the threshold map ([`EdgeDistance::Reference`]).
    pub edge_distance: EdgeDistance,
    /// The most bytes the four `f32` maps of one image may take ([`DEFAULT_MAX_MAP_BYTES`]).
    /// A `# size` line is a few bytes of input; this keeps it from asking for gigabytes.
    pub max_map_bytes: u64,
    /// Whose semantics the separate steps follow ([`Semantics::Db`]); [`TargetGenerator::generate`]
    /// is always DB's.
    pub semantics: Semantics,
    /// The dtype the caller's polygons come in ([`Precision::F64`]), where the reference's
    /// arithmetic depends on it.
    pub precision: Precision,
}

/// The default of [`TargetConfig::max_map_bytes`]: 2 GiB, the four maps of an image of about
/// 11,500 × 11,500 pixels (a 32768-pixel square would need 16 GiB).
pub const DEFAULT_MAX_MAP_BYTES: u64 = 2 << 30;

/// The range of [`TargetConfig::max_map_bytes`]: 1 MiB (a 256 × 256 image) to 1 PiB.
pub const MAX_MAP_BYTES_RANGE: std::ops::RangeInclusive<u64> = 1 << 20..=1 << 50;

/// Bytes of the four `f32` maps of a `width × height` image.
pub fn map_bytes(width: usize, height: usize) -> u64 {
    (width as u64) * (height as u64) * 4 * size_of::<f32>() as u64
}

/// A setting's accepted values: one range per setting, for every front end.
struct SettingRange {
    name: &'static str,
    value: fn(&TargetConfig) -> f64,
    accepts: fn(f64) -> bool,
    /// `accepts` in interval notation, for the error.
    range: &'static str,
}

/// The ranges [`TargetConfig::validate`] checks.
const SETTING_RANGES: [SettingRange; 4] = [
    // D = area · (1 − r²) / perimeter shrinks nothing at r = 1, and r = 0 leaves PaddleOCR's
    // ratio schedule `np.arange(r, 1, r)` without an end: both ends are refused.
    SettingRange {
        name: "shrink_ratio",
        value: |config| config.shrink_ratio,
        accepts: |r| r > 0.0 && r < 1.0,
        range: "(0, 1)",
    },
    SettingRange {
        name: "min_text_size",
        value: |config| config.min_text_size,
        accepts: |px| px >= 0.0 && px.is_finite(),
        range: "[0, ∞)",
    },
    // The threshold map lies between these; the loss compares it with probabilities.
    SettingRange {
        name: "thresh_min",
        value: |config| config.thresh_min,
        accepts: |t| (0.0..=1.0).contains(&t),
        range: "[0, 1]",
    },
    SettingRange {
        name: "thresh_max",
        value: |config| config.thresh_max,
        accepts: |t| (0.0..=1.0).contains(&t),
        range: "[0, 1]",
    },
];

impl TargetConfig {
    /// Checks every numeric setting against its range (NaN and infinities included), so the
    /// command line and the Python package accept exactly the same values.
    ///
    /// # Errors
    /// [`Error::Setting`] naming the first setting out of range.
    pub fn validate(&self) -> Result<(), Error> {
        if !MAX_MAP_BYTES_RANGE.contains(&self.max_map_bytes) {
            return Err(Error::Setting {
                name: "max_map_bytes",
                value: self.max_map_bytes as f64,
                range: "[1 MiB, 1 PiB] in bytes",
            });
        }
        match SETTING_RANGES.iter().find(|setting| !(setting.accepts)((setting.value)(self))) {
            Some(setting) => {
                Err(Error::Setting { name: setting.name, value: (setting.value)(self), range: setting.range })
            }
            None => Ok(()),
        }
    }

    /// Whether an image of `width × height` can get its maps: each side in
    /// `1..=`[`MAX_IMAGE_SIDE`], and the maps within [`TargetConfig::max_map_bytes`]. Checked
    /// before any work, so a data set fails at once rather than at its largest image.
    ///
    /// # Errors
    /// [`Error::BadSize`] or [`Error::MapsTooLarge`].
    pub fn check_size(&self, width: usize, height: usize) -> Result<(), Error> {
        if !(1..=MAX_IMAGE_SIDE).contains(&height) || !(1..=MAX_IMAGE_SIDE).contains(&width) {
            return Err(Error::BadSize { width, height, max: MAX_IMAGE_SIDE });
        }
        let needed = map_bytes(width, height);
        if needed > self.max_map_bytes {
            return Err(Error::MapsTooLarge { width, height, needed, limit: self.max_map_bytes });
        }
        Ok(())
    }
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            shrink_ratio: 0.4,
            min_text_size: 8.0,
            thresh_min: 0.3,
            thresh_max: 0.7,
            is_training: true,
            edge_distance: EdgeDistance::Reference,
            max_map_bytes: DEFAULT_MAX_MAP_BYTES,
            semantics: Semantics::Db,
            precision: Precision::F64,
        }
    }
}

/// What validation and the shrink step did to each polygon of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validation {
    /// The ignore tag after the steps (set for polygons masked out).
    pub ignored: Vec<bool>,
    /// Whether validation reversed the polygon's vertex order.
    pub reversed: Vec<bool>,
}

/// Generates DBNet targets with the reference's semantics, optionally through a
/// [`PolygonCache`]. Cheap to clone; clones share the cache.
#[derive(Debug, Clone, Default)]
pub struct TargetGenerator {
    config: TargetConfig,
    cache: Option<PolygonCache>,
}

impl TargetGenerator {
    /// A generator without a cache.
    pub fn new(config: TargetConfig) -> TargetGenerator {
        TargetGenerator { config, cache: None }
    }

    /// A generator that reuses polygon work through `cache`.
    pub fn with_cache(config: TargetConfig, cache: PolygonCache) -> TargetGenerator {
        TargetGenerator { config, cache: Some(cache) }
    }

    /// The settings.
    pub fn config(&self) -> &TargetConfig {
        &self.config
    }

    /// The cache, if any.
    pub fn cache(&self) -> Option<&PolygonCache> {
        self.cache.as_ref()
    }

    /// The targets of an image of `height × width` pixels with these polygons.
    ///
    /// # Errors
    /// [`Error::BadSize`], [`Error::MapsTooLarge`], or the reference's own failures: [`Error::EmptyDilation`],
    /// [`Error::PatchOutsideImage`].
    pub fn generate(&self, height: usize, width: usize, polygons: &[TextPolygon]) -> Result<Targets, Error> {
        let mut targets = Targets::default();
        self.generate_into(height, width, polygons, &mut targets)?;
        Ok(targets)
    }

    /// Like [`TargetGenerator::generate`], reusing the buffers of `targets`.
    ///
    /// # Errors
    /// As [`TargetGenerator::generate`].
    pub fn generate_into(
        &self,
        height: usize,
        width: usize,
        polygons: &[TextPolygon],
        targets: &mut Targets,
    ) -> Result<(), Error> {
        self.generate_into_validated(height, width, polygons, targets).map(drop)
    }

    /// Like [`TargetGenerator::generate`], also saying what DB's steps did to each polygon
    /// (the reference edits the sample's polygons and tags in place, and callers that mirror
    /// it need to know).
    ///
    /// # Errors
    /// As [`TargetGenerator::generate`].
    pub fn generate_validated(
        &self,
        height: usize,
        width: usize,
        polygons: &[TextPolygon],
    ) -> Result<(Targets, Validation), Error> {
        let mut targets = Targets::default();
        let validation = self.generate_into_validated(height, width, polygons, &mut targets)?;
        Ok((targets, validation))
    }

    fn generate_into_validated(
        &self,
        height: usize,
        width: usize,
        polygons: &[TextPolygon],
        targets: &mut Targets,
    ) -> Result<Validation, Error> {
        self.config.check_size(width, height)?;
        let config = &self.config;
        let mut ignore: Vec<bool> = polygons.iter().map(TextPolygon::ignore).collect();
        let mut reversed = vec![false; polygons.len()];
        let validated: Vec<Vec<Point>> = polygons
            .iter()
            .zip(ignore.iter_mut().zip(&mut reversed))
            .map(|(polygon, (ignore, reversed))| {
                let mut points = polygon.points().to_vec();
                if config.is_training {
                    *reversed = validate(&mut points, ignore, height, width);
                }
                points
            })
            .collect();
        let (scale, offset) = thresh_scaling(config);
        targets.reset(height, width, offset);

        let mut works: Vec<Option<Arc<PolygonWork>>> = Vec::with_capacity(validated.len());
        for (points, ignore) in validated.iter().zip(&mut ignore) {
            let (h, w) = config.precision.extent(points);
            let work = if *ignore || h.min(w) < config.min_text_size {
                None
            } else {
                Some(self.polygon_work(points, width, height))
            };
            match work.as_deref() {
                Some(PolygonWork::Text { shrunk, .. }) => targets.fill_gt(shrunk, 1.0),
                _ => {
                    targets.fill_mask(&geom::truncate_to_i32(points), 0.0);
                    *ignore = true;
                }
            }
            works.push(work);
        }

        for (index, work) in works.iter().enumerate() {
            let Some(work) = work.as_deref().filter(|_| !ignore[index]) else { continue };
            if let Some(border) = work.border(index)? {
                targets.fill_thresh_mask(border.dilated, 1.0);
                targets.compose_thresh(border.patch, scale, offset);
            }
        }
        Ok(Validation { ignored: ignore, reversed })
    }

    pub(crate) fn polygon_work(&self, points: &[Point], width: usize, height: usize) -> Arc<PolygonWork> {
        let config = &self.config;
        let compute =
            || PolygonWork::compute(points, config.shrink_ratio, config.edge_distance, config.precision, width, height);
        match &self.cache {
            Some(cache) => {
                let key = || {
                    PolygonKey::new(
                        points,
                        config.shrink_ratio,
                        config.edge_distance,
                        config.precision,
                        (width, height),
                    )
                };
                cache.get_or_compute(key, compute)
            }
            None => Arc::new(compute()),
        }
    }
}

/// DB's `validate_polygons` for one polygon: clip to the image, ignore tiny ones, and reverse
/// those with a positive DB area. Returns whether it reversed the polygon.
pub(crate) fn validate(points: &mut [Point], ignore: &mut bool, height: usize, width: usize) -> bool {
    clip_to_image(points, height, width);
    let area = geom::db_area(points);
    if area.abs() < 1.0 {
        *ignore = true;
    }
    if area > 0.0 {
        points.reverse();
    }
    area > 0.0
}

/// `np.clip(polygon[:, 0], 0, w - 1)` and the same for y.
pub(crate) fn clip_to_image(points: &mut [Point], height: usize, width: usize) {
    let (x_max, y_max) = ((width - 1) as f64, (height - 1) as f64);
    for point in points.iter_mut() {
        point[0] = point[0].clamp(0.0, x_max);
        point[1] = point[1].clamp(0.0, y_max);
    }
}

/// `canvas * (thresh_max - thresh_min) + thresh_min` with Python floats on a float32 array:
/// the scalars become float32 and each operation rounds to float32.
pub(crate) fn thresh_scaling(config: &TargetConfig) -> (f32, f32) {
    ((config.thresh_max - config.thresh_min) as f32, config.thresh_min as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each setting's range, tested at its ends and beyond, one setting at a time.
    #[test]
    fn every_setting_is_checked_against_its_range() {
        /// A setting's name, how to set it, values it accepts, values it refuses (and NaN).
        type Case = (&'static str, fn(&mut TargetConfig, f64), &'static [f64], &'static [f64]);
        let cases: [Case; 4] = [
            ("shrink_ratio", |c, v| c.shrink_ratio = v, &[1e-9, 0.4, 0.999], &[0.0, 1.0, -0.1, 1e308]),
            ("min_text_size", |c, v| c.min_text_size = v, &[0.0, 8.0, 1e9], &[-1.0, f64::INFINITY]),
            ("thresh_min", |c, v| c.thresh_min = v, &[0.0, 0.3, 1.0], &[-0.1, 1.1]),
            ("thresh_max", |c, v| c.thresh_max = v, &[0.0, 0.7, 1.0], &[-0.1, 1.1]),
        ];
        assert!(TargetConfig::default().validate().is_ok());
        for (name, set, accepted, refused) in cases {
            for &value in accepted {
                let mut config = TargetConfig::default();
                set(&mut config, value);
                assert!(config.validate().is_ok(), "{name} = {value}");
            }
            for &value in refused.iter().chain(&[f64::NAN]) {
                let mut config = TargetConfig::default();
                set(&mut config, value);
                match config.validate() {
                    Err(Error::Setting { name: refused_name, .. }) => assert_eq!(refused_name, name, "{value}"),
                    other => panic!("{name} = {value}: {other:?}"),
                }
            }
        }
        let config = TargetConfig { shrink_ratio: 1.5, ..TargetConfig::default() };
        assert_eq!(
            config.validate().unwrap_err().to_string(),
            "shrink_ratio must be a finite number in (0, 1), not 1.5"
        );
    }

    #[test]
    fn a_single_box() {
        let polygon = TextPolygon::new(vec![[10.0, 10.0], [60.0, 10.0], [60.0, 30.0], [10.0, 30.0]], false).unwrap();
        let targets = TargetGenerator::default().generate(40, 70, &[polygon]).unwrap();
        let at = |map: &[f32], x: usize, y: usize| map[y * 70 + x];
        assert_eq!(at(targets.gt(), 35, 20), 1.0);
        assert_eq!(at(targets.gt(), 11, 11), 0.0, "the shrunk box stays off the border");
        assert_eq!(at(targets.mask(), 0, 0), 1.0);
        assert_eq!(at(targets.thresh_mask(), 8, 20), 1.0, "the dilated box covers the border");
        assert!((at(targets.thresh(), 10, 20) - 0.7).abs() < 1e-6, "on the edge the threshold is thresh_max");
        assert!((at(targets.thresh(), 35, 20) - 0.3).abs() < 1e-6, "far inside it is thresh_min");
    }

    #[test]
    fn ignored_and_tiny_polygons_mask_out() {
        let dont_care = TextPolygon::new(vec![[5.0, 5.0], [30.0, 5.0], [30.0, 20.0], [5.0, 20.0]], true).unwrap();
        let tiny = TextPolygon::new(vec![[40.0, 5.0], [45.0, 5.0], [45.0, 9.0], [40.0, 9.0]], false).unwrap();
        let targets = TargetGenerator::default().generate(30, 50, &[dont_care, tiny]).unwrap();
        assert_eq!(targets.mask()[10 * 50 + 10], 0.0);
        assert_eq!(targets.mask()[7 * 50 + 42], 0.0);
        assert!(targets.gt().iter().all(|&v| v == 0.0));
        assert!(targets.thresh().iter().all(|&v| v == 0.3f32));
    }

    #[test]
    fn maps_beyond_the_memory_limit_are_refused_before_any_work() {
        let config = TargetConfig::default();
        assert!(config.check_size(640, 640).is_ok());
        let err = config.check_size(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image size 32768x32768 needs 16.0 GiB for its four maps, over the limit of 2.0 GiB \
             (raise it with --max-map-mb)"
        );
        let raised = TargetConfig { max_map_bytes: 1 << 40, ..config };
        assert!(raised.check_size(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE).is_ok());
        let generator = TargetGenerator::new(TargetConfig { max_map_bytes: 1 << 20, ..config });
        assert!(matches!(generator.generate(1024, 1024, &[]), Err(Error::MapsTooLarge { .. })));
    }

    #[test]
    fn bad_sizes_are_refused() {
        let err = TargetGenerator::default().generate(0, 10, &[]).unwrap_err();
        assert_eq!(err.to_string(), "image size 10x0 is not usable (each side 1..=32768)");
    }
}
