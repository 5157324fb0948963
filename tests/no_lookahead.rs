//! Causality, proved on real bars:
//! - a window at bar t depends on no bar after t (streaming a different future leaves it
//!   bit-identical, while changing bar t itself changes it);
//! - the training dataset's window at t is bit-identical to the engine's (no train/serve skew);
//! - a label at bar t depends on no bar before t+1.

mod common;

use common::*;
use signal_engine::config::LabelsConfig;
use signal_engine::event::{EventKind, MarketEvent};
use signal_engine::features::{FeatureEngine, FeatureSpec, Window};
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
    let ds = Dataset::build(events.iter().cloned(), &spec(), T, INTERVAL, &labels());
    Arc::new(ds.fit_scaler(&spec(), i64::MAX, 10.0).unwrap())
}

fn stream(events: &[MarketEvent], scaler: &Arc<RobustScaler>) -> HashMap<i64, Window> {
    let mut engine = FeatureEngine::new(spec(), scaler.clone(), T, INTERVAL);
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
    let mut ds = Dataset::build(events.iter().cloned(), &spec(), T, INTERVAL, &labels());
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
        |evs: &[MarketEvent]| Dataset::build(evs.iter().cloned(), &spec(), T, INTERVAL, &labels());
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
