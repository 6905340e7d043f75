//! Text generation and scoring on top of the forward pass: prompt prefill, sampling, stop handling,
//! perplexity, and timings.

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, IndexOp, Tensor, D};

use crate::error::{GemmaError, Result};
use crate::gguf::{Config, Gguf};
use crate::model::{Cache, Gemma3};
use crate::numbers::{NumberConstraint, TokenDigits};
use crate::tokenizer::Tokenizer;

/// Options for [`Model::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Upper bound on generated tokens (default 120).
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 means greedy (argmax) decoding (default 0).
    pub temperature: f64,
    /// Nucleus sampling threshold, used only when `temperature > 0`; 1 disables it (default 1).
    pub top_p: f64,
    /// Seed of the sampler's random generator (default 0).
    pub seed: u64,
    /// Generation stops at the first occurrence of any of these strings, which is cut from the text.
    /// It also always stops at `<eos>` and `<end_of_turn>`.
    pub stop: Vec<String>,
    /// When set, the only numbers the text may contain (as written: "7", "30", "6.5"); digits
    /// that would make any other number are masked at every step (see [`crate::numbers`]). An
    /// empty list allows no digits. `None` (the default) leaves numbers free.
    pub allowed_numbers: Option<Vec<String>>,
    /// With `allowed_numbers`: phrases after which only their own numbers may start
    /// ("from about " → `["40"]`), so a number on the card is not put where another
    /// belongs. Matched without regard to case at the end of the text so far.
    pub number_anchors: Vec<(String, Vec<String>)>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_new_tokens: 120,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
            allowed_numbers: None,
            number_anchors: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The model produced `<eos>` or `<end_of_turn>`.
    EndOfText,
    /// One of the stop strings appeared.
    StopString,
}

/// The result of [`Model::generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated text (without the prompt, cut before any stop string).
    pub text: String,
    /// Tokens in the prompt, `<bos>` included.
    pub prompt_tokens: usize,
    /// Tokens sampled (an end-of-text token is counted but not rendered).
    pub generated_tokens: usize,
    /// Seconds spent tokenizing and running the prompt through the model.
    pub prompt_secs: f64,
    /// Seconds spent in the decoding loop after the first token: one forward pass per further token.
    pub generate_secs: f64,
    /// Seconds from the call until the first token was sampled.
    pub time_to_first_token_secs: f64,
    pub stop_reason: StopReason,
}

impl Generation {
    /// Prompt throughput in tokens per second.
    pub fn prompt_tokens_per_sec(&self) -> f64 {
        rate(self.prompt_tokens, self.prompt_secs)
    }

    /// Decoding throughput in tokens per second. The first token comes out of the prompt pass, so this
    /// counts the `generated_tokens - 1` tokens that each cost one decoding step (llama.cpp's convention).
    pub fn generate_tokens_per_sec(&self) -> f64 {
        rate(self.generated_tokens.saturating_sub(1), self.generate_secs)
    }
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Gemma 3 loaded from a GGUF file: weights, tokenizer and a reusable cache.
#[derive(Debug)]
pub struct Model {
    weights: Gemma3,
    tokenizer: Tokenizer,
    cache: Cache,
    stop_ids: Vec<u32>,
    load_secs: f64,
    /// What each token does to a number being written, read from the vocabulary at the first
    /// generation that constrains numbers.
    token_digits: Option<TokenDigits>,
}

/// How [`Model::load_with`] prepares the weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Repack Q8_0 matrices (the tied embedding/output projection and the Q5_0 projections converted
    /// to Q8_0) for this crate's int8 kernels ([`crate::int8`]) instead of using candle's quantized
    /// matmul (default true; false is kept for comparison and is slower). Ignored on CPUs without
    /// AVX-512 VNNI, where candle's kernels are faster than the portable loop.
    pub pack_int8: bool,
    /// Run one token through the model at load, so weight repacking happens there instead of
    /// slowing the first generation (default true).
    pub warm_up: bool,
    /// Run prompts and scored texts through dequantized f32 weights (see [`Gemma3::set_exact_prompts`]):
    /// unquantized activations, slower prompts (default false).
    pub exact_prompts: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            pack_int8: true,
            warm_up: true,
            exact_prompts: false,
        }
    }
}

/// Positions per forward call when scoring long texts.
const PREFILL_CHUNK: usize = 512;
/// Rows per output-projection call when scoring (bounds the `[rows, vocab]` logits buffer).
const LOGIT_ROWS: usize = 16;

impl Model {
    /// Loads the model and tokenizer from a Gemma 3 GGUF file. Nothing is downloaded.
    ///
    /// Unless `CANDLE_NUM_THREADS` or `RAYON_NUM_THREADS` is already set, this sets both to 1 before any
    /// tensor work: candle's spinning thread pool collapses when cores are shared, and one thread per
    /// generation was measured as the fast and stable choice. Set them before loading to choose otherwise.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// [`Model::load`] with explicit options.
    pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<Self> {
        crate::default_to_one_thread();
        let t0 = Instant::now();
        let mut gguf = Gguf::open(path)?;
        let tokenizer = Tokenizer::from_meta(&gguf.meta())?;
        let mut weights = Gemma3::load_with(&mut gguf, opts.pack_int8)?;
        weights.set_exact_prompts(opts.exact_prompts);
        if weights.vocab_size() != tokenizer.vocab_size() {
            return Err(GemmaError::Tokenizer(format!(
                "vocabulary has {} tokens but the embedding has {} rows",
                tokenizer.vocab_size(),
                weights.vocab_size()
            )));
        }
        let mut stop_ids = vec![tokenizer.eos_id()];
        stop_ids.extend(tokenizer.token_id("<end_of_turn>"));
        if opts.warm_up {
            weights.warm_up()?;
        }
        let cache = weights.new_cache();
        Ok(Self {
            weights,
            tokenizer,
            cache,
            stop_ids,
            load_secs: t0.elapsed().as_secs_f64(),
            token_digits: None,
        })
    }

    /// Seconds [`Model::load`] took.
    pub fn load_secs(&self) -> f64 {
        self.load_secs
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn config(&self) -> &Config {
        self.weights.config()
    }

    /// The transformer itself, e.g. to attach adapters or run custom forward passes.
    pub fn weights(&self) -> &Gemma3 {
        &self.weights
    }

    pub fn weights_mut(&mut self) -> &mut Gemma3 {
        &mut self.weights
    }

    /// Continues `prompt` (tokenized with `<bos>`; control tokens such as `<start_of_turn>` in it are
    /// recognised). Each call starts from an empty cache.
    pub fn generate(&mut self, prompt: &str, opts: &GenerateOptions) -> Result<Generation> {
        if !(opts.temperature.is_finite() && opts.temperature >= 0.0) {
            return Err(GemmaError::InvalidOption {
                name: "temperature",
                reason: format!("{} is not a finite number >= 0", opts.temperature),
            });
        }
        if !(opts.top_p > 0.0 && opts.top_p <= 1.0) {
            return Err(GemmaError::InvalidOption {
                name: "top_p",
                reason: format!("{} is not in (0, 1]", opts.top_p),
            });
        }
        let mut numbers = opts
            .allowed_numbers
            .as_deref()
            .map(|allowed| NumberConstraint::new(allowed)?.with_anchors(&opts.number_anchors))
            .transpose()?;
        if numbers.is_some() && self.token_digits.is_none() {
            self.token_digits = Some(TokenDigits::new(&self.tokenizer));
        }
        let t0 = Instant::now();
        let ids = self.tokenizer.encode(prompt, self.tokenizer.adds_bos());
        let max = self.weights.config().context_length;
        if ids.len() + opts.max_new_tokens > max {
            return Err(GemmaError::ContextOverflow {
                needed: ids.len() + opts.max_new_tokens,
                max,
            });
        }
        let prompt_tokens = ids.len();
        let mut generation = Generation {
            text: String::new(),
            prompt_tokens,
            generated_tokens: 0,
            prompt_secs: 0.0,
            generate_secs: 0.0,
            time_to_first_token_secs: 0.0,
            stop_reason: StopReason::MaxTokens,
        };
        if opts.max_new_tokens == 0 {
            return Ok(generation);
        }
        self.cache.clear();
        let mut logits = self.prefill(&ids)?;
        generation.prompt_secs = t0.elapsed().as_secs_f64();

        let mut sampler = Sampler::new(opts.temperature, opts.top_p, opts.seed);
        let mut out: Vec<u32> = Vec::with_capacity(opts.max_new_tokens);
        let mut decode_started: Option<Instant> = None;
        // The text so far, for anchored numbers (decoded only when there are anchors).
        let mut written = String::new();
        loop {
            let mut scores = logits.flatten_all()?.to_vec1::<f32>()?;
            if let (Some(numbers), Some(tokens)) = (&mut numbers, &self.token_digits) {
                numbers.follow(&written);
                numbers.mask(tokens, &mut scores);
            }
            let next = sampler.sample(&scores)?;
            if let (Some(numbers), Some(tokens)) = (&mut numbers, &self.token_digits) {
                numbers.accept(tokens, next);
            }
            if out.is_empty() {
                generation.time_to_first_token_secs = t0.elapsed().as_secs_f64();
                decode_started = Some(Instant::now());
            }
            out.push(next);
            generation.generated_tokens += 1;
            if !opts.number_anchors.is_empty() {
                written = self.tokenizer.decode(&out);
            }
            if self.stop_ids.contains(&next) {
                generation.stop_reason = StopReason::EndOfText;
                out.pop();
                break;
            }
            if !opts.stop.is_empty() {
                let text = self.tokenizer.decode(&out);
                if let Some(cut) = earliest_stop(&text, &opts.stop) {
                    generation.text = text[..cut].to_string();
                    generation.stop_reason = StopReason::StopString;
                    break;
                }
            }
            if generation.generated_tokens >= opts.max_new_tokens {
                break;
            }
            let input = Tensor::new(&[[next]], &Device::Cpu)?;
            let hidden = self.weights.forward_hidden(&input, Some(&mut self.cache))?;
            logits = self
                .weights
                .logits(&hidden.i((0, 0))?.unsqueeze(0)?)?
                .squeeze(0)?;
        }
        generation.generate_secs = decode_started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        if generation.stop_reason != StopReason::StopString {
            generation.text = self.tokenizer.decode(&out);
        }
        Ok(generation)
    }

    /// Runs the prompt through the model (in chunks) and returns the logits `[vocab]` of its last position.
    fn prefill(&mut self, ids: &[u32]) -> Result<Tensor> {
        let mut last = None;
        for chunk in ids.chunks(PREFILL_CHUNK) {
            let input = Tensor::new(chunk, &Device::Cpu)?.unsqueeze(0)?;
            let hidden = self.weights.forward_hidden(&input, Some(&mut self.cache))?;
            last = Some(hidden.i((0, chunk.len() - 1))?);
        }
        let last = last.ok_or(GemmaError::EmptyInput("prompt has no tokens"))?;
        Ok(self.weights.logits(&last.unsqueeze(0)?)?.squeeze(0)?)
    }

    /// Perplexity of `text` (tokenized with `<bos>`): `exp` of the mean negative log-likelihood of every
    /// token after `<bos>` given the ones before it.
    pub fn perplexity(&mut self, text: &str) -> Result<f64> {
        let ids = self.tokenizer.encode(text, true);
        if ids.len() < 2 {
            return Err(GemmaError::EmptyInput("text has no tokens to score"));
        }
        let max = self.weights.config().context_length;
        if ids.len() > max {
            return Err(GemmaError::ContextOverflow {
                needed: ids.len(),
                max,
            });
        }
        self.cache.clear();
        let mut nll = 0f64;
        let mut scored = 0usize;
        for (c, chunk) in ids.chunks(PREFILL_CHUNK).enumerate() {
            let input = Tensor::new(chunk, &Device::Cpu)?.unsqueeze(0)?;
            let hidden = self
                .weights
                .forward_hidden(&input, Some(&mut self.cache))?
                .squeeze(0)?;
            let base = c * PREFILL_CHUNK;
            let mut row = 0;
            while row < chunk.len() {
                let rows = LOGIT_ROWS.min(chunk.len() - row);
                let logits = self.weights.logits(&hidden.narrow(0, row, rows)?)?;
                let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?.to_vec2::<f32>()?;
                for (r, lp) in logp.iter().enumerate() {
                    let target_pos = base + row + r + 1;
                    if let Some(&target) = ids.get(target_pos) {
                        nll -= f64::from(lp[target as usize]);
                        scored += 1;
                    }
                }
                row += rows;
            }
        }
        self.cache.clear();
        Ok((nll / scored as f64).exp())
    }
}

fn earliest_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
}

/// Greedy or temperature (+ nucleus) sampling with a small seeded generator.
struct Sampler {
    temperature: f64,
    top_p: f64,
    rng: SplitMix64,
}

impl Sampler {
    fn new(temperature: f64, top_p: f64, seed: u64) -> Self {
        Self {
            temperature,
            top_p,
            rng: SplitMix64(seed),
        }
    }

    fn sample(&mut self, logits: &[f32]) -> Result<u32> {
        if logits.is_empty() {
            return Err(GemmaError::EmptyInput("no logits"));
        }
        if self.temperature == 0.0 {
            return Ok(argmax(logits));
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(u32, f64)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, (f64::from(l - max) / self.temperature).exp()))
            .filter(|(_, p)| *p > 0.0)
            .collect();
        if probs.is_empty() {
            return Ok(argmax(logits));
        }
        if self.top_p < 1.0 {
            probs.sort_by(|a, b| b.1.total_cmp(&a.1));
            let total: f64 = probs.iter().map(|p| p.1).sum();
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (i, p) in probs.iter().enumerate() {
                acc += p.1 / total;
                if acc >= self.top_p {
                    keep = i + 1;
                    break;
                }
            }
            probs.truncate(keep);
        }
        let total: f64 = probs.iter().map(|p| p.1).sum();
        let mut u = self.rng.next_f64() * total;
        for &(id, p) in &probs {
            if u < p {
                return Ok(id);
            }
            u -= p;
        }
        Ok(probs[probs.len() - 1].0)
    }
}

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// SplitMix64: tiny, seedable, good enough for sampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_cut_at_earliest() {
        let stops = vec!["\n\n".to_string(), "END".to_string(), String::new()];
        assert_eq!(earliest_stop("abc END x\n\n", &stops), Some(4));
        assert_eq!(earliest_stop("abc", &stops), None);
    }

    #[test]
    fn sampler_is_seeded_and_greedy_at_zero() {
        let logits = [0.0f32, 2.0, 1.0, 1.5];
        let mut greedy = Sampler::new(0.0, 1.0, 1);
        assert_eq!(greedy.sample(&logits).expect("sample"), 1);
        let draw = |seed| {
            let mut s = Sampler::new(1.0, 0.9, seed);
            (0..20)
                .map(|_| s.sample(&logits).expect("sample"))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert!(draw(7).iter().all(|&t| t < 4));
    }
}
