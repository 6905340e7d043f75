//! The real local model as a writer: Gemma 3 270M from its GGUF file loads, writes, and
//! its text either passes the guardrails or is replaced by the template's, with the
//! reason kept; on simulated children its own texts pass the guardrails without the
//! template's help. Runs when `SPROUT_GEMMA_GGUF` names the file (`scripts/test` fetches
//! it).

#[path = "support/children.rs"]
mod children;

use chrono::{DateTime, Utc};
use sprout_coach::facts::gather;
use sprout_coach::guardrails::check;
use sprout_coach::policy::{choose, PolicyInput};
use sprout_coach::slots::candidate_slots;
use sprout_coach::writer::{compose, AdapterVersion, Writer};
use sprout_writers::GgufWriter;

fn model_path() -> Option<std::path::PathBuf> {
    match std::env::var_os("SPROUT_GEMMA_GGUF") {
        Some(path) => Some(path.into()),
        None => {
            eprintln!(
                "SKIPPED: set SPROUT_GEMMA_GGUF to the Gemma 3 270M GGUF file to run the real-model test"
            );
            None
        }
    }
}

#[tokio::test]
async fn the_local_model_writes_checked_recommendations() {
    let Some(path) = model_path() else { return };
    let writer = GgufWriter::load(&path).expect("the model loads");
    assert!(writer.load_secs() < 30.0, "load took {} s", writer.load_secs());
    assert!(writer.model_version().starts_with("gguf:"));
    assert!(!writer.is_remote(), "the local model writes on this node");
    let adapted = writer
        .adapted(AdapterVersion {
            version: "gemma-kto-1".into(),
            path: "adapters/gemma-kto-1".into(),
        })
        .expect("the local model runs its fine-tuned versions");
    assert_eq!(adapted.model_version(), "gemma-kto-1");
    let now = DateTime::parse_from_rfc3339("2026-03-03T11:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().expect("zone");
    let chronotype = Some(sprout_chrono::Chronotype::NightOwl);
    let slots = candidate_slots(now, tz, chronotype);
    let decision = choose(&PolicyInput {
        slots: &slots,
        effects: &[],
        chronotype,
        test_tomorrow: false,
        answers: &[],
        approval_priors: &[],
        preferences: &sprout_domain::Preferences::default(),
        seed: 1,
    })
    .expect("decision");
    let facts = gather(
        &decision,
        &[],
        chronotype,
        Some(10),
        None,
        &[],
        false,
        None,
        now,
        tz,
        sprout_domain::ClockFormat::TwelveHour,
    );
    let prompt = sprout_coach::prompt::build(&facts);
    let raw = writer.write(&facts, &prompt, 0).await.expect("the model writes");
    assert!(!raw.trim().is_empty(), "the model produced text");
    println!("model wrote: {raw:?}");
    let written = compose(&writer, &facts, 0).await.expect("not busy");
    match &written.fallback_reason {
        None => {
            assert_eq!(check(&written.text, &facts), Ok(()));
            assert!(written.model_version.starts_with("gguf:"));
        }
        Some(reason) => {
            // A text that fails is replaced by the template's, and why is kept.
            assert!(!reason.is_empty());
            assert_eq!(written.model_version, sprout_coach::template::MODEL_VERSION);
            assert_eq!(check(&written.text, &facts), Ok(()));
        }
    }
    println!(
        "shown: {:?} (fallback: {:?})",
        written.text, written.fallback_reason
    );
}

/// The share of the model's own texts that must pass the guardrails with no template to
/// fall back on.
const UNAIDED_PASS_SHARE: f64 = 0.95;
/// Simulated children in the pass-rate test: at about two seconds a text on two shared
/// cores, under a minute (the bench, `benches/writer_pass_rate.rs`, runs 200).
const CHILDREN: usize = 24;
/// The simulator's seed for them: a fixed set, not the bench's.
const SEED: u64 = 3;

#[tokio::test]
async fn the_local_model_passes_the_guardrails_on_its_own() {
    let Some(path) = model_path() else { return };
    let writer = GgufWriter::load(&path).expect("the model loads");
    let cards = children::simulated_facts(SEED, CHILDREN);
    assert!(cards.len() >= CHILDREN - 2, "{} children planned", cards.len());
    let mut failures = Vec::new();
    for (i, facts) in cards.iter().enumerate() {
        let prompt = sprout_coach::prompt::build(facts);
        let text = writer.write(facts, &prompt, i).await.expect("the model writes");
        println!("child {i}: {text}");
        if let Err(violation) = check(&text, facts) {
            failures.push(format!("child {i}: {violation}: {text:?}"));
        }
    }
    let share = 1.0 - failures.len() as f64 / cards.len() as f64;
    println!("{:.1}% of {} texts passed unaided", 100.0 * share, cards.len());
    assert!(
        share >= UNAIDED_PASS_SHARE,
        "{:.1}% passed; failures: {failures:#?}",
        100.0 * share
    );
}
