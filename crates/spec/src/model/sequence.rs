//! Sequence features, the sequence groups that gather them and the encoders that reduce them to the group input
//! (docs/semantics.md section 7), as TorchEasyRec's `EmbeddingGroup` builds them for a DEEP group with
//! `sequence_groups` and `sequence_encoders`.

use serde::{Deserialize, Serialize};

use super::{Feature, Mlp, Pooling, Transform, ValueType};

/// One `sequence_groups` entry: a query (non-sequence features, side by side) and a sequence (sequence features,
/// side by side at every position). tzrec looks both up in its own embedding collection, so their tables are
/// [`TableCollection::Sequence`] tables, apart from the group's bag tables even when the names agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceGroup {
    /// `group_name` (the feature group's name when it has one unnamed sequence group).
    pub name: String,
    /// Query features in `feature_names` order; `offset` counts within the query vector.
    pub query: Vec<Feature>,
    pub query_width: usize,
    /// Sequence features in `feature_names` order; `offset` counts within one position's vector.
    pub sequence: Vec<SequenceFeature>,
    pub sequence_width: usize,
}

/// A `sequence_feature` sub-feature (named `<sequence_name>__<feature_name>`), a `sequence_id_feature` or a
/// `sequence_raw_feature`. Its value is one string per row: positions joined by `delimiter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceFeature {
    /// The full name, which is also the data column and the graph input.
    pub name: String,
    pub delimiter: String,
    /// `sequence_length`: positions past it are dropped, the first ones kept; 0 keeps all.
    pub max_length: usize,
    pub encoding: SequenceEncoding,
    /// Columns of one position's vector, starting at `offset`.
    pub width: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SequenceEncoding {
    /// Each position's text -> a row of `tables[table]` by `transform` (section 2, as a single value); a position
    /// without a row (empty text, an id out of range, an unknown key) is a zero vector.
    Embedding { table: usize, transform: Transform },
    /// Each position's number itself (a `sequence_raw_feature` without boundaries); empty text is
    /// `default_value`.
    Dense { default_value: f32 },
}

impl SequenceFeature {
    /// The element type of one position (the graph input itself is always a string).
    pub fn element_type(&self) -> ValueType {
        match &self.encoding {
            SequenceEncoding::Embedding { transform, .. } => transform.value_type(),
            SequenceEncoding::Dense { .. } => ValueType::Float,
        }
    }
}

/// One `sequence_encoders` entry. Its output (`width` = the sequence width) enters the group input at `offset`,
/// after the group's features, encoders in config order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceEncoder {
    /// Index into `ModelSpec::sequence_groups` (`input`).
    pub input: usize,
    pub kind: EncoderKind,
    /// `max_seq_length`: only the first this many positions are read; 0 reads all.
    pub max_seq_length: usize,
    pub width: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderKind {
    /// Target attention (`DINEncoder`): the query, zero-padded to the sequence width, against every position;
    /// `mlp` (input `4 * sequence_width`) then a Linear to one score; masked softmax; weighted sum.
    Din { mlp: Mlp },
    /// `SimpleAttention`: score = position . query (equal widths); masked softmax; weighted sum.
    SimpleAttention,
    /// `PoolingEncoder`: sum, or mean over the valid positions (at least 1).
    Pooling { pooling: Pooling },
}

impl EncoderKind {
    pub fn name(&self) -> &'static str {
        match self {
            EncoderKind::Din { .. } => "din_encoder",
            EncoderKind::SimpleAttention => "simple_attention",
            EncoderKind::Pooling { .. } => "pooling_encoder",
        }
    }
}

/// The score of a masked position before the softmax, as TorchEasyRec's encoders write it: `-(2^31) + 1`.
pub const MASKED_SCORE: f32 = -2147483647.0;

/// Which embedding module a table lives in: tzrec's bag collection (the group's features) or the sequence
/// groups' collection (queries and sequences). Parameter names differ (`embedding.` / `sequence_embedding.`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableCollection {
    #[default]
    Bag,
    Sequence,
}

impl TableCollection {
    pub fn is_bag(&self) -> bool {
        *self == TableCollection::Bag
    }
}
