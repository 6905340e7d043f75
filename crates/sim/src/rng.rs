//! Seeding: one independent random stream per child and per part of the model.
//!
//! A child's data depends only on (seed, child index), never on how many children are
//! simulated, and each part of the model (calendar, sleep, ...) draws from its own stream,
//! so changing one part (the gap rate, say) leaves the others' draws untouched.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The parts of the model that draw random numbers, each from its own ChaCha stream.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Profile = 1,
    Calendar = 2,
    BadDays = 3,
    Sleep = 4,
    Interventions = 5,
    Signals = 6,
    Gaps = 7,
    /// Each child's own effects, when they differ between children.
    Effects = 8,
    /// Decisions parents take while watching the readings.
    Parents = 9,
}

/// The random stream of one part of one child's model.
pub(crate) fn child_rng(seed: u64, child: usize, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, child as u64));
    rng.set_stream(stream as u64);
    rng
}

/// A stream shared by every child with the same key (siblings in one time zone share
/// school holidays).
pub(crate) fn shared_rng(seed: u64, key: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed ^ SHARED_SALT, fnv1a(key)))
}

/// Keeps shared streams apart from child streams with the same numbers.
const SHARED_SALT: u64 = 0x5bd1_e995_9e37_79b9;

/// A standard normal draw.
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// SplitMix64's finaliser: spreads nearby inputs (child 0, 1, 2) over unrelated seeds.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn mix(a: u64, b: u64) -> u64 {
    splitmix64(a ^ splitmix64(b))
}

/// FNV-1a: a stable string hash (std's hasher may change between releases).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
