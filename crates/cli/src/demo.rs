//! `sprout demo`: an embedded database with a demo family, served locally.

use crate::seed::store_child;
use crate::serve::{config, open_store, WriterArgs};
use anyhow::Context;
use chrono::Utc;
use clap::Args;
use sprout_domain::{Email, Password};
use sprout_server::Application;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The demo login, the same on every machine.
pub const DEMO_EMAIL: &str = "parent@demo.sprout";
pub const DEMO_PASSWORD: &str = "sprout-demo";

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder for the demo's database; created if missing, reused if present.
    #[arg(long, default_value = "sprout-data")]
    pub data_dir: PathBuf,
    // `--writer gguf:PATH` shows the local model writing the family's recommendations.
    #[command(flatten)]
    pub writer: WriterArgs,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data folder {}", args.data_dir.display()))?;
    let db = args.data_dir.join("sprout.db");
    let store = open_store(&db.to_string_lossy()).await?;
    let email = Email::parse(DEMO_EMAIL).context("demo e-mail")?;
    if store.find_user_by_email(&email).await?.is_none() {
        let started = std::time::Instant::now();
        let password = Password::parse(DEMO_PASSWORD).context("demo password")?;
        let hash = sprout_server::auth::hash_password(password)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        let (family, _) = store.create_family("Demo family", &email, &hash).await?;
        for child in sprout_sim::demo_family(Utc::now()) {
            store_child(store.as_ref(), family, &child).await?;
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "demo family seeded"
        );
    }
    let writer = args.writer.writer;
    let written_by = match &writer {
        sprout_server::WriterSpec::Template => "the template writer".to_owned(),
        sprout_server::WriterSpec::Gguf(path) => format!("the local model {}", path.display()),
        sprout_server::WriterSpec::OpenAi(_) => "an OpenAI-compatible model server".to_owned(),
    };
    let config = sprout_server::Config {
        writer,
        ..config(args.addr)
    };
    let app = Application::build(config, store)
        .await
        .with_context(|| format!("cannot start on {}", args.addr))?;
    println!("Sprout demo running at http://{}", app.addr());
    println!("Recommendations written by {written_by}");
    println!("Log in as {DEMO_EMAIL} with password {DEMO_PASSWORD}");
    println!("Data in {} (stop with Ctrl-C)", args.data_dir.display());
    app.run_until_stopped(sprout_server::shutdown_signal())
        .await
        .context("server failed")
}
