//! What the file readers share: opening a possibly gzipped file, and the bad-row policy.
//!
//! In: a path (`.gz` ⇒ gzip, read with `MultiGzDecoder` so concatenated members work). Out: a
//! buffered byte stream. [`Tally`] keeps a file's [`FileStats`] and applies the one policy every
//! reader follows: a bad row is counted, the first [`LOGGED_BAD_ROWS`] are logged with
//! `path:line` and kept in the stats, one summary line is logged at the end, and exceeding the
//! limit turns into [`IngestError::TooManyBadRows`].

use super::IngestError;
use super::dead_letter::{DeadLetter, DeadLetters};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// How many bad rows per file are logged one by one and kept in [`FileStats::first_bad`].
pub(crate) const LOGGED_BAD_ROWS: usize = 5;

/// What reading one file produced, for the end-of-run report.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileStats {
    pub path: PathBuf,
    /// Data rows (JSONL: non-blank lines) read, good and bad; a header row is not counted.
    pub rows_read: u64,
    /// Events produced.
    pub events: u64,
    /// Rows skipped as malformed.
    pub bad_rows: u64,
    /// Messages (`path:line: reason`) of the first few bad rows.
    pub first_bad: Vec<String>,
    /// JSONL only: events earlier in event time than the one before them in the same file (kept).
    pub out_of_order: u64,
}

/// Opens `path` for streaming, decompressing when its name ends in `.gz`.
pub(crate) fn open_input(path: &Path) -> Result<Box<dyn BufRead + Send>, IngestError> {
    let file = File::open(path).map_err(|source| IngestError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    if lower_file_name(path).ends_with(".gz") {
        Ok(Box::new(BufReader::new(MultiGzDecoder::new(
            BufReader::new(file),
        ))))
    } else {
        Ok(Box::new(BufReader::new(file)))
    }
}

/// The file name, lowercased, or an empty string when the path has none.
pub(crate) fn lower_file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A file's running stats plus its bad-row limit.
#[derive(Debug)]
pub(crate) struct Tally {
    stats: FileStats,
    limit: u64,
    finished: bool,
    dead_letters: Option<DeadLetters>,
}

impl Tally {
    pub(crate) fn new(path: &Path, max_bad_rows: u64) -> Self {
        Self {
            stats: FileStats {
                path: path.to_path_buf(),
                ..FileStats::default()
            },
            limit: max_bad_rows,
            finished: false,
            dead_letters: None,
        }
    }

    pub(crate) fn set_dead_letters(&mut self, dl: Option<DeadLetters>) {
        self.dead_letters = dl;
    }

    pub(crate) fn stats(&self) -> &FileStats {
        &self.stats
    }

    pub(crate) fn row(&mut self) {
        self.stats.rows_read += 1;
    }

    pub(crate) fn event(&mut self) {
        self.stats.events += 1;
    }

    pub(crate) fn out_of_order(&mut self) {
        self.stats.out_of_order += 1;
        if self.stats.out_of_order == 1 {
            tracing::warn!(
                file = %self.stats.path.display(),
                "events go backwards in event time within the file; replay order follows the file"
            );
        }
    }

    /// Counts a skipped row and dead-letters it whole (`raw`); fails once the count exceeds the
    /// limit, or when the dead letter cannot be written.
    pub(crate) fn bad(
        &mut self,
        err: IngestError,
        line: u64,
        raw: &str,
    ) -> Result<(), IngestError> {
        self.stats.bad_rows += 1;
        let message = err.to_string();
        if let Some(dl) = &self.dead_letters {
            let source = self.stats.path.display().to_string();
            let letter = DeadLetter {
                source: &source,
                line,
                error: &message,
                raw,
            };
            dl.send(&letter).map_err(|source| IngestError::DeadLetter {
                path: self.stats.path.clone(),
                dead_letters: dl.path(),
                source,
            })?;
        }
        if self.stats.first_bad.len() < LOGGED_BAD_ROWS {
            tracing::warn!(error = %message, "skipping bad row");
            self.stats.first_bad.push(message);
        }
        if self.stats.bad_rows > self.limit {
            self.finish();
            return Err(IngestError::TooManyBadRows {
                path: self.stats.path.clone(),
                bad: self.stats.bad_rows,
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Logs the one-line summary (once) when rows were skipped.
    pub(crate) fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.stats.bad_rows > 0 {
            tracing::warn!(
                file = %self.stats.path.display(),
                rows_read = self.stats.rows_read,
                bad_rows = self.stats.bad_rows,
                logged = self.stats.first_bad.len(),
                "bad rows skipped"
            );
        }
    }
}

/// Path of a file under `tests/fixtures/` (tests only read fixtures and temp files).
#[cfg(test)]
pub(crate) fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}
