//! Training examples, their tokenization, and padded batches scored on completion tokens only.

use candle_core::{Device, Tensor};
use sprout_gemma::Tokenizer;

use crate::error::{Result, TuneError};

/// A supervised example: the model should continue `prompt` with `completion`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Example {
    pub prompt: String,
    pub completion: String,
}

/// A parent's feedback on one generated text: 👍 (`desirable`) or 👎.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KtoExample {
    pub prompt: String,
    pub completion: String,
    pub desirable: bool,
}

/// An example as token ids: `prompt` starts with `<bos>`; only `completion` is scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizedExample {
    pub prompt: Vec<u32>,
    pub completion: Vec<u32>,
    pub desirable: bool,
}

/// Token used to right-pad shorter sequences. Causal attention means padding after a sequence never
/// influences its positions, and padded positions are never scored, so its value does not matter.
const PAD_ID: u32 = 0;

impl TokenizedExample {
    /// Tokenizes prompt and completion separately (`<bos>` + prompt, then completion), which is how
    /// generation sees them: the prompt is encoded, and the completion is what the model emits after
    /// it. With `append_eos`, `<eos>` ends the completion so the model also learns to stop.
    pub fn new(
        tokenizer: &Tokenizer,
        prompt: &str,
        completion: &str,
        desirable: bool,
        append_eos: bool,
    ) -> Result<Self> {
        let prompt_ids = tokenizer.encode(prompt, tokenizer.adds_bos());
        let mut completion_ids = tokenizer.encode(completion, false);
        if append_eos {
            completion_ids.push(tokenizer.eos_id());
        }
        if completion_ids.is_empty() {
            return Err(TuneError::BadData(format!(
                "completion {completion:?} has no tokens"
            )));
        }
        if prompt_ids.is_empty() {
            return Err(TuneError::BadData("prompt has no tokens (and no <bos>)".into()));
        }
        Ok(Self {
            prompt: prompt_ids,
            completion: completion_ids,
            desirable,
        })
    }

    /// Fits the example into `max_len` positions: the completion is kept (cut at its end only if it
    /// alone is too long), the prompt loses tokens from its start but keeps its first (`<bos>`) one.
    pub fn truncated(&self, max_len: usize) -> Self {
        let max_len = max_len.max(2);
        if self.prompt.len() + self.completion.len() <= max_len {
            return self.clone();
        }
        let completion: Vec<u32> = self.completion.iter().copied().take(max_len - 1).collect();
        let room = max_len - completion.len();
        let mut prompt = Vec::with_capacity(room);
        if let Some(&first) = self.prompt.first() {
            prompt.push(first);
            let keep = room.saturating_sub(1).min(self.prompt.len() - 1);
            prompt.extend_from_slice(&self.prompt[self.prompt.len() - keep..]);
        }
        Self {
            prompt,
            completion,
            desirable: self.desirable,
        }
    }

    pub fn len(&self) -> usize {
        self.prompt.len() + self.completion.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A right-padded batch: ids `[batch, seq]`, the flattened positions whose next token is a completion
/// token (`rows`) with those tokens (`targets`), and a `[batch, rows]` 0/1 matrix summing rows per
/// sequence.
#[derive(Debug, Clone)]
pub struct Batch {
    pub ids: Tensor,
    pub rows: Vec<u32>,
    pub targets: Vec<u32>,
    pub segments: Tensor,
    /// Completion tokens per sequence.
    pub token_counts: Vec<usize>,
}

impl Batch {
    pub fn new(examples: &[&TokenizedExample]) -> Result<Self> {
        let seq = examples.iter().map(|e| e.len()).max().unwrap_or(0);
        if seq < 2 {
            return Err(TuneError::BadData("batch without completion tokens".into()));
        }
        let b = examples.len();
        let mut ids = vec![PAD_ID; b * seq];
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        let mut token_counts = Vec::with_capacity(b);
        let mut owner = Vec::new();
        for (i, e) in examples.iter().enumerate() {
            let base = i * seq;
            let p = e.prompt.len();
            for (j, &t) in e.prompt.iter().chain(&e.completion).enumerate() {
                ids[base + j] = t;
            }
            // Completion token j is predicted at position p + j - 1.
            for (j, &t) in e.completion.iter().enumerate() {
                let pos = p + j;
                if pos == 0 {
                    continue;
                }
                rows.push((base + pos - 1) as u32);
                targets.push(t);
                owner.push(i);
            }
            token_counts.push(owner.iter().filter(|&&o| o == i).count());
        }
        let mut seg = vec![0f32; b * rows.len()];
        for (r, &o) in owner.iter().enumerate() {
            seg[o * rows.len() + r] = 1.0;
        }
        let dev = &Device::Cpu;
        Ok(Self {
            ids: Tensor::from_vec(ids, (b, seq), dev)?,
            segments: Tensor::from_vec(seg, (b, rows.len()), dev)?,
            rows,
            targets,
            token_counts,
        })
    }

    pub fn len(&self) -> usize {
        self.token_counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.token_counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_bos_and_completion() {
        let e = TokenizedExample {
            prompt: vec![2, 10, 11, 12, 13],
            completion: vec![20, 21],
            desirable: true,
        };
        let t = e.truncated(5);
        assert_eq!(t.prompt, vec![2, 12, 13]);
        assert_eq!(t.completion, vec![20, 21]);
        let t = e.truncated(2);
        assert_eq!(
            (t.prompt.as_slice(), t.completion.as_slice()),
            (&[2u32][..], &[20u32][..])
        );
    }

    #[test]
    fn batch_scores_completion_tokens_only() {
        let a = TokenizedExample {
            prompt: vec![2, 5],
            completion: vec![6, 7],
            desirable: true,
        };
        let b = TokenizedExample {
            prompt: vec![2],
            completion: vec![8],
            desirable: false,
        };
        let batch = Batch::new(&[&a, &b]).unwrap();
        assert_eq!(batch.ids.dims(), &[2, 4]);
        assert_eq!(batch.rows, vec![1, 2, 4]);
        assert_eq!(batch.targets, vec![6, 7, 8]);
        assert_eq!(batch.token_counts, vec![2, 1]);
        assert_eq!(
            batch.segments.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]]
        );
    }
}
