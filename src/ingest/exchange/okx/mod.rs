//! OKX v5 public market data (spot, swaps, futures): candles, trades and best bid/ask.
//!
//! In: one websocket message as bytes (JSON, or the bare text `pong`). Out:
//! [`MarketEvent`](crate::event::MarketEvent)s for `candle*`, `trades`, `trades-all`, `bbo-tbt`
//! and `tickers`, a reply or heartbeat, a skip, or a [`ParseError`](super::ParseError) naming
//! the bad field; see [`parse`](parse::parse) for the rules and the event-time choices.
//! `messages.rs` holds the wire layouts, `parse.rs` the checks and the mapping onto events,
//! `venue.rs` the protocol rules checked against OKX's documentation, including which endpoint
//! (`/ws/v5/business` for candles, `/ws/v5/public` for the rest) serves each stream.

pub mod messages;
pub mod parse;
pub mod venue;

pub use venue::OkxVenue;
