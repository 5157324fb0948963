//! The trainer's loop: labels in, refits out, judgements, promotions, probation and rollbacks
//! (see the module above for the flow).

use super::buffer::Buffer;
use super::decide::{self, Verdict};
use super::publish::{self, Trained};
use super::refit::{refit, refit_config, score};
use super::resolver::{LabelResolver, Labelled};
use super::{Decision, ShadowContext, ShadowInput, ShadowStats};
use crate::config::ShadowConfig;
use crate::registry::schedule::SwapSchedule;
use crate::registry::watch::swap_with;
use crate::registry::{Action, LoadedModel};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

enum Phase {
    Collecting,
    Training(std::thread::JoinHandle<Result<Trained, String>>),
    /// A challenger waits for fresh labels after `after_ms`.
    Evaluating {
        challenger: Box<Trained>,
        after_ms: i64,
        rows: Vec<Arc<Labelled>>,
    },
    /// A promoted model is compared with its predecessor on the labels after `after_ms`.
    Probation {
        previous: Arc<LoadedModel>,
        promoted: Arc<LoadedModel>,
        after_ms: i64,
        rows: Vec<Arc<Labelled>>,
    },
}

pub(super) struct Trainer {
    ctx: ShadowContext,
    cfg: ShadowConfig,
    resolver: LabelResolver,
    buffer: Buffer,
    phase: Phase,
    labels_since_refit: usize,
    last_refit_ms: Option<i64>,
    /// The newest labelled window's bar close time.
    newest_ms: i64,
    /// The newest bar close time among the inputs (what a decision is stamped with, and where
    /// a replay's swap takes effect).
    seen_ms: i64,
    /// Lockstep: swaps go here, in event time, instead of into the live model.
    schedule: Option<SwapSchedule<LoadedModel>>,
    refits: u64,
    purge_ms: i64,
    purge_bars: usize,
    cancel: Arc<AtomicBool>,
    stats: Arc<Mutex<ShadowStats>>,
}

impl Trainer {
    /// `cancel`: set on shutdown (by the handle or when the input closes): no refit starts after
    /// it, and one in flight stops at its next batch.
    pub(super) fn new(
        ctx: ShadowContext,
        stats: Arc<Mutex<ShadowStats>>,
        cancel: Arc<AtomicBool>,
        schedule: Option<SwapSchedule<LoadedModel>>,
    ) -> Self {
        let c = &ctx.config;
        let (h, t) = (c.labels.horizon_bars, c.features.seq_len);
        Self {
            resolver: LabelResolver::new(c.labels.clone(), c.interval_ms(), t),
            buffer: Buffer::new(c.shadow.buffer_windows),
            cfg: c.shadow.clone(),
            purge_ms: (h + t) as i64 * c.interval_ms(),
            purge_bars: h + t,
            phase: Phase::Collecting,
            labels_since_refit: 0,
            last_refit_ms: None,
            newest_ms: i64::MIN,
            seen_ms: i64::MIN,
            schedule,
            refits: 0,
            cancel,
            ctx,
            stats,
        }
    }

    pub(super) fn run(mut self, mut rx: mpsc::Receiver<ShadowInput>) -> ShadowStats {
        while let Some(item) = rx.blocking_recv() {
            match item {
                ShadowInput::Bar(b) => {
                    self.seen_ms = self.seen_ms.max(b.close_time_ms);
                    for l in self.resolver.on_bar(b) {
                        self.on_label(Arc::new(l));
                    }
                }
                ShadowInput::Window(w) => {
                    self.seen_ms = self.seen_ms.max(w.bar_close_time_ms);
                    self.resolver.on_window(*w);
                }
            }
            self.poll_training(false);
            if let Some(s) = &self.schedule {
                s.seen(self.seen_ms);
            }
            self.publish_stats();
        }
        if self.ctx.lockstep && !self.cancel.load(Ordering::Relaxed) {
            self.poll_training(true);
        } else {
            self.cancel.store(true, Ordering::Relaxed);
            if let Phase::Training(h) = std::mem::replace(&mut self.phase, Phase::Collecting) {
                let _ = h.join(); // cancelled: ends at its next batch
            }
        }
        self.publish_stats();
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn publish_stats(&self) {
        if let Ok(mut s) = self.stats.lock() {
            s.resolver = self.resolver.stats.clone();
            s.buffered = self.buffer.len();
        }
    }

    fn on_label(&mut self, l: Arc<Labelled>) {
        self.newest_ms = self.newest_ms.max(l.bar_close_time_ms);
        self.buffer.push(l.clone());
        self.labels_since_refit += 1;
        let enough = self.cfg.eval_windows;
        let ready = match &mut self.phase {
            Phase::Evaluating { after_ms, rows, .. } | Phase::Probation { after_ms, rows, .. } => {
                if l.bar_close_time_ms > *after_ms {
                    rows.push(l);
                }
                rows.len() >= enough
            }
            Phase::Collecting => {
                self.maybe_refit();
                false
            }
            Phase::Training(_) => false,
        };
        if ready {
            match std::mem::replace(&mut self.phase, Phase::Collecting) {
                Phase::Evaluating {
                    challenger, rows, ..
                } => self.judge(*challenger, &rows),
                Phase::Probation {
                    previous,
                    promoted,
                    rows,
                    ..
                } => self.probation(&previous, &promoted, &rows),
                other => self.phase = other,
            }
        }
    }

    fn maybe_refit(&mut self) {
        let last = *self.last_refit_ms.get_or_insert(self.newest_ms);
        let due = self.labels_since_refit >= self.cfg.refit_every_labels
            || self.newest_ms - last >= self.cfg.refit_every_secs as i64 * 1000;
        if !due
            || self.buffer.len() < self.cfg.min_train_windows
            || self.cancel.load(Ordering::Relaxed)
        {
            return;
        }
        self.labels_since_refit = 0;
        self.last_refit_ms = Some(self.newest_ms);
        self.refits += 1;
        let champion = self.serving();
        let c = &self.ctx.config;
        let snapshot = Arc::new(
            self.buffer
                .snapshot(c.features.seq_len, champion.spec.len()),
        );
        let tc = refit_config(c, &self.cfg, self.refits);
        let split = (self.cfg.val_fraction, self.cfg.fresh_start_below_auc);
        let purge_ms = self.purge_ms;
        let cancel = self.cancel.clone();
        tracing::info!(
            refit = self.refits,
            windows = snapshot.rows.len(),
            champion = %champion.manifest.version,
            "shadow refit started"
        );
        if let Ok(mut s) = self.stats.lock() {
            s.refits += 1;
        }
        let spawned = std::thread::Builder::new()
            .name("signal-engine-refit".into())
            .stack_size(crate::model::LARGE_STACK_BYTES)
            .spawn(move || refit(&champion, snapshot, &tc, split, purge_ms, cancel));
        match spawned {
            Ok(h) => self.phase = Phase::Training(h),
            Err(e) => self.failed(format!("cannot start the refit thread: {e}")),
        }
        if self.ctx.lockstep {
            self.poll_training(true);
        }
    }

    /// Takes a finished refit (or waits for it, with `wait`) into evaluation.
    fn poll_training(&mut self, wait: bool) {
        let done = matches!(&self.phase, Phase::Training(h) if wait || h.is_finished());
        if !done {
            return;
        }
        let Phase::Training(h) = std::mem::replace(&mut self.phase, Phase::Collecting) else {
            return;
        };
        match h.join() {
            Ok(Ok(t)) => {
                if let (true, Ok(mut s)) = (t.fresh, self.stats.lock()) {
                    s.fresh_starts += 1;
                }
                tracing::info!(
                    parent = %t.parent,
                    best_epoch = t.best_epoch,
                    train = t.train_idx.len(),
                    fresh = t.fresh,
                    "shadow challenger trained; scoring it on fresh labels"
                );
                // Labels that resolved while it trained count too: it never saw them.
                let after_ms = t.cutoff_ms + self.purge_ms;
                let rows = self.buffer.after(after_ms);
                if rows.len() >= self.cfg.eval_windows {
                    self.judge(t, &rows);
                } else {
                    self.phase = Phase::Evaluating {
                        after_ms,
                        challenger: Box::new(t),
                        rows,
                    };
                }
            }
            Ok(Err(_)) if self.cancel.load(Ordering::Relaxed) => {
                tracing::info!("shadow refit cancelled by shutdown");
            }
            Ok(Err(e)) => self.failed(format!("refit failed: {e}")),
            Err(_) => self.failed("the refit thread panicked".into()),
        }
    }

    fn failed(&mut self, detail: String) {
        tracing::error!("shadow trainer: {detail}");
        if let Ok(mut s) = self.stats.lock() {
            s.refit_failures += 1;
        }
        self.record(Decision {
            kind: "failed",
            at_bar_ms: self.seen_ms,
            version: None,
            verdict: None,
            detail,
        });
    }

    /// Champion (serving now) versus challenger on `rows`.
    fn judge(&mut self, t: Trained, rows: &[Arc<Labelled>]) {
        let champion = self.serving();
        let labels: Vec<bool> = rows.iter().map(|l| l.profitable).collect();
        let (p_champ, _) = score(&champion, &champion.net, rows);
        let (p_chal, r_chal) = score(&champion, &t.net, rows);
        let verdict = decide::promotion(
            &self.cfg,
            (&champion.manifest.version, &p_champ),
            ("challenger", &p_chal),
            &labels,
        );
        if !verdict.accept {
            tracing::warn!(
                champion = %champion.manifest.version,
                champion_auc = verdict.champion.roc_auc,
                challenger_auc = verdict.challenger.roc_auc,
                challenger_log_loss = verdict.challenger.log_loss,
                samples = verdict.samples,
                reasons = ?verdict.reasons,
                "shadow challenger rejected"
            );
            if let Ok(mut s) = self.stats.lock() {
                s.rejections += 1;
            }
            let detail = verdict.reasons.join("; ");
            self.record(Decision {
                kind: "reject",
                at_bar_ms: self.seen_ms,
                version: None,
                verdict: Some(verdict),
                detail,
            });
            return;
        }
        match self.promote(&champion, &t, rows, (&p_chal, &r_chal), &verdict) {
            Ok(promoted) => {
                tracing::info!(
                    from = %champion.manifest.version,
                    to = %promoted.manifest.version,
                    champion_auc = verdict.champion.roc_auc,
                    challenger_auc = verdict.challenger.roc_auc,
                    champion_log_loss = verdict.champion.log_loss,
                    challenger_log_loss = verdict.challenger.log_loss,
                    samples = verdict.samples,
                    "shadow challenger promoted"
                );
                if let Ok(mut s) = self.stats.lock() {
                    s.promotions += 1;
                }
                self.record(Decision {
                    kind: "promote",
                    at_bar_ms: self.seen_ms,
                    version: Some(promoted.manifest.version.clone()),
                    verdict: Some(verdict),
                    detail: format!("replaces {}", champion.manifest.version),
                });
                self.phase = Phase::Probation {
                    previous: champion,
                    promoted,
                    after_ms: self.newest_ms,
                    rows: Vec::new(),
                };
            }
            Err(e) => self.failed(format!("promotion failed, the champion keeps serving: {e}")),
        }
    }

    /// Saves the challenger, loads it back through the engine's own checks, swaps it in, then
    /// moves `CURRENT` (in that order, so the registry watch sees nothing to do).
    fn promote(
        &self,
        champion: &Arc<LoadedModel>,
        t: &Trained,
        rows: &[Arc<Labelled>],
        scores: (&[f64], &[f64]),
        verdict: &Verdict,
    ) -> Result<Arc<LoadedModel>, String> {
        let reg = &self.ctx.registry;
        let version =
            publish::save_challenger(reg, champion, t, rows, scores, verdict, self.purge_bars)
                .map_err(|e| e.to_string())?;
        let c = &self.ctx;
        let from = &champion.manifest.version;
        let loaded = swap_with(reg, &version, from, &c.loader, &c.counters, |m| {
            self.serve(m);
        })?;
        let reason = format!(
            "shadow: AUC {:.4} vs {:.4}, log loss {:.4} vs {:.4} on {} fresh labels",
            verdict.challenger.roc_auc,
            verdict.champion.roc_auc,
            verdict.challenger.log_loss,
            verdict.champion.log_loss,
            verdict.samples
        );
        if let Err(e) = reg.set_current(&version, Action::Promote, &reason) {
            self.serve(champion.clone());
            return Err(e.to_string());
        }
        Ok(loaded)
    }

    fn probation(
        &mut self,
        previous: &Arc<LoadedModel>,
        promoted: &Arc<LoadedModel>,
        rows: &[Arc<Labelled>],
    ) {
        let serving = self.serving();
        if serving.manifest.version != promoted.manifest.version {
            return; // replaced by hand meanwhile: nothing of ours to judge
        }
        let labels: Vec<bool> = rows.iter().map(|l| l.profitable).collect();
        let (p_prev, _) = score(previous, &previous.net, rows);
        let (p_new, _) = score(promoted, &promoted.net, rows);
        let verdict = decide::keep_after_promotion(
            &self.cfg,
            (&previous.manifest.version, &p_prev),
            (&promoted.manifest.version, &p_new),
            &labels,
        );
        let new = promoted.manifest.version.clone();
        if verdict.accept {
            tracing::info!(version = %new, auc = verdict.challenger.roc_auc, previous_auc = verdict.champion.roc_auc, "promoted model kept after probation");
            self.record(Decision {
                kind: "keep",
                at_bar_ms: self.seen_ms,
                version: Some(new),
                verdict: Some(verdict),
                detail: String::new(),
            });
            return;
        }
        let old = previous.manifest.version.clone();
        let reason = verdict.reasons.join("; ");
        self.serve(previous.clone());
        let moved = self
            .ctx
            .registry
            .set_current(&old, Action::AutoRollback, &reason);
        tracing::warn!(from = %new, to = %old, reasons = ?verdict.reasons, "promoted model rolled back");
        if let Ok(mut s) = self.stats.lock() {
            s.rollbacks += 1;
        }
        self.record(Decision {
            kind: "rollback",
            at_bar_ms: self.seen_ms,
            version: Some(old),
            verdict: Some(verdict),
            detail: match moved {
                Ok(_) => reason,
                Err(e) => format!("{reason}; CURRENT not moved: {e}"),
            },
        });
    }

    /// The model serving at the trainer's point in the data.
    fn serving(&self) -> Arc<LoadedModel> {
        match &self.schedule {
            Some(s) => s.latest(),
            None => self.ctx.live.load_full(),
        }
    }

    /// Serves `model` from the trainer's point in the data on: now (live), or for the windows
    /// after the newest bar it has seen (lockstep).
    fn serve(&self, model: Arc<LoadedModel>) {
        match &self.schedule {
            Some(s) => s.swap_after(self.seen_ms, model),
            None => self.ctx.live.store(model),
        }
    }

    fn record(&self, d: Decision) {
        let path = self.ctx.registry.root().join("decisions.jsonl");
        let line = serde_json::to_string(&d).unwrap_or_default() + "\n";
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!("{}: cannot append the decision: {e}", path.display());
        }
        if let Ok(mut s) = self.stats.lock() {
            s.decisions.push(d);
            let n = s.decisions.len();
            if n > 50 {
                s.decisions.drain(..n - 50);
            }
        }
    }
}
