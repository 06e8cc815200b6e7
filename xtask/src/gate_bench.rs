//! `cargo xtask bench-gate`: how often the gate cries wolf, and how often it catches a
//! slowdown, on recorded unchanged runs.
//!
//! Two sets of unchanged runs: the 24 tracker runs of `testdata/regression/noise` (TensorBoard,
//! realistic autocorrelated noise and a 1% run-to-run offset), and the runs of the built-in
//! workload in `testdata/regression/builtin` (recorded on the development machine with
//! `--record`). False alarms: every pair, unchanged. Power: every pair with the second run
//! slowed down by 1–15% (`regression::slow_down`: lower-is-better values grow, rates shrink),
//! at the default 5% and at a 3% threshold, with one run a side and with three.

use std::path::Path;

use anyhow::Context as _;
use metrics_schema::{BaselineReport, Verdict};
use regression::{
    BaselineOptions, ReadOptions, SourceSpec, Thresholds, Warmup, build_baseline, compare, slow_down, sources,
};

use crate::process::project_root;

/// One set of unchanged runs.
struct RunSet {
    name: &'static str,
    singles: Vec<BaselineReport>,
    triples: Vec<BaselineReport>,
}

pub(crate) fn run(record: Option<usize>) -> anyhow::Result<bool> {
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
        let five = Thresholds::default();
        let three = Thresholds { threshold: 0.03, ..Thresholds::default() };
        let (alarms, pairs) = trials(&set.singles, 1.0, &five, false);
        let (alarms3, _) = trials(&set.singles, 1.0, &three, false);
        println!("false alarms over all {pairs} pairs: {alarms} at 5%, {alarms3} at 3% (target: 0 at the default 5%)");
        ok &= alarms == 0;
        println!(
            "{:>9}  {:>13}  {:>13}  {:>14}  {:>14}",
            "slowdown", "1 run, 5%", "1 run, 3%", "3 runs, 5%", "3 runs, 3%"
        );
        let mut curve = Vec::new();
        for percent in 1..=15 {
            let factor = 1.0 + f64::from(percent) / 100.0;
            let cells = [
                trials(&set.singles, factor, &five, true),
                trials(&set.singles, factor, &three, true),
                trials(&set.triples, factor, &five, true),
                trials(&set.triples, factor, &three, true),
            ];
            let shown: Vec<String> = cells
                .iter()
                .map(|(caught, n)| format!("{:.1}% ({caught}/{n})", 100.0 * *caught as f64 / *n as f64))
                .collect();
            println!("{:>8}%  {:>13}  {:>13}  {:>14}  {:>14}", percent, shown[0], shown[1], shown[2], shown[3]);
            if percent == 10 {
                ok &= cells[0].0 == cells[0].1;
            }
            curve.push(serde_json::json!({
                "slowdown_percent": percent,
                "one_run_5": cells[0], "one_run_3": cells[1], "three_runs_5": cells[2], "three_runs_3": cells[3],
            }));
        }
        summary.insert(set.name.to_owned(), serde_json::json!({ "runs": set.singles.len(), "pairs": pairs, "false_alarms_5": alarms, "false_alarms_3": alarms3, "power": curve }));
    }
    let out = root.join("target/ocrperf/gate-power.json");
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))?;
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    metrics_schema::write_atomic(&out, |file| file.write_all(text.as_bytes()))?;
    println!("\nwrote {}", out.display());
    println!(
        "targets: no false alarm at 5%, every 10% slowdown caught with one run a side: {}",
        if ok { "met" } else { "MISSED" }
    );
    Ok(ok)
}

/// How many of the pairs `i < j` of `baselines`, the second slowed by `factor`, the gate calls
/// regressed (`catch`) or anything but unchanged (`!catch`: false alarms), and how many pairs.
fn trials(baselines: &[BaselineReport], factor: f64, thresholds: &Thresholds, catch: bool) -> (usize, usize) {
    let (mut hits, mut pairs) = (0, 0);
    for (i, a) in baselines.iter().enumerate() {
        for b in &baselines[i + 1..] {
            let mut current = b.clone();
            if factor != 1.0 {
                slow_down(&mut current, factor);
            }
            let report = compare(a, &current, ["a", "b"], thresholds);
            pairs += 1;
            hits += usize::from(if catch {
                report.verdict == Verdict::Regressed
            } else {
                matches!(report.verdict, Verdict::Regressed | Verdict::Improved)
            });
        }
    }
    (hits, pairs)
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
        let run = crate::phase1::workload(&ctx, &dir.join(format!("run-{index:02}")), crate::phase1::STEP)?;
        println!("recorded {run}");
    }
    Ok(())
}
