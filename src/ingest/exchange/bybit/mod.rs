//! Bybit v5 public market data (spot, USDT/USDC linear, inverse): klines, trades and best
//! bid/ask.
//!
//! In: one websocket message as bytes. Out: [`MarketEvent`](crate::event::MarketEvent)s for
//! `kline`, `publicTrade`, `orderbook.1` and `tickers` (when it carries the best bid and ask),
//! a reply or heartbeat, a skip, or a [`ParseError`](super::ParseError) naming the bad field; see
//! [`parse`](parse::parse) for the rules and the event-time choices. `messages.rs` holds the
//! wire layouts, `parse.rs` the checks and the mapping onto events, `venue.rs` the protocol
//! rules checked against Bybit's documentation.

pub mod messages;
pub mod parse;
pub mod venue;

pub use venue::BybitVenue;
