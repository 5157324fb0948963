//! Typed, strict configuration: `deny_unknown_fields`, units in names, documented defaults.
//!
//! In: a TOML file (or the embedded `config/default.toml`). Out: a [`Config`] that `validate()` has
//! checked as a whole, every problem reported at once as `FILE: KEY: reason`. Relative paths in a
//! config resolve against the current working directory.

mod model;

pub use model::*;

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
        match path {
            None => {
                let name = format!("{DEFAULT_CONFIG_PATH} (embedded)");
                Self::from_toml(EMBEDDED_DEFAULT, &name).map(|c| (c, name))
            }
            Some(p) => {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    file: name.clone(),
                    problems: vec![format!("cannot read: {e}")],
                })?;
                Self::from_toml(&text, &name).map(|c| (c, name))
            }
        }
    }
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
}
