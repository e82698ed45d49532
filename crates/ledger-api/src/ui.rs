//! The operator dashboard: one static page (`GET /ui/`, HTML + JS embedded in the binary, no
//! build step, no CDN; `GET /ui` redirects there) and the JSON it reads (`GET /ui/api/arrears`,
//! `GET /ui/api/utility`, `GET /ui/api/verify`). They are computed with the very functions the
//! query endpoints use (the property listFee handler, the BaaS fee-owed rule, the utility
//! records' owed amount, the call-center verify rows of [`crate::callcenter::verify_items`]),
//! so the page shows the numbers the query API answers, as the decimal strings it sends.
//! They are read in process, without the families' credentials; the page and its JSON are the
//! operator's, behind the admin token (`crate::access::admin_gate`, HTTP Basic so a browser
//! prompts for it).

use crate::AppState;
use crate::system::position_header;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use ledger_core::baas::{Window, fee_owed};
use ledger_core::property::time::parse_start;
use ledger_wire::callcenter::{VERIFY_FILTERS, decode_query};
use ledger_wire::codes::Family;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

const PAGE: &str = include_str!("ui/index.html");
/// Business times on the page, as listFee writes them.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const SCRIPT: &str = include_str!("ui/dashboard.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(to_page))
        .route("/ui/", get(page))
        .route("/ui/dashboard.js", get(script))
        .route("/ui/api/arrears", get(arrears))
        .route("/ui/api/verify", get(verify))
        .route("/ui/api/utility", get(utility))
}

/// `/ui` without the slash: a permanent redirect to the page (whose relative links need it).
/// The reply carries a small JSON body naming the target, so it has a content type like every
/// other reply of the API.
#[utoipa::path(get, path = "/ui", tag = "ui",
    responses((status = 308, description = "Redirect to `/ui/`", content_type = "application/json",
        body = serde_json::Value, headers(("Location" = String, description = "`/ui/`")))))]
pub async fn to_page() -> impl IntoResponse {
    (
        StatusCode::PERMANENT_REDIRECT,
        [
            (header::LOCATION, "/ui/"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        r#"{"location":"/ui/"}"#,
    )
}

/// The dashboard page.
#[utoipa::path(get, path = "/ui/", tag = "ui",
    responses((status = 200, description = "The dashboard (HTML)", content_type = "text/html", body = String)))]
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// The dashboard's script.
#[utoipa::path(get, path = "/ui/dashboard.js", tag = "ui",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// Arrears of one property community: the sum of `amountOwed` over every fee `listFee` lists.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunityArrears {
    pub community_id: String,
    /// Fees listed by `GET /app/fee.listFee?communityId=…`.
    pub fees: usize,
    /// Σ amountOwed, a decimal string in yuan.
    pub amount_owed: String,
}

/// What one BaaS customer owes, as `srv_baas_feeowed_qry` answers with the default window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerArrears {
    pub ext_cust_id: String,
    /// feeOwed in li (厘), as the query answers.
    pub fee_owed: String,
}

/// Arrears of one BaaS tenant: every customer with a bill or usage, and their total.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantArrears {
    pub tenant_id: String,
    pub customers: Vec<CustomerArrears>,
    /// Σ feeOwed of the customers, in li.
    pub fee_owed: String,
}

/// The business-time span of the BaaS bills with money outstanding: the page's hint when
/// every figure is 0 at the chosen date (the data lies at other dates).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillSpan {
    /// The earliest period start, yyyy-MM-dd HH:mm:ss.
    pub from: String,
    /// The latest period end, yyyy-MM-dd HH:mm:ss.
    pub to: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArrearsSummary {
    /// Arrears as of this instant (local time, yyyy-MM-dd HH:mm:ss).
    pub as_of: String,
    /// Log position the summary reflects (also in `X-Ledger-Position`).
    pub position: String,
    pub communities: Vec<CommunityArrears>,
    pub tenants: Vec<TenantArrears>,
    /// Where the BaaS bills with money outstanding lie in time; absent without any.
    pub outstanding_bills: Option<BillSpan>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ArrearsQuery {
    /// Arrears as of this instant, yyyy-MM-dd HH:mm:ss or yyyy-MM-dd (its start); now when
    /// absent. Property: listFee's `asOf`; BaaS: `srv_baas_feeowed_qry` with `beginDate` =
    /// `endDate` = this instant (its default window is now).
    pub as_of: Option<String>,
}

/// Arrears by property community and by BaaS tenant as of an instant, for the dashboard.
#[utoipa::path(get, path = "/ui/api/arrears", tag = "ui",
    params(ArrearsQuery),
    responses(
        (status = 200, description = "Arrears per community and tenant", body = ArrearsSummary),
        (status = 400, description = "`{\"error\":…}`: asOf malformed", body = Object),
        (status = 503, description = "`{\"error\":…}`: the read store failed", body = Object)))]
pub async fn arrears(State(app): State<AppState>, Query(q): Query<ArrearsQuery>) -> Response {
    let position = position_header(&app);
    // Parsed as listFee parses it, so a malformed asOf is refused even with no community.
    let as_of = match q.as_of.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => app.now(),
        Some(text) => match parse_start(text) {
            Ok(t) => t,
            Err(e) => return error(400, &format!("asOf: {e}")),
        },
    };
    let as_of_text = as_of.format(TIME_FORMAT).to_string();
    let community_ids = match app.store.fee_communities() {
        Ok(c) => c,
        Err(e) => return error(503, &e.to_string()),
    };
    let tenant_customers = match app.store.baas_customers() {
        Ok(c) => c,
        Err(e) => return error(503, &e.to_string()),
    };
    let mut communities = Vec::new();
    for community_id in community_ids {
        let listed = crate::property::list_fee_view(
            &app,
            crate::property::ListFeeQuery {
                community_id: Some(community_id.clone()),
                payer_obj_id: None,
                as_of: Some(as_of_text.clone()),
            },
        )
        .into_response();
        let status = listed.status().as_u16();
        let body = match axum::body::to_bytes(listed.into_body(), usize::MAX).await {
            Ok(b) => serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            Err(e) => return error(503, &e.to_string()),
        };
        if status != 200 {
            return error(status, &body.to_string());
        }
        let fees = body["data"]["fees"].as_array().cloned().unwrap_or_default();
        let mut total = Decimal::ZERO;
        for fee in &fees {
            let owed = fee["amountOwed"].to_string();
            total += owed
                .trim_matches('"')
                .parse::<Decimal>()
                .unwrap_or(Decimal::ZERO);
        }
        communities.push(CommunityArrears {
            community_id,
            fees: fees.len(),
            amount_owed: total.to_string(),
        });
    }
    // The seed's default window is the system time; the dashboard's is the as-of instant.
    let window = match Window::with_defaults(None, None, as_of) {
        Ok(w) => w,
        Err(r) => return error(503, &r.to_string()),
    };
    let mut tenants = Vec::new();
    let mut span: Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)> = None;
    for (tenant_id, customers) in tenant_customers {
        let mut rows = Vec::new();
        let mut total: i128 = 0;
        for ext_cust_id in customers {
            let (bills, usage) = match app.store.baas_customer(&tenant_id, &ext_cust_id) {
                Ok(rows) => rows,
                Err(e) => return error(503, &e.to_string()),
            };
            for b in bills
                .iter()
                .filter(|b| b.outstanding() > ledger_core::Money::ZERO)
            {
                let (start, end) = (b.bill.period_start, b.bill.period_end);
                span = Some(span.map_or((start, end), |(f, t)| (f.min(start), t.max(end))));
            }
            if let Some(owed) = fee_owed(&bills, &usage, None, window) {
                let li = owed.fee_owed_li();
                total += li;
                rows.push(CustomerArrears {
                    ext_cust_id,
                    fee_owed: li.to_string(),
                });
            }
        }
        tenants.push(TenantArrears {
            tenant_id,
            customers: rows,
            fee_owed: total.to_string(),
        });
    }
    let summary = ArrearsSummary {
        as_of: as_of_text,
        position: position.clone(),
        communities,
        tenants,
        outstanding_bills: span.map(|(from, to)| BillSpan {
            from: from.format(TIME_FORMAT).to_string(),
            to: to.format(TIME_FORMAT).to_string(),
        }),
    };
    let mut response = axum::Json(summary).into_response();
    if let Ok(p) = position.parse() {
        response.headers_mut().insert("x-ledger-position", p);
    }
    response
}

/// One call-center verification row: the shape `ledger_wire::callcenter::verify_item` writes
/// for `/api/bill/verify` (documentation only; the rows are served as that function renders
/// them).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct VerifyLine {
    /// Row number in the listing, from 1.
    id: u64,
    city_id: i64,
    workplace_id: i64,
    operator_code: i64,
    /// The bill month as its first day, yyyy-MM-dd.
    bill_date: String,
    /// The DID segment.
    did: String,
    /// The `line_batch` of the segment's tariffs, comma-separated.
    line_prefix: String,
    /// The operator's reported talk time, seconds.
    operator_call_duration: u64,
    /// The system's talk time, seconds.
    billing_call_duration: u64,
    /// The same as `billing_call_duration` (the seed lists both).
    billing_duration: u64,
    /// Signed percentage with 2 decimals, or `"N/A"` when the operator figure is 0.
    time_diff: String,
    /// The operator's fee, yuan, an exact JSON number with 2 decimals.
    #[schema(value_type = f64)]
    operator_total_fee: Decimal,
    /// The system's total bill, yuan, an exact JSON number with 2 decimals.
    #[schema(value_type = f64)]
    billing_total_fee: Decimal,
    /// Signed percentage with 2 decimals, or `"N/A"` when the operator figure is 0.
    fee_diff: String,
}

/// Call-center verification rows for the dashboard's chart.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifySummary {
    /// Log position the rows reflect (also in `X-Ledger-Position`).
    pub position: String,
    /// Rows matching the filters, before paging.
    pub total: u64,
    /// This page's rows as `/api/bill/verify` lists them, except that `operator_total_fee`
    /// and `billing_total_fee` are strings holding the exact JSON number text it sends
    /// (`228.50`), which a browser's JSON parser would turn into 228.5.
    #[schema(value_type = Vec<VerifyLine>)]
    pub items: Vec<Value>,
}

/// Operator vs system fee per DID segment and month: the rows `GET /api/bill/verify` answers
/// (same filters, same paging), read in process for the dashboard.
#[utoipa::path(get, path = "/ui/api/verify", tag = "ui",
    params(crate::callcenter::VerifyParams, crate::callcenter::PagingParams),
    responses(
        (status = 200, description = "Verification rows and the log position", body = VerifySummary),
        (status = 400, description = "`{\"error\":…}` naming the malformed parameter", body = Object),
        (status = 503, description = "`{\"error\":…}`: the read store failed", body = Object)))]
pub async fn verify(
    State(app): State<AppState>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let position = position_header(&app);
    let params = match params {
        Ok(Query(p)) => p,
        Err(e) => return error(400, &format!("query: the query string cannot be read: {e}")),
    };
    // Decoded and refused exactly as the call-center endpoint does it.
    let (filter, paging) = match decode_query(&params, VERIFY_FILTERS) {
        Ok(q) => q,
        Err(f) => {
            let wire = f.to_wire(Family::CallCenter);
            return error(wire.status, &wire.message);
        }
    };
    let (mut items, total) =
        match crate::callcenter::verify_items(app.store.as_ref(), &filter, paging) {
            Ok(page) => page,
            Err(e) => return error(503, &e.to_string()),
        };
    for item in &mut items {
        for fee in VERIFY_FEES {
            if let Some(n @ Value::Number(_)) = item.get_mut(fee) {
                *n = Value::String(n.to_string());
            }
        }
    }
    let mut response = axum::Json(VerifySummary {
        position: position.clone(),
        total,
        items,
    })
    .into_response();
    if let Ok(p) = position.parse() {
        response.headers_mut().insert("x-ledger-position", p);
    }
    response
}

/// The money fields of a verify row, sent as their number text.
const VERIFY_FEES: [&str; 2] = ["operator_total_fee", "billing_total_fee"];

/// A utility meter-reading book's arrears within one account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookArrears {
    /// BOOK_AID.
    pub book_aid: String,
    /// Records still owing (those the arrears query lists).
    pub records: usize,
    /// Σ (CALC_FEE − ACCU_PAID_IN_FEE) of those records, yuan, 2 decimals.
    pub amount_owed: String,
}

/// A utility account's arrears, by book.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountArrears {
    /// ACCOUNT_DID.
    pub account_did: String,
    pub books: Vec<BookArrears>,
    /// Σ of its books, yuan, 2 decimals.
    pub amount_owed: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UtilitySummary {
    /// Log position the summary reflects (also in `X-Ledger-Position`).
    pub position: String,
    /// Every account with a record owing money, in ACCOUNT_DID order.
    pub accounts: Vec<AccountArrears>,
}

/// Utility arrears per account and meter-reading book, as they stand (utility records owe
/// CALC_FEE − ACCU_PAID_IN_FEE until paid; no as-of applies): the records the arrears query
/// (`ACC_VOLPRICE_OWE`) lists, summed.
#[utoipa::path(get, path = "/ui/api/utility", tag = "ui",
    responses(
        (status = 200, description = "Arrears per account and book", body = UtilitySummary),
        (status = 503, description = "`{\"error\":…}`: the read store failed", body = Object)))]
pub async fn utility(State(app): State<AppState>) -> Response {
    let position = position_header(&app);
    let books = match app.store.utility_books() {
        Ok(b) => b,
        Err(e) => return error(503, &e.to_string()),
    };
    let listed = ledger_core::utility::ArrearsFilter::default();
    let yuan = |d: Decimal| format!("{d:.2}");
    let mut accounts = Vec::new();
    for (account_did, records) in books {
        let mut by_book: std::collections::BTreeMap<String, (usize, Decimal)> = Default::default();
        for r in records.iter().filter(|r| listed.lists(r)) {
            let entry = by_book.entry(r.book_aid.clone()).or_default();
            entry.0 += 1;
            entry.1 += r.owed().yuan();
        }
        if by_book.is_empty() {
            continue;
        }
        let total: Decimal = by_book.values().map(|(_, owed)| *owed).sum();
        accounts.push(AccountArrears {
            account_did,
            books: by_book
                .into_iter()
                .map(|(book_aid, (records, owed))| BookArrears {
                    book_aid,
                    records,
                    amount_owed: yuan(owed),
                })
                .collect(),
            amount_owed: yuan(total),
        });
    }
    let mut response = axum::Json(UtilitySummary {
        position: position.clone(),
        accounts,
    })
    .into_response();
    if let Ok(p) = position.parse() {
        response.headers_mut().insert("x-ledger-position", p);
    }
    response
}

fn error(status: u16, message: &str) -> Response {
    let status =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}
