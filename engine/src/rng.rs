//! Random streams for common random numbers.
//!
//! Every stream is a ChaCha8 generator seeded from `(run seed, stream name,
//! entity index)`, so thread 3's I/O latencies are the same whatever else a
//! variant changes: two models compared under one seed see the same I/O.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator used for every stream.
pub type StreamRng = ChaCha8Rng;

/// Derives the seed of stream `name` for entity `index` under `seed`.
///
/// FNV-1a over the name, mixed with SplitMix64: stable across platforms and
/// Rust versions (no `std::hash`, whose output is not guaranteed).
pub fn stream_seed(seed: u64, name: &str, index: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix(splitmix(seed ^ splitmix(h)) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of stream `name` for entity `index`.
pub fn stream(seed: u64, name: &str, index: u64) -> StreamRng {
    StreamRng::seed_from_u64(stream_seed(seed, name, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn streams_differ_by_name_index_and_seed() {
        let a = stream_seed(1, "io", 0);
        assert_ne!(a, stream_seed(1, "io", 1));
        assert_ne!(a, stream_seed(1, "wake", 0));
        assert_ne!(a, stream_seed(2, "io", 0));
        assert_eq!(a, stream_seed(1, "io", 0));
    }
}
