//! Window conflation for live exchange feeds (DESIGN.md §1: "windows: keep the newest per symbol
//! when inference lags, counted").
//!
//! Between the feature stage and the micro-batcher of a websocket run: windows pass straight
//! through while the model keeps up; when it lags, at most one window per symbol waits here and a
//! newer window of the same symbol replaces it (each replacement counted), so the model always
//! scores a symbol's latest state instead of working through a backlog of stale bars, and the
//! feature stage (and the feeds behind it) never wait for the model. Symbols leave in the order
//! they first queued. Replays and Kafka never conflate: a replay must score every window, and a
//! Kafka offset is committed only once its window's signal is delivered.

use crate::event::{Exchange, Symbol};
use crate::features::Window;
use crate::infer::Stamped;
use crate::telemetry::live::LiveMetrics;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// Hands every window on, in order (conflation off); returns 0.
pub(super) async fn pass_through(
    mut rx: mpsc::Receiver<Stamped<Window>>,
    tx: mpsc::Sender<Stamped<Window>>,
) -> u64 {
    while let Some(w) = rx.recv().await {
        if tx.send(w).await.is_err() {
            break;
        }
    }
    0
}

/// Runs until `rx` closes (then hands over what waits) or `tx` closes; returns how many windows
/// were replaced by a newer one of their symbol.
pub(super) async fn conflate_stage(
    mut rx: mpsc::Receiver<Stamped<Window>>,
    tx: mpsc::Sender<Stamped<Window>>,
    metrics: Arc<LiveMetrics>,
) -> u64 {
    let mut waiting: HashMap<(Exchange, Symbol), Stamped<Window>> = HashMap::new();
    let mut order: VecDeque<(Exchange, Symbol)> = VecDeque::new();
    let mut replaced = 0u64;
    loop {
        let Some(key) = order.front().cloned() else {
            match rx.recv().await {
                Some(w) => {
                    let key = (w.item.exchange, w.item.symbol.clone());
                    order.push_back(key.clone());
                    waiting.insert(key, w);
                    continue;
                }
                None => return replaced,
            }
        };
        tokio::select! {
            biased;
            next = rx.recv() => match next {
                Some(w) => {
                    let key = (w.item.exchange, w.item.symbol.clone());
                    if waiting.insert(key.clone(), w).is_some() {
                        replaced += 1;
                        metrics.coalesced.fetch_add(1, Ordering::Relaxed);
                    } else {
                        order.push_back(key);
                    }
                }
                None => {
                    for key in order.drain(..) {
                        if let Some(w) = waiting.remove(&key)
                            && tx.send(w).await.is_err() {
                                break;
                            }
                    }
                    return replaced;
                }
            },
            permit = tx.reserve() => {
                let Ok(permit) = permit else { return replaced };
                order.pop_front();
                if let Some(w) = waiting.remove(&key) {
                    permit.send(w);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // stamps are wall-clock instants
    fn win(sym: &str, t: i64) -> Stamped<Window> {
        let now = std::time::Instant::now();
        let w = Window {
            exchange: Exchange::Binance,
            symbol: Symbol::try_from(sym.to_string()).unwrap(),
            bar_close_time_ms: t,
            close: 1.0,
            seq_len: 1,
            n_features: 1,
            data: vec![0.0],
            features_valid: true,
            filled_rows: 0,
        };
        Stamped::new(w, now, 0, None, now)
    }

    #[tokio::test]
    async fn a_lagging_consumer_gets_each_symbols_newest_window() {
        let (in_tx, in_rx) = mpsc::channel(64);
        let (out_tx, mut out_rx) = mpsc::channel(1);
        let stage = tokio::spawn(conflate_stage(in_rx, out_tx, LiveMetrics::new()));
        // Nobody reads yet: one window fills the output, the rest wait and conflate.
        for t in 1..=5 {
            for s in ["A", "B"] {
                in_tx.send(win(s, t)).await.unwrap();
            }
        }
        drop(in_tx);
        let mut got = Vec::new();
        while let Some(w) = out_rx.recv().await {
            got.push((w.item.symbol.to_string(), w.item.bar_close_time_ms));
        }
        let replaced = stage.await.unwrap();
        // Each symbol's last window always arrives; every window either arrived or was replaced.
        assert!(
            got.contains(&("A".into(), 5)) && got.contains(&("B".into(), 5)),
            "{got:?}"
        );
        assert_eq!(got.len() as u64 + replaced, 10, "{got:?}");
        assert!(replaced >= 6, "a full output conflates: {replaced}");
        for s in ["A", "B"] {
            let ts: Vec<i64> = got.iter().filter(|g| g.0 == s).map(|g| g.1).collect();
            assert!(ts.windows(2).all(|p| p[0] < p[1]), "{s}: {ts:?} in order");
        }
    }

    #[tokio::test]
    async fn a_keeping_up_consumer_gets_every_window() {
        let (in_tx, in_rx) = mpsc::channel(4);
        let (out_tx, mut out_rx) = mpsc::channel(4);
        let stage = tokio::spawn(conflate_stage(in_rx, out_tx, LiveMetrics::new()));
        for t in 1..=20 {
            in_tx.send(win("A", t)).await.unwrap();
            assert_eq!(out_rx.recv().await.unwrap().item.bar_close_time_ms, t);
        }
        drop(in_tx);
        assert!(out_rx.recv().await.is_none());
        assert_eq!(stage.await.unwrap(), 0);
    }
}
