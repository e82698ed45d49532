//! The decider: it holds the state folded from the log of its partitions, decides each command
//! on a state that includes every earlier decision (earlier commands of the same group
//! included), and appends a group's events in one durable append (group commit: concurrent
//! commands share one fsync). The embedded engine feeds it from HTTP; the Kafka engine from the
//! command topic.
//!
//! Durability: a command is answered only after the append that holds its events has returned
//! (fsync, or `acks=all`). If an append fails, nobody in the group is told "accepted", and the
//! state is rebuilt from the log so it matches what is durable.

use super::Job;
use super::projector::{Fresh, Wake};
use anyhow::Context;
use chrono::{DurationRound, Local, Utc};
use ledger_api::bus::{BusError, Decided, Origin};
use ledger_api::{Metrics, Verdict};
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use ledger_core::rejection::CommandRejected;
use ledger_core::{
    Command, CommandMeta, DecideContext, Event, EventDraft, EventEnvelope, Position, Rejection,
    State, decide,
};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Folds the events of `partitions` into a fresh state; returns it with every partition's head
/// (heads of other partitions are left at their default and never used).
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

pub struct Decider {
    log: Arc<dyn EventLog>,
    state: State,
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
}

impl Decider {
    /// Folds the owned partitions of the log into the decider's state.
    pub fn recover(
        log: Arc<dyn EventLog>,
        owned: Vec<u32>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Decider> {
        let (state, heads) = fold_log(log.as_ref(), &owned)?;
        Ok(Decider {
            log,
            state,
            heads,
            owned,
            metrics,
            verdicts: Vec::new(),
            handoff: None,
            sealed: Vec::new(),
        })
    }

    /// Hands the envelopes of every committed group to `fresh` (the embedded projector), so it
    /// need not read them back from the log.
    pub fn handing_over(mut self, fresh: Fresh) -> Self {
        self.handoff = Some(fresh);
        self
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
    ) -> Position {
        let head = &mut self.heads[partition as usize];
        // Stored with microsecond precision: truncate here so the envelope handed to the
        // projector equals the one decoded from the log.
        let recorded_at = Utc::now()
            .duration_trunc(chrono::TimeDelta::microseconds(1))
            .unwrap_or_else(|_| Utc::now());
        let mut last = Position {
            partition,
            offset: head.next_offset,
        };
        for event in events {
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
            self.state.apply(&env);
            out.push(StoredEvent {
                partition,
                offset: env.offset,
                bytes,
            });
            if self.handoff.is_some() {
                self.sealed.push(env);
            }
        }
        last
    }

    /// Decides one command, sealing its events into `out`. HTTP refusals are answered, not
    /// logged; refusals from the command topic are logged as `command.rejected`.
    pub fn decide(
        &mut self,
        meta: &CommandMeta,
        command: &Command,
        origin: Origin,
        out: &mut Vec<StoredEvent>,
    ) -> Decided {
        let started = Instant::now();
        let (decided, verdict) = self.decide_inner(meta, command, origin, out);
        self.metrics.observe_decide(started.elapsed());
        self.verdicts
            .push((command.type_name().to_string(), verdict));
        decided
    }

    fn decide_inner(
        &mut self,
        meta: &CommandMeta,
        command: &Command,
        origin: Origin,
        out: &mut Vec<StoredEvent>,
    ) -> (Decided, Verdict) {
        if let Some(record) = self.state.commands.get(&meta.command_id) {
            // A reused id with another body is not a retry: refuse it over HTTP. A topic
            // producer learns only from the log, and the id's outcome is already there, so the
            // first outcome stands.
            if origin == Origin::Http && record.body_sha256.is_some_and(|h| h != meta.body_sha256) {
                let conflict = Decided::Refused(Rejection::Conflict {
                    message: format!(
                        "请求流水号 {} 已使用且报文不同 (the command id was already used with another body)",
                        meta.command_id
                    ),
                });
                return (conflict, Verdict::Rejected);
            }
            let duplicate = Decided::Logged {
                last: record.last,
                duplicate: true,
            };
            return (duplicate, Verdict::Duplicate);
        }
        let key = command.partition_key();
        let ctx = DecideContext {
            command_id: &meta.command_id,
            now: meta.issued_at.with_timezone(&Local).naive_local(),
        };
        let (events, verdict) = match decide(&self.state, command, &ctx) {
            Ok(events) if !events.is_empty() => (events, Verdict::Accepted),
            Ok(_) => (
                vec![refusal(
                    command.type_name(),
                    Rejection::Refused {
                        message: "the command changed nothing".into(),
                    },
                )],
                Verdict::Rejected,
            ),
            Err(rejection) if origin == Origin::Http => {
                return (Decided::Refused(rejection), Verdict::Rejected);
            }
            Err(rejection) => (
                vec![refusal(command.type_name(), rejection)],
                Verdict::Rejected,
            ),
        };
        let partition = self.partition_of(&key);
        let last = self.seal(
            &meta.command_id,
            &key,
            meta.actor.as_deref(),
            Some(meta.body_sha256),
            partition,
            events,
            out,
        );
        let decided = Decided::Logged {
            last,
            duplicate: false,
        };
        (decided, verdict)
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
    ) -> Decided {
        if let Some(record) = self.state.commands.get(command_id) {
            return Decided::Logged {
                last: record.last,
                duplicate: true,
            };
        }
        let last = self.seal(
            command_id,
            key,
            None,
            None,
            partition,
            vec![refusal(command_type, rejection)],
            out,
        );
        self.verdicts
            .push((command_type.to_string(), Verdict::Rejected));
        Decided::Logged {
            last,
            duplicate: false,
        }
    }

    /// Appends a group's events durably. On failure the state is rebuilt from the log, and the
    /// error is returned so no decision of the group is reported as accepted.
    /// The group's verdicts are counted in the metrics only when the append succeeded (an empty
    /// group, all refusals or duplicates, appends nothing and always succeeds).
    pub fn commit(&mut self, stored: &[StoredEvent]) -> Result<(), LogError> {
        let appended = if stored.is_empty() {
            Ok(())
        } else {
            self.log.append(stored)
        };
        let verdicts = std::mem::take(&mut self.verdicts);
        let sealed = std::mem::take(&mut self.sealed);
        if let (Ok(()), Some(handoff)) = (&appended, &self.handoff) {
            handoff.push(sealed);
        }
        if appended.is_ok() {
            for (command_type, verdict) in verdicts {
                self.metrics.record_command(&command_type, verdict);
            }
        }
        if let Err(e) = &appended {
            tracing::error!(error = %e, "append failed; rebuilding the decider state from the log");
            match fold_log(self.log.as_ref(), &self.owned) {
                Ok((state, heads)) => {
                    self.state = state;
                    self.heads = heads;
                }
                Err(rebuild) => {
                    tracing::error!(error = %rebuild, "cannot rebuild the decider state yet");
                    self.state = State::default();
                    self.owned.clear();
                }
            }
        }
        appended
    }

    /// Whether a decision survived a failed commit: only when its events were durable before
    /// the group (a duplicate of an earlier group's command).
    pub fn is_durable(&self, last: Position) -> bool {
        self.owned.contains(&last.partition)
            && last.offset < self.heads[last.partition as usize].next_offset
    }
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
        let mut stored = Vec::new();
        let decisions: Vec<Decided> = group
            .iter()
            .map(|job| {
                let s = &job.submission;
                decider.decide(&s.meta, &s.command, s.origin, &mut stored)
            })
            .collect();
        let appended = decider.commit(&stored);
        if appended.is_ok() && !stored.is_empty() {
            wake.notify();
        }
        for (job, decision) in group.drain(..).zip(decisions) {
            let answer = match (&appended, decision) {
                (Err(e), Decided::Logged { last, .. }) if !decider.is_durable(last) => {
                    Err(BusError::Unavailable(e.to_string()))
                }
                (_, d) => Ok(d),
            };
            let _ = job.reply.send(answer);
        }
    }
}

fn refusal(command_type: &str, rejection: Rejection) -> Event {
    CommandRejected {
        command_type: command_type.to_string(),
        rejection,
    }
    .into()
}
