//! A JSONL file of signals, one per line, buffered and flushed + fsynced on close.

use crate::signal::Signal;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct SinkError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

pub struct JsonlSink {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
}

impl JsonlSink {
    /// Creates (truncates) `path`, making its directory.
    pub fn create(path: &Path) -> Result<Self, SinkError> {
        let err = |source| SinkError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let f = File::create(path).map_err(err)?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, f),
            written: 0,
        })
    }

    pub fn write(&mut self, s: &Signal) -> Result<(), SinkError> {
        let err = |source| SinkError {
            path: self.path.clone(),
            source,
        };
        serde_json::to_writer(&mut self.out, s).map_err(|e| err(e.into()))?;
        self.out.write_all(b"\n").map_err(err)?;
        self.written += 1;
        Ok(())
    }

    /// Flushes, and fsyncs a regular file (a pipe or `/dev/null` cannot be synced); returns how
    /// many signals were written.
    /// Hands the buffered lines to the OS (no fsync).
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|source| SinkError {
            path: self.path.clone(),
            source,
        })
    }

    pub fn close(mut self) -> Result<u64, SinkError> {
        let path = self.path.clone();
        let err = |source| SinkError { path, source };
        self.out.flush().map_err(err.clone())?;
        let file = self.out.get_ref();
        if file.metadata().map_err(err.clone())?.is_file() {
            file.sync_all().map_err(err)?;
        }
        Ok(self.written)
    }
}
