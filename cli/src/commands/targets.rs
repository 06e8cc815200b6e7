//! `ocrperf targets`: DBNet target digests and parity, `.npy` maps, and the benchmark.

use ocrperf::polygon_cache;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use metrics_schema::{Envelope, FileDigest, TargetsBenchReport, TargetsDigestReport};
use polygon_cache::{
    BenchHooks, BenchOptions, EdgeDistance, Image, TargetConfig, TargetGenerator, check_dataset, check_parity,
    digest_dataset, read_dataset, read_digests, run_bench, synthetic_dataset,
};

use crate::{
    Outcome, interrupt,
    output::{Document, Ui, format_bytes},
};

/// Images in the built-in data set of `targets bench`.
const BUILT_IN_IMAGES: usize = 200;
/// Seed of the built-in data set.
const BUILT_IN_SEED: u64 = 0;

#[derive(Debug, Args)]
pub(crate) struct TargetsArgs {
    #[command(subcommand)]
    command: TargetsCommand,
}

#[derive(Debug, Subcommand)]
enum TargetsCommand {
    /// SHA-256 of every map of every ground-truth file; with --check, parity with a reference
    Digest(DigestArgs),
    /// Write each file's four maps as .npy (gt, mask, thresh, thresh_mask) for a Python job
    Gen(GenArgs),
    /// Time target generation over epochs, with and without the polygon cache
    Bench(BenchArgs),
}

/// Where the ground truth comes from and how targets are made.
#[derive(Debug, Args)]
struct TargetOptions {
    /// Image size for files without a `# size W H` line, e.g. 640x640
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(usize, usize)>,
    /// How edge distances are measured for the threshold map
    #[arg(long, value_enum, default_value_t = DistanceArg::Reference)]
    edge_distance: DistanceArg,
    /// Shrink ratio r in D = area·(1−r²)/perimeter
    #[arg(long, default_value_t = TargetConfig::default().shrink_ratio, value_name = "R")]
    shrink_ratio: f64,
    /// Ignore polygons whose height or width is below this many pixels
    #[arg(long, default_value_t = TargetConfig::default().min_text_size, value_name = "PX")]
    min_text_size: f64,
    /// Skip training-time validation (clipping to the image, tiny-area ignores, reorientation)
    #[arg(long)]
    no_validation: bool,
    /// The most memory the four maps of one image may take, in MiB
    #[arg(long, value_name = "MIB", default_value_t = polygon_cache::DEFAULT_MAX_MAP_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(*polygon_cache::MAX_MAP_BYTES_RANGE.start() >> 20..=*polygon_cache::MAX_MAP_BYTES_RANGE.end() >> 20))]
    max_map_mb: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DistanceArg {
    /// DB's law-of-cosines formula, what trained models expect
    Reference,
    /// The true point-to-segment distance
    Euclidean,
}

impl TargetOptions {
    /// The settings, checked against the library's one range per setting.
    fn config(&self) -> anyhow::Result<TargetConfig> {
        let config = TargetConfig {
            shrink_ratio: self.shrink_ratio,
            min_text_size: self.min_text_size,
            is_training: !self.no_validation,
            max_map_bytes: self.max_map_mb << 20,
            edge_distance: match self.edge_distance {
                DistanceArg::Reference => EdgeDistance::Reference,
                DistanceArg::Euclidean => EdgeDistance::Euclidean,
            },
            ..TargetConfig::default()
        };
        config.validate().map_err(|err| match err {
            // Named as the user typed it.
            polygon_cache::Error::Setting { name, value, range } => anyhow::anyhow!(
                "--{} must be a finite number in {range}, not {}",
                name.replace('_', "-"),
                metrics_schema::format_number(value)
            ),
            other => other.into(),
        })?;
        Ok(config)
    }

    /// Reads the data set and checks, before any work, that every image's maps fit the limits.
    fn read(&self, dir: &Path) -> anyhow::Result<Vec<Image>> {
        let images = read_dataset(dir, self.size)?;
        check_dataset(dir, &images, &self.config()?)?;
        Ok(images)
    }
}

#[derive(Debug, Args)]
struct DigestArgs {
    /// Directory of ICDAR-style ground-truth files (*.txt)
    #[arg(long, value_name = "DIR")]
    gt: PathBuf,
    /// Compare with a reference digests.json (or an earlier digest report); exit 1 on mismatch
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
    #[command(flatten)]
    options: TargetOptions,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// Directory of ICDAR-style ground-truth files (*.txt)
    #[arg(long, value_name = "DIR")]
    gt: PathBuf,
    /// Where to write <name>.<map>.npy (created if missing)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    options: TargetOptions,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Directory of ground-truth files [default: a built-in seeded set of 200 images]
    #[arg(long, value_name = "DIR")]
    gt: Option<PathBuf>,
    /// Passes over the data set
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    epochs: u32,
    /// Worker threads
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: u32,
    /// Map sets each thread cycles through, as a data loader keeps batches in flight
    /// (batch × (workers × prefetch + 1)); 1 reuses one hot set
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=4096))]
    buffers: u32,
    /// Run without the polygon cache
    #[arg(long, conflicts_with = "cache_mb")]
    no_cache: bool,
    /// Cache budget in MiB (0 turns the cache off)
    #[arg(long, default_value = "1024", value_name = "MIB", value_parser = crate::args::cache_budget, allow_negative_numbers = true)]
    cache_mb: crate::args::CacheBudget,
    #[command(flatten)]
    options: TargetOptions,
}

pub(crate) fn run(args: &TargetsArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    match &args.command {
        TargetsCommand::Digest(args) => digest(args, ui),
        TargetsCommand::Gen(args) => generate(args, ui),
        TargetsCommand::Bench(args) => bench(args, ui),
    }
}

fn digest(args: &DigestArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let config = args.options.config()?;
    // Read first: a wrong reference fails before any work.
    let reference = args.check.as_deref().map(|path| read_digests(path).map(|r| (path, r))).transpose()?;
    let images = args.options.read(&args.gt)?;
    let progress = ui.progress(images.len() as u64, "digest");
    let files = digest_dataset(&images, &TargetGenerator::new(config), &|| progress.inc(1));
    progress.finish_and_clear();
    let parity = reference.map(|(path, reference)| check_parity(&files, &reference, path)).transpose()?;
    let outcome =
        if parity.as_ref().is_some_and(|parity| !parity.passed()) { Outcome::CheckFailed } else { Outcome::Success };
    let report = TargetsDigestReport { images: images.len(), files, parity };
    ui.emit(&Envelope::for_this_machine(report.clone()), &digest_document(&report, "Target digests"))?;
    Ok(outcome)
}

fn digest_document(report: &TargetsDigestReport, title: &str) -> Document {
    let failed: Vec<&String> = report
        .files
        .iter()
        .filter(|(_, digest)| matches!(digest, FileDigest::Error { .. }))
        .map(|(name, _)| name)
        .collect();
    let mut fields =
        vec![("images".to_owned(), report.images.to_string()), ("failed".to_owned(), failed.len().to_string())];
    if let Some(parity) = &report.parity {
        let verdict = if parity.passed() { "identical" } else { "MISMATCH" };
        fields.push((
            "parity".to_owned(),
            format!("{verdict}: {}/{} files identical", parity.identical, parity.compared),
        ));
        fields.push(("reference".to_owned(), parity.reference.clone()));
        if !parity.missing.is_empty() {
            fields.push(("missing".to_owned(), parity.missing.join(", ")));
        }
    }
    let mut doc = Document::new(title);
    doc.fields(None, fields);
    if let Some(parity) = report.parity.as_ref().filter(|p| !p.mismatched.is_empty()) {
        let rows = parity.mismatched.iter().map(|entry| vec![entry.clone()]).collect();
        doc.table(Some("Maps that differ"), &["file:map"], rows);
    }
    if !failed.is_empty() {
        let rows = report
            .files
            .iter()
            .filter_map(|(name, digest)| match digest {
                FileDigest::Error { error } => Some(vec![name.clone(), error.clone()]),
                FileDigest::Maps { .. } => None,
            })
            .collect();
        doc.table(Some("Files without targets (the reference fails on them too)"), &["file", "reason"], rows);
    }
    doc
}

fn generate(args: &GenArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let config = args.options.config()?;
    let images = args.options.read(&args.gt)?;
    let progress = ui.progress(images.len() as u64, "gen");
    let files = polygon_cache::write_dataset_npy(
        &images,
        &TargetGenerator::new(config),
        &args.out,
        &|| progress.inc(1),
        &interrupt::requested,
    )?;
    progress.finish_and_clear();
    let report = TargetsDigestReport { images: files.len(), files, parity: None };
    let title = format!("Targets written to {}", args.out.display());
    ui.emit(&Envelope::for_this_machine(report.clone()), &digest_document(&report, &title))?;
    Ok(Outcome::Success)
}

fn bench(args: &BenchArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let config = args.options.config()?;
    let (images, dataset) = match &args.gt {
        Some(dir) => (args.options.read(dir)?, dir.display().to_string()),
        None => (
            synthetic_dataset(BUILT_IN_IMAGES, BUILT_IN_SEED),
            format!("built-in ({BUILT_IN_IMAGES} images, seed {BUILT_IN_SEED})"),
        ),
    };
    let options = BenchOptions {
        epochs: args.epochs as usize,
        threads: args.threads as usize,
        buffers_per_thread: args.buffers as usize,
        cache_bytes: if args.no_cache { None } else { args.cache_mb.0 },
        dataset,
    };
    interrupt::set_cancellable();
    let progress = ui.progress(images.len() as u64 * u64::from(args.epochs), "bench");
    let hooks = BenchHooks { on_image: &|| progress.inc(1), should_stop: &interrupt::requested };
    let report = run_bench(&images, config, &options, &hooks);
    progress.finish_and_clear();
    ui.emit(&Envelope::for_this_machine(report.clone()), &bench_document(&report))?;
    Ok(Outcome::Success)
}

fn bench_document(report: &TargetsBenchReport) -> Document {
    let mut fields = vec![
        ("data set".to_owned(), report.dataset.clone()),
        ("threads".to_owned(), report.threads.to_string()),
        ("map sets per thread".to_owned(), report.buffers_per_thread.to_string()),
        ("images".to_owned(), report.images.to_string()),
        ("images/s".to_owned(), format!("{:.1}", report.images_per_s)),
    ];
    if report.failed_images > 0 {
        fields.push(("failed images".to_owned(), format!("{} (they fail in the reference too)", report.failed_images)));
    }
    match &report.cache {
        Some(cache) => {
            fields.push(("cache hit rate".to_owned(), format!("{:.2}%", cache.hit_rate * 100.0)));
            fields.push((
                "cache size".to_owned(),
                format!(
                    "{} polygons, {} of {}",
                    cache.entries,
                    format_bytes(cache.bytes),
                    format_bytes(cache.budget_bytes)
                ),
            ));
            fields.push(("per cached polygon".to_owned(), format_bytes(cache.bytes_per_entry.round() as u64)));
            if cache.bypassed > 0 {
                fields.push((
                    "stood aside".to_owned(),
                    format!("{} polygons computed without a lookup (the full cache was not hitting)", cache.bypassed),
                ));
            }
        }
        None => fields.push(("cache".to_owned(), "off".to_owned())),
    }
    if report.interrupted {
        fields.push(("interrupted".to_owned(), "yes: only complete epochs are listed".to_owned()));
    }
    let rows = report
        .epochs
        .iter()
        .map(|epoch| {
            vec![
                epoch.epoch.to_string(),
                epoch.images.to_string(),
                format!("{:.3}", epoch.seconds),
                format!("{:.1}", epoch.images_per_s),
                epoch.cache_hit_rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.2}%", rate * 100.0)),
            ]
        })
        .collect();
    let mut doc = Document::new("DBNet target generation");
    doc.fields(None, fields);
    doc.table(Some("Epochs"), &["epoch", "images", "seconds", "images/s", "cache hits"], rows);
    doc
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let bad = || {
        format!(
            "`{text}` is not a size; write WIDTHxHEIGHT, each side 1..={}, e.g. 640x640",
            polygon_cache::MAX_IMAGE_SIDE
        )
    };
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |s: &str| s.trim().parse::<usize>().ok().filter(|&n| (1..=polygon_cache::MAX_IMAGE_SIDE).contains(&n));
    Ok((side(w).ok_or_else(bad)?, side(h).ok_or_else(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("640x480"), Ok((640, 480)));
        assert_eq!(parse_size("32X16"), Ok((32, 16)));
        assert!(parse_size("640").is_err() && parse_size("0x5").is_err() && parse_size("ax5").is_err());
    }
}
