//! Fault tests of the segment log: the last segment cut at many byte offsets (a torn write at any
//! point), a flipped byte in the tail frame, corruption before good frames, a damaged sealed
//! index, and an old sled log in the directory.

use ledger_core::log::{EventLog, PartitionHead, StoredEvent};
use ledger_log::conformance::{check_chain, sealed};
use ledger_log::{SegmentLog, SegmentOptions, SledLog};
use std::path::{Path, PathBuf};

const PARTITIONS: u32 = 3;

/// Small segments, so a test log has several and the last one holds several frames.
const SMALL: SegmentOptions = SegmentOptions {
    segment_bytes: 32 * 1024,
};

/// A small deterministic generator (xorshift64*), so every run cuts at the same offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn last_segment(dir: &Path) -> (PathBuf, u64) {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segs.sort();
    let last = segs.pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    (last, len)
}

fn heads(log: &dyn EventLog) -> Vec<PartitionHead> {
    (0..log.partitions())
        .map(|p| log.head(p).unwrap())
        .collect()
}

fn read_all(log: &dyn EventLog, p: u32) -> Vec<StoredEvent> {
    log.read(p, 0, usize::MAX).unwrap()
}

/// One acknowledged append: the segment it went to, that segment's length after it, and the
/// heads after it.
struct Acked {
    segment: PathBuf,
    len: u64,
    heads: Vec<PartitionHead>,
}

/// Appends `batches` random multi-partition batches, recording each acknowledgement.
fn fill(
    dir: &Path,
    options: SegmentOptions,
    batches: usize,
    rng: &mut Rng,
) -> (Vec<Acked>, Vec<Vec<StoredEvent>>) {
    let log = SegmentLog::open_with(dir, PARTITIONS, options).unwrap();
    let mut acked = Vec::new();
    let mut all = vec![Vec::new(); PARTITIONS as usize];
    for i in 0..batches {
        let mut batch = Vec::new();
        for p in 0..PARTITIONS {
            if rng.below(2) == 0 || p == (i as u32 % PARTITIONS) {
                let n = 1 + rng.below(4) as usize;
                batch.extend(sealed(&log, p, n, &format!("b{i}")));
            }
        }
        log.append(&batch).unwrap();
        for e in &batch {
            all[e.partition as usize].push(e.clone());
        }
        // Where the frame ends (the file itself runs on: preallocated zeros).
        let (id, len) = log.end();
        acked.push(Acked {
            segment: dir.join(format!("{id:020}.seg")),
            len,
            heads: heads(&log),
        });
    }
    (acked, all)
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Opens the log, checks heads and contents against `expected` and the originals, then checks
/// it takes a new append that survives a reopen.
fn check_recovered(dir: &Path, expected: &[PartitionHead], all: &[Vec<StoredEvent>], what: &str) {
    let log = SegmentLog::open_existing(dir).unwrap();
    assert_eq!(heads(&log), expected, "{what}: heads");
    for p in 0..PARTITIONS {
        let n = expected[p as usize].next_offset as usize;
        assert_eq!(
            read_all(&log, p),
            all[p as usize][..n].to_vec(),
            "{what}: partition {p} holds exactly the acknowledged prefix"
        );
        assert_eq!(check_chain(&log, p), n as u64, "{what}: chain of {p}");
    }
    let more = sealed(&log, 1, 2, "after-recovery");
    log.append(&more).unwrap();
    drop(log);
    let log = SegmentLog::open_existing(dir).unwrap();
    assert_eq!(
        log.head(1).unwrap().next_offset,
        expected[1].next_offset + 2,
        "{what}: the append after recovery survives a reopen"
    );
    assert_eq!(
        check_chain(&log, 1),
        expected[1].next_offset + 2,
        "{what}: chain after recovery"
    );
}

#[test]
fn cutting_the_last_segment_anywhere_keeps_every_acknowledged_append() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let original = tempfile::tempdir().unwrap();
    let (acked, all) = fill(original.path(), SMALL, 60, &mut rng);
    let (last, final_len) = last_segment(original.path());
    assert!(
        acked.iter().any(|a| a.segment != last),
        "the log rolled, so the cut segment is not the only one"
    );
    // Every frame boundary and its neighbours, the header, and random offsets.
    let mut cuts: Vec<u64> = vec![0, 1, 15, 16, 17, final_len - 1];
    for a in acked.iter().filter(|a| a.segment == last) {
        cuts.extend([a.len - 1, a.len, (a.len + 1).min(final_len)]);
    }
    cuts.extend((0..150).map(|_| rng.below(final_len + 1)));
    cuts.sort_unstable();
    cuts.dedup();
    let before_last: Vec<PartitionHead> = acked
        .iter()
        .rev()
        .find(|a| a.segment != last)
        .map(|a| a.heads.clone())
        .unwrap();
    for cut in cuts {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(original.path(), copy.path());
        let seg = copy.path().join(last.file_name().unwrap());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        // Acknowledged before the cut: every append to an earlier segment, and those whose
        // frame ends at or before the cut.
        let expected = acked
            .iter()
            .rev()
            .find(|a| a.segment == last && a.len <= cut)
            .map(|a| a.heads.clone())
            .unwrap_or_else(|| before_last.clone());
        check_recovered(copy.path(), &expected, &all, &format!("cut at {cut}"));
    }
}

#[test]
fn a_flipped_byte_in_the_tail_frame_truncates_the_log_at_that_frame() {
    let mut rng = Rng(0x5eed_0000_0000_0002);
    let dir = tempfile::tempdir().unwrap();
    let (acked, all) = fill(dir.path(), SegmentOptions::default(), 12, &mut rng);
    let (tail, prev) = (&acked[acked.len() - 1], &acked[acked.len() - 2]);
    assert_eq!(
        tail.segment, prev.segment,
        "the tail frame is not a segment's first"
    );
    let middle = prev.len + (tail.len - prev.len) / 2;
    let mut bytes = std::fs::read(&tail.segment).unwrap();
    bytes[middle as usize] ^= 0x40;
    std::fs::write(&tail.segment, &bytes).unwrap();
    drop(SegmentLog::open_existing(dir.path()).unwrap());
    assert_eq!(
        std::fs::metadata(&tail.segment).unwrap().len(),
        prev.len,
        "truncated exactly where the damaged frame began"
    );
    check_recovered(dir.path(), &prev.heads, &all, "flipped byte");
}

#[test]
fn a_corrupt_frame_followed_by_good_frames_is_refused_not_truncated() {
    let mut rng = Rng(0x5eed_0000_0000_0003);
    let dir = tempfile::tempdir().unwrap();
    let (acked, _) = fill(dir.path(), SegmentOptions::default(), 6, &mut rng);
    let last = &acked.last().unwrap().segment;
    let in_last: Vec<&Acked> = acked.iter().filter(|a| &a.segment == last).collect();
    assert!(
        in_last.len() >= 3,
        "at least three frames in the last segment"
    );
    let at = (in_last[0].len + in_last[1].len) / 2;
    let mut bytes = std::fs::read(last).unwrap();
    bytes[at as usize] ^= 0x01;
    std::fs::write(last, &bytes).unwrap();
    let err = SegmentLog::open_existing(dir.path()).err().unwrap();
    assert!(
        err.to_string()
            .contains(&format!("corrupt frame at byte {}", in_last[0].len)),
        "{err}"
    );
    assert_eq!(std::fs::read(last).unwrap(), bytes, "nothing was truncated");
}

#[test]
fn a_damaged_sealed_index_is_rebuilt_from_its_segment() {
    let mut rng = Rng(0x5eed_0000_0000_0004);
    let dir = tempfile::tempdir().unwrap();
    let (acked, all) = fill(dir.path(), SMALL, 40, &mut rng);
    let idx = dir.path().join(format!("{:020}.idx", 0));
    let len = std::fs::metadata(&idx).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&idx)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    check_recovered(
        dir.path(),
        &acked.last().unwrap().heads,
        &all,
        "damaged index",
    );
    assert_eq!(
        std::fs::metadata(&idx).unwrap().len(),
        len,
        "index rewritten"
    );
}

#[test]
fn an_old_sled_log_is_refused_with_the_migrate_command() {
    let data = tempfile::tempdir().unwrap();
    let log_dir = data.path().join("log");
    drop(SledLog::open(&log_dir, 2).unwrap());
    for err in [
        SegmentLog::open_or_create(&log_dir, 2).err().unwrap(),
        SegmentLog::open_existing(&log_dir).err().unwrap(),
    ] {
        assert_eq!(
            err.to_string(),
            format!(
                "log storage failed: the event log in {} is in the old sled format; convert it \
                 with `ledger migrate --data-dir {}`",
                log_dir.display(),
                data.path().display()
            )
        );
    }
    assert!(!log_dir.join(ledger_log::segment::META_FILE).exists());
}
