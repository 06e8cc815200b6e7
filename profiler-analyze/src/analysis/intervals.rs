//! Sorted, disjoint time intervals: unions, clipping and differences of spans.

use crate::trace::Nanos;

/// A union of half-open intervals `[start, end)`, sorted and non-overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IntervalSet {
    spans: Vec<(Nanos, Nanos)>,
}

impl IntervalSet {
    /// The union of any intervals, in any order. Empty ones are dropped.
    pub(crate) fn union_of(intervals: impl IntoIterator<Item = (Nanos, Nanos)>) -> Self {
        let mut spans: Vec<(Nanos, Nanos)> = intervals.into_iter().filter(|(start, end)| end > start).collect();
        spans.sort_unstable();
        // Merged in place: on a large trace this vector is tens of megabytes.
        let mut kept = 0;
        for i in 0..spans.len() {
            let (start, end) = spans[i];
            if kept > 0 && start <= spans[kept - 1].1 {
                spans[kept - 1].1 = spans[kept - 1].1.max(end);
            } else {
                spans[kept] = (start, end);
                kept += 1;
            }
        }
        spans.truncate(kept);
        spans.shrink_to_fit();
        IntervalSet { spans }
    }

    /// Total covered length.
    pub(crate) fn total(&self) -> Nanos {
        self.spans.iter().map(|(start, end)| end - start).sum()
    }

    /// Covered length inside `[lo, hi)`, without building the clipped set.
    pub(crate) fn covered(&self, lo: Nanos, hi: Nanos) -> Nanos {
        let first = self.spans.partition_point(|&(_, end)| end <= lo);
        self.spans[first..]
            .iter()
            .take_while(|&&(start, _)| start < hi)
            .map(|&(start, end)| (end.min(hi) - start.max(lo)).max(0))
            .sum()
    }

    /// This set minus `other`.
    pub(crate) fn subtract(&self, other: &IntervalSet) -> Self {
        let mut out = Vec::new();
        let mut j = 0;
        for &(start, end) in &self.spans {
            let mut cursor = start;
            while j < other.spans.len() && other.spans[j].1 <= cursor {
                j += 1;
            }
            let mut k = j;
            while k < other.spans.len() && other.spans[k].0 < end {
                let (cut_start, cut_end) = other.spans[k];
                if cut_start > cursor {
                    out.push((cursor, cut_start));
                }
                cursor = cursor.max(cut_end);
                if cursor >= end {
                    break;
                }
                k += 1;
            }
            if cursor < end {
                out.push((cursor, end));
            }
        }
        IntervalSet { spans: out }
    }

    /// The union of this set and `other`.
    pub(crate) fn union(&self, other: &IntervalSet) -> Self {
        IntervalSet::union_of(self.spans.iter().chain(&other.spans).copied())
    }

    /// The intervals.
    pub(crate) fn spans(&self) -> &[(Nanos, Nanos)] {
        &self.spans
    }

    /// The first start and the last end, if any.
    pub(crate) fn bounds(&self) -> Option<(Nanos, Nanos)> {
        Some((self.spans.first()?.0, self.spans.last()?.1))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A bitmap over [0, 64): the brute-force model of a set.
    fn bitmap(intervals: &[(Nanos, Nanos)]) -> u64 {
        intervals.iter().fold(0, |bits, &(start, end)| (start..end).fold(bits, |bits, t| bits | 1 << t))
    }

    fn intervals() -> impl Strategy<Value = Vec<(Nanos, Nanos)>> {
        proptest::collection::vec((0i64..64, 0i64..20).prop_map(|(start, len)| (start, (start + len).min(64))), 0..12)
    }

    proptest! {
        #[test]
        fn matches_a_bitmap_model(a in intervals(), b in intervals(), lo in 0i64..64, len in 0i64..64) {
            let hi = (lo + len).min(64);
            let window = bitmap(&[(lo, hi)]);
            let (set_a, set_b) = (IntervalSet::union_of(a.clone()), IntervalSet::union_of(b.clone()));
            prop_assert_eq!(bitmap(set_a.spans()), bitmap(&a));
            prop_assert!(set_a.spans().windows(2).all(|w| w[0].1 < w[1].0));
            prop_assert_eq!(set_a.total(), i64::from(bitmap(&a).count_ones()));
            prop_assert_eq!(set_a.covered(lo, hi), i64::from((bitmap(&a) & window).count_ones()));
            prop_assert_eq!(bitmap(set_a.subtract(&set_b).spans()), bitmap(&a) & !bitmap(&b));
            prop_assert_eq!(bitmap(set_a.union(&set_b).spans()), bitmap(&a) | bitmap(&b));
        }
    }
}
