//! Replay: many market-data files merged into one stream in event-time order.
//!
//! In: paths (files, or directories meaning every `.csv`, `.csv.gz`, `.jsonl` and `.jsonl.gz`
//! file directly inside, sorted by name) and [`ReplayOptions`]. `.jsonl[.gz]` is MarketEvent JSONL
//! ([`JsonlReader`]); a `.csv[.gz]` file's layout is sniffed from its first record (see
//! `sniff.rs`): 12 columns is data.binance.vision kline CSV ([`KlineCsvReader`]), 6 or 7 columns
//! generic OHLCV ([`OhlcvCsvReader`]), a `side` column trades ([`TradesCsvReader`]). Out:
//! `Result<MarketEvent, IngestError>` items, merged by `ts_event_ns` with a k-way merge (a
//! `BinaryHeap` holding the next event of each file; ties go to the file given first, so a replay
//! is deterministic), then per-file [`FileStats`]. Every file is streamed: memory holds one
//! pending event per file, never a whole file. The first error ends the stream. The output is in
//! event-time order when each file is (CSV files are checked row by row; JSONL files going
//! backwards are counted in `out_of_order`), whatever mix of formats is given: bars are stamped at
//! their close time, trades at their own time.

use super::IngestError;
use super::dead_letter::DeadLetters;
use super::input::{FileStats, lower_file_name};
use super::jsonl::JsonlReader;
use super::kline_csv::{KlineCsvReader, interval_secs, parse_file_name};
use super::ohlcv_csv::OhlcvCsvReader;
use super::sniff::{CsvFormat, sniff_csv};
use super::trades_csv::TradesCsvReader;
use crate::event::{Exchange, MarketEvent, Symbol};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

/// How replay files are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Exchange stamped on CSV events (the files do not say). Default `binance_futures`.
    pub exchange: Exchange,
    /// Symbol for CSV events instead of the one in the file name. Default: none.
    pub symbol_override: Option<Symbol>,
    /// Bar length for generic OHLCV CSV files, which do not state it (the CLI sets
    /// `features.bar_interval_secs`); their open times must lie on this grid. Default 60.
    pub interval_secs: u64,
    /// Malformed rows tolerated per file before reading fails. Default 100.
    pub max_bad_rows: u64,
    /// Where skipped rows are written whole. Default: nowhere (counted and logged only).
    pub dead_letters: Option<DeadLetters>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            exchange: Exchange::BinanceFutures,
            symbol_override: None,
            interval_secs: 60,
            max_bad_rows: 100,
            dead_letters: None,
        }
    }
}

/// Refuses bar files whose name says another bar interval than `want_secs` (a 5m kline file
/// through a 1m model would otherwise be rejected bar by bar and yield nothing; a 5m OHLCV file
/// would even pass as sparse 1m bars). Names in the data.binance.vision style
/// (`SYMBOL-5m-2026-02.csv`) and the freqtrade style (`XRP_ETH-5m.csv.gz`) state an interval;
/// other files (trades, JSONL, free names) pass.
pub fn check_intervals<P: AsRef<Path>>(paths: &[P], want_secs: u64) -> Result<(), IngestError> {
    for path in expand_paths(paths)? {
        let Some((_, interval)) = parse_file_name(&path) else {
            continue;
        };
        if let Some(secs) = interval_secs(&interval).filter(|s| *s != want_secs) {
            return Err(IngestError::WrongInterval {
                path,
                interval,
                secs,
                want: want_secs,
            });
        }
    }
    Ok(())
}

/// A file format the replay source reads, chosen by extension (CSV layouts are sniffed later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

fn format_of(path: &Path) -> Option<Format> {
    let name = lower_file_name(path);
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") {
        Some(Format::Csv)
    } else if name.ends_with(".jsonl") {
        Some(Format::Jsonl)
    } else {
        None
    }
}

/// Resolves the given paths into the files to read: files are kept in order (an unknown
/// extension is an error), a directory becomes its data files sorted by name.
pub fn expand_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PathBuf>, IngestError> {
    let mut files = Vec::new();
    for path in paths.iter().map(AsRef::as_ref) {
        let open_err = |source| IngestError::Open {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(open_err)?;
        if !meta.is_dir() {
            if format_of(path).is_none() {
                return Err(IngestError::UnsupportedFile {
                    path: path.to_path_buf(),
                });
            }
            files.push(path.to_path_buf());
            continue;
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(path).map_err(open_err)? {
            let entry_path = entry.map_err(open_err)?.path();
            if entry_path.is_file() && format_of(&entry_path).is_some() {
                found.push(entry_path);
            }
        }
        if found.is_empty() {
            return Err(IngestError::EmptyDirectory {
                path: path.to_path_buf(),
            });
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// One open file of any format.
enum FileReader {
    Kline(KlineCsvReader),
    Ohlcv(OhlcvCsvReader),
    Trades(TradesCsvReader),
    Jsonl(JsonlReader),
}

impl FileReader {
    fn open(path: &Path, options: &ReplayOptions) -> Result<Self, IngestError> {
        let limit = options.max_bad_rows;
        let dl = options.dead_letters.clone();
        let exchange = options.exchange;
        let symbol = options.symbol_override.clone();
        let csv = match format_of(path) {
            Some(Format::Csv) => sniff_csv(path)?,
            Some(Format::Jsonl) => {
                let reader = JsonlReader::open(path, limit)?;
                return Ok(Self::Jsonl(reader.with_dead_letters(dl)));
            }
            None => {
                return Err(IngestError::UnsupportedFile {
                    path: path.to_path_buf(),
                });
            }
        };
        Ok(match csv {
            CsvFormat::Kline => {
                let reader = KlineCsvReader::open(path, exchange, symbol, limit)?;
                Self::Kline(reader.with_dead_letters(dl))
            }
            CsvFormat::Ohlcv => {
                let secs = options.interval_secs;
                let reader = OhlcvCsvReader::open(path, exchange, symbol, secs, limit)?;
                Self::Ohlcv(reader.with_dead_letters(dl))
            }
            CsvFormat::Trades => {
                let reader = TradesCsvReader::open(path, exchange, symbol, limit)?;
                Self::Trades(reader.with_dead_letters(dl))
            }
        })
    }

    fn next_event(&mut self) -> Option<Result<MarketEvent, IngestError>> {
        match self {
            Self::Kline(reader) => reader.next(),
            Self::Ohlcv(reader) => reader.next(),
            Self::Trades(reader) => reader.next(),
            Self::Jsonl(reader) => reader.next(),
        }
    }

    fn stats(&self) -> &FileStats {
        match self {
            Self::Kline(reader) => reader.stats(),
            Self::Ohlcv(reader) => reader.stats(),
            Self::Trades(reader) => reader.stats(),
            Self::Jsonl(reader) => reader.stats(),
        }
    }
}

/// The next event of one file, ordered by (event time, file index).
struct Head {
    event: MarketEvent,
    file: usize,
}

impl Head {
    fn key(&self) -> (i64, usize) {
        (self.event.ts_event_ns, self.file)
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Several replay files merged in event-time order; an iterator of events.
///
/// Opening checks every path (a missing one is an error naming it) and each file's layout. The
/// iterator yields the first error it meets (bad-row limit, unreadable data), then ends.
pub struct ReplaySource {
    readers: Vec<FileReader>,
    heap: BinaryHeap<Reverse<Head>>,
    primed: bool,
    pending_err: Option<IngestError>,
    done: bool,
}

impl ReplaySource {
    /// Opens every file named by `paths` (see [`expand_paths`]).
    pub fn open<P: AsRef<Path>>(paths: &[P], options: &ReplayOptions) -> Result<Self, IngestError> {
        let readers = expand_paths(paths)?
            .iter()
            .map(|path| FileReader::open(path, options))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            heap: BinaryHeap::with_capacity(readers.len()),
            readers,
            primed: false,
            pending_err: None,
            done: false,
        })
    }

    /// The files being read, in merge (tie-break) order.
    pub fn files(&self) -> Vec<&Path> {
        self.readers
            .iter()
            .map(|r| r.stats().path.as_path())
            .collect()
    }

    /// What each file produced so far, in [`files`](Self::files) order; complete once the
    /// iterator has ended.
    pub fn stats(&self) -> Vec<FileStats> {
        self.readers.iter().map(|r| r.stats().clone()).collect()
    }

    /// Moves file `i`'s next event into the heap; keeps its error for the next call.
    fn pull(&mut self, file: usize) {
        let Some(reader) = self.readers.get_mut(file) else {
            return;
        };
        match reader.next_event() {
            Some(Ok(event)) => self.heap.push(Reverse(Head { event, file })),
            Some(Err(e)) => {
                self.pending_err.get_or_insert(e);
            }
            None => {}
        }
    }
}

impl Iterator for ReplaySource {
    type Item = Result<MarketEvent, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.primed {
            self.primed = true;
            for file in 0..self.readers.len() {
                self.pull(file);
            }
        }
        if let Some(e) = self.pending_err.take() {
            self.done = true;
            return Some(Err(e));
        }
        let Some(Reverse(head)) = self.heap.pop() else {
            self.done = true;
            return None;
        };
        self.pull(head.file);
        Some(Ok(head.event))
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
