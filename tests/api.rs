//! The sidecar API on a running engine (the real binary replaying the demo), spoken to over
//! plain HTTP/1.1 from a TCP socket: health and readiness, the latest signals (all, one symbol,
//! unknown symbol), the server-sent event stream live and resumed with `Last-Event-ID`, model
//! control behind the bearer token, JSON errors; the server against its OpenAPI description;
//! `/metrics` through Prometheus' own parser; the stream client limits.
#![allow(clippy::disallowed_methods)] // waits on a real process with wall-clock deadlines

mod common;

use common::api_engine::{ApiEngine, get, open_stream, post, request, stream_ids};
use common::save_as_version;
use signal_engine::config::Config;
use signal_engine::features::FeatureSpec;
use signal_engine::registry::{Action, Registry, load_bundle};
use std::path::Path;
use std::time::Duration;

#[test]
fn a_bot_reads_latest_signals_and_the_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A registry serving the bundled model, with a second version of it to promote.
    let registry = tmp.path().join("registry");
    let reg = Registry::open(&registry).unwrap();
    let first = reg.import(&root.join("models/default")).unwrap();
    reg.set_current(&first, Action::Import, "test").unwrap();
    let spec = FeatureSpec::new(&Config::load(None).unwrap().0.features.names).unwrap();
    let m = load_bundle(&reg.bundle_dir(&first), &spec).unwrap();
    save_as_version(&reg, &m, "api-b", None);
    let engine = ApiEngine::start(tmp.path(), Some(&registry), 600, "");
    let addr = engine.addr.clone();
    assert_eq!(
        get(&addr, "/healthz"),
        (200, r#"{"status":"ok"}"#.to_string())
    );
    let (status, body) = get(&addr, "/v1/signals/latest?symbol=NOPE");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    assert_eq!(get(&addr, "/nowhere").0, 404);
    let all = engine.wait_for_signals();
    // Replaying, data flowing, a model serving: ready.
    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["source"]["kind"], "files", "{ready}");
    assert_eq!(ready["symbols"], 2, "{ready}");
    let symbols: Vec<&str> = all.iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols, ["LINKUSDT", "NEARUSDT"]);
    let (status, body) = get(&addr, "/v1/signals/latest?symbol=LINKUSDT");
    assert_eq!(status, 200, "{body}");
    let one: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(one["symbol"], "LINKUSDT");
    assert!(one["p_profitable"].as_f64().is_some());

    // Live: consecutive ids. Resumed after id 1: the buffer replays from id 2 on.
    let live = stream_ids(&addr, None, 3);
    assert!(live.windows(2).all(|w| w[1] == w[0] + 1), "{live:?}");
    assert_eq!(stream_ids(&addr, Some(1), 3), [2, 3, 4]);

    // Model control: read freely; change only with the token; refused changes move nothing.
    let models = |addr: &str| -> serde_json::Value {
        let (status, body) = get(addr, "/v1/models");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let v = models(&addr);
    assert_eq!(v["serving"], first.as_str());
    assert_eq!(v["current"], first.as_str());
    assert!(
        v["versions"].as_array().unwrap().contains(&"api-b".into()),
        "{v}"
    );
    assert_eq!(post(&addr, "/v1/models/api-b/promote", "").0, 401);
    let wrong = "Authorization: Bearer s3cre7\r\n";
    assert_eq!(post(&addr, "/v1/models/api-b/promote", wrong).0, 401);
    assert_eq!(models(&addr)["serving"], first.as_str(), "nothing moved");
    let auth = "Authorization: Bearer s3cret\r\n";
    let (status, body) = post(&addr, "/v1/models/nope/promote", auth);
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(&addr, "/v1/models/api-b/promote", auth);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\":\"api-b\""), "{body}");
    let v = models(&addr);
    assert_eq!(
        (v["serving"].as_str(), v["current"].as_str()),
        (Some("api-b"), Some("api-b"))
    );
    let (status, body) = post(&addr, "/v1/models/rollback", auth);
    assert_eq!(status, 200, "{body}");
    assert_eq!(models(&addr)["serving"], first.as_str());

    engine.stop();
}

/// The OpenAPI description, and a validator for one response of it.
struct OpenApi(serde_json::Value);

impl OpenApi {
    fn load() -> Self {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.json");
        Self(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
    }

    /// The JSON pointer of `path`/`method`'s response `status` (following a `$ref` to
    /// `components/responses`), or None when the status is not documented.
    fn response(&self, path: &str, method: &str, status: u16) -> Option<String> {
        let esc = path.replace('~', "~0").replace('/', "~1");
        let mut ptr = format!("/paths/{esc}/{method}/responses/{status}");
        let r = self.0.pointer(&ptr)?;
        if let Some(target) = r.get("$ref").and_then(|v| v.as_str()) {
            ptr = target.trim_start_matches('#').to_string();
        }
        Some(ptr)
    }

    /// Checks one reply against the description: its status is documented, its content type
    /// is the documented one, and a JSON body validates against the documented schema.
    fn check(&self, path: &str, method: &str, reply: &common::api_engine::Reply) {
        let ptr = self
            .response(path, method, reply.status)
            .unwrap_or_else(|| {
                panic!(
                    "{method} {path}: status {} not in the OpenAPI description: {}",
                    reply.status, reply.body
                )
            });
        let content = self.0.pointer(&format!("{ptr}/content")).unwrap();
        let ctype = reply.header("content-type").unwrap_or("");
        let (media, _) = content
            .as_object()
            .unwrap()
            .iter()
            .find(|(m, _)| ctype.starts_with(m.as_str()))
            .unwrap_or_else(|| panic!("{method} {path}: content type {ctype:?} not documented"));
        if media == "application/json" {
            let mut schema = self.0.clone();
            schema["$ref"] = format!("#{ptr}/content/application~1json/schema").into();
            let v = jsonschema::validator_for(&schema).unwrap();
            let body: serde_json::Value = serde_json::from_str(&reply.body)
                .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", reply.body));
            common::assert_valid(&v, &body);
        }
    }
}

/// Every documented endpoint answers as documented; the description's Signal is the signal
/// schema; `/metrics` parses with Prometheus' own parser and carries the live numbers; stream
/// clients beyond the limits are turned away with a JSON error and `Retry-After`.
#[test]
fn the_server_matches_its_openapi_description_metrics_and_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = tmp.path().join("registry");
    let limits = "max_stream_clients = 3\nstream_connects_per_sec = 2\n";
    let engine = ApiEngine::start(tmp.path(), Some(&registry), 600, limits);
    let addr = engine.addr.clone();
    engine.wait_for_signals();
    let api = OpenApi::load();

    // The description's Signal is schemas/signal.schema.json (less its $schema and $id).
    let mut sig: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/signal.schema.json")).unwrap(),
    )
    .unwrap();
    let o = sig.as_object_mut().unwrap();
    o.remove("$schema");
    o.remove("$id");
    assert_eq!(api.0["components"]["schemas"]["Signal"], sig);

    // Stream limits first, while the rate bucket is full: 2 new streams at once, the third too
    // fast (429); a second later a third fits, a fourth is one too many (503).
    std::thread::sleep(Duration::from_millis(1_100));
    let a = open_stream(&addr, None);
    let b = open_stream(&addr, None);
    for (_, head) in [&a, &b] {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    let r = request(&addr, "GET", "/v1/signals/stream", "");
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    api.check("/v1/signals/stream", "get", &r);
    std::thread::sleep(Duration::from_millis(1_100));
    let c = open_stream(&addr, None);
    assert!(c.1.starts_with("HTTP/1.1 200"), "{}", c.1);
    let r = request(&addr, "GET", "/v1/signals/stream", "");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("api.max_stream_clients"), "{}", r.body);
    api.check("/v1/signals/stream", "get", &r);
    let metrics = request(&addr, "GET", "/metrics", "");
    drop((a, b, c));

    // Every documented GET without parameters, then the parameterised and mutating ones.
    let paths = api.0["paths"].as_object().unwrap();
    for (path, ops) in paths {
        if path.contains('{') || path == "/v1/signals/stream" || ops.get("get").is_none() {
            continue;
        }
        let r = request(&addr, "GET", path, "");
        assert_ne!(r.status, 404, "{path} is documented but not served");
        api.check(path, "get", &r);
    }
    for q in [
        "?symbol=LINKUSDT",
        "?symbol=linkusdt&exchange=binance_futures",
        "?symbol=NOPE",
        "?symbol=%20",
        "?symbol=LINKUSDT&exchange=nasdaq",
    ] {
        let r = request(&addr, "GET", &format!("/v1/signals/latest{q}"), "");
        api.check("/v1/signals/latest", "get", &r);
    }
    let auth = "Authorization: Bearer s3cret\r\n";
    for (path, extra, want) in [
        ("/v1/models/nope/promote", "", 401),
        ("/v1/models/nope/promote", auth, 404),
        ("/v1/models/..%2Fx/promote", auth, 400),
        ("/v1/models/rollback", "", 401),
        ("/v1/models/rollback", auth, 409),
    ] {
        let r = request(
            &addr,
            "POST",
            path,
            &format!("{extra}Content-Length: 0\r\n"),
        );
        assert_eq!(r.status, want, "{path}: {}", r.body);
        let doc = if path.ends_with("/promote") {
            "/v1/models/{version}/promote"
        } else {
            path
        };
        api.check(doc, "post", &r);
    }
    let r = request(&addr, "GET", "/", "");
    assert!(r.body.contains("signal-engine"), "{}", r.body);
    // Every refusal is a JSON error, a wrong method and a bad query included.
    let r = request(&addr, "DELETE", "/v1/models", "");
    assert_eq!(r.status, 405, "{}", r.body);
    assert!(r.body.starts_with("{\"error\":"), "{}", r.body);
    let r = request(
        &addr,
        "GET",
        "/v1/signals/latest?symbol=X&exchange=nasdaq",
        "",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.starts_with("{\"error\":"), "{}", r.body);

    // /metrics: the reference parser reads it, and it carries this run's numbers.
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let families = parse_prometheus(&metrics.body);
    let value = |family: &str, labels: &[(&str, &str)]| -> f64 {
        families[family]["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| labels.iter().all(|(k, v)| s[1][*k].as_str() == Some(*v)))
            .map(|s| s[2].as_f64().unwrap())
            .sum()
    };
    assert!(value("signal_engine_events_in", &[("kind", "bar")]) > 0.0);
    assert!(value("signal_engine_windows", &[]) > 0.0);
    assert!(value("signal_engine_signals", &[]) > 0.0);
    assert_eq!(value("signal_engine_stream_clients", &[]), 3.0);
    assert_eq!(
        families["signal_engine_stage_latency_seconds"]["type"],
        "histogram"
    );
    for stage in [
        "ingest_to_features",
        "features_to_batch",
        "batch_wait",
        "inference",
        "sink",
        "end_to_end",
    ] {
        let n = value(
            "signal_engine_stage_latency_seconds",
            &[("stage", stage), ("le", "+Inf")],
        );
        assert!(n > 0.0, "{stage}: no latencies");
    }
    let version = Registry::open(&registry)
        .unwrap()
        .current()
        .unwrap()
        .unwrap();
    assert_eq!(
        value("signal_engine_model_info", &[("version", &version)]),
        1.0
    );
    assert_eq!(families["signal_engine_dropped"]["type"], "counter");
    assert!(families.contains_key("signal_engine_symbol_idle_seconds"));
    engine.stop();
}

/// Families of a Prometheus text exposition as read by `prometheus_client` (the reference
/// parser, in the oracle venv); without that venv, a structural check of the lines here.
fn parse_prometheus(text: &str) -> serde_json::Map<String, serde_json::Value> {
    use std::io::Write;
    let Ok(python) = std::env::var("SIGNAL_ENGINE_PYTHON") else {
        eprintln!("SIGNAL_ENGINE_PYTHON unset: /metrics checked without the reference parser");
        return parse_prometheus_here(text);
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_prometheus.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The same shape as `check_prometheus.py` prints (counters lose `_total`, as there), from a
/// line-by-line read: every sample follows its family's TYPE line and has a numeric value.
fn parse_prometheus_here(text: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let family = match kind {
                "counter" => name.trim_end_matches("_total").to_string(),
                _ => name.to_string(),
            };
            out.insert(
                family.clone(),
                serde_json::json!({"type": kind, "samples": []}),
            );
            current = family;
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.replace("+Inf", "inf").parse().unwrap();
        let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
        assert!(
            name.starts_with(&current),
            "{line} outside its family {current}"
        );
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .trim_end_matches('}')
            .split("\",")
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once("=\"").unwrap();
                (k.to_string(), v.trim_end_matches('"').into())
            })
            .collect();
        out[&current]["samples"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!([name, labels, value]));
    }
    out
}

/// Readiness says why not: with a one-second idle limit and data paced at its own speed (a bar
/// a minute), the symbols soon count as idle.
#[test]
fn readiness_names_the_idle_symbols() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = ApiEngine::start(tmp.path(), None, 1, "ready_max_idle_secs = 1\n");
    let t0 = std::time::Instant::now();
    let body = loop {
        let (status, body) = get(&engine.addr, "/readyz");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if status == 503 && v["symbols"].as_u64() > Some(0) {
            assert_eq!(v["ready"], false);
            break v;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{status} {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let reasons = body["reasons"].to_string();
    assert!(reasons.contains("api.ready_max_idle_secs"), "{body}");
    assert!(
        reasons.contains("LINKUSDT") || reasons.contains("NEARUSDT"),
        "{body}"
    );
    engine.stop();
}
