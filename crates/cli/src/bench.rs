//! `sprout bench recommend`: one template recommendation end to end, from a child's
//! data to the JSON a parent gets. (Ingestion is measured by the `ingest` bench target,
//! which needs the store's test databases.)

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::json;
use sprout_sim::SimConfig;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// A template recommendation end to end: a child's data to the JSON a parent gets.
    Recommend(RecommendArgs),
}

#[derive(Args)]
pub struct RecommendArgs {
    /// Recommendations to time.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
    /// Days of simulated minute data behind each one.
    #[arg(long, default_value_t = 60)]
    pub days: u32,
}

/// Aim for one template recommendation, end to end.
const RECOMMEND_AIM_MS: f64 = 5.0;

/// Times the whole pipeline a recommendation request runs once its data is loaded:
/// effects, chronotype, forecast, sleep, policy, facts, template, guardrails, JSON.
fn recommend(args: &RecommendArgs) -> anyhow::Result<()> {
    use sprout_domain::ChildId;
    let config = SimConfig {
        seed: 3,
        children: 3,
        days: args.days,
        end: Utc::now(),
        ..SimConfig::default()
    };
    let sim = sprout_sim::simulate_child(&config, 2);
    let child = ChildId::new();
    let records = sim.stored_records(child);
    let data = sprout_insights::ChildData {
        tz: sim.profile.timezone.tz(),
        birth_date: sim.profile.birth_date,
        samples: &sim.samples,
        events: &records.events,
        interventions: &records.interventions,
        sleep_episodes: &records.sleep_episodes,
        now: Utc::now(),
    };
    // The server's path: the background refresh has warmed the child's forecast when new
    // data arrived, so a recommendation reads it from the cache (as JSON). The cold row
    // computes the forecast inside the request, as after a cache expiry.
    let cached = serde_json::to_string(&sprout_insights::forecast::stress_forecast(&data, 24).ok())?;
    println!(
        "template recommendation, {} days of minute data ({} samples), {} runs:",
        args.days,
        sim.samples.len(),
        args.iterations.max(1)
    );
    println!("| path | p50 ms | p99 ms | aim p99 ms |");
    println!("|---|---:|---:|---:|");
    let mut text = String::new();
    for warm in [true, false] {
        let mut times = Vec::with_capacity(args.iterations);
        for i in 0..args.iterations.max(1) {
            let started = Instant::now();
            let stress = if warm {
                sprout_coach::StressInput::Known(serde_json::from_str(&cached)?)
            } else {
                sprout_coach::StressInput::Compute
            };
            let plan = sprout_coach::plan(
                &data,
                &child.to_string(),
                Some(12),
                &[],
                &[],
                &|_| None,
                stress,
                &sprout_domain::Preferences::default(),
                sprout_domain::ClockFormat::TwelveHour,
            )
            .context("no slot left")?;
            let written = sprout_coach::template::write(&plan.facts, i);
            sprout_coach::guardrails::check(&written, &plan.facts)
                .map_err(|v| anyhow::anyhow!("guardrails: {v}"))?;
            let answer = serde_json::to_string(&json!({
                "recommendation": written,
                "forecast": plan.stress,
                "sleep": plan.sleep,
                "action": plan.decision,
                "facts": plan.facts,
            }))?;
            times.push(started.elapsed().as_secs_f64() * 1_000.0);
            text = written;
            std::hint::black_box(answer);
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let path = if warm {
            "forecast from the cache (the server's path)"
        } else {
            "forecast computed in the request"
        };
        println!(
            "| {path} | {:.2} | {:.2} | {RECOMMEND_AIM_MS:.1} |",
            at(0.5),
            at(0.99)
        );
    }
    println!("example: {text}");
    Ok(())
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Recommend(args) => tokio::task::spawn_blocking(move || recommend(&args)).await?,
    }
}
