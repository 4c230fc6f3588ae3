//! The trainer's one seeded random source (HOUSE_STYLE R5).
//!
//! candle's CPU RNG cannot be seeded, so every random number in a run (weights, data,
//! shuffling, Poisson spikes) comes from this ChaCha8 stream, which gives the same
//! numbers natively and in wasm.

use rand::seq::SliceRandom;
use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// An independent stream for one purpose (data, init, ...), so that changing how many
    /// numbers one consumer draws does not shift the others.
    pub fn fork(&mut self, salt: u64) -> Self {
        let base: u64 = self.0.random();
        Self(ChaCha8Rng::seed_from_u64(base ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }

    /// `n` values uniform in `[-bound, bound)`.
    pub fn uniform_vec(&mut self, n: usize, bound: f32) -> Vec<f32> {
        (0..n).map(|_| self.0.random_range(-bound..bound)).collect()
    }

    pub fn uniform(&mut self) -> f32 {
        self.0.random::<f32>()
    }

    pub fn normal(&mut self) -> f32 {
        StandardNormal.sample(&mut self.0)
    }

    /// One Bernoulli draw per probability (each clamped to [0, 1]), as 0.0 / 1.0.
    pub fn bernoulli_vec(&mut self, probs: &[f32]) -> Vec<f32> {
        probs
            .iter()
            .map(|&p| if self.0.random::<f32>() < p.clamp(0.0, 1.0) { 1.0 } else { 0.0 })
            .collect()
    }

    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        xs.shuffle(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_forks_differ() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.uniform_vec(5, 1.0), b.uniform_vec(5, 1.0));
        let (mut fa, mut fb) = (a.fork(1), a.fork(2));
        assert_ne!(fa.uniform_vec(5, 1.0), fb.uniform_vec(5, 1.0));
    }
}
