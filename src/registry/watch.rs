//! The running engine's watch on a registry's `CURRENT`: when it names another version, that
//! bundle is loaded and checked off the inference path and swapped into the live `ArcSwap` in one
//! store. A bundle that fails (bad sha256, other feature spec, non-finite smoke forward, a scaler
//! the engine's windows are not scaled with) is refused, logged and counted, and the serving model
//! stays; the same refused version is not retried until `CURRENT` changes again.
//!
//! In: the registry, the live model, a `load` function (the app's checks against its config).
//! Out: swaps of the live model, and [`SwapCounters`].

use super::dir::Registry;
use super::{LiveModel, LoadedModel};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the watch did (read by the summary and the metrics).
#[derive(Debug, Default)]
pub struct SwapCounters {
    pub swaps: AtomicU64,
    pub rejected: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

/// A snapshot of [`SwapCounters`].
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SwapStats {
    pub swaps: u64,
    pub rejected: u64,
    pub last_error: Option<String>,
}

impl SwapCounters {
    pub fn snapshot(&self) -> SwapStats {
        SwapStats {
            swaps: self.swaps.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}

/// Loads and checks one bundle directory (blocking).
pub type Loader = Arc<dyn Fn(&Path) -> Result<LoadedModel, String> + Send + Sync>;

/// Loads `version` from the registry with `load` and swaps it in, counting the swap or the
/// refusal; returns the model now serving, or why it was refused. Every swap of a registry
/// version goes through here: the watch, the API and the shadow trainer. Blocking: call it from
/// a blocking thread.
pub fn swap_to(
    registry: &Registry,
    version: &str,
    live: &LiveModel,
    load: &Loader,
    counters: &SwapCounters,
) -> Result<Arc<LoadedModel>, String> {
    let from = live.load().manifest.version.clone();
    swap_with(registry, version, &from, load, counters, |m| live.store(m))
}

/// [`swap_to`] with the store left to `store` (a replay's shadow trainer schedules it in event
/// time, see [`super::schedule`]); `from` is the version serving now, for the log.
pub fn swap_with(
    registry: &Registry,
    version: &str,
    from: &str,
    load: &Loader,
    counters: &SwapCounters,
    store: impl FnOnce(Arc<LoadedModel>),
) -> Result<Arc<LoadedModel>, String> {
    let res = load(&registry.bundle_dir(version)).and_then(|m| {
        if m.manifest.version == version {
            Ok(m)
        } else {
            Err(format!(
                "its manifest says version {:?}, not {version:?}",
                m.manifest.version
            ))
        }
    });
    match res {
        Ok(model) => {
            let model = Arc::new(model);
            store(model.clone());
            counters.swaps.fetch_add(1, Ordering::Relaxed);
            tracing::info!(from = %from, to = %version, "model swapped");
            Ok(model)
        }
        Err(e) => {
            let msg = format!("model {version} refused, {from} keeps serving: {e}");
            tracing::error!("{msg}");
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = counters.last_error.lock() {
                *last = Some(msg.clone());
            }
            Err(msg)
        }
    }
}

/// Polls `CURRENT` every `interval` until the task is dropped or aborted.
pub async fn watch(
    registry: Registry,
    live: LiveModel,
    load: Loader,
    interval: Duration,
    counters: Arc<SwapCounters>,
) {
    let mut last_seen = Some(live.load().manifest.version.clone());
    loop {
        tokio::time::sleep(interval).await;
        let current = match registry.current() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot read the registry's CURRENT: {e}");
                continue;
            }
        };
        if current.is_none() || current == last_seen {
            continue;
        }
        last_seen.clone_from(&current);
        let Some(version) = current else { continue };
        if version == live.load().manifest.version {
            continue; // swapped in by this process (the shadow trainer) already
        }
        let (reg, lv, ld, ct) = (
            registry.clone(),
            live.clone(),
            load.clone(),
            counters.clone(),
        );
        let joined =
            tokio::task::spawn_blocking(move || swap_to(&reg, &version, &lv, &ld, &ct)).await;
        if let Err(e) = joined {
            tracing::error!("the model loader failed: {e}");
        }
    }
}
