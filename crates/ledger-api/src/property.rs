//! Property-fee endpoints (seeds 002/004, MicroCommunity conventions). Headers `app-id`,
//! `transaction-id` (the command id), `req-time`, `sign`, `Authorization`; replies
//! `{"code":"0","msg":"成功","data":…}`.

use crate::AppState;
use crate::execute::{CommandResult, command_meta, execute};
use crate::system::{Reply, position_header};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use ledger_core::property::{FeeConfigCreated, community_key};
use ledger_store::{CommandOutcome, OutcomeStatus};
use ledger_wire::Fields;
use ledger_wire::codes::Failure;
use ledger_wire::command::decode_command;
use ledger_wire::property::{error_reply, ok_reply, pending_reply};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/feeConfig.saveFeeConfig", post(save_fee_config))
        .route("/app/feeConfig.updateFeeConfig", post(update_fee_config))
        .route("/app/feeConfig.listFeeConfigs", get(list_fee_configs))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn failure(f: Failure) -> Reply {
    let (status, body) = error_reply(&f);
    Reply::json(status, body)
}

/// The command path of every property endpoint: decode the body as `command_type`, run it, and
/// answer with `data` built from the recorded outcome.
async fn property_command(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    command_type: &str,
    data: fn(&CommandOutcome) -> Value,
) -> Reply {
    let fields = match Fields::parse(body) {
        Ok(f) => f,
        Err(r) => return failure(Failure::Rejected(r)),
    };
    let community = fields
        .text("communityId")
        .ok()
        .flatten()
        .unwrap_or_default();
    let meta = command_meta(
        header(headers, "transaction-id"),
        community_key(&community),
        header(headers, "app-id"),
        body,
    );
    let command = match decode_command(command_type, &fields, &meta.command_id) {
        Ok(c) => c,
        Err(r) => return failure(Failure::Rejected(r)),
    };
    match execute(app, meta, command, body).await {
        CommandResult::Done(outcome) => match (&outcome.status, &outcome.rejection) {
            (OutcomeStatus::Rejected, Some(r)) => failure(Failure::Rejected(r.clone())),
            _ => Reply::json(200, ok_reply(data(&outcome))),
        },
        CommandResult::Refused(f) => failure(f),
        CommandResult::Pending(id) => Reply::json(202, pending_reply(&id)),
    }
}

/// Create a fee config.
#[utoipa::path(post, path = "/app/feeConfig.saveFeeConfig", tag = "property",
    request_body = ledger_wire::property::FeeConfigSaveBody,
    params(
        ("transaction-id" = Option<String>, Header, description = "Request serial; the idempotency key"),
        ("app-id" = Option<String>, Header, description = "Application id"),
    ),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"configId\":…}}`"),
        (status = 400, description = "A field is missing or malformed; msg names it"),
        (status = 409, description = "configId already exists in the community"),
        (status = 202, description = "Accepted, outcome not yet projected; data.commandId"),
    ))]
pub async fn save_fee_config(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    property_command(&app, &headers, &body, "fee_config.create", |outcome| {
        let config_id = outcome
            .events
            .iter()
            .find(|e| e.event_type == "fee_config.created")
            .and_then(|e| serde_json::from_str::<FeeConfigCreated>(e.payload.get()).ok())
            .map(|e| e.config.config_id);
        json!({"configId": config_id})
    })
    .await
}

/// Update a fee config (seed 002).
#[utoipa::path(post, path = "/app/feeConfig.updateFeeConfig", tag = "property",
    request_body = ledger_wire::property::FeeConfigUpdateBody,
    params(
        ("transaction-id" = Option<String>, Header, description = "Request serial; the idempotency key"),
        ("app-id" = Option<String>, Header, description = "Application id"),
    ),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":null}`"),
        (status = 400, description = "A required field is missing or malformed; msg names it"),
        (status = 404, description = "未找到该费用项"),
        (status = 202, description = "Accepted, outcome not yet projected; data.commandId"),
    ))]
pub async fn update_fee_config(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    property_command(&app, &headers, &body, "fee_config.update", |_| Value::Null).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ListFeeConfigsQuery {
    /// 小区 ID.
    pub community_id: Option<String>,
    /// One config only.
    pub config_id: Option<String>,
}

/// List the fee configs of a community.
#[utoipa::path(get, path = "/app/feeConfig.listFeeConfigs", tag = "property",
    params(ListFeeConfigsQuery),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"feeConfigs\":[…],\"total\":N}}`"),
        (status = 400, description = "communityId missing"),
    ))]
pub async fn list_fee_configs(
    State(app): State<AppState>,
    Query(q): Query<ListFeeConfigsQuery>,
) -> Reply {
    let Some(community_id) = q.community_id.filter(|c| !c.trim().is_empty()) else {
        return failure(Failure::BadQuery {
            field: "communityId".into(),
            message: "未包含小区ID".into(),
        });
    };
    let position = position_header(&app);
    match ledger_store::property::list_fee_configs(
        &app.store,
        &community_id,
        q.config_id.as_deref(),
    ) {
        Ok(configs) => Reply::json(
            200,
            ok_reply(json!({"feeConfigs": configs, "total": configs.len()})),
        )
        .with_position(position),
        Err(e) => failure(Failure::Unavailable(e.to_string())),
    }
}
