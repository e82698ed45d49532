//! Property-fee endpoints (seeds 002/004, MicroCommunity conventions). Headers `app-id`,
//! `transaction-id` (the command id), `req-time`, `sign`, `Authorization`; replies
//! `{"code":"0","msg":"成功","data":…}`.

use crate::AppState;
use crate::auth::{Principal, PropertyRequest};
use crate::execute::header;
use crate::family::{CommandIds, Family, namespaced_header_id, run_command};
use crate::outcome::CommandOutcome;
use crate::query::{Declared, Page, PagingQuery, Params, lister, paged, signed_content};
use crate::system::{Reply, position_header};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use ledger_core::property::time::parse_start;
use ledger_core::property::view::{FeeView, fee_views};
use ledger_core::property::{FeeConfigCreated, FeePaid, RoomSaved, community_key};
use ledger_wire::Fields;
use ledger_wire::codes::Failure;
use ledger_wire::property::{FeeListData, Success, error_reply, ok_reply, pending_reply};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/feeConfig.saveFeeConfig", post(save_fee_config))
        .route("/app/feeConfig.updateFeeConfig", post(update_fee_config))
        .route("/app/feeConfig.listFeeConfigs", get(list_fee_configs))
        .route("/app/room.saveRoom", post(save_room))
        .route("/app/community.setting", post(community_setting))
        .route("/app/fee.saveRoomCreateFee", post(save_room_create_fee))
        .route("/app/fee.payFee", post(pay_fee))
        .route("/app/fee.listFee", get(list_fee))
        .route("/app/community.listCommunitys", get(list_communities))
}

fn failure(f: Failure) -> Reply {
    let (status, body) = error_reply(&f);
    Reply::json(status, body)
}

/// Refuses (403) a community outside the app's communities.
fn authorize(principal: &Principal, community_id: &str) -> Result<(), Reply> {
    principal
        .authorize(&community_key(community_id))
        .map_err(|f| failure(Failure::Forbidden(f.0)))
}

/// Verifies the MicroCommunity headers over `signed_content` (the body of a POST, `?query` of a
/// GET); `Ok` is the app (its id is recorded as the command's actor) with its communities.
fn credentials(
    app: &AppState,
    headers: &HeaderMap,
    signed_content: &[u8],
) -> Result<Principal, Failure> {
    let h = |name| header(headers, name);
    let (app_id, transaction_id, req_time, sign, authorization) = (
        h("app-id"),
        h("transaction-id"),
        h("req-time"),
        h("sign"),
        h("authorization"),
    );
    app.auth
        .verify_property(
            &PropertyRequest {
                app_id: app_id.as_deref(),
                transaction_id: transaction_id.as_deref(),
                req_time: req_time.as_deref(),
                sign: sign.as_deref(),
                authorization: authorization.as_deref(),
                signed_content,
            },
            app.now(),
        )
        .map_err(|d| Failure::Unauthorized(d.0))
}

/// [`credentials`] with the refusal as the reply (queries and the audit layer).
pub fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    signed_content: &[u8],
) -> Result<Principal, Reply> {
    credentials(app, headers, signed_content).map_err(failure)
}

/// The property family's part of the one command path ([`crate::family`]): MicroCommunity's
/// signed headers, `property:{app-id}:{transaction-id}` ids, the `{"code","msg","data"}`
/// envelope.
struct Property;

impl Family for Property {
    fn authenticate(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        body: &[u8],
        _fields: &Result<Fields, Failure>,
    ) -> Result<Principal, Failure> {
        credentials(app, headers, body)
    }

    fn ids(
        &self,
        principal: &Principal,
        headers: &HeaderMap,
        _: &Fields,
    ) -> Result<CommandIds, Failure> {
        namespaced_header_id(principal, headers, "transaction-id")
    }

    fn failure(&self, f: Failure, _: Option<&Principal>) -> Reply {
        failure(f)
    }

    fn success(&self, data: Option<Value>, _: &Principal) -> Reply {
        Reply::json(200, ok_reply(data.unwrap_or(Value::Null)))
    }

    fn pending(&self, command_id: &str, _: &Principal) -> Reply {
        Reply::json(202, pending_reply(command_id))
    }
}

/// Runs a property command decoded from the body as `command_type`.
async fn property_command(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    command_type: &str,
    data: fn(&CommandOutcome) -> Option<Value>,
) -> Reply {
    run_command(&Property, app, headers, body, None, command_type, data).await
}

/// Create a fee config.
#[utoipa::path(post, path = "/app/feeConfig.saveFeeConfig", tag = "property",
    request_body = ledger_wire::property::FeeConfigSaveBody,
    params(PropertyHeaders),
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
            .event::<FeeConfigCreated>("fee_config.created")
            .map(|e| e.config.config_id);
        Some(json!({"configId": config_id}))
    })
    .await
}

/// Update a fee config (seed 002).
#[utoipa::path(post, path = "/app/feeConfig.updateFeeConfig", tag = "property",
    request_body = ledger_wire::property::FeeConfigUpdateBody,
    params(PropertyHeaders),
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
    property_command(&app, &headers, &body, "fee_config.update", |_| None).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListFeeConfigsQuery {
    /// 小区 ID.
    pub community_id: Option<String>,
    /// One config only.
    pub config_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub paging: PagingQuery,
}

impl Declared for ListFeeConfigsQuery {
    const NAMES: &'static [&'static str] = &["communityId", "configId", "page", "row"];
}

/// List the fee configs of a community, a page at a time.
#[utoipa::path(get, path = "/app/feeConfig.listFeeConfigs", tag = "property",
    params(ListFeeConfigsQuery, PagingQuery),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"feeConfigs\":[…],\"total\":N,\"records\":pages,\"page\":P,\"row\":R}}`; `total` counts every config before paging"),
        (status = 400, description = "communityId missing, page/row not a whole number in range, or an unknown parameter; msg names it"),
    ))]
pub async fn list_fee_configs(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
    Params(q): Params<ListFeeConfigsQuery>,
) -> Reply {
    let principal = match authenticate(&app, &headers, &signed_content(raw, signed)) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let Some(community_id) = q.community_id.filter(|c| !c.trim().is_empty()) else {
        return failure(Failure::BadQuery {
            field: "communityId".into(),
            message: "未包含小区ID".into(),
        });
    };
    if let Err(reply) = authorize(&principal, &community_id) {
        return reply;
    }
    let page = match q.paging.page().map_err(failure) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let position = position_header(&app);
    match app.store.fee_configs(&community_id, q.config_id.as_deref()) {
        Ok(configs) => {
            Reply::json(200, ok_reply(paged("feeConfigs", configs, page))).with_position(position)
        }
        Err(e) => failure(Failure::Unavailable(e.to_string())),
    }
}

/// Create or replace a room (its areas, rent and owner).
#[utoipa::path(post, path = "/app/room.saveRoom", tag = "property",
    request_body = ledger_wire::property::RoomSaveBody,
    params(PropertyHeaders),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"roomId\":…}}`"),
        (status = 400, description = "A field is missing or malformed; msg names it"),
        (status = 202, description = "Accepted, outcome not yet projected; data.commandId"),
    ))]
pub async fn save_room(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    property_command(&app, &headers, &body, "room.upsert", |outcome| {
        let room_id = outcome
            .event::<RoomSaved>("room.saved")
            .map(|e| e.room.room_id);
        Some(json!({"roomId": room_id}))
    })
    .await
}

/// Set a community setting: `PAY_FEE_MONTH` ON makes periodic room fees bill rules (one
/// one-off fee per month).
#[utoipa::path(post, path = "/app/community.setting", tag = "property",
    request_body = ledger_wire::property::CommunitySettingBody,
    params(
        ("transaction-id" = Option<String>, Header, description = "Request serial; the idempotency key"),
    ),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":null}`"),
        (status = 400, description = "A field is missing or not a known key/value; msg names it"),
        (status = 202, description = "Accepted, outcome not yet projected; data.commandId"),
    ))]
pub async fn community_setting(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    property_command(&app, &headers, &body, "community.set_setting", |_| None).await
}

/// Create a fee on a room (seed 004).
#[utoipa::path(post, path = "/app/fee.saveRoomCreateFee", tag = "property",
    request_body = ledger_wire::property::RoomFeeCreateBody,
    params(PropertyHeaders),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"totalRoom\":1,\"successRoom\":1,\"errorRoom\":0}}`"),
        (status = 400, description = "A required field is missing or malformed (未包含…); msg names it"),
        (status = 404, description = "当前费用项ID不存在或存在多条 / 未查到需要付费的房屋或未绑定业主"),
        (status = 202, description = "Accepted, outcome not yet projected; data.commandId"),
    ))]
pub async fn save_room_create_fee(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    property_command(&app, &headers, &body, "room_fee.create", |_| {
        Some(json!({"totalRoom": 1, "successRoom": 1, "errorRoom": 0}))
    })
    .await
}

/// Pay a fee: whole or fractional cycles, an amount (-101), custom cycles (-102) or up to a
/// date (-103).
#[utoipa::path(post, path = "/app/fee.payFee", tag = "property",
    request_body = ledger_wire::property::PayFeeBody,
    params(PropertyHeaders),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"detailId\",\"feeId\",\"cycles\",\"receivableAmount\",\"receivedAmount\",\"startTime\",\"endTime\",\"state\"}}`"),
        (status = 400, description = "A required field is missing or malformed; msg names it"),
        (status = 404, description = "传入费用ID错误"),
        (status = 422, description = "收费已经结束，不能再缴费 / 缴费周期超过 缴费结束时间,请用按结束时间方式缴费 / 缴费超过了 费用项结束时间 (an amount below the receivable is recorded, not refused; a -105 payment that leaves time before customStartTime unpaid adds `owedFeeId`, the new fee for it)"),
        (status = 202, description = "Accepted, outcome not yet projected; data.commandId"),
    ))]
pub async fn pay_fee(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    property_command(&app, &headers, &body, "fee.pay", |outcome| {
        outcome.event::<FeePaid>("fee.paid").map(|e| {
            let mut data = json!({
                "detailId": e.detail_id,
                "feeId": e.fee_id,
                "cycles": e.cycles,
                "receivableAmount": e.receivable_amount,
                "receivedAmount": e.received_amount,
                "startTime": ledger_core::time::format_business(e.start_time),
                "endTime": ledger_core::time::format_business(e.end_time),
                "state": e.state,
            });
            if let Some(gap) = &e.gap_fee {
                data["owedFeeId"] = json!(gap.fee_id);
            }
            data
        })
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListFeeQuery {
    /// 小区 ID.
    pub community_id: Option<String>,
    /// 收费对象 (room id); every room of the community when absent.
    pub payer_obj_id: Option<String>,
    /// Arrears as of this instant, yyyy-MM-dd HH:mm:ss (a date alone means 00:00:00 of that
    /// day); now when absent.
    pub as_of: Option<String>,
}

/// listFee's query: the filters and the page.
#[derive(Debug, Deserialize)]
pub struct ListFeeParams {
    #[serde(flatten)]
    pub query: ListFeeQuery,
    #[serde(flatten)]
    pub paging: PagingQuery,
}

impl Declared for ListFeeParams {
    const NAMES: &'static [&'static str] = &["communityId", "payerObjId", "asOf", "page", "row"];
}

/// The fees of a room with what each owes as of a date.
#[utoipa::path(get, path = "/app/fee.listFee", tag = "property",
    params(ListFeeQuery, PagingQuery),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"fees\":[{feeId, configId, feeName, feeFlag, state, startTime, endTime, deadlineTime, feePrice, oweMonths, amountOwed, owner…, rate…, feeAttrs}],\"total\":N,\"asOf\":…,\"records\":pages,\"page\":P,\"row\":R}}`; `total` counts every fee before paging"),
        (status = 400, description = "communityId missing, asOf malformed, page/row not a whole number in range, or an unknown parameter; msg names it"),
    ))]
pub async fn list_fee(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
    Params(ListFeeParams { query: q, paging }): Params<ListFeeParams>,
) -> Reply {
    let principal = match authenticate(&app, &headers, &signed_content(raw, signed)) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    if let Some(community_id) = q.community_id.as_deref().filter(|c| !c.trim().is_empty())
        && let Err(reply) = authorize(&principal, community_id)
    {
        return reply;
    }
    match paging.page().map_err(failure) {
        Ok(page) => list_fee_page(&app, q, Some(page)),
        Err(reply) => reply,
    }
}

/// listFee's reply once the caller is authenticated, every fee on one page (the dashboard and
/// the dry run read it in-process).
pub fn list_fee_view(app: &AppState, q: ListFeeQuery) -> Reply {
    list_fee_page(app, q, None)
}

/// listFee's reply with `page` of the fees (all of them when None).
fn list_fee_page(app: &AppState, q: ListFeeQuery, page: Option<Page>) -> Reply {
    let Some(community_id) = q.community_id.filter(|c| !c.trim().is_empty()) else {
        return failure(Failure::BadQuery {
            field: "communityId".into(),
            message: "未包含小区ID".into(),
        });
    };
    // The API reads the clock; core computes arrears as of the instant it is given.
    let as_of = match q.as_of.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => app.now(),
        Some(text) => match parse_start(text) {
            Ok(t) => t,
            Err(e) => {
                return failure(Failure::BadQuery {
                    field: "asOf".into(),
                    message: format!("asOf 格式错误 (asOf: {e})"),
                });
            }
        },
    };
    let payer = q.payer_obj_id.filter(|p| !p.trim().is_empty());
    let position = position_header(app);
    let read = || -> Result<Vec<FeeView>, ledger_core::ReadError> {
        let store = &app.store;
        let (fees, rules) = store.fees_and_rules(&community_id, payer.as_deref())?;
        let configs: BTreeMap<String, _> = store
            .fee_configs(&community_id, None)?
            .into_iter()
            .map(|c| (c.config_id.clone(), c))
            .collect();
        let mut rooms = BTreeMap::new();
        let room_ids = fees
            .iter()
            .map(|f| &f.payer_obj_id)
            .chain(rules.iter().map(|r| &r.payer_obj_id));
        for room_id in room_ids {
            if !rooms.contains_key(room_id)
                && let Some(room) = store.room(&community_id, room_id)?
            {
                rooms.insert(room_id.clone(), room);
            }
        }
        Ok(fee_views(
            &fees,
            &rules,
            |_, id| configs.get(id),
            |_, id| rooms.get(id),
            as_of,
        ))
    };
    let views = match read() {
        Ok(views) => views,
        Err(e) => return failure(Failure::Unavailable(e.to_string())),
    };
    let total = views.len();
    let (fees, paging) = match page {
        None => (views, Vec::new()),
        Some(page) => (page.slice(views), page.page_fields(total).to_vec()),
    };
    let data = FeeListData {
        fees: &fees,
        total,
        as_of,
        paging: &paging,
    };
    Reply::serialized(200, &Success::new(data)).with_position(position)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListCommunitiesQuery {
    /// One community only.
    pub community_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub paging: PagingQuery,
}

impl Declared for ListCommunitiesQuery {
    const NAMES: &'static [&'static str] = &["communityId", "page", "row"];
}

/// The communities the caller may read (every one with the admin token), a page at a time.
#[utoipa::path(get, path = "/app/community.listCommunitys", tag = "property",
    params(ListCommunitiesQuery, PagingQuery),
    responses(
        (status = 200, description = "`{\"code\":\"0\",\"msg\":\"成功\",\"data\":{\"communitys\":[{\"communityId\",\"feeConfigs\":N,\"rooms\":N,\"roomFees\":N}],\"total\":N,\"records\":pages,\"page\":P,\"row\":R}}`: every community with a fee config, room, fee, bill rule or setting, in communityId order; an app sees its communities only"),
        (status = 400, description = "page/row not a whole number in range, or an unknown parameter; msg names it"),
        (status = 401, description = "Neither the admin token (`Authorization: Bearer`) nor the app's signed headers"),
    ))]
pub async fn list_communities(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
    Params(q): Params<ListCommunitiesQuery>,
) -> Reply {
    let content = signed_content(raw, signed);
    let scope = match lister(&app, &headers, || credentials(&app, &headers, &content)) {
        Ok(scope) => scope,
        Err(f) => return failure(f),
    };
    let page = match q.paging.page().map_err(failure) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let only = q.community_id.filter(|c| !c.trim().is_empty());
    let position = position_header(&app);
    match app.store.communities() {
        Ok(all) => {
            let rows: Vec<Value> = all
                .into_iter()
                .filter(|(id, _)| only.as_ref().is_none_or(|o| o == id))
                .filter(|(id, _)| scope.as_ref().is_none_or(|p| p.allows(&community_key(id))))
                .map(|(id, counts)| {
                    let mut row = json!({"communityId": id});
                    if let (Value::Object(row), Ok(Value::Object(c))) =
                        (&mut row, serde_json::to_value(counts))
                    {
                        row.extend(c);
                    }
                    row
                })
                .collect();
            Reply::json(200, ok_reply(paged("communitys", rows, page))).with_position(position)
        }
        Err(e) => failure(Failure::Unavailable(e.to_string())),
    }
}

/// The signed headers of every property command (documentation only; `crate::auth` checks them).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct PropertyHeaders {
    /// Request serial; the idempotency key
    #[param(rename = "transaction-id")]
    transaction_id: String,
    /// Application id
    #[param(rename = "app-id")]
    app_id: String,
    /// YYYYMMDDhhmmss, within the window
    #[param(rename = "req-time")]
    req_time: String,
    /// md5_hex(transaction-id + req-time + app-id + body + secret)
    sign: String,
    /// Bearer <the app's token>
    #[param(rename = "Authorization")]
    authorization: String,
}
