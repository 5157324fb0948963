//! Instrument ids: one spelling for a pair whatever the exchange calls it.
//!
//! `BTCUSDT` (Binance, Bybit), `BTC-USDT` (OKX, Coinbase), `btcusdt` (Binance stream names) and
//! `XBT/USD` or `BTC/USD` (Kraken) all become base + quote upper-cased with the separator removed:
//! `BTCUSDT`, `BTCUSD`. Kraken's legacy asset codes (`XBT`, `XDG`) become the common ones. A third
//! part names a derivative and is kept after a dash (`BTC-USDT-SWAP` → `BTCUSDT-SWAP`), so a swap
//! never shares an id with its spot pair. Events and signals carry this id; subscriptions use the
//! exchange's own spelling.

use crate::event::Symbol;

/// Kraken's legacy codes and the names every other exchange uses.
const ALIASES: &[(&str, &str)] = &[("XBT", "BTC"), ("XDG", "DOGE")];

/// The instrument id of a symbol as an exchange spells it; the error says why it is not one.
pub fn instrument(native: &str) -> Result<Symbol, String> {
    let parts: Vec<&str> = native.split(['-', '/', '_']).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("symbol {native:?} has an empty part"));
    }
    let alias = |part: &str| {
        let upper = part.to_ascii_uppercase();
        ALIASES
            .iter()
            .find(|(from, _)| *from == upper)
            .map_or(upper, |(_, to)| (*to).to_string())
    };
    let mut id = String::with_capacity(native.len());
    for (i, part) in parts.iter().enumerate() {
        if i >= 2 {
            id.push('-');
        }
        id.push_str(&alias(part));
    }
    Symbol::try_from(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pair_has_one_id_on_every_exchange() {
        for native in [
            "BTCUSDT", "btcusdt", "BTC-USDT", "XBT/USDT", "BTC/USDT", "btc_usdt",
        ] {
            assert_eq!(instrument(native).unwrap().as_str(), "BTCUSDT", "{native}");
        }
        assert_eq!(instrument("XBT/USD").unwrap().as_str(), "BTCUSD");
        assert_eq!(instrument("XDG/USD").unwrap().as_str(), "DOGEUSD");
        assert_eq!(
            instrument("BTC-USDT-SWAP").unwrap().as_str(),
            "BTCUSDT-SWAP"
        );
        // An alias is a whole asset code, not a prefix.
        assert_eq!(instrument("XBTX/USD").unwrap().as_str(), "XBTXUSD");
    }

    #[test]
    fn bad_symbols_are_refused_with_the_reason() {
        assert!(instrument("BTC-").unwrap_err().contains("empty part"));
        assert!(instrument("").unwrap_err().contains("empty part"));
        assert!(instrument("BTC USD").unwrap_err().contains("A-Z"));
    }
}
