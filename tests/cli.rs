//! The binary as a user runs it: exit codes, one-line errors that name the file, bad rows counted.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signal-engine"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let o = c.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A tiny bundle plus a config file that matches it.
fn setup(dir: &Path) -> std::path::PathBuf {
    let cfg = tiny_config();
    train_tiny_bundle(&cfg, &dir.join("bundle"));
    let mut text = toml::to_string(&cfg).unwrap();
    text.push('\n');
    let p = dir.join("tiny.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn missing_file_is_a_one_line_error_naming_it() {
    let (ok, _, err) =
        run(bin().args(["replay", "--data", "no/such/file.csv", "--out", "/dev/null"]));
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no/such/file.csv"), "{err}");
}

#[test]
fn bad_config_names_key_and_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.toml");
    std::fs::write(&p, "[inference]\nmax_batch = 0\n").unwrap();
    let (ok, _, err) = run(bin().arg("--config").arg(&p).arg("run"));
    assert!(!ok);
    assert!(
        err.contains("bad.toml") && err.contains("inference.max_batch"),
        "{err}"
    );
}

#[test]
fn replay_counts_bad_rows_and_fails_on_unknown_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = setup(tmp.path());
    // A real demo file with one corrupted row in the middle.
    let text = read_gz(&fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz"));
    let mut rows: Vec<String> = text.lines().map(String::from).collect();
    rows[700] = rows[700].replacen(',', ",not-a-number,", 1);
    let bad = tmp.path().join("LINKUSDT-1m-2026-02.csv");
    std::fs::write(&bad, rows.join("\n") + "\n").unwrap();
    let out = tmp.path().join("s.jsonl");
    let (ok, stdout, err) = replay_tiny(tmp.path(), &cfg, &bad, &out);
    assert!(ok, "{err}");
    assert!(stdout.contains("1 bad rows"), "{stdout}");
    assert!(stdout.contains("LINKUSDT-1m-2026-02.csv:701"), "{stdout}");
    // The bad row is not lost: it sits in the dead-letter file, whole.
    let dead = std::fs::read_to_string(tmp.path().join("dead.jsonl")).unwrap();
    let letter: serde_json::Value = serde_json::from_str(dead.trim()).unwrap();
    assert_eq!(letter["line"], 701);
    assert_eq!(letter["raw"], rows[700].as_str());
    assert!(stdout.contains("dead letters: 1 rows"), "{stdout}");
    // The summary for scripts says the same as the one for people.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["files"][0]["bad_rows"], 1);
    assert_eq!(summary["dead_letters"][1], 1);
    assert!(summary["latency"]["p999_us"].as_u64().unwrap() > 0);
    assert!(
        stdout.contains("windows/s") && stdout.contains("p99.9"),
        "{stdout}"
    );
    let schema = schema("signal.schema.json");
    let text = std::fs::read_to_string(&out).unwrap();
    for line in text.lines() {
        assert_valid(&schema, &serde_json::from_str(line).unwrap());
    }
    assert_eq!(summary["signals"], text.lines().count());

    let odd = tmp.path().join("XUSDT-1m-2026-02.csv");
    std::fs::write(&odd, "1,2,3\n4,5,6\n").unwrap();
    let (ok, _, err) = replay_tiny(tmp.path(), &cfg, &odd, Path::new("/dev/null"));
    assert!(!ok);
    assert!(
        err.contains("XUSDT-1m-2026-02.csv") && err.contains("column"),
        "{err}"
    );
}

#[test]
fn model_trained_on_other_features_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = setup(tmp.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    let other = text.replace("\"taker_buy_ratio\"", "\"rsi_7\"");
    assert_ne!(text, other);
    std::fs::write(&cfg, other).unwrap();
    let (ok, _, err) = replay_tiny(
        tmp.path(),
        &cfg,
        fixture("klines/sample"),
        Path::new("/dev/null"),
    );
    assert!(!ok);
    assert!(err.contains("feature-spec hash"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn kline_file_of_another_interval_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = setup(tmp.path());
    let text = read_gz(&fixture("klines/demo/LINKUSDT-1m-2026-02.csv.gz"));
    let five = tmp.path().join("LINKUSDT-5m-2026-02.csv");
    std::fs::write(&five, text).unwrap();
    let (ok, _, err) = replay_tiny(tmp.path(), &cfg, &five, Path::new("/dev/null"));
    assert!(!ok);
    assert!(
        err.contains("LINKUSDT-5m-2026-02.csv") && err.contains("300 s"),
        "{err}"
    );
}

/// The README's first command, as a user runs it from the repository root: no arguments, the
/// embedded config, the bundled sample and model, `out/signals.jsonl`.
#[test]
fn embedded_default_demo_runs_and_writes_valid_signals() {
    let (ok, stdout, err) = run(&mut bin());
    assert!(ok, "{err}");
    assert!(stdout.contains("model default-2026-02"), "{stdout}");
    assert!(stdout.contains("bars 8640"), "{stdout}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("out/signals.jsonl");
    let text = std::fs::read_to_string(out).unwrap();
    let schema = schema("signal.schema.json");
    let mut n = 0;
    for line in text.lines() {
        assert_valid(&schema, &serde_json::from_str(line).unwrap());
        n += 1;
    }
    assert!(
        stdout.contains(&format!("signals {n} ")),
        "{n} lines vs {stdout}"
    );
    // Every bar after each symbol's warm-up (indicator lookback + T - 1 bars) gives one signal.
    let cfg = signal_engine::config::Config::load(None).unwrap().0;
    let spec = signal_engine::features::FeatureSpec::new(&cfg.features.names).unwrap();
    let lookback = signal_engine::features::FeatureComputer::new(&spec).lookback();
    assert_eq!(n, 6 * (1440 - (lookback + cfg.features.seq_len - 1)), "{n}");
}

/// `signal-engine --config CFG replay --model DIR/bundle --data DATA --out OUT`.
fn replay_tiny(
    dir: &Path,
    cfg: &Path,
    data: impl AsRef<std::ffi::OsStr>,
    out: &Path,
) -> (bool, String, String) {
    run(bin()
        .arg("--config")
        .arg(cfg)
        .args(["replay", "--model"])
        .arg(dir.join("bundle"))
        .arg("--dead-letter")
        .arg(dir.join("dead.jsonl"))
        .arg("--summary-json")
        .arg(dir.join("summary.json"))
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out))
}

fn read_gz(p: &Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// `features` on sparse real bars (freqtrade XRP/ETH, minutes without trades have no bar) and on
/// 5-minute bars, then `--scaled` with the default bundle's scaler on the kline sample.
#[test]
fn features_export_writes_one_row_per_bar_on_sparse_and_5m_data() {
    let tmp = tempfile::tempdir().unwrap();
    for (file, interval, rows) in [
        ("XRP_ETH-1m.csv.gz", "60", 2_469),
        ("XRP_ETH-5m.csv.gz", "300", 706),
    ] {
        let out = tmp.path().join(format!("{file}.csv"));
        let (ok, _, err) = run(bin()
            .args(["features", "--bar-interval-secs", interval, "--data"])
            .arg(fixture(&format!("freqtrade/{file}")))
            .arg("--out")
            .arg(&out));
        assert!(ok, "{err}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text.lines().count(),
            rows + 1,
            "{file}: header + one row per bar"
        );
        // Key columns, the raw indicators, then the embedded config's model features.
        let n_model = signal_engine::config::Config::load(None)
            .unwrap()
            .0
            .features
            .names
            .len();
        assert!(
            text.lines()
                .all(|l| l.split(',').count() == 4 + 14 + n_model)
        );
        assert!(err.contains("gap bars filled"), "{err}");
    }
    // A 5-minute file under the 1-minute config is refused up front, naming the key.
    let (ok, _, err) = run(bin()
        .args(["features", "--data"])
        .arg(fixture("freqtrade/XRP_ETH-5m.csv.gz"))
        .args(["--out", "/dev/null"]));
    assert!(!ok && err.contains("bar_interval_secs"), "{err}");

    let out = tmp.path().join("scaled.csv");
    let (ok, _, err) = run(bin()
        .args(["features", "--scaled", "--data"])
        .arg(fixture("klines/sample/LINKUSDT-1m-2026-02.csv.gz"))
        .arg("--out")
        .arg(&out));
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let names = signal_engine::config::Config::load(None)
        .unwrap()
        .0
        .features
        .names;
    let nf = names.len();
    assert_eq!(header.len(), 4 + 14 + nf + nf);
    assert_eq!(header[4], "rsi_14");
    assert_eq!(header[17], "parkinson_20");
    let last_scaled = format!("{}_scaled", names[nf - 1]);
    assert_eq!(header.last(), Some(&last_scaled.as_str()));
    // The sample's last bar is warm for every feature of the bundle (300 bars > lookback + 1).
    let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
    let scaled: Vec<f64> = last[4 + 14 + nf..]
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(scaled.len(), nf);
    assert!(scaled.iter().all(|v| v.abs() <= 10.0), "{scaled:?}");
}
