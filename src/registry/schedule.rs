//! Model swaps in event time, for replays with the shadow trainer.
//!
//! Live, a promotion is one store into the live model and the next batch uses it. A replay runs
//! far faster than its event time and its stages queue ahead of or behind the trainer by their
//! channels' capacity, so "the next batch" would be any window within thousands of bars of the
//! decision: a window scored by a model trained on labels that resolved after it (look-ahead),
//! or the whole replay finished before the swap, and both varying from run to run. Here the
//! trainer schedules each swap at the bar close time it had seen when it decided (`after_ms`),
//! and the inference stage scores a window closing at `t` only once the trainer has seen `t`,
//! with the model scheduled last before `t`. A replay with the shadow trainer therefore names the
//! same model on the same windows on every run (given the same refits), and no window is scored
//! by a model that learnt from bars after it.
//!
//! In: `seen(t)` and `swap_after(t, model)` from the trainer (one thread), `close()` when it
//! ends. Out: `wait_seen(t)` and `model_at(t)` for the inference stage.

use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The shared schedule (cheap to clone) of models `M` (a [`super::LoadedModel`] in the engine).
pub struct SwapSchedule<M>(Arc<Inner<M>>);

impl<M> Clone for SwapSchedule<M> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Inner<M> {
    /// The newest bar close time the trainer has processed; `i64::MAX` once it has ended.
    seen: watch::Sender<i64>,
    /// `(after_ms, model)` in the order scheduled (after_ms never decreases); the first entry is
    /// the model the replay started with, at `i64::MIN`.
    swaps: Mutex<Vec<(i64, Arc<M>)>>,
}

impl<M> SwapSchedule<M> {
    pub fn new(initial: Arc<M>) -> Self {
        Self(Arc::new(Inner {
            seen: watch::Sender::new(i64::MIN),
            swaps: Mutex::new(vec![(i64::MIN, initial)]),
        }))
    }

    /// The trainer has processed every input up to bar close time `ms`.
    pub fn seen(&self, ms: i64) {
        self.0.seen.send_if_modified(|w| {
            let newer = ms > *w;
            if newer {
                *w = ms;
            }
            newer
        });
    }

    /// The trainer has ended (or died): nothing more will be scheduled, nobody waits.
    pub fn close(&self) {
        self.seen(i64::MAX);
    }

    /// Windows closing after `after_ms` are scored by `model` (until a later swap).
    pub fn swap_after(&self, after_ms: i64, model: Arc<M>) {
        let mut swaps = self.0.swaps.lock().unwrap_or_else(|p| p.into_inner());
        let after_ms = swaps.last().map_or(after_ms, |(a, _)| after_ms.max(*a));
        swaps.push((after_ms, model));
    }

    /// The model scheduled last (what serves from the trainer's point in the data on).
    pub fn latest(&self) -> Arc<M> {
        let swaps = self.0.swaps.lock().unwrap_or_else(|p| p.into_inner());
        swaps[swaps.len() - 1].1.clone()
    }

    /// Waits until the trainer has seen bar close time `ms` (or ended).
    pub async fn wait_seen(&self, ms: i64) {
        let mut rx = self.0.seen.subscribe();
        // The sender lives as long as `self`: this returns once the condition holds.
        let _ = rx.wait_for(|&w| w >= ms).await;
    }

    /// The model for a window closing at `ms`: the last one scheduled strictly before it.
    pub fn model_at(&self, ms: i64) -> Arc<M> {
        let swaps = self.0.swaps.lock().unwrap_or_else(|p| p.into_inner());
        let i = swaps.partition_point(|(after, _)| *after < ms);
        swaps[i.max(1) - 1].1.clone()
    }
}

/// Closes the schedule when dropped, so an inference stage never waits on a trainer that died.
pub struct CloseOnDrop<M>(pub SwapSchedule<M>);

impl<M> Drop for CloseOnDrop<M> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_gets_the_model_scheduled_strictly_before_it() {
        let s = SwapSchedule::new(Arc::new("first"));
        s.swap_after(100, Arc::new("second"));
        s.swap_after(200, Arc::new("third"));
        // A second swap at the same point (a promotion undone) wins over the first.
        s.swap_after(200, Arc::new("third, undone"));
        let at = |ms| *s.model_at(ms);
        assert_eq!(at(i64::MIN), "first");
        assert_eq!(at(100), "first");
        assert_eq!(at(101), "second");
        assert_eq!(at(200), "second");
        assert_eq!(at(201), "third, undone");
        assert_eq!(*s.latest(), "third, undone");
        // A swap scheduled "before" the last one takes effect after it: history is not rewritten.
        s.swap_after(150, Arc::new("late"));
        assert_eq!(at(151), "second");
        assert_eq!(at(201), "late");
    }

    #[test]
    fn waiting_ends_when_the_trainer_has_seen_the_time_or_has_ended() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let s = SwapSchedule::new(Arc::new(()));
        s.seen(50);
        rt.block_on(s.wait_seen(50));
        let waiting = {
            let s = s.clone();
            rt.spawn(async move { s.wait_seen(60).await })
        };
        rt.block_on(tokio::task::yield_now());
        assert!(!waiting.is_finished(), "nothing has seen 60 yet");
        s.seen(40); // never goes back
        let trainer = {
            let s = s.clone();
            std::thread::spawn(move || drop(CloseOnDrop(s)))
        };
        trainer.join().unwrap();
        rt.block_on(waiting).unwrap();
    }
}
