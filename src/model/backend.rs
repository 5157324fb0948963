//! The burn backends and the device a model runs on, chosen here so the rest of the crate names
//! `InferBackend`, `TrainBackend` or a [`ComputeDevice`], never a concrete accelerator backend.
//!
//! CPU (`flex`, SIMD + rayon) is the default and the backend bundles are stored, loaded and
//! checked with. With the `cuda` cargo feature, `model.device` / `train.device = "cuda:N"` run the
//! same `SignalNet<B>` code on burn-cuda (f32, or bf16 with `precision = "bf16"`):
//! - training: [`train_on`] runs a [`TrainTask`] (generic over the autodiff backend) on the
//!   configured device; the trained weights come back as a CPU model;
//! - serving: [`DeviceNet`] holds a copy of a loaded model on the device and scores a batch with
//!   one upload of its windows and one read-back of both heads.
//!
//! In: a device and a precision from config. Out: the backend a task ran on, or a [`DeviceError`]
//! that says which of "not built with CUDA", "no driver" or "no such device" stopped it, before
//! anything ran.

use crate::model::{SignalNet, SignalNetConfig};
use burn::backend::{Autodiff, Flex, flex::FlexDevice};
use burn::module::Module;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Backend for inference: plain tensors, no gradient tape.
pub type InferBackend = Flex;
/// Backend for training: the same tensors with reverse-mode autodiff.
pub type TrainBackend = Autodiff<Flex>;
/// Device of both backends.
pub type Device = FlexDevice;

/// The CPU device bundles are loaded on.
pub fn device() -> Device {
    FlexDevice
}

/// Where a model computes: `"cpu"`, or `"cuda"` / `"cuda:N"` (CUDA device N; `"cuda"` is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ComputeDevice {
    #[default]
    Cpu,
    Cuda(usize),
}

impl FromStr for ComputeDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<usize>().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("device \"{s}\" is not \"cpu\", \"cuda\" or \"cuda:N\"")),
        }
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl Serialize for ComputeDevice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ComputeDevice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The float type a device computes in. bf16 (same exponent range as f32, so no loss scaling)
/// halves memory traffic on a GPU; the CPU backend computes in f32 only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            _ => Err(format!("\"{s}\" is not \"f32\" or \"bf16\"")),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
        })
    }
}

/// Why a configured device cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error(
        "device \"{device}\": this binary was built without CUDA support; rebuild it with `cargo build --release --features cuda`"
    )]
    NotBuilt { device: ComputeDevice },
    #[error("device \"{device}\": no usable CUDA driver: {why}")]
    NoDriver { device: ComputeDevice, why: String },
    #[error("device \"{device}\": this machine has {count} CUDA device(s)")]
    NoSuchDevice { device: ComputeDevice, count: usize },
    #[error(
        "precision \"{precision}\" needs a CUDA device; the CPU computes in f32 (device \"{device}\")"
    )]
    PrecisionNeedsCuda {
        device: ComputeDevice,
        precision: Precision,
    },
}

/// What [`probe`] found: the device's name (e.g. "NVIDIA H200"), for logs and reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub device: String,
    pub name: String,
    pub precision: String,
}

/// Checks that `device` can compute in `precision` here, without starting a backend: for CUDA,
/// that the binary has the backend, that the driver and NVRTC libraries load (cubecl compiles its
/// kernels at run time) and that device N exists. Every entry point that uses a device calls it
/// first, so a misconfigured device fails at start with the reason, not at the first batch.
pub fn probe(device: ComputeDevice, precision: Precision) -> Result<DeviceInfo, DeviceError> {
    match device {
        ComputeDevice::Cpu if precision != Precision::F32 => {
            Err(DeviceError::PrecisionNeedsCuda { device, precision })
        }
        ComputeDevice::Cpu => Ok(DeviceInfo {
            device: device.to_string(),
            name: format!(
                "CPU, {} threads",
                std::thread::available_parallelism().map_or(1, |n| n.get())
            ),
            precision: precision.to_string(),
        }),
        ComputeDevice::Cuda(index) => cuda::probe(index, precision),
    }
}

/// A computation generic over the training backend; [`train_on`] picks the backend.
pub trait TrainTask {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Runs `task` on the autodiff backend of `device` in `precision` (checked by [`probe`] first).
pub fn train_on<T: TrainTask>(
    device: ComputeDevice,
    precision: Precision,
    task: T,
) -> Result<T::Output, DeviceError> {
    probe(device, precision)?;
    match device {
        ComputeDevice::Cpu => Ok(task.run::<TrainBackend>(FlexDevice)),
        ComputeDevice::Cuda(index) => cuda::train_on(index, precision, task),
    }
}

/// A copy of `net` on another backend and device (through burn's in-memory recorder at full
/// precision; between two f32 backends the weights are bit-identical).
pub fn to_backend<A: Backend, B: Backend>(
    net: &SignalNet<A>,
    cfg: &SignalNetConfig,
    device: &B::Device,
) -> Result<SignalNet<B>, String> {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = Recorder::<A>::record(&recorder, net.clone().into_record(), ())
        .map_err(|e| format!("cannot copy the model's weights: {e}"))?;
    let record = Recorder::<B>::load(&recorder, bytes, device)
        .map_err(|e| format!("cannot copy the model's weights: {e}"))?;
    Ok(cfg.init::<B>(device).load_record(record))
}

/// A served model's copy on an accelerator. Built once per bundle load; `predict` uploads a
/// batch's windows once and reads both heads back in one transfer.
pub struct DeviceNet {
    inner: cuda::Net,
    pub info: DeviceInfo,
}

impl DeviceNet {
    /// Copies `net` onto `device` in `precision`. `Ok(None)` for the CPU (served by the fused or
    /// burn CPU forward instead).
    pub fn new(
        net: &SignalNet<InferBackend>,
        cfg: &SignalNetConfig,
        device: ComputeDevice,
        precision: Precision,
    ) -> Result<Option<Self>, String> {
        let info = probe(device, precision).map_err(|e| e.to_string())?;
        match device {
            ComputeDevice::Cpu => Ok(None),
            ComputeDevice::Cuda(index) => Ok(Some(Self {
                inner: cuda::Net::new(net, cfg, index, precision)?,
                info,
            })),
        }
    }

    /// `(p_profitable, expected_return_bps)` per window of `x` (`[n × seq_len × n_features]`).
    pub fn predict(
        &self,
        x: Vec<f32>,
        n: usize,
        seq_len: usize,
        n_features: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        self.inner.predict(x, n, seq_len, n_features)
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    //! burn-cuda behind the `cuda` feature.
    use super::*;
    use burn::backend::Cuda;
    use burn::backend::cuda::CudaDevice;
    use burn::tensor::bf16;
    use cudarc::driver::result as drv;

    pub fn probe(index: usize, precision: Precision) -> Result<DeviceInfo, DeviceError> {
        let device = ComputeDevice::Cuda(index);
        let no_driver = |why: String| DeviceError::NoDriver { device, why };
        // SAFETY: these only try to dlopen the libraries (no CUDA call is made).
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(no_driver(
                "libcuda.so (the NVIDIA driver library) was not found; is the driver installed and on the loader path?".into(),
            ));
        }
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(no_driver(
                "libnvrtc.so (CUDA's run-time compiler, which burn-cuda compiles its kernels with) was not found; install the CUDA toolkit or add its lib folder to LD_LIBRARY_PATH".into(),
            ));
        }
        drv::init().map_err(|e| no_driver(format!("cuInit failed: {e}")))?;
        let count = drv::device::get_count()
            .map_err(|e| no_driver(format!("cuDeviceGetCount failed: {e}")))?;
        let count = usize::try_from(count).unwrap_or(0);
        if index >= count {
            return Err(DeviceError::NoSuchDevice { device, count });
        }
        let name = i32::try_from(index)
            .ok()
            .and_then(|i| drv::device::get(i).ok())
            .and_then(|d| drv::device::get_name(d).ok())
            .unwrap_or_else(|| "CUDA device".into());
        Ok(DeviceInfo {
            device: device.to_string(),
            name,
            precision: precision.to_string(),
        })
    }

    pub fn train_on<T: TrainTask>(
        index: usize,
        precision: Precision,
        task: T,
    ) -> Result<T::Output, DeviceError> {
        let dev = CudaDevice::new(index);
        Ok(match precision {
            Precision::F32 => task.run::<Autodiff<Cuda<f32>>>(dev),
            Precision::Bf16 => task.run::<Autodiff<Cuda<bf16>>>(dev),
        })
    }

    /// Boxed: a module on the fusion backend is tens of kilobytes of handles.
    pub enum Net {
        F32(Box<SignalNet<Cuda<f32>>>, CudaDevice),
        Bf16(Box<SignalNet<Cuda<bf16>>>, CudaDevice),
    }

    impl Net {
        pub fn new(
            net: &SignalNet<InferBackend>,
            cfg: &SignalNetConfig,
            index: usize,
            precision: Precision,
        ) -> Result<Self, String> {
            let dev = CudaDevice::new(index);
            Ok(match precision {
                Precision::F32 => Self::F32(Box::new(to_backend(net, cfg, &dev)?), dev),
                Precision::Bf16 => Self::Bf16(Box::new(to_backend(net, cfg, &dev)?), dev),
            })
        }

        pub fn predict(&self, x: Vec<f32>, n: usize, t: usize, f: usize) -> (Vec<f32>, Vec<f32>) {
            match self {
                Self::F32(net, dev) => net.predict(x, n, t, f, dev),
                Self::Bf16(net, dev) => net.predict(x, n, t, f, dev),
            }
        }
    }
}

#[cfg(not(feature = "cuda"))]
mod cuda {
    //! Without the `cuda` feature every CUDA request is refused with [`DeviceError::NotBuilt`].
    use super::*;

    pub fn probe(index: usize, _: Precision) -> Result<DeviceInfo, DeviceError> {
        Err(DeviceError::NotBuilt {
            device: ComputeDevice::Cuda(index),
        })
    }

    pub fn train_on<T: TrainTask>(
        index: usize,
        _: Precision,
        _: T,
    ) -> Result<T::Output, DeviceError> {
        Err(DeviceError::NotBuilt {
            device: ComputeDevice::Cuda(index),
        })
    }

    /// Uninhabited: no accelerator copy can exist in a build without one.
    pub enum Net {}

    impl Net {
        pub fn new(
            _: &SignalNet<InferBackend>,
            _: &SignalNetConfig,
            index: usize,
            _: Precision,
        ) -> Result<Self, String> {
            Err(DeviceError::NotBuilt {
                device: ComputeDevice::Cuda(index),
            }
            .to_string())
        }

        pub fn predict(&self, _: Vec<f32>, _: usize, _: usize, _: usize) -> (Vec<f32>, Vec<f32>) {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_print() {
        for (s, d) in [
            ("cpu", ComputeDevice::Cpu),
            ("cuda", ComputeDevice::Cuda(0)),
            ("cuda:0", ComputeDevice::Cuda(0)),
            ("cuda:3", ComputeDevice::Cuda(3)),
        ] {
            assert_eq!(s.parse::<ComputeDevice>(), Ok(d), "{s}");
        }
        assert_eq!(ComputeDevice::Cuda(3).to_string(), "cuda:3");
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", ""] {
            let err = bad.parse::<ComputeDevice>().unwrap_err();
            assert!(err.contains("cuda:N"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_cpu_computes_in_f32_only() {
        assert!(probe(ComputeDevice::Cpu, Precision::F32).is_ok());
        assert_eq!(
            probe(ComputeDevice::Cpu, Precision::Bf16),
            Err(DeviceError::PrecisionNeedsCuda {
                device: ComputeDevice::Cpu,
                precision: Precision::Bf16
            })
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let err = probe(ComputeDevice::Cuda(1), Precision::F32).unwrap_err();
        assert!(err.to_string().contains("--features cuda"), "{err}");
        assert!(err.to_string().contains("cuda:1"), "{err}");
        struct Never;
        impl TrainTask for Never {
            type Output = ();
            fn run<B: AutodiffBackend>(self, _: B::Device) {
                panic!("must not run");
            }
        }
        assert!(train_on(ComputeDevice::Cuda(0), Precision::F32, Never).is_err());
        let cfg = SignalNetConfig::new(3).with_d_model(8).with_d_hidden(4);
        let net = cfg.init::<InferBackend>(&device());
        let err = DeviceNet::new(&net, &cfg, ComputeDevice::Cuda(0), Precision::F32)
            .err()
            .unwrap_or_default();
        assert!(err.contains("--features cuda"), "{err}");
    }

    #[test]
    fn a_copy_between_f32_backends_is_exact() {
        struct Copy;
        impl TrainTask for Copy {
            type Output = (Vec<f32>, Vec<f32>);
            fn run<B: AutodiffBackend>(self, dev: B::Device) -> Self::Output {
                let cfg = SignalNetConfig::new(3).with_d_model(8).with_d_hidden(4);
                <InferBackend as Backend>::seed(&device(), 5);
                let cpu = cfg.init::<InferBackend>(&device());
                let x: Vec<f32> = (0..2 * 5 * 3).map(|i| (i as f32 * 0.3).sin()).collect();
                let want = cpu.predict(x.clone(), 2, 5, 3, &device());
                let on =
                    to_backend::<InferBackend, B::InnerBackend>(&cpu, &cfg, &dev).expect("copy");
                let got = on.predict(x, 2, 5, 3, &dev);
                assert_eq!(got, want);
                want
            }
        }
        let (p, r) = train_on(ComputeDevice::Cpu, Precision::F32, Copy).expect("cpu");
        assert_eq!((p.len(), r.len()), (2, 2));
    }
}
