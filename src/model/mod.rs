//! The model: `SignalNet`, a BiLSTM + multi-head-attention network generic over the burn backend,
//! and the choice of backend (made once, at the edge).
//!
//! In: a batch of scaled windows `[B, T, F]`. Out: a profitability logit and an expected return in
//! bps per window. This module knows nothing of bundles or the registry: `registry/` stores a model,
//! `infer.rs` runs one.

pub mod backend;
pub mod fused;
pub mod net;

pub use net::{SignalNet, SignalNetConfig, SignalOutput};

/// Stack for threads that run burn's deep work (reserved address space, touched only as used).
pub const LARGE_STACK_BYTES: usize = 512 << 20;

/// Runs `f` on a fresh thread with a large stack and waits for it. burn's autodiff walks and drops
/// its graph recursively (T unrolled LSTM steps deep), and its derived record (de)serialisers keep
/// every sub-record in one frame, which in an unoptimised build overflows the 2 MiB stacks of test
/// and tokio threads. Training, saving and loading a model go through here.
pub fn on_large_stack<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .stack_size(LARGE_STACK_BYTES)
            .spawn_scoped(scope, f)?;
        handle
            .join()
            .map_err(|_| std::io::Error::other(format!("thread {name} panicked")))
    })
}
