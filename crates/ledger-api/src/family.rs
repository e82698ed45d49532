//! The one command path every family's commands take: authenticate → parse → command id →
//! decode → authorize (the command's partition key against the credential's scope) → execute →
//! reply. A [`Family`] gives the parts that differ (how credentials are checked, how the
//! command id is formed, the envelopes); [`run_command`] is the order, so authentication,
//! scope checks, id rules and "a refusal appends nothing" hold for every family by
//! construction.

use crate::AppState;
use crate::auth::Principal;
use crate::execute::{CommandResult, answer, command_meta, execute, header, legacy_outcome};
use crate::outcome::CommandOutcome;
use crate::system::Reply;
use axum::http::HeaderMap;
use ledger_core::OutcomeStatus;
use ledger_wire::Fields;
use ledger_wire::codes::Failure;
use ledger_wire::command::decode_command;
use ledger_wire::fields::{MAX_ID_LEN, check_text};
use serde_json::Value;

/// The ids of one command.
pub struct CommandIds {
    /// The id the client gave (transaction-id, X-Request-Id), when the family namespaces it:
    /// a command logged under that bare id before namespacing answers a retry.
    pub client_id: Option<String>,
    /// The command id (namespaced); None lets the edge assign a UUID.
    pub command_id: Option<String>,
}

/// What differs between the families' command paths.
pub trait Family: Sync {
    /// Verifies the request's credentials. `fields` is the body as parsed, for families that
    /// carry credentials in it (utility's SYS_HEAD); a parse error is then that family's answer.
    fn authenticate(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        body: &[u8],
        fields: &Result<Fields, Failure>,
    ) -> Result<Principal, Failure>;

    /// The command's ids, from headers or fields.
    fn ids(
        &self,
        principal: &Principal,
        headers: &HeaderMap,
        fields: &Fields,
    ) -> Result<CommandIds, Failure>;

    /// A refusal in the family's envelope (`principal` when known, for envelopes naming the
    /// caller).
    fn failure(&self, failure: Failure, principal: Option<&Principal>) -> Reply;

    /// The success reply built from the outcome's `data`.
    fn success(&self, data: Option<Value>, principal: &Principal) -> Reply;

    /// The reply of a command decided but not yet projected.
    fn pending(&self, command_id: &str, principal: &Principal) -> Reply;
}

/// The client's id from `header`, checked as every id is, and namespaced by the credential.
pub fn namespaced_header_id(
    principal: &Principal,
    headers: &HeaderMap,
    name: &str,
) -> Result<CommandIds, Failure> {
    let client_id = header(headers, name);
    if let Some(id) = &client_id {
        check_text(name, id, MAX_ID_LEN).map_err(Failure::Rejected)?;
    }
    Ok(CommandIds {
        command_id: client_id.as_deref().map(|id| principal.command_id(id)),
        client_id,
    })
}

/// Runs one command of `family`: `fields` are the body's fields when the route prepared them
/// (path parameters merged in), else the body is parsed here; `command_type` names the
/// decoder; `data` builds the success reply's data from the recorded outcome.
pub async fn run_command(
    family: &impl Family,
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    fields: Option<Result<Fields, Failure>>,
    command_type: &str,
    data: fn(&CommandOutcome) -> Option<Value>,
) -> Reply {
    let success =
        |outcome: &CommandOutcome, principal: &Principal| family.success(data(outcome), principal);
    run_command_replying(family, app, headers, body, fields, command_type, success).await
}

/// [`run_command`] with the success reply built by `success` from the recorded outcome
/// (a family whose reply is serialized straight from typed data, without a JSON tree).
pub async fn run_command_replying(
    family: &impl Family,
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    fields: Option<Result<Fields, Failure>>,
    command_type: &str,
    success: impl FnOnce(&CommandOutcome, &Principal) -> Reply,
) -> Reply {
    let fields = fields.unwrap_or_else(|| Fields::parse(body).map_err(Failure::Rejected));
    let principal = match family.authenticate(app, headers, body, &fields) {
        Ok(p) => p,
        Err(f) => return family.failure(f, None),
    };
    let fail = |f: Failure| family.failure(f, Some(&principal));
    let fields = match fields {
        Ok(f) => f,
        Err(f) => return fail(f),
    };
    let ids = match family.ids(&principal, headers, &fields) {
        Ok(ids) => ids,
        Err(f) => return fail(f),
    };
    let meta = command_meta(
        app.clock.now_utc(),
        ids.command_id,
        String::new(),
        Some(principal.name.clone()),
        &fields,
        body,
    );
    let command = match decode_command(command_type, &fields, &meta.command_id) {
        Ok(c) => c,
        Err(r) => return fail(Failure::Rejected(r)),
    };
    let key = command.partition_key();
    if let Err(f) = principal.authorize(&key) {
        return fail(Failure::Forbidden(f.0));
    }
    let meta = ledger_core::CommandMeta { key, ..meta };
    let result = match legacy_outcome(app, ids.client_id.as_deref(), &meta.key).await {
        Some(old) => answer(&meta, old),
        None => execute(app, meta, command, &fields).await,
    };
    match result {
        CommandResult::Done(outcome) => match (&outcome.status, &outcome.rejection) {
            (OutcomeStatus::Rejected, Some(r)) => fail(Failure::Rejected(r.clone())),
            _ => success(&outcome, &principal),
        },
        CommandResult::Refused(f) => fail(f),
        CommandResult::Pending(id) => family.pending(&id, &principal),
    }
}
