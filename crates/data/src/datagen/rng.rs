//! A small deterministic PRNG (xoshiro256**, seeded by SplitMix64) and stateless hashes, so generated data
//! depends on the seed only, never on a library's version.

pub use plec_spec::splitmix::mix64;
use plec_spec::splitmix::SplitMix64;

/// A stateless hash of a seed, a tag (which property) and a key (which id).
pub fn hash3(seed: u64, tag: u64, key: u64) -> u64 {
    mix64(mix64(seed ^ tag.wrapping_mul(0xd1b5_4a32_d192_ed03)) ^ key)
}

/// Uniform in [0, 1) from 53 bits of `bits`.
pub fn unit_f64(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal value determined by (seed, tag, key): a fixed random effect per id.
pub fn hash_normal(seed: u64, tag: u64, key: u64) -> f64 {
    let a = hash3(seed, tag, key);
    let b = mix64(a ^ 0x5851_f42d_4c95_7f2d);
    box_muller(unit_f64(a), unit_f64(b))
}

fn box_muller(u1: f64, u2: f64) -> f64 {
    let u1 = 1.0 - u1; // (0, 1]: ln is finite
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// xoshiro256** (Blackman and Vigna), state filled by SplitMix64 from the seed.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut splitmix = SplitMix64::new(seed);
        Rng { s: [splitmix.next_u64(), splitmix.next_u64(), splitmix.next_u64(), splitmix.next_u64()] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        unit_f64(self.next_u64())
    }

    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        box_muller(u1, u2)
    }

    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
}

/// Zipf-like ranks over `0..n` (rank 0 most frequent) with exponent `s` (!= 1), by inverting the continuous
/// power law's CDF on [1, n + 1).
#[derive(Debug, Clone, Copy)]
pub struct Zipf {
    n: u64,
    exponent: f64,
    /// (n + 1)^(1 - s) - 1.
    span: f64,
}

impl Zipf {
    pub fn new(n: u64, s: f64) -> Zipf {
        let exponent = 1.0 - s;
        Zipf { n, exponent, span: ((n + 1) as f64).powf(exponent) - 1.0 }
    }

    /// The rank for a uniform `u` in [0, 1).
    pub fn rank(&self, u: f64) -> u64 {
        let x = (self.span * u + 1.0).powf(1.0 / self.exponent);
        (x as u64).saturating_sub(1).min(self.n - 1)
    }
}

/// A fixed bijection of `0..n` that scatters popular ranks over the id range.
#[derive(Debug, Clone, Copy)]
pub struct Scatter {
    n: u64,
    multiplier: u64,
    offset: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Scatter {
    pub fn new(n: u64, seed: u64) -> Scatter {
        let mut multiplier = (mix64(seed) % n.max(2)) | 1;
        while gcd(multiplier, n) != 1 {
            multiplier += 2;
        }
        Scatter { n, multiplier: multiplier % n.max(1), offset: mix64(seed ^ 0xabcd) % n.max(1) }
    }

    pub fn apply(&self, rank: u64) -> u64 {
        ((rank as u128 * self.multiplier as u128 + self.offset as u128) % self.n as u128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_the_reference_sequence() {
        // xoshiro256** with state [1, 2, 3, 4]: the reference implementation's first outputs.
        let mut rng = Rng { s: [1, 2, 3, 4] };
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(first, [11520, 0, 1509978240]);
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // SplitMix64 seeded with 0: first output 0xe220a8397b1dcdaf (Vigna's reference).
        assert_eq!(mix64(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let zipf = Zipf::new(1000, 1.1);
        let mut rng = Rng::new(7);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[zipf.rank(rng.uniform()) as usize] += 1;
        }
        // P(rank 0) = 1 - 2^(1-s) over the span: (1 - 2^-0.1) / (1 - 1001^-0.1) = 0.0670 / 0.4987 = 0.1343.
        let p0 = counts[0] as f64 / 100_000.0;
        assert!((p0 - 0.1343).abs() < 0.005, "p0 = {p0}");
        assert!(counts[0] > counts[10] && counts[10] > counts[500]);
    }

    #[test]
    fn scatter_is_a_bijection() {
        for n in [1u64, 2, 3, 14, 98, 1000] {
            let scatter = Scatter::new(n, 42);
            let mut seen: Vec<u64> = (0..n).map(|r| scatter.apply(r)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }
}
