//! The `[websocket]` section: exchange feeds for `collect` (and, later, `run`). Absent section:
//! no websockets.
//!
//! ```toml
//! [[websocket.feeds]]
//! exchange = "binance"                  # binance, binance_futures, bybit, okx, coinbase, kraken
//! symbols = ["BTCUSDT", "ETHUSDT"]      # as the exchange spells them (BTC-USDT on OKX, BTC/USD on Kraken)
//! channels = ["kline_1m", "agg_trades", "quotes"]
//! # url = "wss://..."                   # default: the exchange's production endpoint
//! ```

use crate::event::Exchange;
use crate::ingest::backoff::Backoff;
use crate::ingest::exchange::supervisor::{ConnSettings, FeedSpec};
use crate::ingest::exchange::{Channel, Stream, symbol, venue_for};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebsocketConfig {
    pub feeds: Vec<FeedConfig>,
    /// Events buffered between the feeds and their consumer.
    pub channel_capacity: usize,
    /// JSONL file that receives every message that did not parse, whole (`collect
    /// --dead-letter` overrides it).
    pub dead_letter: Option<std::path::PathBuf>,
    /// `run`: when the model lags, keep only each symbol's newest window waiting (each
    /// replacement counted) instead of scoring a backlog of stale bars. `false`: every window is
    /// scored, and a lagging model slows the feeds' consumer instead.
    pub conflate_windows: bool,
}

impl Default for WebsocketConfig {
    fn default() -> Self {
        Self {
            feeds: Vec::new(),
            channel_capacity: 65_536,
            dead_letter: None,
            conflate_windows: true,
        }
    }
}

/// `[[websocket.feeds]]`: one exchange's subscriptions and connection rules.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub exchange: Exchange,
    /// Names the feed in logs and counters; default: the exchange.
    #[serde(default)]
    pub name: Option<String>,
    /// Base URL (`ws://` or `wss://`); default: the exchange's production endpoint.
    #[serde(default)]
    pub url: Option<String>,
    pub symbols: Vec<String>,
    pub channels: Vec<Channel>,
    /// No frame at all (data, heartbeat, ping) for this long: reconnect.
    #[serde(default = "default_silence_ms")]
    pub silence_timeout_ms: u64,
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// Open a successor connection this long after a connection opened; default: 10 minutes
    /// before the exchange's documented lifetime (Binance: 24 h), none when it has none.
    #[serde(default)]
    pub rotate_after_secs: Option<u64>,
    /// The client keepalive period for exchanges that ask for one (Bybit and OKX ping every
    /// 20 s, Kraken 30 s); default: the exchange's.
    #[serde(default)]
    pub keepalive_ms: Option<u64>,
    /// Streams per connection; default and maximum: the exchange's limit.
    #[serde(default)]
    pub max_streams_per_connection: Option<usize>,
    /// Frames above this are counted and skipped; default: the exchange's bound.
    #[serde(default)]
    pub max_frame_bytes: Option<usize>,
}

fn default_silence_ms() -> u64 {
    30_000
}
fn default_connect_ms() -> u64 {
    10_000
}
fn default_backoff_initial_ms() -> u64 {
    250
}
fn default_backoff_max_ms() -> u64 {
    30_000
}

/// Rotation happens this long before the exchange's lifetime limit.
const ROTATION_MARGIN: Duration = Duration::from_secs(600);

impl FeedConfig {
    fn key(&self, i: usize, field: &str) -> String {
        format!("websocket.feeds[{i}].{field}")
    }

    /// Every (symbol, channel) pair, in config order.
    pub fn streams(&self) -> Vec<Stream> {
        self.symbols
            .iter()
            .flat_map(|s| {
                self.channels.iter().map(|c| Stream {
                    symbol: s.clone(),
                    channel: *c,
                })
            })
            .collect()
    }

    fn validate(&self, i: usize, p: &mut Vec<String>) {
        let venue = venue_for(self.exchange);
        if let Some(url) = &self.url {
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                p.push(format!(
                    "{}: {url:?} must start with ws:// or wss://",
                    self.key(i, "url")
                ));
            }
            // Since 2026-04-23 USDT-M routes by path; the old `/stream` endpoint goes quiet.
            let bare_host_only = self.exchange == Exchange::BinanceFutures;
            if bare_host_only && url.trim_end_matches('/').ends_with("/stream") {
                p.push(format!(
                    "{}: {url:?}: give the bare host (wss://fstream.binance.com); the engine adds \
                     /market/stream or /public/stream per stream, as Binance routes USDT-M data",
                    self.key(i, "url")
                ));
            }
        }
        if self.symbols.is_empty() {
            p.push(format!(
                "{}: list at least one symbol",
                self.key(i, "symbols")
            ));
        }
        if self.channels.is_empty() {
            p.push(format!(
                "{}: list at least one channel",
                self.key(i, "channels")
            ));
        }
        for s in &self.symbols {
            if let Err(e) = symbol::instrument(s) {
                p.push(format!("{}: {e}", self.key(i, "symbols")));
            }
        }
        for stream in self.streams() {
            if let Err(e) = venue.check(&stream) {
                p.push(format!(
                    "{}: {} {}: {e}",
                    self.key(i, "channels"),
                    stream.symbol,
                    stream.channel
                ));
            }
        }
        let limits = venue.limits();
        let mut range = |field: &str, v: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&v) {
                p.push(format!("{}: {v} is not in {lo}..={hi}", self.key(i, field)));
            }
        };
        range(
            "silence_timeout_ms",
            self.silence_timeout_ms,
            100,
            3_600_000,
        );
        range("connect_timeout_ms", self.connect_timeout_ms, 100, 600_000);
        range(
            "backoff_initial_ms",
            self.backoff_initial_ms,
            1,
            self.backoff_max_ms.max(1),
        );
        range("backoff_max_ms", self.backoff_max_ms, 1, 3_600_000);
        if let Some(r) = self.rotate_after_secs {
            let hi = limits.lifetime.map_or(u64::MAX, |l| l.as_secs());
            range("rotate_after_secs", r, 10, hi);
        }
        if let Some(m) = self.max_streams_per_connection {
            range(
                "max_streams_per_connection",
                m as u64,
                1,
                limits.max_streams as u64,
            );
        }
        if let Some(k) = self.keepalive_ms {
            range("keepalive_ms", k, 50, 600_000);
        }
        if let Some(m) = self.max_frame_bytes {
            range("max_frame_bytes", m as u64, 1_024, 1 << 30);
        }
    }

    /// The supervisor's view of this feed (call after validation).
    pub fn spec(&self) -> FeedSpec {
        let venue = venue_for(self.exchange);
        let limits = venue.limits();
        let rotate_after = self.rotate_after_secs.map(Duration::from_secs).or_else(|| {
            limits.lifetime.map(|l| {
                l.saturating_sub(ROTATION_MARGIN)
                    .max(Duration::from_secs(10))
            })
        });
        FeedSpec {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| self.exchange.to_string()),
            url: self
                .url
                .clone()
                .unwrap_or_else(|| venue.default_url().to_string()),
            streams: self.streams(),
            settings: ConnSettings {
                connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                silence_timeout: Duration::from_millis(self.silence_timeout_ms),
                backoff: Backoff {
                    initial: Duration::from_millis(self.backoff_initial_ms),
                    max: Duration::from_millis(self.backoff_max_ms),
                },
                stable_after: Duration::from_secs(10),
                keepalive_every: self.keepalive_ms.map(Duration::from_millis),
                max_frame_bytes: self.max_frame_bytes.unwrap_or(limits.max_frame_bytes),
            },
            max_streams: self
                .max_streams_per_connection
                .unwrap_or(limits.max_streams),
            rotate_after,
            venue,
        }
    }
}

impl WebsocketConfig {
    pub fn validate(&self, p: &mut Vec<String>) {
        if self.feeds.is_empty() {
            p.push("websocket.feeds: list at least one feed ([[websocket.feeds]])".into());
        }
        if self.channel_capacity == 0 {
            p.push("websocket.channel_capacity: must be at least 1".into());
        }
        for (i, feed) in self.feeds.iter().enumerate() {
            feed.validate(i, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn feeds_are_checked_against_the_exchange_and_errors_name_the_key() {
        let text = r#"
[[websocket.feeds]]
exchange = "binance"
url = "http://x"
symbols = ["BTCUSDT", "BTC USDT"]
channels = ["kline_7m", "trades"]
silence_timeout_ms = 5
max_streams_per_connection = 100000
"#;
        let err = Config::from_toml(text, "ws.toml").unwrap_err().to_string();
        for needle in [
            "websocket.feeds[0].url",
            "websocket.feeds[0].symbols",
            "websocket.feeds[0].channels: BTCUSDT kline_7m",
            "websocket.feeds[0].silence_timeout_ms",
            "websocket.feeds[0].max_streams_per_connection",
        ] {
            assert!(err.contains(needle), "{needle} missing in {err}");
        }
        let err = Config::from_toml("[[websocket.feeds]]\nexchange = \"binance\"\nsymbols = [\"A\"]\nchannels = [\"book\"]\n", "ws.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("book"), "{err}");
        let old = "[[websocket.feeds]]\nexchange = \"binance_futures\"\nurl = \"wss://fstream.binance.com/stream\"\nsymbols = [\"BTCUSDT\"]\nchannels = [\"kline_1m\"]\n";
        let err = Config::from_toml(old, "ws.toml").unwrap_err().to_string();
        assert!(err.contains("bare host"), "{err}");
    }

    #[test]
    fn the_websocket_example_config_is_valid() {
        let text = include_str!("../../config/websocket.toml");
        let cfg = Config::from_toml(text, "config/websocket.toml").unwrap();
        let feeds = cfg.websocket.unwrap().feeds;
        assert_eq!(feeds.len(), 5);
        assert!(feeds.iter().all(|f| !f.spec().streams.is_empty()));
    }

    #[test]
    fn a_valid_feed_becomes_a_spec_with_the_exchange_defaults() {
        let text = "[[websocket.feeds]]\nexchange = \"binance\"\nsymbols = [\"BTCUSDT\"]\nchannels = [\"kline_1m\", \"agg_trades\"]\n";
        let cfg = Config::from_toml(text, "ws.toml").unwrap();
        let ws = cfg.websocket.unwrap();
        let spec = ws.feeds[0].spec();
        assert_eq!(spec.streams.len(), 2);
        assert!(spec.url.starts_with("wss://"), "{}", spec.url);
        // Binance drops connections after 24 h; rotation comes 10 minutes earlier.
        assert_eq!(spec.rotate_after.map(|d| d.as_secs()), Some(86_400 - 600));
    }
}
