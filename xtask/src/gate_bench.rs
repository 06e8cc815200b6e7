//! `cargo xtask bench-gate`: how often the gate cries wolf, and how often it catches a
//! slowdown, on recorded unchanged runs.
//!
//! Two sets of unchanged runs: the 24 tracker runs of `testdata/regression/noise` (TensorBoard,
//! realistic autocorrelated noise and a 1% run-to-run offset), and the runs of the built-in
//! workload in `testdata/regression/builtin` (recorded on the development machine with
//! `--record`). False alarms: every pair, unchanged. Power: every pair with the second run
//! slowed down by 1–15% (`regression::slow_down`: lower-is-better values grow, rates shrink),
//! at the default 5% and at a 3% threshold, with one run a side and with three. The study is
//! `regression::study`'s; this file only runs it on the recorded sets and prints it.

use ocrperf::regression;
use std::path::Path;

use anyhow::Context as _;
use metrics_schema::BaselineReport;
use regression::{
    BaselineOptions, ReadOptions, SourceSpec, Thresholds, Warmup, build_baseline, sources,
    study::{RecordedPower, Study, percent},
};

use crate::process::project_root;

/// One set of unchanged runs.
struct RunSet {
    name: &'static str,
    singles: Vec<BaselineReport>,
    triples: Vec<BaselineReport>,
}

pub(crate) fn run(record: Option<usize>, study_trials: usize) -> anyhow::Result<bool> {
    let root = project_root();
    let builtin = root.join("testdata/regression/builtin");
    if let Some(count) = record {
        record_builtin(&builtin, count)?;
    }
    let sets = [
        load_set("tracker noise set (TensorBoard)", &root.join("testdata/regression/noise"))?,
        load_set("built-in workload", &builtin)?,
    ];
    let mut ok = true;
    let mut summary = serde_json::Map::new();
    for set in &sets {
        println!("\n{}: {} unchanged runs", set.name, set.singles.len());
        let power = RecordedPower::measure(&set.singles, &set.triples);
        println!(
            "false alarms over all {} pairs: {} at 5%, {} at 3% (target: 0 at the default 5%)",
            power.pairs, power.false_alarms_5, power.false_alarms_3
        );
        println!(
            "{:>9}  {:>13}  {:>13}  {:>14}  {:>14}",
            "slowdown", "1 run, 5%", "1 run, 3%", "3 runs, 5%", "3 runs, 3%"
        );
        for row in &power.power {
            let shown = [row.one_run_5, row.one_run_3, row.three_runs_5, row.three_runs_3]
                .map(|(caught, n)| format!("{:.1}% ({caught}/{n})", 100.0 * caught as f64 / n.max(1) as f64));
            println!(
                "{:>8}%  {:>13}  {:>13}  {:>14}  {:>14}",
                row.slowdown_percent, shown[0], shown[1], shown[2], shown[3]
            );
        }
        ok &= power.targets_met();
        summary.insert(set.name.to_owned(), serde_json::to_value(&power)?);
    }
    let recorded_ok = ok;
    let (study_ok, study_json) = shape_study(study_trials);
    ok &= study_ok;
    summary.insert("shape_study".to_owned(), study_json);
    let out = root.join("target/ocrperf/gate-power.json");
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))?;
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    metrics_schema::write_atomic(&out, |file| file.write_all(text.as_bytes()))?;
    println!("\nwrote {}", out.display());
    let said = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "targets: recorded runs, no false alarm at 5% and every 10% slowdown caught with one run a side: {}; shape \
         study: {}",
        said(recorded_ok),
        said(study_ok)
    );
    Ok(ok)
}

/// The shape study (`regression::study`), printed: false alarms per noise and length, the
/// README's table and the targets.
fn shape_study(trials: usize) -> (bool, serde_json::Value) {
    println!("\nshape study: {trials} pairs of synthetic runs per cell (regression::study)");
    let study = Study::run(trials);
    for quiet in &study.quiet {
        println!(
            "{} noise, {} steps: false alarms {} of {} unchanged pairs; a uniform 2% slowdown flagged in {}",
            quiet.noise.name,
            quiet.steps,
            quiet.unchanged.regressed + quiet.unchanged.improved,
            quiet.unchanged.trials,
            percent(quiet.two_percent.regressed, quiet.two_percent.trials),
        );
    }
    print!("\n{}", study.markdown_table());
    let targets = study.targets(400);
    for (target, met) in targets {
        println!("shape target, typical noise, 400 steps: {target}: {}", if met { "met" } else { "MISSED" });
    }
    (targets.iter().all(|(_, met)| *met), study.to_json())
}

fn load_set(name: &'static str, dir: &Path) -> anyhow::Result<RunSet> {
    let spec = SourceSpec { paths: vec![dir.to_owned()], run: None, repeats: true };
    let runs = sources::load(&spec, &ReadOptions::default()).with_context(|| format!("reading {}", dir.display()))?;
    let thresholds = Thresholds::default();
    let options = BaselineOptions { warmup: Warmup::Auto, thresholds: &thresholds, read_seconds: 0.0 };
    let singles = runs.iter().map(|run| build_baseline(std::slice::from_ref(run), &options)).collect();
    let triples = runs.chunks_exact(3).map(|group| build_baseline(group, &options)).collect();
    Ok(RunSet { name, singles, triples })
}

/// Records `count` runs of the phase 1 workload into `dir/run-NN` (batch events and the
/// throughput report, as `cargo xtask phase1` runs it).
fn record_builtin(dir: &Path, count: usize) -> anyhow::Result<()> {
    let ctx = crate::phases::prepare_context()?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    for index in 0..count {
        let run = crate::gate::workload(&ctx, &dir.join(format!("run-{index:02}")), crate::gate::STEP)?;
        println!("recorded {run}");
    }
    Ok(())
}
