//! Causality, proved on real bars:
//! - a window at bar t depends on no bar after t (streaming a different future leaves it
//!   bit-identical, while changing bar t itself changes it);
//! - the training dataset's window at t is bit-identical to the engine's (no train/serve skew);
//! - a label at bar t depends on no bar before t+1 (fixed horizon and triple barrier);
//! - the scaler is fitted on the training split's rows only;
//! - purge gaps hold on the single split and on every walk-forward fold.

mod common;

use common::*;
use signal_engine::config::{LabelKind, LabelsConfig};
use signal_engine::event::{EventKind, MarketEvent};
use signal_engine::features::{FeatureEngine, FeatureSpec, StatePolicy, Window};
use signal_engine::scaling::RobustScaler;
use signal_engine::trainer::Dataset;
use std::collections::HashMap;
use std::sync::Arc;

const T: usize = 30;
const INTERVAL: i64 = 60_000;

fn bars() -> Vec<MarketEvent> {
    read_events(&[fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz")])
}

fn spec() -> FeatureSpec {
    FeatureSpec::new(&FeatureSpec::default_names()).unwrap()
}

fn policy() -> StatePolicy {
    StatePolicy::strict(INTERVAL, T)
}

fn labels() -> LabelsConfig {
    LabelsConfig {
        horizon_bars: 10,
        ..LabelsConfig::default()
    }
}

/// Scales every price of a bar by `k` (OHLC stay consistent) and its volumes by `v`.
fn perturb(ev: &MarketEvent, k: f64, v: f64) -> MarketEvent {
    let mut ev = ev.clone();
    if let EventKind::Bar(b) = &mut ev.kind {
        b.open *= k;
        b.high *= k;
        b.low *= k;
        b.close *= k;
        b.volume *= v;
        b.taker_buy_volume *= v;
    }
    ev
}

fn fitted_scaler(events: &[MarketEvent]) -> Arc<RobustScaler> {
    let ds = Dataset::build(events.iter().cloned(), &spec(), policy(), &labels());
    Arc::new(ds.fit_scaler(&spec(), i64::MAX, 10.0).unwrap())
}

fn stream(events: &[MarketEvent], scaler: &Arc<RobustScaler>) -> HashMap<i64, Window> {
    let mut engine = FeatureEngine::new(spec(), scaler.clone(), policy());
    events
        .iter()
        .filter_map(|e| engine.on_event(e))
        .map(|w| (w.bar_close_time_ms, w))
        .collect()
}

#[test]
fn window_at_t_ignores_every_later_bar() {
    let events = bars();
    let scaler = fitted_scaler(&events);
    let full = stream(&events, &scaler);
    for t in [T + 40, 300, 900, events.len() - 2] {
        let close_t = events[t].as_bar().unwrap().close_time_ms;
        let mut other: Vec<MarketEvent> = events[..=t].to_vec();
        other.extend(events[t + 1..].iter().map(|e| perturb(e, 1.37, 5.0)));
        let alt = stream(&other, &scaler);
        assert_eq!(
            full[&close_t], alt[&close_t],
            "window at bar {t} saw the future"
        );
        // The test can fail: changing bar t itself does change its window.
        let mut changed = events.clone();
        changed[t] = perturb(&events[t], 1.01, 2.0);
        assert_ne!(full[&close_t], stream(&changed, &scaler)[&close_t]);
    }
}

#[test]
fn training_windows_equal_serving_windows() {
    let events = bars();
    let scaler = fitted_scaler(&events);
    let served = stream(&events, &scaler);
    let mut ds = Dataset::build(events.iter().cloned(), &spec(), policy(), &labels());
    ds.apply_scaler(&scaler);
    assert!(ds.samples.len() > 1000);
    for s in &ds.samples {
        let w = &served[&s.close_time_ms];
        assert_eq!(ds.window(s), &w.data[..], "bar {}", s.bar);
    }
}

#[test]
fn label_at_t_ignores_every_bar_up_to_t() {
    let events = bars();
    let build =
        |evs: &[MarketEvent]| Dataset::build(evs.iter().cloned(), &spec(), policy(), &labels());
    let base = build(&events);
    let h = labels().horizon_bars;
    for s in base.samples.iter().step_by(97) {
        let t = s.bar;
        // Rewrite the whole past, bar t included: the label must not move.
        let mut past: Vec<MarketEvent> =
            events[..=t].iter().map(|e| perturb(e, 0.8, 3.0)).collect();
        past.extend_from_slice(&events[t + 1..]);
        let alt = build(&past);
        let a = alt.samples.iter().find(|x| x.bar == t).unwrap();
        assert_eq!(
            (a.profitable, a.return_bps),
            (s.profitable, s.return_bps),
            "bar {t}"
        );
        // ...while the entry bar t+1 and the exit bar t+H do move it.
        for moved in [t + 1, t + h] {
            let mut fut = events.clone();
            fut[moved] = perturb(&events[moved], 1.003, 1.0);
            let b = build(&fut);
            let b = b.samples.iter().find(|x| x.bar == t).unwrap();
            assert_ne!(
                b.return_bps, s.return_bps,
                "bar {t}: bar {moved} did not matter"
            );
        }
    }
}

/// Two symbols interleaved, with a long hole (reset), a short one (filled), a duplicate, a bar of
/// another interval and a bar with a zero price: the engine and the dataset must still agree
/// window for window.
#[test]
fn training_equals_serving_across_gaps_duplicates_and_bad_bars() {
    let mut link = read_events(&[fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz")]);
    let near = read_events(&[fixture("klines/demo/NEARUSDT-1m-2026-02.csv.gz")]);
    link.drain(800..802); // a two-minute hole: filled
    link.drain(300..306); // a six-minute hole: reset
    let filling = StatePolicy {
        fill_gap_bars: 3,
        ..policy()
    };
    let mut events: Vec<MarketEvent> = Vec::new();
    for (i, ev) in near.iter().enumerate() {
        events.push(ev.clone());
        if i == 500 {
            events.push(ev.clone()); // duplicate
        }
        if i == 700 {
            let mut bad = perturb(&near[701], 1.0, 1.0);
            if let EventKind::Bar(b) = &mut bad.kind {
                b.close = 0.0;
            }
            events.push(bad);
        }
        if i == 900 {
            let mut five = near[901].clone();
            if let EventKind::Bar(b) = &mut five.kind {
                b.close_time_ms += 4 * 60_000;
            }
            events.push(five);
        }
    }
    events.extend(link);
    events.sort_by_key(|e| e.ts_event_ns);

    let scaler = fitted_scaler(&events);
    let mut engine = FeatureEngine::new(spec(), scaler.clone(), filling);
    let served: HashMap<(String, i64), Window> = events
        .iter()
        .filter_map(|e| engine.on_event(e))
        .map(|w| ((w.symbol.to_string(), w.bar_close_time_ms), w))
        .collect();
    let st = engine.stats();
    // LINK's long hole resets it and its short one is filled; NEAR's rejected bars are followed
    // by the real ones, so no gap there.
    assert_eq!(
        (st.resets, st.filled_bars, st.duplicates),
        (1, 2, 1),
        "{st:?}"
    );
    assert!(
        served
            .values()
            .any(|w| w.filled_rows == 2 && !w.features_valid),
        "windows over the filled hole say so"
    );
    assert!(
        st.rejected_invalid == 1 && st.rejected_out_of_order == 0,
        "{st:?}"
    );
    assert!(st.rejected_wrong_interval >= 1, "{st:?}");

    let mut ds = Dataset::build(events.iter().cloned(), &spec(), filling, &labels());
    ds.apply_scaler(&scaler);
    let mut compared = 0;
    for s in &ds.samples {
        let sym = ds.series[s.series].symbol.to_string();
        let w = &served[&(sym, s.close_time_ms)];
        assert_eq!(ds.window(s), &w.data[..]);
        compared += 1;
    }
    assert!(compared > 2000, "{compared}");
    // No window spans the hole: LINK has no sample whose window covers the missing minutes.
    let hole_start = 1_772_236_800_000 + 300 * 60_000;
    let hole_end = hole_start + 6 * 60_000;
    for s in ds
        .samples
        .iter()
        .filter(|s| ds.series[s.series].symbol.as_str() == "LINKUSDT")
    {
        let first_open = s.close_time_ms + 1 - (T as i64) * INTERVAL;
        assert!(
            !(first_open < hole_end && s.close_time_ms >= hole_start),
            "bar {}",
            s.bar
        );
    }
}

/// On the full (unstrided) split of real data, the last training label ends before the first
/// validation window begins, and likewise between validation and test.
#[test]
fn purged_split_keeps_windows_and_labels_apart() {
    let events = read_events(&[fixture("klines/train/LINKUSDT-1m-2026-02.csv.gz")]);
    let ds = Dataset::build(events, &spec(), policy(), &labels());
    let h = labels().horizon_bars as i64;
    let purge_ms = (h + T as i64) * INTERVAL;
    let split = signal_engine::trainer::chronological_split(&ds.samples, 0.15, 0.15, purge_ms);
    let time = |v: &[usize], last: bool| {
        let it = v.iter().map(|&i| ds.samples[i].close_time_ms);
        if last {
            it.max().unwrap()
        } else {
            it.min().unwrap()
        }
    };
    for (a, b) in [
        (&split.train, &split.validation),
        (&split.validation, &split.test),
    ] {
        assert!(a.len() > 1000 && b.len() > 1000);
        let label_end = time(a, true) + h * INTERVAL; // exit bar of the last earlier sample
        let window_start = time(b, false) - (T as i64 - 1) * INTERVAL; // first bar of the next window
        assert!(window_start > label_end, "{window_start} <= {label_end}");
    }
    let used = split.train.len() + split.validation.len() + split.test.len();
    assert!(
        used + 2 * (h as usize + T) * 2 >= ds.samples.len(),
        "only the purge zones are dropped"
    );
}

/// Triple-barrier labels: rewriting every bar up to t moves no label at t, while rewriting the
/// bars after t does move some.
#[test]
fn triple_barrier_label_ignores_every_bar_up_to_t() {
    let events = bars();
    let cfg = LabelsConfig {
        kind: LabelKind::TripleBarrier,
        take_profit_bps: 25.0,
        stop_loss_bps: 20.0,
        ..labels()
    };
    let build = |evs: &[MarketEvent]| Dataset::build(evs.iter().cloned(), &spec(), policy(), &cfg);
    let base = build(&events);
    let exits: std::collections::HashSet<_> = base.samples.iter().map(|s| s.exit).collect();
    assert_eq!(
        exits.len(),
        3,
        "the day hits both barriers and times out: {exits:?}"
    );
    let mut moved_by_future = 0;
    for s in base.samples.iter().step_by(97) {
        let t = s.bar;
        let mut past: Vec<MarketEvent> =
            events[..=t].iter().map(|e| perturb(e, 0.8, 3.0)).collect();
        past.extend_from_slice(&events[t + 1..]);
        let alt = build(&past);
        let a = alt.samples.iter().find(|x| x.bar == t).unwrap();
        assert_eq!(
            (a.profitable, a.return_bps, a.exit),
            (s.profitable, s.return_bps, s.exit),
            "bar {t}"
        );
        // Entry bar kept, every later bar 1% higher: exits move.
        let mut fut = events[..=t + 1].to_vec();
        fut.extend(events[t + 2..].iter().map(|e| perturb(e, 1.01, 1.0)));
        let b = build(&fut);
        let b = b.samples.iter().find(|x| x.bar == t).unwrap();
        moved_by_future += usize::from((b.return_bps, b.exit) != (s.return_bps, s.exit));
    }
    assert!(moved_by_future > 3, "{moved_by_future}");
}

/// The scaler is fitted on rows that close before the training period ends: rewriting every bar
/// after it leaves the scaler bit-identical, rewriting one bar inside it does not.
#[test]
fn scaler_sees_the_training_split_only() {
    let events = read_events(&[fixture("klines/train/LINKUSDT-1m-2026-02.csv.gz")]);
    let purge_ms = (labels().horizon_bars + T) as i64 * INTERVAL;
    let fit = |evs: &[MarketEvent]| {
        let ds = Dataset::build(evs.iter().cloned(), &spec(), policy(), &labels());
        let split = signal_engine::trainer::chronological_split(&ds.samples, 0.15, 0.15, purge_ms);
        let scaler = ds.fit_scaler(&spec(), split.train_end_ms, 10.0).unwrap();
        (scaler, split.train_end_ms)
    };
    let (base, end) = fit(&events);
    let close = |e: &MarketEvent| e.as_bar().unwrap().close_time_ms;
    let later: Vec<MarketEvent> = events
        .iter()
        .map(|e| {
            if close(e) >= end {
                perturb(e, 1.5, 4.0)
            } else {
                e.clone()
            }
        })
        .collect();
    let (after, end2) = fit(&later);
    assert_eq!(end, end2);
    assert_eq!(
        base, after,
        "rows after the training period reached the scaler"
    );
    // The test can fail: a change inside the training period moves the fitted quartiles.
    let mid = close(&events[0]) + (end - close(&events[0])) / 2;
    let inside: Vec<MarketEvent> = events
        .iter()
        .map(|e| {
            if close(e) < mid {
                perturb(e, 1.0, 7.0)
            } else {
                e.clone()
            }
        })
        .collect();
    assert_ne!(base, fit(&inside).0);
}

/// Every walk-forward fold on real data: each fold's test windows start after the last label of
/// anything it learned from, and validation is purged from training.
#[test]
fn walk_forward_folds_keep_windows_and_labels_apart() {
    let events = read_events(&[fixture("klines/train/LINKUSDT-1m-2026-02.csv.gz")]);
    let ds = Dataset::build(events, &spec(), policy(), &labels());
    let h = labels().horizon_bars as i64;
    let purge_ms = (h + T as i64) * INTERVAL;
    let folds = signal_engine::trainer::walk_forward(&ds.samples, 4, 0.2, purge_ms);
    assert_eq!(folds.len(), 4);
    let times = |v: &[usize]| {
        v.iter()
            .map(|&i| ds.samples[i].close_time_ms)
            .collect::<Vec<_>>()
    };
    for (k, f) in folds.iter().enumerate() {
        let (tr, va, te) = (times(&f.train), times(&f.validation), times(&f.test));
        assert!(
            tr.len() > 1000 && va.len() > 100 && te.len() > 1000,
            "fold {k}"
        );
        let learned_label_end = tr.iter().chain(&va).max().unwrap() + h * INTERVAL;
        let test_window_start = te.iter().min().unwrap() - (T as i64 - 1) * INTERVAL;
        assert!(test_window_start > learned_label_end, "fold {k}");
        let train_label_end = tr.iter().max().unwrap() + h * INTERVAL;
        assert!(va.iter().min().unwrap() - (T as i64 - 1) * INTERVAL > train_label_end);
        assert!(f.train_end_ms <= va.iter().min().unwrap() - purge_ms);
        if k > 0 {
            // Expanding window: each fold learns from more of the past than the one before.
            assert!(tr.len() > folds[k - 1].train.len());
            assert!(te.iter().min() > times(&folds[k - 1].test).iter().max());
        }
    }
}
