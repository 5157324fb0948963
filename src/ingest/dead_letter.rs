//! Dead letters: input the engine could not use, kept whole so nothing is lost.
//!
//! Every row a reader skips (a malformed kline row, a JSONL line that is not a MarketEvent) is
//! written as one JSON object per line: `{"source", "line", "error", "raw"}`. Readers share one
//! handle; the lock is taken only for bad rows, never on the good path. (The Kafka source sends
//! its dead letters to a topic instead, in its own issue.)

use serde::Serialize;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One rejected input row.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    /// The file it came from.
    pub source: &'a str,
    /// 1-based line number in that file.
    pub line: u64,
    /// Why it was rejected.
    pub error: &'a str,
    /// The row as read (lossily decoded when it was not UTF-8).
    pub raw: &'a str,
}

struct Inner {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
}

/// A shared dead-letter JSONL file.
#[derive(Clone)]
pub struct DeadLetters(Arc<Mutex<Inner>>);

impl fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeadLetters")
    }
}

impl PartialEq for DeadLetters {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for DeadLetters {}

impl DeadLetters {
    /// Creates (truncates) `path`, making its directory.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self(Arc::new(Mutex::new(Inner {
            path: path.to_path_buf(),
            out: BufWriter::new(File::create(path)?),
            written: 0,
        }))))
    }

    /// Appends one dead letter.
    pub fn send(&self, letter: &DeadLetter<'_>) -> std::io::Result<()> {
        // A poisoned lock only means another reader panicked mid-write; the file is still usable.
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::to_writer(&mut inner.out, letter)?;
        inner.out.write_all(b"\n")?;
        inner.written += 1;
        Ok(())
    }

    /// The dead-letter file.
    pub fn path(&self) -> PathBuf {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .path
            .clone()
    }

    /// Flushes; returns the file and how many letters it holds.
    pub fn flush(&self) -> std::io::Result<(PathBuf, u64)> {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.out.flush()?;
        Ok((inner.path.clone(), inner.written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_json_lines_with_the_raw_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dead.jsonl");
        let dl = DeadLetters::create(&path).unwrap();
        let other = dl.clone();
        dl.send(&DeadLetter {
            source: "a.csv",
            line: 3,
            error: "bad",
            raw: "1,x,3",
        })
        .unwrap();
        other
            .send(&DeadLetter {
                source: "b.jsonl",
                line: 9,
                error: "eh",
                raw: "{",
            })
            .unwrap();
        assert_eq!(dl.flush().unwrap().1, 2);
        let text = std::fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["raw"], "1,x,3");
        assert_eq!(first["line"], 3);
        assert_eq!(text.lines().count(), 2);
    }
}
