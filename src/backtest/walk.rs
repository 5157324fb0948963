//! Walk-forward backtests (`--walk-forward train=30d,test=7d[,purge=N]`): retrain on each past
//! window with the training pipeline, trade the next window with that model, slide by the test
//! length, and report the folds' test windows together.
//!
//! Fold k trains on [start + k·test, + train) (the trainer's own chronological split inside it
//! picks the epoch and threshold), skips `purge` bars (default: the label horizon + the window
//! length, as the trainer's purge), then trades [train end + purge, + test). Each fold's replay
//! starts its warm-up's worth of bars before its test window (those bars only warm the
//! indicators; their signals are dropped), and only signals inside the test window count. The
//! fold's bundle stays in `folds/k/model`, so any fold can be replayed or inspected.

use super::{
    BacktestJob, Key, Timing, causality, finish, fixed_model, io, join, replay_with_bars, report,
    settle_signals,
};
use crate::app::AppError;
use crate::event::MarketEvent;
use crate::ingest::replay::{ReplayOptions, ReplaySource};
use crate::registry::save_bundle;
use crate::trainer::{Quiet, train};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// `--walk-forward`: window lengths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WalkForward {
    pub train_ms: i64,
    pub test_ms: i64,
    /// Bars between a fold's training data and its test window; `None`: H + T.
    pub purge_bars: Option<usize>,
}

impl std::str::FromStr for WalkForward {
    type Err = String;

    /// `train=30d,test=7d[,purge=75]` (durations as humantime reads them: 30d, 12h, 1w...).
    fn from_str(s: &str) -> Result<Self, String> {
        let (mut train, mut test, mut purge) = (None, None, None);
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let dur = || {
                humantime::parse_duration(v.trim())
                    .map(|d| d.as_millis() as i64)
                    .map_err(|e| format!("{k}={v}: {e}"))
            };
            match k.trim() {
                "train" => train = Some(dur()?),
                "test" => test = Some(dur()?),
                "purge" => {
                    purge = Some(
                        v.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("purge={v}: a number of bars ({e})"))?,
                    )
                }
                other => return Err(format!("{other:?}: expected train, test or purge")),
            }
        }
        match (train, test) {
            (Some(train_ms), Some(test_ms)) if train_ms > 0 && test_ms > 0 => Ok(Self {
                train_ms,
                test_ms,
                purge_bars: purge,
            }),
            _ => Err(format!(
                "{s:?}: needs train=DURATION and test=DURATION, e.g. train=30d,test=7d"
            )),
        }
    }
}

/// One fold, as the report lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Fold {
    pub fold: usize,
    pub train_from_ms: i64,
    pub train_to_ms: i64,
    pub test_from_ms: i64,
    pub test_to_ms: i64,
    pub model_version: String,
    /// The fold model's AUC on its own held-out split (inside its training window).
    pub model_test_auc: f64,
    pub signals: u64,
}

/// Runs the walk-forward backtest into `job.out_dir`.
#[allow(clippy::disallowed_methods)] // times its phases on the wall clock
pub async fn run_walk_forward(
    job: BacktestJob,
    wf: WalkForward,
) -> Result<(report::Report, Timing), AppError> {
    let started = std::time::Instant::now();
    let config = fixed_model(&job.config);
    std::fs::create_dir_all(&job.out_dir).map_err(|e| io(&job.out_dir, e))?;
    let signals_path = job.out_dir.join("signals.jsonl");
    let _ = std::fs::remove_file(&signals_path);
    let opts = ReplayOptions {
        dead_letters: None,
        ..job.input.clone()
    };
    let events: Vec<MarketEvent> =
        ReplaySource::open(&job.data, &opts)?.collect::<Result<_, _>>()?;
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(AppError::Stage(format!("{:?}: no events", job.data)));
    };
    let (start, end) = (first.ts_event_ns / 1_000_000, last.ts_event_ns / 1_000_000);
    let interval = config.interval_ms();
    let purge = wf
        .purge_bars
        .unwrap_or(config.labels.horizon_bars + config.features.seq_len) as i64
        * interval;

    let mut folds = Vec::new();
    let mut all_signals = Vec::new();
    let mut bars: BTreeMap<Key, std::collections::BTreeSet<i64>> = BTreeMap::new();
    let mut series_all: BTreeMap<Key, super::sim::Series> = BTreeMap::new();
    let mut labels = config.labels.clone();
    let mut first_model: Option<PathBuf> = None;
    for k in 0.. {
        let train_from = start + k as i64 * wf.test_ms;
        let train_to = train_from + wf.train_ms;
        let test_from = train_to + purge;
        if test_from >= end {
            break;
        }
        let test_to = (test_from + wf.test_ms).min(end + 1);
        let dir = job.out_dir.join("folds").join(k.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let in_range = |e: &&MarketEvent, a: i64, b: i64| {
            let t = e.ts_event_ns / 1_000_000;
            t >= a && t < b
        };
        tracing::info!(fold = k, "training on {train_from}..{train_to}");
        job.progress.set_prefix(format!(
            "fold {k}: training on {} days",
            wf.train_ms / 86_400_000
        ));
        let train_events: Vec<MarketEvent> = events
            .iter()
            .filter(|e| in_range(e, train_from, train_to))
            .cloned()
            .collect();
        let mut outcome = train(&config, train_events, Vec::new(), &mut Quiet)
            .map_err(|e| AppError::Stage(format!("fold {k}: training failed: {e}")))?;
        let model_dir = dir.join("model");
        save_bundle(
            &model_dir,
            &mut outcome.manifest,
            &outcome.scaler,
            Some(&outcome.streaming),
            &outcome.net,
            |_| Vec::new(),
        )
        .map_err(|e| AppError::Stage(format!("fold {k}: {e}")))?;
        labels = outcome.manifest.labels.clone();
        first_model.get_or_insert_with(|| model_dir.clone());
        // Bars before the test window that warm the indicators and fill the first window.
        let warmup_bars = crate::app::engine_factory(&config, &job.config_name, &model_dir)?()
            .warmup_bars() as i64;
        let warmup = (warmup_bars + 1) * interval;
        // The test window and its warm-up, as MarketEvent JSONL the replay reads.
        let input = dir.join("input.jsonl");
        {
            let f = std::fs::File::create(&input).map_err(|e| io(&input, e))?;
            let mut w = std::io::BufWriter::new(f);
            for e in events
                .iter()
                .filter(|e| in_range(e, test_from - warmup, test_to))
            {
                let line = serde_json::to_string(e).map_err(|e| AppError::Stage(e.to_string()))?;
                writeln!(w, "{line}").map_err(|e| io(&input, e))?;
            }
            w.flush().map_err(|e| io(&input, e))?;
        }
        let raw = dir.join("signals.replay.jsonl");
        job.progress.set_prefix(format!("fold {k}: trading"));
        let (_, series) = replay_with_bars(
            &config,
            &job,
            std::slice::from_ref(&input),
            &model_dir,
            &raw,
        )
        .await?;
        std::fs::remove_file(&input).map_err(|e| io(&input, e))?;
        let kept = settle_signals(&raw, &signals_path, |s| {
            (test_from..test_to).contains(&s.bar_close_time_ms)
        })?;
        // Bars: the union over folds (a fold's warm-up repeats the previous fold's last bars).
        for (key, s) in series {
            let seen = bars.entry(key.clone()).or_default();
            let into = series_all.entry(key).or_default();
            for i in 0..s.len() {
                if !seen.insert(s.close_time_ms[i]) {
                    continue;
                }
                into.close_time_ms.push(s.close_time_ms[i]);
                into.open.push(s.open[i]);
                into.high.push(s.high[i]);
                into.low.push(s.low[i]);
                into.close.push(s.close[i]);
                into.filled.push(s.filled[i]);
            }
        }
        folds.push(Fold {
            fold: k,
            train_from_ms: train_from,
            train_to_ms: train_to,
            test_from_ms: test_from,
            test_to_ms: test_to,
            model_version: outcome.manifest.version.clone(),
            model_test_auc: outcome.manifest.metrics.model.roc_auc,
            signals: kept.len() as u64,
        });
        all_signals.extend(kept);
    }
    if folds.is_empty() {
        return Err(AppError::Stage(format!(
            "the data spans {} days: not enough for one fold of train + purge + test",
            (end - start) as f64 / 86_400_000.0
        )));
    }
    // Folds overlap in warm-up only, so each series is in time order once sorted.
    for s in series_all.values_mut() {
        sort_series(s);
    }
    job.progress.set_prefix("causality audit");
    let audit = match &first_model {
        Some(m) => causality(&config, &job, m, &all_signals)?,
        None => super::audit::Audit::default(),
    };
    let replay_secs = started.elapsed().as_secs_f64();
    let markets = join(series_all, all_signals)?;
    job.progress
        .set_prefix("simulating trades, writing the report");
    let version = format!("walk-forward, {} folds", folds.len());
    let report = finish(&config, &job, &labels, &markets, &version, |r| {
        r.causality_audit = audit;
        r.walk_forward = Some(folds);
    })?;
    let timing = Timing {
        replay_secs,
        evaluate_secs: started.elapsed().as_secs_f64() - replay_secs,
    };
    job.progress.finish_and_clear();
    Ok((report, timing))
}

fn sort_series(s: &mut super::sim::Series) {
    let mut idx: Vec<usize> = (0..s.len()).collect();
    idx.sort_by_key(|&i| s.close_time_ms[i]);
    let pick = |v: &Vec<f64>| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let (open, high, low, close) = (pick(&s.open), pick(&s.high), pick(&s.low), pick(&s.close));
    s.filled = idx.iter().map(|&i| s.filled[i]).collect();
    s.close_time_ms = idx.iter().map(|&i| s.close_time_ms[i]).collect();
    (s.open, s.high, s.low, s.close) = (open, high, low, close);
}

#[cfg(test)]
mod tests {
    use super::WalkForward;

    #[test]
    fn walk_forward_specs_parse_and_bad_ones_say_why() {
        let w: WalkForward = "train=30d,test=7d,purge=75".parse().unwrap();
        assert_eq!(w.train_ms, 30 * 86_400_000);
        assert_eq!(w.test_ms, 7 * 86_400_000);
        assert_eq!(w.purge_bars, Some(75));
        let w: WalkForward = "test=12h,train=2d".parse().unwrap();
        assert_eq!(
            (w.train_ms, w.test_ms, w.purge_bars),
            (172_800_000, 43_200_000, None)
        );
        for bad in [
            "train=30d",
            "train=30d,test=x",
            "train=1d,test=1d,foo=1",
            "30d",
        ] {
            assert!(bad.parse::<WalkForward>().is_err(), "{bad}");
        }
    }
}
