//! `plec datagen`: generate the taobao-like and synthetic data sets, convert the census data.

use std::path::PathBuf;

use anyhow::Context;
use plec_data::datagen::{census, schema, synthetic, taobao, write_configs, FileFormat, SplitOptions};

use super::synthetic_shape::ShapeArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(clap::Subcommand, Debug)]
enum Kind {
    /// Click / buy rows with the schema of examples/ple_taobao.config (train and eval files).
    Taobao(TaobaoArgs),
    /// The MMoE paper's two regression tasks with label correlation controlled by --correlation.
    Synthetic(SyntheticArgs),
    /// Convert UCI Census-Income (KDD) to Parquet train/validation/test splits (and write its configs).
    Census(CensusArgs),
    /// Rows with the columns any config reads (features, labels, sample weights) and a learnable signal, e.g.
    /// for TorchEasyRec's benchmark configs.
    Schema(SchemaArgs),
}

#[derive(clap::Args, Debug)]
struct SchemaArgs {
    /// The pipeline config whose features and labels the rows hold.
    #[arg(long)]
    config: PathBuf,
    #[command(flatten)]
    split: SplitArgs,
}

/// The train and eval files a generator writes.
#[derive(clap::Args, Debug)]
struct SplitArgs {
    /// Training rows.
    #[arg(long)]
    rows: u64,
    /// Evaluation rows (0: no eval file).
    #[arg(long, default_value_t = 0)]
    eval_rows: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// parquet or csv (CSV files have a header line: set data_config.with_header).
    #[arg(long, default_value = "parquet")]
    format: FileFormat,
    /// Output folder (train.<format>, eval.<format>).
    #[arg(short, long)]
    output: PathBuf,
}

impl SplitArgs {
    fn options(&self) -> SplitOptions {
        SplitOptions { rows: self.rows, eval_rows: self.eval_rows, seed: self.seed, format: self.format }
    }
}

#[derive(clap::Args, Debug)]
struct TaobaoArgs {
    #[command(flatten)]
    split: SplitArgs,
}

#[derive(clap::Args, Debug)]
struct SyntheticArgs {
    /// P: the cosine between the two tasks' weight vectors, in [-1, 1].
    #[arg(long)]
    correlation: f64,
    /// Training rows.
    #[arg(long)]
    rows: u64,
    /// Evaluation (test) rows (default: a tenth of --rows).
    #[arg(long)]
    eval_rows: Option<u64>,
    /// Validation rows (validation.<format>): the evaluation stream continued after the test rows.
    #[arg(long, default_value_t = 0)]
    validation_rows: u64,
    /// d: input dimension (columns x_0 .. x_{d-1}).
    #[arg(long, default_value_t = 512)]
    dim: usize,
    /// c: the length of both weight vectors.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// m: the number of sine terms.
    #[arg(long, default_value_t = 10)]
    sines: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "parquet")]
    format: FileFormat,
    /// Output folder (train.<format>, eval.<format>, validation.<format>).
    #[arg(short, long)]
    output: PathBuf,
    /// Also write mmoe.config and ple.config for this --dim into this folder.
    #[arg(long)]
    write_configs: Option<PathBuf>,
    /// The written configs' layer sizes (the default: the MMoE paper's, as in examples/synthetic/).
    #[command(flatten)]
    shape: ShapeArgs,
}

#[derive(clap::Args, Debug)]
struct CensusArgs {
    /// census-income.test.gz (or another file of the same format, gzipped or not).
    #[arg(long)]
    input: PathBuf,
    /// Output folder (train.parquet, validation.parquet, test.parquet).
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the configs into this folder: single-task, MMoE, CGC and PLE (as `ple` blocks), and TorchEasyRec's
    /// own `mmoe` and `dbmtl` blocks (`mmoe_model.config`, `dbmtl.config`).
    #[arg(long)]
    write_configs: Option<PathBuf>,
}

fn percent(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.kind {
        Kind::Taobao(a) => {
            let summaries = taobao::write_taobao(&a.split.options(), &a.split.output).context("plec datagen taobao")?;
            for s in summaries {
                println!(
                    "wrote {}: {} rows, clk {:.2}%, buy {:.3}% (buy/clk {:.1}%)",
                    s.path.display(),
                    s.rows,
                    percent(s.clicks, s.rows),
                    percent(s.buys, s.rows),
                    percent(s.buys, s.clicks)
                );
            }
        }
        Kind::Schema(a) => {
            let loaded = plec_config::load_file(&a.config)?;
            let summaries = schema::write_schema(&loaded.spec, &a.split.options(), &a.split.output)
                .context("plec datagen schema")?;
            for s in summaries {
                let rates: Vec<String> =
                    s.positives.iter().map(|(label, n)| format!("{label} {:.1}%", percent(*n, s.rows))).collect();
                println!(
                    "wrote {}: {} rows{}{}",
                    s.path.display(),
                    s.rows,
                    if rates.is_empty() { "" } else { ", " },
                    rates.join(", ")
                );
            }
        }
        Kind::Synthetic(a) => {
            let options = synthetic::SyntheticOptions {
                rows: a.rows,
                eval_rows: a.eval_rows.unwrap_or(a.rows / 10),
                validation_rows: a.validation_rows,
                dim: a.dim,
                correlation: a.correlation,
                scale: a.scale,
                sines: a.sines,
                seed: a.seed,
                format: a.format,
            };
            let summary = synthetic::write_synthetic(&options, &a.output).context("plec datagen synthetic")?;
            for (path, rows) in &summary.files {
                println!("wrote {}: {rows} rows", path.display());
            }
            println!(
                "label correlation (Pearson of y1, y2 over train): {:.4} for P = {}",
                summary.label_correlation, a.correlation
            );
            if let Some(dir) = a.write_configs {
                for path in write_configs(&synthetic::synthetic_configs(a.dim, &a.shape.shape()), &dir)? {
                    println!("wrote {}", path.display());
                }
            }
        }
        Kind::Census(a) => {
            let data = census::read_census(&a.input).context("plec datagen census")?;
            for (path, [rows, income, never_married]) in census::write_census(&data, &a.output)? {
                println!(
                    "wrote {}: {rows} rows, income {:.2}%, never_married {:.2}%",
                    path.display(),
                    percent(income, rows),
                    percent(never_married, rows)
                );
            }
            if let Some(dir) = a.write_configs {
                for path in write_configs(&census::census_configs(&data), &dir)? {
                    println!("wrote {}", path.display());
                }
            }
        }
    }
    Ok(())
}
