//! Writing simulated children straight into a store (demo and benchmarks).

use anyhow::Context;
use chrono::Utc;
use sprout_domain::{Child, FamilyId, NewChild, SampleBatch, MAX_BATCH_SAMPLES};
use sprout_sim::SimulatedChild;
use sprout_store::Store;

/// Creates the child in `family` and stores all of its simulated data.
pub async fn store_child(store: &dyn Store, family: FamilyId, sim: &SimulatedChild) -> anyhow::Result<Child> {
    let profile = &sim.profile;
    let new_child = NewChild::parse(
        &profile.display_name,
        &profile.birth_date.to_string(),
        profile.timezone.name(),
        Utc::now(),
    )
    .context("simulated child profile")?;
    let child = store.create_child(family, &new_child).await?;
    for chunk in sim.samples.chunks(MAX_BATCH_SAMPLES) {
        let batch = SampleBatch::from_trusted(chunk.to_vec()).context("simulated batch")?;
        store.insert_samples(child.id, &batch).await?;
    }
    for event in &sim.events {
        store.insert_event(child.id, event).await?;
    }
    for intervention in &sim.interventions {
        store.insert_intervention(child.id, intervention).await?;
    }
    for episode in &sim.sleep_episodes {
        store.insert_sleep_episode(child.id, episode).await?;
    }
    Ok(child)
}
