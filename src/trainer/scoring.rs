//! Scoring a split's test rows: the model's predictions, the three baselines' (fitted on the
//! training rows only), and every metric of each on the same rows.
//!
//! In: a scaled [`Dataset`], sample indices, a trained network. Out: [`Scored`] predictions and
//! [`Evaluation`]s.

use super::baselines::{self, Predictions};
use super::dataset::{Dataset, Sample};
use super::metrics::{self, Evaluation};
use super::train::{THRESHOLD, TrainError};
use crate::model::SignalNet;
use crate::model::backend::{Device, InferBackend};
use crate::registry::manifest::Baselines;

/// Test rows with the model's and the baselines' (p_profitable, expected_return_bps) for each.
#[derive(Default)]
pub struct Scored {
    pub test: Vec<usize>,
    pub model: Predictions,
    pub majority: Predictions,
    pub logistic: Predictions,
    pub momentum: Predictions,
}

impl Scored {
    pub fn append(&mut self, other: &Scored) {
        self.test.extend_from_slice(&other.test);
        let pairs = [
            (&mut self.model, &other.model),
            (&mut self.majority, &other.majority),
            (&mut self.logistic, &other.logistic),
            (&mut self.momentum, &other.momentum),
        ];
        for (a, b) in pairs {
            a.0.extend_from_slice(&b.0);
            a.1.extend_from_slice(&b.1);
        }
    }

    /// Every metric of the model and the baselines on the same rows.
    pub fn evaluate(&self, ds: &Dataset) -> (Evaluation, Baselines) {
        let e = |(p, r): &Predictions| evaluate_on(ds, &self.test, p, r);
        let baselines = Baselines {
            majority: e(&self.majority),
            logistic: e(&self.logistic),
            momentum: e(&self.momentum),
        };
        (e(&self.model), baselines)
    }
}

/// Every metric of (p, predicted return) against the samples' labels and realised returns.
pub fn evaluate_on(ds: &Dataset, idx: &[usize], p: &[f64], r: &[f64]) -> Evaluation {
    let labels: Vec<bool> = idx.iter().map(|&i| ds.samples[i].profitable).collect();
    let actual: Vec<f64> = idx.iter().map(|&i| ds.samples[i].return_bps).collect();
    metrics::evaluate(p, &labels, THRESHOLD, Some((r, &actual)))
}

/// The three baselines' test predictions (majority, logistic, momentum), fitted on `train` (the
/// model's own training rows).
pub fn fit_baselines(
    ds: &Dataset,
    train: &[usize],
    test: &[usize],
    horizon: usize,
) -> Result<(Predictions, Predictions, Predictions), TrainError> {
    let col = |idx: &[usize], f: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
        idx.iter().map(|&i| f(&ds.samples[i])).collect()
    };
    let y: Vec<bool> = train.iter().map(|&i| ds.samples[i].profitable).collect();
    let ret = col(train, &|s| s.return_bps);
    let last_rows = |idx: &[usize]| -> Vec<f64> {
        let rows = idx.iter().flat_map(|&i| ds.last_row(&ds.samples[i]));
        rows.map(|&v| f64::from(v)).collect()
    };
    let momentum = |idx: &[usize]| col(idx, &|s| ds.trailing_return_bps(s, horizon));
    let err = |e: super::linear::FitError| TrainError::Baseline(e.to_string());
    let majority = baselines::majority(&y, &ret, test.len());
    let logistic =
        baselines::logistic(&last_rows(train), &y, &ret, &last_rows(test), ds.n_features)
            .map_err(err)?;
    let momentum = baselines::momentum(&momentum(train), &y, &ret, &momentum(test)).map_err(err)?;
    Ok((majority, logistic, momentum))
}

/// (p_profitable, expected_return_bps) for samples `idx`, in batches of 256.
pub fn predict(
    net: &SignalNet<InferBackend>,
    ds: &Dataset,
    idx: &[usize],
    dev: &Device,
) -> (Vec<f64>, Vec<f64>) {
    let (mut p, mut r) = (Vec::with_capacity(idx.len()), Vec::with_capacity(idx.len()));
    for chunk in idx.chunks(256) {
        let mut x = Vec::with_capacity(chunk.len() * ds.seq_len * ds.n_features);
        for &i in chunk {
            x.extend_from_slice(ds.window(&ds.samples[i]));
        }
        let (pc, rc) = net.predict(x, chunk.len(), ds.seq_len, ds.n_features, dev);
        p.extend(pc.iter().map(|&v| f64::from(v)));
        r.extend(rc.iter().map(|&v| f64::from(v)));
    }
    (p, r)
}
