//! The decider: it holds the state folded from the log of its partitions, decides each command
//! on a state that includes every earlier decision (earlier commands of the same group
//! included), and appends a group's events in one durable append (group commit: concurrent
//! commands share one fsync). The embedded engine feeds it from HTTP; the Kafka engine from the
//! command topic.
//!
//! State: the decider reads and writes keyed rows through the `StateStore` port
//! (`ledger_core::keyed`); a group works on a `WorkingSet` of the rows it needs, so memory does
//! not grow with the history.
//!
//! Durability: a command is answered only after the append that holds its events has returned
//! (fsync, or `acks=all`). The group's rows and checkpoint are written after the append, in one
//! atomic state commit; a crash in between leaves the checkpoint behind the log, and recovery
//! folds the tail after it. If an append fails, nobody in the group is told "accepted", the
//! group's rows are dropped, and the next group first resyncs with the log.

use super::Job;
use super::projector::{Fresh, InStep, Recent, Wake};
use anyhow::Context;
use chrono::{DurationRound, Utc};
use ledger_api::bus::{BusError, Decided, Origin};
use ledger_api::{Metrics, Verdict};
use ledger_core::keyed::{StateError, StateStore, WorkingSet};
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use ledger_core::rejection::CommandRejected;
use ledger_core::{
    Command, CommandMeta, DecideContext, Event, EventDraft, EventEnvelope, Position, Rejection,
    State, decide,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;

/// Folds the events of `partitions` into a fresh in-memory state; returns it with every
/// partition's head (heads of other partitions are left at their default and never used).
/// Only tools and tests use it (a whole-history fold is the oracle the keyed decider state is
/// checked against); the decider itself never folds more than the log's tail.
pub fn fold_log(
    log: &dyn EventLog,
    partitions: &[u32],
) -> anyhow::Result<(State, Vec<PartitionHead>)> {
    let mut state = State::default();
    let mut heads = vec![PartitionHead::default(); log.partitions() as usize];
    for &p in partitions {
        log.forget_head(p);
        let mut next = 0;
        loop {
            let batch = log.read(p, next, 4096)?;
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                let env = EventEnvelope::decode(&e.bytes)
                    .with_context(|| format!("event {p}:{} cannot be read", e.offset))?;
                state.apply(&env);
                next = e.offset + 1;
            }
        }
        heads[p as usize] = log.head(p)?;
        anyhow::ensure!(
            heads[p as usize].next_offset == next,
            "partition {p}: read {next} events but the log ends at {}",
            heads[p as usize].next_offset
        );
    }
    Ok((state, heads))
}

/// How many events of the log's tail are folded per state commit during catch-up.
const CATCH_UP_CHUNK: usize = 4096;

pub struct Decider {
    log: Arc<dyn EventLog>,
    /// The keyed state on disk; `ws` holds the rows the current group reads and changes.
    store: Arc<dyn StateStore>,
    ws: WorkingSet,
    heads: Vec<PartitionHead>,
    /// The partitions this decider owns (all of them in embedded mode).
    owned: Vec<u32>,
    metrics: Arc<Metrics>,
    /// Verdicts of the group being decided, counted once the group's append succeeded.
    verdicts: Vec<(String, Verdict)>,
    /// Where the envelopes of a committed group go (the embedded projector), if anywhere.
    handoff: Option<Fresh>,
    /// Envelopes of the group being decided, handed over once its append succeeded.
    sealed: Vec<EventEnvelope>,
    /// The writer's own projection of each committed group (embedded mode), if set.
    in_step: Option<InStep>,
    /// Whether the last committed group went to the projector thread (to be woken).
    handed_over: bool,
    /// Where the envelopes of every committed group are remembered for the replies, if set.
    recent: Option<Recent>,
    /// Set when the state store may be behind the log (a failed append or state commit): the
    /// next group first folds the log's tail after the checkpoint.
    behind: bool,
    /// Set when a fold failed half-way through a command: the group must not be appended.
    poisoned: bool,
    /// The heads before the current group, restored when its append fails.
    group_heads: Vec<PartitionHead>,
    /// The partitions and heads of the appended group whose rows are not written yet
    /// (between [`Decider::append`] and [`Decider::commit_state`]).
    uncommitted: Vec<(u32, PartitionHead)>,
    /// Shared with readiness: false while the decider cannot bring its state up to the log.
    healthy: Health,
    /// Appends left before the crash tests' kill point (see `fault_point`).
    abort_after_appends: Option<u64>,
    /// The fencing test's pause point (see `pause_point`), read from the environment once.
    stop_before_command: Option<String>,
    /// Kafka mode: how far `follow` has folded each partition other nodes own (read from the
    /// state store's checkpoint the first time, then kept here).
    followed: Vec<Option<PartitionHead>>,
    /// The business time zone a command's instant is read in ("now" of its decision).
    zone: chrono_tz::Tz,
    /// Events the last catch-up folded (the tail after the checkpoints of the owned partitions).
    caught_up: u64,
}

impl Decider {
    /// Brings the keyed state of the owned partitions up to the log (folding only the tail
    /// after each partition's checkpoint) and returns a decider on it.
    pub fn recover(
        log: Arc<dyn EventLog>,
        store: Arc<dyn StateStore>,
        owned: Vec<u32>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Decider> {
        let heads = vec![PartitionHead::default(); log.partitions() as usize];
        let mut decider = Decider {
            log,
            store,
            ws: WorkingSet::default(),
            heads,
            owned,
            metrics,
            verdicts: Vec::new(),
            handoff: None,
            sealed: Vec::new(),
            in_step: None,
            handed_over: false,
            recent: None,
            behind: true,
            poisoned: false,
            group_heads: Vec::new(),
            uncommitted: Vec::new(),
            healthy: Health::default(),
            zone: ledger_api::host_timezone(),
            abort_after_appends: std::env::var("LEDGER_FAULT_ABORT_AFTER_APPENDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0),
            stop_before_command: std::env::var("LEDGER_FAULT_STOP_BEFORE_COMMAND").ok(),
            followed: Vec::new(),
            caught_up: 0,
        };
        decider.catch_up()?;
        decider.group_heads = decider.heads.clone();
        Ok(decider)
    }

    /// Decides in business time of `zone` (the host's zone by default).
    pub fn in_zone(mut self, zone: chrono_tz::Tz) -> Self {
        self.zone = zone;
        self
    }

    /// What readiness reads: failing while appends fail or the state cannot be brought up to
    /// the log.
    pub fn health(&self) -> Health {
        self.healthy.clone()
    }

    /// Whether `checkpoint` is a position of partition `p`'s log as it is now: at or before its
    /// end, and after the event whose hash it names.
    fn on_log(
        &self,
        p: u32,
        checkpoint: &PartitionHead,
        end: &PartitionHead,
    ) -> anyhow::Result<bool> {
        if checkpoint.next_offset == 0 {
            return Ok(true);
        }
        if checkpoint.next_offset > end.next_offset {
            return Ok(false);
        }
        let last = self.log.read(p, checkpoint.next_offset - 1, 1)?;
        Ok(last.first().is_some_and(|e| {
            e.offset == checkpoint.next_offset - 1
                && ledger_core::envelope::stored_hash(&e.bytes) == Some(checkpoint.last_hash)
        }))
    }

    /// Folds the log of every owned partition from its checkpoint to its end into the state
    /// store, one chunk per atomic state commit. A checkpoint that is not on the log (the log
    /// was replaced, e.g. by an import) clears the state and folds everything again.
    ///
    /// Crash safety: each chunk's rows and checkpoint are one commit, so a crash mid-way
    /// resumes from the last whole chunk.
    fn catch_up(&mut self) -> anyhow::Result<()> {
        self.ws.clear();
        // The state may be cleared and rebuilt below: `follow` reads its checkpoints again.
        self.followed.clear();
        let started = Instant::now();
        let mut folded = 0u64;
        let mut rebuilt = false;
        let owned = self.owned.clone();
        let mut i = 0;
        while i < owned.len() {
            let p = owned[i];
            self.log.forget_head(p);
            let end = self.log.head(p)?;
            let checkpoint = self.store.checkpoint(p)?.unwrap_or_default();
            if !self.on_log(p, &checkpoint, &end)? {
                anyhow::ensure!(
                    !rebuilt,
                    "partition {p}: the rebuilt state is not on the log"
                );
                tracing::warn!(
                    partition = p,
                    checkpoint = checkpoint.next_offset,
                    log_end = end.next_offset,
                    "the decider state does not match the log; rebuilding it from the whole log"
                );
                self.store.clear()?;
                rebuilt = true;
                i = 0;
                continue;
            }
            folded += self.fold_tail(p, checkpoint, end)?;
            self.heads[p as usize] = end;
            i += 1;
        }
        self.caught_up = folded;
        if folded > 0 {
            tracing::info!(
                events = folded,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "decider state brought up to the log"
            );
        }
        self.behind = false;
        self.healthy.recovered();
        Ok(())
    }

    /// Folds partition `p` from `from` to `end`; returns the number of events folded.
    fn fold_tail(
        &mut self,
        p: u32,
        from: PartitionHead,
        end: PartitionHead,
    ) -> anyhow::Result<u64> {
        let mut head = from;
        while head.next_offset < end.next_offset {
            let batch = self.log.read(p, head.next_offset, CATCH_UP_CHUNK)?;
            anyhow::ensure!(
                !batch.is_empty(),
                "partition {p}: the log ends at {} before its head {}",
                head.next_offset,
                end.next_offset
            );
            head = self.fold_batch(p, head, &batch)?;
        }
        Ok(end.next_offset - from.next_offset)
    }

    /// Folds `batch` (events of partition `p` continuing `head`) into the state store: its
    /// rows and the partition's new checkpoint in one commit, so a crash keeps both or neither.
    fn fold_batch(
        &mut self,
        p: u32,
        mut head: PartitionHead,
        batch: &[StoredEvent],
    ) -> anyhow::Result<PartitionHead> {
        for e in batch {
            let env = EventEnvelope::decode(&e.bytes)
                .with_context(|| format!("event {p}:{} cannot be read", e.offset))?;
            anyhow::ensure!(
                e.offset == head.next_offset,
                "partition {p}: expected offset {}, read {}",
                head.next_offset,
                e.offset
            );
            self.ws.apply(self.store.as_ref(), &env)?;
            head = PartitionHead {
                next_offset: e.offset + 1,
                last_hash: env.hash,
            };
        }
        self.store.commit(self.ws.changes(), &[(p, head)])?;
        self.ws.clear();
        Ok(head)
    }

    /// Kafka mode, between groups: folds what is new on the partitions this decider does not
    /// own (at most `max` events each) into the state store, so that when one of them is
    /// handed over its checkpoint is near the log's end and the hand-over folds only the tail
    /// (issue 17 item 4). Returns the number of events folded.
    pub fn follow(&mut self, max: usize) -> anyhow::Result<u64> {
        let mut folded = 0;
        let partitions = self.log.partitions();
        self.followed.resize(partitions as usize, None);
        for p in 0..partitions {
            if self.owned.contains(&p) {
                continue;
            }
            let from = match self.followed[p as usize] {
                Some(head) => head,
                None => self.store.checkpoint(p)?.unwrap_or_default(),
            };
            let batch = self.log.read(p, from.next_offset, max)?;
            if !batch.is_empty() {
                self.followed[p as usize] = Some(self.fold_batch(p, from, &batch)?);
                folded += batch.len() as u64;
            } else {
                self.followed[p as usize] = Some(from);
            }
        }
        Ok(folded)
    }

    /// Called before each group: brings the state up to the log first if a failure left it
    /// behind. An error means no command can be decided now (readiness reports it).
    pub fn begin_group(&mut self) -> anyhow::Result<()> {
        if self.behind
            && let Err(e) = self.catch_up()
        {
            self.healthy.failed();
            return Err(e);
        }
        self.group_heads = self.heads.clone();
        Ok(())
    }

    /// Hands the envelopes of every committed group to `fresh` (the embedded projector), so it
    /// need not read them back from the log.
    pub fn handing_over(mut self, fresh: Fresh) -> Self {
        self.handoff = Some(fresh);
        self
    }

    /// Projects every committed group itself, right after its state commit (see [`InStep`]);
    /// a group it cannot apply is handed over as before.
    pub fn projecting(mut self, in_step: InStep) -> Self {
        self.in_step = Some(in_step);
        self
    }

    /// Remembers the envelopes of every committed group in `recent` (the replies read them).
    pub fn remembering(mut self, recent: Recent) -> Self {
        self.recent = Some(recent);
        self
    }

    /// Whether the last committed group was handed to the projector thread, which then needs
    /// waking.
    pub fn handed_over(&self) -> bool {
        self.handed_over
    }

    /// How many events the last catch-up folded: at a hand-over, the tail of the partitions
    /// taken over after the checkpoints `follow` left.
    pub fn caught_up(&self) -> u64 {
        self.caught_up
    }

    pub fn owned(&self) -> &[u32] {
        &self.owned
    }

    pub fn partition_of(&self, key: &str) -> u32 {
        ledger_core::partition_for(key, self.log.partitions())
    }

    /// Seals `events` for a command at the end of `partition` and folds them into the state;
    /// returns the position of the last one.
    #[allow(clippy::too_many_arguments)]
    fn seal(
        &mut self,
        command_id: &str,
        key: &str,
        actor: Option<&str>,
        body_sha256: Option<ledger_core::Sha256Hash>,
        partition: u32,
        events: Vec<Event>,
        out: &mut Vec<StoredEvent>,
    ) -> Result<Position, StateError> {
        // Stored with microsecond precision: truncate here so the envelope handed to the
        // projector equals the one decoded from the log.
        let recorded_at = Utc::now()
            .duration_trunc(chrono::TimeDelta::microseconds(1))
            .unwrap_or_else(|_| Utc::now());
        let mut last = Position {
            partition,
            offset: self.heads[partition as usize].next_offset,
        };
        for event in events {
            let head = &mut self.heads[partition as usize];
            let draft = EventDraft {
                event_id: uuid::Uuid::now_v7(),
                command_id: command_id.to_string(),
                key: key.to_string(),
                recorded_at,
                effective_at: event.effective_at(),
                event,
                actor: actor.map(str::to_string),
                body_sha256,
            };
            let (env, bytes) = draft.seal(partition, head.next_offset, head.last_hash);
            last = env.position();
            head.next_offset += 1;
            head.last_hash = env.hash;
            if let Err(e) = self.ws.apply(self.store.as_ref(), &env) {
                // Half a command is folded: nothing of this group may be appended.
                self.poisoned = true;
                return Err(e);
            }
            out.push(StoredEvent {
                partition,
                offset: env.offset,
                bytes,
            });
            if self.handoff.is_some() {
                self.sealed.push(env);
            }
        }
        Ok(last)
    }

    /// Decides one command, sealing its events into `out`. HTTP refusals are answered, not
    /// logged; refusals from the command topic are logged as `command.rejected`. An error means
    /// the state store could not be read: the command is not decided.
    pub fn decide(
        &mut self,
        meta: &CommandMeta,
        command: &Command,
        origin: Origin,
        out: &mut Vec<StoredEvent>,
    ) -> Result<Decided, StateError> {
        let started = Instant::now();
        self.ws
            .prepare(self.store.as_ref(), &meta.command_id, command)?;
        if self.ws.state().commands.contains_key(&meta.command_id) {
            // A repeat: its refusal for another body, if any, is recorded under this id.
            self.ws
                .prepare_command_id(self.store.as_ref(), &meta.conflict_id())?;
        }
        let (decided, verdict) = self.decide_inner(meta, command, origin, out)?;
        self.metrics.observe_decide(started.elapsed());
        self.verdicts
            .push((command.type_name().to_string(), verdict));
        Ok(decided)
    }

    fn decide_inner(
        &mut self,
        meta: &CommandMeta,
        command: &Command,
        origin: Origin,
        out: &mut Vec<StoredEvent>,
    ) -> Result<(Decided, Verdict), StateError> {
        let now = business_time(meta, self.zone);
        let (conflict_id, events, verdict) =
            match outcome(self.ws.state(), meta, command, origin, now) {
                Outcome::Duplicate(last) => {
                    let duplicate = Decided::Logged {
                        last,
                        duplicate: true,
                    };
                    return Ok((duplicate, Verdict::Duplicate));
                }
                Outcome::Refused(rejection) => {
                    return Ok((Decided::Refused(rejection), Verdict::Rejected));
                }
                Outcome::Events(events, verdict) => (None, events, verdict),
                Outcome::ReusedId {
                    conflict_id,
                    refusal,
                } => (Some(conflict_id), vec![*refusal], Verdict::Rejected),
            };
        let key = command.partition_key();
        let partition = self.partition_of(&key);
        let last = self.seal(
            conflict_id.as_deref().unwrap_or(&meta.command_id),
            &key,
            meta.actor.as_deref(),
            Some(meta.body_sha256),
            partition,
            events,
            out,
        )?;
        let decided = Decided::Logged {
            last,
            duplicate: false,
        };
        Ok((decided, verdict))
    }

    /// Logs the refusal of something on the command topic that is not even a command (bad
    /// JSON, unknown type, malformed payload) in the partition it arrived on.
    pub fn refuse_unreadable(
        &mut self,
        command_id: &str,
        command_type: &str,
        key: &str,
        partition: u32,
        rejection: Rejection,
        out: &mut Vec<StoredEvent>,
    ) -> Result<Decided, StateError> {
        self.ws
            .prepare_command_id(self.store.as_ref(), command_id)?;
        if let Some(record) = self.ws.state().commands.get(command_id) {
            return Ok(Decided::Logged {
                last: record.last,
                duplicate: true,
            });
        }
        let last = self.seal(
            command_id,
            key,
            None,
            None,
            partition,
            vec![refusal(command_type, rejection)],
            out,
        )?;
        self.verdicts
            .push((command_type.to_string(), Verdict::Rejected));
        Ok(Decided::Logged {
            last,
            duplicate: false,
        })
    }

    /// Appends a group's events durably, then writes the rows they changed together with the
    /// new checkpoint. On a failed append nothing of the group is kept: the working set is
    /// dropped, the heads are read back from the log, and the error is returned so no decision
    /// of the group is reported as accepted. A failed state write after a durable append is not
    /// the group's failure (its events are in the log); the state is marked behind and the next
    /// group first folds the log's tail.
    /// The group's verdicts are counted in the metrics only when the append succeeded (an empty
    /// group, all refusals or duplicates, appends nothing and always succeeds).
    pub fn commit(&mut self, stored: &[StoredEvent]) -> Result<(), LogError> {
        let appended = self.append(stored);
        self.commit_state();
        appended
    }

    /// The first half of [`Decider::commit`]: the durable append, the group's projection (in
    /// step) and everything a reply reads, but not the state commit, which
    /// [`Decider::commit_state`] does once the replies are on their way (issue 19: the
    /// workers answer and parse the next requests while the writer writes its rows). The
    /// decider state is a cache of the log: a crash before `commit_state` leaves its checkpoint
    /// behind the log, which start-up folds from, as after any crash between append and state
    /// commit. No other group may be decided before `commit_state`.
    pub fn append(&mut self, stored: &[StoredEvent]) -> Result<(), LogError> {
        let appended = if self.poisoned {
            Err(LogError::Storage(
                "the decider state could not be read; the group was not appended".into(),
            ))
        } else if stored.is_empty() {
            Ok(())
        } else {
            if let Some(prefix) = &self.stop_before_command {
                pause_point(prefix, stored);
            }
            self.log.append(stored)
        };
        let verdicts = std::mem::take(&mut self.verdicts);
        let sealed = std::mem::take(&mut self.sealed);
        self.poisoned = false;
        self.handed_over = false;
        match &appended {
            Ok(()) => {
                for (command_type, verdict) in verdicts {
                    self.metrics.record_command(&command_type, verdict);
                }
                if !stored.is_empty() {
                    self.healthy.recovered();
                }
                if !stored.is_empty() {
                    self.fault_point();
                    self.uncommitted = touched_partitions(stored)
                        .into_iter()
                        .map(|p| (p, self.heads[p as usize]))
                        .collect();
                }
                if let Some(recent) = &self.recent {
                    recent.push(&sealed);
                }
                let unprojected = match &self.in_step {
                    Some(in_step) if !sealed.is_empty() => in_step.project(sealed),
                    _ => Some(sealed),
                };
                if let (Some(handoff), Some(sealed)) = (&self.handoff, unprojected) {
                    self.handed_over = !sealed.is_empty();
                    handoff.push(sealed);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "append failed; the group is dropped and the decider resyncs with the log");
                self.heads = self.group_heads.clone();
                self.behind = true;
                self.healthy.failed();
                self.ws.clear();
            }
        }
        appended
    }

    /// The second half of [`Decider::commit`]: writes the rows the last appended group changed
    /// with the new checkpoints of its partitions (nothing after an empty or failed append),
    /// then drops the working set.
    pub fn commit_state(&mut self) {
        let heads = std::mem::take(&mut self.uncommitted);
        if !heads.is_empty()
            && let Err(e) = self.store.commit(self.ws.changes(), &heads)
        {
            tracing::error!(error = %e, "the decider state could not be written; it will be folded from the log");
            self.behind = true;
        }
        self.ws.clear();
    }

    /// Kill point for the crash tests: with `LEDGER_FAULT_ABORT_AFTER_APPENDS=N` in the
    /// environment the process aborts (no destructor, no flush, as SIGKILL) right after its
    /// N-th durable append and before that group's state commit, so a restart must find the
    /// checkpoint behind the log and fold the tail.
    fn fault_point(&mut self) {
        if let Some(left) = self.abort_after_appends.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                tracing::error!("fault injection: aborting between an append and its state commit");
                std::process::abort();
            }
        }
    }

    /// Whether a decision survived a failed commit: only when its events were durable before
    /// the group (a duplicate of an earlier group's command).
    pub fn is_durable(&self, last: Position) -> bool {
        self.owned.contains(&last.partition)
            && last.offset < self.heads[last.partition as usize].next_offset
    }
}

/// Pause point for the fencing test: with `LEDGER_FAULT_STOP_BEFORE_COMMAND=PREFIX` in the
/// environment the process stops itself (SIGSTOP, as a long GC pause or a debugger would) right
/// before appending the first group that holds a command whose id (its last `:` part: the
/// families prefix the client's id) starts with PREFIX, once per process. After SIGCONT the
/// append goes on with the partition ends the decider had.
fn pause_point(prefix: &str, stored: &[StoredEvent]) {
    static FIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let holds = stored.iter().any(|e| {
        EventEnvelope::decode(&e.bytes).is_ok_and(|env| {
            env.command_id
                .rsplit(':')
                .next()
                .is_some_and(|id| id.starts_with(prefix))
        })
    });
    if holds && !FIRED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        tracing::error!("fault injection: stopping (SIGSTOP) before an append");
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
    }
}

fn touched_partitions(stored: &[StoredEvent]) -> std::collections::BTreeSet<u32> {
    stored.iter().map(|e| e.partition).collect()
}

/// The embedded engine's writer loop: takes HTTP commands in groups until the channel closes.
pub fn run(mut decider: Decider, mut jobs: mpsc::Receiver<Job>, wake: &Wake) {
    let mut group = Vec::with_capacity(super::MAX_GROUP);
    while let Some(first) = jobs.blocking_recv() {
        group.push(first);
        while group.len() < super::MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = decider.begin_group() {
            tracing::error!(error = %e, "the decider state cannot be brought up to the log; refusing this group");
            for job in group.drain(..) {
                let _ = job.reply.send(Err(BusError::Unavailable(format!("{e:#}"))));
            }
            continue;
        }
        let mut stored = Vec::new();
        let decisions: Vec<Result<Decided, StateError>> = group
            .iter()
            .map(|job| {
                let s = &job.submission;
                decider.decide(&s.meta, &s.command, s.origin, &mut stored)
            })
            .collect();
        let appended = decider.append(&stored);
        if decider.handed_over() {
            wake.notify();
        }
        for (job, decision) in group.drain(..).zip(decisions) {
            let answer = match (&appended, decision) {
                (_, Err(e)) => Err(BusError::Unavailable(e.to_string())),
                (Err(e), Ok(Decided::Logged { last, .. })) if !decider.is_durable(last) => {
                    Err(BusError::Unavailable(e.to_string()))
                }
                (_, Ok(d)) => Ok(d),
            };
            let _ = job.reply.send(answer);
        }
        decider.commit_state();
    }
}

/// What deciding a command on `state` comes to, before anything is sealed.
#[derive(Debug)]
pub enum Outcome {
    /// The command id was decided before; its outcome ends at this position.
    Duplicate(Position),
    /// Answered, not logged (HTTP refusals).
    Refused(Rejection),
    /// Events to seal: the command's, or its logged refusal.
    Events(Vec<Event>, Verdict),
    /// A topic command reusing a decided id with another body: its refusal, to be logged
    /// under `conflict_id` ([`CommandMeta::conflict_id`]).
    ReusedId {
        conflict_id: String,
        refusal: Box<Event>,
    },
}

/// The decision rules around `decide`: idempotency (invariant 2), a reused id with another
/// body, HTTP refusals answered and topic refusals logged. Pure: the decider calls it on its
/// working set, the differential test on a full in-memory fold.
/// `now` is the command's instant in business time (the configured zone).
pub fn outcome(
    state: &State,
    meta: &CommandMeta,
    command: &Command,
    origin: Origin,
    now: chrono::NaiveDateTime,
) -> Outcome {
    if let Some(record) = state.commands.get(&meta.command_id) {
        // A reused id with another body is not a retry: refuse it, answered over HTTP. A
        // topic producer learns only from the log, where the id's first outcome must stay:
        // the refusal is logged under an id derived from the id and the other body.
        if record.body_sha256.is_some_and(|h| !meta.same_body(h)) {
            let rejection = Rejection::reused_id(&meta.command_id);
            if origin == Origin::Http {
                return Outcome::Refused(rejection);
            }
            let conflict_id = meta.conflict_id();
            return match state.commands.get(&conflict_id) {
                Some(refused) => Outcome::Duplicate(refused.last),
                None => Outcome::ReusedId {
                    conflict_id,
                    refusal: Box::new(refusal(command.type_name(), rejection)),
                },
            };
        }
        return Outcome::Duplicate(record.last);
    }
    let ctx = DecideContext {
        command_id: &meta.command_id,
        now,
    };
    match decide(state, command, &ctx) {
        Ok(events) if !events.is_empty() => Outcome::Events(events, Verdict::Accepted),
        Ok(_) => Outcome::Events(
            vec![refusal(
                command.type_name(),
                Rejection::Refused {
                    message: "the command changed nothing".into(),
                },
            )],
            Verdict::Rejected,
        ),
        Err(rejection) if origin == Origin::Http => Outcome::Refused(rejection),
        Err(rejection) => Outcome::Events(
            vec![refusal(command.type_name(), rejection)],
            Verdict::Rejected,
        ),
    }
}

/// What readiness reads of the decider: when its storage last failed (a failed append, or a
/// state it cannot bring up to the log). Readiness reports the failure until a later success,
/// or for `FAILURE_HOLD_MS` after the last failure: it shows while failures keep coming and
/// clears by itself once they stop, since a load balancer that stops routing commands to an
/// unready node would otherwise never let it find out that space came back.
#[derive(Clone, Default)]
pub struct Health(Arc<AtomicU64>);

/// How long readiness reports a storage failure after the last one.
pub const FAILURE_HOLD_MS: u64 = 5_000;

impl Health {
    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64)
            .max(1)
    }

    pub fn failed(&self) {
        self.0.store(Self::now_ms(), Ordering::SeqCst);
    }

    pub fn recovered(&self) {
        self.0.store(0, Ordering::SeqCst);
    }

    /// False from a failure until a success, or until `FAILURE_HOLD_MS` passed without one.
    pub fn ok(&self) -> bool {
        let failed_at = self.0.load(Ordering::SeqCst);
        failed_at == 0 || Self::now_ms().saturating_sub(failed_at) > FAILURE_HOLD_MS
    }
}

/// A command's instant in business time of `zone`.
pub fn business_time(meta: &CommandMeta, zone: chrono_tz::Tz) -> chrono::NaiveDateTime {
    meta.issued_at.with_timezone(&zone).naive_local()
}

fn refusal(command_type: &str, rejection: Rejection) -> Event {
    CommandRejected {
        command_type: command_type.to_string(),
        rejection,
    }
    .into()
}
