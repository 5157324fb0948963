//! The GPU check's CPU path (`scripts/gpu-check.sh --cpu-only`, issue 11) and the errors a CUDA
//! device gives where it cannot be used. CI has no GPU: this proves the script, the
//! `device-check` command and the device plumbing work, and that a misconfigured device fails at
//! start with the reason.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn engine() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signal-engine"));
    c.current_dir(repo("."));
    c
}

/// Runs `cmd`, which must fail; its stderr.
fn refused(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "succeeded: {err}");
    err
}

/// What a CUDA request says on this build: no CUDA backend compiled in, or (built with it) no
/// driver on a machine without a GPU.
fn cuda_refusal() -> &'static str {
    if cfg!(feature = "cuda") {
        "no usable CUDA driver"
    } else {
        "--features cuda"
    }
}

#[test]
fn the_cpu_only_gpu_check_checks_times_and_reports() {
    let Ok(python) = std::env::var("SIGNAL_ENGINE_PYTHON") else {
        eprintln!("SIGNAL_ENGINE_PYTHON unset: the script's NumPy reference cannot run");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(repo("scripts/gpu-check.sh"))
        .args([
            "--cpu-only",
            "--bin",
            env!("CARGO_BIN_EXE_signal-engine"),
            "--out",
        ])
        .arg(tmp.path())
        .env("SIGNAL_ENGINE_PYTHON", &python)
        .env_remove("OUT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join(name)).unwrap()).unwrap()
    };
    let engine = read("engine-f32.json");
    assert_eq!(engine["device"]["device"], "cpu");
    assert_eq!(engine["ok"], true);
    assert!(engine["windows"].as_u64().unwrap() > 1000, "{engine}");
    let eq = &engine["equivalence"][0];
    assert_eq!(eq["forward"], "cpu-fused");
    assert!(eq["max_abs_diff"].as_f64().unwrap() <= 1e-4, "{eq}");
    let inference = engine["inference"].as_array().unwrap();
    for forward in ["cpu-fused", "cpu-burn"] {
        for batch in [1, 64] {
            let row = inference
                .iter()
                .find(|r| r["forward"] == forward && r["batch"] == batch)
                .unwrap_or_else(|| panic!("no {forward} batch {batch} row: {engine}"));
            assert!(row["calls"].as_u64().unwrap() >= 5, "{row}");
            let (p50, p99) = (
                row["p50_us"].as_f64().unwrap(),
                row["p99_us"].as_f64().unwrap(),
            );
            assert!(p50 > 0.0 && p99 >= p50, "{row}");
            let wps = row["windows_per_s"].as_f64().unwrap();
            assert!((wps - batch as f64 * 1e6 / p50).abs() < 1e-6 * wps, "{row}");
        }
    }
    let step = &engine["train_step"][0];
    assert_eq!(
        (step["precision"].as_str(), step["batch"].as_u64()),
        (Some("f32"), Some(32))
    );
    assert!(step["step_ms_p50"].as_f64().unwrap() > 0.0, "{step}");
    let fit = &engine["fit"][0];
    assert_eq!(fit["epochs_run"], 1);
    let auc = fit["test_roc_auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc), "{fit}");
    // The NumPy reference reproduced the exported weights' outputs; the report merged it all.
    assert!(
        stdout.contains("numpy_check") && stdout.contains("ok=1"),
        "{stdout}"
    );
    let merged = read("gpu-check.json");
    assert_eq!(merged["engine"], engine);
    assert!(merged["torch"].is_null(), "{merged}");
    assert_eq!(
        merged["goals"],
        serde_json::json!({}),
        "no GPU goals on the CPU"
    );
    let table = std::fs::read_to_string(tmp.path().join("gpu-check.md")).unwrap();
    assert!(table.contains("| cpu-fused | 1024 |"), "{table}");
}

#[test]
fn a_cuda_device_that_cannot_be_used_fails_at_start_and_says_why() {
    // Serving: the embedded default job with model.device = "cuda:0".
    let err = refused(engine().args(["--set", "model.device=cuda:0", "run"]));
    assert!(err.contains("model.device"), "{err}");
    assert!(
        err.contains("cuda:0") && err.contains(cuda_refusal()),
        "{err}"
    );
    // Training: refused before the data is read.
    let tmp = tempfile::tempdir().unwrap();
    let err = refused(
        engine()
            .args(["--set", "train.device=cuda", "train", "--data"])
            .arg(repo("tests/fixtures/klines/demo"))
            .arg("--out")
            .arg(tmp.path().join("m")),
    );
    assert!(
        err.contains("train.device") && err.contains(cuda_refusal()),
        "{err}"
    );
    assert!(
        !err.contains("events from"),
        "the data was read first: {err}"
    );
    // Measuring: device-check on it.
    let err = refused(
        engine()
            .args(["device-check", "--device", "cuda:1", "--data"])
            .arg(repo("tests/fixtures/klines/demo")),
    );
    assert!(
        err.contains("cuda:1") && err.contains(cuda_refusal()),
        "{err}"
    );
}

#[test]
fn bf16_on_the_cpu_is_a_config_error_naming_the_key() {
    for (set, key) in [
        ("model.precision=bf16", "model.precision"),
        ("train.precision=bf16", "train.precision"),
    ] {
        let err = refused(engine().args(["--set", set, "run"]));
        assert!(err.contains(key) && err.contains("needs a CUDA"), "{err}");
    }
    let err = refused(engine().args(["--set", "model.device=gpu", "run"]));
    assert!(err.contains("cuda:N"), "{err}");
}
