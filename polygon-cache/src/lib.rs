//! The DBNet target generator: shrink map, threshold map and their masks, pixel-exact with the
//! reference Python (MhLiao/DB's `MakeSegDetectionData` + `MakeBorderMap`, and PaddleOCR's).
//! The polygon cache that gives the crate its folder name is one part of it.
//!
//! DBNet target generation is the classic input-pipeline bottleneck of text-detection
//! training: every polygon needs two Clipper offsets and a per-pixel distance to each of its
//! edges, and validation recomputes the same polygons every epoch. [`TargetGenerator`] does
//! the same work natively and [`PolygonCache`] remembers it per polygon, so later epochs only
//! compose cached patches onto fresh canvases.
//!
//! "Pixel-exact" means the SHA-256 of every map's `f32` bytes equals the reference's. That takes
//! the reference's exact arithmetic: NumPy's pairwise sums, GEOS's area and length, pyclipper's
//! truncation, Clipper 6.4.2's own `ClipperOffset` (the library pyclipper wraps, as built by
//! `clipper-sys`, called through a small C++ entry point), OpenCV's `fillPoly` (ported) and the
//! border map's float64-then-float32 distances. Ground truth is read from ICDAR 2015 style
//! files ([`parse_ground_truth`], [`read_dataset`]).
//!
//! What this crate does not do: read images, augment, or batch. It turns polygons into maps;
//! the data loader around it is the user's (or `ocrperf throughput run`'s).
//!
//! # Example
//!
//! ```
//! use polygon_cache::{PolygonCache, TargetConfig, TargetGenerator, parse_ground_truth};
//!
//! let gt = parse_ground_truth("# size 64 48\n8,8,56,8,56,30,8,30,hello\n")?;
//! let cache = PolygonCache::with_max_bytes(64 << 20);
//! let generator = TargetGenerator::with_cache(TargetConfig::default(), cache.clone());
//! let targets = generator.generate(48, 64, &gt.polygons)?;
//! assert_eq!(targets.gt()[20 * 64 + 32], 1.0);
//!
//! // The second time the polygon comes from the cache, and the maps are identical.
//! assert_eq!(generator.generate(48, 64, &gt.polygons)?, targets);
//! assert_eq!(cache.stats().hits, 1);
//! # Ok::<(), polygon_cache::Error>(())
//! ```

mod border;
mod cache;
mod dataset;
mod digest;
mod error;
mod generator;
mod geom;
mod gt;
mod offset;
mod polygon;
mod raster;
mod steps;
mod synth;
mod targets;
mod work;

pub use border::EdgeDistance;
pub use cache::{CacheStats, MAX_CACHE_MIB, PolygonCache, cache_budget_from_mib};
pub use dataset::{
    BenchHooks, BenchOptions, Image, check_dataset, check_parity, compare_digests, digest_dataset, read_dataset,
    read_digests, run_bench,
};
pub use digest::{MapDigests, digest_map, digest_targets, write_dataset_npy, write_npy};
pub use error::Error;
pub use generator::{
    DEFAULT_MAX_MAP_BYTES, MAX_MAP_BYTES_RANGE, Semantics, TargetConfig, TargetGenerator, Validation, map_bytes,
};
pub use geom::{Point, Precision};
pub use gt::{GroundTruth, MAX_IMAGE_SIDE, parse_ground_truth, read_ground_truth};
pub use polygon::{MAX_COORDINATE, TextPolygon};
pub use steps::{BorderStep, ShrinkStep};
pub use synth::synthetic_dataset;
pub use targets::Targets;
