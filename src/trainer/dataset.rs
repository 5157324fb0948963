//! Training data built by the serving code: each symbol's bars go through the same
//! `SymbolState` the engine uses (gap fillers and resets included), rows are scaled by the same
//! `RobustScaler::transform_into`, and a window at bar t is the T scaled rows ending at t, all in
//! one segment between resets, exactly as the engine's `WindowBuffer` would hold them. Windows end
//! only on bars from the data, as the engine emits them.

use super::labels::{Exit, Prices, label_at};
use crate::config::LabelsConfig;
use crate::event::{Exchange, MarketEvent, Symbol};
use crate::features::{FeatureSpec, StatePolicy, Step, SymbolState};
use crate::scaling::{RobustScaler, ScalerError, StreamingScaler, StreamingScalerConfig};
use std::collections::BTreeMap;

/// One symbol's accepted bars, in order.
#[derive(Clone, Debug)]
pub struct SeriesRows {
    pub exchange: Exchange,
    pub symbol: Symbol,
    pub close_time_ms: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    /// Segment of each bar (a reset starts a new one).
    pub segment: Vec<u32>,
    /// True for gap fillers (the last close carried through a bar the data did not have).
    pub filled: Vec<bool>,
    /// Raw feature row, `None` while warming.
    pub raw: Vec<Option<Vec<f64>>>,
    /// Scaled rows, row-major `[bars × F]` (zeros where `raw` is `None`), once a scaler is applied.
    pub scaled: Vec<f32>,
}

impl SeriesRows {
    pub fn prices(&self) -> Prices<'_> {
        Prices {
            open: &self.open,
            high: &self.high,
            low: &self.low,
            close: &self.close,
        }
    }
}

/// One labelled window: series index, bar index of its last row, and the label.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub series: usize,
    pub bar: usize,
    pub close_time_ms: i64,
    pub profitable: bool,
    /// Realised gross return of the labelled trade (entry open(t+1), exit per `exit`), bps.
    pub return_bps: f64,
    pub exit: Exit,
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub series: Vec<SeriesRows>,
    pub samples: Vec<Sample>,
    pub seq_len: usize,
    pub n_features: usize,
}

impl Dataset {
    /// Runs every bar event through per-symbol `SymbolState`s and labels each complete window.
    /// Non-bar events are ignored (training from trades or quotes is not supported yet: bars
    /// built from trades are identical to klines, so export them or use klines); rejected and
    /// duplicate bars are skipped as the engine skips them.
    pub fn build(
        events: impl IntoIterator<Item = MarketEvent>,
        spec: &FeatureSpec,
        policy: StatePolicy,
        labels: &LabelsConfig,
    ) -> Self {
        let seq_len = policy.seq_len;
        let mut states: BTreeMap<(Exchange, Symbol), (SymbolState, SeriesRows)> = BTreeMap::new();
        for ev in events {
            let Some(bar) = ev.as_bar() else { continue };
            let key = (ev.exchange, ev.symbol.clone());
            let (state, rows) = states.entry(key).or_insert_with(|| {
                let rows = SeriesRows {
                    exchange: ev.exchange,
                    symbol: ev.symbol.clone(),
                    close_time_ms: Vec::new(),
                    open: Vec::new(),
                    high: Vec::new(),
                    low: Vec::new(),
                    close: Vec::new(),
                    segment: Vec::new(),
                    filled: Vec::new(),
                    raw: Vec::new(),
                    scaled: Vec::new(),
                };
                (SymbolState::new(spec, policy), rows)
            });
            let mut reset = false;
            // Rejections and duplicates produce no step: nothing to record.
            let _ = state.on_bar(bar, None, |step| match step {
                Step::Reset { .. } => reset = true,
                Step::Bar {
                    bar,
                    filled,
                    row,
                    complete,
                    ..
                } => {
                    let seg = rows.segment.last().copied().unwrap_or(0) + u32::from(reset);
                    reset = false;
                    rows.close_time_ms.push(bar.close_time_ms);
                    rows.open.push(bar.open);
                    rows.high.push(bar.high);
                    rows.low.push(bar.low);
                    rows.close.push(bar.close);
                    rows.segment.push(seg);
                    rows.filled.push(filled);
                    rows.raw.push(complete.then(|| row.to_vec()));
                }
            });
        }
        let series: Vec<SeriesRows> = states.into_values().map(|(_, r)| r).collect();
        let mut samples = Vec::new();
        for (si, s) in series.iter().enumerate() {
            samples.extend(label_series(si, s, seq_len, labels));
        }
        Self {
            series,
            samples,
            seq_len,
            n_features: spec.len(),
        }
    }

    /// Fits a scaler on the raw rows of bars that closed before `before_ms` (the training period).
    pub fn fit_scaler(
        &self,
        spec: &FeatureSpec,
        before_ms: i64,
        clip: f64,
    ) -> Result<RobustScaler, ScalerError> {
        let rows: Vec<Vec<f64>> = self
            .series
            .iter()
            .flat_map(|s| s.raw.iter().zip(&s.close_time_ms))
            .filter(|(r, t)| r.is_some() && **t < before_ms)
            .filter_map(|(r, _)| r.clone())
            .collect();
        RobustScaler::fit(spec.names(), &rows, clip)
    }

    /// The streaming scaler's state at the end of the training period: seeded from the fitted
    /// scaler, then fed every training row (bars closed before `before_ms`) in time order, as the
    /// engine would have fed it. Serving in streaming mode starts from here.
    pub fn streaming_state(
        &self,
        fitted: &RobustScaler,
        config: StreamingScalerConfig,
        before_ms: i64,
    ) -> Result<StreamingScaler, ScalerError> {
        let mut st = StreamingScaler::from_fitted(fitted, config)?;
        let mut rows: Vec<(i64, usize, &Vec<f64>)> = self
            .series
            .iter()
            .enumerate()
            .flat_map(|(si, s)| {
                s.raw
                    .iter()
                    .zip(&s.close_time_ms)
                    .filter_map(move |(r, t)| r.as_ref().map(|r| (*t, si, r)))
            })
            .filter(|(t, _, _)| *t < before_ms)
            .collect();
        rows.sort_by_key(|(t, si, _)| (*t, *si));
        for (_, _, r) in rows {
            st.update(r);
        }
        Ok(st)
    }

    /// Scales every row of every series with `scaler`.
    pub fn apply_scaler(&mut self, scaler: &RobustScaler) {
        let nf = self.n_features;
        let mut buf = Vec::with_capacity(nf);
        for s in &mut self.series {
            s.scaled = Vec::with_capacity(s.raw.len() * nf);
            for r in &s.raw {
                match r {
                    Some(r) => {
                        scaler.transform_into(r, &mut buf);
                        s.scaled.extend_from_slice(&buf);
                    }
                    None => s.scaled.extend(std::iter::repeat_n(0.0, nf)),
                }
            }
        }
    }

    /// The last (newest) scaled row of a sample's window: what a model of the present bar alone sees.
    pub fn last_row(&self, s: &Sample) -> &[f32] {
        let nf = self.n_features;
        &self.series[s.series].scaled[s.bar * nf..(s.bar + 1) * nf]
    }

    /// ln(close(t) / close(t-k)) in bps with k = min(`bars`, T-1): the trailing move that a
    /// momentum rule reads, known when bar t closes, from bars inside the sample's own window.
    pub fn trailing_return_bps(&self, s: &Sample, bars: usize) -> f64 {
        let k = bars.min(self.seq_len.saturating_sub(1));
        let c = &self.series[s.series].close;
        (c[s.bar] / c[s.bar - k]).ln() * 1e4
    }

    /// The scaled window of a sample, row-major `[T × F]` (after `apply_scaler`).
    pub fn window(&self, s: &Sample) -> &[f32] {
        let nf = self.n_features;
        let rows = &self.series[s.series].scaled;
        &rows[(s.bar + 1 - self.seq_len) * nf..(s.bar + 1) * nf]
    }
}

/// Samples of one series: real bars t whose rows t-T+1..=t are all present and in one segment,
/// whose entry bar t+1 is real, and whose label bar t+H is in that segment too.
fn label_series(si: usize, s: &SeriesRows, seq_len: usize, labels: &LabelsConfig) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut run = 0usize; // consecutive present rows in the current segment, ending at t
    for t in 0..s.raw.len() {
        let same_seg = t > 0 && s.segment[t] == s.segment[t - 1];
        run = match (&s.raw[t], same_seg) {
            (None, _) => 0,
            (Some(_), true) => run + 1,
            (Some(_), false) => 1,
        };
        // Bar t must be a real bar (the engine emits windows only on those), and so must the entry
        // bar t+1: a filler's open is the last close carried, not a price anyone traded at.
        if run < seq_len || s.filled[t] || s.filled.get(t + 1).is_some_and(|&f| f) {
            continue;
        }
        let h = t + labels.horizon_bars;
        if h >= s.raw.len() || s.segment[h] != s.segment[t] {
            continue;
        }
        if let Some(l) = label_at(s.prices(), t, labels) {
            out.push(Sample {
                series: si,
                bar: t,
                close_time_ms: s.close_time_ms[t],
                profitable: l.profitable,
                return_bps: l.return_bps,
                exit: l.exit,
            });
        }
    }
    out
}
