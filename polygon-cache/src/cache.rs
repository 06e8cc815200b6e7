//! The polygon cache: the polygon work of each distinct polygon, shared between threads and
//! bounded by bytes.

use std::{
    hash::{Hash, Hasher},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
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
    /// Polygons computed without a lookup while the cache stood aside (see
    /// [`PolygonCache`]); not counted in `hits` or `misses`.
    pub bypassed: u64,
    /// Whether the cache stands aside now.
    pub standing_aside: bool,
}

/// A thread-safe cache of polygon work, bounded by bytes; clones share the same cache.
///
/// Only the per-polygon work is cached (the integer polygon's offsets, D and the border
/// distance patch); composing the patches onto each image's canvas is always done afresh, so
/// cached and uncached targets are bit-identical.
///
/// A full cache that no longer hits (every epoch's polygons are new under augmentation) would
/// cost every polygon a key, a lookup, an insertion and an eviction for nothing. So the cache
/// watches its lookups in windows of 64: after a window with almost no hits (fewer than 1 in
/// 32) while it is full, it stands aside, and polygons are computed directly, all but one in
/// 16, which still looks up (and inserts). When the probes' window shows hits again (at least
/// 1 in 8), the cache comes back. A cache that is still filling never stands aside: the first pass over a data set
/// that repeats (a validation set) misses every polygon, and must keep them all for the next.
/// The output never depends on any of this: cached and computed work are the same bits.
#[derive(Clone)]
pub struct PolygonCache {
    inner: moka::sync::Cache<PolygonKey, Arc<PolygonWork>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
    adaptive: Arc<Adaptive>,
    budget: u64,
}

/// Lookups per window of the stand-aside rule.
pub(crate) const WINDOW: u64 = 64;
/// The cache stands aside after a window with fewer than one hit in this many lookups.
pub(crate) const STAND_ASIDE_BELOW: u64 = 32;
/// While it stands aside, one polygon in this many still looks up.
pub(crate) const PROBE_EVERY: u64 = 16;
/// It comes back after a window of probes with at least one hit in this many.
pub(crate) const COME_BACK_AT: u64 = 8;

/// The stand-aside rule's counters (relaxed atomics: a window may be off by a lookup or two
/// under threads, which changes only when the rule switches, never the output).
#[derive(Debug, Default)]
struct Adaptive {
    standing_aside: AtomicBool,
    /// Lookups and hits in the current window.
    window: AtomicU64,
    window_hits: AtomicU64,
    /// Calls while standing aside, to pick the probes.
    calls: AtomicU64,
    bypassed: AtomicU64,
}

impl Adaptive {
    /// Whether this call should skip the cache.
    fn skip(&self) -> bool {
        if !self.standing_aside.load(Ordering::Relaxed) {
            return false;
        }
        let probe = self.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(PROBE_EVERY);
        if !probe {
            self.bypassed.fetch_add(1, Ordering::Relaxed);
        }
        !probe
    }

    /// Counts one lookup; at the end of a window, decides whether to stand aside (`full`: the
    /// cache is at its budget, asked only then).
    fn looked_up(&self, hit: bool, full: impl FnOnce() -> bool) {
        if hit {
            self.window_hits.fetch_add(1, Ordering::Relaxed);
        }
        if self.window.fetch_add(1, Ordering::Relaxed) + 1 < WINDOW {
            return;
        }
        let hits = self.window_hits.swap(0, Ordering::Relaxed);
        self.window.store(0, Ordering::Relaxed);
        let aside = self.standing_aside.load(Ordering::Relaxed);
        if !aside && hits * STAND_ASIDE_BELOW < WINDOW && full() {
            self.standing_aside.store(true, Ordering::Relaxed);
        } else if aside && hits * COME_BACK_AT >= WINDOW {
            self.standing_aside.store(false, Ordering::Relaxed);
        }
    }
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
        PolygonCache {
            inner,
            hits: Arc::default(),
            misses: Arc::default(),
            adaptive: Arc::default(),
            budget: max_bytes,
        }
    }

    /// The work of the polygon that `key` builds, from the cache or computed (and inserted);
    /// computed directly, without building a key, while the cache stands aside.
    pub(crate) fn get_or_compute(
        &self,
        key: impl FnOnce() -> PolygonKey,
        compute: impl FnOnce() -> PolygonWork,
    ) -> Arc<PolygonWork> {
        if self.adaptive.skip() {
            return Arc::new(compute());
        }
        let key = key();
        if let Some(work) = self.inner.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            self.adaptive.looked_up(true, || false);
            return work;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Full: within one large entry of the budget (moka's size lags a little).
        self.adaptive.looked_up(false, || self.inner.weighted_size().saturating_add(1 << 20) >= self.budget);
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
            bypassed: self.adaptive.bypassed.load(Ordering::Relaxed),
            standing_aside: self.adaptive.standing_aside.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{TargetConfig, TargetGenerator, Targets, synthetic_dataset};

    /// Generates every image once with `generator`, returning all maps.
    fn pass(generator: &TargetGenerator, images: &[crate::Image]) -> Vec<Targets> {
        images.iter().map(|image| generator.generate(image.height, image.width, &image.polygons).unwrap()).collect()
    }

    #[test]
    fn a_cache_that_is_still_filling_never_stands_aside() {
        let images = synthetic_dataset(40, 7);
        let generator = TargetGenerator::with_cache(TargetConfig::default(), PolygonCache::with_max_bytes(1 << 30));
        pass(&generator, &images);
        let first = generator.cache().unwrap().stats();
        assert!(first.misses > 2 * WINDOW && first.hits == 0, "{first:?}");
        let second_maps = pass(&generator, &images);
        let second = generator.cache().unwrap().stats();
        assert_eq!((second.bypassed, second.standing_aside), (0, false), "{second:?}");
        assert_eq!(second.hits, first.misses, "every polygon of the first pass is kept for the second");
        assert_eq!(second_maps, pass(&TargetGenerator::new(TargetConfig::default()), &images));
    }

    #[test]
    fn a_full_cache_that_does_not_hit_stands_aside_and_comes_back_when_hits_return() {
        // 1 MiB holds a few dozen polygons: two passes of new polygons fill it and never hit.
        let fresh = synthetic_dataset(60, 11);
        let generator = TargetGenerator::with_cache(TargetConfig::default(), PolygonCache::with_max_bytes(1 << 20));
        let maps = pass(&generator, &fresh);
        let stats = generator.cache().unwrap().stats();
        assert!(stats.standing_aside && stats.bypassed > 0, "{stats:?}");
        assert!(stats.bypassed > stats.misses, "most polygons skip the cache once it stands aside: {stats:?}");
        assert_eq!(maps, pass(&TargetGenerator::new(TargetConfig::default()), &fresh), "the same maps");
        // A small set repeated many times: the probes hit, and the cache comes back.
        let repeated = synthetic_dataset(2, 3);
        for _ in 0..200 {
            pass(&generator, &repeated);
        }
        let stats = generator.cache().unwrap().stats();
        assert!(!stats.standing_aside, "{stats:?}");
    }

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
