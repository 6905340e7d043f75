//! A load generator for running Sprout nodes: many parents reading, many devices
//! uploading, all through the public HTTP API. `bench/load_test.sh` starts the nodes and
//! runs it; it can also be pointed at any deployment.
//!
//! ```text
//! load run --nodes URL[,URL...] --admin-token T --label TEXT [--out FILE.json]
//!          [--parents 1000] [--devices 200] [--duration 30] [--warmup 5]
//!          [--history-days 3] [--batch 5] [--think-ms 1000] [--seed-concurrency 8]
//! load table FILE.json [FILE.json ...]
//! ```
//!
//! `run` seeds through the API: the admin token creates one family per parent, each
//! parent logs in and adds a child with `--history-days` of simulated minute data,
//! school events, interventions and sleep; the first `--devices` children get a device.
//! Every parent then opens each of their child's recommendation and forecast once
//! (warming the analyses), and the load starts:
//!
//! * each parent sends one request every `--think-ms` (random phase), in turn the list
//!   of children, the child's recommendation and the child's forecast;
//! * each device posts a batch of `--batch` new samples every second.
//!
//! Requests go to the nodes in turn, as a round-robin load balancer would send them.
//! Nothing is recorded during the first `--warmup` seconds; then requests sent during
//! `--duration` seconds are. Latency runs from sending the request to having read the
//! whole body. Every transport error, timeout and non-2xx answer is an error. A parent
//! or device whose next send is more than 100 ms behind schedule (the client itself
//! could not keep up, or the previous answer was slow) counts as a late send.

use bytes::Bytes;
use chrono::{FixedOffset, Offset, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use rand::Rng;
use serde_json::{json, Value};
use sprout_domain::Sample;
use sprout_sim::{SimConfig, SimulatedChild};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, anyhow::Error>;

const PASSWORD: &str = "load test password, long enough";
/// Distinct simulated children; parent `i` gets profile `i % PROFILES`.
const PROFILES: usize = 24;
/// A send this far behind its schedule counts as late.
const LATE: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Samples per request while seeding history (the API takes up to 10,000).
const HISTORY_BATCH: usize = 5_000;

const KINDS: [&str; 4] = ["children", "recommendation", "forecast", "metrics"];

struct RunArgs {
    nodes: Vec<String>,
    admin_token: String,
    label: String,
    out: Option<String>,
    parents: usize,
    devices: usize,
    duration: Duration,
    warmup: Duration,
    history_days: u32,
    batch: usize,
    think: Duration,
    seed_concurrency: usize,
}

fn usage() -> anyhow::Error {
    anyhow::anyhow!(
        "usage: load run --nodes URL[,URL...] --admin-token T --label TEXT [--out FILE] [--parents N] \
         [--devices N] [--duration S] [--warmup S] [--history-days D] [--batch N] [--think-ms MS] \
         [--seed-concurrency N] | load table FILE.json..."
    )
}

fn parse_run(args: &[String]) -> Result<RunArgs> {
    let mut run = RunArgs {
        nodes: Vec::new(),
        admin_token: std::env::var("SPROUT_ADMIN_TOKEN").unwrap_or_default(),
        label: String::from("sprout"),
        out: None,
        parents: 1_000,
        devices: 200,
        duration: Duration::from_secs(30),
        warmup: Duration::from_secs(5),
        history_days: 3,
        batch: 5,
        think: Duration::from_millis(1_000),
        seed_concurrency: 8,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        let number = || -> Result<u64> {
            value
                .parse::<u64>()
                .map_err(|_| anyhow::anyhow!("{flag}: '{value}' is not a whole number"))
        };
        match flag.as_str() {
            "--nodes" => {
                run.nodes = value
                    .split(',')
                    .map(|n| n.trim().trim_end_matches('/').to_owned())
                    .filter(|n| !n.is_empty())
                    .collect();
            }
            "--admin-token" => run.admin_token = value.clone(),
            "--label" => run.label = value.clone(),
            "--out" => run.out = Some(value.clone()),
            "--parents" => run.parents = usize::try_from(number()?)?,
            "--devices" => run.devices = usize::try_from(number()?)?,
            "--duration" => run.duration = Duration::from_secs(number()?),
            "--warmup" => run.warmup = Duration::from_secs(number()?),
            "--history-days" => run.history_days = u32::try_from(number()?)?,
            "--batch" => run.batch = usize::try_from(number()?)?,
            "--think-ms" => run.think = Duration::from_millis(number()?),
            "--seed-concurrency" => run.seed_concurrency = usize::try_from(number()?)?,
            _ => return Err(usage()),
        }
    }
    if run.nodes.is_empty() || run.admin_token.is_empty() {
        return Err(usage());
    }
    if run.parents == 0
        || run.devices > run.parents
        || !(1..=10_000).contains(&run.batch)
        || run.duration.is_zero()
        || run.think.is_zero()
        || run.history_days == 0
        || run.seed_concurrency == 0
    {
        anyhow::bail!(
            "need at least one parent, at most one device per parent's child, a batch of 1 to 10,000, \
             a non-zero duration, think time, history and seeding concurrency"
        );
    }
    Ok(run)
}

/// The nodes, in turn.
struct Nodes {
    urls: Vec<String>,
    next: AtomicUsize,
}

impl Nodes {
    fn url(&self, path: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len();
        format!("{}{path}", self.urls[n])
    }
}

/// One seeding call: the answer's JSON body, or an error naming the call and the status.
async fn call(
    http: &reqwest::Client,
    nodes: &Nodes,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Value> {
    let mut request = http.request(method.clone(), nodes.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{method} {path}: {e}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| anyhow::anyhow!("{method} {path}: reading the answer: {e}"))?;
    if !status.is_success() {
        anyhow::bail!(
            "{method} {path} answered {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post_bytes(
    http: &reqwest::Client,
    nodes: &Nodes,
    path: &str,
    token: &str,
    body: Bytes,
) -> Result<()> {
    let response = http
        .post(nodes.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST {path}: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!(
            "POST {path} answered {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    Ok(())
}

/// A simulated child's history, as request bodies ready to send.
struct Profile {
    child: Value,
    samples: usize,
    sample_bodies: Vec<Bytes>,
    records: Vec<(&'static str, Value)>,
    /// Values for live samples (the times are replaced).
    live: Vec<Sample>,
}

fn profile(sim: &SimulatedChild) -> Result<Profile> {
    let child = json!({
        "display_name": sim.profile.display_name,
        "birth_date": sim.profile.birth_date.to_string(),
        "timezone": sim.profile.timezone.name(),
    });
    let sample_bodies = sim
        .samples
        .chunks(HISTORY_BATCH)
        .map(|chunk| serde_json::to_vec(&json!({ "samples": chunk })).map(Bytes::from))
        .collect::<std::result::Result<_, _>>()?;
    let mut records = Vec::new();
    for event in &sim.events {
        records.push((
            "events",
            json!({
                "event_type": event.event_type.as_str(),
                "start": event.start.to_rfc3339(),
                "end": event.end.map(|e| e.to_rfc3339()),
            }),
        ));
    }
    for intervention in &sim.interventions {
        records.push((
            "interventions",
            json!({
                "kind": intervention.kind.as_str(),
                "time": intervention.time.to_rfc3339(),
                "duration_min": intervention.duration_min,
            }),
        ));
    }
    for episode in &sim.sleep_episodes {
        let offset = FixedOffset::east_opt(episode.utc_offset_min * 60).unwrap_or(Utc.fix());
        records.push((
            "sleep-episodes",
            json!({
                "onset": episode.onset.with_timezone(&offset).to_rfc3339(),
                "offset": episode.offset.with_timezone(&offset).to_rfc3339(),
            }),
        ));
    }
    let live: Vec<Sample> = sim.samples.iter().rev().take(600).cloned().collect();
    if live.is_empty() {
        anyhow::bail!("the simulation produced no samples");
    }
    Ok(Profile {
        child,
        samples: sim.samples.len(),
        sample_bodies,
        records,
        live,
    })
}

/// A seeded parent: their token, their child, and the child's device token if it has one.
struct Seeded {
    token: String,
    child: String,
    device: Option<String>,
    profile: usize,
}

async fn seed_one(
    http: &reqwest::Client,
    nodes: &Nodes,
    args: &RunArgs,
    profiles: &[Profile],
    tag: &str,
    i: usize,
) -> Result<Seeded> {
    use reqwest::Method;
    let email = format!("load-{tag}-{i}@example.org");
    call(
        http,
        nodes,
        Method::POST,
        "/api/v1/families",
        Some(&args.admin_token),
        Some(&json!({"name": format!("Load {i}"), "parent_email": email, "parent_password": PASSWORD})),
    )
    .await?;
    let login = call(
        http,
        nodes,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": PASSWORD})),
    )
    .await?;
    let token = login["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login gave no token: {login}"))?
        .to_owned();
    let p = i % profiles.len();
    let profile = &profiles[p];
    let child = call(
        http,
        nodes,
        Method::POST,
        "/api/v1/children",
        Some(&token),
        Some(&profile.child),
    )
    .await?;
    let child = child["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no child id in {child}"))?
        .to_owned();
    let device = if i < args.devices {
        let device = call(
            http,
            nodes,
            Method::POST,
            &format!("/api/v1/children/{child}/devices"),
            Some(&token),
            Some(&json!({"name": "load watch"})),
        )
        .await?;
        Some(
            device["token"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("no device token in {device}"))?
                .to_owned(),
        )
    } else {
        None
    };
    let writer = device.as_deref().unwrap_or(&token);
    for body in &profile.sample_bodies {
        post_bytes(
            http,
            nodes,
            &format!("/api/v1/children/{child}/metrics"),
            writer,
            body.clone(),
        )
        .await?;
    }
    for (what, body) in &profile.records {
        let path = format!("/api/v1/children/{child}/{what}");
        call(http, nodes, Method::POST, &path, Some(writer), Some(body)).await?;
    }
    Ok(Seeded {
        token,
        child,
        device,
        profile: p,
    })
}

/// One measured request.
struct Record {
    kind: usize,
    millis: f64,
    /// `None` when the answer was a 2xx with a body; otherwise what went wrong.
    error: Option<String>,
}

/// Sends one request and reads the whole answer; any failure is an error record.
async fn timed(kind: usize, request: reqwest::RequestBuilder) -> Record {
    let started = Instant::now();
    let outcome = match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(body) if status.is_success() && !body.is_empty() => None,
                Ok(_) if status.is_success() => Some(format!("{status} with an empty body")),
                Ok(body) => Some(format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                )),
                Err(e) => Some(format!("reading the body: {e}")),
            }
        }
        Err(e) if e.is_timeout() => Some(String::from("timeout")),
        Err(e) => Some(format!("transport: {e}")),
    };
    Record {
        kind,
        millis: started.elapsed().as_secs_f64() * 1_000.0,
        error: outcome,
    }
}

/// What one client recorded: its requests and how many of its sends were late.
#[derive(Default)]
struct ClientLog {
    records: Vec<Record>,
    late: u64,
}

/// When recording starts and when sending stops.
#[derive(Clone, Copy)]
struct Window {
    record_from: tokio::time::Instant,
    stop_at: tokio::time::Instant,
}

async fn parent_loop(
    http: reqwest::Client,
    nodes: Arc<Nodes>,
    seeded: Arc<Vec<Seeded>>,
    i: usize,
    think: Duration,
    window: Window,
    phase: Duration,
) -> ClientLog {
    let mut log = ClientLog::default();
    let parent = &seeded[i];
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + phase, think);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut turn = i;
    loop {
        let due = ticker.tick().await;
        let now = tokio::time::Instant::now();
        if now >= window.stop_at {
            return log;
        }
        let kind = turn % 3;
        turn += 1;
        let path = match kind {
            0 => String::from("/api/v1/children"),
            1 => format!("/api/v1/children/{}/recommendation", parent.child),
            _ => format!("/api/v1/children/{}/forecast", parent.child),
        };
        let record = timed(kind, http.get(nodes.url(&path)).bearer_auth(&parent.token)).await;
        if due >= window.record_from {
            if now.duration_since(due) > LATE {
                log.late += 1;
            }
            log.records.push(record);
        }
    }
}

/// A batch of `batch` fresh samples ending now, spread over the last second.
fn live_batch(profile: &Profile, batch: usize, tick: usize) -> Result<Bytes> {
    let now = Utc::now();
    let step_ms = 1_000 / batch as i64;
    let samples: Vec<Sample> = (0..batch)
        .map(|j| {
            let mut sample = profile.live[(tick * batch + j) % profile.live.len()].clone();
            sample.time = now - chrono::Duration::milliseconds(step_ms * (batch - 1 - j) as i64);
            sample
        })
        .collect();
    Ok(Bytes::from(serde_json::to_vec(&json!({ "samples": samples }))?))
}

#[allow(clippy::too_many_arguments)]
async fn device_loop(
    http: reqwest::Client,
    nodes: Arc<Nodes>,
    seeded: Arc<Vec<Seeded>>,
    profiles: Arc<Vec<Profile>>,
    i: usize,
    batch: usize,
    window: Window,
    phase: Duration,
) -> ClientLog {
    let mut log = ClientLog::default();
    let child = &seeded[i];
    let Some(token) = child.device.as_deref() else {
        return log;
    };
    let path = format!("/api/v1/children/{}/metrics", child.child);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + phase, Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tick = 0;
    loop {
        let due = ticker.tick().await;
        let now = tokio::time::Instant::now();
        if now >= window.stop_at {
            return log;
        }
        tick += 1;
        let record = match live_batch(&profiles[child.profile], batch, tick) {
            Ok(body) => {
                let request = http
                    .post(nodes.url(&path))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body);
                timed(3, request).await
            }
            Err(e) => Record {
                kind: 3,
                millis: 0.0,
                error: Some(format!("building the batch: {e}")),
            },
        };
        if due >= window.record_from {
            if now.duration_since(due) > LATE {
                log.late += 1;
            }
            log.records.push(record);
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(args: RunArgs) -> Result<Value> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()?;
    let nodes = Arc::new(Nodes {
        urls: args.nodes.clone(),
        next: AtomicUsize::new(0),
    });
    for url in &args.nodes {
        let ready = http.get(format!("{url}/readyz")).send().await;
        match ready {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => anyhow::bail!("{url}/readyz answered {}", r.status()),
            Err(e) => anyhow::bail!("{url} cannot be reached: {e}"),
        }
    }
    println!(
        "[{}] seeding {} parents ({} with a device), {} days of history each, through {} node(s)",
        args.label,
        args.parents,
        args.devices,
        args.history_days,
        args.nodes.len()
    );
    let started = Instant::now();
    let sim = SimConfig {
        seed: 20_260_501,
        children: PROFILES.min(args.parents),
        days: args.history_days,
        end: Utc::now(),
        ..SimConfig::default()
    };
    let profiles: Arc<Vec<Profile>> = Arc::new(
        sprout_sim::simulate(&sim)
            .iter()
            .map(profile)
            .collect::<Result<Vec<_>>>()?,
    );
    let tag = format!("{:x}", Utc::now().timestamp_millis());
    let args_ref = &args;
    let seeded: Vec<Seeded> = stream::iter(0..args.parents)
        .map(|i| {
            let (http, nodes, profiles, tag) = (&http, &nodes, &profiles, &tag);
            async move { seed_one(http, nodes, args_ref, profiles, tag, i).await }
        })
        .buffered(args.seed_concurrency)
        .try_collect()
        .await?;
    let seed_secs = started.elapsed().as_secs_f64();
    let samples: usize = (0..args.parents)
        .map(|i| profiles[i % profiles.len()].samples)
        .sum();
    println!(
        "[{}] seeded in {seed_secs:.1} s ({samples} history samples)",
        args.label
    );

    // Warm: every parent opens the recommendation and the forecast once.
    let started = Instant::now();
    let seeded = Arc::new(seeded);
    let warm_errors: usize = stream::iter(0..args.parents * 2)
        .map(|n| {
            let (http, nodes, seeded) = (&http, &nodes, &seeded);
            async move {
                let parent = &seeded[n / 2];
                let what = if n % 2 == 0 { "recommendation" } else { "forecast" };
                let path = format!("/api/v1/children/{}/{what}", parent.child);
                let record = timed(1, http.get(nodes.url(&path)).bearer_auth(&parent.token)).await;
                if let Some(e) = &record.error {
                    eprintln!("[warm-up] {what}: {e}");
                }
                usize::from(record.error.is_some())
            }
        })
        .buffer_unordered(args.seed_concurrency)
        .fold(0, |sum, e| async move { sum + e })
        .await;
    println!(
        "[{}] warmed {} recommendations and forecasts in {:.1} s ({warm_errors} errors)",
        args.label,
        args.parents,
        started.elapsed().as_secs_f64()
    );

    let start = tokio::time::Instant::now();
    let window = Window {
        record_from: start + args.warmup,
        stop_at: start + args.warmup + args.duration,
    };
    println!(
        "[{}] load: {} parents every {} ms, {} devices × {} samples every second; {} s warm-up, {} s measured",
        args.label,
        args.parents,
        args.think.as_millis(),
        args.devices,
        args.batch,
        args.warmup.as_secs(),
        args.duration.as_secs()
    );
    let mut tasks = Vec::new();
    let mut rng = rand::rng();
    for i in 0..args.parents {
        let phase = Duration::from_secs_f64(rng.random::<f64>() * args.think.as_secs_f64());
        tasks.push(tokio::spawn(parent_loop(
            http.clone(),
            nodes.clone(),
            seeded.clone(),
            i,
            args.think,
            window,
            phase,
        )));
    }
    for i in 0..args.devices {
        let phase = Duration::from_secs_f64(rng.random::<f64>());
        tasks.push(tokio::spawn(device_loop(
            http.clone(),
            nodes.clone(),
            seeded.clone(),
            profiles.clone(),
            i,
            args.batch,
            window,
            phase,
        )));
    }
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    let mut errors = vec![0u64; KINDS.len()];
    let mut sent = vec![0u64; KINDS.len()];
    let mut late = 0;
    let mut examples: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        let log = task.await?;
        late += log.late;
        for record in log.records {
            sent[record.kind] += 1;
            match record.error {
                None => latencies[record.kind].push(record.millis),
                Some(e) => {
                    errors[record.kind] += 1;
                    *examples
                        .entry(format!("{}: {e}", KINDS[record.kind]))
                        .or_default() += 1;
                }
            }
        }
    }
    let measured = (tokio::time::Instant::now() - window.record_from).as_secs_f64();
    let secs = args.duration.as_secs_f64();
    let mut kinds = Vec::new();
    let mut all: Vec<f64> = Vec::new();
    for (k, name) in KINDS.iter().enumerate() {
        let lat = &mut latencies[k];
        lat.sort_by(f64::total_cmp);
        all.extend_from_slice(lat);
        kinds.push(json!({
            "kind": name,
            "requests": sent[k],
            "errors": errors[k],
            "per_second": lat.len() as f64 / secs,
            "p50_ms": percentile(lat, 0.50),
            "p99_ms": percentile(lat, 0.99),
            "max_ms": lat.last().copied().unwrap_or(f64::NAN),
        }));
    }
    all.sort_by(f64::total_cmp);
    let total_errors: u64 = errors.iter().sum();
    let result = json!({
        "label": args.label,
        "nodes": args.nodes.len(),
        "parents": args.parents,
        "devices": args.devices,
        "batch": args.batch,
        "think_ms": args.think.as_millis() as u64,
        "history_days": args.history_days,
        "duration_s": secs,
        "measured_until_last_answer_s": measured,
        "seed_s": seed_secs,
        "kinds": kinds,
        "total": {
            "requests": sent.iter().sum::<u64>(),
            "errors": total_errors,
            "per_second": all.len() as f64 / secs,
            "samples_per_second": latencies[3].len() as f64 * args.batch as f64 / secs,
            "p50_ms": percentile(&all, 0.50),
            "p99_ms": percentile(&all, 0.99),
            "max_ms": all.last().copied().unwrap_or(f64::NAN),
        },
        "late_sends": late,
        "error_examples": examples.iter().take(10).map(|(e, n)| json!({"error": e, "count": n})).collect::<Vec<_>>(),
    });
    Ok(result)
}

fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(x) if x.is_finite() && x >= 100.0 => format!("{x:.0}"),
        Some(x) if x.is_finite() => format!("{x:.1}"),
        _ => String::from("-"),
    }
}

/// One table, the setups side by side.
fn table(results: &[Value]) {
    let mut header = String::from("| request |");
    let mut rule = String::from("|---|");
    for r in results {
        let label = r["label"].as_str().unwrap_or("?");
        header.push_str(&format!(" {label}: req/s | p50 ms | p99 ms | errors |"));
        rule.push_str("---:|---:|---:|---:|");
    }
    println!("{header}");
    println!("{rule}");
    let row = |name: &str, pick: &dyn Fn(&Value) -> Value| {
        let mut line = format!("| {name} |");
        for r in results {
            let v = pick(r);
            line.push_str(&format!(
                " {} | {} | {} | {} |",
                number(&v["per_second"]),
                number(&v["p50_ms"]),
                number(&v["p99_ms"]),
                v["errors"].as_u64().map_or(String::from("-"), |e| e.to_string())
            ));
        }
        println!("{line}");
    };
    let kind_label = |k: &'static str| match k {
        "children" => "GET /children",
        "recommendation" => "GET /children/{id}/recommendation",
        "forecast" => "GET /children/{id}/forecast",
        "metrics" => "POST /children/{id}/metrics",
        other => other,
    };
    for k in KINDS {
        row(kind_label(k), &|r: &Value| {
            r["kinds"]
                .as_array()
                .and_then(|kinds| kinds.iter().find(|x| x["kind"] == k))
                .cloned()
                .unwrap_or(Value::Null)
        });
    }
    row("all", &|r: &Value| r["total"].clone());
    println!();
    for r in results {
        println!(
            "{}: {} node(s), {} parents every {} ms, {} devices × {} samples/s ({} samples/s stored), \
             {} days of history, {} s measured after warm-up; {} late sends (>100 ms behind schedule); \
             seeding took {} s",
            r["label"].as_str().unwrap_or("?"),
            r["nodes"],
            r["parents"],
            r["think_ms"],
            r["devices"],
            r["batch"],
            number(&r["total"]["samples_per_second"]),
            r["history_days"],
            r["duration_s"],
            r["late_sends"],
            number(&r["seed_s"]),
        );
        if let Some(examples) = r["error_examples"].as_array().filter(|e| !e.is_empty()) {
            for e in examples {
                println!("  error ×{}: {}", e["count"], e["error"].as_str().unwrap_or("?"));
            }
        }
    }
}

fn read_result(path: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{path} is not a result file: {e}"))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => parse_run(&args[1..]).and_then(|run_args| {
            let out = run_args.out.clone();
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let result = runtime.block_on(run(run_args))?;
            table(std::slice::from_ref(&result));
            if let Some(out) = out {
                std::fs::write(&out, serde_json::to_string_pretty(&result)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {out}: {e}"))?;
            }
            Ok(())
        }),
        Some("table") if args.len() > 1 => args[1..]
            .iter()
            .map(|p| read_result(p))
            .collect::<Result<Vec<_>>>()
            .map(|results| table(&results)),
        _ => Err(usage()),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
