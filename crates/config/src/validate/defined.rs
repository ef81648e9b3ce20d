//! A feature as `feature_configs` defines it, before a feature group places it.

use plec_spec::{MultiValue, Transform};

/// A feature as defined in `feature_configs`, before the group places it.
pub(crate) struct Defined {
    pub(super) path: String,
    pub(super) kind: DefinedKind,
}

pub(super) enum DefinedKind {
    Embedding {
        table: String,
        dim: usize,
        transform: Transform,
        multi: Option<MultiValue>,
        default_value: Option<String>,
    },
    Dense {
        value_dim: usize,
        default_value: f32,
    },
    /// A sequence feature (section 7): one string per row, positions joined by `delimiter`; each position is
    /// `element` (an `Embedding` without `multi` or a one-wide `Dense`).
    Sequence {
        delimiter: String,
        max_length: usize,
        element: Box<DefinedKind>,
    },
    /// A feature kind plec cannot compute yet: an error only if the model uses it.
    Unsupported {
        kind: &'static str,
    },
    /// Defined but invalid: errors already reported.
    Invalid,
}

impl DefinedKind {
    pub(super) fn is_weighted(&self) -> bool {
        matches!(self, DefinedKind::Embedding { multi: Some(MultiValue { weighted: true, .. }), .. })
    }
}
