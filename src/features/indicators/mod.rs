//! Streaming technical indicators, one per file, each O(1) per bar (amortised where a rolling
//! sum is re-added from its ring, or a rolling max/min drops values from a monotonic deque).
//!
//! Conventions are TA-Lib's (DESIGN.md §4): Wilder smoothing seeded by an SMA for RSI/ATR, EMAs
//! seeded by an SMA, population σ, slow Stochastic, MFI on typical price. `lookback()` is TA-Lib's
//! lookback: the number of bars consumed before the first value. In: one closed bar at a time.
//! Out: `Some(value)` once warm, else `None`. No indicator reads a clock or a random source, and
//! none returns NaN or ±inf on finite input: each file's doc names its zero-denominator rule.

pub mod atr;
pub mod bollinger;
pub mod ema;
pub mod flow;
pub mod garman_klass;
pub mod macd;
pub mod mfi;
pub mod obv;
pub mod parkinson;
pub mod ring;
pub mod roc;
pub mod rsi;
pub mod stoch;
pub mod vwap;
pub mod zscore;

pub use atr::Atr;
pub use bollinger::{Bollinger, BollingerValue};
pub use ema::Ema;
pub use flow::TradeFlow;
pub use garman_klass::GarmanKlass;
pub use macd::{Macd, MacdValue};
pub use mfi::Mfi;
pub use obv::Obv;
pub use parkinson::Parkinson;
pub use ring::{Ring, RollingMoments, RollingSum};
pub use roc::Roc;
pub use rsi::Rsi;
pub use stoch::{Stoch, StochValue};
pub use vwap::{Vwap, VwapValue};
pub use zscore::ZScore;

/// ln(a / b) for prices, robust to a ratio that over- or underflows; 0 unless both are > 0
/// (a range or return estimate has no meaning for a non-positive price).
pub fn ln_ratio(a: f64, b: f64) -> f64 {
    if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()) {
        return 0.0;
    }
    let r = a / b;
    if r.is_finite() && r > 0.0 {
        r.ln()
    } else {
        a.ln() - b.ln()
    }
}

/// Maps an overflowed result to the nearest finite value (±inf → ±`f64::MAX`, NaN → 0), so no
/// indicator hands out a non-finite number even for absurd finite inputs.
pub(crate) fn saturate(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-f64::MAX, f64::MAX)
    }
}

/// Shared proptest input for the indicator unit tests: OHLCV bars with flat runs (high == low),
/// zero volume and jumps of up to ~1000× either way.
#[cfg(test)]
pub(crate) mod test_bars {
    use proptest::prelude::*;

    #[derive(Clone, Copy, Debug)]
    pub struct B {
        pub open: f64,
        pub high: f64,
        pub low: f64,
        pub close: f64,
        pub volume: f64,
        pub quote_volume: f64,
    }

    pub fn bars() -> impl Strategy<Value = Vec<B>> {
        let step = (
            prop_oneof![Just(0.0), -0.01f64..0.01, -6.9f64..6.9],
            prop_oneof![Just(0.0), 0.0f64..0.05],
            prop_oneof![Just(0.0), 0.0f64..1e9, Just(1e-9)],
            0.0f64..=1.0,
        );
        prop::collection::vec(step, 1..120).prop_map(|steps| {
            let mut close = 100.0f64;
            steps
                .into_iter()
                .map(|(r, spread, volume, pos)| {
                    let open = close;
                    close = (close * f64::exp(r)).clamp(1e-6, 1e12);
                    let high = open.max(close) * (1.0 + spread);
                    let low = open.min(close) / (1.0 + spread);
                    let vwap = low + (high - low) * pos;
                    B {
                        open,
                        high,
                        low,
                        close,
                        volume,
                        quote_volume: volume * vwap,
                    }
                })
                .collect()
        })
    }
}
