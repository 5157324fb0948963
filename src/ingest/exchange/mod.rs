//! Exchange wire formats: raw exchange messages (websocket frames, or the same JSON carried on
//! Kafka topics) → [`MarketEvent`](crate::event::MarketEvent)s.
//!
//! One folder per exchange. Each holds serde structs of the exchange's messages and a pure
//! `parse` function: bytes, the exchange and the receive time flow in; an event, a skip (a
//! well-formed message carrying nothing the engine uses) or an error naming the bad field flows
//! out. Connections, subscriptions and reconnects belong to the sources that call these parsers.

pub mod binance;
