//! LoRA parameters for the attention projections: `W x + (alpha / rank) · B A x`.
//!
//! Chosen as the project asks: rank 8, alpha 16, on the query/key/value/output projections of every
//! layer. On Gemma 3 270M that is `8 · (640 + 1024) + 2 · 8 · (640 + 256) + 8 · (1024 + 640)` = 40,960
//! parameters per layer, 737,280 in all (2.9 MB in f32). `A` starts uniform in `±1/√in` (the
//! Kaiming-uniform bound PEFT uses) and `B` at zero, so a fresh adapter changes nothing and training
//! starts exactly at the base model. The random start is drawn from a seeded ChaCha generator, so the
//! same seed gives the same adapter on every machine.

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use sprout_gemma::{Config, Projection};

use crate::error::{Result, TuneError};

/// The projections LoRA is attached to, in the order adapters store them.
pub const TARGETS: [Projection; 4] = [
    Projection::Query,
    Projection::Key,
    Projection::Value,
    Projection::Output,
];

/// Default rank: the project's choice (about 0.74 M parameters on the 270M model).
pub const DEFAULT_RANK: usize = 8;
/// Default alpha: twice the rank, the usual LoRA setting (scale 2).
pub const DEFAULT_ALPHA: f64 = 16.0;

/// Shape of a LoRA adapter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoraConfig {
    pub rank: usize,
    pub alpha: f64,
    /// Dropout on the adapter's input. Only 0 is supported: with a few hundred feedback items and a
    /// few epochs over-fitting is limited by the step count, and dropout would need a seeded mask per
    /// projection per step.
    pub dropout: f64,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: DEFAULT_RANK,
            alpha: DEFAULT_ALPHA,
            dropout: 0.0,
        }
    }
}

impl LoraConfig {
    /// The factor applied to `B A x`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    pub fn validate(&self) -> Result<()> {
        if self.rank == 0 {
            return Err(TuneError::InvalidOption {
                name: "rank",
                reason: "must be at least 1".into(),
            });
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(TuneError::InvalidOption {
                name: "alpha",
                reason: format!("{} is not a positive number", self.alpha),
            });
        }
        if self.dropout != 0.0 {
            return Err(TuneError::InvalidOption {
                name: "dropout",
                reason: "only 0 is supported".into(),
            });
        }
        Ok(())
    }
}

/// The `(out_features, in_features)` of projection `which` in a model with this configuration.
pub fn projection_dims(config: &Config, which: Projection) -> (usize, usize) {
    let (h, q, kv) = (
        config.hidden_size,
        config.head_count * config.head_dim,
        config.head_count_kv * config.head_dim,
    );
    match which {
        Projection::Query => (q, h),
        Projection::Key | Projection::Value => (kv, h),
        Projection::Output => (h, q),
    }
}

/// The name of projection `which` in GGUF tensor names (and in adapter files).
pub fn projection_name(which: Projection) -> &'static str {
    match which {
        Projection::Query => "attn_q",
        Projection::Key => "attn_k",
        Projection::Value => "attn_v",
        Projection::Output => "attn_output",
    }
}

/// One projection's low-rank pair: `a` is `[rank, in]`, `b` is `[out, rank]`.
#[derive(Debug, Clone)]
pub struct LoraPair {
    pub(crate) a: Var,
    pub(crate) b: Var,
}

impl LoraPair {
    pub fn a(&self) -> &Tensor {
        self.a.as_tensor()
    }

    pub fn b(&self) -> &Tensor {
        self.b.as_tensor()
    }
}

/// Trainable LoRA parameters for every layer's q/k/v/o projections.
#[derive(Debug, Clone)]
pub struct Lora {
    config: LoraConfig,
    /// `layers[i][j]` adapts projection `TARGETS[j]` of layer `i`.
    layers: Vec<[LoraPair; 4]>,
}

impl Lora {
    /// A fresh adapter: `A` seeded uniform in `±1/√in`, `B` zero (so it starts as a no-op).
    pub fn new(config: LoraConfig, model: &Config, dtype: DType, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut layers = Vec::with_capacity(model.block_count);
        for _ in 0..model.block_count {
            let mut pair = |which: Projection| -> Result<LoraPair> {
                let (out, inp) = projection_dims(model, which);
                let bound = 1.0 / (inp as f64).sqrt();
                let a: Vec<f64> = (0..config.rank * inp)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                let a = Tensor::from_vec(a, (config.rank, inp), &Device::Cpu)?.to_dtype(dtype)?;
                let b = Tensor::zeros((out, config.rank), dtype, &Device::Cpu)?;
                Ok(LoraPair {
                    a: Var::from_tensor(&a)?,
                    b: Var::from_tensor(&b)?,
                })
            };
            layers.push([
                pair(TARGETS[0])?,
                pair(TARGETS[1])?,
                pair(TARGETS[2])?,
                pair(TARGETS[3])?,
            ]);
        }
        Ok(Self { config, layers })
    }

    /// Rebuilds trainable parameters from stored tensors (`layers[i][j]` = `(a, b)` of `TARGETS[j]`).
    pub(crate) fn from_tensors(config: LoraConfig, layers: Vec<[(Tensor, Tensor); 4]>) -> Result<Self> {
        config.validate()?;
        let layers = layers
            .into_iter()
            .map(|pairs| -> Result<[LoraPair; 4]> {
                let [p0, p1, p2, p3] = pairs;
                let mk = |(a, b): (Tensor, Tensor)| -> Result<LoraPair> {
                    Ok(LoraPair {
                        a: Var::from_tensor(&a)?,
                        b: Var::from_tensor(&b)?,
                    })
                };
                Ok([mk(p0)?, mk(p1)?, mk(p2)?, mk(p3)?])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { config, layers })
    }

    pub fn config(&self) -> &LoraConfig {
        &self.config
    }

    /// The same adapter with its variables on `device` (itself when they are there already).
    pub(crate) fn into_device(self, device: &Device) -> Result<Self> {
        let here = self.layers.first().map(|l| l[0].a.device().clone());
        if here.is_none_or(|d| d.same_device(device)) {
            return Ok(self);
        }
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let mv = |p: &LoraPair| -> Result<(Tensor, Tensor)> {
                    Ok((p.a().to_device(device)?, p.b().to_device(device)?))
                };
                Ok([mv(&l[0])?, mv(&l[1])?, mv(&l[2])?, mv(&l[3])?])
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_tensors(self.config, layers)
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The pair adapting projection `TARGETS[target]` of `layer`.
    pub fn pair(&self, layer: usize, target: usize) -> Option<&LoraPair> {
        self.layers.get(layer).and_then(|l| l.get(target))
    }

    /// Number of trainable scalars.
    pub fn num_parameters(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }

    /// All trainable variables (for the optimiser).
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|l| l.iter().flat_map(|p| [p.a.clone(), p.b.clone()]))
            .collect()
    }

    /// An independent copy (fresh variables with the same values), e.g. to keep as a reference.
    pub fn snapshot(&self) -> Result<Self> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let copy = |p: &LoraPair| -> Result<(Tensor, Tensor)> { Ok((p.a().copy()?, p.b().copy()?)) };
                Ok([copy(&l[0])?, copy(&l[1])?, copy(&l[2])?, copy(&l[3])?])
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_tensors(self.config, layers)
    }

    /// Fills every `B` with seeded values in `±bound` (tests: a zero `B` makes `A`'s gradient zero).
    #[cfg(test)]
    pub(crate) fn randomize_b(&self, bound: f64, seed: u64) -> Result<()> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for l in &self.layers {
            for p in l {
                let n = p.b.elem_count();
                let v: Vec<f64> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
                let t = Tensor::from_vec(v, p.b.shape(), &Device::Cpu)?.to_dtype(p.b.dtype())?;
                p.b.set(&t)?;
            }
        }
        Ok(())
    }
}
