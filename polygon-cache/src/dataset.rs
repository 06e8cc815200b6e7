//! Data sets: directories of ground-truth files, and what to do with all their images at once
//! (digests, parity with a reference, the benchmark).

use std::{
    collections::BTreeMap,
    path::Path,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Instant,
};

use metrics_schema::{CacheReport, EpochReport, FileDigest, ParitySummary, ReportKind, SchemaId, TargetsBenchReport};

use crate::{
    Error, PolygonCache, TargetConfig, TargetGenerator, Targets, TextPolygon, digest_targets, read_ground_truth,
};

/// One image's ground truth, ready for target generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The ground-truth file's name (`gt_0001.txt`), the key of digests.
    pub name: String,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Its polygons.
    pub polygons: Vec<TextPolygon>,
}

/// Reads every `*.txt` file of `dir`, sorted by name. `default_size` (`(width, height)`) is used
/// for files without a `# size W H` line.
///
/// # Errors
/// [`Error::Io`] for an unreadable directory or file, [`Error::EmptyDataset`] when there is no
/// `.txt` file, and [`Error::InFile`] naming the file (and line) for bad content or a missing
/// size.
pub fn read_dataset(dir: &Path, default_size: Option<(usize, usize)>) -> Result<Vec<Image>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|cause| Error::Io { path: dir.to_owned(), cause })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|cause| Error::Io { path: dir.to_owned(), cause })?.path();
        if path.extension().is_some_and(|ext| ext == "txt") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(Error::EmptyDataset { dir: dir.to_owned() });
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let gt = read_ground_truth(path)?;
            let (width, height) = gt.size.or(default_size).ok_or_else(|| Error::MissingSize.in_file(path))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(Image { name, height, width, polygons: gt.polygons })
        })
        .collect()
}

/// Checks that every image of `dir` (as [`read_dataset`] read it) can get its maps under
/// `config` (its size and the memory limit), before any work starts.
///
/// # Errors
/// [`Error::InFile`] naming the first image that cannot, with [`Error::BadSize`] or
/// [`Error::MapsTooLarge`].
pub fn check_dataset(dir: &Path, images: &[Image], config: &TargetConfig) -> Result<(), Error> {
    images.iter().try_for_each(|image| {
        config.check_size(image.width, image.height).map_err(|err| err.in_file(&dir.join(&image.name)))
    })
}

/// The digests of every image, keyed by name; an image whose targets fail gets its error, as
/// the reference records its exception.
pub fn digest_dataset(
    images: &[Image],
    generator: &TargetGenerator,
    on_image: &(dyn Fn() + Sync),
) -> BTreeMap<String, FileDigest> {
    let mut targets = Targets::default();
    images
        .iter()
        .map(|image| {
            let digest = match generator.generate_into(image.height, image.width, &image.polygons, &mut targets) {
                Ok(()) => digest_targets(&targets).into(),
                Err(err) => FileDigest::Error { error: err.to_string() },
            };
            on_image();
            (image.name.clone(), digest)
        })
        .collect()
}

/// Reads the digests of a reference: the `digests.json` that `tools/dbnet_reference.py` writes
/// (no `schema`), or an ocrperf digest report (`ocrperf.targets-digest.v1`).
///
/// # Errors
/// [`Error::Io`], or [`Error::BadDigests`] for text that is not UTF-8 (with its line), JSON
/// that does not parse, a report of another kind or a newer version, an entry that is neither
/// four digests nor an error, and a file with no entries.
pub fn read_digests(path: &Path) -> Result<BTreeMap<String, FileDigest>, Error> {
    let bad = |message: String| Error::BadDigests { path: path.to_owned(), message };
    let text = metrics_schema::text::read_text(path, metrics_schema::text::MAX_TEXT_FILE).map_err(|err| match err {
        metrics_schema::text::TextError::Io(cause) => Error::Io { path: path.to_owned(), cause },
        other => bad(other.to_string()),
    })?;
    let root: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| bad(format!("line {}: not JSON: {err}", err.line())))?;
    if let Some(schema) = root.get("schema") {
        let id = schema.as_str().unwrap_or_default();
        let expected = SchemaId { kind: ReportKind::TargetsDigest, major: 1 };
        match id.parse::<SchemaId>() {
            Ok(found) if found.kind == expected.kind && found.major <= expected.major => {}
            Ok(found) if found.kind == expected.kind => {
                return Err(bad(format!("`{id}` is newer than this ocrperf reads ({expected}); update ocrperf")));
            }
            _ => {
                return Err(bad(format!("its schema is `{id}`, not target digests (`{expected}`, or a digests.json)")));
            }
        }
    }
    let Some(files) = root.get("files").and_then(serde_json::Value::as_object) else {
        return Err(bad("no `files` object: expected {\"files\": {name: {gt, mask, thresh, thresh_mask}}}".to_owned()));
    };
    if files.is_empty() {
        return Err(bad("`files` is empty: nothing to compare against".to_owned()));
    }
    files
        .iter()
        .map(|(name, entry)| {
            let digest = serde_json::from_value::<FileDigest>(entry.clone()).map_err(|_| {
                bad(format!(
                    "file `{name}`: expected its four SHA-256 digests {{gt, mask, thresh, thresh_mask}}, \
                     or {{error}} where the reference failed"
                ))
            })?;
            Ok((name.clone(), digest))
        })
        .collect()
}

/// Compares digests with a reference's, as [`compare_digests`], and refuses a comparison of
/// nothing: when none of the reference's files was digested here, parity is not shown.
///
/// # Errors
/// [`Error::BadDigests`] naming the reference when no file is in both.
pub fn check_parity(
    ours: &BTreeMap<String, FileDigest>,
    reference: &BTreeMap<String, FileDigest>,
    path: &Path,
) -> Result<ParitySummary, Error> {
    let summary = compare_digests(ours, reference, &path.display().to_string());
    if summary.compared == 0 {
        return Err(Error::BadDigests {
            path: path.to_owned(),
            message: format!(
                "none of its {} files is among the {} digested here: is it the reference of this data set?",
                reference.len(),
                ours.len()
            ),
        });
    }
    Ok(summary)
}

/// Compares digests with a reference's. Files that fail in both count as identical (the
/// reference's message is Python's, so only the failure itself is compared).
pub fn compare_digests(
    ours: &BTreeMap<String, FileDigest>,
    reference: &BTreeMap<String, FileDigest>,
    label: &str,
) -> ParitySummary {
    let mut summary = ParitySummary {
        reference: label.to_owned(),
        compared: 0,
        identical: 0,
        mismatched: Vec::new(),
        missing: Vec::new(),
    };
    for (name, expected) in reference {
        let Some(actual) = ours.get(name) else {
            summary.missing.push(name.clone());
            continue;
        };
        summary.compared += 1;
        let differing: Vec<&str> = match (actual, expected) {
            (FileDigest::Error { .. }, FileDigest::Error { .. }) => Vec::new(),
            (
                FileDigest::Maps { gt, mask, thresh, thresh_mask },
                FileDigest::Maps { gt: g2, mask: m2, thresh: t2, thresh_mask: tm2 },
            ) => {
                [("gt", gt == g2), ("mask", mask == m2), ("thresh", thresh == t2), ("thresh_mask", thresh_mask == tm2)]
                    .into_iter()
                    .filter(|(_, same)| !same)
                    .map(|(map, _)| map)
                    .collect()
            }
            _ => vec!["error"],
        };
        if differing.is_empty() {
            summary.identical += 1;
        }
        summary.mismatched.extend(differing.into_iter().map(|map| format!("{name}:{map}")));
    }
    summary
}

/// How to run [`run_bench`].
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Passes over the data set.
    pub epochs: usize,
    /// Worker threads.
    pub threads: usize,
    /// Map sets each thread cycles through: 1 reuses one hot set; a data loader holds
    /// `batch × (workers × prefetch + 1)` sets, and more sets mean colder memory.
    pub buffers_per_thread: usize,
    /// The cache budget in bytes; `None` runs without a cache.
    pub cache_bytes: Option<u64>,
    /// What to call the data set in the report.
    pub dataset: String,
}

/// Callbacks for progress and cancellation.
pub struct BenchHooks<'a> {
    /// Called after each image.
    pub on_image: &'a (dyn Fn() + Sync),
    /// Polled between images; when it returns true the run stops after the current epoch's
    /// images in flight, and the report lists the complete epochs.
    pub should_stop: &'a (dyn Fn() -> bool + Sync),
}

impl std::fmt::Debug for BenchHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BenchHooks")
    }
}

/// Times target generation over `images` for `options.epochs` epochs on `options.threads`
/// threads, with a cache if asked for.
pub fn run_bench(
    images: &[Image],
    config: TargetConfig,
    options: &BenchOptions,
    hooks: &BenchHooks<'_>,
) -> TargetsBenchReport {
    let cache = options.cache_bytes.map(PolygonCache::with_max_bytes);
    let generator = match &cache {
        Some(cache) => TargetGenerator::with_cache(config, cache.clone()),
        None => TargetGenerator::new(config),
    };
    let threads = options.threads.max(1);
    let buffers_per_thread = options.buffers_per_thread.max(1);
    let failed = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let mut epochs = Vec::new();
    // Each thread's map sets live across epochs, as a loader's recycled buffers do.
    let mut buffers: Vec<Vec<Targets>> =
        (0..threads).map(|_| (0..buffers_per_thread).map(|_| Targets::default()).collect()).collect();
    for epoch in 1..=options.epochs {
        let before = cache.as_ref().map(PolygonCache::stats);
        let next = AtomicUsize::new(0);
        let epoch_started = Instant::now();
        let worker = |buffers: &mut [Targets]| {
            for turn in 0.. {
                let targets = &mut buffers[turn % buffers_per_thread];
                if (hooks.should_stop)() {
                    stopped.store(true, Ordering::Relaxed);
                    return;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(image) = images.get(index) else { return };
                if generator.generate_into(image.height, image.width, &image.polygons, targets).is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                (hooks.on_image)();
            }
        };
        if threads == 1 {
            worker(&mut buffers[0]);
        } else {
            std::thread::scope(|scope| {
                for buffers in &mut buffers {
                    scope.spawn(|| worker(buffers));
                }
            });
        }
        let seconds = epoch_started.elapsed().as_secs_f64();
        if stopped.load(Ordering::Relaxed) {
            break;
        }
        let count = images.len() as u64;
        epochs.push(EpochReport {
            epoch,
            images: count,
            seconds,
            images_per_s: count as f64 / seconds,
            cache_hit_rate: cache.as_ref().zip(before).map(|(cache, before)| {
                let after = cache.stats();
                let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
                if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 }
            }),
        });
    }
    let images_done: u64 = epochs.iter().map(|e| e.images).sum();
    let seconds: f64 = epochs.iter().map(|e| e.seconds).sum();
    let cache = cache.map(|cache| cache_report(&cache, options.cache_bytes.unwrap_or_default()));
    TargetsBenchReport {
        dataset: options.dataset.clone(),
        threads,
        buffers_per_thread,
        images: images_done,
        seconds,
        images_per_s: if seconds > 0.0 { images_done as f64 / seconds } else { 0.0 },
        failed_images: failed.load(Ordering::Relaxed) as u64,
        epochs,
        cache,
        interrupted: stopped.load(Ordering::Relaxed),
    }
}

fn cache_report(cache: &PolygonCache, budget_bytes: u64) -> CacheReport {
    let stats = cache.stats();
    CacheReport {
        hits: stats.hits,
        misses: stats.misses,
        hit_rate: stats.hit_rate,
        entries: stats.entries,
        bytes: stats.bytes,
        bytes_per_entry: if stats.entries == 0 { 0.0 } else { stats.bytes as f64 / stats.entries as f64 },
        budget_bytes,
        bypassed: stats.bypassed,
    }
}
