//! BaaS endpoints (seed 000): the fee-owed query `srv_baas_feeowed_qry` and the bill, payment
//! and usage commands behind it. Headers `appkey` and `sign`; replies
//! `{"returnCode":"BaaS-000000",…}` or a failure code from the one table.

use crate::AppState;
use crate::auth::Principal;
use crate::family::{CommandIds, Family, run_command_replying};
use crate::outcome::CommandOutcome;
use crate::query::{Declared, PagingQuery, Params, lister, paged, signed_content};
use crate::system::{Reply, position_header};
use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use ledger_core::baas::{Window, fee_owed, tenant_key};
use ledger_core::{Event, Rejection};
use ledger_wire::Fields;
use ledger_wire::baas::{
    BILL, BillReply, Echo, PAYMENT, USAGE, command_id, decode_fee_owed_query, error_reply,
    ext_cust_id_of, fee_owed_reply, payment_reply, pending_reply, usage_reply,
};
use ledger_wire::codes::Failure;
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/occ/http/srv_baas_feeowed_qry", post(fee_owed_query))
        .route("/occ/http/baas/bills", post(post_bill))
        .route("/occ/http/baas/payments", post(post_payment))
        .route("/occ/http/baas/usage", post(post_usage))
        .route("/occ/http/baas/tenants", get(list_tenants))
        .route("/occ/http/baas/customers", get(list_customers))
}

/// Verifies `appkey`, `req-time` and `sign` over the body, the one place BaaS credentials are
/// checked (scheme in [`crate::auth`]); `Ok` is the app (its appkey is recorded as the
/// command's actor) with its tenants.
pub fn baas_credentials(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<crate::auth::Principal, Failure> {
    let read = |name: &str| crate::execute::header(headers, name);
    app.auth
        .verify_baas(
            read("appkey").as_deref(),
            read("req-time").as_deref(),
            read("sign").as_deref(),
            body,
            app.now(),
        )
        .map_err(|d| Failure::Unauthorized(d.0))
}

fn failure(f: Failure, echo: Echo<'_>) -> Reply {
    let (status, body) = error_reply(&f, echo);
    Reply::json(status, body)
}

/// The BaaS family's part of the one command path ([`crate::family`]): `appkey` + `sign`,
/// `baas:{tenant}:{kind}:{id}` ids, the `returnCode` envelope. `kind` is the command's kind and
/// the field holding its id.
struct Baas {
    kind: (&'static str, &'static str),
    /// The request's `extCustId`, echoed by failure replies (seed 000 marks it required).
    ext_cust_id: Option<String>,
}

impl Baas {
    fn echo(&self) -> Echo<'_> {
        Echo {
            trade_seq: None,
            ext_cust_id: self.ext_cust_id.as_deref(),
        }
    }
}

impl Family for Baas {
    fn authenticate(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        body: &[u8],
        _fields: &Result<Fields, Failure>,
    ) -> Result<Principal, Failure> {
        baas_credentials(app, headers, body)
    }

    fn ids(&self, _: &Principal, _: &HeaderMap, fields: &Fields) -> Result<CommandIds, Failure> {
        Ok(CommandIds {
            client_id: None,
            command_id: command_id(fields, self.kind),
        })
    }

    fn failure(&self, f: Failure, _: Option<&Principal>) -> Reply {
        failure(f, self.echo())
    }

    fn success(&self, data: Option<Value>, _: &Principal) -> Reply {
        match data {
            Some(body) => Reply::json(200, body),
            None => failure(
                Failure::Unavailable("the recorded outcome cannot be read".into()),
                self.echo(),
            ),
        }
    }

    fn pending(&self, command_id: &str, _: &Principal) -> Reply {
        Reply::json(202, pending_reply(command_id))
    }
}

/// Runs a BaaS command: a repeat answers exactly as the first request was answered.
async fn baas_command(
    app: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    command_type: &str,
    kind: (&'static str, &'static str),
    reply: fn(&CommandOutcome) -> Option<Reply>,
) -> Reply {
    // Parsed once, for the echoed `extCustId` and the command alike.
    let fields = Fields::parse(body).map_err(Failure::Rejected);
    let ext_cust_id = fields.as_ref().ok().and_then(ext_cust_id_of);
    let family = Baas { kind, ext_cust_id };
    let success =
        |o: &CommandOutcome, p: &Principal| reply(o).unwrap_or_else(|| family.success(None, p));
    run_command_replying(
        &family,
        app,
        headers,
        body,
        Some(fields),
        command_type,
        success,
    )
    .await
}

/// Post a bill: a customer's billed fee for a service and period.
#[utoipa::path(post, path = "/occ/http/baas/bills", tag = "baas",
    request_body = ledger_wire::baas::BaasBillBody,
    params(BaasHeaders),
    responses(
        (status = 200, description = "`{\"returnCode\":\"BaaS-000000\",\"billId\":…,\"absorbedUsage\":[usageId…]}`"),
        (status = 400, description = "BaaS-000002: a field is missing or malformed; returnMessage names it"),
        (status = 401, description = "BaaS-000001: appkey or sign missing"),
        (status = 409, description = "BaaS-000004: billId already used in the tenant"),
        (status = 202, description = "BaaS-000006: accepted, not yet projected; commandId"),
    ))]
pub async fn post_bill(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    baas_command(&app, &headers, &body, "baas.bill.post", BILL, |o| {
        o.find(|e| match e {
            Event::BaasBillPosted(e) => Some(Reply::serialized(200, &BillReply::new(e))),
            _ => None,
        })
    })
    .await
}

/// Post a payment: to `billId`, or to the service's oldest unpaid bills first.
#[utoipa::path(post, path = "/occ/http/baas/payments", tag = "baas",
    request_body = ledger_wire::baas::BaasPaymentBody,
    params(BaasHeaders),
    responses(
        (status = 200, description = "`{\"returnCode\":\"BaaS-000000\",\"paymentId\":…,\"allocations\":[{\"billId\":…,\"amount\":\"yuan\"}]}`"),
        (status = 400, description = "BaaS-000002: a field is missing or malformed, or billId is not the customer's"),
        (status = 401, description = "BaaS-000001: appkey or sign missing"),
        (status = 404, description = "BaaS-000003: unknown customer"),
        (status = 409, description = "BaaS-000004: paymentId already used in the tenant"),
        (status = 422, description = "BaaS-000005: the amount exceeds what is owed"),
        (status = 202, description = "BaaS-000006: accepted, not yet projected; commandId"),
    ))]
pub async fn post_payment(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    baas_command(&app, &headers, &body, "baas.payment.post", PAYMENT, |o| {
        o.find(|e| match e {
            Event::BaasPaymentPosted(e) => Some(Reply::json(200, payment_reply(e))),
            _ => None,
        })
    })
    .await
}

/// Post real-time usage not yet billed.
#[utoipa::path(post, path = "/occ/http/baas/usage", tag = "baas",
    request_body = ledger_wire::baas::BaasUsageBody,
    params(BaasHeaders),
    responses(
        (status = 200, description = "`{\"returnCode\":\"BaaS-000000\",\"usageId\":…,\"billedBy\":billId|null}`"),
        (status = 400, description = "BaaS-000002: a field is missing or malformed"),
        (status = 401, description = "BaaS-000001: appkey or sign missing"),
        (status = 409, description = "BaaS-000004: usageId already used in the tenant"),
        (status = 202, description = "BaaS-000006: accepted, not yet projected; commandId"),
    ))]
pub async fn post_usage(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    baas_command(&app, &headers, &body, "baas.usage.post", USAGE, |o| {
        o.find(|e| match e {
            Event::BaasUsagePosted(e) => Some(Reply::json(200, usage_reply(e))),
            _ => None,
        })
    })
    .await
}

/// Fee-owed query (seed 000 `srv_baas_feeowed_qry`).
#[utoipa::path(post, path = "/occ/http/srv_baas_feeowed_qry", tag = "baas",
    request_body = ledger_wire::baas::FeeOwedQueryBody,
    params(BaasHeaders),
    responses(
        (status = 200, description = "`{\"returnCode\":\"BaaS-000000\",\"tradeSeq\",\"extCustId\",\"serviceId\",\"feeOwed\":\"li\",\"realTimeFee\":\"li\",\"beginDate\",\"endDate\"}`"),
        (status = 400, description = "BaaS-000002: a field is missing or malformed; returnMessage names it"),
        (status = 401, description = "BaaS-000001: appkey or sign missing"),
        (status = 404, description = "BaaS-000003: no bill or usage for the customer (and service)"),
    ))]
pub async fn fee_owed_query(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let fields = Fields::parse(&body);
    let trade_seq = fields
        .as_ref()
        .ok()
        .and_then(|f| f.text("tradeSeq").ok().flatten());
    let ext_cust_id = fields.as_ref().ok().and_then(ext_cust_id_of);
    let echo = Echo {
        trade_seq: trade_seq.as_deref(),
        ext_cust_id: ext_cust_id.as_deref(),
    };
    let principal = match baas_credentials(&app, &headers, &body) {
        Ok(p) => p,
        Err(f) => return failure(f, echo),
    };
    let query = match fields.and_then(|f| decode_fee_owed_query(&f)) {
        Ok(q) => q,
        Err(r) => return failure(Failure::Rejected(r), echo),
    };
    if let Err(f) = principal.authorize(&tenant_key(&query.tenant_id)) {
        return failure(Failure::Forbidden(f.0), echo);
    }
    // The seed's default window is the system time; core takes it as a parameter.
    let now = app.now();
    let window = match Window::with_defaults(query.begin_date, query.end_date, now) {
        Ok(w) => w,
        Err(r) => return failure(Failure::Rejected(r), echo),
    };
    let position = position_header(&app);
    let (bills, usage) = match app
        .store
        .baas_customer(&query.tenant_id, &query.ext_cust_id)
    {
        Ok(rows) => rows,
        Err(e) => return failure(Failure::Unavailable(e.to_string()), echo),
    };
    let Some(owed) = fee_owed(&bills, &usage, query.service_id.as_deref(), window) else {
        let service = query
            .service_id
            .as_deref()
            .map(|s| format!(", service {s}"))
            .unwrap_or_default();
        let unknown = Rejection::NotFound {
            message: format!(
                "客户不存在 (unknown customer {} of tenant {}{service})",
                query.ext_cust_id, query.tenant_id
            ),
        };
        return failure(Failure::Rejected(unknown), echo);
    };
    Reply::json(200, fee_owed_reply(&query, window, &owed)).with_position(position)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListTenantsQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub paging: PagingQuery,
}

impl Declared for ListTenantsQuery {
    const NAMES: &'static [&'static str] = &["page", "row"];
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListCustomersQuery {
    /// 租户 ID (required).
    pub tenant_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub paging: PagingQuery,
}

impl Declared for ListCustomersQuery {
    const NAMES: &'static [&'static str] = &["tenantId", "page", "row"];
}

/// The caller of a BaaS list: the admin token (None) or an appkey signed over the query.
fn list_caller(
    app: &AppState,
    headers: &HeaderMap,
    raw: Option<String>,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
) -> Result<Option<Principal>, Reply> {
    let content = signed_content(raw, signed);
    lister(app, headers, || baas_credentials(app, headers, &content))
        .map_err(|f| failure(f, Echo::default()))
}

/// A BaaS success reply holding a paged list.
fn list_reply<T: serde::Serialize>(
    app: &AppState,
    key: &str,
    rows: Vec<T>,
    paging: &PagingQuery,
) -> Reply {
    let position = position_header(app);
    let page = match paging.page() {
        Ok(p) => p,
        Err(f) => return failure(f, Echo::default()),
    };
    let mut body = serde_json::Map::new();
    body.insert("returnCode".into(), ledger_wire::codes::BAAS_SUCCESS.into());
    if let Value::Object(list) = paged(key, rows, page) {
        body.extend(list);
    }
    Reply::json(200, Value::Object(body)).with_position(position)
}

/// The tenants with bills or usage the caller may read (every one with the admin token).
#[utoipa::path(get, path = "/occ/http/baas/tenants", tag = "baas",
    params(ListTenantsQuery, PagingQuery, BaasHeaders),
    responses(
        (status = 200, description = "`{\"returnCode\":\"BaaS-000000\",\"tenants\":[{\"tenantId\",\"customers\":N}],\"total\":N,\"records\":pages,\"page\":P,\"row\":R}`, in tenantId order; an appkey sees its tenants only; `sign` covers `?query` (empty without one)"),
        (status = 400, description = "BaaS-000002: page/row not a whole number in range, or an unknown parameter; returnMessage names it"),
        (status = 401, description = "BaaS-000001: neither the admin token nor a signed appkey"),
    ))]
pub async fn list_tenants(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
    Params(q): Params<ListTenantsQuery>,
) -> Reply {
    let scope = match list_caller(&app, &headers, raw, signed) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    match app.store.baas_customers() {
        Ok(tenants) => {
            let rows: Vec<Value> = tenants
                .into_iter()
                .filter(|(t, _)| scope.as_ref().is_none_or(|p| p.allows(&tenant_key(t))))
                .map(|(t, customers)| serde_json::json!({"tenantId": t, "customers": customers.len()}))
                .collect();
            list_reply(&app, "tenants", rows, &q.paging)
        }
        Err(e) => failure(Failure::Unavailable(e.to_string()), Echo::default()),
    }
}

/// The customers (with bills or usage) of one tenant.
#[utoipa::path(get, path = "/occ/http/baas/customers", tag = "baas",
    params(ListCustomersQuery, PagingQuery, BaasHeaders),
    responses(
        (status = 200, description = "`{\"returnCode\":\"BaaS-000000\",\"customers\":[{\"extCustId\"}],\"total\":N,\"records\":pages,\"page\":P,\"row\":R}`, in extCustId order (none for a tenant without any)"),
        (status = 400, description = "BaaS-000002: tenantId missing, page/row not a whole number in range, or an unknown parameter; returnMessage names it"),
        (status = 401, description = "BaaS-000001: neither the admin token nor a signed appkey"),
        (status = 403, description = "BaaS-000007: the tenant is outside the appkey's tenants"),
    ))]
pub async fn list_customers(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
    Params(q): Params<ListCustomersQuery>,
) -> Reply {
    let scope = match list_caller(&app, &headers, raw, signed) {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let Some(tenant) = q.tenant_id.filter(|t| !t.trim().is_empty()) else {
        let missing = Rejection::missing("tenantId", "租户ID不能为空 (tenantId is required)");
        return failure(Failure::Rejected(missing), Echo::default());
    };
    if let Some(Err(f)) = scope.as_ref().map(|p| p.authorize(&tenant_key(&tenant))) {
        return failure(Failure::Forbidden(f.0), Echo::default());
    }
    match app.store.baas_customers() {
        Ok(mut tenants) => {
            let rows: Vec<Value> = tenants
                .remove(&tenant)
                .unwrap_or_default()
                .into_iter()
                .map(|c| serde_json::json!({"extCustId": c}))
                .collect();
            list_reply(&app, "customers", rows, &q.paging)
        }
        Err(e) => failure(Failure::Unavailable(e.to_string()), Echo::default()),
    }
}

/// The signed headers of every BaaS request (documentation only; `crate::auth` checks them).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct BaasHeaders {
    /// Application key
    appkey: String,
    /// YYYYMMDDhhmmss, within the window
    #[param(rename = "req-time")]
    req_time: String,
    /// md5_hex(req-time + appkey + body + secret); a GET signs `?query` as its body
    sign: String,
}
