//! Who may read what outside a family's own endpoints: the operator's pages (`/ui/…`,
//! `/digest`, `/admin/…`) need the admin token; `GET /commands/{id}` answers the admin token or the family
//! credential whose scope holds the command; `/metrics`, `/healthz`, `/readyz` stay open.

use crate::AppState;
use crate::auth::{AuthConfig, Principal};
use crate::execute::header;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header as h};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ledger_wire::codes::Failure;
use std::sync::Arc;

/// The node's own log as the operator reads it: the anchored history at `GET /digest` (the
/// binary signs its log's heads) and a consistent copy at `GET /admin/backup`. Present exactly
/// where the node holds an embedded log (not read-only, not Kafka).
pub trait Anchor: Send + Sync + 'static {
    /// The signed digest of the log's heads now.
    fn digest(&self) -> Result<serde_json::Value, String>;

    /// A copy of the log as it stands now: the cut (every partition's durable end) is taken
    /// before this returns, the chunks are the copy's bytes in order (the format is the
    /// binary's, `ledger backup` reads it). Reading the chunks blocks on the log.
    fn backup(&self) -> Result<BackupChunks, String>;
}

/// The bytes of a backup, produced on demand; an `Err` ends the copy unfinished.
pub type BackupChunks = Box<dyn Iterator<Item = Result<Vec<u8>, String>> + Send>;

/// A verified caller of a family-independent endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator's token.
    Admin,
    /// A family's credential, with its scope.
    Family(Principal),
}

impl Caller {
    /// Whether the caller may see what was written under partition key `key` with command id
    /// `command_id`: the admin always; a family credential when the key is in its scope and a
    /// namespaced id (`property:{app}:…`, `callcenter:{user}:…`) names that credential.
    pub fn may_read(&self, key: &str, command_id: &str) -> Result<(), Failure> {
        let Caller::Family(principal) = self else {
            return Ok(());
        };
        principal
            .authorize(key)
            .map_err(|f| Failure::Forbidden(f.0))?;
        let owner = ["property:", "callcenter:"]
            .iter()
            .find_map(|ns| command_id.strip_prefix(ns))
            .and_then(|rest| rest.split_once(':'))
            .map(|(owner, _)| owner);
        match owner {
            Some(owner) if owner != principal.name => Err(Failure::Forbidden(format!(
                "无权访问 ({} may not read {owner}'s commands)",
                principal.name
            ))),
            _ => Ok(()),
        }
    }
}

/// Verifies whichever credential the request carries: the admin token, a property app's
/// signed headers (`app-id` …, signed over `signed_content`), a BaaS app's (`appkey` …) or a
/// call-center user's bearer token. Utility channels authenticate in the body only, so their
/// commands are read with the admin token.
pub fn authenticate_any(
    app: &AppState,
    headers: &HeaderMap,
    signed_content: &[u8],
) -> Result<Caller, Failure> {
    let authorization = header(headers, "authorization");
    if app.auth.verify_admin(authorization.as_deref()).is_ok() {
        return Ok(Caller::Admin);
    }
    if header(headers, "app-id").is_some() {
        let h = |name| header(headers, name);
        let (app_id, transaction_id, req_time, sign) =
            (h("app-id"), h("transaction-id"), h("req-time"), h("sign"));
        return app
            .auth
            .verify_property(
                &crate::auth::PropertyRequest {
                    app_id: app_id.as_deref(),
                    transaction_id: transaction_id.as_deref(),
                    req_time: req_time.as_deref(),
                    sign: sign.as_deref(),
                    authorization: authorization.as_deref(),
                    signed_content,
                },
                app.now(),
            )
            .map(Caller::Family)
            .map_err(|d| Failure::Unauthorized(d.0));
    }
    if header(headers, "appkey").is_some() {
        return crate::baas::baas_credentials(app, headers, signed_content).map(Caller::Family);
    }
    match authorization {
        Some(_) => app
            .auth
            .verify_callcenter(authorization.as_deref())
            .map(Caller::Family)
            .map_err(|d| Failure::Unauthorized(d.0)),
        None => Err(Failure::Unauthorized(
            "缺少凭证 (credentials required: the admin token or the family's credential)".into(),
        )),
    }
}

/// Paths only the operator reads.
pub fn is_admin_path(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/") || path == "/digest" || path.starts_with("/admin/")
}

/// Refuses an operator path without the admin token: 401 with `WWW-Authenticate: Basic`, so a
/// browser asks for it (any user name, the token as the password). Its state is the
/// credentials alone, not the whole `AppState`: a layer clones its state on every request
/// (issue 19: cloning and dropping `AppState`'s Arcs was ~3 % of the command path).
pub async fn admin_gate(
    State(auth): State<Arc<AuthConfig>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_admin_path(request.uri().path()) {
        return next.run(request).await;
    }
    match auth.verify_admin(header(request.headers(), "authorization").as_deref()) {
        Ok(()) => next.run(request).await,
        Err(d) => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": d.0})),
            )
                .into_response();
            response.headers_mut().insert(
                h::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ledger operator\", charset=\"UTF-8\""),
            );
            response
        }
    }
}
