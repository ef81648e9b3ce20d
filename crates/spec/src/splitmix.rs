//! SplitMix64 (Steele, Lea and Flood; Vigna's reference constants): the one small deterministic generator every
//! plec crate uses where a stream of bits must depend on the seed only, never on a library's version (fixed-seed
//! weights, random golden rows, generated data, benchmark inputs).

/// The generator's increment (2^64 / golden ratio).
pub const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The first output of a generator seeded with `z`: a strong stateless 64-bit mixer.
pub fn mix64(z: u64) -> u64 {
    SplitMix64::new(z).next_u64()
}

#[cfg(test)]
mod tests {
    use super::{mix64, SplitMix64};

    #[test]
    fn matches_the_reference_sequence() {
        // Vigna's splitmix64.c seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(mix64(0), 0xe220_a839_7b1d_cdaf);
    }
}
