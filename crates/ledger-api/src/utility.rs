//! Utility endpoints (seed 001): `QueryUserArrearages` and the charge and payment commands
//! behind it. Every body carries `SYS_HEAD`; replies `{"CODE":0,"MESSAGE":"","DATA":…}`, a
//! non-zero CODE with a MESSAGE naming the field otherwise.

use crate::AppState;
use crate::auth::Principal;
use crate::family::{CommandIds, Family, run_command_replying};
use crate::outcome::CommandOutcome;
use crate::query::{Declared, PagingQuery, Params, lister, paged};
use crate::system::{Reply, position_header};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use ledger_core::Event;
use ledger_wire::Fields;
use ledger_wire::codes::Failure;
use ledger_wire::utility::{
    RecordsReply, RecordsReplyWriter, SysHead, command_id, decode_arrears_query, error_reply,
    payment_reply, pending_reply, sys_head,
};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    // The seed's URL ends in `/`; the bare form is served too so a client that drops it is not
    // met with an empty 404.
    Router::new()
        .route("/Service/v1/QueryUserArrearages/", post(query_arrears))
        .route("/Service/v1/QueryUserArrearages", post(query_arrears))
        .route("/Service/v1/Charges/", post(post_charge))
        .route("/Service/v1/Charges", post(post_charge))
        .route("/Service/v1/Payments/", post(post_payment))
        .route("/Service/v1/Payments", post(post_payment))
        .route("/Service/v1/Accounts/", get(list_accounts))
        .route("/Service/v1/Accounts", get(list_accounts))
}

fn failure(f: Failure) -> Reply {
    let (status, body) = error_reply(&f);
    Reply::json(status, body)
}

/// Checks the body's `SYS_HEAD`, the one place utility credentials are checked: the four fields
/// present and well-formed, then matched against the configured channels.
pub(crate) fn authenticate(app: &AppState, fields: &Fields) -> Result<SysHead, Failure> {
    let head = sys_head(fields).map_err(|r| {
        let field = r.field().unwrap_or("SYS_HEAD").to_string();
        let message = r.message().to_string();
        Failure::Unauthorized(if message.contains(&field) {
            message
        } else {
            format!("{message} ({field})")
        })
    })?;
    app.auth
        .verify_utility(
            &head.channel_did,
            &head.dynamic_key,
            &head.register_did,
            &head.account_did,
        )
        .map_err(|d| Failure::Unauthorized(d.0))?;
    Ok(head)
}

/// The utility family's part of the one command path ([`crate::family`]): `SYS_HEAD` in the
/// body, `utility:{account}:{kind}:{serial}` ids, the `{"CODE","MESSAGE","DATA"}` envelope.
/// `kind` is the command's kind and the field holding its serial.
struct Utility {
    kind: (&'static str, &'static str),
}

impl Family for Utility {
    fn authenticate(
        &self,
        app: &AppState,
        _: &HeaderMap,
        _: &[u8],
        fields: &Result<Fields, Failure>,
    ) -> Result<Principal, Failure> {
        let head = authenticate(app, fields.as_ref().map_err(Clone::clone)?)?;
        app.auth
            .utility_principal(&head.channel_did)
            .ok_or_else(|| Failure::Unauthorized("渠道未授权 (unknown channel)".into()))
    }

    fn ids(&self, _: &Principal, _: &HeaderMap, fields: &Fields) -> Result<CommandIds, Failure> {
        Ok(CommandIds {
            client_id: None,
            command_id: command_id(fields, self.kind.0, self.kind.1),
        })
    }

    fn failure(&self, f: Failure, _: Option<&Principal>) -> Reply {
        failure(f)
    }

    fn success(&self, data: Option<Value>, _: &Principal) -> Reply {
        match data {
            Some(body) => Reply::json(200, body),
            None => failure(Failure::Unavailable(
                "the recorded outcome cannot be read".into(),
            )),
        }
    }

    fn pending(&self, command_id: &str, _: &Principal) -> Reply {
        Reply::json(202, pending_reply(command_id))
    }
}

/// Runs a utility command decoded from the body as `command_type`; `reply` is the success
/// reply read from the recorded outcome.
async fn utility_command(
    app: &AppState,
    body: &Bytes,
    command_type: &str,
    kind: (&'static str, &'static str),
    reply: fn(&CommandOutcome) -> Option<Reply>,
) -> Reply {
    let headers = HeaderMap::new();
    let family = Utility { kind };
    let success =
        |o: &CommandOutcome, p: &Principal| reply(o).unwrap_or_else(|| family.success(None, p));
    run_command_replying(&family, app, &headers, body, None, command_type, success).await
}

/// Post one ACC_VOLPRICE_OWE charge record (CALC_FEE = THE_CHARGE_CONS × CHARGE_PRICE).
#[utoipa::path(post, path = "/Service/v1/Charges/", tag = "utility",
    request_body = ledger_wire::utility::UtilityChargeBody,
    responses(
        (status = 200, description = "`{\"CODE\":0,\"MESSAGE\":\"\",\"DATA\":{\"ACC_VOLPRICE_OWE\":[record]}}`"),
        (status = 400, description = "CODE 400: a field is missing or malformed, or CALC_FEE ≠ consumption × price"),
        (status = 401, description = "CODE 401: SYS_HEAD missing or malformed"),
        (status = 409, description = "CODE 409: SERIAL_DID already exists in the account"),
        (status = 202, description = "CODE 202: accepted, not yet projected; DATA.commandId"),
    ))]
pub async fn post_charge(State(app): State<AppState>, body: Bytes) -> Reply {
    utility_command(
        &app,
        &body,
        "utility.charge.post",
        ("charge", "SERIAL_DID"),
        |o| {
            o.find(|e| match e {
                Event::UtilityChargePosted(e) => Some(Reply::serialized(
                    200,
                    &RecordsReply::new(std::slice::from_ref(&e.record)),
                )),
                _ => None,
            })
        },
    )
    .await
}

/// Pay in against a charge record.
#[utoipa::path(post, path = "/Service/v1/Payments/", tag = "utility",
    request_body = ledger_wire::utility::UtilityPaymentBody,
    responses(
        (status = 200, description = "`{\"CODE\":0,\"MESSAGE\":\"\",\"DATA\":{\"SERIAL_DID\",\"THE_PAID_IN_SID\",\"THE_PAID_IN_FEE\",\"THE_PAID_IN_DATE\",\"ACCU_PAID_IN_FEE\",\"OWE_FEE\"}}`"),
        (status = 400, description = "CODE 400: a field is missing or malformed"),
        (status = 401, description = "CODE 401: SYS_HEAD missing or malformed"),
        (status = 404, description = "CODE 404: no such SERIAL_DID in the account"),
        (status = 409, description = "CODE 409: THE_PAID_IN_SID already used"),
        (status = 422, description = "CODE 422: the amount exceeds what is owed"),
        (status = 202, description = "CODE 202: accepted, not yet projected; DATA.commandId"),
    ))]
pub async fn post_payment(State(app): State<AppState>, body: Bytes) -> Reply {
    utility_command(
        &app,
        &body,
        "utility.payment.post",
        ("payment", "THE_PAID_IN_SID"),
        |o| {
            o.find(|e| match e {
                Event::UtilityPaymentPosted(e) => Some(Reply::json(200, payment_reply(e))),
                _ => None,
            })
        },
    )
    .await
}

/// Arrears of an account by meter-reading book (seed 001 `QueryUserArrearages`).
#[utoipa::path(post, path = "/Service/v1/QueryUserArrearages/", tag = "utility",
    request_body = ledger_wire::utility::ArrearsQueryBody,
    responses(
        (status = 200, description = "`{\"CODE\":0,\"MESSAGE\":\"\",\"DATA\":{\"ACC_VOLPRICE_OWE\":[…]}}`: records still owing money"),
        (status = 400, description = "CODE 400: a filter is malformed"),
        (status = 401, description = "CODE 401: SYS_HEAD missing or malformed"),
    ))]
pub async fn query_arrears(State(app): State<AppState>, body: Bytes) -> Reply {
    let fields = match Fields::parse(&body) {
        Ok(f) => f,
        Err(r) => return failure(Failure::Rejected(r)),
    };
    if let Err(f) = authenticate(&app, &fields) {
        return failure(f);
    }
    let query = match decode_arrears_query(&fields) {
        Ok(q) => q,
        Err(r) => return failure(Failure::Rejected(r)),
    };
    let position = position_header(&app);
    // Rows are filtered and written as the store visits them: no record is decoded into an
    // owned value (issue 19 profile).
    let mut reply = RecordsReplyWriter::default();
    let visited = app
        .store
        .visit_utility_records(&query.sys_head.account_did, &mut |r| {
            if query.filter.lists_view(r) {
                reply.push(r);
            }
        });
    match visited {
        Ok(()) => Reply::bytes(200, reply.finish()).with_position(position),
        Err(e) => failure(Failure::Unavailable(e.to_string())),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct ListAccountsQuery {
    /// 渠道号 (with DYNAMIC_KEY and REGISTER_DID: the channel's credentials, as in SYS_HEAD).
    pub CHANNEL_DID: Option<String>,
    /// 动态请求密钥.
    pub DYNAMIC_KEY: Option<String>,
    /// 注册ID.
    pub REGISTER_DID: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub paging: PagingQuery,
}

impl Declared for ListAccountsQuery {
    const NAMES: &'static [&'static str] = &["page", "row"];
}

/// The accounts with records the caller may read: the admin token (`Authorization: Bearer`)
/// sees every one, a channel (its SYS_HEAD fields as query parameters) its accounts.
#[utoipa::path(get, path = "/Service/v1/Accounts/", tag = "utility",
    params(ListAccountsQuery, PagingQuery),
    responses(
        (status = 200, description = "`{\"CODE\":0,\"MESSAGE\":\"\",\"DATA\":{\"ACCOUNTS\":[{\"ACCOUNT_DID\",\"RECORDS\":N}],\"total\":N,\"records\":pages,\"page\":P,\"row\":R}}`, in ACCOUNT_DID order"),
        (status = 400, description = "CODE 400: page/row not a whole number in range, or an unknown parameter; MESSAGE names it"),
        (status = 401, description = "CODE 401: neither the admin token nor a channel's credentials"),
    ))]
pub async fn list_accounts(
    State(app): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<ListAccountsQuery>,
) -> Reply {
    let channel = || {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let channel_did = text(&q.CHANNEL_DID);
        app.auth
            .verify_utility_channel(&channel_did, &text(&q.DYNAMIC_KEY), &text(&q.REGISTER_DID))
            .map_err(|d| Failure::Unauthorized(d.0))?;
        app.auth
            .utility_principal(&channel_did)
            .ok_or_else(|| Failure::Unauthorized("渠道未授权 (unknown channel)".into()))
    };
    let scope = match lister(&app, &headers, channel) {
        Ok(s) => s,
        Err(f) => return failure(f),
    };
    let page = match q.paging.page() {
        Ok(p) => p,
        Err(f) => return failure(f),
    };
    let position = position_header(&app);
    match app.store.utility_accounts() {
        Ok(accounts) => {
            let rows: Vec<Value> = accounts
                .into_iter()
                .filter(|(a, _)| {
                    scope
                        .as_ref()
                        .is_none_or(|p| p.allows(&ledger_core::utility::account_key(a)))
                })
                .map(|(a, n)| serde_json::json!({"ACCOUNT_DID": a, "RECORDS": n}))
                .collect();
            let data = paged("ACCOUNTS", rows, page);
            Reply::json(
                200,
                serde_json::json!({"CODE": 0, "MESSAGE": "", "DATA": data}),
            )
            .with_position(position)
        }
        Err(e) => failure(Failure::Unavailable(e.to_string())),
    }
}
