//! MarketEvent JSONL → [`MarketEvent`]s, streamed line by line.
//!
//! In: one `.jsonl` or `.jsonl.gz` file, one JSON `MarketEvent` per line (the form of
//! `schemas/market_event.schema.json`, as `collect` records it); blank lines are ignored. Out: the
//! events in file order plus [`FileStats`]. A line that is not a valid event follows the shared
//! bad-row policy (counted, logged with `path:line`, skipped, an error past the limit). Events that
//! go backwards in event time are kept and counted in `out_of_order`, since a recording is in
//! receive order.

use super::IngestError;
use super::dead_letter::DeadLetters;
use super::input::{FileStats, Tally, open_input};
use crate::event::MarketEvent;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Streaming reader of one JSONL file; an iterator of events.
///
/// The iterator yields an error, then ends, when the file cannot be read further or bad lines
/// exceed the limit.
pub struct JsonlReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
    /// The current line was longer than `MAX_LINE_BYTES`; `buf` holds its start.
    overlong: bool,
    last_ts_ns: Option<i64>,
    tally: Tally,
    done: bool,
}

impl JsonlReader {
    /// Opens `path` (gzip when the name ends in `.gz`); a file that cannot be opened is an error.
    pub fn open(path: &Path, max_bad_rows: u64) -> Result<Self, IngestError> {
        Ok(Self {
            path: path.to_path_buf(),
            input: open_input(path)?,
            buf: Vec::new(),
            line: 0,
            overlong: false,
            last_ts_ns: None,
            tally: Tally::new(path, max_bad_rows),
            done: false,
        })
    }

    /// Sends every skipped line to `dl` as well.
    pub fn with_dead_letters(mut self, dl: Option<DeadLetters>) -> Self {
        self.tally.set_dead_letters(dl);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> &FileStats {
        self.tally.stats()
    }

    /// Reads the next line into `buf` (at most `MAX_LINE_BYTES`; the rest of a longer line is
    /// skipped and the line marked overlong); `Ok(false)` at the end of the file.
    fn read_line(&mut self) -> Result<bool, IngestError> {
        self.buf.clear();
        self.line += 1;
        self.overlong = false;
        let err = |source| IngestError::Read {
            path: self.path.clone(),
            line: self.line,
            source,
        };
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(err)?;
        if self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
            self.overlong = true;
            self.buf.truncate(MAX_LINE_BYTES);
            skip_line(&mut self.input).map_err(|source| IngestError::Read {
                path: self.path.clone(),
                line: self.line,
                source,
            })?;
        }
        Ok(n > 0)
    }

    fn parse_line(&mut self) -> Result<MarketEvent, IngestError> {
        if self.overlong {
            return Err(IngestError::BadJsonLine {
                path: self.path.clone(),
                line: self.line,
                reason: format!(
                    "line longer than {MAX_LINE_BYTES} bytes (dead-lettered truncated)"
                ),
            });
        }
        MarketEvent::from_json(&self.buf).map_err(|reason| IngestError::BadJsonLine {
            path: self.path.clone(),
            line: self.line,
            reason,
        })
    }

    fn note_order(&mut self, event: &MarketEvent) {
        if self.last_ts_ns.is_some_and(|last| event.ts_event_ns < last) {
            self.tally.out_of_order();
        }
        self.last_ts_ns = Some(event.ts_event_ns);
    }

    /// Ends the iteration with `err`.
    fn fail(&mut self, err: IngestError) -> Option<Result<MarketEvent, IngestError>> {
        self.done = true;
        self.tally.finish();
        Some(Err(err))
    }
}

/// A MarketEvent line is a few hundred bytes; anything past this is not one, and a file without
/// newlines must not be read into memory whole.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Consumes input up to and including the next newline (or to the end).
fn skip_line(input: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                input.consume(n);
            }
        }
    }
}

impl Iterator for JsonlReader {
    type Item = Result<MarketEvent, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.read_line() {
                Err(e) => return self.fail(e),
                Ok(false) => break,
                Ok(true) => {}
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.tally.row();
            match self.parse_line() {
                Ok(event) => {
                    self.note_order(&event);
                    self.tally.event();
                    return Some(Ok(event));
                }
                Err(bad) => {
                    let raw = String::from_utf8_lossy(&self.buf).trim_end().to_string();
                    if let Err(e) = self.tally.bad(bad, self.line, &raw) {
                        return self.fail(e);
                    }
                }
            }
        }
        self.done = true;
        self.tally.finish();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Bar, EventKind, Exchange, Side, Symbol};
    use std::io::Write;

    fn bar_event(minute: i64) -> MarketEvent {
        let open_time_ms = 1_769_904_000_000 + minute * 60_000;
        let bar = Bar {
            open_time_ms,
            close_time_ms: open_time_ms + 59_999,
            open: 1.5,
            high: 1.6,
            low: 1.4,
            close: 1.55,
            volume: 10.0,
            quote_volume: 15.5,
            trades: 3,
            taker_buy_volume: 4.0,
            closed: true,
        };
        MarketEvent::closed_bar(Exchange::Bybit, Symbol::new("DOTUSDT"), bar)
    }

    fn trade_event(ts_ms: i64) -> MarketEvent {
        MarketEvent {
            exchange: Exchange::BinanceFutures,
            symbol: Symbol::new("LINKUSDT"),
            ts_event_ns: ts_ms * 1_000_000,
            ts_recv_ns: ts_ms * 1_000_000 + 1_234,
            kind: EventKind::Trade {
                price: 9.98,
                qty: 12.0,
                side: Side::Sell,
                id: 42,
            },
        }
    }

    fn json(event: &MarketEvent) -> String {
        serde_json::to_string(event).unwrap()
    }

    fn read_all(path: &Path, limit: u64) -> (Vec<MarketEvent>, FileStats) {
        let mut reader = JsonlReader::open(path, limit).unwrap();
        let events = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
        (events, reader.stats().clone())
    }

    #[test]
    fn events_round_trip_plain_and_gz() {
        let events = vec![bar_event(0), trade_event(1_769_904_060_000), bar_event(1)];
        let text: String = events.iter().map(|e| json(e) + "\n").collect();
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("events.jsonl");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("events.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        let (read, stats) = read_all(&plain, 0);
        assert_eq!(read, events);
        assert_eq!((stats.rows_read, stats.events, stats.bad_rows), (3, 3, 0));
        assert_eq!(read_all(&gz, 0).0, events);
    }

    #[test]
    fn an_overlong_line_is_a_bad_row_and_the_next_line_still_reads() {
        let long = "x".repeat(MAX_LINE_BYTES * 2 + 17);
        let text = [json(&bar_event(0)), long, json(&bar_event(1))].join("\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, text).unwrap();
        let dl = crate::ingest::dead_letter::DeadLetters::create(&dir.path().join("dl")).unwrap();
        let mut reader = JsonlReader::open(&path, 5)
            .unwrap()
            .with_dead_letters(Some(dl.clone()));
        let events: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(events, vec![bar_event(0), bar_event(1)]);
        assert_eq!(reader.stats().bad_rows, 1);
        assert!(reader.stats().first_bad[0].contains(":2: bad JSONL event: line longer than"));
        assert_eq!(dl.flush().unwrap().1, 1);
        let text = std::fs::read_to_string(dir.path().join("dl")).unwrap();
        let letter: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(letter["line"], 2);
        assert_eq!(
            letter["raw"].as_str().unwrap().len(),
            MAX_LINE_BYTES,
            "kept, truncated"
        );
    }

    #[test]
    fn bad_lines_are_counted_and_skipped_and_blank_lines_ignored() {
        let text = [
            json(&bar_event(0)),
            String::new(),
            "{not json".to_string(),
            json(&bar_event(1)).replace("\"bar\"", "\"candle\""),
            "  ".to_string(),
            json(&bar_event(2)),
        ]
        .join("\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, text).unwrap();
        let (events, stats) = read_all(&path, 5);
        assert_eq!(events, vec![bar_event(0), bar_event(2)]);
        assert_eq!((stats.rows_read, stats.bad_rows), (4, 2));
        let shown = path.display().to_string();
        assert!(stats.first_bad[0].starts_with(&format!("{shown}:3: bad JSONL event: ")));
        assert!(stats.first_bad[1].starts_with(&format!("{shown}:4: bad JSONL event: ")));

        let mut reader = JsonlReader::open(&path, 1).unwrap();
        let results: Vec<_> = reader.by_ref().collect();
        assert_eq!(
            results.len(),
            2,
            "one event, then the error; the rest is not read"
        );
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{shown}: too many bad rows (2 > limit 1)")
        );
    }

    #[test]
    fn backwards_event_time_is_kept_and_counted() {
        let text = [bar_event(1), bar_event(0), bar_event(2)]
            .map(|e| json(&e))
            .join("\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, text).unwrap();
        let (events, stats) = read_all(&path, 0);
        assert_eq!(events.len(), 3);
        assert_eq!(stats.out_of_order, 1);
    }

    #[test]
    fn missing_file_error_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.jsonl");
        let err = JsonlReader::open(&path, 0).err().expect("missing file");
        assert!(
            err.to_string()
                .starts_with(&format!("{}: cannot open: ", path.display()))
        );
    }
}
