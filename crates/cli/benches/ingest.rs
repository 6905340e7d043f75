//! Ingestion: samples per second through the HTTP API, next to the store's own limit on
//! the same rows, on each backend.
//!
//! The HTTP path is the real one: concurrent clients post simulated batches to a server
//! on a local port, which validates every row and writes each batch in one transaction.
//! The anchor is the same rows inserted straight into a fresh child of the same store,
//! one prepared single-row INSERT per sample, all in one transaction. Both run in this
//! process on this machine, so the clients' own work counts against the HTTP figure.
//!
//!   cargo bench -p sprout-cli --bench ingest -- [--samples N] [--clients C] [--batch B] [--backends sqlite,postgres]

use anyhow::{bail, Context};
use bytes::Bytes;
use chrono::Utc;
use clap::Parser;
use futures::future::try_join_all;
use serde_json::json;
use sprout_domain::{ChildId, Email, FamilyId, NewChild, Sample, SampleBatch};
use sprout_server::auth::issue_token;
use sprout_server::{Application, Config};
use sprout_sim::SimConfig;
use sprout_store::testing::TestDb;
use sprout_store::{Backend, Store};
use std::time::Instant;

#[derive(Parser)]
pub struct IngestArgs {
    /// Samples to send in all.
    #[arg(long, default_value_t = 240_000)]
    pub samples: usize,
    /// Concurrent clients, each a device of its own child.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Samples per request.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Backends to measure: sqlite, postgres or both (PostgreSQL from SPROUT_TEST_DATABASE_URL).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub backends: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`.
    let args = IngestArgs::parse_from(std::env::args().filter(|a| a != "--bench"));
    ingest(args).await
}

struct Figures {
    backend: Backend,
    http: f64,
    row_by_row: f64,
    bulk: f64,
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.samples < args.clients || !(1..=10_000).contains(&args.batch) {
        bail!("need at least one client, one sample per client and a batch of 1 to 10,000");
    }
    let per_client = args.samples / args.clients;
    let sim = SimConfig {
        seed: 7,
        children: args.clients,
        days: u32::try_from(per_client / 1_300 + 2).unwrap_or(u32::MAX),
        end: Utc::now(),
        gap_rate: 0.0,
        ..SimConfig::default()
    };
    let streams: Vec<Vec<Sample>> = sprout_sim::simulate(&sim)
        .into_iter()
        .map(|child| child.samples.into_iter().take(per_client).collect())
        .collect();
    if streams.iter().any(|s| s.len() < per_client) {
        bail!("the simulation produced fewer samples than asked for");
    }
    let total = per_client * args.clients;
    println!(
        "ingest benchmark: {total} samples, {} clients, batches of {}",
        args.clients, args.batch
    );
    let mut results = Vec::new();
    for name in &args.backends {
        let backend = match name.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => bail!("unknown backend '{other}' (sqlite or postgres)"),
        };
        results.push(measure(backend, &streams, args.batch).await?);
    }
    println!();
    println!("| backend | HTTP API (samples/s) | store row by row (samples/s) | HTTP / row by row | store bulk, no HTTP (samples/s) |");
    println!("|---|---:|---:|---:|---:|");
    for f in &results {
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.0} |",
            f.backend.as_str(),
            f.http,
            f.row_by_row,
            f.http / f.row_by_row,
            f.bulk
        );
    }
    Ok(())
}

async fn fresh_child(store: &dyn Store, family: FamilyId, n: usize) -> anyhow::Result<ChildId> {
    let child = NewChild::parse(&format!("Bench {n}"), "2016-01-01", "Europe/Berlin", Utc::now())?;
    Ok(store.create_child(family, &child).await?.id)
}

async fn measure(backend: Backend, streams: &[Vec<Sample>], batch: usize) -> anyhow::Result<Figures> {
    let db = TestDb::new(backend).await;
    let store = db.store.clone();
    let email = Email::parse(&format!("bench-{}@example.org", uuid::Uuid::new_v4().simple()))?;
    let (family, _) = store.create_family("Bench", &email, "not-a-login").await?;

    // Bodies are serialised before the clock starts: the clients should cost as little
    // as a real device's upload does.
    let mut clients = Vec::new();
    for (n, samples) in streams.iter().enumerate() {
        let child = fresh_child(store.as_ref(), family, n).await?;
        let token = issue_token();
        store.create_device(child, "bench", &token.hash).await?;
        let bodies: Vec<Bytes> = samples
            .chunks(batch)
            .map(|chunk| serde_json::to_vec(&json!({ "samples": chunk })).map(Bytes::from))
            .collect::<Result<_, _>>()?;
        clients.push((child, token.text, bodies));
    }
    let app = Application::build(
        Config {
            addr: "127.0.0.1:0".parse()?,
            ..Config::default()
        },
        store.clone(),
    )
    .await?;
    let base = format!("http://{}", app.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let accepted: Vec<u64> = try_join_all(clients.iter().map(|(child, token, bodies)| {
        let http = http.clone();
        let url = format!("{base}/api/v1/children/{child}/metrics");
        async move {
            let mut accepted = 0u64;
            for body in bodies {
                let response = http
                    .post(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("batch refused: {}", response.status());
                }
                let answer: serde_json::Value = response.json().await?;
                accepted += answer["accepted"].as_u64().context("no accepted count")?;
            }
            Ok::<u64, anyhow::Error>(accepted)
        }
    }))
    .await?;
    let http_secs = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    server.await??;
    let total: usize = streams.iter().map(Vec::len).sum();
    if accepted.iter().sum::<u64>() != total as u64 {
        bail!(
            "the server accepted {} of {total} samples",
            accepted.iter().sum::<u64>()
        );
    }

    let mut row_secs = 0.0;
    for (n, samples) in streams.iter().enumerate() {
        let child = fresh_child(store.as_ref(), family, 1_000 + n).await?;
        let started = Instant::now();
        db.insert_samples_row_by_row(child, samples).await?;
        row_secs += started.elapsed().as_secs_f64();
    }

    let mut bulk_secs = 0.0;
    for (n, samples) in streams.iter().enumerate() {
        let child = fresh_child(store.as_ref(), family, 2_000 + n).await?;
        let batches: Vec<SampleBatch> = samples
            .chunks(batch)
            .map(|c| SampleBatch::from_trusted(c.to_vec()))
            .collect::<Result<_, _>>()?;
        let started = Instant::now();
        for b in &batches {
            store.insert_samples(child, b).await?;
        }
        bulk_secs += started.elapsed().as_secs_f64();
    }

    let figures = Figures {
        backend,
        http: total as f64 / http_secs,
        row_by_row: total as f64 / row_secs,
        bulk: total as f64 / bulk_secs,
    };
    println!(
        "{}: HTTP {:.0}/s in {:.2} s; row by row {:.0}/s; bulk {:.0}/s",
        backend.as_str(),
        figures.http,
        http_secs,
        figures.row_by_row,
        figures.bulk
    );
    Ok(figures)
}
