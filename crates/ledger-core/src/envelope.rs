//! Command and event envelopes (DESIGN §4) and the per-partition hash chain (invariant 6).
//!
//! An event is stored as its canonical JSON with the `hash` field appended last:
//! `{…,"prev_hash":"<hex>","hash":"<hex>"}`. The canonical bytes are exactly the stored bytes
//! without the `,"hash":"…"` suffix, so `verify` hashes what is on disk, byte for byte, and any
//! edit anywhere in a stored event changes its hash.

use crate::event::Event;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// A SHA-256 digest, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    /// The `prev_hash` of the first event of every partition.
    pub const GENESIS: Sha256Hash = Sha256Hash([0; 32]);

    pub fn of(bytes: &[u8]) -> Self {
        Sha256Hash(Sha256::digest(bytes).into())
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// Reads 64 hex digits (either case). Written out rather than through `hex`, whose
    /// per-digit error handling made decoding an envelope's hashes 5 % of a replay's samples.
    pub fn from_hex(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Sha256Hash(out))
    }
}

/// The value of one hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl Serialize for Sha256Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Hash {
    /// Reads the hex text in place (no `String` per hash): every envelope carries two or three
    /// hashes, and decoding them was 5 % of a replay's samples (issue 19).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HexVisitor;
        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = Sha256Hash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Sha256Hash, E> {
                Sha256Hash::from_hex(text).ok_or_else(|| E::custom("expected 64 hex digits"))
            }
        }
        d.deserialize_str(HexVisitor)
    }
}

/// Who sent a command: the app id, app key or user the edge authenticated, or a Kafka producer's
/// self-declared actor.
pub type Actor = Option<String>;

/// What the edge knows about a command besides its typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMeta {
    /// Idempotency key: the seed's request serial where one exists, else the client's, else a
    /// UUID v7 assigned at the edge (invariant 2).
    pub command_id: String,
    /// Partition key such as `community:10001` (invariant 3).
    pub key: String,
    pub issued_at: DateTime<Utc>,
    pub actor: Actor,
    /// SHA-256 of the command's payload in canonical JSON (`ledger_wire::Fields::body_sha256`),
    /// the same for a command sent over HTTP and on the command topic, so a reused id with
    /// another body is refused on either path.
    pub body_sha256: Sha256Hash,
    /// The hashes older versions recorded for the same body: of the raw HTTP body (embedded
    /// mode), of the payload as re-serialized (the command topic, and HTTP commands a
    /// Kafka-mode node published). A retry of a command decided before the canonical hash is
    /// still recognised as the same body.
    pub legacy_body_sha256: Vec<Sha256Hash>,
}

impl CommandMeta {
    /// Whether `recorded` (an event's `body_sha256`) is the hash of this command's body.
    pub fn same_body(&self, recorded: Sha256Hash) -> bool {
        recorded == self.body_sha256 || self.legacy_body_sha256.contains(&recorded)
    }

    /// The command id a reused id's logged refusal is recorded under: derived from the id and
    /// the other body, so a redelivery of the same message is a duplicate of that refusal and
    /// the first outcome of the id stays as it was.
    pub fn conflict_id(&self) -> String {
        format!("{}#conflict-{}", self.command_id, self.body_sha256.to_hex())
    }
}

/// The log position of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub partition: u32,
    pub offset: u64,
}

/// An event as it sits in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub command_id: String,
    pub key: String,
    pub partition: u32,
    pub offset: u64,
    pub recorded_at: DateTime<Utc>,
    /// Business time the event is about (a bill date, a config's start), when it has one.
    pub effective_at: Option<NaiveDateTime>,
    pub schema_version: u32,
    pub event: Event,
    /// Who sent the command (the authenticated app, app key, channel or user, or a Kafka
    /// producer's declared actor); absent in events written before it was recorded.
    pub actor: Actor,
    /// SHA-256 of the command's body, so the decider can refuse a reused command id with
    /// another body after a restart; absent in events written before it was recorded.
    pub body_sha256: Option<Sha256Hash>,
    pub prev_hash: Sha256Hash,
    pub hash: Sha256Hash,
}

/// Everything about an event except its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub event_id: Uuid,
    pub command_id: String,
    pub key: String,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: Option<NaiveDateTime>,
    pub event: Event,
    pub actor: Actor,
    pub body_sha256: Option<Sha256Hash>,
}

#[derive(Serialize)]
struct CanonicalRef<'a> {
    event_id: &'a Uuid,
    command_id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    key: &'a str,
    partition: u32,
    offset: u64,
    recorded_at: String,
    effective_at: Option<String>,
    schema_version: u32,
    payload: crate::event::PayloadRef<'a>,
    // Optional and skipped when absent, so events sealed before these fields existed keep
    // their canonical bytes and hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_sha256: Option<Sha256Hash>,
    prev_hash: Sha256Hash,
}

#[derive(Deserialize)]
struct EnvelopeWire<'a> {
    event_id: Uuid,
    command_id: String,
    #[serde(rename = "type")]
    event_type: String,
    key: String,
    partition: u32,
    offset: u64,
    recorded_at: DateTime<Utc>,
    effective_at: Option<String>,
    schema_version: u32,
    #[serde(borrow)]
    payload: &'a serde_json::value::RawValue,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    body_sha256: Option<Sha256Hash>,
    prev_hash: Sha256Hash,
    hash: Sha256Hash,
}

const HASH_SUFFIX_LEN: usize = r#","hash":""}"#.len() + 64;

/// Why stored bytes are not a valid link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("event bytes are not a sealed event: {0}")]
    Malformed(String),
    #[error("hash mismatch: stored {stored}, recomputed {computed}")]
    HashMismatch {
        stored: Sha256Hash,
        computed: Sha256Hash,
    },
    #[error("prev_hash {found} does not continue the chain (expected {expected})")]
    BrokenLink {
        expected: Sha256Hash,
        found: Sha256Hash,
    },
    #[error(
        "event says partition {found_partition} offset {found_offset}, stored at {partition}:{offset}"
    )]
    Misplaced {
        partition: u32,
        offset: u64,
        found_partition: u32,
        found_offset: u64,
    },
}

fn chain_hash(prev: &Sha256Hash, canonical: &[u8]) -> Sha256Hash {
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(canonical);
    Sha256Hash(h.finalize().into())
}

pub const BUSINESS_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

impl EventDraft {
    /// Places the draft at `partition:offset` after `prev_hash` and returns the sealed envelope
    /// with its stored bytes.
    pub fn seal(
        self,
        partition: u32,
        offset: u64,
        prev_hash: Sha256Hash,
    ) -> (EventEnvelope, Vec<u8>) {
        let canonical = serde_json::to_vec(&CanonicalRef {
            event_id: &self.event_id,
            command_id: &self.command_id,
            event_type: self.event.type_name(),
            key: &self.key,
            partition,
            offset,
            recorded_at: self
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            effective_at: self.effective_at.map(crate::time::format_business),
            schema_version: self.event.schema_version(),
            payload: self.event.payload_ref(),
            actor: self.actor.as_deref(),
            body_sha256: self.body_sha256,
            prev_hash,
        })
        .expect("events serialize: every field is a plain value");
        let hash = chain_hash(&prev_hash, &canonical);
        let mut bytes = canonical;
        bytes.pop();
        bytes.extend_from_slice(br#","hash":""#);
        bytes.extend_from_slice(hash.to_hex().as_bytes());
        bytes.extend_from_slice(br#""}"#);
        let env = EventEnvelope {
            event_id: self.event_id,
            command_id: self.command_id,
            key: self.key,
            partition,
            offset,
            recorded_at: self.recorded_at,
            effective_at: self.effective_at,
            schema_version: self.event.schema_version(),
            event: self.event,
            actor: self.actor,
            body_sha256: self.body_sha256,
            prev_hash,
            hash,
        };
        (env, bytes)
    }
}

impl EventEnvelope {
    /// Decodes stored bytes, checking that they hash to their own `hash` field. The link to the
    /// previous event is checked by [`verify_link`].
    pub fn decode(bytes: &[u8]) -> Result<EventEnvelope, ChainError> {
        let wire: EnvelopeWire =
            serde_json::from_slice(bytes).map_err(|e| ChainError::Malformed(e.to_string()))?;
        if bytes.len() < HASH_SUFFIX_LEN || !bytes.ends_with(b"\"}") {
            return Err(ChainError::Malformed("no trailing hash field".into()));
        }
        let cut = bytes.len() - HASH_SUFFIX_LEN;
        if !bytes[cut..].starts_with(br#","hash":""#) {
            return Err(ChainError::Malformed("hash is not the last field".into()));
        }
        let mut canonical = bytes[..cut].to_vec();
        canonical.push(b'}');
        let computed = chain_hash(&wire.prev_hash, &canonical);
        if computed != wire.hash {
            return Err(ChainError::HashMismatch {
                stored: wire.hash,
                computed,
            });
        }
        let effective_at = match wire.effective_at {
            None => None,
            Some(t) => Some(
                crate::time::parse_business(&t)
                    .map_err(|e| ChainError::Malformed(format!("effective_at: {e}")))?,
            ),
        };
        let event = Event::decode(&wire.event_type, wire.schema_version, wire.payload.get())
            .map_err(ChainError::Malformed)?;
        Ok(EventEnvelope {
            event_id: wire.event_id,
            command_id: wire.command_id,
            key: wire.key,
            partition: wire.partition,
            offset: wire.offset,
            recorded_at: wire.recorded_at,
            effective_at,
            schema_version: wire.schema_version,
            event,
            actor: wire.actor,
            body_sha256: wire.body_sha256,
            prev_hash: wire.prev_hash,
            hash: wire.hash,
        })
    }

    pub fn position(&self) -> Position {
        Position {
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// Checks that stored bytes are a valid event at `partition:offset` following `expected_prev`.
pub fn verify_link(
    bytes: &[u8],
    partition: u32,
    offset: u64,
    expected_prev: Sha256Hash,
) -> Result<EventEnvelope, ChainError> {
    let env = EventEnvelope::decode(bytes)?;
    if env.partition != partition || env.offset != offset {
        return Err(ChainError::Misplaced {
            partition,
            offset,
            found_partition: env.partition,
            found_offset: env.offset,
        });
    }
    if env.prev_hash != expected_prev {
        return Err(ChainError::BrokenLink {
            expected: expected_prev,
            found: env.prev_hash,
        });
    }
    Ok(env)
}

/// Stable partition of a key: Kafka's default partitioner (murmur2 of the key bytes, made
/// positive, modulo the partition count), so a command published with the key by any Java-
/// compatible Kafka client lands on the partition the ledger decides and appends it in.
pub fn partition_for(key: &str, partitions: u32) -> u32 {
    (murmur2(key.as_bytes()) & 0x7fff_ffff) as u32 % partitions.max(1)
}

/// Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit value.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The hash a sealed event ends with (`…,"hash":"<64 hex>"}`), read without parsing the event.
pub fn stored_hash(bytes: &[u8]) -> Option<Sha256Hash> {
    let end = bytes.len().checked_sub(2)?;
    let start = end.checked_sub(64)?;
    Sha256Hash::from_hex(std::str::from_utf8(&bytes[start..end]).ok()?)
}

/// The `command_id` of a sealed event as written (escapes kept, which is enough to tell two
/// ids apart), read without parsing the event; empty when it has none. The first
/// `"command_id":"` of a sealed event is its own: the field comes right after `event_id`.
pub fn stored_command_id(bytes: &[u8]) -> &[u8] {
    const FIELD: &[u8] = b"\"command_id\":\"";
    let Some(start) = bytes
        .windows(FIELD.len())
        .position(|w| w == FIELD)
        .map(|i| i + FIELD.len())
    else {
        return &[];
    };
    let mut end = start;
    while end < bytes.len() && bytes[end] != b'"' {
        end += if bytes[end] == b'\\' { 2 } else { 1 };
    }
    &bytes[start..end.min(bytes.len())]
}

/// The `prev_hash` of a sealed event (`…,"prev_hash":"<64 hex>","hash":"<64 hex>"}`), read
/// without parsing the event.
pub fn stored_prev_hash(bytes: &[u8]) -> Option<Sha256Hash> {
    const TAIL: &[u8] = b"\",\"hash\":\"";
    let end = bytes.len().checked_sub(2 + 64 + TAIL.len())?;
    let start = end.checked_sub(64)?;
    if &bytes[end..end + TAIL.len()] != TAIL {
        return None;
    }
    Sha256Hash::from_hex(std::str::from_utf8(&bytes[start..end]).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_reads_back_from_its_hex_and_anything_else_is_refused() {
        let h = Sha256Hash::of(b"x");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Sha256Hash>(&json).unwrap(), h);
        // From a reader too (serde_json then hands over a transient, not a borrowed, str).
        assert_eq!(
            serde_json::from_reader::<_, Sha256Hash>(json.as_bytes()).unwrap(),
            h
        );
        for bad in [
            r#""abc""#,
            &format!(r#""{}""#, "g".repeat(64)),
            "42",
            r#""""#,
        ] {
            let e = serde_json::from_str::<Sha256Hash>(bad).unwrap_err();
            assert!(e.to_string().contains("64 hex digits"), "{bad}: {e}");
        }
    }

    proptest::proptest! {
        /// The hand-written decoder reads exactly what `hex` reads, digits of either case.
        #[test]
        fn hex_reads_as_the_hex_crate_reads(
            text in proptest::prop_oneof!["[0-9a-fA-F]{64}", "[0-9a-fA-FgG ]{62,66}"],
        ) {
            let mut out = [0u8; 32];
            let expected = hex::decode_to_slice(&text, &mut out).ok().map(|_| Sha256Hash(out));
            proptest::prop_assert_eq!(Sha256Hash::from_hex(&text), expected);
        }
    }

    #[test]
    fn a_body_is_the_same_under_its_canonical_or_a_legacy_hash_and_its_conflict_id_is_stable() {
        let (canonical, raw, other) = (
            Sha256Hash::of(b"{\"a\":1}"),
            Sha256Hash::of(b"{ \"a\": 1 }"),
            Sha256Hash::of(b"{\"a\":2}"),
        );
        let meta = CommandMeta {
            command_id: "T-1".into(),
            key: "community:1".into(),
            issued_at: DateTime::<Utc>::UNIX_EPOCH,
            actor: None,
            body_sha256: canonical,
            legacy_body_sha256: vec![raw],
        };
        assert!(meta.same_body(canonical));
        assert!(meta.same_body(raw));
        assert!(!meta.same_body(other));
        assert_eq!(
            meta.conflict_id(),
            format!("T-1#conflict-{}", canonical.to_hex())
        );
    }

    #[test]
    fn the_hashes_and_command_id_of_a_sealed_event_are_read_without_parsing_it() {
        let draft = EventDraft {
            event_id: uuid::Uuid::nil(),
            command_id: "c\"1".into(),
            key: "k".into(),
            recorded_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            effective_at: None,
            actor: None,
            body_sha256: None,
            event: crate::rejection::CommandRejected {
                command_type: "t".into(),
                rejection: crate::rejection::Rejection::Refused {
                    message: "m".into(),
                },
            }
            .into(),
        };
        let prev = Sha256Hash::of(b"before");
        let (env, bytes) = draft.seal(0, 7, prev);
        assert_eq!(stored_prev_hash(&bytes), Some(prev));
        assert_eq!(stored_hash(&bytes), Some(env.hash));
        assert_eq!(stored_prev_hash(b"{}"), None);
        assert_eq!(stored_command_id(&bytes), br#"c\"1"#);
        assert_eq!(stored_command_id(b"{}"), b"");
    }

    #[test]
    fn murmur2_matches_kafkas_test_vectors() {
        // Vectors from Kafka's UtilsTest.testMurmur2.
        let table: &[(&str, i32)] = &[
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
        ];
        for (key, hash) in table {
            assert_eq!(murmur2(key.as_bytes()), *hash, "{key}");
        }
    }
}

/// The shape of a stored event, for its JSON Schema (`schemas/event-envelope.json`). The
/// envelope itself is written by [`EventDraft::seal`] in exactly this field order.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
pub struct EventEnvelopeSchema {
    /// UUID v7.
    event_id: Uuid,
    /// The command this event is an outcome of.
    command_id: String,
    /// Event type, e.g. `fee_config.updated`; its payload schema is `schemas/events/<type>.json`.
    #[schemars(rename = "type")]
    event_type: String,
    /// Partition key, e.g. `community:10001`.
    key: String,
    partition: u32,
    /// Dense per partition, from 0.
    offset: u64,
    recorded_at: DateTime<Utc>,
    /// Business time the event is about, `yyyy-MM-dd HH:mm:ss`.
    effective_at: Option<String>,
    schema_version: u32,
    payload: serde_json::Map<String, serde_json::Value>,
    /// Hex SHA-256 of the previous event of the partition (64 zeros for the first).
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    prev_hash: String,
    /// Hex SHA-256(prev_hash bytes ‖ canonical bytes), where the canonical bytes are the stored
    /// JSON without its trailing `,"hash":"…"` field.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    hash: String,
}
