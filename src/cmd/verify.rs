//! `plec verify` (placeholder until its issue lands).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`plec verify` is not implemented yet")
}
