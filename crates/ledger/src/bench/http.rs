//! `http-command` and `http-query`: the real router over the embedded engine, served by axum
//! in this process, driven by a built-in HTTP/1.1 load client (tokio, one keep-alive TCP
//! connection per client, each sending its next request when the previous reply is complete,
//! like `wrk`). Baseline: trivial axum handlers in the same binary, same client, same requests.

use super::{BenchArgs, Scratch, median, per_second, workload};
use crate::engine::Engine;
use axum::Router;
use axum::routing::any;
use ledger_api::AppState;
use ledger_api::bus::CommandBus;
use ledger_log::EmbeddedLog;
use ledger_store::ReadStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Builds request number `i` as raw HTTP/1.1 bytes.
type MakeRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

pub fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    // BaaS requests are signed as a client would, with the demo credentials the bench server
    // runs with (see ledger_api::auth).
    let signed;
    let headers = if headers == workload::BAAS_HEADERS {
        use ledger_api::auth::{demo, md5_hex};
        let req_time = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
        let sign = md5_hex(&[
            req_time.as_bytes(),
            demo::BAAS_APPKEY.as_bytes(),
            body,
            demo::BAAS_SECRET.as_bytes(),
        ]);
        signed = format!(
            "appkey: {}\r\nreq-time: {req_time}\r\nsign: {sign}\r\n",
            demo::BAAS_APPKEY
        );
        signed.as_str()
    } else {
        headers
    };
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// The status and the whole length (head + body) of the HTTP/1.1 reply at the start of `buf`,
/// once its head is complete (`None` before).
pub fn reply_head(buf: &[u8]) -> anyhow::Result<Option<(u16, usize)>> {
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
    Ok(Some((status, end + 4 + length)))
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Sends one request and reads its whole reply; returns the status.
    async fn call(&mut self, req: &[u8]) -> anyhow::Result<u16> {
        self.stream.write_all(req).await?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((status, total)) = reply_head(&self.buf)? {
                while self.buf.len() < total {
                    let n = self.stream.read(&mut chunk).await?;
                    anyhow::ensure!(n > 0, "connection closed mid-reply");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                self.buf.drain(..total);
                return Ok(status);
            }
            let n = self.stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// What one timed load run measured.
pub struct Load {
    pub requests: u64,
    pub non_2xx: u64,
    pub elapsed: Duration,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Load {
    pub fn rps(&self) -> f64 {
        per_second(self.requests, self.elapsed)
    }
}

/// Runs `connections` clients against `addr` for `duration`; request numbers come from `next`.
async fn load(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    make: MakeRequest,
    next: Arc<AtomicU64>,
) -> anyhow::Result<Load> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let make = make.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut conn = Conn {
                stream,
                buf: Vec::new(),
            };
            let mut latencies_us: Vec<u32> = Vec::new();
            let mut non_2xx = 0u64;
            while Instant::now() < deadline {
                let req = make(next.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let status = conn.call(&req).await?;
                latencies_us.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if !(200..300).contains(&status) {
                    non_2xx += 1;
                }
            }
            anyhow::Ok((latencies_us, non_2xx))
        });
    }
    let mut all = Vec::new();
    let mut non_2xx = 0;
    while let Some(r) = tasks.join_next().await {
        let (lat, bad) = r??;
        all.extend(lat);
        non_2xx += bad;
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    let pct = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    Ok(Load {
        requests: all.len() as u64,
        non_2xx,
        elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}

/// The baseline server: any method on any path reads the body and answers a small JSON.
fn trivial_router() -> Router {
    Router::new().fallback(any(|body: axum::body::Bytes| async move {
        std::hint::black_box(body.len());
        axum::Json(serde_json::json!({"CODE": 0, "MESSAGE": ""}))
    }))
}

/// A server runtime (2 workers, like `ledger serve` on this machine) and a client runtime.
struct Rig {
    server: tokio::runtime::Runtime,
    client: tokio::runtime::Runtime,
}

impl Rig {
    fn new() -> anyhow::Result<Rig> {
        Ok(Rig {
            server: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("bench-server")
                .enable_all()
                .build()?,
            client: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("bench-client")
                .enable_all()
                .build()?,
        })
    }

    fn serve(&self, router: Router) -> anyhow::Result<SocketAddr> {
        let listener = self
            .server
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        // The production edge (accept loop, timeouts, connection limit), for the ledger and the
        // baseline alike.
        self.server.spawn(async move {
            let limits = ledger_api::edge::EdgeConfig::default();
            ledger_api::edge::serve(listener, router, &limits, std::future::pending()).await;
        });
        Ok(addr)
    }
}

/// The ledger's router over a fresh embedded engine.
fn ledger_app(args: &BenchArgs, dir: &Scratch) -> anyhow::Result<(Arc<Engine>, Router)> {
    let log = Arc::new(EmbeddedLog::open_or_create(
        &dir.path().join("log"),
        args.partitions,
    )?);
    let store = Arc::new(ReadStore::open(&dir.path().join("store"))?);
    let metrics = Arc::new(ledger_api::Metrics::new());
    let engine = Arc::new(Engine::start(log, store.clone(), metrics.clone())?);
    let router = ledger_api::router(AppState {
        bus: engine.clone(),
        store,
        clock: Arc::new(crate::clock::SystemClock),
        command_wait: Duration::from_secs(5),
        metrics,
        auth: Arc::new(ledger_api::auth::AuthConfig::default()),
        edge: Arc::default(),
        timezone: ledger_api::host_timezone(),
        anchor: None,
    });
    Ok((engine, router))
}

fn print_load(label: &str, l: &Load) {
    println!(
        "    {label:<9} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {} non-2xx)",
        l.rps(),
        l.p50_ms,
        l.p99_ms,
        l.requests,
        l.non_2xx
    );
}

/// Alternates baseline and ledger runs; prints each and the medians.
fn compare(
    args: &BenchArgs,
    rig: &Rig,
    ledger: (SocketAddr, MakeRequest),
    trivial: (SocketAddr, MakeRequest),
    target: &str,
) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let next = Arc::new(AtomicU64::new(0));
    let (mut figure, mut baseline) = (Vec::new(), Vec::new());
    for run in 0..args.runs.max(1) {
        println!("  run {}", run + 1);
        let b = rig.client.block_on(load(
            trivial.0,
            args.connections,
            duration,
            trivial.1.clone(),
            Arc::new(AtomicU64::new(0)),
        ))?;
        print_load("trivial", &b);
        let f = rig.client.block_on(load(
            ledger.0,
            args.connections,
            duration,
            ledger.1.clone(),
            next.clone(),
        ))?;
        print_load("ledger", &f);
        baseline.push(b);
        figure.push(f);
    }
    let med = |runs: &[Load], f: fn(&Load) -> f64| median(runs.iter().map(f).collect());
    let (f_rps, b_rps) = (med(&figure, Load::rps), med(&baseline, Load::rps));
    println!(
        "  figure:   {f_rps:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  (ledger, median of {})",
        med(&figure, |l| l.p50_ms),
        med(&figure, |l| l.p99_ms),
        args.runs
    );
    println!(
        "  baseline: {b_rps:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  (trivial axum handler, median of {})",
        med(&baseline, |l| l.p50_ms),
        med(&baseline, |l| l.p99_ms),
        args.runs
    );
    println!(
        "  ratio:    {:>9.3}  (target {target})",
        f_rps / b_rps.max(1e-9)
    );
    Ok(())
}

pub fn run_command(args: &BenchArgs) -> anyhow::Result<()> {
    println!(
        "http-command: BaaS bills and utility charges (seed formats), {} connections, {} s per run, built-in tokio HTTP/1.1 client, synchronous replies (durable + projected)",
        args.connections, args.seconds
    );
    let rig = Rig::new()?;
    let dir = Scratch::new(args, "http-command")?;
    let (engine, router) = rig.server.block_on(async { ledger_app(args, &dir) })?;
    let ledger_addr = rig.serve(router)?;
    let trivial_addr = rig.serve(trivial_router())?;
    let make: MakeRequest = Arc::new(|i| {
        let item = workload::creation(i);
        post(item.path, item.headers, &item.body)
    });
    compare(
        args,
        &rig,
        (ledger_addr, make.clone()),
        (trivial_addr, make),
        "≥ 10k req/s and p99 ≤ 10 ms",
    )?;
    let log_events: u64 = engine.log_ends().iter().sum();
    println!("  log holds {log_events} events after the runs");
    drop(rig);
    Ok(())
}

pub fn run_query(args: &BenchArgs) -> anyhow::Result<()> {
    let seeded = args.n.unwrap_or(100_000);
    let groups = (seeded / 4).max(1);
    println!(
        "http-query: BaaS fee-owed and utility arrears queries (alternating, random customers/accounts) over {seeded} seeded commands, {} connections, {} s per run, built-in tokio HTTP/1.1 client",
        args.connections, args.seconds
    );
    let rig = Rig::new()?;
    let dir = Scratch::new(args, "http-query")?;
    let (engine, router) = rig.server.block_on(async { ledger_app(args, &dir) })?;
    let subs = super::ingest::prepare(seeded, false)?;
    let refused = rig
        .server
        .block_on(super::ingest::submit_all(engine.clone(), subs, 1000))?;
    let ends = engine.log_ends();
    while engine
        .applied_positions()
        .iter()
        .zip(&ends)
        .any(|(a, e)| a < e)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "  seeded {seeded} commands ({refused} refused), {} events",
        ends.iter().sum::<u64>()
    );
    let ledger_addr = rig.serve(router)?;
    let trivial_addr = rig.serve(trivial_router())?;
    let make: MakeRequest = Arc::new(move |i| {
        // A multiplicative hash spreads the requests over every customer and account.
        let g = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % groups;
        if i % 2 == 0 {
            post(
                "/occ/http/srv_baas_feeowed_qry",
                workload::BAAS_HEADERS,
                &workload::fee_owed_query(g),
            )
        } else {
            post(
                "/Service/v1/QueryUserArrearages/",
                "",
                &workload::arrears_query(g),
            )
        }
    });
    compare(
        args,
        &rig,
        (ledger_addr, make.clone()),
        (trivial_addr, make),
        "ratio ≥ 0.5 and p99 ≤ 5 ms",
    )?;
    drop(rig);
    Ok(())
}
