//! Generic OHLCV CSV → closed-bar [`MarketEvent`]s, streamed row by row.
//!
//! In: one `.csv` or `.csv.gz` file whose first six columns are `timestamp, open, high, low,
//! close, volume` (freqtrade's export, pandas `to_csv`, most vendors). A header row is optional;
//! it is recognised by a known time-column name (`timestamp`, `time`, `date`, `open_time`,
//! `open_time_ms`, any case) or `open` in the second column, and its first six names are then
//! checked. Further columns are ignored, but every row must have as many columns as the first.
//! The timestamp is the bar's open time: integer seconds, ms or µs (unit by magnitude: below
//! 10^11 seconds, below 10^14 ms, below 10^17 µs; see `timestamp.rs`) or ISO-8601 text (`2019-10-11T00:00:00Z`,
//! `2019-10-11 00:00:00`, with `Z` or an offset; **naive times are UTC**). The first data row whose
//! timestamp parses fixes the file's unit; a later row in another unit is a bad row.
//!
//! The bar interval is the caller's (`features.bar_interval_secs`), not guessed: every open time
//! must lie on that interval's grid counted from the Unix epoch (so weekly bars, which Binance
//! opens on Mondays, do not fit), and open times must increase. Missing intervals are fine (fewer
//! bars). Out: one closed [`Bar`] per good row with `close_time_ms = open_time_ms + interval_ms −
//! 1` (Binance convention). The symbol comes from the file name (`SYMBOL-1m-YYYY-MM.csv`,
//! `XRP_ETH-1m.csv.gz`) unless the caller names it; the exchange is the caller's.
//!
//! # Fields the file does not have
//! `Bar` requires values this layout lacks; they are filled as follows so every bar stays valid
//! (finite, non-negative) and neutral for the features:
//! - `trades = 0`: unknown (0 never occurs in a real exchange bar with volume, so it marks the
//!   estimate).
//! - `quote_volume = volume × (high + low + close) / 3`: the typical-price estimate.
//! - `taker_buy_volume = volume × 0.5`: unknown; half makes the taker-buy ratio the neutral 0.5,
//!   which is also what the features use for a bar without volume.

use super::IngestError;
use super::csv_rows::{CsvEvents, CsvRows, RowParser, Step, header_name};
use super::dead_letter::DeadLetters;
use super::file_name::parse_file_name;
use super::input::FileStats;
use super::kline_csv::{parse_price, parse_volume};
use super::timestamp::{TimeUnit, parse_timestamp};
use crate::event::{Bar, Exchange, MarketEvent, Symbol};
use std::path::{Path, PathBuf};

/// The columns that must come first, in this order.
const COLUMNS: usize = 6;

/// Names accepted for the time column (compared lowercased).
const TIME_NAMES: [&str; 5] = ["timestamp", "time", "date", "open_time", "open_time_ms"];

/// The names of columns 2 to 6.
const VALUE_NAMES: [&str; 5] = ["open", "high", "low", "close", "volume"];

/// What [`IngestError::UnknownLayout`] says this reader expects.
const EXPECTED: &str = "OHLCV CSV: timestamp,open,high,low,close,volume[,more]";

/// Streaming reader of one OHLCV CSV file; an iterator of closed-bar events.
///
/// Bad rows are skipped (see [`FileStats`]); the iterator yields an error, then ends, when the
/// file cannot be read further or bad rows exceed the limit.
pub struct OhlcvCsvReader {
    symbol: Symbol,
    interval: Option<String>,
    events: CsvEvents<OhlcvRows>,
}

/// The row rules of one file.
struct OhlcvRows {
    exchange: Exchange,
    symbol: Symbol,
    interval_ms: i64,
    /// Columns per row, from the header or the first row.
    columns: usize,
    unit: Option<TimeUnit>,
    last_open_ms: Option<i64>,
}

impl OhlcvCsvReader {
    /// Opens `path` for bars of `interval_secs`; infers symbol and interval name from the file
    /// name unless `symbol_override` is given; reads the first row to detect a header.
    ///
    /// A file name that states another interval is refused ([`IngestError::WrongInterval`]):
    /// unlike klines, these rows carry no close time, so 5m bars would pass as sparse 1m bars.
    pub fn open(
        path: &Path,
        exchange: Exchange,
        symbol_override: Option<Symbol>,
        interval_secs: u64,
        max_bad_rows: u64,
    ) -> Result<Self, IngestError> {
        let interval_ms = grid_ms(path, interval_secs)?;
        let parsed = parse_file_name(path);
        let interval = parsed.as_ref().map(|(_, interval)| interval.clone());
        check_name_interval(path, interval.as_deref(), interval_secs)?;
        let symbol = match (symbol_override, parsed) {
            (Some(symbol), _) | (None, Some((symbol, _))) => symbol,
            (None, None) => {
                return Err(IngestError::NoSymbol {
                    path: path.to_path_buf(),
                });
            }
        };
        let mut rows = CsvRows::open(path)?;
        let columns = read_first(&mut rows)?;
        let parser = OhlcvRows {
            exchange,
            symbol: symbol.clone(),
            interval_ms,
            columns: columns.unwrap_or(COLUMNS),
            unit: None,
            last_open_ms: None,
        };
        let mut events = CsvEvents::new(rows, parser, max_bad_rows);
        if columns.is_none() {
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

    /// The interval the file name states (`1m`, `5m`, ...), if it states one.
    pub fn interval(&self) -> Option<&str> {
        self.interval.as_deref()
    }

    pub fn stats(&self) -> &FileStats {
        self.events.stats()
    }
}

impl Iterator for OhlcvCsvReader {
    type Item = Result<MarketEvent, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.events.next_event()
    }
}

/// The interval in ms, refusing one that is zero or does not fit.
fn grid_ms(path: &Path, interval_secs: u64) -> Result<i64, IngestError> {
    i64::try_from(interval_secs)
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .filter(|ms| *ms > 0)
        .ok_or_else(|| IngestError::BadInterval {
            path: path.to_path_buf(),
            secs: interval_secs,
        })
}

/// Refuses a file whose name states another interval than `want` secs.
fn check_name_interval(path: &Path, named: Option<&str>, want: u64) -> Result<(), IngestError> {
    let Some(interval) = named else {
        return Ok(());
    };
    match super::file_name::interval_secs(interval) {
        Some(secs) if secs != want => Err(IngestError::WrongInterval {
            path: path.to_path_buf(),
            interval: interval.to_string(),
            secs,
            want,
        }),
        _ => Ok(()),
    }
}

/// Whether a first row is a header rather than data.
pub(crate) fn is_header(record: &csv::StringRecord) -> bool {
    let name = |i| header_name(record.get(i).unwrap_or(""));
    TIME_NAMES.contains(&name(0).as_str()) || name(1) == "open"
}

/// Reads the first record: checks the column count and either validates it as a header or hands
/// it back as the first data row. The column count, `None` for an empty file.
fn read_first(rows: &mut CsvRows) -> Result<Option<usize>, IngestError> {
    let line = match rows.step()? {
        Step::End => return Ok(None),
        Step::Bad(line, reason) => {
            let path = rows.path().to_path_buf();
            let format = "OHLCV";
            return Err(IngestError::BadCsvRow {
                path,
                line,
                format,
                reason,
            });
        }
        Step::Row(line) => line,
    };
    let record = rows.record();
    if record.len() < COLUMNS {
        return Err(IngestError::UnknownLayout {
            path: rows.path().to_path_buf(),
            columns: record.len(),
            expected: EXPECTED,
        });
    }
    let columns = record.len();
    if !is_header(record) {
        rows.unread();
        return Ok(Some(columns));
    }
    let bad = |column: usize, expected: &'static str| IngestError::BadHeader {
        path: rows.path().to_path_buf(),
        line,
        column: column + 1,
        found: record.get(column).unwrap_or("").to_string(),
        expected,
    };
    if !TIME_NAMES.contains(&header_name(record.get(0).unwrap_or("")).as_str()) {
        return Err(bad(0, "timestamp"));
    }
    for (i, expected) in VALUE_NAMES.into_iter().enumerate() {
        if header_name(record.get(i + 1).unwrap_or("")) != expected {
            return Err(bad(i + 1, expected));
        }
    }
    Ok(Some(columns))
}

impl OhlcvRows {
    /// The row's open time in ms, in the file's unit and on the interval grid.
    fn open_time(&mut self, raw: &str) -> Result<i64, String> {
        let (unit, ms) = parse_timestamp(raw)?;
        match self.unit {
            None => self.unit = Some(unit),
            Some(file) if file != unit => {
                return Err(format!(
                    "timestamp {:?} is {unit}, but this file's first row used {file}",
                    raw.trim()
                ));
            }
            Some(_) => {}
        }
        if ms % self.interval_ms != 0 {
            return Err(format!(
                "open time {ms} ms is not on the {} s interval grid",
                self.interval_ms / 1000
            ));
        }
        if let Some(last) = self.last_open_ms.filter(|&last| ms <= last) {
            return Err(format!(
                "open time {ms} is not after the previous row's {last}"
            ));
        }
        Ok(ms)
    }
}

impl RowParser for OhlcvRows {
    fn parse(&mut self, record: &csv::StringRecord) -> Result<MarketEvent, String> {
        if record.len() != self.columns {
            return Err(format!(
                "expected {} columns, found {}",
                self.columns,
                record.len()
            ));
        }
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let open = parse_price(field(1), "open")?;
        let high = parse_price(field(2), "high")?;
        let low = parse_price(field(3), "low")?;
        let close = parse_price(field(4), "close")?;
        let volume = parse_volume(field(5), "volume")?;
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
        // Last, so a row rejected for its values does not fix the unit or advance the order.
        let open_time_ms = self.open_time(field(0))?;
        let close_time_ms = open_time_ms
            .checked_add(self.interval_ms - 1)
            .filter(|ms| *ms <= super::kline_csv::MAX_MS)
            .ok_or_else(|| format!("open time {open_time_ms} is out of range"))?;
        self.last_open_ms = Some(open_time_ms);
        let quote_volume = volume * (high + low + close) / 3.0;
        if !quote_volume.is_finite() {
            return Err(format!("volume {volume} × price overflows"));
        }
        let bar = Bar {
            open_time_ms,
            close_time_ms,
            open,
            high,
            low,
            close,
            volume,
            quote_volume,
            trades: 0,
            taker_buy_volume: volume * 0.5,
            closed: true,
        };
        Ok(MarketEvent::closed_bar(
            self.exchange,
            self.symbol.clone(),
            bar,
        ))
    }

    fn bad_row(&self, path: PathBuf, line: u64, reason: String) -> IngestError {
        let format = "OHLCV";
        IngestError::BadCsvRow {
            path,
            line,
            format,
            reason,
        }
    }
}

#[cfg(test)]
#[path = "ohlcv_csv_tests.rs"]
mod tests;
