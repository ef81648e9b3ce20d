//! The commands that need libtorch, in a plec built without the `train` feature: each one says what this build
//! lacks and how to get it, instead of being an unknown command.

/// The error of a command this build lacks.
pub fn missing(command: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "`plec {command}` needs the trainer (libtorch), which this plec was built without (cargo feature `train`, \
         left out by --no-default-features): use a full build (`cargo install --path .` from a checkout where \
         scripts/setup has run) for training, evaluation and TorchEasyRec import"
    )
}

/// A command module whose `run` fails with [`missing`]; its arguments are taken as they come.
macro_rules! lacking {
    ($module:ident, $command:literal) => {
        pub mod $module {
            #[derive(clap::Args, Debug)]
            pub struct Args {
                /// (not available in this build)
                #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
                pub args: Vec<String>,
            }

            pub fn run(_: Args) -> anyhow::Result<()> {
                Err(super::missing($command))
            }
        }
    };
}

lacking!(train, "train");
lacking!(evaluate, "evaluate");
lacking!(import, "import");
lacking!(experiment, "experiment");
