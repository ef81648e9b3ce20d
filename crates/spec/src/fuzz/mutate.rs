//! Deterministic byte-level mutations of real files, aimed at what breaks readers: length and count fields
//! (interesting integers at any offset), nesting (a chunk repeated many times), truncation, and pieces of other
//! files spliced in.

use crate::splitmix::SplitMix64;

/// Integers that make length and count fields lie: zero, one, sign and width boundaries, "almost all memory".
const INTERESTING: [u64; 12] =
    [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0xffff_ffff, 0x1_0000_0000, 0x7fff_ffff_ffff_ffff, u64::MAX];

fn below(rng: &mut SplitMix64, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (rng.next_u64() % n as u64) as usize
    }
}

/// `base` after 1 to 4 random mutations; `others` are sources of spliced pieces.
pub fn mutate(rng: &mut SplitMix64, base: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for _ in 0..1 + below(rng, 4) {
        mutate_once(rng, &mut bytes, others);
    }
    bytes
}

fn mutate_once(rng: &mut SplitMix64, bytes: &mut Vec<u8>, others: &[Vec<u8>]) {
    let len = bytes.len();
    let at = below(rng, len);
    match below(rng, 10) {
        0 if len > 0 => bytes[at] ^= 1 << below(rng, 8),
        1 if len > 0 => bytes[at] = INTERESTING[below(rng, 5)] as u8,
        2 => {
            // An interesting integer, little- or big-endian, 1 to 8 bytes wide.
            let width = [1, 2, 4, 8][below(rng, 4)];
            let value = INTERESTING[below(rng, INTERESTING.len())];
            let raw = if rng.next_u64() & 1 == 0 { value.to_le_bytes() } else { value.to_be_bytes() };
            let raw = if raw[..8 - width].iter().all(|&b| b == 0) { &raw[8 - width..] } else { &raw[..width] };
            for (i, &b) in raw.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + i) {
                    *slot = b;
                }
            }
        }
        3 => {
            let insert: Vec<u8> = (0..1 + below(rng, 16)).map(|_| rng.next_u64() as u8).collect();
            bytes.splice(at..at, insert);
        }
        4 if len > 0 => {
            let end = (at + 1 + below(rng, 64)).min(len);
            bytes.drain(at..end);
        }
        5 if len > 0 => {
            // A chunk copied elsewhere.
            let end = (at + 1 + below(rng, 256)).min(len);
            let chunk = bytes[at..end].to_vec();
            let to = below(rng, len);
            bytes.splice(to..to, chunk);
        }
        6 => bytes.truncate(at),
        7 if !others.is_empty() => {
            let other = &others[below(rng, others.len())];
            let from = below(rng, other.len());
            let end = (from + 1 + below(rng, 512)).min(other.len());
            bytes.splice(at..at, other[from..end].iter().copied());
        }
        8 => {
            // A number that is too large for any count.
            let digits = ["99999999999999999999", "4294967296", "-1", "1e308", "nan", "18446744073709551615"];
            let text = digits[below(rng, digits.len())].as_bytes();
            let end = (at + below(rng, 4)).min(len);
            bytes.splice(at..end, text.iter().copied());
        }
        _ if len > 0 => {
            // A short chunk repeated many times: deep nesting, long lists.
            let end = (at + 1 + below(rng, 8)).min(len);
            let chunk = bytes[at..end].to_vec();
            let times = 1 + below(rng, 2000);
            let repeated: Vec<u8> = chunk.iter().copied().cycle().take(chunk.len() * times).collect();
            bytes.splice(at..at, repeated);
        }
        _ => bytes.push(rng.next_u64() as u8),
    }
}
