//! The label resolver: keeps each emitted window until its horizon has passed, then labels it
//! from the realised bars with the same `label_at` that `train` uses.
//!
//! In: every bar each symbol's state machine accepted (gap fillers included) and every window the
//! engine emitted, in stream order. Out: [`Labelled`] windows. The rules are the offline
//! dataset's: the entry bar t+1 must be a real bar, and bars t..=t+H must follow each other
//! without a break; a break (a missing bar, a reset, the symbol leaving Ready, a message the
//! channel could not take) drops that symbol's pending windows rather than label them from a
//! hole.

use crate::config::LabelsConfig;
use crate::event::{Exchange, Symbol};
use crate::features::Window;
use crate::trainer::labels::{Prices, label_at};
use std::collections::{HashMap, VecDeque};

/// A bar as the feature stage saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct BarSeen {
    pub exchange: Exchange,
    pub symbol: Symbol,
    pub close_time_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// A gap filler, not a bar from the data.
    pub filled: bool,
    /// The symbol was Ready after this bar.
    pub ready: bool,
}

/// A window with its realised label.
#[derive(Clone, Debug)]
pub struct Labelled {
    pub exchange: Exchange,
    pub symbol: Symbol,
    pub bar_close_time_ms: i64,
    /// `[T × F]`, scaled, exactly as it was scored.
    pub data: Vec<f32>,
    pub profitable: bool,
    pub return_bps: f64,
    /// ln(close(t) / close(t-k)) in bps, k = min(H, T-1): the momentum baseline's input.
    pub trailing_return_bps: f64,
}

/// What the resolver did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResolverStats {
    pub windows: u64,
    pub labelled: u64,
    /// Pending windows dropped by a break in their symbol's bars.
    pub dropped_on_break: u64,
    /// Windows whose entry bar was a gap filler (no trade could have been entered).
    pub dropped_filled_entry: u64,
    /// Windows that did not follow their own bar, or without the history the baseline reads.
    pub unmatched: u64,
}

#[derive(Default)]
struct Track {
    bars: VecDeque<BarSeen>,
    pending: VecDeque<(Window, f64)>,
}

pub struct LabelResolver {
    labels: LabelsConfig,
    interval_ms: i64,
    /// k of the trailing return.
    trailing_bars: usize,
    keep: usize,
    tracks: HashMap<(Exchange, Symbol), Track>,
    pub stats: ResolverStats,
}

impl LabelResolver {
    pub fn new(labels: LabelsConfig, interval_ms: i64, seq_len: usize) -> Self {
        let h = labels.horizon_bars;
        let k = h.min(seq_len.saturating_sub(1)).max(1);
        Self {
            keep: h + k + 2,
            trailing_bars: k,
            labels,
            interval_ms,
            tracks: HashMap::new(),
            stats: ResolverStats::default(),
        }
    }

    /// A bar; returns the windows it completes the horizon of, labelled.
    pub fn on_bar(&mut self, bar: BarSeen) -> Vec<Labelled> {
        let key = (bar.exchange, bar.symbol.clone());
        let track = self.tracks.entry(key).or_default();
        let follows = track
            .bars
            .back()
            .is_none_or(|b| bar.close_time_ms == b.close_time_ms + self.interval_ms);
        if !follows || !bar.ready {
            self.stats.dropped_on_break += track.pending.len() as u64;
            track.pending.clear();
            track.bars.clear();
        }
        if !bar.ready {
            return Vec::new();
        }
        track.bars.push_back(bar);
        while track.bars.len() > self.keep {
            track.bars.pop_front();
        }
        let h = self.labels.horizon_bars;
        let mut out = Vec::new();
        while let Some((w, _)) = track.pending.front() {
            let first = track.bars[0].close_time_ms;
            let idx = ((w.bar_close_time_ms - first) / self.interval_ms) as usize;
            if idx + h >= track.bars.len() {
                break; // its horizon has not passed yet
            }
            let Some((w, trailing)) = track.pending.pop_front() else {
                break;
            };
            let span: Vec<&BarSeen> = track.bars.range(idx..=idx + h).collect();
            if span[1].filled {
                self.stats.dropped_filled_entry += 1;
                continue;
            }
            let col = |f: fn(&BarSeen) -> f64| -> Vec<f64> { span.iter().map(|b| f(b)).collect() };
            let (open, high, low, close) = (
                col(|b| b.open),
                col(|b| b.high),
                col(|b| b.low),
                col(|b| b.close),
            );
            let prices = Prices {
                open: &open,
                high: &high,
                low: &low,
                close: &close,
            };
            if let Some(l) = label_at(prices, 0, &self.labels) {
                self.stats.labelled += 1;
                out.push(Labelled {
                    exchange: w.exchange,
                    symbol: w.symbol,
                    bar_close_time_ms: w.bar_close_time_ms,
                    data: w.data,
                    profitable: l.profitable,
                    return_bps: l.return_bps,
                    trailing_return_bps: trailing,
                });
            }
        }
        out
    }

    /// An emitted window: it waits for its horizon. It must belong to its symbol's latest bar.
    pub fn on_window(&mut self, w: Window) {
        self.stats.windows += 1;
        let k = self.trailing_bars;
        let key = (w.exchange, w.symbol.clone());
        let Some(track) = self.tracks.get_mut(&key) else {
            self.stats.unmatched += 1;
            return;
        };
        let n = track.bars.len();
        let own = track
            .bars
            .back()
            .is_some_and(|b| b.close_time_ms == w.bar_close_time_ms && !b.filled);
        if !own || n <= k {
            self.stats.unmatched += 1;
            return;
        }
        let trailing = (track.bars[n - 1].close / track.bars[n - 1 - k].close).ln() * 1e4;
        track.pending.push_back((w, trailing));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LabelKind;

    fn labels(h: usize) -> LabelsConfig {
        LabelsConfig {
            kind: LabelKind::FixedHorizon,
            horizon_bars: h,
            round_trip_fee_bps: 0.0,
            min_profit_bps: 0.0,
            ..LabelsConfig::default()
        }
    }

    fn bar(t: i64, close: f64) -> BarSeen {
        BarSeen {
            exchange: Exchange::BinanceFutures,
            symbol: Symbol::try_from("BTCUSDT".to_string()).unwrap(),
            close_time_ms: t * 60_000 - 1,
            open: close - 0.5,
            high: close + 1.0,
            low: close - 1.0,
            close,
            filled: false,
            ready: true,
        }
    }

    fn window(t: i64) -> Window {
        Window {
            exchange: Exchange::BinanceFutures,
            symbol: Symbol::try_from("BTCUSDT".to_string()).unwrap(),
            bar_close_time_ms: t * 60_000 - 1,
            close: 0.0,
            seq_len: 2,
            n_features: 1,
            data: vec![t as f32, t as f32],
            features_valid: true,
            filled_rows: 0,
        }
    }

    #[test]
    fn labels_after_the_horizon_with_the_training_label_code() {
        let mut r = LabelResolver::new(labels(2), 60_000, 2);
        let closes = [100.0, 101.0, 102.0, 99.0, 98.0, 97.0];
        let mut out = Vec::new();
        for (i, c) in closes.iter().enumerate() {
            let t = i as i64 + 1;
            out.extend(r.on_bar(bar(t, *c)));
            if t >= 2 {
                r.on_window(window(t));
            }
        }
        // Window at bar 2 (close 101): entry open(3) = 101.5, exit close(4) = 99.
        let w2 = out
            .iter()
            .find(|l| l.bar_close_time_ms == 2 * 60_000 - 1)
            .unwrap();
        assert!((w2.return_bps - (99.0f64 / 101.5).ln() * 1e4).abs() < 1e-9);
        assert!(!w2.profitable);
        assert!((w2.trailing_return_bps - (101.0f64 / 100.0).ln() * 1e4).abs() < 1e-9);
        // Windows at bars 2, 3 and 4 have their horizon inside the six bars; 5 and 6 do not.
        let ts: Vec<i64> = out
            .iter()
            .map(|l| (l.bar_close_time_ms + 1) / 60_000)
            .collect();
        assert_eq!(ts, [2, 3, 4]);
        assert_eq!(r.stats.labelled, 3);
    }

    #[test]
    fn a_break_drops_pending_windows_instead_of_labelling_across_it() {
        let mut r = LabelResolver::new(labels(2), 60_000, 2);
        r.on_bar(bar(1, 100.0));
        r.on_bar(bar(2, 100.0));
        r.on_window(window(2));
        r.on_bar(bar(3, 100.0));
        assert!(r.on_bar(bar(5, 100.0)).is_empty(), "bar 4 is missing");
        assert_eq!(r.stats.dropped_on_break, 1);
        let mut filled = bar(6, 100.0);
        filled.filled = true;
        r.on_bar(filled);
        r.on_window(window(6));
        assert_eq!(r.stats.unmatched, 1, "no window on a gap filler");
    }

    #[test]
    fn a_filled_entry_bar_is_not_a_trade() {
        let mut r = LabelResolver::new(labels(1), 60_000, 2);
        r.on_bar(bar(1, 100.0));
        r.on_bar(bar(2, 100.0));
        r.on_window(window(2));
        let mut filled = bar(3, 100.0);
        filled.filled = true;
        assert!(r.on_bar(filled).is_empty());
        assert_eq!(r.stats.dropped_filled_entry, 1);
    }
}
