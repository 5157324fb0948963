//! `signal-engine features` (the export) and the feature engine on real data:
//! - the export's raw indicator columns equal TA-Lib's on real bars (the goldens of `oracle.rs`),
//!   under the documented column names, with empty cells exactly during TA-Lib's warm-up;
//! - streaming (event by event through the engine) and offline (one batch of bars through
//!   `SymbolState`) give bit-identical rows;
//! - on the sparse real XRP/ETH market, bars built from the trades and the published 1 m bars give
//!   bit-identical OHLCV indicators through the whole engine, gap filling included.

mod common;

use common::*;
use signal_engine::config::Config;
use signal_engine::event::Bar;
use signal_engine::export::export_features;
use signal_engine::features::{BarSource, FeatureSpec, StatePolicy, Step, SymbolState};
use signal_engine::ingest::IngestError;
use signal_engine::ingest::replay::{ReplayOptions, ReplaySource};
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

/// Runs the export over `paths` into memory; returns the header and the rows as strings.
fn export(
    paths: &[PathBuf],
    names: &[String],
    policy: StatePolicy,
    source: BarSource,
) -> (Vec<String>, Vec<Vec<String>>) {
    let events = ReplaySource::open(paths, &ReplayOptions::default()).unwrap();
    let mut out = Vec::new();
    let stats =
        export_features::<IngestError>(events, names, policy, source, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(rows.len() as u64, stats.rows);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    (header, rows)
}

fn golden(rel: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let f = std::fs::File::open(fixture(rel)).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn policy() -> StatePolicy {
    Config::default().features.policy()
}

#[test]
fn export_columns_match_talib_on_real_bars_with_zero_volume_minutes() {
    let names = FeatureSpec::default_names();
    let (header, rows) = export(
        &[fixture("klines/zero_volume/ALGOUSDT-1m-2026-02.csv.gz")],
        &names,
        policy(),
        BarSource::Auto,
    );
    let raw = FeatureSpec::export_raw_names();
    let mut want: Vec<String> = ["symbol", "open_time_ms", "close_time_ms", "state"]
        .map(String::from)
        .to_vec();
    want.extend(raw.iter().cloned());
    want.extend(names.iter().cloned());
    assert_eq!(header, want, "documented column names and order");
    let (gh, grows) = golden("golden/indicators_ALGOUSDT_3000.csv.gz");
    assert_eq!(rows.len(), grows.len());
    let mut compared = 0;
    for (i, (ours, theirs)) in rows.iter().zip(&grows).enumerate() {
        assert_eq!(ours[0], "ALGOUSDT");
        assert_eq!(ours[1], theirs[0], "row {i}: open time");
        for name in &raw {
            let o = &ours[header.iter().position(|h| h == name).unwrap()];
            let t = &theirs[gh.iter().position(|h| h == name).unwrap()];
            match (o.is_empty(), t == "nan") {
                (true, true) => {}
                (false, false) => {
                    let (a, b): (f64, f64) = (o.parse().unwrap(), t.parse().unwrap());
                    let tol = if b == 0.0 { 1e-12 } else { 1e-9 * b.abs() };
                    assert!((a - b).abs() <= tol, "row {i} {name}: ours {a} TA-Lib {b}");
                    compared += 1;
                }
                _ => panic!("row {i} {name}: warm-up differs: ours {o:?} TA-Lib {t:?}"),
            }
        }
    }
    assert!(compared > 3000 * 13, "{compared}");
    // Contiguous real data: warming until MACD's 33 bars + T complete rows, then ready throughout.
    let t = policy().seq_len;
    assert!(rows[..33 + t - 1].iter().all(|r| r[3] == "warming"));
    assert!(rows[33 + t - 1..].iter().all(|r| r[3] == "ready"));
}

#[test]
fn streaming_and_batch_rows_are_bit_identical() {
    let path = fixture("klines/train/NEARUSDT-1m-2026-02.csv.gz");
    let raw = FeatureSpec::export_raw_names();
    let mut names = raw.clone();
    names.extend(
        FeatureSpec::full_names()
            .into_iter()
            .filter(|n| !raw.contains(n)),
    );
    let spec = FeatureSpec::any(&names).unwrap();

    // Streaming: event by event through the engine, as served.
    let (header, rows) = export(
        std::slice::from_ref(&path),
        &FeatureSpec::full_names(),
        policy(),
        BarSource::Auto,
    );
    // Batch: every bar of the file at once through one `SymbolState`, as in training.
    let bars: Vec<Bar> = read_events(&[path])
        .iter()
        .filter_map(|e| e.as_bar().cloned())
        .collect();
    let mut state = SymbolState::new(&spec, policy());
    let mut batch: Vec<Vec<f64>> = Vec::new();
    for b in &bars {
        state
            .on_bar(b, None, |s| {
                if let Step::Bar { row, .. } = s {
                    batch.push(row.to_vec());
                }
            })
            .unwrap();
    }
    assert_eq!(rows.len(), bars.len());
    assert_eq!(batch.len(), bars.len());
    for (r, b) in rows.iter().zip(&batch) {
        for (j, name) in spec.names().iter().enumerate() {
            let cell = &r[header.iter().position(|h| h == name).unwrap()];
            let streamed = if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse().unwrap()
            };
            // The CSV prints the shortest text that parses back to the same f64.
            assert_eq!(
                streamed.to_bits(),
                b[j].to_bits(),
                "{name}: {cell} vs {}",
                b[j]
            );
        }
    }
}

#[test]
fn sparse_market_bars_from_trades_equal_the_published_bars_through_the_engine() {
    // Indicators that read only OHLCV (the OHLCV file has no taker or quote volume).
    let names: Vec<String> = [
        "log_return_1",
        "rsi_14",
        "atr_over_close_14",
        "bb_percent_b_20",
        "roc_10",
        "stoch_k_14_3_3",
        "obv_z_20",
        "mfi_14",
        "parkinson_20",
        "garman_klass_20",
        "volume_z_20",
    ]
    .map(String::from)
    .to_vec();
    let p = StatePolicy {
        fill_gap_bars: 5,
        stale_after_ms: 6 * 60_000,
        ..policy()
    };
    let (h1, from_trades) = export(
        &[fixture("freqtrade/XRP_ETH-trades.csv.gz")],
        &names,
        p,
        BarSource::Trades,
    );
    let (h2, from_bars) = export(
        &[fixture("freqtrade/XRP_ETH-1m.csv.gz")],
        &names,
        p,
        BarSource::Bars,
    );
    assert_eq!(h1, h2);
    assert_eq!(from_trades.len(), 2_469, "one row per published bar");
    for (i, (t, b)) in from_trades.iter().zip(&from_bars).enumerate() {
        assert_eq!(t, b, "row {i}: trades {t:?} bars {b:?}");
    }
    // The sparse market exercised every policy: warming, ready after fills, resyncs after long gaps.
    let states: HashMap<&str, usize> = from_bars.iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(r[3].as_str()).or_default() += 1;
        m
    });
    assert!(states["ready"] > 0 && states["resync"] > 0, "{states:?}");
}
