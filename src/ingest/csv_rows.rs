//! What the CSV readers share: stepping through records without ever failing on a row, and the
//! loop that turns records into events under the bad-row policy.
//!
//! [`CsvRows`] reads bytes first so a row that is not UTF-8 still reaches its dead letter (decoded
//! lossily); only I/O failures (a truncated `.gz`) are errors. [`CsvEvents`] drives a format's
//! [`RowParser`] over the rows: good rows become events, bad ones go through [`Tally`].

use super::IngestError;
use super::dead_letter::DeadLetters;
use super::input::{FileStats, Tally, open_input};
use crate::event::MarketEvent;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One step of the underlying CSV reader.
pub(crate) enum Step {
    /// A record was read into [`CsvRows::record`]; its 1-based line.
    Row(u64),
    /// A record that cannot be used at all (not UTF-8, unreadable); its line and why.
    Bad(u64, String),
    End,
}

/// Streaming CSV records of one (possibly gzipped) file, flexible in column count.
pub(crate) struct CsvRows {
    path: PathBuf,
    csv: csv::Reader<Box<dyn BufRead + Send>>,
    record: csv::StringRecord,
    /// A row that was not UTF-8, decoded lossily, for its dead letter.
    bad_raw: Option<String>,
    /// The current record was handed back with [`unread`](Self::unread) and is not yet consumed.
    pending: bool,
}

impl CsvRows {
    pub(crate) fn open(path: &Path) -> Result<Self, IngestError> {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(open_input(path)?);
        Ok(Self {
            path: path.to_path_buf(),
            csv,
            record: csv::StringRecord::new(),
            bad_raw: None,
            pending: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The record of the last [`Step::Row`].
    pub(crate) fn record(&self) -> &csv::StringRecord {
        &self.record
    }

    /// Makes the next [`step`](Self::step) return the current record again (a first row that
    /// turned out to be data while looking for a header).
    pub(crate) fn unread(&mut self) {
        self.pending = true;
    }

    /// The current row as read, for its dead letter.
    pub(crate) fn take_raw(&mut self) -> String {
        self.bad_raw
            .take()
            .unwrap_or_else(|| self.record.iter().collect::<Vec<_>>().join(","))
    }

    /// Advances by one record (or hands out the unread one).
    pub(crate) fn step(&mut self) -> Result<Step, IngestError> {
        if std::mem::take(&mut self.pending) {
            return Ok(Step::Row(self.record.position().map_or(0, |p| p.line())));
        }
        self.bad_raw = None;
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
                    // The record holds the previous row; its dead letter must not repeat it.
                    csv::ErrorKind::Utf8 { err, .. } => {
                        self.record.clear();
                        Ok(Step::Bad(line, format!("invalid UTF-8: {err}")))
                    }
                    kind => {
                        self.record.clear();
                        Ok(Step::Bad(line, format!("unreadable CSV record: {kind:?}")))
                    }
                }
            }
        }
    }
}

/// A header cell as compared: trimmed, without a byte-order mark, lowercased, spaces as `_`.
pub(crate) fn header_name(raw: &str) -> String {
    raw.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace(' ', "_")
}

/// One CSV format's row rules.
pub(crate) trait RowParser {
    /// Turns one data record into an event; the error is the reason, without path or line.
    /// Called in file order, so it may check order against the previous good row.
    fn parse(&mut self, record: &csv::StringRecord) -> Result<MarketEvent, String>;

    /// The error that reports a bad row of this format.
    fn bad_row(&self, path: PathBuf, line: u64, reason: String) -> IngestError;
}

/// Events of one CSV file under the shared bad-row policy.
pub(crate) struct CsvEvents<P> {
    rows: CsvRows,
    parser: P,
    tally: Tally,
    done: bool,
}

impl<P: RowParser> CsvEvents<P> {
    /// `rows` is positioned after any header (a data row already read is [`CsvRows::unread`]).
    pub(crate) fn new(rows: CsvRows, parser: P, max_bad_rows: u64) -> Self {
        let tally = Tally::new(rows.path(), max_bad_rows);
        Self {
            rows,
            parser,
            tally,
            done: false,
        }
    }

    /// Sends every skipped row to `dl` as well.
    pub(crate) fn set_dead_letters(&mut self, dl: Option<DeadLetters>) {
        self.tally.set_dead_letters(dl);
    }

    pub(crate) fn path(&self) -> &Path {
        self.rows.path()
    }

    pub(crate) fn stats(&self) -> &FileStats {
        self.tally.stats()
    }

    /// Marks the file as finished without reading it (it was empty).
    pub(crate) fn end(&mut self) {
        self.done = true;
    }

    /// The next event; bad rows are tallied and skipped. After an error, `None` for ever.
    pub(crate) fn next_event(&mut self) -> Option<Result<MarketEvent, IngestError>> {
        while !self.done {
            let (line, reason) = match self.rows.step() {
                Err(e) => return self.fail(e),
                Ok(Step::End) => break,
                Ok(Step::Bad(line, reason)) => (line, reason),
                Ok(Step::Row(line)) => match self.parser.parse(self.rows.record()) {
                    Ok(event) => {
                        self.tally.row();
                        self.tally.event();
                        return Some(Ok(event));
                    }
                    Err(reason) => (line, reason),
                },
            };
            self.tally.row();
            let raw = self.rows.take_raw();
            let err = self
                .parser
                .bad_row(self.rows.path().to_path_buf(), line, reason);
            if let Err(e) = self.tally.bad(err, line, &raw) {
                return self.fail(e);
            }
        }
        self.done = true;
        self.tally.finish();
        None
    }

    fn fail(&mut self, err: IngestError) -> Option<Result<MarketEvent, IngestError>> {
        self.done = true;
        self.tally.finish();
        Some(Err(err))
    }
}
