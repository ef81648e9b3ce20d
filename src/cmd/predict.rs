//! `plec predict` (placeholder until its issue lands).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`plec predict` is not implemented yet")
}
