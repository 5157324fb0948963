//! `signal-engine backtest`: history through the live code path, then the bot's trades.
//!
//! ```text
//! files ─> replay (source → features → scaler → event-time batcher → model, as `run`) ─> signals
//!              └─ bar tap: every bar the feature stage accepted ─> per-symbol price series
//! signals + series ─> simulator (sim.rs) ─> trades, equity ─> stats.rs ─> report.rs
//!                  └─> realised labels (quality), threshold sweep, baselines on the same bars
//! ```
//! The signals are the replay's, byte for byte, except `latency_us` (wall time, set to 0 in
//! `signals.jsonl` so two runs give identical files). Nothing here reads a bar before the replay
//! has emitted the signals: the simulator only looks forward from a signal's bar to place its
//! trade, as a bot would, and the price series it reads are the bars the engine itself accepted.

pub mod audit;
pub mod plots;
pub mod report;
pub mod sim;
pub mod stats;
pub mod walk;

use crate::app::{AppError, ReplayJob, Speed, Summary, run_replay_tapped};
use crate::config::{Config, TradeRule};
use crate::event::{Exchange, Symbol};
use crate::ingest::replay::ReplayOptions;
use crate::signal::Signal;
use crate::trainer::calibration::{CalibrationBin, calibration_bins};
use crate::trainer::labels::label_at;
use crate::trainer::metrics::roc_auc;
use crate::trainer::shadow::{ShadowInput, ShadowTx};
use rand::SeedableRng;
use rand::seq::index::sample;
use serde::Serialize;
use sim::{Series, SimCounts, SimTrade, equity, simulate};
use stats::{Curve, Stats};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// One backtest.
#[derive(Clone, Debug)]
pub struct BacktestJob {
    pub config: Config,
    pub config_name: String,
    pub input: ReplayOptions,
    pub data: Vec<PathBuf>,
    pub model_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Follows the run: bars replayed, the event time reached, the phase (`prefix`). The CLI's
    /// draws on stderr when it is a terminal; `ProgressBar::hidden()` for none.
    pub progress: indicatif::ProgressBar,
}

/// A symbol as the report names it.
pub type Key = (Exchange, Symbol);

fn key_name(k: &Key) -> String {
    format!("{}:{}", k.0.as_str(), k.1)
}

/// A symbol's signals and bars.
struct Market {
    series: Series,
    /// Signals in bar order, with the index of their bar.
    signals: Vec<(usize, Signal)>,
}

/// Where a backtest's time went (printed, never in the report: it is not deterministic).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// The replay through the engine, signals settled, the causality audit.
    pub replay_secs: f64,
    /// Simulation, baselines, sweep, quality and the files.
    pub evaluate_secs: f64,
}

/// Runs the backtest and writes `signals.jsonl`, `trades.csv`, `report.json` and `report.md`
/// into `out_dir`. Returns the report, the replay's summary and the timing.
#[allow(clippy::disallowed_methods)] // times its two phases on the wall clock
pub async fn run_backtest(job: BacktestJob) -> Result<(report::Report, Summary, Timing), AppError> {
    let started = std::time::Instant::now();
    let config = fixed_model(&job.config);
    std::fs::create_dir_all(&job.out_dir).map_err(|e| io(&job.out_dir, e))?;
    let manifest = read_manifest(&job.model_dir)?;
    let raw = job.out_dir.join("signals.replay.jsonl");
    let _ = std::fs::remove_file(job.out_dir.join("signals.jsonl"));
    let (summary, series) =
        replay_with_bars(&config, &job, &job.data, &job.model_dir, &raw).await?;
    let signals = settle_signals(&raw, &job.out_dir.join("signals.jsonl"), |_| true)?;
    job.progress.set_prefix("causality audit");
    let audit = causality(&config, &job, &job.model_dir, &signals)?;
    let replay_secs = started.elapsed().as_secs_f64();
    job.progress
        .set_prefix("simulating trades, writing the report");
    let markets = join(series, signals)?;
    let report = finish(
        &config,
        &job,
        &manifest.labels,
        &markets,
        &summary.model_version,
        |r| {
            r.model_training = training_overlap(&manifest, &markets);
            r.causality_audit = audit;
        },
    )?;
    let timing = Timing {
        replay_secs,
        evaluate_secs: started.elapsed().as_secs_f64() - replay_secs,
    };
    job.progress.finish_and_clear();
    Ok((report, summary, timing))
}

/// A backtest runs fixed bundles: no registry, no shadow refits, no API.
fn fixed_model(cfg: &Config) -> Config {
    let mut config = cfg.clone();
    config.model.registry = None;
    config.shadow.enabled = false;
    config.api.enabled = false;
    config
}

/// Replays `data` with the bundle at `model_dir` through the live path, writing its signals to
/// `raw`; returns the summary and the bars the feature stage accepted, per symbol.
async fn replay_with_bars(
    config: &Config,
    job: &BacktestJob,
    data: &[PathBuf],
    model_dir: &Path,
    raw: &Path,
) -> Result<(Summary, BTreeMap<Key, Series>), AppError> {
    let (tap, mut rx) = ShadowTx::bar_tap(4096);
    let progress = job.progress.clone();
    let collect = tokio::spawn(async move {
        let mut series: BTreeMap<Key, Series> = BTreeMap::new();
        let mut shown_ms = i64::MIN;
        while let Some(item) = rx.recv().await {
            if let ShadowInput::Bar(b) = item {
                progress.inc(1);
                // The event time reached, once per hour of it (a message per bar would cost
                // more than the bar).
                if b.close_time_ms >= shown_ms.saturating_add(3_600_000) {
                    shown_ms = b.close_time_ms;
                    let secs = progress.elapsed().as_secs_f64().max(1e-3);
                    progress.set_message(format!(
                        "at {}, {:.0} bars/s",
                        report::time(b.close_time_ms),
                        progress.position() as f64 / secs
                    ));
                }
                let s = series.entry((b.exchange, b.symbol)).or_default();
                s.close_time_ms.push(b.close_time_ms);
                s.open.push(b.open);
                s.high.push(b.high);
                s.low.push(b.low);
                s.close.push(b.close);
                s.filled.push(b.filled);
            }
        }
        series
    });
    let replay = ReplayJob {
        config: config.clone(),
        config_name: job.config_name.clone(),
        input: job.input.clone(),
        data: data.to_vec(),
        model_dir: model_dir.to_path_buf(),
        out: Some(raw.to_path_buf()),
        speed: Speed::Max,
    };
    let summary = run_replay_tapped(replay, std::future::pending(), Some(tap)).await?;
    let series = collect.await.map_err(|e| AppError::Stage(e.to_string()))?;
    Ok((summary, series))
}

/// Evaluates the markets under the config's rule (exits defaulting to the model's labels),
/// lets `amend` fill in what only the caller knows, and writes the files.
fn finish(
    config: &Config,
    job: &BacktestJob,
    labels: &crate::config::LabelsConfig,
    markets: &BTreeMap<Key, Market>,
    model_version: &str,
    amend: impl FnOnce(&mut report::Report),
) -> Result<report::Report, AppError> {
    // The model's own label definition: what its p means, and the rule's default exits.
    let mut config = config.clone();
    config.labels = labels.clone();
    let rule = config.backtest.rule(&config.labels);
    let mut report = evaluate(&config, markets, &rule, model_version, job)?;
    amend(&mut report);
    report::write(&job.out_dir, &report, &trades_of(markets, &rule))?;
    plots::write(&job.out_dir, &report)?;
    Ok(report)
}

fn io(path: &Path, e: std::io::Error) -> AppError {
    AppError::Stage(format!("{}: {e}", path.display()))
}

/// Reads the replay's signals, appends those `keep` accepts to `out` with `latency_us` = 0 (the
/// one wall-clock field), removes the raw file.
fn settle_signals(
    raw: &Path,
    out: &Path,
    keep: impl Fn(&Signal) -> bool,
) -> Result<Vec<Signal>, AppError> {
    let file = std::fs::File::open(raw).map_err(|e| io(raw, e))?;
    let mut signals = Vec::new();
    let target = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map_err(|e| io(out, e))?;
    let mut w = std::io::BufWriter::new(target);
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| io(raw, e))?;
        let mut s: Signal = serde_json::from_str(&line)
            .map_err(|e| AppError::Stage(format!("{}: {e}", raw.display())))?;
        if !keep(&s) {
            continue;
        }
        s.latency_us = 0;
        let text = serde_json::to_string(&s).map_err(|e| AppError::Stage(e.to_string()))?;
        writeln!(w, "{text}").map_err(|e| io(out, e))?;
        signals.push(s);
    }
    w.flush().map_err(|e| io(out, e))?;
    std::fs::remove_file(raw).map_err(|e| io(raw, e))?;
    Ok(signals)
}

/// Rebuilds `backtest.audit_points` signals' windows from the input cut after their bar.
fn causality(
    config: &Config,
    job: &BacktestJob,
    model_dir: &Path,
    signals: &[Signal],
) -> Result<audit::Audit, AppError> {
    let n = config.backtest.audit_points;
    if n == 0 {
        return Ok(audit::Audit::default());
    }
    let make = crate::app::engine_factory(config, &job.config_name, model_dir)?;
    // The same files and rules, without writing dead letters a second time.
    let opts = ReplayOptions {
        dead_letters: None,
        ..job.input.clone()
    };
    let events = crate::ingest::replay::ReplaySource::open(&job.data, &opts)?
        .collect::<Result<Vec<_>, _>>()?;
    let points = audit::spread(
        signals
            .iter()
            .map(|s| (s.exchange, s.symbol.clone(), s.bar_close_time_ms))
            .collect(),
        n,
    );
    let audit = audit::audit(&events, &points, || make());
    if !audit.leaks.is_empty() {
        return Err(AppError::Stage(format!(
            "look-ahead detected: {} of {} audited windows depend on data after their bar: {}",
            audit.leaks.len(),
            audit.checked,
            audit.leaks.join("; ")
        )));
    }
    Ok(audit)
}

fn read_manifest(dir: &Path) -> Result<crate::registry::Manifest, AppError> {
    let p = dir.join("manifest.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
    serde_json::from_str(&text).map_err(|e| AppError::Stage(format!("{}: {e}", p.display())))
}

/// The model's training periods, and how many of the backtest's signals fall in the data it was
/// fitted or tuned on (train start to validation end): those are in-sample, not performance.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrainingOverlap {
    pub train_from_ms: i64,
    pub validation_to_ms: i64,
    pub test_from_ms: i64,
    pub test_to_ms: i64,
    pub signals_in_training_data: u64,
}

fn training_overlap(
    m: &crate::registry::Manifest,
    markets: &BTreeMap<Key, Market>,
) -> TrainingOverlap {
    let t = &m.training;
    let (from, to) = (t.train.from_ms, t.validation.to_ms);
    let symbols: std::collections::BTreeSet<&str> = t.symbols.iter().map(String::as_str).collect();
    TrainingOverlap {
        train_from_ms: from,
        validation_to_ms: to,
        test_from_ms: t.test.from_ms,
        test_to_ms: t.test.to_ms,
        signals_in_training_data: markets
            .iter()
            .filter(|(k, _)| symbols.is_empty() || symbols.contains(k.1.as_str()))
            .flat_map(|(_, m)| m.signals.iter())
            .filter(|(_, s)| (from..=to).contains(&s.bar_close_time_ms))
            .count() as u64,
    }
}

/// Puts each signal on its symbol's bar.
fn join(
    series: BTreeMap<Key, Series>,
    signals: Vec<Signal>,
) -> Result<BTreeMap<Key, Market>, AppError> {
    let mut markets: BTreeMap<Key, Market> = series
        .into_iter()
        .map(|(k, series)| {
            let m = Market {
                series,
                signals: Vec::new(),
            };
            (k, m)
        })
        .collect();
    for s in signals {
        let key = (s.exchange, s.symbol.clone());
        let m = markets.get_mut(&key).ok_or_else(|| {
            AppError::Stage(format!("a signal of {} without its bars", key_name(&key)))
        })?;
        let i = m.series.index_of(s.bar_close_time_ms).ok_or_else(|| {
            AppError::Stage(format!(
                "{}: a signal at {} on no bar the engine accepted",
                key_name(&key),
                s.bar_close_time_ms
            ))
        })?;
        m.signals.push((i, s));
    }
    for m in markets.values_mut() {
        m.signals.sort_by_key(|(i, _)| *i);
    }
    markets.retain(|_, m| !m.signals.is_empty());
    Ok(markets)
}

/// The bars where the bot enters at `threshold` (each signal's own when `None`).
fn fired(m: &Market, rule: &TradeRule, threshold: Option<f64>) -> Vec<usize> {
    m.signals
        .iter()
        .filter(|(_, s)| !rule.require_valid_features || s.features_valid)
        .filter(|(_, s)| s.p_profitable >= threshold.unwrap_or(s.threshold))
        .map(|(i, _)| *i)
        .collect()
}

/// The bars a signal was emitted on: the period the model could act in.
fn eligible(m: &Market) -> Vec<usize> {
    m.signals.iter().map(|(i, _)| *i).collect()
}

/// One row of `trades.csv`.
pub struct TradeRow {
    pub symbol: String,
    pub signal_ms: i64,
    pub entry_ms: i64,
    pub exit_ms: i64,
    pub p: f64,
    pub trade: SimTrade,
}

/// Trades of every symbol at the rule's threshold, with their bar times and signal.
fn trades_of(markets: &BTreeMap<Key, Market>, rule: &TradeRule) -> Vec<TradeRow> {
    let mut rows = Vec::new();
    for (k, m) in markets {
        let p_at: BTreeMap<usize, f64> = m
            .signals
            .iter()
            .map(|(i, s)| (*i, s.p_profitable))
            .collect();
        let t_at = |i: usize| m.series.close_time_ms[i];
        for t in simulate(&m.series, &fired(m, rule, rule.threshold), rule).0 {
            rows.push(TradeRow {
                symbol: key_name(k),
                signal_ms: t_at(t.signal),
                entry_ms: t_at(t.entry),
                exit_ms: t_at(t.exit),
                p: p_at.get(&t.signal).copied().unwrap_or(f64::NAN),
                trade: t,
            });
        }
    }
    rows
}

/// One symbol's run of some entry rule.
struct Run {
    trades: Vec<SimTrade>,
    counts: SimCounts,
    pnl: Vec<f64>,
    open: Vec<bool>,
}

fn run_on(m: &Market, entries: &[usize], rule: &TradeRule) -> Run {
    let (trades, counts) = simulate(&m.series, entries, rule);
    let (pnl, open) = equity(&m.series, &trades, rule);
    Run {
        trades,
        counts,
        pnl,
        open,
    }
}

/// The bars from the first signal's to the last bar: where each symbol's curve is measured.
fn span(m: &Market) -> std::ops::Range<usize> {
    let first = m.signals.first().map_or(0, |(i, _)| *i);
    first..m.series.len()
}

/// Stats of one symbol's run.
fn symbol_stats(m: &Market, r: &Run, rule: &TradeRule) -> Stats {
    let sp = span(m);
    let curve = Curve {
        time_ms: m.series.close_time_ms[sp.clone()].to_vec(),
        pnl: r.pnl[sp.clone()].to_vec(),
        open_bars: r.open[sp.clone()].iter().filter(|o| **o).count() as u64,
        bars: sp.len() as u64,
    };
    stats::stats(&r.trades, &curve, rule.notional, rule.notional)
}

/// Stats of all symbols' runs together: capital one notional each, equity summed on the union
/// of their bar times (each symbol's profit carried forward between its bars).
fn overall_stats(markets: &BTreeMap<Key, Market>, runs: &[Run], rule: &TradeRule) -> Stats {
    overall(markets, runs, rule).0
}

/// [`overall_stats`] and the summed curve it was measured on.
fn overall(markets: &BTreeMap<Key, Market>, runs: &[Run], rule: &TradeRule) -> (Stats, Curve) {
    let mut times: Vec<i64> = markets
        .values()
        .flat_map(|m| m.series.close_time_ms[span(m)].iter().copied())
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut pnl = vec![0.0; times.len()];
    let (mut open_bars, mut bars) = (0u64, 0u64);
    for (m, r) in markets.values().zip(runs) {
        let sp = span(m);
        let ts = &m.series.close_time_ms[sp.clone()];
        let mut j = 0usize;
        let mut last = 0.0;
        for (k, t) in times.iter().enumerate() {
            while j < ts.len() && ts[j] <= *t {
                last = r.pnl[sp.start + j];
                j += 1;
            }
            pnl[k] += last;
        }
        open_bars += r.open[sp.clone()].iter().filter(|o| **o).count() as u64;
        bars += sp.len() as u64;
    }
    let curve = Curve {
        time_ms: times,
        pnl,
        open_bars,
        bars,
    };
    let trades: Vec<SimTrade> = runs.iter().flat_map(|r| r.trades.iter().copied()).collect();
    let capital = rule.notional * markets.len() as f64;
    (stats::stats(&trades, &curve, capital, rule.notional), curve)
}

/// Per symbol and overall stats of an entry rule given per symbol.
fn evaluate_rule(
    markets: &BTreeMap<Key, Market>,
    rule: &TradeRule,
    entries: impl Fn(&Market) -> Vec<usize>,
) -> (Stats, BTreeMap<String, Stats>, SimCounts, Curve) {
    let runs: Vec<Run> = markets
        .values()
        .map(|m| run_on(m, &entries(m), rule))
        .collect();
    let per: BTreeMap<String, Stats> = markets
        .iter()
        .zip(&runs)
        .map(|((k, m), r)| (key_name(k), symbol_stats(m, r, rule)))
        .collect();
    let mut counts = SimCounts::default();
    for r in &runs {
        counts.absorb(&r.counts);
    }
    let (stats, curve) = overall(markets, &runs, rule);
    (stats, per, counts, curve)
}

/// Signal quality on realised labels (the model's own label definition, `[labels]`).
#[derive(Clone, Debug, Serialize)]
pub struct Quality {
    /// Signals with a realised label (the last H bars of each symbol have none).
    pub labelled: u64,
    pub positive_rate: Option<f64>,
    pub auc: Option<f64>,
    /// Fraction of signals at or above the threshold that were profitable.
    pub precision_at_threshold: Option<f64>,
    /// Signals at or above the threshold.
    pub above_threshold: u64,
    pub calibration: Vec<CalibrationBin>,
}

fn quality(cfg: &Config, markets: &[&Market]) -> Quality {
    let (mut p, mut y, mut above, mut hits) = (Vec::new(), Vec::new(), 0u64, 0u64);
    for m in markets {
        for (i, s) in &m.signals {
            if let Some(l) = label_at(m.series.prices(), *i, &cfg.labels) {
                p.push(s.p_profitable);
                y.push(l.profitable);
                if s.p_profitable >= s.threshold {
                    above += 1;
                    hits += u64::from(l.profitable);
                }
            }
        }
    }
    let n = p.len();
    let both = y.iter().any(|v| *v) && y.iter().any(|v| !*v);
    Quality {
        labelled: n as u64,
        positive_rate: (n > 0).then(|| y.iter().filter(|v| **v).count() as f64 / n as f64),
        auc: both.then(|| roc_auc(&p, &y)),
        precision_at_threshold: (above > 0).then(|| hits as f64 / above as f64),
        above_threshold: above,
        calibration: calibration_bins(&p, &y),
    }
}

/// One row of the threshold sweep (all symbols).
#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    pub threshold: f64,
    pub trades: u64,
    pub win_rate: Option<f64>,
    pub expectancy_bps: Option<f64>,
    pub profit_factor: Option<f64>,
    pub total_return: f64,
    pub max_drawdown: f64,
}

/// The baselines on the same bars and rule.
#[derive(Clone, Debug, Serialize)]
pub struct Baselines {
    /// Long from the first signal bar's next open to the last close, every symbol.
    pub buy_and_hold: Stats,
    /// Entries at random signal bars, as many trades per symbol as the model made (fewer only
    /// when non-overlapping room runs out), the same exits; the mean of each statistic over
    /// `random_seeds` seeds.
    pub random_entries: Stats,
    pub random_seeds: u32,
    /// Enter when the last H bars rose (close(t) > close(t−H)); the same exits.
    pub momentum: Stats,
}

fn buy_and_hold(markets: &BTreeMap<Key, Market>, rule: &TradeRule) -> (Stats, Curve) {
    let hold = TradeRule {
        take_profit_bps: None,
        stop_loss_bps: None,
        ..*rule
    };
    let runs: Vec<Run> = markets
        .values()
        .map(|m| {
            let first = span(m).start;
            let h = TradeRule {
                horizon_bars: m.series.len().saturating_sub(1 + first).max(1),
                ..hold
            };
            run_on(m, &[first], &h)
        })
        .collect();
    overall(markets, &runs, rule)
}

fn random_entries(markets: &BTreeMap<Key, Market>, rule: &TradeRule, seeds: u32) -> Stats {
    let counts: Vec<usize> = markets
        .values()
        .map(|m| {
            simulate(&m.series, &fired(m, rule, rule.threshold), rule)
                .0
                .len()
        })
        .collect();
    let runs: Vec<Stats> = (0..seeds)
        .map(|seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(seed));
            let per: Vec<Run> = markets
                .values()
                .zip(&counts)
                .map(|(m, &k)| run_on(m, &random_picks(m, rule, k, &mut rng), rule))
                .collect();
            overall_stats(markets, &per, rule)
        })
        .collect();
    report::mean_stats(&runs)
}

/// `k` entry bars drawn at random among the signal bars whose trades do not overlap (as many
/// trades as the model made, when the period has room for them), ascending.
fn random_picks(
    m: &Market,
    rule: &TradeRule,
    k: usize,
    rng: &mut rand::rngs::StdRng,
) -> Vec<usize> {
    let bars = eligible(m);
    let order = sample(rng, bars.len(), bars.len());
    // Accepted trades as signal bar → exit bar; a trade at t holds [t, exit).
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    for i in order {
        if taken.len() >= k {
            break;
        }
        let t = bars[i];
        let Some(x) = simulate(&m.series, &[t], rule).0.first().map(|x| x.exit) else {
            continue;
        };
        let before = taken.range(..=t).next_back().is_some_and(|(_, e)| *e > t);
        let after = taken.range(t..).next().is_some_and(|(s, _)| *s < x);
        if !before && !after {
            taken.insert(t, x);
        }
    }
    taken.into_keys().collect()
}

fn momentum(markets: &BTreeMap<Key, Market>, rule: &TradeRule) -> Stats {
    let h = rule.horizon_bars;
    evaluate_rule(markets, rule, |m| {
        eligible(m)
            .into_iter()
            .filter(|&t| t >= h && m.series.close[t] > m.series.close[t - h])
            .collect()
    })
    .0
}

/// The signals' own threshold when they all share one (the usual case: the config's).
fn common_threshold(markets: &BTreeMap<Key, Market>) -> Option<f64> {
    let mut all = markets
        .values()
        .flat_map(|m| m.signals.iter().map(|(_, s)| s.threshold));
    let first = all.next()?;
    all.all(|t| t == first).then_some(first)
}

fn evaluate(
    cfg: &Config,
    markets: &BTreeMap<Key, Market>,
    rule: &TradeRule,
    model_version: &str,
    job: &BacktestJob,
) -> Result<report::Report, AppError> {
    if markets.is_empty() {
        return Err(AppError::Stage(format!(
            "no signals: nothing to backtest in {:?} (each symbol needs its warm-up first)",
            job.data
        )));
    }
    let (overall, per_symbol, counts, curve) =
        evaluate_rule(markets, rule, |m| fired(m, rule, rule.threshold));
    let (hold, hold_curve) = buy_and_hold(markets, rule);
    let all: Vec<&Market> = markets.values().collect();
    let quality_per: BTreeMap<String, Quality> = markets
        .iter()
        .map(|(k, m)| (key_name(k), quality(cfg, &[m])))
        .collect();
    let sweep = cfg
        .backtest
        .sweep()
        .into_iter()
        .map(|thr| {
            let (s, ..) = evaluate_rule(markets, rule, |m| fired(m, rule, Some(thr)));
            SweepRow {
                threshold: thr,
                trades: s.trades,
                win_rate: s.win_rate,
                expectancy_bps: s.expectancy_bps,
                profit_factor: s.profit_factor,
                total_return: s.total_return,
                max_drawdown: s.max_drawdown,
            }
        })
        .collect();
    let baselines = Baselines {
        buy_and_hold: hold,
        random_entries: random_entries(markets, rule, cfg.backtest.random_seeds),
        random_seeds: cfg.backtest.random_seeds,
        momentum: momentum(markets, rule),
    };
    let from = markets
        .values()
        .filter_map(|m| m.signals.first().map(|(_, s)| s.bar_close_time_ms))
        .min()
        .unwrap_or(0);
    let to = markets
        .values()
        .filter_map(|m| m.series.close_time_ms.last().copied())
        .max()
        .unwrap_or(0);
    Ok(report::Report {
        model_version: model_version.to_string(),
        data: job.data.iter().map(|p| p.display().to_string()).collect(),
        from_ms: from,
        to_ms: to,
        symbols: markets.keys().map(key_name).collect(),
        bars: markets.values().map(|m| m.series.len() as u64).sum(),
        signals: markets.values().map(|m| m.signals.len() as u64).sum(),
        rule: *rule,
        simulation: counts,
        overall,
        per_symbol,
        quality: quality(cfg, &all),
        quality_per_symbol: quality_per,
        sweep,
        baselines,
        model_training: TrainingOverlap::default(),
        causality_audit: audit::Audit::default(),
        walk_forward: None,
        curves: plots::Curves {
            model: curve,
            buy_and_hold: hold_curve,
            capital: rule.notional * markets.len() as f64,
            threshold: rule.threshold.or_else(|| common_threshold(markets)),
        },
    })
}
