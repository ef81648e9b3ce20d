//! The synthetic models' layer sizes, shared by `plec datagen synthetic --write-configs` and
//! `plec experiment synthetic`.

use plec_data::datagen::synthetic::SyntheticShape;
use plec_spec::Norm;

#[derive(clap::Args, Debug)]
pub struct ShapeArgs {
    /// Hidden units of every expert (comma-separated layers).
    #[arg(long, value_delimiter = ',', default_value = "16")]
    expert_hidden: Vec<usize>,
    /// Hidden units of every task tower (comma-separated layers).
    #[arg(long, value_delimiter = ',', default_value = "8")]
    tower_hidden: Vec<usize>,
    /// Normalisation in the towers' hidden layers.
    #[arg(long, value_enum, default_value_t = NormArg::None)]
    tower_norm: NormArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum NormArg {
    None,
    /// BatchNorm after each hidden Linear (`use_bn: true`).
    Batch,
    /// LayerNorm after each hidden Linear (`use_ln: true`).
    Layer,
}

impl ShapeArgs {
    pub fn shape(self) -> SyntheticShape {
        SyntheticShape {
            expert_hidden: self.expert_hidden,
            tower_hidden: self.tower_hidden,
            tower_norm: match self.tower_norm {
                NormArg::None => Norm::None,
                NormArg::Batch => Norm::Batch,
                NormArg::Layer => Norm::Layer,
            },
        }
    }
}
