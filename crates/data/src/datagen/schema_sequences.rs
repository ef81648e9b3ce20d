//! Sequence columns of `plec datagen schema` (semantics section 2b), with a signal an attention encoder can learn.
//!
//! Each row has a hidden interest: with it, a position repeats the key of the row's query feature that pairs with
//! the sequence feature (`S__f` pairs with the query `f`, else a query of the same transform kind) with
//! probability [`RELATED_WITH_INTEREST`], without it with [`RELATED_WITHOUT`]; other positions draw a key of
//! their own. A feature without a query to pair with (a group without queries) repeats a favoured key of its own
//! instead, which pooling can see. The row's logit gains `+1` (scaled like one feature) when a position the encoders read repeats the
//! query and `-1` otherwise, so positive rows more often hold items related to their query. Lengths spread
//! evenly over `0..=1.2 * max_length` (0..=10 when the group keeps every position): some rows empty, some
//! over-long. The features of a group share each position's decision and the row's length.

use super::rng::{Rng, Zipf};
use super::schema_keys::{key_text, transform_keys, ZIPF_EXPONENT};
use plec_spec::{Feature, SequenceEncoding, SequenceGroup, Transform};

const RELATED_WITH_INTEREST: f64 = 0.6;
const RELATED_WITHOUT: f64 = 0.1;
/// Positions a group keeping all of them holds at most.
const UNBOUNDED_LONGEST: usize = 10;
/// Salt tag of sequence features' own keys (plain features use their index).
const SALT_SEQUENCE: u64 = 1 << 32;
/// The key an unpaired feature's related positions hold (not the most frequent key 0, so that it stands out).
const FAVOURED_KEY: u64 = 1;

/// How one sequence feature draws a position.
enum Kind {
    Ids {
        transform: Transform,
        zipf: Zipf,
        salt: u64,
        keys: u64,
        /// The paired query: its index among the generator's plain features and the salt its keys are written with.
        partner: Option<(usize, u64)>,
    },
    Dense,
}

struct Column {
    name: String,
    delimiter: String,
    kind: Kind,
}

/// The sequence columns of one group.
pub(super) struct SequencePlan {
    columns: Vec<Column>,
    longest: usize,
    /// Positions the encoders read (`max_length`, or all).
    read: usize,
}

/// One row of a group: its cells (one per sequence feature) and whether a read position repeats the query.
pub(super) struct SequenceRow {
    pub cells: Vec<Option<String>>,
    pub related: bool,
}

impl SequencePlan {
    /// `plain` lists the generator's plain features (group features, then queries not among them); plain feature
    /// `f` writes its keys with salt `seed ^ f`.
    pub(super) fn new(group: &SequenceGroup, g: usize, plain: &[&Feature], seed: u64) -> SequencePlan {
        let plain_index = |name: &str| plain.iter().position(|f| f.name == name);
        let columns = group
            .sequence
            .iter()
            .enumerate()
            .map(|(s, feature)| {
                let kind = match &feature.encoding {
                    SequenceEncoding::Dense { .. } => Kind::Dense,
                    SequenceEncoding::Embedding { transform, .. } => {
                        let suffix = feature.name.rsplit("__").next().unwrap_or(&feature.name);
                        let same_kind = |q: &&Feature| match &q.encoding {
                            plec_spec::Encoding::Embedding { transform: t, .. } => {
                                t.kind_name() == transform.kind_name()
                            }
                            _ => false,
                        };
                        let query = group
                            .query
                            .iter()
                            .find(|q| q.name == suffix && same_kind(q))
                            .or_else(|| group.query.iter().find(same_kind));
                        let partner = query.and_then(|q| plain_index(&q.name)).map(|f| (f, seed ^ f as u64));
                        Kind::Ids {
                            transform: transform.clone(),
                            zipf: Zipf::new(transform_keys(transform), ZIPF_EXPONENT),
                            keys: transform_keys(transform),
                            salt: seed ^ SALT_SEQUENCE ^ ((g as u64) << 16) ^ s as u64,
                            partner,
                        }
                    }
                };
                Column { name: feature.name.clone(), delimiter: feature.delimiter.clone(), kind }
            })
            .collect();
        let max_length = group.sequence.iter().map(|s| s.max_length).max().unwrap_or(0);
        let (longest, read) = match max_length {
            0 => (UNBOUNDED_LONGEST, usize::MAX),
            n => (n + n.div_ceil(5), n),
        };
        SequencePlan { columns, longest, read }
    }

    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// One row; `query_key(f)` is the row's key of plain feature `f` (`None` when its cell is missing).
    pub(super) fn row(&self, rng: &mut Rng, query_key: &dyn Fn(usize) -> Option<u64>) -> SequenceRow {
        let interest = rng.bernoulli(0.5);
        let length = (rng.next_u64() % (self.longest as u64 + 1)) as usize;
        let p_related = if interest { RELATED_WITH_INTEREST } else { RELATED_WITHOUT };
        let mut parts: Vec<Vec<String>> = vec![Vec::with_capacity(length); self.columns.len()];
        let mut related = false;
        for position in 0..length {
            let wants_related = rng.bernoulli(p_related);
            for (column, parts) in self.columns.iter().zip(&mut parts) {
                let text = match &column.kind {
                    Kind::Dense => format!("{:.4}", if wants_related { 1.0 } else { 0.0 } + rng.normal()),
                    Kind::Ids { transform, zipf, salt, keys, partner } => {
                        let paired = match partner {
                            Some((f, partner_salt)) => query_key(*f).map(|key| (key, *partner_salt)),
                            None => Some((FAVOURED_KEY.min(keys - 1), *salt)),
                        };
                        match paired.filter(|_| wants_related) {
                            Some((key, partner_salt)) => {
                                related |= position < self.read;
                                key_text(transform, key, partner_salt)
                            }
                            None => key_text(transform, zipf.rank(rng.uniform()), *salt),
                        }
                    }
                };
                parts.push(text);
            }
        }
        let cells = self
            .columns
            .iter()
            .zip(parts)
            .map(|(column, parts)| (!parts.is_empty()).then(|| parts.join(&column.delimiter)))
            .collect();
        SequenceRow { cells, related }
    }
}
