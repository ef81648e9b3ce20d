//! What devices libtorch can use here.

/// libtorch's device type, for crates that hold one without depending on tch themselves.
pub use tch::Device;

/// Whether libtorch sees a usable CUDA device.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}
