//! `sprout simulate`: simulated children streamed into a running server through its
//! public API, exactly as devices and parents would send them.

use anyhow::{bail, Context};
use chrono::{DateTime, FixedOffset, Offset, Utc};
use clap::Args;
use serde_json::{json, Value};
use sprout_domain::{NewIntervention, NewSchoolEvent, NewSleepEpisode, Sample};
use sprout_sim::{SimConfig, SimulatedChild};
use std::time::Duration;

/// In real time, the longest wait before checking for due data again.
const MAX_IDLE: Duration = Duration::from_secs(60);

#[derive(Args)]
pub struct SimulateArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: String,
    /// A parent's bearer token (from POST /api/v1/auth/login).
    #[arg(long, env = "SPROUT_TOKEN")]
    pub token: String,
    /// How many children to create.
    #[arg(long, default_value_t = 3)]
    pub children: usize,
    /// Days of history to send (with --realtime: days to keep streaming).
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Send each sample when its time comes instead of all history at once.
    #[arg(long)]
    pub realtime: bool,
    /// Seed of the simulation: the same seed sends the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Samples per request (at most 10,000).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: u64,
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let response = self
            .client
            .post(&url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            bail!("POST {path} answered {status}: {message}");
        }
        Ok(body)
    }
}

fn event_json(event: &NewSchoolEvent) -> Value {
    json!({
        "event_type": event.event_type.as_str(),
        "start": event.start.to_rfc3339(),
        "end": event.end.map(|e| e.to_rfc3339()),
    })
}

fn intervention_json(intervention: &NewIntervention) -> Value {
    json!({
        "kind": intervention.kind.as_str(),
        "time": intervention.time.to_rfc3339(),
        "duration_min": intervention.duration_min,
    })
}

/// Sends the episode in the local clock the device reported.
fn sleep_json(episode: &NewSleepEpisode) -> Value {
    let offset = FixedOffset::east_opt(episode.utc_offset_min * 60).unwrap_or(Utc.fix());
    json!({
        "onset": episode.onset.with_timezone(&offset).to_rfc3339(),
        "offset": episode.offset.with_timezone(&offset).to_rfc3339(),
    })
}

fn samples_json(samples: &[Sample]) -> Value {
    json!({ "samples": samples })
}

/// A child on the server: its id and its device's token.
struct Registered {
    id: String,
    device_token: String,
}

async fn register(api: &Api, token: &str, sim: &SimulatedChild) -> anyhow::Result<Registered> {
    let profile = &sim.profile;
    let child = api
        .post(
            "/api/v1/children",
            token,
            &json!({
                "display_name": profile.display_name,
                "birth_date": profile.birth_date.to_string(),
                "timezone": profile.timezone.name(),
            }),
        )
        .await?;
    let id = child["id"]
        .as_str()
        .context("the server returned no child id")?
        .to_owned();
    let device = api
        .post(
            &format!("/api/v1/children/{id}/devices"),
            token,
            &json!({"name": "simulated watch"}),
        )
        .await?;
    let device_token = device["token"]
        .as_str()
        .context("the server returned no device token")?
        .to_owned();
    Ok(Registered { id, device_token })
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let api = Api {
        client: reqwest::Client::new(),
        base: args.server.trim_end_matches('/').to_owned(),
    };
    let now = Utc::now();
    // History ends now; a real-time run simulates the days ahead and waits for them.
    let end = if args.realtime {
        now + chrono::Duration::days(i64::from(args.days))
    } else {
        now
    };
    let config = SimConfig {
        seed: args.seed,
        children: args.children,
        days: args.days,
        end,
        ..SimConfig::default()
    };
    let batch = usize::try_from(args.batch).unwrap_or(1_000);
    let mut streams = Vec::new();
    for index in 0..args.children {
        let sim = sprout_sim::simulate_child(&config, index);
        let child = register(&api, &args.token, &sim).await?;
        // The school calendar is known ahead: all of it goes at once.
        for event in &sim.events {
            api.post(
                &format!("/api/v1/children/{}/events", child.id),
                &child.device_token,
                &event_json(event),
            )
            .await?;
        }
        streams.push((child, sim));
    }
    let mut sent = vec![Progress::default(); streams.len()];
    loop {
        let now = Utc::now();
        for ((child, sim), progress) in streams.iter().zip(sent.iter_mut()) {
            send_due(&api, child, sim, progress, now, batch).await?;
        }
        let next = streams
            .iter()
            .zip(&sent)
            .filter_map(|((_, sim), p)| p.next_due(sim))
            .min();
        match next {
            // Without --realtime only history is sent; a night still in progress is not.
            None => break,
            Some(_) if !args.realtime => break,
            Some(due) => {
                let wait = (due - Utc::now()).to_std().unwrap_or_default().min(MAX_IDLE);
                tokio::time::sleep(wait).await;
            }
        }
    }
    for ((child, sim), progress) in streams.iter().zip(&sent) {
        println!(
            "{}",
            json!({
                "child_id": child.id,
                "chronotype": sim.truth.chronotype.as_str(),
                "samples": progress.samples,
                "events": sim.events.len(),
                "interventions": progress.interventions,
                "sleep_episodes": progress.sleep_episodes,
            })
        );
    }
    Ok(())
}

/// How far each kind of record has been sent.
#[derive(Clone, Default)]
struct Progress {
    samples: usize,
    interventions: usize,
    sleep_episodes: usize,
}

impl Progress {
    /// When the next unsent record becomes due.
    fn next_due(&self, sim: &SimulatedChild) -> Option<DateTime<Utc>> {
        [
            sim.samples.get(self.samples).map(|s| s.time),
            sim.interventions.get(self.interventions).map(|i| i.time),
            sim.sleep_episodes.get(self.sleep_episodes).map(|e| e.offset),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

async fn send_due(
    api: &Api,
    child: &Registered,
    sim: &SimulatedChild,
    progress: &mut Progress,
    now: DateTime<Utc>,
    batch: usize,
) -> anyhow::Result<()> {
    let due = sim.samples[progress.samples..].partition_point(|s| s.time <= now);
    for chunk in sim.samples[progress.samples..progress.samples + due].chunks(batch) {
        api.post(
            &format!("/api/v1/children/{}/metrics", child.id),
            &child.device_token,
            &samples_json(chunk),
        )
        .await?;
        progress.samples += chunk.len();
    }
    while let Some(intervention) = sim
        .interventions
        .get(progress.interventions)
        .filter(|i| i.time <= now)
    {
        let path = format!("/api/v1/children/{}/interventions", child.id);
        api.post(&path, &child.device_token, &intervention_json(intervention))
            .await?;
        progress.interventions += 1;
    }
    // An episode is known once the child has woken up.
    while let Some(episode) = sim
        .sleep_episodes
        .get(progress.sleep_episodes)
        .filter(|e| e.offset <= now)
    {
        let path = format!("/api/v1/children/{}/sleep-episodes", child.id);
        api.post(&path, &child.device_token, &sleep_json(episode)).await?;
        progress.sleep_episodes += 1;
    }
    Ok(())
}
