//! The segment log: the embedded event log as append-only segment files, built for appends.
//!
//! Layout of a log directory:
//! - `segment-log.meta`: the format name and the partition count, fixed at creation.
//! - `NNNNNNNNNNNNNNNNNNNN.seg`: segments, numbered from 0; only the last one (the active
//!   segment) is ever written. A segment starts with a 16-byte header (`LEDGSEG1`, its number)
//!   followed by frames.
//! - `NNNNNNNNNNNNNNNNNNNN.idx`: the index of a sealed segment, written when the segment rolls.
//!
//! One `append` call is one frame, written with one `write` and one `fdatasync`; every partition
//! lives in the same file sequence, so a group commit costs one fsync and the frame makes a
//! multi-partition append atomic. A frame is `magic u32 ‖ body_len u32 ‖ crc32c(body_len ‖ body)
//! u32 ‖ body`; the body is `chunk_count u32` and one chunk per partition of the call:
//! `partition u32 ‖ count u32 ‖ first_offset u64 ‖ events_len u32 ‖ crc32c(events) u32 ‖ events`,
//! each event `offset u64 ‖ len u32 ‖ stored bytes`. All integers are little-endian.
//!
//! Index: one 32-byte entry per chunk (partition, count, first offset, position, length and CRC
//! of the chunk's events), so a read seeks straight to the chunks of its partition and checks
//! their CRC. The active segment's index lives in memory (bounded by the segment size) and is
//! rebuilt from the segment at open; a sealed segment's index file ends with a trailer holding
//! the heads of every partition at the segment's end, the only part read at open. Memory holds
//! one small record per segment, the active index and a few recently read sealed indexes.
//!
//! Crash: an append that returned is in a frame that was fsynced. A crash during an append leaves
//! at most one torn or partial frame at the end of the active segment; `open` scans the active
//! segment, truncates that tail (logging the byte offset) and keeps every earlier frame, so an
//! interrupted append is entirely present or entirely absent. The active segment's file runs on
//! past its last frame with zeros written ahead of time (`PREALLOCATE`); `open` reads a zero tail
//! as unwritten space, not as a torn frame, and trims it.

use ledger_core::envelope::{Sha256Hash, stored_hash};
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// The file that marks a directory as a segment log (sled's log has a `conf` file instead).
pub const META_FILE: &str = "segment-log.meta";
/// The file sled writes in every database directory: the marker of the old log format.
pub const SLED_MARKER: &str = "conf";
/// Segments roll once they reach this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 128 << 20;

const META_HEADER: &str = "ledger segment log v1";
const SEGMENT_MAGIC: &[u8; 8] = b"LEDGSEG1";
const SEGMENT_HEADER: u64 = 16;
const FRAME_MAGIC: u32 = 0x4d52_464c;
const FRAME_HEADER: usize = 12;
const CHUNK_HEADER: usize = 24;
const EVENT_HEADER: usize = 12;
const INDEX_ENTRY: usize = 32;
const INDEX_MAGIC: u32 = 0x5844_4e49;
/// The active segment grows by this much zeroed space at a time, so an append overwrites
/// written blocks and its fdatasync does not also commit a file-size and extent change (a
/// growing file made every append's fdatasync a journal commit: half the append rate of sled).
const PREALLOCATE: u64 = 16 << 20;
/// Sealed-segment indexes kept in memory for reads (a replay walks them in order; a tail read
/// needs the newest).
const SEALED_CACHE: usize = 4;

fn storage(e: impl std::fmt::Display) -> LogError {
    LogError::Storage(e.to_string())
}

/// What a log directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// No log yet (missing or without either marker).
    None,
    /// A segment log (`segment-log.meta`).
    Segment,
    /// The old sled log (sled's `conf` file): `ledger migrate` converts it.
    Sled,
}

/// Tells the format of the log in `dir` by its marker file.
pub fn log_format(dir: &Path) -> LogFormat {
    if dir.join(META_FILE).exists() {
        LogFormat::Segment
    } else if dir.join(SLED_MARKER).exists() {
        LogFormat::Sled
    } else {
        LogFormat::None
    }
}

/// The refusal for a log directory in the old sled format, naming the command that converts it
/// (the log directory is `<data dir>/log`).
pub fn old_format_error(dir: &Path) -> LogError {
    let data_dir = dir.parent().unwrap_or(dir);
    LogError::Storage(format!(
        "the event log in {} is in the old sled format; convert it with `ledger migrate \
         --data-dir {}`",
        dir.display(),
        data_dir.display()
    ))
}

/// Tuning of a segment log.
#[derive(Debug, Clone, Copy)]
pub struct SegmentOptions {
    /// The active segment rolls when the next frame would take it past this size.
    pub segment_bytes: u64,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

/// Where the events of one partition sit in a segment: one chunk of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexEntry {
    partition: u32,
    count: u32,
    first: u64,
    pos: u64,
    len: u32,
    crc: u32,
}

impl IndexEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.partition.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.pos.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Self {
        IndexEntry {
            partition: le_u32(&b[0..]),
            count: le_u32(&b[4..]),
            first: le_u64(&b[8..]),
            pos: le_u64(&b[16..]),
            len: le_u32(&b[24..]),
            crc: le_u32(&b[28..]),
        }
    }
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// The chunks of one segment, per partition in offset order.
#[derive(Debug, Default)]
struct SegmentIndex {
    by_partition: Vec<Vec<IndexEntry>>,
}

impl SegmentIndex {
    fn new(partitions: u32) -> Self {
        SegmentIndex {
            by_partition: vec![Vec::new(); partitions as usize],
        }
    }

    fn push(&mut self, e: IndexEntry) {
        self.by_partition[e.partition as usize].push(e);
    }

    /// The entries of `partition` from the chunk that may hold `from` on.
    fn from(&self, partition: u32, from: u64) -> &[IndexEntry] {
        let entries = &self.by_partition[partition as usize];
        let start = entries
            .partition_point(|e| e.first <= from)
            .saturating_sub(1);
        &entries[start..]
    }

    /// Every entry in file order.
    fn in_file_order(&self) -> Vec<IndexEntry> {
        let mut all: Vec<IndexEntry> = self.by_partition.iter().flatten().copied().collect();
        all.sort_by_key(|e| e.pos);
        all
    }
}

/// A sealed segment as memory keeps it: its number and where each partition ends in it.
#[derive(Debug, Clone)]
struct Sealed {
    id: u64,
    /// The next offset of every partition at the end of this segment.
    end: Vec<u64>,
}

/// A sealed segment opened for reading.
struct SealedReader {
    file: File,
    index: SegmentIndex,
}

struct Active {
    id: u64,
    file: Arc<File>,
    /// Where the last durable frame ends.
    len: u64,
    /// The file's length: zeros written ahead of `len` (see `PREALLOCATE`).
    allocated: u64,
    index: SegmentIndex,
}

/// What readers see: only frames that are durable.
struct State {
    sealed: Vec<Sealed>,
    active: Active,
    heads: Vec<PartitionHead>,
}

pub struct SegmentLog {
    dir: PathBuf,
    partitions: u32,
    options: SegmentOptions,
    /// Appends (and `tamper`) take turns; readers only take `state` briefly.
    append_lock: Mutex<()>,
    state: RwLock<State>,
    cache: Mutex<Vec<(u64, Arc<SealedReader>)>>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

fn index_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.idx"))
}

/// Makes a created or renamed entry of `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(storage)
}

/// A chunk's partition and events, owned (for rewriting a segment).
type OwnedChunk = (u32, Vec<(u64, Vec<u8>)>);

/// One event group of an append, per partition in call order.
struct Chunk<'a> {
    partition: u32,
    events: Vec<(u64, &'a [u8])>,
}

/// Encodes one frame; returns it with the index entries of its chunks (positions relative to
/// the frame's start).
fn encode_frame(chunks: &[Chunk<'_>]) -> (Vec<u8>, Vec<IndexEntry>) {
    let body_len: usize = 4 + chunks
        .iter()
        .map(|c| {
            CHUNK_HEADER
                + c.events
                    .iter()
                    .map(|(_, b)| EVENT_HEADER + b.len())
                    .sum::<usize>()
        })
        .sum::<usize>();
    let mut frame = Vec::with_capacity(FRAME_HEADER + body_len);
    frame.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    frame.extend_from_slice(&(body_len as u32).to_le_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    let mut entries = Vec::with_capacity(chunks.len());
    for c in chunks {
        let header_at = frame.len();
        frame.extend_from_slice(&[0; CHUNK_HEADER]);
        let events_at = frame.len();
        for (offset, bytes) in &c.events {
            frame.extend_from_slice(&offset.to_le_bytes());
            frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            frame.extend_from_slice(bytes);
        }
        let entry = IndexEntry {
            partition: c.partition,
            count: c.events.len() as u32,
            first: c.events[0].0,
            pos: events_at as u64,
            len: (frame.len() - events_at) as u32,
            crc: crc32c::crc32c(&frame[events_at..]),
        };
        let mut header = Vec::with_capacity(CHUNK_HEADER);
        header.extend_from_slice(&entry.partition.to_le_bytes());
        header.extend_from_slice(&entry.count.to_le_bytes());
        header.extend_from_slice(&entry.first.to_le_bytes());
        header.extend_from_slice(&entry.len.to_le_bytes());
        header.extend_from_slice(&entry.crc.to_le_bytes());
        frame[header_at..events_at].copy_from_slice(&header);
        entries.push(entry);
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&frame[4..8]), &frame[FRAME_HEADER..]);
    frame[8..12].copy_from_slice(&crc.to_le_bytes());
    (frame, entries)
}

/// Splits the events of a chunk (already CRC-checked) into `(offset, bytes)`.
fn decode_events(events: &[u8], count: u32) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::with_capacity(count as usize);
    let mut at = 0;
    while at < events.len() {
        if events.len() - at < EVENT_HEADER {
            return None;
        }
        let offset = le_u64(&events[at..]);
        let len = le_u32(&events[at + 8..]) as usize;
        at += EVENT_HEADER;
        if events.len() - at < len {
            return None;
        }
        out.push((offset, &events[at..at + len]));
        at += len;
    }
    (out.len() == count as usize).then_some(out)
}

/// One checked frame read from a segment: its body and its chunks (positions relative to the
/// frame's start).
struct DecodedFrame {
    len: u64,
    body: Vec<u8>,
    chunks: Vec<IndexEntry>,
}

impl DecodedFrame {
    /// The `(offset, bytes)` of a chunk of this frame (checked when the frame was read).
    fn events(&self, chunk: &IndexEntry) -> Vec<(u64, &[u8])> {
        let at = chunk.pos as usize - FRAME_HEADER;
        decode_events(&self.body[at..at + chunk.len as usize], chunk.count)
            .expect("checked when the frame was read")
    }
}

/// Why a frame could not be decoded.
enum FrameFault {
    /// The file ends inside the frame.
    Torn(&'static str),
    /// The frame is complete but wrong (bad magic, CRC or structure).
    Corrupt(&'static str),
}

/// Reads and checks the frame at `pos` (the frame CRC and every chunk).
fn read_frame(
    file: &File,
    pos: u64,
    file_len: u64,
    partitions: u32,
) -> Result<DecodedFrame, FrameFault> {
    if file_len - pos < FRAME_HEADER as u64 {
        return Err(FrameFault::Torn("the file ends inside a frame header"));
    }
    let mut header = [0u8; FRAME_HEADER];
    file.read_exact_at(&mut header, pos)
        .map_err(|_| FrameFault::Torn("unreadable frame header"))?;
    if le_u32(&header) != FRAME_MAGIC {
        return Err(FrameFault::Corrupt("no frame magic"));
    }
    let body_len = le_u32(&header[4..]) as u64;
    if file_len - pos - (FRAME_HEADER as u64) < body_len {
        return Err(FrameFault::Torn("the file ends inside a frame"));
    }
    let mut body = vec![0u8; body_len as usize];
    file.read_exact_at(&mut body, pos + FRAME_HEADER as u64)
        .map_err(|_| FrameFault::Torn("unreadable frame"))?;
    if crc32c::crc32c_append(crc32c::crc32c(&header[4..8]), &body) != le_u32(&header[8..]) {
        return Err(FrameFault::Corrupt("frame CRC mismatch"));
    }
    match decode_body(&body, partitions) {
        Some(chunks) => Ok(DecodedFrame {
            len: FRAME_HEADER as u64 + body_len,
            body,
            chunks,
        }),
        None => Err(FrameFault::Corrupt("malformed frame body")),
    }
}

/// The chunks of a frame body, each checked (bounds, partition, CRC, event framing).
fn decode_body(body: &[u8], partitions: u32) -> Option<Vec<IndexEntry>> {
    if body.len() < 4 {
        return None;
    }
    let count = le_u32(body);
    let mut at = 4;
    let mut chunks = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if body.len() - at < CHUNK_HEADER {
            return None;
        }
        let h = &body[at..at + CHUNK_HEADER];
        let len = le_u32(&h[16..]) as usize;
        let events_at = at + CHUNK_HEADER;
        if body.len() - events_at < len {
            return None;
        }
        let entry = IndexEntry {
            partition: le_u32(h),
            count: le_u32(&h[4..]),
            first: le_u64(&h[8..]),
            pos: (FRAME_HEADER + events_at) as u64,
            len: len as u32,
            crc: le_u32(&h[20..]),
        };
        let events = &body[events_at..events_at + len];
        if entry.partition >= partitions || entry.count == 0 || crc32c::crc32c(events) != entry.crc
        {
            return None;
        }
        if decode_events(events, entry.count)?[0].0 != entry.first {
            return None;
        }
        chunks.push(entry);
        at = events_at + len;
    }
    (at == body.len()).then_some(chunks)
}

/// The result of scanning a segment from its header on.
struct Scan {
    index: SegmentIndex,
    /// Where the last good frame ends.
    good_len: u64,
    /// A bad tail: its byte offset and why.
    fault: Option<(u64, &'static str)>,
}

/// Whether `file` holds only zeros from `pos` to `len` (preallocated space, never written).
fn rest_is_zero(file: &File, mut pos: u64, len: u64) -> Result<bool, LogError> {
    let mut buf = vec![0u8; 1 << 20];
    while pos < len {
        let n = ((len - pos) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], pos).map_err(storage)?;
        if buf[..n].iter().any(|b| *b != 0) {
            return Ok(false);
        }
        pos += n as u64;
    }
    Ok(true)
}

/// Writes zeros from `from` to `to` (not synced: the next append's fdatasync covers them).
fn zero_fill(file: &File, mut from: u64, to: u64) -> std::io::Result<()> {
    // Most appends fill nothing: no buffer then (a fresh zeroed MiB per append, page faults
    // and all, was ~8 % of the command path's samples, issue 19).
    if from >= to {
        return Ok(());
    }
    let zeros = vec![0u8; 1 << 20];
    while from < to {
        let n = ((to - from) as usize).min(zeros.len());
        file.write_all_at(&zeros[..n], from)?;
        from += n as u64;
    }
    Ok(())
}

/// Reads every frame of a segment, advancing `heads`. Stops at zeros (preallocated space) and at
/// the first frame that is torn or corrupt; a corrupt frame followed by a good one is corruption
/// inside the segment, not a torn tail, and is an error (truncating would drop acknowledged
/// appends).
fn scan_segment(
    path: &Path,
    file: &File,
    partitions: u32,
    heads: &mut [PartitionHead],
) -> Result<Scan, LogError> {
    let file_len = file.metadata().map_err(storage)?.len();
    let mut index = SegmentIndex::new(partitions);
    let mut pos = SEGMENT_HEADER;
    while pos < file_len {
        match read_frame(file, pos, file_len, partitions) {
            Ok(frame) => {
                for entry in &frame.chunks {
                    let events = frame.events(entry);
                    let (last, bytes) = events.last().expect("chunks are not empty");
                    heads[entry.partition as usize] = PartitionHead {
                        next_offset: last + 1,
                        last_hash: stored_hash(bytes).unwrap_or(Sha256Hash::GENESIS),
                    };
                    index.push(IndexEntry {
                        pos: entry.pos + pos,
                        ..*entry
                    });
                }
                pos += frame.len;
            }
            Err(_) if rest_is_zero(file, pos, file_len)? => break,
            Err(FrameFault::Torn(why)) => {
                return Ok(Scan {
                    index,
                    good_len: pos,
                    fault: Some((pos, why)),
                });
            }
            Err(FrameFault::Corrupt(why)) => {
                let declared = {
                    let mut header = [0u8; FRAME_HEADER];
                    file.read_exact_at(&mut header, pos).map_err(storage)?;
                    pos + FRAME_HEADER as u64 + le_u32(&header[4..]) as u64
                };
                if declared < file_len && read_frame(file, declared, file_len, partitions).is_ok() {
                    return Err(storage(format!(
                        "{}: corrupt frame at byte {pos} ({why}) followed by good frames; \
                         refusing to truncate acknowledged events",
                        path.display()
                    )));
                }
                return Ok(Scan {
                    index,
                    good_len: pos,
                    fault: Some((pos, why)),
                });
            }
        }
    }
    Ok(Scan {
        index,
        good_len: pos.min(file_len).max(SEGMENT_HEADER),
        fault: None,
    })
}

/// Writes the index file of a sealed segment (entries, then the trailer: the heads of every
/// partition at the segment's end, entry count, segment length, entries CRC, magic, trailer
/// CRC) and fsyncs it. Survives a crash once it returns.
fn write_index(
    dir: &Path,
    id: u64,
    index: &SegmentIndex,
    heads: &[PartitionHead],
    segment_len: u64,
) -> Result<(), LogError> {
    let entries = index.in_file_order();
    let mut out = Vec::with_capacity(entries.len() * INDEX_ENTRY + trailer_len(heads.len()));
    for e in &entries {
        e.encode(&mut out);
    }
    let entries_crc = crc32c::crc32c(&out);
    let trailer_at = out.len();
    for h in heads {
        out.extend_from_slice(&h.next_offset.to_le_bytes());
        out.extend_from_slice(&h.last_hash.0);
    }
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    out.extend_from_slice(&segment_len.to_le_bytes());
    out.extend_from_slice(&entries_crc.to_le_bytes());
    out.extend_from_slice(&INDEX_MAGIC.to_le_bytes());
    let trailer_crc = crc32c::crc32c(&out[trailer_at..]);
    out.extend_from_slice(&trailer_crc.to_le_bytes());
    let path = index_path(dir, id);
    let tmp = path.with_extension("idx.tmp");
    let mut f = File::create(&tmp).map_err(storage)?;
    f.write_all(&out).map_err(storage)?;
    f.sync_data().map_err(storage)?;
    std::fs::rename(&tmp, &path).map_err(storage)?;
    sync_dir(dir)
}

fn trailer_len(partitions: usize) -> usize {
    partitions * 40 + 8 + 8 + 4 + 4 + 4
}

/// The trailer of a sealed segment's index, if it is intact and matches the segment.
struct Trailer {
    heads: Vec<PartitionHead>,
    entries: u64,
    entries_crc: u32,
}

fn read_trailer(dir: &Path, id: u64, partitions: u32) -> Option<Trailer> {
    let file = File::open(index_path(dir, id)).ok()?;
    let len = file.metadata().ok()?.len();
    let tl = trailer_len(partitions as usize) as u64;
    if len < tl {
        return None;
    }
    let mut t = vec![0u8; tl as usize];
    file.read_exact_at(&mut t, len - tl).ok()?;
    let body = &t[..t.len() - 4];
    if crc32c::crc32c(body) != le_u32(&t[t.len() - 4..]) {
        return None;
    }
    let p = partitions as usize;
    let heads = (0..p)
        .map(|i| PartitionHead {
            next_offset: le_u64(&t[i * 40..]),
            last_hash: Sha256Hash(t[i * 40 + 8..i * 40 + 40].try_into().expect("32 bytes")),
        })
        .collect();
    let rest = &t[p * 40..];
    let entries = le_u64(rest);
    let segment_len = le_u64(&rest[8..]);
    let entries_crc = le_u32(&rest[16..]);
    let magic = le_u32(&rest[20..]);
    let actual = std::fs::metadata(segment_path(dir, id)).ok()?.len();
    (magic == INDEX_MAGIC && segment_len == actual && entries * INDEX_ENTRY as u64 + tl == len)
        .then_some(Trailer {
            heads,
            entries,
            entries_crc,
        })
}

fn read_meta(dir: &Path) -> Result<Option<u32>, LogError> {
    let path = dir.join(META_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(storage(format!("{}: {e}", path.display()))),
    };
    let mut lines = text.lines();
    let partitions = (lines.next() == Some(META_HEADER))
        .then(|| {
            lines
                .next()?
                .strip_prefix("partitions ")?
                .parse::<u32>()
                .ok()
        })
        .flatten()
        .ok_or_else(|| storage(format!("{}: not a segment log meta file", path.display())))?;
    Ok(Some(partitions))
}

/// Creates the meta file (written aside, fsynced, renamed, directory fsynced): once it returns,
/// the partition count survives a crash.
fn write_meta(dir: &Path, partitions: u32) -> Result<(), LogError> {
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    let mut f = File::create(&tmp).map_err(storage)?;
    f.write_all(format!("{META_HEADER}\npartitions {partitions}\n").as_bytes())
        .map_err(storage)?;
    f.sync_all().map_err(storage)?;
    std::fs::rename(&tmp, dir.join(META_FILE)).map_err(storage)?;
    sync_dir(dir)
}

/// Creates an empty segment (header only), fsyncs it and the directory: it survives a crash.
fn create_segment(dir: &Path, id: u64) -> Result<File, LogError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(segment_path(dir, id))
        .map_err(storage)?;
    let mut header = Vec::with_capacity(SEGMENT_HEADER as usize);
    header.extend_from_slice(SEGMENT_MAGIC);
    header.extend_from_slice(&id.to_le_bytes());
    file.write_all_at(&header, 0).map_err(storage)?;
    file.sync_all().map_err(storage)?;
    sync_dir(dir)?;
    Ok(file)
}

/// The segment numbers in `dir`, in order; they must be 0, 1, 2, …
fn segment_ids(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(storage)? {
        let name = entry.map_err(storage)?.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name
            .strip_suffix(".seg")
            .and_then(|n| n.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    if ids.iter().enumerate().any(|(i, id)| *id != i as u64) {
        return Err(storage(format!(
            "{}: segments are not numbered 0..{}",
            dir.display(),
            ids.len()
        )));
    }
    Ok(ids)
}

impl SegmentLog {
    /// Opens the log in `dir`, creating it with `partitions` partitions when it does not exist
    /// yet; an existing log keeps the count it was created with.
    pub fn open_or_create(dir: &Path, partitions: u32) -> Result<Self, LogError> {
        let stored = Self::stored_partitions(dir)?;
        Self::open(
            dir,
            crate::partitions_to_open(dir, stored, Some(partitions))?,
        )
    }

    /// Opens an existing log with the partition count it was created with.
    pub fn open_existing(dir: &Path) -> Result<Self, LogError> {
        let stored = Self::stored_partitions(dir)?;
        Self::open(dir, crate::partitions_to_open(dir, stored, None)?)
    }

    fn stored_partitions(dir: &Path) -> Result<Option<u32>, LogError> {
        match log_format(dir) {
            LogFormat::Sled => Err(old_format_error(dir)),
            LogFormat::Segment => read_meta(dir),
            LogFormat::None => Ok(None),
        }
    }

    /// Opens (or creates) the log in `dir` with the default segment size. The partition count is
    /// fixed when the log is created; opening it with another count is an error, because keys
    /// would land in other partitions.
    pub fn open(dir: &Path, partitions: u32) -> Result<Self, LogError> {
        Self::open_with(dir, partitions, SegmentOptions::default())
    }

    /// Opens (or creates) the log with explicit options. Recovery: a torn or corrupt frame at
    /// the end of the active segment is truncated (and the truncation fsynced); every frame
    /// before it, so every acknowledged append, is kept.
    pub fn open_with(
        dir: &Path,
        partitions: u32,
        options: SegmentOptions,
    ) -> Result<Self, LogError> {
        if partitions == 0 {
            return Err(storage("partition count must be at least 1"));
        }
        match Self::stored_partitions(dir)? {
            Some(stored) if stored != partitions => {
                return Err(storage(format!(
                    "log in {} has {stored} partitions, asked for {partitions}",
                    dir.display()
                )));
            }
            Some(_) => {}
            None => {
                std::fs::create_dir_all(dir).map_err(storage)?;
                write_meta(dir, partitions)?;
            }
        }
        let state = Self::load(dir, partitions)?;
        Ok(SegmentLog {
            dir: dir.to_path_buf(),
            partitions,
            options,
            append_lock: Mutex::new(()),
            state: RwLock::new(state),
            cache: Mutex::new(Vec::new()),
        })
    }

    /// Reads the trailers of the sealed segments and scans the active one. Crash: a torn or
    /// corrupt tail frame of the active segment is cut off and the truncation fsynced before the
    /// log is used; a torn segment header (a crash while rolling) is rewritten; a damaged sealed
    /// index is rebuilt (fsynced). Nothing acknowledged is removed.
    fn load(dir: &Path, partitions: u32) -> Result<State, LogError> {
        let mut ids = segment_ids(dir)?;
        if ids.is_empty() {
            create_segment(dir, 0)?;
            ids.push(0);
        }
        let active_id = *ids.last().expect("one segment");
        let mut heads = vec![PartitionHead::default(); partitions as usize];
        let mut sealed = Vec::with_capacity(ids.len() - 1);
        for &id in &ids[..ids.len() - 1] {
            match read_trailer(dir, id, partitions) {
                Some(t) => heads = t.heads,
                None => {
                    tracing::warn!(segment = id, "segment index missing or damaged; rebuilding");
                    Self::rebuild_index(dir, id, partitions, &mut heads)?;
                }
            }
            sealed.push(Sealed {
                id,
                end: heads.iter().map(|h| h.next_offset).collect(),
            });
        }
        let path = segment_path(dir, active_id);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(storage)?;
        let mut header = [0u8; SEGMENT_HEADER as usize];
        let file_len = file.metadata().map_err(storage)?.len();
        if file_len < SEGMENT_HEADER {
            tracing::warn!(
                segment = active_id,
                byte_offset = 0,
                "rewriting a torn segment header"
            );
            drop(file);
            create_segment(dir, active_id)?;
            return Self::load(dir, partitions);
        }
        file.read_exact_at(&mut header, 0).map_err(storage)?;
        if &header[..8] != SEGMENT_MAGIC || le_u64(&header[8..]) != active_id {
            return Err(storage(format!("{}: not a log segment", path.display())));
        }
        let scan = scan_segment(&path, &file, partitions, &mut heads)?;
        if let Some((at, why)) = scan.fault {
            tracing::warn!(
                segment = %path.display(),
                byte_offset = at,
                reason = why,
                "truncating a torn or corrupt tail frame of the event log"
            );
        }
        if file_len > scan.good_len {
            // A torn tail, or zeros preallocated by the previous process.
            file.set_len(scan.good_len).map_err(storage)?;
            file.sync_all().map_err(storage)?;
        }
        // An index of the active segment is left over from a roll that did not finish.
        let _ = std::fs::remove_file(index_path(dir, active_id));
        Ok(State {
            sealed,
            active: Active {
                id: active_id,
                file: Arc::new(file),
                len: scan.good_len,
                allocated: scan.good_len,
                index: scan.index,
            },
            heads,
        })
    }

    /// Rebuilds the index file of a sealed segment from the segment itself (which must be
    /// whole: a sealed segment was fsynced before the next one was created). The new index is
    /// fsynced and renamed into place, so a crash leaves the old file or the new one.
    fn rebuild_index(
        dir: &Path,
        id: u64,
        partitions: u32,
        heads: &mut [PartitionHead],
    ) -> Result<SegmentIndex, LogError> {
        let path = segment_path(dir, id);
        let file = File::open(&path).map_err(storage)?;
        let scan = scan_segment(&path, &file, partitions, heads)?;
        if let Some((at, why)) = scan.fault {
            return Err(storage(format!(
                "{}: sealed segment damaged at byte {at} ({why})",
                path.display()
            )));
        }
        write_index(dir, id, &scan.index, heads, scan.good_len)?;
        Ok(scan.index)
    }

    /// The reader of a sealed segment, from the cache or loaded from its index file.
    fn sealed_reader(&self, id: u64) -> Result<Arc<SealedReader>, LogError> {
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| storage("log lock poisoned"))?;
        if let Some(i) = cache.iter().position(|(c, _)| *c == id) {
            let hit = cache.remove(i);
            let reader = hit.1.clone();
            cache.push(hit);
            return Ok(reader);
        }
        let reader = Arc::new(self.load_sealed(id)?);
        if cache.len() >= SEALED_CACHE {
            cache.remove(0);
        }
        cache.push((id, reader.clone()));
        Ok(reader)
    }

    fn load_sealed(&self, id: u64) -> Result<SealedReader, LogError> {
        let file = File::open(segment_path(&self.dir, id)).map_err(storage)?;
        let loaded = read_trailer(&self.dir, id, self.partitions).and_then(|t| {
            let mut bytes = vec![0u8; t.entries as usize * INDEX_ENTRY];
            File::open(index_path(&self.dir, id))
                .ok()?
                .read_exact(&mut bytes)
                .ok()?;
            if crc32c::crc32c(&bytes) != t.entries_crc {
                return None;
            }
            let mut index = SegmentIndex::new(self.partitions);
            for e in bytes.chunks_exact(INDEX_ENTRY).map(IndexEntry::decode) {
                if e.partition >= self.partitions {
                    return None;
                }
                index.push(e);
            }
            Some(index)
        });
        let index = match loaded {
            Some(index) => index,
            None => {
                tracing::warn!(segment = id, "segment index damaged; rebuilding");
                let state = self
                    .state
                    .read()
                    .map_err(|_| storage("log lock poisoned"))?;
                let at = state
                    .sealed
                    .iter()
                    .position(|s| s.id == id)
                    .ok_or_else(|| storage(format!("segment {id} is not sealed")))?;
                let mut heads: Vec<PartitionHead> = match at {
                    0 => vec![PartitionHead::default(); self.partitions as usize],
                    _ => {
                        read_trailer(&self.dir, id - 1, self.partitions)
                            .ok_or_else(|| storage(format!("segment {} index damaged", id - 1)))?
                            .heads
                    }
                };
                drop(state);
                Self::rebuild_index(&self.dir, id, self.partitions, &mut heads)?
            }
        };
        Ok(SealedReader { file, index })
    }

    /// Seals the active segment and starts the next one. Survives a crash at any point: the
    /// index is fsynced before the next segment exists, and an unfinished roll leaves the old
    /// segment last, so it is scanned as the active one at open.
    fn roll(&self) -> Result<(), LogError> {
        let (id, len) = {
            let state = self
                .state
                .read()
                .map_err(|_| storage("log lock poisoned"))?;
            // A sealed segment ends with its last frame: no preallocated zeros.
            state
                .active
                .file
                .set_len(state.active.len)
                .map_err(storage)?;
            state.active.file.sync_all().map_err(storage)?;
            write_index(
                &self.dir,
                state.active.id,
                &state.active.index,
                &state.heads,
                state.active.len,
            )?;
            (state.active.id, state.active.len)
        };
        debug_assert!(len >= SEGMENT_HEADER);
        let file = create_segment(&self.dir, id + 1)?;
        let mut state = self
            .state
            .write()
            .map_err(|_| storage("log lock poisoned"))?;
        let end = state.heads.iter().map(|h| h.next_offset).collect();
        state.sealed.push(Sealed { id, end });
        state.active = Active {
            id: id + 1,
            file: Arc::new(file),
            len: SEGMENT_HEADER,
            allocated: SEGMENT_HEADER,
            index: SegmentIndex::new(self.partitions),
        };
        Ok(())
    }

    /// Overwrites stored bytes in place (or removes the event when `bytes` is `None`). Only for
    /// tests and tools that prove `verify` catches tampering; the ledger itself never rewrites
    /// the log. The segment holding the event is rewritten with fresh CRCs (so only the hash
    /// chain can tell), written aside, fsynced and renamed over the old one: it survives a crash
    /// whole or not at all.
    pub fn tamper(
        &self,
        partition: u32,
        offset: u64,
        bytes: Option<&[u8]>,
    ) -> Result<(), LogError> {
        let _turn = self
            .append_lock
            .lock()
            .map_err(|_| storage("log lock poisoned"))?;
        let (id, active_len) = {
            let state = self
                .state
                .read()
                .map_err(|_| storage("log lock poisoned"))?;
            match state.locate(partition, offset, 1) {
                Located::Sealed(id, _) => (id, None),
                Located::Active(..) | Located::Nowhere => (state.active.id, Some(state.active.len)),
            }
        };
        let path = segment_path(&self.dir, id);
        let file = File::open(&path).map_err(storage)?;
        // The active segment's frames end before its preallocated zeros.
        let file_len = match active_len {
            Some(len) => len,
            None => file.metadata().map_err(storage)?.len(),
        };
        let mut out = Vec::with_capacity(file_len as usize);
        let mut header = vec![0u8; SEGMENT_HEADER as usize];
        file.read_exact_at(&mut header, 0).map_err(storage)?;
        out.extend_from_slice(&header);
        let mut pos = SEGMENT_HEADER;
        while pos < file_len {
            let frame = read_frame(&file, pos, file_len, self.partitions)
                .map_err(|_| storage(format!("{}: bad frame at byte {pos}", path.display())))?;
            pos += frame.len;
            let mut chunks: Vec<OwnedChunk> = frame
                .chunks
                .iter()
                .map(|e| {
                    let events = frame.events(e);
                    (
                        e.partition,
                        events.into_iter().map(|(o, b)| (o, b.to_vec())).collect(),
                    )
                })
                .collect();
            for (p, events) in &mut chunks {
                if *p == partition
                    && let Some(i) = events.iter().position(|(o, _)| *o == offset)
                {
                    match bytes {
                        Some(b) => events[i].1 = b.to_vec(),
                        None => {
                            events.remove(i);
                        }
                    }
                }
            }
            let chunks: Vec<Chunk<'_>> = chunks
                .iter()
                .filter(|(_, events)| !events.is_empty())
                .map(|(p, events)| Chunk {
                    partition: *p,
                    events: events.iter().map(|(o, b)| (*o, b.as_slice())).collect(),
                })
                .collect();
            if !chunks.is_empty() {
                out.extend_from_slice(&encode_frame(&chunks).0);
            }
        }
        let tmp = path.with_extension("seg.tmp");
        let mut f = File::create(&tmp).map_err(storage)?;
        f.write_all(&out).map_err(storage)?;
        f.sync_all().map_err(storage)?;
        std::fs::rename(&tmp, &path).map_err(storage)?;
        let _ = std::fs::remove_file(index_path(&self.dir, id));
        sync_dir(&self.dir)?;
        let mut heads = vec![PartitionHead::default(); self.partitions as usize];
        if id > 0 {
            heads = read_trailer(&self.dir, id - 1, self.partitions)
                .ok_or_else(|| storage(format!("segment {} index damaged", id - 1)))?
                .heads;
        }
        let active = self
            .state
            .read()
            .map_err(|_| storage("log lock poisoned"))?
            .active
            .id;
        if id != active {
            Self::rebuild_index(&self.dir, id, self.partitions, &mut heads)?;
        }
        let reloaded = Self::load(&self.dir, self.partitions)?;
        *self
            .state
            .write()
            .map_err(|_| storage("log lock poisoned"))? = reloaded;
        self.cache
            .lock()
            .map_err(|_| storage("log lock poisoned"))?
            .clear();
        Ok(())
    }

    /// Bytes on disk of the log (segments, indexes, meta), for benchmarks and scale reports.
    pub fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The active segment's number and where its last durable frame ends (its file may be
    /// longer: preallocated zeros), for tests and tools.
    pub fn end(&self) -> (u64, u64) {
        self.state
            .read()
            .map(|s| (s.active.id, s.active.len))
            .unwrap_or((0, 0))
    }

    /// Number of segment files (sealed and active), for tests and reports.
    pub fn segments(&self) -> usize {
        self.state.read().map(|s| s.sealed.len() + 1).unwrap_or(0)
    }
}

/// Where a read of `partition` from `from` has to look.
enum Located {
    /// A sealed segment (its number, the partition's next offset at its end).
    Sealed(u64, u64),
    /// The active segment: its file and the entries from the chunk holding `from`.
    Active(Arc<File>, Vec<IndexEntry>),
    Nowhere,
}

impl State {
    fn locate(&self, partition: u32, from: u64, max: usize) -> Located {
        let p = partition as usize;
        if from >= self.heads[p].next_offset {
            // A tail read at the head (the projector polling) reads nothing.
            return Located::Nowhere;
        }
        let at = self.sealed.partition_point(|s| s.end[p] <= from);
        if let Some(s) = self.sealed.get(at) {
            return Located::Sealed(s.id, s.end[p]);
        }
        let entries = self.active.index.from(partition, from);
        if entries.is_empty() {
            return Located::Nowhere;
        }
        // Enough chunks for `max` events past `from`, not the rest of the segment.
        let mut events = 0u64;
        let wanted = entries
            .iter()
            .take_while(|e| {
                let more = events < (max as u64).saturating_add(u64::from(entries[0].count));
                events += u64::from(e.count);
                more
            })
            .count();
        Located::Active(self.active.file.clone(), entries[..wanted].to_vec())
    }
}

/// Reads the chunks `entries` (checking each one's CRC) and pushes the events from `from` on
/// until `out` holds `max`. Returns the next offset to look for.
fn read_chunks(
    file: &File,
    entries: &[IndexEntry],
    from: u64,
    max: usize,
    out: &mut Vec<StoredEvent>,
) -> Result<u64, LogError> {
    let mut next = from;
    for e in entries {
        if out.len() >= max {
            break;
        }
        let mut buf = vec![0u8; e.len as usize];
        file.read_exact_at(&mut buf, e.pos).map_err(storage)?;
        if crc32c::crc32c(&buf) != e.crc {
            return Err(storage(format!(
                "chunk of partition {} at byte {} fails its CRC",
                e.partition, e.pos
            )));
        }
        let events = decode_events(&buf, e.count)
            .ok_or_else(|| storage(format!("malformed chunk at byte {}", e.pos)))?;
        for (offset, bytes) in events {
            if offset < next || out.len() >= max {
                continue;
            }
            out.push(StoredEvent {
                partition: e.partition,
                offset,
                bytes: bytes.to_vec(),
            });
            next = offset + 1;
        }
    }
    Ok(next)
}

impl EventLog for SegmentLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Durable on return: the whole call is one frame, written at the end of the active segment
    /// and fdatasynced before the index and heads show it. A crash before the fsync completes
    /// leaves a frame that is either whole (and kept) or torn (and truncated at open). A failed
    /// write or fsync truncates the partial frame away and changes nothing.
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        let _turn = self
            .append_lock
            .lock()
            .map_err(|_| storage("log lock poisoned"))?;
        let mut next = self
            .state
            .read()
            .map_err(|_| storage("log lock poisoned"))?
            .heads
            .clone();
        let mut chunks: Vec<Chunk<'_>> = Vec::new();
        for e in events {
            let head = next
                .get_mut(e.partition as usize)
                .ok_or(LogError::NoSuchPartition(e.partition))?;
            if e.offset != head.next_offset {
                return Err(LogError::NotDense {
                    partition: e.partition,
                    offset: e.offset,
                    expected: head.next_offset,
                });
            }
            head.next_offset += 1;
            head.last_hash = stored_hash(&e.bytes).ok_or_else(|| {
                storage(format!("event {}:{} is not sealed", e.partition, e.offset))
            })?;
            match chunks.iter_mut().find(|c| c.partition == e.partition) {
                Some(c) => c.events.push((e.offset, e.bytes.as_slice())),
                None => chunks.push(Chunk {
                    partition: e.partition,
                    events: vec![(e.offset, e.bytes.as_slice())],
                }),
            }
        }
        let (frame, entries) = encode_frame(&chunks);
        let len = self
            .state
            .read()
            .map_err(|_| storage("log lock poisoned"))?
            .active
            .len;
        if len > SEGMENT_HEADER && len + frame.len() as u64 > self.options.segment_bytes {
            self.roll()?;
        }
        let (file, at, allocated) = {
            let state = self
                .state
                .read()
                .map_err(|_| storage("log lock poisoned"))?;
            (
                state.active.file.clone(),
                state.active.len,
                state.active.allocated,
            )
        };
        let end = at + frame.len() as u64;
        let grown = if end > allocated {
            end.max(allocated + PREALLOCATE.min(self.options.segment_bytes))
        } else {
            allocated
        };
        if let Err(e) = zero_fill(&file, allocated, grown)
            .and_then(|()| file.write_all_at(&frame, at))
            .and_then(|()| file.sync_data())
        {
            // Best effort: the next append writes at `at` again, and open truncates any tail.
            let _ = file.set_len(at).and_then(|()| file.sync_data());
            if let Ok(mut state) = self.state.write() {
                state.active.allocated = at;
            }
            return Err(storage(e));
        }
        let mut state = self
            .state
            .write()
            .map_err(|_| storage("log lock poisoned"))?;
        for mut entry in entries {
            entry.pos += at;
            state.active.index.push(entry);
        }
        state.active.len = end;
        state.active.allocated = grown;
        state.heads = next;
        Ok(())
    }

    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        if partition >= self.partitions {
            return Err(LogError::NoSuchPartition(partition));
        }
        let mut out = Vec::new();
        let mut next = from;
        while out.len() < max {
            let located = self
                .state
                .read()
                .map_err(|_| storage("log lock poisoned"))?
                .locate(partition, next, max);
            match located {
                Located::Nowhere => break,
                Located::Active(file, entries) => {
                    read_chunks(&file, &entries, next, max, &mut out)?;
                    break;
                }
                Located::Sealed(id, end) => {
                    let reader = self.sealed_reader(id)?;
                    let entries = reader.index.from(partition, next);
                    let after = read_chunks(&reader.file, entries, next, max, &mut out)?;
                    next = after.max(end);
                }
            }
        }
        Ok(out)
    }

    fn head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        let state = self
            .state
            .read()
            .map_err(|_| storage("log lock poisoned"))?;
        state
            .heads
            .get(partition as usize)
            .copied()
            .ok_or(LogError::NoSuchPartition(partition))
    }
}
