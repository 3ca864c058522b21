//! Load benchmark of the citizen's path: complete ratings (GET the form, POST it, stored
//! durably) per second and their latency, against `hailong serve` on SQLite, and in the same run
//! against a bare baseline: a minimal axum server that parses the form and appends one row to
//! SQLite with group commit. Both servers run as separate processes; the load generator is this
//! process. Results go to standard output as a Markdown table (see BENCHMARKS.md).
//!
//!     cargo bench --bench submit_load -- --seconds 10 --clients 8,32 [--also LABEL=PATH] [--config LABEL=FILE]
//!         [--postgres URL [--postgres-config FILE] [--postgres-limit N]] [--overload FACTOR]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Seconds of measured load per configuration (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients, comma-separated.
    #[arg(long, default_value = "8,32", value_delimiter = ',')]
    clients: Vec<usize>,
    /// Another hailong binary to measure in the same run, as LABEL=PATH (e.g. an older build).
    #[arg(long, value_name = "LABEL=PATH")]
    also: Vec<String>,
    /// A settings file for this build's server only (e.g. `[flags]` turned off), as LABEL=FILE:
    /// this build is measured a second time under LABEL with it.
    #[arg(long, value_name = "LABEL=FILE")]
    config: Vec<String>,
    /// After the closed-loop runs: offer this many times the rate hailong reached (at the last
    /// client count) as arrivals at a fixed rate, for `--overload-seconds`, then half the rate
    /// for 30 s; report each 5 s window and check that every acknowledged rating is stored once.
    #[arg(long)]
    overload: Option<f64>,
    #[arg(long, default_value_t = 120)]
    overload_seconds: u64,
    /// A PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres) where the run makes
    /// a database per client count and measures this build there with one and with two
    /// instances, beside the SQLite rows of the same run.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// With `--postgres`: this build is measured once more with this rate limit (ratings per
    /// minute per address and point, counted in the database), high enough to refuse nothing,
    /// to show what counting it costs. The other runs turn the limit off.
    #[arg(long, value_name = "N")]
    postgres_limit: Option<u32>,
    /// A settings file for the PostgreSQL instances (e.g. the flags off).
    #[arg(long, value_name = "FILE")]
    postgres_config: Option<std::path::PathBuf>,
    /// Internal: run the baseline server on this SQLite file and address.
    #[arg(long, hide = true, num_args = 2, value_names = ["DB", "ADDR"])]
    baseline_server: Option<Vec<String>>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if let Some(server) = args.baseline_server {
        runtime.block_on(baseline::serve(&server[0], server[1].parse().unwrap()));
        return;
    }
    runtime.block_on(run(args));
}

struct Server {
    child: Child,
    base: String,
    slugs: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} did not start");
}

/// Starts a hailong binary on a fresh SQLite file seeded with the demo organisation (through
/// the binary's own commands, so that an older build uses its own schema).
async fn start_hailong(
    binary: &std::path::Path,
    dir: &std::path::Path,
    label: &str,
    config: Option<&std::path::Path>,
) -> Server {
    let url = format!("sqlite://{}", dir.join(format!("{label}.db")).display());
    seed_and_serve(binary, &url, config).await
}

/// Seeds the demo organisation into `url` (through the binary's own commands, so that an older
/// build uses its own schema) and starts `serve` on it.
async fn seed_and_serve(binary: &std::path::Path, url: &str, config: Option<&std::path::Path>) -> Server {
    seed_and_serve_limited(binary, url, config, 0).await
}

/// As [`seed_and_serve`], with `limit` ratings a minute per address and point.
async fn seed_and_serve_limited(
    binary: &std::path::Path,
    url: &str,
    config: Option<&std::path::Path>,
    limit: u32,
) -> Server {
    let run = |args: &[&str]| {
        let out = Command::new(binary)
            .args(args)
            .env("HAILONG_DATABASE_URL", url)
            .env("HAILONG_SIGNING_KEY_FILE", signing_key())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["demo", "--responses", "0"]);
    // Desk and officer points use the one-stop form the load posts.
    let slugs: Vec<String> = run(&["points", "list"])
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells.len() > 3 && !cells[3].is_empty()).then(|| cells[0].to_owned())
        })
        .collect();
    let mut server = serve(binary, url, config, limit).await;
    server.slugs = slugs;
    server
}

/// The signing key every server of the run shares (on PostgreSQL the instances must), made
/// once, as an operator makes it with `hailong keys create`.
fn signing_key() -> &'static std::path::Path {
    static KEY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hailong-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("signing.key");
        hailong::app::trust::load_key(&key, true).unwrap();
        key
    })
}

/// Starts `serve` on a database that is ready, with `limit` ratings a minute per address and
/// point (0: none).
async fn serve(binary: &std::path::Path, url: &str, config: Option<&std::path::Path>, limit: u32) -> Server {
    let port = free_port();
    let mut command = Command::new(binary);
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("HAILONG_DATABASE_URL", url)
        .env("HAILONG_SIGNING_KEY_FILE", signing_key())
        .env("HAILONG_SUBMIT_LIMIT_PER_MINUTE", limit.to_string())
        .env("HAILONG_METRICS_BIND", "127.0.0.1:0")
        .env("HAILONG_LOG", "warn");
    if let Some(config) = config {
        command.env("HAILONG_CONFIG", config);
    }
    let child = command.stdout(Stdio::null()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    Server { child, base, slugs: Vec::new() }
}

async fn start_baseline(dir: &std::path::Path) -> Server {
    let port = free_port();
    let db = dir.join("baseline.db");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--baseline-server", db.to_str().unwrap(), &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    Server { child, base, slugs: (0..39).map(|i| format!("point{i:03}")).collect() }
}

/// Resident memory of a process now and at its peak, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

struct Outcome {
    ratings: usize,
    errors: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

/// `clients` loops of GET form + POST answers, for `seconds` after a one-second warm-up.
async fn load(server: &Server, clients: usize, seconds: u64) -> Outcome {
    load_on(std::slice::from_ref(&server.base), &server.slugs, clients, seconds).await
}

/// As [`load`], the clients taking the servers at `bases` in turn (instances on one database).
async fn load_on(bases: &[String], slugs: &[String], clients: usize, seconds: u64) -> Outcome {
    let slugs = Arc::new(slugs.to_vec());
    let start = Instant::now();
    let warm = start + Duration::from_secs(1);
    let end = warm + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let base = bases[c % bases.len()].clone();
            let slugs = slugs.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                let (mut ratings, mut errors, mut latencies) = (0usize, 0usize, Vec::new());
                let mut i = c;
                loop {
                    let began = Instant::now();
                    if began >= end {
                        break;
                    }
                    let slug = &slugs[i % slugs.len()];
                    i += clients;
                    let ok = rate(&client, &base, slug, i).await;
                    let done = Instant::now();
                    if began >= warm && done <= end {
                        if ok {
                            ratings += 1;
                            latencies.push(done - began);
                        } else {
                            errors += 1;
                        }
                    }
                }
                (ratings, errors, latencies)
            })
        })
        .collect();
    let mut outcome = Outcome { ratings: 0, errors: 0, latencies: Vec::new(), elapsed: Duration::from_secs(seconds) };
    for task in tasks {
        let (r, e, l) = task.await.unwrap();
        outcome.ratings += r;
        outcome.errors += e;
        outcome.latencies.extend(l);
    }
    outcome.latencies.sort_unstable();
    outcome
}

/// One complete rating; true when the server answered the POST with a redirect.
async fn rate(client: &reqwest::Client, base: &str, slug: &str, n: usize) -> bool {
    let Ok(page) = client.get(format!("{base}/s/{slug}")).send().await else { return false };
    let Ok(html) = page.text().await else { return false };
    let Some(key) = html.split("name=\"key\" value=\"").nth(1).and_then(|s| s.split('"').next()) else {
        return false;
    };
    let overall = (n % 5 + 1).to_string();
    let form = [("key", key), ("lang", "vi"), ("website", ""), ("q_hai_long_chung", &overall), ("q_ct7_thai_do", "2")];
    matches!(client.post(format!("{base}/s/{slug}")).form(&form).send().await, Ok(r) if r.status() == 303)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Compressed bytes of the first visit: the form, its stylesheet and its icon.
async fn first_visit_bytes(server: &Server) -> usize {
    let raw = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    let url = format!("{}/s/{}", server.base, server.slugs[0]);
    let get = |url: String| {
        let raw = raw.clone();
        async move { raw.get(url).header("accept-encoding", "br, gzip").send().await.unwrap().bytes().await.unwrap() }
    };
    let html_compressed = get(url.clone()).await;
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let mut total = html_compressed.len();
    for attr in ["rel=\"stylesheet\" href=\"", "rel=\"icon\" type=\"image/svg+xml\" href=\""] {
        let path = html.split(attr).nth(1).and_then(|s| s.split('"').next()).unwrap();
        total += get(format!("{}{path}", server.base)).await.len();
    }
    total
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().unwrap();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("submit_load: {}s per run after 1s warm-up; {cores} cores; SQLite WAL synchronous=FULL", args.seconds);
    println!();
    println!(
        "| server | clients | ratings/s | p50 ms | p99 ms | errors | server CPU µs/rating | RSS after MiB | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut rates: Vec<(String, usize, f64)> = Vec::new();
    let this = std::path::PathBuf::from(env!("CARGO_BIN_EXE_hailong"));
    let others: Vec<(String, std::path::PathBuf)> = args
        .also
        .iter()
        .filter_map(|a| a.split_once('=').map(|(l, p)| (l.to_owned(), std::path::PathBuf::from(p))))
        .collect();
    for clients in &args.clients {
        let run_dir = dir.path().join(format!("c{clients}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let baseline = start_baseline(&run_dir).await;
        let hailong = start_hailong(&this, &run_dir, "hailong", None).await;
        let mut servers = vec![("baseline".to_owned(), baseline), ("hailong".to_owned(), hailong)];
        for (label, path) in &others {
            servers.push((label.clone(), start_hailong(path, &run_dir, label, None).await));
        }
        for (label, file) in args.config.iter().filter_map(|c| c.split_once('=')) {
            let config = std::path::Path::new(file);
            servers.push((label.to_owned(), start_hailong(&this, &run_dir, label, Some(config)).await));
        }
        for (name, server) in servers.iter().map(|(n, s)| (n.as_str(), s)) {
            let cpu_before = cpu_seconds(server.child.id());
            let o = load(server, *clients, args.seconds).await;
            // The CPU of the warm-up second is counted too: a small overestimate for both servers.
            let cpu = cpu_seconds(server.child.id()) - cpu_before;
            let (rss, peak) = memory(server.child.id());
            let rate = o.ratings as f64 / o.elapsed.as_secs_f64();
            rates.push((name.to_owned(), *clients, rate));
            println!(
                "| {name} | {clients} | {rate:.0} | {:.2} | {:.2} | {} | {:.0} | {rss:.1} | {peak:.1} |",
                percentile(&o.latencies, 0.50),
                percentile(&o.latencies, 0.99),
                o.errors,
                cpu * 1e6 / o.ratings.max(1) as f64,
            );
            std::io::stdout().flush().unwrap();
        }
        if *clients == args.clients[0] {
            let bytes = first_visit_bytes(&servers[1].1).await;
            eprintln!("first visit (form + stylesheet + icon), compressed: {bytes} bytes");
        }
    }
    if let Some(server_url) = &args.postgres {
        let admin = hailong::store::Store::admin_postgres(server_url).await.unwrap();
        // Parameters after `?` (sslmode, say) are kept for every database the run makes.
        let (server_only, params) = server_url.split_once('?').map_or((server_url.as_str(), ""), |(u, p)| (u, p));
        let params = if params.is_empty() { String::new() } else { format!("?{params}") };
        let base_url = server_only.rsplit_once('/').map_or(server_only, |(b, _)| b).to_owned();
        // This build, the other builds (each on a database it made itself), and this build with
        // the rate limit counted in the database.
        let mut builds: Vec<(String, std::path::PathBuf, u32)> = vec![("postgres".to_owned(), this.clone(), 0)];
        builds.extend(others.iter().map(|(label, path)| (format!("{label} postgres"), path.clone(), 0)));
        if let Some(limit) = args.postgres_limit {
            builds.push((format!("postgres limit {limit}"), this.clone(), limit));
        }
        for clients in &args.clients {
            for (build, binary, limit) in &builds {
                let name = format!("hailong_bench_{:08x}", rand::random::<u32>());
                admin.create_database(&name).await.unwrap();
                let url = format!("{base_url}/{name}{params}");
                let config = args.postgres_config.as_deref();
                let one = seed_and_serve_limited(binary, &url, config, *limit).await;
                for instances in [1usize, 2] {
                    let extra = if instances == 2 { Some(serve(binary, &url, config, *limit).await) } else { None };
                    let mut bases = vec![one.base.clone()];
                    bases.extend(extra.iter().map(|s| s.base.clone()));
                    let pids: Vec<u32> =
                        std::iter::once(one.child.id()).chain(extra.iter().map(|s| s.child.id())).collect();
                    let cpu_before: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
                    let o = load_on(&bases, &one.slugs, *clients, args.seconds).await;
                    let cpu = pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - cpu_before;
                    let (rss, peak) = memory(one.child.id());
                    let rate = o.ratings as f64 / o.elapsed.as_secs_f64();
                    let label = format!("{build} ×{instances}");
                    rates.push((label.clone(), *clients, rate));
                    println!(
                        "| {label} | {clients} | {rate:.0} | {:.2} | {:.2} | {} | {:.0} | {rss:.1} | {peak:.1} |",
                        percentile(&o.latencies, 0.50),
                        percentile(&o.latencies, 0.99),
                        o.errors,
                        cpu * 1e6 / o.ratings.max(1) as f64,
                    );
                    std::io::stdout().flush().unwrap();
                }
                drop(one);
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = admin.drop_database(&name).await;
            }
        }
    }
    if let Some(factor) = args.overload {
        let clients = *args.clients.last().unwrap();
        let capacity = rates.iter().find(|r| r.0 == "hailong" && r.1 == clients).map_or(100.0, |r| r.2);
        let run_dir = dir.path().join("overload");
        std::fs::create_dir_all(&run_dir).unwrap();
        let server = start_hailong(&this, &run_dir, "overload", None).await;
        overload(&server, &run_dir.join("overload.db"), capacity, factor, args.overload_seconds).await;
    }
    println!();
    for clients in &args.clients {
        let of = |n: &str| rates.iter().find(|r| r.0 == n && r.1 == *clients).map_or(f64::NAN, |r| r.2);
        println!("{clients} clients: hailong / baseline = {:.2}", of("hailong") / of("baseline"));
        for (label, _) in &others {
            println!("{clients} clients: hailong / {label} = {:.2}", of("hailong") / of(label));
        }
        for (label, _) in args.config.iter().filter_map(|c| c.split_once('=')) {
            println!("{clients} clients: hailong / {label} = {:.2}", of("hailong") / of(label));
        }
    }
}

/// What one arrival of the open-loop load became.
struct Arrival {
    started: Duration,
    finished: Duration,
    /// The POST's status; 0 when the form could not be had or no answer came.
    status: u16,
    key: Option<String>,
}

/// Open-loop load: arrivals at `rate` per second for `seconds`, each a complete rating started
/// whether or not the earlier ones are done (at most 20,000 in flight).
async fn arrivals(server: &Server, rate: f64, seconds: f64, t0: Instant) -> Vec<Arrival> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let slugs = Arc::new(server.slugs.clone());
    let begin = Instant::now();
    let total = (rate * seconds) as usize;
    let mut tasks = Vec::with_capacity(total);
    let inflight = Arc::new(tokio::sync::Semaphore::new(20_000));
    for n in 0..total {
        let due = begin + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (client, base, slugs, inflight) = (client.clone(), server.base.clone(), slugs.clone(), inflight.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = inflight.acquire_owned().await.unwrap();
            let started = t0.elapsed();
            let slug = &slugs[n % slugs.len()];
            let mut arrival = Arrival { started, finished: started, status: 0, key: None };
            if let Ok(page) = client.get(format!("{base}/s/{slug}")).send().await
                && let Ok(html) = page.text().await
                && let Some(key) = html.split("name=\"key\" value=\"").nth(1).and_then(|s| s.split('"').next())
            {
                let overall = (n % 5 + 1).to_string();
                let form = [("key", key), ("q_hai_long_chung", overall.as_str())];
                if let Ok(r) = client.post(format!("{base}/s/{slug}")).form(&form).send().await {
                    arrival.status = r.status().as_u16();
                }
                arrival.key = Some(key.to_owned());
            }
            arrival.finished = t0.elapsed();
            arrival
        }));
    }
    let mut out = Vec::with_capacity(total);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Offers `factor` × `capacity` ratings a second for `seconds`, then half the capacity for 30 s,
/// and prints what each 5 s window of arrivals became; then checks the acknowledged are stored.
async fn overload(server: &Server, db: &std::path::Path, capacity: f64, factor: f64, seconds: u64) {
    let t0 = Instant::now();
    let mut all = arrivals(server, capacity * factor, seconds as f64, t0).await;
    all.extend(arrivals(server, capacity * 0.5, 30.0, t0).await);
    println!();
    println!(
        "overload: {factor}× the measured {capacity:.0} ratings/s for {seconds} s, then 0.5× for 30 s (arrivals at a fixed rate)"
    );
    println!();
    println!("| window s | offered/s | stored (303)/s | refused 503 | refused 429 | failed | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    let end = all.iter().map(|a| a.started.as_secs()).max().unwrap_or(0);
    let mut w = 0;
    while w <= end {
        let mut window: Vec<&Arrival> = all.iter().filter(|a| (w..w + 5).contains(&a.started.as_secs())).collect();
        window.sort_by_key(|a| a.finished - a.started);
        let count = |s: u16| window.iter().filter(|a| a.status == s).count();
        let mut lat: Vec<Duration> =
            window.iter().filter(|a| a.status == 303).map(|a| a.finished - a.started).collect();
        lat.sort_unstable();
        println!(
            "| {w}–{} | {:.0} | {:.0} | {} | {} | {} | {:.0} | {:.0} |",
            w + 5,
            window.len() as f64 / 5.0,
            count(303) as f64 / 5.0,
            count(503),
            count(429),
            window.iter().filter(|a| !matches!(a.status, 303 | 503 | 429)).count(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
        );
        w += 5;
    }
    let acknowledged: Vec<&str> = all.iter().filter(|a| a.status == 303).filter_map(|a| a.key.as_deref()).collect();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT idempotency_key FROM responses").fetch_all(&pool).await.unwrap();
    let stored: std::collections::HashSet<String> = stored.into_iter().collect();
    let lost = acknowledged.iter().filter(|k| !stored.contains(**k)).count();
    println!();
    println!("acknowledged {}, stored {}, acknowledged but not stored: {lost}", acknowledged.len(), stored.len());
}

/// The bare baseline: parse the form, append one row with group commit, redirect.
mod baseline {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::str::FromStr;

    use axum::Router;
    use axum::extract::{Form, Path, State};
    use axum::response::{Html, IntoResponse, Redirect};
    use axum::routing::get;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    use tokio::sync::{mpsc, oneshot};

    type Job = (String, String, oneshot::Sender<bool>);

    pub async fn serve(db: &str, addr: SocketAddr) {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{db}"))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS ratings (id INTEGER PRIMARY KEY, slug TEXT, body TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            let mut jobs = Vec::new();
            while rx.recv_many(&mut jobs, 512).await > 0 {
                let mut t = pool.begin().await.unwrap();
                for (slug, body, _) in &jobs {
                    sqlx::query("INSERT INTO ratings (slug, body) VALUES ($1, $2)")
                        .bind(slug)
                        .bind(body)
                        .execute(&mut *t)
                        .await
                        .unwrap();
                }
                t.commit().await.unwrap();
                for (_, _, reply) in jobs.drain(..) {
                    let _ = reply.send(true);
                }
            }
        });
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/s/{slug}", get(form).post(submit))
            .with_state(tx);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    }

    async fn form(Path(slug): Path<String>) -> Html<String> {
        Html(format!(
            "<form method=post action=/s/{slug}><input name=\"key\" value=\"k{}\"><button>Gửi</button></form>",
            rand::random::<u64>()
        ))
    }

    async fn submit(
        State(tx): State<mpsc::Sender<Job>>,
        Path(slug): Path<String>,
        Form(form): Form<HashMap<String, String>>,
    ) -> axum::response::Response {
        let (reply, done) = oneshot::channel();
        let body = serde_json::to_string(&form).unwrap();
        if tx.try_send((slug.clone(), body, reply)).is_err() || done.await != Ok(true) {
            return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Redirect::to(&format!("/s/{slug}/ok")).into_response()
    }
}
