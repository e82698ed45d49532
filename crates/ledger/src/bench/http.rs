//! `http-command` and `http-query`: a `ledger serve` child process (the serve path itself:
//! default config, demo credentials, the production edge, the embedded engine) on a scratch
//! data dir, loaded by `wrk -t2 -c<connections>` ([`super::wrk`]) with pre-generated, signed
//! requests. Baseline: `GET /healthz` of the same server in the same run, before the paths of
//! each run; figures are medians of `--runs`.
//!
//! Commands are unique (each request a new BaaS bill or utility charge; a run that ran out of
//! them says so) and answered once durable and projected. Queries run on a data dir of `--n`
//! commands of the mixed stream (default 1M, built before the server starts, not timed) plus a
//! property community and a call-center city seeded over HTTP.

use super::scale::{Client, Server};
use super::{BenchArgs, Scratch, median, workload, wrk};
use std::path::Path;

/// A request signed as `ledger call` signs it (demo credentials, `req-time` now), as raw bytes.
pub fn signed(
    method: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> anyhow::Result<Vec<u8>> {
    let req_time = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
    let auth = ledger_api::auth::AuthConfig::default();
    let (headers, body) = crate::call::sign(&auth, path, &req_time, headers, body)?;
    Ok(wrk::raw(method, path, &headers, &body))
}

fn signed_call(call: workload::Call) -> anyhow::Result<Vec<u8>> {
    signed(call.method, &call.path, call.headers, call.body)
}

fn signed_item(item: workload::Item) -> anyhow::Result<Vec<u8>> {
    signed("POST", item.path, Vec::new(), item.body)
}

/// One path under load: how its `i`-th request is made, and its target.
struct Load {
    label: &'static str,
    path: &'static str,
    make: Box<dyn Fn(u64) -> anyhow::Result<Vec<u8>>>,
    /// The command type whose accepted count `/metrics` shows (commands only).
    command_type: Option<&'static str>,
    target_ratio: f64,
    target_p99_ms: f64,
}

/// Requests written per second of a run: above any rate this machine reaches, so unique
/// commands do not run out (a run that does reports `wrapped`).
const REQUESTS_PER_SECOND: u64 = 20_000;
/// Distinct requests of a query path (repeats are fine for queries).
const QUERY_REQUESTS: u64 = 20_000;

pub fn run_command(args: &BenchArgs) -> anyhow::Result<()> {
    wrk::ensure_installed()?;
    println!(
        "http-command: unique utility charges and BaaS bills (seed formats), wrk -t{} -c{} -d{}s, {} runs; `ledger serve` child on an empty data dir; replies durable + projected",
        wrk::THREADS,
        args.connections,
        args.seconds,
        args.runs
    );
    let scratch = Scratch::new(args, "http-command")?;
    let (server, _) = Server::start(
        args,
        &scratch.path().join("data"),
        &scratch.path().join("server.log"),
    )?;
    let loads = vec![
        Load {
            label: "utility charges (POST /Service/v1/Charges/)",
            path: "/Service/v1/Charges/",
            make: Box::new(|i| signed_item(workload::item(4 * i + 1))),
            command_type: Some("utility.charge.post"),
            target_ratio: 0.3,
            target_p99_ms: 10.0,
        },
        Load {
            label: "BaaS bills (POST /occ/http/baas/bills)",
            path: "/occ/http/baas/bills",
            make: Box::new(|i| signed_item(workload::item(4 * i))),
            command_type: Some("baas.bill.post"),
            target_ratio: 0.3,
            target_p99_ms: 10.0,
        },
    ];
    let per_run = args.seconds * REQUESTS_PER_SECOND;
    compare(args, &server, scratch.path(), &loads, per_run)
}

pub fn run_query(args: &BenchArgs) -> anyhow::Result<()> {
    wrk::ensure_installed()?;
    let n = args.n.unwrap_or(1_000_000);
    println!(
        "http-query: BaaS fee owed, utility arrears, call-center summary, property listFee over {n} commands of the mixed stream + {} rooms + {} calls, wrk -t{} -c{} -d{}s, {} runs; `ledger serve` child",
        workload::ROOMS,
        workload::CALLS,
        wrk::THREADS,
        args.connections,
        args.seconds,
        args.runs
    );
    let scratch = Scratch::new(args, "http-query")?;
    let data = scratch.path().join("data");
    let t = std::time::Instant::now();
    let events = super::scale::build(&data, n, args.partitions, args.store)?;
    println!(
        "  data dir: {n} commands → {events} events, built in {:.1?} (not timed)",
        t.elapsed()
    );
    let (server, _) = Server::start(args, &data, &scratch.path().join("server.log"))?;
    let t = std::time::Instant::now();
    let mut client = Client::connect(server.port)?;
    let seed: Vec<workload::Call> = workload::property_seed()
        .into_iter()
        .chain(workload::callcenter_seed())
        .collect();
    let seeded = seed.len();
    for call in seed {
        let path = call.path.clone();
        let (status, body) = client.request(&signed_call(call)?)?;
        refused(&path, status, &body)?;
    }
    println!(
        "  seeded {seeded} property and call-center commands over HTTP in {:.1?}",
        t.elapsed()
    );
    let groups = (n / 4).max(1);
    // A multiplicative hash spreads the requests over every customer, account and room.
    let spread = move |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % groups;
    let loads = vec![
        Load {
            label: "utility arrears (POST /Service/v1/QueryUserArrearages/)",
            path: "/Service/v1/QueryUserArrearages/",
            make: Box::new(move |i| {
                signed(
                    "POST",
                    "/Service/v1/QueryUserArrearages/",
                    Vec::new(),
                    workload::arrears_query(spread(i)),
                )
            }),
            command_type: None,
            target_ratio: 0.6,
            target_p99_ms: 5.0,
        },
        Load {
            label: "BaaS fee owed (POST /occ/http/srv_baas_feeowed_qry)",
            path: "/occ/http/srv_baas_feeowed_qry",
            make: Box::new(move |i| {
                signed(
                    "POST",
                    "/occ/http/srv_baas_feeowed_qry",
                    Vec::new(),
                    workload::fee_owed_query(spread(i)),
                )
            }),
            command_type: None,
            target_ratio: 0.6,
            target_p99_ms: 5.0,
        },
        Load {
            label: "call-center summary, populated city (GET /api/bill/summary)",
            path: "/api/bill/summary",
            make: Box::new(|_| signed_call(workload::summary_query())),
            command_type: None,
            target_ratio: 0.6,
            target_p99_ms: 5.0,
        },
        Load {
            label: "property listFee (GET /app/fee.listFee)",
            path: "/app/fee.listFee",
            make: Box::new(|i| signed_call(workload::list_fee_query(i))),
            command_type: None,
            target_ratio: 0.6,
            target_p99_ms: 5.0,
        },
    ];
    for load in &loads {
        let (status, body) = client.request(&(load.make)(0)?)?;
        refused(load.path, status, &body)?;
        println!(
            "  probe {}: {status}, {} bytes of reply",
            load.path,
            body.len()
        );
    }
    drop(client);
    compare(args, &server, scratch.path(), &loads, QUERY_REQUESTS)
}

/// An error when the reply is a refusal (an HTTP error or the family's failure envelope).
fn refused(path: &str, status: u16, body: &[u8]) -> anyhow::Result<()> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    match crate::call::refusal(crate::call::Family::of(path), status, json.as_ref()) {
        Some(why) => anyhow::bail!(
            "{path}: {status} {why}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        ),
        None => Ok(()),
    }
}

/// `perf record -g` of the server while one path runs (`--perf`).
struct Profile(std::process::Child);

impl Profile {
    fn start(pid: u32, dir: &Path, path: &str, run: usize) -> anyhow::Result<Profile> {
        std::fs::create_dir_all(dir)?;
        let name: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let out = dir.join(format!("perf{name}-{}.data", run + 1));
        let child = std::process::Command::new("perf")
            .args(["record", "-g", "-q", "-p", &pid.to_string(), "-o"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("--perf: cannot run perf: {e}"))?;
        Ok(Profile(child))
    }

    /// Stops the recording (SIGINT, as Ctrl-C) and waits for perf to write its file.
    fn stop(mut self) -> anyhow::Result<()> {
        std::process::Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()?;
        self.0.wait()?;
        Ok(())
    }
}

/// Accepted commands of `command_type` so far, from the server's `/metrics` (on a connection
/// of its own: one kept idle through a run would outlive the server's idle timeout).
fn accepted(port: u16, command_type: &str) -> anyhow::Result<u64> {
    let (_, body) = Client::connect(port)?.request(&wrk::raw("GET", "/metrics", &[], b""))?;
    let text = String::from_utf8_lossy(&body);
    let label = format!("type=\"{command_type}\"");
    Ok(text
        .lines()
        .filter(|l| {
            l.starts_with("ledger_commands_total{")
                && l.contains(&label)
                && l.contains("verdict=\"accepted\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum())
}

/// CPU time the process `pid` has used so far, all threads, user + system, in µs (from
/// `/proc/PID/stat`, in USER_HZ ticks: 100 a second on Linux x86-64).
fn cpu_us(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces), from field 3 on: utime is field
    // 14 and stime field 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/stat: unexpected format"))?;
    let field = |n: usize| -> anyhow::Result<u64> {
        rest.split_whitespace()
            .nth(n - 3)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/stat: no field {n}"))
    };
    Ok((field(14)? + field(15)?) * 10_000)
}

/// A wrk run with the server's CPU time per reply during it: what the server spends on one
/// request, which the other processes on a shared machine change far less than req/s.
struct Measured {
    run: wrk::Run,
    cpu_us_per_request: f64,
}

/// Runs wrk on `url` and measures the server's CPU time across the run.
fn measured(
    pid: u32,
    script: &Path,
    url: &str,
    requests: Option<&Path>,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Measured> {
    let cpu_before = cpu_us(pid)?;
    let run = wrk::run(script, url, requests, connections, seconds)?;
    let cpu = cpu_us(pid)?.saturating_sub(cpu_before);
    Ok(Measured {
        cpu_us_per_request: cpu as f64 / run.requests.max(1) as f64,
        run,
    })
}

/// Prints one wrk run; `unique`: its requests must not repeat (commands).
fn print_run(label: &str, m: &Measured, unique: bool) {
    let r = &m.run;
    println!(
        "    {label:<34} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  server CPU {:>5.0} µs/request  ({} requests, {} non-2xx, {} socket errors{})",
        r.rps(),
        r.p50_ms(),
        r.p99_ms(),
        m.cpu_us_per_request,
        r.requests,
        r.non_2xx,
        r.socket_errors,
        if unique && r.wrapped > 0 {
            format!(", RAN OUT of requests {} times: repeats", r.wrapped)
        } else {
            String::new()
        }
    );
}

/// Each run: the /healthz baseline, then every path (a fresh request file each); then the
/// medians per path against the median baseline.
fn compare(
    args: &BenchArgs,
    server: &Server,
    dir: &Path,
    loads: &[Load],
    per_run: u64,
) -> anyhow::Result<()> {
    let loads: Vec<&Load> = loads
        .iter()
        .filter(|l| args.paths.is_empty() || args.paths.iter().any(|p| l.path.contains(p)))
        .collect();
    anyhow::ensure!(
        !loads.is_empty(),
        "--paths {:?} names none of this scenario's paths",
        args.paths
    );
    let script = wrk::script(dir)?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let mut baseline = Vec::new();
    let mut figures: Vec<Vec<Measured>> = loads.iter().map(|_| Vec::new()).collect();
    let mut next = 0u64;
    for run in 0..args.runs.max(1) {
        println!("  run {}", run + 1);
        let b = measured(
            server.pid(),
            &script,
            &format!("{base}/healthz"),
            None,
            args.connections,
            args.seconds,
        )?;
        print_run("GET /healthz", &b, false);
        baseline.push(b);
        for (&load, runs) in loads.iter().zip(&mut figures) {
            let file = dir.join("requests");
            let first = if load.command_type.is_some() { next } else { 0 };
            wrk::write_requests(&file, (first..first + per_run).map(|i| (load.make)(i)))?;
            let before = match load.command_type {
                Some(t) => accepted(server.port, t)?,
                None => 0,
            };
            let profile = match &args.perf {
                Some(out) => Some(Profile::start(server.pid(), out, load.path, run)?),
                None => None,
            };
            let r = measured(
                server.pid(),
                &script,
                &format!("{base}{}", load.path),
                Some(&file),
                args.connections,
                args.seconds,
            );
            if let Some(profile) = profile {
                profile.stop()?;
            }
            let r = r?;
            print_run(load.path, &r, load.command_type.is_some());
            if let Some(t) = load.command_type {
                println!(
                    "      accepted during the run: {} (wrk counted {} replies)",
                    accepted(server.port, t)? - before,
                    r.run.requests
                );
                next += per_run;
            }
            std::fs::remove_file(&file)?;
            runs.push(r);
        }
    }
    let med = |runs: &[Measured], f: fn(&wrk::Run) -> f64| {
        median(runs.iter().map(|m| f(&m.run)).collect())
    };
    let cpu = |runs: &[Measured]| median(runs.iter().map(|m| m.cpu_us_per_request).collect());
    let b_rps = med(&baseline, wrk::Run::rps);
    println!(
        "  baseline GET /healthz: {b_rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, server CPU {:.0} µs/request (median of {})",
        med(&baseline, wrk::Run::p50_ms),
        med(&baseline, wrk::Run::p99_ms),
        cpu(&baseline),
        baseline.len()
    );
    println!("  | path | req/s | p50 ms | p99 ms | ratio to /healthz | target | met? |");
    for (load, runs) in loads.iter().zip(&figures) {
        let (rps, p50, p99) = (
            med(runs, wrk::Run::rps),
            med(runs, wrk::Run::p50_ms),
            med(runs, wrk::Run::p99_ms),
        );
        let ratio = rps / b_rps.max(1e-9);
        let met = ratio >= load.target_ratio && p99 <= load.target_p99_ms;
        println!(
            "  | {} | {rps:.0} | {p50:.2} | {p99:.2} | {ratio:.2} | ≥ {} × /healthz, p99 ≤ {} ms | {} |",
            load.label,
            load.target_ratio,
            load.target_p99_ms,
            if met { "yes" } else { "no" }
        );
    }
    for (load, runs) in loads.iter().zip(&figures) {
        println!(
            "  server CPU per request, {}: {:.0} µs (median; /healthz {:.0} µs)",
            load.path,
            cpu(runs),
            cpu(&baseline)
        );
    }
    Ok(())
}
