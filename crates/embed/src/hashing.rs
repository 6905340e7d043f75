//! [`HashingEmbedder`]: a deterministic lexical embedder for when no model is configured.
//!
//! It needs no files and never fails, so retrieval keeps working (lexically) without the model. Texts
//! that share words, or parts of words (`sleep`, `slept`, `sleepy`), come out close; paraphrases with
//! no words in common do not — that is what the real model is for.
//!
//! # Features
//!
//! The text is lowercased and split into words at every character that is not alphanumeric (accents are
//! kept: `café` ≠ `cafe`). Each word contributes
//! - its **unigram**, weight 1, and
//! - its **character trigrams**, taken from the word padded with `^` and `$` (`sleep` → `^sl`, `sle`,
//!   `lee`, `eep`, `ep$`), each weighted [`TRIGRAM_WEIGHT`]`/√n` for a word of `n` trigrams: together
//!   they have Euclidean length [`TRIGRAM_WEIGHT`] whatever the word's length, so a long word does not
//!   outweigh a short one.
//!
//! Each feature is hashed (64-bit FNV-1a over a one-byte kind tag and the UTF-8 feature) into one of
//! `dim` buckets, with a sign from the top hash bit so that collisions cancel out on average instead
//! of piling up. Counts are made sublinear (`1 + ln(tf)`) per feature before hashing, so a word repeated
//! ten times weighs 3.3, not 10. The vector is finally L2-normalised; a text with no word at all gives the
//! all-zero vector, whose cosine with anything is 0.
//!
//! The output is a pure function of the text and `dim`: vectors stored today match vectors computed
//! after a restart, on any machine. [`Embedder::id`] names the scheme version (`hashing-v1-<dim>`): change
//! it if the features change, so that stored vectors of the old scheme are recomputed.

use std::collections::HashMap;

use crate::error::EmbedError;
use crate::{l2_normalize, Embedder};

/// Dimension of [`HashingEmbedder::default`], the same as all-MiniLM-L6-v2 so storage is shaped alike.
pub const DEFAULT_DIM: usize = 384;

/// Length of a word's trigram vector relative to its unigram: enough for `sleeping` to meet `sleep`
/// (cosine about 0.25), small enough that whole-word matches dominate.
pub const TRIGRAM_WEIGHT: f32 = 0.8;

const WORD_TAG: u8 = b'w';
const TRIGRAM_TAG: u8 = b't';

/// Hashed word unigrams and character trigrams; see the module documentation.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dim: usize,
    id: String,
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        Self::new(DEFAULT_DIM)
    }
}

impl HashingEmbedder {
    /// An embedder with `dim` buckets (at least 1).
    pub fn new(dim: usize) -> Self {
        let dim = dim.max(1);
        HashingEmbedder {
            dim,
            id: format!("hashing-v1-{dim}"),
        }
    }

    /// The vector of one text.
    pub fn embed_text(&self, text: &str) -> Vec<f32> {
        let lower = text.to_lowercase();
        // Per feature: occurrences and the sum of their weights.
        let mut features: HashMap<(u8, String), (f32, f32)> = HashMap::new();
        let mut add = |key: (u8, String), weight: f32| {
            let e = features.entry(key).or_default();
            e.0 += 1.0;
            e.1 += weight;
        };
        for word in lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            add((WORD_TAG, word.to_owned()), 1.0);
            let padded: Vec<char> = std::iter::once('^')
                .chain(word.chars())
                .chain(std::iter::once('$'))
                .collect();
            let share = TRIGRAM_WEIGHT / ((padded.len() - 2) as f32).sqrt();
            for w in padded.windows(3) {
                add((TRIGRAM_TAG, w.iter().collect()), share);
            }
        }
        let mut v = vec![0.0f32; self.dim];
        for ((tag, feature), (count, weight_sum)) in &features {
            let h = fnv1a(*tag, feature.as_bytes());
            let bucket = (h % self.dim as u64) as usize;
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            // Mean weight of one occurrence, times the damped count.
            v[bucket] += sign * (weight_sum / count) * (1.0 + count.ln());
        }
        l2_normalize(&mut v);
        v
    }
}

/// 64-bit FNV-1a of a kind tag followed by `bytes`. Fixed, so vectors are stable across runs and builds
/// (unlike `std`'s randomly seeded hasher).
fn fnv1a(tag: u8, bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    std::iter::once(tag)
        .chain(bytes.iter().copied())
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

impl Embedder for HashingEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_text(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    #[test]
    fn deterministic_normalised_and_sized() {
        let e = HashingEmbedder::default();
        let a = e.embed_text("She slept badly last night");
        assert_eq!(a.len(), 384);
        assert_eq!(a, e.embed_text("She slept badly last night"));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        // Pinned value: the scheme must not change silently (stored vectors depend on it).
        assert_eq!(e.id(), "hashing-v1-384");
        assert!(e.embed_text("  ... ").iter().all(|&x| x == 0.0));
    }

    #[test]
    fn shared_words_and_word_parts_are_close() {
        let e = HashingEmbedder::default();
        let q = e.embed_text("she slept badly");
        let near = e.embed_text("poor sleep, slept badly again");
        let far = e.embed_text("math test tomorrow");
        assert!(cosine(&q, &near) > cosine(&q, &far) + 0.2);
        let stem = cosine(&e.embed_text("sleeping"), &e.embed_text("sleep"));
        assert!(stem > 0.2, "{stem}");
        assert!(cosine(&e.embed_text("Bedtime!"), &e.embed_text("bedtime")) > 0.999);
    }

    #[test]
    fn repeated_words_are_damped() {
        let e = HashingEmbedder::new(4096);
        let once = e.embed_text("tired happy");
        let many = e.embed_text(&format!("{} happy", "tired ".repeat(10)));
        // With raw counts "tired" would dominate (cosine with "happy" ≈ 0.1); sublinear keeps it visible.
        assert!(cosine(&many, &e.embed_text("happy")) > 0.25);
        assert!(cosine(&once, &many) > 0.85);
    }
}
