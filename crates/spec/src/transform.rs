//! Raw feature value -> embedding-table row (section 2 of the semantics), for the trainer's data path and for
//! checking inputs; the compiled graph computes the same in ONNX ops.

use crate::Transform;

/// Where a raw value lands in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Row(u64),
    /// No row: contributes a zero vector (an empty bag).
    Empty,
    /// Not a valid value for this transform (e.g. an id outside `0..num_buckets`): bad input.
    OutOfRange,
    /// The text is not a value of the transform's type (e.g. `abc` for an integer id): bad input.
    Unparsable,
}

/// murmur3_x86_32 of `data` with `seed` (Austin Appleby's reference), as ONNX Runtime's
/// `com.microsoft.MurmurHash3` computes it with positive=1.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &b) in tail.iter().enumerate() {
            k |= (b as u32) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Number of boundaries `<= x` (numpy `searchsorted(b, x, side="right")`); NaN sorts last.
pub fn bucketize(boundaries: &[f32], x: f32) -> u64 {
    if x.is_nan() {
        return boundaries.len() as u64;
    }
    boundaries.partition_point(|&b| b <= x) as u64
}

impl Transform {
    /// Row of one present (non-empty) raw value given as text.
    pub fn lookup_text(&self, text: &str) -> Lookup {
        match self {
            Transform::NumBuckets(n) | Transform::FgEncoded(n) => match text.trim().parse::<i64>() {
                Ok(id) => self.lookup_id(id, *n),
                Err(_) => Lookup::Unparsable,
            },
            Transform::HashBucket(n) => Lookup::Row(murmur3_x86_32(text.as_bytes(), 0) as u64 % n),
            Transform::VocabList(vocab) => match vocab.iter().position(|v| v == text) {
                Some(i) => Lookup::Row(i as u64 + 2),
                None => Lookup::Row(1),
            },
            Transform::VocabDict(map) => match map.binary_search_by(|(key, _)| key.as_str().cmp(text)) {
                Ok(i) => Lookup::Row(map[i].1),
                Err(_) => Lookup::Empty,
            },
            Transform::Boundaries(b) => match text.trim().parse::<f32>() {
                Ok(x) => Lookup::Row(bucketize(b, x)),
                Err(_) => Lookup::Unparsable,
            },
        }
    }

    fn lookup_id(&self, id: i64, n: u64) -> Lookup {
        if id >= 0 && (id as u64) < n {
            Lookup::Row(id as u64)
        } else {
            Lookup::OutOfRange
        }
    }

    /// Row of an absent value (empty text) when the feature has no `default_value`.
    pub fn lookup_missing(&self) -> Lookup {
        match self {
            Transform::VocabList(_) => Lookup::Row(0),
            _ => Lookup::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_reference_vectors() {
        // Published murmur3_x86_32 vectors (seed 0 unless stated), independent of this implementation.
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_x86_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(murmur3_x86_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
        assert_eq!(murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0), 0x2e4f_f723);
        assert_eq!(murmur3_x86_32(&[0xff, 0xff, 0xff, 0xff], 0), 0x7629_3b50);
    }

    #[test]
    fn bucketize_is_searchsorted_right() {
        let b = [1.0, 2.0, 2.0, 5.0];
        assert_eq!(bucketize(&b, 0.5), 0);
        assert_eq!(bucketize(&b, 1.0), 1);
        assert_eq!(bucketize(&b, 2.0), 3);
        assert_eq!(bucketize(&b, 4.9), 3);
        assert_eq!(bucketize(&b, 5.0), 4);
        assert_eq!(bucketize(&b, f32::NAN), 4);
        assert_eq!(bucketize(&b, f32::NEG_INFINITY), 0);
    }

    #[test]
    fn lookups_follow_the_spec() {
        let ids = Transform::NumBuckets(10);
        assert_eq!(ids.lookup_text("9"), Lookup::Row(9));
        assert_eq!(ids.lookup_text("10"), Lookup::OutOfRange);
        assert_eq!(ids.lookup_text("-1"), Lookup::OutOfRange);
        assert_eq!(ids.lookup_text("x"), Lookup::Unparsable);
        let vocab = Transform::VocabList(vec!["a".into(), "b".into()]);
        assert_eq!(vocab.lookup_text("b"), Lookup::Row(3));
        assert_eq!(vocab.lookup_text("zzz"), Lookup::Row(1));
        assert_eq!(vocab.lookup_missing(), Lookup::Row(0));
        // "hello" hashes to 0x248bfa47 = 613153351 (also what ONNX Runtime's MurmurHash3 gives); mod 7 = 6.
        assert_eq!(Transform::HashBucket(7).lookup_text("hello"), Lookup::Row(6));
        let dict = Transform::VocabDict(vec![("x".into(), 4), ("y".into(), 2)]);
        assert_eq!(dict.lookup_text("y"), Lookup::Row(2));
        assert_eq!(dict.lookup_text("q"), Lookup::Empty);
        assert_eq!(dict.rows(), 5);
    }
}
