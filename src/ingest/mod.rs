//! Ingestion: everything that turns outside data into [`MarketEvent`](crate::event::MarketEvent)s.
//!
//! This folder owns the file readers used for replay, backtests and training:
//! - [`kline_csv`]: data.binance.vision kline CSV (12 columns, spot or futures, with or without
//!   header) → closed bars;
//! - [`ohlcv_csv`]: generic OHLCV CSV (`timestamp,open,high,low,close,volume`, header optional;
//!   integer s / ms / µs or ISO-8601 times; bar length from the caller) → closed bars, with the
//!   missing trade count, quote and taker-buy volumes filled as documented there;
//! - [`trades_csv`]: ccxt / freqtrade trades CSV (`timestamp,id,side,price,amount,cost`) → trades;
//! - [`jsonl`]: recorded `MarketEvent` JSONL;
//! - [`replay`]: opens many files (`.csv`, `.jsonl`, each optionally `.gz`), picks each CSV
//!   file's reader by sniffing its first record (`sniff.rs`), and merges all events in event-time
//!   order.
//!
//! [`exchange`] holds the parsers of raw exchange messages (Binance websocket JSON, also carried
//! on Kafka topics): one message in, at most one event out, no I/O. [`kafka`] is the Kafka
//! source: consumer thread, offset bookkeeping, dead letters.
//!
//! [`file_name`] reads symbol and interval from data.binance.vision (`LINKUSDT-1m-2026-02.csv`)
//! and freqtrade (`XRP_ETH-1m.csv.gz`, `XRP_ETH-trades.csv.gz`) names. Paths flow in; a stream of
//! `Result<MarketEvent, IngestError>` and per-file [`FileStats`] flow out. Every reader streams
//! (a file is never held in memory whole) and follows one bad-row policy: a malformed row is
//! counted, logged with `path:line`, written whole to the [`dead_letter`] file when one is
//! configured, skipped, and only becomes an error when the count exceeds the configured limit.
//! The CSV readers share that loop (`csv_rows.rs`), so they cannot drift apart.

pub mod backoff;
pub mod dead_letter;
pub mod exchange;
pub mod file_name;
pub mod jsonl;
pub mod kafka;
pub mod kline_csv;
pub mod ohlcv_csv;
pub mod replay;
pub mod trades_csv;

mod csv_rows;
mod input;
mod sniff;
mod timestamp;

pub use input::FileStats;

use std::io;
use std::path::PathBuf;

/// Why reading market data failed. Every variant names the file, and row problems the 1-based
/// line number. All are faults in the input (or its storage): retrying the same file gives the
/// same error, so callers should report it and stop.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file or directory does not exist or cannot be opened.
    #[error("{path}: cannot open: {source}", path = .path.display())]
    Open { path: PathBuf, source: io::Error },

    /// The bytes could not be read part-way through (I/O or gzip failure).
    #[error("{path}:{line}: read failed: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        line: u64,
        source: io::Error,
    },

    /// One kline CSV row is malformed; skipped unless the bad-row limit is exceeded.
    #[error("{path}:{line}: bad kline row: {reason}", path = .path.display())]
    BadKlineRow {
        path: PathBuf,
        line: u64,
        reason: String,
    },

    /// One JSONL line is not a valid `MarketEvent`; skipped unless the bad-row limit is exceeded.
    #[error("{path}:{line}: bad JSONL event: {reason}", path = .path.display())]
    BadJsonLine {
        path: PathBuf,
        line: u64,
        reason: String,
    },

    /// One OHLCV or trades CSV row is malformed; skipped unless the bad-row limit is exceeded.
    #[error("{path}:{line}: bad {format} row: {reason}", path = .path.display())]
    BadCsvRow {
        path: PathBuf,
        line: u64,
        /// `OHLCV` or `trade`.
        format: &'static str,
        reason: String,
    },

    /// The first row has a column count (or shape) this crate does not know.
    #[error(
        "{path}: unknown column layout ({columns} columns; expected {expected})",
        path = .path.display()
    )]
    UnknownLayout {
        path: PathBuf,
        columns: usize,
        expected: &'static str,
    },

    /// A CSV header lacks a column the format needs (or the file has no header at all).
    #[error(
        "{path}:{line}: no {column:?} column in the first row {found:?}; expected a header like {expected:?}",
        path = .path.display()
    )]
    MissingColumn {
        path: PathBuf,
        line: u64,
        column: &'static str,
        found: String,
        expected: &'static str,
    },

    /// A header row is present but a column name is not the expected one.
    #[error(
        "{path}:{line}: unexpected kline CSV header: column {column} is {found:?}, expected {expected:?}",
        path = .path.display()
    )]
    BadHeader {
        path: PathBuf,
        line: u64,
        column: usize,
        found: String,
        expected: &'static str,
    },

    /// More malformed rows than `max_bad_rows` allows.
    #[error("{path}: too many bad rows ({bad} > limit {limit})", path = .path.display())]
    TooManyBadRows { path: PathBuf, bad: u64, limit: u64 },

    /// No symbol was given and the file name follows none of the known naming styles.
    #[error(
        "{path}: cannot infer symbol from file name; expected SYMBOL-1m-YYYY-MM.csv[.gz], SYMBOL-1m.csv[.gz] or SYMBOL-trades.csv[.gz] (or give --symbol)",
        path = .path.display()
    )]
    NoSymbol { path: PathBuf },

    /// A rejected row could not be written to the dead-letter file (so it would be lost).
    #[error(
        "{path}: cannot write a dead letter to {dead_letters}: {source}",
        path = .path.display(),
        dead_letters = .dead_letters.display()
    )]
    DeadLetter {
        path: PathBuf,
        dead_letters: PathBuf,
        source: io::Error,
    },

    /// The file name says another bar interval than the one the engine is configured for.
    #[error(
        "{path}: file holds {interval} bars ({secs} s) but features.bar_interval_secs is {want}",
        path = .path.display()
    )]
    WrongInterval {
        path: PathBuf,
        interval: String,
        secs: u64,
        want: u64,
    },

    /// The configured bar interval cannot be used (zero, or too large to count in ms).
    #[error("{path}: bar interval of {secs} s is not usable", path = .path.display())]
    BadInterval { path: PathBuf, secs: u64 },

    /// The file's extension names no format this crate reads.
    #[error(
        "{path}: unsupported file type; expected .csv, .csv.gz, .jsonl or .jsonl.gz",
        path = .path.display()
    )]
    UnsupportedFile { path: PathBuf },

    /// A directory was given but holds no readable data files.
    #[error(
        "{path}: directory holds no .csv, .csv.gz, .jsonl or .jsonl.gz files",
        path = .path.display()
    )]
    EmptyDirectory { path: PathBuf },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_line() {
        let e = IngestError::BadKlineRow {
            path: PathBuf::from("data/X-1m-2026-02.csv"),
            line: 7,
            reason: "high < open".into(),
        };
        assert_eq!(
            e.to_string(),
            "data/X-1m-2026-02.csv:7: bad kline row: high < open"
        );
        let e = IngestError::TooManyBadRows {
            path: PathBuf::from("a.csv"),
            bad: 3,
            limit: 2,
        };
        assert_eq!(e.to_string(), "a.csv: too many bad rows (3 > limit 2)");
    }
}
