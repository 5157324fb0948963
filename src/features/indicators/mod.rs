//! Streaming technical indicators, one per file, each O(1) per bar (Bollinger and z-score keep
//! rolling sums over a ring).
//!
//! Conventions are TA-Lib's (DESIGN.md §4): Wilder smoothing seeded by an SMA for RSI/ATR, EMAs
//! seeded by an SMA, population σ. `lookback()` is TA-Lib's lookback: the number of bars consumed
//! before the first value. In: one closed bar at a time. Out: `Some(value)` once warm, else `None`.
//! No indicator reads a clock or a random source.

pub mod atr;
pub mod bollinger;
pub mod ema;
pub mod macd;
pub mod ring;
pub mod rsi;
pub mod zscore;

pub use atr::Atr;
pub use bollinger::Bollinger;
pub use ema::Ema;
pub use macd::Macd;
pub use ring::{Ring, RollingMoments};
pub use rsi::Rsi;
pub use zscore::ZScore;
