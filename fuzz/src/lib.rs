//! What every parser fuzz target checks, so each exchange's target is one call.
//!
//! In: the fuzzer's bytes and the venues of one exchange. Out: nothing, or a panic (a finding):
//! a parser panicked, or it accepted a message but yielded an event that breaks the
//! `MarketEvent` rules (`MarketEvent::check`), or reported a number of events it did not push.

use signal_engine::event::MarketEvent;
use signal_engine::ingest::exchange::{Frame, Venue};

/// Parses `data` with each venue and checks what comes out.
pub fn check_venues(venues: &[&dyn Venue], data: &[u8]) {
    let mut out: Vec<MarketEvent> = Vec::new();
    for venue in venues {
        out.clear();
        let Ok(frame) = venue.parse(data, 1_700_000_000_000_000_000, &mut out) else {
            assert!(out.is_empty(), "{venue:?}: an error after pushing events");
            continue;
        };
        let pushed = match frame {
            Frame::Events(n) => n,
            _ => 0,
        };
        assert_eq!(
            pushed,
            out.len(),
            "{venue:?}: {frame:?} but {} events",
            out.len()
        );
        for event in &out {
            assert_eq!(event.exchange, venue.exchange(), "{event:?}");
            if let Err(e) = event.check() {
                panic!("{venue:?} yielded a bad event ({e}): {event:?}");
            }
        }
    }
}
