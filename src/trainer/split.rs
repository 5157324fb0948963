//! Chronological train / validation / test splits with a purge gap, and walk-forward folds.
//!
//! Samples are ordered by bar close time across all symbols. Split boundaries are quantiles of the
//! samples' times (so a gap in the data, such as months between two files, does not leave a split
//! empty). A sample is dropped when its window or its label would overlap the next split: between
//! splits there are at least `purge_ms` = (H + T) bars.
//!
//! Walk-forward (`--folds K`) is shaped like scikit-learn's `TimeSeriesSplit(n_splits=K)`: the
//! time axis is cut at the (i / (K + 1))-quantiles of the samples' times, so blocks hold about the
//! same number of samples (windows closing at the same time, across symbols, stay together); fold
//! k tests on block k and learns from everything before it (the last `val_fraction` of that as
//! validation), so every fold is evaluated on its future only.

use super::dataset::Sample;

#[derive(Clone, Debug, Default)]
pub struct Split {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
    /// First bar close time of validation and of test (ms).
    pub validation_start_ms: i64,
    pub test_start_ms: i64,
    /// Test samples close before this (ms; `i64::MAX` for the last block).
    pub test_end_ms: i64,
    /// Training rows (for the scaler) close before this: `validation_start_ms - purge_ms`.
    pub train_end_ms: i64,
}

/// Splits `samples` (any order) by time. `purge_ms` = (H + T) × bar interval.
pub fn chronological_split(
    samples: &[Sample],
    val_fraction: f64,
    test_fraction: f64,
    purge_ms: i64,
) -> Split {
    let times = sorted_times(samples);
    if times.is_empty() {
        return Split::default();
    }
    let test_start = quantile(&times, 1.0 - test_fraction);
    let val_start = quantile(&times, 1.0 - test_fraction - val_fraction);
    assign(samples, val_start, test_start, i64::MAX, purge_ms)
}

/// `k` walk-forward folds, oldest first (see the module doc).
pub fn walk_forward(samples: &[Sample], k: usize, val_fraction: f64, purge_ms: i64) -> Vec<Split> {
    let times = sorted_times(samples);
    if times.is_empty() || k == 0 {
        return Vec::new();
    }
    let block = |i: usize| quantile(&times, i as f64 / (k + 1) as f64);
    (1..=k)
        .map(|fold| {
            let (test_start, test_end) = (block(fold), block(fold + 1));
            let end = if fold == k { i64::MAX } else { test_end };
            // Validation is the last `val_fraction` of the samples before this test block.
            let before = times.partition_point(|&t| t < test_start);
            let val_start = quantile(&times[..before.max(1)], 1.0 - val_fraction);
            assign(samples, val_start, test_start, end, purge_ms)
        })
        .collect()
}

fn sorted_times(samples: &[Sample]) -> Vec<i64> {
    let mut times: Vec<i64> = samples.iter().map(|s| s.close_time_ms).collect();
    times.sort_unstable();
    times
}

/// The time below which a fraction `q` of `sorted` lies.
fn quantile(sorted: &[i64], q: f64) -> i64 {
    let i = ((sorted.len() as f64 * q.clamp(0.0, 1.0)) as usize).min(sorted.len() - 1);
    sorted[i]
}

fn assign(samples: &[Sample], val_start: i64, test_start: i64, test_end: i64, purge: i64) -> Split {
    let mut s = Split {
        validation_start_ms: val_start,
        test_start_ms: test_start,
        test_end_ms: test_end,
        train_end_ms: val_start.saturating_sub(purge),
        ..Split::default()
    };
    for (i, smp) in samples.iter().enumerate() {
        let t = smp.close_time_ms;
        if t.saturating_add(purge) < val_start {
            s.train.push(i);
        } else if t >= val_start && t.saturating_add(purge) < test_start {
            s.validation.push(i);
        } else if t >= test_start && t < test_end {
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
                exit: crate::trainer::labels::Exit::Horizon,
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

        #[test]
        fn walk_forward_folds_test_on_their_future_only(
            mut times in prop::collection::vec(0i64..100_000, 20..300),
            purge in 0i64..3_000,
            k in 1usize..5,
        ) {
            times.sort_unstable();
            let smp = samples(&times);
            let folds = walk_forward(&smp, k, 0.2, purge);
            prop_assert_eq!(folds.len(), k);
            let t = |v: &Vec<usize>| v.iter().map(|&i| smp[i].close_time_ms).collect::<Vec<_>>();
            let mut prev_test_end = i64::MIN;
            for s in &folds {
                let (tr, va, te) = (t(&s.train), t(&s.validation), t(&s.test));
                let learned = tr.iter().chain(&va).copied().max();
                if let (Some(a), Some(b)) = (learned, te.first()) { prop_assert!(b - a > purge); }
                if let (Some(a), Some(b)) = (tr.last(), va.first()) { prop_assert!(b - a > purge); }
                prop_assert!(te.iter().all(|&x| x >= s.test_start_ms && x < s.test_end_ms));
                prop_assert!(s.test_start_ms >= prev_test_end);
                prev_test_end = s.test_end_ms;
            }
            // The test blocks tile the time after the first fold's start: every sample from there
            // on is tested exactly once.
            let tested: usize = folds.iter().map(|s| s.test.len()).sum();
            let first = folds[0].test_start_ms;
            prop_assert_eq!(tested, times.iter().filter(|&&x| x >= first).count());
        }
    }
}
