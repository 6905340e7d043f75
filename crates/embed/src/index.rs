//! [`VectorIndex`]: an in-memory set of keyed vectors with exact cosine top-k search.
//!
//! Search is brute force: every stored vector is scored. That is the right tool at Sprout's scale — one
//! index per child, holding that child's past recommendations, feedback comments and notes (hundreds to a
//! few thousand vectors): a top-10 query over 5,000 vectors of 384 dimensions is about 2 million
//! multiply-adds, 0.4 ms on one core of the build machine (`examples/bench.rs`), with exact results, no
//! build step, no tuning and cheap removal. An approximate index (HNSW, IVF) pays off only from hundreds
//! of thousands of vectors per index.
//!
//! Vectors are L2-normalised when inserted, so a score is a dot product and equals the cosine similarity
//! (in [-1, 1]). A zero vector is stored as it is and scores 0 against everything.

use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

use crate::error::IndexError;
use crate::l2_normalize;

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<K> {
    /// The key the vector was inserted under.
    pub key: K,
    /// Cosine similarity with the query.
    pub score: f32,
}

/// Keyed vectors of one dimension, searched by cosine similarity. See the module documentation.
///
/// Keep one index per owner (per child); [`VectorIndex::search_filtered`] narrows a search further, e.g.
/// to one kind of document.
#[derive(Debug, Clone)]
pub struct VectorIndex<K> {
    dim: usize,
    keys: Vec<K>,
    /// Row `i` (`dim` floats) belongs to `keys[i]`.
    vectors: Vec<f32>,
    slots: HashMap<K, usize>,
}

/// A candidate in the top-k heap, ordered so that the heap's maximum is the worst kept hit
/// (lowest score, then latest slot).
struct Candidate {
    score: f32,
    slot: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.slot.cmp(&other.slot))
    }
}

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// An empty index for vectors of `dim` dimensions.
    pub fn new(dim: usize) -> Self {
        VectorIndex {
            dim,
            keys: Vec::new(),
            vectors: Vec::new(),
            slots: HashMap::new(),
        }
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of vectors stored.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `key` is stored.
    pub fn contains(&self, key: &K) -> bool {
        self.slots.contains_key(key)
    }

    /// The stored (normalised) vector of `key`.
    pub fn get(&self, key: &K) -> Option<&[f32]> {
        self.slots.get(key).map(|&i| self.row(i))
    }

    /// The stored keys, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.keys.iter()
    }

    /// Stores `vector` under `key`, replacing any vector already stored there. Returns whether a vector
    /// was replaced.
    pub fn insert(&mut self, key: K, vector: &[f32]) -> Result<bool, IndexError> {
        self.check(vector)?;
        let mut v = vector.to_vec();
        l2_normalize(&mut v);
        if let Some(&i) = self.slots.get(&key) {
            self.vectors[i * self.dim..(i + 1) * self.dim].copy_from_slice(&v);
            return Ok(true);
        }
        self.slots.insert(key.clone(), self.keys.len());
        self.keys.push(key);
        self.vectors.extend_from_slice(&v);
        Ok(false)
    }

    /// Removes `key`; returns whether it was stored. The others keep their relative order (so ties in
    /// [`VectorIndex::search`] still go to the key stored first); O(n), which is nothing at per-child scale.
    pub fn remove(&mut self, key: &K) -> bool {
        let Some(i) = self.slots.remove(key) else {
            return false;
        };
        self.keys.remove(i);
        self.vectors.drain(i * self.dim..(i + 1) * self.dim);
        for (slot, k) in self.keys.iter().enumerate().skip(i) {
            self.slots.insert(k.clone(), slot);
        }
        true
    }

    /// Removes every vector whose key fails `keep`, in one pass.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        let dim = self.dim;
        let mut kept = 0;
        for slot in 0..self.keys.len() {
            if keep(&self.keys[slot]) {
                if kept != slot {
                    self.keys.swap(kept, slot);
                    self.vectors.copy_within(slot * dim..(slot + 1) * dim, kept * dim);
                }
                kept += 1;
            }
        }
        self.keys.truncate(kept);
        self.vectors.truncate(kept * dim);
        self.slots = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
    }

    /// The `k` stored vectors most similar to `query`, best first (ties: the key stored first).
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit<K>>, IndexError> {
        self.search_filtered(query, k, |_| true)
    }

    /// Like [`VectorIndex::search`], among the keys for which `filter` holds.
    pub fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        mut filter: impl FnMut(&K) -> bool,
    ) -> Result<Vec<Hit<K>>, IndexError> {
        self.check(query)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut q = query.to_vec();
        l2_normalize(&mut q);
        let mut heap = BinaryHeap::with_capacity(k + 1);
        for (slot, key) in self.keys.iter().enumerate() {
            if !filter(key) {
                continue;
            }
            let score = dot(&q, self.row(slot));
            heap.push(Candidate { score, slot });
            if heap.len() > k {
                heap.pop();
            }
        }
        Ok(heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| Hit {
                key: self.keys[c.slot].clone(),
                score: c.score,
            })
            .collect())
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    fn check(&self, v: &[f32]) -> Result<(), IndexError> {
        if v.len() != self.dim {
            return Err(IndexError::DimensionMismatch {
                expected: self.dim,
                got: v.len(),
            });
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(IndexError::NonFinite);
        }
        Ok(())
    }
}

/// Dot product in eight independent lanes, which the compiler turns into SIMD (a plain `zip().sum()`
/// is a serial chain of float additions it may not reorder).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dim: usize, i: usize) -> Vec<f32> {
        let mut v = vec![0.0; dim];
        v[i] = 1.0;
        v
    }

    #[test]
    fn top_k_is_ordered_and_exact() {
        let mut idx = VectorIndex::new(3);
        idx.insert("x", &[1.0, 0.0, 0.0]).unwrap();
        idx.insert("xy", &[1.0, 1.0, 0.0]).unwrap();
        idx.insert("y", &[0.0, 2.0, 0.0]).unwrap();
        idx.insert("z", &[0.0, 0.0, -1.0]).unwrap();
        let hits = idx.search(&[3.0, 0.5, 0.0], 3).unwrap();
        let keys: Vec<_> = hits.iter().map(|h| h.key).collect();
        assert_eq!(keys, ["x", "xy", "y"]);
        assert!((hits[0].score - 3.0 / (9.25f32).sqrt()).abs() < 1e-6);
        assert_eq!(idx.search(&[1.0, 0.0, 0.0], 10).unwrap().len(), 4);
        assert!(idx.search(&[1.0, 0.0, 0.0], 0).unwrap().is_empty());
    }

    #[test]
    fn ties_keep_insertion_order() {
        let mut idx = VectorIndex::new(2);
        for k in 0..5 {
            idx.insert(k, &[1.0, 0.0]).unwrap();
        }
        let keys: Vec<_> = idx
            .search(&[1.0, 0.0], 3)
            .unwrap()
            .into_iter()
            .map(|h| h.key)
            .collect();
        assert_eq!(keys, [0, 1, 2]);
    }

    #[test]
    fn insert_replaces_and_remove_keeps_the_rest_searchable() {
        let mut idx = VectorIndex::new(4);
        for i in 0..4 {
            assert!(!idx.insert(i, &unit(4, i)).unwrap());
        }
        assert!(idx.insert(1, &unit(4, 3)).unwrap());
        assert_eq!(idx.len(), 4);
        assert!(idx.remove(&0));
        assert!(!idx.remove(&0));
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.get(&3), Some(&unit(4, 3)[..]));
        let hits = idx.search(&unit(4, 3), 2).unwrap();
        assert_eq!(hits.iter().map(|h| h.key).collect::<Vec<_>>(), [1, 3]);
        idx.retain(|k| *k != 3);
        assert_eq!(idx.keys().copied().collect::<Vec<_>>().len(), 2);
        assert_eq!(idx.search(&unit(4, 2), 1).unwrap()[0].key, 2);
    }

    #[test]
    fn filter_and_errors() {
        let mut idx = VectorIndex::new(2);
        idx.insert(("note", 1), &[1.0, 0.0]).unwrap();
        idx.insert(("feedback", 2), &[0.9, 0.1]).unwrap();
        let hits = idx
            .search_filtered(&[1.0, 0.0], 5, |k| k.0 == "feedback")
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].key, ("feedback", 2));
        assert_eq!(
            idx.insert(("x", 0), &[1.0]),
            Err(IndexError::DimensionMismatch { expected: 2, got: 1 })
        );
        assert_eq!(idx.search(&[f32::NAN, 0.0], 1), Err(IndexError::NonFinite));
        idx.insert(("zero", 3), &[0.0, 0.0]).unwrap();
        let all = idx.search(&[0.0, 1.0], 3).unwrap();
        assert_eq!(all.last().map(|h| h.score), Some(0.0));
    }
}
