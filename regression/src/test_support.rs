//! Helpers shared by the unit tests.

use metrics_schema::{BaselineMetric, Direction, Distribution, MetricKind, Unit};

use crate::stats;

/// A series metric of `values`, with fine block means as a baseline keeps them.
pub(crate) fn series_metric(name: &str, unit: Unit, better: Direction, values: &[f64]) -> BaselineMetric {
    let (block_size, block_means) = stats::fine_blocks(values);
    BaselineMetric {
        name: name.to_owned(),
        unit,
        better,
        direction_from: "test".to_owned(),
        source: "test".to_owned(),
        kind: MetricKind::Series,
        samples: values.len() as u64,
        warmup: 0,
        distribution: Distribution::from_samples(values).unwrap_or_else(|| panic!("no finite value in {values:?}")),
        block_size: block_size as u64,
        block_autocorrelation: None,
        block_means,
        runs: Vec::new(),
        run_means: Vec::new(),
        level_shift: None,
        harmonic: false,
        warmup_block_means: Vec::new(),
    }
}
