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
