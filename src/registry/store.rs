//! Bundle on disk: atomic save, checked load.

use super::manifest::{MANIFEST_FORMAT, Manifest};
use crate::config::Forward;
use crate::features::FeatureSpec;
use crate::model::SignalNet;
use crate::model::backend::{ComputeDevice, Device, DeviceNet, InferBackend, Precision};
use crate::model::fused::FusedNet;
use crate::scaling::{RobustScaler, StreamingScaler};
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const MANIFEST: &str = "manifest.json";
const WEIGHTS: &str = "model.mpk";
const SCALER: &str = "scaler.json";
/// Optional: the streaming scaler's state at the end of the training data (DESIGN.md §4).
const STREAMING: &str = "streaming_scaler.json";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: cannot read weights: {msg}")]
    Weights { path: PathBuf, msg: String },
    #[error(
        "{dir}: model feature-spec hash {bundle} does not match the config's {config}; retrain the model or use its feature list ({names:?})"
    )]
    SpecMismatch {
        dir: PathBuf,
        bundle: String,
        config: String,
        names: Vec<String>,
    },
    #[error("{dir}: {msg}")]
    Invalid { dir: PathBuf, msg: String },
}

/// A bundle in memory, ready to score.
pub struct LoadedModel {
    pub manifest: Manifest,
    pub scaler: RobustScaler,
    /// The streaming scaler's saved state, when the bundle has one.
    pub streaming: Option<StreamingScaler>,
    pub net: SignalNet<InferBackend>,
    pub spec: FeatureSpec,
    pub threshold: f64,
    pub device: Device,
    /// The fused CPU forward of `net`, checked against it at load; `None` serves with burn's
    /// (`inference.forward = "burn"`).
    pub fused: Option<FusedNet>,
    /// A copy of `net` on an accelerator (`model.device = "cuda:N"`), checked against `net` at
    /// load; when present it serves instead of the CPU forwards.
    pub accel: Option<DeviceNet>,
}

impl LoadedModel {
    /// `(p_profitable, expected_return_bps)` per window of `x` (`[n × T × F]`, row-major), by
    /// the forward this model serves with.
    pub fn predict(&self, x: Vec<f32>, n: usize) -> (Vec<f32>, Vec<f32>) {
        let (t, f) = (self.manifest.seq_len, self.spec.len());
        match (&self.accel, &self.fused) {
            (Some(a), _) => a.predict(x, n, t, f),
            (None, Some(fused)) => fused.predict(&x, n),
            (None, None) => self.net.predict(x, n, t, f, &self.device),
        }
    }

    /// Where this model serves, for logs: `"cpu (fused)"`, `"cuda:0 (NVIDIA H200, bf16)"`.
    pub fn serving_on(&self) -> String {
        match (&self.accel, &self.fused) {
            (Some(a), _) => format!("{} ({}, {})", a.info.device, a.info.name, a.info.precision),
            (None, Some(_)) => "cpu (fused forward)".into(),
            (None, None) => "cpu (burn forward)".into(),
        }
    }

    /// Copies the model onto `device` to serve there (nothing for the CPU), after checking that
    /// the copy's outputs on the fixed check batch match burn's CPU forward to
    /// [`DEVICE_MAX_ABS_DIFF`] (f32) or [`DEVICE_MAX_ABS_DIFF_BF16`] (bf16) in p and in the
    /// return head (units of 100 bps). A device that cannot be used fails here, with the reason.
    pub fn onto_device(
        mut self,
        device: ComputeDevice,
        precision: Precision,
    ) -> Result<Self, BundleError> {
        let invalid = |msg: String| BundleError::Invalid {
            dir: PathBuf::from(&self.manifest.version),
            msg,
        };
        let Some(accel) = DeviceNet::new(&self.net, &self.manifest.net, device, precision)
            .map_err(|e| invalid(format!("model.device: {e}")))?
        else {
            return Ok(self);
        };
        let (t, f) = (self.manifest.seq_len, self.spec.len());
        let x = crate::model::net::check_windows(t, f);
        let want = self.net.predict(x.clone(), 3, t, f, &self.device);
        let got = accel.predict(x, 3, t, f);
        let diff = max_abs_diff(&want, &got);
        let limit = match precision {
            Precision::F32 => DEVICE_MAX_ABS_DIFF,
            Precision::Bf16 => DEVICE_MAX_ABS_DIFF_BF16,
        };
        if diff > limit {
            return Err(invalid(format!(
                "the {} copy on {device} differs from the CPU forward by {diff:.3e} (> {limit:e}) on the load-time check batch; serve it on the CPU (model.device = \"cpu\"){}",
                precision,
                if precision == Precision::Bf16 {
                    " or in f32 (model.precision = \"f32\")"
                } else {
                    ""
                }
            )));
        }
        tracing::info!(
            version = %self.manifest.version,
            device = %accel.info.device,
            name = %accel.info.name,
            precision = %precision,
            max_abs_diff = diff,
            "model copied onto the device; it serves there"
        );
        self.fused = None;
        self.accel = Some(accel);
        Ok(self)
    }
}

/// Largest difference allowed between a device copy in f32 and the CPU forward (p, and the
/// return head in units of 100 bps): different reduction orders and fused kernels, not a
/// different model.
pub const DEVICE_MAX_ABS_DIFF: f32 = 1e-3;
/// The same for a bf16 copy (8 significant bits per product through 2 × 60 LSTM steps).
pub const DEVICE_MAX_ABS_DIFF_BF16: f32 = 5e-2;

/// Max |a − b| over p and the return head (scaled to its training unit), NaN counting as ∞.
pub fn max_abs_diff(a: &(Vec<f32>, Vec<f32>), b: &(Vec<f32>, Vec<f32>)) -> f32 {
    use crate::model::net::{RETURN_SCALE_BPS, max_abs_diff as diff};
    let unit = |r: &[f32]| -> Vec<f32> { r.iter().map(|v| v / RETURN_SCALE_BPS as f32).collect() };
    diff(&a.0, &b.0).max(diff(&unit(&a.1), &unit(&b.1)))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let mut f = fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

pub fn sha256_file(path: &Path) -> Result<String, BundleError> {
    sha256_and_size(path).map(|(sha, _)| sha)
}

/// sha256 (hex) and size in bytes of a file, streamed (data files can be large).
pub fn sha256_and_size(path: &Path) -> Result<(String, u64), BundleError> {
    let mut f = fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let n = std::io::copy(&mut f, &mut hasher).map_err(io(path))?;
    Ok((hex::encode(hasher.finalize()), n))
}

/// Writes a bundle to `dir`: everything goes into a sibling temp dir and is fsynced, then the temp
/// dir is renamed into place (an existing bundle is replaced; anything else is refused). Fills in
/// `manifest.weights_sha256`, and `manifest.version` when it is empty. `extras` gives further files
/// (the training report, predictions, epoch log) as (file name, bytes), from the finished manifest.
pub fn save_bundle(
    dir: &Path,
    manifest: &mut Manifest,
    scaler: &RobustScaler,
    streaming: Option<&StreamingScaler>,
    net: &SignalNet<InferBackend>,
    extras: impl FnOnce(&Manifest) -> Vec<(&'static str, Vec<u8>)>,
) -> Result<(), BundleError> {
    let invalid = |msg: &str| BundleError::Invalid {
        dir: dir.to_path_buf(),
        msg: msg.to_string(),
    };
    let name = match dir.file_name() {
        Some(n) => n.to_string_lossy().to_string(),
        None => return Err(invalid("not a bundle directory name")),
    };
    // Never replace something that is not a bundle (`--out models` or `--out ~` by mistake).
    if dir.exists() && !dir.join(MANIFEST).is_file() {
        return Err(invalid(
            "exists and is not a model bundle (no manifest.json); refusing to replace it",
        ));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    let weights = tmp.join(WEIGHTS);
    let weights_err = |msg: String| BundleError::Weights {
        path: weights.clone(),
        msg,
    };
    crate::model::on_large_stack("signal-engine-save", || {
        net.clone()
            .with_stable_ids()
            .save_file(tmp.join("model"), &recorder)
    })
    .map_err(|e| weights_err(e.to_string()))?
    .map_err(|e| weights_err(e.to_string()))?;
    fs::File::open(&weights)
        .and_then(|f| f.sync_all())
        .map_err(io(&weights))?;
    manifest.weights_sha256 = sha256_file(&weights)?;
    if manifest.version.is_empty() {
        manifest.version = default_version(&manifest.created_at, &manifest.weights_sha256);
    }
    write_synced(&tmp.join(SCALER), to_pretty(scaler).as_bytes())?;
    if let Some(st) = streaming {
        write_synced(&tmp.join(STREAMING), to_pretty(st).as_bytes())?;
    }
    for (name, bytes) in extras(manifest) {
        if name.contains(['/', '\\']) || [MANIFEST, WEIGHTS, SCALER, STREAMING].contains(&name) {
            return Err(invalid(&format!("extra file name {name:?} is not allowed")));
        }
        write_synced(&tmp.join(name), &bytes)?;
    }
    write_synced(&tmp.join(MANIFEST), to_pretty(manifest).as_bytes())?;
    // Old bundle aside, new one in, then the old one goes: `dir` is only ever missing for the
    // instant between the two renames, and never holds a half-written bundle.
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old).map_err(io(dir))?;
    }
    fs::rename(&tmp, dir).map_err(io(dir))?;
    fs::File::open(parent)
        .and_then(|f| f.sync_all())
        .map_err(io(parent))?;
    if had_old {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ-<first 8 hex of the weights' sha256>`: sortable by time, unique by content.
pub fn default_version(created_at: &str, sha: &str) -> String {
    let stamp: String = created_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{}", &sha[..8.min(sha.len())])
}

/// Pretty JSON for the bundle files (plain structs of numbers and strings: cannot fail).
fn to_pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, BundleError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|source| BundleError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Loads and checks a bundle. `expected` is the config's feature spec: a bundle built on another
/// spec is refused (DESIGN.md §4).
pub fn load_bundle(dir: &Path, expected: &FeatureSpec) -> Result<LoadedModel, BundleError> {
    load_bundle_with(dir, expected, Forward::Fused)
}

/// [`load_bundle`], building the fused forward (and checking it against burn's) only for
/// `Forward::Fused`.
pub fn load_bundle_with(
    dir: &Path,
    expected: &FeatureSpec,
    forward: Forward,
) -> Result<LoadedModel, BundleError> {
    let invalid = |msg: String| BundleError::Invalid {
        dir: dir.to_path_buf(),
        msg,
    };
    // The format first: an older bundle gets "retrain it", not a missing-field error.
    let raw: serde_json::Value = read_json(&dir.join(MANIFEST))?;
    let format = raw.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(MANIFEST_FORMAT)) {
        return Err(invalid(format!(
            "manifest format {} is not the supported format {MANIFEST_FORMAT}; retrain the model with this version",
            format.map_or("(missing)".to_string(), |f| f.to_string())
        )));
    }
    let manifest: Manifest = read_json(&dir.join(MANIFEST))?;
    let spec = FeatureSpec::new(&manifest.feature_spec)
        .map_err(|e| invalid(format!("manifest feature_spec: {e}")))?;
    if spec.hash() != manifest.feature_spec_hash {
        return Err(invalid(
            "manifest feature_spec_hash does not match its feature_spec".into(),
        ));
    }
    if spec.hash() != expected.hash() {
        return Err(BundleError::SpecMismatch {
            dir: dir.to_path_buf(),
            bundle: spec.hash(),
            config: expected.hash(),
            names: spec.names().to_vec(),
        });
    }
    manifest
        .net
        .check()
        .map_err(|e| invalid(format!("manifest net: {e}")))?;
    if !(0.0..=1.0).contains(&manifest.threshold) {
        return Err(invalid(format!(
            "{MANIFEST}: threshold {} is not in [0, 1]",
            manifest.threshold
        )));
    }
    if manifest.net.n_features != spec.len() {
        return Err(invalid(
            "manifest net.n_features differs from its feature spec".into(),
        ));
    }
    let scaler: RobustScaler = read_json(&dir.join(SCALER))?;
    scaler
        .validate(spec.names())
        .map_err(|e| invalid(format!("{SCALER}: {e}")))?;
    let streaming_path = dir.join(STREAMING);
    let streaming = if streaming_path.is_file() {
        let st: StreamingScaler = read_json(&streaming_path)?;
        st.validate(spec.names())
            .map_err(|e| invalid(format!("{STREAMING}: {e}")))?;
        Some(st)
    } else {
        None
    };
    let weights = dir.join(WEIGHTS);
    let sha = sha256_file(&weights)?;
    if sha != manifest.weights_sha256 {
        return Err(invalid(format!(
            "{WEIGHTS} sha256 {sha} differs from the manifest's"
        )));
    }
    let device = crate::model::backend::device();
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    let weights_err = |msg: String| BundleError::Weights {
        path: weights.clone(),
        msg,
    };
    // The smoke forward runs on the loader's large stack too: a debug build's first forward
    // through burn's generic code needs more than a test thread's 2 MiB.
    let (net, smoke, fused) = crate::model::on_large_stack("signal-engine-load", || {
        let net = manifest.net.init::<InferBackend>(&device).load_file(
            dir.join("model"),
            &recorder,
            &device,
        )?;
        let smoke = smoke_forward(&net, manifest.seq_len, spec.len(), &device);
        let fused = (forward == Forward::Fused && smoke.is_ok())
            .then(|| FusedNet::from_net(&net, manifest.seq_len, &device));
        Ok::<_, burn::record::RecorderError>((net, smoke, fused))
    })
    .map_err(|e| weights_err(e.to_string()))?
    .map_err(|e| weights_err(e.to_string()))?;
    smoke.map_err(invalid)?;
    let fused = fused.transpose().map_err(|e| invalid(e.to_string()))?;
    Ok(LoadedModel {
        threshold: manifest.threshold,
        manifest,
        scaler,
        streaming,
        net,
        spec,
        device,
        fused,
        accel: None,
    })
}

/// A forward pass on the fixed check batch ([`check_windows`](crate::model::net::check_windows))
/// that must give one finite probability and return per window: weights that load but produce
/// NaN (a diverged run saved by mistake, a corrupt but well-formed record) are refused here,
/// before they could serve.
fn smoke_forward(
    net: &SignalNet<InferBackend>,
    seq_len: usize,
    n_features: usize,
    device: &Device,
) -> Result<(), String> {
    let x = crate::model::net::check_windows(seq_len, n_features);
    let (p, r) = net.predict(x, 3, seq_len, n_features, device);
    let finite = p.len() == 3 && r.len() == 3 && p.iter().chain(&r).all(|v| v.is_finite());
    if finite {
        Ok(())
    } else {
        Err(format!(
            "smoke forward on three fixed windows gave {p:?} / {r:?}: the weights do not produce finite outputs"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::max_abs_diff;

    #[test]
    fn device_differences_count_the_return_head_in_its_unit_and_nan_as_infinite() {
        let base = (vec![0.5, 0.25], vec![10.0, -20.0]);
        assert_eq!(max_abs_diff(&base, &base), 0.0);
        // p off by 2e-4; the return off by 5 bps = 0.05 in units of 100 bps.
        let off = (vec![0.5002, 0.25], vec![10.0, -25.0]);
        assert!((max_abs_diff(&base, &off) - 0.05).abs() < 1e-6);
        let nan = (vec![f32::NAN, 0.25], vec![10.0, -20.0]);
        assert_eq!(max_abs_diff(&base, &nan), f32::INFINITY);
        let short = (vec![0.5], vec![10.0]);
        assert_eq!(max_abs_diff(&base, &short), f32::INFINITY);
    }
}
