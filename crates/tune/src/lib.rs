//! LoRA fine-tuning of Sprout's local writer (Gemma 3 270M, GGUF) on CPU with candle.
//!
//! Two objectives, one adapter:
//! 1. **SFT** ([`sft`]) on good prompt → completion examples gives a first adapter, before any feedback
//!    exists, so the base model stops copying the prompt's worked example.
//! 2. **KTO** ([`kto`]) continues from it on parents' 👍/👎, which are unpaired binary labels, the case
//!    KTO was designed for; 👍 and 👎 are weighted so they balance.
//!
//! ```no_run
//! use sprout_tune::{apply, kto, sft, AdapterFile, Example, KtoExample, KtoOptions, LoraConfig,
//!     Reference, TrainModel, TrainOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gguf = std::path::Path::new("gemma-3-270m-q4_k_m.gguf");
//! let mut model = TrainModel::load(gguf, LoraConfig::default(), 0)?;
//! let good: Vec<Example> = vec![];
//! let sft_report = sft(&mut model, &good, &TrainOptions::default())?;
//! let feedback: Vec<KtoExample> = vec![];
//! let kto_report = kto(&mut model, &feedback, Reference::Initial, &KtoOptions::default())?;
//! let file = AdapterFile::from_lora(model.lora(), model.base().clone(), "sft + kto")?;
//! file.save(std::path::Path::new("adapters/v1"))?;
//! let mut writer = sprout_gemma::Model::load(gguf)?;
//! apply(writer.weights_mut(), &AdapterFile::load(std::path::Path::new("adapters/v1"))?)?;
//! # let _ = (sft_report, kto_report); Ok(()) }
//! ```
//!
//! # What was chosen, and why
//!
//! - **LoRA rank 8, alpha 16, on q/k/v/o of all 18 layers** ([`lora`]): 0.74 M trainable parameters,
//!   a 3 MB adapter; the frozen base stays shared with inference.
//! - **Dense f32 weights, dequantised once at load** ([`model`]): candle's quantized matmuls have no
//!   backward pass. The training forward is our own, composed of differentiable ops, and is tested to
//!   give the inference forward's logits (adapter at zero → identical to no adapter).
//! - **Two custom autograd ops** ([`ops`]): a frozen linear whose backward computes only the input
//!   gradient (candle's matmul would also compute a gradient for every frozen matrix: measured before
//!   as 29 s and 8.5 GB per 4×128 step instead of 13.7 s and 3.7 GB), and a chunked log-probability
//!   over the 262k-token vocabulary that computes its gradient in the same pass, so `[tokens × 262k]`
//!   logits never exist for a whole batch.
//! - **Loss on completion tokens only** ([`data`]): the prompt is context.
//! - **Reference log-probabilities computed once** (KTO, [`train`]): the reference is frozen.
//! - **One thread by default**, as in `sprout-gemma`: candle's spinning pools collapse on shared
//!   cores. Set `CANDLE_NUM_THREADS`/`RAYON_NUM_THREADS` before loading to choose otherwise.
//! - **Deterministic**: seeded adapter initialisation, split and shuffling (ChaCha8).
//! - **CPU by default; an NVIDIA GPU with the `cuda` feature** (off by default, it needs the CUDA
//!   toolkit to build): [`TrainModel::into_device`] moves a loaded model there, and training runs
//!   on the device its weights are on.
//!
//! Adapters are saved as safetensors plus a small JSON ([`adapter`]) and applied at inference through
//! `sprout_gemma::Gemma3::set_adapter` ([`apply`]).
//!
//! # Measured (`examples/bench.rs`, one thread, on this project's shared 2-core machine)
//!
//! | measure                                        | value           |
//! |------------------------------------------------|-----------------|
//! | load and dequantise                            | 1.2-6 s         |
//! | KTO step, 4 × 128 tokens (CPU time)            | 4.7-6.5 s       |
//! | reference pass, per sequence (CPU, once)       | 0.6 s           |
//! | KTO epoch over 100 items, 25 steps (CPU / wall) | 175 s / 210 s   |
//! | peak resident memory (after load / training)   | 1.1 / 3.5 GiB   |
//!
//! Wall time runs above CPU time whenever other jobs hold the cores (under a load average of 16 the
//! same epoch took 310 s of wall time for 165 s of CPU).
//!
//! On one NVIDIA H200 (`--features cuda`, built with `scripts/build-tune-cuda`; `bench --device
//! cuda --random 8 100`: the real shapes with random weights and random token ids with the real
//! mean completion length, since a step's cost does not depend on their values), in two runs: a KTO
//! step of 4 × 128 tokens took 0.11-0.12 s (median after the first), the reference pass 0.011 s per
//! sequence, the epoch over 100 items 3.7 s (25 steps and the 0.47 s reference pass), at a peak of
//! 4.5 GiB of GPU memory (CUDA context included). A step's arithmetic (about 0.3 TFLOP) would take
//! a few milliseconds on that card, so the time goes to launching many small kernels and host round
//! trips (an estimate; not profiled). The first run on a fresh machine spent 18 s more in its first
//! pass, which the second run (with the driver's kernel cache filled) did not: presumably the
//! driver compiling candle's PTX kernels.
#![forbid(unsafe_code)]

pub mod adapter;
pub mod data;
pub mod error;
pub mod lora;
pub mod model;
pub mod ops;
pub mod train;

#[cfg(test)]
mod tests;

pub use adapter::{apply, remove, sha256_file, Adapter, AdapterFile, AdapterMeta, BaseModel};
pub use data::{Batch, Example, KtoExample, TokenizedExample};
pub use error::{Result, TuneError};
pub use lora::{Lora, LoraConfig, LoraPair, TARGETS};
pub use model::{AdapterMode, TrainModel};
pub use sprout_gemma::default_to_one_thread;
pub use train::{
    kto, kto_tokenized, peak_rss_bytes, sft, sft_tokenized, thread_cpu_seconds, ClassMetrics, HeldOutMetrics,
    KlEstimate, KtoOptions, Objective, Reference, TrainOptions, TrainReport,
};
