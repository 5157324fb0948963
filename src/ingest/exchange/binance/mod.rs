//! Binance spot and USDT-M futures market-data streams.
//!
//! In: one websocket message (bare, or in the combined-stream wrapper), as bytes. Out: a
//! [`MarketEvent`](crate::event::MarketEvent) for `kline`, `aggTrade`, `trade` and `bookTicker`,
//! nothing for other well-formed messages, or a [`ParseError`] naming the bad field; see
//! [`parse`](parse::parse) for the rules and the event-time choices. `messages.rs` holds the
//! wire layouts, `parse.rs` the checks and the mapping onto events.

pub mod messages;
pub mod parse;

pub use parse::{Message, ParseError, Skip, parse, parse_message};
