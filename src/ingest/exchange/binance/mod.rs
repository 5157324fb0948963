//! Binance spot and USDT-M futures market-data streams.
//!
//! In: one websocket message (bare, or in the combined-stream wrapper), as bytes. Out: a
//! [`Frame`](crate::ingest::exchange::Frame) and, for `kline`, `aggTrade`, `trade` and
//! `bookTicker`, a [`MarketEvent`](crate::event::MarketEvent), or a
//! [`ParseError`](crate::ingest::exchange::ParseError) naming the bad field; see
//! [`parse`](parse::parse) for the rules and the event-time choices. The protocol rules
//! (URLs, stream names, subscribe requests, limits) are [`BinanceVenue`].
//!
//! Parts: `messages.rs` the wire layouts, `parse.rs` the entry points and the general
//! (`serde_json::Value`) path, `fast.rs` + `strict.rs` the single-pass borrowed path that
//! ordinary messages take, `convert.rs` the checks and the mapping onto events that both paths
//! share, `venue.rs` the protocol.

mod convert;
mod fast;
pub mod messages;
pub mod parse;
mod strict;
pub mod venue;

pub use parse::{UNUSED, parse, parse_frame, parse_general};
pub use venue::BinanceVenue;
