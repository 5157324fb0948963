//! `FeatureComputer`: one bar in, one raw feature row out (in `FeatureSpec` order).
//!
//! Each distinct indicator (say MACD 12/26/9) is one node, updated once per bar however many
//! features read it (line, signal and histogram share one MACD); a feature is a projection of its
//! node's output. Every node sees every bar, so the row at bar t uses bars ≤ t only. A feature whose
//! node is still warming up is NaN in the row; the row is complete once every feature is finite.
//! No allocation per bar: the caller owns the row buffer.

use super::indicators::{
    Atr, Bollinger, GarmanKlass, Macd, Mfi, Obv, Parkinson, Ring, Roc, Rsi, Stoch, TradeFlow, Vwap,
    ZScore, ln_ratio,
};
use super::spec::{BandPart, FeatureKind, FeatureSpec, MacdPart, StochPart};
use crate::event::Bar;
use std::sync::Arc;

/// The latest top of book of a symbol, for the quote features.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopOfBook {
    pub bid: f64,
    pub bid_qty: f64,
    pub ask: f64,
    pub ask_qty: f64,
}

impl TopOfBook {
    /// Spread in bps of the mid; NaN for a crossed or empty book (the row then waits).
    pub fn spread_bps(&self) -> f64 {
        let mid = (self.bid + self.ask) / 2.0;
        if self.bid > 0.0 && self.ask >= self.bid && mid > 0.0 {
            (self.ask - self.bid) / mid * 1e4
        } else {
            f64::NAN
        }
    }

    /// (bid qty − ask qty) / (bid qty + ask qty); 0 when both sides are empty.
    pub fn imbalance(&self) -> f64 {
        let total = self.bid_qty + self.ask_qty;
        if total > 0.0 {
            (self.bid_qty - self.ask_qty) / total
        } else {
            0.0
        }
    }
}

/// One distinct indicator instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum NodeKey {
    /// ln(close) history, as long as the longest log return needs.
    LnClose(usize),
    Rsi(usize),
    Macd(usize, usize, usize),
    Bollinger(usize, usize),
    Atr(usize),
    Roc(usize),
    Stoch(usize, usize, usize),
    Obv,
    ObvZ(usize),
    Mfi(usize),
    Parkinson(usize),
    GarmanKlass(usize),
    Vwap(usize),
    VolumeZ(usize),
    TradesZ(usize),
    Flow(usize),
}

#[derive(Clone, Debug)]
enum Node {
    LnClose(Ring<f64>),
    Rsi(Rsi),
    Macd(Box<Macd>),
    Bollinger(Bollinger),
    Atr(Atr),
    Roc(Roc),
    Stoch(Box<Stoch>),
    Obv(Obv),
    ObvZ(Obv, ZScore),
    Mfi(Mfi),
    Parkinson(Parkinson),
    GarmanKlass(GarmanKlass),
    Vwap(Box<Vwap>),
    VolumeZ(ZScore),
    TradesZ(ZScore),
    Flow(TradeFlow),
}

const NAN5: [f64; 5] = [f64::NAN; 5];

impl Node {
    fn new(key: NodeKey) -> Self {
        match key {
            NodeKey::LnClose(k) => Node::LnClose(Ring::new(k + 1)),
            NodeKey::Rsi(n) => Node::Rsi(Rsi::new(n)),
            NodeKey::Macd(f, s, g) => Node::Macd(Box::new(Macd::new(f, s, g))),
            NodeKey::Bollinger(n, k) => Node::Bollinger(Bollinger::new(n, k as f64)),
            NodeKey::Atr(n) => Node::Atr(Atr::new(n)),
            NodeKey::Roc(n) => Node::Roc(Roc::new(n)),
            NodeKey::Stoch(f, s, d) => Node::Stoch(Box::new(Stoch::new(f, s, d))),
            NodeKey::Obv => Node::Obv(Obv::new()),
            NodeKey::ObvZ(n) => Node::ObvZ(Obv::new(), ZScore::new(n)),
            NodeKey::Mfi(n) => Node::Mfi(Mfi::new(n)),
            NodeKey::Parkinson(n) => Node::Parkinson(Parkinson::new(n)),
            NodeKey::GarmanKlass(n) => Node::GarmanKlass(GarmanKlass::new(n)),
            NodeKey::Vwap(n) => Node::Vwap(Box::new(Vwap::new(n))),
            NodeKey::VolumeZ(n) => Node::VolumeZ(ZScore::new(n)),
            NodeKey::TradesZ(n) => Node::TradesZ(ZScore::new(n)),
            NodeKey::Flow(n) => Node::Flow(TradeFlow::new(n)),
        }
    }

    /// Feeds one bar; returns up to five outputs (NaN while warming). `logs` holds the bar's
    /// ln(high/low) and ln(close/open) when a range node needs them.
    fn update(&mut self, b: &Bar, logs: (f64, f64)) -> [f64; 5] {
        let one = |v: Option<f64>| [v.unwrap_or(f64::NAN), 0.0, 0.0, 0.0, 0.0];
        match self {
            Node::LnClose(r) => {
                r.push(b.close.ln());
                NAN5
            }
            Node::Rsi(x) => one(x.update(b.close)),
            Node::Macd(x) => match x.update(b.close) {
                Some(v) => [v.line, v.signal, v.histogram, 0.0, 0.0],
                None => NAN5,
            },
            Node::Bollinger(x) => match x.update(b.close) {
                Some(v) => [v.upper, v.middle, v.lower, v.percent_b, v.bandwidth],
                None => NAN5,
            },
            Node::Atr(x) => one(x.update(b.high, b.low, b.close)),
            Node::Roc(x) => one(x.update(b.close)),
            Node::Stoch(x) => match x.update(b.high, b.low, b.close) {
                Some(v) => [v.k, v.d, 0.0, 0.0, 0.0],
                None => NAN5,
            },
            Node::Obv(x) => one(x.update(b.close, b.volume)),
            Node::ObvZ(obv, z) => one(obv.update(b.close, b.volume).and_then(|v| z.update(v))),
            Node::Mfi(x) => one(x.update(b.high, b.low, b.close, b.volume)),
            Node::Parkinson(x) => one(x.update_log_range(logs.0)),
            Node::GarmanKlass(x) => one(x.update_log_ranges(logs.0, logs.1)),
            Node::Vwap(x) => one(x
                .update(b.close, b.volume, b.quote_volume)
                .map(|v| v.deviation)),
            Node::VolumeZ(x) => one(x.update(b.volume)),
            Node::TradesZ(x) => one(x.update(b.trades as f64)),
            Node::Flow(x) => one(x.update(b.taker_buy_volume, b.volume)),
        }
    }

    fn lookback(&self) -> usize {
        match self {
            Node::LnClose(r) => r.capacity() - 1,
            Node::Rsi(x) => x.lookback(),
            Node::Macd(x) => x.lookback(),
            Node::Bollinger(x) => x.lookback(),
            Node::Atr(x) => x.lookback(),
            Node::Roc(x) => x.lookback(),
            Node::Stoch(x) => x.lookback(),
            Node::Obv(_) => 0,
            Node::ObvZ(_, z) => z.lookback(),
            Node::Mfi(x) => x.lookback(),
            Node::Parkinson(x) => x.lookback(),
            Node::GarmanKlass(x) => x.lookback(),
            Node::Vwap(x) => x.lookback(),
            Node::VolumeZ(x) | Node::TradesZ(x) => x.lookback(),
            Node::Flow(x) => x.lookback(),
        }
    }
}

fn node_key(kind: FeatureKind) -> Option<NodeKey> {
    use FeatureKind as K;
    Some(match kind {
        // One ln(close) ring serves every log return; its length is fixed up in `new`.
        K::LogReturn(_) => NodeKey::LnClose(0),
        K::Rsi(n) => NodeKey::Rsi(n),
        K::Macd(_, f, s, g) | K::MacdOverClose(_, f, s, g) => NodeKey::Macd(f, s, g),
        K::Bollinger(_, n, k) => NodeKey::Bollinger(n, k),
        K::BollingerPercentB(n) | K::BollingerBandwidth(n) => NodeKey::Bollinger(n, 2),
        K::Atr(n) | K::AtrOverClose(n) => NodeKey::Atr(n),
        K::Roc(n) => NodeKey::Roc(n),
        K::Stoch(_, f, s, d) => NodeKey::Stoch(f, s, d),
        K::Obv => NodeKey::Obv,
        K::ObvZ(n) => NodeKey::ObvZ(n),
        K::Mfi(n) => NodeKey::Mfi(n),
        K::Parkinson(n) => NodeKey::Parkinson(n),
        K::GarmanKlass(n) => NodeKey::GarmanKlass(n),
        K::VwapDev(n) => NodeKey::Vwap(n),
        K::VolumeZ(n) => NodeKey::VolumeZ(n),
        K::TradesZ(n) => NodeKey::TradesZ(n),
        K::TradeFlowImbalance(n) => NodeKey::Flow(n),
        K::TakerBuyRatio | K::SpreadBps | K::BookImbalance | K::TimeOfDaySin | K::TimeOfDayCos => {
            return None;
        }
    })
}

/// What a spec compiles to, shared (one `Arc`) by every symbol's computer: only the indicator
/// state is per symbol.
#[derive(Debug)]
struct Plan {
    spec: FeatureSpec,
    keys: Vec<NodeKey>,
    /// Per feature: its node, if it has one.
    feature_node: Vec<Option<usize>>,
    /// True when a time-of-day feature is in the spec.
    time_of_day: bool,
    /// Which log ranges the range-volatility nodes need: ln(high/low) (Parkinson, Garman–Klass)
    /// and ln(close/open) (Garman–Klass).
    log_hl: bool,
    log_co: bool,
    lookback: usize,
}

/// Computes the spec's features bar by bar. Cloning shares the compiled plan.
#[derive(Clone, Debug)]
pub struct FeatureComputer {
    plan: Arc<Plan>,
    nodes: Vec<Node>,
    /// Latest outputs of each node.
    outs: Vec<[f64; 5]>,
}

impl FeatureComputer {
    pub fn new(spec: &FeatureSpec) -> Self {
        let max_k = spec
            .kinds()
            .iter()
            .filter_map(|k| match k {
                FeatureKind::LogReturn(k) => Some(*k),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut keys: Vec<NodeKey> = Vec::new();
        let mut feature_node = Vec::with_capacity(spec.len());
        for kind in spec.kinds() {
            let idx = node_key(*kind).map(|key| {
                let key = match key {
                    NodeKey::LnClose(_) => NodeKey::LnClose(max_k),
                    k => k,
                };
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    keys.len() - 1
                })
            });
            feature_node.push(idx);
        }
        let nodes: Vec<Node> = keys.iter().copied().map(Node::new).collect();
        // A log return of k bars needs k earlier closes; every other feature's lookback is its
        // node's (TA-Lib's) lookback.
        let lookback = spec
            .kinds()
            .iter()
            .zip(&feature_node)
            .map(|(kind, node)| match (kind, node) {
                (FeatureKind::LogReturn(k), _) => *k,
                (_, Some(i)) => nodes[*i].lookback(),
                (_, None) => 0,
            })
            .max()
            .unwrap_or(0);
        let time_of_day = spec
            .kinds()
            .iter()
            .any(|k| matches!(k, FeatureKind::TimeOfDaySin | FeatureKind::TimeOfDayCos));
        let log_co = keys.iter().any(|k| matches!(k, NodeKey::GarmanKlass(_)));
        let log_hl = log_co || keys.iter().any(|k| matches!(k, NodeKey::Parkinson(_)));
        Self {
            outs: vec![NAN5; nodes.len()],
            nodes,
            plan: Arc::new(Plan {
                spec: spec.clone(),
                keys,
                feature_node,
                time_of_day,
                log_hl,
                log_co,
                lookback,
            }),
        }
    }

    /// Feeds one closed bar (prices > 0 and finite: the caller checks) and writes the raw row into
    /// `row` (resized to the spec's length): NaN where a feature is still warming up or cannot be
    /// computed (a quote feature before the first quote). Returns true when the row is complete,
    /// every value finite.
    pub fn update_into(
        &mut self,
        bar: &Bar,
        quote: Option<&TopOfBook>,
        row: &mut Vec<f64>,
    ) -> bool {
        let plan = &*self.plan;
        // One logarithm each, however many range indicators read them.
        let logs = (
            if plan.log_hl {
                ln_ratio(bar.high, bar.low)
            } else {
                0.0
            },
            if plan.log_co {
                ln_ratio(bar.close, bar.open)
            } else {
                0.0
            },
        );
        for (node, out) in self.nodes.iter_mut().zip(&mut self.outs) {
            *out = node.update(bar, logs);
        }
        // sin and cos of the time of day in one call, shared by both features.
        let tod = if plan.time_of_day {
            let frac = bar.open_time_ms.rem_euclid(DAY_MS) as f64 / DAY_MS as f64;
            (std::f64::consts::TAU * frac).sin_cos()
        } else {
            (f64::NAN, f64::NAN)
        };
        row.clear();
        let mut complete = true;
        for (kind, node) in plan.spec.kinds().iter().zip(&plan.feature_node) {
            let out = node.map_or(&NAN5, |i| &self.outs[i]);
            let ln = match node {
                Some(i) => match &self.nodes[*i] {
                    Node::LnClose(r) => Some(r),
                    _ => None,
                },
                None => None,
            };
            let v = value(*kind, out, ln, bar, quote, tod);
            // A non-finite value never leaves: NaN marks it missing.
            let v = if v.is_finite() { v } else { f64::NAN };
            complete &= !v.is_nan();
            row.push(v);
        }
        complete
    }

    /// `update_into` with a fresh row; `Some` only when the row is complete.
    pub fn update(&mut self, bar: &Bar) -> Option<Vec<f64>> {
        let mut row = Vec::with_capacity(self.plan.spec.len());
        self.update_into(bar, None, &mut row).then_some(row)
    }

    /// Bars consumed before the first complete row: the largest lookback in the spec.
    pub fn lookback(&self) -> usize {
        self.plan.lookback
    }

    /// Forgets every bar: afterwards the computer equals a fresh one (rebuilt from the keys).
    pub fn reset(&mut self) {
        for ((node, out), key) in self
            .nodes
            .iter_mut()
            .zip(&mut self.outs)
            .zip(&self.plan.keys)
        {
            *node = Node::new(*key);
            *out = NAN5;
        }
    }

    pub fn spec(&self) -> &FeatureSpec {
        &self.plan.spec
    }
}

const DAY_MS: i64 = 86_400_000;

fn value(
    kind: FeatureKind,
    out: &[f64; 5],
    ln_close: Option<&Ring<f64>>,
    b: &Bar,
    quote: Option<&TopOfBook>,
    (tod_sin, tod_cos): (f64, f64),
) -> f64 {
    use FeatureKind as K;
    let part = |p: MacdPart| match p {
        MacdPart::Line => out[0],
        MacdPart::Signal => out[1],
        MacdPart::Hist => out[2],
    };
    match kind {
        K::LogReturn(k) => match ln_close.map(|r| (r.back(0), r.back(k))) {
            Some((Some(now), Some(then))) => now - then,
            _ => f64::NAN,
        },
        K::Rsi(_) | K::Atr(_) | K::Roc(_) | K::Obv | K::ObvZ(_) | K::Mfi(_) => out[0],
        K::Parkinson(_) | K::GarmanKlass(_) | K::VwapDev(_) => out[0],
        K::VolumeZ(_) | K::TradesZ(_) | K::TradeFlowImbalance(_) => out[0],
        K::Macd(p, ..) => part(p),
        K::MacdOverClose(p, ..) => part(p) / b.close,
        K::Bollinger(p, ..) => match p {
            BandPart::Upper => out[0],
            BandPart::Middle => out[1],
            BandPart::Lower => out[2],
        },
        K::BollingerPercentB(_) => out[3],
        K::BollingerBandwidth(_) => out[4],
        K::AtrOverClose(_) => out[0] / b.close,
        K::Stoch(p, ..) => match p {
            StochPart::K => out[0],
            StochPart::D => out[1],
        },
        K::TakerBuyRatio => {
            if b.volume > 0.0 {
                (b.taker_buy_volume / b.volume).clamp(0.0, 1.0)
            } else {
                0.5
            }
        }
        K::SpreadBps => quote.map_or(f64::NAN, TopOfBook::spread_bps),
        K::BookImbalance => quote.map_or(f64::NAN, TopOfBook::imbalance),
        K::TimeOfDaySin => tod_sin,
        K::TimeOfDayCos => tod_cos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bar(i: i64, close: f64, spread: f64, volume: f64, taker: f64) -> Bar {
        Bar {
            open_time_ms: i * 60_000,
            close_time_ms: i * 60_000 + 59_999,
            open: close,
            high: close * (1.0 + spread),
            low: close / (1.0 + spread),
            close,
            volume,
            quote_volume: volume * close,
            trades: (volume / 7.0) as u64,
            taker_buy_volume: volume * taker,
            closed: true,
        }
    }

    /// Bars with flat runs, zero volume and jumps of up to 1000× either way.
    fn bars() -> impl Strategy<Value = Vec<Bar>> {
        let step = (
            prop_oneof![Just(0.0), -0.01f64..0.01, -6.9f64..6.9],
            prop_oneof![Just(0.0), 0.0f64..0.05],
            prop_oneof![Just(0.0), 0.0f64..1e9],
            0.0f64..=1.0,
        );
        prop::collection::vec(step, 1..150).prop_map(|steps| {
            let mut close = 100.0f64;
            let mut out = Vec::new();
            for (i, (r, spread, vol, taker)) in steps.into_iter().enumerate() {
                close = (close * r.exp()).clamp(1e-6, 1e12);
                out.push(bar(i as i64, close, spread, vol, taker));
            }
            out
        })
    }

    fn default_spec() -> FeatureSpec {
        FeatureSpec::new(&FeatureSpec::default_names()).unwrap()
    }

    /// The full model set plus every raw export column: every node kind.
    fn everything() -> FeatureSpec {
        let mut names = FeatureSpec::full_names();
        for n in FeatureSpec::export_raw_names() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        FeatureSpec::any(&names).unwrap()
    }

    proptest! {
        #[test]
        fn every_bar_after_warm_up_gives_a_finite_row(bars in bars()) {
            for spec in [default_spec(), everything()] {
                let mut c = FeatureComputer::new(&spec);
                let lookback = c.lookback();
                let mut row = Vec::new();
                for (i, b) in bars.iter().enumerate() {
                    let complete = c.update_into(b, None, &mut row);
                    prop_assert_eq!(row.len(), spec.len());
                    prop_assert!(row.iter().all(|v| v.is_finite() || v.is_nan()));
                    prop_assert_eq!(complete, i >= lookback, "bar {} {:?}", i, row);
                }
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let spec = everything();
            let mut used = FeatureComputer::new(&spec);
            for b in &first {
                used.update(b);
            }
            used.reset();
            let mut fresh = FeatureComputer::new(&spec);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for bar in &second {
                used.update_into(bar, None, &mut a);
                fresh.update_into(bar, None, &mut b);
                // Bitwise, NaN included.
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(&a), bits(&b));
            }
        }
    }

    #[test]
    fn first_row_comes_after_the_longest_lookback() {
        let mut c = FeatureComputer::new(&default_spec());
        assert_eq!(c.lookback(), 33); // MACD(12, 26, 9), as TA-Lib
        let rows: Vec<bool> = (0..40)
            .map(|i| {
                c.update(&bar(i, 100.0 + (i as f64).sin(), 0.01, 10.0, 0.5))
                    .is_some()
            })
            .collect();
        assert_eq!(rows.iter().position(|r| *r), Some(33));
        assert_eq!(FeatureComputer::new(&everything()).lookback(), 60);
    }

    #[test]
    fn shared_nodes_are_computed_once_and_projected() {
        let spec = FeatureSpec::any(&[
            "macd_12_26_9",
            "macd_signal_12_26_9",
            "macd_hist_12_26_9",
            "macd_hist_over_close",
            "log_return_1",
            "log_return_3",
        ])
        .unwrap();
        let c = FeatureComputer::new(&spec);
        assert_eq!(c.nodes.len(), 2);
        let mut c = c;
        let mut row = Vec::new();
        for i in 0..40 {
            c.update_into(&bar(i, 100.0 + i as f64, 0.01, 1.0, 0.5), None, &mut row);
        }
        assert!((row[0] - row[1] - row[2]).abs() < 1e-12);
        assert_eq!(row[3], row[2] / 139.0);
        assert!((row[4] - (139.0f64 / 138.0).ln()).abs() < 1e-12);
        assert!((row[5] - (139.0f64 / 136.0).ln()).abs() < 1e-12);
    }

    #[test]
    fn quote_features_wait_for_a_quote_and_time_of_day_wraps() {
        let spec =
            FeatureSpec::new(&["spread_bps", "book_imbalance", "tod_sin", "tod_cos"]).unwrap();
        let mut c = FeatureComputer::new(&spec);
        let mut row = Vec::new();
        let b = bar(6 * 60, 100.0, 0.0, 1.0, 0.5); // 06:00 UTC
        assert!(!c.update_into(&b, None, &mut row));
        assert!(row[0].is_nan() && row[1].is_nan());
        assert!((row[2] - 1.0).abs() < 1e-12 && row[3].abs() < 1e-12);
        let q = TopOfBook {
            bid: 99.99,
            bid_qty: 3.0,
            ask: 100.01,
            ask_qty: 1.0,
        };
        assert!(c.update_into(&b, Some(&q), &mut row));
        assert!((row[0] - 2.0).abs() < 1e-9);
        assert_eq!(row[1], 0.5);
        let crossed = TopOfBook { bid: 101.0, ..q };
        assert!(!c.update_into(&b, Some(&crossed), &mut row));
    }
}
