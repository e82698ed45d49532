//! `ledger`: the fee-ledger binary. Wires the embedded log, the sled read store, the engine and
//! the HTTP API; offers `serve` and the audit commands.

mod config;
mod engine;
mod verify;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledger_api::AppState;
use ledger_log::EmbeddedLog;
use ledger_store::ReadStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "ledger", version, about = "Event-sourced fee ledger")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP server (embedded log, or Kafka with `--kafka`).
    Serve {
        #[command(flatten)]
        config: config::ConfigArgs,
    },
    /// Check the hash chain of every partition and rebuild the read models in a scratch store to
    /// compare them with the live ones. Exits non-zero on any mismatch.
    Verify {
        #[arg(long, default_value = config::DEFAULT_DATA_DIR, env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// The effective configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the effective configuration (flags > env > file > defaults) as TOML, secrets
    /// masked.
    Print {
        #[command(flatten)]
        config: config::ConfigArgs,
    },
}

pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}

pub fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("store")
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Cmd::Serve { config } => serve(&config::Config::resolve(&config)?),
        Cmd::Config(ConfigCmd::Print { config }) => {
            let c = config::Config::resolve(&config)?;
            if c.auth.uses_demo_credentials() {
                println!("# DEMO CREDENTIALS IN USE (secrets masked; README lists them)");
            }
            print!("{}", c.to_masked_toml());
            Ok(())
        }
        Cmd::Verify { data_dir } => {
            let ok = verify::run(&data_dir)?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// The running engine of either mode.
enum Node {
    Embedded(Arc<engine::Engine>),
    Kafka(Arc<engine::kafka::KafkaEngine>),
}

impl Node {
    fn bus(&self) -> Arc<dyn ledger_api::CommandBus> {
        match self {
            Node::Embedded(e) => e.clone(),
            Node::Kafka(e) => e.clone(),
        }
    }

    fn shutdown(self) -> anyhow::Result<()> {
        let stopped = match self {
            Node::Embedded(e) => Arc::try_unwrap(e).map(|e| e.shutdown()).ok(),
            Node::Kafka(e) => Arc::try_unwrap(e).map(|e| e.shutdown()).ok(),
        };
        match stopped {
            Some(result) => result,
            None => {
                tracing::warn!("engine still referenced at shutdown");
                Ok(())
            }
        }
    }
}

fn serve(config: &config::Config) -> anyhow::Result<()> {
    config.warn_if_demo();
    let data_dir = config.data_dir.as_path();
    let listen = config.listen.as_str();
    let partitions = config.partitions;
    let kafka = &config.kafka;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let store = Arc::new(ReadStore::open(&store_dir(data_dir))?);
    let node = match &kafka.brokers {
        None => {
            let log = Arc::new(EmbeddedLog::open_or_create(&log_dir(data_dir), partitions)?);
            Node::Embedded(Arc::new(engine::Engine::start(log, store.clone())?))
        }
        Some(brokers) => Node::Kafka(Arc::new(engine::kafka::KafkaEngine::start(
            engine::kafka::KafkaMode {
                log: ledger_log::KafkaConfig::new(brokers, &kafka.events_topic, partitions),
                commands_topic: kafka.commands_topic.clone(),
                group: kafka.group.clone(),
            },
            store.clone(),
        )?)),
    };
    let app = ledger_api::router(AppState {
        bus: node.bus(),
        store,
        command_wait: Duration::from_millis(config.command_wait_ms),
        auth: Arc::new(config.auth.clone()),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(listen = %listener.local_addr()?, data_dir = %data_dir.display(), kafka = ?kafka.brokers, "ledger serving");
        // No Nagle delay: a reply written in parts must not wait for the client's delayed ACK
        // (~40 ms per request otherwise).
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        anyhow::Ok(())
    })?;
    drop(runtime);
    node.shutdown()?;
    tracing::info!("ledger stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
