//! `FeatureSpec`: an ordered list of feature names (`log_return_5`, `rsi_14`, `stoch_k_14_3_3`, ...)
//! parsed into [`FeatureKind`]s, with a stable hash that a model bundle records so the engine can
//! refuse a model trained on other features.
//!
//! Names are `<family>` or `<family>_<p1>[_<p2>...]` with canonical integer parameters (`rsi_14`,
//! never `rsi_014`), so one feature has one spelling and one hash. Two kinds of spec exist:
//! a *model* spec ([`FeatureSpec::new`]) accepts only stationary features, because raw prices or a
//! cumulative OBV mean different things on different symbols and days and would make the model
//! memorise levels; an *export* spec ([`FeatureSpec::any`]) also accepts the raw indicators (for
//! `signal-engine features` and parity checks).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest period a feature may ask for (10,000 bars ≈ a week of minutes).
pub const MAX_PARAM: usize = 10_000;

/// One feature and its parameters (periods in bars; Bollinger's band width `k` in σ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    /// ln(close_t / close_{t-k}).
    LogReturn(usize),
    /// RSI(n), 0–100 (TA-Lib `RSI`).
    Rsi(usize),
    /// MACD(fast, slow, signal) line, signal line or histogram, raw (price units).
    Macd(MacdPart, usize, usize, usize),
    /// The same divided by the bar's close. `macd_hist_over_close` (no parameters) is 12/26/9.
    MacdOverClose(MacdPart, usize, usize, usize),
    /// Bollinger(n, k σ) band, raw (price units).
    Bollinger(BandPart, usize, usize),
    /// Bollinger(n, 2σ) %B.
    BollingerPercentB(usize),
    /// Bollinger(n, 2σ) bandwidth (upper − lower) / middle.
    BollingerBandwidth(usize),
    /// ATR(n), raw (price units).
    Atr(usize),
    /// ATR(n) / close.
    AtrOverClose(usize),
    /// ROC(n) in percent (TA-Lib `ROC`).
    Roc(usize),
    /// Slow stochastic (fastk, slowk, slowd) %K or %D, 0–100 (TA-Lib `STOCH`, SMA smoothing).
    Stoch(StochPart, usize, usize, usize),
    /// On-balance volume, raw (cumulative; export only).
    Obv,
    /// z-score of OBV against its last n values: OBV's recent direction, free of its level.
    ObvZ(usize),
    /// Money-flow index MFI(n), 0–100 (TA-Lib `MFI`).
    Mfi(usize),
    /// Parkinson high/low volatility over n bars (per bar, not annualised).
    Parkinson(usize),
    /// Garman–Klass OHLC volatility over n bars (per bar, not annualised).
    GarmanKlass(usize),
    /// close / VWAP(n) − 1, VWAP over the last n bars.
    VwapDev(usize),
    /// z-score of volume against its last n values.
    VolumeZ(usize),
    /// z-score of the trade count against its last n values.
    TradesZ(usize),
    /// Taker-buy volume / volume of the bar (0.5 on a zero-volume bar).
    TakerBuyRatio,
    /// Signed taker flow over n bars: Σ(buy − sell) / Σ volume, in [−1, 1] (0 with no volume).
    TradeFlowImbalance(usize),
    /// Quoted spread at the bar's close, in bps of the mid (needs a quote stream).
    SpreadBps,
    /// Top-of-book imbalance (bid qty − ask qty) / (bid qty + ask qty) at the bar's close (needs
    /// a quote stream).
    BookImbalance,
    /// sin / cos of the bar's open time of day (UTC), so 23:59 sits next to 00:00.
    TimeOfDaySin,
    TimeOfDayCos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacdPart {
    Line,
    Signal,
    Hist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BandPart {
    Upper,
    Middle,
    Lower,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StochPart {
    K,
    D,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("unknown feature {0:?} (known: {KNOWN})")]
    Unknown(String),
    #[error("feature {0:?}: {1}")]
    BadParam(String, String),
    #[error(
        "feature {0:?} is a raw, non-stationary value (price units or cumulative); a model takes its normalised form ({1})"
    )]
    NotStationary(String, &'static str),
    #[error("feature {0:?} is listed twice")]
    Duplicate(String),
    #[error("the feature list is empty")]
    Empty,
}

const KNOWN: &str = "log_return_K, rsi_N, macd_F_S_G, macd_signal_F_S_G, macd_hist_F_S_G, \
macd_over_close_F_S_G, macd_signal_over_close_F_S_G, macd_hist_over_close[_F_S_G], \
bb_upper_N_K, bb_middle_N_K, bb_lower_N_K, bb_percent_b_N, bb_bandwidth_N, atr_N, \
atr_over_close_N, roc_N, stoch_k_F_S_D, stoch_d_F_S_D, obv, obv_z_N, mfi_N, parkinson_N, \
garman_klass_N, vwap_dev_N, volume_z_N, trades_z_N, taker_buy_ratio, trade_flow_imbalance_N, \
spread_bps, book_imbalance, tod_sin, tod_cos";

/// Families in match order: longer prefixes first, so `macd_signal_over_close_…` is not read as
/// `macd_…`. Each entry: (family, number of parameters).
const FAMILIES: &[(&str, usize)] = &[
    ("macd_signal_over_close", 3),
    ("macd_hist_over_close", 3),
    ("macd_hist_over_close", 0),
    ("macd_over_close", 3),
    ("macd_signal", 3),
    ("macd_hist", 3),
    ("macd", 3),
    ("bb_percent_b", 1),
    ("bb_bandwidth", 1),
    ("bb_upper", 2),
    ("bb_middle", 2),
    ("bb_lower", 2),
    ("atr_over_close", 1),
    ("atr", 1),
    ("log_return", 1),
    ("rsi", 1),
    ("roc", 1),
    ("stoch_k", 3),
    ("stoch_d", 3),
    ("obv_z", 1),
    ("obv", 0),
    ("mfi", 1),
    ("parkinson", 1),
    ("garman_klass", 1),
    ("vwap_dev", 1),
    ("volume_z", 1),
    ("trades_z", 1),
    ("taker_buy_ratio", 0),
    ("trade_flow_imbalance", 1),
    ("spread_bps", 0),
    ("book_imbalance", 0),
    ("tod_sin", 0),
    ("tod_cos", 0),
];

impl FeatureKind {
    /// Parses one canonical name.
    pub fn parse(name: &str) -> Result<Self, SpecError> {
        for &(family, arity) in FAMILIES {
            let Some(params) = split_params(name, family, arity) else {
                continue;
            };
            let p = parse_params(name, &params)?;
            return build(name, family, &p);
        }
        Err(SpecError::Unknown(name.to_string()))
    }

    /// The raw, non-stationary kinds a model spec refuses, with the normalised form to use.
    pub fn normalised_form(&self) -> Option<&'static str> {
        match self {
            Self::Macd(..) => Some("macd_over_close_F_S_G and friends"),
            Self::Bollinger(..) => Some("bb_percent_b_N or bb_bandwidth_N"),
            Self::Atr(_) => Some("atr_over_close_N"),
            Self::Obv => Some("obv_z_N"),
            _ => None,
        }
    }

    /// True for features computed from a quote stream rather than from bars.
    pub fn needs_quotes(&self) -> bool {
        matches!(self, Self::SpreadBps | Self::BookImbalance)
    }
}

/// `rsi_14` with family `rsi` and arity 1 → `["14"]`; `None` when the name is not of that shape.
fn split_params<'a>(name: &'a str, family: &str, arity: usize) -> Option<Vec<&'a str>> {
    let rest = name.strip_prefix(family)?;
    if arity == 0 {
        return rest.is_empty().then(Vec::new);
    }
    let params: Vec<&str> = rest.strip_prefix('_')?.split('_').collect();
    (params.len() == arity
        && params
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then_some(params)
}

fn parse_params(name: &str, params: &[&str]) -> Result<Vec<usize>, SpecError> {
    params
        .iter()
        .map(|text| {
            let v: usize = text.parse().map_err(|_| bad(name, "not an integer"))?;
            if v.to_string() != *text {
                return Err(bad(name, "write parameters without leading zeros"));
            }
            if v == 0 || v > MAX_PARAM {
                return Err(bad(name, &format!("parameters must be in 1..={MAX_PARAM}")));
            }
            Ok(v)
        })
        .collect()
}

fn bad(name: &str, why: &str) -> SpecError {
    SpecError::BadParam(name.to_string(), why.to_string())
}

fn build(name: &str, family: &str, p: &[usize]) -> Result<FeatureKind, SpecError> {
    use FeatureKind as K;
    let at_least = |v: usize, min: usize, what: &str| {
        if v < min {
            Err(bad(name, &format!("{what} must be ≥ {min}")))
        } else {
            Ok(v)
        }
    };
    let macd = |part| -> Result<(MacdPart, usize, usize, usize), SpecError> {
        let (f, s, g) = (p[0], p[1], p[2]);
        if f >= s {
            return Err(bad(
                name,
                "the fast period must be shorter than the slow one",
            ));
        }
        Ok((part, f, s, g))
    };
    let stoch = |part| -> Result<FeatureKind, SpecError> {
        at_least(p[0], 1, "fast %K")?;
        Ok(K::Stoch(part, p[0], p[1], p[2]))
    };
    Ok(match family {
        "log_return" => K::LogReturn(p[0]),
        "rsi" => K::Rsi(at_least(p[0], 2, "the period")?),
        "macd" | "macd_signal" | "macd_hist" => {
            let part = match family {
                "macd" => MacdPart::Line,
                "macd_signal" => MacdPart::Signal,
                _ => MacdPart::Hist,
            };
            let (part, f, s, g) = macd(part)?;
            K::Macd(part, f, s, g)
        }
        "macd_over_close" | "macd_signal_over_close" | "macd_hist_over_close" => {
            let part = match family {
                "macd_over_close" => MacdPart::Line,
                "macd_signal_over_close" => MacdPart::Signal,
                _ => MacdPart::Hist,
            };
            if p.is_empty() {
                K::MacdOverClose(part, 12, 26, 9)
            } else if family == "macd_hist_over_close" && p == [12, 26, 9] {
                // One feature, one spelling (and one hash): the short name is the canonical one.
                return Err(bad(name, "write it as macd_hist_over_close"));
            } else {
                let (part, f, s, g) = macd(part)?;
                K::MacdOverClose(part, f, s, g)
            }
        }
        "bb_upper" | "bb_middle" | "bb_lower" => {
            let part = match family {
                "bb_upper" => BandPart::Upper,
                "bb_middle" => BandPart::Middle,
                _ => BandPart::Lower,
            };
            K::Bollinger(part, at_least(p[0], 2, "the period")?, p[1])
        }
        "bb_percent_b" => K::BollingerPercentB(at_least(p[0], 2, "the period")?),
        "bb_bandwidth" => K::BollingerBandwidth(at_least(p[0], 2, "the period")?),
        "atr" => K::Atr(p[0]),
        "atr_over_close" => K::AtrOverClose(p[0]),
        "roc" => K::Roc(p[0]),
        "stoch_k" => stoch(StochPart::K)?,
        "stoch_d" => stoch(StochPart::D)?,
        "obv" => K::Obv,
        "obv_z" => K::ObvZ(at_least(p[0], 2, "the period")?),
        "mfi" => K::Mfi(p[0]),
        "parkinson" => K::Parkinson(p[0]),
        "garman_klass" => K::GarmanKlass(p[0]),
        "vwap_dev" => K::VwapDev(p[0]),
        "volume_z" => K::VolumeZ(at_least(p[0], 2, "the period")?),
        "trades_z" => K::TradesZ(at_least(p[0], 2, "the period")?),
        "taker_buy_ratio" => K::TakerBuyRatio,
        "trade_flow_imbalance" => K::TradeFlowImbalance(p[0]),
        "spread_bps" => K::SpreadBps,
        "book_imbalance" => K::BookImbalance,
        "tod_sin" => K::TimeOfDaySin,
        "tod_cos" => K::TimeOfDayCos,
        _ => return Err(SpecError::Unknown(name.to_string())),
    })
}

/// The ordered feature list. Serialised as the list of names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct FeatureSpec {
    names: Vec<String>,
    kinds: Vec<FeatureKind>,
}

impl FeatureSpec {
    /// A model spec: stationary features only.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<Self, SpecError> {
        let spec = Self::any(names)?;
        for (n, k) in spec.names.iter().zip(&spec.kinds) {
            if let Some(form) = k.normalised_form() {
                return Err(SpecError::NotStationary(n.clone(), form));
            }
        }
        Ok(spec)
    }

    /// An export spec: any known feature, raw indicators included.
    pub fn any<S: AsRef<str>>(names: &[S]) -> Result<Self, SpecError> {
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

    /// The walking skeleton's feature set (the bundled default model's).
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

    /// Every bar-derived stationary feature at its usual parameters: 32 features, the set the
    /// speed and memory goals are measured on. Quote features are left out (klines carry none).
    pub fn full_names() -> Vec<String> {
        [
            "log_return_1",
            "log_return_5",
            "log_return_15",
            "log_return_60",
            "rsi_14",
            "macd_over_close_12_26_9",
            "macd_signal_over_close_12_26_9",
            "macd_hist_over_close",
            "bb_percent_b_20",
            "bb_bandwidth_20",
            "atr_over_close_14",
            "roc_10",
            "stoch_k_14_3_3",
            "stoch_d_14_3_3",
            "obv_z_20",
            "mfi_14",
            "parkinson_20",
            "garman_klass_20",
            "vwap_dev_20",
            "volume_z_20",
            "volume_z_60",
            "trades_z_20",
            "taker_buy_ratio",
            "trade_flow_imbalance_5",
            "trade_flow_imbalance_20",
            "rsi_6",
            "roc_60",
            "parkinson_60",
            "vwap_dev_60",
            "atr_over_close_60",
            "tod_sin",
            "tod_cos",
        ]
        .map(String::from)
        .to_vec()
    }

    /// The raw indicator columns of `signal-engine features`, in the documented order.
    pub fn export_raw_names() -> Vec<String> {
        [
            "rsi_14",
            "atr_14",
            "macd_12_26_9",
            "macd_signal_12_26_9",
            "macd_hist_12_26_9",
            "bb_upper_20_2",
            "bb_middle_20_2",
            "bb_lower_20_2",
            "roc_10",
            "stoch_k_14_3_3",
            "stoch_d_14_3_3",
            "obv",
            "mfi_14",
            "parkinson_20",
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

    /// True when any feature needs a quote stream.
    pub fn needs_quotes(&self) -> bool {
        self.kinds.iter().any(FeatureKind::needs_quotes)
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
        assert_eq!(
            a.kinds()[4],
            FeatureKind::MacdOverClose(MacdPart::Hist, 12, 26, 9)
        );
        // The bundled default model records this hash: it must never change.
        assert_eq!(a.hash(), "ce7a77357cca10ed");
        let mut rev = names.clone();
        rev.reverse();
        assert_ne!(a.hash(), FeatureSpec::new(&rev).unwrap().hash());
    }

    #[test]
    fn every_documented_name_parses() {
        let full = FeatureSpec::new(&FeatureSpec::full_names()).unwrap();
        assert_eq!(full.len(), 32);
        assert!(!full.needs_quotes());
        let raw = FeatureSpec::any(&FeatureSpec::export_raw_names()).unwrap();
        assert_eq!(
            raw.kinds()[5],
            FeatureKind::Bollinger(BandPart::Upper, 20, 2)
        );
        assert_eq!(raw.kinds()[10], FeatureKind::Stoch(StochPart::D, 14, 3, 3));
        let q = FeatureSpec::new(&["spread_bps", "book_imbalance"]).unwrap();
        assert!(q.needs_quotes());
        assert_eq!(
            FeatureKind::parse("macd_signal_over_close_5_35_5"),
            Ok(FeatureKind::MacdOverClose(MacdPart::Signal, 5, 35, 5))
        );
    }

    #[test]
    fn rejects_unknown_bad_param_raw_duplicate_and_empty() {
        for bad in [
            "rsi_1",
            "rsi_014",
            "rsi_0",
            "macd_26_12_9",
            "rsi_10001",
            "macd_hist_over_close_12_26_9",
        ] {
            assert!(
                matches!(FeatureKind::parse(bad), Err(SpecError::BadParam(..))),
                "{bad}"
            );
        }
        for unknown in [
            "foo",
            "rsi",
            "rsi_x",
            "rsi_14_2",
            "obv_",
            "tod_sin_1",
            "log_return_-1",
        ] {
            assert!(
                matches!(FeatureKind::parse(unknown), Err(SpecError::Unknown(_))),
                "{unknown}"
            );
        }
        for raw in ["obv", "atr_14", "bb_upper_20_2", "macd_12_26_9"] {
            assert!(matches!(
                FeatureSpec::new(&[raw]),
                Err(SpecError::NotStationary(..))
            ));
            FeatureSpec::any(&[raw]).unwrap();
        }
        assert_eq!(
            FeatureSpec::new(&["rsi_14", "rsi_14"]).unwrap_err(),
            SpecError::Duplicate("rsi_14".into())
        );
        assert_eq!(FeatureSpec::new::<&str>(&[]).unwrap_err(), SpecError::Empty);
    }
}
