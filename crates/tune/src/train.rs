//! Training loops: supervised fine-tuning (SFT) for a first adapter, and KTO on parents' 👍/👎.
//!
//! **SFT** minimises the mean negative log-likelihood of the completion tokens (prompt tokens are
//! context only), so the 270M base model learns to write its own recommendation instead of copying
//! the prompt's worked example.
//!
//! **KTO** (Ethayarajh et al., 2024, "KTO: Model Alignment as Prospect Theoretic Optimization") is
//! made for unpaired binary feedback, which is what a 👍/👎 button yields. With the implied reward
//! `r = log π(y|x) − log π_ref(y|x)` (summed over completion tokens) and a reference point `z`:
//! `loss = λ_D (1 − σ(β (r − z)))` for 👍 and `λ_U (1 − σ(β (z − r)))` for 👎, averaged over the
//! batch. Choices:
//! - `λ_D`, `λ_U` default to `n / (2 n_D)` and `n / (2 n_U)`, so both kinds of feedback carry the same
//!   total weight (`λ_D n_D = λ_U n_U`, inside the paper's recommended `[1, 4/3]` band): parents may
//!   press 👍 far more often than 👎.
//! - `z` is the paper's KL term, estimated here from the batch's own rewards (`max(0, mean r)`,
//!   detached) instead of from extra passes on mismatched prompt/completion pairs: those would double
//!   the cost of a step on a CPU. [`KlEstimate::Zero`] turns it off.
//! - The reference is frozen, so its log-probabilities are computed once for every example before
//!   the first step (no graph, no gradient) rather than in every step: per epoch after the first the
//!   reference costs nothing.
//!
//! Both use candle-nn's AdamW on the LoRA variables, a constant learning rate, seeded shuffling and
//! a seeded, stratified held-out split, so a run is reproducible.

use std::time::Instant;

use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::data::{Batch, Example, KtoExample, TokenizedExample};
use crate::error::{Result, TuneError};
use crate::model::{AdapterMode, TrainModel};

/// Options shared by SFT and KTO.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Passes over the training examples (default 3).
    pub epochs: usize,
    /// Stop after this many optimiser steps even mid-epoch (default none).
    pub max_steps: Option<usize>,
    /// Sequences per step (default 4).
    pub batch_size: usize,
    /// Positions per sequence; longer examples lose the start of their prompt (default 128).
    pub max_seq_len: usize,
    /// AdamW learning rate (default 2e-4, a usual LoRA rate).
    pub learning_rate: f64,
    /// AdamW decoupled weight decay (default 0: the adapter is small and starts at zero).
    pub weight_decay: f64,
    /// Seed of the held-out split and the shuffling (default 0).
    pub seed: u64,
    /// Share of each kind of example kept out of training for the before/after metrics (default 0.1).
    pub held_out_fraction: f64,
    /// End every completion with `<eos>` (default false: Sprout's writer stops at a blank line, which
    /// belongs in the completion text).
    pub append_eos: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 3,
            max_steps: None,
            batch_size: 4,
            max_seq_len: 128,
            learning_rate: 2e-4,
            weight_decay: 0.0,
            seed: 0,
            held_out_fraction: 0.1,
            append_eos: false,
        }
    }
}

impl TrainOptions {
    fn validate(&self) -> Result<()> {
        let bad = |name, reason: String| Err(TuneError::InvalidOption { name, reason });
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if self.max_seq_len < 2 {
            return bad("max_seq_len", "must be at least 2".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", format!("{} is not positive", self.learning_rate));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} is negative", self.weight_decay));
        }
        if !(0.0..1.0).contains(&self.held_out_fraction) {
            return bad(
                "held_out_fraction",
                format!("{} is not in [0, 1)", self.held_out_fraction),
            );
        }
        Ok(())
    }
}

/// How KTO's reference point `z` is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KlEstimate {
    /// `max(0, mean reward of the batch)`, detached (default).
    #[default]
    BatchMean,
    /// `z = 0`.
    Zero,
}

/// The frozen policy KTO's rewards are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// The base model without any adapter.
    Base,
    /// The model with the adapter it has when KTO starts (e.g. the SFT adapter).
    Initial,
}

/// KTO options.
#[derive(Debug, Clone, PartialEq)]
pub struct KtoOptions {
    pub train: TrainOptions,
    /// Reward scale β (default 0.1, the paper's).
    pub beta: f64,
    /// `λ_D`; `None` balances 👍 against 👎 (see the module docs).
    pub desirable_weight: Option<f64>,
    /// `λ_U`; `None` balances 👍 against 👎.
    pub undesirable_weight: Option<f64>,
    pub kl: KlEstimate,
}

impl Default for KtoOptions {
    fn default() -> Self {
        Self {
            train: TrainOptions {
                learning_rate: 1e-4,
                ..TrainOptions::default()
            },
            beta: 0.1,
            desirable_weight: None,
            undesirable_weight: None,
            kl: KlEstimate::default(),
        }
    }
}

/// Scores of one kind of held-out completion (👍 or 👎).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassMetrics {
    pub examples: usize,
    pub tokens: usize,
    /// Mean log-likelihood per completion token.
    pub logp_per_token: f64,
    /// Mean log-likelihood per completion.
    pub logp_per_sequence: f64,
    /// Mean KTO reward `log π − log π_ref` per completion (KTO only).
    pub reward: Option<f64>,
}

/// Held-out metrics at one point of training.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HeldOutMetrics {
    pub desirable: Option<ClassMetrics>,
    pub undesirable: Option<ClassMetrics>,
}

impl HeldOutMetrics {
    /// Per-token log-likelihood of 👍 completions minus that of 👎 ones.
    pub fn logp_margin(&self) -> Option<f64> {
        Some(self.desirable?.logp_per_token - self.undesirable?.logp_per_token)
    }

    /// KTO reward margin: mean reward of 👍 completions minus that of 👎 ones.
    pub fn reward_margin(&self) -> Option<f64> {
        Some(self.desirable?.reward? - self.undesirable?.reward?)
    }
}

/// Which objective produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    Sft,
    Kto,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    pub objective: Objective,
    pub train_examples: usize,
    pub held_out_examples: usize,
    /// Loss of every optimiser step, in order.
    pub losses: Vec<f64>,
    /// Wall-clock seconds of every step (forward, backward, update).
    pub step_seconds: Vec<f64>,
    /// CPU seconds of the training thread in every step (Linux; empty elsewhere). On shared cores
    /// this is the stable measure: wall time also counts the time other processes held the core.
    pub step_cpu_seconds: Vec<f64>,
    /// Seconds spent on the one-off reference pass (KTO).
    pub reference_seconds: f64,
    /// CPU seconds of the reference pass (Linux).
    pub reference_cpu_seconds: Option<f64>,
    /// `(λ_D, λ_U)` used (KTO).
    pub weights: Option<(f64, f64)>,
    pub before: HeldOutMetrics,
    pub after: HeldOutMetrics,
    /// Peak resident memory of the process so far (Linux), in bytes.
    pub peak_rss_bytes: Option<u64>,
}

impl TrainReport {
    /// Mean of the first and last `n` losses (to say whether the loss fell).
    pub fn loss_trend(&self, n: usize) -> Option<(f64, f64)> {
        let n = n.min(self.losses.len());
        if n == 0 {
            return None;
        }
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        Some((
            mean(&self.losses[..n]),
            mean(&self.losses[self.losses.len() - n..]),
        ))
    }

    pub fn mean_step_seconds(&self) -> f64 {
        mean(&self.step_seconds)
    }

    pub fn mean_step_cpu_seconds(&self) -> f64 {
        mean(&self.step_cpu_seconds)
    }
}

/// Supervised fine-tuning of `model`'s adapter on `examples` (loss on completion tokens only).
pub fn sft(model: &mut TrainModel, examples: &[Example], opts: &TrainOptions) -> Result<TrainReport> {
    let tok = model.tokenizer().ok_or(TuneError::NoTokenizer)?;
    let tokenized = examples
        .iter()
        .map(|e| TokenizedExample::new(tok, &e.prompt, &e.completion, true, opts.append_eos))
        .collect::<Result<Vec<_>>>()?;
    sft_tokenized(model, &tokenized, opts)
}

/// [`sft`] on token ids.
pub fn sft_tokenized(
    model: &mut TrainModel,
    examples: &[TokenizedExample],
    opts: &TrainOptions,
) -> Result<TrainReport> {
    opts.validate()?;
    let examples: Vec<TokenizedExample> = examples.iter().map(|e| e.truncated(opts.max_seq_len)).collect();
    let (train, held) = split(&examples, opts.held_out_fraction, opts.seed);
    if train.is_empty() {
        return Err(TuneError::BadData("no training examples".into()));
    }
    let before = evaluate(model, &examples, &held, None, opts.batch_size)?;
    let mut report = TrainReport {
        objective: Objective::Sft,
        train_examples: train.len(),
        held_out_examples: held.len(),
        losses: Vec::new(),
        step_seconds: Vec::new(),
        step_cpu_seconds: Vec::new(),
        reference_seconds: 0.0,
        reference_cpu_seconds: None,
        weights: None,
        before,
        after: before,
        peak_rss_bytes: None,
    };
    run_steps(model, &examples, &train, opts, &mut report, |model, batch, _| {
        sft_loss(model, batch)
    })?;
    report.after = evaluate(model, &examples, &held, None, opts.batch_size)?;
    report.peak_rss_bytes = peak_rss_bytes();
    Ok(report)
}

/// KTO on parents' feedback, continuing from `model`'s current adapter, against `reference`.
pub fn kto(
    model: &mut TrainModel,
    examples: &[KtoExample],
    reference: Reference,
    opts: &KtoOptions,
) -> Result<TrainReport> {
    let tok = model.tokenizer().ok_or(TuneError::NoTokenizer)?;
    let tokenized = examples
        .iter()
        .map(|e| TokenizedExample::new(tok, &e.prompt, &e.completion, e.desirable, opts.train.append_eos))
        .collect::<Result<Vec<_>>>()?;
    kto_tokenized(model, &tokenized, reference, opts)
}

/// [`kto`] on token ids.
pub fn kto_tokenized(
    model: &mut TrainModel,
    examples: &[TokenizedExample],
    reference: Reference,
    opts: &KtoOptions,
) -> Result<TrainReport> {
    let t = &opts.train;
    t.validate()?;
    if !(opts.beta.is_finite() && opts.beta > 0.0) {
        return Err(TuneError::InvalidOption {
            name: "beta",
            reason: format!("{} is not positive", opts.beta),
        });
    }
    let examples: Vec<TokenizedExample> = examples.iter().map(|e| e.truncated(t.max_seq_len)).collect();
    let (train, held) = split(&examples, t.held_out_fraction, t.seed);
    let n_d = train.iter().filter(|&&i| examples[i].desirable).count();
    let n_u = train.len() - n_d;
    if train.is_empty() {
        return Err(TuneError::BadData("no training examples".into()));
    }
    let balanced = |n_class: usize| {
        if n_class == 0 {
            1.0
        } else {
            train.len() as f64 / (2.0 * n_class as f64)
        }
    };
    let lambda_d = opts.desirable_weight.unwrap_or_else(|| balanced(n_d));
    let lambda_u = opts.undesirable_weight.unwrap_or_else(|| balanced(n_u));

    // The reference is frozen: score every example once, before any update.
    let t0 = Instant::now();
    let cpu0 = thread_cpu_seconds();
    let mode = match reference {
        Reference::Base => AdapterMode::Off,
        Reference::Initial => AdapterMode::Frozen,
    };
    let all: Vec<usize> = (0..examples.len()).collect();
    let ref_logps: Vec<f64> = score(model, &examples, &all, mode, t.batch_size)?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let reference_seconds = t0.elapsed().as_secs_f64();
    let reference_cpu_seconds = cpu0.zip(thread_cpu_seconds()).map(|(a, b)| b - a);

    let before = evaluate(model, &examples, &held, Some(&ref_logps), t.batch_size)?;
    let mut report = TrainReport {
        objective: Objective::Kto,
        train_examples: train.len(),
        held_out_examples: held.len(),
        losses: Vec::new(),
        step_seconds: Vec::new(),
        step_cpu_seconds: Vec::new(),
        reference_seconds,
        reference_cpu_seconds,
        weights: Some((lambda_d, lambda_u)),
        before,
        after: before,
        peak_rss_bytes: None,
    };
    let (beta, kl) = (opts.beta, opts.kl);
    run_steps(model, &examples, &train, t, &mut report, |model, batch, idx| {
        let refs: Vec<f64> = idx.iter().map(|&i| ref_logps[i]).collect();
        let signs: Vec<f64> = idx
            .iter()
            .map(|&i| if examples[i].desirable { 1.0 } else { -1.0 })
            .collect();
        let lambdas: Vec<f64> = idx
            .iter()
            .map(|&i| if examples[i].desirable { lambda_d } else { lambda_u })
            .collect();
        kto_loss(model, batch, &refs, &signs, &lambdas, beta, kl)
    })?;
    report.after = evaluate(model, &examples, &held, Some(&ref_logps), t.batch_size)?;
    report.peak_rss_bytes = peak_rss_bytes();
    Ok(report)
}

/// Mean negative log-likelihood per completion token of a batch (differentiable in the adapter).
pub(crate) fn sft_loss(model: &TrainModel, batch: &Batch) -> Result<Tensor> {
    let sums = model.sequence_log_probs(batch, AdapterMode::Train)?;
    let tokens: usize = batch.token_counts.iter().sum();
    Ok((sums.sum_all()?.neg()? / tokens.max(1) as f64)?)
}

/// KTO loss of a batch given the reference log-probabilities, `±1` per example (👍/👎) and `λ`s.
pub(crate) fn kto_loss(
    model: &TrainModel,
    batch: &Batch,
    ref_logps: &[f64],
    signs: &[f64],
    lambdas: &[f64],
    beta: f64,
    kl: KlEstimate,
) -> Result<Tensor> {
    let dtype = model.dtype();
    let dev = model.device();
    let policy = model.sequence_log_probs(batch, AdapterMode::Train)?;
    let reference = Tensor::from_slice(ref_logps, ref_logps.len(), dev)?.to_dtype(dtype)?;
    let rewards = (policy - reference)?;
    let z = match kl {
        KlEstimate::Zero => 0.0,
        KlEstimate::BatchMean => rewards
            .detach()
            .to_dtype(candle_core::DType::F64)?
            .mean_all()?
            .to_scalar::<f64>()?
            .max(0.0),
    };
    let signs = Tensor::from_slice(signs, signs.len(), dev)?.to_dtype(dtype)?;
    let lambdas = Tensor::from_slice(lambdas, lambdas.len(), dev)?.to_dtype(dtype)?;
    // value = σ(± β (r − z)); loss = λ (1 − value) = λ σ(∓ β (r − z)).
    let arg = ((rewards - z)? * beta)?.mul(&signs)?;
    let one_minus_value = (arg.exp()? + 1.0)?.recip()?;
    Ok((lambdas * one_minus_value)?.mean_all()?)
}

/// The optimisation loop shared by SFT and KTO: seeded shuffling, batches, AdamW steps, timings.
fn run_steps(
    model: &mut TrainModel,
    examples: &[TokenizedExample],
    train: &[usize],
    opts: &TrainOptions,
    report: &mut TrainReport,
    loss_of: impl Fn(&TrainModel, &Batch, &[usize]) -> Result<Tensor>,
) -> Result<()> {
    let params = ParamsAdamW {
        lr: opts.learning_rate,
        weight_decay: opts.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut opt = AdamW::new(model.lora().vars(), params)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(1));
    let mut order = train.to_vec();
    'epochs: for _ in 0..opts.epochs {
        order.shuffle(&mut rng);
        for idx in order.chunks(opts.batch_size) {
            if opts.max_steps.is_some_and(|m| report.losses.len() >= m) {
                break 'epochs;
            }
            let t0 = Instant::now();
            let cpu0 = thread_cpu_seconds();
            let refs: Vec<&TokenizedExample> = idx.iter().map(|&i| &examples[i]).collect();
            let batch = Batch::new(&refs)?;
            let loss = loss_of(model, &batch, idx)?;
            let value = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
            if !value.is_finite() {
                return Err(TuneError::Diverged {
                    step: report.losses.len(),
                    loss: value,
                });
            }
            opt.backward_step(&loss)?;
            // On a GPU the update is queued, not done: wait for it, so the step's time is its own.
            model.device().synchronize()?;
            report.losses.push(value);
            report.step_seconds.push(t0.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (cpu0, thread_cpu_seconds()) {
                report.step_cpu_seconds.push(b - a);
            }
        }
    }
    Ok(())
}

/// `(sum of completion log-probs, completion tokens)` of `examples[idx]`, no gradient.
fn score(
    model: &TrainModel,
    examples: &[TokenizedExample],
    idx: &[usize],
    mode: AdapterMode,
    batch_size: usize,
) -> Result<Vec<(f64, usize)>> {
    let mut out = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(batch_size.max(1)) {
        let refs: Vec<&TokenizedExample> = chunk.iter().map(|&i| &examples[i]).collect();
        let batch = Batch::new(&refs)?;
        let sums = model
            .sequence_log_probs(&batch, mode)?
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?;
        out.extend(sums.into_iter().zip(batch.token_counts.iter().copied()));
    }
    Ok(out)
}

/// Held-out metrics with the adapter as it is now.
fn evaluate(
    model: &TrainModel,
    examples: &[TokenizedExample],
    held: &[usize],
    ref_logps: Option<&[f64]>,
    batch_size: usize,
) -> Result<HeldOutMetrics> {
    let scores = score(model, examples, held, AdapterMode::Frozen, batch_size)?;
    let class = |desirable: bool| -> Option<ClassMetrics> {
        let mut n = 0;
        let (mut tokens, mut sum, mut reward) = (0usize, 0f64, 0f64);
        for (&i, &(s, t)) in held.iter().zip(&scores) {
            if examples[i].desirable == desirable {
                n += 1;
                tokens += t;
                sum += s;
                if let Some(r) = ref_logps {
                    reward += s - r[i];
                }
            }
        }
        (n > 0).then(|| ClassMetrics {
            examples: n,
            tokens,
            logp_per_token: sum / tokens.max(1) as f64,
            logp_per_sequence: sum / n as f64,
            reward: ref_logps.map(|_| reward / n as f64),
        })
    };
    Ok(HeldOutMetrics {
        desirable: class(true),
        undesirable: class(false),
    })
}

/// Seeded, stratified split into (train, held-out) indices: each kind of feedback contributes its
/// share to the held-out set (at least one when it has two or more examples and the fraction is > 0).
pub(crate) fn split(examples: &[TokenizedExample], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for desirable in [true, false] {
        let mut idx: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].desirable == desirable)
            .collect();
        idx.shuffle(&mut rng);
        let mut k = (idx.len() as f64 * fraction).round() as usize;
        if fraction > 0.0 && idx.len() >= 2 {
            k = k.clamp(1, idx.len() - 1);
        }
        held.extend_from_slice(&idx[..k]);
        train.extend_from_slice(&idx[k..]);
    }
    train.sort_unstable();
    held.sort_unstable();
    (train, held)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on every mainstream Linux build).
const USER_HZ: f64 = 100.0;

/// CPU time (user + system) of the calling thread so far, from `/proc/thread-self/stat` (Linux).
/// Training runs on the calling thread (one thread by default), so this is the step's CPU cost.
pub fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name, which may itself contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// Peak resident set size of this process (`VmHWM`), on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
