//! What is kept with a model version: how it was trained, for whom, on how much, and what the
//! training measured.
//!
//! Stored and shown as one JSON object whose keys are sorted. The keys the registry reads are typed
//! fields; anything else (the metrics of an imported adapter, say) is kept as it came in `extra`, and
//! so is a known key whose value is not what this crate writes there, so every object loads and is
//! shown again unchanged.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sprout_domain::ChildId;

/// How a version was trained.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Objective {
    /// Supervised, on the template writer's texts: the first adapter of a base.
    Sft,
    /// KTO on parents' answers.
    Kto,
    /// The personal version: no adapter of its own, it writes with each child's own (see
    /// [`super::resolve`]).
    Personal,
    /// Another name, as an imported adapter's metrics give it.
    Other(String),
}

impl Objective {
    /// The name stored and shown.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sft => "sft",
            Self::Kto => "kto",
            Self::Personal => "personal",
            Self::Other(name) => name,
        }
    }
}

impl From<String> for Objective {
    fn from(name: String) -> Self {
        match name.as_str() {
            "sft" => Self::Sft,
            "kto" => Self::Kto,
            "personal" => Self::Personal,
            _ => Self::Other(name),
        }
    }
}

impl From<Objective> for String {
    fn from(objective: Objective) -> Self {
        match objective {
            Objective::Other(name) => name,
            known => known.as_str().to_owned(),
        }
    }
}

/// Answers that could not be trained on, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeftOut {
    /// The family did not consent to training.
    pub without_consent: usize,
    /// Written before prompts were kept with recommendations.
    pub without_prompt: usize,
}

/// What a training run measured: its loss curve, its cost and the held-out figures before and
/// after.
///
/// Read only when every field is there as written (an optional one as `null`): a report of another
/// shape stays in [`ModelMetrics::extra`] as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingFigures {
    /// Examples trained on.
    pub train_examples: usize,
    /// Examples held out for the figures before and after.
    pub held_out_examples: usize,
    /// Loss of every optimiser step, in order.
    pub losses: Vec<f64>,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Mean wall-clock seconds of a step.
    pub mean_step_seconds: f64,
    /// Seconds of the one-off reference pass (KTO).
    pub reference_seconds: f64,
    /// `(λ_D, λ_U)` used (KTO).
    #[serde(deserialize_with = "Option::deserialize")]
    pub weights: Option<(f64, f64)>,
    /// Held-out figures before training.
    pub held_out_before: HeldOutFigures,
    /// Held-out figures after training.
    pub held_out_after: HeldOutFigures,
    /// Peak resident memory of the trainer (Linux), in bytes.
    #[serde(deserialize_with = "Option::deserialize")]
    pub peak_rss_bytes: Option<u64>,
}

/// Held-out figures at one point of a run, by answer.
// `deserialize_with` makes an optional field required (`null` when absent from the run), so
// reading and writing again never adds a key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOutFigures {
    /// 👍 completions.
    #[serde(deserialize_with = "Option::deserialize")]
    pub desirable: Option<ClassFigures>,
    /// 👎 completions.
    #[serde(deserialize_with = "Option::deserialize")]
    pub undesirable: Option<ClassFigures>,
    /// Per-token log-likelihood of 👍 completions minus that of 👎 ones.
    #[serde(deserialize_with = "Option::deserialize")]
    pub logp_margin: Option<f64>,
    /// Mean KTO reward of 👍 completions minus that of 👎 ones.
    #[serde(deserialize_with = "Option::deserialize")]
    pub reward_margin: Option<f64>,
}

/// Held-out figures of one kind of answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassFigures {
    /// Completions measured.
    pub examples: usize,
    /// Mean log-likelihood per completion token.
    pub logp_per_token: f64,
    /// Mean KTO reward `log π − log π_ref` per completion (KTO only).
    #[serde(deserialize_with = "Option::deserialize")]
    pub reward: Option<f64>,
}

/// The metrics of a model version (see the module docs for how they are kept).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct ModelMetrics {
    /// How it was trained (`objective`); none for the template writers.
    pub objective: Option<Objective>,
    /// The child a child's own version was trained for (`child_id`).
    pub child: Option<ChildId>,
    /// Answers counted when it was trained, about its child for a child's own version
    /// (`feedback_count`): the next run is due a number of answers after these.
    pub trained_through: Option<u64>,
    /// Examples it was trained on.
    pub examples: Option<usize>,
    /// Answers left out of its training set.
    pub left_out: Option<LeftOut>,
    /// The version whose adapter its training continued from.
    pub from_version: Option<String>,
    /// The version a personal version writes with for a child without their own.
    pub fallback_version: Option<String>,
    /// What its training run measured (`report`).
    pub report: Option<TrainingFigures>,
    /// Every other key, as it came.
    pub extra: Map<String, Value>,
}

const OBJECTIVE: &str = "objective";
const CHILD: &str = "child_id";
const TRAINED_THROUGH: &str = "feedback_count";
const EXAMPLES: &str = "examples";
const LEFT_OUT: &str = "left_out";
const FROM_VERSION: &str = "from_version";
const FALLBACK_VERSION: &str = "fallback_version";
const REPORT: &str = "report";

impl ModelMetrics {
    /// Whether the version was trained with `objective`.
    pub fn is(&self, objective: &Objective) -> bool {
        self.objective.as_ref() == Some(objective)
    }
}

impl From<Map<String, Value>> for ModelMetrics {
    fn from(mut extra: Map<String, Value>) -> Self {
        Self {
            objective: take::<String>(&mut extra, OBJECTIVE).map(Objective::from),
            child: take(&mut extra, CHILD),
            trained_through: take(&mut extra, TRAINED_THROUGH),
            examples: take(&mut extra, EXAMPLES),
            left_out: take(&mut extra, LEFT_OUT),
            from_version: take(&mut extra, FROM_VERSION),
            fallback_version: take(&mut extra, FALLBACK_VERSION),
            report: take(&mut extra, REPORT),
            extra,
        }
    }
}

impl From<ModelMetrics> for Map<String, Value> {
    fn from(metrics: ModelMetrics) -> Self {
        let kto = metrics.is(&Objective::Kto);
        let mut map = metrics.extra;
        put(&mut map, OBJECTIVE, metrics.objective.map(String::from));
        put(&mut map, CHILD, metrics.child);
        put(&mut map, TRAINED_THROUGH, metrics.trained_through);
        put(&mut map, EXAMPLES, metrics.examples);
        put(&mut map, LEFT_OUT, metrics.left_out);
        put(&mut map, FROM_VERSION, metrics.from_version);
        put(&mut map, FALLBACK_VERSION, metrics.fallback_version);
        put(&mut map, REPORT, metrics.report);
        if kto {
            // A KTO run has always named its child and its starting point, `null` for a
            // pooled run and one from zero.
            for key in [CHILD, FROM_VERSION] {
                map.entry(key).or_insert(Value::Null);
            }
        }
        map
    }
}

/// Removes `key` from `map` when its value reads as a `T`; leaves it (and `null`) there otherwise.
fn take<T: DeserializeOwned>(map: &mut Map<String, Value>, key: &str) -> Option<T> {
    let value = T::deserialize(map.get(key)?).ok()?;
    map.remove(key);
    Some(value)
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Serialize>) {
    if let Some(value) = value {
        let value = serde_json::to_value(value).expect("metrics are plain data with string keys");
        map.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) -> (ModelMetrics, String) {
        let metrics: ModelMetrics = serde_json::from_str(text).expect("metrics");
        let again = serde_json::to_string(&metrics).expect("json");
        (metrics, again)
    }

    fn report() -> Value {
        let held_out = json!({
            "desirable": {"examples": 2, "logp_per_token": -1.5, "reward": 0.25},
            "undesirable": null,
            "logp_margin": null,
            "reward_margin": null,
        });
        json!({
            "train_examples": 8,
            "held_out_examples": 2,
            "losses": [0.69, 0.5],
            "steps": 2,
            "mean_step_seconds": 1.25,
            "reference_seconds": 0.5,
            "weights": [1.0, 1.33],
            "held_out_before": held_out,
            "held_out_after": held_out,
            "peak_rss_bytes": 3_000_000_000u64,
        })
    }

    #[test]
    fn what_training_keeps_reads_into_fields_and_writes_back_the_same_bytes() {
        let child = ChildId::new();
        let kept = [
            json!({"objective": "kto", "child_id": child, "feedback_count": 20, "examples": 18,
                   "left_out": {"without_consent": 2, "without_prompt": 0},
                   "from_version": "gemma-sft-0123", "report": report()}),
            json!({"objective": "kto", "child_id": null, "feedback_count": 10, "examples": 10,
                   "left_out": {"without_consent": 0, "without_prompt": 0},
                   "from_version": null, "report": report()}),
            json!({"objective": "sft", "examples": 8, "report": report()}),
            json!({"objective": "personal", "fallback_version": "template-1"}),
            json!({}),
        ];
        for value in kept {
            let text = value.to_string();
            let (metrics, again) = round_trip(&text);
            assert_eq!(again, text);
            // Only a `null` stays behind: the typed field says "none" for it.
            assert!(
                metrics.extra.values().all(Value::is_null),
                "{text}: {:?}",
                metrics.extra
            );
        }
        let (own, _) = round_trip(&json!({"objective": "kto", "child_id": child}).to_string());
        assert_eq!(own.child, Some(child));
        assert!(own.is(&Objective::Kto));
    }

    #[test]
    fn a_new_kto_run_names_its_child_and_start_even_when_there_is_none() {
        let metrics = ModelMetrics {
            objective: Some(Objective::Kto),
            trained_through: Some(10),
            ..ModelMetrics::default()
        };
        assert_eq!(
            serde_json::to_string(&metrics).expect("json"),
            r#"{"child_id":null,"feedback_count":10,"from_version":null,"objective":"kto"}"#
        );
    }

    #[test]
    fn anything_else_is_kept_as_it_came() {
        let imported = r#"{"child_id":"not a child","eval":{"helpful":0.61},"kto_loss":0.41,"objective":"dpo","report":{"steps":3}}"#;
        let (metrics, again) = round_trip(imported);
        assert_eq!(again, imported);
        assert_eq!(metrics.objective, Some(Objective::Other("dpo".into())));
        assert_eq!(metrics.child, None);
        assert_eq!(metrics.report, None);
        assert_eq!(metrics.extra["kto_loss"], 0.41);
        assert!(
            serde_json::from_str::<ModelMetrics>("[1, 2]").is_err(),
            "metrics are an object"
        );
    }

    #[test]
    fn a_report_missing_a_figure_is_kept_as_it_came() {
        let mut report = report();
        report.as_object_mut().expect("object").remove("peak_rss_bytes");
        let text = json!({ "objective": "sft", "report": report }).to_string();
        let (metrics, again) = round_trip(&text);
        assert_eq!(again, text);
        assert_eq!(metrics.report, None);
    }
}
