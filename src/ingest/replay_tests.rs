//! Tests of the replay merge on the kline fixtures and on temp files.

use super::*;
use crate::event::{EventKind, Side};
use crate::ingest::input::fixture;
use std::collections::BTreeSet;

const LINK: &str = "klines/sample/LINKUSDT-1m-2026-02.csv.gz";
const NEAR: &str = "klines/sample/NEARUSDT-1m-2026-02.csv.gz";
const DOT: &str = "klines/noheader/DOTUSDT-1m-2026-02.csv";

fn replay(paths: &[PathBuf]) -> (Vec<MarketEvent>, Vec<FileStats>) {
    let mut source = ReplaySource::open(paths, &ReplayOptions::default()).unwrap();
    let events = source.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (events, source.stats())
}

fn open_err(paths: &[PathBuf]) -> IngestError {
    ReplaySource::open(paths, &ReplayOptions::default())
        .err()
        .expect("open should fail")
}

/// (symbol, open time) of every bar event.
fn bar_keys(events: &[MarketEvent]) -> BTreeSet<(String, i64)> {
    events
        .iter()
        .filter_map(|e| Some((e.symbol.to_string(), e.as_bar()?.open_time_ms)))
        .collect()
}

fn is_non_decreasing(events: &[MarketEvent]) -> bool {
    events
        .windows(2)
        .all(|w| w[0].ts_event_ns <= w[1].ts_event_ns)
}

#[test]
fn default_options() {
    let options = ReplayOptions::default();
    assert_eq!(options.exchange, Exchange::BinanceFutures);
    assert_eq!(options.symbol_override, None);
    assert_eq!(options.max_bad_rows, 100);
    assert_eq!(options.interval_secs, 60);
}

#[test]
fn merge_of_two_files_is_ordered_and_complete() {
    let (link, near) = (fixture(LINK), fixture(NEAR));
    let (merged, stats) = replay(&[link.clone(), near.clone()]);
    let (link_events, _) = replay(&[link]);
    let (near_events, _) = replay(&[near]);
    assert_eq!(merged.len(), 600);
    assert!(is_non_decreasing(&merged));
    let mut expected = bar_keys(&link_events);
    expected.extend(bar_keys(&near_events));
    assert_eq!(bar_keys(&merged), expected);
    assert_eq!(expected.len(), 600);
    assert_eq!(stats.len(), 2);
    assert!(stats.iter().all(|s| s.events == 300 && s.bad_rows == 0));
    // Both files share one clock: equal times go to the file given first.
    let symbols: Vec<&str> = merged.iter().take(4).map(|e| e.symbol.as_str()).collect();
    assert_eq!(symbols, ["LINKUSDT", "NEARUSDT", "LINKUSDT", "NEARUSDT"]);
    let (reversed, _) = replay(&[fixture(NEAR), fixture(LINK)]);
    assert_eq!(reversed[0].symbol.as_str(), "NEARUSDT");
}

#[test]
fn directory_means_its_data_files_sorted() {
    let dir_source = ReplaySource::open(&[fixture("klines/sample")], &ReplayOptions::default());
    let source = dir_source.unwrap();
    assert_eq!(
        source.files(),
        [fixture(LINK).as_path(), fixture(NEAR).as_path()]
    );
    let (from_dir, _) = replay(&[fixture("klines/sample")]);
    assert_eq!(from_dir, replay(&[fixture(LINK), fixture(NEAR)]).0);
}

#[test]
fn csv_and_jsonl_merge_by_event_time() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("trades.jsonl");
    // A trade in the middle of each of the 50 DOT minutes.
    let lines: Vec<String> = (0..50)
        .map(|i| {
            let ts_ns = (1_769_904_030_000 + i * 60_000) * 1_000_000;
            let event = MarketEvent {
                exchange: Exchange::Binance,
                symbol: Symbol::new("DOTUSDT"),
                ts_event_ns: ts_ns,
                ts_recv_ns: ts_ns,
                kind: EventKind::Trade {
                    price: 1.5,
                    qty: 1.0,
                    side: Side::Buy,
                    id: i as u64,
                },
            };
            serde_json::to_string(&event).unwrap()
        })
        .collect();
    std::fs::write(&jsonl, lines.join("\n")).unwrap();
    let (merged, stats) = replay(&[fixture(DOT), jsonl]);
    assert_eq!(merged.len(), 100);
    assert!(is_non_decreasing(&merged));
    let kinds: Vec<bool> = merged.iter().map(|e| e.as_bar().is_some()).collect();
    let alternating: Vec<bool> = (0..100).map(|i| i % 2 == 1).collect();
    assert_eq!(
        kinds, alternating,
        "trade at :30 precedes the bar closing at :59.999"
    );
    assert_eq!(stats[1].events, 50);
}

#[test]
fn missing_file_error_names_it() {
    let missing = fixture("klines/sample/XRPUSDT-1m-2026-02.csv.gz");
    let err = open_err(&[fixture(LINK), missing.clone()]);
    assert!(matches!(err, IngestError::Open { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot open: ", missing.display()))
    );
}

#[test]
fn unsupported_file_and_empty_directory_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not data").unwrap();
    let err = open_err(std::slice::from_ref(&notes));
    assert!(matches!(err, IngestError::UnsupportedFile { .. }));
    assert!(err.to_string().starts_with(&notes.display().to_string()));
    let err = open_err(&[dir.path().to_path_buf()]);
    assert!(matches!(err, IngestError::EmptyDirectory { .. }), "{err}");
}

#[test]
fn a_failing_file_ends_the_stream_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("DOTUSDT-1m-2026-02.csv");
    let text = std::fs::read_to_string(fixture(DOT)).unwrap();
    let broken = text.replacen(",1.546,1.546,1.543,", ",1.546,1.546,1.549,", 1);
    assert_ne!(text, broken, "second DOT row gets a low above open");
    std::fs::write(&bad, broken).unwrap();
    let options = ReplayOptions {
        max_bad_rows: 0,
        ..ReplayOptions::default()
    };
    let mut source = ReplaySource::open(&[fixture(LINK), bad.clone()], &options).unwrap();
    let results: Vec<_> = source.by_ref().collect();
    let (last, ok) = results.split_last().unwrap();
    assert!(ok.iter().all(Result::is_ok));
    let err = last.as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: too many bad rows (1 > limit 0)", bad.display())
    );
    assert!(source.next().is_none());
    assert_eq!(source.stats()[1].bad_rows, 1);
}

#[test]
fn replay_source_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<ReplaySource>();
}

const XRP_TRADES: &str = "freqtrade/XRP_ETH-trades.csv.gz";
const XRP_1M: &str = "freqtrade/XRP_ETH-1m.csv.gz";
const XRP_5M: &str = "freqtrade/XRP_ETH-5m.csv.gz";

#[test]
fn csv_layouts_are_sniffed_and_merged_by_event_time() {
    let paths = [fixture(XRP_TRADES), fixture(XRP_1M), fixture(LINK)];
    let (merged, stats) = replay(&paths);
    let counts: Vec<u64> = stats.iter().map(|s| s.events).collect();
    assert_eq!(counts, [12_477, 2_469, 300]);
    assert_eq!(merged.len(), 12_477 + 2_469 + 300);
    assert!(is_non_decreasing(&merged));
    let trades = merged
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Trade { .. }))
        .count();
    assert_eq!(trades, 12_477);
    // A minute's trades come before the bar that closes it.
    let first_bar = merged.iter().position(|e| e.as_bar().is_some()).unwrap();
    assert!(
        merged[..first_bar]
            .iter()
            .all(|e| e.ts_event_ns < 1_570_752_060_000_000_000)
    );
    assert!(first_bar > 0);
}

#[test]
fn ohlcv_bars_follow_the_configured_interval() {
    let options = ReplayOptions {
        interval_secs: 300,
        ..ReplayOptions::default()
    };
    let mut source = ReplaySource::open(&[fixture(XRP_5M)], &options).unwrap();
    let bars: Vec<_> = source.by_ref().map(Result::unwrap).collect();
    assert_eq!(bars.len(), 706);
    let first = bars[0].as_bar().unwrap();
    assert_eq!(first.close_time_ms - first.open_time_ms, 299_999);
    assert!(check_intervals(&[fixture(XRP_5M)], 300).is_ok());
    let err = check_intervals(&[fixture(XRP_TRADES), fixture(XRP_5M)], 60).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::WrongInterval {
                secs: 300,
                want: 60,
                ..
            }
        ),
        "{err}"
    );
    assert!(check_intervals(&[fixture(XRP_TRADES), fixture(XRP_1M)], 60).is_ok());
}

#[test]
fn unknown_csv_layout_names_the_file_and_the_expected_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("XRP_ETH-1m.csv");
    std::fs::write(&odd, "1570752000000,1,2,3,4\n").unwrap();
    let err = open_err(std::slice::from_ref(&odd));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}: unknown column layout (5 columns",
            odd.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("kline") && msg.contains("OHLCV") && msg.contains("trades"),
        "{msg}"
    );
}
