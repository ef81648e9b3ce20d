//! `plec verify MODEL.onnx [--golden DIR] [--device D]`: run the golden inputs carried with a model through ONNX
//! Runtime and compare with the trainer's outputs (tolerances: `plec_spec::artifact::tolerance`), after checking the
//! model's content hashes (`plec_spec::artifact::integrity`): the graph, its external data and its golden set.
//! Every check is reported; any failure fails the command.

use std::path::{Path, PathBuf};

use anyhow::Context;
use plec_runtime::{IntegrityCheck, Model, RawInputs, RunOptions};
use plec_spec::artifact::golden::{compare_at, Comparison, GoldenSet, METADATA_KEY};
use plec_spec::artifact::integrity::{self, GOLDEN_SHA256_KEY, MODEL_REMEDY};
use plec_spec::artifact::precision::{self, Precision};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The compiled model.
    pub model: PathBuf,
    /// Golden directory (holding `test_data_set_0/`); default: `<model>.golden` beside the model, else the set
    /// embedded in the model's metadata.
    #[arg(long)]
    pub golden: Option<PathBuf>,
    /// Execution provider: cpu, cuda[:N] or tensorrt[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Where `plec compile` puts a model's golden set: `<model>.golden/`.
pub fn golden_dir_for(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_os_string();
    name.push(".golden");
    PathBuf::from(name)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // The content hashes are checked here, not by the load, so that both checks are reported.
    let options = RunOptions { device: args.device.parse()?, integrity: IntegrityCheck::Skip, ..RunOptions::default() };
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read model {}", args.model.display()))?;
    let started = std::time::Instant::now();
    let integrity = integrity::check_model(&args.model, &bytes);
    let seconds = started.elapsed().as_secs_f64();
    println!("verify {}:", args.model.display());
    match &integrity {
        Ok(report) => println!("  integrity: {report} ({seconds:.2} s)"),
        Err(error) => println!("  integrity: FAILED: {error}"),
    }
    let model = Model::from_bytes(args.model.clone(), bytes, &options)
        .map_err(|e| anyhow::anyhow!("verification FAILED: {e}"))?;
    let beside = golden_dir_for(&args.model);
    let (golden, source, own) = match (&args.golden, model.metadata().get(METADATA_KEY)) {
        (Some(dir), _) => (GoldenSet::read(dir)?, dir.display().to_string(), false),
        (None, _) if beside.is_dir() => (GoldenSet::read(&beside)?, beside.display().to_string(), true),
        (None, Some(text)) => {
            (GoldenSet::from_metadata(text)?, format!("the golden set in its metadata ({METADATA_KEY})"), true)
        }
        (None, None) => {
            anyhow::bail!(
                "no golden set for {}: none beside it ({}) or in its metadata; pass --golden DIR",
                args.model.display(),
                beside.display()
            )
        }
    };
    let golden_hash = if own { check_golden_hash(&model, &golden, &source) } else { Ok(None) };
    match &golden_hash {
        Ok(Some(hash)) => println!("  golden set: sha256 {} matches `{GOLDEN_SHA256_KEY}`", &hash[..12]),
        Ok(None) if own => println!("  golden set: no `{GOLDEN_SHA256_KEY}` recorded (compiled without a golden set)"),
        Ok(None) => println!("  golden set: given with --golden, so not checked against `{GOLDEN_SHA256_KEY}`"),
        Err(error) => println!("  golden set: FAILED: {error}"),
    }
    let comparison = verify(&model, &golden)?;
    println!("outputs against {source} ({} rows):", golden.rows());
    print!("{comparison}");
    let failed: Vec<&str> = [
        integrity.is_err().then_some("the model's content hashes"),
        golden_hash.is_err().then_some("the golden set's hash"),
        (!comparison.passed()).then_some("the outputs (see above)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if failed.is_empty() {
        println!("verification passed");
        Ok(())
    } else {
        anyhow::bail!("verification FAILED: {}", failed.join(", "))
    }
}

/// The model's own golden set must have the content hash compile recorded (`plec.golden_sha256`); `None` when the
/// model records none.
fn check_golden_hash(model: &Model, golden: &GoldenSet, source: &str) -> anyhow::Result<Option<String>> {
    let Some(recorded) = model.metadata().get(GOLDEN_SHA256_KEY) else { return Ok(None) };
    let actual = golden.content_sha256();
    anyhow::ensure!(
        &actual == recorded,
        "{source} has content sha256 {actual}, but the model records {recorded}: the golden set is damaged or \
         belongs to another model; {MODEL_REMEDY}"
    );
    Ok(Some(actual))
}

/// Runs `golden`'s inputs through `model` and compares with its outputs, at the tolerance of the precision the
/// model was compiled at (its `plec.precision` metadata).
pub fn verify(model: &Model, golden: &GoldenSet) -> anyhow::Result<Comparison> {
    let mut inputs = RawInputs::new();
    for tensor in &golden.inputs {
        inputs.insert(tensor.clone());
    }
    let outputs = model.run(&inputs)?;
    // Only the signature's outputs: extra ones (e.g. `--expose-gates`) are not part of the golden set.
    let signature = model.outputs();
    let got: Vec<_> =
        outputs.to_raw_tensors().into_iter().filter(|t| signature.iter().any(|o| o.name == t.name)).collect();
    let precision = Precision::from_metadata(model.metadata().get(precision::METADATA_KEY).map(String::as_str))
        .map_err(anyhow::Error::msg)?;
    Ok(compare_at(&golden.outputs, &got, signature, precision))
}
