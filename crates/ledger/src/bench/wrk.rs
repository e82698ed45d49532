//! The HTTP scenarios' load generator: `wrk` (Debian's 4.1, installed by `tools/bench-http.sh`)
//! as a child process, with `tools/wrk/requests.lua` (compiled into the binary and written to
//! the scratch directory) cycling through pre-generated raw requests, so unique commands (BaaS
//! requests signed with their `req-time`) are built in Rust and wrk only sends them.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The script wrk runs for every scenario (the baseline included).
const SCRIPT: &str = include_str!("../../../../tools/wrk/requests.lua");

/// wrk threads: the issue's `wrk -t2`.
pub const THREADS: usize = 2;

/// What one wrk run measured (its `done()` line).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Run {
    pub requests: u64,
    pub duration_us: u64,
    pub non_2xx: u64,
    pub socket_errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Times a thread ran out of pre-generated requests and started over (repeats).
    pub wrapped: u64,
}

impl Run {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6).max(1e-9)
    }

    pub fn p50_ms(&self) -> f64 {
        self.p50_us as f64 / 1000.0
    }

    pub fn p99_ms(&self) -> f64 {
        self.p99_us as f64 / 1000.0
    }
}

/// Refuses to go on without wrk, naming the script that installs it.
pub fn ensure_installed() -> anyhow::Result<()> {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("wrk").is_file()));
    anyhow::ensure!(
        found,
        "wrk is not installed (not on PATH): run tools/bench-http.sh, which installs it (apt-get install wrk) and runs these scenarios"
    );
    Ok(())
}

/// The script, written once into `dir`.
pub fn script(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("requests.lua");
    std::fs::write(&path, SCRIPT)?;
    Ok(path)
}

/// `wrk -t2 -c<connections> -d<seconds>s` against `url`, sending the requests of `requests`
/// (a file written by [`write_requests`]) or, without one, a plain GET of `url`.
pub fn run(
    script: &Path,
    url: &str,
    requests: Option<&Path>,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Run> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t", &THREADS.to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s")])
        .args(["--timeout", "10s"])
        .arg("-s")
        .arg(script)
        .arg(url)
        .env("BENCH_THREADS", THREADS.to_string());
    match requests {
        Some(file) => cmd.env("BENCH_REQUESTS", file),
        None => cmd.env_remove("BENCH_REQUESTS"),
    };
    let out = cmd.output().context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "wrk failed ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&stdout)
}

/// The `BENCH {json}` line of wrk's output.
pub fn parse(stdout: &str) -> anyhow::Result<Run> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .with_context(|| format!("wrk printed no BENCH line:\n{stdout}"))?;
    serde_json::from_str(line).with_context(|| format!("wrk's BENCH line {line:?}"))
}

/// One raw HTTP/1.1 request.
pub fn raw(method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    req
}

/// Writes raw requests for the script, one a line with each CR LF as byte 0x01; returns how
/// many. A request holding a lone line feed or a 0x01 byte cannot be written so.
pub fn write_requests(
    path: &Path,
    requests: impl Iterator<Item = anyhow::Result<Vec<u8>>>,
) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut n = 0;
    for req in requests {
        out.write_all(&encode(&req?)?)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

fn encode(req: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut line = Vec::with_capacity(req.len());
    let mut i = 0;
    while i < req.len() {
        match req[i] {
            b'\r' if req.get(i + 1) == Some(&b'\n') => {
                line.push(1);
                i += 2;
                continue;
            }
            b'\n' | b'\r' | 1 => anyhow::bail!(
                "request byte {i} is a line break or 0x01 outside CR LF: it cannot be one line"
            ),
            b => line.push(b),
        }
        i += 1;
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bench_line_is_read_among_wrks_own_output() {
        let out = "Running 5s test @ http://127.0.0.1:1/healthz\n  2 threads and 64 connections\n\
                   BENCH {\"requests\":1000,\"duration_us\":2000000,\"non_2xx\":3,\"socket_errors\":0,\
                   \"p50_us\":1500,\"p99_us\":9000,\"max_us\":12000,\"wrapped\":0}\nRequests/sec: 500.00\n";
        let run = parse(out).unwrap();
        assert_eq!(run.requests, 1000);
        assert_eq!(run.non_2xx, 3);
        assert_eq!(run.rps(), 500.0);
        assert_eq!((run.p50_ms(), run.p99_ms()), (1.5, 9.0));
        assert!(parse("Requests/sec: 1.0\n").is_err(), "no BENCH line");
    }

    #[test]
    fn requests_are_written_one_a_line_and_the_script_restores_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests");
        let reqs = [
            raw("POST", "/a", &[("sign".into(), "x".into())], b"{\"k\":1}"),
            raw("GET", "/b?c=d", &[], b""),
        ];
        assert_eq!(
            write_requests(&path, reqs.iter().cloned().map(Ok)).unwrap(),
            2
        );
        let text = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 2);
        for (line, req) in lines.iter().zip(&reqs) {
            // What the Lua script does: gsub("\1", "\r\n").
            let restored: Vec<u8> = line
                .iter()
                .flat_map(|b| if *b == 1 { b"\r\n".to_vec() } else { vec![*b] })
                .collect();
            assert_eq!(&restored, req);
        }
        assert!(
            write_requests(&path, std::iter::once(Ok(b"POST /x\r\n\r\n{\n}".to_vec()))).is_err(),
            "a body with a line feed is refused"
        );
    }
}
