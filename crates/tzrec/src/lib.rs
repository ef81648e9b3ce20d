//! TorchEasyRec checkpoints for plec: read a `torch.distributed.checkpoint` directory written by TorchEasyRec's
//! (distributed) training without PyTorch, map its tensors onto plec's parameter names for a config, check both
//! ways that they fit, and stage them as a plec checkpoint (`plec import`), which `plec compile` then lowers and
//! verifies like one plec trained.

pub mod dcp;
pub mod error;
pub mod import;
pub mod names;
pub mod pickle;
pub mod stage;
pub mod torch_save;
pub mod zip;

pub use error::{ImportError, NameProblem};
pub use import::{import, locate, Imported};
pub use stage::{stage, Staged};
