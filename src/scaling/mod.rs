//! Feature scaling: a `RobustScaler` (median / IQR) fitted on the training split and stored in the
//! model bundle as JSON with scikit-learn's attribute names. In: raw feature rows. Out: scaled,
//! clipped f32 rows and a flag saying whether anything was clipped. (Streaming online quantiles
//! come with the feature-engine issue.)

pub mod robust;

pub use robust::{RobustScaler, ScalerError};
