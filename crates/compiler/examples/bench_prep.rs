//! Helper of `benches/ort_throughput.py`:
//! - `bench_prep weights CONFIG OUT.safetensors SEED`: random weights for a config (and the spec as
//!   `OUT.safetensors.spec.json`);
//! - `bench_prep compile CONFIG W.safetensors OUT.onnx explicit|fused|wide`: load + check + compile + write, timed
//!   (run it as its own process so its peak RSS is the compile's alone).

use std::path::Path;
use std::time::Instant;

use plec_compiler::{compile_owned, CompileOptions, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["weights", config, out, seed] => {
            let loaded = plec_config::load_file(config)?;
            Weights::random(&loaded.spec, seed.parse()?).save_safetensors(Path::new(out))?;
            std::fs::write(format!("{out}.spec.json"), serde_json::to_string_pretty(&loaded.spec)?)?;
        }
        ["compile", config, weights, out, layout] => {
            let started = Instant::now();
            let loaded = plec_config::load_file(config)?;
            let weights = Weights::load(Path::new(weights), &loaded.spec)?;
            let bytes = weights.byte_size();
            let options =
                CompileOptions { layout: layout.parse()?, config_text: loaded.text.clone(), ..Default::default() };
            let mut compiled = compile_owned(&loaded.spec, weights, &options)?;
            compiled.write(Path::new(out), false)?;
            println!(
                "{{\"compile_s\": {:.4}, \"weights_bytes\": {bytes}, \"nodes\": {}}}",
                started.elapsed().as_secs_f64(),
                compiled.node_count()
            );
        }
        _ => return Err("usage: bench_prep weights CONFIG OUT SEED | compile CONFIG WEIGHTS OUT LAYOUT".into()),
    }
    Ok(())
}
