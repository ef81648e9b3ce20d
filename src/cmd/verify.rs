//! `plec verify MODEL.onnx [--golden DIR] [--device D]`: run the golden inputs carried with a model through ONNX
//! Runtime and compare with the trainer's outputs (tolerances: `plec_config::artifact::tolerance`).

use std::path::{Path, PathBuf};

use plec_config::artifact::golden::{compare_at, Comparison, GoldenSet, METADATA_KEY};
use plec_config::artifact::precision::{self, Precision};
use plec_runtime::{Model, RawInputs, RunOptions};

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
    let options = RunOptions { device: args.device.parse()?, ..RunOptions::default() };
    let model = Model::load(&args.model, &options)?;
    let beside = golden_dir_for(&args.model);
    let (golden, source) = match (&args.golden, model.metadata().get(METADATA_KEY)) {
        (Some(dir), _) => (GoldenSet::read(dir)?, dir.display().to_string()),
        (None, _) if beside.is_dir() => (GoldenSet::read(&beside)?, beside.display().to_string()),
        (None, Some(text)) => {
            (GoldenSet::from_metadata(text)?, format!("the golden set in its metadata ({METADATA_KEY})"))
        }
        (None, None) => {
            anyhow::bail!(
                "no golden set for {}: none beside it ({}) or in its metadata; pass --golden DIR",
                args.model.display(),
                beside.display()
            )
        }
    };
    let comparison = verify(&model, &golden)?;
    println!("verify {} against {source} ({} rows):", args.model.display(), golden.rows());
    print!("{comparison}");
    if comparison.passed() {
        println!("verification passed");
        Ok(())
    } else {
        anyhow::bail!("verification FAILED: the model's outputs differ from the golden outputs (see above)")
    }
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
