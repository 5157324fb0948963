//! Exchange wire formats and live websocket connections: raw exchange messages (websocket
//! frames, or the same JSON carried on Kafka topics) → [`MarketEvent`](crate::event::MarketEvent)s.
//!
//! One folder per exchange, each with the same three parts:
//! - `messages.rs`: serde structs of the exchange's messages, field for field as sent;
//! - `parse.rs`: a pure parser. Bytes and the receive time flow in; events (pushed onto a
//!   caller's `Vec`), a reply, a heartbeat, a skip (a well-formed message carrying nothing the
//!   engine uses) or a [`ParseError`] naming the bad field flow out. No clock, no I/O;
//! - `venue.rs`: the exchange's protocol rules as a [`Venue`]: the subscribe messages for a set of
//!   streams, the client keepalive the exchange asks for, its connection limits and lifetime.
//!
//! Connections, reconnects, watchdogs, rotation and sharding belong to one
//! [`supervisor`](mod@supervisor) shared by every exchange; it only talks to an exchange through
//! [`Venue`]. [`venue_for`] maps an [`Exchange`] to its protocol.

pub mod binance;
pub mod bybit;
pub mod coinbase;
pub mod frame;
pub mod kraken;
pub mod okx;
pub mod supervisor;
pub mod symbol;
pub mod venue;

pub use frame::{Frame, ParseError, Skip};
pub use venue::{Channel, Keepalive, Limits, Stream, Venue};

use crate::event::Exchange;
use std::sync::Arc;

/// The protocol of an exchange.
pub fn venue_for(exchange: Exchange) -> Arc<dyn Venue> {
    match exchange {
        Exchange::Binance => Arc::new(binance::BinanceVenue::spot()),
        Exchange::BinanceFutures => Arc::new(binance::BinanceVenue::futures()),
        Exchange::Bybit => Arc::new(bybit::BybitVenue),
        Exchange::Okx => Arc::new(okx::OkxVenue),
        Exchange::Coinbase => Arc::new(coinbase::CoinbaseVenue),
        Exchange::Kraken => Arc::new(kraken::KrakenVenue),
    }
}
