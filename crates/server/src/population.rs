//! What worked for other children: each child's latest effect estimates, pooled per
//! intervention kind into the population prior a child with few days is shrunk toward.
//!
//! The registry is filled as children's effects are computed (on request or by the
//! background refresh) and lives in this process; a child is pooled with the others,
//! never with itself.

use sprout_domain::{ChildId, InterventionKind};
use sprout_insights::effects::{EffectStatus, InterventionEffect};
use sprout_insights::pooling::{pool, Estimate, Population};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct PopulationRegistry {
    estimates: Mutex<HashMap<ChildId, Vec<(InterventionKind, Estimate)>>>,
}

impl PopulationRegistry {
    /// Keeps a child's estimates that rest on enough data.
    pub fn record(&self, child: ChildId, effects: &[InterventionEffect]) {
        let kept: Vec<(InterventionKind, Estimate)> = effects
            .iter()
            .filter(|e| e.status != EffectStatus::InsufficientData)
            .filter_map(|e| {
                Some((
                    e.kind,
                    Estimate {
                        effect: e.effect?,
                        std_error: e.std_error?,
                    },
                ))
            })
            .collect();
        if let Ok(mut estimates) = self.estimates.lock() {
            estimates.insert(child, kept);
        }
    }

    /// The pooled effect of `kind` over every child but `except`.
    pub fn population(&self, kind: InterventionKind, except: ChildId) -> Option<Population> {
        let estimates = self.estimates.lock().ok()?;
        let others: Vec<Estimate> = estimates
            .iter()
            .filter(|(child, _)| **child != except)
            .flat_map(|(_, list)| list.iter().filter(|(k, _)| *k == kind).map(|(_, e)| *e))
            .collect();
        pool(&others)
    }

    /// Drops a child's estimates (the child was erased).
    pub fn forget(&self, child: ChildId) {
        if let Ok(mut estimates) = self.estimates.lock() {
            estimates.remove(&child);
        }
    }
}

/// How long other families' answers are read once and reused for the approval priors.
const ANSWERS_FRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// Every family's answers, by child and kind, as last read.
type Answers = Vec<(ChildId, InterventionKind, bool)>;

/// Other families' 👍/👎 per kind of action, as the Beta priors a child's policy starts
/// from (`sprout_learn::prior`: method of moments over children, shrunk toward the
/// uniform prior while few children have answers). The answers are re-read from the
/// store every five minutes, so every node uses the same population.
#[derive(Default)]
pub struct ApprovalPopulation {
    answers: tokio::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Answers>)>>,
}

impl ApprovalPopulation {
    pub async fn priors(
        &self,
        store: &dyn sprout_store::Store,
        child: ChildId,
    ) -> sprout_store::Result<Vec<sprout_coach::ApprovalPrior>> {
        let answers = {
            let mut cached = self.answers.lock().await;
            match cached.as_ref() {
                Some((read, answers)) if read.elapsed() < ANSWERS_FRESH => answers.clone(),
                _ => {
                    let read: Answers = store
                        .feedback_examples()
                        .await?
                        .into_iter()
                        .map(|e| (e.child_id, e.action_kind, e.was_helpful))
                        .collect();
                    let read = std::sync::Arc::new(read);
                    *cached = Some((std::time::Instant::now(), read.clone()));
                    read
                }
            }
        };
        Ok(priors_without(&answers, child))
    }
}

/// The population priors from everyone's answers but `child`'s own (those update the
/// child's posterior; counting them in the prior too would count them twice).
fn priors_without(
    answers: &[(ChildId, InterventionKind, bool)],
    child: ChildId,
) -> Vec<sprout_coach::ApprovalPrior> {
    let mut counts: HashMap<(InterventionKind, ChildId), (u64, u64)> = HashMap::new();
    for &(other, kind, helpful) in answers.iter().filter(|(c, _, _)| *c != child) {
        let entry = counts.entry((kind, other)).or_default();
        if helpful {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    sprout_coach::policy::RECOMMENDABLE
        .into_iter()
        .filter_map(|kind| {
            let per_child: Vec<(u64, u64)> = counts
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|(_, c)| *c)
                .collect();
            if per_child.is_empty() {
                return None;
            }
            let prior = sprout_learn::prior::population_prior(&per_child);
            Some(sprout_coach::ApprovalPrior {
                kind,
                alpha: prior.alpha,
                beta: prior.beta,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_childs_own_answers_stay_out_of_its_prior() {
        let (me, others): (ChildId, Vec<ChildId>) =
            (ChildId::new(), (0..12).map(|_| ChildId::new()).collect());
        let mut answers = Vec::new();
        for other in &others {
            for i in 0..6 {
                answers.push((*other, InterventionKind::Reading, i < 5));
                answers.push((*other, InterventionKind::Mindfulness, i == 0));
            }
        }
        // My own answers say the opposite; they must not move my prior.
        for _ in 0..50 {
            answers.push((me, InterventionKind::Reading, false));
        }
        let priors = priors_without(&answers, me);
        let mean = |kind| {
            let p = priors.iter().find(|p| p.kind == kind).expect("prior");
            p.alpha / (p.alpha + p.beta)
        };
        assert!(mean(InterventionKind::Reading) > 0.7, "{priors:?}");
        assert!(mean(InterventionKind::Mindfulness) < 0.3, "{priors:?}");
        assert!(priors.iter().all(|p| p.kind != InterventionKind::OutdoorPlay));
    }
}
