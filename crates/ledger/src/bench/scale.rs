//! `scale`: a serving process (`ledger serve`, a child of this one) on a data dir of N events
//! built before any timer starts. At each size it measures what an operator lives with: the
//! time to ready (`/readyz` 200) on the first start, after a clean stop (SIGTERM) and after a
//! SIGKILL taken mid-stream; the server's RSS after ready and after 20k queries; the queries'
//! p50/p99 over HTTP (BaaS fee owed and utility arrears, alternating, one keep-alive
//! connection); and disk bytes per event. Issue 14's targets: ready at 10M within 2 × ready at
//! 100k (+1 s), RSS ≤ 512 MiB, query p99 flat in history.

use super::http::signed;
use super::{BenchArgs, Scratch, StoreKind, dir_bytes, workload};
use crate::engine::projector;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QUERIES: u64 = 20_000;
/// Commands sent just before the SIGKILL, so the restart has a tail to fold.
const KILL_STREAM: u64 = 2_000;

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let sizes = match args.n {
        Some(n) => vec![n],
        None => vec![100_000u64, 1_000_000],
    };
    println!(
        "scale: serving process, memory budget {} MiB, {} store; sizes {sizes:?} commands",
        args.memory_mib,
        args.store.engine().name()
    );
    for n in sizes {
        one_size(args, n)?;
    }
    Ok(())
}

/// A blocking keep-alive HTTP/1.1 connection to the child server.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends one raw request and reads its whole reply; returns the status.
    fn call(&mut self, req: &[u8]) -> anyhow::Result<u16> {
        Ok(self.request(req)?.0)
    }

    /// Sends one raw request and reads its whole reply; returns the status and the body.
    pub fn request(&mut self, req: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        self.stream.write_all(req)?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((status, head, total)) = reply_head(&self.buf)? {
                while self.buf.len() < total {
                    let n = self.stream.read(&mut chunk)?;
                    anyhow::ensure!(n > 0, "connection closed mid-reply");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                let body = self.buf[head..total].to_vec();
                self.buf.drain(..total);
                return Ok((status, body));
            }
            let n = self.stream.read(&mut chunk)?;
            anyhow::ensure!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// The status, the head's length and the whole length (head + body) of the HTTP/1.1 reply at
/// the start of `buf`, once its head is complete (`None` before).
fn reply_head(buf: &[u8]) -> anyhow::Result<Option<(u16, usize, usize)>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end])?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(|| anyhow::anyhow!("reply without content-length"))?;
    Ok(Some((status, end + 4, end + 4 + length)))
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes()
}

/// A `ledger serve` child on `data_dir` (killed if still running when dropped).
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    /// Starts the server and waits for `/readyz`; returns it with the time to ready.
    pub fn start(
        args: &BenchArgs,
        data_dir: &Path,
        log: &Path,
    ) -> anyhow::Result<(Server, Duration)> {
        let port = free_port()?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let started = Instant::now();
        let child = Command::new(std::env::current_exe()?)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--memory-mib", &args.memory_mib.to_string()])
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()?;
        let mut server = Server { child, port };
        loop {
            anyhow::ensure!(
                server.child.try_wait()?.is_none(),
                "the server exited before it was ready; see {}",
                log.display()
            );
            let ready = Client::connect(port)
                .ok()
                .and_then(|mut c| c.call(&get("/readyz")).ok())
                == Some(200);
            if ready {
                return Ok((server, started.elapsed()));
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(3600),
                "not ready within an hour"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rss_mib(&self) -> u64 {
        super::proc_kib(&format!("/proc/{}/status", self.child.id()), "VmRSS:") / 1024
    }

    fn signal(&mut self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill {signal} failed");
        self.child.wait()?;
        Ok(())
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Builds a data dir of the first `n` commands of the mixed stream: the log through the
/// decider (its keyed state in the store), then the projection, then a flush. Not timed.
pub fn build(dir: &Path, n: u64, partitions: u32, store_kind: StoreKind) -> anyhow::Result<u64> {
    let store = store_kind.open(&crate::store_dir(dir))?;
    let state = std::sync::Arc::new(store.decider_state()?);
    let (log, events) = super::replay::build_log(&crate::log_dir(dir), state, n, partitions)?;
    projector::catch_up(log.as_ref(), &store, None, &mut |_| {})?;
    store.flush()?;
    Ok(events)
}

fn one_size(args: &BenchArgs, n: u64) -> anyhow::Result<()> {
    let scratch = Scratch::new(args, "scale")?;
    let data = scratch.path().join("data");
    let server_log = scratch.path().join("server.log");
    let t = Instant::now();
    let events = build(&data, n, args.partitions, args.store)?;
    println!(
        "scale {n} commands → {events} events (data dir built in {:.1?}, not timed below)",
        t.elapsed()
    );

    let (mut server, first_ready) = Server::start(args, &data, &server_log)?;
    let rss_ready = server.rss_mib();
    let groups = (n / 4).max(1);
    let mut client = Client::connect(server.port)?;
    let mut latencies = Vec::with_capacity(QUERIES as usize);
    let mut failures = 0;
    for i in 0..QUERIES {
        let g = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % groups;
        let req = if i % 2 == 0 {
            signed(
                "POST",
                "/occ/http/srv_baas_feeowed_qry",
                Vec::new(),
                workload::fee_owed_query(g),
            )?
        } else {
            signed(
                "POST",
                "/Service/v1/QueryUserArrearages/",
                Vec::new(),
                workload::arrears_query(g),
            )?
        };
        let t = Instant::now();
        if client.call(&req)? != 200 {
            failures += 1;
        }
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let rss_queries = server.rss_mib();
    drop(client);

    server.signal("-TERM")?;
    let (mut server, clean_ready) = Server::start(args, &data, &server_log)?;

    // A stream of new commands, then SIGKILL: the restart folds what the state had not
    // checkpointed and the projector applies what it had not.
    let mut client = Client::connect(server.port)?;
    for i in 0..KILL_STREAM {
        let item = workload::creation(4 * n + i);
        client.call(&signed("POST", item.path, Vec::new(), item.body)?)?;
    }
    drop(client);
    server.signal("-KILL")?;
    let (mut server, killed_ready) = Server::start(args, &data, &server_log)?;
    let rss_after_kill = server.rss_mib();
    server.signal("-TERM")?;

    let log_bytes = dir_bytes(&crate::log_dir(&data));
    let store_bytes = dir_bytes(&crate::store_dir(&data));
    println!(
        "  ready: first start {:.2} s, after a clean stop {:.2} s, after SIGKILL mid-stream {:.2} s",
        first_ready.as_secs_f64(),
        clean_ready.as_secs_f64(),
        killed_ready.as_secs_f64()
    );
    println!(
        "  RSS: {rss_ready} MiB after ready, {rss_queries} MiB after {QUERIES} queries, {rss_after_kill} MiB after the SIGKILL restart"
    );
    println!(
        "  queries over HTTP (fee owed / arrears alternating, one connection): p50 {:.3} ms, p99 {:.3} ms, {failures} non-200",
        pct(50),
        pct(99)
    );
    println!(
        "  disk: log {:.0} bytes/event, read store + decider state {:.0} bytes/event",
        log_bytes as f64 / events as f64,
        store_bytes as f64 / events as f64
    );
    Ok(())
}
