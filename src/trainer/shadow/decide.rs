//! Champion versus challenger on the same fresh labels: the promotion rule and the rollback rule.
//!
//! In: both models' probabilities on labelled windows neither trained on, the labels, the
//! `[shadow]` margins. Out: a [`Verdict`] with every number it was decided on. Pure: the shadow
//! trainer scores, this decides, the registry acts.

use crate::config::ShadowConfig;
use crate::trainer::calibration::CalibrationBin;
use crate::trainer::metrics::{Evaluation, evaluate};
use serde::{Deserialize, Serialize};

/// Expected calibration error: the count-weighted mean |mean predicted − fraction positive| over
/// the 10 calibration bins.
pub fn expected_calibration_error(bins: &[CalibrationBin]) -> f64 {
    weighted(bins, |b| {
        Some((b.mean_predicted? - b.fraction_positive?).abs())
    })
}

/// What a perfectly calibrated model's ECE would be on these bins by chance alone: in a bin of
/// n predictions averaging p, the fraction positive misses p by E|N(0, p(1−p)/n)| =
/// √(2/π · p(1−p)/n). A few hundred labels spread over ten bins put this near 0.03, which
/// would otherwise read as miscalibration and penalise exactly the models that dare to spread
/// their probabilities.
pub fn calibration_noise_floor(bins: &[CalibrationBin]) -> f64 {
    weighted(bins, |b| {
        let p = b.mean_predicted?;
        Some((2.0 / std::f64::consts::PI * p * (1.0 - p) / b.count.max(1) as f64).sqrt())
    })
}

/// The count-weighted mean of `f` over the non-empty bins.
fn weighted(bins: &[CalibrationBin], f: impl Fn(&CalibrationBin) -> Option<f64>) -> f64 {
    let n: usize = bins.iter().map(|b| b.count).sum();
    let sum: f64 = bins
        .iter()
        .filter_map(|b| f(b).map(|v| b.count as f64 * v))
        .sum();
    sum / n.max(1) as f64
}

/// One model's numbers on the comparison set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scores {
    pub version: String,
    pub roc_auc: f64,
    pub log_loss: f64,
    /// ECE over 10 bins.
    pub calibration_error: f64,
    /// ECE beyond what chance gives a calibrated model on the same bins (see
    /// [`calibration_noise_floor`]): what the calibration rule compares.
    pub calibration_excess: f64,
    pub brier: f64,
}

impl Scores {
    fn of(version: &str, e: &Evaluation) -> Self {
        Self {
            version: version.to_string(),
            roc_auc: e.roc_auc,
            log_loss: e.log_loss,
            calibration_error: expected_calibration_error(&e.calibration),
            calibration_excess: (expected_calibration_error(&e.calibration)
                - calibration_noise_floor(&e.calibration))
            .max(0.0),
            brier: e.brier,
        }
    }
}

/// A decision and what it rests on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Promote (or, for a rollback check, keep the new champion).
    pub accept: bool,
    pub samples: usize,
    pub positives: usize,
    pub champion: Scores,
    pub challenger: Scores,
    /// Each failed condition, in words; empty when accepted.
    pub reasons: Vec<String>,
}

fn scores(version: &str, p: &[f64], labels: &[bool]) -> (Scores, Evaluation) {
    let e = evaluate(p, labels, 0.5, None);
    (Scores::of(version, &e), e)
}

/// The promotion rule: every challenger output finite, both classes present, AUC ahead by
/// `min_auc_gain`, log loss no worse than its allowance, and calibration error beyond chance
/// no worse than the champion's by more than `max_calibration_increase` or within the absolute
/// `max_calibration_excess`.
pub fn promotion(
    cfg: &ShadowConfig,
    (champion, p_champion): (&str, &[f64]),
    (challenger, p_challenger): (&str, &[f64]),
    labels: &[bool],
) -> Verdict {
    let mut reasons = Vec::new();
    let finite = |p: &[f64]| p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v));
    if !finite(p_challenger) {
        reasons.push("the challenger gave a non-finite or out-of-range probability".to_string());
    }
    let positives = labels.iter().filter(|&&l| l).count();
    if labels.len() < cfg.eval_windows || positives == 0 || positives == labels.len() {
        reasons.push(format!(
            "{} labels with {positives} positives: too few, or one class only",
            labels.len()
        ));
    }
    let clean = |p: &[f64]| -> Vec<f64> {
        p.iter()
            .map(|v| {
                if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.5
                }
            })
            .collect()
    };
    let (a, _) = scores(champion, &clean(p_champion), labels);
    let (b, _) = scores(challenger, &clean(p_challenger), labels);
    if b.roc_auc < a.roc_auc + cfg.min_auc_gain {
        reasons.push(format!(
            "AUC {:.4} does not beat the champion's {:.4} by {}",
            b.roc_auc, a.roc_auc, cfg.min_auc_gain
        ));
    }
    if b.log_loss > a.log_loss + cfg.max_log_loss_increase {
        reasons.push(format!(
            "log loss {:.4} is worse than the champion's {:.4} (+{} allowed)",
            b.log_loss, a.log_loss, cfg.max_log_loss_increase
        ));
    }
    let calibration_allowed =
        (a.calibration_excess + cfg.max_calibration_increase).max(cfg.max_calibration_excess);
    if b.calibration_excess > calibration_allowed {
        reasons.push(format!(
            "calibration error beyond chance {:.4} is above {:.4} (the champion's {:.4} + {}, \
             or {} whatever the champion's)",
            b.calibration_excess,
            calibration_allowed,
            a.calibration_excess,
            cfg.max_calibration_increase,
            cfg.max_calibration_excess
        ));
    }
    Verdict {
        accept: reasons.is_empty(),
        samples: labels.len(),
        positives,
        champion: a,
        challenger: b,
        reasons,
    }
}

/// The rollback rule after a promotion: the new champion (`challenger` here) is kept unless its
/// AUC trails its predecessor's by more than `rollback_auc_margin` on the labels that followed.
pub fn keep_after_promotion(
    cfg: &ShadowConfig,
    (previous, p_previous): (&str, &[f64]),
    (promoted, p_promoted): (&str, &[f64]),
    labels: &[bool],
) -> Verdict {
    let (a, _) = scores(previous, p_previous, labels);
    let (b, _) = scores(promoted, p_promoted, labels);
    let mut reasons = Vec::new();
    if b.roc_auc + cfg.rollback_auc_margin < a.roc_auc || !b.roc_auc.is_finite() {
        reasons.push(format!(
            "AUC {:.4} trails the previous champion's {:.4} by more than {}",
            b.roc_auc, a.roc_auc, cfg.rollback_auc_margin
        ));
    }
    Verdict {
        accept: reasons.is_empty(),
        samples: labels.len(),
        positives: labels.iter().filter(|&&l| l).count(),
        champion: a,
        challenger: b,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ShadowConfig {
        ShadowConfig {
            eval_windows: 50,
            ..ShadowConfig::default()
        }
    }

    /// Two groups: even rows are 80 % positive and `good` says 0.8 there, odd rows 20 % and
    /// `good` says 0.2 (calibrated, AUC 0.8); `noise` knows nothing.
    fn data(n: usize) -> (Vec<bool>, Vec<f64>, Vec<f64>) {
        let labels: Vec<bool> = (0..n).map(|i| (i % 2 == 0) == ((i / 2) % 5 != 0)).collect();
        let good = (0..n).map(|i| if i % 2 == 0 { 0.8 } else { 0.2 }).collect();
        let noise = (0..n)
            .map(|i| 0.4 + 0.2 * ((i * 7919) % 13) as f64 / 13.0)
            .collect();
        (labels, good, noise)
    }

    #[test]
    fn a_better_challenger_is_promoted_a_worse_one_is_not() {
        let (y, good, noise) = data(200);
        let v = promotion(&cfg(), ("a", &noise), ("b", &good), &y);
        assert!(v.accept, "{v:?}");
        assert!(v.challenger.roc_auc > 0.75 && v.reasons.is_empty());
        assert!(v.challenger.calibration_error < 1e-9, "{v:?}");
        let v = promotion(&cfg(), ("a", &good), ("b", &noise), &y);
        assert!(!v.accept);
        assert!(v.reasons.iter().any(|r| r.contains("AUC")), "{v:?}");
    }

    #[test]
    fn non_finite_outputs_or_too_few_labels_are_refused() {
        let (y, good, mut noise) = data(200);
        noise[3] = f64::NAN;
        let v = promotion(&cfg(), ("a", &good), ("b", &noise), &y);
        assert!(!v.accept && v.reasons[0].contains("non-finite"));
        let v = promotion(&cfg(), ("a", &noise[..20]), ("b", &good[..20]), &y[..20]);
        assert!(!v.accept && v.reasons.iter().any(|r| r.contains("too few")));
    }

    #[test]
    fn an_overconfident_challenger_fails_on_log_loss_and_calibration() {
        let (y, good, _) = data(200);
        // Ranks better than `good` (it mostly knows the label) but says so with certainty, and
        // is certain and wrong on one row in ten.
        let mut wild: Vec<f64> = y.iter().map(|&l| if l { 0.999 } else { 0.001 }).collect();
        for i in (0..200).step_by(10) {
            wild[i] = if wild[i] > 0.5 { 0.0005 } else { 0.9995 };
        }
        let v = promotion(
            &ShadowConfig {
                min_auc_gain: 0.0,
                ..cfg()
            },
            ("a", &good),
            ("b", &wild),
            &y,
        );
        assert!(!v.accept, "{v:?}");
        assert!(v.reasons.iter().any(|r| r.contains("log loss")), "{v:?}");
    }

    #[test]
    fn a_calibrated_but_uninformative_champion_does_not_block_a_sharper_model() {
        // The champion says the base rate everywhere: calibrated by construction, AUC 0.5. The
        // challenger ranks well but is a little under-confident (0.7/0.3 where the truth is
        // 0.8/0.2): calibration error ~0.1, above the champion's + 0.02.
        let (y, _, _) = data(400);
        let base = vec![0.5; 400];
        let timid: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { 0.7 } else { 0.3 })
            .collect();
        let relative_only = ShadowConfig {
            max_calibration_excess: 0.0,
            ..cfg()
        };
        let v = promotion(&relative_only, ("a", &base), ("b", &timid), &y);
        assert!(!v.accept, "{v:?}");
        assert!(v.reasons[0].contains("calibration"), "{v:?}");
        let lenient = ShadowConfig {
            max_calibration_excess: 0.12,
            ..cfg()
        };
        let v = promotion(&lenient, ("a", &base), ("b", &timid), &y);
        assert!(v.accept, "{v:?}");
        // The absolute allowance does not let a badly miscalibrated model through: 0.95/0.05
        // where the truth is 0.8/0.2.
        let sure: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { 0.95 } else { 0.05 })
            .collect();
        let v = promotion(&lenient, ("a", &base), ("b", &sure), &y);
        assert!(
            !v.accept && v.reasons.iter().any(|r| r.contains("calibration")),
            "{v:?}"
        );
    }

    #[test]
    fn rollback_when_the_promoted_model_trails() {
        let (y, good, noise) = data(200);
        assert!(!keep_after_promotion(&cfg(), ("old", &good), ("new", &noise), &y).accept);
        assert!(keep_after_promotion(&cfg(), ("old", &noise), ("new", &good), &y).accept);
    }

    #[test]
    fn the_noise_floor_is_what_a_calibrated_model_scores_by_chance() {
        // 20 000 draws of a calibrated model at p = 0.3, in bins of 400: the mean ECE over the
        // bins is close to the floor, and an offset of 0.1 stands far above it.
        let mut rng = 12345u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut ece, mut floor, mut off) = (0.0, 0.0, 0.0);
        for _ in 0..50 {
            let y: Vec<bool> = (0..400).map(|_| next() < 0.3).collect();
            let e = evaluate(&[0.3; 400], &y, 0.5, None);
            ece += expected_calibration_error(&e.calibration) / 50.0;
            floor = calibration_noise_floor(&e.calibration);
            let e = evaluate(&[0.4; 400], &y, 0.5, None);
            off += expected_calibration_error(&e.calibration) / 50.0;
        }
        assert!(
            (ece - floor).abs() < 0.25 * floor,
            "ECE {ece} vs floor {floor}"
        );
        assert!(off > floor + 0.06, "{off} vs {floor}");
    }

    #[test]
    fn ece_of_a_perfectly_calibrated_bin_is_zero() {
        let e = evaluate(&[0.25; 4], &[true, false, false, false], 0.5, None);
        assert!(expected_calibration_error(&e.calibration) < 1e-12);
        let e = evaluate(&[0.9; 4], &[true, false, false, false], 0.5, None);
        assert!((expected_calibration_error(&e.calibration) - 0.65).abs() < 1e-12);
    }
}
