//! The consumer thread's loop: poll, decode, and apply every message's [`Action`] in order.
//!
//! Everything a message causes becomes an action in one FIFO, applied in order, so an offset is
//! never released before an earlier one of its partition: send an event down the pipeline,
//! dead-letter a malformed message, pass over an unused one. When the channel is full the front
//! action waits up to `pause_after_ms` for room; past that the loop pauses all its partitions
//! and keeps polling (rebalance callbacks run inside poll) until the FIFO is empty again. A
//! partition's first message after an assignment seeks back the warm-up span.
#![allow(clippy::disallowed_methods)] // the loop paces commits on the wall clock: it is an edge

use super::decode::{Decoded, decode};
use super::producer::{AckingProducer, Offer, Record};
use super::rebalance::{Ctx, Phase, Shared, commit};
use super::source::{Provenance, SourceItem, bump};
use super::{Origin, Tp};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TrySendError;

/// One step of the FIFO.
pub(super) enum Action {
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

pub(super) struct Loop {
    pub(super) shared: Arc<Shared>,
    /// The pipeline's runtime, to wait on its channel.
    pub(super) rt: tokio::runtime::Handle,
    pub(super) pause_after: Duration,
    pub(super) dead_letters: Option<Arc<AckingProducer>>,
    pub(super) fifo: VecDeque<Action>,
    pub(super) paused: bool,
    pub(super) stop: Arc<AtomicBool>,
}

/// What happened to the FIFO's front action.
enum Step {
    Done,
    Blocked,
    /// The pipeline is gone.
    Closed,
}

impl Loop {
    pub(super) fn run(&mut self, consumer: &BaseConsumer<Ctx>) {
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

    /// Pauses while the FIFO is blocked, resumes when it is empty (and after every assignment).
    fn pace(&mut self, consumer: &BaseConsumer<Ctx>) {
        let rebalanced = self.shared.rebalanced.swap(false, Ordering::AcqRel);
        let want_pause = !self.fifo.is_empty();
        if want_pause && (!self.paused || rebalanced) {
            if let Ok(a) = consumer.assignment()
                && let Err(e) = consumer.pause(&a)
            {
                tracing::warn!(error = %e, "kafka: cannot pause");
            }
            if !self.paused {
                bump(&self.shared.stats.pauses);
            }
            self.paused = true;
            self.shared.paused.store(true, Ordering::Release);
        } else if !want_pause && (self.paused || rebalanced) {
            // After an assignment too: librdkafka keeps a partition's pause across a revoke and
            // a re-assignment to the same consumer, so one paused before a rebalance (and not in
            // the assignment when the FIFO emptied and the rest were resumed) would otherwise
            // stay paused for good: the engine stalled with its partitions assigned and idle.
            if let Ok(a) = consumer.assignment()
                && let Err(e) = consumer.resume(&a)
            {
                tracing::warn!(error = %e, "kafka: cannot resume");
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
                // Counted when handed over, not when read: a message still in the FIFO when the
                // source stops is neither forwarded nor committed, and the next owner reads it
                // (and counts it) again.
                let handed = |sh: &Shared| {
                    bump(if prov.live {
                        &sh.stats.events
                    } else {
                        &sh.stats.warmup_events
                    })
                };
                let item = match tx.try_send(item) {
                    Ok(()) => {
                        handed(sh);
                        return (Step::Done, None);
                    }
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
                        handed(sh);
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
                let prov = Provenance { origin, live };
                Action::Forward(
                    SourceItem::Event(ev, Some(prov.clone()), std::time::Instant::now()),
                    prov,
                )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KafkaSourceConfig;
    use crate::event::MarketEvent;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU64;
    use tokio::sync::mpsc;

    fn event() -> MarketEvent {
        MarketEvent::from_json(
            br#"{"exchange":"binance_futures","symbol":"LINKUSDT","ts_event_ns":1,"ts_recv_ns":1,
            "kind":{"type":"trade","price":9.5,"qty":2.0,"side":"buy","id":7}}"#,
        )
        .expect("a valid event")
    }

    /// The regression behind a flaky `kafka_pipeline` SIGTERM test: a live event counted when
    /// read but still in the FIFO when the source stopped was neither forwarded nor committed,
    /// so the next owner read (and counted) it again: 2,881 events of 2,880 messages. `events`
    /// counts what was handed to the pipeline, as its doc says.
    #[test]
    fn events_count_what_was_handed_over_not_what_was_read() {
        // Multi-threaded as the engine's: a current-thread runtime's timer only runs inside its
        // own `block_on`, not a `Handle`'s, and the wait for a slot would never time out.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .expect("runtime");
        let (tx, mut rx) = mpsc::channel(1);
        let tp = Tp {
            topic: Arc::from("t"),
            partition: 0,
        };
        let shared = Arc::new(Shared {
            cfg: KafkaSourceConfig::default(),
            acks: Default::default(),
            warmup_span_ms: 0,
            tx: Mutex::new(Some(tx)),
            phases: Mutex::new(HashMap::new()),
            rebalanced: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            stats: Arc::default(),
            lag: Arc::default(),
        });
        let generation = shared.acks.assign(&tp);
        let mut l = Loop {
            shared: shared.clone(),
            rt: rt.handle().clone(),
            pause_after: Duration::from_millis(1),
            dead_letters: None,
            fifo: VecDeque::new(),
            paused: false,
            stop: Arc::new(AtomicBool::new(false)),
        };
        let forward = |offset: i64, live: bool| {
            let prov = Provenance {
                origin: Origin {
                    tp: tp.clone(),
                    offset,
                    generation,
                },
                live,
            };
            Action::Forward(
                SourceItem::Event(event(), Some(prov.clone()), Instant::now()),
                prov,
            )
        };
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        // Read three (one a warm-up re-read); the pipeline takes one.
        l.fifo
            .extend([forward(10, false), forward(11, true), forward(12, true)]);
        assert!(matches!(l.drain(), Step::Blocked));
        assert_eq!(count(&shared.stats.warmup_events), 1);
        assert_eq!(
            count(&shared.stats.events),
            0,
            "nothing live handed over yet"
        );
        assert_eq!(l.fifo.len(), 2);
        // The pipeline frees a slot: one more goes; one is still queued at the stop.
        assert!(rx.try_recv().is_ok());
        assert!(matches!(l.drain(), Step::Blocked));
        assert_eq!(count(&shared.stats.events), 1);
        assert_eq!(l.fifo.len(), 1);
        // Only the handed-over offset is owed; offset 12 stays unread for the next owner.
        assert_eq!(shared.acks.pending(std::slice::from_ref(&tp)), 1);
    }
}
