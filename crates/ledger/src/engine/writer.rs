//! The writer: the single decider. It holds the state folded from the whole log, takes commands
//! in groups, decides each on a state that includes every earlier decision (earlier commands of
//! the same group included), and appends the group's events in one durable append (group
//! commit: concurrent commands share one fsync).
//!
//! Durability: a command is answered only after the append that holds its events has returned,
//! i.e. after the fsync. If an append fails, nobody in the group is told "accepted", and the
//! state is rebuilt from the log so it matches what is durable.

use super::Job;
use super::projector::Wake;
use anyhow::Context;
use chrono::{Local, Utc};
use ledger_api::bus::{BusError, Decided, Origin};
use ledger_core::log::{EventLog, PartitionHead, StoredEvent};
use ledger_core::rejection::CommandRejected;
use ledger_core::{
    Command, DecideContext, Event, EventDraft, EventEnvelope, Position, Rejection, State, decide,
    partition_for,
};
use std::sync::Arc;
use tokio::sync::mpsc;

pub struct Writer {
    log: Arc<dyn EventLog>,
    state: State,
    heads: Vec<PartitionHead>,
}

/// Folds the whole log into a fresh state.
pub fn fold_log(log: &dyn EventLog) -> anyhow::Result<(State, Vec<PartitionHead>)> {
    let mut state = State::default();
    let mut heads = Vec::new();
    for p in 0..log.partitions() {
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
        heads.push(log.head(p)?);
    }
    Ok((state, heads))
}

impl Writer {
    pub fn recover(log: Arc<dyn EventLog>) -> anyhow::Result<Writer> {
        let (state, heads) = fold_log(log.as_ref())?;
        Ok(Writer { log, state, heads })
    }

    /// Seals `events` for the command at the end of its partition and folds them into the
    /// state; returns the position of the last one.
    fn seal(
        &mut self,
        command_id: &str,
        key: &str,
        events: Vec<Event>,
        out: &mut Vec<StoredEvent>,
    ) -> Position {
        let partition = partition_for(key, self.log.partitions());
        let head = &mut self.heads[partition as usize];
        let recorded_at = Utc::now();
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
        }
        last
    }

    /// Decides one command, sealing its events into `out`.
    fn decide_one(&mut self, job: &Job, out: &mut Vec<StoredEvent>) -> Decided {
        let meta = &job.submission.meta;
        if let Some(record) = self.state.commands.get(&meta.command_id) {
            return Decided::Logged {
                last: record.last,
                duplicate: true,
            };
        }
        let command: &Command = &job.submission.command;
        let key = command.partition_key();
        let ctx = DecideContext {
            command_id: &meta.command_id,
            now: meta.issued_at.with_timezone(&Local).naive_local(),
        };
        let events = match decide(&self.state, command, &ctx) {
            Ok(events) if !events.is_empty() => events,
            Ok(_) => vec![refusal(
                command,
                Rejection::Refused {
                    message: "the command changed nothing".into(),
                },
            )],
            Err(rejection) if job.submission.origin == Origin::Http => {
                return Decided::Refused(rejection);
            }
            Err(rejection) => vec![refusal(command, rejection)],
        };
        let last = self.seal(&meta.command_id, &key, events, out);
        Decided::Logged {
            last,
            duplicate: false,
        }
    }

    pub fn run(mut self, mut jobs: mpsc::Receiver<Job>, wake: &Wake) {
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
                .map(|job| self.decide_one(job, &mut stored))
                .collect();
            let appended = self.log.append(&stored);
            if appended.is_ok() && !stored.is_empty() {
                wake.notify();
            }
            if let Err(e) = &appended {
                tracing::error!(error = %e, "append failed; rebuilding the decider state from the log");
                match fold_log(self.log.as_ref()) {
                    Ok((state, heads)) => {
                        self.state = state;
                        self.heads = heads;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot rebuild the decider state; stopping the writer");
                        return;
                    }
                }
            }
            for (job, decision) in group.drain(..).zip(decisions) {
                // After a failed append, a decision is good only if its events were durable
                // before this group (a duplicate of an earlier group's command).
                let answer = match (&appended, decision) {
                    (Err(e), Decided::Logged { last, .. })
                        if last.offset >= self.heads[last.partition as usize].next_offset =>
                    {
                        Err(BusError::Unavailable(e.to_string()))
                    }
                    (_, d) => Ok(d),
                };
                let _ = job.reply.send(answer);
            }
        }
    }
}

fn refusal(command: &Command, rejection: Rejection) -> Event {
    CommandRejected {
        command_type: command.type_name().to_string(),
        rejection,
    }
    .into()
}
