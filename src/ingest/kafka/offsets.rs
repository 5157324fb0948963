//! At-least-once bookkeeping: which input offsets still owe an acknowledgement downstream.
//!
//! The consumer [`Acks::begin`]s an offset when it hands the message to the pipeline; whoever
//! finishes with it calls [`Acks::done`]: the feature stage when the event made no window, the
//! Kafka sink's delivery report when the signal it made is on the broker, the dead-letter
//! producer's report for a malformed message. A partition may be committed up to its lowest
//! offset still pending (or past its last begun one when none is), so a crash between two
//! commits re-reads, never skips. Each assignment of a partition gets a new generation: reports
//! that arrive after a revoke belong to the old one and are ignored.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// A topic partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tp {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl std::fmt::Display for Tp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// Where one input message came from, and under which assignment it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub tp: Tp,
    pub offset: i64,
    pub generation: u64,
}

#[derive(Debug, Default)]
struct Part {
    generation: u64,
    pending: BTreeSet<i64>,
    /// One past the highest offset begun or passed.
    next: Option<i64>,
    /// The last offset committed (the next message to read).
    committed: Option<i64>,
}

impl Part {
    fn committable(&self) -> Option<i64> {
        self.pending.first().copied().or(self.next)
    }
}

/// Shared between the consumer thread, the pipeline's stages and the producers' delivery
/// callbacks. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Acks {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    parts: HashMap<Tp, Part>,
    generations: u64,
}

impl Acks {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain counters behind: still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A partition was assigned to this instance; returns its new generation.
    pub fn assign(&self, tp: &Tp) -> u64 {
        let mut g = self.lock();
        g.generations += 1;
        let generation = g.generations;
        g.parts.insert(
            tp.clone(),
            Part {
                generation,
                ..Part::default()
            },
        );
        generation
    }

    /// The partition is gone: later reports for it are ignored.
    pub fn revoke(&self, tp: &Tp) {
        self.lock().parts.remove(tp);
    }

    /// The current generation of an assigned partition.
    pub fn generation(&self, tp: &Tp) -> Option<u64> {
        self.lock().parts.get(tp).map(|p| p.generation)
    }

    /// Whether `o` belongs to the partition's current assignment.
    pub fn is_current(&self, o: &Origin) -> bool {
        self.generation(&o.tp) == Some(o.generation)
    }

    /// The message at `o` enters the pipeline; false (and nothing recorded) when its assignment
    /// has ended.
    pub fn begin(&self, o: &Origin) -> bool {
        let mut g = self.lock();
        match g.parts.get_mut(&o.tp) {
            Some(p) if p.generation == o.generation => {
                p.pending.insert(o.offset);
                p.next = Some(p.next.map_or(o.offset + 1, |n| n.max(o.offset + 1)));
                true
            }
            _ => false,
        }
    }

    /// Undoes `begin` for a message that could not be handed on after all (the channel was
    /// full): it is held and begun again later, and meanwhile must not count as read.
    pub fn retract(&self, o: &Origin) {
        let mut g = self.lock();
        if let Some(p) = g
            .parts
            .get_mut(&o.tp)
            .filter(|p| p.generation == o.generation)
        {
            p.pending.remove(&o.offset);
            if p.next == Some(o.offset + 1) {
                p.next = Some(o.offset);
            }
        }
    }

    /// The message at `o` needs nothing (a message type the engine does not use).
    pub fn pass(&self, o: &Origin) {
        let mut g = self.lock();
        if let Some(p) = g
            .parts
            .get_mut(&o.tp)
            .filter(|p| p.generation == o.generation)
        {
            p.next = Some(p.next.map_or(o.offset + 1, |n| n.max(o.offset + 1)));
        }
    }

    /// Everything the message at `o` produced is acknowledged.
    pub fn done(&self, o: &Origin) {
        let mut g = self.lock();
        if let Some(p) = g
            .parts
            .get_mut(&o.tp)
            .filter(|p| p.generation == o.generation)
        {
            p.pending.remove(&o.offset);
        }
    }

    /// Messages of `tps` still in flight.
    pub fn pending(&self, tps: &[Tp]) -> usize {
        let g = self.lock();
        tps.iter()
            .filter_map(|tp| g.parts.get(tp))
            .map(|p| p.pending.len())
            .sum()
    }

    /// Messages in flight over all partitions.
    pub fn pending_total(&self) -> usize {
        self.lock().parts.values().map(|p| p.pending.len()).sum()
    }

    /// Offsets that may be committed and have not been (of `only`, when given).
    pub fn to_commit(&self, only: Option<&[Tp]>) -> Vec<(Tp, i64)> {
        let g = self.lock();
        g.parts
            .iter()
            .filter(|(tp, _)| only.is_none_or(|o| o.contains(tp)))
            .filter_map(|(tp, p)| {
                let c = p.committable()?;
                (p.committed.is_none_or(|done| c > done)).then(|| (tp.clone(), c))
            })
            .collect()
    }

    /// Records a successful commit.
    pub fn committed(&self, tp: &Tp, offset: i64) {
        if let Some(p) = self.lock().parts.get_mut(tp) {
            p.committed = Some(p.committed.map_or(offset, |c| c.max(offset)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> Tp {
        Tp {
            topic: Arc::from("t"),
            partition: p,
        }
    }

    fn at(tp: &Tp, offset: i64, generation: u64) -> Origin {
        Origin {
            tp: tp.clone(),
            offset,
            generation,
        }
    }

    #[test]
    fn commits_stop_at_the_oldest_unacknowledged_offset() {
        let (a, acks) = (tp(0), Acks::default());
        let g = acks.assign(&a);
        for o in 10..15 {
            assert!(acks.begin(&at(&a, o, g)));
        }
        // 10 and 12 done, 11 still owed: only 10 is safe.
        acks.done(&at(&a, 10, g));
        acks.done(&at(&a, 12, g));
        assert_eq!(acks.to_commit(None), vec![(a.clone(), 11)]);
        acks.committed(&a, 11);
        assert!(acks.to_commit(None).is_empty(), "nothing new to commit");
        for o in [11, 13, 14] {
            acks.done(&at(&a, o, g));
        }
        assert_eq!(acks.to_commit(None), vec![(a.clone(), 15)]);
        acks.pass(&at(&a, 15, g));
        assert_eq!(acks.to_commit(None), vec![(a.clone(), 16)]);
        // 16 could not be handed on: it must be read again, not skipped.
        assert!(acks.begin(&at(&a, 16, g)));
        acks.retract(&at(&a, 16, g));
        assert_eq!(acks.to_commit(None), vec![(a.clone(), 16)]);
    }

    #[test]
    fn reports_from_an_old_assignment_are_ignored() {
        let (a, acks) = (tp(1), Acks::default());
        let old = acks.assign(&a);
        assert!(acks.begin(&at(&a, 5, old)));
        acks.revoke(&a);
        let new = acks.assign(&a);
        assert_ne!(old, new);
        assert!(
            !acks.begin(&at(&a, 6, old)),
            "a message read before the revoke"
        );
        assert!(acks.begin(&at(&a, 5, new)));
        acks.done(&at(&a, 5, old)); // the old delivery report: must not release the new 5
        assert_eq!(acks.pending(std::slice::from_ref(&a)), 1);
        assert_eq!(
            acks.to_commit(Some(std::slice::from_ref(&a))),
            vec![(a.clone(), 5)]
        );
        assert!(acks.to_commit(Some(&[tp(2)])).is_empty());
    }
}
