//! What devices libtorch can use here.

/// Whether libtorch sees a usable CUDA device.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}
