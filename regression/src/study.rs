//! The gate's shape study: synthetic step-time runs with realistic noise, unchanged or slowed
//! down in one of several shapes, and how often the gate flags them.
//!
//! A slowdown is given by what it costs: `magnitude` is the rise of the run's mean step time
//! (0.10 = the run takes 10% longer, about 9% less throughput). Each [`Shape`] spreads that cost
//! differently over the steps: all of them a little, every k-th step a lot, an early or a late
//! stretch, alternating blocks, a ramp, or a mix. Noise ([`Noise`]) is what unchanged runs
//! show: AR(1) step noise, a sine wobble of a random phase, a run-to-run offset and a few slow
//! warm-up steps.
//!
//! `cargo xtask bench-gate` prints the table; the property tests of the gate use the same
//! generators. Everything is seeded: a study is the same on every machine.

use metrics_schema::{BaselineReport, Verdict};

use crate::{BaselineOptions, Hint, Point, RunMetrics, Thresholds, Warmup, build_baseline, build_current, compare};

/// The metric the study's runs log.
pub const METRIC: &str = "perf/step_time_ms";

/// How a slowdown is spread over a run's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Every step slower by the same factor.
    Uniform,
    /// Every `k`-th step slow (stalls: a checkpoint, a slow shard, a collective).
    EveryKth(usize),
    /// The first `percent`% of the steps slow, then back to normal.
    Early(u32),
    /// The last `percent`% of the steps slow (a throttle, a leak that bites).
    Late(u32),
    /// Alternating normal and slow blocks, each an eighth of the run (50 steps of 400).
    Alternating,
    /// Slower and slower, from normal at the start.
    Ramp,
    /// Every 5th step a stall, plus the last 30% slower.
    Mix,
    /// A few large stalls (a checkpoint save, a hung read), evenly spread: the rest of the run
    /// is unchanged.
    Stalls(usize),
}

impl Shape {
    /// The shapes the study runs.
    pub const ALL: [Shape; 10] = [
        Shape::Uniform,
        Shape::EveryKth(3),
        Shape::EveryKth(10),
        Shape::Early(60),
        Shape::Early(20),
        Shape::Late(40),
        Shape::Alternating,
        Shape::Ramp,
        Shape::Mix,
        Shape::Stalls(3),
    ];

    /// In words, for tables.
    pub fn describe(self) -> String {
        match self {
            Shape::Uniform => "uniform".to_owned(),
            Shape::EveryKth(k) => format!("every {k}{} step", if k == 3 { "rd" } else { "th" }),
            Shape::Early(percent) => format!("first {percent}% of steps"),
            Shape::Late(percent) => format!("last {percent}% of steps"),
            Shape::Alternating => "alternating blocks of 1/8 run".to_owned(),
            Shape::Ramp => "ramp".to_owned(),
            Shape::Mix => "stalls + late shift".to_owned(),
            Shape::Stalls(count) => format!("{count} large stalls"),
        }
    }

    /// How much extra each of `n` steps carries, before scaling (≥ 0, not all 0).
    fn excess(self, i: usize, n: usize) -> f64 {
        let position = i as f64 / n as f64;
        match self {
            Shape::Uniform => 1.0,
            Shape::EveryKth(k) => f64::from(u8::from(i.is_multiple_of(k.max(1)))),
            Shape::Early(percent) => f64::from(u8::from(position < f64::from(percent) / 100.0)),
            Shape::Late(percent) => f64::from(u8::from(position >= 1.0 - f64::from(percent) / 100.0)),
            Shape::Alternating => f64::from(u8::from((i / (n / 8).max(1)) % 2 == 1)),
            Shape::Ramp => position,
            Shape::Mix => f64::from(u8::from(i.is_multiple_of(5))) + f64::from(u8::from(position >= 0.7)),
            // At n·j/(count + 1) for j = 1..=count.
            Shape::Stalls(count) => f64::from(u8::from((1..=count).any(|j| i == n * j / (count + 1)))),
        }
    }

    /// Per-step factors (≥ 1) whose mean is `1 + magnitude`.
    pub fn factors(self, n: usize, magnitude: f64) -> Vec<f64> {
        let excess: Vec<f64> = (0..n).map(|i| self.excess(i, n)).collect();
        let mean = excess.iter().sum::<f64>() / n.max(1) as f64;
        let scale = if mean > 0.0 { magnitude / mean } else { 0.0 };
        excess.iter().map(|e| 1.0 + scale * e).collect()
    }
}

/// The noise of unchanged runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// Name for tables.
    pub name: &'static str,
    /// AR(1) coefficient of the step noise.
    pub phi: f64,
    /// Standard deviation of the step noise (relative).
    pub step_sd: f64,
    /// Amplitude of the sine wobble (relative), with a random phase and a period of 50–300 steps.
    pub wobble: f64,
    /// Standard deviation of the run-to-run offset (relative).
    pub offset_sd: f64,
    /// Slow warm-up steps at the start (3× to 1×).
    pub warmup_steps: usize,
}

impl Noise {
    /// The research note's noise: AR(1) φ 0.8 with 2% steps, a 3% wobble, a 0.7% offset.
    pub const TYPICAL: Noise =
        Noise { name: "typical", phi: 0.8, step_sd: 0.02, wobble: 0.03, offset_sd: 0.007, warmup_steps: 10 };
    /// A busier machine: 5% steps, a 5% wobble, a 1.5% offset.
    pub const HEAVY: Noise =
        Noise { name: "heavy", phi: 0.8, step_sd: 0.05, wobble: 0.05, offset_sd: 0.015, warmup_steps: 10 };
}

/// A small seeded generator (SplitMix64), so that a study needs no random-number crate and is
/// the same everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// One unchanged run of `n` steps at `level` ms, with `noise`, from `seed`.
pub fn unchanged_run(n: usize, level: f64, noise: &Noise, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix::new(seed);
    let offset = 1.0 + noise.offset_sd * rng.normal();
    let period = 50.0 + 250.0 * rng.uniform();
    let phase = std::f64::consts::TAU * rng.uniform();
    let innovation = noise.step_sd * (1.0 - noise.phi * noise.phi).sqrt();
    let mut ar = noise.step_sd * rng.normal();
    (0..n)
        .map(|i| {
            ar = noise.phi * ar + innovation * rng.normal();
            let wobble = noise.wobble * (std::f64::consts::TAU * i as f64 / period + phase).sin();
            let warm = if i < noise.warmup_steps {
                1.0 + 2.0 * (noise.warmup_steps - i) as f64 / noise.warmup_steps as f64
            } else {
                1.0
            };
            (level * offset * (1.0 + ar + wobble) * warm).max(level * 0.05)
        })
        .collect()
}

/// A run slowed down in `shape` by `magnitude`; the warm-up steps are left as they are, since
/// the slowdown is the code's, and the shape is laid over the steps after them.
pub fn slowed_run(n: usize, level: f64, noise: &Noise, seed: u64, shape: Shape, magnitude: f64) -> Vec<f64> {
    let mut run = unchanged_run(n, level, noise, seed);
    let start = noise.warmup_steps.min(n);
    let factors = shape.factors(n - start, magnitude);
    for (value, factor) in run[start..].iter_mut().zip(factors) {
        *value *= factor;
    }
    run
}

/// A [`RunMetrics`] holding `values` as [`METRIC`].
pub fn run_metrics(values: &[f64]) -> RunMetrics {
    let mut run = RunMetrics::default();
    for (step, &value) in values.iter().enumerate() {
        run.push(METRIC, Point { step: step as i64, wall_time: f64::NAN, value }, Hint::default(), "study");
    }
    run
}

/// The gate's verdict on `current` against `baseline`, each summarised as `ocrperf regress`
/// does (MSER-5 warm-up; the current run's warm-up capped at the baseline's).
pub fn verdict(baseline: &[f64], current: &[f64], thresholds: &Thresholds) -> Verdict {
    let options = BaselineOptions { warmup: Warmup::Auto, thresholds, read_seconds: 0.0 };
    let base: BaselineReport = build_baseline(&[run_metrics(baseline)], &options);
    let cur = build_current(&[run_metrics(current)], &options, &base);
    let report = compare(&base, &cur, ["baseline", "current"], thresholds);
    report.comparisons.first().map_or(Verdict::NotComparable, |c| c.verdict)
}

/// One cell of the study: how many of `trials` pairs the gate called regressed, and how many
/// it called anything but unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cell {
    /// Pairs judged regressed.
    pub regressed: usize,
    /// Pairs judged improved.
    pub improved: usize,
    /// Pairs tried.
    pub trials: usize,
}

/// `trials` pairs of runs of `n` steps: a baseline and a current run with independent noise,
/// the current one slowed down in `shape` by `magnitude` (0: unchanged).
pub fn cell(n: usize, noise: &Noise, shape: Shape, magnitude: f64, trials: usize, seed: u64) -> Cell {
    let thresholds = Thresholds::default();
    let mut cell = Cell { trials, ..Cell::default() };
    for trial in 0..trials as u64 {
        let base_seed = seed.wrapping_mul(1_000_003).wrapping_add(2 * trial);
        let baseline = unchanged_run(n, 20.0, noise, base_seed);
        let current = slowed_run(n, 20.0, noise, base_seed + 1, shape, magnitude);
        match verdict(&baseline, &current, &thresholds) {
            Verdict::Regressed => cell.regressed += 1,
            Verdict::Improved => cell.improved += 1,
            _ => {}
        }
    }
    cell
}

/// The slowdowns the study tries, as rises of the mean step time: 5% (at the default
/// threshold), 9.9% (9% less throughput: must be caught), 20%, 50% and 100%.
pub const MAGNITUDES: [f64; 5] = [0.05, 0.099, 0.2, 0.5, 1.0];

/// The run lengths the study tries: a usual smoke run, and a short one.
pub const LENGTHS: [usize; 2] = [400, 60];

/// One row of the study: a noise, a run length and a shape, with a cell per magnitude.
#[derive(Debug, Clone)]
pub struct Row {
    /// The noise.
    pub noise: Noise,
    /// Steps per run.
    pub steps: usize,
    /// The shape.
    pub shape: Shape,
    /// Per magnitude in [`MAGNITUDES`], the pairs caught.
    pub cells: Vec<Cell>,
}

/// Unchanged runs, and uniformly 2% slower ones, for one noise and length.
#[derive(Debug, Clone)]
pub struct Quiet {
    /// The noise.
    pub noise: Noise,
    /// Steps per run.
    pub steps: usize,
    /// Unchanged pairs: anything but "unchanged" is a false alarm.
    pub unchanged: Cell,
    /// A uniform 2% slowdown: should not be flagged.
    pub two_percent: Cell,
}

/// The whole study, `trials` pairs per cell.
#[derive(Debug, Clone)]
pub struct Study {
    /// Pairs per cell.
    pub trials: usize,
    /// Power, per noise, length and shape.
    pub rows: Vec<Row>,
    /// False alarms, per noise and length.
    pub quiet: Vec<Quiet>,
}

impl Study {
    /// Runs every cell: both noises, both lengths, every shape and magnitude.
    pub fn run(trials: usize) -> Study {
        let mut rows = Vec::new();
        let mut quiet = Vec::new();
        for (noise_index, noise) in [Noise::TYPICAL, Noise::HEAVY].into_iter().enumerate() {
            for steps in LENGTHS {
                let seed = (noise_index as u64) << 32 | steps as u64;
                quiet.push(Quiet {
                    noise,
                    steps,
                    unchanged: cell(steps, &noise, Shape::Uniform, 0.0, trials, seed),
                    two_percent: cell(steps, &noise, Shape::Uniform, 0.02, trials, seed + 1),
                });
                for (shape_index, shape) in Shape::ALL.into_iter().enumerate() {
                    let cells = MAGNITUDES
                        .iter()
                        .enumerate()
                        .map(|(m, &magnitude)| {
                            let seed = seed + 100 * (shape_index as u64 + 1) + m as u64;
                            cell(steps, &noise, shape, magnitude, trials, seed)
                        })
                        .collect();
                    rows.push(Row { noise, steps, shape, cells });
                }
            }
        }
        Study { trials, rows, quiet }
    }

    /// The targets for runs of `steps` with typical noise, each with whether it holds: no false
    /// alarm; every shape costing 9% of throughput or more caught every time; no uniform 2%
    /// slowdown flagged.
    pub fn targets(&self, steps: usize) -> [(&'static str, bool); 3] {
        let typical = |noise: &Noise| noise.name == Noise::TYPICAL.name;
        let quiet: Vec<&Quiet> = self.quiet.iter().filter(|q| typical(&q.noise) && q.steps == steps).collect();
        let no_false_alarm = quiet.iter().all(|q| q.unchanged.regressed + q.unchanged.improved == 0);
        let two_percent_quiet = quiet.iter().all(|q| q.two_percent.regressed + q.two_percent.improved == 0);
        let caught = self.rows.iter().filter(|row| typical(&row.noise) && row.steps == steps).all(|row| {
            MAGNITUDES.iter().zip(&row.cells).filter(|(m, _)| **m >= 0.099).all(|(_, c)| c.regressed == c.trials)
        });
        [
            ("no false alarm on unchanged pairs", no_false_alarm),
            ("every shape costing >= 9% of throughput caught in every pair", caught),
            ("a uniform 2% slowdown never flagged", two_percent_quiet),
        ]
    }
}

impl Study {
    /// The study as the README's Markdown table: per noise, length and shape, the share of
    /// pairs caught at each magnitude.
    pub fn markdown_table(&self) -> String {
        let header: Vec<String> = MAGNITUDES.iter().map(|m| format!("+{:.1}%", m * 100.0)).collect();
        let mut table = format!("| noise | steps | shape | {} |\n", header.join(" | "));
        table.push_str(&format!("|---|---|---|{}\n", "---:|".repeat(MAGNITUDES.len())));
        for row in &self.rows {
            let cells: Vec<String> = row.cells.iter().map(|c| percent(c.regressed, c.trials)).collect();
            table.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                row.noise.name,
                row.steps,
                row.shape.describe(),
                cells.join(" | ")
            ));
        }
        table
    }

    /// The study as JSON (`target/ocrperf/gate-power.json`): the caught counts per row, the
    /// false alarms per noise and length, and the targets for 400 steps.
    pub fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                serde_json::json!({
                    "noise": row.noise.name, "steps": row.steps, "shape": row.shape.describe(),
                    "caught": row.cells.iter().map(|c| c.regressed).collect::<Vec<_>>(),
                })
            })
            .collect();
        let quiet: Vec<serde_json::Value> = self
            .quiet
            .iter()
            .map(|q| {
                serde_json::json!({
                    "noise": q.noise.name, "steps": q.steps,
                    "false_alarms": q.unchanged.regressed + q.unchanged.improved,
                    "two_percent_flagged": q.two_percent.regressed,
                })
            })
            .collect();
        let targets: Vec<serde_json::Value> =
            self.targets(400).iter().map(|(target, met)| serde_json::json!({"target": target, "met": met})).collect();
        serde_json::json!({
            "trials": self.trials, "magnitudes": MAGNITUDES, "rows": rows, "quiet": quiet,
            "targets_400_steps": targets,
        })
    }
}

/// `hits` of `n` as a whole percentage, for tables.
pub fn percent(hits: usize, n: usize) -> String {
    format!("{:.0}%", 100.0 * hits as f64 / n.max(1) as f64)
}

/// How many of the pairs `i < j` of `baselines`, the second slowed by `factor`
/// ([`slow_down`](crate::slow_down)), the gate calls regressed (`catch`) or anything but
/// unchanged (`!catch`: false alarms), and how many pairs there were.
pub fn pair_trials(baselines: &[BaselineReport], factor: f64, thresholds: &Thresholds, catch: bool) -> (usize, usize) {
    let (mut hits, mut pairs) = (0, 0);
    for (i, a) in baselines.iter().enumerate() {
        for b in &baselines[i + 1..] {
            let mut current = b.clone();
            if factor != 1.0 {
                crate::slow_down(&mut current, factor);
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

/// One slowdown of [`RecordedPower`]: `(caught, pairs)` with one run a side and with three,
/// at the default 5% threshold and at 3%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PowerRow {
    /// The slowdown, in percent (1–15).
    pub slowdown_percent: u32,
    /// One run a side, 5% threshold.
    pub one_run_5: (usize, usize),
    /// One run a side, 3% threshold.
    pub one_run_3: (usize, usize),
    /// Three runs a side, 5% threshold.
    pub three_runs_5: (usize, usize),
    /// Three runs a side, 3% threshold.
    pub three_runs_3: (usize, usize),
}

/// The gate on recorded unchanged runs (`cargo xtask bench-gate`): false alarms over every
/// pair, and the power curve with the second run of each pair slowed down by 1–15%.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedPower {
    /// Runs, one baseline each.
    pub runs: usize,
    /// Pairs of them.
    pub pairs: usize,
    /// Pairs called anything but unchanged at the default 5%.
    pub false_alarms_5: usize,
    /// The same at 3%.
    pub false_alarms_3: usize,
    /// One row per slowdown, 1% to 15%.
    pub power: Vec<PowerRow>,
}

impl RecordedPower {
    /// Measures the set: `singles` holds one baseline per run, `triples` one per three runs.
    pub fn measure(singles: &[BaselineReport], triples: &[BaselineReport]) -> RecordedPower {
        let five = Thresholds::default();
        let three = Thresholds { threshold: 0.03, ..Thresholds::default() };
        let (false_alarms_5, pairs) = pair_trials(singles, 1.0, &five, false);
        let (false_alarms_3, _) = pair_trials(singles, 1.0, &three, false);
        let power = (1..=15)
            .map(|percent| {
                let factor = 1.0 + f64::from(percent) / 100.0;
                PowerRow {
                    slowdown_percent: percent,
                    one_run_5: pair_trials(singles, factor, &five, true),
                    one_run_3: pair_trials(singles, factor, &three, true),
                    three_runs_5: pair_trials(triples, factor, &five, true),
                    three_runs_3: pair_trials(triples, factor, &three, true),
                }
            })
            .collect();
        RecordedPower { runs: singles.len(), pairs, false_alarms_5, false_alarms_3, power }
    }

    /// The targets on recorded runs: no false alarm at the default 5%, and every 10% slowdown
    /// caught with one run a side.
    pub fn targets_met(&self) -> bool {
        self.false_alarms_5 == 0
            && self.power.iter().filter(|row| row.slowdown_percent == 10).all(|row| row.one_run_5.0 == row.one_run_5.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_json_show_each_cell() {
        let study = Study::run(2);
        let table = study.markdown_table();
        assert_eq!(table.lines().count(), 2 + study.rows.len());
        assert!(
            table.starts_with("| noise | steps | shape | +5.0% | +9.9% | +20.0% | +50.0% | +100.0% |\n"),
            "{table}"
        );
        let json = study.to_json();
        assert_eq!(json["rows"].as_array().map(Vec::len), Some(study.rows.len()));
        assert_eq!(json["targets_400_steps"].as_array().map(Vec::len), Some(3));
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(0, 0), "0%");
    }

    #[test]
    fn each_shape_costs_what_it_says() {
        for shape in Shape::ALL {
            for magnitude in [0.05, 0.1, 1.0] {
                let factors = shape.factors(400, magnitude);
                let mean = factors.iter().sum::<f64>() / 400.0;
                assert!((mean - 1.0 - magnitude).abs() < 1e-9, "{shape:?} {magnitude}: {mean}");
                assert!(factors.iter().all(|&f| f >= 1.0), "{shape:?}");
            }
        }
        let stalls = Shape::Stalls(3).factors(400, 0.1);
        assert_eq!(stalls.iter().filter(|&&f| f > 1.0).count(), 3, "{stalls:?}");
        // The hostile run's shapes: every third step at 3× is a mean of +67%.
        let stalls = Shape::EveryKth(3).factors(300, 2.0 / 3.0);
        assert!((stalls[0] - 3.0).abs() < 1e-9 && stalls[1] == 1.0);
    }

    #[test]
    fn noise_is_seeded_and_unchanged_runs_are_near_their_level() {
        let a = unchanged_run(400, 20.0, &Noise::TYPICAL, 7);
        assert_eq!(a, unchanged_run(400, 20.0, &Noise::TYPICAL, 7));
        assert_ne!(a, unchanged_run(400, 20.0, &Noise::TYPICAL, 8));
        let steady = &a[10..];
        let mean = steady.iter().sum::<f64>() / steady.len() as f64;
        assert!((mean / 20.0 - 1.0).abs() < 0.05, "{mean}");
        assert!(a[0] > 2.5 * 20.0 * 0.9, "warm-up starts slow: {}", a[0]);
    }
}
