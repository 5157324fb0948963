//! Tests of the kline CSV reader on real data.binance.vision slices (`tests/fixtures/klines/`)
//! and on temp files derived from them.

use super::*;
use crate::ingest::input::fixture;
use std::io::Read;

const LINK_GZ: &str = "klines/sample/LINKUSDT-1m-2026-02.csv.gz";
const DOT_NO_HEADER: &str = "klines/noheader/DOTUSDT-1m-2026-02.csv";
const HEADER_LINE: &str = "open_time,open,high,low,close,volume,close_time,quote_volume,count,\
                           taker_buy_volume,taker_buy_quote_volume,ignore";

fn open(path: &Path, limit: u64) -> KlineCsvReader {
    KlineCsvReader::open(path, Exchange::BinanceFutures, None, limit).unwrap()
}

fn read_all(path: &Path) -> (Vec<MarketEvent>, FileStats) {
    let mut reader = open(path, 100);
    let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (events, reader.stats().clone())
}

fn open_err(path: &Path) -> IngestError {
    KlineCsvReader::open(path, Exchange::BinanceFutures, None, 100)
        .err()
        .expect("open should fail")
}

/// The 50 header-less DOTUSDT rows, one string per line.
fn dot_rows() -> Vec<String> {
    let text = std::fs::read_to_string(fixture(DOT_NO_HEADER)).unwrap();
    text.lines().map(str::to_string).collect()
}

fn write(dir: &tempfile::TempDir, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `row` with column `i` replaced by `value`.
fn with_field(row: &str, i: usize, value: &str) -> String {
    let mut fields: Vec<&str> = row.split(',').collect();
    fields[i] = value;
    fields.join(",")
}

#[test]
fn fixture_rows_parse_to_closed_bars() {
    let (events, stats) = read_all(&fixture(LINK_GZ));
    assert_eq!(events.len(), 300);
    assert_eq!(
        (stats.rows_read, stats.events, stats.bad_rows),
        (300, 300, 0)
    );
    let first = &events[0];
    assert_eq!(first.exchange, Exchange::BinanceFutures);
    assert_eq!(first.symbol.as_str(), "LINKUSDT");
    assert_eq!(first.ts_event_ns, 1_769_904_059_999_000_000);
    let expected = Bar {
        open_time_ms: 1_769_904_000_000,
        close_time_ms: 1_769_904_059_999,
        open: 9.982,
        high: 9.990,
        low: 9.974,
        close: 9.987,
        volume: 24464.35,
        quote_volume: 244198.04745,
        trades: 782,
        taker_buy_volume: 9388.60,
        closed: true,
    };
    assert_eq!(first.as_bar(), Some(&expected));
    let last = events[299].as_bar().unwrap();
    assert_eq!(last.open_time_ms, 1_769_904_000_000 + 299 * 60_000);
}

#[test]
fn header_and_no_header_parse_identically() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![HEADER_LINE.to_string()];
    lines.extend(dot_rows());
    let with_header = write(&dir, "DOTUSDT-1m-2026-02.csv", &lines);
    let (plain, _) = read_all(&fixture(DOT_NO_HEADER));
    let (headed, stats) = read_all(&with_header);
    assert_eq!(plain.len(), 50);
    assert_eq!(plain, headed);
    assert_eq!(stats.rows_read, 50, "the header is not a data row");
}

#[test]
fn spot_documentation_header_names_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let header = "Open time,Open,High,Low,Close,Volume,Close time,Quote asset volume,\
                  Number of trades,Taker buy base asset volume,Taker buy quote asset volume,Ignore";
    let mut lines = vec![header.to_string()];
    lines.extend(dot_rows());
    let (events, _) = read_all(&write(&dir, "DOTUSDT-1m-2026-02.csv", &lines));
    assert_eq!(events.len(), 50);
}

#[test]
fn gz_and_plain_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(fixture(LINK_GZ)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let plain = dir.path().join("LINKUSDT-1m-2026-02.csv");
    std::fs::write(&plain, text).unwrap();
    assert_eq!(read_all(&fixture(LINK_GZ)).0, read_all(&plain).0);
}

#[test]
fn symbol_and_interval_from_file_name() {
    let parse = |name: &str| parse_file_name(Path::new(name));
    let ok = |s: &str, i: &str| Some((Symbol::new(s), i.to_string()));
    assert_eq!(
        parse("data/LINKUSDT-1m-2026-02.csv.gz"),
        ok("LINKUSDT", "1m")
    );
    assert_eq!(parse("BTCUSDT-15m-2025-01-03.csv"), ok("BTCUSDT", "15m"));
    assert_eq!(parse("BTCUSDT-1m-2025-01.CSV.GZ"), ok("BTCUSDT", "1m"));
    assert_eq!(parse("btcusd_perp-1h-2024-01.csv"), ok("BTCUSD_PERP", "1h"));
    for bad in [
        "LINKUSDT.csv",
        "LINKUSDT-1m-26-02.csv",
        "LINKUSDT-1m-2026-02.jsonl",
        "-1m-2026-02.csv",
        "LINKUSDT-m-2026-02.csv",
        "LINKUSDT-1m-2026-02-01-05.csv",
    ] {
        assert_eq!(parse(bad), None, "{bad}");
    }
    let reader = open(&fixture(LINK_GZ), 0);
    assert_eq!(reader.symbol().as_str(), "LINKUSDT");
    assert_eq!(reader.interval(), Some("1m"));
}

#[test]
fn symbol_override_names_files_without_convention() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "dot.csv", &dot_rows());
    let err = open_err(&path);
    assert!(matches!(err, IngestError::NoSymbol { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot infer symbol", path.display()))
    );
    let over = Some(Symbol::new("dotusdt"));
    let reader = KlineCsvReader::open(&path, Exchange::Binance, over, 0).unwrap();
    assert_eq!(reader.interval(), None);
    let events: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(events.len(), 50);
    assert!(events.iter().all(|e| e.symbol.as_str() == "DOTUSDT"));
    assert!(events.iter().all(|e| e.exchange == Exchange::Binance));
}

#[test]
fn microsecond_timestamps_are_converted() {
    assert_eq!(timestamp_to_ms(1_735_689_600_000_000), 1_735_689_600_000);
    assert_eq!(timestamp_to_ms(1_735_689_659_999_999), 1_735_689_659_999);
    assert_eq!(timestamp_to_ms(1_769_904_000_000), 1_769_904_000_000);
    let micros: Vec<String> = dot_rows()
        .iter()
        .map(|row| {
            let f: Vec<&str> = row.split(',').collect();
            let open = format!("{}000", f[0]);
            let close = format!("{}999", f[6]);
            with_field(&with_field(row, 0, &open), 6, &close)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "DOTUSDT-1m-2026-02.csv", &micros);
    assert_eq!(read_all(&path).0, read_all(&fixture(DOT_NO_HEADER)).0);
}

#[test]
fn malformed_rows_are_counted_and_skipped() {
    let rows = dot_rows();
    let lines = vec![
        HEADER_LINE.to_string(),
        rows[0].clone(),
        with_field(&rows[1], 1, "x1.5"), // line 3: open is not a number
        rows[2].clone(),
        with_field(&rows[3], 2, "1.000"), // line 5: high below open
        rows[3].clone(),                  // line 6: fine
        rows[3].clone(),                  // line 7: open_time repeats
        rows[5].split(',').take(11).collect::<Vec<_>>().join(","), // line 8: 11 columns
        with_field(&rows[6], 5, "-1"),    // line 9: negative volume
        with_field(&rows[7], 6, "1769904420000"), // line 10: close_time == open_time
        with_field(&rows[8], 4, "NaN"),   // line 11: close not finite
        rows[9].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "DOTUSDT-1m-2026-02.csv", &lines);
    let (events, stats) = read_all(&path);
    let opens: Vec<i64> = events
        .iter()
        .map(|e| e.as_bar().unwrap().open_time_ms)
        .collect();
    let minute = |i: i64| 1_769_904_000_000 + i * 60_000;
    assert_eq!(opens, vec![minute(0), minute(2), minute(3), minute(9)]);
    assert_eq!((stats.rows_read, stats.events, stats.bad_rows), (11, 4, 7));
    let shown = path.display().to_string();
    assert_eq!(stats.first_bad.len(), 5, "only the first few are kept");
    for (message, line) in stats.first_bad.iter().zip([3, 5, 7, 8, 9]) {
        let prefix = format!("{shown}:{line}: bad kline row: ");
        assert!(
            message.starts_with(&prefix),
            "{message} should start with {prefix}"
        );
    }
    assert!(
        stats.first_bad[1].contains("high 1 is below"),
        "{}",
        stats.first_bad[1]
    );
}

#[test]
fn bad_rows_over_the_limit_are_an_error() {
    let rows = dot_rows();
    let lines = vec![
        rows[0].clone(),
        with_field(&rows[1], 3, "9"),
        rows[2].clone(),
        with_field(&rows[3], 3, "9"),
        rows[4].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "DOTUSDT-1m-2026-02.csv", &lines);
    assert_eq!(read_all(&path).1.bad_rows, 2, "limit 100 tolerates both");
    let mut reader = open(&path, 1);
    assert!(reader.next().unwrap().is_ok());
    assert!(reader.next().unwrap().is_ok());
    let err = reader.next().unwrap().unwrap_err();
    assert!(matches!(
        err,
        IngestError::TooManyBadRows {
            bad: 2,
            limit: 1,
            ..
        }
    ));
    let expected = format!("{}: too many bad rows (2 > limit 1)", path.display());
    assert_eq!(err.to_string(), expected);
    assert!(reader.next().is_none(), "the reader ends after an error");
}

#[test]
fn unknown_column_layout_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let lines = ["1769904000000,1.5,1.6,1.4,1.5,10,1769904059999".to_string()];
    let path = write(&dir, "DOTUSDT-1m-2026-02.csv", &lines);
    let err = open_err(&path);
    assert!(matches!(err, IngestError::UnknownLayout { columns: 7, .. }));
    let message = err.to_string();
    assert!(message.starts_with(&format!(
        "{}: unknown column layout (7 columns",
        path.display()
    )));
}

#[test]
fn wrong_header_names_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![HEADER_LINE.replace("volume,close_time", "vol,close_time")];
    lines.extend(dot_rows());
    let path = write(&dir, "DOTUSDT-1m-2026-02.csv", &lines);
    let err = open_err(&path);
    assert!(
        matches!(
            err,
            IngestError::BadHeader {
                line: 1,
                column: 6,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}:1: ", path.display()))
    );
}

#[test]
fn empty_file_yields_no_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("DOTUSDT-1m-2026-02.csv");
    std::fs::write(&path, "").unwrap();
    let (events, stats) = read_all(&path);
    assert!(events.is_empty());
    assert_eq!(stats.rows_read, 0);
}

#[test]
fn interval_names_to_seconds() {
    assert_eq!(interval_secs("1s"), Some(1));
    assert_eq!(interval_secs("1m"), Some(60));
    assert_eq!(interval_secs("15m"), Some(900));
    assert_eq!(interval_secs("4h"), Some(14_400));
    assert_eq!(interval_secs("1d"), Some(86_400));
    assert_eq!(interval_secs("1w"), Some(604_800));
    assert_eq!(interval_secs("1mo"), None);
    assert_eq!(interval_secs("m"), None);
}

#[test]
fn corrupt_first_row_of_headerless_file_is_a_bad_row() {
    let rows = dot_rows();
    let lines = vec![
        with_field(&rows[0], 0, "garbage"),
        rows[1].clone(),
        rows[2].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "DOTUSDT-1m-2026-02.csv", &lines);
    let (events, stats) = read_all(&path);
    assert_eq!(events.len(), 2);
    assert_eq!((stats.rows_read, stats.bad_rows), (3, 1));
    assert!(
        stats.first_bad[0].contains(":1: bad kline row"),
        "{:?}",
        stats.first_bad
    );
}

#[test]
fn rows_that_are_not_utf8_reach_the_dead_letter_file_whole() {
    let rows = dot_rows();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("DOTUSDT-1m-2026-02.csv");
    let mut bytes = format!("{HEADER_LINE}\n{}\n", rows[0]).into_bytes();
    bytes.extend_from_slice(b"1769904060000,1.\xff5,2,1,1.5,10,1769904119999,15,3,5,7.5,0\n");
    bytes.extend_from_slice(format!("{}\n", rows[2]).as_bytes());
    std::fs::write(&path, bytes).unwrap();
    let dl_path = dir.path().join("dead.jsonl");
    let dl = crate::ingest::dead_letter::DeadLetters::create(&dl_path).unwrap();
    let mut reader = open(&path, 100).with_dead_letters(Some(dl.clone()));
    let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(reader.stats().bad_rows, 1);
    assert_eq!(dl.flush().unwrap().1, 1);
    let letter: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&dl_path).unwrap().trim()).unwrap();
    assert_eq!(letter["line"], 3);
    assert_eq!(
        letter["raw"],
        "1769904060000,1.\u{fffd}5,2,1,1.5,10,1769904119999,15,3,5,7.5,0"
    );
    assert!(letter["error"].as_str().unwrap().contains("invalid UTF-8"));
}

#[test]
fn truncated_gzip_is_a_read_error_naming_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture(LINK_GZ)).unwrap();
    let cut = dir.path().join("LINKUSDT-1m-2026-02.csv.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut reader = open(&cut, 100);
    let err = reader
        .by_ref()
        .find_map(Result::err)
        .expect("a truncated file must fail");
    let msg = err.to_string();
    assert!(
        matches!(err, IngestError::Read { line, .. } if line > 1),
        "{msg}"
    );
    assert!(msg.contains("LINKUSDT-1m-2026-02.csv.gz:"), "{msg}");
}
