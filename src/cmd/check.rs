//! `plec check CONFIG [--json]`: validate a config and summarise the model it describes.

use std::path::PathBuf;

use plec_config::summary::Summary;

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
    let summary = Summary::new(&loaded);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(())
}
