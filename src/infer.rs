//! The inference stage: a micro-batch of windows in, signals out.
//!
//! It loads the live bundle once per batch (so every signal of a batch names one model version),
//! runs `SignalNet::predict` on the batch and turns each row into a [`Signal`]. The stage loop in
//! `app.rs` owns batching and channels; this file owns the scoring.

use crate::clock::EmitClock;
use crate::features::Window;
use crate::registry::{LiveModel, LoadedModel};
use crate::signal::{SCHEMA_VERSION, Signal};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("window of {symbol} is {got_t}×{got_f} but model {version} expects {want_t}×{want_f}")]
    Shape {
        symbol: String,
        version: String,
        got_t: usize,
        got_f: usize,
        want_t: usize,
        want_f: usize,
    },
    #[error("model {0} returned {1} outputs for {2} windows")]
    Outputs(String, usize, usize),
    #[error("model {0} returned a non-finite output for {1} at {2}")]
    NonFinite(String, String, i64),
}

/// A window, when its bar entered the engine, and how long the feature stage took on that bar.
#[derive(Clone, Debug)]
pub struct Stamped<T> {
    pub item: T,
    pub entered: Instant,
    pub feature_us: u64,
}

/// Scores one batch with the model live at this moment.
pub fn score_batch(
    live: &LiveModel,
    batch: &[Stamped<Window>],
    clock: EmitClock,
) -> Result<Vec<Signal>, InferError> {
    let model = live.load_full();
    let (t, f) = (model.manifest.seq_len, model.spec.len());
    let mut x = Vec::with_capacity(batch.len() * t * f);
    for w in batch {
        let w = &w.item;
        if w.seq_len != t || w.n_features != f || w.data.len() != t * f {
            return Err(InferError::Shape {
                symbol: w.symbol.to_string(),
                version: model.manifest.version.clone(),
                got_t: w.seq_len,
                got_f: w.n_features,
                want_t: t,
                want_f: f,
            });
        }
        x.extend_from_slice(&w.data);
    }
    let (p, r) = model.net.predict(x, batch.len(), t, f, &model.device);
    if p.len() != batch.len() || r.len() != batch.len() {
        return Err(InferError::Outputs(
            model.manifest.version.clone(),
            p.len(),
            batch.len(),
        ));
    }
    if let Some(i) = (0..batch.len()).find(|&i| !(p[i].is_finite() && r[i].is_finite())) {
        let w = &batch[i].item;
        return Err(InferError::NonFinite(
            model.manifest.version.clone(),
            w.symbol.to_string(),
            w.bar_close_time_ms,
        ));
    }
    let newest = batch
        .iter()
        .map(|w| w.item.bar_close_time_ms)
        .max()
        .unwrap_or(0);
    let now_ms = clock.now_ms(newest);
    Ok(batch
        .iter()
        .zip(p.iter().zip(&r))
        .map(|(w, (&p, &r))| make_signal(&model, &w.item, p, r, now_ms, w.entered))
        .collect())
}

fn make_signal(
    model: &LoadedModel,
    w: &Window,
    p: f32,
    r: f32,
    now_ms: i64,
    entered: Instant,
) -> Signal {
    let version = &model.manifest.version;
    let p = f64::from(p).clamp(0.0, 1.0);
    Signal {
        schema_version: SCHEMA_VERSION,
        signal_id: Signal::id_for(w.exchange, &w.symbol, w.bar_close_time_ms, version),
        exchange: w.exchange,
        symbol: w.symbol.clone(),
        bar_close_time_ms: w.bar_close_time_ms,
        emitted_at_ms: now_ms,
        model_version: version.clone(),
        p_profitable: p,
        expected_return_bps: f64::from(r),
        threshold: model.threshold,
        decision: Signal::decide(p, model.threshold),
        features_valid: w.features_valid,
        feature_age_ms: (now_ms - w.bar_close_time_ms).max(0),
        latency_us: entered.elapsed().as_micros() as u64,
    }
}
