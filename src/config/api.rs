//! `[api]`: the sidecar HTTP API (`src/api/`). Off unless `enabled = true`.

use serde::{Deserialize, Serialize};

/// Environment variable that supplies (and overrides) `api.token`.
pub const TOKEN_ENV: &str = "SIGNAL_ENGINE_API_TOKEN";

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Serve the API while `run` or `replay` runs.
    pub enabled: bool,
    /// Address to listen on; port 0 picks a free one (logged at start).
    pub bind: String,
    /// Bearer token for mutating endpoints (`SIGNAL_ENGINE_API_TOKEN` overrides it); required
    /// when `bind` is not a loopback address.
    pub token: Option<String>,
    /// Signals a reconnecting stream client can resume from (`Last-Event-ID`).
    pub resume_buffer: usize,
    /// Open `/v1/signals/stream` connections at most; more get 503.
    pub max_stream_clients: usize,
    /// New stream connections per second at most (a burst of as many); more get 429.
    pub stream_connects_per_sec: u32,
    /// `/readyz` fails when a symbol has had no event for this long (default: three bar
    /// intervals).
    pub ready_max_idle_secs: Option<u64>,
    /// `/readyz` fails when a Kafka partition lags by more messages than this.
    pub ready_max_kafka_lag: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            bind: "127.0.0.1:8787".into(),
            token: None,
            resume_buffer: 10_000,
            max_stream_clients: 64,
            stream_connects_per_sec: 20,
            ready_max_idle_secs: None,
            ready_max_kafka_lag: 10_000,
        }
    }
}

impl ApiConfig {
    /// The token: the environment's, else the config's.
    pub fn token(&self) -> Option<String> {
        std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty())
            .or_else(|| self.token.clone().filter(|t| !t.is_empty()))
    }

    /// Problems as `api.key: reason`.
    pub fn validate(&self, p: &mut Vec<String>) {
        match self.bind.parse::<std::net::SocketAddr>() {
            Err(e) => p.push(format!(
                "api.bind: {:?} is not an address like 127.0.0.1:8787 ({e})",
                self.bind
            )),
            Ok(a) if self.enabled && !a.ip().is_loopback() && self.token().is_none() => {
                p.push(format!(
                    "api.bind: {a} is not a loopback address, so the API needs a token (api.token or {TOKEN_ENV})"
                ));
            }
            Ok(_) => {}
        }
        if !(1..=100_000).contains(&self.max_stream_clients) {
            p.push(format!(
                "api.max_stream_clients: {} is not in 1..=100000",
                self.max_stream_clients
            ));
        }
        if self.stream_connects_per_sec == 0 {
            p.push("api.stream_connects_per_sec: must be at least 1".into());
        }
        if self.ready_max_idle_secs == Some(0) {
            p.push("api.ready_max_idle_secs: must be at least 1".into());
        }
        if self.ready_max_kafka_lag < 0 {
            p.push(format!(
                "api.ready_max_kafka_lag: {} is negative",
                self.ready_max_kafka_lag
            ));
        }
        if !(16..=1_000_000).contains(&self.resume_buffer) {
            p.push(format!(
                "api.resume_buffer: {} is not in 16..=1000000",
                self.resume_buffer
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn a_public_bind_needs_a_token_and_errors_name_the_key() {
        let e = Config::from_toml(
            "[api]\nenabled = true\nbind = \"0.0.0.0:8787\"\n",
            "api.toml",
        );
        // The environment may carry a token on a developer's machine; CI has none.
        if std::env::var(super::TOKEN_ENV).is_err() {
            let e = e.unwrap_err().to_string();
            assert!(e.contains("api.bind") && e.contains("token"), "{e}");
        }
        let ok = "[api]\nenabled = true\nbind = \"0.0.0.0:8787\"\ntoken = \"t\"\n";
        assert!(Config::from_toml(ok, "api.toml").is_ok());
        let bad = Config::from_toml("[api]\nbind = \"localhost\"\n", "api.toml").unwrap_err();
        assert!(bad.to_string().contains("api.bind"), "{bad}");
        assert!(Config::from_toml("[api]\nenabled = true\n", "api.toml").is_ok());
    }
}
