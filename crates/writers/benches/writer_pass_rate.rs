//! How often the local model's own text passes the guardrails, with no template to fall
//! back on: simulated children planned on the real path, one text each, every failure
//! with its reason.
//!
//! ```sh
//! SPROUT_GEMMA_GGUF=/path/to/gemma-3-270m-q4_k_m.gguf \
//!   cargo bench -p sprout-writers --bench writer_pass_rate -- --children 200
//! ```
//!
//! Options: `--children N` (default 200), `--seed S` (default 1; the simulator's seed),
//! `--texts` (print the texts that pass too).

#[path = "../tests/support/children.rs"]
mod children;

use sprout_coach::guardrails::check;
use sprout_coach::writer::Writer;
use sprout_writers::GgufWriter;
use std::collections::BTreeMap;
use std::time::Instant;

struct Options {
    children: usize,
    seed: u64,
    /// Print every text, not only the failing ones.
    texts: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        children: 200,
        seed: 1,
        texts: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("{name} needs a whole number"))
        };
        match arg.as_str() {
            "--children" => options.children = value("--children")? as usize,
            "--seed" => options.seed = value("--seed")?,
            "--texts" => options.texts = true,
            // `cargo bench` adds `--bench`; anything else is a mistake.
            "--bench" => {}
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let options = options()?;
    let path =
        std::env::var_os("SPROUT_GEMMA_GGUF").ok_or("set SPROUT_GEMMA_GGUF to the Gemma 3 270M GGUF file")?;
    let started = Instant::now();
    let facts = children::simulated_facts(options.seed, options.children);
    println!(
        "{} simulated children (seed {}) planned in {:.1} s",
        facts.len(),
        options.seed,
        started.elapsed().as_secs_f64()
    );
    let writer = GgufWriter::load(std::path::Path::new(&path)).map_err(|e| e.to_string())?;
    println!("{} loaded in {:.1} s", writer.model_version(), writer.load_secs());
    let started = Instant::now();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut passed = 0;
    let mut grounding = Grounding::default();
    for (i, facts) in facts.iter().enumerate() {
        let prompt = sprout_coach::prompt::build(facts);
        let text = writer.write(facts, &prompt, i).await.map_err(|e| e.to_string())?;
        grounding.add(&text, facts);
        match check(&text, facts) {
            Ok(()) => {
                passed += 1;
                if options.texts {
                    println!("pass child {i}: {text:?}\n  facts: {}", facts.lines().join(" | "));
                }
            }
            Err(violation) => {
                let kind = format!("{violation:?}");
                let kind = kind.split('(').next().unwrap_or_default().to_owned();
                *reasons.entry(kind).or_default() += 1;
                println!(
                    "FAIL child {i}: {violation}\n  facts: {}\n  text: {text:?}",
                    facts.lines().join(" | ")
                );
            }
        }
    }
    let n = facts.len().max(1);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\npassed unaided: {passed} of {} ({:.1}%), {:.2} s a text",
        facts.len(),
        100.0 * passed as f64 / n as f64,
        secs / n as f64
    );
    for (reason, count) in &reasons {
        println!("  failed, {reason}: {count}");
    }
    println!(
        "beyond the guardrails, of all texts: {} name the activity as the facts do, {} its time and day, \
         {} speak of a test the facts do not have",
        grounding.activity, grounding.time, grounding.invented_test
    );
    Ok(())
}

/// What the guardrails do not check but a reader would: the action as decided, and no
/// occasion that is not in the facts.
#[derive(Default)]
struct Grounding {
    activity: usize,
    time: usize,
    invented_test: usize,
}

impl Grounding {
    fn add(&mut self, text: &str, facts: &sprout_coach::Facts) {
        let lower = text.to_lowercase();
        self.activity += usize::from(lower.contains(sprout_coach::facts::activity(facts.action)));
        self.time += usize::from(text.contains(&format!("{} {}", facts.slot_time, facts.slot.phrase())));
        let speaks_of_test = ["test", "quiz", "exam"].iter().any(|w| lower.contains(w));
        self.invented_test +=
            usize::from(speaks_of_test && facts.next_test.is_none() && facts.pre_test_rise.is_none());
    }
}
