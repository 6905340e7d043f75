//! The BERT encoder forward pass on candle: embeddings, then self-attention / feed-forward layers with
//! post-layer-norm residuals, as in Hugging Face `BertModel` (without the pooler, which sentence models
//! do not use).

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

use crate::error::EmbedError;

/// The fields of a Hugging Face BERT `config.json` the forward pass needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
}

fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_hidden_act() -> String {
    "gelu".into()
}
fn default_position_embedding_type() -> String {
    "absolute".into()
}

/// The feed-forward activation named by `hidden_act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    /// `gelu`: the exact GELU, with the error function (BERT, MiniLM, BGE).
    GeluErf,
    /// `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`: the tanh approximation.
    GeluTanh,
    Relu,
}

impl BertConfig {
    /// Checks that the configuration describes a model this forward pass can run.
    pub fn validate(&self) -> Result<(), EmbedError> {
        let bad = |reason: String| Err(EmbedError::UnsupportedConfig(reason));
        if self.hidden_size.checked_rem(self.num_attention_heads) != Some(0) {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.position_embedding_type != "absolute" {
            return bad(format!(
                "position_embedding_type {:?} (only \"absolute\" is supported)",
                self.position_embedding_type
            ));
        }
        if self.type_vocab_size == 0 || self.max_position_embeddings == 0 {
            return bad("type_vocab_size and max_position_embeddings must be positive".into());
        }
        self.activation().map(|_| ())
    }

    fn activation(&self) -> Result<Activation, EmbedError> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(EmbedError::UnsupportedConfig(format!("hidden_act {other:?}"))),
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A BERT encoder with its weights.
pub struct BertEncoder {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    activation: Activation,
    device: Device,
}

impl std::fmt::Debug for BertEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEncoder")
            .field("layers", &self.layers.len())
            .field("heads", &self.heads)
            .field("hidden", &self.hidden)
            .finish()
    }
}

impl BertEncoder {
    /// Builds the encoder from Hugging Face tensor names (`embeddings.*`, `encoder.layer.N.*`), relative to
    /// `vb` (pass `vb.pp("bert")` for checkpoints saved from a `BertFor…` head model).
    pub fn load(vb: VarBuilder<'_>, config: &BertConfig) -> Result<Self, candle_core::Error> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let emb = vb.pp("embeddings");
        let word_embeddings = candle_nn::embedding(config.vocab_size, h, emb.pp("word_embeddings"))?;
        let position_embeddings =
            candle_nn::embedding(config.max_position_embeddings, h, emb.pp("position_embeddings"))?;
        let token_type_embeddings =
            candle_nn::embedding(config.type_vocab_size, h, emb.pp("token_type_embeddings"))?;
        let embeddings_norm = candle_nn::layer_norm(h, eps, emb.pp("LayerNorm"))?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let att = l.pp("attention");
                Ok(Layer {
                    query: candle_nn::linear(h, h, att.pp("self.query"))?,
                    key: candle_nn::linear(h, h, att.pp("self.key"))?,
                    value: candle_nn::linear(h, h, att.pp("self.value"))?,
                    attention_out: candle_nn::linear(h, h, att.pp("output.dense"))?,
                    attention_norm: candle_nn::layer_norm(h, eps, att.pp("output.LayerNorm"))?,
                    intermediate: candle_nn::linear(h, config.intermediate_size, l.pp("intermediate.dense"))?,
                    output: candle_nn::linear(config.intermediate_size, h, l.pp("output.dense"))?,
                    output_norm: candle_nn::layer_norm(h, eps, l.pp("output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, candle_core::Error>>()?;
        let activation = config
            .activation()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok(BertEncoder {
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embeddings_norm,
            layers,
            heads: config.num_attention_heads,
            head_dim: config.head_dim(),
            hidden: h,
            activation,
            device: vb.device().clone(),
        })
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Runs a padded batch. `ids` is `batch × len` (row-major), `lengths[b]` the number of real tokens in
    /// row `b` (the rest is padding, which no token attends to). All tokens have token type 0.
    /// Returns the last hidden states as a `(batch, len, hidden)` tensor.
    pub fn forward(&self, ids: &[u32], lengths: &[usize], len: usize) -> Result<Tensor, candle_core::Error> {
        let batch = lengths.len();
        let ids = Tensor::from_slice(ids, (batch, len), &self.device)?;
        let positions = Tensor::arange(0u32, len as u32, &self.device)?;
        let types = Tensor::zeros((1, 1), DType::U32, &self.device)?;
        let x = self
            .word_embeddings
            .forward(&ids)?
            .broadcast_add(&self.position_embeddings.forward(&positions)?)?
            .broadcast_add(&self.token_type_embeddings.forward(&types)?)?;
        let mut x = self
            .embeddings_norm
            .forward(&x)?
            .reshape((batch * len, self.hidden))?;

        // Additive attention mask over keys: 0 for real tokens, -inf for padding.
        let mask: Vec<f32> = lengths
            .iter()
            .flat_map(|&n| (0..len).map(move |j| if j < n { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (batch, 1, 1, len), &self.device)?;

        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &self.layers {
            let split_heads = |t: Tensor| {
                t.reshape((batch, len, self.heads, self.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = split_heads((layer.query.forward(&x)? * scale)?)?;
            let k = split_heads(layer.key.forward(&x)?)?;
            let v = split_heads(layer.value.forward(&x)?)?;
            let scores = q.matmul(&k.t()?)?.broadcast_add(&mask)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((batch * len, self.hidden))?;
            let attended = layer.attention_out.forward(&context)?;
            x = layer.attention_norm.forward(&(attended + &x)?)?;

            let inner = layer.intermediate.forward(&x)?;
            let inner = match self.activation {
                Activation::GeluErf => inner.gelu_erf()?,
                Activation::GeluTanh => inner.gelu()?,
                Activation::Relu => inner.relu()?,
            };
            let out = layer.output.forward(&inner)?;
            x = layer.output_norm.forward(&(out + &x)?)?;
        }
        x.reshape((batch, len, self.hidden))?.contiguous()
    }
}
