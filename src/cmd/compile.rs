//! `plec compile --config C --checkpoint MODEL_DIR|CKPT_DIR|W.safetensors -o model.onnx [...]`: lower a config and
//! its weights into one ONNX model. Without `--config`, the config is `<model_dir>/pipeline.config`.
//! `--tzrec-checkpoint DIR` instead compiles a TorchEasyRec checkpoint: `plec import` into a temporary plec
//! checkpoint (weights checked against the config, golden set from plec's trainer forward), then as above.
//!
//! `--precision int8` quantizes the model (`plec_compiler::quantize`); with `--eval-data FILE`, the float32 and
//! int8 models both score the file's rows and the compile fails when a task's exact AUC drops by more than
//! `--max-auc-drop`. With calibration rows (`--calibration-data`, else the `--eval-data` rows) int8 is static
//! (`calibrate`: activation scales fixed from the rows' ranges); `--dynamic-activations` keeps run-time scales.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use plec_compiler::{
    check_writable, compile_owned, dump, CompileOptions, HashCheck, Int8Options, Layout, Precision, TableScale,
    Weights, MIN_INT8_EXPERT_WEIGHTS, MIN_INT8_TABLE_ELEMENTS, MIN_INT8_WEIGHTS,
};
use plec_spec::artifact::checkpoint;
use plec_spec::artifact::golden::GoldenSet;
use plec_spec::artifact::integrity::GOLDEN_SHA256_KEY;

mod calibrate;
mod eval;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pipeline config (default: `pipeline.config` of the model folder given to --checkpoint).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Model folder (its latest checkpoint), a `ckpt-<step>` folder, or a .safetensors file.
    #[arg(long, required_unless_present = "tzrec_checkpoint", conflicts_with = "tzrec_checkpoint")]
    pub checkpoint: Option<PathBuf>,
    /// A TorchEasyRec checkpoint instead (model_dir, `model.ckpt-<step>` or its `model/`): see `plec import`.
    #[arg(long)]
    pub tzrec_checkpoint: Option<PathBuf>,
    /// With --tzrec-checkpoint: rows whose outputs join the golden set (see `plec import --golden-data`).
    #[arg(long, requires = "tzrec_checkpoint")]
    pub golden_data: Option<String>,
    /// Where to write the ONNX model.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// `explicit` (one named node chain per expert), `fused` (same function, gates fused; fastest float32) or
    /// `wide` (same function, each layer's first expert blocks as one wide Gemm per input; slower than `fused`).
    #[arg(long, default_value = "explicit")]
    pub layout: Layout,
    /// ai.onnx opset (17..=21; default 17, or 20 for a model with sequence features, which need 20 or newer).
    #[arg(long)]
    pub opset: Option<i64>,
    /// Also write the model's text dump to `<output>.txt`.
    #[arg(long, value_parser = ["text"])]
    pub emit: Option<String>,
    /// Also output every gate's softmax (`<gate>.softmax`).
    #[arg(long)]
    pub expose_gates: bool,
    /// Store large initializers in `<output>.data` (needed past protobuf's 2 GB).
    #[arg(long)]
    pub external_data: bool,
    /// Golden set to check the model against (default: the checkpoint's `golden/`).
    #[arg(long)]
    pub golden: Option<PathBuf>,
    /// Write the model without checking it against the golden set.
    #[arg(long)]
    pub no_verify: bool,
    /// `float32`, or `int8`: int8 embedding tables (a float16 scale per row) and int8 expert / tower layers
    /// (activations quantized at run time); gates and output layers stay float32. Same inputs and outputs.
    #[arg(long, default_value = "float32")]
    pub precision: Precision,
    /// With --precision int8: score these CSV / Parquet rows (features and labels, as for `plec evaluate`) with
    /// the float32 and the int8 model, print each task's AUC and logloss, and fail if an AUC drops too much.
    #[arg(long, num_args = 1..)]
    pub eval_data: Vec<PathBuf>,
    /// With --precision int8: CSV / Parquet rows (features; labels not needed) whose activation ranges fix the
    /// int8 scales of the expert layers (static int8: each expert's Gemm -> ReLU chain runs in uint8, no run-time
    /// quantization; faster). Default: the --eval-data rows (the AUC check then scores its own calibration rows;
    /// give other rows here to keep it independent). Without either, activations are quantized at run time
    /// (dynamic int8). The first 65,536 rows are read; values past the observed ranges saturate.
    #[arg(long, num_args = 1..)]
    pub calibration_data: Vec<PathBuf>,
    /// With --precision int8: quantize activations at run time even when calibration rows are given.
    #[arg(long)]
    pub dynamic_activations: bool,
    /// With static int8: one convolution per expert block instead of one stacked chain per layer's experts that
    /// read one tensor (fewer nodes: faster up to a few hundred rows per call; unstacked: faster from about 1,024).
    #[arg(long)]
    pub int8_unstacked_experts: bool,
    /// The largest AUC drop (float32 minus int8) --eval-data accepts on any task.
    #[arg(long, default_value_t = 0.001)]
    pub max_auc_drop: f64,
    /// Testing only: `per-tensor` gives every embedding table one scale (a deliberately poor quantization that
    /// --eval-data must catch).
    #[arg(long, hide = true, default_value = "per-row")]
    pub int8_table_scale: TableScale,
    /// With --precision int8: expert / tower layers with fewer weights stay float32 (0: every one int8; faster at
    /// large batches, less accurate: see BENCHMARKS.md, "int8"), unless their expert is int8 as a whole.
    #[arg(long, default_value_t = MIN_INT8_WEIGHTS)]
    pub int8_min_weights: usize,
    /// With --precision int8: experts with at least this many weights (all blocks together) are int8 in every
    /// block, narrow ones included.
    #[arg(long, default_value_t = MIN_INT8_EXPERT_WEIGHTS)]
    pub int8_min_expert_weights: usize,
    /// Compile even if the checkpoint's weights or golden set differ from the sha256 its meta.json records (a
    /// damaged or hand-edited checkpoint; the model is then only as good as those files).
    #[arg(long)]
    pub ignore_checkpoint_hash: bool,
    /// With --precision int8: embedding tables with fewer elements (rows x dim) stay float32 (0: every table int8).
    #[arg(long, default_value_t = MIN_INT8_TABLE_ELEMENTS)]
    pub int8_min_table_elements: usize,
}

fn int8_options(args: &Args) -> Int8Options {
    Int8Options {
        min_weights: args.int8_min_weights,
        min_expert_weights: args.int8_min_expert_weights,
        min_table_elements: args.int8_min_table_elements,
        table_scale: args.int8_table_scale,
        stack_experts: !args.int8_unstacked_experts,
    }
}

/// The rows static int8 calibrates on: --calibration-data, else the --eval-data rows; none for float32, with
/// --dynamic-activations, or without data.
fn calibration_files(args: &Args) -> &[PathBuf] {
    if args.precision != Precision::Int8 || args.dynamic_activations {
        &[]
    } else if args.calibration_data.is_empty() {
        &args.eval_data
    } else {
        &args.calibration_data
    }
}

/// Option combinations that cannot work, refused before any import or compilation.
fn check_args(args: &Args) -> anyhow::Result<()> {
    if !args.eval_data.is_empty() && args.precision != Precision::Int8 {
        anyhow::bail!(
            "--eval-data compares an int8 model with its float32 compilation: it needs --precision int8 (got {})",
            args.precision.name()
        );
    }
    if !args.calibration_data.is_empty() && (args.precision != Precision::Int8 || args.dynamic_activations) {
        anyhow::bail!(
            "--calibration-data fixes static int8 activation scales: it needs --precision int8 without \
             --dynamic-activations"
        );
    }
    if !(0.0..=1.0).contains(&args.max_auc_drop) {
        anyhow::bail!("--max-auc-drop must be between 0 and 1 (an AUC difference), got {}", args.max_auc_drop);
    }
    Ok(())
}

pub fn run(mut args: Args) -> anyhow::Result<()> {
    check_args(&args)?;
    let Some(tzrec) = args.tzrec_checkpoint.take() else {
        let checkpoint = args.checkpoint.clone().context("--checkpoint or --tzrec-checkpoint is required")?;
        return compile(&args, &checkpoint);
    };
    compile_tzrec(args, &tzrec)
}

#[cfg(not(feature = "train"))]
fn compile_tzrec(_: Args, _: &Path) -> anyhow::Result<()> {
    Err(super::without_trainer::missing("compile --tzrec-checkpoint"))
}

/// Imports the TorchEasyRec checkpoint into a temporary plec checkpoint beside the output, compiles it, removes it.
#[cfg(feature = "train")]
fn compile_tzrec(args: Args, tzrec: &Path) -> anyhow::Result<()> {
    let tzrec = tzrec.to_path_buf();
    check_writable(&args.output)?;
    let config = super::import::config_near(args.config.as_deref(), &tzrec, super::import::CONFIG_SEARCH_LEVELS)?;
    let mut name = args.output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!("{}{}", super::import::TEMPORARY_MARK, std::process::id()));
    let staging = args.output.with_file_name(name);
    let result = super::import::import(&tzrec, &config, &staging, args.golden_data.as_deref())
        .and_then(|checkpoint| compile(&Args { config: Some(config.clone()), ..args }, &checkpoint));
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn compile(args: &Args, checkpoint: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    check_writable(&args.output)?;
    let resolved = checkpoint::resolve(checkpoint)?;
    let config = super::checkpoint_config(args.config.as_deref(), &resolved)?;
    let loaded = plec_config::load_file(&config)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let hash_check = if args.ignore_checkpoint_hash {
        eprintln!(
            "WARNING: --ignore-checkpoint-hash: the checkpoint's files are NOT checked against the sha256 its \
             meta.json records; a damaged checkpoint compiles into a damaged model"
        );
        HashCheck::Skip
    } else {
        HashCheck::Check
    };
    let weights = Weights::load_with(&resolved.weights, &loaded.spec, hash_check)?;
    let options = compile_options(args, &loaded, &weights)?;
    // The float32 model --eval-data compares against: the same options at float32, kept in memory.
    let reference = if args.eval_data.is_empty() {
        None
    } else {
        let float = CompileOptions { precision: Precision::Float32, calibration: None, ..options.clone() };
        Some(plec_compiler::compile(&loaded.spec, &weights, &float)?)
    };
    let mut compiled = compile_owned(&loaded.spec, weights, &options)?;
    // The checkpoint's golden set travels inside the model (below a size limit) and beside it.
    let golden = if args.no_verify { None } else { args.golden.clone().or(resolved.golden) };
    let golden = golden.map(|source| GoldenSet::read(&source).map(|set| (source, set))).transpose()?;
    if let Some((source, set)) = &golden {
        if args.golden.is_none() && hash_check == HashCheck::Check {
            check_checkpoint_golden(resolved.meta.as_deref(), source, set)?;
        }
        compiled.set_metadata(GOLDEN_SHA256_KEY, set.content_sha256());
        if let Some(text) = set.to_metadata() {
            compiled.set_metadata(plec_spec::artifact::golden::METADATA_KEY, text);
        }
    }
    let written = compiled.write(&args.output, args.external_data)?;
    let text_path = if args.emit.is_some() {
        let path = text_path(&args.output);
        std::fs::write(&path, dump::dump(&compiled.model))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Some(path)
    } else {
        None
    };
    println!(
        "wrote {} ({} layout, {}opset {}): {} nodes, {} initializers, {:.1} MB in {:.2} s",
        written.model_path.display(),
        args.layout.name(),
        if args.precision == Precision::Float32 { String::new() } else { format!("{}, ", args.precision.name()) },
        compiled.opset().map_or_else(|| "?".to_string(), |o| o.to_string()),
        compiled.node_count(),
        compiled.initializer_count(),
        written.model_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    if let Some(int8) = &compiled.int8 {
        println!("{}", int8.summary());
        if !int8.any() {
            println!(
                "note: no table or layer of this model is large enough for int8 to pay (--int8-min-table-elements \
                 {}, --int8-min-weights {}): its arithmetic is float32",
                args.int8_min_table_elements, args.int8_min_weights
            );
        }
    }
    if let Some((path, bytes)) = &written.data {
        println!("wrote {} ({:.1} MB of external data)", path.display(), *bytes as f64 / 1e6);
    }
    if let Some(path) = text_path {
        println!("wrote {}", path.display());
    }
    golden_check(args, checkpoint, &written, golden)?;
    if let Some(reference) = reference {
        let checked = eval::check(&loaded.spec, &reference, &written.model_path, &args.eval_data).and_then(|report| {
            print!("{report}");
            report.within(args.max_auc_drop)
        });
        if let Err(error) = checked {
            remove_written(&written);
            let _ = std::fs::remove_dir_all(super::verify::golden_dir_for(&written.model_path));
            return Err(error.context(format!("{} removed", written.model_path.display())));
        }
        println!("int8 AUC within {} of float32 on every task", args.max_auc_drop);
    }
    Ok(())
}

/// What `args` asks of the compiler; with calibration rows, static int8 with the ranges observed on them.
fn compile_options(
    args: &Args,
    loaded: &plec_config::LoadedConfig,
    weights: &Weights,
) -> anyhow::Result<CompileOptions> {
    let options = CompileOptions {
        layout: args.layout,
        opset: args.opset,
        expose_gates: args.expose_gates,
        config_text: loaded.text.clone(),
        precision: args.precision,
        int8: int8_options(args),
        calibration: None,
    };
    let calibration_files = calibration_files(args);
    if calibration_files.is_empty() {
        return Ok(options);
    }
    let calibration = calibrate::calibrate(&loaded.spec, weights, &options, calibration_files)?;
    let files: Vec<String> = calibration_files.iter().map(|p| p.display().to_string()).collect();
    println!("static int8: activation ranges from {} rows of {}", calibration.rows(), files.join(", "));
    Ok(CompileOptions { calibration: Some(calibration), ..options })
}

/// A checkpoint's own golden set must have the content hash its `meta.json` records (when it records one).
fn check_checkpoint_golden(meta_path: Option<&Path>, golden_dir: &Path, set: &GoldenSet) -> anyhow::Result<()> {
    let Some(meta_path) = meta_path else { return Ok(()) };
    let meta = checkpoint::read_meta_file(meta_path)?;
    checkpoint::check_golden(meta_path, &meta, golden_dir, set)?;
    Ok(())
}

fn remove_written(written: &plec_compiler::WriteSummary) {
    let _ = std::fs::remove_file(&written.model_path);
    if let Some((data, _)) = &written.data {
        let _ = std::fs::remove_file(data);
    }
}

/// Checks the written model against the trainer's golden outputs and copies the set to `<output>.golden`; a model
/// that fails is removed again, so no unverified model is left under the requested name.
fn golden_check(
    args: &Args,
    checkpoint: &Path,
    written: &plec_compiler::WriteSummary,
    golden: Option<(PathBuf, GoldenSet)>,
) -> anyhow::Result<()> {
    if args.no_verify {
        println!("not verified (--no-verify): the model was not checked against a golden set");
        return Ok(());
    }
    let Some((source, golden)) = golden else {
        println!(
            "not verified: {} has no golden set (train with `plec train` to get one, or pass --golden)",
            checkpoint.display()
        );
        return Ok(());
    };
    let model = plec_runtime::Model::load(&written.model_path, &plec_runtime::RunOptions::default())?;
    let comparison = super::verify::verify(&model, &golden)?;
    if !comparison.passed() {
        remove_written(written);
        anyhow::bail!(
            "the compiled model does not reproduce the trainer's outputs on the golden set {} ({} rows); model removed:\n{comparison}",
            source.display(),
            golden.rows()
        );
    }
    let target = super::verify::golden_dir_for(&written.model_path);
    golden.write(&target)?;
    println!(
        "verified against {} ({} rows): outputs match the trainer within tolerance",
        source.display(),
        golden.rows()
    );
    print!("{comparison}");
    println!("wrote {} (golden set for `plec verify`)", target.display());
    Ok(())
}

fn text_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".txt");
    output.with_file_name(name)
}
