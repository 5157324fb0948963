//! Tests of the generic OHLCV reader on the freqtrade fixture (`tests/fixtures/freqtrade/`) and on
//! temp files derived from its rows.

use super::*;
use crate::ingest::input::fixture;
use std::io::Read;

const XRP_1M: &str = "freqtrade/XRP_ETH-1m.csv.gz";
const T0: i64 = 1_570_752_000_000; // 2019-10-11T00:00:00Z, the fixture's first bar
const HEADER: &str = "open_time_ms,open,high,low,close,volume";

fn open(path: &Path, secs: u64, limit: u64) -> OhlcvCsvReader {
    OhlcvCsvReader::open(path, Exchange::Binance, None, secs, limit).unwrap()
}

fn read_all(path: &Path) -> (Vec<MarketEvent>, FileStats) {
    let mut reader = open(path, 60, 100);
    let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (events, reader.stats().clone())
}

fn open_err(path: &Path) -> IngestError {
    OhlcvCsvReader::open(path, Exchange::Binance, None, 60, 100)
        .err()
        .expect("open should fail")
}

/// The fixture's first `n` data rows.
fn xrp_rows(n: usize) -> Vec<String> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(fixture(XRP_1M)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().skip(1).take(n).map(str::to_string).collect()
}

fn write(dir: &tempfile::TempDir, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn with_field(row: &str, i: usize, value: &str) -> String {
    let mut fields: Vec<&str> = row.split(',').collect();
    fields[i] = value;
    fields.join(",")
}

fn opens(events: &[MarketEvent]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.as_bar().unwrap().open_time_ms)
        .collect()
}

#[test]
fn freqtrade_file_reads_as_closed_bars() {
    let (events, stats) = read_all(&fixture(XRP_1M));
    assert_eq!(events.len(), 2469);
    assert_eq!((stats.rows_read, stats.bad_rows), (2469, 0));
    let first = &events[0];
    assert_eq!(first.symbol.as_str(), "XRP_ETH");
    assert_eq!(first.exchange, Exchange::Binance);
    assert_eq!(first.ts_event_ns, (T0 + 59_999) * 1_000_000);
    let typical = (0.00141557 + 0.00141266 + 0.00141418) / 3.0;
    let expected = Bar {
        open_time_ms: T0,
        close_time_ms: T0 + 59_999,
        open: 0.00141342,
        high: 0.00141557,
        low: 0.00141266,
        close: 0.00141418,
        volume: 1482.0,
        quote_volume: 1482.0 * typical,
        trades: 0,
        taker_buy_volume: 741.0,
        closed: true,
    };
    assert_eq!(first.as_bar(), Some(&expected));
    let reader = open(&fixture(XRP_1M), 60, 0);
    assert_eq!(reader.interval(), Some("1m"));
}

#[test]
fn units_and_header_presence_read_alike() {
    let rows = xrp_rows(20);
    let (ms, _) = read_all(&write(
        &tempfile::tempdir().unwrap(),
        "XRP_ETH-1m.csv",
        &rows,
    ));
    let convert = |f: &dyn Fn(i64) -> String| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let t: i64 = r.split(',').next().unwrap().parse().unwrap();
                with_field(r, 0, &f(t))
            })
            .collect()
    };
    let iso = |t: i64| {
        let s = t / 1000 - T0 / 1000;
        format!(
            "2019-10-11 {:02}:{:02}:{:02}",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    };
    let iso_z = |t: i64| iso(t).replace(' ', "T") + "Z";
    let iso_offset = |t: i64| {
        let s = t / 1000 - T0 / 1000 + 7200;
        format!(
            "2019-10-11T{:02}:{:02}:{:02}+02:00",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    };
    let variants: Vec<(&str, Vec<String>)> = vec![
        (
            "Time,OPEN,High,Low,Close,Volume",
            convert(&|t| (t / 1000).to_string()),
        ),
        (
            "date,open,high,low,close,volume",
            convert(&|t| (t * 1000).to_string()),
        ),
        ("timestamp,open,high,low,close,volume", convert(&iso)),
        (
            "\u{feff}open_time,open,high,low,close,volume",
            convert(&iso_z),
        ),
        ("", convert(&iso_offset)),
    ];
    for (header, data) in variants {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = Vec::new();
        if !header.is_empty() {
            lines.push(header.to_string());
        }
        lines.extend(data);
        let (events, stats) = read_all(&write(&dir, "XRP_ETH-1m.csv", &lines));
        assert_eq!(events, ms, "{header}");
        assert_eq!(stats.rows_read, 20);
    }
}

#[test]
fn extra_trailing_columns_are_ignored() {
    let rows: Vec<String> = xrp_rows(5).iter().map(|r| format!("{r},x")).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![format!("{HEADER},note")];
    lines.extend(rows);
    lines.push(xrp_rows(6)[5].clone()); // one column short of the header
    let (events, stats) = read_all(&write(&dir, "XRP_ETH-1m.csv", &lines));
    assert_eq!(events.len(), 5);
    assert_eq!(stats.bad_rows, 1);
    assert!(stats.first_bad[0].contains(":7: bad OHLCV row: expected 7 columns, found 6"));
}

#[test]
fn malformed_rows_are_counted_skipped_and_dead_lettered() {
    let rows = xrp_rows(12);
    let lines = vec![
        HEADER.to_string(),
        rows[0].clone(),
        with_field(&rows[1], 1, "x"), // line 3: open not a number
        with_field(&rows[2], 0, &(T0 + 150_000).to_string()), // line 4: off the 1m grid
        with_field(&rows[3], 0, "1570752180"), // line 5: seconds in a ms file
        with_field(&rows[4], 2, "0.001"), // line 6: high below open
        rows[4].clone(),
        rows[4].clone(),                                 // line 8: open time repeats
        with_field(&rows[6], 5, "-1"),                   // line 9: negative volume
        with_field(&rows[7], 4, "inf"),                  // line 10: close not finite
        with_field(&rows[8], 0, "2019-10-11T00:08:00Z"), // line 11: ISO in a ms file
        rows[9].split(',').take(5).collect::<Vec<_>>().join(","), // line 12: 5 columns
        with_field(&rows[10], 0, ""),                    // line 13: empty timestamp
        rows[11].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "XRP_ETH-1m.csv", &lines);
    let dl_path = dir.path().join("dead.jsonl");
    let dl = crate::ingest::dead_letter::DeadLetters::create(&dl_path).unwrap();
    let mut reader = open(&path, 60, 100).with_dead_letters(Some(dl.clone()));
    let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let expect: Vec<i64> = [&rows[0], &rows[4], &rows[11]]
        .iter()
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(opens(&events), expect);
    let stats = reader.stats();
    assert_eq!((stats.rows_read, stats.events, stats.bad_rows), (13, 3, 10));
    let shown = path.display().to_string();
    for (message, line) in stats.first_bad.iter().zip([3, 4, 5, 6, 8]) {
        let prefix = format!("{shown}:{line}: bad OHLCV row: ");
        assert!(message.starts_with(&prefix), "{message}");
    }
    assert!(stats.first_bad[1].contains("not on the 60 s interval grid"));
    assert!(
        stats.first_bad[2]
            .contains("integer seconds, but this file's first row used integer milliseconds")
    );
    assert_eq!(dl.flush().unwrap().1, 10);
    let text = std::fs::read_to_string(&dl_path).unwrap();
    let letter: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(letter["line"], 3);
    assert_eq!(letter["raw"], lines[2]);
}

#[test]
fn bad_rows_over_the_limit_are_an_error() {
    let rows = xrp_rows(3);
    let lines = vec![
        rows[0].clone(),
        with_field(&rows[1], 3, "9"),
        rows[2].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "XRP_ETH-1m.csv", &lines);
    let mut reader = open(&path, 60, 0);
    assert!(reader.next().unwrap().is_ok());
    let err = reader.next().unwrap().unwrap_err();
    let expected = format!("{}: too many bad rows (1 > limit 0)", path.display());
    assert_eq!(err.to_string(), expected);
    assert!(reader.next().is_none());
}

#[test]
fn sparse_five_minute_bars_with_their_interval() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = [0, 5, 20]
        .iter()
        .map(|m| format!("{},1,2,0.5,1.5,10", T0 + m * 60_000))
        .collect();
    let path = write(&dir, "XRP_ETH-5m.csv", &lines);
    let mut reader = open(&path, 300, 0);
    let events: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
    assert_eq!(opens(&events), [T0, T0 + 300_000, T0 + 1_200_000]);
    assert_eq!(events[0].as_bar().unwrap().close_time_ms, T0 + 299_999);
    assert_eq!(reader.interval(), Some("5m"));
    let wrong = OhlcvCsvReader::open(&path, Exchange::Binance, None, 60, 0).err();
    assert!(
        matches!(
            wrong,
            Some(IngestError::WrongInterval {
                secs: 300,
                want: 60,
                ..
            })
        ),
        "a 5m file must not pass as sparse 1m bars: {wrong:?}"
    );
}

#[test]
fn layout_and_header_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "XRP_ETH-1m.csv",
        &["1570752000000,1,1,1,1".to_string()],
    );
    let err = open_err(&path);
    assert!(
        matches!(err, IngestError::UnknownLayout { columns: 5, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}: unknown column layout", path.display()))
    );
    let path = write(
        &dir,
        "XRP_ETH-1m.csv",
        &["time,open,low,high,close,volume".to_string()],
    );
    let err = open_err(&path);
    assert!(
        matches!(err, IngestError::BadHeader { column: 3, .. }),
        "{err}"
    );
    let path = write(
        &dir,
        "XRP_ETH-1m.csv",
        &["ts,open,high,low,close,volume".to_string()],
    );
    assert!(matches!(
        open_err(&path),
        IngestError::BadHeader { column: 1, .. }
    ));
    let path = write(&dir, "xrp.csv", &xrp_rows(2));
    assert!(matches!(open_err(&path), IngestError::NoSymbol { .. }));
    let over = Some(Symbol::new("xrpeth"));
    let reader = OhlcvCsvReader::open(&path, Exchange::Binance, over, 60, 0).unwrap();
    assert_eq!(reader.map(Result::unwrap).count(), 2);
    let zero = OhlcvCsvReader::open(&path, Exchange::Binance, None, 0, 0).err();
    assert!(matches!(
        zero,
        Some(IngestError::BadInterval { secs: 0, .. })
    ));
}

#[test]
fn first_row_garbage_is_a_bad_row_and_empty_file_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let rows = xrp_rows(2);
    let lines = vec![with_field(&rows[0], 0, "garbage"), rows[1].clone()];
    let (events, stats) = read_all(&write(&dir, "XRP_ETH-1m.csv", &lines));
    assert_eq!((events.len(), stats.bad_rows), (1, 1));
    assert!(stats.first_bad[0].contains(":1: bad OHLCV row: timestamp \"garbage\""));
    let empty = dir.path().join("XRP_ETH-1m.csv");
    std::fs::write(&empty, "").unwrap();
    assert_eq!(read_all(&empty).0.len(), 0);
}

#[test]
fn rows_that_are_not_utf8_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("XRP_ETH-1m.csv");
    let rows = xrp_rows(2);
    let mut bytes = format!("{HEADER}\n{}\n", rows[0]).into_bytes();
    bytes.extend_from_slice(b"1570752060000,0.\xff1,1,1,1,1\n");
    bytes.extend_from_slice(format!("{}\n", rows[1]).as_bytes());
    std::fs::write(&path, bytes).unwrap();
    let (events, stats) = read_all(&path);
    assert_eq!((events.len(), stats.bad_rows), (2, 1));
    assert!(stats.first_bad[0].contains(":3: bad OHLCV row: invalid UTF-8"));
}
