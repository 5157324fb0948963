//! The burn backends, chosen once here so the rest of the crate names `InferBackend` and
//! `TrainBackend`, never a concrete backend. CPU (`flex`, SIMD + rayon) is the default; the
//! `cuda` feature (a later issue) swaps these aliases.

use burn::backend::{Autodiff, Flex, flex::FlexDevice};

/// Backend for inference: plain tensors, no gradient tape.
pub type InferBackend = Flex;
/// Backend for training: the same tensors with reverse-mode autodiff.
pub type TrainBackend = Autodiff<Flex>;
/// Device of both backends.
pub type Device = FlexDevice;

/// The device the engine runs on.
pub fn device() -> Device {
    FlexDevice
}
