//! `plec experiment`: the PLE paper's experiments, one command each (train over seeds, test, table and chart).

use std::path::PathBuf;

use plec_experiment::census::{self, CensusExperiment, ExperimentReport};
use plec_experiment::synthetic::{self, SyntheticExperiment};
use plec_experiment::{Overrides, RunSettings, Split};
use plec_trainer::train::parse_device;

use super::synthetic_shape::ShapeArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(clap::Subcommand, Debug)]
enum Kind {
    /// UCI Census-Income: single-task per task, MMoE, CGC and PLE, and TorchEasyRec's MMoE and DBMTL blocks where
    /// their configs are present; test AUC (exact and binned) over seeds, paired by seed.
    Census(CensusArgs),
    /// The MMoE paper's synthetic regression at several correlations: single-task, MMoE, PLE; test MSE.
    Synthetic(SyntheticArgs),
    /// Redraw the chart of a results file (`results.md` of census or synthetic) from its per-run tables.
    Chart(ChartArgs),
}

#[derive(clap::Args, Debug)]
struct ChartArgs {
    /// A results.md written by `plec experiment census|synthetic`.
    results: PathBuf,
    /// The PNG to write.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(clap::Args, Debug)]
struct Common {
    /// Seeds per model (training seeds 1..=N).
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Train only this seed (to run seeds in parallel processes; a last run with --seeds N gathers them all).
    #[arg(long)]
    only_seed: Option<u64>,
    /// Output folder: results.md, chart.png, runs/ (an existing run is resumed, a finished one only evaluated).
    #[arg(short, long)]
    output: PathBuf,
    /// Epochs, overriding every config's num_epochs.
    #[arg(long)]
    epochs: Option<u64>,
    /// Train exactly this many steps per run, overriding epochs.
    #[arg(long)]
    num_steps: Option<u64>,
    /// Batch size, overriding every config's.
    #[arg(long)]
    batch_size: Option<usize>,
    /// The dense optimizer's learning rate, overriding every config's.
    #[arg(long)]
    dense_lr: Option<f32>,
    /// libtorch threads.
    #[arg(long)]
    threads: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Score every run on the test rows, or on validation rows disjoint from them (to choose settings).
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    split: SplitArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SplitArg {
    Test,
    Validation,
}

#[derive(clap::Args, Debug)]
struct CensusArgs {
    /// train/validation/test.parquet written by `plec datagen census`.
    #[arg(long)]
    data: PathBuf,
    /// single_<task>.config, mmoe.config, cgc.config and ple.config (and, if present, mmoe_model.config and
    /// dbmtl.config).
    #[arg(long, default_value = "examples/census")]
    configs: PathBuf,
    /// Train only these models (config stems, repeatable; to run models in parallel processes or add one to
    /// finished runs: a last run without it gathers them all).
    #[arg(long)]
    only_model: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Debug)]
struct SyntheticArgs {
    /// Correlations P (comma-separated), one data set each.
    #[arg(long, value_delimiter = ',', default_value = "0,0.5,0.9,1")]
    correlations: Vec<f64>,
    /// Training rows per correlation (a tenth as many test rows).
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// d: input dimension.
    #[arg(long, default_value_t = 512)]
    dim: usize,
    #[arg(long, default_value_t = 1)]
    data_seed: u64,
    #[command(flatten)]
    shape: ShapeArgs,
    #[command(flatten)]
    common: Common,
}

fn settings(common: Common) -> anyhow::Result<RunSettings> {
    Ok(RunSettings {
        out_dir: common.output,
        split: match common.split {
            SplitArg::Test => Split::Test,
            SplitArg::Validation => Split::Validation,
        },
        seeds: match common.only_seed {
            Some(seed) => vec![seed],
            None => (1..=common.seeds).collect(),
        },
        threads: common.threads,
        device: parse_device(&common.device)?,
        overrides: Overrides {
            num_epochs: common.epochs,
            num_steps: common.num_steps,
            batch_size: common.batch_size,
            dense_lr: common.dense_lr,
        },
        progress: true,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let report: ExperimentReport = match args.kind {
        Kind::Census(a) => census::run(&CensusExperiment {
            data_dir: a.data,
            configs_dir: a.configs,
            only_models: a.only_model,
            settings: settings(a.common)?,
        })?,
        Kind::Synthetic(a) => synthetic::run(&SyntheticExperiment {
            correlations: a.correlations,
            rows: a.rows,
            dim: a.dim,
            data_seed: a.data_seed,
            shape: a.shape.shape(),
            settings: settings(a.common)?,
        })?,
        Kind::Chart(a) => {
            plec_experiment::results_file::redraw_chart(&a.results, &a.output)?;
            println!("wrote {}", a.output.display());
            return Ok(());
        }
    };
    println!("{}", report.markdown);
    println!("wrote {} and {}", report.results_file.display(), report.chart_file.display());
    Ok(())
}
