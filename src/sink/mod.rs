//! Where signals go. `jsonl`: one JSON object per line in a file; `kafka`: a topic (the sidecar's
//! latest-signal store comes with its issue).

pub mod jsonl;
pub mod kafka;

pub use jsonl::JsonlSink;
