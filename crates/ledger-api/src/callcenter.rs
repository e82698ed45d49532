//! Call-center billing endpoints (seed 003, the 58.com 天语 billing center). Replies
//! `{"code":0,"message":"success","data":…,"user":…}`, errors `{"code":-1,"message":…,"user":…}`.
//! Commands take an optional `X-Request-Id` header as their idempotency key; queries take the
//! seed's filters and `page`/`limit`.

use crate::AppState;
use crate::auth::Principal;
use crate::execute::{CommandResult, command_meta, execute, header};
use crate::family::{CommandIds, Family, namespaced_header_id, run_command};
use crate::outcome::CommandOutcome;
use crate::system::{Reply, position_header};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use ledger_core::callcenter::report::{Books, Filter, Filtered, Page, Paging, select};
use ledger_core::callcenter::{CallsRecord, CallsRecorded, TariffEdited};
use ledger_core::{Command, Rejection};
use ledger_core::{OutcomeStatus, ReadError, ReadModels};
use ledger_wire::Fields;
use ledger_wire::callcenter::{self as wire, error_reply, ok_reply, pending_reply};
use ledger_wire::codes::Failure;
use serde_json::{Map, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/fee/config/{id}", post(configure_tariff))
        .route("/api/bill/fee/edit/{id}", put(edit_tariff))
        .route("/api/bill/fee/manage/state/{id}", post(set_tariff_state))
        .route("/api/bill/operator/create", post(report_operator_bill))
        .route("/api/bill/calls", post(record_calls))
        .route("/api/bill/cost-center", post(assign_cost_center))
        .route("/api/bill/summary", get(summary))
        .route("/api/bill/operator/query", get(operator_query))
        .route("/api/bill/businessline/query", get(business_line_query))
        .route("/api/bill/verify", get(verify))
        .route("/api/bill/share", get(share))
        .route("/api/bill/fee/manage", get(fee_manage))
        .route("/api/bill/calltype", get(call_types))
        .route("/api/bill/numtype", get(number_types))
}

/// Who is calling, for the replies' `user`: the user the `Authorization: Bearer <token>` header
/// maps to in the configured call-center users. An unknown or missing token is refused (401,
/// code -1, `user` "anonymous"). `Ok` carries the user's cities.
pub fn caller(app: &AppState, headers: &HeaderMap) -> Result<Principal, Reply> {
    app.auth
        .verify_callcenter(header(headers, "authorization").as_deref())
        .map_err(|d| failure(Failure::Unauthorized(d.0), "anonymous"))
}

/// Refuses (403, code -1) a command or query outside the user's cities.
fn authorize(principal: &Principal, key: &str) -> Result<(), Reply> {
    principal
        .authorize(key)
        .map_err(|f| failure(Failure::Forbidden(f.0), &principal.name))
}

fn failure(f: Failure, user: &str) -> Reply {
    let (status, body) = error_reply(&f, user);
    Reply::json(status, body)
}

fn unavailable(e: ReadError, user: &str) -> Reply {
    failure(Failure::Unavailable(e.to_string()), user)
}

/// The body as fields, with the path's values (`id`) and `extra` defaults set.
fn body_fields(body: &Bytes, path: &[(&str, Value)]) -> Result<Fields, Rejection> {
    let mut map = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        Fields::parse(body)?.into_map()
    };
    for (k, v) in path {
        map.insert((*k).to_string(), v.clone());
    }
    Ok(Fields::from_map(map))
}

/// The path's `:id` as a JSON value for the decoder (which checks it).
fn path_id(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(id.to_string()))
}

/// Runs one command; `Ok` is its projected outcome, `Err` the reply to give instead.
async fn run(
    app: &AppState,
    body: &Bytes,
    payload: &Fields,
    command_id: Option<String>,
    command: Command,
    user: &str,
) -> Result<CommandOutcome, Reply> {
    let meta = command_meta(
        app.clock.now_utc(),
        command_id,
        command.partition_key(),
        Some(user.to_string()),
        payload,
        body,
    );
    match execute(app, meta, command, payload).await {
        CommandResult::Done(outcome) => match (&outcome.status, &outcome.rejection) {
            (OutcomeStatus::Rejected, Some(r)) => Err(failure(Failure::Rejected(r.clone()), user)),
            _ => Ok(outcome),
        },
        CommandResult::Refused(f) => Err(failure(f, user)),
        CommandResult::Pending(id) => Err(Reply::json(202, pending_reply(&id, user))),
    }
}

/// The call-center family's part of the one command path ([`crate::family`]): the bearer
/// token's user (echoed as `user`) and cities, `callcenter:{user}:{X-Request-Id}` ids, the
/// `{"code","message","user"}` envelope.
struct CallCenter;

impl Family for CallCenter {
    fn authenticate(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        _: &[u8],
        _: &Result<Fields, Failure>,
    ) -> Result<Principal, Failure> {
        app.auth
            .verify_callcenter(header(headers, "authorization").as_deref())
            .map_err(|d| Failure::Unauthorized(d.0))
    }

    fn ids(
        &self,
        principal: &Principal,
        headers: &HeaderMap,
        _: &Fields,
    ) -> Result<CommandIds, Failure> {
        namespaced_header_id(principal, headers, "X-Request-Id")
    }

    fn failure(&self, f: Failure, principal: Option<&Principal>) -> Reply {
        failure(f, principal.map_or("anonymous", |p| p.name.as_str()))
    }

    fn success(&self, data: Option<Value>, principal: &Principal) -> Reply {
        Reply::json(200, ok_reply(data, &principal.name))
    }

    fn pending(&self, command_id: &str, principal: &Principal) -> Reply {
        Reply::json(202, pending_reply(command_id, &principal.name))
    }
}

/// Decodes `fields` as `command_type`, runs it, answers with `data` of the outcome.
async fn command(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    fields: Result<Fields, Failure>,
    command_type: &str,
    data: fn(&CommandOutcome) -> Option<Value>,
) -> Reply {
    run_command(
        &CallCenter,
        app,
        headers,
        body,
        Some(fields),
        command_type,
        data,
    )
    .await
}

/// Configure a line tariff (资费配置).
#[utoipa::path(post, path = "/api/fee/config/{id}", tag = "callcenter",
    request_body = ledger_wire::callcenter::TariffConfigureBody,
    params(
        ("id" = u64, Path, description = "线路 ID: the tariff id"),
        ("X-Request-Id" = Option<String>, Header, description = "Idempotency key"),
        ("Authorization" = String, Header, description = "`Bearer <token>`; the token's user is echoed as `user`"),
    ),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}`: a field or a call_fee_config/discount_fee_config position is malformed; the message names it"),
        (status = 409, description = "The tariff id exists (edit it instead)"),
    ))]
pub async fn configure_tariff(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let fields = body_fields(&body, &[("id", path_id(&id))]).map_err(Failure::Rejected);
    command(&app, &headers, &body, fields, "tariff.configure", |_| None).await
}

/// The body's fields for a command on an existing tariff, with `city_id` (the tariff's
/// partition) filled in from the stored tariff when the body has none.
fn tariff_fields(app: &AppState, id: &str, body: &Bytes) -> Result<Fields, Failure> {
    let fields = body_fields(body, &[("id", path_id(id))]).map_err(Failure::Rejected)?;
    let has_city = !matches!(fields.text("city_id"), Ok(None));
    let Ok(tariff_id) = id.parse::<u64>() else {
        // The decoder names the malformed id.
        return Ok(fields);
    };
    if has_city {
        return Ok(fields);
    }
    match app.store.tariff(tariff_id) {
        Ok(Some(t)) => body_fields(
            body,
            &[("id", path_id(id)), ("city_id", Value::from(t.city_id))],
        )
        .map_err(Failure::Rejected),
        Ok(None) => Err(Failure::Rejected(Rejection::NotFound {
            message: format!("tariff {tariff_id} not found"),
        })),
        Err(e) => Err(Failure::Unavailable(e.to_string())),
    }
}

/// Edit a tariff (编辑资费管理数据); `data` is the tariff after the edit.
#[utoipa::path(put, path = "/api/bill/fee/edit/{id}", tag = "callcenter",
    request_body = ledger_wire::callcenter::TariffEditBody,
    params(
        ("id" = u64, Path, description = "资费数据 ID: the tariff id"),
        ("X-Request-Id" = Option<String>, Header, description = "Idempotency key"),
        ("Authorization" = String, Header, description = "`Bearer <token>`; the token's user is echoed as `user`"),
    ),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"data\":{tariff as /api/bill/fee/manage lists it},\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}`: a malformed field, or a city_id other than the tariff's"),
        (status = 404, description = "No such tariff"),
    ))]
pub async fn edit_tariff(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let fields = tariff_fields(&app, &id, &body);
    command(&app, &headers, &body, fields, "tariff.edit", |outcome| {
        outcome
            .event::<TariffEdited>("tariff.edited")
            .map(|e| wire::tariff_item(&e.tariff))
    })
    .await
}

/// Enable or disable a tariff (资费管理数据状态变更).
#[utoipa::path(post, path = "/api/bill/fee/manage/state/{id}", tag = "callcenter",
    request_body = ledger_wire::callcenter::TariffSetStateBody,
    params(
        ("id" = u64, Path, description = "资费数据 ID: the tariff id"),
        ("X-Request-Id" = Option<String>, Header, description = "Idempotency key"),
        ("Authorization" = String, Header, description = "`Bearer <token>`; the token's user is echoed as `user`"),
    ),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"data\":\"change state success\",\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}`: state missing or not a boolean"),
        (status = 404, description = "No such tariff"),
    ))]
pub async fn set_tariff_state(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let fields = tariff_fields(&app, &id, &body);
    command(&app, &headers, &body, fields, "tariff.set_state", |_| {
        Some(Value::from("change state success"))
    })
    .await
}

/// Report an operator bill (账单上报).
#[utoipa::path(post, path = "/api/bill/operator/create", tag = "callcenter",
    request_body = ledger_wire::callcenter::OperatorBillBody,
    params(
        ("X-Request-Id" = Option<String>, Header, description = "Idempotency key"),
        ("Authorization" = String, Header, description = "`Bearer <token>`; the token's user is echoed as `user`"),
    ),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}`: a required field is missing or malformed; the message names it"),
    ))]
pub async fn report_operator_bill(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let fields = Fields::parse(&body).map_err(Failure::Rejected);
    command(
        &app,
        &headers,
        &body,
        fields,
        "operator_bill.report",
        |_| None,
    )
    .await
}

/// Map a BG/BU to a cost center (for `/api/bill/share`).
#[utoipa::path(post, path = "/api/bill/cost-center", tag = "callcenter",
    request_body = ledger_wire::callcenter::CostCenterBody,
    params(
        ("X-Request-Id" = Option<String>, Header, description = "Idempotency key"),
        ("Authorization" = String, Header, description = "`Bearer <token>`; the token's user is echoed as `user`"),
    ),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming the missing field"),
    ))]
pub async fn assign_cost_center(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let fields = Fields::parse(&body).map_err(Failure::Rejected);
    command(&app, &headers, &body, fields, "cost_center.assign", |_| {
        None
    })
    .await
}

/// Record a batch of call detail records; each call is rated on arrival. A batch spanning
/// cities is split into one command per city (in order of first appearance); with an
/// `X-Request-Id` of `R` their ids are `R` (one city) or `R#city:{city_id}`.
#[utoipa::path(post, path = "/api/bill/calls", tag = "callcenter",
    request_body = ledger_wire::callcenter::CallsBody,
    params(
        ("X-Request-Id" = Option<String>, Header, description = "Idempotency key of the batch"),
        ("Authorization" = String, Header, description = "`Bearer <token>`; the token's user is echoed as `user`"),
    ),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"data\":{\"recorded\":N,\"fee_total\":…,\"duplicates\":[call_id…],\"unrated\":[{\"call_id\",\"reason\"}]},\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming `calls[i].field`; nothing recorded"),
    ))]
pub async fn record_calls(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let principal = match caller(&app, &headers) {
        Ok(u) => u,
        Err(reply) => return reply,
    };
    let user = principal.name.clone();
    let (fields, calls) = match Fields::parse(&body)
        .and_then(|f| wire::decode_call_list(&f).map(|calls| (f, calls)))
    {
        Ok(c) => c,
        Err(r) => return failure(Failure::Rejected(r), &user),
    };
    // Each city's command keeps the raw call objects it was decoded from, as its payload.
    let raw_calls = match fields.value("calls") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let mut batches: Vec<(CallsRecord, Vec<Value>)> = Vec::new();
    for (call, raw) in calls.into_iter().zip(raw_calls) {
        match batches.iter_mut().find(|(b, _)| b.city_id == call.city_id) {
            Some((b, raws)) => {
                b.calls.push(call);
                raws.push(raw);
            }
            None => batches.push((
                CallsRecord {
                    city_id: call.city_id,
                    calls: vec![call],
                },
                vec![raw],
            )),
        }
    }
    // Every city of the batch must be the user's before any is recorded.
    for (batch, _) in &batches {
        if let Err(reply) = authorize(
            &principal,
            &ledger_core::callcenter::city_key(batch.city_id),
        ) {
            return reply;
        }
    }
    let request_id = match namespaced_header_id(&principal, &headers, "X-Request-Id") {
        Ok(ids) => ids.client_id,
        Err(f) => return failure(f, &user),
    };
    let split = batches.len() > 1;
    let mut recorded: Vec<CallsRecorded> = Vec::new();
    for (batch, raws) in batches {
        let mut payload = Map::new();
        payload.insert("calls".into(), Value::Array(raws));
        let payload = Fields::from_map(payload);
        let client_id = request_id.as_ref().map(|r| {
            if split {
                format!("{r}#city:{}", batch.city_id)
            } else {
                r.clone()
            }
        });
        let command_id = client_id.as_deref().map(|c| principal.command_id(c));
        let outcome = match run(
            &app,
            &body,
            &payload,
            command_id,
            Command::CallsRecord(batch),
            &user,
        )
        .await
        {
            Ok(o) => o,
            Err(reply) => return reply,
        };
        if let Some(e) = outcome.event::<CallsRecorded>("calls.recorded") {
            recorded.push(e);
        }
    }
    Reply::json(200, ok_reply(Some(wire::calls_data(&recorded)), &user))
}

/// A query: decode the filters, read, answer `{"items":[…],"total":N}`.
fn query<T: serde::Serialize>(
    app: &AppState,
    headers: &HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    accepted: &[&str],
    read: impl FnOnce(&dyn ReadModels, &Filter, Paging) -> Result<(Vec<T>, u64), ReadError>,
) -> Reply {
    let principal = match caller(app, headers) {
        Ok(u) => u,
        Err(reply) => return reply,
    };
    let user = principal.name.clone();
    let params = match params {
        Ok(Query(p)) => p,
        Err(e) => {
            return failure(
                Failure::BadQuery {
                    field: "query".into(),
                    message: format!("the query string cannot be read: {e}"),
                },
                &user,
            );
        }
    };
    if let Err(f) = crate::query::check_names(&params, accepted, wire::PAGING_PARAMS) {
        return failure(f, &user);
    }
    let (filter, paging) = match wire::decode_query(&params, accepted) {
        Ok(q) => q,
        Err(f) => return failure(f, &user),
    };
    // A user limited to some cities names one of them; the listings without a city filter
    // (call and number type names) hold no city's data.
    if principal.is_scoped() && accepted.contains(&"city_id") {
        let key = filter
            .city_id
            .map(ledger_core::callcenter::city_key)
            .unwrap_or_else(|| "city:(any)".into());
        if let Err(reply) = authorize(&principal, &key) {
            return reply;
        }
    }
    let position = position_header(app);
    match read(app.store.as_ref(), &filter, paging) {
        Ok((items, total)) => Reply::serialized(200, &wire::ListReply::new(items, total, &user))
            .with_position(position),
        Err(e) => unavailable(e, &user),
    }
}

/// The read models every bill report is computed from.
struct Loaded {
    tariffs: Vec<ledger_core::callcenter::Tariff>,
    usage: Vec<ledger_core::callcenter::report::UsageCell>,
    reports: Vec<ledger_core::callcenter::OperatorBill>,
    cost_centers:
        std::collections::BTreeMap<(String, String), ledger_core::callcenter::report::CostCenter>,
}

impl Loaded {
    fn read(store: &dyn ReadModels) -> Result<Loaded, ReadError> {
        Ok(Loaded {
            tariffs: store.tariffs()?,
            usage: store.usage_cells()?,
            reports: store.operator_reports()?,
            cost_centers: store.cost_centers()?,
        })
    }

    fn books(&self) -> Books<'_> {
        Books {
            tariffs: &self.tariffs,
            usage: &self.usage,
            reports: &self.reports,
            cost_centers: &self.cost_centers,
        }
    }
}

fn render<T, I>(page: Page<T>, item: fn(u64, &T) -> I) -> (Vec<I>, u64) {
    (
        page.items.iter().map(|(id, row)| item(*id, row)).collect(),
        page.total,
    )
}

/// A report the books compute (`rows`), filtered, paged and rendered: what every bill listing
/// but the summary and the tariffs answers.
fn from_books<T: Filtered>(
    store: &dyn ReadModels,
    filter: &Filter,
    paging: Paging,
    rows: fn(&Books<'_>) -> Vec<T>,
    item: fn(u64, &T) -> Value,
) -> Result<(Vec<Value>, u64), ReadError> {
    let loaded = Loaded::read(store)?;
    let rows = rows(&loaded.books());
    Ok(render(select(rows, filter, paging), item))
}

/// Call summary (账单汇总) per city, hour, BG/BU, business line, workplace, operator, call type,
/// number type.
#[utoipa::path(get, path = "/api/bill/summary", tag = "callcenter",
    params(SummaryParams, PagingParams),
    responses(
        (status = 200, description = "`{\"code\":0,\"message\":\"success\",\"data\":{\"items\":[{id, city_id, bg, bu, business_line, call_time, workplace_id, operator_code, call_type, number_type, call_amount, call_duration, weight_duration, fee_total, cost_total}],\"total\":N},\"user\":…}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming the malformed parameter"),
    ))]
pub async fn summary(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    query(
        &app,
        &headers,
        params,
        wire::SUMMARY_FILTERS,
        |store, f, p| Ok(render(store.summary_page(f, p)?, wire::summary_item)),
    )
}

/// Operator bills as the system computes them (供应商账单查询).
#[utoipa::path(get, path = "/api/bill/operator/query", tag = "callcenter",
    params(OperatorParams, PagingParams),
    responses(
        (status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[{id, city_id, workplace_id, operator_code, bill_date, call_duration, weight_duration, call_amount, tel_fee, call_fee, minimum_charge_fee, fixed_fee, total_tel_fee, minimum_charge_compare, report_state}],\"total\":N}}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming the malformed parameter"),
    ))]
pub async fn operator_query(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    query(
        &app,
        &headers,
        params,
        wire::OPERATOR_FILTERS,
        |store, f, p| from_books(store, f, p, |b| b.operator_rows(), wire::operator_item),
    )
}

/// Business-line bills (业务线账单查询).
#[utoipa::path(get, path = "/api/bill/businessline/query", tag = "callcenter",
    params(BusinessLineParams, PagingParams),
    responses(
        (status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[{id, city_id, bg, bu, business_line, bill_date, call_duration, weight_duration, fee, fee_after_discount, call_amount, tel_traffic}],\"total\":N}}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming the malformed parameter"),
    ))]
pub async fn business_line_query(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    query(
        &app,
        &headers,
        params,
        wire::BUSINESS_LINE_FILTERS,
        |store, f, p| {
            from_books(
                store,
                f,
                p,
                |b| b.business_line_rows(),
                wire::business_line_item,
            )
        },
    )
}

/// Operator vs system per DID segment and month (账单对账).
#[utoipa::path(get, path = "/api/bill/verify", tag = "callcenter",
    params(VerifyParams, PagingParams),
    responses(
        (status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[{id, city_id, workplace_id, operator_code, bill_date, did, line_prefix, operator_call_duration, billing_call_duration, billing_duration, time_diff, operator_total_fee, billing_total_fee, fee_diff}],\"total\":N}}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming the malformed parameter"),
    ))]
pub async fn verify(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    query(&app, &headers, params, wire::VERIFY_FILTERS, verify_items)
}

/// The `/api/bill/verify` items `filter` and `paging` select, and the total before paging. The
/// dashboard's `/ui/api/verify` reads them here too, so both answer the same rows.
pub fn verify_items(
    store: &dyn ReadModels,
    filter: &Filter,
    paging: Paging,
) -> Result<(Vec<Value>, u64), ReadError> {
    from_books(
        store,
        filter,
        paging,
        |b| b.verify_rows(),
        wire::verify_item,
    )
}

/// Bills split across cost centers (账单分摊).
#[utoipa::path(get, path = "/api/bill/share", tag = "callcenter",
    params(ShareParams, PagingParams),
    responses(
        (status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[{id, city_id, workplace_id, bill_date, operator_code, bg, bu, cost_center, cost_center_code, operator_bill_share, system_bill_share, report_state, satisfy_minimum_charge}],\"total\":N}}`"),
        (status = 400, description = "`{\"code\":-1,…}` naming the malformed parameter"),
    ))]
pub async fn share(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    query(
        &app,
        &headers,
        params,
        wire::SHARE_FILTERS,
        |store, f, p| from_books(store, f, p, |b| b.share_rows(), wire::share_item),
    )
}

/// Tariffs (资费管理).
#[utoipa::path(get, path = "/api/bill/fee/manage", tag = "callcenter",
    params(TariffParams, PagingParams),
    responses(
        (status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[tariff],\"total\":N}}`; `id` is the tariff id"),
        (status = 400, description = "`{\"code\":-1,…}` naming the malformed parameter"),
    ))]
pub async fn fee_manage(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    query(
        &app,
        &headers,
        params,
        wire::TARIFF_FILTERS,
        |store, f, p| {
            let tariffs = store.tariffs()?;
            Ok(render(select(tariffs, f, p), |_, t| wire::tariff_item(t)))
        },
    )
}

/// A name of `/api/bill/calltype` or `/api/bill/numtype`; no filters apply.
struct Name(String);

impl Filtered for Name {
    fn matches(&self, _: &Filter) -> bool {
        true
    }
}

fn names(
    app: &AppState,
    headers: &HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    number_types: bool,
) -> Reply {
    query(app, headers, params, &[], |store, f, p| {
        let names = if number_types {
            store.number_types()?
        } else {
            store.call_types()?
        };
        let names: Vec<Name> = names.into_iter().map(Name).collect();
        Ok(render(select(names, f, p), |id, n| {
            wire::name_item(id, &n.0)
        }))
    })
}

/// Call types (话务类型) configured in tariffs or seen on calls.
#[utoipa::path(get, path = "/api/bill/calltype", tag = "callcenter",
    params(PagingParams),
    responses((status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[{\"id\":1,\"name\":\"本地手机\"}],\"total\":N}}`"),
        (status = 400, description = "`{\"code\":-1,…}`: page or size is not a whole number in range; the message names it")))]
pub async fn call_types(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    names(&app, &headers, params, false)
}

/// Number types (号码类型) seen on calls.
#[utoipa::path(get, path = "/api/bill/numtype", tag = "callcenter",
    params(PagingParams),
    responses((status = 200, description = "`{\"code\":0,…,\"data\":{\"items\":[{\"id\":1,\"name\":\"联通手机\"}],\"total\":N}}`"),
        (status = 400, description = "`{\"code\":-1,…}`: page or size is not a whole number in range; the message names it")))]
pub async fn number_types(
    State(app): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    names(&app, &headers, params, true)
}

/// Paging of every listing (documentation only; see `ledger_wire::callcenter::decode_query`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PagingParams {
    /// Page from 1 (default 1).
    page: Option<u32>,
    /// Rows per page, 1–1000 (default 20).
    limit: Option<u32>,
}

/// `/api/bill/summary` filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SummaryParams {
    city_id: Option<i64>,
    bg: Option<String>,
    bu: Option<String>,
    /// yyyy-MM-dd [HH:mm:ss]; the hour it falls in is included.
    call_start_time: Option<String>,
    /// yyyy-MM-dd [HH:mm:ss], inclusive (a date alone means its end).
    call_end_time: Option<String>,
    operator_code: Option<i64>,
    call_type: Option<String>,
    number_type: Option<String>,
}

/// `/api/bill/operator/query` filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OperatorParams {
    city_id: Option<i64>,
    workplace_id: Option<i64>,
    /// yyyy-MM-dd or yyyy-MM; months overlapping the range are listed.
    bill_start_date: Option<String>,
    bill_end_date: Option<String>,
    operator_code: Option<i64>,
    report_state: Option<bool>,
    satisfy_minimum_charge: Option<bool>,
}

/// `/api/bill/businessline/query` filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct BusinessLineParams {
    city_id: Option<i64>,
    bg: Option<String>,
    bu: Option<String>,
    bill_start_date: Option<String>,
    bill_end_date: Option<String>,
}

/// `/api/bill/verify` filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct VerifyParams {
    city_id: Option<i64>,
    workplace_id: Option<i64>,
    bill_start_date: Option<String>,
    bill_end_date: Option<String>,
    operator_code: Option<i64>,
}

/// `/api/bill/share` filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ShareParams {
    city_id: Option<i64>,
    workplace_id: Option<i64>,
    bill_start_date: Option<String>,
    bill_end_date: Option<String>,
    operator_code: Option<i64>,
    report_state: Option<bool>,
    satisfy_minimum_charge: Option<bool>,
    cost_center_code: Option<String>,
}

/// `/api/bill/fee/manage` filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TariffParams {
    city_id: Option<i64>,
    workplace_id: Option<i64>,
    operator_code: Option<i64>,
}
