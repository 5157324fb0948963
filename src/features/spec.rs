//! `FeatureSpec`: the ordered list of features the model sees, parsed from names in the config
//! (`log_return_5`, `rsi_14`, ...), with a stable hash that a model bundle records so the engine can
//! refuse a model trained on other features.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest period a feature may ask for (10,000 bars ≈ a week of minutes).
pub const MAX_PARAM: usize = 10_000;

/// One feature and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    /// ln(close_t / close_{t-k}).
    LogReturn(usize),
    /// RSI(n), 0–100.
    Rsi(usize),
    /// MACD(12,26,9) histogram divided by close.
    MacdHistOverClose,
    /// Bollinger(n, 2σ) %B.
    BollingerPercentB(usize),
    /// ATR(n) divided by close.
    AtrOverClose(usize),
    /// z-score of volume against its last n values.
    VolumeZ(usize),
    /// Taker-buy volume / volume (0.5 on a zero-volume bar).
    TakerBuyRatio,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error(
        "unknown feature {0:?} (known: log_return_K, rsi_N, macd_hist_over_close, bb_percent_b_N, atr_over_close_N, volume_z_N, taker_buy_ratio)"
    )]
    Unknown(String),
    #[error("feature {0:?}: parameter must be a plain integer in {1}..=10000")]
    BadParam(String, usize),
    #[error("feature {0:?} is listed twice")]
    Duplicate(String),
    #[error("the feature list is empty")]
    Empty,
}

impl FeatureKind {
    pub fn parse(name: &str) -> Result<Self, SpecError> {
        // Canonical spelling only (`rsi_14`, not `rsi_014`), so one feature has one hash.
        let param = |prefix: &str, min: usize| -> Result<usize, SpecError> {
            let text = &name[prefix.len()..];
            let bad = || SpecError::BadParam(name.to_string(), min);
            let v: usize = text.parse().map_err(|_| bad())?;
            if v < min || v > MAX_PARAM || v.to_string() != text {
                return Err(bad());
            }
            Ok(v)
        };
        Ok(match name {
            "macd_hist_over_close" => Self::MacdHistOverClose,
            "taker_buy_ratio" => Self::TakerBuyRatio,
            n if n.starts_with("log_return_") => Self::LogReturn(param("log_return_", 1)?),
            n if n.starts_with("rsi_") => Self::Rsi(param("rsi_", 2)?),
            n if n.starts_with("bb_percent_b_") => {
                Self::BollingerPercentB(param("bb_percent_b_", 2)?)
            }
            n if n.starts_with("atr_over_close_") => {
                Self::AtrOverClose(param("atr_over_close_", 1)?)
            }
            n if n.starts_with("volume_z_") => Self::VolumeZ(param("volume_z_", 2)?),
            _ => return Err(SpecError::Unknown(name.to_string())),
        })
    }
}

/// The ordered feature list. Serialised as the list of names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct FeatureSpec {
    names: Vec<String>,
    kinds: Vec<FeatureKind>,
}

impl FeatureSpec {
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<Self, SpecError> {
        if names.is_empty() {
            return Err(SpecError::Empty);
        }
        let mut out = Self {
            names: Vec::new(),
            kinds: Vec::new(),
        };
        for n in names {
            let n = n.as_ref();
            if out.names.iter().any(|m| m == n) {
                return Err(SpecError::Duplicate(n.to_string()));
            }
            out.kinds.push(FeatureKind::parse(n)?);
            out.names.push(n.to_string());
        }
        Ok(out)
    }

    /// The walking skeleton's feature set.
    pub fn default_names() -> Vec<String> {
        [
            "log_return_1",
            "log_return_5",
            "log_return_15",
            "rsi_14",
            "macd_hist_over_close",
            "bb_percent_b_20",
            "atr_over_close_14",
            "volume_z_20",
            "taker_buy_ratio",
        ]
        .map(String::from)
        .to_vec()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn kinds(&self) -> &[FeatureKind] {
        &self.kinds
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Stable across runs and platforms: sha256 of a versioned, ordered name list, 16 hex digits.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"signal-engine feature spec v1\n");
        for n in &self.names {
            h.update(n.as_bytes());
            h.update(b"\n");
        }
        hex::encode(&h.finalize()[..8])
    }
}

impl TryFrom<Vec<String>> for FeatureSpec {
    type Error = SpecError;
    fn try_from(v: Vec<String>) -> Result<Self, SpecError> {
        Self::new(&v)
    }
}

impl From<FeatureSpec> for Vec<String> {
    fn from(s: FeatureSpec) -> Self {
        s.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_hash_is_stable_and_order_sensitive() {
        let names = FeatureSpec::default_names();
        let a = FeatureSpec::new(&names).unwrap();
        assert_eq!(a.kinds()[3], FeatureKind::Rsi(14));
        assert_eq!(a.hash(), FeatureSpec::new(&names).unwrap().hash());
        let mut rev = names.clone();
        rev.reverse();
        assert_ne!(a.hash(), FeatureSpec::new(&rev).unwrap().hash());
        assert_eq!(a.hash().len(), 16);
    }

    #[test]
    fn rejects_unknown_bad_param_duplicate_and_empty() {
        assert!(matches!(
            FeatureKind::parse("rsi_x"),
            Err(SpecError::BadParam(..))
        ));
        assert!(matches!(
            FeatureKind::parse("rsi_1"),
            Err(SpecError::BadParam(..))
        ));
        assert!(matches!(
            FeatureKind::parse("foo"),
            Err(SpecError::Unknown(_))
        ));
        assert_eq!(
            FeatureSpec::new(&["rsi_14", "rsi_14"]).unwrap_err(),
            SpecError::Duplicate("rsi_14".into())
        );
        assert_eq!(FeatureSpec::new::<&str>(&[]).unwrap_err(), SpecError::Empty);
    }
}
