//! Dumps of compiled catalog models (random weights, seed 0) in every layout, as insta snapshots: any change to
//! the emitted graph shows up in review. Also: compiling is deterministic byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plec_compiler::dump::dump;
use plec_compiler::{compile, CompileOptions, Layout, Weights};
use plec_spec::testing::catalog;

#[test]
fn catalog_dumps() {
    for (name, spec) in catalog() {
        let weights = Weights::random(&spec, 0);
        for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
            let options = CompileOptions { layout, config_text: format!("# {name}\n"), ..Default::default() };
            let compiled = compile(&spec, &weights, &options).unwrap();
            insta::assert_snapshot!(format!("{name}_{}", layout.name()), dump(&compiled.model));
        }
    }
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    for (_, spec) in catalog() {
        let weights = Weights::random(&spec, 3);
        for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
            let options = CompileOptions { layout, expose_gates: true, ..Default::default() };
            let a = compile(&spec, &weights, &options).unwrap().to_bytes().unwrap();
            let b = compile(&spec, &weights, &options).unwrap().to_bytes().unwrap();
            assert!(a == b, "{} layout is not deterministic", layout.name());
        }
    }
}

/// With `expose_gates`, every gate's softmax is a graph output, in every layout: `ple.<layer>.gate_<tower>.softmax`
/// over the task's and the shared experts, `ple.<layer>.gate_shared.softmax` over all of the layer's (every layer but
/// the last), and MMoE's (also DBMTL's) `mmoe.gate_<tower>.softmax` over its experts. The names and widths expected
/// are derived from the spec here; the snapshot lists each catalog model's gate outputs for review.
#[test]
fn exposed_gates_are_outputs_named_after_their_gate() {
    let mut text = String::new();
    for (name, spec) in catalog() {
        let mut expected = Vec::new();
        for layer in &spec.layers {
            for tower in &spec.towers {
                let gate = layer.task_gate_module(&tower.name);
                expected.push(format!("output {gate}.softmax float [batch, {}]", layer.task_gate_width()));
            }
            if layer.has_shared_gate {
                let all = layer.experts_per_task * spec.towers.len() + layer.shared_experts;
                expected.push(format!("output {}.softmax float [batch, {all}]", layer.shared_gate_module()));
            }
        }
        expected.sort();
        let weights = Weights::random(&spec, 0);
        for layout in [Layout::Explicit, Layout::Fused, Layout::Wide] {
            let options = CompileOptions { layout, expose_gates: true, ..Default::default() };
            let dumped = dump(&compile(&spec, &weights, &options).unwrap().model);
            let hidden =
                dump(&compile(&spec, &weights, &CompileOptions { layout, ..Default::default() }).unwrap().model);
            let mut gates: Vec<String> = dumped
                .lines()
                .filter(|line| line.starts_with("output ") && !hidden.lines().any(|h| h == *line))
                .map(str::to_string)
                .collect();
            gates.sort();
            assert_eq!(gates, expected, "{name} {}", layout.name());
        }
        text.push_str(&format!("{name}:\n  {}\n", expected.join("\n  ")));
    }
    insta::assert_snapshot!(text);
}
