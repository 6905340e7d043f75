//! What other children show, read from the store so every node (and a restarted one)
//! pools the same children:
//!
//! * [`PopulationRegistry`]: each child's latest effect estimates, pooled per
//!   intervention kind into the population prior a child with few days is shrunk toward;
//! * [`ApprovalPopulation`]: other families' 👍/👎, as the priors of a child's policy.
//!
//! Both are read once and reused for [`REREAD_AFTER`] ([`Reread`]); a node's own new
//! estimates show at once. A child is pooled with the others, never with itself.

use chrono::{DateTime, Utc};
use sprout_domain::{ChildId, InterventionKind};
use sprout_insights::effects::{EffectStatus, InterventionEffect};
use sprout_insights::pooling::{pool, Estimate, Population};
use sprout_store::{ChildEffectEstimate, EffectEstimate, Store, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long what other children show is reused once read: another node's new estimates
/// and answers reach this one within it, and a busy node reads the whole population
/// once per period instead of once per request.
const REREAD_AFTER: Duration = Duration::from_secs(300);

/// A value read from the store and reused for [`REREAD_AFTER`].
struct Reread<T> {
    /// The value as last read, and until when it is reused.
    last: tokio::sync::Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for Reread<T> {
    fn default() -> Self {
        Self {
            last: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T: Clone> Reread<T> {
    /// The value as last read, or `read` now when that is older than [`REREAD_AFTER`].
    async fn get<F>(&self, read: impl FnOnce() -> F) -> sprout_store::Result<Arc<T>>
    where
        F: Future<Output = sprout_store::Result<T>>,
    {
        let mut last = self.last.lock().await;
        match last.as_ref() {
            Some((until, value)) if Instant::now() < *until => Ok(value.clone()),
            _ => {
                let value = Arc::new(read().await?);
                *last = Some((Instant::now() + REREAD_AFTER, value.clone()));
                Ok(value)
            }
        }
    }

    /// Makes the next [`Reread::get`] read again, as if [`REREAD_AFTER`] had passed.
    #[cfg(test)]
    async fn expire(&self) {
        if let Some((until, _)) = self.last.lock().await.as_mut() {
            *until = Instant::now();
        }
    }

    /// Applies this node's own change to the value as last read, so the node sees it at
    /// once rather than at the next read.
    async fn amend(&self, change: impl FnOnce(&mut T)) {
        if let Some((_, value)) = self.last.lock().await.as_mut() {
            change(Arc::make_mut(value));
        }
    }
}

/// Every child's latest effect estimates that rest on enough data, by child.
#[derive(Clone, Default)]
pub struct Estimates(HashMap<ChildId, Vec<EffectEstimate>>);

impl Estimates {
    fn read(rows: Vec<ChildEffectEstimate>) -> Self {
        let mut by_child: HashMap<ChildId, Vec<EffectEstimate>> = HashMap::new();
        for row in rows {
            by_child.entry(row.child_id).or_default().push(row.estimate);
        }
        Self(by_child)
    }

    /// The pooled effect of `kind` over every child but `except`.
    pub fn population(&self, kind: InterventionKind, except: ChildId) -> Option<Population> {
        let others: Vec<Estimate> = self
            .0
            .iter()
            .filter(|(child, _)| **child != except)
            .flat_map(|(_, list)| list.iter().filter(|e| e.kind == kind))
            .map(|e| Estimate {
                effect: e.effect,
                std_error: e.std_error,
            })
            .collect();
        pool(&others)
    }
}

/// Estimates waiting to be stored, by child, with when they were computed.
type Unsaved = HashMap<ChildId, (DateTime<Utc>, Vec<EffectEstimate>)>;

/// Each child's latest effect estimates: stored when computed (on request or by the
/// background refresh, on any node), pooled from what the store holds.
#[derive(Default)]
pub struct PopulationRegistry {
    stored: Reread<Estimates>,
    /// Estimates computed here that the store did not take (it was unreachable): pooled
    /// here all the same, and written again at each re-read until it takes them.
    unsaved: Mutex<Unsaved>,
}

impl PopulationRegistry {
    /// Every child's latest estimates, to pool from.
    pub async fn estimates(&self, store: &dyn Store) -> sprout_store::Result<Arc<Estimates>> {
        self.stored
            .get(|| async {
                self.write_unsaved(store).await;
                let mut estimates = Estimates::read(store.effect_estimates(None).await?);
                for (child, (_, kept)) in self.unsaved_now() {
                    estimates.0.insert(child, kept);
                }
                Ok(estimates)
            })
            .await
    }

    /// Replaces a child's estimates with those of `effects` that rest on enough data. A
    /// store that cannot take them does not fail the analysis: they are kept here and
    /// written again later.
    pub async fn record(
        &self,
        store: &dyn Store,
        child: ChildId,
        computed_at: DateTime<Utc>,
        effects: &[InterventionEffect],
    ) {
        let kept = resting_on_enough_data(effects);
        match store.replace_effect_estimates(child, computed_at, &kept).await {
            Ok(()) => self.saved(child, computed_at),
            // Erased while its effects were computed: pooled nowhere.
            Err(StoreError::NotFound { .. }) => return self.forget(child).await,
            Err(e) => {
                tracing::warn!(error = %e, "could not store the child's effect estimates; \
                    pooling them on this node and writing them again at the next re-read");
                if let Ok(mut unsaved) = self.unsaved.lock() {
                    unsaved.insert(child, (computed_at, kept.clone()));
                }
            }
        }
        self.stored
            .amend(|estimates| {
                estimates.0.insert(child, kept);
            })
            .await;
    }

    /// Drops a child's estimates (the child was erased, and its rows with it).
    pub async fn forget(&self, child: ChildId) {
        if let Ok(mut unsaved) = self.unsaved.lock() {
            unsaved.remove(&child);
        }
        self.stored
            .amend(|estimates| {
                estimates.0.remove(&child);
            })
            .await;
    }

    /// Writes again what the store did not take before; what it still refuses waits for
    /// the next re-read.
    async fn write_unsaved(&self, store: &dyn Store) {
        for (child, (computed_at, kept)) in self.unsaved_now() {
            match store.replace_effect_estimates(child, computed_at, &kept).await {
                // Stored now, or the child was erased meanwhile: nothing left to write.
                Ok(()) | Err(StoreError::NotFound { .. }) => self.saved(child, computed_at),
                Err(e) => tracing::warn!(error = %e, "still cannot store a child's effect estimates"),
            }
        }
    }

    fn unsaved_now(&self) -> Unsaved {
        self.unsaved.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// The child's estimates computed up to `computed_at` need no further write (a
    /// later computation's stay).
    fn saved(&self, child: ChildId, computed_at: DateTime<Utc>) {
        if let Ok(mut unsaved) = self.unsaved.lock() {
            if unsaved.get(&child).is_some_and(|(at, _)| *at <= computed_at) {
                unsaved.remove(&child);
            }
        }
    }
}

/// A child's estimates that rest on enough data to pool.
fn resting_on_enough_data(effects: &[InterventionEffect]) -> Vec<EffectEstimate> {
    effects
        .iter()
        .filter(|e| e.status != EffectStatus::InsufficientData)
        .filter_map(|e| {
            Some(EffectEstimate {
                kind: e.kind,
                effect: e.effect?,
                std_error: e.std_error?,
            })
        })
        .collect()
}

/// Every family's answers, by child and kind, as last read.
type Answers = Vec<(ChildId, InterventionKind, bool)>;

/// Other families' 👍/👎 per kind of action, as the Beta priors a child's policy starts
/// from (`sprout_learn::prior`: method of moments over children, shrunk toward the
/// uniform prior while few children have answers).
#[derive(Default)]
pub struct ApprovalPopulation {
    answers: Reread<Answers>,
}

impl ApprovalPopulation {
    pub async fn priors(
        &self,
        store: &dyn Store,
        child: ChildId,
    ) -> sprout_store::Result<Vec<sprout_coach::ApprovalPrior>> {
        let answers = self
            .answers
            .get(|| async {
                Ok(store
                    .feedback_examples()
                    .await?
                    .into_iter()
                    .map(|e| (e.child_id, e.action_kind, e.was_helpful))
                    .collect())
            })
            .await?;
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
    use sprout_insights::effects::EffectStatus;
    use sprout_store::testing::TestDb;
    use sprout_store::Backend;

    /// A Reading effect estimated from enough data.
    fn reading(effect: f64) -> InterventionEffect {
        InterventionEffect {
            status: EffectStatus::Inconclusive,
            effect: Some(effect),
            std_error: Some(0.03),
            ..InterventionEffect::not_estimated(InterventionKind::Reading, 20, 40)
        }
    }

    async fn child(store: &dyn Store, email: &str) -> ChildId {
        let (family, _) = store
            .create_family("F", &sprout_domain::Email::parse(email).expect("email"), "h")
            .await
            .expect("family");
        let new = sprout_domain::NewChild::parse("Mia", "2016-04-01", "UTC", Utc::now()).expect("child");
        store.create_child(family, &new).await.expect("child").id
    }

    /// How many children the Reading population of `observer` is pooled from.
    async fn pooled_children(registry: &PopulationRegistry, store: &dyn Store, observer: ChildId) -> usize {
        registry
            .estimates(store)
            .await
            .expect("estimates")
            .population(InterventionKind::Reading, observer)
            .map_or(0, |p| p.children)
    }

    /// A store that cannot take a child's estimates fails nothing and loses nothing:
    /// this node pools them at once, and they reach the store (and so every other node)
    /// once it takes writes again. A child erased meanwhile is pooled nowhere.
    async fn estimates_the_store_refuses_are_pooled_here_and_written_later(backend: Backend) {
        let db = TestDb::new(backend).await;
        let store = db.store.as_ref();
        let [first, second, third, observer] = [
            child(store, "a@example.org").await,
            child(store, "b@example.org").await,
            child(store, "c@example.org").await,
            child(store, "d@example.org").await,
        ];
        let node = PopulationRegistry::default();
        assert_eq!(pooled_children(&node, store, observer).await, 0);

        db.execute_admin("ALTER TABLE effect_estimates RENAME TO effect_estimates_away")
            .await
            .expect("take the table away");
        for (child, effect) in [(first, -0.10), (second, -0.12)] {
            node.record(store, child, Utc::now(), &[reading(effect)]).await;
        }
        assert_eq!(
            pooled_children(&node, store, observer).await,
            2,
            "pooled here at once"
        );

        db.execute_admin("ALTER TABLE effect_estimates_away RENAME TO effect_estimates")
            .await
            .expect("put the table back");
        assert!(
            store.effect_estimates(None).await.expect("read").is_empty(),
            "not stored yet"
        );
        node.stored.expire().await;
        assert_eq!(pooled_children(&node, store, observer).await, 2);
        assert_eq!(
            store.effect_estimates(None).await.expect("read").len(),
            2,
            "written at the re-read"
        );
        let another_node = PopulationRegistry::default();
        assert_eq!(pooled_children(&another_node, store, observer).await, 2);

        store.erase_child(third).await.expect("erase");
        node.record(store, third, Utc::now(), &[reading(-0.5)]).await;
        assert_eq!(
            pooled_children(&node, store, observer).await,
            2,
            "the erased child is not pooled"
        );
    }

    #[tokio::test]
    async fn estimates_the_store_refuses_are_pooled_here_and_written_later_on_sqlite() {
        estimates_the_store_refuses_are_pooled_here_and_written_later(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn estimates_the_store_refuses_are_pooled_here_and_written_later_on_postgres() {
        estimates_the_store_refuses_are_pooled_here_and_written_later(Backend::Postgres).await;
    }

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
