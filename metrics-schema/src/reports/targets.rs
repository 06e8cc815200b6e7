//! Reports of `ocrperf targets`: DBNet target digests and the target-generation benchmark.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Better, MetricsBuilder, Report, ReportKind, ToMetrics, Unit};

/// `ocrperf targets digest` (and `gen`): the SHA-256 of each map of each ground-truth file, in
/// the layout of the reference's `digests.json`, optionally compared with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsDigestReport {
    /// How many ground-truth files were processed.
    pub images: usize,
    /// Per file name, the digests of its four maps, or the reason it has none.
    pub files: BTreeMap<String, FileDigest>,
    /// The comparison with a reference `digests.json`, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parity: Option<ParitySummary>,
}

/// The digests of one file's maps, or why there are none (the reference fails on some
/// degenerate inputs, and so does ocrperf, with the same outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FileDigest {
    /// SHA-256 (hex) of each map's little-endian `f32` bytes.
    Maps {
        /// Shrink map.
        gt: String,
        /// Shrink mask.
        mask: String,
        /// Threshold map.
        thresh: String,
        /// Threshold mask.
        thresh_mask: String,
    },
    /// The file's targets could not be generated.
    Error {
        /// Why.
        error: String,
    },
}

/// How the digests compare with a reference run on the same files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParitySummary {
    /// The reference digests file.
    pub reference: String,
    /// Files present in both.
    pub compared: usize,
    /// Files whose four maps are all identical (or that fail in both).
    pub identical: usize,
    /// `file:map` entries that differ.
    pub mismatched: Vec<String>,
    /// Files of the reference that were not processed.
    pub missing: Vec<String>,
}

impl ParitySummary {
    /// True when every compared file is identical and none is missing.
    pub fn passed(&self) -> bool {
        self.mismatched.is_empty() && self.missing.is_empty() && self.identical == self.compared
    }
}

impl Report for TargetsDigestReport {
    const KIND: ReportKind = ReportKind::TargetsDigest;
    const MAJOR: u32 = 1;
}

impl ToMetrics for TargetsDigestReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        if let Some(parity) = &self.parity {
            let fraction =
                if parity.compared == 0 { f64::NAN } else { parity.identical as f64 / parity.compared as f64 };
            out.add("targets.parity.identical_fraction", fraction, Unit::Ratio, Better::Higher);
        }
    }
}

/// `ocrperf targets bench`: images per second over epochs, with or without the polygon cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsBenchReport {
    /// Where the images came from: a directory, or `built-in` for the seeded data set.
    pub dataset: String,
    /// Worker threads.
    pub threads: usize,
    /// Map sets each thread cycles through (1: one reused set, the fastest case).
    #[serde(default = "one")]
    pub buffers_per_thread: usize,
    /// Images processed over all epochs.
    pub images: u64,
    /// Wall time over all epochs.
    pub seconds: f64,
    /// `images / seconds`.
    pub images_per_s: f64,
    /// Images whose targets failed (as they fail in the reference); they still count as done.
    pub failed_images: u64,
    /// One entry per epoch, in order.
    pub epochs: Vec<EpochReport>,
    /// The polygon cache after the last epoch; `null` with `--no-cache`.
    pub cache: Option<CacheReport>,
    /// True when Ctrl-C stopped the run early; the epochs listed are the complete ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

fn one() -> usize {
    1
}

/// One pass over the data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Images in the epoch.
    pub images: u64,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// `images / seconds`.
    pub images_per_s: f64,
    /// Cache hits over lookups in this epoch; `null` without a cache.
    pub cache_hit_rate: Option<f64>,
}

/// The polygon cache's counters and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheReport {
    /// Lookups answered from the cache (whole run).
    pub hits: u64,
    /// Lookups that computed the work (whole run).
    pub misses: u64,
    /// `hits / (hits + misses)`.
    pub hit_rate: f64,
    /// Polygons held at the end.
    pub entries: u64,
    /// Bytes held at the end.
    pub bytes: u64,
    /// `bytes / entries`: the memory one cached polygon costs.
    pub bytes_per_entry: f64,
    /// The byte budget.
    pub budget_bytes: u64,
    /// Polygons computed without a lookup while the full cache stood aside for want of hits
    /// (`polygon_cache::PolygonCache`); 0 in reports from before it could.
    #[serde(default)]
    pub bypassed: u64,
}

impl Report for TargetsBenchReport {
    const KIND: ReportKind = ReportKind::TargetsBench;
    const MAJOR: u32 = 1;
}

impl TargetsBenchReport {
    /// Images per second without the polygon cache: a `--no-cache` run's images over its time
    /// (every epoch computes every polygon); `None` when the run had a cache. Not the cold rate:
    /// that is the first epoch of a cached run, which also fills the cache.
    pub fn uncached_images_per_s(&self) -> Option<f64> {
        self.cache.is_none().then_some(self.images_per_s)
    }

    /// Images per second of the first epoch, the one that fills the cache; `None` without
    /// epochs.
    pub fn cold_images_per_s(&self) -> Option<f64> {
        self.epochs.first().map(|epoch| epoch.images_per_s)
    }

    /// Images per second once the cache is warm: the epochs after the first, all their images
    /// over all their time (a rate's mean is harmonic, so a slow epoch weighs what it cost);
    /// `None` with fewer than two epochs. The one definition of the warm rate, for reports,
    /// metrics, the phases and the performance gate alike.
    pub fn warm_images_per_s(&self) -> Option<f64> {
        let warm = self.epochs.get(1..).filter(|warm| !warm.is_empty())?;
        let (images, seconds) =
            warm.iter().fold((0u64, 0.0), |(images, seconds), epoch| (images + epoch.images, seconds + epoch.seconds));
        (seconds > 0.0).then(|| images as f64 / seconds)
    }
}

impl ToMetrics for TargetsBenchReport {
    fn collect_metrics(&self, out: &mut MetricsBuilder) {
        out.scope("targets", |t| {
            t.add("images_per_s", self.images_per_s, Unit::PerSecond, Better::Higher);
            if let Some(cold) = self.cold_images_per_s() {
                t.add("cold_images_per_s", cold, Unit::PerSecond, Better::Higher);
            }
            if let Some(warm) = self.warm_images_per_s() {
                t.add("warm_images_per_s", warm, Unit::PerSecond, Better::Higher);
            }
            if let Some(cache) = &self.cache {
                t.add("cache.hit_rate", cache.hit_rate, Unit::Ratio, Better::Higher);
                t.add("cache.bytes_per_entry", cache.bytes_per_entry, Unit::Bytes, Better::Lower);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_files_read_the_reference_layout() {
        let text = r#"{"gt_0000.txt": {"gt": "a", "mask": "b", "thresh": "c", "thresh_mask": "d"},
                       "gt_0001.txt": {"error": "IndexError: list index out of range"}}"#;
        let files: BTreeMap<String, FileDigest> = serde_json::from_str(text).unwrap();
        assert!(matches!(&files["gt_0000.txt"], FileDigest::Maps { thresh, .. } if thresh == "c"));
        assert!(matches!(&files["gt_0001.txt"], FileDigest::Error { .. }));
    }

    #[test]
    fn bench_metrics() {
        let epoch = |epoch, rate| EpochReport {
            epoch,
            images: 10,
            seconds: 10.0 / rate,
            images_per_s: rate,
            cache_hit_rate: Some(0.5),
        };
        let report = TargetsBenchReport {
            dataset: "built-in".into(),
            threads: 1,
            buffers_per_thread: 1,
            images: 30,
            seconds: 1.0,
            images_per_s: 30.0,
            failed_images: 0,
            epochs: vec![epoch(1, 10.0), epoch(2, 40.0), epoch(3, 60.0)],
            cache: Some(CacheReport {
                hits: 1,
                misses: 1,
                hit_rate: 0.5,
                entries: 1,
                bytes: 100,
                bytes_per_entry: 100.0,
                budget_bytes: 1000,
                bypassed: 0,
            }),
            interrupted: false,
        };
        let metrics: Vec<(String, f64)> = report.metrics().into_iter().map(|m| (m.name, m.value)).collect();
        assert_eq!(
            metrics,
            [
                ("targets.images_per_s".to_owned(), 30.0),
                ("targets.cold_images_per_s".to_owned(), 10.0),
                // 20 images in 0.25 s + 1/6 s: the harmonic mean of 40/s and 60/s (48/s), not 50/s.
                ("targets.warm_images_per_s".to_owned(), 20.0 / (10.0 / 40.0 + 10.0 / 60.0)),
                ("targets.cache.hit_rate".to_owned(), 0.5),
                ("targets.cache.bytes_per_entry".to_owned(), 100.0),
            ]
        );
        insta::assert_json_snapshot!("targets_bench", report);
        // Reports written before `buffers_per_thread` existed read as one map set per thread.
        let mut older = serde_json::to_value(&report).unwrap();
        older.as_object_mut().unwrap().remove("buffers_per_thread");
        let older: TargetsBenchReport = serde_json::from_value(older).unwrap();
        assert_eq!(older, report);
        // With a cache the run has no uncached rate; without one it is the whole run's rate.
        assert_eq!(report.uncached_images_per_s(), None);
        let uncached = TargetsBenchReport { cache: None, ..report };
        assert_eq!(uncached.uncached_images_per_s(), Some(30.0));
        assert_eq!(uncached.cold_images_per_s(), Some(10.0));
    }
}
