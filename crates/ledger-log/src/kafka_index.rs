//! Where the Kafka log's accepted chain passes, so a read from ledger offset X starts near X
//! instead of folding the partition from its first record.
//!
//! On Kafka a ledger offset is not a Kafka offset: a record holds every event one append wrote
//! to a partition, and a record that does not continue the chain (a deposed writer's) is skipped
//! by every reader. Which records are accepted depends on the records before them, so a reader
//! must start from a point known to be on the chain: an entry here says "the record at Kafka
//! offset `kafka_offset` is accepted, its first event is at ledger offset `first` and follows
//! `prev_hash`". Entries are written every [`INDEX_EVERY`] events by whoever folds the chain.
//!
//! The index is a cache: a reader checks an entry against the record it names before trusting
//! it, and a missing, torn or stale file only costs a fold from the partition's start. Files are
//! append-only 48-byte rows (first offset and Kafka offset big-endian, then the hash), written
//! without fsync: a crash may lose the last rows, never make a wrong row count.

use ledger_core::envelope::Sha256Hash;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Events between two index entries of a partition.
pub const INDEX_EVERY: u64 = 1024;

const ROW: usize = 48;

/// A point on a partition's accepted chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPoint {
    /// Ledger offset of the record's first event.
    pub first: u64,
    /// Kafka offset of the record.
    pub kafka_offset: i64,
    /// Hash of the event before `first` (the genesis hash for offset 0).
    pub prev_hash: Sha256Hash,
}

struct Partition {
    points: BTreeMap<u64, ChainPoint>,
    file: Option<File>,
}

/// The chain points of every partition of one topic, shared by the clients of a process.
pub struct ChainIndex {
    dir: Option<PathBuf>,
    topic: String,
    partitions: Mutex<Vec<Partition>>,
}

impl ChainIndex {
    /// Loads the index of `topic` from `dir` (kept in memory only when `dir` is `None`). An
    /// unreadable file is ignored: the index is rebuilt as the chain is folded.
    pub fn open(dir: Option<&Path>, topic: &str, partitions: u32) -> ChainIndex {
        let parts = (0..partitions)
            .map(|p| {
                let path = dir.map(|d| d.join(file_name(topic, p)));
                let points = path.as_deref().map(load).unwrap_or_default();
                let file = path.and_then(|path| {
                    std::fs::create_dir_all(path.parent()?).ok()?;
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .inspect_err(|e| tracing::warn!(path = %path.display(), error = %e, "cannot write the Kafka chain index; reads after a restart will fold more"))
                        .ok()
                });
                Partition { points, file }
            })
            .collect();
        ChainIndex {
            dir: dir.map(Path::to_path_buf),
            topic: topic.to_string(),
            partitions: Mutex::new(parts),
        }
    }

    fn with<T>(&self, p: u32, f: impl FnOnce(&mut Partition) -> T) -> Option<T> {
        let mut parts = self.partitions.lock().ok()?;
        parts.get_mut(p as usize).map(f)
    }

    /// The last point at or before ledger offset `offset`.
    pub fn at_or_before(&self, p: u32, offset: u64) -> Option<ChainPoint> {
        self.with(p, |part| {
            part.points
                .range(..=offset)
                .next_back()
                .map(|(_, point)| *point)
        })
        .flatten()
    }

    /// The partition's last point.
    pub fn last(&self, p: u32) -> Option<ChainPoint> {
        self.at_or_before(p, u64::MAX)
    }

    /// Records an accepted record when it is at least [`INDEX_EVERY`] events past the last
    /// point (points are only ever added in chain order).
    pub fn note(&self, p: u32, point: ChainPoint) {
        self.with(p, |part| {
            let due = match part.points.iter().next_back() {
                None => true,
                Some((&last, _)) => point.first >= last + INDEX_EVERY,
            };
            if !due {
                return;
            }
            part.points.insert(point.first, point);
            if let Some(file) = part.file.as_mut() {
                let mut row = [0u8; ROW];
                row[..8].copy_from_slice(&point.first.to_be_bytes());
                row[8..16].copy_from_slice(&point.kafka_offset.to_be_bytes());
                row[16..].copy_from_slice(&point.prev_hash.0);
                if let Err(e) = file.write_all(&row) {
                    tracing::warn!(error = %e, "cannot write the Kafka chain index");
                    part.file = None;
                }
            }
        });
    }

    /// Forgets a partition's points (one did not match its record: the topic was replaced).
    pub fn clear(&self, p: u32) {
        tracing::warn!(
            topic = %self.topic,
            partition = p,
            "the Kafka chain index does not match the topic; folding the partition from its start"
        );
        let path = self.dir.as_ref().map(|d| d.join(file_name(&self.topic, p)));
        self.with(p, |part| {
            part.points.clear();
            if let Some(file) = part.file.as_mut()
                && let Err(e) = file.set_len(0)
            {
                tracing::warn!(path = ?path, error = %e, "cannot truncate the Kafka chain index");
                part.file = None;
            }
        });
    }
}

fn file_name(topic: &str, p: u32) -> String {
    let safe: String = topic
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.p{p}.idx")
}

/// Reads a partition's rows; a torn last row is dropped, rows out of order are kept in order of
/// their first offset (two processes may have appended).
fn load(path: &Path) -> BTreeMap<u64, ChainPoint> {
    let mut bytes = Vec::new();
    if File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .is_err()
    {
        return BTreeMap::new();
    }
    bytes
        .chunks_exact(ROW)
        .map(|row| {
            let first = u64::from_be_bytes(row[..8].try_into().expect("8 bytes"));
            let kafka_offset = i64::from_be_bytes(row[8..16].try_into().expect("8 bytes"));
            let prev_hash = Sha256Hash(row[16..].try_into().expect("32 bytes"));
            (
                first,
                ChainPoint {
                    first,
                    kafka_offset,
                    prev_hash,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(first: u64) -> ChainPoint {
        ChainPoint {
            first,
            kafka_offset: first as i64 / 2,
            prev_hash: Sha256Hash::of(&first.to_be_bytes()),
        }
    }

    #[test]
    fn points_are_kept_every_index_every_events_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let index = ChainIndex::open(Some(dir.path()), "fee/events", 2);
        for first in (0..5000).step_by(100) {
            index.note(1, point(first));
        }
        assert_eq!(index.at_or_before(1, 0), Some(point(0)));
        assert_eq!(index.at_or_before(1, 1099), Some(point(0)));
        assert_eq!(index.at_or_before(1, 1100), Some(point(1100)));
        assert_eq!(index.last(1), Some(point(4400)));
        assert_eq!(index.last(0), None);
        drop(index);
        let again = ChainIndex::open(Some(dir.path()), "fee/events", 2);
        assert_eq!(again.last(1), Some(point(4400)));
        assert_eq!(again.at_or_before(1, 3000), Some(point(2200)));
        again.clear(1);
        assert_eq!(again.last(1), None);
        drop(again);
        assert_eq!(
            ChainIndex::open(Some(dir.path()), "fee/events", 2).last(1),
            None
        );
    }

    #[test]
    fn a_torn_last_row_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let index = ChainIndex::open(Some(dir.path()), "t", 1);
        index.note(0, point(0));
        index.note(0, point(2048));
        drop(index);
        let path = dir.path().join(file_name("t", 0));
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        assert_eq!(
            ChainIndex::open(Some(dir.path()), "t", 1).last(0),
            Some(point(0))
        );
    }
}
