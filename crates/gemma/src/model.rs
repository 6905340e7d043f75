//! Gemma 3 transformer forward pass on candle: embeddings, 18 attention/feed-forward blocks, tied output.
//!
//! Layout of one block (pre- and post-norms around both sub-blocks, as in Gemma 2/3):
//! ```text
//! x += post_attention_norm(attention(attn_norm(x)))
//! x += post_ffw_norm(down(gelu_tanh(gate(ffn_norm(x))) * up(ffn_norm(x))))
//! ```
//! Attention: grouped-query (4 query heads share 1 key/value head of size 256 on the 270M model), RMS norms
//! on queries and keys per head, rotary embeddings (rotate-half form) with base 10 000 on local layers and
//! 1 000 000 on global ones, sliding window of 512 positions on local layers, every 6th layer global.
//! GGUF norm weights already include Gemma's `1 + w` offset (llama.cpp's converter adds it), so the norms
//! here are plain RMS norms.

use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::kv_cache::KvCache;

use crate::error::{GemmaError, Result};
use crate::gguf::{has_tiled_kernel, Config, Gguf};
use crate::int8::{PackedQ8, QuantizedRows};

/// A trainable low-rank (or any other) correction added to a frozen projection's output:
/// `y = W x + adapter.delta(x)`. This is the hook for LoRA on the attention projections.
pub trait LinearAdapter: Send + Sync + std::fmt::Debug {
    /// The correction for input `x` (shape `[.., in_features]`), shaped `[.., out_features]`.
    fn delta(&self, x: &Tensor) -> candle_core::Result<Tensor>;
}

/// Rows (tokens) from which a projection without a tiled quantized kernel dequantizes its weight and runs
/// a dense f32 matmul instead. candle's generic quantized matmul is a row-by-column dot-product loop; for
/// a prompt, expanding the weight once and using the blocked f32 GEMM is faster from about 16 rows on
/// (measured, 128 rows: 0.46 s instead of 1.1 s of CPU for the 18 layers). The f32 copy lives only for
/// the duration of the call. Where candle's tiled int8 kernels apply they beat both (128 rows: 0.28 s).
const DENSE_MIN_ROWS: usize = 16;

/// How a projection's weight is held and multiplied.
#[derive(Debug, Clone)]
enum Weight {
    /// Q8_0 or Q5_0 (Q5_1/Q4_1 are converted to Q8_0 at load) repacked for [`PackedQ8::matmul`]; no
    /// other copy is kept.
    Packed(Arc<PackedQ8>),
    /// Any other type (Q4_K, Q6_K, f32), through candle's quantized matmul.
    Candle {
        /// The file's own weight: the dense path and the embedding read it.
        quantized: Arc<QTensor>,
        /// The quantized matmul; over a Q8_0 copy when the file's weight is Q5_0.
        matmul: QMatMul,
        /// Whether multi-row inputs go through a dense f32 matmul (no tiled kernel for this weight).
        dense_for_prompts: bool,
    },
}

/// A frozen quantized projection with an optional adapter.
///
/// Note for training: the quantized matmuls record no backward pass, so gradients do not flow
/// through them to `x`; the dense path (dequantized weight) does. A training loop over adapters in
/// several layers should turn on [`Gemma3::set_exact_prompts`].
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Weight,
    /// Force the dense f32 path for all multi-row inputs (see [`Gemma3::set_exact_prompts`]).
    exact_prompts: bool,
    in_features: usize,
    out_features: usize,
    adapter: Option<Arc<dyn LinearAdapter>>,
}

impl Linear {
    fn new(weight: QTensor, pack: bool) -> Result<Self> {
        let (out_features, in_features) = weight.shape().dims2()?;
        let weight = if pack && PackedQ8::supports(weight.dtype(), in_features) {
            Weight::Packed(Arc::new(PackedQ8::from_qtensor(&weight)?))
        } else {
            // candle has no SIMD kernel for Q5_0; a Q8_0 copy was measured faster (27 vs 20.6
            // generated tokens/s) at the price of rounding the weights again. The copy serves
            // the quantized matmul only: the dense path (prompts, exact prompts) and the
            // embedding read the file's own weights, so inference on a CPU without VNNI sees
            // the same f32 weights as training (the copy's rounding moved hidden states by 1%).
            let original = Arc::new(weight);
            let for_matmul = if original.dtype() == GgmlDType::Q5_0 {
                Arc::new(QTensor::quantize(
                    &original.dequantize(&Device::Cpu)?,
                    GgmlDType::Q8_0,
                )?)
            } else {
                original.clone()
            };
            let dense_for_prompts = !has_tiled_kernel(for_matmul.dtype(), in_features);
            Weight::Candle {
                matmul: QMatMul::from_arc(for_matmul)?,
                quantized: original,
                dense_for_prompts,
            }
        };
        Ok(Self::from_weight(weight, in_features, out_features))
    }

    fn from_weight(weight: Weight, in_features: usize, out_features: usize) -> Self {
        Self {
            weight,
            exact_prompts: false,
            in_features,
            out_features,
            adapter: None,
        }
    }

    /// Applies the projection (and the adapter, if any) to `x` of shape `[.., in_features]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.project(x)?;
        match &self.adapter {
            Some(adapter) => y + adapter.delta(x)?,
            None => Ok(y),
        }
    }

    /// `x W^T` without the adapter.
    fn project(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.elem_count() / self.in_features.max(1);
        let dense = rows >= DENSE_MIN_ROWS
            && (self.exact_prompts
                || matches!(
                    self.weight,
                    Weight::Candle {
                        dense_for_prompts: true,
                        ..
                    }
                ));
        if dense {
            return x
                .contiguous()?
                .broadcast_matmul(&self.dequantized(x.device())?.t()?);
        }
        self.project_quantized(x)
    }

    /// `x W^T` on the quantized weight, whatever the number of rows.
    fn project_quantized(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.elem_count() / self.in_features.max(1);
        match &self.weight {
            Weight::Packed(w) => {
                let mut dims = x.dims().to_vec();
                let xs = x.flatten_all()?.to_vec1::<f32>()?;
                let mut out = vec![0f32; rows * self.out_features];
                QuantizedRows::quantize(&xs, self.in_features)
                    .and_then(|q| w.matmul(&q, &mut out))
                    .map_err(candle_core::Error::wrap)?;
                if let Some(last) = dims.last_mut() {
                    *last = self.out_features;
                }
                Tensor::from_vec(out, dims, x.device())
            }
            Weight::Candle { matmul, .. } => matmul.forward(&x.contiguous()?),
        }
    }

    /// Rows of the weight for token ids `[batch, seq]`: `[batch, seq, in_features]` (the embedding
    /// lookup; ids must be checked against `out_features` first).
    fn embed(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        match &self.weight {
            Weight::Packed(w) => {
                let (b, seq) = ids.dims2()?;
                let device = ids.device().clone();
                let ids = ids.flatten_all()?.to_vec1::<u32>()?;
                let mut out = vec![0f32; ids.len() * self.in_features];
                for (&id, row) in ids.iter().zip(out.chunks_exact_mut(self.in_features)) {
                    w.dequantize_row(id as usize, row)
                        .map_err(candle_core::Error::wrap)?;
                }
                Tensor::from_vec(out, (b, seq, self.in_features), &device)
            }
            Weight::Candle { quantized, .. } => quantized.embedding(ids),
        }
    }

    /// The weight as a dense f32 `[out_features, in_features]` tensor, built for the duration of a call.
    fn dequantized(&self, device: &Device) -> candle_core::Result<Tensor> {
        match &self.weight {
            Weight::Packed(w) => Tensor::from_vec(
                w.dequantize().map_err(candle_core::Error::wrap)?,
                (self.out_features, self.in_features),
                device,
            ),
            Weight::Candle { quantized, .. } => quantized.dequantize(device),
        }
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Installs (or removes, with `None`) the adapter.
    pub fn set_adapter(&mut self, adapter: Option<Arc<dyn LinearAdapter>>) {
        self.adapter = adapter;
    }
}

/// The attention projections an adapter can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    Query,
    Key,
    Value,
    Output,
}

#[derive(Debug, Clone)]
struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    fn load(gguf: &mut Gguf, name: &str, len: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: gguf.vector(name, len)?,
            eps: eps as f32,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight, self.eps)
    }
}

#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
}

#[derive(Debug, Clone)]
struct FeedForward {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl FeedForward {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let gate = self.gate.forward(x)?;
        let up = self.up.forward(x)?;
        if gate.track_op() || up.track_op() {
            // Gemma uses GELU with the tanh approximation (`gelu_pytorch_tanh`); candle's `gelu` is that
            // one. Kept where gradients flow (the exact path).
            return self.down.forward(&(gate.gelu()? * up)?);
        }
        let dims = gate.dims().to_vec();
        let mut hidden = gate.flatten_all()?.to_vec1::<f32>()?;
        gelu_tanh_mul(&mut hidden, &up.flatten_all()?.to_vec1::<f32>()?);
        self.down.forward(&Tensor::from_vec(hidden, dims, x.device())?)
    }
}

/// `gate[i] = gelu_tanh(gate[i]) * up[i]`, the feed-forward's gating in one pass. candle's `gelu` calls
/// libm's `tanhf` per value (about 6% of decoding time on 2,048 values × 18 layers per token); here
/// `tanh(y) = 1 - 2 / (exp(2y) + 1)`, which saturates correctly at ±1 (exp overflowing to infinity or
/// vanishing) and differs from `tanhf` by about 1e-7.
fn gelu_tanh_mul(gate: &mut [f32], up: &[f32]) {
    const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;
    for (g, &u) in gate.iter_mut().zip(up) {
        let v = *g;
        let y = SQRT_TWO_OVER_PI * v * (1.0 + 0.044715 * v * v);
        let tanh = 1.0 - 2.0 / ((2.0 * y).exp() + 1.0);
        *g = 0.5 * v * (1.0 + tanh) * u;
    }
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: RmsNorm,
    attn: Attention,
    post_attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    ffn: FeedForward,
    post_ffn_norm: RmsNorm,
    local: bool,
}

/// Key/value cache for incremental decoding, one entry per layer, plus the number of cached positions.
#[derive(Debug, Clone)]
pub struct Cache {
    layers: Vec<KvCache>,
    len: usize,
}

impl Cache {
    /// Number of positions already processed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets all positions.
    pub fn clear(&mut self) {
        for layer in &mut self.layers {
            layer.reset();
        }
        self.len = 0;
    }
}

/// Cosine/sine tables for a run of positions, for one rotary base.
struct RopeTables {
    cos: Tensor,
    sin: Tensor,
}

/// Per-call attention context shared by all layers: rotary tables and masks for local/global layers.
struct Context {
    rope_local: RopeTables,
    rope_global: RopeTables,
    /// Additive masks `[seq, total]`; `None` when a single query needs no mask.
    mask_local: Option<Tensor>,
    mask_global: Option<Tensor>,
}

/// Gemma 3 weights and forward pass.
#[derive(Debug, Clone)]
pub struct Gemma3 {
    config: Config,
    /// The tied token embedding, also the output projection (one copy for both).
    embedding: Linear,
    embedding_scale: f64,
    blocks: Vec<Block>,
    final_norm: RmsNorm,
    vocab_size: usize,
    inv_freq_local: Vec<f32>,
    inv_freq_global: Vec<f32>,
    /// Linear position scaling of the global layers (1 when the file sets none).
    global_position_scale: f32,
}

impl Gemma3 {
    /// Loads all weights from an open GGUF file.
    pub fn load(gguf: &mut Gguf) -> Result<Self> {
        Self::load_with(gguf, true)
    }

    /// Loads all weights; with `pack_int8` (and a CPU with AVX-512 VNNI), Q8_0 and Q5_0 matrices are
    /// repacked for this crate's int8 kernels ([`crate::int8`]), otherwise they go through candle's
    /// quantized matmul.
    pub fn load_with(gguf: &mut Gguf, pack_int8: bool) -> Result<Self> {
        // Without AVX-512 VNNI only the portable reference loop would run the packed matrices, about
        // 10 times slower than the VNNI kernel and slower than candle's AVX2/NEON kernels.
        let pack_int8 = pack_int8 && crate::int8::has_vnni();
        let c = gguf.config().clone();
        let (h, hd, ff) = (c.hidden_size, c.head_dim, c.feed_forward_length);
        let eps = c.rms_norm_eps;
        let q_dim = c.head_count * hd;
        let kv_dim = c.head_count_kv * hd;

        let vocab = gguf
            .tensor_dims("token_embd.weight")?
            .first()
            .copied()
            .unwrap_or(0);
        // Streamed from the file straight into the packed layout: the 168 MB matrix is never held twice.
        let embedding = if pack_int8 && gguf.tensor_dtype("token_embd.weight")? == GgmlDType::Q8_0 {
            Linear::from_weight(
                Weight::Packed(Arc::new(gguf.packed_q8_0("token_embd.weight", vocab, h)?)),
                h,
                vocab,
            )
        } else {
            Linear::new(gguf.tensor("token_embd.weight", &[vocab, h])?, false)?
        };

        let mut blocks = Vec::with_capacity(c.block_count);
        for i in 0..c.block_count {
            let p = format!("blk.{i}");
            let mut lin = |name: &str, out: usize, inp: usize| -> Result<Linear> {
                Linear::new(
                    gguf.matrix(&format!("{p}.{name}.weight"), &[out, inp])?,
                    pack_int8,
                )
            };
            let (q, k, v, o) = (
                lin("attn_q", q_dim, h)?,
                lin("attn_k", kv_dim, h)?,
                lin("attn_v", kv_dim, h)?,
                lin("attn_output", h, q_dim)?,
            );
            let ffn = FeedForward {
                gate: lin("ffn_gate", ff, h)?,
                up: lin("ffn_up", ff, h)?,
                down: lin("ffn_down", h, ff)?,
            };
            let attn = Attention {
                q,
                k,
                v,
                o,
                q_norm: RmsNorm::load(gguf, &format!("{p}.attn_q_norm.weight"), hd, eps)?,
                k_norm: RmsNorm::load(gguf, &format!("{p}.attn_k_norm.weight"), hd, eps)?,
            };
            blocks.push(Block {
                attn_norm: RmsNorm::load(gguf, &format!("{p}.attn_norm.weight"), h, eps)?,
                attn,
                post_attn_norm: RmsNorm::load(gguf, &format!("{p}.post_attention_norm.weight"), h, eps)?,
                ffn_norm: RmsNorm::load(gguf, &format!("{p}.ffn_norm.weight"), h, eps)?,
                ffn,
                post_ffn_norm: RmsNorm::load(gguf, &format!("{p}.post_ffw_norm.weight"), h, eps)?,
                local: c.is_local(i),
            });
        }
        let final_norm = RmsNorm::load(gguf, "output_norm.weight", h, eps)?;
        let global_position_scale = gguf.rope_scaling_factor()?.map_or(1.0, |f| 1.0 / f);
        Ok(Self {
            inv_freq_local: inv_freq(c.rope_base_local, hd),
            inv_freq_global: inv_freq(c.rope_base_global, hd),
            global_position_scale,
            embedding_scale: (h as f64).sqrt(),
            config: c,
            embedding,
            vocab_size: vocab,
            blocks,
            final_norm,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs one token through the model so that candle repacks weights for its tiled kernels now
    /// rather than during the first generation.
    pub fn warm_up(&self) -> Result<()> {
        let mut cache = self.new_cache();
        let ids = Tensor::new(&[[0u32]], &Device::Cpu)?;
        let hidden = self.forward_hidden(&ids, Some(&mut cache))?;
        self.logits(&hidden.squeeze(0)?)?;
        Ok(())
    }

    /// Vocabulary size (rows of the embedding).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// An empty cache sized for this model.
    pub fn new_cache(&self) -> Cache {
        Cache {
            layers: (0..self.blocks.len()).map(|_| KvCache::new(2, 512)).collect(),
            len: 0,
        }
    }

    /// With `true`, every projection runs inputs of 16 rows or more (prompts, scored texts, training
    /// batches) through its dequantized f32 weight instead of candle's int8 kernels, which quantize the
    /// activations. Gemma's residual stream carries very large values (over 2000 from layer 3 on), so
    /// int8 activations lose precision: on one 48-token text the perplexity is 21.41 this way against
    /// 21.8-21.9 with the int8 kernels, and the two prompt paths can pick different tokens in close
    /// cases. Slower (a 128-token prompt: about 0.5 s instead of 0.3 s of CPU); needed for
    /// gradients, since candle's quantized matmul has no backward pass. Single-token decoding always uses
    /// the quantized kernels.
    pub fn set_exact_prompts(&mut self, exact: bool) {
        for block in &mut self.blocks {
            let a = &mut block.attn;
            let f = &mut block.ffn;
            for lin in [
                &mut a.q,
                &mut a.k,
                &mut a.v,
                &mut a.o,
                &mut f.gate,
                &mut f.up,
                &mut f.down,
            ] {
                lin.exact_prompts = exact;
            }
        }
    }

    /// Attaches `adapter` to projection `which` of layer `layer`.
    pub fn set_adapter(
        &mut self,
        layer: usize,
        which: Projection,
        adapter: Option<Arc<dyn LinearAdapter>>,
    ) -> Result<()> {
        let block = self
            .blocks
            .get_mut(layer)
            .ok_or_else(|| GemmaError::InvalidOption {
                name: "layer",
                reason: format!("layer {layer} does not exist"),
            })?;
        let lin = match which {
            Projection::Query => &mut block.attn.q,
            Projection::Key => &mut block.attn.k,
            Projection::Value => &mut block.attn.v,
            Projection::Output => &mut block.attn.o,
        };
        lin.set_adapter(adapter);
        Ok(())
    }

    /// Runs the blocks on token ids `[batch, seq]` (u32) and returns the final-normed hidden states
    /// `[batch, seq, hidden]`. With a cache, the ids continue the cached positions and the cache is
    /// extended; without one, the ids are a whole sequence starting at position 0 (the training path).
    pub fn forward_hidden(&self, ids: &Tensor, mut cache: Option<&mut Cache>) -> Result<Tensor> {
        let (_b, seq) = ids.dims2()?;
        if seq == 0 {
            return Err(GemmaError::EmptyInput("no tokens to run"));
        }
        if let Some(&bad) = ids
            .flatten_all()?
            .to_vec1::<u32>()?
            .iter()
            .find(|&&id| id as usize >= self.vocab_size)
        {
            return Err(GemmaError::InvalidOption {
                name: "ids",
                reason: format!("token id {bad} is outside the vocabulary of {}", self.vocab_size),
            });
        }
        let start = cache.as_ref().map_or(0, |c| c.len);
        let total = start + seq;
        if total > self.config.context_length {
            return Err(GemmaError::ContextOverflow {
                needed: total,
                max: self.config.context_length,
            });
        }
        let ctx = self.context(start, seq, ids.device())?;
        let x = self.embedding.embed(ids)?;
        let mut x = (x * self.embedding_scale)?;
        for (i, block) in self.blocks.iter().enumerate() {
            let kv = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            x = self.block_forward(block, &x, &ctx, start, kv)?;
        }
        if let Some(c) = cache {
            c.len = total;
        }
        Ok(self.final_norm.forward(&x)?)
    }

    /// Output logits `[.., vocab]` for final hidden states `[.., hidden]` (tied embedding).
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        // Never the dense path: expanding the 262,144-row matrix to f32 would take 671 MB.
        Ok(self.embedding.project_quantized(hidden)?)
    }

    fn context(&self, start: usize, seq: usize, device: &Device) -> Result<Context> {
        let hd = self.config.head_dim;
        let rope_local = rope_tables(&self.inv_freq_local, start, seq, 1.0, hd, device)?;
        let rope_global = rope_tables(
            &self.inv_freq_global,
            start,
            seq,
            self.global_position_scale,
            hd,
            device,
        )?;
        let (mask_local, mask_global) = if seq == 1 {
            (None, None)
        } else {
            (
                Some(mask(start, seq, Some(self.config.sliding_window), device)?),
                Some(mask(start, seq, None, device)?),
            )
        };
        Ok(Context {
            rope_local,
            rope_global,
            mask_local,
            mask_global,
        })
    }

    fn block_forward(
        &self,
        block: &Block,
        x: &Tensor,
        ctx: &Context,
        start: usize,
        kv: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let h = block.attn_norm.forward(x)?;
        let h = self.attention(block, &h, ctx, start, kv)?;
        let x = (x + block.post_attn_norm.forward(&h)?)?;
        let h = block.ffn.forward(&block.ffn_norm.forward(&x)?)?;
        Ok((x + block.post_ffn_norm.forward(&h)?)?)
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        ctx: &Context,
        start: usize,
        kv: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, seq, _) = x.dims3()?;
        let (nh, nkv, hd) = (c.head_count, c.head_count_kv, c.head_dim);
        let a = &block.attn;
        let q = a.q.forward(x)?.reshape((b, seq, nh, hd))?;
        let k = a.k.forward(x)?.reshape((b, seq, nkv, hd))?;
        let v = a.v.forward(x)?.reshape((b, seq, nkv, hd))?;
        let q = a.q_norm.forward(&q)?.transpose(1, 2)?.contiguous()?;
        let k = a.k_norm.forward(&k)?.transpose(1, 2)?.contiguous()?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let (rope, mask) = if block.local {
            (&ctx.rope_local, &ctx.mask_local)
        } else {
            (&ctx.rope_global, &ctx.mask_global)
        };
        let q = candle_nn::rotary_emb::rope(&q, &rope.cos, &rope.sin)?;
        let k = candle_nn::rotary_emb::rope(&k, &rope.cos, &rope.sin)?;
        let (k, v) = match kv {
            Some(cache) => cache.append(&k, &v)?,
            None => (k, v),
        };
        let total = start + seq;
        // A single query on a local layer only sees the last `sliding_window` positions: drop the rest
        // instead of masking them.
        let (k, v) = if block.local && seq == 1 && total > c.sliding_window {
            let from = total - c.sliding_window;
            (
                k.narrow(2, from, c.sliding_window)?,
                v.narrow(2, from, c.sliding_window)?,
            )
        } else {
            (k, v)
        };
        let keys = k.dim(2)?;
        // Grouped-query attention without copying keys: fold the query heads that share a key/value head
        // into the row dimension, [b, nkv, groups * seq, hd].
        let groups = nh / nkv;
        let scale = 1.0 / c.query_pre_attn_scalar.sqrt();
        let q = (q * scale)?.reshape((b, nkv, groups * seq, hd))?;
        let scores = q.matmul(&k.t()?)?;
        let scores = match mask {
            Some(m) => scores
                .reshape((b, nkv, groups, seq, keys))?
                .broadcast_add(m)?
                .reshape((b, nkv, groups * seq, keys))?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v.contiguous()?)?; // [b, nkv, groups * seq, hd]
        let out = out
            .reshape((b, nh, seq, hd))?
            .transpose(1, 2)?
            .reshape((b, seq, nh * hd))?;
        Ok(a.o.forward(&out)?)
    }
}

/// Rotary inverse frequencies for one base (computed in f64, stored as f32). Public so the
/// training forward (`sprout-tune`) uses exactly the tables inference uses.
pub fn inv_freq(base: f32, head_dim: usize) -> Vec<f32> {
    (0..head_dim)
        .step_by(2)
        .map(|i| (1.0 / f64::from(base).powf(i as f64 / head_dim as f64)) as f32)
        .collect()
}

/// Rotary tables for positions `start..start + seq` only.
fn rope_tables(
    inv_freq: &[f32],
    start: usize,
    seq: usize,
    position_scale: f32,
    head_dim: usize,
    device: &Device,
) -> Result<RopeTables> {
    let half = head_dim / 2;
    let (cos, sin) = rotary_angles(inv_freq, start, seq, position_scale);
    Ok(RopeTables {
        cos: Tensor::from_vec(cos, (seq, half), device)?,
        sin: Tensor::from_vec(sin, (seq, half), device)?,
    })
}

/// Cosines and sines `[seq, inv_freq.len()]`, row-major, for positions `start..start + seq`
/// scaled by `position_scale` (f32 arithmetic, as llama.cpp does).
pub fn rotary_angles(
    inv_freq: &[f32],
    start: usize,
    seq: usize,
    position_scale: f32,
) -> (Vec<f32>, Vec<f32>) {
    let mut cos = Vec::with_capacity(seq * inv_freq.len());
    let mut sin = Vec::with_capacity(seq * inv_freq.len());
    for pos in start..start + seq {
        let p = pos as f32 * position_scale;
        for &f in inv_freq {
            let angle = p * f;
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    (cos, sin)
}

/// Additive causal mask `[seq, start + seq]` (0 where allowed, -inf elsewhere). With a window, query
/// position `i` sees key position `j` only when `i - window < j <= i`.
fn mask(start: usize, seq: usize, window: Option<usize>, device: &Device) -> Result<Tensor> {
    let m = causal_mask(start, seq, window);
    Ok(Tensor::from_vec(m, (seq, start + seq), device)?.to_dtype(DType::F32)?)
}

/// The values of that mask, `[seq, start + seq]` row-major.
pub fn causal_mask(start: usize, seq: usize, window: Option<usize>) -> Vec<f32> {
    let total = start + seq;
    let mut m = vec![0f32; seq * total];
    for r in 0..seq {
        let i = start + r;
        for j in 0..total {
            let blocked = j > i || window.is_some_and(|w| i - j >= w);
            if blocked {
                m[r * total + j] = f32::NEG_INFINITY;
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_mask_matches_window() {
        let m = mask(0, 5, Some(2), &Device::Cpu)
            .and_then(|t| Ok(t.to_vec2::<f32>()?))
            .expect("mask");
        let allowed: Vec<Vec<bool>> = m
            .iter()
            .map(|r| r.iter().map(|v| v.is_finite()).collect())
            .collect();
        assert_eq!(allowed[0], vec![true, false, false, false, false]);
        assert_eq!(allowed[3], vec![false, false, true, true, false]);
        let m = mask(3, 2, None, &Device::Cpu)
            .and_then(|t| Ok(t.to_vec2::<f32>()?))
            .expect("mask");
        assert_eq!(m[0].iter().filter(|v| v.is_finite()).count(), 4);
        assert_eq!(m[1].iter().filter(|v| v.is_finite()).count(), 5);
    }

    #[test]
    fn fused_gelu_matches_candle() {
        let x: Vec<f32> = (-400..400).map(|i| i as f32 * 0.05).collect();
        let up: Vec<f32> = x.iter().map(|v| 1.0 - v * 0.1).collect();
        let reference = Tensor::new(x.as_slice(), &Device::Cpu)
            .and_then(|t| t.gelu()? * Tensor::new(up.as_slice(), &Device::Cpu)?)
            .and_then(|t| t.to_vec1::<f32>())
            .expect("candle gelu");
        let mut fused = x.clone();
        gelu_tanh_mul(&mut fused, &up);
        for (f, r) in fused.iter().zip(&reference) {
            assert!((f - r).abs() <= 1e-6 * r.abs().max(1.0), "{f} vs {r}");
        }
    }

    #[test]
    fn rope_tables_start_at_offset() {
        let f = inv_freq(10_000.0, 8);
        let t = rope_tables(&f, 3, 2, 1.0, 8, &Device::Cpu).expect("tables");
        let cos = t.cos.to_vec2::<f32>().expect("vec");
        assert!((cos[0][0] - 3f32.cos()).abs() < 1e-6);
        assert!((cos[1][0] - 4f32.cos()).abs() < 1e-6);
    }
}
