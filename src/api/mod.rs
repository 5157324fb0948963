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
//! Errors are `{"error": "..."}` with the status. Binds 127.0.0.1 by default; the config refuses
//! a non-loopback address without a token. (Readiness and metrics endpoints, the OpenAPI
//! description and the dashboard are the rest of issue 8.)

use crate::config::ApiConfig;
use crate::event::{Exchange, Symbol};
use crate::registry::watch::{Loader, SwapCounters};
use crate::registry::{LiveModel, Registry};
use crate::sink::latest::{LatestSignals, Numbered};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
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
    pub async fn start(
        cfg: &ApiConfig,
        latest: Arc<LatestSignals>,
        models: ModelControl,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(&cfg.bind).await?;
        let addr = listener.local_addr()?;
        let token = cfg.token().map(Arc::from);
        let app = router(ApiState {
            latest,
            models,
            token,
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
        .route("/healthz", get(healthz))
        .route("/v1/signals/latest", get(latest))
        .route("/v1/signals/stream", get(stream_signals))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{version}/promote", post(models::promote))
        .route("/v1/models/rollback", post(models::rollback))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(state)
}

mod models;

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

async fn latest(State(s): State<ApiState>, Query(q): Query<LatestQuery>) -> Response {
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
}

async fn stream_signals(
    State(s): State<ApiState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
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
    };
    Sse::new(stream::unfold(feed, next_event)).keep_alive(KeepAlive::default())
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
