//! Time and memory of LoRA training on the real model: KTO steps of 4 × 128 tokens, and one KTO
//! epoch over 100 feedback items, on one thread (the default). Prints wall and CPU seconds: on a
//! shared machine wall time also counts the time other processes held the core.
//!
//! `cargo run --release -p sprout-tune --example bench -- path/to/gemma-3-270m-q4_k_m.gguf [steps] [items]`
//!
//! Options (before the positional arguments):
//! - `--device cuda` trains on the first NVIDIA GPU (build with `--features cuda`); the default is
//!   `--device cpu`.
//! - `--random` replaces the file by Gemma 3 270M's shapes with random weights, and the tokenized
//!   feedback by random token ids of the same lengths (every sequence 128 tokens, of which
//!   [`RANDOM_COMPLETION_TOKENS`] are completion): a step costs the same, only what it learns differs.
//!   For machines without the model file.

#[path = "../tests/common/feedback.rs"]
mod feedback;

use std::time::Instant;

use candle_core::Device;
use rand::{Rng, SeedableRng};
use sprout_gemma::Config;
use sprout_tune::{
    kto_tokenized, peak_rss_bytes, thread_cpu_seconds, KtoOptions, LoraConfig, Reference, TokenizedExample,
    TrainModel, TrainOptions,
};

/// Sequences per step and positions per sequence: the shape the issue measured (4 × 128).
const BATCH: usize = 4;
const SEQ: usize = 128;

/// Completion tokens per item with `--random`: the mean over the bench's 100 feedback items under
/// the real tokenizer (they range from 22 to 53).
const RANDOM_COMPLETION_TOKENS: usize = 39;

/// Gemma 3 270M as its GGUF describes it.
fn gemma3_270m() -> (Config, usize) {
    let config = Config {
        block_count: 18,
        hidden_size: 640,
        feed_forward_length: 2048,
        head_count: 4,
        head_count_kv: 1,
        head_dim: 256,
        context_length: 32_768,
        rms_norm_eps: 1e-6,
        rope_base_global: 1_000_000.0,
        rope_base_local: 10_000.0,
        sliding_window: 512,
        sliding_window_pattern: 6,
        query_pre_attn_scalar: 256.0,
    };
    (config, 262_144)
}

/// `n` examples of random ids, alternating 👍 and 👎 as the feedback does, each longer than `SEQ` so
/// truncation leaves exactly `SEQ` tokens.
fn random_examples(n: usize, vocab: usize) -> Vec<TokenizedExample> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut ids = |k: usize| -> Vec<u32> { (0..k).map(|_| rng.random_range(3..vocab as u32)).collect() };
    (0..n)
        .map(|i| {
            let mut prompt = vec![2];
            prompt.extend(ids(2 * SEQ));
            TokenizedExample {
                prompt,
                completion: ids(RANDOM_COMPLETION_TOKENS),
                desirable: i % 2 == 0,
            }
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() -> anyhow::Result<()> {
    let mut device_name = "cpu".to_string();
    let mut random = false;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--device" => device_name = args.next().unwrap_or_default(),
            "--random" => random = true,
            _ => positional.push(a),
        }
    }
    let usage = "usage: bench [--device cpu|cuda] (GGUF | --random) [steps] [items]";
    let device = match device_name.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::new_cuda(0)?,
        other => anyhow::bail!("unknown device {other:?}; {usage}"),
    };
    let mut positional = positional.into_iter();
    let path = if random {
        None
    } else {
        Some(positional.next().ok_or_else(|| anyhow::anyhow!(usage))?)
    };
    let steps: usize = positional.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let epoch_items: usize = positional.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let n_items = epoch_items.max(BATCH * steps);

    let t0 = Instant::now();
    let (model, items) = match &path {
        Some(path) => {
            let model = TrainModel::load(std::path::Path::new(path), LoraConfig::default(), 0)?;
            let tok = model
                .tokenizer()
                .ok_or_else(|| anyhow::anyhow!("the model file has no tokenizer"))?;
            // The full writer prompt is longer than 128 tokens, so every sequence is truncated to
            // exactly 128.
            let items = feedback::feedback(n_items, feedback::full_prompt)
                .iter()
                .map(|e| TokenizedExample::new(tok, &e.prompt, &e.completion, e.desirable, false))
                .collect::<Result<Vec<_>, _>>()?;
            (model, items)
        }
        None => {
            let (config, vocab) = gemma3_270m();
            let model = TrainModel::random(config, vocab, LoraConfig::default(), 0)?;
            (model, random_examples(n_items, vocab))
        }
    };
    let mut model = model.into_device(&device)?;
    device.synchronize()?;
    let load_secs = t0.elapsed().as_secs_f64();
    let rss_after_load = peak_rss_bytes().unwrap_or(0);
    let completion: Vec<usize> = items.iter().map(|e| e.completion.len()).collect();
    eprintln!(
        "loaded in {load_secs:.1} s on {device_name}; {} trainable parameters; completion tokens per \
         item: mean {:.1}, min {}, max {}",
        model.lora().num_parameters(),
        completion.iter().sum::<usize>() as f64 / completion.len().max(1) as f64,
        completion.iter().min().unwrap_or(&0),
        completion.iter().max().unwrap_or(&0),
    );

    let opts = |max_steps: Option<usize>| KtoOptions {
        train: TrainOptions {
            epochs: 1,
            max_steps,
            batch_size: BATCH,
            max_seq_len: SEQ,
            held_out_fraction: 0.0,
            ..TrainOptions::default()
        },
        ..KtoOptions::default()
    };

    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: String, v: String| {
        eprintln!("{k}: {v}");
        rows.push((k, v));
    };
    let weights = if random {
        "random weights"
    } else {
        "load + dequantise"
    };
    row(format!("{weights}, wall (s)"), format!("{load_secs:.1}"));

    // A few steps on the first items (the reference pass covers only those).
    let few = &items[..BATCH * steps];
    let report = kto_tokenized(&mut model, few, Reference::Base, &opts(Some(steps)))?;
    for (i, (w, c)) in report
        .step_seconds
        .iter()
        .zip(&report.step_cpu_seconds)
        .enumerate()
    {
        row(
            format!("KTO step {} of {BATCH}x{SEQ}, wall / CPU (s)", i + 1),
            format!("{w:.3} / {c:.3}"),
        );
    }
    if report.step_seconds.len() > 1 {
        row(
            "  median step after the first, wall (s)".into(),
            format!("{:.3}", median(&report.step_seconds[1..])),
        );
    }
    row(
        "reference pass per sequence, wall / CPU (s)".into(),
        format!(
            "{:.3} / {:.3}",
            report.reference_seconds / few.len() as f64,
            report.reference_cpu_seconds.unwrap_or(f64::NAN) / few.len() as f64
        ),
    );

    if epoch_items > 0 {
        let t1 = Instant::now();
        let c1 = thread_cpu_seconds();
        let epoch = kto_tokenized(&mut model, &items[..epoch_items], Reference::Base, &opts(None))?;
        let epoch_secs = t1.elapsed().as_secs_f64();
        let epoch_cpu = c1.zip(thread_cpu_seconds()).map_or(f64::NAN, |(a, b)| b - a);
        row(
            format!(
                "epoch of {epoch_items} items ({} steps), wall / CPU (s)",
                epoch.losses.len()
            ),
            format!("{epoch_secs:.2} / {epoch_cpu:.2}"),
        );
        row(
            "  of which reference pass, wall / CPU (s)".into(),
            format!(
                "{:.2} / {:.2}",
                epoch.reference_seconds,
                epoch.reference_cpu_seconds.unwrap_or(f64::NAN)
            ),
        );
        row(
            "  mean step, wall / CPU (s)".into(),
            format!(
                "{:.3} / {:.3}",
                epoch.mean_step_seconds(),
                epoch.mean_step_cpu_seconds()
            ),
        );
        row(
            "  median step, wall (s)".into(),
            format!("{:.3}", median(&epoch.step_seconds)),
        );
        row(
            "  loss, first / last step".into(),
            format!(
                "{:.3} / {:.3}",
                epoch.losses.first().copied().unwrap_or(f64::NAN),
                epoch.losses.last().copied().unwrap_or(f64::NAN)
            ),
        );
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    row(
        "peak RSS after load (GiB)".into(),
        format!("{:.2}", gib(rss_after_load)),
    );
    row(
        "peak RSS after training (GiB)".into(),
        format!("{:.2}", gib(peak_rss_bytes().unwrap_or(0))),
    );

    println!(
        "sprout-tune bench: KTO, LoRA r8/a16 on q/k/v/o x 18 layers, {device_name}{}",
        if random { ", random weights" } else { "" }
    );
    println!("{:<52} {:>14}", "measure", "value");
    for (k, v) in rows {
        println!("{k:<52} {v:>14}");
    }
    Ok(())
}
