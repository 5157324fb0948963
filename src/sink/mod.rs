//! Where signals go. `jsonl`: one JSON object per line in a file (Kafka and the sidecar's
//! latest-signal store come with their issues).

pub mod jsonl;

pub use jsonl::JsonlSink;
