//! The effective configuration of a node: one struct, every default stated once (in
//! `Default`), read with the precedence flags > environment (`LEDGER_…`) > TOML file
//! (`--config PATH`) > defaults. `ledger config print` shows the result with secrets masked.
//!
//! Credentials live in `[auth]` (types in `ledger_api::auth`, which the handlers check against).
//! Without a config file, or with one that keeps any demo secret, the node accepts the
//! documented demo credentials and warns about it at start-up.

use anyhow::Context;
use ledger_api::auth::AuthConfig;
use ledger_api::edge::EdgeConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the data lives when nothing else is said (also `verify`'s default).
pub const DEFAULT_DATA_DIR: &str = "./data";

/// The smallest memory budget a node runs with.
pub const MIN_MEMORY_MIB: u64 = 32;

/// Everything a node is configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the log and the read models live (`--data-dir`, `LEDGER_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Address to listen on (`--listen`, `LEDGER_LISTEN`).
    pub listen: String,
    /// Partitions of a new log; an existing log keeps its own count (`--partitions`).
    pub partitions: u32,
    /// How long a command request waits for its outcome before answering 202
    /// (`--command-wait-ms`).
    pub command_wait_ms: u64,
    /// The node's memory budget in MiB (`--memory-mib`, `LEDGER_MEMORY_MIB`): it bounds every
    /// cache (the read store's and decider state's page caches, the projector's hand-over
    /// buffer); the decider holds only the rows of the group it decides. A store still on sled
    /// (written before redb) grows beyond it with its database (BENCHMARKS.md, "Bounded
    /// state").
    pub memory_mib: u64,
    pub kafka: KafkaConfig,
    /// Credentials per family and the `req-time` window.
    pub auth: AuthConfig,
    /// The business time zone, an IANA name (`--timezone`, `LEDGER_TIMEZONE`; default the
    /// host's): `req-time`, "now" of arrears and the BaaS default window are read in it.
    pub timezone: String,
    /// The Ed25519 key signing `GET /digest` (default `DATA_DIR/digest.key`, created 0600 on
    /// first use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_key: Option<PathBuf>,
    /// The edge's timeouts and connection limit.
    pub edge: EdgeConfig,
}

/// Kafka mode (DESIGN §5): the log is the event topic, commands flow through the command topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers (`host:port,…`); absent means the embedded log (`--kafka`).
    pub brokers: Option<String>,
    pub events_topic: String,
    pub commands_topic: String,
    /// The consumer group of the deciders.
    pub group: String,
    /// librdkafka properties passed to every client (`[kafka.properties]`, `--kafka-property
    /// KEY=VALUE`): `security.protocol`, `ssl.ca.location`, `sasl.mechanism`,
    /// `sasl.username`, `sasl.password`… Values of keys naming a password or secret are masked
    /// in `config print`.
    pub properties: BTreeMap<String, String>,
    /// Replicas of a topic the ledger creates; absent: 3 on a cluster of at least 3 brokers,
    /// else 1 with a warning.
    pub replication_factor: Option<i32>,
    /// `min.insync.replicas` of a topic the ledger creates; absent: 2 with 3 or more replicas,
    /// else 1.
    pub min_insync_replicas: Option<i32>,
    /// Serve on an event topic whose retention deletes events (refused by default).
    pub allow_finite_retention: bool,
}

impl KafkaConfig {
    /// The log adapter's settings for the event topic on `brokers`.
    pub fn log_config(&self, brokers: &str, partitions: u32) -> ledger_log::KafkaConfig {
        let mut c = ledger_log::KafkaConfig::new(brokers, &self.events_topic, partitions);
        c.properties = self.properties.clone();
        c.topics = ledger_log::kafka::TopicSettings {
            replication_factor: self.replication_factor,
            min_insync_replicas: self.min_insync_replicas,
            allow_finite_retention: self.allow_finite_retention,
        };
        c
    }

    /// This section with the values of secret-looking properties masked.
    fn masked(&self) -> KafkaConfig {
        let mut masked = self.clone();
        for (key, value) in masked.properties.iter_mut() {
            let key = key.to_ascii_lowercase();
            if ["password", "secret", "jaas", "token"]
                .iter()
                .any(|s| key.contains(s))
            {
                *value = "***".into();
            }
        }
        masked
    }
}

/// `KEY=VALUE` of `--kafka-property`.
pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            listen: "127.0.0.1:8080".into(),
            partitions: 8,
            command_wait_ms: 5000,
            memory_mib: 256,
            kafka: KafkaConfig::default(),
            auth: AuthConfig::default(),
            timezone: ledger_api::host_timezone().name().to_string(),
            digest_key: None,
            edge: EdgeConfig::default(),
        }
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: None,
            events_topic: "fee.events".into(),
            commands_topic: "fee.commands".into(),
            group: "ledger-deciders".into(),
            properties: BTreeMap::new(),
            replication_factor: None,
            min_insync_replicas: None,
            allow_finite_retention: false,
        }
    }
}

/// The flags (each also read from its `LEDGER_…` variable by clap); `None` leaves the file's or
/// the default value.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConfigArgs {
    /// A TOML config file (see README "Configuration").
    #[arg(long, env = "LEDGER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the log and the read models live.
    #[arg(long, env = "LEDGER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "LEDGER_LISTEN")]
    pub listen: Option<String>,
    /// Partitions of a new log (an existing log keeps its own count).
    #[arg(long, env = "LEDGER_PARTITIONS")]
    pub partitions: Option<u32>,
    /// How long a command request waits for its outcome before answering 202.
    #[arg(long, env = "LEDGER_COMMAND_WAIT_MS")]
    pub command_wait_ms: Option<u64>,
    /// The node's memory budget in MiB (bounds every cache).
    #[arg(long, env = "LEDGER_MEMORY_MIB")]
    pub memory_mib: Option<u64>,
    /// Kafka bootstrap brokers (`host:port,…`); without it the embedded log is used.
    #[arg(long, env = "LEDGER_KAFKA")]
    pub kafka: Option<String>,
    /// The event topic.
    #[arg(long, env = "LEDGER_EVENTS_TOPIC")]
    pub events_topic: Option<String>,
    /// The command topic producers publish command envelopes to.
    #[arg(long, env = "LEDGER_COMMANDS_TOPIC")]
    pub commands_topic: Option<String>,
    /// The consumer group of the deciders.
    #[arg(long, env = "LEDGER_GROUP")]
    pub group: Option<String>,
    /// A librdkafka property for every Kafka client, `KEY=VALUE` (repeatable; added to and
    /// overriding the file's `[kafka.properties]`).
    #[arg(long = "kafka-property", value_parser = parse_property)]
    pub kafka_properties: Vec<(String, String)>,
    /// Replicas of a topic the ledger creates (default: 3 on 3+ brokers, else 1).
    #[arg(long, env = "LEDGER_KAFKA_REPLICATION_FACTOR")]
    pub kafka_replication_factor: Option<i32>,
    /// `min.insync.replicas` of a topic the ledger creates (default: 2 with 3+ replicas, else 1).
    #[arg(long, env = "LEDGER_KAFKA_MIN_INSYNC_REPLICAS")]
    pub kafka_min_insync_replicas: Option<i32>,
    /// Serve on an event topic whose retention deletes events (refused without it).
    #[arg(long, env = "LEDGER_KAFKA_ALLOW_FINITE_RETENTION")]
    pub kafka_allow_finite_retention: bool,
    /// How far a `req-time` may be from the server's clock, in seconds.
    #[arg(long, env = "LEDGER_REQ_TIME_WINDOW_S")]
    pub req_time_window_s: Option<u64>,
    /// The business time zone (IANA name, e.g. Asia/Shanghai); the host's by default.
    #[arg(long, env = "LEDGER_TIMEZONE")]
    pub timezone: Option<String>,
}

impl Config {
    /// Reads a TOML file; unknown keys are errors (a typo must not silently keep a default).
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
    }

    /// The effective config: defaults, then the file, then environment and flags.
    pub fn resolve(args: &ConfigArgs) -> anyhow::Result<Config> {
        let mut c = match &args.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let a = args.clone();
        if let Some(v) = a.data_dir {
            c.data_dir = v;
        }
        if let Some(v) = a.listen {
            c.listen = v;
        }
        if let Some(v) = a.partitions {
            c.partitions = v;
        }
        if let Some(v) = a.command_wait_ms {
            c.command_wait_ms = v;
        }
        if let Some(v) = a.memory_mib {
            c.memory_mib = v;
        }
        if let Some(v) = a.kafka {
            c.kafka.brokers = Some(v);
        }
        if let Some(v) = a.events_topic {
            c.kafka.events_topic = v;
        }
        if let Some(v) = a.commands_topic {
            c.kafka.commands_topic = v;
        }
        if let Some(v) = a.group {
            c.kafka.group = v;
        }
        c.kafka.properties.extend(a.kafka_properties);
        if let Some(v) = a.kafka_replication_factor {
            c.kafka.replication_factor = Some(v);
        }
        if let Some(v) = a.kafka_min_insync_replicas {
            c.kafka.min_insync_replicas = Some(v);
        }
        if a.kafka_allow_finite_retention {
            c.kafka.allow_finite_retention = true;
        }
        if let Some(v) = a.req_time_window_s {
            c.auth.req_time_window_s = v;
        }
        if let Some(v) = a.timezone {
            c.timezone = v;
        }
        anyhow::ensure!(c.partitions > 0, "partitions must be at least 1");
        anyhow::ensure!(
            c.memory_mib >= MIN_MEMORY_MIB,
            "memory_mib must be at least {MIN_MEMORY_MIB}"
        );
        c.zone()?;
        Ok(c)
    }

    /// Where the digest key is.
    pub fn digest_key_path(&self) -> PathBuf {
        self.digest_key
            .clone()
            .unwrap_or_else(|| crate::digest::default_key_path(&self.data_dir))
    }

    /// The business time zone.
    pub fn zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.timezone.parse().map_err(|_| {
            anyhow::anyhow!(
                "timezone {:?} is not an IANA time zone name (e.g. Asia/Shanghai, UTC)",
                self.timezone
            )
        })
    }

    /// The page caches of the read store and the decider's keyed state together (two thirds
    /// and one third of this): a third of the budget, leaving the rest to the hand-over buffer,
    /// HTTP and the allocator's slack.
    pub fn store_cache_bytes(&self) -> u64 {
        self.memory_mib * 1024 * 1024 / 3
    }

    /// The config as TOML with every secret masked.
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        masked.auth = self.auth.masked();
        masked.kafka = self.kafka.masked();
        toml::to_string_pretty(&masked).expect("the config serializes")
    }

    /// Refuses to serve the demo credentials on an address other machines reach, unless
    /// `--demo` says so: anyone who read the README could write to the ledger.
    pub fn refuse_demo_on_network(&self, file: Option<&Path>, demo: bool) -> anyhow::Result<()> {
        if demo || !self.auth.uses_demo_credentials() || listens_on_loopback_only(&self.listen) {
            return Ok(());
        }
        let source = match file {
            Some(f) => format!("the config file {} keeps demo credentials", f.display()),
            None => "no config file was given (--config PATH), so the demo credentials apply"
                .to_string(),
        };
        anyhow::bail!(
            "refusing to serve the demo credentials on {}: {source}. Give your own [auth] \
             credentials in the config file, listen on a loopback address, or pass --demo to \
             accept the demo credentials on the network anyway.",
            self.listen
        )
    }

    /// Says loudly that the demo credentials are accepted.
    pub fn warn_if_demo(&self) {
        if self.auth.uses_demo_credentials() {
            for line in [
                "!!! DEMO CREDENTIALS IN USE: this node accepts the demo secrets printed in README.",
                "!!! Anyone who has read the README can write to this ledger.",
                "!!! Give a config file (--config PATH) with your own [auth] credentials.",
            ] {
                tracing::warn!("{line}");
            }
        }
    }
}

/// Whether every address `listen` resolves to is a loopback address.
fn listens_on_loopback_only(listen: &str) -> bool {
    use std::net::ToSocketAddrs;
    match listen.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[kafka.properties]` from the file and `--kafka-property` flags reach the log's client
    /// settings (a flag overriding the file's key), and `config print` masks the password.
    #[test]
    fn kafka_properties_merge_reach_the_clients_and_mask_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.toml");
        std::fs::write(
            &path,
            "[kafka]\nreplication_factor = 3\n[kafka.properties]\n\"security.protocol\" = \"SSL\"\n\
             \"sasl.password\" = \"hunter2\"\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(path),
            kafka_properties: vec![
                ("security.protocol".into(), "SASL_SSL".into()),
                ("sasl.mechanism".into(), "SCRAM-SHA-512".into()),
            ],
            kafka_allow_finite_retention: true,
            ..ConfigArgs::default()
        };
        let c = Config::resolve(&args).unwrap();
        let log = c.kafka.log_config("b:9092", 8);
        assert_eq!(log.properties["security.protocol"], "SASL_SSL");
        assert_eq!(log.properties["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(log.properties["sasl.password"], "hunter2");
        assert_eq!(log.topics.replication_factor, Some(3));
        assert!(log.topics.allow_finite_retention);
        let shown = c.to_masked_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("SCRAM-SHA-512"), "{shown}");
        assert!(parse_property("no-equals").is_err());
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\npartitions = 4\n[auth]\nreq_time_window_s = 60\n\
             [[auth.property_apps]]\napp_id = \"a\"\nsecret = \"s3cret\"\ntoken = \"t0ken\"\n",
        )
        .unwrap();
        let c = Config::resolve(&ConfigArgs {
            config: Some(path),
            partitions: Some(2),
            ..ConfigArgs::default()
        })
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.partitions, 2);
        assert_eq!(c.command_wait_ms, 5000);
        assert_eq!(c.auth.req_time_window_s, 60);
        assert_eq!(c.auth.property_apps.len(), 1);
        // The file's [auth] replaces the demo credentials: lists it does not give are empty.
        assert!(c.auth.baas_apps.is_empty());
        assert!(!c.auth.uses_demo_credentials());
        let shown = c.to_masked_toml();
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.toml");
        std::fs::write(&path, "listn = \"x\"\n").unwrap();
        assert!(Config::load(&path).is_err());
    }

    #[test]
    fn demo_credentials_are_refused_off_loopback_unless_demo() {
        let mut c = Config::default();
        assert!(
            c.refuse_demo_on_network(None, false).is_ok(),
            "loopback default"
        );
        c.listen = "localhost:8080".into();
        assert!(c.refuse_demo_on_network(None, false).is_ok());
        c.listen = "0.0.0.0:8080".into();
        let why = c
            .refuse_demo_on_network(None, false)
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("--demo") && why.contains("no config file"),
            "{why}"
        );
        let why = c
            .refuse_demo_on_network(Some(Path::new("/etc/ledger.toml")), false)
            .unwrap_err()
            .to_string();
        assert!(why.contains("/etc/ledger.toml"), "{why}");
        assert!(c.refuse_demo_on_network(None, true).is_ok());
        c.auth = AuthConfig {
            property_apps: Vec::new(),
            baas_apps: Vec::new(),
            utility_channels: Vec::new(),
            callcenter_users: Vec::new(),
            admin_token: Some("own".into()),
            ..AuthConfig::default()
        };
        assert!(
            c.refuse_demo_on_network(None, false).is_ok(),
            "own credentials"
        );
    }
}
