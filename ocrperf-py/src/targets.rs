//! `Generator`: DBNet targets for the drop-in classes of `ocrperf.dbnet` and
//! `ocrperf.dbnet.paddle`.
//!
//! Polygons arrive flattened by the Python side: one `(total points, 2)` float64 array, the
//! point count of each polygon, and the ignore tags. They are copied into owned polygons while
//! the GIL is held; everything after that runs detached.

use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, ndarray::Array2};
use ocrperf::polygon_cache;
use polygon_cache::{CacheStats, PolygonCache, Precision, Semantics, TargetConfig, TargetGenerator, TextPolygon};
use pyo3::{
    exceptions::{PyTypeError, PyValueError},
    prelude::*,
    types::{PyDict, PyTuple},
};

/// A target generator with fixed settings and, optionally, a process-local polygon cache.
#[pyclass(frozen, module = "ocrperf._native")]
pub(crate) struct Generator {
    inner: TargetGenerator,
}

/// One output map: `f32`, or `u8` when compact (the 0/1 maps only).
enum Map {
    F32(Vec<f32>),
    U8(Vec<u8>),
}

impl Map {
    /// `compact` turns a 0/1 map into bytes (lossless: every value is 0.0 or 1.0).
    fn new(values: Vec<f32>, compact: bool) -> Map {
        if compact { Map::U8(values.iter().map(|&v| v as u8).collect()) } else { Map::F32(values) }
    }

    /// Moves the buffer into a NumPy array of `height × width` without copying.
    fn into_py(self, py: Python<'_>, height: usize, width: usize) -> PyResult<Bound<'_, PyAny>> {
        let shape_error = |err: numpy::ndarray::ShapeError| PyValueError::new_err(err.to_string());
        Ok(match self {
            Map::F32(values) => {
                Array2::from_shape_vec((height, width), values).map_err(shape_error)?.into_pyarray(py).into_any()
            }
            Map::U8(values) => {
                Array2::from_shape_vec((height, width), values).map_err(shape_error)?.into_pyarray(py).into_any()
            }
        })
    }
}

/// The per-call inputs, owned, so that the work can run without the GIL.
struct Call {
    height: usize,
    width: usize,
    polygons: Vec<TextPolygon>,
    generator: TargetGenerator,
}

/// A library error as a `ValueError`: every one of them is about the input.
fn value_error(err: polygon_cache::Error) -> PyErr {
    PyValueError::new_err(err.to_string())
}

impl Generator {
    /// Checks and copies the arguments; the settings of this call override the generator's
    /// (`is_training` comes with each sample, the dtype with its polygons, PaddleOCR's ratio
    /// with its epoch).
    #[expect(clippy::too_many_arguments, reason = "mirrors the Python signature, one argument per input")]
    fn call(
        &self,
        height: i64,
        width: i64,
        points: &PyReadonlyArray2<'_, f64>,
        lengths: &PyReadonlyArray1<'_, i64>,
        ignore: &PyReadonlyArray1<'_, bool>,
        is_training: bool,
        float32: bool,
        shrink_ratio: Option<f64>,
    ) -> PyResult<Call> {
        let (height, width) = match (usize::try_from(height), usize::try_from(width)) {
            (Ok(h), Ok(w)) if h > 0 && w > 0 => (h, w),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "image size {width}x{height}: each side must be at least 1"
                )));
            }
        };
        let points = points.as_array();
        if points.ncols() != 2 {
            return Err(PyValueError::new_err(format!("points must have shape (n, 2), not (n, {})", points.ncols())));
        }
        let (lengths, ignore) = (lengths.as_array(), ignore.as_array());
        if lengths.len() != ignore.len() {
            return Err(PyValueError::new_err(format!("{} polygons but {} ignore tags", lengths.len(), ignore.len())));
        }
        let total: i64 = lengths.iter().sum();
        if lengths.iter().any(|&n| n < 0) || total != points.nrows() as i64 {
            return Err(PyValueError::new_err(format!(
                "the polygon lengths add up to {total}, but there are {} points",
                points.nrows()
            )));
        }
        let mut polygons = Vec::with_capacity(lengths.len());
        let mut start = 0usize;
        for (index, (&length, &ignored)) in lengths.iter().zip(ignore.iter()).enumerate() {
            let rows = points.slice(numpy::ndarray::s![start..start + length as usize, ..]);
            start += length as usize;
            let vertices = rows.outer_iter().map(|row| [row[0], row[1]]).collect();
            let polygon = TextPolygon::new(vertices, ignored)
                .map_err(|err| PyValueError::new_err(format!("polygon {index}: {err}")))?;
            polygons.push(polygon);
        }
        let mut config = *self.inner.config();
        config.is_training = is_training;
        config.precision = if float32 { Precision::F32 } else { Precision::F64 };
        if let Some(ratio) = shrink_ratio {
            config.shrink_ratio = ratio;
            config.validate().map_err(value_error)?;
        }
        let generator = match self.inner.cache() {
            Some(cache) => TargetGenerator::with_cache(config, cache.clone()),
            None => TargetGenerator::new(config),
        };
        Ok(Call { height, width, polygons, generator })
    }
}

fn bools(py: Python<'_>, values: Vec<bool>) -> Bound<'_, PyAny> {
    values.into_pyarray(py).into_any()
}

#[pymethods]
impl Generator {
    /// A generator with DB's (`semantics="db"`) or PaddleOCR's (`"paddle"`) semantics. A
    /// setting left out takes the library's default (`TargetConfig::default()`); `cache_mb`
    /// gives it a polygon cache of that many MiB (DB only; 0 or `None`: no cache).
    #[new]
    #[pyo3(signature = (*, semantics = "db", shrink_ratio = None, min_text_size = None, thresh_min = None, thresh_max = None, cache_mb = None))]
    fn new(
        semantics: &str,
        shrink_ratio: Option<f64>,
        min_text_size: Option<f64>,
        thresh_min: Option<f64>,
        thresh_max: Option<f64>,
        cache_mb: Option<f64>,
    ) -> PyResult<Generator> {
        let semantics = match semantics {
            "db" => Semantics::Db,
            "paddle" => Semantics::PaddleOcr,
            other => return Err(PyValueError::new_err(format!("semantics must be 'db' or 'paddle', not {other:?}"))),
        };
        let defaults = TargetConfig::default();
        let config = TargetConfig {
            shrink_ratio: shrink_ratio.unwrap_or(defaults.shrink_ratio),
            min_text_size: min_text_size.unwrap_or(defaults.min_text_size),
            thresh_min: thresh_min.unwrap_or(defaults.thresh_min),
            thresh_max: thresh_max.unwrap_or(defaults.thresh_max),
            semantics,
            ..defaults
        };
        config.validate().map_err(value_error)?;
        let cache_bytes =
            cache_mb.map(polygon_cache::cache_budget_from_mib).transpose().map_err(value_error)?.flatten();
        let inner = match cache_bytes {
            Some(_) if semantics != Semantics::Db => {
                return Err(PyTypeError::new_err("the polygon cache serves DB semantics only"));
            }
            Some(bytes) => TargetGenerator::with_cache(config, PolygonCache::with_max_bytes(bytes)),
            None => TargetGenerator::new(config),
        };
        Ok(Generator { inner })
    }

    /// The shrink step: `(gt, mask, ignored, reversed)`, maps `(height, width)`.
    #[expect(clippy::too_many_arguments, reason = "mirrors the Python signature, one argument per input")]
    fn shrink<'py>(
        &self,
        py: Python<'py>,
        height: i64,
        width: i64,
        points: PyReadonlyArray2<'py, f64>,
        lengths: PyReadonlyArray1<'py, i64>,
        ignore: PyReadonlyArray1<'py, bool>,
        is_training: bool,
        float32: bool,
        shrink_ratio: Option<f64>,
        compact: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let call = self.call(height, width, &points, &lengths, &ignore, is_training, float32, shrink_ratio)?;
        let (h, w) = (call.height, call.width);
        let (gt, mask, step) = py
            .detach(move || {
                call.generator.shrink_step(h, w, &call.polygons).map(|mut step| {
                    let gt = Map::new(std::mem::take(&mut step.gt), compact);
                    let mask = Map::new(std::mem::take(&mut step.mask), compact);
                    (gt, mask, step)
                })
            })
            .map_err(value_error)?;
        PyTuple::new(
            py,
            [gt.into_py(py, h, w)?, mask.into_py(py, h, w)?, bools(py, step.ignored), bools(py, step.reversed)],
        )
    }

    /// The border step: `(thresh, thresh_mask)`.
    #[expect(clippy::too_many_arguments, reason = "mirrors the Python signature, one argument per input")]
    fn border<'py>(
        &self,
        py: Python<'py>,
        height: i64,
        width: i64,
        points: PyReadonlyArray2<'py, f64>,
        lengths: PyReadonlyArray1<'py, i64>,
        ignore: PyReadonlyArray1<'py, bool>,
        float32: bool,
        shrink_ratio: Option<f64>,
        compact: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let call = self.call(height, width, &points, &lengths, &ignore, true, float32, shrink_ratio)?;
        let (h, w) = (call.height, call.width);
        let (thresh, thresh_mask) = py
            .detach(move || {
                call.generator
                    .border_step(h, w, &call.polygons)
                    .map(|step| (Map::F32(step.thresh), Map::new(step.thresh_mask, compact)))
            })
            .map_err(value_error)?;
        PyTuple::new(py, [thresh.into_py(py, h, w)?, thresh_mask.into_py(py, h, w)?])
    }

    /// Both DB steps in one call: `(gt, mask, thresh, thresh_mask, ignored, reversed)`.
    #[expect(clippy::too_many_arguments, reason = "mirrors the Python signature, one argument per input")]
    fn generate<'py>(
        &self,
        py: Python<'py>,
        height: i64,
        width: i64,
        points: PyReadonlyArray2<'py, f64>,
        lengths: PyReadonlyArray1<'py, i64>,
        ignore: PyReadonlyArray1<'py, bool>,
        is_training: bool,
        float32: bool,
        compact: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if self.inner.config().semantics != Semantics::Db {
            return Err(PyTypeError::new_err(
                "generate() is DB's two steps in one; PaddleOCR calls border() then shrink()",
            ));
        }
        let call = self.call(height, width, &points, &lengths, &ignore, is_training, float32, None)?;
        let (h, w) = (call.height, call.width);
        let (maps, validation) = py
            .detach(move || {
                call.generator.generate_validated(h, w, &call.polygons).map(|(targets, validation)| {
                    let [gt, mask, thresh, thresh_mask] = targets.into_maps();
                    let maps = [
                        Map::new(gt, compact),
                        Map::new(mask, compact),
                        Map::F32(thresh),
                        Map::new(thresh_mask, compact),
                    ];
                    (maps, validation)
                })
            })
            .map_err(value_error)?;
        let [gt, mask, thresh, thresh_mask] = maps;
        PyTuple::new(
            py,
            [
                gt.into_py(py, h, w)?,
                mask.into_py(py, h, w)?,
                thresh.into_py(py, h, w)?,
                thresh_mask.into_py(py, h, w)?,
                bools(py, validation.ignored),
                bools(py, validation.reversed),
            ],
        )
    }

    /// The cache's counters (`hits`, `misses`, `hit_rate`, `entries`, `bytes`, and `bypassed`
    /// and `standing_aside` for a full cache that stood aside for want of hits), or `None`
    /// without a cache.
    fn cache_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(cache) = self.inner.cache() else { return Ok(None) };
        let CacheStats { hits, misses, hit_rate, entries, bytes, bypassed, standing_aside } =
            py.detach(|| cache.stats());
        let stats = PyDict::new(py);
        stats.set_item("hits", hits)?;
        stats.set_item("misses", misses)?;
        stats.set_item("hit_rate", hit_rate)?;
        stats.set_item("entries", entries)?;
        stats.set_item("bytes", bytes)?;
        stats.set_item("bypassed", bypassed)?;
        stats.set_item("standing_aside", standing_aside)?;
        Ok(Some(stats))
    }
}
