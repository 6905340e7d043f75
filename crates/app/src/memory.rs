//! What Sprout remembers of a child for the writer: parents' notes and past
//! recommendations with the parents' answers and comments, embedded and retrieved by
//! meaning when a new recommendation is written (the original design's vector search).
//!
//! One in-process [`VectorIndex`] per child, filled lazily: before each recall the
//! child's notes and recommendations are read from the store and whatever is new or
//! changed (a new answer changes a recommendation's memory) is embedded, whatever was
//! erased is dropped. The store stays the record, so every node — and a restarted one —
//! recalls the same things; nothing but vectors is kept in memory. The embedder is the
//! real sentence model when `--embed-model DIR` names one (all-MiniLM-L6-v2 by default,
//! BGE-style models load too), else the small lexical hashing embedder.

use crate::error::{AppError, AppResult};
use serde::Serialize;
use sprout_domain::{ChildId, RecordId};
use sprout_embed::{Embedder, VectorIndex};
use sprout_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Notes and recommendations a recall looks at: the most recent ones.
const REMEMBERED: usize = 500;

/// One remembered thing that bears on the query.
#[derive(Debug, Clone, Serialize)]
pub struct Recalled {
    /// `note` or `recommendation`.
    pub kind: &'static str,
    pub id: RecordId,
    /// The line the writer gets.
    pub text: String,
    /// Cosine similarity to the query.
    pub score: f32,
}

struct Item {
    kind: &'static str,
    text: String,
}

#[derive(Default)]
struct ChildMemory {
    index: Option<VectorIndex<RecordId>>,
    items: HashMap<RecordId, Item>,
}

pub struct Memory {
    embedder: Arc<dyn Embedder>,
    /// Below this similarity a memory is not relevant enough to mention.
    min_score: f32,
    children: Mutex<HashMap<ChildId, Arc<tokio::sync::Mutex<ChildMemory>>>>,
}

impl Memory {
    /// `model`: a sentence-embedding model's directory; `None` uses the hashing embedder.
    pub fn load(model: Option<&std::path::Path>) -> Result<Self, sprout_embed::EmbedError> {
        Ok(match model {
            Some(dir) => Self::new(Arc::new(sprout_embed::MiniLm::load(dir)?), 0.3),
            // Lexical overlap scores lower than a model's similarity for the same relevance.
            None => Self::new(Arc::new(sprout_embed::HashingEmbedder::default()), 0.15),
        })
    }

    pub fn new(embedder: Arc<dyn Embedder>, min_score: f32) -> Self {
        Self {
            embedder,
            min_score,
            children: Mutex::default(),
        }
    }

    /// Which vector space the memories live in.
    pub fn embedder_id(&self) -> &str {
        self.embedder.id()
    }

    /// Drops everything remembered of a child (after erasure).
    pub fn forget(&self, child: ChildId) {
        if let Ok(mut children) = self.children.lock() {
            children.remove(&child);
        }
    }

    /// The `k` memories of `child` closest in meaning to `query`, most similar first,
    /// leaving out those below the relevance threshold.
    pub async fn recall(
        &self,
        store: &dyn Store,
        child: ChildId,
        query: &str,
        k: usize,
    ) -> AppResult<Vec<Recalled>> {
        let current = remembered_lines(store, child).await?;
        let memory = {
            let mut children = self
                .children
                .lock()
                .map_err(|_| AppError::internal("recall", &std::io::Error::other("memory lock poisoned")))?;
            children.entry(child).or_default().clone()
        };
        let mut memory = memory.lock().await;
        let stale: Vec<RecordId> = memory
            .items
            .iter()
            .filter(|(id, item)| current.get(*id).is_none_or(|(_, text)| *text != item.text))
            .map(|(id, _)| *id)
            .collect();
        for id in &stale {
            memory.items.remove(id);
            if let Some(index) = memory.index.as_mut() {
                index.remove(id);
            }
        }
        let fresh: Vec<(RecordId, &'static str, String)> = current
            .into_iter()
            .filter(|(id, _)| !memory.items.contains_key(id))
            .map(|(id, (kind, text))| (id, kind, text))
            .collect();
        let mut texts: Vec<String> = fresh.iter().map(|(_, _, text)| text.clone()).collect();
        texts.push(query.to_owned());
        let embedder = self.embedder.clone();
        let mut vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&refs)
        })
        .await
        .map_err(|e| AppError::internal("recall", &e))?
        .map_err(|e| AppError::internal("recall", &e))?;
        let query = vectors.pop().unwrap_or_default();
        let dim = self.embedder.dim();
        let index = memory.index.get_or_insert_with(|| VectorIndex::new(dim));
        for ((id, _, _), vector) in fresh.iter().zip(&vectors) {
            index
                .insert(*id, vector)
                .map_err(|e| AppError::internal("recall", &e))?;
        }
        for ((id, kind, text), _) in fresh.into_iter().zip(&vectors) {
            memory.items.insert(id, Item { kind, text });
        }
        let Some(index) = memory.index.as_ref() else {
            return Ok(Vec::new());
        };
        let hits = index
            .search(&query, k)
            .map_err(|e| AppError::internal("recall", &e))?;
        Ok(hits
            .into_iter()
            .filter(|hit| hit.score >= self.min_score)
            .filter_map(|hit| {
                let item = memory.items.get(&hit.key)?;
                Some(Recalled {
                    kind: item.kind,
                    id: hit.key,
                    text: item.text.clone(),
                    score: hit.score,
                })
            })
            .collect())
    }
}

/// The child's notes and recommendations as the lines a writer would get, by id.
async fn remembered_lines(
    store: &dyn Store,
    child: ChildId,
) -> AppResult<HashMap<RecordId, (&'static str, String)>> {
    let (notes, recommendations) = tokio::try_join!(
        store.notes(child, REMEMBERED),
        store.remembered_recommendations(child, REMEMBERED),
    )?;
    let mut lines = HashMap::new();
    for note in notes {
        lines.insert(
            note.id,
            ("note", format!("Parent note: \"{}\"", note.text.trim())),
        );
    }
    for r in recommendations {
        let liked = r.answers.iter().filter(|(helpful, _)| *helpful).count();
        let disliked = r.answers.len() - liked;
        let verdict = match (liked, disliked) {
            (0, 0) => "no answer yet".to_owned(),
            (_, 0) => "the parents found it helpful".to_owned(),
            (0, _) => "the parents found it not helpful".to_owned(),
            _ => "the parents disagreed on it".to_owned(),
        };
        let comments: Vec<String> = r
            .answers
            .iter()
            .filter_map(|(_, comment)| comment.as_deref().map(str::trim).filter(|c| !c.is_empty()))
            .map(|c| format!(" Comment: \"{c}\""))
            .collect();
        lines.insert(
            r.id,
            (
                "recommendation",
                format!(
                    "Earlier suggestion: \"{}\" ({verdict}).{}",
                    r.text.trim(),
                    comments.concat()
                ),
            ),
        );
    }
    Ok(lines)
}
