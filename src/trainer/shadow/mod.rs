//! The shadow trainer: refits the champion on freshly labelled live windows and swaps the
//! challenger in only when it proves better on labels it never saw.
//!
//! ```text
//! feature stage ─(bars, emitted windows: try_send, never blocks)─> resolver ─> labelled buffer
//!   every refit_every_labels labels or refit_every_secs of event time:
//!     buffer snapshot ─> purged split ─> fit (warm start from the champion) on its own thread
//!   challenger ready ─> the next eval_windows labels after its data + purge, scored by both
//!     ─> decide::promotion ─> saved to the registry, swapped into the live model, CURRENT moved
//!   after a promotion ─> the next eval_windows labels, new vs previous ─> keep, or roll back
//! ```
//! It runs on its own thread and trains on another, never on the inference thread or the tokio
//! workers. Live, nothing waits on it and a promotion is one store into the live model. In a
//! replay it keeps step with the data (`lockstep`): the replay pauses while a refit trains, so
//! refits happen at the same points on every run, and its swaps go through a
//! [`SwapSchedule`] in event time, so they reach the same windows on every run and never one
//! that closed before the bar it decided on. Decisions are logged with their numbers, counted,
//! kept (the last 50) and appended to
//! `<registry>/decisions.jsonl`. The previous champion stays loaded while a new one is on
//! probation, so a rollback is one store.

pub mod buffer;
pub mod decide;
pub mod publish;
mod refit;
pub mod resolver;
mod trainer;

pub use refit::{refit, refit_config, score};

use crate::config::Config;
use crate::features::Window;
use crate::registry::schedule::{CloseOnDrop, SwapSchedule};
use crate::registry::watch::{Loader, SwapCounters};
use crate::registry::{LiveModel, LoadedModel, Registry};
use decide::Verdict;
use resolver::{BarSeen, ResolverStats};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use trainer::Trainer;

/// What the feature stage hands over.
#[derive(Debug)]
pub enum ShadowInput {
    Bar(BarSeen),
    Window(Box<Window>),
}

/// The feature stage's end. Live it never blocks (what does not fit is counted, and breaks that
/// symbol's label continuity); in a replay (`lockstep`) it waits, so nothing is lost and the
/// trainer sees every bar.
#[derive(Clone)]
pub struct ShadowTx {
    tx: mpsc::Sender<ShadowInput>,
    dropped: Arc<AtomicU64>,
    wait: bool,
    /// Whether windows are wanted too (a bar tap takes only bars).
    windows: bool,
}

impl ShadowTx {
    /// A lossless tap of the bars the feature stage accepts (the backtest's price series):
    /// sends wait, windows are not sent.
    pub fn bar_tap(capacity: usize) -> (Self, mpsc::Receiver<ShadowInput>) {
        let (tx, rx) = mpsc::channel(capacity);
        let tap = Self {
            tx,
            dropped: Arc::default(),
            wait: true,
            windows: false,
        };
        (tap, rx)
    }

    pub fn wants_windows(&self) -> bool {
        self.windows
    }

    pub async fn send(&self, item: ShadowInput) {
        let sent = if self.wait {
            self.tx.send(item).await.is_ok()
        } else {
            self.tx.try_send(item).is_ok()
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One decision of the shadow trainer.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    /// "promote", "reject", "keep" (after probation), "rollback", or "failed".
    pub kind: &'static str,
    /// The newest bar close time the trainer had seen (event time).
    pub at_bar_ms: i64,
    pub version: Option<String>,
    pub verdict: Option<Verdict>,
    pub detail: String,
}

/// What the shadow trainer did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ShadowStats {
    pub resolver: ResolverStats,
    pub buffered: usize,
    /// Inputs the channel could not take (each breaks its symbol's label continuity).
    pub dropped_inputs: u64,
    pub refits: u64,
    /// Refits that started from fresh weights (`shadow.fresh_start_below_auc`).
    pub fresh_starts: u64,
    pub refit_failures: u64,
    pub promotions: u64,
    pub rejections: u64,
    pub rollbacks: u64,
    /// The newest decisions, oldest first.
    pub decisions: Vec<Decision>,
}

/// Everything the trainer needs from the engine.
pub struct ShadowContext {
    pub config: Config,
    pub registry: Registry,
    pub live: LiveModel,
    /// The engine's checks on a bundle before it serves.
    pub loader: Loader,
    /// The engine's swap counters (a promotion is a swap).
    pub counters: Arc<SwapCounters>,
    /// Replay: the trainer keeps step with the data. Its input waits instead of dropping, a
    /// refit is waited for before the next input is read (so the replay pauses while it trains
    /// and every run refits on the same windows at the same points), its swaps are scheduled in
    /// event time (the inference stage takes them from [`ShadowHandle::schedule`]), and at the
    /// end of the files the last challenger is judged on the labels already buffered. Live
    /// (false): nothing waits on the trainer, and shutdown cancels a refit in flight.
    pub lockstep: bool,
}

/// The trainer's counters, readable while it runs (by the handle and by `/metrics`).
#[derive(Clone)]
pub struct ShadowProbe {
    stats: Arc<Mutex<ShadowStats>>,
    dropped: Arc<AtomicU64>,
}

impl ShadowProbe {
    /// The trainer's counters now.
    pub fn stats(&self) -> ShadowStats {
        let mut s = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        s.dropped_inputs = self.dropped.load(Ordering::Relaxed);
        s
    }
}

/// A running shadow trainer.
pub struct ShadowHandle {
    thread: std::thread::JoinHandle<ShadowStats>,
    probe: ShadowProbe,
    cancel: Arc<AtomicBool>,
    schedule: Option<SwapSchedule<LoadedModel>>,
}

impl ShadowHandle {
    /// The trainer's counters now.
    pub fn stats(&self) -> ShadowStats {
        self.probe.stats()
    }

    pub fn probe(&self) -> ShadowProbe {
        self.probe.clone()
    }

    /// In lockstep, the event-time schedule of the trainer's swaps, for the inference stage.
    pub fn schedule(&self) -> Option<SwapSchedule<LoadedModel>> {
        self.schedule.clone()
    }

    /// Shutdown: no new refit starts and one in flight stops at its next batch (the trainer
    /// still labels what is in its input until it closes).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits for the trainer to end (its input closes when the feature stage ends; a refit in
    /// flight is cancelled).
    pub fn join(self) -> ShadowStats {
        let mut s = self.thread.join().unwrap_or_default();
        s.dropped_inputs = self.probe.dropped.load(Ordering::Relaxed);
        s
    }
}

/// Starts the trainer; the returned sender goes to the feature stage.
pub fn start(ctx: ShadowContext) -> std::io::Result<(ShadowTx, ShadowHandle)> {
    let (cap, wait) = (ctx.config.shadow.channel_capacity, ctx.lockstep);
    let (tx, rx) = mpsc::channel(cap);
    let stats = Arc::new(Mutex::new(ShadowStats::default()));
    let dropped = Arc::new(AtomicU64::new(0));
    let (shared, cancel) = (stats.clone(), Arc::new(AtomicBool::new(false)));
    let stop = cancel.clone();
    let schedule = ctx
        .lockstep
        .then(|| SwapSchedule::new(ctx.live.load_full()));
    let trainer_schedule = schedule.clone();
    let thread = std::thread::Builder::new()
        .name("signal-engine-shadow".into())
        .spawn(move || {
            // Closed however the trainer ends, a panic included: inference never waits on it.
            let _close = trainer_schedule.clone().map(CloseOnDrop);
            Trainer::new(ctx, shared, stop, trainer_schedule).run(rx)
        })?;
    let tx = ShadowTx {
        tx,
        dropped: dropped.clone(),
        wait,
        windows: true,
    };
    Ok((
        tx,
        ShadowHandle {
            thread,
            probe: ShadowProbe { stats, dropped },
            cancel,
            schedule,
        },
    ))
}
