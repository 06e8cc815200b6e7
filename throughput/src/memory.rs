//! Resident memory of this process over a run: the peak, and its growth per 1,000 batches.

/// RSS readings against batch index, in bounded memory.
#[derive(Debug, Default)]
pub(crate) struct MemoryTracker {
    peak: Option<u64>,
    /// Sums for the least-squares slope of RSS against batch index.
    n: f64,
    sum_x: f64,
    sum_y: f64,
    sum_xx: f64,
    sum_xy: f64,
}

impl MemoryTracker {
    /// Reads this process's RSS (Linux: `/proc/self/statm`) and records it at `batch`.
    pub(crate) fn observe(&mut self, batch: u64) {
        if let Some(rss) = current_rss_bytes() {
            self.push(batch, rss);
        }
    }

    pub(crate) fn push(&mut self, batch: u64, rss: u64) {
        self.peak = Some(self.peak.map_or(rss, |peak| peak.max(rss)));
        let (x, y) = (batch as f64, rss as f64);
        self.n += 1.0;
        self.sum_x += x;
        self.sum_y += y;
        self.sum_xx += x * x;
        self.sum_xy += x * y;
    }

    pub(crate) fn peak(&self) -> Option<u64> {
        self.peak
    }

    /// The slope times 1000, with at least three readings.
    pub(crate) fn growth_per_1k_batches(&self) -> Option<f64> {
        let denominator = self.n * self.sum_xx - self.sum_x * self.sum_x;
        if self.n < 3.0 || denominator <= 0.0 {
            return None;
        }
        let slope = (self.n * self.sum_xy - self.sum_x * self.sum_y) / denominator;
        Some((slope * 1000.0).round())
    }
}

/// Resident set size of this process, where the platform says.
pub(crate) fn current_rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_ascii_whitespace().nth(1)?.parse().ok()?;
    // 4 KiB pages on x86-64 and most arm64 kernels.
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leak_shows_as_steady_growth() {
        let mut leaking = MemoryTracker::default();
        for batch in (0..10_000).step_by(64) {
            leaking.push(batch, 100_000_000 + batch * 2048);
        }
        assert_eq!(leaking.growth_per_1k_batches(), Some(2_048_000.0));
        assert_eq!(leaking.peak(), Some(100_000_000 + 9984 * 2048));
        let mut flat = MemoryTracker::default();
        for batch in 0..100 {
            flat.push(batch, 5_000_000);
        }
        assert_eq!(flat.growth_per_1k_batches(), Some(0.0));
        assert_eq!(MemoryTracker::default().growth_per_1k_batches(), None);
    }
}
