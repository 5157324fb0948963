//! One websocket connection, kept alive: connect, subscribe, keep alive, watch for silence, and
//! reconnect with backoff, until told to stop.
//!
//! In: a [`ConnSpec`] (URL, streams, the venue's rules, timing settings) and a stop signal. Out:
//! [`ConnEvent`]s to the shard that owns it: `Up` once subscribed (again after every
//! reconnect), every data frame with its receive time, and `Down` with the reason whenever the
//! connection is lost. This task never parses: it only judges liveness, so any frame, including
//! an exchange heartbeat or a ping, proves the connection alive, and a quiet market that sends
//! heartbeats never trips the watchdog.
//!
//! Server pings are answered by tungstenite, which queues the pong and writes it on the next
//! read, so reading continuously is enough.
#![allow(clippy::disallowed_methods)] // an edge module: receive times are the wall clock's

use super::super::venue::{Stream, Venue};
use crate::clock::wall_ns;
use crate::ingest::backoff::Backoff;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// Timing and size settings of a connection (from the feed's config).
#[derive(Clone, Debug)]
pub struct ConnSettings {
    pub connect_timeout: Duration,
    /// No frame at all for this long: the connection is dead; reconnect.
    pub silence_timeout: Duration,
    pub backoff: Backoff,
    /// A connection up this long resets the backoff to its first step.
    pub stable_after: Duration,
    /// Overrides the exchange's client keepalive period (it keeps the exchange's message).
    pub keepalive_every: Option<Duration>,
    /// Frames above this are counted and skipped; frames above 4× this kill the connection
    /// (the websocket layer refuses to buffer them).
    pub max_frame_bytes: usize,
}

pub struct ConnSpec {
    pub id: u64,
    pub url: String,
    pub venue: Arc<dyn Venue>,
    pub streams: Vec<Stream>,
    pub settings: ConnSettings,
}

#[derive(Debug)]
pub enum ConnEvent {
    /// Connected and subscribed (the subscribe messages are sent; acks arrive as frames).
    Up { conn: u64, at_ns: i64 },
    Frame {
        conn: u64,
        recv_ns: i64,
        bytes: Bytes,
    },
    /// A frame above `max_frame_bytes`, skipped.
    Oversized { conn: u64, len: usize },
    /// The connection was lost (or never came up); it retries after a backoff.
    Down {
        conn: u64,
        at_ns: i64,
        reason: String,
        watchdog: bool,
    },
}

/// Runs until `stop` fires (or its sender is dropped) or the shard stops listening.
pub async fn run(spec: ConnSpec, tx: mpsc::Sender<ConnEvent>, mut stop: oneshot::Receiver<()>) {
    let mut failures: u32 = 0;
    // A Send generator (the thread-local one is not): this task may move between workers.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
    loop {
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = &mut stop => return,
            o = session(&spec, &tx) => o,
        };
        let Some((reason, watchdog)) = outcome else {
            return;
        };
        let down = ConnEvent::Down {
            conn: spec.id,
            at_ns: wall_ns(),
            reason,
            watchdog,
        };
        if tx.send(down).await.is_err() {
            return;
        }
        if started.elapsed() >= spec.settings.stable_after {
            failures = 0;
        }
        let wait = spec.settings.backoff.delay(failures, &mut rng);
        failures = failures.saturating_add(1);
        tokio::select! {
            _ = &mut stop => return,
            _ = sleep(wait) => {}
        }
    }
}

/// One connection's life. `Some((reason, watchdog))` when it was lost; `None` when the shard
/// stopped listening.
async fn session(spec: &ConnSpec, tx: &mpsc::Sender<ConnEvent>) -> Option<(String, bool)> {
    let s = &spec.settings;
    let config = WebSocketConfig::default()
        .max_message_size(Some(s.max_frame_bytes.saturating_mul(4)))
        .max_frame_size(Some(s.max_frame_bytes.saturating_mul(4)));
    let connect = tokio_tungstenite::connect_async_with_config(&spec.url, Some(config), true);
    let mut ws = match timeout(s.connect_timeout, connect).await {
        Err(_) => {
            return Some((
                format!("connect timed out after {:?}", s.connect_timeout),
                false,
            ));
        }
        Ok(Err(e)) => return Some((format!("connect failed: {e}"), false)),
        Ok(Ok((ws, _response))) => ws,
    };
    let limits = spec.venue.limits();
    // Requests are paced to the exchange's per-connection request rate, but never more than a
    // second apart: OKX's budget is hourly (480/h), and a handful of subscribe requests at
    // connect is far inside it.
    let pace = Duration::from_secs_f64((1.0 / limits.max_requests_per_s.max(0.1)).min(1.0));
    for (i, request) in spec
        .venue
        .subscribe(&spec.streams, 1)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            sleep(pace).await;
        }
        if let Err(e) = ws.send(Message::text(request)).await {
            return Some((format!("subscribe failed: {e}"), false));
        }
    }
    tx.send(ConnEvent::Up {
        conn: spec.id,
        at_ns: wall_ns(),
    })
    .await
    .ok()?;
    let keepalive = spec.venue.keepalive();
    let period = match (&keepalive, s.keepalive_every) {
        (Some(_), Some(every)) => every,
        (Some(k), None) => k.every,
        (None, _) => Duration::from_secs(3_600),
    };
    let mut next_keepalive = Instant::now() + period;
    let mut deadline = Instant::now() + s.silence_timeout;
    loop {
        tokio::select! {
            frame = ws.next() => {
                deadline = Instant::now() + s.silence_timeout;
                let event = match frame {
                    None => return Some(("closed by the server".into(), false)),
                    Some(Err(e)) => return Some((format!("read failed: {e}"), false)),
                    Some(Ok(Message::Close(close))) => {
                        let why = close.map_or_else(String::new, |c| format!(": {} {}", c.code, c.reason));
                        return Some((format!("closed by the server{why}"), false));
                    }
                    Some(Ok(Message::Text(text))) => data(spec, Bytes::from(text)),
                    Some(Ok(Message::Binary(bytes))) => data(spec, bytes),
                    // Pings are answered by tungstenite; pings and pongs only prove liveness.
                    Some(Ok(_)) => continue,
                };
                tx.send(event).await.ok()?;
            }
            _ = sleep_until(deadline) => {
                let reason = format!("no frame for {:?} (silence watchdog)", s.silence_timeout);
                return Some((reason, true));
            }
            _ = sleep_until(next_keepalive), if keepalive.is_some() => {
                next_keepalive = Instant::now() + period;
                if let Some(k) = &keepalive
                    && let Err(e) = ws.send(Message::text(k.message.clone())).await {
                        return Some((format!("keepalive failed: {e}"), false));
                    }
            }
        }
    }
}

fn data(spec: &ConnSpec, bytes: Bytes) -> ConnEvent {
    if bytes.len() > spec.settings.max_frame_bytes {
        ConnEvent::Oversized {
            conn: spec.id,
            len: bytes.len(),
        }
    } else {
        ConnEvent::Frame {
            conn: spec.id,
            recv_ns: wall_ns(),
            bytes,
        }
    }
}
