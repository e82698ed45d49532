//! The key-value engine under the read models and the decider state: redb for every new store,
//! sled for a store written before (its files are recognised and it keeps opening on sled).
//!
//! Why redb (issue 14, measured in BENCHMARKS.md "Bounded state"): sled 0.34 keeps in memory a
//! page-table entry and snapshot record for every page of its database (pages split at 16 rows),
//! so its resident memory grows with the number of rows ever written: opening a 300k-event
//! store costs 43 MiB and a scan of it reaches 119 MiB with a 4 MiB cache. redb keeps no per-page
//! state in memory beyond its bounded cache and allocator bitmaps (bits per page), so a serving
//! node's memory follows the budget, not the history.
//!
//! Durability: every write is one atomic transaction. Most commits are non-durable (no fsync);
//! one at least every [`DURABLE_EVERY_MS`] is durable and records redb's allocator state
//! ("quick repair"), so an open after a crash does not walk the whole file. A crash therefore
//! loses at most the last [`DURABLE_EVERY_MS`] of commits, each whole: the rows and the
//! positions or checkpoints written with them roll back together, and the projector or the
//! decider folds the log again from there (the log is the durable record).

use crate::store::{Row, StoreError};
use redb::{ReadableDatabase, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The one table of each redb file: raw key bytes to raw value bytes.
const ROWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("rows");

/// The longest stretch of non-durable commits: what a crash can cost to re-fold from the log.
pub const DURABLE_EVERY_MS: u64 = 200;

/// Which engine holds a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Redb,
    Sled,
}

impl Engine {
    /// The engine of the store in `dir`: sled when sled's files are there, else redb (also for
    /// a directory that does not exist yet).
    pub fn detect(dir: &Path) -> Engine {
        if dir.join("conf").is_file() && dir.join("db").is_file() {
            Engine::Sled
        } else {
            Engine::Redb
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Redb => "redb",
            Engine::Sled => "sled",
        }
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            // sled's file lock: another process has the database open (sled reports it as
            // ErrorKind::Other with this text).
            sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock") => {
                StoreError::Locked {
                    detail: io.to_string(),
                }
            }
            e => StoreError::Storage(e.to_string()),
        }
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

fn redb_err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::from(e.into())
}

/// One redb file holding one table of rows.
pub(crate) struct RedbKv {
    db: redb::Database,
    path: PathBuf,
    last_durable: Mutex<Instant>,
}

/// One ordered map of rows, on either engine.
pub(crate) enum Kv {
    Redb(RedbKv),
    Sled(sled::Tree),
}

/// A consistent view for a run of reads (one redb read transaction; sled reads the live tree).
pub(crate) enum Reader<'a> {
    Redb(redb::ReadOnlyTable<&'static [u8], &'static [u8]>),
    Sled(&'a sled::Tree),
}

impl Kv {
    /// Opens (or creates) the redb file at `path` with a page cache of `cache_bytes`. An open
    /// after a crash recovers the last durable commit; it is quick because every durable commit
    /// records the allocator state.
    pub(crate) fn open_redb(path: &Path, cache_bytes: u64) -> Result<Kv, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Storage(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let db = redb::Database::builder()
            .set_cache_size(usize::try_from(cache_bytes).unwrap_or(usize::MAX))
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                    detail: format!("{} is locked", path.display()),
                },
                e => redb_err(e),
            })?;
        // A new file gets its table in a first durable commit; an existing one is only read.
        let has_table = match db.begin_read().map_err(redb_err)?.open_table(ROWS) {
            Ok(_) => true,
            Err(redb::TableError::TableDoesNotExist(_)) => false,
            Err(e) => return Err(redb_err(e)),
        };
        if !has_table {
            let mut txn = db.begin_write().map_err(redb_err)?;
            txn.set_quick_repair(true);
            txn.open_table(ROWS).map_err(redb_err)?;
            txn.commit().map_err(redb_err)?;
        }
        Ok(Kv::Redb(RedbKv {
            db,
            path: path.to_path_buf(),
            last_durable: Mutex::new(Instant::now()),
        }))
    }

    pub(crate) fn reader(&self) -> Result<Reader<'_>, StoreError> {
        Ok(match self {
            Kv::Redb(r) => Reader::Redb(
                r.db.begin_read()
                    .map_err(redb_err)?
                    .open_table(ROWS)
                    .map_err(redb_err)?,
            ),
            Kv::Sled(tree) => Reader::Sled(tree),
        })
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.reader()?.get(key)
    }

    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Row>, StoreError> {
        self.reader()?.scan_prefix(prefix)
    }

    /// Every row, in key order.
    pub(crate) fn all(&self) -> Result<Vec<Row>, StoreError> {
        self.reader()?.scan_prefix(&[])
    }

    /// Writes `rows` (a `None` value removes the key) in one atomic transaction or batch.
    /// Survives a crash: all of it or none of it; on redb it is durable once the next durable
    /// commit (at most [`DURABLE_EVERY_MS`] later, or `flush`) is.
    pub(crate) fn write<'r>(
        &self,
        rows: impl IntoIterator<Item = (&'r [u8], Option<&'r [u8]>)>,
    ) -> Result<(), StoreError> {
        match self {
            Kv::Redb(r) => {
                let durable = {
                    let last = r.last_durable.lock().unwrap_or_else(|e| e.into_inner());
                    last.elapsed() >= Duration::from_millis(DURABLE_EVERY_MS)
                };
                r.commit(durable, |table| {
                    for (k, v) in rows {
                        match v {
                            Some(v) => table.insert(k, v).map(drop),
                            None => table.remove(k).map(drop),
                        }
                        .map_err(redb_err)?;
                    }
                    Ok(())
                })
            }
            Kv::Sled(tree) => {
                let mut batch = sled::Batch::default();
                for (k, v) in rows {
                    match v {
                        Some(v) => batch.insert(k, v),
                        None => batch.remove(k),
                    }
                }
                tree.apply_batch(batch)?;
                Ok(())
            }
        }
    }

    /// Removes every row, durably (the decider's state when its checkpoint is not on the log).
    pub(crate) fn clear(&self) -> Result<(), StoreError> {
        match self {
            Kv::Redb(r) => {
                let mut txn = r.db.begin_write().map_err(redb_err)?;
                txn.set_quick_repair(true);
                txn.delete_table(ROWS).map_err(redb_err)?;
                txn.open_table(ROWS).map_err(redb_err)?;
                txn.commit().map_err(redb_err)?;
                Ok(())
            }
            Kv::Sled(tree) => {
                tree.clear()?;
                Ok(())
            }
        }
    }

    /// Makes every earlier write durable (shutdown, tools). Survives a crash: everything
    /// written before the call.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        match self {
            Kv::Redb(r) => r.commit(true, |_| Ok(())),
            Kv::Sled(tree) => {
                tree.flush()?;
                Ok(())
            }
        }
    }

    /// Bytes on disk (redb: the file; sled: the whole database the tree is in).
    pub(crate) fn size_on_disk(&self, sled_db: Option<&sled::Db>) -> Result<u64, StoreError> {
        match self {
            Kv::Redb(r) => Ok(std::fs::metadata(&r.path).map(|m| m.len()).unwrap_or(0)),
            Kv::Sled(_) => Ok(sled_db
                .map(|db| db.size_on_disk())
                .transpose()?
                .unwrap_or(0)),
        }
    }
}

impl RedbKv {
    fn commit(
        &self,
        durable: bool,
        fill: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(redb_err)?;
        if durable {
            txn.set_quick_repair(true);
        } else {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| StoreError::Storage(e.to_string()))?;
        }
        {
            let mut table = txn.open_table(ROWS).map_err(redb_err)?;
            fill(&mut table)?;
        }
        txn.commit().map_err(redb_err)?;
        if durable {
            *self.last_durable.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
        Ok(())
    }
}

impl Reader<'_> {
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Reader::Redb(t) => Ok(t.get(key).map_err(redb_err)?.map(|v| v.value().to_vec())),
            Reader::Sled(tree) => Ok(tree.get(key)?.map(|v| v.to_vec())),
        }
    }

    /// Rows whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        self.for_each(prefix, |k, v| {
            rows.push((k.to_vec(), v.to_vec()));
            Ok(())
        })?;
        Ok(rows)
    }

    /// Visits the rows whose key starts with `prefix`, from the first at or after `start`, in
    /// key order, until `visit` returns false.
    pub(crate) fn for_each_from(
        &self,
        prefix: &[u8],
        start: &[u8],
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Reader::Redb(t) => {
                for entry in t.range::<&[u8]>(start..).map_err(redb_err)? {
                    let (k, v) = entry.map_err(redb_err)?;
                    if !k.value().starts_with(prefix) || !visit(k.value(), v.value())? {
                        break;
                    }
                }
            }
            Reader::Sled(tree) => {
                for entry in tree.range(start..) {
                    let (k, v) = entry?;
                    if !k.starts_with(prefix) || !visit(&k, &v)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The last row (in key order) whose key starts with `prefix`.
    pub(crate) fn last_under(&self, prefix: &[u8]) -> Result<Option<Row>, StoreError> {
        match self {
            Reader::Redb(t) => {
                let mut range = match prefix_end(prefix) {
                    Some(end) => t.range::<&[u8]>(prefix..end.as_slice()),
                    None => t.range::<&[u8]>(prefix..),
                }
                .map_err(redb_err)?;
                match range.next_back() {
                    Some(entry) => {
                        let (k, v) = entry.map_err(redb_err)?;
                        Ok(Some((k.value().to_vec(), v.value().to_vec())))
                    }
                    None => Ok(None),
                }
            }
            Reader::Sled(tree) => Ok(tree
                .scan_prefix(prefix)
                .next_back()
                .transpose()?
                .map(|(k, v)| (k.to_vec(), v.to_vec()))),
        }
    }

    /// Visits the rows whose key starts with `prefix`, in key order, without holding them all
    /// in memory.
    pub(crate) fn for_each(
        &self,
        prefix: &[u8],
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Reader::Redb(t) => {
                for entry in t.range::<&[u8]>(prefix..).map_err(redb_err)? {
                    let (k, v) = entry.map_err(redb_err)?;
                    if !k.value().starts_with(prefix) {
                        break;
                    }
                    visit(k.value(), v.value())?;
                }
            }
            Reader::Sled(tree) => {
                for entry in tree.scan_prefix(prefix) {
                    let (k, v) = entry?;
                    visit(&k, &v)?;
                }
            }
        }
        Ok(())
    }
}

/// The first key after every key that starts with `prefix` (None when there is none: the
/// prefix is empty or all 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
