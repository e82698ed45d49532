//! The anchored history: a signed digest of the log's heads (per partition the end offset and
//! the hash of the last event), to be stored outside the node. `ledger digest` and the admin's
//! `GET /digest` print it; `ledger verify --digest FILE` fails when the log no longer extends
//! it: an event rewritten (even with every later hash recomputed: the head hash differs) or the
//! history truncated (a partition ends before the digest's end).
//!
//! The key is Ed25519 (ed25519-dalek): a 32-byte seed, hex, in `digest.key` in the data dir
//! (or `--digest-key`), created with mode 0600 on first use. The signature covers the JSON of
//! `{format, issued_at, partitions}` exactly as the digest prints it.

use anyhow::Context;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use ledger_core::EventLog;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const FORMAT: &str = "ledger-digest/1";

/// The default key file of a data dir.
pub fn default_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("digest.key")
}

/// One partition's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub partition: u32,
    /// Next offset to write: the number of events in the partition.
    pub end: u64,
    /// Hash of the event at `end - 1` (the genesis zeros for an empty partition).
    pub hash: String,
}

/// What is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Body {
    format: String,
    issued_at: String,
    partitions: Vec<Head>,
}

/// A signed digest, as printed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub format: String,
    pub issued_at: String,
    pub partitions: Vec<Head>,
    /// The Ed25519 public key, hex.
    pub public_key: String,
    /// Ed25519 signature of the body, hex.
    pub signature: String,
}

impl Digest {
    fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            format: self.format.clone(),
            issued_at: self.issued_at.clone(),
            partitions: self.partitions.clone(),
        })
        .expect("the digest body serializes")
    }
}

/// Reads the signing key, creating it (mode 0600) when absent.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<SigningKey> {
    if path.exists() {
        return read_key(path);
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the digest key {}", path.display()))?;
    std::io::Write::write_all(&mut file, hex::encode(seed).as_bytes())?;
    file.sync_all()?;
    tracing::info!(key = %path.display(), "created the digest signing key");
    Ok(SigningKey::from_bytes(&seed))
}

fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the digest key {}", path.display()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .with_context(|| format!("{} is not a 32-byte hex key", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The heads of every partition of `log`.
pub fn heads(log: &dyn EventLog) -> anyhow::Result<Vec<Head>> {
    (0..log.partitions())
        .map(|p| {
            log.forget_head(p);
            let head = log.head(p)?;
            Ok(Head {
                partition: p,
                end: head.next_offset,
                hash: head.last_hash.to_hex(),
            })
        })
        .collect()
}

/// A signed digest of the log's heads now.
pub fn sign(log: &dyn EventLog, key: &SigningKey) -> anyhow::Result<Digest> {
    let mut digest = Digest {
        format: FORMAT.into(),
        issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        partitions: heads(log)?,
        public_key: hex::encode(key.verifying_key().to_bytes()),
        signature: String::new(),
    };
    digest.signature = hex::encode(key.sign(&digest.body()).to_bytes());
    Ok(digest)
}

/// Checks the digest's signature with `key` (the node's public key when known, else the one
/// the digest names).
fn check_signature(digest: &Digest, key: Option<&VerifyingKey>) -> Result<(), String> {
    let named = {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digest.public_key, &mut bytes)
            .map_err(|_| "public_key is not 32 hex bytes".to_string())?;
        VerifyingKey::from_bytes(&bytes).map_err(|e| format!("public_key: {e}"))?
    };
    let key = key.unwrap_or(&named);
    if key != &named {
        return Err("signed with another key than this node's".into());
    }
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&digest.signature, &mut sig)
        .map_err(|_| "signature is not 64 hex bytes".to_string())?;
    key.verify(&digest.body(), &Signature::from_bytes(&sig))
        .map_err(|_| "the signature does not match the digest".to_string())
}

/// Whether `log` still extends `digest`; prints one line per check. The chain itself is
/// checked by `verify` before this runs, so the hash stored at `end - 1` is the hash of the
/// history up to there.
pub fn check(
    log: &dyn EventLog,
    digest: &Digest,
    key: Option<&VerifyingKey>,
) -> anyhow::Result<bool> {
    if let Err(why) = check_signature(digest, key) {
        println!("digest: BAD SIGNATURE: {why}");
        return Ok(false);
    }
    println!("digest: signature ok (issued {})", digest.issued_at);
    let mut ok = true;
    for head in &digest.partitions {
        if head.partition >= log.partitions() {
            println!(
                "digest: partition {}: MISSING: the log has {} partitions",
                head.partition,
                log.partitions()
            );
            ok = false;
            continue;
        }
        let now = log.head(head.partition)?;
        if now.next_offset < head.end {
            println!(
                "digest: partition {}: TRUNCATED: the log has {} events, the digest saw {}",
                head.partition, now.next_offset, head.end
            );
            ok = false;
            continue;
        }
        let stored = if head.end == 0 {
            ledger_core::Sha256Hash::GENESIS
        } else {
            let event = log
                .read(head.partition, head.end - 1, 1)?
                .into_iter()
                .next()
                .filter(|e| e.offset == head.end - 1);
            match event.and_then(|e| ledger_core::envelope::stored_hash(&e.bytes)) {
                Some(h) => h,
                None => {
                    println!(
                        "digest: partition {}: TRUNCATED: no readable event at offset {}",
                        head.partition,
                        head.end - 1
                    );
                    ok = false;
                    continue;
                }
            }
        };
        if stored.to_hex() == head.hash {
            println!(
                "digest: partition {}: extends the digest ({} events then, {} now)",
                head.partition, head.end, now.next_offset
            );
        } else {
            println!(
                "digest: partition {}: REWRITTEN: offset {} hashes {}, the digest says {}",
                head.partition,
                head.end.saturating_sub(1),
                stored.to_hex(),
                head.hash
            );
            ok = false;
        }
    }
    Ok(ok)
}

/// `verify --digest`: the digest file checked against the log of `data_dir`, with the node's
/// key (`key_path`) when it exists.
pub fn verify_file(log: &dyn EventLog, file: &Path, key_path: &Path) -> anyhow::Result<bool> {
    let text = std::fs::read(file)
        .with_context(|| format!("cannot read the digest {}", file.display()))?;
    let digest: Digest = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a ledger digest", file.display()))?;
    let key = if key_path.exists() {
        Some(read_key(key_path)?.verifying_key())
    } else {
        println!(
            "digest: no key at {}; checking with the public key the digest names",
            key_path.display()
        );
        None
    };
    check(log, &digest, key.as_ref())
}

/// The server's `GET /digest`: signs the embedded log's heads on request.
pub struct LogAnchor {
    pub log: Arc<dyn EventLog>,
    pub key: SigningKey,
}

impl ledger_api::access::Anchor for LogAnchor {
    fn digest(&self) -> Result<serde_json::Value, String> {
        sign(self.log.as_ref(), &self.key)
            .map_err(|e| e.to_string())
            .and_then(|d| serde_json::to_value(d).map_err(|e| e.to_string()))
    }

    fn backup(&self) -> Result<ledger_api::access::BackupChunks, String> {
        crate::backup::stream(self.log.clone())
    }
}
