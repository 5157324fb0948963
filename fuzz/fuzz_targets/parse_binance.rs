//! Binance spot and USDT-M futures: `Venue::parse` on any bytes, and the parser's fast path
//! against its general path (both must give the same frame, events and error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use signal_engine::event::Exchange;
use signal_engine::ingest::exchange::binance::{BinanceVenue, parse_frame, parse_general};

fuzz_target!(|data: &[u8]| {
    signal_engine_fuzz::check_venues(&[&BinanceVenue::spot(), &BinanceVenue::futures()], data);
    let (mut fast, mut general) = (Vec::new(), Vec::new());
    let a = parse_frame(data, Exchange::Binance, 1, &mut fast);
    let b = parse_general(data, Exchange::Binance, 1, &mut general);
    assert_eq!((a, fast), (b, general));
});
