//! `plec check CONFIG [--json]`.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// TorchEasyRec pipeline config (protobuf text).
    pub config: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = plec_config::load_file(&args.config)?;
    println!("{:?}", loaded.spec.input_width);
    Ok(())
}
