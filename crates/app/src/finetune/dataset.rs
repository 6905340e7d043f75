//! The training set: parents' answers that may be trained on, and its snapshot id.

use super::FineTuneError;
use serde_json::json;
use sha2::{Digest, Sha256};
use sprout_domain::{ChildId, ConsentPurpose};
use sprout_learn::registry::LeftOut;
use sprout_store::{FeedbackExample, Store};
use std::collections::HashMap;

/// The consented answers as training examples, and where they came from.
pub struct Dataset {
    pub examples: Vec<sprout_tune::KtoExample>,
    /// sha256 of the examples as KTO JSONL: the data snapshot id.
    pub snapshot: String,
    /// The JSONL itself (`prompt`, `completion`, `label`), as TRL's KTO trainer reads it.
    pub jsonl: String,
    /// Answers that could not be trained on, by reason.
    pub left_out: LeftOut,
}

/// Parents' answers that may be trained on: those of families who consented to
/// training, on recommendations whose prompt was kept; only `child`'s when given.
pub async fn dataset(store: &dyn Store, child: Option<ChildId>) -> Result<Dataset, FineTuneError> {
    let mut consents = TrainingConsents::new(store);
    let (mut examples, mut left_out) = (Vec::new(), LeftOut::default());
    let all = store.feedback_examples().await?;
    for answer in all.into_iter().filter(|e| child.is_none_or(|c| e.child_id == c)) {
        if !consents.allow(answer.child_id).await? {
            left_out.without_consent += 1;
            continue;
        }
        match kto_example(&answer) {
            Some(example) => examples.push(example),
            None => left_out.without_prompt += 1,
        }
    }
    let jsonl = jsonl(&examples);
    Ok(Dataset {
        examples,
        snapshot: crate::shared::hex(&Sha256::digest(jsonl.as_bytes())),
        jsonl,
        left_out,
    })
}

/// Each family's consent to training, asked once per child.
struct TrainingConsents<'a> {
    store: &'a dyn Store,
    known: HashMap<ChildId, bool>,
}

impl<'a> TrainingConsents<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            known: HashMap::new(),
        }
    }

    async fn allow(&mut self, child: ChildId) -> Result<bool, FineTuneError> {
        if let Some(allowed) = self.known.get(&child) {
            return Ok(*allowed);
        }
        let allowed = self.store.consents(child).await?.allows(ConsentPurpose::Training);
        self.known.insert(child, allowed);
        Ok(allowed)
    }
}

/// The example an answer teaches; `None` for a recommendation written before prompts
/// were kept.
fn kto_example(answer: &FeedbackExample) -> Option<sprout_tune::KtoExample> {
    let prompt = answer.details.get("prompt")?.as_str()?;
    // The prompt ends at "Recommendation:"; the completion is the text after it, up
    // to the writer's stop, so the model also learns where to end.
    Some(sprout_tune::KtoExample {
        prompt: prompt.to_owned(),
        completion: format!(" {}{}", answer.text, sprout_coach::prompt::STOP),
        desirable: answer.was_helpful,
    })
}

/// The examples as KTO JSONL, one line each, every line ended.
fn jsonl(examples: &[sprout_tune::KtoExample]) -> String {
    examples
        .iter()
        .map(|e| {
            let line = json!({ "prompt": e.prompt, "completion": e.completion, "label": e.desirable });
            format!("{line}\n")
        })
        .collect()
}
