//! The learning-rate plan of a training run and the patience rules that end or slow it.
//!
//! In: the `[train]` config and the number of batches per epoch. Out: one learning rate per
//! batch ([`LrPlan`]) and, per epoch, whether to stop and what ReduceLROnPlateau has cut the rate
//! by ([`Patience`]).

use crate::config::{LrSchedule, TrainConfig};
use burn::lr_scheduler::LrScheduler;
use burn::lr_scheduler::cosine::{CosineAnnealingLrScheduler, CosineAnnealingLrSchedulerConfig};
use burn::lr_scheduler::linear::{LinearLrScheduler, LinearLrSchedulerConfig};

/// Warm-up (burn's linear scheduler from lr / steps to lr) then cosine annealing (burn's cosine
/// scheduler from lr to `min_learning_rate` over the remaining epochs), one step per batch.
pub struct LrPlan {
    warmup: Option<(LinearLrScheduler, usize)>,
    cosine: Option<CosineAnnealingLrScheduler>,
    constant: f64,
}

impl LrPlan {
    pub fn new(tc: &TrainConfig, batches_per_epoch: usize) -> Result<Self, String> {
        let lr = tc.learning_rate;
        if tc.lr_schedule == LrSchedule::Constant {
            return Ok(Self {
                warmup: None,
                cosine: None,
                constant: lr,
            });
        }
        let warm = tc.warmup_epochs * batches_per_epoch;
        let rest = (tc.epochs.saturating_sub(tc.warmup_epochs) * batches_per_epoch).max(1);
        let warmup = match warm {
            0 => None,
            n => Some((
                LinearLrSchedulerConfig::new(lr / n as f64, lr, n).init()?,
                n,
            )),
        };
        let min = tc.min_learning_rate.min(lr);
        // The cosine's last step is its `num_iters`-th after the first: land on the floor exactly.
        let cosine = CosineAnnealingLrSchedulerConfig::new(lr, (rest - 1).max(1))
            .with_min_lr(min)
            .init()?;
        Ok(Self {
            warmup,
            cosine: Some(cosine),
            constant: lr,
        })
    }

    pub fn step(&mut self) -> f64 {
        if let Some((sched, left)) = &mut self.warmup {
            let lr = sched.step();
            *left -= 1;
            if *left == 0 {
                self.warmup = None;
            }
            return lr;
        }
        match &mut self.cosine {
            Some(c) => c.step(),
            None => self.constant,
        }
    }
}

/// Early stopping and ReduceLROnPlateau, both counting epochs without a better validation AUC.
pub struct Patience {
    early: usize,
    plateau: usize,
    factor: f64,
    since_best: usize,
    since_cut: usize,
    /// What ReduceLROnPlateau has multiplied the learning rate by so far.
    pub lr_factor: f64,
}

impl Patience {
    pub fn new(tc: &TrainConfig) -> Self {
        Self {
            early: tc.early_stopping_patience,
            plateau: tc.plateau_patience,
            factor: tc.plateau_factor,
            since_best: 0,
            since_cut: 0,
            lr_factor: 1.0,
        }
    }

    /// Records an epoch; true when training should stop. Warm-up epochs (the rate still rising)
    /// count towards early stopping but never cut the rate.
    pub fn after_epoch(&mut self, improved: bool, warming_up: bool) -> bool {
        if improved {
            self.since_best = 0;
            self.since_cut = 0;
            return false;
        }
        self.since_best += 1;
        if !warming_up {
            self.since_cut += 1;
        }
        if self.plateau > 0 && self.since_cut >= self.plateau {
            self.lr_factor *= self.factor;
            self.since_cut = 0;
        }
        self.early > 0 && self.since_best >= self.early
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc() -> TrainConfig {
        TrainConfig {
            epochs: 10,
            warmup_epochs: 2,
            learning_rate: 1e-3,
            min_learning_rate: 1e-5,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn warmup_rises_linearly_then_cosine_decays_to_the_floor() {
        let mut plan = LrPlan::new(&tc(), 5).unwrap();
        let lrs: Vec<f64> = (0..50).map(|_| plan.step()).collect();
        // 10 warm-up steps from lr/10 to lr, then 40 cosine steps from lr down to min_lr.
        assert!((lrs[0] - 1e-4).abs() < 1e-12, "{}", lrs[0]);
        assert!(lrs[..11].windows(2).all(|w| w[1] > w[0]));
        assert!((lrs[10] - 1e-3).abs() < 1e-12);
        assert!(lrs[10..].windows(2).all(|w| w[1] < w[0]));
        assert!((lrs[49] - 1e-5).abs() < 1e-12, "{}", lrs[49]);
    }

    #[test]
    fn constant_schedule_stays_put() {
        let cfg = TrainConfig {
            lr_schedule: LrSchedule::Constant,
            ..tc()
        };
        let mut plan = LrPlan::new(&cfg, 5).unwrap();
        assert!((0..20).all(|_| plan.step() == 1e-3));
    }

    #[test]
    fn plateau_cuts_the_rate_and_patience_stops() {
        let cfg = TrainConfig {
            plateau_patience: 2,
            plateau_factor: 0.5,
            early_stopping_patience: 5,
            ..tc()
        };
        let mut p = Patience::new(&cfg);
        assert!(!p.after_epoch(true, false));
        assert!(!p.after_epoch(false, false));
        assert!(!p.after_epoch(false, false));
        assert_eq!(p.lr_factor, 0.5);
        assert!(!p.after_epoch(false, false) && !p.after_epoch(false, false));
        assert_eq!(p.lr_factor, 0.25);
        assert!(
            p.after_epoch(false, false),
            "5 epochs without improvement stop training"
        );
        // During warm-up flat epochs do not cut the rate (but do count for early stopping).
        let mut w = Patience::new(&cfg);
        assert!(!w.after_epoch(false, true) && !w.after_epoch(false, true));
        assert_eq!(w.lr_factor, 1.0);
        assert!(!w.after_epoch(false, false) && !w.after_epoch(false, false));
        assert_eq!(w.lr_factor, 0.5);
        assert!(w.after_epoch(false, false));
        let mut off = Patience::new(&TrainConfig {
            early_stopping_patience: 0,
            plateau_patience: 0,
            ..tc()
        });
        assert!((0..100).all(|_| !off.after_epoch(false, false)));
        assert_eq!(off.lr_factor, 1.0);
    }
}
