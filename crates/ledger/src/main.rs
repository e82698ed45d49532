//! `ledger`: the fee-ledger binary. Wires the embedded log, the sled read store, the engine and
//! the HTTP API; offers `serve` and the audit commands.

mod bench;
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
    /// Run the HTTP server on the embedded log.
    Serve {
        /// Where the log and the read models live.
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "LEDGER_LISTEN")]
        listen: String,
        /// Partitions of a new log (an existing log keeps its own count).
        #[arg(long, default_value_t = 8, env = "LEDGER_PARTITIONS")]
        partitions: u32,
        /// How long a command request waits for its outcome before answering 202.
        #[arg(long, default_value_t = 5000, env = "LEDGER_COMMAND_WAIT_MS")]
        command_wait_ms: u64,
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// Check the hash chain of every partition and rebuild the read models in a scratch store to
    /// compare them with the live ones. Exits non-zero on any mismatch.
    Verify {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Run a performance benchmark: prints the figure, a baseline measured in the same run, and
    /// their ratio (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
}

/// Kafka mode: the log is the event topic of a Kafka cluster, commands flow through the command
/// topic, and `--data-dir` holds only this node's read store.
#[derive(clap::Args, Clone)]
struct KafkaArgs {
    /// Bootstrap brokers (`host:port,…`); without it the embedded log is used.
    #[arg(long, env = "LEDGER_KAFKA")]
    kafka: Option<String>,
    /// The event topic.
    #[arg(long, default_value = "fee.events", env = "LEDGER_EVENTS_TOPIC")]
    events_topic: String,
    /// The command topic producers publish command envelopes to.
    #[arg(long, default_value = "fee.commands", env = "LEDGER_COMMANDS_TOPIC")]
    commands_topic: String,
    /// The consumer group of the deciders.
    #[arg(long, default_value = "ledger-deciders", env = "LEDGER_GROUP")]
    group: String,
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
        Cmd::Serve {
            data_dir,
            listen,
            partitions,
            command_wait_ms,
            kafka,
        } => serve(
            &data_dir,
            &listen,
            partitions,
            Duration::from_millis(command_wait_ms),
            &kafka,
        ),
        Cmd::Verify { data_dir } => {
            let ok = verify::run(&data_dir)?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Bench(args) => bench::run(args),
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

fn serve(
    data_dir: &Path,
    listen: &str,
    partitions: u32,
    command_wait: Duration,
    kafka: &KafkaArgs,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let store = Arc::new(ReadStore::open(&store_dir(data_dir))?);
    let node = match &kafka.kafka {
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
        command_wait,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(listen = %listener.local_addr()?, data_dir = %data_dir.display(), kafka = ?kafka.kafka, "ledger serving");
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
