//! The consumer thread: topics in, [`SourceItem`]s out, offsets committed as [`Acks`] allows.
//!
//! Runs on its own OS thread (librdkafka's poll blocks; rebalance callbacks run inside it).
//! Everything a message causes becomes an [`Action`] in one FIFO, applied in order, so an
//! offset is never released before an earlier one of its partition: send an event down the
//! pipeline, dead-letter a malformed message, pass over an unused one. While the front action
//! cannot go (the channel or the dead-letter queue is full) the thread pauses all its
//! partitions and keeps polling; it resumes once the FIFO is empty.
#![allow(clippy::disallowed_methods)] // the consumer paces commits and revoke drains on the wall clock: it is an edge

use super::client::{Role, client_config, traced_client_context};
use super::decode::{Decoded, decode};
use super::producer::{AckingProducer, Offer, Record};
use super::{Acks, KafkaError, Origin, Tp};
use crate::config::{KafkaConfig, KafkaSourceConfig};
use crate::event::MarketEvent;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, error::TrySendError};

/// What flows from any source into the feature stage.
#[derive(Debug)]
pub enum SourceItem {
    /// A market event; `from` is set for Kafka messages.
    Event(MarketEvent, Option<Provenance>),
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

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A partition's phase since its assignment.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// No message seen yet: the first one decides the warm-up.
    Fresh,
    /// Re-reading up to `until` (the first live offset) with emission off.
    Warming {
        until: i64,
        started: bool,
    },
    Live,
}

struct Shared {
    cfg: KafkaSourceConfig,
    acks: Acks,
    warmup_span_ms: i64,
    /// Taken at shutdown so the pipeline sees the end of input.
    tx: Mutex<Option<mpsc::Sender<SourceItem>>>,
    phases: Mutex<HashMap<Tp, Phase>>,
    rebalanced: AtomicBool,
    /// The consumer is paused (the pipeline is full).
    paused: AtomicBool,
    stats: Arc<Counters>,
}

impl Shared {
    fn sender(&self) -> Option<mpsc::Sender<SourceItem>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn phases(&self) -> std::sync::MutexGuard<'_, HashMap<Tp, Phase>> {
        self.phases.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Ctx {
    shared: Arc<Shared>,
}

traced_client_context!(Ctx);

fn tps_of(list: &TopicPartitionList) -> Vec<Tp> {
    list.elements()
        .iter()
        .map(|e| Tp {
            topic: Arc::from(e.topic()),
            partition: e.partition(),
        })
        .collect()
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let sh = &self.shared;
        let tps = tps_of(list);
        // Let the revoked partitions' signals reach the broker, so the final commit covers them
        // and the next owner does not emit them again.
        let deadline = Instant::now() + Duration::from_millis(sh.cfg.revoke_drain_ms);
        while sh.acks.pending(&tps) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !consumer.assignment_lost() {
            commit(consumer, &sh.acks, &sh.stats, Some(&tps), CommitMode::Sync);
        }
        for tp in &tps {
            sh.acks.revoke(tp);
            sh.phases().remove(tp);
        }
        sh.stats
            .revoked
            .fetch_add(tps.len() as u64, Ordering::Relaxed);
        tracing::info!(partitions = ?tps.iter().map(Tp::to_string).collect::<Vec<_>>(), "kafka partitions revoked");
        if let Some(tx) = sh.sender() {
            let _ = tx.blocking_send(SourceItem::Revoked(tps)); // closed: shutting down anyway
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let sh = &self.shared;
                let tps = tps_of(list);
                for tp in &tps {
                    sh.acks.assign(tp);
                    sh.phases().insert(tp.clone(), Phase::Fresh);
                }
                sh.stats
                    .assigned
                    .fetch_add(tps.len() as u64, Ordering::Relaxed);
                sh.rebalanced.store(true, Ordering::Release);
                tracing::info!(partitions = ?tps.iter().map(Tp::to_string).collect::<Vec<_>>(), "kafka partitions assigned");
            }
            Rebalance::Error(e) => tracing::error!(error = %e, "kafka rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }

    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        offsets: &TopicPartitionList,
    ) {
        match result {
            Ok(()) => {
                for e in offsets.elements() {
                    if let Offset::Offset(o) = e.offset() {
                        let tp = Tp {
                            topic: Arc::from(e.topic()),
                            partition: e.partition(),
                        };
                        self.shared.acks.committed(&tp, o);
                    }
                }
            }
            Err(e) => {
                bump(&self.shared.stats.commit_errors);
                tracing::warn!(error = %e, "kafka offset commit failed (retried at the next commit)");
            }
        }
    }
}

/// Commits what `acks` allows (of `only`, when given).
fn commit(
    consumer: &BaseConsumer<Ctx>,
    acks: &Acks,
    stats: &Counters,
    only: Option<&[Tp]>,
    mode: CommitMode,
) {
    let todo = acks.to_commit(only);
    if todo.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for (tp, off) in &todo {
        if let Err(e) = list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*off)) {
            tracing::warn!(error = %e, %tp, "kafka: cannot list an offset to commit");
        }
    }
    match consumer.commit(&list, mode) {
        Ok(()) => {
            bump(&stats.commits);
            if matches!(mode, CommitMode::Sync) {
                for (tp, off) in &todo {
                    acks.committed(tp, *off);
                }
            }
        }
        Err(e) => {
            bump(&stats.commit_errors);
            tracing::warn!(error = %e, "kafka offset commit failed (retried at the next commit)");
        }
    }
}

/// One step of the FIFO.
enum Action {
    /// Send an event down the pipeline (begun in `Acks` first when live).
    Forward(SourceItem, Provenance),
    /// Dead-letter a malformed message.
    DeadLetter {
        origin: Origin,
        key: Option<Vec<u8>>,
        payload: Option<Vec<u8>>,
        timestamp_ms: Option<i64>,
        error: String,
    },
    /// A message that needs nothing.
    Pass(Origin),
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

struct Loop {
    shared: Arc<Shared>,
    /// The pipeline's runtime, to wait on its channel.
    rt: tokio::runtime::Handle,
    pause_after: Duration,
    dead_letters: Option<Arc<AckingProducer>>,
    fifo: VecDeque<Action>,
    paused: bool,
    stop: Arc<AtomicBool>,
}

/// What happened to the FIFO's front action.
enum Step {
    Done,
    Blocked,
    /// The pipeline is gone.
    Closed,
}

impl Loop {
    fn run(&mut self, consumer: &BaseConsumer<Ctx>) {
        let interval = Duration::from_millis(self.shared.cfg.commit_interval_ms);
        let mut last_commit = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            if matches!(self.drain(), Step::Closed) {
                break;
            }
            self.pace(consumer);
            let wait = if self.fifo.is_empty() { 100 } else { 5 };
            match consumer.poll(Duration::from_millis(wait)) {
                None => {}
                Some(Ok(m)) => self.on_message(consumer, &m),
                Some(Err(e)) => {
                    bump(&self.shared.stats.poll_errors);
                    tracing::warn!(error = %e, "kafka consumer error (librdkafka retries)");
                }
            }
            if last_commit.elapsed() >= interval {
                commit(
                    consumer,
                    &self.shared.acks,
                    &self.shared.stats,
                    None,
                    CommitMode::Async,
                );
                last_commit = Instant::now();
            }
        }
        // End of input for the pipeline; `finish` commits once it has drained.
        self.shared
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Pauses while the FIFO is blocked, resumes when it is empty.
    fn pace(&mut self, consumer: &BaseConsumer<Ctx>) {
        let rebalanced = self.shared.rebalanced.swap(false, Ordering::AcqRel);
        let want_pause = !self.fifo.is_empty();
        if want_pause && (!self.paused || rebalanced) {
            if let Ok(a) = consumer.assignment() {
                if let Err(e) = consumer.pause(&a) {
                    tracing::warn!(error = %e, "kafka: cannot pause");
                }
            }
            if !self.paused {
                bump(&self.shared.stats.pauses);
            }
            self.paused = true;
            self.shared.paused.store(true, Ordering::Release);
        } else if !want_pause && self.paused {
            if let Ok(a) = consumer.assignment() {
                if let Err(e) = consumer.resume(&a) {
                    tracing::warn!(error = %e, "kafka: cannot resume");
                }
            }
            self.paused = false;
            self.shared.paused.store(false, Ordering::Release);
        }
    }

    /// Applies FIFO actions until one blocks.
    fn drain(&mut self) -> Step {
        while let Some(action) = self.fifo.pop_front() {
            match self.apply(action) {
                (Step::Done, _) => {}
                (Step::Blocked, Some(back)) => {
                    self.fifo.push_front(back);
                    return Step::Blocked;
                }
                (step, _) => return step,
            }
        }
        Step::Done
    }

    fn apply(&mut self, action: Action) -> (Step, Option<Action>) {
        let sh = &self.shared;
        match action {
            Action::Pass(o) => {
                sh.acks.pass(&o);
                (Step::Done, None)
            }
            Action::Forward(item, prov) => {
                if !sh.acks.is_current(&prov.origin) {
                    return (Step::Done, None); // read before a revoke: the next owner has it
                }
                let Some(tx) = sh.sender() else {
                    return (Step::Closed, None);
                };
                if prov.live {
                    sh.acks.begin(&prov.origin);
                }
                let item = match tx.try_send(item) {
                    Ok(()) => return (Step::Done, None),
                    Err(TrySendError::Closed(_)) => return (Step::Closed, None),
                    Err(TrySendError::Full(item)) => item,
                };
                // A full pipeline usually frees a slot within milliseconds: wait for it here.
                // Pausing purges librdkafka's prefetched messages (they are fetched again on
                // resume), so it is kept for stalls longer than `pause_after_ms`.
                let pause_after = self.pause_after;
                let wait =
                    async move { tokio::time::timeout(pause_after, tx.reserve_owned()).await };
                match self.rt.block_on(wait) {
                    Ok(Ok(permit)) => {
                        permit.send(item);
                        (Step::Done, None)
                    }
                    Ok(Err(_)) => (Step::Closed, None),
                    Err(_) => {
                        if prov.live {
                            sh.acks.retract(&prov.origin);
                        }
                        (Step::Blocked, Some(Action::Forward(item, prov)))
                    }
                }
            }
            Action::DeadLetter { .. } => self.dead_letter(action),
        }
    }

    fn dead_letter(&mut self, action: Action) -> (Step, Option<Action>) {
        let Action::DeadLetter {
            origin,
            key,
            payload,
            timestamp_ms,
            error,
        } = &action
        else {
            return (Step::Done, None);
        };
        let sh = &self.shared;
        let (Some(dl), Some(topic)) = (&self.dead_letters, &sh.cfg.dead_letter_topic) else {
            sh.acks.pass(origin);
            return (Step::Done, None);
        };
        if !sh.acks.is_current(origin) {
            return (Step::Done, None);
        }
        let (partition, offset) = (origin.tp.partition.to_string(), origin.offset.to_string());
        let headers: [(&str, &[u8]); 4] = [
            ("error", error.as_bytes()),
            ("source.topic", origin.tp.topic.as_bytes()),
            ("source.partition", partition.as_bytes()),
            ("source.offset", offset.as_bytes()),
        ];
        sh.acks.begin(origin);
        let rec = Record {
            topic,
            key: key.as_deref(),
            payload: payload.as_deref(),
            headers: &headers,
            timestamp_ms: *timestamp_ms,
            origin: Some(origin.clone()),
        };
        match dl.offer(rec) {
            Ok(Offer::Queued) => {
                bump(&sh.stats.dead_lettered);
                (Step::Done, None)
            }
            Ok(Offer::Full) => {
                sh.acks.retract(origin);
                (Step::Blocked, Some(action))
            }
            Err(e) => {
                // Not deliverable at all (an unknown topic): keep the offset pending so it is
                // re-read after a restart, and say so loudly.
                tracing::error!(error = %e, "kafka: cannot dead-letter {}@{}", origin.tp, origin.offset);
                (Step::Done, None)
            }
        }
    }

    fn on_message(&mut self, consumer: &BaseConsumer<Ctx>, m: &BorrowedMessage<'_>) {
        let sh = self.shared.clone();
        bump(&sh.stats.messages);
        let tp = Tp {
            topic: Arc::from(m.topic()),
            partition: m.partition(),
        };
        let Some(generation) = sh.acks.generation(&tp) else {
            return; // not (or no longer) ours
        };
        let origin = Origin {
            tp: tp.clone(),
            offset: m.offset(),
            generation,
        };
        let phase = sh.phases().get(&tp).copied().unwrap_or(Phase::Live);
        let live = match phase {
            Phase::Fresh => {
                if self.start_warmup(consumer, &tp, m) {
                    return; // re-read from the warm-up start; this message comes again
                }
                true
            }
            Phase::Warming { until, started } => {
                if m.offset() < until {
                    sh.phases().insert(
                        tp.clone(),
                        Phase::Warming {
                            until,
                            started: true,
                        },
                    );
                    false
                } else if !started {
                    return; // fetched before the seek took effect; read again after the span
                } else {
                    sh.phases().insert(tp.clone(), Phase::Live);
                    tracing::info!(%tp, offset = m.offset(), "kafka partition warm: emitting");
                    true
                }
            }
            Phase::Live => true,
        };
        let recv_ns = m
            .timestamp()
            .to_millis()
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        let action = match decode(m.payload(), sh.cfg.format, sh.cfg.exchange, recv_ns) {
            Ok(Decoded::Event(ev)) => {
                bump(if live {
                    &sh.stats.events
                } else {
                    &sh.stats.warmup_events
                });
                let prov = Provenance { origin, live };
                Action::Forward(SourceItem::Event(ev, Some(prov.clone())), prov)
            }
            Ok(Decoded::Ignored) => {
                bump(&sh.stats.ignored);
                Action::Pass(origin)
            }
            Err(_) if !live => return, // the previous owner dead-lettered it
            Err(error) => {
                bump(&sh.stats.malformed);
                tracing::warn!(%tp, offset = m.offset(), %error, "malformed kafka message");
                Action::DeadLetter {
                    origin,
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                    timestamp_ms: m.timestamp().to_millis(),
                    error,
                }
            }
        };
        // A warm-up message only feeds the state: its offset was settled by the previous owner.
        if live || matches!(action, Action::Forward(..)) {
            self.fifo.push_back(action);
        }
    }

    /// On a partition's first message: when the warm-up span holds earlier messages, seeks back
    /// to its start and returns true.
    fn start_warmup(
        &mut self,
        consumer: &BaseConsumer<Ctx>,
        tp: &Tp,
        m: &BorrowedMessage<'_>,
    ) -> bool {
        let sh = &self.shared;
        let first = m.offset();
        let target = m
            .timestamp()
            .to_millis()
            .filter(|_| sh.warmup_span_ms > 0)
            .map(|ts| ts.saturating_sub(sh.warmup_span_ms));
        let from = target.and_then(|ts| {
            let mut q = TopicPartitionList::new();
            q.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(ts)).ok()?;
            let found = consumer.offsets_for_times(q, Duration::from_secs(10));
            match found {
                Ok(list) => list.elements().first().and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                }),
                Err(e) => {
                    tracing::warn!(%tp, error = %e, "kafka: offsets_for_times failed; no warm-up re-read");
                    None
                }
            }
        });
        match from.filter(|&w| w < first) {
            Some(w) => match consumer.seek(
                &tp.topic,
                tp.partition,
                Offset::Offset(w),
                Duration::from_secs(10),
            ) {
                Ok(()) => {
                    tracing::info!(%tp, from = w, live_from = first, "kafka partition assigned: re-reading the warm-up span");
                    sh.phases().insert(
                        tp.clone(),
                        Phase::Warming {
                            until: first,
                            started: false,
                        },
                    );
                    true
                }
                Err(e) => {
                    tracing::warn!(%tp, error = %e, "kafka: warm-up seek failed; emitting once the symbols are ready");
                    sh.phases().insert(tp.clone(), Phase::Live);
                    false
                }
            },
            None => {
                sh.phases().insert(tp.clone(), Phase::Live);
                false
            }
        }
    }
}
