//! The training forward pass: Gemma 3 on dense (dequantised) weights, built from differentiable ops.
//!
//! It mirrors `sprout_gemma::Gemma3`'s inference forward operation for operation (same rotary tables,
//! masks, grouped-query folding, scaling), with three substitutions that candle needs for gradients:
//! - candle-nn's fused RMS norm, softmax and rotary kernels have no backward pass, so they are composed
//!   from basic ops here (`x / sqrt(mean(x²) + eps) · w`; `exp(s − max) / Σ`; rotate-half by
//!   `narrow`/`cat`). GELU (tanh) is candle's own unary op, which has a backward.
//! - Every frozen projection is [`crate::ops::frozen_linear`], so no gradient is ever computed for the
//!   126 frozen matrices; the LoRA term `scale · (x Aᵀ) Bᵀ` is an ordinary graph over the variables.
//! - The output projection is never run over the whole vocabulary for the whole batch: only completion
//!   positions are scored, through [`crate::ops::token_log_probs`].
//!
//! All weights are dequantised to f32 at load (1.07 GB for the 270M model, of which the tied embedding
//! is 671 MB): the quantized matmuls have no backward pass, and dequantising per step would cost more
//! than it saves. Projections are taken as inference holds them (`Gguf::dequantized_matrix`: the
//! Q5_0 → Q8_0 conversion `sprout-gemma` does at load is not exact, and training on the file's own
//! values put hidden states up to 0.76 away from inference's). Equality with the inference forward
//! is tested: on the real model, hidden states within 2e-4 (of values up to 66) of
//! `Gemma3::forward_hidden` on its exact path, and a zero adapter gives identical logits.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use sprout_gemma::gguf::Gguf;
use sprout_gemma::model::{causal_mask, inv_freq, rotary_angles};
use sprout_gemma::{Config, Tokenizer};

use crate::adapter::BaseModel;
use crate::error::{Result, TuneError};
use crate::lora::{Lora, LoraConfig};
use crate::ops::{frozen_linear, token_log_probs};

/// How the adapter takes part in a forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterMode {
    /// Base model only (the frozen reference of KTO).
    Off,
    /// Adapter applied with its current values, no graph recorded (evaluation, reference passes).
    Frozen,
    /// Adapter applied and differentiable (training).
    Train,
}

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: Tensor,
    /// q, k, v, o in [`TARGETS`] order, `[out, in]`.
    proj: [Tensor; 4],
    q_norm: Tensor,
    k_norm: Tensor,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    gate: Tensor,
    up: Tensor,
    down: Tensor,
    post_ffn_norm: Tensor,
    local: bool,
}

/// Gemma 3 on dense weights, with a trainable LoRA adapter and (optionally) the tokenizer.
#[derive(Debug)]
pub struct TrainModel {
    config: Config,
    dtype: DType,
    /// `[vocab, hidden]`, used for the lookup and (tied) as the output projection.
    embedding: Tensor,
    layers: Vec<Layer>,
    final_norm: Tensor,
    inv_freq_local: Vec<f32>,
    inv_freq_global: Vec<f32>,
    global_position_scale: f32,
    tokenizer: Option<Tokenizer>,
    base: BaseModel,
    lora: Lora,
}

/// Weight names and shapes as in the GGUF file (outermost first).
fn weight_shapes(c: &Config, vocab: usize) -> Vec<(String, Vec<usize>)> {
    let (h, hd, ff) = (c.hidden_size, c.head_dim, c.feed_forward_length);
    let (q, kv) = (c.head_count * hd, c.head_count_kv * hd);
    let mut v = vec![
        ("token_embd.weight".to_string(), vec![vocab, h]),
        ("output_norm.weight".to_string(), vec![h]),
    ];
    for i in 0..c.block_count {
        let p = format!("blk.{i}");
        for (name, shape) in [
            ("attn_norm", vec![h]),
            ("attn_q", vec![q, h]),
            ("attn_k", vec![kv, h]),
            ("attn_v", vec![kv, h]),
            ("attn_output", vec![h, q]),
            ("attn_q_norm", vec![hd]),
            ("attn_k_norm", vec![hd]),
            ("post_attention_norm", vec![h]),
            ("ffn_norm", vec![h]),
            ("ffn_gate", vec![ff, h]),
            ("ffn_up", vec![ff, h]),
            ("ffn_down", vec![h, ff]),
            ("post_ffw_norm", vec![h]),
        ] {
            v.push((format!("{p}.{name}.weight"), shape));
        }
    }
    v
}

impl TrainModel {
    /// Loads and dequantises every weight of a Gemma 3 GGUF, reads its tokenizer, and starts a fresh
    /// adapter (`lora`, seeded by `seed`). Sets single-threaded candle unless the caller chose (see
    /// [`crate::default_to_one_thread`]).
    pub fn load(path: &Path, lora: LoraConfig, seed: u64) -> Result<Self> {
        crate::default_to_one_thread();
        let mut gguf = Gguf::open(path)?;
        let config = gguf.config().clone();
        let scale = gguf.rope_scaling_factor()?;
        let tokenizer = Tokenizer::from_gguf(path)?;
        let vocab = tokenizer.vocab_size();
        let mut weights = HashMap::new();
        for (name, shape) in weight_shapes(&config, vocab) {
            // Projections as inference holds them (some storage types are converted at load), so the
            // adapter is trained on the very model it will run with; embedding and norms as stored.
            let t = if shape.len() == 2 && name != "token_embd.weight" {
                gguf.dequantized_matrix(&name)?
            } else {
                gguf.dequantized(&name)?
            };
            weights.insert(name, t);
        }
        let base = BaseModel {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            sha256: None,
        };
        let mut model = Self::from_weights(config, weights, Some(tokenizer), lora, seed, DType::F32)?;
        model.global_position_scale = scale.map_or(1.0, |f| 1.0 / f);
        model.base = base;
        Ok(model)
    }

    /// A model of `config`'s shapes with a `vocab`-token tied embedding, on the CPU, filled with seeded
    /// random weights (matrices uniform in `±1/√in`, norm weights 1), without a tokenizer. What it
    /// writes means nothing: it serves to measure the time and memory of training where the model
    /// file is not at hand (neither depends on the weights' values).
    pub fn random(config: Config, vocab: usize, lora: LoraConfig, seed: u64) -> Result<Self> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut weights = HashMap::new();
        for (name, shape) in weight_shapes(&config, vocab) {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = match shape.as_slice() {
                &[_, inp] => {
                    let bound = 1.0 / (inp as f32).sqrt();
                    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
                }
                _ => vec![1.0; n],
            };
            weights.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
        }
        Self::from_weights(config, weights, None, lora, seed, DType::F32)
    }

    /// Builds the model from tensors named as in a Gemma 3 GGUF (norm weights including Gemma's `+1`,
    /// as llama.cpp's converter writes them). `dtype` is F32 for training; F64 serves the
    /// finite-difference gradient check. The vocabulary size is the embedding's row count.
    pub fn from_weights(
        config: Config,
        mut weights: HashMap<String, Tensor>,
        tokenizer: Option<Tokenizer>,
        lora: LoraConfig,
        seed: u64,
        dtype: DType,
    ) -> Result<Self> {
        crate::default_to_one_thread();
        let vocab = weights
            .get("token_embd.weight")
            .map(|t| t.dims().first().copied().unwrap_or(0))
            .ok_or_else(|| TuneError::BadWeight {
                name: "token_embd.weight".into(),
                reason: "missing".into(),
            })?;
        if let Some(t) = &tokenizer {
            if t.vocab_size() != vocab {
                return Err(TuneError::BadWeight {
                    name: "token_embd.weight".into(),
                    reason: format!("{vocab} rows for a vocabulary of {}", t.vocab_size()),
                });
            }
        }
        let mut take = |name: &str, shape: &[usize]| -> Result<Tensor> {
            let t = weights.remove(name).ok_or_else(|| TuneError::BadWeight {
                name: name.into(),
                reason: "missing".into(),
            })?;
            if t.dims() != shape {
                return Err(TuneError::BadWeight {
                    name: name.into(),
                    reason: format!("shape {:?}, expected {shape:?}", t.dims()),
                });
            }
            Ok(t.to_dtype(dtype)?.contiguous()?)
        };
        let shapes: HashMap<String, Vec<usize>> = weight_shapes(&config, vocab).into_iter().collect();
        let mut get = |name: String| -> Result<Tensor> {
            let shape = shapes.get(&name).cloned().unwrap_or_default();
            take(&name, &shape)
        };
        let embedding = get("token_embd.weight".into())?;
        let final_norm = get("output_norm.weight".into())?;
        let device = embedding.device().clone();
        let mut layers = Vec::with_capacity(config.block_count);
        for i in 0..config.block_count {
            let mut w = |n: &str| get(format!("blk.{i}.{n}.weight"));
            layers.push(Layer {
                attn_norm: w("attn_norm")?,
                proj: [w("attn_q")?, w("attn_k")?, w("attn_v")?, w("attn_output")?],
                q_norm: w("attn_q_norm")?,
                k_norm: w("attn_k_norm")?,
                post_attn_norm: w("post_attention_norm")?,
                ffn_norm: w("ffn_norm")?,
                gate: w("ffn_gate")?,
                up: w("ffn_up")?,
                down: w("ffn_down")?,
                post_ffn_norm: w("post_ffw_norm")?,
                local: config.is_local(i),
            });
        }
        let lora = Lora::new(lora, &config, dtype, seed)?.into_device(&device)?;
        Ok(Self {
            inv_freq_local: inv_freq(config.rope_base_local, config.head_dim),
            inv_freq_global: inv_freq(config.rope_base_global, config.head_dim),
            global_position_scale: 1.0,
            config,
            dtype,
            embedding,
            layers,
            final_norm,
            tokenizer,
            base: BaseModel {
                name: "in-memory".into(),
                sha256: None,
            },
            lora,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Where the weights live (the embedding's device; every weight is on it).
    pub fn device(&self) -> &Device {
        self.embedding.device()
    }

    /// Moves every weight and the adapter to `device` (e.g. a model loaded on the CPU to a GPU).
    pub fn into_device(mut self, device: &Device) -> Result<Self> {
        if self.device().same_device(device) {
            return Ok(self);
        }
        let mv = |t: &Tensor| t.to_device(device);
        self.embedding = mv(&self.embedding)?;
        self.final_norm = mv(&self.final_norm)?;
        for l in &mut self.layers {
            for p in &mut l.proj {
                *p = mv(p)?;
            }
            for t in [
                &mut l.attn_norm,
                &mut l.q_norm,
                &mut l.k_norm,
                &mut l.post_attn_norm,
                &mut l.ffn_norm,
                &mut l.gate,
                &mut l.up,
                &mut l.down,
                &mut l.post_ffn_norm,
            ] {
                *t = mv(t)?;
            }
        }
        self.lora = self.lora.into_device(device)?;
        Ok(self)
    }

    pub fn vocab_size(&self) -> usize {
        self.embedding.dims().first().copied().unwrap_or(0)
    }

    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        self.tokenizer.as_ref()
    }

    /// The base model this adapter is trained on (recorded in saved adapters).
    pub fn base(&self) -> &BaseModel {
        &self.base
    }

    /// Records the base model's identity, e.g. its sha256 ([`crate::adapter::sha256_file`]).
    pub fn set_base(&mut self, base: BaseModel) {
        self.base = base;
    }

    pub fn lora(&self) -> &Lora {
        &self.lora
    }

    /// Replaces the adapter (e.g. with one loaded to continue training). Its shapes must fit.
    pub fn set_lora(&mut self, lora: Lora) -> Result<()> {
        crate::adapter::AdapterFile::from_lora(&lora, self.base.clone(), "")?.check_fits(&self.config)?;
        self.lora = lora.into_device(self.embedding.device())?;
        Ok(())
    }

    /// The tied embedding `[vocab, hidden]` (the output projection).
    pub fn embedding(&self) -> &Tensor {
        &self.embedding
    }

    /// Final-normed hidden states `[batch, seq, hidden]` for token ids `[batch, seq]` (u32) starting at
    /// position 0.
    pub fn hidden(&self, ids: &Tensor, mode: AdapterMode) -> Result<Tensor> {
        let (b, seq) = ids.dims2()?;
        if seq == 0 || b == 0 {
            return Err(TuneError::BadData("no tokens to run".into()));
        }
        let vocab = self.vocab_size();
        if let Some(&bad) = ids
            .flatten_all()?
            .to_vec1::<u32>()?
            .iter()
            .find(|&&i| i as usize >= vocab)
        {
            return Err(TuneError::BadData(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        if seq > self.config.context_length {
            return Err(TuneError::BadData(format!(
                "{seq} positions, the model supports {}",
                self.config.context_length
            )));
        }
        let dev = self.device();
        let hd = self.config.head_dim;
        let rope_local = rope_tables(&self.inv_freq_local, seq, 1.0, hd, self.dtype, dev)?;
        let rope_global = rope_tables(
            &self.inv_freq_global,
            seq,
            self.global_position_scale,
            hd,
            self.dtype,
            dev,
        )?;
        let mask_local = mask(seq, Some(self.config.sliding_window), self.dtype, dev)?;
        let mask_global = mask(seq, None, self.dtype, dev)?;
        let h = self.config.hidden_size;
        let x = self
            .embedding
            .index_select(&ids.flatten_all()?.to_device(dev)?, 0)?
            .reshape((b, seq, h))?;
        // Gemma scales embeddings by sqrt(hidden), applied in f64 as the inference path does.
        let mut x = (x * (h as f64).sqrt())?;
        for (i, layer) in self.layers.iter().enumerate() {
            let (rope, mask) = if layer.local {
                (&rope_local, &mask_local)
            } else {
                (&rope_global, &mask_global)
            };
            x = self.block(i, layer, &x, rope, mask, mode)?;
        }
        rms_norm(&x, &self.final_norm, self.config.rms_norm_eps)
    }

    /// Full logits `[batch, seq, vocab]` (for tests and small vocabularies; training never builds them).
    pub fn logits(&self, ids: &Tensor, mode: AdapterMode) -> Result<Tensor> {
        let hidden = self.hidden(ids, mode)?;
        Ok(hidden.broadcast_matmul(&self.embedding.t()?)?)
    }

    /// `log p(target)` at selected rows of the flattened `[batch · seq]` positions: `rows[i]` is a
    /// position whose next token is `targets[i]`. Returns `[rows.len()]`, differentiable in
    /// [`AdapterMode::Train`].
    pub fn token_log_probs(
        &self,
        ids: &Tensor,
        rows: &[u32],
        targets: &[u32],
        mode: AdapterMode,
    ) -> Result<Tensor> {
        let hidden = self.hidden(ids, mode)?;
        let (b, seq, h) = hidden.dims3()?;
        let flat = hidden.reshape((b * seq, h))?;
        let idx = Tensor::from_slice(rows, rows.len(), self.device())?;
        let picked = flat.index_select(&idx, 0)?;
        Ok(token_log_probs(
            &picked,
            &self.embedding,
            targets,
            mode == AdapterMode::Train,
        )?)
    }

    fn lin(
        &self,
        x: &Tensor,
        w: &Tensor,
        layer: usize,
        target: Option<usize>,
        mode: AdapterMode,
    ) -> Result<Tensor> {
        let y = frozen_linear(x, w)?;
        let pair = match (mode, target) {
            (AdapterMode::Off, _) | (_, None) => return Ok(y),
            (_, Some(t)) => self.lora.pair(layer, t).ok_or_else(|| TuneError::InvalidOption {
                name: "lora",
                reason: format!("no adapter for layer {layer}"),
            })?,
        };
        let (a, b) = match mode {
            AdapterMode::Train => (pair.a().clone(), pair.b().clone()),
            _ => (pair.a().detach(), pair.b().detach()),
        };
        let inp = x.dim(D::Minus1)?;
        let rows = x.elem_count() / inp.max(1);
        let delta = x
            .reshape((rows, inp))?
            .matmul(&a.t()?)?
            .matmul(&b.t()?)?
            .reshape(y.shape())?;
        Ok((y + (delta * self.lora.config().scale())?)?)
    }

    fn block(
        &self,
        i: usize,
        l: &Layer,
        x: &Tensor,
        rope: &(Tensor, Tensor),
        mask: &Tensor,
        mode: AdapterMode,
    ) -> Result<Tensor> {
        let eps = self.config.rms_norm_eps;
        let h = rms_norm(x, &l.attn_norm, eps)?;
        let h = self.attention(i, l, &h, rope, mask, mode)?;
        let x = (x + rms_norm(&h, &l.post_attn_norm, eps)?)?;
        let h = rms_norm(&x, &l.ffn_norm, eps)?;
        let gate = self.lin(&h, &l.gate, i, None, mode)?.gelu()?;
        let up = self.lin(&h, &l.up, i, None, mode)?;
        let h = self.lin(&(gate * up)?, &l.down, i, None, mode)?;
        Ok((x + rms_norm(&h, &l.post_ffn_norm, eps)?)?)
    }

    fn attention(
        &self,
        i: usize,
        l: &Layer,
        x: &Tensor,
        rope: &(Tensor, Tensor),
        mask: &Tensor,
        mode: AdapterMode,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, seq, _) = x.dims3()?;
        let (nh, nkv, hd) = (c.head_count, c.head_count_kv, c.head_dim);
        let eps = c.rms_norm_eps;
        let q = self
            .lin(x, &l.proj[0], i, Some(0), mode)?
            .reshape((b, seq, nh, hd))?;
        let k = self
            .lin(x, &l.proj[1], i, Some(1), mode)?
            .reshape((b, seq, nkv, hd))?;
        let v = self
            .lin(x, &l.proj[2], i, Some(2), mode)?
            .reshape((b, seq, nkv, hd))?;
        let q = rms_norm(&q, &l.q_norm, eps)?.transpose(1, 2)?.contiguous()?;
        let k = rms_norm(&k, &l.k_norm, eps)?.transpose(1, 2)?.contiguous()?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let q = rotate(&q, rope)?;
        let k = rotate(&k, rope)?;
        // Grouped-query attention folded into rows, exactly as the inference forward does.
        let groups = nh / nkv;
        let scale = 1.0 / c.query_pre_attn_scalar.sqrt();
        let q = (q * scale)?.reshape((b, nkv, groups * seq, hd))?;
        let scores = q.matmul(&k.t()?)?;
        let scores = scores
            .reshape((b, nkv, groups, seq, seq))?
            .broadcast_add(mask)?
            .reshape((b, nkv, groups * seq, seq))?;
        let probs = softmax_last_dim(&scores)?;
        let out = probs.matmul(&v)?;
        let out = out
            .reshape((b, nh, seq, hd))?
            .transpose(1, 2)?
            .reshape((b, seq, nh * hd))?;
        self.lin(&out, &l.proj[3], i, Some(3), mode)
    }

    /// Sum of completion-token log-probabilities per sequence of a batch, and token counts.
    pub(crate) fn sequence_log_probs(&self, batch: &crate::data::Batch, mode: AdapterMode) -> Result<Tensor> {
        let logp = self.token_log_probs(&batch.ids, &batch.rows, &batch.targets, mode)?;
        // Segment sums as a (tiny) matmul with a 0/1 matrix: differentiable and one op.
        Ok(batch
            .segments
            .to_device(self.device())?
            .to_dtype(self.dtype)?
            .matmul(&logp.unsqueeze(1)?)?
            .squeeze(1)?)
    }
}

/// `x / sqrt(mean(x²) + eps) · w` over the last dimension, as candle-nn's fused kernel computes it.
fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    let denom = (ms + eps)?.sqrt()?;
    Ok(x.broadcast_div(&denom)?.broadcast_mul(w)?)
}

/// Softmax with the maximum subtracted (detached: the result does not depend on it).
fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let sum = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&sum)?)
}

/// Rotate-half rotary embedding of `x` `[b, heads, seq, hd]` with tables `[seq, hd / 2]`.
fn rotate(x: &Tensor, (cos, sin): &(Tensor, Tensor)) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let r1 = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let r2 = (x1.broadcast_mul(sin)? + x2.broadcast_mul(cos)?)?;
    Ok(Tensor::cat(&[r1, r2], D::Minus1)?)
}

/// Rotary tables for positions `0..seq`: the inference forward's angles, in the model's dtype.
fn rope_tables(
    inv_freq: &[f32],
    seq: usize,
    scale: f32,
    hd: usize,
    dtype: DType,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let half = hd / 2;
    let (cos, sin) = rotary_angles(inv_freq, 0, seq, scale);
    let dev = &Device::Cpu;
    Ok((
        Tensor::from_vec(cos, (seq, half), dev)?
            .to_dtype(dtype)?
            .to_device(device)?,
        Tensor::from_vec(sin, (seq, half), dev)?
            .to_dtype(dtype)?
            .to_device(device)?,
    ))
}

/// Additive causal mask `[seq, seq]`; with a window, position `i` sees `j` only when `i − w < j ≤ i`.
fn mask(seq: usize, window: Option<usize>, dtype: DType, device: &Device) -> Result<Tensor> {
    let m = causal_mask(0, seq, window);
    Ok(Tensor::from_vec(m, (seq, seq), &Device::Cpu)?
        .to_dtype(dtype)?
        .to_device(device)?)
}
