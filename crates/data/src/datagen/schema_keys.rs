//! The keys a generated feature draws from, and each key's raw value (shared by the feature and sequence columns).

use super::rng::hash3;
use plec_spec::Transform;

/// Keys a feature draws from at most: ids beyond this would each appear too rarely to learn.
pub const MAX_KEYS: u64 = 5000;
/// Skew of the keys' Zipf distribution.
pub(super) const ZIPF_EXPONENT: f64 = 1.1;

/// Keys of a transform: its table rows (and one unknown word or key), at most `MAX_KEYS`.
pub(super) fn transform_keys(transform: &Transform) -> u64 {
    match transform {
        Transform::VocabList(v) => v.len() as u64 + 1,
        Transform::VocabDict(m) => m.len() as u64 + 1,
        Transform::Boundaries(b) => b.len() as u64 + 1,
        other => other.rows().clamp(1, MAX_KEYS),
    }
}

/// The raw value of key `key`: an id scattered over the buckets, `k<key>` for hashes, a vocabulary word (the last
/// key is out of vocabulary), a value inside bucket `key` of the boundaries.
pub(super) fn key_text(transform: &Transform, key: u64, salt: u64) -> String {
    match transform {
        Transform::NumBuckets(n) | Transform::FgEncoded(n) => (hash3(salt, 1, key) % (*n).max(1)).to_string(),
        Transform::HashBucket(_) => format!("k{key}"),
        Transform::VocabList(v) => v.get(key as usize).cloned().unwrap_or_else(|| "__unknown__".into()),
        Transform::VocabDict(m) => m.get(key as usize).map_or_else(|| "__unknown__".into(), |(k, _)| k.clone()),
        Transform::Boundaries(b) => {
            let i = key as usize;
            let value = match (i.checked_sub(1).and_then(|j| b.get(j)), b.get(i)) {
                (Some(lo), Some(hi)) => (lo + hi) / 2.0,
                (None, Some(hi)) => hi - 1.0,
                (Some(lo), None) => lo + 1.0,
                (None, None) => 0.0,
            };
            format!("{value}")
        }
    }
}
