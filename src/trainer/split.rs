//! Chronological train / validation / test split with a purge gap.
//!
//! Samples are ordered by bar close time across all symbols. Validation and test take the last
//! fractions of the time range; a sample is dropped when its window or its label would overlap the
//! next split: between splits there are at least `purge_bars` = H + T bars.

use super::dataset::Sample;

#[derive(Clone, Debug, Default)]
pub struct Split {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
    /// First bar close time of validation and of test (ms).
    pub validation_start_ms: i64,
    pub test_start_ms: i64,
}

/// Splits `samples` (any order) by time. `purge_ms` = (H + T) × bar interval.
pub fn chronological_split(
    samples: &[Sample],
    val_fraction: f64,
    test_fraction: f64,
    purge_ms: i64,
) -> Split {
    let mut times: Vec<i64> = samples.iter().map(|s| s.close_time_ms).collect();
    times.sort_unstable();
    times.dedup();
    if times.is_empty() {
        return Split::default();
    }
    let (first, last) = (times[0], times[times.len() - 1]);
    let span = (last - first) as f64;
    let test_start = first + (span * (1.0 - test_fraction)) as i64;
    let val_start = first + (span * (1.0 - test_fraction - val_fraction)) as i64;
    let mut s = Split {
        validation_start_ms: val_start,
        test_start_ms: test_start,
        ..Split::default()
    };
    for (i, smp) in samples.iter().enumerate() {
        let t = smp.close_time_ms;
        if t + purge_ms < val_start {
            s.train.push(i);
        } else if t >= val_start && t + purge_ms < test_start {
            s.validation.push(i);
        } else if t >= test_start {
            s.test.push(i);
        }
    }
    let by_time = |v: &mut Vec<usize>| v.sort_by_key(|&i| (samples[i].close_time_ms, i));
    by_time(&mut s.train);
    by_time(&mut s.validation);
    by_time(&mut s.test);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples(times: &[i64]) -> Vec<Sample> {
        times
            .iter()
            .map(|&t| Sample {
                series: 0,
                bar: 0,
                close_time_ms: t,
                profitable: false,
                return_bps: 0.0,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn splits_are_ordered_disjoint_and_purged(
            mut times in prop::collection::vec(0i64..100_000, 10..300),
            purge in 0i64..5_000,
        ) {
            times.sort_unstable();
            let smp = samples(&times);
            let s = chronological_split(&smp, 0.2, 0.2, purge);
            let t = |v: &Vec<usize>| v.iter().map(|&i| smp[i].close_time_ms).collect::<Vec<_>>();
            let (tr, va, te) = (t(&s.train), t(&s.validation), t(&s.test));
            if let (Some(a), Some(b)) = (tr.last(), va.first()) { prop_assert!(b - a > purge); }
            if let (Some(a), Some(b)) = (va.last(), te.first()) { prop_assert!(b - a > purge); }
            if let (Some(a), Some(b)) = (tr.last(), te.first()) { prop_assert!(b - a > purge); }
            // Only samples inside a purge zone before a split's start are left out.
            let used: std::collections::HashSet<usize> =
                s.train.iter().chain(&s.validation).chain(&s.test).copied().collect();
            for (i, smp) in smp.iter().enumerate() {
                if !used.contains(&i) {
                    let t = smp.close_time_ms;
                    let in_zone = |start: i64| t < start && t + purge >= start;
                    prop_assert!(in_zone(s.validation_start_ms) || in_zone(s.test_start_ms));
                }
            }
        }
    }
}
