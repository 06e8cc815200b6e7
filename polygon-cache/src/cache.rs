//! The polygon cache: the polygon work of each distinct polygon, shared between threads and
//! bounded by bytes.

use std::{
    hash::{Hash, Hasher},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;

use crate::{
    Error,
    border::EdgeDistance,
    geom::{Point, Precision},
    work::PolygonWork,
};

/// What identifies a polygon's work: the exact bits of its validated coordinates, the settings
/// that change the work, and the canvas size. Two polygons share an entry only if they are bit-identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolygonKey {
    bits: Box<[u64]>,
    shrink_ratio: u64,
    mode: EdgeDistance,
    precision: Precision,
    /// The canvas size: the patch keeps only what lands on the canvas.
    canvas: (usize, usize),
}

impl Hash for PolygonKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
        self.shrink_ratio.hash(state);
        self.mode.hash(state);
        self.precision.hash(state);
        self.canvas.hash(state);
    }
}

impl PolygonKey {
    pub(crate) fn new(
        points: &[Point],
        shrink_ratio: f64,
        mode: EdgeDistance,
        precision: Precision,
        canvas: (usize, usize),
    ) -> PolygonKey {
        PolygonKey {
            bits: points.iter().flatten().map(|v| v.to_bits()).collect(),
            shrink_ratio: shrink_ratio.to_bits(),
            mode,
            precision,
            canvas,
        }
    }

    fn bytes(&self) -> usize {
        size_of::<PolygonKey>() + self.bits.len() * 8
    }
}

/// Counters of a [`PolygonCache`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that computed the work.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 before any lookup.
    pub hit_rate: f64,
    /// Polygons held.
    pub entries: u64,
    /// Bytes held (keys and values, as weighed).
    pub bytes: u64,
}

/// A thread-safe cache of polygon work, bounded by bytes; clones share the same cache.
///
/// Only the per-polygon work is cached (the integer polygon's offsets, D and the border
/// distance patch); composing the patches onto each image's canvas is always done afresh, so
/// cached and uncached targets are bit-identical.
#[derive(Clone)]
pub struct PolygonCache {
    inner: moka::sync::Cache<PolygonKey, Arc<PolygonWork>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl std::fmt::Debug for PolygonCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolygonCache").field("stats", &self.stats()).finish()
    }
}

/// The largest polygon-cache budget, in MiB: 1 TiB, beyond any machine's memory (a larger
/// figure is a typo, not a wish).
pub const MAX_CACHE_MIB: f64 = 1_048_576.0;

/// A cache budget in MiB, the unit both front ends take (`--cache-mb`, `cache_mb=`), checked
/// against its one range: 0 turns the cache off (`None`), anything else is the budget in bytes.
///
/// # Errors
/// [`Error::Setting`] for a negative, non-finite or too large budget.
pub fn cache_budget_from_mib(mib: f64) -> Result<Option<u64>, Error> {
    if !(mib.is_finite() && (0.0..=MAX_CACHE_MIB).contains(&mib)) {
        return Err(Error::Setting { name: "cache_mb", value: mib, range: "[0, 1048576] MiB (0 turns the cache off)" });
    }
    let bytes = (mib * 1_048_576.0).round() as u64;
    Ok((bytes > 0).then_some(bytes))
}

impl PolygonCache {
    /// A cache holding at most `max_bytes` of polygon work.
    pub fn with_max_bytes(max_bytes: u64) -> PolygonCache {
        let inner = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &PolygonKey, work: &Arc<PolygonWork>| {
                u32::try_from(key.bytes() + work.bytes()).unwrap_or(u32::MAX)
            })
            .build();
        PolygonCache { inner, hits: Arc::default(), misses: Arc::default() }
    }

    pub(crate) fn get_or_compute(&self, key: PolygonKey, compute: impl FnOnce() -> PolygonWork) -> Arc<PolygonWork> {
        if let Some(work) = self.inner.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return work;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let work = Arc::new(compute());
        self.inner.insert(key, Arc::clone(&work));
        work
    }

    /// Hits, misses, hit rate, entries and bytes, as of now.
    pub fn stats(&self) -> CacheStats {
        self.inner.run_pending_tasks();
        let (hits, misses) = (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed));
        let lookups = hits + misses;
        CacheStats {
            hits,
            misses,
            hit_rate: if lookups == 0 { 0.0 } else { hits as f64 / lookups as f64 },
            entries: self.inner.entry_count(),
            bytes: self.inner.weighted_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_in_mib_is_checked_against_its_one_range() {
        assert_eq!(cache_budget_from_mib(0.0).unwrap(), None, "0 turns the cache off");
        assert_eq!(cache_budget_from_mib(256.0).unwrap(), Some(256 << 20));
        assert_eq!(cache_budget_from_mib(0.5).unwrap(), Some(1 << 19));
        assert_eq!(cache_budget_from_mib(MAX_CACHE_MIB).unwrap(), Some(1 << 40));
        for refused in [-1.0, MAX_CACHE_MIB + 1.0, f64::NAN, f64::INFINITY] {
            let err = cache_budget_from_mib(refused).unwrap_err();
            assert!(matches!(err, Error::Setting { name: "cache_mb", .. }), "{refused}: {err}");
        }
    }
}
