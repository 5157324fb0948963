//! The websocket supervisor: one for every exchange. Turns configured feeds into shards of
//! streams, runs each shard's connections, and hands normalised events on.
//!
//! ```text
//!  FeedSpec ─▶ shards (≤ the exchange's streams per connection, one endpoint each)
//!                └─ Shard ◀─ ConnEvent ─ connection task (connect, subscribe, keepalive,
//!                     │                   silence watchdog, backoff; a second one while rotating)
//!                     └─ parse ─▶ Continuity (dedup, candle closing, gaps) ─▶ mpsc<MarketEvent>
//! ```
//!
//! In: [`FeedSpec`]s (from `[[websocket.feeds]]`), an output channel, an optional dead-letter
//! file. Out: events in arrival order per shard; [`FeedSnapshot`] counters per feed; a
//! [`FeedError`] when an exchange refuses a subscription (a config error) or the consumer is gone.
//! Everything else (closes, resets, silence, garbage) is counted and survived.

pub mod connection;
pub mod continuity;
mod shard;
pub mod stats;

pub use connection::ConnSettings;
pub use continuity::ContinuityStats;
pub use stats::{FeedSnapshot, FeedStats};

use super::{Stream, Venue};
use crate::event::MarketEvent;
use crate::ingest::dead_letter::DeadLetters;
use shard::{Shard, ShardSpec};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{feed}: the exchange refused a subscription on {url}: {reply}")]
    Refused {
        feed: String,
        url: String,
        reply: String,
    },
    #[error("the event consumer stopped")]
    Closed,
    #[error("{feed}: shard task failed: {reason}")]
    Task { feed: String, reason: String },
}

/// One exchange's feed, as the config describes it.
#[derive(Clone, Debug)]
pub struct FeedSpec {
    /// Names the feed in logs and counters (`binance`, or the config's `name`).
    pub name: String,
    pub venue: Arc<dyn Venue>,
    /// Base URL; the venue's path for each stream is appended.
    pub url: String,
    pub streams: Vec<Stream>,
    pub settings: ConnSettings,
    /// Streams per connection, at most the venue's limit.
    pub max_streams: usize,
    pub rotate_after: Option<Duration>,
}

/// Splits a feed's streams into shards: one endpoint each, at most `max_streams` streams each.
pub fn plan_shards(feed: &FeedSpec) -> Vec<(String, Vec<Stream>)> {
    let mut by_path: BTreeMap<&'static str, Vec<Stream>> = BTreeMap::new();
    for stream in &feed.streams {
        by_path
            .entry(feed.venue.path(stream))
            .or_default()
            .push(stream.clone());
    }
    let per = feed.max_streams.max(1);
    by_path
        .into_iter()
        .flat_map(|(path, streams)| {
            let url = format!("{}{path}", feed.url.trim_end_matches('/'));
            let url = if path.is_empty() {
                feed.url.clone()
            } else {
                url
            };
            streams
                .chunks(per)
                .map(|chunk| (url.clone(), chunk.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Running feeds.
pub struct Supervisor {
    tasks: JoinSet<(usize, Result<ContinuityStats, FeedError>)>,
    shutdown: watch::Sender<bool>,
    feeds: Vec<(String, Arc<FeedStats>)>,
    /// Connections (shards) per feed.
    shards: Vec<u64>,
    continuity: Vec<ContinuityStats>,
}

impl Supervisor {
    /// Starts every shard of every feed on the current tokio runtime.
    pub fn start(
        feeds: &[FeedSpec],
        out: mpsc::Sender<MarketEvent>,
        dead: Option<DeadLetters>,
    ) -> Self {
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let (mut names, mut shards) = (Vec::new(), Vec::new());
        for (index, feed) in feeds.iter().enumerate() {
            let stats = Arc::new(FeedStats::default());
            names.push((feed.name.clone(), stats.clone()));
            let plan = plan_shards(feed);
            shards.push(plan.len() as u64);
            for (url, streams) in plan {
                let spec = ShardSpec {
                    feed: feed.name.clone(),
                    url,
                    venue: feed.venue.clone(),
                    streams,
                    settings: feed.settings.clone(),
                    rotate_after: feed.rotate_after,
                };
                let shard = Shard::new(spec, stats.clone(), dead.clone(), out.clone());
                let rx = shutdown_rx.clone();
                tasks.spawn(async move { (index, shard.run(rx).await) });
            }
        }
        Self {
            tasks,
            shutdown,
            continuity: vec![ContinuityStats::default(); names.len()],
            feeds: names,
            shards,
        }
    }

    /// Each feed's name, live counters and number of connections, for the metrics.
    pub fn probes(&self) -> Vec<(String, Arc<FeedStats>, u64)> {
        self.feeds
            .iter()
            .zip(&self.shards)
            .map(|((name, stats), n)| (name.clone(), stats.clone(), *n))
            .collect()
    }

    /// Counters of every feed now.
    pub fn snapshot(&self) -> Vec<(String, FeedSnapshot)> {
        self.feeds
            .iter()
            .zip(&self.continuity)
            .map(|((name, stats), c)| (name.clone(), stats.snapshot(*c)))
            .collect()
    }

    /// Waits until a shard fails (shards only end early on an error). Pending forever when
    /// every shard is healthy, so callers `select!` it against their own stop condition.
    pub async fn failed(&mut self) -> FeedError {
        loop {
            match self.tasks.join_next().await {
                Some(joined) => {
                    if let Some(error) = self.absorb(joined) {
                        return error;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Stops every connection and returns the final counters, or the first error a shard hit.
    pub async fn stop(mut self) -> Result<Vec<(String, FeedSnapshot)>, FeedError> {
        let _ = self.shutdown.send(true);
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            if let Some(error) = self.absorb(joined) {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(self.snapshot()),
        }
    }

    fn absorb(
        &mut self,
        joined: Result<(usize, Result<ContinuityStats, FeedError>), tokio::task::JoinError>,
    ) -> Option<FeedError> {
        match joined {
            Ok((index, Ok(c))) => {
                if let Some(total) = self.continuity.get_mut(index) {
                    total.add(&c);
                }
                None
            }
            Ok((_, Err(e))) => Some(e),
            Err(e) => Some(FeedError::Task {
                feed: "?".into(),
                reason: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FeedConfig;

    fn feed(text: &str) -> FeedSpec {
        toml::from_str::<FeedConfig>(text).unwrap().spec()
    }

    #[test]
    fn streams_are_sharded_within_the_connection_limit() {
        let spec = feed(
            "exchange = \"binance\"\nsymbols = [\"A1\", \"B2\", \"C3\", \"D4\"]\nchannels = [\"kline_1m\", \"trades\"]\nmax_streams_per_connection = 3\n",
        );
        let shards = plan_shards(&spec);
        let sizes: Vec<usize> = shards.iter().map(|(_, s)| s.len()).collect();
        assert_eq!(sizes, [3, 3, 2]);
        assert!(shards.iter().all(|(url, _)| url == &spec.url));
        // Every stream exactly once.
        let mut all: Vec<_> = shards.into_iter().flat_map(|(_, s)| s).collect();
        all.sort();
        let mut want = spec.streams.clone();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn each_endpoint_gets_its_own_connections() {
        let spec = feed(
            "exchange = \"okx\"\nurl = \"wss://x/\"\nsymbols = [\"BTC-USDT\"]\nchannels = [\"kline_1m\", \"trades\", \"quotes\"]\n",
        );
        let shards = plan_shards(&spec);
        let urls: Vec<(&str, usize)> = shards.iter().map(|(u, s)| (u.as_str(), s.len())).collect();
        assert_eq!(
            urls,
            [("wss://x/ws/v5/business", 1), ("wss://x/ws/v5/public", 2)]
        );
    }
}
