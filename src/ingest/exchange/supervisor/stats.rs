//! Counters of one feed (one exchange section of the config), shared by its shards.

use super::continuity::ContinuityStats;
use crate::ingest::exchange::{Frame, ParseError, Skip};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters; [`FeedStats::snapshot`] reads them all.
        #[derive(Debug, Default)]
        pub struct FeedStats { $($(#[$doc])* pub $name: AtomicU64,)* }

        /// A copy of the counters at one instant, plus what continuity changed.
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        pub struct FeedSnapshot {
            $($(#[$doc])* pub $name: u64,)*
            pub continuity: ContinuityStats,
        }

        impl FeedStats {
            pub fn snapshot(&self, continuity: ContinuityStats) -> FeedSnapshot {
                FeedSnapshot { $($name: self.$name.load(Relaxed),)* continuity }
            }
        }
    };
}

counters!(
    /// Connections that came up and subscribed (the first one included).
    connects,
    /// Connections lost (closed, reset, timed out, silent).
    disconnects,
    /// Disconnects decided by the silence watchdog.
    watchdog_reconnects,
    /// Planned rotations begun before the exchange's connection lifetime, or on its notice.
    rotations,
    /// Notices that the exchange will close a connection soon (each starts a rotation).
    closing_notices,
    /// Text and binary frames received (pings and pongs are not counted).
    frames,
    /// Market events parsed (before deduplication).
    events,
    /// Subscription acknowledgements.
    acks,
    /// Exchange heartbeats and pongs.
    heartbeats,
    /// Well-formed messages of channels the engine does not read.
    unused,
    /// Messages of a type the parser does not know.
    unknown_types,
    /// Frames that are not JSON (garbage, truncated): dead-lettered.
    malformed_json,
    /// JSON not shaped like the exchange's messages: dead-lettered.
    bad_shape,
    /// Known messages with a missing or bad field: dead-lettered.
    bad_field,
    /// Frames above `max_frame_bytes`, skipped.
    oversized,
    /// Jumps in an exchange's message numbering (Coinbase): messages the exchange sent that
    /// never arrived. Each is handled like a reconnect (trade gaps, candle checks).
    sequence_gaps,
    /// Messages whose number did not increase: the connection's numbering is not one sequence,
    /// so its jumps are no longer marked as gaps.
    sequence_unordered,
    /// Quotes and in-progress candles replaced by a newer one while the consumer lagged.
    conflated,
    /// A gauge, not a counter: this feed's connections (shards) with a websocket up now.
    shards_up,
);

impl FeedStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Counts one parsed frame by what it was (`frames` counts every frame, on receipt).
    pub fn count_frame(&self, frame: &Frame) {
        let counter = match frame {
            Frame::Events(n) => {
                Self::add(&self.events, *n as u64);
                return;
            }
            Frame::Ack | Frame::Refused(_) => &self.acks,
            Frame::Heartbeat => &self.heartbeats,
            Frame::Closing(_) => &self.closing_notices,
            Frame::Skipped(Skip::Unused(_)) => &self.unused,
            Frame::Skipped(Skip::Unknown(_)) => &self.unknown_types,
        };
        Self::add(counter, 1);
    }

    pub fn count_error(&self, error: &ParseError) {
        let counter = match error {
            ParseError::Json(_) => &self.malformed_json,
            ParseError::Shape { .. } => &self.bad_shape,
            ParseError::Field { .. } => &self.bad_field,
        };
        Self::add(counter, 1);
    }
}
