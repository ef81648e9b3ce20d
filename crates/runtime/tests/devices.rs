//! Execution providers: parsing, errors for providers not compiled in or not in the library, CPU fallback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use plec_runtime::{Device, DeviceError, Model, RunOptions, RuntimeError};

#[test]
fn parses_device_names() {
    assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
    assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
    assert_eq!("cuda:2".parse::<Device>().unwrap(), Device::Cuda(2));
    assert_eq!("tensorrt:1".parse::<Device>().unwrap(), Device::TensorRt(1));
    assert_eq!(Device::TensorRt(1).to_string(), "tensorrt:1");
    insta::assert_snapshot!("gpu".parse::<Device>().unwrap_err().to_string(), @"unknown device `gpu`: expected cpu, cuda, cuda:N, tensorrt or tensorrt:N");
    insta::assert_snapshot!("cuda:x".parse::<Device>().unwrap_err().to_string(), @"unknown device `cuda:x`: expected cpu, cuda, cuda:N, tensorrt or tensorrt:N");
}

/// The CPU build of ONNX Runtime has neither GPU provider, so asking for one fails whether or not the cargo
/// feature is on: the error says which of the two reasons applies.
fn gpu_error(device: Device) -> DeviceError {
    let options = RunOptions { device, ..RunOptions::default() };
    match Model::load(test_model_path(), &options) {
        Err(RuntimeError::Device(error)) => error,
        Err(other) => panic!("expected a device error, got {other}"),
        Ok(_) => panic!("{device} should not be usable with the CPU build of ONNX Runtime"),
    }
}

#[test]
fn cuda_is_refused_with_the_reason() {
    let error = gpu_error(Device::Cuda(0));
    if cfg!(feature = "cuda") {
        assert!(matches!(error, DeviceError::NotInLibrary { .. }), "{error}");
        assert!(error.to_string().contains("CPUExecutionProvider"), "{error}");
    } else {
        insta::assert_snapshot!(error.to_string(), @"device cuda:0: this plec was built without the CUDAExecutionProvider (rebuild with cargo feature `cuda` of plec-runtime, and use the GPU build of ONNX Runtime: PyPI onnxruntime-gpu==1.31.1 via ORT_DYLIB_PATH)");
    }
}

#[test]
fn tensorrt_is_refused_with_the_reason() {
    let error = gpu_error(Device::TensorRt(1));
    if cfg!(feature = "tensorrt") {
        assert!(matches!(error, DeviceError::NotInLibrary { .. }), "{error}");
    } else {
        insta::assert_snapshot!(error.to_string(), @"device tensorrt:1: this plec was built without the TensorrtExecutionProvider (rebuild with cargo feature `tensorrt` of plec-runtime, and use the GPU build of ONNX Runtime: PyPI onnxruntime-gpu==1.31.1 via ORT_DYLIB_PATH)");
    }
}

#[test]
fn falls_back_to_cpu_only_when_asked_and_says_so() {
    let options = RunOptions { device: Device::Cuda(0), fallback_cpu: true, ..RunOptions::default() };
    let model = Model::load(test_model_path(), &options).unwrap();
    let report = model.device_report();
    assert_eq!(report.requested, Device::Cuda(0));
    assert_eq!(report.used, Device::Cpu);
    let reason = report.fallback_reason.as_deref().unwrap();
    assert!(reason.contains("CUDAExecutionProvider"), "{reason}");
    assert!(report.to_string().starts_with("cpu (fell back from cuda:0: device cuda:0: "), "{report}");
    // It runs, on the CPU.
    assert!(model.run(&valid_inputs()).is_ok());
}

#[test]
fn the_cpu_library_lists_its_providers() {
    load_test_model();
    let providers = plec_runtime::device::available_providers();
    assert!(providers.iter().any(|p| p == "CPUExecutionProvider"), "{providers:?}");
    assert!(!providers.iter().any(|p| p == "CUDAExecutionProvider"), "{providers:?}");
}
