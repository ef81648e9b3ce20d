//! `plec train` (placeholder until its issue lands).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`plec train` is not implemented yet")
}
