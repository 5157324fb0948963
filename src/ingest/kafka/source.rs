//! The Kafka source: starts the consumer thread, stops it, and commits at the end.
//!
//! [`KafkaSource::start`] subscribes and runs the loop (`consume.rs`) on its own OS thread
//! (librdkafka's poll blocks; rebalance callbacks, `rebalance.rs`, run inside it). Events flow
//! out as [`SourceItem`]s; [`KafkaSource::finish`], called after the pipeline has drained and
//! the sinks have flushed, makes the final commit of everything [`Acks`] allows.

use super::client::{Role, client_config};
use super::consume::Loop;
use super::producer::AckingProducer;
use super::rebalance::{Ctx, Shared, commit};
use super::{Acks, KafkaError, Origin, Tp};
use crate::config::{KafkaConfig, KafkaSourceConfig};
use crate::event::MarketEvent;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;

/// What flows from any source into the feature stage.
#[derive(Debug)]
pub enum SourceItem {
    /// A market event; its provenance for Kafka messages; when the source handed it over (the
    /// start of the ingest → features latency).
    Event(MarketEvent, Option<Provenance>, std::time::Instant),
    /// These partitions moved away: drop the state of the symbols read from them.
    Revoked(Vec<Tp>),
}

/// Where a Kafka event came from and whether its window may be emitted.
#[derive(Clone, Debug)]
pub struct Provenance {
    pub origin: Origin,
    /// False while a newly assigned partition re-reads its warm-up span: those signals were
    /// emitted by the previous owner.
    pub live: bool,
}

/// Declares the live counters and their plain snapshot together, so they cannot drift apart.
macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Counters, readable while the source runs.
        #[derive(Debug, Default)]
        pub struct Counters {
            $(pub $name: AtomicU64,)*
        }

        /// What the source did (a snapshot of its [`Counters`]).
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
        pub struct SourceStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            pub fn snapshot(&self) -> SourceStats {
                SourceStats {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

counters! {
    /// Messages polled, warm-up re-reads included.
    messages,
    /// Live market events handed to the pipeline.
    events,
    /// Events re-read to warm a newly assigned partition (their windows are not emitted).
    warmup_events,
    /// Valid messages of types the engine does not use.
    ignored,
    /// Malformed or schema-violating messages.
    malformed,
    /// Malformed messages queued to the dead-letter topic.
    dead_lettered,
    /// Times the consumer paused because the pipeline was full.
    pauses,
    assigned,
    revoked,
    commits,
    commit_errors,
    poll_errors,
}

pub(super) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The running source.
pub struct KafkaSource {
    handle: Option<JoinHandle<BaseConsumer<Ctx>>>,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    dead_letters: Option<Arc<AckingProducer>>,
}

impl KafkaSource {
    /// Subscribes and starts the consumer thread; events go to `tx`. Call inside the tokio
    /// runtime that runs the pipeline.
    pub fn start(
        kafka: &KafkaConfig,
        cfg: &KafkaSourceConfig,
        warmup_span_ms: i64,
        acks: Acks,
        tx: mpsc::Sender<SourceItem>,
    ) -> Result<Self, KafkaError> {
        let stats = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            acks: acks.clone(),
            warmup_span_ms,
            tx: Mutex::new(Some(tx)),
            phases: Mutex::new(HashMap::new()),
            rebalanced: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            stats,
            lag: Arc::default(),
        });
        let dead_letters = match &cfg.dead_letter_topic {
            Some(_) => Some(Arc::new(AckingProducer::new(
                kafka,
                &std::collections::BTreeMap::new(),
                Some(acks),
                "dead-letter producer",
            )?)),
            None => None,
        };
        let mut conf = client_config(kafka, &cfg.options, Role::Consumer);
        conf.set("group.id", &cfg.group_id);
        // Consumer lag per partition for the metrics (`stats` in rebalance.rs).
        if !cfg.options.contains_key("statistics.interval.ms")
            && !kafka.options.contains_key("statistics.interval.ms")
        {
            conf.set("statistics.interval.ms", "5000");
        }
        if !cfg.options.contains_key("auto.offset.reset")
            && !kafka.options.contains_key("auto.offset.reset")
        {
            conf.set("auto.offset.reset", "earliest");
        }
        let consumer: BaseConsumer<Ctx> = conf
            .create_with_context(Ctx {
                shared: shared.clone(),
            })
            .map_err(|source| KafkaError::Create {
                what: "consumer",
                source,
            })?;
        let topics: Vec<&str> = cfg.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|source| KafkaError::Subscribe {
                topics: cfg.topics.clone(),
                source,
            })?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut lp = Loop {
            shared: shared.clone(),
            rt: tokio::runtime::Handle::try_current().map_err(|_| {
                KafkaError::Fatal("the Kafka source must be started inside a tokio runtime".into())
            })?,
            pause_after: Duration::from_millis(cfg.pause_after_ms),
            dead_letters: dead_letters.clone(),
            fifo: VecDeque::new(),
            paused: false,
            stop: stop.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("kafka-consumer".into())
            .spawn(move || {
                lp.run(&consumer);
                consumer
            })
            .map_err(|e| KafkaError::Fatal(format!("cannot start the consumer thread: {e}")))?;
        Ok(Self {
            handle: Some(handle),
            stop,
            shared,
            dead_letters,
        })
    }

    /// Asks the consumer thread to stop reading (the pipeline then drains). When the thread has
    /// already died (a panic), closes its channel itself, so the pipeline still ends.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if self.is_finished() {
            self.shared
                .tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        }
    }

    /// The consumer thread has ended (stopped, or died).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    pub fn stats(&self) -> SourceStats {
        self.shared.stats.snapshot()
    }

    /// The live counters and partition lags, for `/metrics` and `/readyz`.
    pub fn probe(&self) -> crate::telemetry::live::SourceProbe {
        let shared = self.shared.clone();
        crate::telemetry::live::SourceProbe::Kafka {
            counters: self.shared.stats.clone(),
            lag: self.shared.lag.clone(),
            assigned: Arc::new(move || shared.phases().len()),
        }
    }

    /// Whether input is waiting: the consumer is paused on a full pipeline or messages are in
    /// flight. An idle limit must not count such time as idle.
    pub fn is_busy(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire) || self.shared.acks.pending_total() > 0
    }

    /// A failed dead-letter delivery, if any.
    pub fn failure(&self) -> Option<String> {
        self.dead_letters.as_ref().and_then(|d| d.failure())
    }

    /// After the pipeline has drained and the sinks have flushed: flushes the dead letters,
    /// commits every acknowledged offset and leaves the group. Blocking.
    pub fn finish(mut self) -> Result<SourceStats, KafkaError> {
        self.stop();
        let consumer = self
            .handle
            .take()
            .map(|h| h.join())
            .transpose()
            .map_err(|_| KafkaError::Fatal("the consumer thread panicked".into()))?;
        if let Some(d) = &self.dead_letters {
            d.flush(Duration::from_secs(30))?;
        }
        if let Some(c) = consumer {
            commit(
                &c,
                &self.shared.acks,
                &self.shared.stats,
                None,
                CommitMode::Sync,
            );
        }
        Ok(self.shared.stats.snapshot())
    }
}
