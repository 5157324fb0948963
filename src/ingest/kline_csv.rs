//! data.binance.vision kline CSV → closed-bar [`MarketEvent`]s, streamed row by row.
//!
//! In: one `.csv` or `.csv.gz` file in the 12-column kline layout that data.binance.vision
//! publishes for spot and futures (`open_time, open, high, low, close, volume, close_time,
//! quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore`), with or without a
//! header row (a first field that is not an integer is a header, and its names are checked).
//! Timestamps are ms, or µs in spot files since 2025 (detected by magnitude and converted to ms).
//! The symbol and interval come from the file name `SYMBOL-INTERVAL-YYYY-MM[-DD].csv[.gz]` unless
//! the caller names the symbol; the exchange is the caller's. Out: `MarketEvent::closed_bar` per
//! valid row, in file order, plus [`FileStats`]. Malformed rows follow the shared bad-row policy.

use super::IngestError;
use super::dead_letter::DeadLetters;
use super::input::{FileStats, Tally, open_input};
use crate::event::{Bar, Exchange, MarketEvent, Symbol};
use std::io::BufRead;
use std::path::{Path, PathBuf};

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
const MAX_MS: i64 = i64::MAX / 1_000_000;

/// Streaming reader of one kline CSV file; an iterator of closed-bar events.
///
/// Bad rows are skipped (see [`FileStats`]); the iterator yields an error, then ends, when the
/// file cannot be read further or bad rows exceed the limit.
pub struct KlineCsvReader {
    path: PathBuf,
    exchange: Exchange,
    symbol: Symbol,
    interval: Option<String>,
    csv: csv::Reader<Box<dyn BufRead + Send>>,
    record: csv::StringRecord,
    /// A row that was not UTF-8, decoded lossily, for its dead letter.
    bad_raw: Option<String>,
    /// The first record was data, read while detecting the header, and is not yet consumed.
    pending: bool,
    last_open_ms: Option<i64>,
    tally: Tally,
    done: bool,
}

/// One step of the underlying CSV reader.
enum Step {
    Row(u64),
    Bad(u64, String),
    End,
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
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(open_input(path)?);
        let mut reader = Self {
            path: path.to_path_buf(),
            exchange,
            symbol,
            interval,
            csv,
            record: csv::StringRecord::new(),
            bad_raw: None,
            pending: false,
            last_open_ms: None,
            tally: Tally::new(path, max_bad_rows),
            done: false,
        };
        reader.read_first()?;
        Ok(reader)
    }

    /// Sends every skipped row to `dl` as well.
    pub fn with_dead_letters(mut self, dl: Option<DeadLetters>) -> Self {
        self.tally.set_dead_letters(dl);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    /// The interval from the file name (`1m`, `1h`, ...), when the name follows the convention.
    pub fn interval(&self) -> Option<&str> {
        self.interval.as_deref()
    }

    pub fn stats(&self) -> &FileStats {
        self.tally.stats()
    }

    /// Reads the first record: checks the column count, then either validates it as a header or
    /// keeps it as the first data row.
    fn read_first(&mut self) -> Result<(), IngestError> {
        let line = match self.step()? {
            Step::End => {
                self.done = true;
                return Ok(());
            }
            Step::Bad(line, reason) => {
                let path = self.path.clone();
                return Err(IngestError::BadKlineRow { path, line, reason });
            }
            Step::Row(line) => line,
        };
        if self.record.len() != COLUMNS {
            return Err(IngestError::UnknownLayout {
                path: self.path.clone(),
                columns: self.record.len(),
            });
        }
        let first = self
            .record
            .get(0)
            .unwrap_or("")
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        // Only a row that names the open-time column is a header; anything else is data, so a
        // corrupt first row of a header-less file is counted as a bad row like any other.
        if first.contains("open") && first.contains("time") {
            return check_header(&self.path, line, &self.record);
        }
        self.pending = true;
        Ok(())
    }

    /// Advances the CSV reader by one record (or hands out the pending first one).
    fn step(&mut self) -> Result<Step, IngestError> {
        if std::mem::take(&mut self.pending) {
            return Ok(Step::Row(record_line(&self.record)));
        }
        // Bytes first, so a row that is not UTF-8 still reaches its dead letter (lossily decoded).
        let mut bytes = csv::ByteRecord::new();
        match self.csv.read_byte_record(&mut bytes) {
            Ok(true) => {
                let line = bytes.position().map_or(0, csv::Position::line);
                match csv::StringRecord::from_byte_record(bytes) {
                    Ok(record) => {
                        self.record = record;
                        Ok(Step::Row(line))
                    }
                    Err(e) => {
                        let reason = format!("invalid UTF-8: {}", e.utf8_error());
                        let fields = e.into_byte_record();
                        let raw: Vec<_> = fields.iter().map(String::from_utf8_lossy).collect();
                        self.bad_raw = Some(raw.join(","));
                        self.record.clear();
                        Ok(Step::Bad(line, reason))
                    }
                }
            }
            Ok(false) => Ok(Step::End),
            Err(e) => {
                // I/O errors (a truncated .gz) carry no position: the reader's is the next line.
                let line = e
                    .position()
                    .map_or_else(|| self.csv.position().line(), csv::Position::line);
                match e.into_kind() {
                    csv::ErrorKind::Io(source) => Err(IngestError::Read {
                        path: self.path.clone(),
                        line,
                        source,
                    }),
                    csv::ErrorKind::Utf8 { err, .. } => {
                        Ok(Step::Bad(line, format!("invalid UTF-8: {err}")))
                    }
                    kind => Ok(Step::Bad(line, format!("unreadable CSV record: {kind:?}"))),
                }
            }
        }
    }

    /// Turns the current record into an event, checking order against the previous good row.
    fn current_event(&mut self) -> Result<MarketEvent, String> {
        if self.record.len() != COLUMNS {
            return Err(format!(
                "expected {COLUMNS} columns, found {}",
                self.record.len()
            ));
        }
        let bar = parse_bar(&self.record)?;
        let open_ms = bar.open_time_ms;
        if let Some(last) = self.last_open_ms.filter(|&last| open_ms <= last) {
            return Err(format!(
                "open_time {open_ms} is not after the previous row's {last}"
            ));
        }
        self.last_open_ms = Some(bar.open_time_ms);
        Ok(MarketEvent::closed_bar(
            self.exchange,
            self.symbol.clone(),
            bar,
        ))
    }

    /// Ends the iteration with `err`.
    fn fail(&mut self, err: IngestError) -> Option<Result<MarketEvent, IngestError>> {
        self.done = true;
        self.tally.finish();
        Some(Err(err))
    }
}

impl Iterator for KlineCsvReader {
    type Item = Result<MarketEvent, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (line, reason) = match self.step() {
                Err(e) => return self.fail(e),
                Ok(Step::End) => break,
                Ok(Step::Bad(line, reason)) => (line, reason),
                Ok(Step::Row(line)) => match self.current_event() {
                    Ok(event) => {
                        self.tally.row();
                        self.tally.event();
                        return Some(Ok(event));
                    }
                    Err(reason) => (line, reason),
                },
            };
            self.tally.row();
            let path = self.path.clone();
            let raw = (self.bad_raw.take())
                .unwrap_or_else(|| self.record.iter().collect::<Vec<_>>().join(","));
            let err = IngestError::BadKlineRow { path, line, reason };
            if let Err(e) = self.tally.bad(err, line, &raw) {
                return self.fail(e);
            }
        }
        self.done = true;
        self.tally.finish();
        None
    }
}

fn record_line(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

/// Checks a header row's names against [`HEADER`].
fn check_header(path: &Path, line: u64, record: &csv::StringRecord) -> Result<(), IngestError> {
    for (column, (raw, (futures, spot))) in record.iter().zip(HEADER).enumerate() {
        let name = raw
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase()
            .replace(' ', "_");
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

fn parse_number(s: &str, name: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{name} {s:?} is not a finite number")),
    }
}

fn parse_price(s: &str, name: &str) -> Result<f64, String> {
    let v = parse_number(s, name)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} {v} is not positive"))
    }
}

fn parse_volume(s: &str, name: &str) -> Result<f64, String> {
    let v = parse_number(s, name)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} {v} is negative"))
    }
}

/// Seconds in a data.binance.vision interval name (`1s`, `1m`, `15m`, `4h`, `1d`, `1w`); `None`
/// for calendar intervals (`1mo`) and anything else.
pub fn interval_secs(interval: &str) -> Option<u64> {
    let digits = interval.chars().take_while(char::is_ascii_digit).count();
    let n: u64 = interval[..digits].parse().ok()?;
    let unit = match &interval[digits..] {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Symbol and interval from a data.binance.vision file name,
/// `SYMBOL-INTERVAL-YYYY-MM[-DD].csv[.gz]`; `None` when the name does not follow it.
pub fn parse_file_name(path: &Path) -> Option<(Symbol, String)> {
    let name = path.file_name()?.to_str()?;
    // Extensions in any case, as the replay source accepts them (`.CSV.GZ`).
    let lower = name.to_ascii_lowercase();
    let stem_len = lower
        .strip_suffix(".gz")
        .unwrap_or(&lower)
        .strip_suffix(".csv")?
        .len();
    let stem = &name[..stem_len];
    let parts: Vec<&str> = stem.split('-').collect();
    let (symbol, interval, date) = match parts.as_slice() {
        [symbol, interval, date @ ..] if date.len() == 2 || date.len() == 3 => {
            (*symbol, *interval, date)
        }
        _ => return None,
    };
    let symbol_ok = !symbol.is_empty()
        && symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let digits = interval.chars().take_while(char::is_ascii_digit).count();
    let interval_ok = digits > 0
        && digits < interval.len()
        && interval[digits..].chars().all(|c| c.is_ascii_alphabetic());
    let date_ok = date.iter().enumerate().all(|(i, part)| {
        let width = if i == 0 { 4 } else { 2 };
        part.len() == width && part.chars().all(|c| c.is_ascii_digit())
    });
    (symbol_ok && interval_ok && date_ok).then(|| (Symbol::new(symbol), interval.to_string()))
}

#[cfg(test)]
#[path = "kline_csv_tests.rs"]
mod tests;
