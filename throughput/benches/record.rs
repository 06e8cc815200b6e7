//! `cargo bench -p throughput`: the cost of recording one batch (target < 200 ns) and the
//! JSONL ingest rate (target ≥ 2 million events per second), medians of several runs.

#![expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::{
    hint::black_box,
    io::Write,
    time::{Duration, Instant},
};

use throughput::{BatchTiming, RecorderSettings, ThroughputRecorder, inputs};

const RUNS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A dataset whose items take `delay` each, for the loader's scaling.
struct Slow {
    delay: Duration,
}

impl throughput::Dataset for Slow {
    type Item = usize;
    fn len(&self) -> usize {
        64
    }
    fn get(&self, index: usize) -> Result<usize, throughput::ItemError> {
        std::thread::sleep(self.delay);
        Ok(index)
    }
}

/// Seconds for one epoch of 64 items taking 2 ms each, batches of 4, with `workers`.
fn epoch_seconds(workers: usize) -> f64 {
    let loader = throughput::Loader::new(
        std::sync::Arc::new(Slow { delay: Duration::from_millis(2) }),
        throughput::LoaderOptions { batch_size: 4, workers, prefetch_factor: 2 },
    );
    let started = Instant::now();
    assert_eq!(loader.epoch((0..64).collect()).count(), 16);
    started.elapsed().as_secs_f64()
}

fn main() {
    // Loader scaling: two workers against one, interleaved, medians (target ≤ 0.75).
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        one.push(epoch_seconds(1));
        two.push(epoch_seconds(2));
    }
    let (one, two) = (median(one), median(two));
    println!(
        "loader:  2 workers take {:.2}x the time of 1 ({:.1} ms vs {:.1} ms; target ≤ 0.75)",
        two / one,
        two * 1e3,
        one * 1e3
    );

    // Recording: 5 M batches with varied timings, RSS read every 64 batches (the default).
    let batches = 5_000_000u64;
    let per_record = median(
        (0..RUNS)
            .map(|_| {
                let mut monitor = ThroughputRecorder::new(RecorderSettings::default());
                let started = Instant::now();
                for i in 0..batches {
                    monitor.record(black_box(BatchTiming {
                        data_wait: Duration::from_micros(100 + i % 977),
                        compute: Duration::from_micros(20_000 + i % 7919),
                        samples: 8,
                        ..BatchTiming::default()
                    }));
                }
                black_box(monitor.report("bench"));
                started.elapsed().as_nanos() as f64 / batches as f64
            })
            .collect(),
    );
    println!("record:  {per_record:7.1} ns per batch (median of {RUNS} × {batches}; target < 200 ns)");

    // Ingest: 2 M lines as the Lightning callback writes them.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.jsonl");
    let events = 2_000_000u64;
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("events file"));
        for step in 0..events {
            writeln!(
                out,
                "{{\"step\":{step},\"batch_size\":8,\"data_wait_s\":0.00{},\"compute_s\":0.0{},\"t_start\":1795000000.{step:06}}}",
                step % 97,
                200 + step % 89
            )
            .expect("write");
        }
    }
    let megabytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let rate = median(
        (0..RUNS)
            .map(|_| {
                let mut monitor =
                    ThroughputRecorder::new(RecorderSettings { memory_every: 0, ..RecorderSettings::default() });
                let started = Instant::now();
                let stats = inputs::jsonl::read_events(&path, &mut monitor, false).expect("events read");
                assert_eq!(stats.events, events);
                events as f64 / started.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!(
        "ingest:  {:7.2} M events/s ({megabytes:.0} MB file, median of {RUNS}; target ≥ 2 M events/s)",
        rate / 1e6
    );
}
