//! The Kafka market-data source (rdkafka): at-least-once, paused rather than dropping, warm on
//! every new partition.
//!
//! ```text
//! topics ─> consumer thread ─(SourceItem)─> feature stage ─> ... ─> Kafka sink ─┐
//!             │  ▲ commits what Acks allows                                      │ delivery reports
//!             │  └──────────────────────────── Acks <───────────────────────────┘
//!             └─ malformed ─> dead-letter topic (error in a header) ─> Acks
//! ```
//! - [`offsets`]: which offsets still owe an acknowledgement; what may be committed.
//! - [`source`]: the consumer thread. Messages are decoded ([`decode`]), tagged with their
//!   [`Origin`] and sent down a bounded channel; when it is full the thread pauses its partitions
//!   and keeps polling (so the group sees it alive) until there is room. On assignment it seeks
//!   back a warm-up span by timestamp and replays it with emission off; on revocation it waits
//!   briefly for the partitions' signals, commits, and tells the feature stage to drop their
//!   symbols.
//! - [`producer`]: an idempotent producer whose delivery reports release offsets in [`Acks`];
//!   the dead-letter topic here and the signal sink (`sink::kafka`) both use it.
//! - [`client`]: librdkafka settings and logging shared with the signal sink.

pub mod client;
mod consume;
pub mod decode;
pub mod offsets;
pub mod producer;
mod rebalance;
pub mod source;

pub use offsets::{Acks, Origin, Tp};
pub use source::{KafkaSource, Provenance, SourceItem, SourceStats};

/// Why the Kafka source or sink could not run.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka: cannot create the {what}: {source}")]
    Create {
        what: &'static str,
        source: rdkafka::error::KafkaError,
    },
    #[error("kafka: cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: rdkafka::error::KafkaError,
    },
    #[error("kafka: {0}")]
    Fatal(String),
}
