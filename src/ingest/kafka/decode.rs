//! One Kafka message value → a [`MarketEvent`], in the topic's configured format.

use crate::config::WireFormat;
use crate::event::{Exchange, MarketEvent};

/// What a message holds.
#[derive(Debug)]
pub enum Decoded {
    Event(MarketEvent),
    /// Valid, but nothing the engine uses (a depth update, a subscription reply).
    Ignored,
}

/// Decodes `payload`; `Err` is the reason it is malformed (for the dead-letter header).
pub fn decode(
    payload: Option<&[u8]>,
    format: WireFormat,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Decoded, String> {
    let raw = payload.ok_or_else(|| "empty message (no value)".to_string())?;
    match format {
        WireFormat::MarketEvent => MarketEvent::from_json(raw).map(Decoded::Event),
        WireFormat::Binance => {
            match crate::ingest::exchange::binance::parse(raw, exchange, recv_ns) {
                Ok(Some(ev)) => Ok(Decoded::Event(ev)),
                Ok(None) => Ok(Decoded::Ignored),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_events_are_checked_against_the_schema_rules() {
        let ok =
            br#"{"exchange":"binance_futures","symbol":"LINKUSDT","ts_event_ns":1,"ts_recv_ns":1,
            "kind":{"type":"trade","price":9.5,"qty":2.0,"side":"buy","id":7}}"#;
        let dec = decode(Some(ok), WireFormat::MarketEvent, Exchange::Binance, 0);
        assert!(matches!(dec, Ok(Decoded::Event(_))), "{dec:?}");
        let neg =
            br#"{"exchange":"binance_futures","symbol":"LINKUSDT","ts_event_ns":1,"ts_recv_ns":1,
            "kind":{"type":"trade","price":-9.5,"qty":2.0,"side":"buy","id":7}}"#;
        let err = decode(Some(neg), WireFormat::MarketEvent, Exchange::Binance, 0).unwrap_err();
        assert!(err.contains("price"), "{err}");
        let err = decode(None, WireFormat::MarketEvent, Exchange::Binance, 0).unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = decode(
            Some(b"{\"exch"),
            WireFormat::MarketEvent,
            Exchange::Binance,
            0,
        );
        assert!(err.is_err());
    }
}
