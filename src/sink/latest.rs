//! The latest-signal store: the newest signal per (exchange, symbol), and a numbered feed of every
//! signal with a bounded replay buffer, so a stream client that reconnects can ask for what it
//! missed (`Last-Event-ID`). The sink stage writes it; the sidecar API (issue 8) reads it.
//!
//! Writers never wait for readers: a reader that lags behind the broadcast channel's capacity is
//! told how many it missed (tokio's `Lagged`) and can resume from the replay buffer.

use crate::event::{Exchange, Symbol};
use crate::signal::Signal;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// A signal with its position in the feed (1, 2, ...).
#[derive(Clone, Debug)]
pub struct Numbered {
    pub seq: u64,
    pub signal: Arc<Signal>,
}

struct Inner {
    latest: BTreeMap<(Exchange, Symbol), Arc<Signal>>,
    recent: VecDeque<Numbered>,
    seq: u64,
}

pub struct LatestSignals {
    inner: RwLock<Inner>,
    tx: broadcast::Sender<Numbered>,
    keep: usize,
}

impl LatestSignals {
    /// `keep`: how many recent signals a reconnecting client can resume from.
    pub fn new(keep: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(keep.max(16));
        Arc::new(Self {
            inner: RwLock::new(Inner {
                latest: BTreeMap::new(),
                recent: VecDeque::with_capacity(keep),
                seq: 0,
            }),
            tx,
            keep,
        })
    }

    /// Records `s` as its symbol's latest and appends it to the feed.
    pub fn publish(&self, s: &Signal) {
        let signal = Arc::new(s.clone());
        let numbered = {
            let Ok(mut g) = self.inner.write() else {
                return; // a reader panicked while holding the lock: the store is gone
            };
            g.seq += 1;
            let n = Numbered {
                seq: g.seq,
                signal: signal.clone(),
            };
            g.latest.insert((s.exchange, s.symbol.clone()), signal);
            if g.recent.len() == self.keep {
                g.recent.pop_front();
            }
            if self.keep > 0 {
                g.recent.push_back(n.clone());
            }
            n
        };
        let _ = self.tx.send(numbered); // no subscriber: nothing to do
    }

    pub fn get(&self, exchange: Exchange, symbol: &Symbol) -> Option<Arc<Signal>> {
        let g = self.inner.read().ok()?;
        g.latest.get(&(exchange, symbol.clone())).cloned()
    }

    /// Every symbol's latest signal, by exchange then symbol.
    pub fn all(&self) -> Vec<Arc<Signal>> {
        self.inner
            .read()
            .map(|g| g.latest.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The feed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Numbered> {
        self.tx.subscribe()
    }

    /// The buffered signals after `seq`, and whether the buffer still reaches back that far
    /// (false: some were missed for good).
    pub fn since(&self, seq: u64) -> (Vec<Numbered>, bool) {
        let Ok(g) = self.inner.read() else {
            return (Vec::new(), false);
        };
        let complete = g.recent.front().is_none_or(|n| n.seq <= seq + 1) || seq >= g.seq;
        let after = g.recent.iter().filter(|n| n.seq > seq).cloned().collect();
        (after, complete)
    }

    /// Number of the newest signal (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.inner.read().map(|g| g.seq).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{Decision, SCHEMA_VERSION};

    fn sig(sym: &str, t: i64) -> Signal {
        let symbol = Symbol::try_from(sym.to_string()).unwrap();
        Signal {
            schema_version: SCHEMA_VERSION,
            signal_id: format!("{sym}:{t}"),
            exchange: Exchange::BinanceFutures,
            symbol,
            bar_close_time_ms: t,
            emitted_at_ms: t,
            model_version: "v".into(),
            p_profitable: 0.5,
            expected_return_bps: 0.0,
            threshold: 0.5,
            decision: Decision::Flat,
            features_valid: true,
            feature_age_ms: 0,
            latency_us: 1,
        }
    }

    #[test]
    fn keeps_the_latest_per_symbol_and_a_resumable_feed() {
        let store = LatestSignals::new(3);
        let mut rx = store.subscribe();
        for (s, t) in [("A", 1), ("B", 1), ("A", 2), ("B", 2), ("A", 3)] {
            store.publish(&sig(s, t));
        }
        let a = Symbol::try_from("A".to_string()).unwrap();
        let latest = store.get(Exchange::BinanceFutures, &a).unwrap();
        assert_eq!(latest.bar_close_time_ms, 3);
        assert_eq!(store.all().len(), 2);
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        let (after, complete) = store.since(3);
        assert_eq!(after.iter().map(|n| n.seq).collect::<Vec<_>>(), [4, 5]);
        assert!(complete);
        let (after, complete) = store.since(1);
        assert_eq!(after.len(), 3, "the buffer holds 3..=5");
        assert!(!complete, "2 is gone for good");
        assert_eq!(store.last_seq(), 5);
    }
}
