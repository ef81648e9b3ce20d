//! What lowering built, as typed records: which Gemm is which block of which expert, gate or tower, and which
//! Gather reads which embedding table. `crate::quantize` chooses each one's precision from these records (never
//! from node names), and the compile summary counts the same records.

/// What a dense layer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DenseKind {
    /// A block of an extraction layer's expert MLP (`experts` > 1: several experts' blocks side by side, the wide
    /// layout's first blocks).
    Expert,
    /// A gate's Linear (or, in the fused and wide layouts, every gate reading one tensor in one Gemm).
    Gate,
    /// A block of a task tower's MLP.
    Tower,
    /// A tower's output Linear (one column per class).
    Output,
    /// A sequence encoder's attention MLP or score Linear.
    Attention,
}

impl DenseKind {
    pub fn name(self) -> &'static str {
        match self {
            DenseKind::Expert => "expert",
            DenseKind::Gate => "gate",
            DenseKind::Tower => "tower",
            DenseKind::Output => "output",
            DenseKind::Attention => "attention",
        }
    }
}

/// Where a dense layer sits: what it belongs to, and its place in that MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenseRole {
    pub kind: DenseKind,
    /// Index of the block in its MLP (0 for gates, output and score layers).
    pub block: usize,
    /// How many experts' blocks it computes side by side (1 but for the wide layout's first blocks).
    pub experts: usize,
    /// Weights of the whole MLP it is a block of, per expert (its own weights for a lone Linear).
    pub mlp_weights: usize,
}

impl DenseRole {
    /// A Linear of its own (a gate, an output or score layer).
    pub fn linear(kind: DenseKind) -> DenseRole {
        DenseRole { kind, block: 0, experts: 1, mlp_weights: 0 }
    }
}

/// One `Gemm(x, W, b) {transB=1}` of the lowered graph: `W` is the initializer `<node>.weight`, `[out, in]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseLayer {
    /// The Gemm node; its output tensor has the same name.
    pub node: String,
    pub kind: DenseKind,
    /// Index of the block in its MLP (0 for gates, output and score layers).
    pub block: usize,
    /// How many experts' blocks it computes side by side (1 but for the wide layout's first blocks).
    pub experts: usize,
    /// Weights of the whole MLP it is a block of, per expert.
    pub mlp_weights: usize,
    /// The tensor it reads.
    pub input: String,
    /// Output and input width of its weight.
    pub out: usize,
    pub inputs: usize,
}

impl DenseLayer {
    /// Weights per expert (the wide layout's Gemms count per expert, so every layout makes the same choices).
    pub fn weights_per_expert(&self) -> usize {
        self.out * self.inputs / self.experts.max(1)
    }
}

/// One `Gather(table, rows)` of an embedding table (`table`: the table's parameter name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLookup {
    pub node: String,
    pub table: String,
}

/// Every dense layer, embedding table and table lookup of a lowered graph, in emission order, and the group
/// input's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Structure {
    pub dense: Vec<DenseLayer>,
    /// Embedding table initializers (`[rows, dim]` float32): the parameters, or joint tables (`super::joint`).
    pub tables: Vec<String>,
    pub lookups: Vec<TableLookup>,
    /// The group input (`[batch, input_width]`: embeddings and raw feature values side by side).
    pub group_input: String,
}
