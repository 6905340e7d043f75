//! `sprout`: the one binary. Serves the API, runs the demo, streams simulated data,
//! applies migrations, measures a recommendation, and runs the causal, forecasting and
//! chronotype engines on CSV files.
//!
//! Every command answers `--help`, exits 0 on success and non-zero with a one-line error
//! on stderr otherwise.

/// glibc's allocator kept what bursts of password hashing (19 MiB each) had used:
/// a node grew by ~3.5 MB per login and never shrank. mimalloc returns it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod causal;
mod chronotype;
mod csv_input;
mod demo;
mod forecast;
mod learn;
mod logging;
mod seed;
mod serve;
mod simulate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "sprout", version, about = "Sprout: a child-wellness engine")]
struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Run background jobs only (the job queue on PostgreSQL, raw-sample retention),
    /// beside API nodes started with `serve --no-worker`.
    Worker(serve::WorkerArgs),
    /// Learning from parents: export the feedback for fine-tuning, import adapters.
    #[command(subcommand)]
    Learn(learn::LearnCommand),
    /// Run the demo: an embedded database with a demo family, served locally.
    Demo(demo::DemoArgs),
    /// Stream simulated children's data into a running server through its public API.
    Simulate(simulate::SimulateArgs),
    /// Apply the database migrations and exit.
    Migrate(serve::MigrateArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Estimate the effect of a treatment on an outcome from a CSV file.
    Causal(causal::CausalArgs),
    /// Forecast the next steps of a time series from a CSV file.
    Forecast(forecast::ForecastArgs),
    /// A child's chronotype from a CSV of sleep episodes or sleep states.
    Chronotype(chronotype::ChronotypeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log_format);
    // The analyses are CPU work on the blocking pool; more threads than a few per core
    // only add allocator arenas (memory) without adding speed.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(16)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Worker(args) => serve::worker(args).await,
            Command::Learn(command) => learn::run(command).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Migrate(args) => serve::migrate(args).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Causal(args) => causal::run(args),
            Command::Forecast(args) => forecast::run(args),
            Command::Chronotype(args) => chronotype::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, joined.
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
