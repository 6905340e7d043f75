//! Checks against the real all-MiniLM-L6-v2. Skipped (with a message) when `SPROUT_EMBED_MODEL_DIR` is
//! unset; `scripts/fetch-model.sh` prints the directory to set it to.
//!
//! The expected token ids and vectors in `data/reference.json` come from `scripts/reference.py`: the Hugging
//! Face `tokenizers` library on the model's own `tokenizer.json`, and an independent float64 NumPy forward
//! pass with mean pooling and L2 normalisation.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;
use sprout_embed::{cosine, Embedder, LoadOptions, MiniLm, Pooling};

#[derive(Deserialize)]
struct Reference {
    max_tokens: usize,
    sentences: Vec<Sentence>,
    tokenizer_only: Vec<TokenCase>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct TokenCase {
    text: String,
    ids: Vec<u32>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("data/reference.json")).expect("fixture parses")
}

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SPROUT_EMBED_MODEL_DIR").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("SKIPPED: set SPROUT_EMBED_MODEL_DIR (see crates/embed/scripts/fetch-model.sh)");
    }
    dir
}

fn model() -> Option<&'static MiniLm> {
    static MODEL: OnceLock<Option<MiniLm>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = model_dir()?;
            let m = MiniLm::load(&dir).expect("model loads");
            eprintln!("loaded {} in {:.2} s", dir.display(), m.load_secs());
            Some(m)
        })
        .as_ref()
}

#[test]
fn loads_with_expected_config() {
    let Some(m) = model() else { return };
    let c = m.config();
    assert_eq!(
        (
            c.hidden_size,
            c.num_hidden_layers,
            c.num_attention_heads,
            c.intermediate_size
        ),
        (384, 6, 12, 1536)
    );
    assert_eq!(m.dim(), 384);
    assert_eq!(m.pooling(), Pooling::Mean);
    assert_eq!(m.max_tokens(), 256);
    assert_eq!(m.id(), "all-MiniLM-L6-v2:mean:384");
}

#[test]
fn token_ids_match_the_reference_tokenizer() {
    let Some(m) = model() else { return };
    let r = reference();
    assert_eq!(m.max_tokens(), r.max_tokens);
    let cases = r
        .sentences
        .iter()
        .map(|s| (&s.text, &s.ids))
        .chain(r.tokenizer_only.iter().map(|c| (&c.text, &c.ids)));
    let mut n = 0;
    for (text, ids) in cases {
        assert_eq!(&m.token_ids(text), ids, "token ids of {text:?}");
        n += 1;
    }
    assert!(n >= 25);
    // The long sentence is cut to exactly the limit.
    assert!(r.sentences.iter().any(|s| s.ids.len() == r.max_tokens));
}

fn assert_close(text: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    let max_diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let cos = cosine(got, want);
    assert!(
        cos > 0.9999 && max_diff < 1e-4,
        "{text:?}: cosine {cos}, max abs difference {max_diff}"
    );
}

#[test]
fn embeddings_match_the_numpy_reference() {
    let Some(m) = model() else { return };
    let r = reference();
    let texts: Vec<&str> = r.sentences.iter().map(|s| s.text.as_str()).collect();
    // All at once: texts of different lengths share padded batches.
    let batched = m.embed(&texts).expect("embed");
    let mut worst = (1.0f32, 0.0f32);
    for (s, got) in r.sentences.iter().zip(&batched) {
        assert_close(&s.text, got, &s.embedding);
        let diff = got
            .iter()
            .zip(&s.embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        worst = (worst.0.min(cosine(got, &s.embedding)), worst.1.max(diff));
    }
    eprintln!(
        "{} sentences: lowest cosine {:.7}, largest abs difference {:.2e}",
        texts.len(),
        worst.0,
        worst.1
    );
    // One at a time: padding must not change a vector.
    for (s, b) in r.sentences.iter().zip(&batched) {
        let alone = m.embed_one(&s.text).expect("embed one");
        assert_close(&s.text, &alone, b);
    }
}

#[test]
fn similar_meanings_are_closer() {
    let Some(m) = model() else { return };
    let v = m
        .embed(&[
            "she slept badly last night",
            "poor sleep before school",
            "math test tomorrow",
        ])
        .expect("embed");
    let (near, far) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    eprintln!("sleep/sleep {near:.3}, sleep/math {far:.3}");
    assert!(near > far + 0.1, "near {near}, far {far}");
}

#[test]
fn pooling_can_be_overridden() {
    let Some(dir) = model_dir() else { return };
    let cls = MiniLm::load_with(
        &dir,
        &LoadOptions {
            pooling: Some(Pooling::Cls),
            max_tokens: Some(16),
            ..LoadOptions::default()
        },
    )
    .expect("model loads");
    assert_eq!(cls.id(), "all-MiniLM-L6-v2:cls:384");
    assert_eq!(cls.token_ids(&"word ".repeat(100)).len(), 16);
    let Some(mean) = model() else { return };
    let text = "A calm bedtime routine helps.";
    let a = cls.embed_one(text).expect("embed");
    let b = mean.embed_one(text).expect("embed");
    assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
    assert!(cosine(&a, &b) < 0.99);
}
