//! `signal-engine export-weights`: a bundle's weights as one safetensors file under the parameter
//! names of `scripts/reference_model.py`'s PyTorch `SignalNet`, with a check batch and the
//! engine's outputs on it, so an outside implementation can load the very model and prove it
//! computes the same thing (`reference_model.py --weights FILE --check`).
//!
//! In: a bundle directory. Out: `FILE` holding the `state_dict` tensors, `check.x`
//! (`[4 × T × F]`), `check.p` and `check.return_bps` (burn's forward on it), and metadata (the
//! shapes, the version, the feature names).

use crate::config::Config;
use crate::features::FeatureSpec;
use crate::registry::{Manifest, load_bundle};
use anyhow::Context;
use clap::Args;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Model bundle directory (default: the config's model.dir).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Windows in the check batch.
const CHECK_WINDOWS: usize = 4;

pub fn run(config: Config, a: ExportArgs) -> anyhow::Result<()> {
    let dir = a.model.unwrap_or_else(|| config.model.dir.clone());
    let manifest_path = dir.join("manifest.json");
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{}: not a bundle manifest", manifest_path.display()))?;
    // The bundle's own feature list: exporting needs no config that matches it.
    let spec = FeatureSpec::new(&manifest.feature_spec)
        .with_context(|| format!("{}: feature_spec", manifest_path.display()))?;
    let model = load_bundle(&dir, &spec)?;
    let fused = model
        .fused
        .as_ref()
        .context("the bundle loaded without its fused forward")?;
    let x = fused.probe_windows(CHECK_WINDOWS);
    let (t, f) = (model.manifest.seq_len, model.spec.len());
    let (p, r) = model
        .net
        .predict(x.clone(), CHECK_WINDOWS, t, f, &model.device);
    let mut tensors = fused.torch_state_dict();
    tensors.push(("check.x".into(), vec![CHECK_WINDOWS, t, f], x));
    tensors.push(("check.p".into(), vec![CHECK_WINDOWS], p));
    tensors.push(("check.return_bps".into(), vec![CHECK_WINDOWS], r));
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, v)| {
            (
                name,
                shape,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, b)| {
            TensorView::new(Dtype::F32, shape.clone(), b)
                .map(|v| (name.clone(), v))
                .with_context(|| format!("tensor {name}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let net = &model.manifest.net;
    let meta: HashMap<String, String> = [
        (
            "format",
            "signal-engine SignalNet, PyTorch state_dict names".to_string(),
        ),
        ("version", model.manifest.version.clone()),
        ("seq_len", t.to_string()),
        ("n_features", f.to_string()),
        ("d_model", net.d_model.to_string()),
        ("n_heads", net.n_heads.to_string()),
        ("d_hidden", net.d_hidden.to_string()),
        ("features", model.manifest.feature_spec.join(",")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(parent) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    safetensors::serialize_to_file(views, Some(meta), &a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    println!(
        "{}: {} ({} parameters) as safetensors with a {CHECK_WINDOWS}-window check batch",
        a.out.display(),
        model.manifest.version,
        bytes
            .iter()
            .filter(|(n, ..)| !n.starts_with("check."))
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum::<usize>()
    );
    Ok(())
}
