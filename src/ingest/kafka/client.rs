//! librdkafka client settings and logging shared by the consumer and the producers.
//!
//! In: the `[kafka]` config and a client's role. Out: a [`ClientConfig`] with the engine's
//! non-negotiable settings (manual offset storage for at-least-once, idempotence for the
//! producers) applied last, so a pass-through option cannot undo them (the config validation
//! already refuses those keys), and librdkafka's log lines routed to `tracing`.

use super::KafkaError;
use crate::config::{KafkaConfig, OptionValue};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::types::RDKafkaErrorCode;
use std::collections::BTreeMap;
use std::time::Duration;

/// Which client a config is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Consumer,
    Producer,
    Admin,
}

/// `bootstrap.servers`, `client.id`, `kafka.options`, then `extra`, then the role's fixed settings.
pub fn client_config(
    kafka: &KafkaConfig,
    extra: &BTreeMap<String, OptionValue>,
    role: Role,
) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &kafka.brokers)
        .set("client.id", &kafka.client_id)
        .set_log_level(
            if tracing::enabled!(target: "librdkafka", tracing::Level::DEBUG) {
                RDKafkaLogLevel::Debug // RUST_LOG=librdkafka=debug, with `debug` in kafka.options
            } else {
                RDKafkaLogLevel::Warning
            },
        );
    if role == Role::Producer {
        // Java's partitioner, so signals of a symbol land where a JVM producer would put them.
        c.set("partitioner", "murmur2_random");
    }
    for (k, v) in kafka.options.iter().chain(extra) {
        c.set(k, v.to_string());
    }
    match role {
        Role::Consumer => {
            c.set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false");
        }
        Role::Producer => {
            c.set("enable.idempotence", "true").set("acks", "all");
        }
        Role::Admin => {}
    }
    c
}

/// librdkafka's log line, as a `tracing` event.
pub fn log(level: RDKafkaLogLevel, fac: &str, msg: &str) {
    use RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error => {
            tracing::error!(target: "librdkafka", fac, "{msg}")
        }
        L::Warning => tracing::warn!(target: "librdkafka", fac, "{msg}"),
        L::Notice | L::Info => tracing::info!(target: "librdkafka", fac, "{msg}"),
        L::Debug => tracing::debug!(target: "librdkafka", fac, "{msg}"),
    }
}

/// Implements `ClientContext` with logging to `tracing` for a context type.
macro_rules! traced_client_context {
    ($t:ty $(, $($extra:tt)*)?) => {
        impl rdkafka::ClientContext for $t {
            $($($extra)*)?
            fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
                $crate::ingest::kafka::client::log(level, fac, msg);
            }
            fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
                tracing::warn!(target: "librdkafka", %error, "{reason}");
            }
        }
    };
}
pub(crate) use traced_client_context;

/// Makes sure the output `topics` exist: creates the missing ones when
/// `kafka.create_missing_topics` says so (with `kafka.new_topic_partitions` partitions),
/// otherwise refuses to start with a clear error rather than failing every delivery later.
pub async fn ensure_topics(kafka: &KafkaConfig, topics: &[&str]) -> Result<(), KafkaError> {
    if kafka.create_missing_topics {
        create_topics(kafka, topics, kafka.new_topic_partitions).await
    } else {
        check_topics(kafka, topics)
    }
}

fn admin(kafka: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    client_config(kafka, &BTreeMap::new(), Role::Admin)
        .create()
        .map_err(|source| KafkaError::Create {
            what: "admin client",
            source,
        })
}

/// Creates `topics` with `partitions` partitions each; existing ones are left as they are.
pub async fn create_topics(
    kafka: &KafkaConfig,
    topics: &[&str],
    partitions: i32,
) -> Result<(), KafkaError> {
    let fail = |t: &str, e: &dyn std::fmt::Display| {
        KafkaError::Fatal(format!("cannot create topic {t} on {}: {e}", kafka.brokers))
    };
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin(kafka)?
        .create_topics(&new, &opts)
        .await
        .map_err(|e| fail(&topics.join(","), &e))?;
    for r in results {
        match r {
            Ok(t) => tracing::info!(topic = %t, partitions, "created kafka topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(fail(&t, &e)),
        }
    }
    Ok(())
}

/// An error naming the first of `topics` the broker does not have.
pub fn check_topics(kafka: &KafkaConfig, topics: &[&str]) -> Result<(), KafkaError> {
    let admin = admin(kafka)?;
    for t in topics {
        let md = admin
            .inner()
            .fetch_metadata(Some(t), Duration::from_secs(10))
            .map_err(|e| {
                KafkaError::Fatal(format!(
                    "cannot reach {} to check topic {t}: {e}",
                    kafka.brokers
                ))
            })?;
        let exists = md
            .topics()
            .iter()
            .any(|m| m.name() == *t && m.error().is_none() && !m.partitions().is_empty());
        if !exists {
            return Err(KafkaError::Fatal(format!(
                "topic {t} does not exist on {}: create it, or set kafka.create_missing_topics = true",
                kafka.brokers
            )));
        }
    }
    Ok(())
}
