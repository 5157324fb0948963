//! signal-engine: streaming "is this trade likely profitable" signals for crypto markets.
//!
//! Market events flow through a per-symbol feature state machine, a robust scaler and a
//! BiLSTM + attention model (burn) and leave as [`signal::Signal`]s. Training and replay call the
//! same feature code, so there is no train/serve skew.
//!
//! ```text
//! sources (ingest/) ─ MarketEvent ─> bars ─> indicators ─> scaler ─> Window ─> MicroBatcher ─> model ─> Signal ─> sinks
//!                                    │ closed bars (realised prices)
//!                                    └─> labels ─> training (trainer/) ─> bundle (registry/)
//! ```
//!
//! # Layout
//! - `main.rs` / [`cli`]: the command line (`run`, `replay`, `train`, `features`, `publish`,
//!   `collect`),
//!   one file per subcommand.
//! - [`app`]: builds the channels, spawns every stage, owns shutdown (senders drop downstream);
//!   the replay and the Kafka run share the feature and sink stages (`app/stages.rs`).
//! - [`config`]: strict TOML config, `validate()` reports every problem with key and file.
//! - [`event`], [`signal`]: the input and output types (JSON Schemas in `schemas/`).
//! - [`clock`]: wall clock live, event time in replay.
//! - [`ingest`]: replay files (kline, OHLCV and trades CSV, MarketEvent JSONL), merged by event
//!   time; exchange websockets (`ingest::exchange`: one folder per exchange with its wire
//!   structs, a pure parser and its protocol rules as a `Venue`; one `supervisor` for all of
//!   them: connections, keepalive, silence watchdog, backoff, rotation, sharding, dedup and gap
//!   marking); the Kafka source (`ingest::kafka`: consumer thread, at-least-once offsets, rebalances, dead
//!   letters, the acknowledging producer).
//! - [`features`]: indicators, trades → bars, per-symbol state (Warming → Ready → Stale →
//!   Resync, gap filling), feature spec + hash, the window ring, the engine.
//! - [`export`]: the `features` CSV export, driven by the engine.
//! - [`scaling`]: the fitted `RobustScaler` (median / IQR, scikit-learn JSON) and the streaming
//!   scaler (online quartiles with forgetting).
//! - [`batch`]: the micro-batcher (full, or deadline from the first item).
//! - [`model`]: `SignalNet<B: Backend>` and the backend choice.
//! - [`registry`]: model bundles on disk and the live `ArcSwap` model.
//! - [`infer`]: scores a batch with the live model, builds signals.
//! - [`trainer`]: labels (fixed horizon, triple barrier), the dataset on the serving code,
//!   purged splits and walk-forward folds, the training loop and its schedule, metrics, the three
//!   baselines, the report written into the bundle.
//! - [`sink`]: the JSONL signal file, the Kafka signals topic and the latest-signal store.
//! - [`api`]: the sidecar HTTP API (axum) over the latest-signal store.
//! - [`telemetry`]: hdrhistogram latencies.
//!
//! Imports point down the data flow: `model` knows nothing of `registry`, stages never import
//! `app` or `cli`. `features`, `scaling` and `batch` never read a clock or an OS random source
//! (enforced by clippy `disallowed-methods`, see `clippy.toml`).

pub mod api;
pub mod app;
pub mod backtest;
pub mod batch;
pub mod cli;
pub mod clock;
pub mod config;
pub mod event;
pub mod export;
pub mod features;
pub mod infer;
pub mod ingest;
pub mod model;
pub mod registry;
pub mod scaling;
pub mod signal;
pub mod sink;
pub mod telemetry;
pub mod trainer;

/// The git commit this binary was built from (see `build.rs`); recorded in every trained bundle.
pub const GIT_COMMIT: &str = env!("SIGNAL_ENGINE_GIT_COMMIT");
