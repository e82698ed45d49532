//! The engine wires the pure decider to a log and the read store: one writer thread decides
//! every command (one writer per partition, trivially) with group commit, and one projector
//! thread folds the log into the read store. `Engine` implements the API's `CommandBus` port.

#[cfg(test)]
mod differential;
#[cfg(test)]
mod failures;
#[cfg(test)]
mod faulty_state;
#[cfg(test)]
mod handover;
pub mod kafka;
pub mod projector;
pub mod writer;

use ledger_api::Metrics;
use ledger_api::bus::{BoxFuture, BusError, CommandBus, Decided, Submission};
use ledger_core::{EventLog, Position};
use ledger_store::ReadStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// A command waiting for the writer, with the channel its decision goes back on.
pub struct Job {
    pub submission: Submission,
    pub reply: oneshot::Sender<Result<Decided, BusError>>,
}

pub struct Engine {
    jobs: mpsc::Sender<Job>,
    applied: watch::Receiver<Vec<u64>>,
    stop: Arc<AtomicBool>,
    log: Arc<dyn EventLog>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    store: Arc<ReadStore>,
    /// The log's end per partition when the engine started: the node is ready once the
    /// projection has applied that much.
    startup_ends: Vec<u64>,
    /// Failing while appends fail or the decider cannot bring its state up to the log.
    decider_health: writer::Health,
    /// The writer's latest groups, which the replies read their events from.
    recent: projector::Recent,
}

/// How many commands one durable append may carry (group commit).
pub const MAX_GROUP: usize = 1024;

impl Engine {
    /// Rebuilds the decider's state from the log and starts both threads; returns once both
    /// are running. The projector catches up in its own thread, so the HTTP server (liveness,
    /// metrics, commands) is up while it does; `ready()` says when it has.
    pub fn start(
        log: Arc<dyn EventLog>,
        store: Arc<ReadStore>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Engine> {
        Self::start_in(log, store, metrics, ledger_api::host_timezone())
    }

    /// `start`, deciding in business time of `zone` (the node's `timezone` setting).
    pub fn start_in(
        log: Arc<dyn EventLog>,
        store: Arc<ReadStore>,
        metrics: Arc<Metrics>,
        zone: chrono_tz::Tz,
    ) -> anyhow::Result<Engine> {
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(MAX_GROUP * 4);
        let wake = projector::Wake::new();
        let positions = (0..log.partitions())
            .map(|p| store.position(p))
            .collect::<Result<Vec<u64>, _>>()?;
        let startup_ends = (0..log.partitions())
            .map(|p| log.head(p).map(|h| h.next_offset))
            .collect::<Result<Vec<u64>, _>>()?;
        let (applied_tx, applied_rx) = watch::channel(positions);
        let applied = projector::Applied::from(applied_tx);
        let stop = Arc::new(AtomicBool::new(false));
        let fresh = projector::Fresh::default();
        let recent = projector::Recent::default();
        let decider = writer::Decider::recover(
            log.clone(),
            Arc::new(store.decider_state()?),
            (0..log.partitions()).collect(),
            metrics.clone(),
        )?
        .handing_over(fresh.clone())
        .remembering(recent.clone())
        .projecting(projector::InStep {
            store: store.clone(),
            applied: applied.clone(),
            metrics: metrics.clone(),
        })
        .in_zone(zone);
        let decider_health = decider.health();
        let writer_wake = wake.clone();
        let writer_thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer::run(decider, jobs_rx, &writer_wake))?;
        let projector = projector::Projector {
            log: log.clone(),
            store: store.clone(),
            applied,
            wake,
            fresh: Some(fresh),
            stop: stop.clone(),
            metrics,
        };
        let projector_thread = std::thread::Builder::new()
            .name("ledger-projector".into())
            .spawn(move || projector.run())?;
        Ok(Engine {
            jobs: jobs_tx,
            applied: applied_rx,
            stop,
            log,
            threads: std::sync::Mutex::new(vec![writer_thread, projector_thread]),
            store,
            startup_ends,
            decider_health,
            recent,
        })
    }

    /// The log the engine writes (audit replays read it).
    pub fn log(&self) -> Arc<dyn EventLog> {
        self.log.clone()
    }

    /// Stops taking commands, lets the writer finish what it has, lets the projector apply
    /// everything durable, and flushes the read store.
    pub fn shutdown(self) -> anyhow::Result<()> {
        let Engine {
            jobs,
            stop,
            threads,
            store,
            ..
        } = self;
        drop(jobs);
        let mut threads = threads.into_inner().unwrap_or_default();
        if let Some(writer) = (!threads.is_empty()).then(|| threads.remove(0)) {
            let _ = writer.join();
        }
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            let _ = t.join();
        }
        store.flush()?;
        Ok(())
    }
}

impl CommandBus for Engine {
    fn submit(&self, submission: Submission) -> BoxFuture<Result<Decided, BusError>> {
        let jobs = self.jobs.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            jobs.send(Job { submission, reply })
                .await
                .map_err(|_| BusError::Unavailable("the writer has stopped".into()))?;
            answer
                .await
                .map_err(|_| BusError::Unavailable("the writer has stopped".into()))?
        })
    }

    fn wait_projected(&self, position: Position, deadline: Instant) -> BoxFuture<bool> {
        wait_projected(self.applied.clone(), position, deadline)
    }

    fn applied_positions(&self) -> Vec<u64> {
        self.applied.borrow().clone()
    }

    fn read_events(
        &self,
        partition: u32,
        first: u64,
        last: u64,
    ) -> BoxFuture<Result<Vec<ledger_core::EventEnvelope>, BusError>> {
        match self.recent.get(partition, first, last) {
            Some(events) => Box::pin(std::future::ready(Ok(events))),
            None => ledger_api::bus::read_log_events(self.log.clone(), partition, first, last),
        }
    }

    fn log_ends(&self) -> Vec<u64> {
        (0..self.log.partitions())
            .map(|p| self.log.head(p).map(|h| h.next_offset).unwrap_or(0))
            .collect()
    }

    fn ready(&self) -> bool {
        self.decider_health.ok() && caught_up(&self.applied.borrow(), &self.startup_ends)
    }
}

/// Whether every partition's applied position has reached `ends`.
pub fn caught_up(applied: &[u64], ends: &[u64]) -> bool {
    ends.iter()
        .enumerate()
        .all(|(p, end)| applied.get(p).is_some_and(|a| a >= end))
}

/// Resolves to true once the applied positions pass `position`, false at `deadline`.
pub fn wait_projected(
    mut applied: watch::Receiver<Vec<u64>>,
    position: Position,
    deadline: Instant,
) -> BoxFuture<bool> {
    Box::pin(async move {
        loop {
            let done = applied
                .borrow_and_update()
                .get(position.partition as usize)
                .is_some_and(|next| *next > position.offset);
            if done {
                return true;
            }
            match tokio::time::timeout_at(deadline, applied.changed()).await {
                Ok(Ok(())) => continue,
                _ => return false,
            }
        }
    })
}
