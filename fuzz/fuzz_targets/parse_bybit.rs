//! Bybit: `Venue::parse` on any bytes (see `check_venues` for what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use signal_engine::ingest::exchange::bybit::BybitVenue;

fuzz_target!(|data: &[u8]| {
    signal_engine_fuzz::check_venues(&[&BybitVenue], data);
});
