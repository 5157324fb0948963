//! An idempotent producer whose delivery reports release input offsets.
//!
//! In: records, each tagged with the [`Origin`] of the input message it came from (or none).
//! Out: the records on the broker; on each successful delivery report the origin is marked done
//! in [`Acks`], so the input offset can be committed. A failed delivery (the idempotent producer
//! has exhausted its retries) is remembered, its offset stays pending forever, and the owner
//! checks [`AckingProducer::failure`] to stop the pipeline: nothing past it is committed, so a
//! restart re-reads it. A full local queue is reported as [`Offer::Full`]: the caller waits and
//! retries, which backs the pipeline up to the consumer's pause.

use super::client::{Role, client_config, traced_client_context};
use super::{Acks, KafkaError, Origin};
use crate::config::{KafkaConfig, OptionValue};
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The delivery-report side.
pub struct AckingContext {
    acks: Option<Acks>,
    delivered: AtomicU64,
    failures: AtomicU64,
    first_failure: Mutex<Option<String>>,
}

traced_client_context!(AckingContext);

impl ProducerContext for AckingContext {
    type DeliveryOpaque = Box<Option<Origin>>;

    fn delivery(&self, result: &DeliveryResult<'_>, origin: Self::DeliveryOpaque) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if let (Some(acks), Some(o)) = (&self.acks, origin.as_ref()) {
                    acks.done(o);
                }
            }
            Err((e, _)) => {
                // The first failure is logged; the rest are counted (they usually share a cause).
                if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::error!(error = %e, origin = ?origin, "kafka delivery failed");
                }
                let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Whether a record was queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Queued,
    /// librdkafka's queue is full: retry after a short wait.
    Full,
}

/// One record to produce.
pub struct Record<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub timestamp_ms: Option<i64>,
    pub origin: Option<Origin>,
}

pub struct AckingProducer {
    producer: ThreadedProducer<AckingContext>,
}

impl AckingProducer {
    /// `what` names the producer in errors (`signal sink`, `dead-letter producer`).
    pub fn new(
        kafka: &KafkaConfig,
        extra: &BTreeMap<String, OptionValue>,
        acks: Option<Acks>,
        what: &'static str,
    ) -> Result<Self, KafkaError> {
        let ctx = AckingContext {
            acks,
            delivered: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            first_failure: Mutex::new(None),
        };
        let producer = client_config(kafka, extra, Role::Producer)
            .create_with_context(ctx)
            .map_err(|source| KafkaError::Create { what, source })?;
        Ok(Self { producer })
    }

    /// Queues one record; `Full` when the local queue has no room (nothing queued then).
    pub fn offer(&self, r: Record<'_>) -> Result<Offer, KafkaError> {
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for (key, value) in r.headers {
            headers = headers.insert(Header {
                key,
                value: Some(*value),
            });
        }
        let mut rec: BaseRecord<'_, [u8], [u8], Box<Option<Origin>>> =
            BaseRecord::with_opaque_to(r.topic, Box::new(r.origin)).headers(headers);
        if let Some(k) = r.key {
            rec = rec.key(k);
        }
        if let Some(p) = r.payload {
            rec = rec.payload(p);
        }
        if let Some(ts) = r.timestamp_ms {
            rec = rec.timestamp(ts);
        }
        match self.producer.send(rec) {
            Ok(()) => Ok(Offer::Queued),
            Err((RdError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => Ok(Offer::Full),
            Err((e, _)) => Err(KafkaError::Fatal(format!(
                "cannot produce to {}: {e}",
                r.topic
            ))),
        }
    }

    /// Queues one record, waiting while the local queue is full (backpressure); gives up when
    /// `give_up` says so (shutdown).
    pub fn send(&self, r: Record<'_>, give_up: &dyn Fn() -> bool) -> Result<bool, KafkaError> {
        let mut wait = Duration::from_micros(200);
        loop {
            let attempt = Record {
                origin: r.origin.clone(),
                ..r
            };
            if self.offer(attempt)? == Offer::Queued {
                return Ok(true);
            }
            if give_up() {
                return Ok(false);
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(20));
        }
    }

    /// The first failed delivery, if any.
    pub fn failure(&self) -> Option<String> {
        let ctx = self.producer.context();
        let first = ctx.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        first.clone()
    }

    pub fn delivered(&self) -> u64 {
        self.producer.context().delivered.load(Ordering::Relaxed)
    }

    pub fn failures(&self) -> u64 {
        self.producer.context().failures.load(Ordering::Relaxed)
    }

    /// Waits for every queued record's delivery report.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout).map_err(|e| {
            KafkaError::Fatal(format!(
                "{} records not delivered within {timeout:?}: {e}",
                self.producer.in_flight_count()
            ))
        })
    }
}

/// Shared handle, for the consumer thread and the app.
pub type SharedProducer = Arc<AckingProducer>;
