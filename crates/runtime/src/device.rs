//! Execution providers: `cpu` (always), `cuda[:N]` and `tensorrt[:N]` (cargo features `cuda` / `tensorrt`, and the
//! GPU build of ONNX Runtime: PyPI `onnxruntime-gpu==1.31.1`). Asking for a provider that is not compiled in or cannot
//! be registered is an error saying which and why; falling back to CPU happens only when asked for, and is reported.

use std::fmt;

use ort::session::builder::SessionBuilder;

pub use plec_spec::device::Device;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Parse(#[from] plec_spec::device::UnknownDevice),
    #[error(
        "device {device}: this plec was built without the {provider} (rebuild with cargo feature `{feature}` of \
         plec-runtime, and use the GPU build of ONNX Runtime: PyPI onnxruntime-gpu==1.31.1 via ORT_DYLIB_PATH)"
    )]
    NotCompiled { device: Device, provider: &'static str, feature: &'static str },
    #[error(
        "device {device}: the loaded ONNX Runtime library does not provide the {provider} (it provides: {available}); \
         use the GPU build of ONNX Runtime (PyPI onnxruntime-gpu==1.31.1) via ORT_DYLIB_PATH"
    )]
    NotInLibrary { device: Device, provider: &'static str, available: String },
    #[error("device {device}: cannot register the {provider}: {message}")]
    Register { device: Device, provider: &'static str, message: String },
}

/// Which device a model ended up on, and why it is not the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceReport {
    pub requested: Device,
    pub used: Device,
    /// Set when `used` is the CPU fallback: the reason the requested device could not be used.
    pub fallback_reason: Option<String>,
}

impl fmt::Display for DeviceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fallback_reason {
            None => write!(f, "{}", self.used),
            Some(reason) => write!(f, "{} (fell back from {}: {reason})", self.used, self.requested),
        }
    }
}

/// Providers the loaded ONNX Runtime library offers, by ONNX Runtime's names.
pub fn available_providers() -> Vec<String> {
    let api = ort::api();
    let mut names: *mut *mut std::ffi::c_char = std::ptr::null_mut();
    let mut count: std::ffi::c_int = 0;
    // SAFETY: GetAvailableProviders fills an array of `count` C strings that ReleaseAvailableProviders frees.
    unsafe {
        let status = (api.GetAvailableProviders)(&mut names, &mut count);
        if !status.0.is_null() {
            (api.ReleaseStatus)(status.0);
            return Vec::new();
        }
        if names.is_null() {
            return Vec::new();
        }
        let list = (0..count as usize)
            .map(|i| std::ffi::CStr::from_ptr(*names.add(i)).to_string_lossy().into_owned())
            .collect();
        let _ = (api.ReleaseAvailableProviders)(names, count);
        list
    }
}

/// Registers `device`'s provider on `builder`. CPU needs nothing: ONNX Runtime always has it.
pub fn register(builder: SessionBuilder, device: Device) -> Result<SessionBuilder, DeviceError> {
    if device == Device::Cpu {
        return Ok(builder);
    }
    check_compiled(device)?;
    let provider = device.provider_name();
    let available = available_providers();
    if !available.iter().any(|p| p == provider) {
        return Err(DeviceError::NotInLibrary { device, provider, available: available.join(", ") });
    }
    register_compiled(builder, device)
}

fn register_compiled(builder: SessionBuilder, device: Device) -> Result<SessionBuilder, DeviceError> {
    let provider = device.provider_name();
    let Some(dispatch) = dispatch(device) else {
        return Err(DeviceError::NotCompiled { device, provider, feature: device.cargo_feature().unwrap_or("none") });
    };
    builder.with_execution_providers([dispatch.error_on_failure()]).map_err(|e| DeviceError::Register {
        device,
        provider,
        message: e.to_string(),
    })
}

/// ort's provider for `device`, when compiled in (never for CPU: it needs no registration).
fn dispatch(device: Device) -> Option<ort::ep::ExecutionProviderDispatch> {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => Some(ort::ep::CUDA::default().with_device_id(index as i32).build()),
        #[cfg(feature = "tensorrt")]
        Device::TensorRt(index) => Some(ort::ep::TensorRT::default().with_device_id(index as i32).build()),
        _ => None,
    }
}

/// Checks a device can be asked for with this build, before any library is loaded (for early CLI errors).
pub fn check_compiled(device: Device) -> Result<(), DeviceError> {
    let compiled = match device {
        Device::Cpu => true,
        Device::Cuda(_) => cfg!(feature = "cuda"),
        Device::TensorRt(_) => cfg!(feature = "tensorrt"),
    };
    if compiled {
        Ok(())
    } else {
        Err(DeviceError::NotCompiled {
            device,
            provider: device.provider_name(),
            feature: device.cargo_feature().unwrap_or("none"),
        })
    }
}
