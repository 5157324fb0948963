//! A registry directory (DESIGN.md §7): bundles by version, the `CURRENT` pointer and the history
//! of every change to it.
//!
//! ```text
//! <registry>/<version>/    a bundle (manifest.json, model.mpk, scaler.json, ...)
//! <registry>/CURRENT       the serving version, one line; replaced atomically
//! <registry>/history.jsonl one line per change of CURRENT: import, promote, rollback, auto_rollback
//! ```
//! Writers: `signal-engine models promote|rollback`, the shadow trainer, `import` of a first
//! bundle. Readers: the running engine's watcher (`watch.rs`), `models list|inspect`. `CURRENT` is
//! written to a temp file, fsynced and renamed over the old one, so a reader sees the old pointer
//! or the new one, never half of one. Rollback walks back the chain of promotions: after A → B → C,
//! one rollback serves B and a second serves A.
#![allow(clippy::disallowed_methods)] // history entries carry the wall-clock time of the change

use super::store::{BundleError, sha256_file};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const CURRENT: &str = "CURRENT";
pub const HISTORY: &str = "history.jsonl";

/// Why `CURRENT` changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The first bundle, copied in from `model.dir`.
    Import,
    Promote,
    Rollback,
    /// The shadow trainer rolled back a promotion that underperformed its predecessor.
    AutoRollback,
}

/// One change of `CURRENT` (a line of `history.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// RFC 3339, UTC.
    pub at: String,
    pub action: Action,
    pub version: String,
    pub previous: Option<String>,
    pub reason: String,
}

/// A registry directory.
#[derive(Clone, Debug)]
pub struct Registry {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A version names a directory inside the registry: no separators, no dot files.
pub fn check_version(v: &str) -> Result<(), String> {
    let ok = !v.is_empty()
        && v.len() <= 128
        && !v.starts_with('.')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not a model version (letters, digits, '-', '_', '.'; not starting with '.')"
        ))
    }
}

impl Registry {
    /// Opens `root`, creating it when missing.
    pub fn open(root: &Path) -> Result<Self, BundleError> {
        fs::create_dir_all(root).map_err(io(root))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn bundle_dir(&self, version: &str) -> PathBuf {
        self.root.join(version)
    }

    fn invalid(&self, msg: String) -> BundleError {
        BundleError::Invalid {
            dir: self.root.clone(),
            msg,
        }
    }

    /// The serving version, `None` before the first import.
    pub fn current(&self) -> Result<Option<String>, BundleError> {
        let path = self.root.join(CURRENT);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let v = text.trim().to_string();
        check_version(&v).map_err(|e| self.invalid(format!("{CURRENT}: {e}")))?;
        Ok(Some(v))
    }

    /// Every bundle directory's version (those with a manifest), sorted.
    pub fn versions(&self) -> Result<Vec<String>, BundleError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io(&self.root))? {
            let entry = entry.map_err(io(&self.root))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if check_version(&name).is_ok() && entry.path().join("manifest.json").is_file() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every change of `CURRENT`, oldest first. A torn last line (a crash mid-append) is skipped.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, BundleError> {
        let path = self.root.join(HISTORY);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut out = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(e) => out.push(e),
                Err(_) if i + 1 == lines.len() => {}
                Err(source) => {
                    return Err(BundleError::Json {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The chain of versions a rollback walks back through, oldest first, ending at the serving one.
    pub fn chain(&self) -> Result<Vec<String>, BundleError> {
        let mut stack: Vec<String> = Vec::new();
        for e in self.history()? {
            match e.action {
                Action::Import | Action::Promote => stack.push(e.version),
                Action::Rollback | Action::AutoRollback => {
                    while stack.last().is_some_and(|v| *v != e.version) {
                        stack.pop();
                    }
                    if stack.is_empty() {
                        stack.push(e.version);
                    }
                }
            }
        }
        Ok(stack)
    }

    /// Points `CURRENT` at `version` (which must hold a bundle whose weights match their sha256)
    /// and records why. Returns the history entry.
    pub fn set_current(
        &self,
        version: &str,
        action: Action,
        reason: &str,
    ) -> Result<HistoryEntry, BundleError> {
        check_version(version).map_err(|e| self.invalid(e))?;
        self.verify_weights(version)?;
        let previous = self.current()?;
        let path = self.root.join(CURRENT);
        let tmp = self
            .root
            .join(format!(".{CURRENT}.tmp-{}", std::process::id()));
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(format!("{version}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&self.root)?;
        let entry = HistoryEntry {
            at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            action,
            version: version.to_string(),
            previous,
            reason: reason.to_string(),
        };
        let hist = self.root.join(HISTORY);
        let mut h = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&hist)
            .map_err(io(&hist))?;
        let line = serde_json::to_string(&entry).unwrap_or_default() + "\n";
        h.write_all(line.as_bytes())
            .and_then(|()| h.sync_all())
            .map_err(io(&hist))?;
        Ok(entry)
    }

    /// Serves the version before the current one in the promotion chain.
    pub fn rollback(&self, action: Action, reason: &str) -> Result<HistoryEntry, BundleError> {
        let chain = self.chain()?;
        let Some(target) = chain.len().checked_sub(2).map(|i| chain[i].clone()) else {
            return Err(self.invalid(format!(
                "nothing to roll back to: the promotion chain is {chain:?}"
            )));
        };
        self.set_current(&target, action, reason)
    }

    /// Copies the bundle in `src` into the registry under its manifest's version (atomically:
    /// temp dir, fsync, rename); an existing version is left as it is. Returns the version.
    pub fn import(&self, src: &Path) -> Result<String, BundleError> {
        let raw = raw_manifest(src)?;
        let version = raw
            .get("version")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        check_version(&version).map_err(|e| BundleError::Invalid {
            dir: src.to_path_buf(),
            msg: format!("manifest version: {e}"),
        })?;
        let dest = self.bundle_dir(&version);
        if dest.exists() {
            return Ok(version);
        }
        let tmp = self
            .root
            .join(format!(".{version}.import-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        for entry in fs::read_dir(src).map_err(io(src))? {
            let entry = entry.map_err(io(src))?;
            if entry.file_type().map_err(io(src))?.is_file() {
                let to = tmp.join(entry.file_name());
                fs::copy(entry.path(), &to).map_err(io(&to))?;
                fs::File::open(&to)
                    .and_then(|f| f.sync_all())
                    .map_err(io(&to))?;
            }
        }
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        sync_dir(&self.root)?;
        Ok(version)
    }

    /// The weights of `version` match the sha256 its manifest records (a cheap check before
    /// pointing `CURRENT` at it; the full check is `load_bundle`'s).
    fn verify_weights(&self, version: &str) -> Result<(), BundleError> {
        let dir = self.bundle_dir(version);
        let raw = raw_manifest(&dir)?;
        let want = raw
            .get("weights_sha256")
            .and_then(serde_json::Value::as_str);
        let got = sha256_file(&dir.join("model.mpk"))?;
        if want != Some(got.as_str()) {
            return Err(BundleError::Invalid {
                dir,
                msg: format!("model.mpk sha256 {got} differs from the manifest's"),
            });
        }
        Ok(())
    }
}

/// A bundle's manifest as plain JSON (just enough to read its version and weights' hash; the
/// typed, checked read is `load_bundle`'s).
fn raw_manifest(dir: &Path) -> Result<serde_json::Value, BundleError> {
    let path = dir.join("manifest.json");
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|source| BundleError::Json { path, source })
}

fn sync_dir(dir: &Path) -> Result<(), BundleError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bundle(reg: &Registry, version: &str) {
        let dir = reg.bundle_dir(version);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("model.mpk"), version.as_bytes()).unwrap();
        let sha = sha256_file(&dir.join("model.mpk")).unwrap();
        let m = serde_json::json!({"version": version, "weights_sha256": sha});
        fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    }

    #[test]
    fn rollback_walks_back_the_promotion_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::open(tmp.path()).unwrap();
        for v in ["a", "b", "c"] {
            fake_bundle(&reg, v);
        }
        assert_eq!(reg.current().unwrap(), None);
        reg.set_current("a", Action::Import, "first").unwrap();
        reg.set_current("b", Action::Promote, "").unwrap();
        let e = reg.set_current("c", Action::Promote, "").unwrap();
        assert_eq!(e.previous.as_deref(), Some("b"));
        assert_eq!(reg.chain().unwrap(), ["a", "b", "c"]);
        reg.rollback(Action::Rollback, "").unwrap();
        assert_eq!(reg.current().unwrap().as_deref(), Some("b"));
        reg.rollback(Action::Rollback, "").unwrap();
        assert_eq!(reg.current().unwrap().as_deref(), Some("a"));
        assert!(
            reg.rollback(Action::Rollback, "").is_err(),
            "nothing before a"
        );
        assert_eq!(reg.versions().unwrap(), ["a", "b", "c"]);
        assert_eq!(reg.history().unwrap().len(), 5);
    }

    #[test]
    fn refuses_tampered_weights_and_bad_names() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::open(tmp.path()).unwrap();
        fake_bundle(&reg, "a");
        fs::write(reg.bundle_dir("a").join("model.mpk"), b"other").unwrap();
        let e = reg.set_current("a", Action::Promote, "").unwrap_err();
        assert!(e.to_string().contains("sha256"), "{e}");
        assert!(reg.set_current("../x", Action::Promote, "").is_err());
        assert_eq!(reg.current().unwrap(), None, "CURRENT untouched");
    }

    #[test]
    fn a_torn_last_history_line_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::open(tmp.path()).unwrap();
        fake_bundle(&reg, "a");
        reg.set_current("a", Action::Import, "").unwrap();
        let hist = tmp.path().join(HISTORY);
        let mut text = fs::read_to_string(&hist).unwrap();
        text.push_str("{\"at\": \"2026");
        fs::write(&hist, text).unwrap();
        assert_eq!(reg.history().unwrap().len(), 1);
    }
}
