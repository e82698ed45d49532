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
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra_args)
            .env("RUST_LOG", "warn")
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
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().ok().map(Self::reply)
    }

    pub fn put(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        let mut req = self
            .client
            .put(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req.send().expect("request sent"))
    }

    pub fn get(&self, path_and_query: &str) -> Reply {
        self.try_get(path_and_query).expect("request sent")
    }

    pub fn try_get(&self, path_and_query: &str) -> Option<Reply> {
        self.client
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .ok()
            .map(Self::reply)
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
        self.get("/log/positions").body["events"].as_u64().unwrap()
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
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledger runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
