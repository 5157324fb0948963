//! The `[kafka]` section: brokers, librdkafka pass-through options, the market-data source and
//! the signal sink. Absent section: no Kafka at all (the embedded demo needs none).

use crate::event::Exchange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[kafka]`: shared by the source, its dead-letter producer and the signal sink.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// `client.id`, shown in broker logs.
    pub client_id: String,
    /// librdkafka properties for every client (consumer and producers), e.g.
    /// `"security.protocol" = "SASL_SSL"`. Values may be strings, numbers or booleans.
    pub options: BTreeMap<String, OptionValue>,
    /// Create the output topics (signals, dead letters) when they do not exist; otherwise the
    /// engine refuses to start without them.
    pub create_missing_topics: bool,
    /// Partitions of a topic the engine creates (`create_missing_topics`, `publish --partitions`).
    pub new_topic_partitions: i32,
    /// Consume market data from topics (`signal-engine run`).
    pub source: Option<KafkaSourceConfig>,
    /// Produce signals to a topic (every command that emits signals: `run`, `replay`).
    pub sink: Option<KafkaSinkConfig>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            client_id: "signal-engine".into(),
            options: BTreeMap::new(),
            create_missing_topics: false,
            new_topic_partitions: 4,
            source: None,
            sink: None,
        }
    }
}

/// A librdkafka property value as TOML writes it; passed on as its text.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum OptionValue {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionValue::Text(s) => f.write_str(s),
            OptionValue::Int(i) => write!(f, "{i}"),
            OptionValue::Float(x) => write!(f, "{x}"),
            OptionValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// What the messages of the input topics hold.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WireFormat {
    /// `schemas/market_event.schema.json`, as `signal-engine publish` and `collect` write it.
    MarketEvent,
    /// Binance's raw websocket JSON (kline, aggTrade, trade, bookTicker; bare or in the
    /// combined-stream wrapper), as a collector forwards it.
    Binance,
}

/// `[kafka.source]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSourceConfig {
    /// Topics of market data, keyed by symbol.
    pub topics: Vec<String>,
    /// Consumer group: instances in one group split the partitions.
    pub group_id: String,
    pub format: WireFormat,
    /// The venue stamped on Binance raw messages (`binance` spot or `binance_futures`); MarketEvent
    /// messages carry their own.
    pub exchange: Exchange,
    /// Malformed messages go here, whole, with the error in the `error` header. Default: none
    /// (counted and logged only).
    pub dead_letter_topic: Option<String>,
    /// Bars re-read before a newly assigned partition's committed offset, so its symbols are
    /// Ready when live messages resume. Default: what the feature list needs (indicator
    /// look-back + seq_len + the gap-fill allowance).
    pub warmup_bars: Option<u64>,
    /// How often completed offsets are committed.
    pub commit_interval_ms: u64,
    /// On a revoke, how long to wait for in-flight signals of the revoked partitions before the
    /// final commit (what is still in flight then is re-read by the next owner: a duplicate, never
    /// a loss).
    pub revoke_drain_ms: u64,
    /// When the pipeline is full the consumer waits this long for room, then pauses its
    /// partitions (and keeps polling, so the group sees it alive) until the backlog is gone.
    pub pause_after_ms: u64,
    /// librdkafka consumer properties (on top of `kafka.options`), e.g. `"session.timeout.ms"`.
    pub options: BTreeMap<String, OptionValue>,
}

impl Default for KafkaSourceConfig {
    fn default() -> Self {
        Self {
            topics: vec!["market-events".into()],
            group_id: "signal-engine".into(),
            format: WireFormat::MarketEvent,
            exchange: Exchange::BinanceFutures,
            dead_letter_topic: None,
            warmup_bars: None,
            commit_interval_ms: 1_000,
            revoke_drain_ms: 5_000,
            pause_after_ms: 500,
            options: BTreeMap::new(),
        }
    }
}

/// `[kafka.sink]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSinkConfig {
    /// Signals topic; key = symbol, value = Signal JSON.
    pub topic: String,
    /// How long shutdown waits for outstanding deliveries.
    pub flush_timeout_ms: u64,
    /// librdkafka producer properties (on top of `kafka.options`), e.g. `"linger.ms" = 5`.
    pub options: BTreeMap<String, OptionValue>,
}

impl Default for KafkaSinkConfig {
    fn default() -> Self {
        Self {
            topic: "signals".into(),
            flush_timeout_ms: 30_000,
            options: BTreeMap::new(),
        }
    }
}

/// Properties the engine sets itself: a user value would break at-least-once or idempotence.
pub const RESERVED_CONSUMER_OPTIONS: &[&str] =
    &["enable.auto.commit", "enable.auto.offset.store", "group.id"];
pub const RESERVED_PRODUCER_OPTIONS: &[&str] = &["enable.idempotence", "acks"];

impl KafkaConfig {
    /// Every problem, as `kafka.key: reason`.
    pub fn validate(&self, p: &mut Vec<String>) {
        if !(1..=10_000).contains(&self.new_topic_partitions) {
            p.push(format!(
                "kafka.new_topic_partitions: {} is not in 1..=10000",
                self.new_topic_partitions
            ));
        }
        if self.brokers.trim().is_empty() {
            p.push("kafka.brokers: must name at least one HOST:PORT".into());
        }
        let reserved = |key: &str, opts: &BTreeMap<String, OptionValue>, names: &[&str]| {
            opts.keys()
                .filter(|k| names.contains(&k.as_str()) || k.as_str() == "bootstrap.servers")
                .map(|k| format!("{key}.\"{k}\": is set by the engine (see kafka.brokers, kafka.source.group_id)"))
                .collect::<Vec<_>>()
        };
        p.extend(reserved(
            "kafka.options",
            &self.options,
            RESERVED_CONSUMER_OPTIONS,
        ));
        p.extend(reserved(
            "kafka.options",
            &self.options,
            RESERVED_PRODUCER_OPTIONS,
        ));
        if let Some(s) = &self.source {
            if s.topics.is_empty() || s.topics.iter().any(|t| !valid_topic(t)) {
                p.push(format!(
                    "kafka.source.topics: {:?} must be one or more topic names (1-249 of a-z A-Z 0-9 . _ -)",
                    s.topics
                ));
            }
            if s.group_id.trim().is_empty() {
                p.push("kafka.source.group_id: must not be empty".into());
            }
            if let Some(t) = s.dead_letter_topic.as_deref().filter(|t| !valid_topic(t)) {
                p.push(format!(
                    "kafka.source.dead_letter_topic: {t:?} is not a topic name"
                ));
            }
            if s.dead_letter_topic
                .as_ref()
                .is_some_and(|d| s.topics.contains(d))
            {
                p.push(
                    "kafka.source.dead_letter_topic: must not be one of kafka.source.topics".into(),
                );
            }
            if !(10..=3_600_000).contains(&s.commit_interval_ms) {
                p.push(format!(
                    "kafka.source.commit_interval_ms: {} is not in 10..=3600000",
                    s.commit_interval_ms
                ));
            }
            if s.pause_after_ms > 60_000 {
                p.push(format!(
                    "kafka.source.pause_after_ms: {} is not in 0..=60000 (a longer wait would hold up rebalances)",
                    s.pause_after_ms
                ));
            }
            if s.format == WireFormat::Binance
                && !matches!(s.exchange, Exchange::Binance | Exchange::BinanceFutures)
            {
                p.push(format!(
                    "kafka.source.exchange: {} is not a Binance venue (format = \"binance\")",
                    s.exchange
                ));
            }
            p.extend(reserved(
                "kafka.source.options",
                &s.options,
                RESERVED_CONSUMER_OPTIONS,
            ));
        }
        if let Some(s) = &self.sink {
            if !valid_topic(&s.topic) {
                p.push(format!(
                    "kafka.sink.topic: {:?} is not a topic name",
                    s.topic
                ));
            }
            p.extend(reserved(
                "kafka.sink.options",
                &s.options,
                RESERVED_PRODUCER_OPTIONS,
            ));
        }
    }
}

/// Kafka's topic-name rule.
pub fn valid_topic(t: &str) -> bool {
    (1..=249).contains(&t.len())
        && t != "."
        && t != ".."
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn problems(toml: &str) -> String {
        match Config::from_toml(toml, "k.toml") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_kafka_example_config_is_valid() {
        let text = include_str!("../../config/kafka.toml");
        let cfg = Config::from_toml(text, "config/kafka.toml").unwrap();
        let k = cfg.kafka.unwrap();
        assert_eq!(k.source.unwrap().topics, vec!["market-events"]);
        assert_eq!(k.sink.unwrap().topic, "signals");
    }

    #[test]
    fn settings_the_engine_owns_are_refused_by_name() {
        let e = problems(
            "[kafka]\n[kafka.source]\n[kafka.source.options]\n\"enable.auto.commit\" = true\n",
        );
        assert!(
            e.contains("k.toml: kafka.source.options.\"enable.auto.commit\": is set by the engine"),
            "{e}"
        );
        let e = problems("[kafka.options]\n\"enable.idempotence\" = false\n");
        assert!(e.contains("kafka.options.\"enable.idempotence\""), "{e}");
        let e = problems("[kafka]\n[kafka.sink.options]\nacks = 1\n");
        assert!(e.contains("kafka.sink.options.\"acks\""), "{e}");
    }

    #[test]
    fn topics_formats_and_limits_are_checked() {
        let e = problems("[kafka.source]\ntopics = [\"a b\"]\n");
        assert!(e.contains("kafka.source.topics"), "{e}");
        let e = problems("[kafka.source]\ndead_letter_topic = \"market-events\"\n");
        assert!(e.contains("must not be one of kafka.source.topics"), "{e}");
        let e = problems("[kafka.source]\nformat = \"binance\"\nexchange = \"okx\"\n");
        assert!(
            e.contains("kafka.source.exchange: okx is not a Binance venue"),
            "{e}"
        );
        let e = problems("[kafka.source]\nformat = \"csv\"\n");
        assert!(e.contains("csv"), "{e}");
        let e = problems("[kafka]\nbrokers = \" \"\nnew_topic_partitions = 0\n");
        assert!(
            e.contains("kafka.brokers") && e.contains("kafka.new_topic_partitions"),
            "{e}"
        );
        let e = problems("[kafka.sink]\ntopic = \"..\"\n");
        assert!(e.contains("kafka.sink.topic"), "{e}");
        let e = problems("[kafka.source]\npause_after_ms = 600000\n");
        assert!(e.contains("kafka.source.pause_after_ms"), "{e}");
        assert!(problems("[kafka.source]\n[kafka.sink]\n").is_empty());
    }

    #[test]
    fn option_values_pass_through_as_text() {
        let cfg = Config::from_toml(
            "[kafka.options]\n\"linger.ms\" = 5\n\"a\" = true\n\"b\" = \"x\"\n\"c\" = 0.5\n",
            "k.toml",
        )
        .unwrap();
        let o = cfg.kafka.unwrap().options;
        let text: Vec<String> = o.values().map(|v| v.to_string()).collect();
        assert_eq!(text, ["true", "x", "0.5", "5"]);
    }
}
