//! Where signals go. `jsonl`: one JSON object per line in a file; `kafka`: a topic; `latest`: the
//! newest signal per symbol and a resumable feed, for the sidecar API.

pub mod jsonl;
pub mod kafka;
pub mod latest;

pub use jsonl::JsonlSink;
