//! Tests of the trades reader on the freqtrade fixture (`tests/fixtures/freqtrade/`) and on temp
//! files derived from its rows.

use super::*;
use crate::ingest::input::fixture;
use std::io::Read;

const XRP_TRADES: &str = "freqtrade/XRP_ETH-trades.csv.gz";
const HEADER: &str = "timestamp,id,side,price,amount,cost";

fn open(path: &Path, limit: u64) -> TradesCsvReader {
    TradesCsvReader::open(path, Exchange::Binance, None, limit).unwrap()
}

fn read_all(path: &Path) -> (Vec<MarketEvent>, FileStats) {
    let mut reader = open(path, 100);
    let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (events, reader.stats().clone())
}

/// The fixture's first `n` data rows.
fn xrp_rows(n: usize) -> Vec<String> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(fixture(XRP_TRADES)).unwrap())
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

fn ids(events: &[MarketEvent]) -> Vec<u64> {
    events
        .iter()
        .map(|e| match e.kind {
            EventKind::Trade { id, .. } => id,
            _ => panic!("not a trade: {e:?}"),
        })
        .collect()
}

#[test]
fn freqtrade_trades_read_as_trade_events() {
    let (events, stats) = read_all(&fixture(XRP_TRADES));
    assert_eq!(events.len(), 12_477);
    assert_eq!((stats.rows_read, stats.bad_rows), (12_477, 0));
    let first = &events[0];
    assert_eq!(first.symbol.as_str(), "XRP_ETH");
    assert_eq!(first.ts_event_ns, 1_570_752_011_620_000_000);
    assert_eq!(first.ts_recv_ns, first.ts_event_ns);
    let expected = EventKind::Trade {
        price: 0.00141342,
        qty: 23.0,
        side: Side::Sell,
        id: 13_519_807,
    };
    assert_eq!(first.kind, expected);
    let buys = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Trade {
                    side: Side::Buy,
                    ..
                }
            )
        })
        .count();
    assert_eq!(buys, 6524);
}

#[test]
fn columns_are_found_by_name() {
    let rows = xrp_rows(3);
    // Older freqtrade files carry a `type` column; order and case do not matter.
    let lines: Vec<String> = std::iter::once("Side,TIMESTAMP,type,Amount,Price,ID".to_string())
        .chain(rows.iter().map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            format!(
                "{},{},,{},{},{}",
                f[2].to_uppercase(),
                f[0],
                f[4],
                f[3],
                f[1]
            )
        }))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (events, _) = read_all(&write(&dir, "XRP_ETH-trades.csv", &lines));
    let mut plain = vec![HEADER.to_string()];
    plain.extend(rows);
    assert_eq!(
        events,
        read_all(&write(&dir, "XRP_ETH-trades.csv", &plain)).0
    );
}

#[test]
fn malformed_rows_are_counted_skipped_and_dead_lettered() {
    let rows = xrp_rows(10);
    let lines = vec![
        HEADER.to_string(),
        rows[0].clone(),
        with_field(&rows[1], 0, "1570752011"), // line 3: seconds, not ms
        with_field(&rows[2], 1, "abc"),        // line 4: id not an integer
        with_field(&rows[3], 2, "short"),      // line 5: unknown side
        with_field(&rows[4], 3, "0"),          // line 6: price not positive
        with_field(&rows[5], 4, "NaN"),        // line 7: amount not finite
        with_field(&rows[6], 0, "1570752000000"), // line 8: before the previous row
        rows[7].split(',').take(4).collect::<Vec<_>>().join(","), // line 9: 4 columns
        rows[8].clone(),
        rows[9].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "XRP_ETH-trades.csv", &lines);
    let dl_path = dir.path().join("dead.jsonl");
    let dl = crate::ingest::dead_letter::DeadLetters::create(&dl_path).unwrap();
    let mut reader = open(&path, 100).with_dead_letters(Some(dl.clone()));
    let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(ids(&events), [13_519_807, 13_519_815, 13_519_816]);
    let stats = reader.stats();
    assert_eq!((stats.rows_read, stats.events, stats.bad_rows), (10, 3, 7));
    let shown = path.display().to_string();
    for (message, line) in stats.first_bad.iter().zip([3, 4, 5, 6, 7]) {
        let prefix = format!("{shown}:{line}: bad trade row: ");
        assert!(message.starts_with(&prefix), "{message}");
    }
    assert_eq!(dl.flush().unwrap().1, 7);
    let text = std::fs::read_to_string(&dl_path).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["line"], 9);
    assert_eq!(last["raw"], lines[8]);
}

#[test]
fn bad_rows_over_the_limit_are_an_error() {
    let rows = xrp_rows(2);
    let lines = vec![
        HEADER.to_string(),
        with_field(&rows[0], 2, "?"),
        rows[1].clone(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "XRP_ETH-trades.csv", &lines);
    let mut reader = open(&path, 0);
    let err = reader.next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: too many bad rows (1 > limit 0)", path.display())
    );
    assert!(reader.next().is_none());
}

#[test]
fn a_header_is_required_and_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "XRP_ETH-trades.csv", &xrp_rows(2));
    let err = TradesCsvReader::open(&path, Exchange::Binance, None, 0)
        .err()
        .expect("no header");
    assert!(matches!(
        err,
        IngestError::MissingColumn {
            line: 1,
            column: "timestamp",
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}:1: no \"timestamp\" column", path.display())),
        "{msg}"
    );
    assert!(msg.contains("timestamp,id,side,price,amount,cost"), "{msg}");
    let lines = vec!["timestamp,id,side,price,cost".to_string()];
    let path = write(&dir, "XRP_ETH-trades.csv", &lines);
    let err = TradesCsvReader::open(&path, Exchange::Binance, None, 0).err();
    assert!(matches!(
        err,
        Some(IngestError::MissingColumn {
            column: "amount",
            ..
        })
    ));
}

#[test]
fn symbol_from_name_or_override_and_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.csv");
    std::fs::write(&path, "").unwrap();
    let err = TradesCsvReader::open(&path, Exchange::Binance, None, 0).err();
    assert!(matches!(err, Some(IngestError::NoSymbol { .. })));
    let over = Some(Symbol::new("xrpeth"));
    let mut reader = TradesCsvReader::open(&path, Exchange::Binance, over, 0).unwrap();
    assert_eq!(reader.symbol().as_str(), "XRPETH");
    assert!(reader.next().is_none());
}
