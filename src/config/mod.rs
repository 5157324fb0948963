//! Typed, strict configuration: `deny_unknown_fields`, units in names, documented defaults.
//!
//! In: a TOML file (or the embedded `config/default.toml`). Out: a [`Config`] that `validate()` has
//! checked as a whole, every problem reported at once as `FILE: KEY: reason`. Relative paths in a
//! config resolve against the current working directory.

pub mod api;
pub mod backtest;
pub mod kafka;
mod model;
pub mod shadow;
pub mod websocket;

pub use api::ApiConfig;
pub use backtest::{BacktestConfig, TradeRule};
pub use kafka::{KafkaConfig, KafkaSinkConfig, KafkaSourceConfig, OptionValue, WireFormat};
pub use model::*;
pub use shadow::ShadowConfig;
pub use websocket::{FeedConfig, WebsocketConfig};

use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// The config `signal-engine` runs when given none: the embedded replay demo.
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");

/// Every problem found in one config file.
#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{}: {p}", self.file))
            .collect();
        f.write_str(&all.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses and validates TOML text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_string(),
            problems: vec![e.message().to_string() + &span_hint(text, e.span())],
        })?;
        let problems = cfg.validate();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError {
                file: file.to_string(),
                problems,
            })
        }
    }

    /// Loads `path`, or the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<(Self, String), ConfigError> {
        Self::load_with(path, &[])
    }

    /// Loads `path` (or the embedded default), then applies `sets`, each `section.key=VALUE`
    /// (`--set` on the command line): VALUE is read as a TOML value (`6`, `0.5`, `true`,
    /// `["a", "b"]`), or taken as a string when it is not one (`labels.kind=triple_barrier`).
    pub fn load_with(path: Option<&Path>, sets: &[String]) -> Result<(Self, String), ConfigError> {
        let (text, mut name) = match path {
            None => (
                EMBEDDED_DEFAULT.to_string(),
                format!("{DEFAULT_CONFIG_PATH} (embedded)"),
            ),
            Some(p) => {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    file: name.clone(),
                    problems: vec![format!("cannot read: {e}")],
                })?;
                (text, name)
            }
        };
        if sets.is_empty() {
            return Self::from_toml(&text, &name).map(|c| (c, name));
        }
        name = format!("{name} with --set {}", sets.join(" --set "));
        let fail = |problems: Vec<String>| ConfigError {
            file: name.clone(),
            problems,
        };
        let mut table: toml::Table = toml::from_str(&text)
            .map_err(|e| fail(vec![e.message().to_string() + &span_hint(&text, e.span())]))?;
        for set in sets {
            apply_set(&mut table, set).map_err(|p| fail(vec![p]))?;
        }
        let cfg = Config::deserialize(toml::Value::Table(table))
            .map_err(|e| fail(vec![e.message().to_string()]))?;
        let problems = cfg.validate();
        if problems.is_empty() {
            Ok((cfg, name))
        } else {
            Err(fail(problems))
        }
    }
}

/// One `--set section.key=VALUE` into the parsed config.
fn apply_set(table: &mut toml::Table, set: &str) -> Result<(), String> {
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| format!("--set {set}: expected KEY=VALUE, e.g. train.epochs=6"))?;
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"));
    // A bare word (`triple_barrier`, `host:9092`) is a string; anything else must be a TOML
    // value, so that a typo'd number (`.5`, `1e`) is an error here rather than a string
    // somewhere else. No number holds a ':', so `127.0.0.1:9092` is a bare word too.
    let bare = (raw.starts_with(|c: char| c.is_ascii_alphabetic()) || raw.contains(':'))
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:,".contains(c));
    let value = match parsed {
        Some(v) => v,
        None if bare => toml::Value::String(raw.to_string()),
        None => return Err(format!("--set {set}: {raw:?} is not a TOML value")),
    };
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let (last, path) = parts
        .split_last()
        .filter(|(l, _)| !l.is_empty())
        .ok_or_else(|| format!("--set {set}: empty key"))?;
    let mut cur = table;
    for p in path {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("--set {set}: {p} is not a section"))?;
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let (cfg, name) = Config::load(None).unwrap();
        assert!(name.contains("embedded"));
        assert_eq!(cfg.features.seq_len, 60);
        assert!(!cfg.replay.data.is_empty());
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let err = Config::from_toml("[inference]\nmax_batchh = 3\n", "x.toml").unwrap_err();
        let s = err.to_string();
        assert!(s.starts_with("x.toml: "), "{s}");
        assert!(s.contains("max_batchh"), "{s}");
        assert!(s.contains("line 2"), "{s}");
    }

    #[test]
    fn validate_reports_every_bad_field_at_once() {
        let text = "[inference]\nmax_batch = 0\n[features]\nseq_len = 0\nnames = [\"nope\"]\n";
        let err = Config::from_toml(text, "bad.toml").unwrap_err();
        assert!(err.problems.len() >= 3, "{err}");
        let s = err.to_string();
        for key in ["inference.max_batch", "features.seq_len", "features.names"] {
            assert!(s.contains(key), "{key} missing in {s}");
        }
    }

    #[test]
    fn replay_speed_is_max_or_a_positive_number() {
        let speed = |v: &str| Config::from_toml(&format!("[replay]\nspeed = {v}\n"), "s.toml");
        assert_eq!(speed("\"max\"").unwrap().replay.speed, ReplaySpeed::Max);
        assert_eq!(speed("60").unwrap().replay.speed, ReplaySpeed::Times(60.0));
        assert_eq!(speed("0.5").unwrap().replay.speed, ReplaySpeed::Times(0.5));
        for bad in ["0", "-2", "\"fast\""] {
            let e = speed(bad).unwrap_err().to_string();
            assert!(e.contains("s.toml") && e.contains("speed"), "{bad}: {e}");
        }
    }

    #[test]
    fn set_overrides_keys_and_errors_name_them() {
        let sets = [
            "train.epochs=6".to_string(),
            "labels.kind=triple_barrier".to_string(),
            "train.learning_rate=0.0005".to_string(),
        ];
        let (cfg, name) = Config::load_with(None, &sets).unwrap();
        assert_eq!(cfg.train.epochs, 6);
        assert_eq!(cfg.labels.kind, LabelKind::TripleBarrier);
        assert_eq!(cfg.train.learning_rate, 0.0005);
        assert!(name.contains("--set train.epochs=6"), "{name}");
        // Everything else is still the file's.
        assert_eq!(
            cfg.features.names,
            Config::load(None).unwrap().0.features.names
        );
        let err = Config::load_with(None, &["train.epochz=6".into()]).unwrap_err();
        assert!(err.to_string().contains("epochz"), "{err}");
        let err = Config::load_with(None, &["train.epochs=0".into()]).unwrap_err();
        assert!(err.to_string().contains("train.epochs"), "{err}");
        let err = Config::load_with(None, &["train.epochs".into()]).unwrap_err();
        assert!(err.to_string().contains("KEY=VALUE"), "{err}");
        let err = Config::load_with(None, &["train.learning_rate=.5".into()]).unwrap_err();
        assert!(err.to_string().contains("not a TOML value"), "{err}");
        let err = Config::load_with(None, &["replay.data.x=1".into()]).unwrap_err();
        assert!(err.to_string().contains("not a section"), "{err}");
    }
}
