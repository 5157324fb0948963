//! Signals to a Kafka topic: key = symbol, value = Signal JSON, headers `schema_version` and
//! `model_version`, message timestamp = the bar's close time.
//!
//! The producer is idempotent (`enable.idempotence`, `acks=all`), so librdkafka's retries never
//! duplicate or reorder a symbol's signals. Each record carries the [`Origin`] of the input
//! message that caused it; its delivery report releases that offset for commit. A full local
//! queue blocks the sink stage (backpressure up to the consumer's pause); a failed delivery stops
//! the run with an error, leaving its offset uncommitted.

use crate::config::{KafkaConfig, KafkaSinkConfig};
use crate::ingest::kafka::producer::{AckingProducer, Record};
use crate::ingest::kafka::{Acks, KafkaError, Origin};
use crate::signal::{SCHEMA_VERSION, Signal};
use std::time::Duration;

pub struct KafkaSink {
    producer: AckingProducer,
    topic: String,
    flush_timeout: Duration,
    schema_version: String,
    buf: Vec<u8>,
}

impl KafkaSink {
    pub fn new(
        kafka: &KafkaConfig,
        cfg: &KafkaSinkConfig,
        acks: Option<Acks>,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: AckingProducer::new(kafka, &cfg.options, acks, "signal producer")?,
            topic: cfg.topic.clone(),
            flush_timeout: Duration::from_millis(cfg.flush_timeout_ms),
            schema_version: SCHEMA_VERSION.to_string(),
            buf: Vec::with_capacity(512),
        })
    }

    /// Queues one signal (waiting while librdkafka's queue is full).
    pub fn send(&mut self, s: &Signal, origin: Option<Origin>) -> Result<(), KafkaError> {
        if let Some(e) = self.producer.failure() {
            return Err(KafkaError::Fatal(format!(
                "a signal could not be delivered to {}: {e}",
                self.topic
            )));
        }
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, s)
            .map_err(|e| KafkaError::Fatal(format!("cannot encode a signal: {e}")))?;
        let headers: [(&str, &[u8]); 2] = [
            ("schema_version", self.schema_version.as_bytes()),
            ("model_version", s.model_version.as_bytes()),
        ];
        let rec = Record {
            topic: &self.topic,
            key: Some(s.symbol.as_str().as_bytes()),
            payload: Some(&self.buf),
            headers: &headers,
            timestamp_ms: Some(s.bar_close_time_ms),
            origin,
        };
        self.producer.send(rec, &|| false)?;
        Ok(())
    }

    /// Waits for every delivery report; an error when any signal was not delivered.
    pub fn close(self) -> Result<KafkaSinkStats, KafkaError> {
        self.producer.flush(self.flush_timeout)?;
        if let Some(e) = self.producer.failure() {
            return Err(KafkaError::Fatal(format!(
                "{} signals could not be delivered to {}: {e}",
                self.producer.failures(),
                self.topic
            )));
        }
        Ok(KafkaSinkStats {
            topic: self.topic,
            delivered: self.producer.delivered(),
        })
    }
}

/// What the sink delivered.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KafkaSinkStats {
    pub topic: String,
    pub delivered: u64,
}
