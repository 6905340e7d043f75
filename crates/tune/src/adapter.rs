//! Trained adapters on disk and at inference.
//!
//! An adapter is a directory with two files: `adapter.safetensors` (the `A`/`B` matrices, f32, named
//! `blk.{layer}.{attn_q|attn_k|attn_v|attn_output}.lora_{a|b}` after the GGUF tensors they adapt) and
//! `adapter.json` (rank, alpha, layer count, and the base model's name and sha256, so an adapter is
//! never silently applied to another model). safetensors because candle reads and writes it natively
//! and it holds nothing but tensors. [`Adapter`] implements [`sprout_gemma::LinearAdapter`], and
//! [`apply`] installs a whole file on a [`Gemma3`] for generation.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};
use sprout_gemma::{Config, Gemma3, LinearAdapter};

use crate::error::{Result, TuneError};
use crate::lora::{projection_dims, projection_name, Lora, LoraConfig, TARGETS};

/// File names inside an adapter directory.
pub const WEIGHTS_FILE: &str = "adapter.safetensors";
pub const META_FILE: &str = "adapter.json";
/// Identifies the JSON description.
const FORMAT: &str = "sprout-lora";
const FORMAT_VERSION: u32 = 1;

/// The base model an adapter was trained on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseModel {
    /// File name (or any label) of the GGUF.
    pub name: String,
    /// sha256 of the GGUF file, hex, when known.
    pub sha256: Option<String>,
}

/// The JSON half of an adapter.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdapterMeta {
    pub format: String,
    pub version: u32,
    pub rank: usize,
    pub alpha: f64,
    pub layers: usize,
    /// GGUF names of the adapted projections.
    pub targets: Vec<String>,
    pub base: BaseModel,
    /// How it was trained (free text, e.g. "sft 3 epochs, then kto beta 0.1").
    #[serde(default)]
    pub notes: String,
}

/// An adapter in memory: description plus `(a, b)` per layer and target (f32).
#[derive(Debug, Clone)]
pub struct AdapterFile {
    pub meta: AdapterMeta,
    layers: Vec<[(Tensor, Tensor); 4]>,
}

fn tensor_name(layer: usize, target: usize, half: &str) -> String {
    format!("blk.{layer}.{}.lora_{half}", projection_name(TARGETS[target]))
}

impl AdapterFile {
    /// Captures the current values of `lora` (as f32).
    pub fn from_lora(lora: &Lora, base: BaseModel, notes: impl Into<String>) -> Result<Self> {
        let mut layers = Vec::with_capacity(lora.num_layers());
        for layer in 0..lora.num_layers() {
            let mut pairs = Vec::with_capacity(4);
            for target in 0..TARGETS.len() {
                let p = lora.pair(layer, target).ok_or_else(|| TuneError::InvalidOption {
                    name: "lora",
                    reason: format!("missing pair {layer}/{target}"),
                })?;
                let cpu = |t: &Tensor| t.to_dtype(DType::F32)?.to_device(&Device::Cpu);
                pairs.push((cpu(p.a())?, cpu(p.b())?));
            }
            let [p0, p1, p2, p3]: [(Tensor, Tensor); 4] =
                pairs.try_into().map_err(|_| TuneError::InvalidOption {
                    name: "lora",
                    reason: "expected four targets".into(),
                })?;
            layers.push([p0, p1, p2, p3]);
        }
        let c = lora.config();
        Ok(Self {
            meta: AdapterMeta {
                format: FORMAT.into(),
                version: FORMAT_VERSION,
                rank: c.rank,
                alpha: c.alpha,
                layers: layers.len(),
                targets: TARGETS.iter().map(|&t| projection_name(t).to_string()).collect(),
                base,
                notes: notes.into(),
            },
            layers,
        })
    }

    pub fn lora_config(&self) -> LoraConfig {
        LoraConfig {
            rank: self.meta.rank,
            alpha: self.meta.alpha,
            dropout: 0.0,
        }
    }

    /// Trainable parameters with this file's values (to continue training, e.g. KTO after SFT).
    pub fn to_lora(&self, dtype: DType) -> Result<Lora> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let conv = |(a, b): &(Tensor, Tensor)| -> Result<(Tensor, Tensor)> {
                    Ok((a.to_dtype(dtype)?, b.to_dtype(dtype)?))
                };
                Ok([conv(&l[0])?, conv(&l[1])?, conv(&l[2])?, conv(&l[3])?])
            })
            .collect::<Result<Vec<_>>>()?;
        Lora::from_tensors(self.lora_config(), layers)
    }

    /// `(a, b)` of `TARGETS[target]` in `layer`.
    pub fn pair(&self, layer: usize, target: usize) -> Option<&(Tensor, Tensor)> {
        self.layers.get(layer).and_then(|l| l.get(target))
    }

    /// Writes `dir/adapter.safetensors` and `dir/adapter.json` (creating `dir`).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let io = |path: PathBuf| move |source| TuneError::Io { path, source };
        std::fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
        let mut tensors = HashMap::new();
        for (layer, pairs) in self.layers.iter().enumerate() {
            for (target, (a, b)) in pairs.iter().enumerate() {
                tensors.insert(tensor_name(layer, target, "a"), a.clone());
                tensors.insert(tensor_name(layer, target, "b"), b.clone());
            }
        }
        candle_core::safetensors::save(&tensors, dir.join(WEIGHTS_FILE))?;
        let json = serde_json::to_string_pretty(&self.meta).map_err(|e| TuneError::BadAdapter {
            path: dir.join(META_FILE),
            reason: e.to_string(),
        })?;
        std::fs::write(dir.join(META_FILE), json).map_err(io(dir.join(META_FILE)))?;
        Ok(())
    }

    /// Reads an adapter directory written by [`AdapterFile::save`], checking names and shapes against
    /// its own description (use [`AdapterFile::check_fits`] against a model).
    pub fn load(dir: &Path) -> Result<Self> {
        let meta_path = dir.join(META_FILE);
        let bad = |reason: String| TuneError::BadAdapter {
            path: dir.to_path_buf(),
            reason,
        };
        let json = std::fs::read_to_string(&meta_path).map_err(|source| TuneError::Io {
            path: meta_path.clone(),
            source,
        })?;
        let meta: AdapterMeta = serde_json::from_str(&json).map_err(|e| bad(e.to_string()))?;
        if meta.format != FORMAT || meta.version != FORMAT_VERSION {
            return Err(bad(format!(
                "format {} v{} is not {FORMAT} v{FORMAT_VERSION}",
                meta.format, meta.version
            )));
        }
        let expected: Vec<String> = TARGETS.iter().map(|&t| projection_name(t).to_string()).collect();
        if meta.targets != expected {
            return Err(bad(format!("targets {:?}, expected {expected:?}", meta.targets)));
        }
        LoraConfig {
            rank: meta.rank,
            alpha: meta.alpha,
            dropout: 0.0,
        }
        .validate()?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let mut tensors = candle_core::safetensors::load(&weights_path, &Device::Cpu)?;
        let mut layers = Vec::with_capacity(meta.layers);
        for layer in 0..meta.layers {
            let mut take = |target: usize, half: &str| -> Result<Tensor> {
                let name = tensor_name(layer, target, half);
                let t = tensors
                    .remove(&name)
                    .ok_or_else(|| bad(format!("missing tensor {name}")))?;
                let (r, c) = t.dims2()?;
                let ok = if half == "a" {
                    r == meta.rank
                } else {
                    c == meta.rank
                };
                if !ok {
                    return Err(bad(format!("{name} is {r}x{c}, rank {}", meta.rank)));
                }
                Ok(t.to_dtype(DType::F32)?)
            };
            let mut pairs = Vec::with_capacity(4);
            for target in 0..TARGETS.len() {
                pairs.push((take(target, "a")?, take(target, "b")?));
            }
            let [p0, p1, p2, p3]: [(Tensor, Tensor); 4] = pairs
                .try_into()
                .map_err(|_| bad("expected four targets".into()))?;
            layers.push([p0, p1, p2, p3]);
        }
        if let Some(extra) = tensors.keys().next() {
            return Err(bad(format!("unexpected tensor {extra}")));
        }
        Ok(Self { meta, layers })
    }

    /// Checks that every matrix fits model `config` (layer count and projection sizes).
    pub fn check_fits(&self, config: &Config) -> Result<()> {
        let bad = |reason: String| TuneError::BadAdapter {
            path: PathBuf::from(&self.meta.base.name),
            reason,
        };
        if self.layers.len() != config.block_count {
            return Err(bad(format!(
                "{} layers, the model has {}",
                self.layers.len(),
                config.block_count
            )));
        }
        for (layer, pairs) in self.layers.iter().enumerate() {
            for (target, (a, b)) in pairs.iter().enumerate() {
                let (out, inp) = projection_dims(config, TARGETS[target]);
                if a.dims() != [self.meta.rank, inp] || b.dims() != [out, self.meta.rank] {
                    return Err(bad(format!(
                        "layer {layer} {}: a {:?}, b {:?}, expected [{}, {inp}] and [{out}, {}]",
                        projection_name(TARGETS[target]),
                        a.dims(),
                        b.dims(),
                        self.meta.rank,
                        self.meta.rank
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One projection's trained correction at inference: `delta(x) = scale · (x Aᵀ) Bᵀ`.
#[derive(Debug)]
pub struct Adapter {
    /// `Aᵀ`, `[in, rank]`, contiguous so the per-token matmul reads it in order.
    a_t: Tensor,
    /// `Bᵀ`, `[rank, out]`.
    b_t: Tensor,
    scale: f64,
}

impl Adapter {
    pub fn new(a: &Tensor, b: &Tensor, scale: f64) -> Result<Self> {
        Ok(Self {
            a_t: a.to_dtype(DType::F32)?.t()?.contiguous()?,
            b_t: b.to_dtype(DType::F32)?.t()?.contiguous()?,
            scale,
        })
    }
}

impl LinearAdapter for Adapter {
    fn delta(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.broadcast_matmul(&self.a_t)?.broadcast_matmul(&self.b_t)? * self.scale
    }
}

/// Installs `file` on every adapted projection of `model` (replacing any adapter there).
pub fn apply(model: &mut Gemma3, file: &AdapterFile) -> Result<()> {
    file.check_fits(model.config())?;
    let scale = file.lora_config().scale();
    for layer in 0..file.meta.layers {
        for (target, &which) in TARGETS.iter().enumerate() {
            if let Some((a, b)) = file.pair(layer, target) {
                let adapter: Arc<dyn LinearAdapter> = Arc::new(Adapter::new(a, b, scale)?);
                model.set_adapter(layer, which, Some(adapter))?;
            }
        }
    }
    Ok(())
}

/// Removes every adapter [`apply`] may have installed.
pub fn remove(model: &mut Gemma3) -> Result<()> {
    for layer in 0..model.config().block_count {
        for &which in &TARGETS {
            model.set_adapter(layer, which, None)?;
        }
    }
    Ok(())
}

/// sha256 of a file, hex (to record which GGUF an adapter belongs to).
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |source| TuneError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
