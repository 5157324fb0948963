//! `signal-engine export-weights`: the bundled model under PyTorch's parameter names, with a
//! check batch, and an outside oracle (`scripts/reference_numpy.py`, NumPy written from
//! PyTorch's module definitions) that reproduces the engine's outputs from the file to 1e-4, and
//! notices when one weight is off.
#![allow(clippy::disallowed_methods)] // runs real processes

use safetensors::SafeTensors;
use std::path::Path;
use std::process::Command;

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn exported_weights_reproduce_the_engine_outside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("w.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_signal-engine"))
        .args(["export-weights", "--model"])
        .arg(repo("models/default"))
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let shape = |name: &str| st.tensor(name).unwrap().shape().to_vec();
    assert_eq!(shape("input.weight"), [128, 32]);
    for layer in ["lstm1", "lstm2"] {
        for dir in ["", "_reverse"] {
            assert_eq!(shape(&format!("{layer}.weight_ih_l0{dir}")), [256, 128]);
            assert_eq!(shape(&format!("{layer}.weight_hh_l0{dir}")), [256, 64]);
            assert_eq!(shape(&format!("{layer}.bias_ih_l0{dir}")), [256]);
        }
    }
    assert_eq!(shape("attn.in_proj_weight"), [384, 128]);
    assert_eq!(shape("fc.weight"), [64, 256]);
    assert_eq!(shape("head_return.weight"), [1, 64]);
    assert_eq!(shape("check.x"), [4, 60, 32]);
    let p: Vec<f32> = st
        .tensor("check.p")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{p:?}");

    let Ok(python) = std::env::var("SIGNAL_ENGINE_PYTHON") else {
        eprintln!("SIGNAL_ENGINE_PYTHON unset: the NumPy oracle is not run");
        return;
    };
    let oracle = |path: &Path| {
        Command::new(&python)
            .arg(repo("scripts/reference_numpy.py"))
            .arg(path)
            .output()
            .unwrap()
    };
    let out = oracle(&file);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.contains("ok=1"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One weight off by 0.01 (the profitability head's bias): the oracle must say so.
    let info = st.tensor("head_profitable.bias").unwrap();
    let at = info.data().as_ptr() as usize - bytes.as_ptr() as usize;
    let mut bad = bytes.clone();
    let v = f32::from_le_bytes(bad[at..at + 4].try_into().unwrap()) + 0.01;
    bad[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let bad_file = tmp.path().join("bad.safetensors");
    std::fs::write(&bad_file, bad).unwrap();
    let out = oracle(&bad_file);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok=0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
