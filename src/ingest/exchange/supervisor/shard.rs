//! One shard: a set of streams on one endpoint, carried by one connection at a time (two while a
//! rotation overlaps them). Parses every frame, keeps continuity across reconnects and
//! rotations, and hands events on.
//!
//! In: [`ConnEvent`]s from its connections. Out: [`MarketEvent`]s on the feed's channel (when it
//! is full, quotes and in-progress candles are conflated per symbol and counted; everything else
//! waits, and the exchange's socket buffer absorbs the stall), dead letters for frames that do
//! not parse, counters. A subscription the
//! exchange refuses ends the shard with [`FeedError::Refused`]: that is a configuration error,
//! and retrying would only repeat it.
//!
//! Rotation: before the exchange's connection lifetime runs out, or as soon as the exchange
//! announces it will close the connection ([`Frame::Closing`]), a second connection is opened
//! with the same subscriptions; once it delivers market data, the old one is closed. Events both
//! delivered in the overlap are dropped by [`Continuity`], so nothing is missed or doubled.

use super::FeedError;
use super::connection::{self, ConnEvent, ConnSettings, ConnSpec};
use super::continuity::{Continuity, ContinuityStats};
use super::stats::FeedStats;
use crate::event::MarketEvent;
use crate::ingest::dead_letter::{DeadLetter, DeadLetters};
use crate::ingest::exchange::{Frame, Stream, Venue};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

pub struct ShardSpec {
    pub feed: String,
    pub url: String,
    pub venue: Arc<dyn Venue>,
    pub streams: Vec<Stream>,
    pub settings: ConnSettings,
    /// Open the successor connection this long after the current one was opened.
    pub rotate_after: Option<Duration>,
}

struct Live {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub struct Shard {
    spec: ShardSpec,
    stats: Arc<FeedStats>,
    dead: Option<DeadLetters>,
    out: mpsc::Sender<MarketEvent>,
    continuity: Continuity,
    conns: HashMap<u64, Live>,
    next_id: u64,
    /// The connection whose data is current; a rotation's successor until it proves itself.
    current: u64,
    successor: Option<u64>,
    /// When the next rotation begins.
    rotate_at: Instant,
    /// The exchange announced the current connection's close: rotate now.
    closing: bool,
    /// Connections that are up (subscribed) right now.
    up: HashMap<u64, bool>,
    /// Whether this shard counts itself in the feed's `shards_up` gauge.
    counted_up: bool,
    /// The last message number per connection, for exchanges that number messages, and whether
    /// the numbering has only increased so far.
    sequence: HashMap<u64, (u64, bool)>,
    parsed: Vec<MarketEvent>,
    emitted: Vec<MarketEvent>,
    /// Conflated events waiting for room in the channel, oldest first (few: one per symbol
    /// and kind).
    held: Vec<(ConflationKey, MarketEvent)>,
}

/// Symbol and kind of an event that may be conflated.
type ConflationKey = (crate::event::Exchange, crate::event::Symbol, bool);

/// Quotes (false) and in-progress candles (true) may be replaced by a newer one of the same
/// symbol; nothing else may.
fn conflation_key(ev: &MarketEvent) -> Option<ConflationKey> {
    use crate::event::EventKind;
    match &ev.kind {
        EventKind::Quote { .. } => Some((ev.exchange, ev.symbol.clone(), false)),
        EventKind::Bar(b) if !b.closed => Some((ev.exchange, ev.symbol.clone(), true)),
        _ => None,
    }
}

impl Shard {
    pub fn new(
        spec: ShardSpec,
        stats: Arc<FeedStats>,
        dead: Option<DeadLetters>,
        out: mpsc::Sender<MarketEvent>,
    ) -> Self {
        let continuity = Continuity::new(!spec.venue.marks_closed_candles());
        Self {
            spec,
            stats,
            dead,
            out,
            continuity,
            conns: HashMap::new(),
            next_id: 0,
            current: 0,
            successor: None,
            rotate_at: Instant::now(),
            closing: false,
            up: HashMap::new(),
            counted_up: false,
            sequence: HashMap::new(),
            parsed: Vec::new(),
            emitted: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Runs until `shutdown` turns true (Ok) or a subscription is refused (Err).
    pub async fn run(
        mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<ContinuityStats, FeedError> {
        let (tx, mut rx) = mpsc::channel(1_024);
        self.current = self.open(&tx);
        self.rotate_at = self.next_rotation();
        let result = loop {
            tokio::select! {
                _ = shutdown.changed() => break Ok(()),
                Some(event) = rx.recv() => {
                    if let Err(e) = self.on_conn_event(event).await {
                        break Err(e);
                    }
                    if std::mem::take(&mut self.closing) && self.successor.is_none() {
                        self.rotate(&tx);
                    }
                }
                _ = sleep_until(self.rotate_at), if self.successor.is_none() => {
                    tracing::info!(feed = %self.spec.feed, url = %self.spec.url, "rotating the connection before the exchange's lifetime limit");
                    self.rotate(&tx);
                }
            }
        };
        self.set_counted_up(false);
        // Conflated events still held go out if there is room; the consumer is stopping too.
        let _ = self.offer_held();
        for (_, live) in self.conns.drain() {
            let _ = live.stop.send(());
            let _ = live.task.await;
        }
        result.map(|()| self.continuity.stats())
    }

    /// Keeps the feed's `shards_up` gauge: this shard is in it while any connection is up.
    fn set_counted_up(&mut self, up: bool) {
        if up != self.counted_up {
            self.counted_up = up;
            if up {
                FeedStats::add(&self.stats.shards_up, 1);
            } else {
                self.stats
                    .shards_up
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Opens the successor connection; it takes over once it delivers data.
    fn rotate(&mut self, tx: &mpsc::Sender<ConnEvent>) {
        FeedStats::add(&self.stats.rotations, 1);
        self.successor = Some(self.open(tx));
    }

    fn next_rotation(&self) -> Instant {
        // Far in the future when the exchange sets no lifetime.
        let after = self
            .spec
            .rotate_after
            .unwrap_or(Duration::from_secs(10 * 365 * 86_400));
        Instant::now() + after
    }

    fn open(&mut self, tx: &mpsc::Sender<ConnEvent>) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let spec = ConnSpec {
            id,
            url: self.spec.url.clone(),
            venue: self.spec.venue.clone(),
            streams: self.spec.streams.clone(),
            settings: self.spec.settings.clone(),
        };
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(connection::run(spec, tx.clone(), stop_rx));
        self.conns.insert(id, Live { stop, task });
        id
    }

    async fn on_conn_event(&mut self, event: ConnEvent) -> Result<(), FeedError> {
        match event {
            ConnEvent::Up { conn, at_ns } => {
                FeedStats::add(&self.stats.connects, 1);
                self.up.insert(conn, true);
                self.set_counted_up(true);
                // A new connection numbers its messages afresh.
                self.sequence.remove(&conn);
                if conn == self.current {
                    self.continuity.resumed(at_ns, &mut self.emitted);
                    self.flush().await?;
                }
            }
            ConnEvent::Down {
                conn,
                at_ns,
                reason,
                watchdog,
            } => {
                FeedStats::add(&self.stats.disconnects, 1);
                if watchdog {
                    FeedStats::add(&self.stats.watchdog_reconnects, 1);
                }
                tracing::warn!(feed = %self.spec.feed, url = %self.spec.url, conn, %reason, "websocket down; reconnecting");
                self.up.insert(conn, false);
                let other_up = self.up.iter().any(|(c, up)| *c != conn && *up);
                self.set_counted_up(other_up);
                if conn == self.current && !other_up {
                    self.continuity.interrupted(at_ns.div_euclid(1_000_000));
                }
            }
            ConnEvent::Oversized { conn, len } => {
                FeedStats::add(&self.stats.oversized, 1);
                tracing::warn!(feed = %self.spec.feed, conn, len, limit = self.spec.settings.max_frame_bytes, "oversized frame skipped");
            }
            ConnEvent::Frame {
                conn,
                recv_ns,
                bytes,
            } => {
                FeedStats::add(&self.stats.frames, 1);
                self.on_frame(conn, recv_ns, &bytes).await?;
            }
        }
        Ok(())
    }

    async fn on_frame(&mut self, conn: u64, recv_ns: i64, bytes: &[u8]) -> Result<(), FeedError> {
        self.check_sequence(conn, recv_ns, bytes);
        self.parsed.clear();
        match self.spec.venue.parse(bytes, recv_ns, &mut self.parsed) {
            Ok(Frame::Refused(reply)) => {
                return Err(FeedError::Refused {
                    feed: self.spec.feed.clone(),
                    url: self.spec.url.clone(),
                    reply,
                });
            }
            Ok(frame) => {
                self.stats.count_frame(&frame);
                if let Frame::Closing(notice) = &frame {
                    tracing::warn!(feed = %self.spec.feed, conn, %notice, "the exchange will close the connection: rotating now");
                    self.closing = conn == self.current;
                }
                if let Frame::Skipped(crate::ingest::exchange::Skip::Unknown(kind)) = &frame {
                    tracing::debug!(feed = %self.spec.feed, %kind, "unknown message type skipped");
                }
            }
            Err(error) => {
                self.stats.count_error(&error);
                tracing::warn!(feed = %self.spec.feed, conn, %error, "malformed websocket message sent to dead letters");
                self.dead_letter(&error.to_string(), bytes);
                return Ok(());
            }
        }
        if !self.parsed.is_empty() && self.successor == Some(conn) {
            self.promote(conn);
        }
        for ev in self.parsed.drain(..) {
            self.continuity.on_event(ev, &mut self.emitted);
        }
        self.flush().await
    }

    /// A jump in the exchange's message numbering means messages were lost on a live
    /// connection: continuity treats it as an interruption that has just ended. The numbering is
    /// trusted only while it increases: Coinbase's documentation also speaks of numbers "for
    /// each product", and a number that goes back means this connection's messages are not one
    /// sequence, so its jumps prove nothing (counted, never marked as gaps).
    fn check_sequence(&mut self, conn: u64, recv_ns: i64, bytes: &[u8]) {
        let Some(seq) = self.spec.venue.sequence(bytes) else {
            return;
        };
        let (previous, trusted) = match self.sequence.get(&conn) {
            Some(&(p, t)) => (Some(p), t),
            None => (None, true),
        };
        let trusted = trusted && previous.is_none_or(|p| seq > p);
        self.sequence.insert(conn, (seq, trusted));
        let Some(previous) = previous else { return };
        if !trusted {
            FeedStats::add(&self.stats.sequence_unordered, 1);
        } else if seq > previous.saturating_add(1) && conn == self.current {
            FeedStats::add(&self.stats.sequence_gaps, 1);
            tracing::warn!(feed = %self.spec.feed, conn, seq, previous, "messages lost (sequence jump)");
            self.continuity.interrupted(recv_ns.div_euclid(1_000_000));
            self.continuity.resumed(recv_ns, &mut self.emitted);
        }
    }

    /// The successor delivered data: it becomes current and the old connection is closed.
    fn promote(&mut self, conn: u64) {
        let old = std::mem::replace(&mut self.current, conn);
        self.successor = None;
        // The new connection's lifetime starts now (give or take its connect time).
        self.rotate_at = self.next_rotation();
        if let Some(live) = self.conns.remove(&old) {
            let _ = live.stop.send(());
        }
        self.up.remove(&old);
        tracing::info!(feed = %self.spec.feed, old, new = conn, "rotation complete");
    }

    /// Hands the emitted events on. When the consumer lags (the channel is full), quotes and
    /// in-progress candle updates are conflated per symbol: only the newest waits, and each one
    /// replaced is counted. Trades, closed candles and gaps are never dropped: for them the shard
    /// waits, after sending what it held, so the order per symbol is kept.
    async fn flush(&mut self) -> Result<(), FeedError> {
        let mut emitted = std::mem::take(&mut self.emitted);
        self.offer_held()?;
        for ev in emitted.drain(..) {
            let Some(key) = conflation_key(&ev) else {
                for (_, held) in self.held.drain(..) {
                    self.out.send(held).await.map_err(|_| FeedError::Closed)?;
                }
                self.out.send(ev).await.map_err(|_| FeedError::Closed)?;
                continue;
            };
            if let Some(slot) = self.held.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = ev;
                FeedStats::add(&self.stats.conflated, 1);
                continue;
            }
            match self.out.try_send(ev) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(ev)) => self.held.push((key, ev)),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(FeedError::Closed),
            }
        }
        self.emitted = emitted;
        Ok(())
    }

    /// Sends held events while the channel has room, oldest first.
    fn offer_held(&mut self) -> Result<(), FeedError> {
        while let Some((_, ev)) = self.held.first() {
            match self.out.try_reserve() {
                Ok(permit) => {
                    permit.send(ev.clone());
                    self.held.remove(0);
                }
                Err(mpsc::error::TrySendError::Full(())) => break,
                Err(mpsc::error::TrySendError::Closed(())) => return Err(FeedError::Closed),
            }
        }
        Ok(())
    }

    fn dead_letter(&self, error: &str, bytes: &[u8]) {
        let Some(dead) = &self.dead else { return };
        let raw = String::from_utf8_lossy(bytes);
        let letter = DeadLetter {
            source: &self.spec.url,
            line: self.stats.frames.load(std::sync::atomic::Ordering::Relaxed),
            error,
            raw: &raw,
        };
        if let Err(e) = dead.send(&letter) {
            tracing::error!(feed = %self.spec.feed, error = %e, "cannot write a dead letter");
        }
    }
}
