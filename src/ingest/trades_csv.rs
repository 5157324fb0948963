//! Trades CSV (ccxt / freqtrade layout) → trade [`MarketEvent`]s, streamed row by row.
//!
//! In: one `.csv` or `.csv.gz` file with a header row naming at least `timestamp`, `id`, `side`,
//! `price` and `amount` (any case, any order; freqtrade writes `timestamp,id,side,price,amount,
//! cost`, older versions add `type`). Other columns (`cost`, `type`, ...) are ignored, but every
//! row must have as many columns as the header. `timestamp` is integer ms (values outside 10^11 to
//! 10^14 are bad rows, so a file in seconds or µs is not misread), `id` an unsigned integer,
//! `side` `buy` or `sell` (the taker's side), `price` and `amount` positive. Timestamps must not
//! go backwards (equal ones are fine: many trades share a millisecond).
//!
//! Out: `EventKind::Trade { price, qty: amount, side, id }` stamped at the trade time (event and
//! receive time alike), in file order, plus [`FileStats`]. The symbol comes from the file name
//! (`XRP_ETH-trades.csv.gz`) unless the caller names it; the exchange is the caller's. Malformed
//! rows follow the shared bad-row policy.

use super::IngestError;
use super::csv_rows::{CsvEvents, CsvRows, RowParser, Step, header_name};
use super::dead_letter::DeadLetters;
use super::file_name::symbol_from_file_name;
use super::input::FileStats;
use super::kline_csv::parse_price;
use crate::event::{EventKind, Exchange, MarketEvent, Side, Symbol};
use std::path::{Path, PathBuf};

/// The header freqtrade writes, for error messages.
const EXPECTED: &str = "timestamp,id,side,price,amount,cost";

/// The columns this reader needs, in the order [`Columns`] holds them.
const NEEDED: [&str; 5] = ["timestamp", "id", "side", "price", "amount"];

/// Trade timestamps are ms: 10^11 ms is 1973, 10^14 ms the year 5138.
const MS_RANGE: std::ops::Range<i64> = 100_000_000_000..100_000_000_000_000;

/// Streaming reader of one trades CSV file; an iterator of trade events.
///
/// Bad rows are skipped (see [`FileStats`]); the iterator yields an error, then ends, when the
/// file cannot be read further or bad rows exceed the limit.
pub struct TradesCsvReader {
    symbol: Symbol,
    events: CsvEvents<TradeRows>,
}

/// The row rules of one file.
struct TradeRows {
    exchange: Exchange,
    symbol: Symbol,
    /// Index of each [`NEEDED`] column.
    at: [usize; 5],
    columns: usize,
    last_ms: Option<i64>,
}

impl TradesCsvReader {
    /// Opens `path`, infers the symbol from its name unless `symbol_override` is given, and
    /// reads the header (an error when it lacks a needed column).
    pub fn open(
        path: &Path,
        exchange: Exchange,
        symbol_override: Option<Symbol>,
        max_bad_rows: u64,
    ) -> Result<Self, IngestError> {
        let symbol = symbol_override
            .or_else(|| symbol_from_file_name(path))
            .ok_or_else(|| IngestError::NoSymbol {
                path: path.to_path_buf(),
            })?;
        let mut rows = CsvRows::open(path)?;
        let layout = read_header(&mut rows)?;
        let (at, columns) = layout.unwrap_or(([0; 5], 0));
        let parser = TradeRows {
            exchange,
            symbol: symbol.clone(),
            at,
            columns,
            last_ms: None,
        };
        let mut events = CsvEvents::new(rows, parser, max_bad_rows);
        if layout.is_none() {
            events.end();
        }
        Ok(Self { symbol, events })
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

    pub fn stats(&self) -> &FileStats {
        self.events.stats()
    }
}

impl Iterator for TradesCsvReader {
    type Item = Result<MarketEvent, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.events.next_event()
    }
}

/// Reads the header: where each needed column is, and the column count; `None` for an empty file.
fn read_header(rows: &mut CsvRows) -> Result<Option<([usize; 5], usize)>, IngestError> {
    let line = match rows.step()? {
        Step::End => return Ok(None),
        Step::Bad(line, reason) => {
            let path = rows.path().to_path_buf();
            let format = "trade";
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
    let names: Vec<String> = record.iter().map(header_name).collect();
    let mut at = [0; 5];
    for (slot, column) in at.iter_mut().zip(NEEDED) {
        *slot =
            names
                .iter()
                .position(|n| n == column)
                .ok_or_else(|| IngestError::MissingColumn {
                    path: rows.path().to_path_buf(),
                    line,
                    column,
                    found: record.iter().collect::<Vec<_>>().join(","),
                    expected: EXPECTED,
                })?;
    }
    Ok(Some((at, record.len())))
}

impl RowParser for TradeRows {
    fn parse(&mut self, record: &csv::StringRecord) -> Result<MarketEvent, String> {
        if record.len() != self.columns {
            return Err(format!(
                "expected {} columns, found {}",
                self.columns,
                record.len()
            ));
        }
        let field = |i: usize| record.get(self.at[i]).unwrap_or("").trim();
        let ts_ms = field(0)
            .parse::<i64>()
            .ok()
            .filter(|ms| MS_RANGE.contains(ms))
            .ok_or_else(|| format!("timestamp {:?} is not an integer ms timestamp", field(0)))?;
        let id = field(1)
            .parse::<u64>()
            .map_err(|_| format!("id {:?} is not a non-negative integer", field(1)))?;
        let side = match field(2).to_ascii_lowercase().as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(format!("side {:?} is neither buy nor sell", field(2))),
        };
        let price = parse_price(field(3), "price")?;
        let qty = parse_price(field(4), "amount")?;
        if let Some(last) = self.last_ms.filter(|&last| ts_ms < last) {
            return Err(format!(
                "timestamp {ts_ms} is before the previous row's {last}"
            ));
        }
        self.last_ms = Some(ts_ms);
        let ts_ns = ts_ms * 1_000_000;
        Ok(MarketEvent {
            exchange: self.exchange,
            symbol: self.symbol.clone(),
            ts_event_ns: ts_ns,
            ts_recv_ns: ts_ns,
            kind: EventKind::Trade {
                price,
                qty,
                side,
                id,
            },
        })
    }

    fn bad_row(&self, path: PathBuf, line: u64, reason: String) -> IngestError {
        let format = "trade";
        IngestError::BadCsvRow {
            path,
            line,
            format,
            reason,
        }
    }
}

#[cfg(test)]
#[path = "trades_csv_tests.rs"]
mod tests;
