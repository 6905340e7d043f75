//! Sprout's Gemma 3 270M benchmark protocol (`crates/gemma/examples/bench.rs`) run on llama.cpp.
//!
//! ```text
//! sprout-bench-llama-cpp GGUF [--threads N] [--runs N] [--prompt-file PATH] [--max-new-tokens N] [--verbose]
//! ```
//!
//! Measured as Sprout's bench measures its own engine:
//! - **load**: backend initialisation, model load (llama.cpp's defaults: the file is memory-mapped),
//!   context creation and a one-token warm-up decode (Sprout's load also runs one token, so that lazy
//!   work such as page faults and weight repacking happens there rather than in the first generation);
//! - each run first processes the prompt alone (one token sampled; Sprout's bench does the same for its
//!   CPU-time figures), then generates 120 tokens greedily from an empty cache, stopping early only at an
//!   end-of-generation token, as Sprout does;
//! - **prompt tok/s**: prompt tokens (`<bos>` included) / (tokenization + prompt decode);
//! - **TTFT**: from the start of the call to the first sampled token;
//! - **gen tok/s**: (generated tokens - 1) / time from the first sampled token to the end: the first token
//!   comes from the prompt pass (llama.cpp's and Sprout's convention);
//! - **peak RSS**: `VmHWM` of the process after the runs.
//!
//! The prompt is read from `prompt.txt` beside this crate's manifest: the same text as the `PROMPT`
//! constant of Sprout's bench (one trailing newline, if an editor added one, is removed).
//!
//! Each run prints a human-readable line and a `result` line of `key=value` pairs for
//! `bench/llama_cpp_vs_sprout.sh`.

use std::error::Error;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const USAGE: &str = "usage: sprout-bench-llama-cpp GGUF [--threads N] [--runs N] [--prompt-file PATH] \
                     [--max-new-tokens N] [--verbose]";

/// Context size: the prompt (177 tokens) plus 120 new ones fit with room to spare.
const N_CTX: u32 = 1024;

struct Args {
    gguf: PathBuf,
    threads: i32,
    runs: usize,
    prompt_file: PathBuf,
    max_new_tokens: usize,
    verbose: bool,
}

fn parse_args() -> Result<Args> {
    let mut gguf = std::env::var_os("SPROUT_GEMMA_GGUF").map(PathBuf::from);
    let mut args = Args {
        gguf: PathBuf::new(),
        threads: 1,
        runs: 3,
        prompt_file: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompt.txt"),
        max_new_tokens: 120,
        verbose: false,
    };
    let mut it = std::env::args_os().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.to_str() {
            Some("--threads") => args.threads = value("--threads")?.parse()?,
            Some("--runs") => args.runs = value("--runs")?.parse()?,
            Some("--prompt-file") => args.prompt_file = PathBuf::from(value("--prompt-file")?),
            Some("--max-new-tokens") => args.max_new_tokens = value("--max-new-tokens")?.parse()?,
            Some("--verbose") => args.verbose = true,
            Some("-h" | "--help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Some(s) if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}").into()),
            _ => gguf = Some(PathBuf::from(arg)),
        }
    }
    args.gguf = gguf.ok_or(USAGE)?;
    if args.threads < 1 || args.max_new_tokens < 1 {
        return Err("--threads and --max-new-tokens must be at least 1".into());
    }
    Ok(args)
}

/// Peak resident set size of this process in MB (`VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds used by this process so far (user + system), from /proc/self/stat.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One generation's measurements, as in Sprout's `Generation`.
struct Generation {
    text: String,
    prompt_tokens: usize,
    generated_tokens: usize,
    prompt_secs: f64,
    generate_secs: f64,
    time_to_first_token_secs: f64,
    end_of_text: bool,
}

impl Generation {
    fn prompt_tokens_per_sec(&self) -> f64 {
        rate(self.prompt_tokens, self.prompt_secs)
    }

    fn generate_tokens_per_sec(&self) -> f64 {
        rate(self.generated_tokens.saturating_sub(1), self.generate_secs)
    }
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

fn pos(i: usize) -> Result<i32> {
    Ok(i32::try_from(i)?)
}

/// Greedy generation from an empty cache, timed like `sprout_gemma::Model::generate`.
fn generate(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    prompt: &str,
    max_new_tokens: usize,
) -> Result<Generation> {
    let vocab = model.vocab();
    let t0 = Instant::now();
    let ids = vocab.tokenize(prompt.as_bytes(), true, true);
    if ids.len() + max_new_tokens > N_CTX as usize {
        return Err(format!(
            "{} prompt + {max_new_tokens} new tokens exceed {N_CTX}",
            ids.len()
        )
        .into());
    }
    ctx.clear_kv_cache();
    let mut batch = LlamaBatch::new(ids.len().max(1), 1);
    let last = ids.len().checked_sub(1).ok_or("prompt has no tokens")?;
    for (i, &id) in ids.iter().enumerate() {
        batch.add(id, pos(i)?, &[0], i == last)?;
    }
    ctx.decode(&mut batch)?;
    ctx.synchronize();
    let prompt_secs = t0.elapsed().as_secs_f64();

    let mut sampler = LlamaSampler::greedy();
    let mut out: Vec<LlamaToken> = Vec::with_capacity(max_new_tokens);
    let mut logits_row = batch.n_tokens() - 1;
    let mut decode_started: Option<Instant> = None;
    let mut time_to_first_token_secs = 0.0;
    let mut end_of_text = false;
    loop {
        let next = sampler.sample(ctx, logits_row);
        if out.is_empty() {
            time_to_first_token_secs = t0.elapsed().as_secs_f64();
            decode_started = Some(Instant::now());
        }
        out.push(next);
        if vocab.is_eog(next) {
            end_of_text = true;
            break;
        }
        if out.len() >= max_new_tokens {
            break;
        }
        batch.clear();
        batch.add(next, pos(ids.len() + out.len() - 1)?, &[0], true)?;
        ctx.decode(&mut batch)?;
        logits_row = 0;
    }
    let generate_secs = decode_started.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let generated_tokens = out.len();
    if end_of_text {
        out.pop();
    }
    let mut bytes = Vec::new();
    for &t in &out {
        vocab.token_to_piece_into(t, &mut bytes, false, None);
    }
    Ok(Generation {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        prompt_tokens: ids.len(),
        generated_tokens,
        prompt_secs,
        generate_secs,
        time_to_first_token_secs,
        end_of_text,
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let mut prompt = std::fs::read_to_string(&args.prompt_file)
        .map_err(|e| format!("cannot read {}: {e}", args.prompt_file.display()))?;
    if prompt.ends_with('\n') {
        prompt.pop();
    }

    let t0 = Instant::now();
    let mut backend = LlamaBackend::init()?;
    if !args.verbose {
        backend.void_logs();
    }
    let model = LlamaModel::load_from_file(&backend, &args.gguf, &LlamaModelParams::default())?;
    let model_secs = t0.elapsed().as_secs_f64();
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(N_CTX))
        .with_n_batch(N_CTX)
        .with_n_ubatch(N_CTX)
        .with_n_threads(args.threads)
        .with_n_threads_batch(args.threads);
    let mut ctx = model.new_context(&backend, ctx_params)?;
    // Warm-up, as Sprout's load: one token through the model.
    let mut batch = LlamaBatch::new(1, 1);
    batch.add(model.vocab().bos(), 0, &[0], true)?;
    ctx.decode(&mut batch)?;
    ctx.synchronize();
    ctx.clear_kv_cache();
    let load_secs = t0.elapsed().as_secs_f64();
    let load_rss = peak_rss_mb().unwrap_or(0.0);
    let prompt_tokens = model.vocab().tokenize(prompt.as_bytes(), true, true).len();
    println!("llama.cpp via llama-cpp-2, threads: {}", args.threads);
    println!("load: {load_secs:.2} s (model file {model_secs:.2} s), peak RSS after load {load_rss:.0} MB");
    println!("prompt tokens: {prompt_tokens}");

    for run in 0..args.runs {
        let c0 = cpu_secs().unwrap_or(0.0);
        generate(&model, &mut ctx, &prompt, 1)?;
        let c1 = cpu_secs().unwrap_or(0.0);
        let g = generate(&model, &mut ctx, &prompt, args.max_new_tokens)?;
        let c2 = cpu_secs().unwrap_or(0.0);
        let (prompt_cpu, total_cpu) = (c1 - c0, c2 - c1);
        let decode_cpu = (total_cpu - prompt_cpu).max(0.0);
        println!(
            "run {run}: prompt {:.1} tok/s ({} tok in {:.3} s), generation {:.1} tok/s ({} tok in {:.3} s), \
             first token {:.3} s, stop {}",
            g.prompt_tokens_per_sec(),
            g.prompt_tokens,
            g.prompt_secs,
            g.generate_tokens_per_sec(),
            g.generated_tokens,
            g.generate_secs,
            g.time_to_first_token_secs,
            if g.end_of_text { "EndOfText" } else { "MaxTokens" }
        );
        println!(
            "       cpu time: prompt {:.3} s ({:.0} tok/s of CPU), decoding {:.1} ms per token ({:.1} tok/s \
             of CPU)",
            prompt_cpu,
            g.prompt_tokens as f64 / prompt_cpu.max(1e-9),
            1e3 * decode_cpu / g.generated_tokens.saturating_sub(1).max(1) as f64,
            g.generated_tokens.saturating_sub(1) as f64 / decode_cpu.max(1e-9)
        );
        if run == 0 {
            println!("text: {:?}", g.text);
        }
        println!(
            "result run={run} threads={} load_s={load_secs:.4} prompt_tokens={} prompt_tok_s={:.3} \
             generated_tokens={} gen_tok_s={:.3} ttft_s={:.4} peak_rss_mb={:.1}",
            args.threads,
            g.prompt_tokens,
            g.prompt_tokens_per_sec(),
            g.generated_tokens,
            g.generate_tokens_per_sec(),
            g.time_to_first_token_secs,
            peak_rss_mb().unwrap_or(0.0)
        );
    }
    println!(
        "peak RSS after generation: {:.0} MB",
        peak_rss_mb().unwrap_or(0.0)
    );
    Ok(())
}
