//! The model a pipeline serves: a fixed bundle (`model.dir`), or a registry's `CURRENT`
//! (`model.registry`) with a watch that swaps the live model when `CURRENT` moves.
//!
//! The feature engines scale windows with the scaler the engine started with (fitted mode) or
//! with their own streaming state (streaming mode). A swap therefore keeps the scaling: in fitted
//! mode a bundle whose scaler differs is refused with a clear error (restart the engine to change
//! scalers), so a window is never scored by weights trained on other scaling. The shadow trainer's
//! challengers learn from the windows as served and keep the champion's scaler.

use super::{AppError, load_checked_model, stages};
use crate::config::{Config, ScalingMode};
use crate::features::{FeatureEngine, FeatureSpec, Scaling};
use crate::registry::schedule::SwapSchedule;
use crate::registry::watch::{Loader, SwapCounters, SwapStats, watch};
use crate::registry::{Action, LiveModel, LoadedModel, Registry, live};
use crate::scaling::{RobustScaler, StreamingScaler};
use crate::telemetry::live::LiveMetrics;
use crate::trainer::shadow::{self, ShadowContext, ShadowHandle, ShadowStats, ShadowTx};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(super) struct Serving {
    pub live: LiveModel,
    pub registry: Option<Registry>,
    pub loader: Loader,
    pub counters: Arc<SwapCounters>,
    watch: Option<tokio::task::JoinHandle<()>>,
    shadow: Option<ShadowHandle>,
}

/// What serving did, for the summary.
pub(super) struct ServingOutcome {
    pub models: Option<SwapStats>,
    pub shadow: Option<ShadowStats>,
}

/// The bundle directory to serve: `model_dir`, or the registry's `CURRENT` (after importing
/// `model_dir` as the first version of an empty registry).
fn resolve(cfg: &Config, model_dir: &Path) -> Result<(PathBuf, Option<Registry>), AppError> {
    let Some(root) = &cfg.model.registry else {
        return Ok((model_dir.to_path_buf(), None));
    };
    let reg = Registry::open(root)?;
    let version = match reg.current()? {
        Some(v) => v,
        None => {
            let v = reg.import(model_dir)?;
            let why = format!("first bundle, from {}", model_dir.display());
            reg.set_current(&v, Action::Import, &why)?;
            tracing::info!(version = %v, registry = %root.display(), "registry initialised");
            v
        }
    };
    Ok((reg.bundle_dir(&version), Some(reg)))
}

impl Serving {
    /// Loads the serving bundle, checked against the config; also returns the factory of
    /// feature engines that scale as the config says.
    pub fn open(
        cfg: &Config,
        config_name: &str,
        model_dir: &Path,
    ) -> Result<(Self, stages::EngineFactory), AppError> {
        let spec =
            FeatureSpec::new(&cfg.features.names).map_err(|e| AppError::Config(e.to_string()))?;
        let (dir, registry) = resolve(cfg, model_dir)?;
        let model = load_checked_model(cfg, config_name, &dir, &spec)?;
        tracing::info!(
            version = %model.manifest.version,
            on = %model.serving_on(),
            "serving model loaded"
        );
        let scaler = match cfg.features.scaling {
            ScalingMode::Fitted => Scaling::Fitted(Arc::new(model.scaler.clone())),
            ScalingMode::Streaming => Scaling::Streaming(Box::new(match &model.streaming {
                Some(st) => st.clone(),
                None => StreamingScaler::from_fitted(&model.scaler, cfg.features.streaming())
                    .map_err(|e| AppError::Config(format!("streaming scaler: {e}")))?,
            })),
        };
        let fixed_scaler = match cfg.features.scaling {
            ScalingMode::Fitted => Some(model.scaler.clone()),
            ScalingMode::Streaming => None,
        };
        let loader = make_loader(cfg, config_name, spec.clone(), fixed_scaler);
        let (policy, bar_source) = (cfg.features.policy(), cfg.features.bar_source);
        let make: stages::EngineFactory = Arc::new(move || {
            FeatureEngine::new(spec.clone(), scaler.clone(), policy).with_bar_source(bar_source)
        });
        let serving = Self {
            live: live(model),
            registry,
            loader,
            counters: Arc::new(SwapCounters::default()),
            watch: None,
            shadow: None,
        };
        Ok((serving, make))
    }

    /// What the sidecar API sees of the model and may do with it.
    pub fn control(&self) -> crate::api::ModelControl {
        crate::api::ModelControl {
            live: self.live.clone(),
            registry: self.registry.clone(),
            loader: self.loader.clone(),
            counters: self.counters.clone(),
        }
    }

    /// Starts watching the registry's `CURRENT` (no-op without a registry). Needs a runtime.
    pub fn start_watch(&mut self, interval: Duration) {
        if let Some(reg) = &self.registry {
            self.watch = Some(tokio::spawn(watch(
                reg.clone(),
                self.live.clone(),
                self.loader.clone(),
                interval,
                self.counters.clone(),
            )));
        }
    }

    /// Starts the shadow trainer when `[shadow] enabled`; the sender goes to the feature stage.
    /// `lockstep`: a replay keeps the trainer in step with the data (see `ShadowContext`).
    pub fn start_shadow(
        &mut self,
        cfg: &Config,
        lockstep: bool,
        metrics: &LiveMetrics,
    ) -> Result<Option<ShadowTx>, AppError> {
        let (true, Some(registry)) = (cfg.shadow.enabled, &self.registry) else {
            return Ok(None);
        };
        // Refits run on train.device (else model.device): refuse one that cannot be used now,
        // not at the first refit hours later.
        let (device, precision) = cfg.train_compute();
        crate::model::backend::probe(device, precision).map_err(|e| {
            AppError::Config(format!("train.device (the shadow trainer's refits): {e}"))
        })?;
        let ctx = ShadowContext {
            config: cfg.clone(),
            registry: registry.clone(),
            live: self.live.clone(),
            loader: self.loader.clone(),
            counters: self.counters.clone(),
            lockstep,
        };
        let (tx, handle) = shadow::start(ctx)
            .map_err(|e| AppError::Stage(format!("cannot start the shadow trainer: {e}")))?;
        metrics.attach_shadow(handle.probe());
        self.shadow = Some(handle);
        Ok(Some(tx))
    }

    /// A replay's shadow trainer's swaps in event time (see `ShadowContext::lockstep`).
    pub fn schedule(&self) -> Option<SwapSchedule<LoadedModel>> {
        self.shadow.as_ref().and_then(ShadowHandle::schedule)
    }

    /// Shutdown requested: the shadow trainer starts no refit and stops the one in flight.
    pub fn interrupt(&self) {
        if let Some(h) = &self.shadow {
            h.cancel();
        }
    }

    /// Stops the watch and waits for the shadow trainer (whose input has closed once the feature
    /// stage ended; a refit in flight is cancelled); what they did.
    pub async fn finish(&mut self) -> ServingOutcome {
        if let Some(w) = self.watch.take() {
            w.abort();
        }
        let shadow = match self.shadow.take() {
            Some(h) => tokio::task::spawn_blocking(move || h.join()).await.ok(),
            None => None,
        };
        ServingOutcome {
            models: self.registry.as_ref().map(|_| self.counters.snapshot()),
            shadow,
        }
    }
}

/// The checks a bundle passes before it may replace the serving one: everything `load_bundle`
/// checks, the config's window length and bar interval, and (fitted scaling) the same scaler.
fn make_loader(
    cfg: &Config,
    config_name: &str,
    spec: FeatureSpec,
    fixed_scaler: Option<RobustScaler>,
) -> Loader {
    let (cfg, name) = (cfg.clone(), config_name.to_string());
    Arc::new(move |dir: &Path| {
        let m = load_checked_model(&cfg, &name, dir, &spec).map_err(|e| e.to_string())?;
        if let Some(s) = &fixed_scaler
            && *s != m.scaler
        {
            return Err(format!(
                "{}: its scaler differs from the one the engine scales windows with (features.scaling = \"fitted\"); restart the engine to serve it, or use streaming scaling",
                dir.display()
            ));
        }
        Ok(m)
    })
}
