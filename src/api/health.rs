//! `GET /readyz`: whether a bot may trust this engine's signals now, and why not.
//!
//! Ready means: a model serves; the source is connected (replay files still being read, Kafka
//! partitions assigned and none lagging beyond `api.ready_max_kafka_lag`, every websocket
//! connection up); market data has arrived, and no symbol has gone without an event for longer
//! than `api.ready_max_idle_secs`. 200 `{"ready": true, ...}` or 503 with `reasons`.

use super::ApiState;
use crate::telemetry::live::SourceProbe;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::atomic::Ordering;

pub(super) async fn readyz(State(s): State<ApiState>) -> Response {
    let mut reasons: Vec<String> = Vec::new();
    let model = s.models.live.load().manifest.version.clone();
    let source = source_check(&s, &mut reasons);
    let symbols = s.metrics.symbols();
    if symbols.is_empty() {
        reasons.push("no market data has arrived yet".into());
    }
    let limit = s.ready.max_idle;
    let mut idle_max = 0.0f64;
    for ((exchange, symbol), seen) in &symbols {
        let idle = seen.at.elapsed();
        idle_max = idle_max.max(idle.as_secs_f64());
        if idle > limit {
            reasons.push(format!(
                "{symbol} on {}: no event for {:.0} s (limit {} s, api.ready_max_idle_secs)",
                exchange.as_str(),
                idle.as_secs_f64(),
                limit.as_secs()
            ));
        }
    }
    let ready = reasons.is_empty();
    let body = json!({
        "ready": ready,
        "reasons": reasons,
        "model_version": model,
        "source": source,
        "symbols": symbols.len(),
        "max_symbol_idle_secs": idle_max,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The source's state for the body; its problems go to `reasons`.
fn source_check(s: &ApiState, reasons: &mut Vec<String>) -> serde_json::Value {
    match s.metrics.source() {
        None => {
            reasons.push("the source has not started".into());
            json!({ "kind": "none" })
        }
        Some(SourceProbe::Files { done }) => {
            let done = done.load(Ordering::Relaxed);
            if done {
                reasons.push("the replay has read all its files".into());
            }
            json!({ "kind": "files", "reading": !done })
        }
        Some(SourceProbe::Kafka { lag, assigned, .. }) => {
            let assigned = assigned();
            if assigned == 0 {
                reasons.push("no Kafka partition is assigned to this consumer".into());
            }
            let lag = lag.lock().map(|l| l.clone()).unwrap_or_default();
            for (tp, n) in &lag {
                if *n > s.ready.max_kafka_lag {
                    reasons.push(format!(
                        "Kafka partition {tp} lags {n} messages (limit {}, api.ready_max_kafka_lag)",
                        s.ready.max_kafka_lag
                    ));
                }
            }
            let max_lag = lag.values().copied().max();
            json!({ "kind": "kafka", "assigned_partitions": assigned, "max_lag": max_lag })
        }
        Some(SourceProbe::Websocket(feeds)) => {
            let mut out = Vec::new();
            for (name, stats, shards) in feeds {
                let up = stats.shards_up.load(Ordering::Relaxed);
                if up < *shards {
                    reasons.push(format!(
                        "websocket feed {name}: {up} of {shards} connections up"
                    ));
                }
                out.push(json!({ "feed": name, "connections": shards, "up": up }));
            }
            json!({ "kind": "websocket", "feeds": out })
        }
    }
}
