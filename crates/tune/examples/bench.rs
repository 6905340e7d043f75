//! Time and memory of LoRA training on the real model: KTO steps of 4 × 128 tokens, and one KTO
//! epoch over 100 feedback items, on one thread (the default). Prints wall and CPU seconds: on a
//! shared machine wall time also counts the time other processes held the core.
//!
//! `cargo run --release -p sprout-tune --example bench -- path/to/gemma-3-270m-q4_k_m.gguf [steps] [items]`

#[path = "../tests/common/feedback.rs"]
mod feedback;

use std::time::Instant;

use sprout_tune::{
    kto, peak_rss_bytes, thread_cpu_seconds, KtoOptions, LoraConfig, Reference, TrainModel, TrainOptions,
};

/// Sequences per step and positions per sequence: the shape the issue measured (4 × 128).
const BATCH: usize = 4;
const SEQ: usize = 128;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bench GGUF [steps] [items]"))?;
    let steps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3);
    let epoch_items: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);

    let t0 = Instant::now();
    let mut model = TrainModel::load(std::path::Path::new(&path), LoraConfig::default(), 0)?;
    let load_secs = t0.elapsed().as_secs_f64();
    let rss_after_load = peak_rss_bytes().unwrap_or(0);
    eprintln!(
        "loaded in {load_secs:.1} s; {} trainable parameters",
        model.lora().num_parameters()
    );

    // The full writer prompt is longer than 128 tokens, so every sequence is truncated to exactly 128.
    let items = feedback::feedback(epoch_items.max(BATCH * steps), feedback::full_prompt);
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
    row("load + dequantise, wall (s)".into(), format!("{load_secs:.1}"));

    // A few steps on the first items (the reference pass covers only those).
    let few = &items[..BATCH * steps];
    let report = kto(&mut model, few, Reference::Base, &opts(Some(steps)))?;
    for (i, (w, c)) in report
        .step_seconds
        .iter()
        .zip(&report.step_cpu_seconds)
        .enumerate()
    {
        row(
            format!("KTO step {} of {BATCH}x{SEQ}, wall / CPU (s)", i + 1),
            format!("{w:.1} / {c:.1}"),
        );
    }
    row(
        "reference pass per sequence, wall / CPU (s)".into(),
        format!(
            "{:.2} / {:.2}",
            report.reference_seconds / few.len() as f64,
            report.reference_cpu_seconds.unwrap_or(f64::NAN) / few.len() as f64
        ),
    );

    if epoch_items > 0 {
        let t1 = Instant::now();
        let c1 = thread_cpu_seconds();
        let epoch = kto(&mut model, &items[..epoch_items], Reference::Base, &opts(None))?;
        let epoch_secs = t1.elapsed().as_secs_f64();
        let epoch_cpu = c1.zip(thread_cpu_seconds()).map_or(f64::NAN, |(a, b)| b - a);
        row(
            format!(
                "epoch of {epoch_items} items ({} steps), wall / CPU (s)",
                epoch.losses.len()
            ),
            format!("{epoch_secs:.0} / {epoch_cpu:.0}"),
        );
        row(
            "  of which reference pass, wall / CPU (s)".into(),
            format!(
                "{:.0} / {:.0}",
                epoch.reference_seconds,
                epoch.reference_cpu_seconds.unwrap_or(f64::NAN)
            ),
        );
        row(
            "  mean step, wall / CPU (s)".into(),
            format!(
                "{:.1} / {:.1}",
                epoch.mean_step_seconds(),
                epoch.mean_step_cpu_seconds()
            ),
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

    println!("sprout-tune bench: KTO, LoRA r8/a16 on q/k/v/o x 18 layers, 1 thread");
    println!("{:<52} {:>14}", "measure", "value");
    for (k, v) in rows {
        println!("{k:<52} {v:>14}");
    }
    Ok(())
}
