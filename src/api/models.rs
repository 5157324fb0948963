//! `/v1/models`: what serves, the registry and its history, the shadow trainer's decisions; and
//! the two mutating endpoints, promote and rollback, behind the bearer token.

use super::{ApiState, error};
use crate::registry::watch::swap_to;
use crate::registry::{Action, HistoryEntry, LoadedModel};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// How many history entries and decisions `GET /v1/models` returns (the newest).
const TAIL: usize = 20;

pub(super) async fn list(State(s): State<ApiState>) -> Response {
    let serving = s.models.live.load().manifest.version.clone();
    let Some(reg) = s.models.registry.clone() else {
        return Json(serde_json::json!({ "serving": serving, "registry": null })).into_response();
    };
    let read = tokio::task::spawn_blocking(move || {
        let decisions: Vec<serde_json::Value> =
            std::fs::read_to_string(reg.root().join("decisions.jsonl"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
        let history = reg.history()?;
        Ok::<_, crate::registry::BundleError>(serde_json::json!({
            "registry": reg.root(),
            "current": reg.current()?,
            "versions": reg.versions()?,
            "history": tail(history),
            "decisions": tail(decisions),
        }))
    })
    .await;
    match read {
        Ok(Ok(mut v)) => {
            v["serving"] = serving.into();
            Json(v).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn tail<T>(mut v: Vec<T>) -> Vec<T> {
    let n = v.len().saturating_sub(TAIL);
    v.drain(..n);
    v
}

/// Equal lengths and bytes, in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `None` when the request carries the configured bearer token, else the refusal.
fn refuse_unless_authorised(s: &ApiState, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &s.token else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "model control is disabled: set api.token or SIGNAL_ENGINE_API_TOKEN",
        ));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        None
    } else {
        Some(error(
            StatusCode::UNAUTHORIZED,
            "a valid `Authorization: Bearer <token>` is required",
        ))
    }
}

pub(super) async fn promote(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> Response {
    if let Some(r) = refuse_unless_authorised(&s, &headers) {
        return r;
    }
    change(s, move |_, _| Ok(version.clone()), Action::Promote).await
}

pub(super) async fn rollback(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(r) = refuse_unless_authorised(&s, &headers) {
        return r;
    }
    let target = |reg: &crate::registry::Registry, _: &LoadedModel| {
        let chain = reg.chain().map_err(|e| e.to_string())?;
        chain
            .len()
            .checked_sub(2)
            .map(|i| chain[i].clone())
            .ok_or_else(|| format!("nothing to roll back to: the promotion chain is {chain:?}"))
    };
    change(s, target, Action::Rollback).await
}

/// Loads and checks the target bundle, swaps it in, then moves `CURRENT` (the order the shadow
/// trainer uses, so the registry watch has nothing left to do).
async fn change(
    s: ApiState,
    target: impl Fn(&crate::registry::Registry, &LoadedModel) -> Result<String, String> + Send + 'static,
    action: Action,
) -> Response {
    let Some(reg) = s.models.registry.clone() else {
        return error(
            StatusCode::CONFLICT,
            "the engine serves a fixed bundle: set model.registry to control models",
        );
    };
    let m = s.models.clone();
    let done =
        tokio::task::spawn_blocking(move || -> Result<HistoryEntry, (StatusCode, String)> {
            let serving = m.live.load_full();
            let version = target(&reg, &serving).map_err(|e| (StatusCode::CONFLICT, e))?;
            crate::registry::dir::check_version(&version)
                .map_err(|e| (StatusCode::BAD_REQUEST, e))?;
            if !reg.bundle_dir(&version).join("manifest.json").is_file() {
                return Err((
                    StatusCode::NOT_FOUND,
                    format!("no version {version:?} in the registry"),
                ));
            }
            swap_to(&reg, &version, &m.live, &m.loader, &m.counters)
                .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e))?;
            let entry = match action {
                Action::Rollback => reg.rollback(action, "api"),
                _ => reg.set_current(&version, action, "api"),
            };
            entry.map_err(|e| {
                m.live.store(serving);
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            })
        })
        .await;
    match done {
        Ok(Ok(entry)) => Json(entry).into_response(),
        Ok(Err((status, msg))) => error(status, &msg),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_by_length_and_every_byte() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre7"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret!"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
