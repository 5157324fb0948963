//! Kraken spot websocket v2 (`wss://ws.kraken.com/v2`).
//!
//! In: one websocket message as bytes. Out: [`MarketEvent`](crate::event::MarketEvent)s for
//! `ohlc` (candles, never marked closed), `trade` and `ticker` (best bid and offer), a
//! [`Frame`](crate::ingest::exchange::Frame) saying what the message was, or a
//! [`ParseError`](crate::ingest::exchange::ParseError) naming the bad field; see
//! [`parse`](parse::parse) for the rules and event-time choices. Kraken Futures is a different
//! API and is not read here. `messages.rs` holds the wire layouts, `parse.rs` the checks and the
//! mapping onto events, `venue.rs` the protocol rules ([`KrakenVenue`]).

pub mod messages;
pub mod parse;
pub mod venue;

pub use parse::parse;
pub use venue::KrakenVenue;
