//! The read store: one ordered map of read models plus applied positions (a redb file; a sled
//! tree for a store written before, see `kv`), and beside it the decider's keyed state.
//!
//! Durability: `apply` writes the read-model changes of a run of events and the new positions in
//! one atomic transaction. After a crash the store holds either the whole batch or none of it, so
//! the projector resumes from the stored position and applies every event exactly once. Batches
//! are not fsynced one by one (the log is the durable record); `flush` is called at shutdown and
//! a durable commit is made at least every `kv::DURABLE_EVERY_MS`.

use crate::keys;
use crate::kv::{Engine, Kv, Reader};
use ledger_core::{Event, EventEnvelope, OutcomeRecord, OutcomeStatus};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("read store failed: {0}")]
    Storage(String),
    /// Another process (a running `ledger serve`, most likely) has the store open.
    #[error(
        "the read store is in use by another process, a running `ledger serve` most likely \
         ({detail}); stop it, or ask the running server instead"
    )]
    Locked { detail: String },
    #[error("read model row {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// Events must be applied densely; a gap would silently skip the events in between.
    #[error("event {partition}:{offset} does not continue the applied position {expected}")]
    Gap {
        partition: u32,
        offset: u64,
        expected: u64,
    },
}

/// Where the running digest is stored, in the same batch as the rows it sums (it is not a row
/// of the sum itself; no read-model prefix starts with 0xff).
const DIGEST_KEY: &[u8] = b"\xffdigest";

/// The page cache of a store opened without a memory budget (tools and tests).
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The read models' file and the decider state's file in a redb store directory.
const READ_MODELS_FILE: &str = "read-models.redb";
const DECIDER_STATE_FILE: &str = "decider-state.redb";

/// One read-model row: key and value bytes.
pub type Row = (Vec<u8>, Vec<u8>);

/// Pending writes of one batch over the tree, so later events of a batch see earlier ones.
pub struct Overlay<'a> {
    reader: Reader<'a>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Rows as the tree held them before this batch, for every key the batch read. Writing the
    /// batch needs each overwritten row's old value (to take it out of the digest); remembering
    /// what the projection already read saves a second tree lookup per row.
    originals: RefCell<HashMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl<'a> Overlay<'a> {
    fn new(kv: &'a Kv) -> Result<Self, StoreError> {
        Ok(Overlay {
            reader: kv.reader()?,
            pending: BTreeMap::new(),
            originals: RefCell::new(HashMap::new()),
        })
    }

    /// The row as the store holds it (pending writes ignored), read at most once per batch.
    fn original(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.originals.borrow().get(key) {
            return Ok(v.clone());
        }
        let v = self.reader.get(key)?;
        self.originals.borrow_mut().insert(key.to_vec(), v.clone());
        Ok(v)
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        self.original(key)
    }

    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.get(key)?
            .map(|bytes| parse_row(key, &bytes))
            .transpose()
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }

    pub fn put_json<T: serde::Serialize>(&mut self, key: Vec<u8>, value: &T) {
        let bytes = serde_json::to_vec(value).expect("read-model rows serialize");
        self.put(key, bytes);
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.pending.insert(key, None);
    }

    /// Keys (with values) under a prefix, pending writes included.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Row>, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for (k, v) in self.reader.scan_prefix(prefix)? {
            merged.insert(k, Some(v));
        }
        for (k, v) in self.pending.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            merged.insert(k.clone(), v.clone());
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }
}

pub struct ReadStore {
    engine: Engine,
    /// The sled database of a sled store (its size and flush cover both trees).
    sled: Option<sled::Db>,
    kv: Kv,
    state: Arc<Kv>,
    /// The read-model digest, kept up to date by every write; the lock is held across each
    /// batch so a reader sees positions and digest of the same state.
    digest: Mutex<RowSum>,
}

/// A fingerprint of a set of rows: the sum modulo 2^256 of SHA-256(len ‖ key ‖ len ‖ value) over
/// every row. Order-independent, so a write updates it by subtracting the old row and adding the
/// new one, and a full scan of an equal store gives the same sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RowSum([u64; 4]);

impl RowSum {
    fn row(key: &[u8], value: &[u8]) -> RowSum {
        let mut h = Sha256::new();
        h.update((key.len() as u64).to_be_bytes());
        h.update(key);
        h.update((value.len() as u64).to_be_bytes());
        h.update(value);
        let bytes: [u8; 32] = h.finalize().into();
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            *limb = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
        }
        RowSum(limbs)
    }

    /// Limb 0 is the most significant.
    fn add(self, other: RowSum) -> RowSum {
        let mut out = [0u64; 4];
        let mut carry = false;
        for i in (0..4).rev() {
            let (a, c1) = self.0[i].overflowing_add(other.0[i]);
            let (b, c2) = a.overflowing_add(carry as u64);
            out[i] = b;
            carry = c1 || c2;
        }
        RowSum(out)
    }

    fn neg(self) -> RowSum {
        let inverted = RowSum(self.0.map(|l| !l));
        inverted.add(RowSum([0, 0, 0, 1]))
    }

    fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<RowSum> {
        let mut limbs = [0u64; 4];
        if bytes.len() != 32 {
            return None;
        }
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            *limb = u64::from_be_bytes(chunk.try_into().ok()?);
        }
        Some(RowSum(limbs))
    }

    fn hex(self) -> String {
        self.0.iter().map(|l| format!("{l:016x}")).collect()
    }
}

impl ReadStore {
    /// Opens the store with the default page cache (tools and tests).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens the store in `dir` on the engine its files show (a new store: redb) with page
    /// caches of at most `cache_bytes` in all (the node's memory budget gives it a share).
    /// Start-up reads the stored digest instead of scanning every row, so it does not grow with
    /// the history; only a store written before the digest was stored is scanned once.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        Self::open_on(dir, cache_bytes, Engine::detect(dir))
    }

    /// Opens (or creates) the store in `dir` on `engine`: a benchmark builds a store on either
    /// engine to compare them. The read models get two thirds of the cache, the decider state
    /// one third.
    pub fn open_on(dir: &Path, cache_bytes: u64, engine: Engine) -> Result<Self, StoreError> {
        let (sled, kv, state) = match engine {
            Engine::Redb => (
                None,
                Kv::open_redb(&dir.join(READ_MODELS_FILE), cache_bytes / 3 * 2)?,
                Kv::open_redb(&dir.join(DECIDER_STATE_FILE), cache_bytes / 3)?,
            ),
            Engine::Sled => {
                let db = sled::Config::new()
                    .path(dir)
                    .cache_capacity(cache_bytes)
                    .flush_every_ms(Some(200))
                    .open()?;
                let kv = Kv::Sled(db.open_tree("read_models")?);
                let state = Kv::Sled(db.open_tree("decider_state")?);
                (Some(db), kv, state)
            }
        };
        let sum = match kv.get(DIGEST_KEY)? {
            Some(stored) => RowSum::from_bytes(&stored).ok_or_else(|| StoreError::Corrupt {
                key: "digest".into(),
                reason: "not 32 bytes".into(),
            })?,
            None => {
                let mut sum = RowSum::default();
                kv.reader()?.for_each(&[], |k, v| {
                    if k != DIGEST_KEY {
                        sum = sum.add(RowSum::row(k, v));
                    }
                    Ok(())
                })?;
                sum
            }
        };
        let store = ReadStore {
            engine,
            sled,
            kv,
            state: Arc::new(state),
            digest: Mutex::new(sum),
        };
        crate::callcenter::count_summary_cells(&store)?;
        crate::utility::compact_rows(&store)?;
        Ok(store)
    }

    /// The engine this store is on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The next offset to apply for a partition (0 when nothing was applied).
    pub fn position(&self, partition: u32) -> Result<u64, StoreError> {
        match self.kv.get(&keys::position(partition))? {
            None => Ok(0),
            Some(v) => position_value(partition, &v),
        }
    }

    /// Applies a run of events of one partition, skipping those already applied, and stores the
    /// new position, all in one atomic batch. Returns the new position.
    pub fn apply(&self, partition: u32, events: &[EventEnvelope]) -> Result<u64, StoreError> {
        let own: Vec<&EventEnvelope> = events.iter().filter(|e| e.partition == partition).collect();
        let applied = self.apply_all(own)?;
        match applied.get(&partition) {
            Some(position) => Ok(*position),
            None => self.position(partition),
        }
    }

    /// Applies events of any partitions (each partition's in offset order), skipping those
    /// already applied, and stores every touched partition's new position, all in one atomic
    /// batch: one transaction per projector round, however many partitions moved, and a row
    /// written by several events of the round is written once. Returns the new positions of
    /// the partitions that had events.
    pub fn apply_all<'e>(
        &self,
        events: impl IntoIterator<Item = &'e EventEnvelope>,
    ) -> Result<BTreeMap<u32, u64>, StoreError> {
        let mut positions: BTreeMap<u32, u64> = BTreeMap::new();
        let mut overlay = self.overlay()?;
        for env in events {
            let position = match positions.get(&env.partition) {
                Some(p) => *p,
                None => self.position(env.partition)?,
            };
            positions.insert(env.partition, position);
            if env.offset < position {
                continue;
            }
            if env.offset > position {
                return Err(StoreError::Gap {
                    partition: env.partition,
                    offset: env.offset,
                    expected: position,
                });
            }
            project(&mut overlay, env)?;
            positions.insert(env.partition, env.offset + 1);
        }
        for (partition, position) in &positions {
            overlay.put(keys::position(*partition), position.to_be_bytes().to_vec());
        }
        self.write(overlay)?;
        Ok(positions)
    }

    /// Writes an overlay's rows (None removes) in one atomic batch and updates the digest with
    /// them.
    pub(crate) fn write(&self, overlay: Overlay<'_>) -> Result<(), StoreError> {
        let mut digest = self.digest.lock().unwrap_or_else(|e| e.into_inner());
        let mut sum = *digest;
        for (k, v) in &overlay.pending {
            if let Some(old) = overlay.original(k)? {
                sum = sum.add(RowSum::row(k, &old).neg());
            }
            if let Some(v) = v {
                sum = sum.add(RowSum::row(k, v));
            }
        }
        let sum_bytes = sum.to_bytes();
        self.kv.write(
            overlay
                .pending
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_deref()))
                .chain(std::iter::once((DIGEST_KEY, Some(sum_bytes.as_slice())))),
        )?;
        *digest = sum;
        Ok(())
    }

    /// The applied positions of partitions `0..partitions` and the digest of the same state.
    pub fn positions_and_digest(&self, partitions: u32) -> Result<(Vec<u64>, String), StoreError> {
        let digest = self.digest.lock().unwrap_or_else(|e| e.into_inner());
        // One read of the `pos/` rows (every query's reply carries them), not one per partition.
        let mut positions = vec![0; partitions as usize];
        self.kv.reader()?.for_each(keys::POSITION, |k, v| {
            let partition = k[keys::POSITION.len()..]
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    key: String::from_utf8_lossy(k).into_owned(),
                    reason: "not a partition number".into(),
                })?;
            if let Some(slot) = positions.get_mut(partition as usize) {
                *slot = position_value(partition, v)?;
            }
            Ok(())
        })?;
        Ok((positions, digest.hex()))
    }

    /// The decider's keyed state, opened with the store (its own file beside the read models).
    pub fn decider_state(&self) -> Result<crate::decider_state::DeciderState, StoreError> {
        Ok(crate::decider_state::DeciderState::new(self.state.clone()))
    }

    /// Makes every applied batch and decider-state commit durable (used at shutdown and by
    /// tools). Survives a crash: everything written before the call.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.kv.flush()?;
        self.state.flush()
    }

    /// Bytes the store occupies on disk, read models and decider state (for the
    /// `ledger_store_size_bytes` metric).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        match &self.sled {
            Some(db) => self.kv.size_on_disk(Some(db)),
            None => Ok(self.kv.size_on_disk(None)? + self.state.size_on_disk(None)?),
        }
    }

    /// One row, read straight from the tree (queries need no overlay).
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.kv
            .get(key)?
            .map(|bytes| parse_row(key, &bytes))
            .transpose()
    }

    /// The first key component of every row under `prefix`, with its count of rows.
    pub fn first_parts(&self, prefix: &[u8]) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut parts = BTreeMap::new();
        for (key, _) in self.kv.scan_prefix(prefix)? {
            if let Some(part) = crate::keys::first_part(prefix, &key) {
                *parts.entry(part).or_insert(0) += 1;
            }
        }
        Ok(parts)
    }

    pub fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<T>, StoreError> {
        self.kv
            .scan_prefix(prefix)?
            .iter()
            .map(|(k, v)| parse_row(k, v))
            .collect()
    }

    /// Visits the rows under `prefix` in key order without copying them out of the store.
    pub(crate) fn for_each(
        &self,
        prefix: &[u8],
        visit: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.kv.reader()?.for_each(prefix, visit)
    }

    /// The last row (in key order) under `prefix`.
    pub(crate) fn last_under(&self, prefix: &[u8]) -> Result<Option<Row>, StoreError> {
        self.kv.reader()?.last_under(prefix)
    }

    /// Visits the rows under `prefix` from the first at or after `start` until `visit` returns
    /// false.
    pub(crate) fn for_each_from(
        &self,
        prefix: &[u8],
        start: &[u8],
        visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        self.kv.reader()?.for_each_from(prefix, start, visit)
    }

    pub(crate) fn overlay(&self) -> Result<Overlay<'_>, StoreError> {
        Overlay::new(&self.kv)
    }

    /// Where a command's outcome sits in the log (its events are read from there).
    pub fn command_record(&self, command_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        self.get_json(&keys::compose(keys::COMMAND, &[command_id]))
    }

    /// Every key and value, in key order: what "byte-identical read models" compares.
    pub fn dump(&self) -> Result<Vec<Row>, StoreError> {
        let mut rows = self.kv.all()?;
        rows.retain(|(k, _)| k != DIGEST_KEY);
        Ok(rows)
    }

    /// Overwrites (or with `None` removes) one row in place. Only for tests and tools that prove
    /// `verify` catches a read model that no longer matches the log; projection never does this.
    pub fn tamper(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let mut overlay = self.overlay()?;
        match value {
            Some(v) => overlay.put(key.to_vec(), v.to_vec()),
            None => overlay.remove(key.to_vec()),
        }
        self.write(overlay)?;
        self.flush()
    }

    /// The digest of the whole read-model state (see `RowSum`): equal stores have equal digests,
    /// and it costs nothing to read (every write keeps it current).
    pub fn digest(&self) -> Result<String, StoreError> {
        Ok(self.digest.lock().unwrap_or_else(|e| e.into_inner()).hex())
    }
}

/// A `pos/` row's value: the next offset to apply, 8 bytes big-endian.
fn position_value(partition: u32, bytes: &[u8]) -> Result<u64, StoreError> {
    bytes
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt {
            key: format!("pos/{partition}"),
            reason: "not 8 bytes".into(),
        })
}

/// A row's JSON value, or `Corrupt` naming the key.
pub(crate) fn parse_row<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

/// Folds one event into the read models. Every event also records its command's outcome.
fn project(ov: &mut Overlay<'_>, env: &EventEnvelope) -> Result<(), StoreError> {
    record_outcome(ov, env)?;
    match &env.event {
        Event::CommandRejected(_) => Ok(()),
        Event::FeeConfigCreated(e) => crate::property::put_config(ov, &e.config),
        Event::FeeConfigUpdated(e) => crate::property::config_updated(ov, e),
        Event::RoomSaved(e) => crate::property::room_saved(ov, e),
        Event::CommunitySettingSaved(e) => crate::property::setting_saved(ov, e),
        Event::RoomFeeCreated(e) => crate::property::fee_created(ov, e),
        Event::BillRuleCreated(e) => crate::property::rule_created(ov, e),
        Event::FeePaid(e) => crate::property::fee_paid(ov, e),
        Event::TariffConfigured(e) => crate::callcenter::put_tariff(ov, &e.tariff),
        Event::TariffEdited(e) => crate::callcenter::put_tariff(ov, &e.tariff),
        Event::TariffStateChanged(e) => crate::callcenter::put_tariff(ov, &e.tariff),
        Event::OperatorBillReported(e) => crate::callcenter::put_report(ov, &e.report),
        Event::CallsRecorded(e) => crate::callcenter::record_calls(ov, e),
        Event::CostCenterAssigned(e) => crate::callcenter::put_cost_center(ov, e),
        Event::BaasBillPosted(e) => crate::baas::put_bill(ov, e),
        Event::BaasPaymentPosted(e) => crate::baas::put_payment(ov, e),
        Event::BaasUsagePosted(e) => crate::baas::put_usage(ov, e),
        Event::UtilityChargePosted(e) => crate::utility::put_charge(ov, e),
        Event::UtilityPaymentPosted(e) => crate::utility::put_payment(ov, e),
    }
}

fn record_outcome(ov: &mut Overlay<'_>, env: &EventEnvelope) -> Result<(), StoreError> {
    let key = keys::compose(keys::COMMAND, &[&env.command_id]);
    let mut outcome: OutcomeRecord = match ov.get_json(&key)? {
        Some(o) => o,
        None => OutcomeRecord {
            command_id: env.command_id.clone(),
            status: OutcomeStatus::Accepted,
            key: env.key.clone(),
            partition: env.partition,
            first_offset: env.offset,
            last_offset: env.offset,
            rejection: None,
        },
    };
    outcome.last_offset = env.offset;
    if let Event::CommandRejected(r) = &env.event {
        outcome.status = OutcomeStatus::Rejected;
        outcome.rejection = Some(r.rejection.clone());
    }
    ov.put_json(key, &outcome);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_digest_equals_a_fresh_scan_and_undoes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReadStore::open(dir.path()).unwrap();
        let empty = store.digest().unwrap();
        assert_eq!(empty, "0".repeat(64));
        store.tamper(b"a", Some(b"1")).unwrap();
        store.tamper(b"b", Some(b"2")).unwrap();
        let two = store.digest().unwrap();
        store.tamper(b"a", Some(b"9")).unwrap();
        assert_ne!(store.digest().unwrap(), two);
        store.tamper(b"a", Some(b"1")).unwrap();
        assert_eq!(store.digest().unwrap(), two, "overwriting back restores it");
        drop(store);
        let reopened = ReadStore::open(dir.path()).unwrap();
        assert_eq!(
            reopened.digest().unwrap(),
            two,
            "a full scan gives the same sum"
        );
        reopened.tamper(b"a", None).unwrap();
        reopened.tamper(b"b", None).unwrap();
        assert_eq!(reopened.digest().unwrap(), empty);
    }

    /// Both engines keep read-model rows, the digest, decider-state rows and checkpoints across
    /// a reopen, and a store is reopened on the engine it was written with (a sled store from
    /// before redb keeps working; a new store is redb).
    #[test]
    fn each_engine_keeps_rows_digest_and_checkpoints_across_a_reopen() {
        use ledger_core::keyed::StateStore;
        use ledger_core::log::PartitionHead;
        for engine in [Engine::Redb, Engine::Sled] {
            let dir = tempfile::tempdir().unwrap();
            let store = ReadStore::open_on(dir.path(), 8 << 20, engine).unwrap();
            store.tamper(b"a", Some(b"1")).unwrap();
            store.tamper(b"b", Some(b"[2]")).unwrap();
            let digest = store.digest().unwrap();
            let head = PartitionHead {
                next_offset: 7,
                last_hash: ledger_core::Sha256Hash([9; 32]),
            };
            let state = store.decider_state().unwrap();
            state
                .commit(vec![(b"c1".to_vec(), Some(b"x".to_vec()))], &[(3, head)])
                .unwrap();
            store.flush().unwrap();
            drop((store, state));

            let fresh = dir.path().join("fresh");
            assert_eq!(Engine::detect(&fresh), Engine::Redb, "a new store is redb");
            assert_eq!(Engine::detect(dir.path()), engine);
            // sled's flusher thread lets go of the file lock a moment after the drop.
            let store = loop {
                match ReadStore::open(dir.path()) {
                    Err(StoreError::Locked { .. }) => std::thread::yield_now(),
                    other => break other.unwrap(),
                }
            };
            assert_eq!(store.engine(), engine);
            assert_eq!(store.get_json::<u64>(b"a").unwrap(), Some(1), "{engine:?}");
            assert_eq!(store.scan_json::<Vec<u64>>(b"b").unwrap(), vec![vec![2]]);
            assert_eq!(store.digest().unwrap(), digest, "{engine:?}");
            let state = store.decider_state().unwrap();
            assert_eq!(state.get(b"c1").unwrap(), Some(b"x".to_vec()));
            assert_eq!(state.checkpoint(3).unwrap(), Some(head), "{engine:?}");
            assert_eq!(state.checkpoint(2).unwrap(), None);
            state.clear().unwrap();
            assert_eq!(state.get(b"c1").unwrap(), None);
            assert_eq!(state.checkpoint(3).unwrap(), None);
            assert!(store.size_on_disk().unwrap() > 0);
        }
    }

    #[test]
    fn row_sums_carry_across_limbs() {
        let max = RowSum([0, 0, 0, u64::MAX]);
        assert_eq!(max.add(RowSum([0, 0, 0, 1])), RowSum([0, 0, 1, 0]));
        let all = RowSum([u64::MAX; 4]);
        assert_eq!(all.add(RowSum([0, 0, 0, 1])), RowSum::default());
        assert_eq!(max.add(max.neg()), RowSum::default());
    }
}
