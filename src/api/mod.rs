//! The sidecar HTTP API (axum) a bot beside the engine asks instead of running a model itself.
//!
//! In: the latest-signal store the sink stage writes (`sink::latest`). Out, as JSON:
//! - `GET /healthz`: the process is alive.
//! - `GET /v1/signals/latest`: every symbol's newest signal; `?symbol=BTCUSDT` (and optionally
//!   `&exchange=binance_futures`) one symbol's, 404 when it has none yet.
//! - `GET /v1/signals/stream`: server-sent events, one `signal` event per signal with `id` = its
//!   position in the feed; a client that reconnects with `Last-Event-ID: N` first gets what came
//!   after N from the bounded resume buffer (`api.resume_buffer`), then the live feed; when the
//!   buffer no longer reaches back that far, a `gap` event says so first.
//!
//! - `GET /v1/models`: the serving version, the registry's `CURRENT`, versions, the last changes of
//!   `CURRENT` and the shadow trainer's last decisions.
//! - `POST /v1/models/{version}/promote`, `POST /v1/models/rollback`: need
//!   `Authorization: Bearer <api.token>` (compared in constant time; without a configured token
//!   they are refused); the bundle passes the engine's checks, is swapped in, then `CURRENT` moves.
//!
//! - `GET /readyz`: 200 when a model serves, the source is connected and no symbol has been
//!   idle (or Kafka partition lagged) beyond the limits; 503 with the reasons otherwise.
//! - `GET /metrics`: Prometheus text exposition (`metrics.rs`); `GET /v1/stats`: the same run's
//!   counters and per-stage latency percentiles as JSON (exact hdrhistogram percentiles).
//! - `GET /`: the dashboard page (`dashboard.html`, no build step); `GET /v1/openapi.json`: the
//!   API's description (`schemas/openapi.json`, which a test checks the server against).
//!
//! Errors are `{"error": "..."}` with the status. Binds 127.0.0.1 by default; the config refuses
//! a non-loopback address without a token. Limits: 16 KiB request bodies, `api.max_stream_clients`
//! open streams (503 beyond), `api.stream_connects_per_sec` new streams (429 beyond).

use crate::config::{ApiConfig, Config};
use crate::event::{Exchange, Symbol};
use crate::registry::watch::{Loader, SwapCounters};
use crate::registry::{LiveModel, Registry};
use crate::sink::latest::{LatestSignals, Numbered};
use crate::telemetry::live::LiveMetrics;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};

#[derive(Clone)]
struct ApiState {
    latest: Arc<LatestSignals>,
    models: ModelControl,
    token: Option<Arc<str>>,
    metrics: Arc<LiveMetrics>,
    ready: Readiness,
    streams: Arc<StreamLimits>,
}

/// What the API serves from: the signals, the model, the live numbers.
pub struct EngineView {
    pub latest: Arc<LatestSignals>,
    pub models: ModelControl,
    pub metrics: Arc<LiveMetrics>,
    pub ready: Readiness,
}

/// The limits `/readyz` checks.
#[derive(Clone, Copy, Debug)]
pub struct Readiness {
    pub max_idle: std::time::Duration,
    pub max_kafka_lag: i64,
}

impl Readiness {
    pub fn from_config(cfg: &Config) -> Self {
        let idle = cfg
            .api
            .ready_max_idle_secs
            .unwrap_or(3 * cfg.features.bar_interval_secs);
        Self {
            max_idle: std::time::Duration::from_secs(idle),
            max_kafka_lag: cfg.api.ready_max_kafka_lag,
        }
    }
}

/// What the API sees of the model and may do with it.
#[derive(Clone)]
pub struct ModelControl {
    pub live: LiveModel,
    pub registry: Option<Registry>,
    /// The engine's checks on a bundle before it serves.
    pub loader: Loader,
    /// The engine's swap counters (a promotion through the API is a swap).
    pub counters: Arc<SwapCounters>,
}

/// A running API server.
pub struct ApiServer {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// Binds `cfg.bind` and serves until [`ApiServer::stop`].
    pub async fn start(cfg: &ApiConfig, view: EngineView) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(&cfg.bind).await?;
        let addr = listener.local_addr()?;
        let token = cfg.token().map(Arc::from);
        let app = router(ApiState {
            latest: view.latest,
            models: view.models,
            token,
            metrics: view.metrics,
            ready: view.ready,
            streams: Arc::new(StreamLimits::new(
                cfg.max_stream_clients,
                cfg.stream_connects_per_sec,
            )),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("the API server failed: {e}");
            }
        });
        tracing::info!(%addr, "api listening");
        Ok(Self { addr, stop, task })
    }

    /// Stops accepting, ends open streams, and waits for the server.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        // Open event streams never end by themselves: give them a moment, then drop them.
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::prometheus))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/stats", get(stats))
        .route("/v1/signals/latest", get(latest))
        .route("/v1/signals/stream", get(stream_signals))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{version}/promote", post(models::promote))
        .route("/v1/models/rollback", post(models::rollback))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method",
            )
        })
        .with_state(state)
}

mod health;
mod metrics;
mod models;

/// The dashboard: one static page that reads the API (no build step).
async fn dashboard() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("dashboard.html"))
}

/// The run's counters and each stage's latency percentiles (what the dashboard shows).
async fn stats(State(s): State<ApiState>) -> Json<serde_json::Value> {
    use crate::telemetry::live::Stage;
    use std::sync::atomic::Ordering::Relaxed;
    let m = &s.metrics;
    let stages: serde_json::Map<String, serde_json::Value> = Stage::ALL
        .iter()
        .map(|st| (st.name().to_string(), serde_json::json!(m.summary(*st))))
        .collect();
    let events: u64 = m.events_in().iter().sum();
    Json(serde_json::json!({
        "uptime_secs": m.uptime().as_secs_f64(),
        "model_version": s.models.live.load().manifest.version.clone(),
        "events_in": events,
        "windows": m.windows.load(Relaxed),
        "signals": m.signals.load(Relaxed),
        "long_signals": m.long_signals.load(Relaxed),
        "stream_clients": s.streams.clients(),
        "stages": stages,
    }))
}

/// The OpenAPI description of this API.
async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../../schemas/openapi.json"),
    )
        .into_response()
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(serde::Deserialize)]
struct LatestQuery {
    symbol: Option<String>,
    exchange: Option<Exchange>,
}

async fn latest(
    State(s): State<ApiState>,
    q: Result<Query<LatestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let Some(raw) = q.symbol else {
        let all: Vec<_> = s.latest.all().iter().map(|a| (**a).clone()).collect();
        return Json(all).into_response();
    };
    let Ok(symbol) = Symbol::try_from(raw.clone()) else {
        return error(StatusCode::BAD_REQUEST, &format!("{raw:?} is not a symbol"));
    };
    let found = match q.exchange {
        Some(e) => s.latest.get(e, &symbol),
        None => s.latest.all().into_iter().find(|sig| sig.symbol == symbol),
    };
    match found {
        Some(sig) => Json((*sig).clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("no signal for {symbol} yet"),
        ),
    }
}

/// The stream's state: what is owed from the resume buffer, the live feed, the last id sent.
struct Feed {
    backlog: VecDeque<Numbered>,
    rx: broadcast::Receiver<Numbered>,
    last: u64,
    latest: Arc<LatestSignals>,
    gap: Option<u64>,
    /// Holds this client's place among `api.max_stream_clients` until the stream is dropped.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// How many stream clients may be open, and how fast new ones may come.
struct StreamLimits {
    open: Arc<tokio::sync::Semaphore>,
    max_open: usize,
    /// A token bucket: (tokens, when last refilled).
    bucket: std::sync::Mutex<(f64, std::time::Instant)>,
    per_sec: f64,
}

impl StreamLimits {
    fn new(max_open: usize, per_sec: u32) -> Self {
        Self {
            open: Arc::new(tokio::sync::Semaphore::new(max_open)),
            max_open,
            #[allow(clippy::disallowed_methods)] // a rate limit runs on the wall clock
            bucket: std::sync::Mutex::new((f64::from(per_sec), std::time::Instant::now())),
            per_sec: f64::from(per_sec),
        }
    }

    /// Takes a token for one new connection; false when the rate is exceeded.
    fn admit(&self) -> bool {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        #[allow(clippy::disallowed_methods)]
        let now = std::time::Instant::now();
        let refill = now.saturating_duration_since(b.1).as_secs_f64() * self.per_sec;
        *b = ((b.0 + refill).min(self.per_sec), now);
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }

    /// Open stream clients now.
    fn clients(&self) -> usize {
        self.max_open - self.open.available_permits()
    }
}

fn too_many(status: StatusCode, msg: &str) -> Response {
    let mut r = error(status, msg);
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    r
}

async fn stream_signals(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    let Ok(slot) = s.streams.open.clone().try_acquire_owned() else {
        return too_many(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open streams (api.max_stream_clients)",
        );
    };
    if !s.streams.admit() {
        return too_many(
            StatusCode::TOO_MANY_REQUESTS,
            "new streams are arriving too fast (api.stream_connects_per_sec)",
        );
    }
    // Subscribe before reading the buffer, so nothing falls between the two.
    let rx = s.latest.subscribe();
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (backlog, last, gap) = match resume {
        Some(n) => {
            let (after, complete) = s.latest.since(n);
            (after.into(), n, (!complete).then_some(n))
        }
        None => (VecDeque::new(), s.latest.last_seq(), None),
    };
    let feed = Feed {
        backlog,
        rx,
        last,
        latest: s.latest.clone(),
        gap,
        _slot: slot,
    };
    Sse::new(stream::unfold(feed, next_event))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn next_event(mut f: Feed) -> Option<(Result<Event, Infallible>, Feed)> {
    if let Some(after) = f.gap.take() {
        let ev = Event::default().event("gap").data(format!(
            "signals after {after} are older than the resume buffer; the stream goes on from the oldest kept"
        ));
        return Some((Ok(ev), f));
    }
    loop {
        let n = match f.backlog.pop_front() {
            Some(n) => n,
            None => match f.rx.recv().await {
                Ok(n) => n,
                Err(RecvError::Lagged(_)) => {
                    // This client fell behind the broadcast: catch up from the resume buffer.
                    let (after, _) = f.latest.since(f.last);
                    f.backlog.extend(after);
                    continue;
                }
                Err(RecvError::Closed) => return None,
            },
        };
        if n.seq <= f.last {
            continue; // already sent (the backlog and the live feed overlap)
        }
        f.last = n.seq;
        let data = serde_json::to_string(&*n.signal).unwrap_or_default();
        let ev = Event::default()
            .id(n.seq.to_string())
            .event("signal")
            .data(data);
        return Some((Ok(ev), f));
    }
}
