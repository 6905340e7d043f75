//! Which version writes, and what fine-tuning trains next, read from the registered versions.
//!
//! A child's own version (trained on that child's answers only) cannot be A/B-tested alone: one
//! child is one arm. The child versions of a base are tested together through its *personal*
//! version, `<stem>-personal-<id of the active version>`: it has no adapter of its own, writes
//! for each child with the child's newest own adapter and for a child without one with its
//! fallback (the version that was active when it was made), and faces that version in an
//! experiment like any candidate. Rolled back, no child versions are trained until another
//! version is active.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sprout_domain::ChildId;

use super::{ModelMetrics, ModelStatus, ModelVersion, Objective};

/// Hex digits of the active version's hash in a personal version's name.
const PERSONAL_ID_DIGITS: usize = 12;

/// The version serving everyone outside experiments, if any.
pub fn active(models: &[ModelVersion]) -> Option<&ModelVersion> {
    models.iter().find(|m| m.status == ModelStatus::Active)
}

/// The registered version that writes when `version` is asked to write for `child`: the
/// version itself, or for a personal version the child's newest own version, else (no
/// child, or none of theirs) its fallback.
pub fn resolve<'a>(
    models: &'a [ModelVersion],
    version: &str,
    child: Option<ChildId>,
) -> Option<&'a ModelVersion> {
    let model = models.iter().find(|m| m.version == version)?;
    if !model.metrics.is(&Objective::Personal) {
        return Some(model);
    }
    child
        .and_then(|child| newest_own(models, &model.base, child))
        .or_else(|| {
            let fallback = model.metrics.fallback_version.as_deref()?;
            // A fallback is never itself personal (it was the active version then).
            models
                .iter()
                .find(|m| m.version == fallback && !m.metrics.is(&Objective::Personal))
        })
}

/// The name of the version that writes when `version` is asked to write for `child`
/// ([`resolve`]; `version` itself when it is not registered).
pub fn writing_version<'a>(models: &'a [ModelVersion], version: &'a str, child: Option<ChildId>) -> &'a str {
    resolve(models, version, child).map_or(version, |m| m.version.as_str())
}

/// `child`'s newest own version of `base` that has an adapter.
fn newest_own<'a>(models: &'a [ModelVersion], base: &str, child: ChildId) -> Option<&'a ModelVersion> {
    models
        .iter()
        .filter(|m| m.base == base && m.adapter_path.is_some() && m.metrics.child == Some(child))
        .max_by_key(|m| m.created_at)
}

/// The version that training continues from: the adapter that writes for `child` (or for
/// everyone, pooled) under the active version when it is a fine-tuned version of `base`,
/// else the newest supervised first adapter of `base`.
pub fn starting_point<'a>(
    models: &'a [ModelVersion],
    base: &str,
    child: Option<ChildId>,
) -> Option<&'a ModelVersion> {
    let adapted = |m: &&ModelVersion| m.base == base && m.adapter_path.is_some();
    child
        .and_then(|child| newest_own(models, base, child))
        .or_else(|| resolve(models, &active(models)?.version, child).filter(adapted))
        .or_else(|| {
            models
                .iter()
                .filter(adapted)
                .find(|m| m.metrics.is(&Objective::Sft))
        })
}

/// Answers already trained on by the newest KTO version of `base` (0 if none): the pooled
/// versions', or `child`'s own versions'.
pub fn trained_through(models: &[ModelVersion], base: &str, child: Option<ChildId>) -> u64 {
    models
        .iter()
        .filter(|m| m.base == base && m.metrics.is(&Objective::Kto) && m.metrics.child == child)
        .filter_map(|m| m.metrics.trained_through)
        .max()
        .unwrap_or(0)
}

/// Whether the personal version lost its experiment against the active version: child
/// versions would not be served, so none are trained until the active version changes.
pub fn personal_lost(models: &[ModelVersion], base: &str) -> bool {
    let Some(active) = active(models) else {
        return false;
    };
    let personal = personal_version(base, &active.version);
    models
        .iter()
        .any(|m| m.version == personal && m.status == ModelStatus::Retired)
}

/// The personal version of `base` tested against (or falling back to) `active`.
pub fn personal_version(base: &str, active: &str) -> String {
    let stem = base.strip_prefix("gguf:").unwrap_or(base);
    let id: String = Sha256::digest(active.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{stem}-personal-{}", &id[..PERSONAL_ID_DIGITS])
}

/// What a child's new version of `base` is tested through.
#[derive(Debug, Clone, PartialEq)]
pub enum Personal<'a> {
    /// The personal version, registered already: serving (the child's new version writes
    /// from now on), waiting, in its experiment, or rolled back (and it stays so).
    Registered(&'a ModelVersion),
    /// The personal version of the active one, to register and test against it.
    New(Box<ModelVersion>),
}

/// The personal version a child's new version of `base` is tested through; `None` while no
/// version is active. `now` is the time a new one is made.
pub fn personal_for<'a>(models: &'a [ModelVersion], base: &str, now: DateTime<Utc>) -> Option<Personal<'a>> {
    let active = active(models)?;
    if active.metrics.is(&Objective::Personal) {
        return Some(Personal::Registered(active));
    }
    let version = personal_version(base, &active.version);
    Some(match models.iter().find(|m| m.version == version) {
        Some(existing) => Personal::Registered(existing),
        None => Personal::New(Box::new(ModelVersion {
            version,
            base: base.to_owned(),
            adapter_path: None,
            data_snapshot: None,
            metrics: ModelMetrics {
                objective: Some(Objective::Personal),
                fallback_version: Some(active.version.clone()),
                ..ModelMetrics::default()
            },
            status: ModelStatus::Candidate,
            created_at: now,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "gguf:gemma";

    fn version(
        name: &str,
        status: ModelStatus,
        minutes: i64,
        metrics: ModelMetrics,
        adapter: bool,
    ) -> ModelVersion {
        ModelVersion {
            version: name.into(),
            base: BASE.into(),
            adapter_path: adapter.then(|| format!("/adapters/{name}")),
            data_snapshot: None,
            metrics,
            status,
            created_at: DateTime::UNIX_EPOCH + chrono::Duration::minutes(minutes),
        }
    }

    fn trained(objective: Objective, child: Option<ChildId>, through: Option<u64>) -> ModelMetrics {
        ModelMetrics {
            objective: Some(objective),
            child,
            trained_through: through,
            ..ModelMetrics::default()
        }
    }

    fn personal(fallback: &str) -> ModelMetrics {
        ModelMetrics {
            objective: Some(Objective::Personal),
            fallback_version: Some(fallback.into()),
            ..ModelMetrics::default()
        }
    }

    /// The template (active), a pooled adapter, two own versions of one child and one of
    /// another, and the personal version over the template.
    fn registry(ada: ChildId, ben: ChildId) -> Vec<ModelVersion> {
        use ModelStatus::{Active, Candidate};
        vec![
            version("template-1", Active, 0, ModelMetrics::default(), false),
            version("sft", Candidate, 1, trained(Objective::Sft, None, None), true),
            version(
                "ada-1",
                Candidate,
                2,
                trained(Objective::Kto, Some(ada), Some(10)),
                true,
            ),
            version(
                "ada-2",
                Candidate,
                3,
                trained(Objective::Kto, Some(ada), Some(20)),
                true,
            ),
            version(
                "ben-1",
                Candidate,
                4,
                trained(Objective::Kto, Some(ben), Some(10)),
                true,
            ),
            version("personal", Candidate, 5, personal("template-1"), false),
        ]
    }

    #[test]
    fn the_personal_version_writes_with_each_childs_newest_adapter_or_its_fallback() {
        let (ada, ben, cleo) = (ChildId::new(), ChildId::new(), ChildId::new());
        let models = registry(ada, ben);
        let writes = |child| resolve(&models, "personal", child).map(|m| m.version.as_str());
        assert_eq!(writes(Some(ada)), Some("ada-2"));
        assert_eq!(writes(Some(ben)), Some("ben-1"));
        assert_eq!(writes(Some(cleo)), Some("template-1"));
        assert_eq!(writes(None), Some("template-1"));
        // Any other version writes as itself, whoever it writes for.
        assert_eq!(
            resolve(&models, "ada-1", Some(ben)).map(|m| m.version.as_str()),
            Some("ada-1")
        );
        assert!(resolve(&models, "unknown", Some(ada)).is_none());
    }

    #[test]
    fn training_counts_and_continues_per_child_or_pooled() {
        let (ada, ben, cleo) = (ChildId::new(), ChildId::new(), ChildId::new());
        let mut models = registry(ada, ben);
        assert_eq!(trained_through(&models, BASE, Some(ada)), 20);
        assert_eq!(trained_through(&models, BASE, Some(cleo)), 0);
        assert_eq!(
            trained_through(&models, BASE, None),
            0,
            "child versions are not pooled ones"
        );
        let from =
            |models: &[ModelVersion], child| starting_point(models, BASE, child).map(|m| m.version.clone());
        assert_eq!(
            from(&models, Some(ada)).as_deref(),
            Some("ada-2"),
            "a child continues from their own"
        );
        assert_eq!(from(&models, Some(cleo)).as_deref(), Some("sft"));
        assert_eq!(from(&models, None).as_deref(), Some("sft"));
        // Once the personal version is active, a child without their own version starts
        // from what writes for them (its fallback, here a pooled adapter).
        models[0].status = ModelStatus::Retired;
        models.push(version(
            "pooled",
            ModelStatus::Retired,
            6,
            trained(Objective::Kto, None, None),
            true,
        ));
        models[5].status = ModelStatus::Active;
        models[5].metrics.fallback_version = Some("pooled".into());
        assert_eq!(from(&models, Some(cleo)).as_deref(), Some("pooled"));
        assert_eq!(from(&models, Some(ben)).as_deref(), Some("ben-1"));
    }

    #[test]
    fn no_child_versions_are_trained_while_the_personal_version_has_lost() {
        let mut models = registry(ChildId::new(), ChildId::new());
        models[5].version = personal_version(BASE, "template-1");
        assert!(!personal_lost(&models, BASE), "in its experiment");
        models[5].status = ModelStatus::Retired;
        assert!(personal_lost(&models, BASE));
        // A new active version gets its own chance.
        models[0].status = ModelStatus::Retired;
        models[1].status = ModelStatus::Active;
        assert!(!personal_lost(&models, BASE));
    }

    #[test]
    fn the_personal_version_is_named_after_the_version_it_replaces() {
        let a = personal_version(BASE, "template-1");
        assert!(a.starts_with("gemma-personal-"), "{a}");
        assert_eq!(a, personal_version(BASE, "template-1"));
        assert_ne!(a, personal_version(BASE, "gemma-kto-0123"));
    }

    #[test]
    fn a_childs_version_is_tested_through_one_personal_version_per_active_version() {
        let mut models = registry(ChildId::new(), ChildId::new());
        let now = DateTime::UNIX_EPOCH + chrono::Duration::minutes(7);
        let Some(Personal::New(new)) = personal_for(&models, BASE, now) else {
            panic!("none is registered for template-1");
        };
        assert_eq!(new.version, personal_version(BASE, "template-1"));
        assert_eq!(new.metrics, personal("template-1"));
        assert_eq!(
            (new.status, new.created_at, new.adapter_path.as_deref()),
            (ModelStatus::Candidate, now, None)
        );
        models.push(*new.clone());
        assert_eq!(personal_for(&models, BASE, now), Some(Personal::Registered(&new)));
        // Once a personal version serves, new child versions write through it.
        models[0].status = ModelStatus::Retired;
        models[5].status = ModelStatus::Active;
        let serving = models[5].clone();
        assert_eq!(
            personal_for(&models, BASE, now),
            Some(Personal::Registered(&serving))
        );
        models[5].status = ModelStatus::Retired;
        assert_eq!(personal_for(&models, BASE, now), None, "nothing is active");
    }
}
