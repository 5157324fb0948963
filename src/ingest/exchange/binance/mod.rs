//! Binance spot and USDT-M futures market-data streams.
//!
//! In: one websocket message (bare, or in the combined-stream wrapper), as bytes. Out: a
//! [`Frame`](crate::ingest::exchange::Frame) and, for `kline`, `aggTrade`, `trade` and
//! `bookTicker`, a [`MarketEvent`](crate::event::MarketEvent), or a
//! [`ParseError`](crate::ingest::exchange::ParseError) naming the bad field; see
//! [`parse`](parse::parse) for the rules and the event-time choices. The protocol rules
//! (URLs, stream names, subscribe requests, limits) are [`BinanceVenue`].
//!
//! Parts: `messages.rs` the wire layouts, `parse.rs` the entry points and the decoding,
//! `convert.rs` the checks and the mapping onto events, `venue.rs` the protocol.

mod convert;
pub mod messages;
pub mod parse;
pub mod venue;

pub use parse::{UNUSED, parse, parse_frame, parse_general};
pub use venue::BinanceVenue;
