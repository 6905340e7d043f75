//! Benchmark: model load time, embedding throughput on short sentences (batched, and one query at a time),
//! the hashing fallback on the same texts, brute-force search over a per-child-sized index, and peak RSS.
//!
//! `cargo run --release -p sprout-embed --example bench -- MODEL_DIR` (or set `SPROUT_EMBED_MODEL_DIR`).
//! `BENCH_TEXTS` (default 256) sets the number of sentences. Wall-clock rates suffer when other work shares
//! the cores, so CPU-time rates are printed too. One thread unless `CANDLE_NUM_THREADS`/`RAYON_NUM_THREADS`
//! are set.

use std::path::PathBuf;
use std::time::Instant;

use sprout_embed::{Embedder, HashingEmbedder, MiniLm, VectorIndex};

/// Short notes of the kind parents write; cycled and numbered to make `BENCH_TEXTS` distinct sentences.
const NOTES: &[&str] = &[
    "She slept badly last night and woke up twice.",
    "Poor sleep before school again.",
    "Math test tomorrow, he is nervous.",
    "Loved the swimming lesson, asked to go again.",
    "Skipped breakfast, grumpy until lunch.",
    "Two hours of tablet after dinner.",
    "Played football in the park with friends.",
    "Bedtime story helped him calm down.",
    "Complained of a headache after school.",
    "Ate all her vegetables at dinner!",
];

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

/// Runs `f`, returning (wall seconds, CPU seconds).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (c0, t0) = (cpu_secs().unwrap_or(0.0), Instant::now());
    let out = f();
    (out, t0.elapsed().as_secs_f64(), cpu_secs().unwrap_or(0.0) - c0)
}

fn report(label: &str, n: usize, wall: f64, cpu: f64) {
    // /proc CPU times tick in hundredths of a second.
    let cpu_rate = if cpu >= 0.05 {
        format!("{:.1} /s of CPU", n as f64 / cpu)
    } else {
        "too fast to time CPU".into()
    };
    println!(
        "{label:<34} {n:>5} texts in {wall:>7.3} s: {:>9.1} /s wall, {cpu_rate}",
        n as f64 / wall.max(1e-9)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("SPROUT_EMBED_MODEL_DIR"))
        .map(PathBuf::from)
        .ok_or("usage: bench MODEL_DIR (or set SPROUT_EMBED_MODEL_DIR)")?;
    let n: usize = std::env::var("BENCH_TEXTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let texts: Vec<String> = (0..n)
        .map(|i| format!("{} (day {})", NOTES[i % NOTES.len()], i / NOTES.len() + 1))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let model = MiniLm::load(&dir)?;
    println!(
        "model {}: load {:.2} s, peak RSS after load {:.0} MB",
        model.id(),
        model.load_secs(),
        peak_rss_mb().unwrap_or(0.0)
    );
    let tokens: usize = refs.iter().map(|t| model.token_ids(t).len()).sum();
    println!(
        "{n} sentences, {:.1} tokens each on average ([CLS]/[SEP] included)",
        tokens as f64 / n as f64
    );

    model.embed(&refs[..refs.len().min(16)])?; // warm-up
    let (vectors, wall, cpu) = timed(|| model.embed(&refs));
    let vectors = vectors?;
    report("MiniLM, batched (16 per pass)", n, wall, cpu);
    let singles = n.min(64);
    let (res, wall, cpu) = timed(|| {
        refs[..singles]
            .iter()
            .try_for_each(|t| model.embed_one(t).map(drop))
    });
    res?;
    report("MiniLM, one text per call", singles, wall, cpu);
    println!("  one query: {:.2} ms wall", 1e3 * wall / singles as f64);

    let hashing = HashingEmbedder::default();
    let (res, wall, cpu) = timed(|| hashing.embed(&refs));
    res?;
    report("hashing fallback", n, wall, cpu);

    // Brute-force search over an index of a size one child could accumulate.
    let mut index = VectorIndex::new(model.dim());
    let size = 5000;
    for i in 0..size {
        index.insert(i, &vectors[i % vectors.len()])?;
    }
    let queries = 200;
    let (res, wall, _) = timed(|| (0..queries).try_for_each(|q| index.search(&vectors[q % n], 10).map(drop)));
    res?;
    println!(
        "search top-10 among {size} vectors: {:.3} ms per query",
        1e3 * wall / queries as f64
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS (VmHWM): {mb:.0} MB");
    }
    Ok(())
}
