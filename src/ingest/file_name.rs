//! What a market-data file's name says: its symbol and, for bar files, its interval.
//!
//! Three naming styles are understood (extension `.csv` or `.csv.gz`, in any case):
//! - data.binance.vision klines: `SYMBOL-INTERVAL-YYYY-MM[-DD]` (`LINKUSDT-1m-2026-02.csv.gz`);
//! - freqtrade bars: `SYMBOL-INTERVAL` (`XRP_ETH-1m.csv.gz`);
//! - freqtrade trades: `SYMBOL-trades` (`XRP_ETH-trades.csv.gz`), which states no interval.
//!
//! A symbol is ASCII letters, digits and `_` (freqtrade writes `XRP/ETH` as `XRP_ETH`).

use crate::event::Symbol;
use std::path::Path;

/// Seconds in an interval name (`1s`, `1m`, `15m`, `4h`, `1d`, `1w`); `None` for calendar
/// intervals (`1mo`, freqtrade's `1M`) and anything else.
pub fn interval_secs(interval: &str) -> Option<u64> {
    let digits = interval.chars().take_while(char::is_ascii_digit).count();
    let n: u64 = interval[..digits].parse().ok()?;
    let unit = match &interval[digits..] {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Symbol and interval from a bar file's name in the data.binance.vision or freqtrade style;
/// `None` when the name follows neither (or names a trades file).
pub fn parse_file_name(path: &Path) -> Option<(Symbol, String)> {
    let parts = stem_parts(path)?;
    let (symbol, interval) = match parts.as_slice() {
        [symbol, interval] => (*symbol, *interval),
        [symbol, interval, date @ ..] if date_ok(date) => (*symbol, *interval),
        _ => return None,
    };
    (symbol_ok(symbol) && interval_ok(interval))
        .then(|| (Symbol::new(symbol), interval.to_string()))
}

/// The symbol a file's name states, in any of the three styles.
pub fn symbol_from_file_name(path: &Path) -> Option<Symbol> {
    if let Some((symbol, _)) = parse_file_name(path) {
        return Some(symbol);
    }
    match stem_parts(path)?.as_slice() {
        [symbol, "trades"] if symbol_ok(symbol) => Some(Symbol::new(symbol)),
        _ => None,
    }
}

/// The name without `.csv[.gz]`, split at `-`; `None` for other extensions.
fn stem_parts(path: &Path) -> Option<Vec<&str>> {
    let name = path.file_name()?.to_str()?;
    // Extensions in any case, as the replay source accepts them (`.CSV.GZ`).
    let lower = name.to_ascii_lowercase();
    let stem_len = lower
        .strip_suffix(".gz")
        .unwrap_or(&lower)
        .strip_suffix(".csv")?
        .len();
    // ASCII lowercasing keeps byte offsets, so the stem's length carries over to `name`.
    Some(name.get(..stem_len)?.split('-').collect())
}

fn symbol_ok(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn interval_ok(interval: &str) -> bool {
    let digits = interval.chars().take_while(char::is_ascii_digit).count();
    digits > 0
        && digits < interval.len()
        && interval[digits..].chars().all(|c| c.is_ascii_alphabetic())
}

/// `YYYY-MM` or `YYYY-MM-DD`, already split at `-`.
fn date_ok(date: &[&str]) -> bool {
    (date.len() == 2 || date.len() == 3)
        && date.iter().enumerate().all(|(i, part)| {
            let width = if i == 0 { 4 } else { 2 };
            part.len() == width && part.chars().all(|c| c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Option<(Symbol, String)> {
        parse_file_name(Path::new(name))
    }

    fn ok(s: &str, i: &str) -> Option<(Symbol, String)> {
        Some((Symbol::new(s), i.to_string()))
    }

    #[test]
    fn freqtrade_bar_and_trade_names() {
        assert_eq!(parse("data/XRP_ETH-1m.csv.gz"), ok("XRP_ETH", "1m"));
        assert_eq!(parse("ADA_BTC-5m.CSV"), ok("ADA_BTC", "5m"));
        assert_eq!(parse("XRP_ETH-trades.csv.gz"), None, "no interval");
        let sym = |n: &str| symbol_from_file_name(Path::new(n));
        assert_eq!(sym("XRP_ETH-trades.csv.gz"), Some(Symbol::new("XRP_ETH")));
        assert_eq!(sym("XRP_ETH-1m.csv"), Some(Symbol::new("XRP_ETH")));
        assert_eq!(
            sym("LINKUSDT-1m-2026-02.csv"),
            Some(Symbol::new("LINKUSDT"))
        );
        for bad in [
            "XRP_ETH.csv",
            "XRP.ETH-1m.csv",
            "XRP_ETH-trades.jsonl",
            "-trades.csv",
            "XRP_ETH-1m-x.csv",
            "XRP_ETH-1m-2019-10-11-05.csv",
        ] {
            assert_eq!(sym(bad), None, "{bad}");
        }
    }

    #[test]
    fn non_ascii_names_do_not_panic() {
        assert_eq!(parse("é-1m.csv"), None);
        assert_eq!(symbol_from_file_name(Path::new("ÄÖ-trades.CSV.GZ")), None);
    }
}
