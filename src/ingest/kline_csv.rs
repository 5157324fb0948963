//! data.binance.vision kline CSV → closed-bar [`MarketEvent`]s, streamed row by row.
//!
//! In: one `.csv` or `.csv.gz` file in the 12-column kline layout that data.binance.vision
//! publishes for spot and futures (`open_time, open, high, low, close, volume, close_time,
//! quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore`), with or without a
//! header row (a first field that is not an integer is a header, and its names are checked).
//! Timestamps are ms, or µs in spot files since 2025 (detected by magnitude and converted to ms).
//! The symbol and interval come from the file name (`SYMBOL-INTERVAL-YYYY-MM[-DD].csv[.gz]`, or
//! freqtrade's `SYMBOL-INTERVAL.csv[.gz]`, see [`file_name`](super::file_name)) unless the caller
//! names the symbol; the exchange is the caller's. Out: `MarketEvent::closed_bar` per
//! valid row, in file order, plus [`FileStats`]. Malformed rows follow the shared bad-row policy.

use super::IngestError;
use super::csv_rows::{CsvEvents, CsvRows, RowParser, Step, header_name};
use super::dead_letter::DeadLetters;
use super::input::FileStats;
use crate::event::{Bar, Exchange, MarketEvent, Symbol};
use std::path::{Path, PathBuf};

pub use super::file_name::{interval_secs, parse_file_name};

/// Number of columns in the data.binance.vision kline layout.
const COLUMNS: usize = 12;

/// Accepted header name per column: the futures file header, then the spot documentation's name
/// (compared lowercased, with spaces as underscores).
const HEADER: [(&str, &str); COLUMNS] = [
    ("open_time", "open_time"),
    ("open", "open"),
    ("high", "high"),
    ("low", "low"),
    ("close", "close"),
    ("volume", "volume"),
    ("close_time", "close_time"),
    ("quote_volume", "quote_asset_volume"),
    ("count", "number_of_trades"),
    ("taker_buy_volume", "taker_buy_base_asset_volume"),
    ("taker_buy_quote_volume", "taker_buy_quote_asset_volume"),
    ("ignore", "ignore"),
];

/// Timestamps above this are µs (16 digits), below it ms (13 digits).
const MICROS_ABOVE: i64 = 100_000_000_000_000;

/// Largest ms timestamp whose ns value fits an `i64` (year 2262).
pub(crate) const MAX_MS: i64 = i64::MAX / 1_000_000;

/// Streaming reader of one kline CSV file; an iterator of closed-bar events.
///
/// Bad rows are skipped (see [`FileStats`]); the iterator yields an error, then ends, when the
/// file cannot be read further or bad rows exceed the limit.
pub struct KlineCsvReader {
    symbol: Symbol,
    interval: Option<String>,
    events: CsvEvents<KlineRows>,
}

/// The kline row rules: 12 columns, valid values, open times strictly increasing.
struct KlineRows {
    exchange: Exchange,
    symbol: Symbol,
    last_open_ms: Option<i64>,
}

impl KlineCsvReader {
    /// Opens `path`, infers symbol and interval from its name (unless `symbol_override` is
    /// given), reads the first row to detect the header and checks the column layout.
    pub fn open(
        path: &Path,
        exchange: Exchange,
        symbol_override: Option<Symbol>,
        max_bad_rows: u64,
    ) -> Result<Self, IngestError> {
        let parsed = parse_file_name(path);
        let interval = parsed.as_ref().map(|(_, interval)| interval.clone());
        let symbol = match (symbol_override, parsed) {
            (Some(symbol), _) | (None, Some((symbol, _))) => symbol,
            (None, None) => {
                return Err(IngestError::NoSymbol {
                    path: path.to_path_buf(),
                });
            }
        };
        let mut rows = CsvRows::open(path)?;
        let empty = read_first(&mut rows)?;
        let parser = KlineRows {
            exchange,
            symbol: symbol.clone(),
            last_open_ms: None,
        };
        let mut events = CsvEvents::new(rows, parser, max_bad_rows);
        if empty {
            events.end();
        }
        Ok(Self {
            symbol,
            interval,
            events,
        })
    }

    /// Sends every skipped row to `dl` as well.
    pub fn with_dead_letters(mut self, dl: Option<DeadLetters>) -> Self {
        self.events.set_dead_letters(dl);
        self
    }

    pub fn path(&self) -> &Path {
        self.events.path()
    }

    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    /// The interval from the file name (`1m`, `1h`, ...), when the name follows the convention.
    pub fn interval(&self) -> Option<&str> {
        self.interval.as_deref()
    }

    pub fn stats(&self) -> &FileStats {
        self.events.stats()
    }
}

/// Reads the first record: checks the column count, then either validates it as a header or
/// hands it back as the first data row. `Ok(true)` when the file is empty.
fn read_first(rows: &mut CsvRows) -> Result<bool, IngestError> {
    let line = match rows.step()? {
        Step::End => return Ok(true),
        Step::Bad(line, reason) => {
            let path = rows.path().to_path_buf();
            return Err(IngestError::BadKlineRow { path, line, reason });
        }
        Step::Row(line) => line,
    };
    let record = rows.record();
    if record.len() != COLUMNS {
        return Err(IngestError::UnknownLayout {
            path: rows.path().to_path_buf(),
            columns: record.len(),
            expected: "12-column data.binance.vision kline CSV",
        });
    }
    let first = header_name(record.get(0).unwrap_or(""));
    // Only a row that names the open-time column is a header; anything else is data, so a
    // corrupt first row of a header-less file is counted as a bad row like any other.
    if first.contains("open") && first.contains("time") {
        check_header(rows.path(), line, record)?;
        return Ok(false);
    }
    rows.unread();
    Ok(false)
}

impl RowParser for KlineRows {
    fn parse(&mut self, record: &csv::StringRecord) -> Result<MarketEvent, String> {
        if record.len() != COLUMNS {
            return Err(format!(
                "expected {COLUMNS} columns, found {}",
                record.len()
            ));
        }
        let bar = parse_bar(record)?;
        let open_ms = bar.open_time_ms;
        if let Some(last) = self.last_open_ms.filter(|&last| open_ms <= last) {
            return Err(format!(
                "open_time {open_ms} is not after the previous row's {last}"
            ));
        }
        self.last_open_ms = Some(open_ms);
        Ok(MarketEvent::closed_bar(
            self.exchange,
            self.symbol.clone(),
            bar,
        ))
    }

    fn bad_row(&self, path: PathBuf, line: u64, reason: String) -> IngestError {
        IngestError::BadKlineRow { path, line, reason }
    }
}

impl Iterator for KlineCsvReader {
    type Item = Result<MarketEvent, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.events.next_event()
    }
}

/// Checks a header row's names against [`HEADER`].
fn check_header(path: &Path, line: u64, record: &csv::StringRecord) -> Result<(), IngestError> {
    for (column, (raw, (futures, spot))) in record.iter().zip(HEADER).enumerate() {
        let name = header_name(raw);
        if name != futures && name != spot {
            return Err(IngestError::BadHeader {
                path: path.to_path_buf(),
                line,
                column: column + 1,
                found: raw.to_string(),
                expected: futures,
            });
        }
    }
    Ok(())
}

/// Parses and validates one 12-column row. The error is the reason, without path or line.
pub fn parse_bar(record: &csv::StringRecord) -> Result<Bar, String> {
    let field = |i: usize| record.get(i).unwrap_or("").trim();
    let open_time_ms = parse_time(field(0), "open_time")?;
    let close_time_ms = parse_time(field(6), "close_time")?;
    let open = parse_price(field(1), "open")?;
    let high = parse_price(field(2), "high")?;
    let low = parse_price(field(3), "low")?;
    let close = parse_price(field(4), "close")?;
    let volume = parse_volume(field(5), "volume")?;
    let quote_volume = parse_volume(field(7), "quote_volume")?;
    let trades = field(8)
        .parse::<u64>()
        .map_err(|_| format!("count {:?} is not a non-negative integer", field(8)))?;
    let taker_buy_volume = parse_volume(field(9), "taker_buy_volume")?;
    parse_volume(field(10), "taker_buy_quote_volume")?;
    check_bar_shape(open, high, low, close, open_time_ms, close_time_ms)?;
    Ok(Bar {
        open_time_ms,
        close_time_ms,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        trades,
        taker_buy_volume,
        closed: true,
    })
}

/// The bar rules every kline source shares (CSV rows here, websocket klines in
/// `exchange::binance`): high bounds open and close from above, low from below, and the bar
/// closes after it opens. The error names the broken rule with the values.
pub(crate) fn check_bar_shape(
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    open_time_ms: i64,
    close_time_ms: i64,
) -> Result<(), String> {
    if high < open.max(close) {
        return Err(format!(
            "high {high} is below max(open {open}, close {close})"
        ));
    }
    if low > open.min(close) {
        return Err(format!(
            "low {low} is above min(open {open}, close {close})"
        ));
    }
    if close_time_ms <= open_time_ms {
        return Err(format!(
            "close_time {close_time_ms} is not after open_time {open_time_ms}"
        ));
    }
    Ok(())
}

/// A data.binance.vision timestamp in ms: values above 1e14 are µs and are divided by 1000.
pub fn timestamp_to_ms(raw: i64) -> i64 {
    if raw > MICROS_ABOVE { raw / 1000 } else { raw }
}

fn parse_time(s: &str, name: &str) -> Result<i64, String> {
    let raw = s
        .parse::<i64>()
        .map_err(|_| format!("{name} {s:?} is not an integer timestamp"))?;
    let ms = timestamp_to_ms(raw);
    if !(0..=MAX_MS).contains(&ms) {
        return Err(format!("{name} {raw} is out of range"));
    }
    Ok(ms)
}

pub(crate) fn parse_number(s: &str, name: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{name} {s:?} is not a finite number")),
    }
}

pub(crate) fn parse_price(s: &str, name: &str) -> Result<f64, String> {
    let v = parse_number(s, name)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} {v} is not positive"))
    }
}

pub(crate) fn parse_volume(s: &str, name: &str) -> Result<f64, String> {
    let v = parse_number(s, name)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} {v} is negative"))
    }
}

#[cfg(test)]
#[path = "kline_csv_tests.rs"]
mod tests;
