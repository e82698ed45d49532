//! `ledger call`: one HTTP request to a ledger, signed with the configured credentials the way
//! the path's family authenticates (README "Authentication"), so nobody has to hand-write md5
//! signing. The family is read from the path prefix, as the server routes it; the reply body is
//! printed (pretty when it is JSON) and the exit status says whether the ledger accepted it:
//! an HTTP error or the family's failure envelope is a failure.

use crate::config::{Config, ConfigArgs};
use anyhow::Context;
use ledger_api::auth::{AuthConfig, md5_hex};
use serde_json::Value;
use std::io::Read;
use std::time::Duration;

/// The server when neither `--server` nor `LEDGER_SERVER` names one: the config's `listen`.
#[derive(clap::Args)]
pub struct CallArgs {
    /// The ledger's base URL (default: `http://` + the config's `listen`, 127.0.0.1:8080).
    #[arg(long, env = "LEDGER_SERVER")]
    server: Option<String>,
    /// Which credential of the path's family to use: a property `app_id`, a BaaS `appkey`, a
    /// utility `channel_did` or a call-center `user` of the config (default: the first one).
    #[arg(long = "as", value_name = "APP")]
    as_app: Option<String>,
    /// An extra request header `NAME: VALUE` (repeatable), e.g. `transaction-id: t-1` (property;
    /// a fresh one is made when absent) or `X-Request-Id: r-1` (call center). Credential
    /// headers given here are replaced by the signed ones.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Print the status line and the reply's headers before the body (as `curl -i`), e.g. to
    /// read `X-Ledger-Position`.
    #[arg(short = 'i', long)]
    include: bool,
    #[command(flatten)]
    config: ConfigArgs,
    /// GET, POST, PUT, …
    method: String,
    /// The path with its query, e.g. `/app/fee.listFee?communityId=10001`.
    path: String,
    /// The body: the text itself, `@FILE`, or `-` for stdin (none for a GET).
    body: Option<String>,
}

/// Whose credentials a path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Property,
    Baas,
    Utility,
    CallCenter,
    /// The operator's token: `/commands/`, `/log/`, `/digest`, `/ui`, `/admin/`.
    Admin,
    /// Paths nobody signs (`/healthz`, `/metrics`, `/openapi.json`, …).
    Open,
}

impl Family {
    /// The family by path prefix, the server's routing (`ledger_api::edge`).
    pub fn of(path: &str) -> Family {
        let starts = |p: &str| path.starts_with(p);
        if starts("/app/") {
            Family::Property
        } else if starts("/occ/") {
            Family::Baas
        } else if starts("/Service/") {
            Family::Utility
        } else if starts("/api/") {
            Family::CallCenter
        } else if starts("/commands/")
            || starts("/log/")
            || starts("/digest")
            || starts("/ui")
            || starts("/admin/")
        {
            Family::Admin
        } else {
            Family::Open
        }
    }
}

/// Sends the request, prints the reply; `Ok(false)` when the ledger refused it.
pub fn run(args: CallArgs) -> anyhow::Result<bool> {
    let config = Config::resolve(&args.config)?;
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    anyhow::ensure!(
        args.path.starts_with('/'),
        "PATH must start with '/' (got {:?})",
        args.path
    );
    let url = reqwest::Url::parse(&format!("{}{}", server.trim_end_matches('/'), args.path))
        .with_context(|| format!("{server}{} is not a URL", args.path))?;
    let family = Family::of(url.path());
    let body = read_body(args.body.as_deref())?;
    let now = chrono::Utc::now()
        .with_timezone(&config.zone()?)
        .format("%Y%m%d%H%M%S")
        .to_string();
    let request = Request {
        family,
        as_app: args.as_app.as_deref(),
        // The query exactly as it goes on the wire (non-ASCII percent-encoded by the URL
        // parser): that is what the server signs over.
        query: url.query().map(|q| format!("?{q}")).unwrap_or_default(),
        req_time: &now,
    };
    let mut headers = parse_headers(&args.headers)?;
    let body = request.sign(&config.auth, &mut headers, body)?;
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .with_context(|| format!("{:?} is not an HTTP method", args.method))?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut req = client.request(method, url.clone());
    if !body.is_empty() {
        req = req.header("content-type", "application/json").body(body);
    }
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let reply = req
        .send()
        .with_context(|| format!("cannot reach the ledger at {server}"))?;
    let status = reply.status();
    let mut out = String::new();
    if args.include {
        out.push_str(&format!("{:?} {status}\n", reply.version()));
        for (k, v) in reply.headers() {
            out.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
        }
        out.push('\n');
    }
    let text = reply.text()?;
    let json: Option<Value> = serde_json::from_str(&text).ok();
    match &json {
        Some(v) => out.push_str(&(serde_json::to_string_pretty(v)? + "\n")),
        None => out.push_str(&text),
    }
    print_all(&out)?;
    match refusal(family, status.as_u16(), json.as_ref()) {
        Some(why) => {
            eprintln!("ledger call: {} {}: {why}", status.as_u16(), url.path());
            Ok(false)
        }
        None => Ok(true),
    }
}

/// Writes the reply to stdout; a reader that stopped early (`| head`) is not an error.
fn print_all(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn read_body(arg: Option<&str>) -> anyhow::Result<Vec<u8>> {
    Ok(match arg {
        None => Vec::new(),
        Some("-") => {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b)?;
            b
        }
        Some(a) => match a.strip_prefix('@') {
            Some(file) => std::fs::read(file).with_context(|| format!("cannot read {file}"))?,
            None => a.as_bytes().to_vec(),
        },
    })
}

fn parse_headers(given: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    given
        .iter()
        .map(|h| {
            let (k, v) = h
                .split_once(':')
                .with_context(|| format!("header {h:?} is not NAME: VALUE"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// What signing needs besides the credentials.
struct Request<'a> {
    family: Family,
    as_app: Option<&'a str>,
    /// `?query` of the URL, empty without one.
    query: String,
    /// Now as `req-time` (YYYYMMDDhhmmss in the business time zone).
    req_time: &'a str,
}

/// Request headers as name and value.
pub(crate) type Headers = Vec<(String, String)>;

/// Signs a request to `path_and_query` with the first credential of the path's family in
/// `auth`, at `req_time` (YYYYMMDDhhmmss, business time): the headers to send (`headers` plus
/// the credentials) and the body (a utility body gains its `SYS_HEAD`). The benchmarks sign
/// their pre-generated requests with it, as `ledger call` signs one.
pub(crate) fn sign(
    auth: &AuthConfig,
    path_and_query: &str,
    req_time: &str,
    mut headers: Headers,
    body: Vec<u8>,
) -> anyhow::Result<(Headers, Vec<u8>)> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (path_and_query, String::new()),
    };
    let request = Request {
        family: Family::of(path),
        as_app: None,
        query,
        req_time,
    };
    let body = request.sign(auth, &mut headers, body)?;
    Ok((headers, body))
}

/// Headers the signing sets; any the caller gave are dropped first.
const CREDENTIAL_HEADERS: &[&str] = &["app-id", "sign", "req-time", "authorization", "appkey"];

impl Request<'_> {
    /// Puts the family's credentials on the request: headers, or (utility) the body's
    /// `SYS_HEAD`. Returns the body to send.
    fn sign(
        &self,
        auth: &AuthConfig,
        headers: &mut Vec<(String, String)>,
        body: Vec<u8>,
    ) -> anyhow::Result<Vec<u8>> {
        if self.family != Family::Open {
            headers.retain(|(k, _)| !CREDENTIAL_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
        }
        let pick = |names: Vec<&str>, what: &str| -> anyhow::Result<usize> {
            match self.as_app {
                None if names.is_empty() => {
                    anyhow::bail!("the config has no {what} credentials ([auth])")
                }
                None => Ok(0),
                Some(a) => names.iter().position(|n| *n == a).with_context(|| {
                    format!("--as {a:?}: no such {what} in the config (have: {names:?})")
                }),
            }
        };
        let bearer = |token: &str| ("Authorization".to_string(), format!("Bearer {token}"));
        match self.family {
            Family::Property => {
                let names = auth.property_apps.iter().map(|a| a.app_id.as_str());
                let app = &auth.property_apps[pick(names.collect(), "property app")?];
                let tid = match headers
                    .iter()
                    .position(|(k, _)| k.eq_ignore_ascii_case("transaction-id"))
                {
                    Some(i) => headers.remove(i).1,
                    None => fresh_id(),
                };
                let content: &[u8] = if body.is_empty() {
                    self.query.as_bytes()
                } else {
                    &body
                };
                let sign = md5_hex(&[
                    tid.as_bytes(),
                    self.req_time.as_bytes(),
                    app.app_id.as_bytes(),
                    content,
                    app.secret.as_bytes(),
                ]);
                headers.extend([
                    ("app-id".to_string(), app.app_id.clone()),
                    ("transaction-id".to_string(), tid),
                    ("req-time".to_string(), self.req_time.to_string()),
                    ("sign".to_string(), sign),
                    bearer(&app.token),
                ]);
            }
            Family::Baas => {
                let names = auth.baas_apps.iter().map(|a| a.appkey.as_str());
                let app = &auth.baas_apps[pick(names.collect(), "BaaS appkey")?];
                // A GET (the lists) signs its query as the body, as property GETs do.
                let content: &[u8] = if body.is_empty() {
                    self.query.as_bytes()
                } else {
                    &body
                };
                let sign = md5_hex(&[
                    self.req_time.as_bytes(),
                    app.appkey.as_bytes(),
                    content,
                    app.secret.as_bytes(),
                ]);
                headers.extend([
                    ("appkey".to_string(), app.appkey.clone()),
                    ("req-time".to_string(), self.req_time.to_string()),
                    ("sign".to_string(), sign),
                ]);
            }
            Family::CallCenter => {
                let names = auth.callcenter_users.iter().map(|u| u.user.as_str());
                let user = &auth.callcenter_users[pick(names.collect(), "call-center user")?];
                headers.push(bearer(&user.token));
            }
            // A utility GET (the accounts list) has no body to carry SYS_HEAD: the admin
            // token reads it.
            Family::Utility if body.is_empty() && self.as_app.is_none() => {
                if let Some(token) = auth.admin_token.as_deref() {
                    headers.push(bearer(token));
                }
            }
            Family::Utility => {
                let names = auth.utility_channels.iter().map(|c| c.channel_did.as_str());
                let channel = &auth.utility_channels[pick(names.collect(), "utility channel")?];
                return with_sys_head(body, channel);
            }
            Family::Admin => {
                let token = auth
                    .admin_token
                    .as_deref()
                    .context("the config has no [auth] admin_token")?;
                headers.push(bearer(token));
            }
            Family::Open => {}
        }
        Ok(body)
    }
}

/// The body with the channel's `CHANNEL_DID`, `DYNAMIC_KEY` and `REGISTER_DID` in its
/// `SYS_HEAD` (added when absent), and `ACCOUNT_DID` when the channel is limited to exactly one
/// account. Numbers keep their text (serde_json's arbitrary precision).
fn with_sys_head(
    body: Vec<u8>,
    channel: &ledger_api::auth::UtilityChannel,
) -> anyhow::Result<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(&body)
        .context("a utility body must be a JSON object (its SYS_HEAD carries the credentials)")?;
    let obj = v
        .as_object_mut()
        .context("a utility body must be a JSON object")?;
    let head = obj
        .entry("SYS_HEAD")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
        .context("SYS_HEAD must be an object")?;
    for (k, val) in [
        ("CHANNEL_DID", &channel.channel_did),
        ("DYNAMIC_KEY", &channel.dynamic_key),
        ("REGISTER_DID", &channel.register_did),
    ] {
        head.insert(k.to_string(), Value::String(val.clone()));
    }
    if let [only] = channel.accounts.as_slice() {
        head.entry("ACCOUNT_DID")
            .or_insert_with(|| Value::String(only.clone()));
    }
    Ok(serde_json::to_vec(&v)?)
}

/// A transaction-id for a property request that names none.
fn fresh_id() -> String {
    format!("call-{}", uuid::Uuid::now_v7().simple())
}

/// Why the reply is a refusal (an HTTP error, or the family's failure envelope), if it is.
pub fn refusal(family: Family, status: u16, body: Option<&Value>) -> Option<String> {
    let field = |name: &str| body.and_then(|b| b.get(name));
    let text = |name: &str| field(name).map(|v| v.to_string()).unwrap_or_default();
    let envelope = match family {
        Family::Property => field("code")
            .filter(|c| c.as_str() != Some("0"))
            .map(|c| format!("code {c} {}", text("msg"))),
        Family::CallCenter => field("code")
            .filter(|c| c.as_i64() != Some(0))
            .map(|c| format!("code {c} {}", text("message"))),
        Family::Baas => field("returnCode")
            .filter(|c| c.as_str() != Some("BaaS-000000"))
            .map(|c| format!("returnCode {c} {}", text("returnMessage"))),
        Family::Utility => field("CODE")
            .filter(|c| c.as_i64() != Some(0))
            .map(|c| format!("CODE {c} {}", text("MESSAGE"))),
        Family::Admin | Family::Open => None,
    };
    envelope.or_else(|| (status >= 400).then(|| format!("HTTP {status}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn family_follows_the_server_routing() {
        assert_eq!(Family::of("/app/fee.listFee"), Family::Property);
        assert_eq!(Family::of("/occ/http/baas/bills"), Family::Baas);
        assert_eq!(Family::of("/Service/v1/Charges/"), Family::Utility);
        assert_eq!(Family::of("/api/bill/calls"), Family::CallCenter);
        assert_eq!(Family::of("/commands/x"), Family::Admin);
        assert_eq!(Family::of("/ui/api/arrears"), Family::Admin);
        assert_eq!(Family::of("/metrics"), Family::Open);
    }

    #[test]
    fn failure_envelopes_and_http_errors_are_refusals() {
        let ok = |f, s, b: Value| refusal(f, s, Some(&b)).is_none();
        assert!(ok(Family::Property, 200, json!({"code":"0"})));
        assert!(!ok(Family::Property, 200, json!({"code":"422"})));
        assert!(ok(Family::CallCenter, 200, json!({"code":0})));
        assert!(!ok(Family::CallCenter, 200, json!({"code":-1})));
        assert!(ok(Family::Baas, 200, json!({"returnCode":"BaaS-000000"})));
        assert!(!ok(Family::Baas, 202, json!({"returnCode":"BaaS-000006"})));
        assert!(ok(Family::Utility, 200, json!({"CODE":0})));
        assert!(!ok(Family::Utility, 200, json!({"CODE":409})));
        assert!(!ok(Family::Admin, 404, json!({})));
        assert!(refusal(Family::Open, 200, None).is_none());
    }

    #[test]
    fn utility_credentials_go_into_sys_head_and_numbers_keep_their_text() {
        let channel = ledger_api::auth::UtilityChannel {
            channel_did: "CH1".into(),
            dynamic_key: "k".into(),
            register_did: "R1".into(),
            accounts: vec!["A1".into()],
        };
        let out = with_sys_head(br#"{"DATA":{"FEE":20.00}}"#.to_vec(), &channel).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["SYS_HEAD"],
            json!({"CHANNEL_DID":"CH1","DYNAMIC_KEY":"k","REGISTER_DID":"R1","ACCOUNT_DID":"A1"})
        );
        assert!(String::from_utf8(out).unwrap().contains("20.00"));
    }
}
