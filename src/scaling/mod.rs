//! Feature scaling. In: raw feature rows. Out: scaled, clipped f32 rows and a flag saying whether
//! anything was clipped.
//! - [`robust`]: a `RobustScaler` (median / IQR) fitted on the training split and stored in the
//!   model bundle as JSON with scikit-learn's names (`scripts/convert_scalers.py` converts a
//!   pickled scikit-learn `RobustScaler` into that JSON).
//! - [`streaming`]: a `StreamingScaler` whose median / IQR follow drift (online quartiles with
//!   exponential forgetting), with serialisable state for the bundle.

pub mod robust;
pub mod streaming;

pub use robust::{RobustScaler, ScalerError};
pub use streaming::{StreamingScaler, StreamingScalerConfig};
