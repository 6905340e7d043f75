//! Retrieval through the [`Embedder`] trait and [`VectorIndex`], as the coach will use it: one index per
//! child, keyed by document, filtered by kind. The lexical fallback always runs; the model-backed run
//! needs `SPROUT_EMBED_MODEL_DIR` and is skipped (with a message) without it.

use std::path::PathBuf;

use sprout_embed::{Embedder, HashingEmbedder, MiniLm, VectorIndex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Doc {
    Recommendation(u32),
    Feedback(u32),
    Note(u32),
}

const DOCS: &[(Doc, &str)] = &[
    (Doc::Note(1), "She slept badly last night and woke up at 3am."),
    (Doc::Note(2), "Math test tomorrow, a bit anxious about fractions."),
    (
        Doc::Feedback(1),
        "The earlier bedtime worked, she fell asleep quickly.",
    ),
    (
        Doc::Recommendation(1),
        "Try a screen-free hour before bed to help her fall asleep.",
    ),
    (
        Doc::Recommendation(2),
        "Practise a few fraction problems together after school.",
    ),
    (
        Doc::Note(3),
        "Ate all her vegetables and played football in the park.",
    ),
];

fn index_for(embedder: &dyn Embedder) -> VectorIndex<Doc> {
    let texts: Vec<&str> = DOCS.iter().map(|(_, t)| *t).collect();
    let mut index = VectorIndex::new(embedder.dim());
    for ((key, _), v) in DOCS.iter().zip(embedder.embed(&texts).expect("embed")) {
        index.insert(*key, &v).expect("insert");
    }
    index
}

fn top(embedder: &dyn Embedder, index: &VectorIndex<Doc>, query: &str, only: fn(&Doc) -> bool) -> Doc {
    let q = embedder.embed_one(query).expect("embed query");
    index.search_filtered(&q, 1, only).expect("search")[0].key
}

#[test]
fn lexical_fallback_finds_shared_words() {
    let e = HashingEmbedder::default();
    let index = index_for(&e);
    assert_eq!(top(&e, &index, "fractions test", |_| true), Doc::Note(2));
    let recommendation = |d: &Doc| matches!(d, Doc::Recommendation(_));
    assert_eq!(
        top(&e, &index, "fall asleep before bed", recommendation),
        Doc::Recommendation(1)
    );
}

#[test]
fn model_finds_paraphrases() {
    let Some(dir) = std::env::var_os("SPROUT_EMBED_MODEL_DIR").map(PathBuf::from) else {
        eprintln!("SKIPPED: set SPROUT_EMBED_MODEL_DIR (see crates/embed/scripts/fetch-model.sh)");
        return;
    };
    let e = MiniLm::load(&dir).expect("model loads");
    let index = index_for(&e);
    // No word in common with the note it should find.
    assert_eq!(
        top(&e, &index, "poor sleep", |d| matches!(d, Doc::Note(_))),
        Doc::Note(1)
    );
    assert_eq!(top(&e, &index, "worried about an exam", |_| true), Doc::Note(2));
    // Among what was advised and how it went, the two bedtime documents come before the fractions one.
    let q = e.embed_one("going to bed earlier helped").expect("embed query");
    let hits = index
        .search_filtered(&q, 3, |d| matches!(d, Doc::Feedback(_) | Doc::Recommendation(_)))
        .expect("search");
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[2].key, Doc::Recommendation(2), "{hits:?}");
}
