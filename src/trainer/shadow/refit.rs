//! One refit: a purged split of the buffer snapshot, a warm start from the champion (or fresh
//! weights when the champion ranks the refit's validation windows backwards), a few epochs of
//! `fit` on the refit's own thread; and scoring a model on labelled windows.

use super::buffer::Snapshot;
use super::publish::Trained;
use super::resolver::Labelled;
use crate::config::{Config, LrSchedule, ShadowConfig, TrainConfig};
use crate::registry::LoadedModel;
use crate::trainer::fit::{EpochLog, FitJob, Start, TrainObserver};
use crate::trainer::metrics::roc_auc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Stops a refit when the engine shuts down.
pub(super) struct Cancel(Arc<AtomicBool>);
impl TrainObserver for Cancel {
    fn epoch_end(&mut self, log: &EpochLog) {
        tracing::debug!(
            epoch = log.epoch,
            val_auc = log.val_auc,
            "shadow refit epoch"
        );
    }
    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The training config of refit number `refit`: fine-tuning at a constant, lower rate for a few
/// epochs, over `[train]`, on the device `[train]` resolves to (`Config::train_compute`).
pub fn refit_config(base: &Config, s: &ShadowConfig, refit: u64) -> TrainConfig {
    let (device, precision) = base.train_compute();
    TrainConfig {
        device: Some(device),
        precision: Some(precision),
        epochs: s.epochs,
        learning_rate: s.learning_rate,
        lr_schedule: LrSchedule::Constant,
        warmup_epochs: 0,
        min_learning_rate: 0.0,
        plateau_patience: 0,
        early_stopping_patience: 0,
        batch_size: s.batch_size,
        seed: s.seed.wrapping_add(refit),
        ..base.train.clone()
    }
}

/// One refit on its own thread: purged split of the snapshot, warm start from the champion
/// unless its validation AUC is below `fresh_below_auc`.
pub fn refit(
    champion: &LoadedModel,
    snapshot: Arc<Snapshot>,
    tc: &TrainConfig,
    (val_fraction, fresh_below_auc): (f64, f64),
    purge_ms: i64,
    cancel: Arc<AtomicBool>,
) -> Result<Trained, String> {
    let (train_idx, val_idx) = snapshot.purged_split(val_fraction, purge_ms);
    let both = |idx: &[usize]| {
        let pos = idx.iter().filter(|&&i| snapshot.rows[i].profitable).count();
        pos > 0 && pos < idx.len()
    };
    if train_idx.len() < tc.batch_size || !both(&train_idx) || !both(&val_idx) {
        return Err(format!(
            "{} training and {} validation windows after the purge: too few, or one class only",
            train_idx.len(),
            val_idx.len()
        ));
    }
    // Only the refit's own validation windows decide (never the labels it is judged on later).
    let val_rows: Vec<Arc<Labelled>> = val_idx.iter().map(|&i| snapshot.rows[i].clone()).collect();
    let (p, _) = score(champion, &champion.net, &val_rows);
    let y: Vec<bool> = val_rows.iter().map(|r| r.profitable).collect();
    let champion_val_auc = roc_auc(&p, &y);
    let fresh = champion_val_auc < fresh_below_auc;
    if fresh {
        tracing::info!(
            champion = %champion.manifest.version,
            champion_val_auc,
            "the champion ranks the recent windows backwards: this refit starts from fresh weights"
        );
    }
    let fitted = FitJob {
        net_cfg: &champion.manifest.net,
        tc,
        ds: snapshot.as_ref(),
        train_idx: &train_idx,
        val_idx: &val_idx,
        fold: 0,
        observer: &mut Cancel(cancel),
        start: if fresh {
            Start::Fresh
        } else {
            Start::From(&champion.net)
        },
    }
    .run_on(
        tc.device.unwrap_or_default(),
        tc.precision.unwrap_or_default(),
    )?;
    let cutoff_ms = snapshot
        .rows
        .last()
        .map_or(i64::MIN, |r| r.bar_close_time_ms);
    Ok(Trained {
        net: fitted.net,
        best_epoch: fitted.best_epoch,
        epochs_run: fitted.epochs.len(),
        stopped_early: fitted.stopped_early,
        seed: tc.seed,
        snapshot,
        train_idx,
        val_idx,
        cutoff_ms,
        parent: champion.manifest.version.clone(),
        fresh,
    })
}

/// (p, expected return) of `net` on `rows`, in batches of 256, on this thread.
pub fn score(
    model: &LoadedModel,
    net: &crate::model::SignalNet<crate::model::backend::InferBackend>,
    rows: &[Arc<Labelled>],
) -> (Vec<f64>, Vec<f64>) {
    let (t, f) = (model.manifest.seq_len, model.spec.len());
    let (mut p, mut r) = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for chunk in rows.chunks(256) {
        let mut x = Vec::with_capacity(chunk.len() * t * f);
        for l in chunk {
            x.extend_from_slice(&l.data);
        }
        let (pc, rc) = net.predict(x, chunk.len(), t, f, &model.device);
        p.extend(pc.iter().map(|&v| f64::from(v)));
        r.extend(rc.iter().map(|&v| f64::from(v)));
    }
    (p, r)
}
