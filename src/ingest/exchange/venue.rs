//! The contract between the connection supervisor and one exchange: what to subscribe, how to
//! keep the connection alive, the exchange's limits, and how to read what it sends.
//!
//! In: [`Stream`]s from config (a symbol as the exchange spells it, and a [`Channel`]). Out: the
//! text frames to send, the rules the supervisor enforces, and parsed frames. A `Venue` holds no
//! connection state; everything stateful (reconnects, watchdogs, rotation, dedup across
//! connections, gap marking) lives in the supervisor, once for all exchanges.

use super::frame::{Frame, ParseError};
use crate::event::{Exchange, MarketEvent};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What a stream carries. Each venue maps it onto its own channel name and refuses (in
/// [`Venue::check`]) the ones it does not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Channel {
    /// Candles of this many seconds (`kline_1m` in config).
    Kline { interval_s: u32 },
    /// Every public trade.
    Trades,
    /// Binance's aggregated trades (`aggTrade`); other venues refuse it.
    AggTrades,
    /// Best bid and ask with their sizes.
    Quotes,
}

impl Channel {
    /// The candle interval in ms, for kline channels.
    pub fn interval_ms(self) -> Option<i64> {
        match self {
            Channel::Kline { interval_s } => Some(i64::from(interval_s) * 1_000),
            _ => None,
        }
    }
}

/// Units a kline interval may be written in, in seconds.
const UNITS: &[(char, u32)] = &[
    ('s', 1),
    ('m', 60),
    ('h', 3_600),
    ('d', 86_400),
    ('w', 604_800),
];

impl TryFrom<String> for Channel {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "trades" => return Ok(Channel::Trades),
            "agg_trades" => return Ok(Channel::AggTrades),
            "quotes" => return Ok(Channel::Quotes),
            _ => {}
        }
        let bad = || {
            format!(
                "channel {s:?} is not one of \"trades\", \"agg_trades\", \"quotes\" or \
                 \"kline_<N><s|m|h|d|w>\" (e.g. \"kline_1m\")"
            )
        };
        let interval = s.strip_prefix("kline_").ok_or_else(bad)?;
        let unit = interval.chars().last().ok_or_else(bad)?;
        let (_, seconds) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?;
        let count: u32 = interval[..interval.len() - 1].parse().map_err(|_| bad())?;
        match count.checked_mul(*seconds) {
            Some(interval_s) if interval_s > 0 => Ok(Channel::Kline { interval_s }),
            _ => Err(bad()),
        }
    }
}

impl From<Channel> for String {
    fn from(c: Channel) -> String {
        c.to_string()
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Trades => f.write_str("trades"),
            Channel::AggTrades => f.write_str("agg_trades"),
            Channel::Quotes => f.write_str("quotes"),
            Channel::Kline { interval_s } => {
                let (unit, size) = UNITS
                    .iter()
                    .rev()
                    .find(|(_, size)| interval_s % size == 0)
                    .copied()
                    .unwrap_or(('s', 1));
                write!(f, "kline_{}{unit}", interval_s / size)
            }
        }
    }
}

/// One subscription: a symbol as the exchange spells it (`BTCUSDT`, `BTC-USDT`, `BTC/USD`) and
/// a channel. Events carry the normalised instrument id instead (see [`super::symbol`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stream {
    pub symbol: String,
    pub channel: Channel,
}

/// Streams grouped by `key` (a channel name, say) in order of first appearance, each group's
/// symbols in order with duplicates dropped; streams whose key is `None` are left out. For
/// exchanges that subscribe one channel per request.
pub fn group_symbols<K: PartialEq>(
    streams: &[Stream],
    key: impl Fn(&Stream) -> Option<K>,
) -> Vec<(K, Vec<&str>)> {
    let mut groups: Vec<(K, Vec<&str>)> = Vec::new();
    for stream in streams {
        let Some(k) = key(stream) else { continue };
        let symbol = stream.symbol.as_str();
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, symbols)) if symbols.contains(&symbol) => {}
            Some((_, symbols)) => symbols.push(symbol),
            None => groups.push((k, vec![symbol])),
        }
    }
    groups
}

/// A client-sent keepalive the exchange requires: `message` as a text frame every `every`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keepalive {
    pub every: Duration,
    pub message: String,
}

/// The exchange's rules for one connection, from its documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Streams one connection may carry; the supervisor shards beyond it.
    pub max_streams: usize,
    /// Streams named in one subscribe request.
    pub streams_per_request: usize,
    /// Requests (subscribe, ping) per second the exchange accepts on one connection.
    pub max_requests_per_s: f64,
    /// The exchange drops connections older than this; the supervisor rotates before it.
    pub lifetime: Option<Duration>,
    /// The largest frame this exchange sends in normal operation; bigger frames are refused.
    pub max_frame_bytes: usize,
}

/// One exchange's protocol. Implementations are stateless and cheap to share.
pub trait Venue: Send + Sync + fmt::Debug + 'static {
    fn exchange(&self) -> Exchange;

    /// The production URL used when the config names none.
    fn default_url(&self) -> &'static str;

    /// The path, appended to the configured base URL, of the endpoint that serves `stream`
    /// (OKX serves candles and trades on different endpoints); empty for most exchanges. The
    /// supervisor gives each distinct path its own connections.
    fn path(&self, _stream: &Stream) -> &'static str {
        ""
    }

    /// Whether this venue offers `stream`; the error says why not (e.g. Coinbase candles are 5
    /// minutes only). Config validation calls it for every configured stream.
    fn check(&self, stream: &Stream) -> Result<(), String>;

    fn limits(&self) -> Limits;

    /// The client heartbeat the exchange asks for, if any (servers' pings are answered by the
    /// websocket layer on its own).
    fn keepalive(&self) -> Option<Keepalive>;

    /// The text frames that subscribe `streams` (at most `limits().max_streams`, already
    /// checked), in the order to send them. `first_id` numbers requests for exchanges that echo
    /// an id.
    fn subscribe(&self, streams: &[Stream], first_id: u64) -> Vec<String>;

    /// Whether the exchange marks a candle's final update (Binance `x`, Bybit and OKX
    /// `confirm`). When it does not (Coinbase, Kraken), the supervisor closes a candle once a
    /// later candle of the same symbol arrives.
    fn marks_closed_candles(&self) -> bool {
        true
    }

    /// The message's sequence number, for exchanges that number every message of a connection
    /// (Coinbase's `sequence_num`): a jump means messages were lost.
    fn sequence(&self, _raw: &[u8]) -> Option<u64> {
        None
    }

    /// Reads one received message. Events are pushed onto `out` (which the caller clears);
    /// `recv_ns` becomes their `ts_recv_ns`.
    fn parse(
        &self,
        raw: &[u8],
        recv_ns: i64,
        out: &mut Vec<MarketEvent>,
    ) -> Result<Frame, ParseError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_through_their_config_names() {
        for (text, channel) in [
            ("kline_1m", Channel::Kline { interval_s: 60 }),
            ("kline_15s", Channel::Kline { interval_s: 15 }),
            ("kline_4h", Channel::Kline { interval_s: 14_400 }),
            ("kline_1d", Channel::Kline { interval_s: 86_400 }),
            (
                "kline_1w",
                Channel::Kline {
                    interval_s: 604_800,
                },
            ),
            ("trades", Channel::Trades),
            ("agg_trades", Channel::AggTrades),
            ("quotes", Channel::Quotes),
        ] {
            assert_eq!(Channel::try_from(text.to_string()), Ok(channel), "{text}");
            assert_eq!(channel.to_string(), text);
        }
        assert_eq!(Channel::Kline { interval_s: 90 }.to_string(), "kline_90s");
        for bad in [
            "kline_",
            "kline_0m",
            "kline_1y",
            "kline_m",
            "book",
            "kline_99999999999d",
        ] {
            let err = Channel::try_from(bad.to_string()).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
