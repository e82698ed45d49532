//! Test harness for end-to-end tests: runs the real `ledger` binary on a free port over a
//! temporary data directory and talks to it over real HTTP.

#![allow(dead_code)]

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub port: u16,
    client: reqwest::blocking::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server's stderr goes to `<data_dir>.server.log` beside the data dir, so test output
/// stays readable and a failing test's server log can be read afterwards.
fn server_log(data_dir: &Path) -> Stdio {
    let path = data_dir.with_extension("server.log");
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        Ok(f) => Stdio::from(f),
        Err(_) => Stdio::inherit(),
    }
}

/// A reply: HTTP status, JSON body and headers.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Server {
    /// Starts the server on `data_dir` and waits until it is ready (`/readyz` answers 200: the
    /// projection has caught up with the log as it was at start-up).
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra_args: &[&str]) -> Server {
        Self::start_env(data_dir, extra_args, &[])
    }

    /// Starts the server with extra environment variables (the crash tests' kill points).
    pub fn start_env(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .envs(env.iter().copied())
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra_args)
            // LEDGER_TEST_RUST_LOG raises the server's log level when a test is investigated.
            .env(
                "RUST_LOG",
                std::env::var("LEDGER_TEST_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(server_log(data_dir))
            .spawn()
            .expect("ledger binary starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_path_buf(),
            port,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .tcp_nodelay(true)
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = server.client.get(format!("{}/readyz", server.base)).send()
                && r.status().is_success()
            {
                return server;
            }
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// POST signed with the demo credentials of the path's family (see [`sign`]).
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        self.post_raw(path, headers, serde_json::to_vec(body).unwrap())
    }

    pub fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        self.try_post_raw(path, headers, body)
            .expect("request sent")
    }

    /// Like `post`, but a connection failure (a dead server) is `None` instead of a panic.
    pub fn try_post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Option<Reply> {
        self.try_post_raw(path, headers, serde_json::to_vec(body).unwrap())
    }

    fn try_post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Option<Reply> {
        let signed = sign(path, headers, &body);
        self.send_exact("POST", path, &as_refs(&signed), body)
    }

    /// POST with exactly the given headers: no signing (for the authentication tests).
    pub fn post_unsigned(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.send_exact("POST", path, headers, body.to_vec())
            .expect("request sent")
    }

    /// GET with exactly the given headers: no signing.
    pub fn get_unsigned(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
        self.send_exact("GET", path_and_query, headers, Vec::new())
            .expect("request sent")
    }

    pub fn send_exact(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Option<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if method != reqwest::Method::GET {
            req = req.header("content-type", "application/json").body(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().ok().map(Self::reply)
    }

    pub fn put(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        let body = serde_json::to_vec(body).unwrap();
        let signed = sign(path, headers, &body);
        self.send_exact("PUT", path, &as_refs(&signed), body)
            .expect("request sent")
    }

    /// GET signed with the demo credentials of the path's family.
    pub fn get(&self, path_and_query: &str) -> Reply {
        self.try_get(path_and_query).expect("request sent")
    }

    pub fn try_get(&self, path_and_query: &str) -> Option<Reply> {
        let query = path_and_query
            .find('?')
            .map(|i| path_and_query.as_bytes()[i..].to_vec())
            .unwrap_or_default();
        let signed = sign(path_and_query, &[], &query);
        self.send_exact("GET", path_and_query, &as_refs(&signed), Vec::new())
    }

    fn reply(r: reqwest::blocking::Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            body,
            headers,
        }
    }

    /// Total number of events in the log.
    pub fn log_len(&self) -> u64 {
        // One retry: after refusing an oversized body the server closes that connection, and
        // the client's pool may hand the closed one to the next request.
        let r = self
            .try_get("/log/positions")
            .or_else(|| self.try_get("/log/positions"))
            .expect("request sent");
        r.body["events"].as_u64().unwrap()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit; returns the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ledger <args>` to completion and returns (exit code, stdout).
pub fn ledger(args: &[&str]) -> (i32, String) {
    let (code, out, _) = ledger_with_stderr(args);
    (code, out)
}

/// Runs `ledger <args>` to completion and returns (exit code, stdout, stderr).
pub fn ledger_with_stderr(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledger runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The demo credentials (README "Authentication").
pub mod demo {
    pub const APP_ID: &str = "micro-community";
    pub const PROPERTY_SECRET: &str = "demo-property-secret";
    pub const PROPERTY_TOKEN: &str = "demo-property-token";
    pub const APPKEY: &str = "xxxde52a0axxxaefa93c6xxxx7bxxx60";
    pub const BAAS_SECRET: &str = "demo-baas-secret";
    pub const CALLCENTER_USER: &str = "Jack";
    pub const CALLCENTER_TOKEN: &str = "demo-callcenter-token";
    pub const ADMIN_TOKEN: &str = "demo-admin-token";
}

pub fn md5_hex(parts: &[&[u8]]) -> String {
    use md5::Digest;
    let mut h = md5::Md5::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Now as `req-time` (YYYYMMDDhhmmss, local time like the server's clock).
pub fn req_time_now() -> String {
    chrono::Local::now().format("%Y%m%d%H%M%S").to_string()
}

fn as_refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// A transaction-id for a request that gives none (the property family requires one).
fn fresh_transaction_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("auto-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The property family's headers for `content` (POST body, or `?query` of a GET), signed as the
/// README says: `md5(transaction-id + req-time + app-id + content + secret)`.
pub fn property_headers(
    transaction_id: &str,
    req_time: &str,
    content: &[u8],
) -> Vec<(String, String)> {
    let sign = md5_hex(&[
        transaction_id.as_bytes(),
        req_time.as_bytes(),
        demo::APP_ID.as_bytes(),
        content,
        demo::PROPERTY_SECRET.as_bytes(),
    ]);
    vec![
        ("app-id".into(), demo::APP_ID.into()),
        ("transaction-id".into(), transaction_id.into()),
        ("req-time".into(), req_time.into()),
        ("sign".into(), sign),
        (
            "Authorization".into(),
            format!("Bearer {}", demo::PROPERTY_TOKEN),
        ),
    ]
}

/// The BaaS headers for `body`: `sign = md5(req-time + appkey + body + secret)`.
pub fn baas_headers(req_time: &str, body: &[u8]) -> Vec<(String, String)> {
    let sign = md5_hex(&[
        req_time.as_bytes(),
        demo::APPKEY.as_bytes(),
        body,
        demo::BAAS_SECRET.as_bytes(),
    ]);
    vec![
        ("appkey".into(), demo::APPKEY.into()),
        ("req-time".into(), req_time.into()),
        ("sign".into(), sign),
    ]
}

/// The request's headers with the family's credentials in place of any the test gave: property
/// (`/app/`) and BaaS (`/occ/`) requests are signed, call-center (`/api/`) requests carry the
/// demo user's bearer token (an `X-User` is dropped), utility credentials are in the body.
pub fn sign(path: &str, headers: &[(&str, &str)], content: &[u8]) -> Vec<(String, String)> {
    const AUTH: &[&str] = &[
        "app-id",
        "sign",
        "req-time",
        "authorization",
        "appkey",
        "x-user",
    ];
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !AUTH.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if path.starts_with("/app/") {
        let tid = match out
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case("transaction-id"))
        {
            Some(i) => out.remove(i).1,
            None => fresh_transaction_id(),
        };
        out.extend(property_headers(&tid, &req_time_now(), content));
    } else if path.starts_with("/occ/") {
        out.extend(baas_headers(&req_time_now(), content));
    } else if path.starts_with("/api/") {
        out.push((
            "Authorization".into(),
            format!("Bearer {}", demo::CALLCENTER_TOKEN),
        ));
    } else if path.starts_with("/commands/") || path.starts_with("/ui/") || path == "/digest" {
        out.push((
            "Authorization".into(),
            format!("Bearer {}", demo::ADMIN_TOKEN),
        ));
    }
    out
}

/// An events export (JSONL of stored events) with `change` applied to every event and every
/// hash recomputed, as a forger or a migration would write it: `import` accepts it.
pub fn reseal(
    lines: &[String],
    change: impl Fn(ledger_core::EventDraft) -> ledger_core::EventDraft,
) -> Vec<String> {
    use ledger_core::{EventDraft, EventEnvelope, Sha256Hash};
    let mut prev = std::collections::HashMap::<u32, Sha256Hash>::new();
    lines
        .iter()
        .map(|line| {
            let e = EventEnvelope::decode(line.as_bytes()).expect("a sealed event");
            let draft = change(EventDraft {
                event_id: e.event_id,
                command_id: e.command_id,
                key: e.key,
                recorded_at: e.recorded_at,
                effective_at: e.effective_at,
                event: e.event,
                actor: e.actor,
                body_sha256: e.body_sha256,
            });
            let link = prev.entry(e.partition).or_insert(Sha256Hash::GENESIS);
            let (sealed, bytes) = draft.seal(e.partition, e.offset, *link);
            *link = sealed.hash;
            String::from_utf8(bytes).expect("stored events are UTF-8")
        })
        .collect()
}

/// The events of a stopped node's data dir, one stored event a line.
pub fn export_events(data: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["export", "--what", "events", "--data-dir"])
        .arg(data)
        .output()
        .expect("ledger runs");
    assert!(out.status.success(), "export failed");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_string)
        .collect()
}

/// A new data dir `root/name` holding exactly `lines` (imported, every link checked).
pub fn import_events(root: &Path, name: &str, partitions: u32, lines: &[String]) -> PathBuf {
    let file = root.join(format!("{name}.jsonl"));
    std::fs::write(&file, lines.join("\n") + "\n").expect("export file written");
    let data = root.join(name);
    let (code, out) = ledger(&[
        "import",
        "--data-dir",
        data.to_str().expect("UTF-8 path"),
        "--partitions",
        &partitions.to_string(),
        file.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(code, 0, "import: {out}");
    data
}

/// Saves fee config `cfg-{i}` (transaction-id `t-{i}`) in `community_id`: one event, answered
/// 200. The audit, digest and migration tests populate their logs with it.
pub fn save_fee_config(server: &Server, i: usize, community_id: &str) {
    let r = server.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", &format!("t-{i}"))],
        &serde_json::json!({
            "configId": format!("cfg-{i}"), "feeTypeCd": "1001", "feeName": "物业费",
            "feeFlag": "Y", "startTime": "2024-01-01", "endTime": "2024-12-31",
            "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "10.00",
            "communityId": community_id, "billType": "MONTHLY"
        }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The one error style (issue 18): Chinese first, then the English detail in parentheses at the
/// end.
pub fn assert_styled(message: &str, what: &str) {
    let open = message
        .rfind(" (")
        .unwrap_or_else(|| panic!("{what}: {message:?}"));
    let (chinese, english) = message.split_at(open);
    assert!(
        chinese
            .chars()
            .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
        "{what}: {message:?} does not start in Chinese"
    );
    assert!(
        english.ends_with(')') && english.is_ascii(),
        "{what}: {message:?} has no English detail in parentheses"
    );
}
