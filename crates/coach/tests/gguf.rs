//! The real local model as a writer: Gemma 3 270M from its GGUF file loads, writes, and
//! its text either passes the guardrails or is replaced by the template's, with the
//! reason kept. Runs when `SPROUT_GEMMA_GGUF` names the file (`scripts/test` fetches it).

use chrono::{DateTime, Utc};
use sprout_coach::facts::gather;
use sprout_coach::guardrails::check;
use sprout_coach::policy::{choose, PolicyInput};
use sprout_coach::slots::candidate_slots;
use sprout_coach::writer::{compose, GgufWriter, Writer};

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
            // The base model often copies its example; then the template speaks, and why is kept.
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
