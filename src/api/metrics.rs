//! `GET /metrics`: the Prometheus text exposition format (version 0.0.4) of the run's live
//! numbers ([`LiveMetrics`]), the source's counters, the model and the shadow trainer.
//!
//! Written here rather than through a metrics crate because every number already lives in the
//! engine's own counters and hdrhistograms; this module only formats a snapshot of them. The
//! output is checked by the reference parser (Python `prometheus_client`) in `tests/api_metrics.rs`.
//! Latency histograms have fixed buckets (50 µs … 10 s) read off the hdrhistograms (3
//! significant figures); their `_sum` is count × mean at that precision.

use super::ApiState;
use crate::telemetry::live::{EVENT_KINDS, LiveMetrics, SourceProbe, Stage};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Bucket upper bounds, µs.
const BUCKETS_US: [u64; 17] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

pub(super) async fn prometheus(State(s): State<ApiState>) -> Response {
    let text = render(&s);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

/// Writes one metric family: its HELP and TYPE lines, then `samples` as (labels, value).
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// A family with one unlabelled sample.
    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn render(s: &ApiState) -> String {
    let m = &s.metrics;
    let mut o = Out(String::with_capacity(16 * 1024));
    o.family(
        "signal_engine_build_info",
        "gauge",
        "The engine's version (always 1).",
    );
    o.sample(
        "signal_engine_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    o.one(
        "signal_engine_uptime_seconds",
        "gauge",
        "Seconds since this run started.",
        m.uptime().as_secs_f64(),
    );
    stage_histograms(&mut o, m);
    pipeline_counters(&mut o, m);
    o.one(
        "signal_engine_stream_clients",
        "gauge",
        "Open /v1/signals/stream connections.",
        s.streams.clients() as f64,
    );
    symbols(&mut o, m);
    source(&mut o, m);
    model(&mut o, s);
    o.0
}

fn stage_histograms(o: &mut Out, m: &LiveMetrics) {
    let name = "signal_engine_stage_latency_seconds";
    o.family(
        name,
        "histogram",
        "Latency of each pipeline stage per window (per event for ingest_to_features); end_to_end is source hand-over to every sink.",
    );
    let bounds: Vec<String> = BUCKETS_US
        .iter()
        .map(|us| number(*us as f64 / 1e6))
        .collect();
    for stage in Stage::ALL {
        let h = m.histogram(stage);
        let st = stage.name();
        for (le, n) in bounds.iter().zip(h.cumulative(&BUCKETS_US)) {
            o.sample(
                &format!("{name}_bucket"),
                &[("stage", st), ("le", le)],
                n as f64,
            );
        }
        let count = h.count() as f64;
        o.sample(
            &format!("{name}_bucket"),
            &[("stage", st), ("le", "+Inf")],
            count,
        );
        o.sample(&format!("{name}_sum"), &[("stage", st)], h.sum_us() / 1e6);
        o.sample(&format!("{name}_count"), &[("stage", st)], count);
    }
}

fn pipeline_counters(o: &mut Out, m: &LiveMetrics) {
    let name = "signal_engine_events_in_total";
    o.family(
        name,
        "counter",
        "Market events that entered the feature stage, by kind.",
    );
    for (kind, n) in EVENT_KINDS.iter().zip(m.events_in()) {
        o.sample(name, &[("kind", kind)], n as f64);
    }
    let (e, warmup) = m.engine();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
    let name = "signal_engine_bars_total";
    o.family(
        name,
        "counter",
        "Bars through the indicators: from the data, or filled across a short gap.",
    );
    o.sample(name, &[("origin", "data")], e.bars as f64);
    o.sample(name, &[("origin", "filled")], e.filled_bars as f64);
    o.one(
        "signal_engine_windows_total",
        "counter",
        "Feature windows handed to the model's micro-batcher.",
        load(&m.windows),
    );
    o.one(
        "signal_engine_batches_total",
        "counter",
        "Model forward passes (micro-batches).",
        load(&m.batches),
    );
    let name = "signal_engine_signals_total";
    o.family(
        name,
        "counter",
        "Signals handed to every sink, by decision.",
    );
    let (all, long) = (load(&m.signals), load(&m.long_signals));
    o.sample(name, &[("decision", "long")], long);
    o.sample(name, &[("decision", "flat")], all - long);
    o.one(
        "signal_engine_invalid_feature_signals_total",
        "counter",
        "Signals whose window had a clipped feature or a gap (features_valid = false).",
        load(&m.invalid_feature_signals),
    );
    let name = "signal_engine_dropped_total";
    o.family(
        name,
        "counter",
        "Input the engine did not turn into a signal, by reason.",
    );
    for (reason, n) in [
        ("duplicate_bar", e.duplicates),
        ("out_of_order_bar", e.rejected_out_of_order),
        ("wrong_interval_bar", e.rejected_wrong_interval),
        ("misaligned_bar", e.rejected_misaligned),
        ("invalid_bar", e.rejected_invalid),
        ("late_or_repeated_trade", e.trades_rejected),
        ("invalid_quote", e.quotes_rejected),
        ("other_bar_source", e.ignored_other_source),
        ("warming_up", e.warming_bars),
        ("warmup_reread_window", warmup),
        ("coalesced_window", m.coalesced.load(Ordering::Relaxed)),
    ] {
        o.sample(name, &[("reason", reason)], n as f64);
    }
    let name = "signal_engine_symbol_state_changes_total";
    o.family(
        name,
        "counter",
        "Symbols reset (a gap too long to fill), declared stale, or hit by a source gap.",
    );
    o.sample(name, &[("change", "reset")], e.resets as f64);
    o.sample(name, &[("change", "stale")], e.stale as f64);
    o.sample(name, &[("change", "source_gap")], e.gaps as f64);
}

fn symbols(o: &mut Out, m: &LiveMetrics) {
    let syms = m.symbols();
    let name = "signal_engine_symbol_idle_seconds";
    o.family(
        name,
        "gauge",
        "Seconds since the symbol's last event entered the engine.",
    );
    for ((ex, sym), seen) in &syms {
        let labels = [("exchange", ex.as_str()), ("symbol", sym.as_str())];
        o.sample(name, &labels, seen.at.elapsed().as_secs_f64());
    }
    let name = "signal_engine_symbol_last_event_time_seconds";
    o.family(
        name,
        "gauge",
        "Event time (Unix seconds) of the symbol's last event.",
    );
    for ((ex, sym), seen) in &syms {
        let labels = [("exchange", ex.as_str()), ("symbol", sym.as_str())];
        o.sample(name, &labels, seen.ts_event_ns as f64 / 1e9);
    }
}

fn source(o: &mut Out, m: &LiveMetrics) {
    match m.source() {
        None | Some(SourceProbe::Files { .. }) => {}
        Some(SourceProbe::Kafka {
            counters,
            lag,
            assigned,
        }) => {
            let c = counters.snapshot();
            o.one(
                "signal_engine_kafka_messages_total",
                "counter",
                "Kafka messages polled (warm-up re-reads included).",
                c.messages as f64,
            );
            o.one(
                "signal_engine_kafka_assigned_partitions",
                "gauge",
                "Partitions assigned to this consumer.",
                assigned() as f64,
            );
            let name = "signal_engine_kafka_consumer_lag";
            o.family(
                name,
                "gauge",
                "Messages behind the partition's end, per partition read from (librdkafka statistics: statistics.interval.ms, 5 s unless set).",
            );
            let lag = lag.lock().map(|l| l.clone()).unwrap_or_default();
            for (tp, n) in &lag {
                let p = tp.partition.to_string();
                o.sample(name, &[("topic", &tp.topic), ("partition", &p)], *n as f64);
            }
            let name = "signal_engine_source_errors_total";
            o.family(name, "counter", "Source errors and bad input, by kind.");
            for (kind, n) in [
                ("malformed_message", c.malformed),
                ("poll_error", c.poll_errors),
                ("commit_error", c.commit_errors),
            ] {
                o.sample(name, &[("source", "kafka"), ("kind", kind)], n as f64);
            }
            o.one(
                "signal_engine_dead_letters_total",
                "counter",
                "Malformed input sent to the dead-letter destination.",
                c.dead_lettered as f64,
            );
        }
        Some(SourceProbe::Websocket(feeds)) => {
            let snaps: Vec<_> = feeds
                .iter()
                .map(|(name, st, shards)| (name.as_str(), st.snapshot(Default::default()), *shards))
                .collect();
            let name = "signal_engine_websocket_connections";
            o.family(
                name,
                "gauge",
                "A feed's websocket connections: planned, and up now.",
            );
            for (feed, snap, shards) in &snaps {
                o.sample(
                    name,
                    &[("feed", feed), ("state", "planned")],
                    *shards as f64,
                );
                o.sample(
                    name,
                    &[("feed", feed), ("state", "up")],
                    snap.shards_up as f64,
                );
            }
            let name = "signal_engine_websocket_reconnects_total";
            o.family(
                name,
                "counter",
                "Websocket connections lost (each is reconnected).",
            );
            for (feed, snap, _) in &snaps {
                o.sample(name, &[("feed", feed)], snap.disconnects as f64);
            }
            let name = "signal_engine_source_errors_total";
            o.family(name, "counter", "Source errors and bad input, by kind.");
            for (feed, snap, _) in &snaps {
                for (kind, n) in [
                    ("malformed_json", snap.malformed_json),
                    ("bad_shape", snap.bad_shape),
                    ("bad_field", snap.bad_field),
                    ("oversized_frame", snap.oversized),
                    ("sequence_gap", snap.sequence_gaps),
                ] {
                    o.sample(name, &[("source", feed), ("kind", kind)], n as f64);
                }
            }
            o.one(
                "signal_engine_dead_letters_total",
                "counter",
                "Malformed input sent to the dead-letter destination.",
                snaps
                    .iter()
                    .map(|(_, s, _)| s.malformed_json + s.bad_shape + s.bad_field)
                    .sum::<u64>() as f64,
            );
        }
    }
}

fn model(o: &mut Out, s: &ApiState) {
    let version = s.models.live.load().manifest.version.clone();
    o.family(
        "signal_engine_model_info",
        "gauge",
        "The model version serving now (always 1).",
    );
    o.sample("signal_engine_model_info", &[("version", &version)], 1.0);
    let c = s.models.counters.snapshot();
    o.one(
        "signal_engine_model_swaps_total",
        "counter",
        "Live model swaps (registry watch, API, shadow promotions and rollbacks).",
        c.swaps as f64,
    );
    o.one(
        "signal_engine_model_swap_rejections_total",
        "counter",
        "Bundles refused by the engine's checks before serving.",
        c.rejected as f64,
    );
    let Some(probe) = s.metrics.shadow() else {
        return;
    };
    let st = probe.stats();
    let name = "signal_engine_shadow_decisions_total";
    o.family(name, "counter", "The shadow trainer's outcomes, by kind.");
    for (kind, n) in [
        ("refit", st.refits),
        ("refit_failure", st.refit_failures),
        ("fresh_start", st.fresh_starts),
        ("promotion", st.promotions),
        ("rejection", st.rejections),
        ("rollback", st.rollbacks),
    ] {
        o.sample(name, &[("decision", kind)], n as f64);
    }
    o.one(
        "signal_engine_shadow_buffered_labels",
        "gauge",
        "Labelled windows in the shadow trainer's buffer.",
        st.buffered as f64,
    );
    o.one(
        "signal_engine_shadow_dropped_inputs_total",
        "counter",
        "Inputs the shadow trainer's channel could not take.",
        st.dropped_inputs as f64,
    );
}
