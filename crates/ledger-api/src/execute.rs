//! The command path shared by every family's handlers: submit, wait (bounded) for the local
//! projection, read the recorded outcome (invariant 1).

use crate::AppState;
use crate::bus::{BusError, Decided, Origin, Submission};
use crate::outcome::CommandOutcome;
use chrono::{DateTime, Utc};
use ledger_core::{Command, CommandMeta, OutcomeRecord, Rejection, Sha256Hash};
use ledger_wire::Fields;
use ledger_wire::codes::Failure;
use std::sync::Mutex;
use tokio::time::Instant;
use uuid::timestamp::context::ContextV7;
use uuid::{Timestamp, Uuid};

/// How a command request ended.
pub enum CommandResult {
    /// The outcome is projected: identical for the first request and every repeat.
    Done(CommandOutcome),
    /// Refused without being logged.
    Refused(Failure),
    /// Decided but not projected within the wait: answer with the id to look up later.
    Pending(String),
}

/// A request header as trimmed text; absent, empty or not text counts as absent.
pub fn header(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Reads the request-level metadata every family shares; `issued_at` is the caller's clock
/// reading (`AppState::clock` in the API). `payload` is what the command is decoded from (the
/// body's fields, path parameters merged in): its canonical hash is the body hash, as on the
/// command topic; `body` is the request as received, which older versions hashed.
pub fn command_meta(
    issued_at: DateTime<Utc>,
    command_id: Option<String>,
    key: String,
    actor: Option<String>,
    payload: &Fields,
    body: &[u8],
) -> CommandMeta {
    CommandMeta {
        command_id: command_id.unwrap_or_else(|| new_command_id(issued_at)),
        key,
        issued_at,
        actor,
        body_sha256: payload.body_sha256(),
        legacy_body_sha256: vec![Sha256Hash::of(body), Sha256Hash::of(&payload.to_json())],
    }
}

/// A command id for a request that brought none: a UUIDv7 of the clock's `issued_at`, so ids
/// sort by issue time (strictly within this process, as `Uuid::now_v7` would, without reading
/// the system clock).
fn new_command_id(issued_at: DateTime<Utc>) -> String {
    static CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());
    let context = CONTEXT.lock().unwrap_or_else(|e| e.into_inner());
    let seconds = u64::try_from(issued_at.timestamp()).unwrap_or(0);
    let at = Timestamp::from_unix(&*context, seconds, issued_at.timestamp_subsec_nanos());
    Uuid::new_v7(at).to_string()
}

/// The outcome of a command logged before ids were namespaced per credential, under the
/// client's bare id, when it has the same partition key: a retry of such a command answers
/// that outcome instead of being decided again.
pub async fn legacy_outcome(
    app: &AppState,
    client_id: Option<&str>,
    key: &str,
) -> Option<CommandOutcome> {
    let id = client_id?;
    let record = app.store.command_record(id).ok().flatten()?;
    if record.key != key {
        return None;
    }
    outcome_of(app, record).await.ok()
}

/// Runs a decoded command; `payload` holds the fields it was decoded from (the request body,
/// with path parameters merged in), which a forwarding bus publishes.
pub async fn execute(
    app: &AppState,
    meta: CommandMeta,
    command: Command,
    payload: &ledger_wire::Fields,
) -> CommandResult {
    let deadline = Instant::now() + app.command_wait;
    let command_id = meta.command_id.clone();
    let sent = meta.clone();
    let submission = Submission {
        meta,
        command,
        origin: Origin::Http,
        body: payload.to_json(),
    };
    let decided = match tokio::time::timeout_at(deadline, app.bus.submit(submission)).await {
        Err(_) | Ok(Err(BusError::Timeout)) => return CommandResult::Pending(command_id),
        Ok(Err(BusError::Unavailable(m))) => {
            return CommandResult::Refused(Failure::Unavailable(m));
        }
        Ok(Ok(d)) => d,
    };
    let last = match decided {
        Decided::Refused(r) => return CommandResult::Refused(Failure::Rejected(r)),
        Decided::Logged { last, .. } => last,
    };
    if !app.bus.wait_projected(last, deadline).await {
        return CommandResult::Pending(command_id);
    }
    match outcome(app, &command_id).await {
        Ok(Some(outcome)) => answer(&sent, outcome),
        Ok(None) => CommandResult::Pending(command_id),
        Err(e) => CommandResult::Refused(Failure::Unavailable(e)),
    }
}

/// The answer to `sent` when its id has `outcome`: that outcome, unless the id was decided for
/// another body. The embedded decider refuses such a request before logging anything; in Kafka
/// mode the decider may sit on another node and only logs its refusal (under
/// [`CommandMeta::conflict_id`]), so the node that took the request compares here.
pub fn answer(sent: &CommandMeta, outcome: CommandOutcome) -> CommandResult {
    match outcome.body_sha256 {
        Some(recorded) if !sent.same_body(recorded) => {
            CommandResult::Refused(Failure::Rejected(Rejection::reused_id(&sent.command_id)))
        }
        _ => CommandResult::Done(outcome),
    }
}

/// A command's outcome: its record from the read store, its events read back from the log.
pub async fn outcome(app: &AppState, command_id: &str) -> Result<Option<CommandOutcome>, String> {
    match app
        .store
        .command_record(command_id)
        .map_err(|e| e.to_string())?
    {
        Some(record) => outcome_of(app, record).await.map(Some),
        None => Ok(None),
    }
}

/// The outcome of a stored record: its events read back from the log.
pub async fn outcome_of(app: &AppState, record: OutcomeRecord) -> Result<CommandOutcome, String> {
    let events = app
        .bus
        .read_events(record.partition, record.first_offset, record.last_offset)
        .await
        .map_err(|e| e.to_string())?;
    let own: Vec<_> = events
        .into_iter()
        .filter(|e| e.command_id == record.command_id)
        .collect();
    Ok(CommandOutcome::new(record, own))
}
