//! Reading the GGUF file: model hyper-parameters, tokenizer vocabulary and quantized weights.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

use crate::error::{GemmaError, Result};
use crate::int8::PackedQ8;

/// Gemma 3 hyper-parameters, read from the `gemma3.*` metadata keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub block_count: usize,
    pub hidden_size: usize,
    pub feed_forward_length: usize,
    pub head_count: usize,
    pub head_count_kv: usize,
    pub head_dim: usize,
    pub context_length: usize,
    pub rms_norm_eps: f64,
    /// Rotary base of the global (full attention) layers.
    pub rope_base_global: f32,
    /// Rotary base of the local (sliding window) layers.
    pub rope_base_local: f32,
    /// Attention window of the local layers, in positions.
    pub sliding_window: usize,
    /// Every `sliding_window_pattern`-th layer (1-based) is global; the others are local.
    pub sliding_window_pattern: usize,
    /// Queries are scaled by `1 / sqrt(query_pre_attn_scalar)`.
    pub query_pre_attn_scalar: f64,
}

/// Gemma 3's defaults for keys that llama.cpp's converter does not always write.
const DEFAULT_SLIDING_WINDOW_PATTERN: usize = 6;
const DEFAULT_ROPE_BASE_LOCAL: f32 = 10_000.0;
const DEFAULT_ROPE_BASE_GLOBAL: f32 = 1_000_000.0;

impl Config {
    /// Whether layer `layer` (0-based) attends only within the sliding window.
    pub fn is_local(&self, layer: usize) -> bool {
        !(layer + 1).is_multiple_of(self.sliding_window_pattern)
    }

    fn from_metadata(gguf: &Meta<'_>) -> Result<Self> {
        let arch = gguf.string("general.architecture")?;
        if arch != "gemma3" {
            return Err(GemmaError::UnsupportedArchitecture(arch.to_string()));
        }
        let head_count = gguf.usize("gemma3.attention.head_count")?;
        let head_dim = gguf.usize("gemma3.attention.key_length")?;
        let config = Self {
            block_count: gguf.usize("gemma3.block_count")?,
            hidden_size: gguf.usize("gemma3.embedding_length")?,
            feed_forward_length: gguf.usize("gemma3.feed_forward_length")?,
            head_count,
            head_count_kv: gguf.usize("gemma3.attention.head_count_kv")?,
            head_dim,
            context_length: gguf.usize("gemma3.context_length")?,
            rms_norm_eps: gguf.f64("gemma3.attention.layer_norm_rms_epsilon")?,
            rope_base_global: gguf
                .opt_f64("gemma3.rope.freq_base")?
                .map_or(DEFAULT_ROPE_BASE_GLOBAL, |v| v as f32),
            rope_base_local: gguf
                .opt_f64("gemma3.rope.local_freq_base")?
                .map_or(DEFAULT_ROPE_BASE_LOCAL, |v| v as f32),
            sliding_window: gguf.usize("gemma3.attention.sliding_window")?,
            sliding_window_pattern: gguf
                .opt_usize("gemma3.attention.sliding_window_pattern")?
                .or(gguf.opt_usize("gemma3.attention.sliding_window_type")?)
                .unwrap_or(DEFAULT_SLIDING_WINDOW_PATTERN),
            query_pre_attn_scalar: head_dim as f64,
        };
        let bad = |key: &str, reason: &str| GemmaError::BadMetadata {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        if config.head_count == 0
            || config.head_count_kv == 0
            || !config.head_count.is_multiple_of(config.head_count_kv)
        {
            return Err(bad("gemma3.attention.head_count_kv", "must divide head_count"));
        }
        if config.head_dim == 0 || !config.head_dim.is_multiple_of(2) {
            return Err(bad("gemma3.attention.key_length", "must be even and non-zero"));
        }
        if config.sliding_window_pattern == 0 {
            return Err(bad("gemma3.attention.sliding_window_pattern", "must be non-zero"));
        }
        if config.sliding_window == 0 || config.block_count == 0 || config.context_length == 0 {
            return Err(bad("gemma3.*", "sizes must be non-zero"));
        }
        Ok(config)
    }
}

/// An open GGUF file: parsed header plus a reader for tensor data.
pub struct Gguf {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
    pub(crate) config: Config,
}

impl std::fmt::Debug for Gguf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gguf")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish()
    }
}

impl Gguf {
    /// Opens `path` and parses the header (metadata and tensor directory) and the model configuration.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| GemmaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let content = Content::read(&mut reader).map_err(|e| GemmaError::InvalidGguf {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let config = Config::from_metadata(&Meta(&content.metadata))?;
        Ok(Self {
            path: path.to_path_buf(),
            content,
            reader,
            config,
        })
    }

    /// Typed access to the metadata key/value pairs.
    pub(crate) fn meta(&self) -> Meta<'_> {
        Meta(&self.content.metadata)
    }

    /// The model configuration read from the metadata.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Dimensions of tensor `name` (outermost first), from the tensor directory.
    pub(crate) fn tensor_dims(&self, name: &str) -> Result<Vec<usize>> {
        self.content
            .tensor_infos
            .get(name)
            .map(|i| i.shape.dims().to_vec())
            .ok_or_else(|| GemmaError::BadTensor {
                name: name.to_string(),
                reason: "missing".to_string(),
            })
    }

    /// Storage type of tensor `name`.
    pub(crate) fn tensor_dtype(&self, name: &str) -> Result<GgmlDType> {
        self.content
            .tensor_infos
            .get(name)
            .map(|i| i.ggml_dtype)
            .ok_or_else(|| GemmaError::BadTensor {
                name: name.to_string(),
                reason: "missing".to_string(),
            })
    }

    /// Linear rotary scaling factor of the global layers, if the file sets one.
    pub fn rope_scaling_factor(&self) -> Result<Option<f32>> {
        let meta = self.meta();
        let linear = match meta.value("gemma3.rope.scaling.type") {
            Ok(v) => v.to_string().map(|s| s == "linear").unwrap_or(false),
            Err(_) => true,
        };
        match meta.opt_f64("gemma3.rope.scaling.factor")? {
            Some(f) if linear && f > 0.0 && f != 1.0 => Ok(Some(f as f32)),
            _ => Ok(None),
        }
    }

    /// Reads tensor `name` and checks its shape (in candle's row-major order, outermost first).
    pub(crate) fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<QTensor> {
        let bad = |reason: String| GemmaError::BadTensor {
            name: name.to_string(),
            reason,
        };
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| bad("missing".to_string()))?;
        if info.shape.dims() != shape {
            return Err(bad(format!("shape {:?}, expected {shape:?}", info.shape.dims())));
        }
        info.read(&mut self.reader, self.content.tensor_data_offset, &Device::Cpu)
            .map_err(|e| bad(e.to_string()))
    }

    /// Reads a Q8_0 matrix `[rows, cols]` row by row straight into the packed int8 layout, so that
    /// the unpacked data is never held in memory beside the packed copy.
    pub(crate) fn packed_q8_0(&mut self, name: &str, rows: usize, cols: usize) -> Result<PackedQ8> {
        let bad = |reason: String| GemmaError::BadTensor {
            name: name.to_string(),
            reason,
        };
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| bad("missing".to_string()))?;
        if info.shape.dims() != [rows, cols] || info.ggml_dtype != GgmlDType::Q8_0 {
            return Err(bad(format!(
                "{:?} {:?}, expected Q8_0 [{rows}, {cols}]",
                info.ggml_dtype,
                info.shape.dims()
            )));
        }
        let start = self.content.tensor_data_offset.saturating_add(info.offset);
        let path = self.path.clone();
        let io = |source| GemmaError::Io {
            path: path.clone(),
            source,
        };
        self.reader.seek(SeekFrom::Start(start)).map_err(io)?;
        let reader = &mut self.reader;
        PackedQ8::from_gguf_rows(GgmlDType::Q8_0, rows, cols, |row| {
            reader.read_exact(row).map_err(io)
        })
    }

    /// Reads a quantized matrix for use in a matmul. Q5_1 and Q4_1 are converted to Q8_0 (candle has no
    /// SIMD kernel for them; the conversion is exact up to Q8_0 rounding of already 4/5-bit values).
    /// Q5_0 stays as it is: [`crate::int8`] multiplies it directly (the candle fallback converts it at
    /// load, see [`crate::model`]).
    pub(crate) fn matrix(&mut self, name: &str, shape: &[usize]) -> Result<QTensor> {
        let t = self.tensor(name, shape)?;
        let t = match t.dtype() {
            GgmlDType::Q5_1 | GgmlDType::Q4_1 => {
                let dense = t.dequantize(&Device::Cpu)?;
                QTensor::quantize(&dense, GgmlDType::Q8_0)?
            }
            _ => t,
        };
        Ok(t)
    }

    /// Reads tensor `name` in any storage type and expands it to a dense f32 tensor, shaped as in the
    /// file (outermost first). For training (`sprout-tune`), which differentiates through the weights
    /// and so cannot use candle's quantized matmuls; inference keeps the quantized copies.
    pub fn dequantized(&mut self, name: &str) -> Result<candle_core::Tensor> {
        let dims = self.tensor_dims(name)?;
        Ok(self.tensor(name, &dims)?.dequantize(&Device::Cpu)?)
    }

    /// Like [`Gguf::dequantized`], but for a projection matrix: the values [`crate::Gemma3`] actually
    /// multiplies by, i.e. after the Q5_1/Q4_1 → Q8_0 conversion done at load (Q5_0 is kept as it
    /// is). That conversion is not exact, so training on the file's own values would train a slightly
    /// different model from the one that runs.
    pub fn dequantized_matrix(&mut self, name: &str) -> Result<candle_core::Tensor> {
        let dims = self.tensor_dims(name)?;
        Ok(self.matrix(name, &dims)?.dequantize(&Device::Cpu)?)
    }

    /// Reads a small f32 vector (norm weights) as a dense tensor.
    pub(crate) fn vector(&mut self, name: &str, len: usize) -> Result<candle_core::Tensor> {
        let t = self.tensor(name, &[len])?;
        Ok(t.dequantize(&Device::Cpu)?)
    }
}

/// Whether candle has a tiled int8 dot-product (VNNI) kernel for Q8_0 on this CPU. It requires the
/// inner dimension to be a multiple of 256 (used only when the packed int8 kernels are turned off).
pub(crate) fn has_q8_0_tile_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vnni"))
            || std::is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether candle 0.11 runs multi-row matmuls on a weight of this type and inner dimension with its
/// tiled x86 kernels (Q4_K and Q6_K from AVX2 on, Q8_0 with VNNI; all need a multiple of 256 columns).
pub(crate) fn has_tiled_kernel(dtype: GgmlDType, inner: usize) -> bool {
    if !inner.is_multiple_of(256) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        match dtype {
            GgmlDType::Q4K | GgmlDType::Q6K => avx2,
            GgmlDType::Q8_0 => has_q8_0_tile_kernel(),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = dtype;
        false
    }
}

/// Typed accessors over the GGUF metadata.
pub(crate) struct Meta<'a>(&'a HashMap<String, Value>);

impl<'a> Meta<'a> {
    pub(crate) fn value(&self, key: &str) -> Result<&'a Value> {
        self.0
            .get(key)
            .ok_or_else(|| GemmaError::MissingMetadata(key.to_string()))
    }

    fn bad(key: &str, e: impl std::fmt::Display) -> GemmaError {
        GemmaError::BadMetadata {
            key: key.to_string(),
            reason: e.to_string(),
        }
    }

    pub(crate) fn string(&self, key: &str) -> Result<&'a str> {
        self.value(key)?
            .to_string()
            .map(String::as_str)
            .map_err(|e| Self::bad(key, e))
    }

    /// Reads an integer of any GGUF integer width.
    pub(crate) fn usize(&self, key: &str) -> Result<usize> {
        value_to_u64(self.value(key)?)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| Self::bad(key, "expected a non-negative integer"))
    }

    fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        if self.0.contains_key(key) {
            self.usize(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn f64(&self, key: &str) -> Result<f64> {
        value_to_f64(self.value(key)?).ok_or_else(|| Self::bad(key, "expected a number"))
    }

    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        if self.0.contains_key(key) {
            self.f64(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => v.to_bool().map(Some).map_err(|e| Self::bad(key, e)),
        }
    }

    pub(crate) fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => value_to_u64(v)
                .and_then(|v| u32::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| Self::bad(key, "expected a token id")),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<&'a Vec<Value>> {
        self.value(key)?.to_vec().map_err(|e| Self::bad(key, e))
    }
}

pub(crate) fn value_to_u64(v: &Value) -> Option<u64> {
    match v {
        Value::U8(x) => Some(u64::from(*x)),
        Value::U16(x) => Some(u64::from(*x)),
        Value::U32(x) => Some(u64::from(*x)),
        Value::U64(x) => Some(*x),
        Value::I8(x) => u64::try_from(*x).ok(),
        Value::I16(x) => u64::try_from(*x).ok(),
        Value::I32(x) => u64::try_from(*x).ok(),
        Value::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    }
}

pub(crate) fn value_to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::I8(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::I64(x) => Some(*x),
        other => value_to_u64(other).and_then(|x| i64::try_from(x).ok()),
    }
}

pub(crate) fn value_to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::F32(x) => Some(f64::from(*x)),
        Value::F64(x) => Some(*x),
        other => value_to_i64(other).map(|x| x as f64),
    }
}
