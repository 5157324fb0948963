//! The causality audit every backtest runs: is each window built only from data up to its bar?
//!
//! For a few signals spread over the run, the feature state machine is run again on the input
//! cut right after the signal's bar (every event with an event time up to the bar's close), and
//! the window it emits for that bar must be bit-identical (values, validity, filled rows) to the
//! one the full run emitted. A feature that peeked at a later bar would see different data in
//! the cut run, or none: the window differs and the backtest fails, naming the bar. The engine's
//! features are causal by construction (streaming indicators over closed bars, the only feature
//! names `FeatureSpec` accepts; anything else in `features.names` is refused when the config
//! loads), and the audit checks that on the data of each backtest. The check is generic over
//! [`WindowSource`], so a test can plant a peeking source and see it caught.

use crate::event::{Exchange, MarketEvent, Symbol};
use crate::features::{FeatureEngine, Window};
use serde::Serialize;
use std::collections::BTreeMap;

/// Anything that turns events into windows as the feature stage does.
pub trait WindowSource {
    fn on_event(&mut self, ev: &MarketEvent) -> Option<Window>;
    /// End of input: windows of bars still open.
    fn flush(&mut self) -> Vec<Window>;
}

impl WindowSource for FeatureEngine {
    fn on_event(&mut self, ev: &MarketEvent) -> Option<Window> {
        FeatureEngine::on_event(self, ev)
    }

    fn flush(&mut self) -> Vec<Window> {
        FeatureEngine::flush(self)
    }
}

/// A bar to audit: its symbol and close time.
pub type Point = (Exchange, Symbol, i64);

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Audit {
    /// Bars whose window was rebuilt from the input cut after them.
    pub checked: u64,
    /// Bars whose rebuilt window differed, and how.
    pub leaks: Vec<String>,
}

/// The `n` points spread evenly over `points` (sorted by time), deterministic.
pub fn spread(mut points: Vec<Point>, n: usize) -> Vec<Point> {
    points.sort_by(|a, b| (a.2, a.0, &a.1).cmp(&(b.2, b.0, &b.1)));
    let len = points.len();
    if len == 0 || n == 0 {
        return Vec::new();
    }
    let mut out: Vec<Point> = (1..=n)
        .map(|k| points[(k * len / (n + 1)).min(len - 1)].clone())
        .collect();
    out.dedup();
    out
}

/// Runs `make()` over all of `events` and over each cut, and compares the windows of `points`.
pub fn audit<W: WindowSource>(
    events: &[MarketEvent],
    points: &[Point],
    make: impl Fn() -> W,
) -> Audit {
    let wanted: std::collections::BTreeSet<&Point> = points.iter().collect();
    let mut full: BTreeMap<Point, Window> = BTreeMap::new();
    let keep = |w: Window, into: &mut BTreeMap<Point, Window>| {
        let k = (w.exchange, w.symbol.clone(), w.bar_close_time_ms);
        if wanted.contains(&k) {
            into.insert(k, w);
        }
    };
    let mut src = make();
    for ev in events {
        if let Some(w) = src.on_event(ev) {
            keep(w, &mut full);
        }
    }
    for w in src.flush() {
        keep(w, &mut full);
    }
    let mut out = Audit::default();
    for p in points {
        let Some(want) = full.get(p) else {
            continue; // the full run emitted no window there: nothing to compare
        };
        out.checked += 1;
        let cut_ns = p.2.saturating_mul(1_000_000);
        let mut src = make();
        let mut got = None;
        for ev in events.iter().take_while(|e| e.ts_event_ns <= cut_ns) {
            if let Some(w) = src.on_event(ev)
                && (w.exchange, &w.symbol, w.bar_close_time_ms) == (p.0, &p.1, p.2)
            {
                got = Some(w);
            }
        }
        if got.is_none() {
            got = src
                .flush()
                .into_iter()
                .find(|w| (w.exchange, &w.symbol, w.bar_close_time_ms) == (p.0, &p.1, p.2));
        }
        let name = format!("{}:{} bar {}", p.0.as_str(), p.1, p.2);
        match got {
            None => out.leaks.push(format!(
                "{name}: without the data after it, the engine emits no window there"
            )),
            Some(g) if !same(&g, want) => out.leaks.push(format!(
                "{name}: the window built without the data after it differs from the full run's"
            )),
            Some(_) => {}
        }
    }
    out
}

fn same(a: &Window, b: &Window) -> bool {
    a.features_valid == b.features_valid
        && a.filled_rows == b.filled_rows
        && a.close.to_bits() == b.close.to_bits()
        && a.data.len() == b.data.len()
        && a.data
            .iter()
            .zip(&b.data)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}
