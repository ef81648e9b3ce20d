//! `plec dump model.onnx`: print a compiled model as deterministic text (initializers as shape + hash).

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The ONNX model to print.
    pub model: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    print!("{}", plec_compiler::dump::dump_file(&args.model)?);
    Ok(())
}
