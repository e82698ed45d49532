//! `scale`: at each log size, the query latency (the handlers' work without HTTP: store scan,
//! core arithmetic, reply JSON), the process RSS and the disk bytes per event of the log and of
//! the read store. Each size runs in its own child process so RSS is not inherited.

use super::{BenchArgs, Scratch, dir_bytes, median, rss_mib, workload};
use crate::engine::projector;
use ledger_core::baas::{Window, fee_owed};
use ledger_store::ReadStore;
use ledger_wire::Fields;
use std::time::Instant;

const QUERIES: u64 = 20_000;

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match args.n {
        Some(n) => one_size(args, n),
        None => {
            for n in [100_000u64, 1_000_000] {
                let exe = std::env::current_exe()?;
                let mut cmd = std::process::Command::new(exe);
                cmd.args(["bench", "scale", "--n", &n.to_string()])
                    .args(["--partitions", &args.partitions.to_string()]);
                if let Some(dir) = &args.dir {
                    cmd.arg("--dir").arg(dir);
                }
                let status = cmd.status()?;
                anyhow::ensure!(status.success(), "scale run at {n} failed");
            }
            Ok(())
        }
    }
}

/// One query as the handlers run it, minus HTTP; returns the reply's JSON length.
fn query(store: &ReadStore, g: u64, baas: bool) -> anyhow::Result<usize> {
    if baas {
        let fields =
            Fields::parse(&workload::fee_owed_query(g)).map_err(|r| anyhow::anyhow!("{r:?}"))?;
        let q = ledger_wire::baas::decode_fee_owed_query(&fields)
            .map_err(|r| anyhow::anyhow!("{r:?}"))?;
        let window =
            Window::with_defaults(q.begin_date, q.end_date, chrono::Local::now().naive_local())
                .map_err(|r| anyhow::anyhow!("{r:?}"))?;
        let (bills, usage) = ledger_store::baas::customer(store, &q.tenant_id, &q.ext_cust_id)?;
        let owed = fee_owed(&bills, &usage, q.service_id.as_deref(), window)
            .ok_or_else(|| anyhow::anyhow!("customer {g} unknown"))?;
        Ok(serde_json::to_vec(&ledger_wire::baas::fee_owed_reply(&q, window, &owed))?.len())
    } else {
        let fields =
            Fields::parse(&workload::arrears_query(g)).map_err(|r| anyhow::anyhow!("{r:?}"))?;
        let q = ledger_wire::utility::decode_arrears_query(&fields)
            .map_err(|r| anyhow::anyhow!("{r:?}"))?;
        let listed: Vec<_> = ledger_store::utility::records(store, &q.sys_head.account_did)?
            .into_iter()
            .filter(|r| q.filter.lists(r))
            .collect();
        Ok(serde_json::to_vec(&ledger_wire::utility::RecordsReply::new(&listed))?.len())
    }
}

fn one_size(args: &BenchArgs, n: u64) -> anyhow::Result<()> {
    let scratch = Scratch::new(args, "scale")?;
    let t = Instant::now();
    let store = ReadStore::open(&scratch.path().join("store"))?;
    let state = std::sync::Arc::new(store.decider_state()?);
    let (log, events) = super::replay::build_log(
        &scratch.path().join("log"),
        state.clone(),
        n,
        args.partitions,
    )?;
    projector::catch_up(log.as_ref(), &store, None, &mut |_| {})?;
    store.flush()?;
    let build = t.elapsed();
    // What a serving node holds: the decider's state folded from the whole log.
    let decider = crate::engine::writer::Decider::recover(
        log.clone(),
        state,
        (0..args.partitions).collect(),
        std::sync::Arc::new(ledger_api::Metrics::new()),
    )?;
    let groups = (n / 4).max(1);
    let mut latencies = Vec::with_capacity(QUERIES as usize);
    let mut reply_bytes = 0;
    for i in 0..QUERIES {
        let g = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % groups;
        let t = Instant::now();
        reply_bytes += query(&store, g, i % 2 == 0)?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    let log_bytes = dir_bytes(&scratch.path().join("log"));
    let store_bytes = dir_bytes(&scratch.path().join("store"));
    println!("scale: {n} commands → {events} events (built and projected in {build:.1?})");
    println!(
        "  query latency (fee-owed / arrears alternating, in process, {QUERIES} queries): p50 {:.3} ms, p99 {p99:.3} ms; mean reply {} bytes",
        median(latencies.clone()),
        reply_bytes / QUERIES as usize
    );
    println!(
        "  RSS {} MiB (log and store open, decider state recovered; the build ran in this process too, so an upper bound)",
        rss_mib()
    );
    drop(decider);
    println!(
        "  disk: log {:.1} MiB = {:.0} bytes/event; read store {:.1} MiB = {:.0} bytes/event",
        log_bytes as f64 / 1048576.0,
        log_bytes as f64 / events.max(1) as f64,
        store_bytes as f64 / 1048576.0,
        store_bytes as f64 / events.max(1) as f64
    );
    Ok(())
}
