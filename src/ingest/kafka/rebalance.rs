//! The consumer's side of the group protocol: what a rebalance does to the pipeline, and
//! commits.
//!
//! On revoke (inside librdkafka's poll, on the consumer thread): wait up to `revoke_drain_ms`
//! for the partitions' signals to be acknowledged, commit, forget the partitions in [`Acks`]
//! and tell the feature stage to drop their state. On assign: a new generation in [`Acks`] and
//! the partition marked [`Phase::Fresh`], so its first message decides the warm-up re-read.
#![allow(clippy::disallowed_methods)] // the revoke drain waits on the wall clock

use super::client::traced_client_context;
use super::source::{Counters, SourceItem, bump};
use super::{Acks, Tp};
use crate::config::KafkaSourceConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A partition's phase since its assignment.
#[derive(Clone, Copy, Debug)]
pub(super) enum Phase {
    /// No message seen yet: the first one decides the warm-up.
    Fresh,
    /// Re-reading up to `until` (the first live offset) with emission off.
    Warming {
        until: i64,
        started: bool,
    },
    Live,
}

pub(super) struct Shared {
    pub(super) cfg: KafkaSourceConfig,
    pub(super) acks: Acks,
    pub(super) warmup_span_ms: i64,
    /// Taken at shutdown so the pipeline sees the end of input.
    pub(super) tx: Mutex<Option<mpsc::Sender<SourceItem>>>,
    pub(super) phases: Mutex<HashMap<Tp, Phase>>,
    pub(super) rebalanced: AtomicBool,
    /// The consumer is paused (the pipeline is full).
    pub(super) paused: AtomicBool,
    pub(super) stats: Arc<Counters>,
    /// Consumer lag (messages) per assigned partition, from librdkafka's statistics.
    pub(super) lag: Arc<Mutex<BTreeMap<Tp, i64>>>,
}

impl Shared {
    pub(super) fn sender(&self) -> Option<mpsc::Sender<SourceItem>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn phases(&self) -> std::sync::MutexGuard<'_, HashMap<Tp, Phase>> {
        self.phases.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Ctx {
    pub(super) shared: Arc<Shared>,
}

traced_client_context!(
    Ctx,
    fn stats(&self, statistics: rdkafka::Statistics) {
        record_lag(&self.shared, &statistics);
    }
);

/// Keeps the lag of each partition this consumer owns (librdkafka reports -1 for the rest).
fn record_lag(shared: &Shared, statistics: &rdkafka::Statistics) {
    let lag: BTreeMap<Tp, i64> = statistics
        .topics
        .iter()
        .flat_map(|(topic, t)| {
            let topic: Arc<str> = Arc::from(topic.as_str());
            t.partitions
                .iter()
                .filter(|(p, part)| **p >= 0 && part.consumer_lag >= 0)
                .map(move |(p, part)| {
                    let tp = Tp {
                        topic: topic.clone(),
                        partition: *p,
                    };
                    (tp, part.consumer_lag)
                })
        })
        .collect();
    *shared.lag.lock().unwrap_or_else(|e| e.into_inner()) = lag;
}

pub(super) fn tps_of(list: &TopicPartitionList) -> Vec<Tp> {
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
pub(super) fn commit(
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
