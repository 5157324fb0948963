//! Coinbase Advanced Trade market-data websocket (`wss://advanced-trade-ws.coinbase.com`).
//!
//! In: one websocket message as bytes. Out: [`MarketEvent`](crate::event::MarketEvent)s for
//! `candles` (five-minute bars, never marked closed), `market_trades` and `ticker` (best bid and
//! offer), a [`Frame`](crate::ingest::exchange::Frame) saying what the message was, or a
//! [`ParseError`](crate::ingest::exchange::ParseError) naming the bad field; see
//! [`parse`](parse::parse) for the rules and event-time choices and [`sequence_num`] for gap
//! detection. `messages.rs` holds the wire layouts, `parse.rs` the checks and the mapping onto
//! events, `venue.rs` the protocol rules ([`CoinbaseVenue`]).

pub mod messages;
pub mod parse;
pub mod venue;

pub use parse::{parse, sequence_num};
pub use venue::CoinbaseVenue;
