//! Benchmark: load time, prompt and generation throughput, time to first token and peak RSS.
//!
//! `cargo run --release --example bench -- PATH_TO_GGUF` (or set `SPROUT_GEMMA_GGUF`).
//! Uses a ~150-token prompt and 120 greedy new tokens. `BENCH_RUNS` (default 3) sets the number of runs;
//! `BENCH_PACK=0` uses candle's quantized matmuls instead of the packed int8 kernels, `BENCH_EXACT=1`
//! runs prompts on the f32 path. Wall-clock rates suffer when other work shares the cores, so CPU-time
//! rates are printed too.

use std::path::PathBuf;

use sprout_gemma::{GenerateOptions, LoadOptions, Model};

const PROMPT: &str = "Below are short, practical suggestions written for parents, based on a child's recent \
week of sleep, activity and mood notes. Each suggestion is specific, kind and easy to try at home.\n\n\
Child: Leo, age 6. Notes: went to bed after 9 pm on four nights, woke up tired, had trouble focusing at \
school, enjoyed playing football in the park on Saturday, ate few vegetables, spent about two hours a day \
on a tablet after dinner.\n\
Suggestion: Move tablet time to before dinner and keep the last hour before bed screen-free; a short \
story together can become the new signal that it is time to sleep.\n\n\
Child: Mia, age 8. Notes: slept well most nights, felt anxious before a spelling test, skipped breakfast \
twice, loved drawing with her older brother, played outside only once this week.\n\
Suggestion:";

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds used by this process so far (user + system), from /proc/self/stat. Unlike wall time,
/// this is not inflated when other work competes for the cores.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("SPROUT_GEMMA_GGUF"))
        .map(PathBuf::from)
        .ok_or("usage: bench PATH_TO_GGUF (or set SPROUT_GEMMA_GGUF)")?;
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let pack = std::env::var("BENCH_PACK").map_or(true, |v| v != "0");
    let exact = std::env::var("BENCH_EXACT").is_ok_and(|v| v == "1");
    let mut model = Model::load_with(
        &path,
        &LoadOptions {
            pack_int8: pack,
            exact_prompts: exact,
            ..LoadOptions::default()
        },
    )?;
    println!("packed int8 kernels: {pack}, exact prompts: {exact}");
    println!(
        "load: {:.2} s, peak RSS after load {:.0} MB",
        model.load_secs(),
        peak_rss_mb().unwrap_or(0.0)
    );
    println!("prompt tokens: {}", model.tokenizer().encode(PROMPT, true).len());
    let opts = GenerateOptions {
        max_new_tokens: 120,
        ..GenerateOptions::default()
    };
    let prompt_only = GenerateOptions {
        max_new_tokens: 1,
        ..GenerateOptions::default()
    };
    for run in 0..runs {
        let c0 = cpu_secs().unwrap_or(0.0);
        model.generate(PROMPT, &prompt_only)?;
        let c1 = cpu_secs().unwrap_or(0.0);
        let g = model.generate(PROMPT, &opts)?;
        let c2 = cpu_secs().unwrap_or(0.0);
        let (prompt_cpu, total_cpu) = (c1 - c0, c2 - c1);
        let decode_cpu = (total_cpu - prompt_cpu).max(0.0);
        println!(
            "run {run}: prompt {:.1} tok/s ({} tok in {:.3} s), generation {:.1} tok/s ({} tok in {:.3} s), \
             first token {:.3} s, stop {:?}",
            g.prompt_tokens_per_sec(),
            g.prompt_tokens,
            g.prompt_secs,
            g.generate_tokens_per_sec(),
            g.generated_tokens,
            g.generate_secs,
            g.time_to_first_token_secs,
            g.stop_reason
        );
        println!(
            "       cpu time: prompt {:.3} s ({:.0} tok/s of CPU), decoding {:.1} ms per token ({:.1} tok/s of CPU)",
            prompt_cpu,
            g.prompt_tokens as f64 / prompt_cpu.max(1e-9),
            1e3 * decode_cpu / g.generated_tokens.saturating_sub(1).max(1) as f64,
            g.generated_tokens.saturating_sub(1) as f64 / decode_cpu.max(1e-9)
        );
        if run == 0 {
            println!("text: {:?}", g.text);
        }
    }
    println!(
        "peak RSS after generation: {:.0} MB",
        peak_rss_mb().unwrap_or(0.0)
    );
    let ppl_text = "The sun rose slowly over the quiet village. Children walked to school along the river, \
        laughing and talking about the games they would play at lunch. Their parents watched from the \
        windows, sipping coffee before the long day of work began.";
    let t = std::time::Instant::now();
    let ppl = model.perplexity(ppl_text)?;
    println!("perplexity: {ppl:.2} ({:.2} s)", t.elapsed().as_secs_f64());
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS (VmHWM): {mb:.0} MB");
    }
    Ok(())
}
