//! Gemma 3 270M inference on CPU, in process, from a GGUF file, built on candle.
//!
//! Sprout's recommendation writer needs a small local language model. This crate loads
//! `gemma-3-270m-q4_k_m.gguf` (fetched by `scripts/fetch-model.sh`; nothing is downloaded at run time)
//! and offers greedy/temperature generation with stop strings, numbers constrained to a given list
//! ([`numbers`]), and perplexity scoring.
//!
//! ```no_run
//! use sprout_gemma::{GenerateOptions, Model};
//! let mut model = Model::load(std::path::Path::new("gemma-3-270m-q4_k_m.gguf"))?;
//! let out = model.generate("Tip for a calm bedtime:", &GenerateOptions::default())?;
//! println!("{}", out.text);
//! # Ok::<(), sprout_gemma::GemmaError>(())
//! ```
//!
//! # Choices, and what differs from candle-transformers' `quantized_gemma3`
//!
//! The forward pass is written here on candle-core/candle-nn instead of using
//! `candle_transformers::models::quantized_gemma3` (0.11), which is not usable for this model:
//! - **Activation.** That module gates the feed-forward with SiLU; Gemma 3 uses GELU with the tanh
//!   approximation. With SiLU the output degenerates (perplexity 26.1 instead of 11.6 on a fixed text).
//! - **Rotary tables.** That module builds cos/sin tables for 131,072 positions in every layer
//!   (11 s load, 3.3 GB). Here only the inverse frequencies are kept, one set per rotary base (local
//!   10 000, global 1 000 000, from the metadata when present), and each forward call computes the cos/sin
//!   rows for exactly the positions it processes, shared by all layers.
//! - **Sliding window.** Local layers see the last 512 positions (`i - j < 512`, as transformers and
//!   llama.cpp; candle-transformers lets 513 through and ignores the window for cached positions);
//!   single-token decoding narrows the keys instead of masking.
//! - **Grouped-query attention without copies.** The 4 query heads that share the single key/value head
//!   are folded into the row dimension of one matmul instead of repeating keys and values.
//! - **Pre-allocated key/value cache** (`candle_nn::kv_cache::KvCache`, grown 512 positions at a time)
//!   instead of concatenating the whole cache at every step.
//! - **Own int8 kernels for Q8_0 and Q5_0** ([`int8`]). Generating one token streams every weight once,
//!   so decoding is bound by weight bytes, 60% of them the tied 262,144 × 640 Q8_0 embedding. candle
//!   0.11 has no SIMD kernel for Q5_0 (the earlier answer was a Q8_0 copy: 1.06 instead of 0.69 bytes
//!   per weight, and the values rounded again), and its Q8_0 VNNI kernel needs 256-column multiples
//!   (the earlier answer was zero-padding 640 to 768 columns: 20% more bytes, plus a second repacked
//!   copy, ~700 MB resident). At load, Q8_0 and Q5_0 matrices are repacked into 16-row tiles for an
//!   AVX-512 VNNI matrix-vector product with activations quantized per 32 values (as llama.cpp does),
//!   with no padding and no second copy (~340 MB resident); the fifth Q5_0 bit is applied as a byte
//!   mask. A portable loop is the tested reference; CPUs without VNNI keep candle's kernels. The
//!   Q4_K/Q6_K projections (attention output, feed-forward down) stay on candle's kernels.
//!   [`LoadOptions::pack_int8`] turns this off for comparison (candle then gets Q8_0 copies of the Q5_0
//!   matrices).
//! - **Dense prompt pass where no tiled kernel applies.** candle's generic quantized matmul is a
//!   row-by-column dot-product loop. For 16 rows or more, a candle projection without a tiled kernel
//!   dequantizes its weight to f32 for the duration of the call and uses the blocked f32 GEMM instead.
//! - **Exact prompts on request.** The int8 kernels quantize activations; Gemma's residual stream
//!   carries values over 2000, so the small values lose precision (perplexity 21.8-21.9 against 21.4
//!   on the exact path on one text; differently shaped but equivalent passes can disagree on close
//!   tokens). [`LoadOptions::exact_prompts`] / [`Gemma3::set_exact_prompts`] run multi-row inputs on
//!   dequantized f32 weights instead: slower, unquantized, and differentiable (for training).
//! - **Tied embedding kept quantized.** The packed Q8_0 token embedding is used for row lookups and as
//!   the output projection (one copy, streamed from the file into the packed layout at load); it is
//!   never expanded to f32 (that would be 671 MB).
//! - **Warm-up at load.** One token is run at load so that candle's lazy weight repacking (of the
//!   Q4_K/Q6_K matrices) happens there rather than in the first generation.
//! - **Adapters.** Each attention projection is a [`Linear`] that can carry a [`LinearAdapter`]
//!   (`y = Wx + delta(x)`), the hook for LoRA fine-tuning ([`Gemma3::set_adapter`]);
//!   [`Gemma3::forward_hidden`] also runs without a cache for whole-sequence (training) use, and
//!   [`Gemma3::logits`] is separate so a loss can be computed on any rows.
//!
//! GGUF norm weights already include Gemma's `1 + w` offset (llama.cpp's converter adds it), so all
//! norms are plain RMS norms. The logits were checked against an independent f32 NumPy forward of the
//! same file (`scripts/reference_forward.py`): same top-5 next tokens, and on one 48-token text a
//! perplexity of 21.356 there against 21.41 on the exact path (whose output projection still quantizes
//! its input to int8); the int8 paths, which quantize activations as llama.cpp does, give 21.8-21.9.
//!
//! # Threads
//!
//! candle's quantized matmuls run on a busy-waiting barrier pool and its dense matmuls on rayon. When the
//! cores are shared with other work, spinning pools collapse; one thread per generation was measured as
//! the fast and stable choice. [`Model::load`] therefore sets `CANDLE_NUM_THREADS=1` and
//! `RAYON_NUM_THREADS=1` unless either is already set (set them before loading to use more threads;
//! candle reads them once).
//!
//! # Tokenizer
//!
//! Built from the GGUF vocabulary alone (see [`tokenizer`]): no `tokenizers` model file and no C code.
//! Its ids were checked against the SentencePiece library on 30 strings (unicode, digits, newlines,
//! runs of spaces and tabs, HTML tags, chat markers).
// Unsafe code is denied except in `int8`, whose SIMD kernels need it (the workspace forbids it
// elsewhere; see this crate's Cargo.toml).
#![deny(unsafe_code)]

pub mod error;
pub mod generate;
pub mod gguf;
pub mod int8;
pub mod model;
pub mod numbers;
pub mod tokenizer;

pub use error::{GemmaError, Result};
pub use generate::{GenerateOptions, Generation, LoadOptions, Model, StopReason};
pub use gguf::Config;
pub use model::{Cache, Gemma3, Linear, LinearAdapter, Projection};
pub use numbers::{NumberConstraint, TokenDigits};
pub use tokenizer::{TokenKind, Tokenizer};

/// Sets `CANDLE_NUM_THREADS` and `RAYON_NUM_THREADS` to 1 unless the caller set either. candle reads
/// them once, when its pools are first used, so this must run before any tensor work. The model and
/// its training (`sprout-tune`) run single-threaded by default: on shared 2-core machines candle's
/// busy-waiting pools were measured to collapse.
pub fn default_to_one_thread() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let set = |k: &str| std::env::var_os(k).is_some();
        if !set("CANDLE_NUM_THREADS") && !set("RAYON_NUM_THREADS") {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
            std::env::set_var("RAYON_NUM_THREADS", "1");
        }
    });
}
