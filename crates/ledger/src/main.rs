//! `ledger`: the fee-ledger binary. Wires the embedded log, the read store, the engine and
//! the HTTP API; offers `serve` and the audit commands.

mod access_log;
mod audit;
mod backup;
mod bench;
mod call;
mod clock;
mod config;
mod digest;
mod engine;
mod migrate;
mod publish;
mod timeflag;
mod verify;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledger_api::AppState;
use ledger_log::EmbeddedLog;
use ledger_store::ReadStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// mimalloc instead of glibc's malloc: allocation was a sixth to a quarter of the serving
/// profiles (BENCHMARKS.md, issue 19).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ledger", version, about = "Event-sourced fee ledger")]
struct Cli {
    /// Log line format on stderr: `text` for people, `json` (one object per line) for log
    /// shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "LEDGER_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP server (embedded log, or Kafka with `--kafka`).
    Serve {
        #[command(flatten)]
        config: config::ConfigArgs,
        /// Serve the read models of `--data-dir` (e.g. a `ledger replay` output) without a log
        /// or a writer: queries answer, commands get the family's 503 reply.
        #[arg(long)]
        read_only: bool,
        /// Accept the demo credentials on a non-loopback address (a demo container); without
        /// it the node refuses to start there.
        #[arg(long, env = "LEDGER_DEMO")]
        demo: bool,
        /// Log one line per request to stderr (method, path, status, duration_ms, bytes), at
        /// `info` under the target `access` whatever `RUST_LOG` says.
        #[arg(long, env = "LEDGER_ACCESS_LOG")]
        access_log: bool,
    },
    /// Rebuild every read model from the log into a fresh store `OUT/store` (serve it with
    /// `serve --data-dir OUT --read-only`).
    Replay {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// The output directory (its `store` must not exist yet).
        #[arg(long)]
        into: PathBuf,
        /// Stop each partition before this offset: `P:N,…`, exactly the state an
        /// `X-Ledger-Position` names (a partition left out counts as 0).
        #[arg(long)]
        until_offset: Option<String>,
        /// Stop at the first event recorded after this instant, per partition: RFC 3339, or
        /// `YYYY-MM-DD[ HH:MM[:SS]]` in the business time zone.
        #[arg(long)]
        until_time: Option<String>,
        #[command(flatten)]
        zone: timeflag::ZoneArgs,
        /// Replay the Kafka event topic instead of the embedded log.
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Partitions of the Kafka event topic.
        #[arg(long, default_value_t = 8, env = "LEDGER_PARTITIONS")]
        partitions: u32,
    },
    /// Stream the events (or the rows of a read model, by key prefix such as `fc/`) to stdout.
    Export {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// `events`, or a read-model key prefix (`fc/`, `rf/`, `ccs/`, `baas-bill/`, …).
        #[arg(long)]
        what: String,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: audit::export::Format,
        /// Events recorded at or after this instant: RFC 3339, or `YYYY-MM-DD[ HH:MM[:SS]]` in
        /// the business time zone.
        #[arg(long)]
        from: Option<String>,
        /// Events recorded before this instant (same formats as `--from`).
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        zone: timeflag::ZoneArgs,
        #[command(flatten)]
        server: backup::ServerArgs,
    },
    /// Append an events JSONL export (stdin or a file) to an empty log, checking every link.
    /// Atomic: a refused import leaves nothing behind.
    Import {
        #[arg(long)]
        data_dir: PathBuf,
        /// Partitions of the new log: those of the exported one (inferred from the events'
        /// keys when absent).
        #[arg(long)]
        partitions: Option<u32>,
        /// The export (stdin when absent).
        file: Option<PathBuf>,
    },
    /// Decide and project commands (one command envelope a line) on a scratch copy and print
    /// which read-model rows and property arrears would change. The live data is only read.
    /// Exits 1 when any command is refused or unreadable.
    DryRun {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// Arrears are shown as of this business time (`yyyy-MM-dd HH:mm:ss`); now when absent.
        #[arg(long)]
        as_of: Option<String>,
        /// `text` for people, `json` (one object: commands, rows, arrears, ok) for scripts.
        #[arg(long, value_enum, default_value = "text")]
        format: audit::dry_run::ReportFormat,
        #[command(flatten)]
        server: backup::ServerArgs,
        /// The config file the admin token for `--server` is read from (`[auth] admin_token`).
        #[arg(long, env = "LEDGER_CONFIG")]
        config: Option<PathBuf>,
        commands: PathBuf,
    },
    /// Check the hash chain of every partition and rebuild the read models in a scratch store to
    /// compare them with the live ones. Exits non-zero on any mismatch.
    Verify {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// Also check that the log still extends this signed digest (`ledger digest`,
        /// `GET /digest`): no event rewritten, no history dropped.
        #[arg(long)]
        digest: Option<PathBuf>,
        /// The digest key (default `DATA_DIR/digest.key`).
        #[arg(long)]
        digest_key: Option<PathBuf>,
        #[command(flatten)]
        server: backup::ServerArgs,
        /// The config file the admin token for `--server` is read from (`[auth] admin_token`).
        #[arg(long, env = "LEDGER_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print a signed digest of the log: per partition the end offset and the hash of the last
    /// event, signed with the node's Ed25519 key (created in the data dir on first use). Store
    /// it elsewhere; `verify --digest FILE` checks the log still extends it.
    Digest {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// The digest key (default `DATA_DIR/digest.key`).
        #[arg(long)]
        digest_key: Option<PathBuf>,
    },
    /// Convert a data directory's event log from the old sled format (before the segment log)
    /// to the segment log: same partitions, offsets and bytes, chain checked, the sled log kept
    /// as `log.sled-old/`.
    Migrate {
        #[arg(long, default_value = "./data", env = "LEDGER_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Write a consistent copy of a running server's data (`GET /admin/backup`, admin token)
    /// into a new directory, while the server keeps serving: its log up to every partition's
    /// durable end when the backup starts, the read models rebuilt from it, `backup.json`.
    /// `serve`, `verify`, `replay` and `export` accept the copy as a data dir.
    Backup(backup::BackupArgs),
    /// Send one request to a running ledger, signed with the config's credentials as the path's
    /// family requires (demo ones by default); prints the reply and exits 1 when the ledger
    /// refused it (an HTTP error or the family's failure envelope).
    Call(call::CallArgs),
    /// Publish command envelopes (JSON lines, a file or stdin) to the Kafka command topic,
    /// each keyed by its partition key; invalid lines are reported and not published.
    Publish(publish::PublishArgs),
    /// The effective configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Run a performance benchmark: prints the figure, a baseline measured in the same run, and
    /// their ratio (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
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
    /// A librdkafka property for every Kafka client, `KEY=VALUE` (repeatable): TLS, SASL….
    #[arg(long = "kafka-property", value_parser = config::parse_property)]
    properties: Vec<(String, String)>,
}

pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}

pub fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("store")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if let Cmd::Serve {
        access_log: true, ..
    } = cli.command
    {
        filter = filter.add_directive(format!("{}=info", access_log::TARGET).parse()?);
    }
    use std::io::IsTerminal;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour escapes only for a person at a terminal, never into a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Cmd::Serve {
            config: args,
            read_only,
            demo,
            access_log,
        } => {
            let config = config::Config::resolve(&args)?;
            config.refuse_demo_on_network(args.config.as_deref(), demo)?;
            if read_only {
                serve_read_only(&config, access_log)
            } else {
                serve(&config, access_log)
            }
        }
        Cmd::Config(ConfigCmd::Print { config }) => {
            let c = config::Config::resolve(&config)?;
            if c.auth.uses_demo_credentials() {
                println!("# DEMO CREDENTIALS IN USE (secrets masked; README lists them)");
            }
            print!("{}", c.to_masked_toml());
            Ok(())
        }
        Cmd::Replay {
            data_dir,
            into,
            until_offset,
            until_time,
            zone,
            kafka,
            partitions,
        } => {
            let until_time = zone.instant(until_time.as_deref())?;
            let log: Arc<dyn ledger_core::EventLog> = match &kafka.kafka {
                None => Arc::new(EmbeddedLog::open_existing(&log_dir(&data_dir))?),
                Some(brokers) => {
                    let mut config =
                        ledger_log::KafkaConfig::new(brokers, &kafka.events_topic, partitions);
                    config.properties = kafka.properties.iter().cloned().collect();
                    // A replay reads what is there, whatever the topic's retention.
                    config.topics.allow_finite_retention = true;
                    Arc::new(ledger_log::KafkaLog::open(config)?)
                }
            };
            let limits = audit::replay::limits(log.as_ref(), until_offset.as_deref(), until_time)?;
            let info =
                audit::replay::replay_into(log.as_ref(), &into, &limits, until_offset, until_time)?;
            println!(
                "replayed {} events into {}: position {}, read-model digest {}",
                info.events,
                store_dir(&into).display(),
                ledger_api::audit::format_positions(&info.positions),
                info.read_model_digest
            );
            Ok(())
        }
        Cmd::Export {
            data_dir,
            what,
            format,
            from,
            until,
            zone,
            server,
        } => {
            let (from, until) = (
                zone.instant(from.as_deref())?,
                zone.instant(until.as_deref())?,
            );
            let source = backup::source(&server, zone.config.as_deref(), &data_dir, "export")?;
            let data_dir = source.data_dir.as_path();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = audit::export::export(data_dir, &what, format, from, until, &mut out)?;
            eprintln!(
                "exported {n} {}",
                if what == "events" { "events" } else { "rows" }
            );
            Ok(())
        }
        Cmd::Import {
            data_dir,
            partitions,
            file,
        } => {
            let (n, partitions) = audit::export::import(&data_dir, partitions, file.as_deref())?;
            println!(
                "imported {n} events in {partitions} partitions into {}",
                log_dir(&data_dir).display()
            );
            Ok(())
        }
        Cmd::DryRun {
            data_dir,
            as_of,
            format,
            server,
            config,
            commands,
        } => {
            let source = backup::source(&server, config.as_deref(), &data_dir, "dry-run")?;
            let report = audit::dry_run::run(&source.data_dir, &commands, as_of.as_deref())?;
            match format {
                audit::dry_run::ReportFormat::Text => print!("{}", report.text),
                audit::dry_run::ReportFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&report.json)?)
                }
            }
            if !report.ok {
                // A refused or unreadable command: the what-if is not what was asked for.
                drop(source);
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Verify {
            data_dir,
            digest: digest_file,
            digest_key,
            server,
            config,
        } => {
            let source = backup::source(&server, config.as_deref(), &data_dir, "verify")?;
            let mut ok = verify::run(&source.data_dir)?;
            if ok && let Some(file) = digest_file {
                let log = EmbeddedLog::open_existing(&log_dir(&source.data_dir))?;
                // The key stays with the node (a backup leaves it out); without it the digest's
                // own public key checks the signature.
                let key = digest_key.unwrap_or_else(|| digest::default_key_path(&data_dir));
                ok = digest::verify_file(&log, &file, &key)?;
            }
            if !ok {
                drop(source);
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Backup(args) => {
            let info = backup::take(&args.server, args.config.as_deref(), &args.out)?;
            println!(
                "backed up {} events in {} partitions from {} into {}: position {}",
                info.events,
                info.partitions,
                info.server,
                args.out.display(),
                ledger_api::audit::format_positions(
                    &info.heads.iter().map(|h| h.next_offset).collect::<Vec<_>>()
                )
            );
            Ok(())
        }
        Cmd::Publish(args) => {
            let p = publish::run(&args)?;
            println!(
                "published {} commands in {:.1} s; {} invalid lines not published",
                p.commands,
                p.elapsed.as_secs_f64(),
                p.invalid
            );
            anyhow::ensure!(
                p.invalid == 0,
                "{} lines were not valid commands",
                p.invalid
            );
            Ok(())
        }
        Cmd::Migrate { data_dir } => {
            let m = migrate::run(&data_dir)?;
            println!(
                "migrated {} events in {} partitions: {} is now a segment log, chain ok; the \
                 sled log is kept in {} (remove it once you no longer need it)",
                m.events,
                m.partitions,
                log_dir(&data_dir).display(),
                m.old.display()
            );
            Ok(())
        }
        Cmd::Digest {
            data_dir,
            digest_key,
        } => {
            let log = EmbeddedLog::open_existing(&log_dir(&data_dir))?;
            let key = digest::load_or_create_key(
                &digest_key.unwrap_or_else(|| digest::default_key_path(&data_dir)),
            )?;
            println!(
                "{}",
                serde_json::to_string_pretty(&digest::sign(&log, &key)?)?
            );
            Ok(())
        }
        Cmd::Bench(args) => bench::run(args),
        Cmd::Call(args) => {
            if !call::run(args)? {
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

/// The router, with the access log around it when asked for.
fn with_access_log(app: axum::Router, access_log: bool) -> axum::Router {
    if access_log {
        app.layer(axum::middleware::from_fn(access_log::log))
    } else {
        app
    }
}

fn serve(config: &config::Config, access_log: bool) -> anyhow::Result<()> {
    config.warn_if_demo();
    let host = ledger_api::host_timezone();
    if config.zone()? != host {
        // Business time follows `timezone` everywhere; logs and other tools read the host's.
        tracing::info!(timezone = %config.timezone, host = %host.name(), "the business time zone differs from the host's");
    }
    let data_dir = config.data_dir.as_path();
    let listen = config.listen.as_str();
    let partitions = config.partitions;
    let kafka = &config.kafka;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    // Left-over `at=` replays are scratch: freed before the log and the store need the disk.
    audit::replay::clear_at_cache(&data_dir.join("at-cache"));
    let store = Arc::new(open_or_rebuild_store(
        &store_dir(data_dir),
        config.store_cache_bytes(),
    )?);
    let metrics = Arc::new(ledger_api::Metrics::new());
    let node = match &kafka.brokers {
        None => {
            let log = Arc::new(EmbeddedLog::open_or_create(&log_dir(data_dir), partitions)?);
            Node::Embedded(Arc::new(engine::Engine::start_in(
                log,
                store.clone(),
                metrics.clone(),
                config.zone()?,
            )?))
        }
        Some(brokers) => Node::Kafka(Arc::new(engine::kafka::KafkaEngine::start(
            engine::kafka::KafkaMode {
                log: ledger_log::KafkaConfig {
                    index_dir: Some(data_dir.join("kafka-index")),
                    ..kafka.log_config(brokers, partitions)
                },
                commands_topic: kafka.commands_topic.clone(),
                group: kafka.group.clone(),
                zone: config.zone()?,
            },
            store.clone(),
            metrics.clone(),
        )?)),
    };
    let history: Option<Arc<dyn ledger_api::audit::History>> = match &node {
        Node::Embedded(e) => Some(Arc::new(audit::replay::LogHistory::new(
            e.log(),
            data_dir.join("at-cache"),
            audit::replay::HISTORY_BUDGET_BYTES,
        ))),
        Node::Kafka(_) => None,
    };
    let anchor: Option<Arc<dyn ledger_api::access::Anchor>> = match &node {
        Node::Embedded(e) => Some(Arc::new(digest::LogAnchor {
            log: e.log(),
            key: digest::load_or_create_key(&config.digest_key_path())?,
        })),
        Node::Kafka(_) => None,
    };
    let app = ledger_api::audit::router_with_audit(
        AppState {
            bus: node.bus(),
            store,
            clock: Arc::new(clock::SystemClock),
            command_wait: Duration::from_millis(config.command_wait_ms),
            metrics,
            auth: Arc::new(config.auth.clone()),
            edge: Arc::new(config.edge.clone()),
            timezone: config.zone()?,
            anchor,
        },
        history,
    );
    let app = with_access_log(app, access_log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(listen = %listener.local_addr()?, data_dir = %data_dir.display(), kafka = ?kafka.brokers, "ledger serving");
        let (signal, grace_expired) = shutdown_with_grace();
        tokio::select! {
            () = ledger_api::edge::serve(listener, app, &config.edge, signal) => {},
            _ = grace_expired => {}
        }
        anyhow::Ok(())
    })?;
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    node.shutdown()?;
    tracing::info!("ledger stopped");
    Ok(())
}

/// Opens the read store; one that cannot be opened (a crash or a full disk at the wrong moment)
/// is moved aside and rebuilt from the log, which is the record: the projector and the decider
/// both start from position 0 on the new store. The old directory is kept for inspection.
fn open_or_rebuild_store(dir: &Path, cache_bytes: u64) -> anyhow::Result<ReadStore> {
    match ReadStore::open_with_cache(dir, cache_bytes) {
        Ok(store) => Ok(store),
        // In use is not broken: moving it aside would rebuild under a running server.
        Err(e @ ledger_store::StoreError::Locked { .. }) => Err(e.into()),
        Err(e) if dir.exists() => {
            let aside = dir.with_extension(format!(
                "broken-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S")
            ));
            tracing::error!(
                error = %e,
                store = %dir.display(),
                moved_to = %aside.display(),
                "the read store cannot be opened; moving it aside and rebuilding it from the log"
            );
            std::fs::rename(dir, &aside).with_context(|| {
                format!("cannot move {} aside to {}", dir.display(), aside.display())
            })?;
            Ok(ReadStore::open_with_cache(dir, cache_bytes)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Serves a store without a log or a writer (a `ledger replay` output, a copy of a data dir).
fn serve_read_only(config: &config::Config, access_log: bool) -> anyhow::Result<()> {
    let data_dir = config.data_dir.as_path();
    let listen = config.listen.as_str();
    let store = Arc::new(ReadStore::open(&store_dir(data_dir))?);
    let positions = match audit::replay::read_info(data_dir)? {
        Some(info) => info.positions,
        None => {
            // A data dir that was served: the store's own positions, up to its last partition.
            let all: Vec<u64> = (0..1024u32)
                .map(|p| store.position(p))
                .collect::<Result<_, _>>()?;
            let used = all.iter().rposition(|o| *o > 0).map_or(1, |p| p + 1);
            all[..used].to_vec()
        }
    };
    let app = ledger_api::audit::router_with_audit(
        AppState {
            bus: Arc::new(ledger_api::audit::ReadOnlyBus {
                positions,
                // A copy of a served data dir still has its log: commands' events are read there.
                log: match EmbeddedLog::open_existing(&log_dir(data_dir)) {
                    Ok(log) => Some(Arc::new(log)),
                    Err(_) => None,
                },
            }),
            store,
            clock: Arc::new(clock::SystemClock),
            command_wait: Duration::from_millis(0),
            metrics: Arc::new(ledger_api::Metrics::new()),
            auth: Arc::new(config.auth.clone()),
            edge: Arc::new(config.edge.clone()),
            timezone: config.zone()?,
            anchor: None,
        },
        None,
    );
    let app = with_access_log(app, access_log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(listen = %listener.local_addr()?, data_dir = %data_dir.display(), "ledger serving read-only");
        let (signal, grace_expired) = shutdown_with_grace();
        tokio::select! {
            () = ledger_api::edge::serve(listener, app, &config.edge, signal) => {},
            _ = grace_expired => {}
        }
        anyhow::Ok(())
    })?;
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    Ok(())
}

/// How long in-flight requests may take to finish after SIGTERM before the server stops anyway.
/// Every acknowledged command is already durable, so stopping then loses nothing; it only
/// answers the stragglers with a closed connection instead of hanging the shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The graceful-shutdown trigger (SIGTERM/Ctrl-C) and a future that completes
/// `SHUTDOWN_GRACE` after it fired: serve until the first, give up draining at the second.
fn shutdown_with_grace() -> (
    impl std::future::Future<Output = ()> + Send + 'static,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
    };
    let grace_expired = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
            tracing::warn!("in-flight requests still open after the shutdown grace; stopping");
        } else {
            std::future::pending::<()>().await;
        }
    };
    (signal, grace_expired)
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
