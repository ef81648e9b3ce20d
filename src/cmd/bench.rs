//! `plec bench` (placeholder until its issue lands).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`plec bench` is not implemented yet")
}
