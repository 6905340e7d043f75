//! [`MiniLm`]: a sentence-transformers BERT model directory (all-MiniLM-L6-v2 by default) as an
//! [`Embedder`]: files read, tokenizer built, batches padded, encoder run, token states pooled and normalised.
//!
//! The directory layout is the sentence-transformers one:
//!
//! | file | use |
//! | --- | --- |
//! | `config.json` | encoder shape (hidden size, layers, heads, activation, …) — required |
//! | `vocab.txt` | WordPiece vocabulary — required |
//! | `model.safetensors` | weights (f32, f16 or bf16; computed in f32) — required |
//! | `tokenizer_config.json` | `do_lower_case`, `strip_accents`, `tokenize_chinese_chars` — optional |
//! | `sentence_bert_config.json` | `max_seq_length` (256 for all-MiniLM-L6-v2) — optional |
//! | `modules.json` | where the pooling module lives; a `Dense` module is refused — optional |
//! | `1_Pooling/config.json` | pooling mode: mean (MiniLM), CLS (BGE), max, mean/√len — optional, mean if absent |
//!
//! Vectors are always L2-normalised (sentence-transformers' `Normalize` module; for a model without it
//! this changes lengths, not cosines). [`Embedder::id`] is `<directory name>:<pooling>:<dimension>`, e.g.
//! `all-MiniLM-L6-v2:mean:384`.
//!
//! Other BERT-family sentence models with this layout (BGE-small, e5-small, paraphrase-MiniLM, …) load the
//! same way; sizes come from `config.json` and the pooling from the pooling config. Query/passage prefixes
//! some of them expect (`"query: "`, BGE's instruction) are the caller's business.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::bert::{BertConfig, BertEncoder};
use crate::error::EmbedError;
use crate::tokenizer::{NormalizerOptions, Tokenizer};
use crate::{l2_normalize, Embedder};

/// Texts encoded together, after sorting by length so that a batch holds texts of similar length.
/// Bounds the attention score buffer (batch × heads × len² floats: 50 MB at 256 tokens for MiniLM).
pub const DEFAULT_BATCH_SIZE: usize = 16;

/// Token limit when `sentence_bert_config.json` gives none (BERT's usual position table size).
const FALLBACK_MAX_TOKENS: usize = 512;

/// How the token states of a text become one vector (sentence-transformers' `Pooling` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Average of all token states, `[CLS]` and `[SEP]` included (all-MiniLM-L6-v2).
    Mean,
    /// The state of the `[CLS]` token (BGE).
    Cls,
    /// Element-wise maximum over tokens.
    Max,
    /// Sum of token states divided by √(token count).
    MeanSqrtLen,
}

impl Pooling {
    fn name(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::MeanSqrtLen => "mean_sqrt_len",
        }
    }
}

/// Options for [`MiniLm::load_with`]; the defaults follow the files in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Overrides the pooling read from the pooling config.
    pub pooling: Option<Pooling>,
    /// Overrides `max_seq_length` (tokens, `[CLS]` and `[SEP]` included; capped by the position table).
    pub max_tokens: Option<usize>,
    /// Texts per forward pass.
    pub batch_size: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            pooling: None,
            max_tokens: None,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// A BERT sentence-embedding model loaded from a directory; see the module documentation.
#[derive(Debug)]
pub struct MiniLm {
    id: String,
    tokenizer: Tokenizer,
    encoder: BertEncoder,
    config: BertConfig,
    pooling: Pooling,
    max_tokens: usize,
    batch_size: usize,
    load_secs: f64,
}

#[derive(Deserialize)]
struct TokenizerConfig {
    #[serde(default = "yes")]
    do_lower_case: bool,
    #[serde(default)]
    strip_accents: Option<bool>,
    #[serde(default = "yes")]
    tokenize_chinese_chars: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    #[serde(default)]
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

fn yes() -> bool {
    true
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, EmbedError> {
    let text = std::fs::read_to_string(path).map_err(|source| EmbedError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| EmbedError::Json {
        path: path.to_owned(),
        source,
    })
}

fn read_optional_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, EmbedError> {
    if path.is_file() {
        read_json(path).map(Some)
    } else {
        Ok(None)
    }
}

/// The pooling module's directory (from `modules.json`, else `1_Pooling`), refusing pipelines with modules
/// this crate does not implement.
fn pooling_dir(dir: &Path) -> Result<PathBuf, EmbedError> {
    let Some(modules) = read_optional_json::<Vec<ModuleEntry>>(&dir.join("modules.json"))? else {
        return Ok(dir.join("1_Pooling"));
    };
    let mut pooling = dir.join("1_Pooling");
    for m in &modules {
        let kind = m.kind.rsplit('.').next().unwrap_or_default();
        match kind {
            "Transformer" | "Normalize" => {}
            "Pooling" => pooling = dir.join(&m.path),
            other => {
                return Err(EmbedError::UnsupportedConfig(format!(
                    "sentence-transformers module {other:?} in modules.json"
                )))
            }
        }
    }
    Ok(pooling)
}

fn read_pooling(dir: &Path) -> Result<Pooling, EmbedError> {
    let path = pooling_dir(dir)?.join("config.json");
    let Some(c) = read_optional_json::<PoolingConfig>(&path)? else {
        return Ok(Pooling::Mean);
    };
    let modes = [
        (c.pooling_mode_mean_tokens, Pooling::Mean),
        (c.pooling_mode_cls_token, Pooling::Cls),
        (c.pooling_mode_max_tokens, Pooling::Max),
        (c.pooling_mode_mean_sqrt_len_tokens, Pooling::MeanSqrtLen),
    ];
    let chosen: Vec<Pooling> = modes.iter().filter(|(on, _)| *on).map(|(_, p)| *p).collect();
    match chosen.as_slice() {
        [one] => Ok(*one),
        [] => Err(EmbedError::UnsupportedConfig(format!(
            "{}: no pooling mode",
            path.display()
        ))),
        _ => Err(EmbedError::UnsupportedConfig(format!(
            "{}: several pooling modes (concatenated pooling is not supported)",
            path.display()
        ))),
    }
}

impl MiniLm {
    /// Loads the model in `dir` with default options. Reads files only; nothing is downloaded.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        Self::load_with(dir, &LoadOptions::default())
    }

    /// Loads the model in `dir`.
    pub fn load_with(dir: &Path, options: &LoadOptions) -> Result<Self, EmbedError> {
        crate::default_to_one_thread();
        let start = Instant::now();
        let config: BertConfig = read_json(&dir.join("config.json"))?;
        config.validate()?;

        let normalizer = match read_optional_json::<TokenizerConfig>(&dir.join("tokenizer_config.json"))? {
            Some(t) => NormalizerOptions {
                lowercase: t.do_lower_case,
                strip_accents: t.strip_accents.unwrap_or(t.do_lower_case),
                split_cjk: t.tokenize_chinese_chars,
            },
            None => NormalizerOptions::default(),
        };
        let tokenizer = Tokenizer::from_vocab_file(&dir.join("vocab.txt"), normalizer)?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(EmbedError::Vocab(format!(
                "vocab.txt has {} entries, the model {}",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }

        let st_max = read_optional_json::<SentenceBertConfig>(&dir.join("sentence_bert_config.json"))?
            .and_then(|c| c.max_seq_length);
        let max_tokens = options
            .max_tokens
            .or(st_max)
            .unwrap_or(FALLBACK_MAX_TOKENS)
            .clamp(2, config.max_position_embeddings);
        let pooling = match options.pooling {
            Some(p) => p,
            None => read_pooling(dir)?,
        };

        let weights_path = dir.join("model.safetensors");
        let weights_error = |reason: String| EmbedError::Weights {
            path: weights_path.clone(),
            reason,
        };
        if !weights_path.is_file() {
            return Err(EmbedError::Io {
                path: weights_path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load(&weights_path, &device)
            .map_err(|e| weights_error(e.to_string()))?;
        // Checkpoints saved from a task model (`BertForMaskedLM`, …) prefix the encoder with `bert.`.
        let prefixed = !tensors.contains_key("embeddings.word_embeddings.weight")
            && tensors.contains_key("bert.embeddings.word_embeddings.weight");
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let vb = if prefixed { vb.pp("bert") } else { vb };
        let encoder = BertEncoder::load(vb, &config).map_err(|e| weights_error(e.to_string()))?;

        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bert".into());
        let id = format!("{name}:{}:{}", pooling.name(), config.hidden_size);
        Ok(MiniLm {
            id,
            tokenizer,
            encoder,
            config,
            pooling,
            max_tokens,
            batch_size: options.batch_size.max(1),
            load_secs: start.elapsed().as_secs_f64(),
        })
    }

    /// The tokenizer (for inspecting ids).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The encoder configuration read from `config.json`.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Token limit per text, `[CLS]` and `[SEP]` included; longer texts are truncated.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Seconds [`MiniLm::load`] took.
    pub fn load_secs(&self) -> f64 {
        self.load_secs
    }

    /// Token ids of `text` as the model sees it (truncated to [`MiniLm::max_tokens`]).
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.max_tokens)
    }

    /// Embeds texts that are already tokenized (each a `[CLS] … [SEP]` id list no longer than the
    /// position table). One forward pass per call: the caller chooses the batch.
    pub fn embed_ids(&self, batch: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let len = batch.iter().map(Vec::len).max().unwrap_or(0);
        let shortest = batch.iter().map(Vec::len).min().unwrap_or(0);
        if shortest == 0 || len > self.config.max_position_embeddings {
            return Err(EmbedError::UnsupportedConfig(format!(
                "token sequences must have 1..={} ids, got {shortest}..={len}",
                self.config.max_position_embeddings
            )));
        }
        if let Some(bad) = batch
            .iter()
            .flatten()
            .find(|&&id| id as usize >= self.config.vocab_size)
        {
            return Err(EmbedError::Vocab(format!("token id {bad} out of range")));
        }
        let pad = self.tokenizer.pad_id();
        let mut ids = Vec::with_capacity(batch.len() * len);
        let mut lengths = Vec::with_capacity(batch.len());
        for row in batch {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(pad, len - row.len()));
            lengths.push(row.len());
        }
        let hidden = self.encoder.forward(&ids, &lengths, len)?;
        let states = hidden.flatten_all()?.to_vec1::<f32>()?;
        let h = self.encoder.hidden_size();
        Ok(lengths
            .iter()
            .enumerate()
            .map(|(b, &n)| {
                let rows = &states[b * len * h..(b * len + n) * h];
                let mut v = pool(self.pooling, rows, n, h);
                l2_normalize(&mut v);
                v
            })
            .collect())
    }
}

/// Pools `n` token states of width `h` (row-major in `rows`).
fn pool(pooling: Pooling, rows: &[f32], n: usize, h: usize) -> Vec<f32> {
    let tokens = rows.chunks_exact(h);
    match pooling {
        Pooling::Cls => rows[..h].to_vec(),
        Pooling::Max => tokens.fold(vec![f32::NEG_INFINITY; h], |mut acc, t| {
            acc.iter_mut().zip(t).for_each(|(a, &x)| *a = a.max(x));
            acc
        }),
        Pooling::Mean | Pooling::MeanSqrtLen => {
            let mut sum = tokens.fold(vec![0.0f32; h], |mut acc, t| {
                acc.iter_mut().zip(t).for_each(|(a, &x)| *a += x);
                acc
            });
            let divisor = if pooling == Pooling::Mean {
                n as f32
            } else {
                (n as f32).sqrt()
            };
            sum.iter_mut().for_each(|x| *x /= divisor);
            sum
        }
    }
}

impl Embedder for MiniLm {
    fn dim(&self) -> usize {
        self.config.hidden_size
    }

    fn id(&self) -> &str {
        &self.id
    }

    /// Tokenizes, sorts by length, runs batches of similar length and returns the vectors in input order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.token_ids(t)).collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| ids[i].clone()).collect();
            for (&i, v) in chunk.iter().zip(self.embed_ids(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}
