//! The benchmark: a full audit of synthetic clusters served live with a per-request delay,
//! gpu-preflight against the runbook's kubectl way and against the lower bound.
//!
//!   bench [--sizes 100,1000,5000] [--runs 5] [--delay-ms 20] [--bin PATH] [--out bench/results.md]
//!   bench --sizes 5000 --serve DIR        # serve only, for profiling a live run by hand
//!   bench --sizes 5000 --snapshots-to DIR # write the snapshot and kubectl dumps only
//!   bench --offline-only                  # offline checks only: own snapshot, kubectl dumps
//!   bench --node-facts-only               # only the node-facts rows (--node-facts cluster)
//!   bench --no-node-facts                 # without them
//!   bench --serve-mode --sizes 100,1000   # `gpu-preflight serve`: ready, re-audit, RSS, events, scrape
//!
//! Run it through `bench/run`, which builds release binaries first.

use gpu_preflight_testkit::apiserver::{ApiServer, Config};
use gpu_preflight_testkit::synth;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: bench [--sizes 100,1000,5000] [--runs 5] [--delay-ms 20] [--bin PATH] [--out bench/results.md]
       bench --sizes 5000 --serve DIR        serve only, for profiling a live run by hand
       bench --sizes 5000 --snapshots-to DIR write the snapshot and kubectl dumps only
       bench --offline-only                  offline checks only: own snapshot, kubectl dumps
       bench --node-facts-only               only the node-facts rows (--node-facts cluster)
       bench --no-node-facts                 without them
       bench --serve-mode [--sizes ...]      `gpu-preflight serve`: ready time, re-audit from the store,
                                             steady RSS, watch event cost, /metrics scrape time
Run it through bench/run, which builds release binaries first; never at 5,000 nodes on a busy machine.
";

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    delay: Duration,
    bin: PathBuf,
    out: Option<PathBuf>,
    script: PathBuf,
    /// Only write the snapshot and kubectl dumps of each size to this folder (for profiling),
    /// no timings.
    snapshots_to: Option<PathBuf>,
    /// Skip the live and kubectl-script runs: offline checks only.
    offline_only: bool,
    /// Only serve the first size, writing its kubeconfig and site file to this folder, until
    /// killed (for profiling a live run by hand).
    serve: Option<PathBuf>,
    /// Measure the audit with node facts from the agent's pods beside the cluster-only audit.
    node_facts: bool,
    /// Only that.
    node_facts_only: bool,
    /// Measure `gpu-preflight serve` instead.
    serve_mode: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        sizes: vec![100, 1000, 5000],
        runs: 5,
        delay: Duration::from_millis(20),
        bin: PathBuf::from("target/release/gpu-preflight"),
        out: None,
        script: PathBuf::from("bench/runbook-kubectl.sh"),
        snapshots_to: None,
        offline_only: false,
        serve: None,
        node_facts: true,
        node_facts_only: false,
        serve_mode: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => {
                a.sizes = val()?
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|_| format!("bad size {s}")))
                    .collect::<Result<_, _>>()?
            }
            "--runs" => a.runs = val()?.parse().map_err(|_| "bad --runs")?,
            "--delay-ms" => {
                a.delay = Duration::from_millis(val()?.parse().map_err(|_| "bad --delay-ms")?)
            }
            "--bin" => a.bin = PathBuf::from(val()?),
            "--out" => a.out = Some(PathBuf::from(val()?)),
            "--script" => a.script = PathBuf::from(val()?),
            "--snapshots-to" => a.snapshots_to = Some(PathBuf::from(val()?)),
            "--serve" => a.serve = Some(PathBuf::from(val()?)),
            "--offline-only" => a.offline_only = true,
            "--no-node-facts" => a.node_facts = false,
            "--node-facts-only" => a.node_facts_only = true,
            "--serve-mode" => a.serve_mode = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    if a.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(a)
}

/// Runs a command to completion; returns wall time and its peak RSS (KiB).
///
/// The command is started by a small Python process, not forked from this one: a child's peak RSS
/// counts the memory image it was forked with, and this process holds the whole synthetic cluster.
fn measure(cmd: &mut Command) -> (Duration, u64, i32) {
    let rss_file = std::env::temp_dir().join(format!("bench-rss-{}", std::process::id()));
    let mut wrapped = Command::new("python3");
    wrapped
        .arg("-c")
        .arg(concat!(
            "import resource, subprocess, sys\n",
            "r = subprocess.run(sys.argv[2:]).returncode\n",
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n",
            "sys.exit(r)\n"
        ))
        .arg(&rss_file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    let started = Instant::now();
    let status = wrapped
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("python3 runs the measured command");
    let wall = started.elapsed();
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    (wall, rss, status.code().unwrap_or(-1))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Row {
    n: usize,
    objects: usize,
    live: Option<Live>,
    offline: Offline,
}

/// The live audit against the kubectl script.
struct Live {
    gp_wall: Duration,
    gp_rss: u64,
    gp_requests: usize,
    kc_wall: Duration,
    kc_rss: u64,
    kc_requests: usize,
    lower_bound: Duration,
    longest_chain: usize,
}

/// Offline checks of one cluster, from each input form.
struct Offline {
    snapshot: Input,
    kubectl_json: Input,
    kubectl_yaml: Input,
}

/// One input file: its size, the median check time, the peak RSS (KiB) and the exit code.
struct Input {
    bytes: u64,
    wall: Duration,
    rss: u64,
    code: i32,
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// One size: `None` when only its inputs were written (`--snapshots-to`).
fn run_size(a: &Args, n: usize, dir: &Path) -> Option<Row> {
    let objects = synth::cluster(n);
    let count = objects.len();
    let server = ApiServer::start(Config {
        objects,
        delay: a.delay,
        ..Config::default()
    });
    let kc = server.write_kubeconfig(dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let site = dir.join("site.yaml");
    // No FQDN: the benchmark measures Kubernetes collection, and no probe leaves loopback.
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").expect("site");

    let gp = |args: &[&str]| {
        let mut c = Command::new(&a.bin);
        c.args(args).env("HOME", &home).env_remove("KUBECONFIG");
        c
    };
    let kc_s = kc.display().to_string();
    let site_s = site.display().to_string();
    let live_args = [
        "check",
        "--kubeconfig",
        &kc_s,
        "--site",
        &site_s,
        "--profile",
        "all",
        "--format",
        "json",
    ];

    if let Some(to) = &a.serve {
        std::fs::create_dir_all(to).expect("serve folder");
        std::fs::copy(&kc, to.join("kubeconfig")).expect("kubeconfig");
        std::fs::copy(&site, to.join("site.yaml")).expect("site");
        eprintln!(
            "bench: serving {n} nodes ({count} objects); kubeconfig and site.yaml in {}",
            to.display()
        );
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    // The offline inputs: our own snapshot (`collect`) and what kubectl prints of the same
    // cluster (one `List` of every served kind, JSON and YAML).
    let snap = dir.join(format!("snap-{n}.json"));
    let snap_s = snap.display().to_string();
    measure(&mut gp(&[
        "collect",
        "--kubeconfig",
        &kc_s,
        "--site",
        &site_s,
        "--profile",
        "all",
        "-o",
        &snap_s,
    ]));
    let dump = |format: &str| {
        let path = dir.join(format!("dump-{n}.{format}"));
        let text = server
            .kubectl_dump(&kc, format)
            .unwrap_or_else(|e| panic!("bench: {e}"));
        std::fs::write(&path, text).expect("write dump");
        path
    };
    let dump_json = dump("json");
    let dump_yaml = dump("yaml");

    if let Some(to) = &a.snapshots_to {
        std::fs::create_dir_all(to).expect("snapshots folder");
        for f in [&snap, &dump_json, &dump_yaml] {
            let dest = to.join(f.file_name().expect("file name"));
            std::fs::copy(f, &dest).expect("copy input");
            eprintln!("bench: wrote {}", dest.display());
        }
        std::fs::copy(&site, to.join("site.yaml")).expect("site");
        return None;
    }

    let live = (!a.offline_only).then(|| live_runs(a, &server, &gp, &live_args, &kc, &home));

    let offline_input = |path: &Path| {
        let p = path.display().to_string();
        let args = [
            "check",
            "--snapshot",
            &p,
            "--site",
            &site_s,
            "--profile",
            "all",
            "--format",
            "json",
        ];
        measure(&mut gp(&args));
        let mut walls = Vec::new();
        let mut rss = 0;
        let mut code = 0;
        for _ in 0..a.runs {
            let (w, r, c) = measure(&mut gp(&args));
            walls.push(w);
            rss = rss.max(r);
            code = c;
        }
        Input {
            bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            wall: median(walls),
            rss,
            code,
        }
    };
    let offline = Offline {
        snapshot: offline_input(&snap),
        kubectl_json: offline_input(&dump_json),
        kubectl_yaml: offline_input(&dump_yaml),
    };
    Some(Row {
        n,
        objects: count,
        live,
        offline,
    })
}

/// gpu-preflight live (warm-up, then timed runs), then the runbook's kubectl way.
fn live_runs(
    a: &Args,
    server: &ApiServer,
    gp: &dyn Fn(&[&str]) -> Command,
    live_args: &[&str],
    kc: &Path,
    home: &Path,
) -> Live {
    measure(&mut gp(live_args));
    let mut walls = Vec::new();
    let mut rss = 0;
    let mut requests = 0;
    let mut pages: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..a.runs {
        server.clear_log();
        let (w, r, _) = measure(&mut gp(live_args));
        walls.push(w);
        rss = rss.max(r);
        let log = server.requests();
        requests = log.len();
        pages.clear();
        for l in &log {
            *pages.entry(l.path.clone()).or_default() += 1;
        }
    }
    let gp_wall = median(walls);
    let longest_chain = pages.values().copied().max().unwrap_or(1);
    let lower_bound = a.delay * longest_chain as u32;

    let kubectl = || {
        let mut c = Command::new("bash");
        c.arg(&a.script).env("KUBECONFIG", kc).env("HOME", home);
        c
    };
    measure(&mut kubectl());
    let mut kwalls = Vec::new();
    let mut krss = 0;
    let mut kreq = 0;
    for _ in 0..a.runs {
        server.clear_log();
        let (w, r, _) = measure(&mut kubectl());
        kwalls.push(w);
        krss = krss.max(r);
        kreq = server.requests().len();
    }
    Live {
        gp_wall,
        gp_rss: rss,
        gp_requests: requests,
        kc_wall: median(kwalls),
        kc_rss: krss,
        kc_requests: kreq,
        lower_bound,
        longest_chain,
    }
}

fn table(rows: &[Row], a: &Args) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Server delay {} ms per request; median of {} runs after a warm-up; peak RSS in MiB.\n\n",
        a.delay.as_millis(),
        a.runs
    ));
    if rows.iter().any(|r| r.live.is_some()) {
        s.push_str("| nodes | objects | gpu-preflight live (s) | kubectl script (s) | speed-up | lower bound (s) | live / lower bound | requests gp / kubectl | RSS gp / kubectl (MiB) | offline check (s) | offline RSS (MiB) | offline µs/object |\n");
        s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    }
    for r in rows {
        let Some(l) = &r.live else { continue };
        let o = &r.offline.snapshot;
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.1}× | {} ({} pages) | {:.2}× | {} / {} | {:.0} / {:.0} | {} | {:.0} | {:.1} |\n",
            r.n,
            r.objects,
            secs(l.gp_wall),
            secs(l.kc_wall),
            l.kc_wall.as_secs_f64() / l.gp_wall.as_secs_f64(),
            secs(l.lower_bound),
            l.longest_chain,
            l.gp_wall.as_secs_f64() / l.lower_bound.as_secs_f64(),
            l.gp_requests,
            l.kc_requests,
            l.gp_rss as f64 / 1024.0,
            l.kc_rss as f64 / 1024.0,
            secs(o.wall),
            o.rss as f64 / 1024.0,
            o.wall.as_secs_f64() * 1e6 / r.objects as f64,
        ));
    }
    s.push_str("\nOffline checks of the same cluster (`check --snapshot FILE --profile all --format json`) from our own snapshot and from what `kubectl get <every served kind> -A -o json|yaml` prints of it (one `List`, items with apiVersion and kind):\n\n");
    s.push_str("| nodes | objects | own snapshot (MB) | check (s) | RSS (MiB) | kubectl JSON (MB) | check (s) | × own | RSS (MiB) | kubectl YAML (MB) | check (s) | × own | RSS (MiB) |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let o = &r.offline;
        let own = o.snapshot.wall.as_secs_f64();
        let cells = |i: &Input, ratio: bool| {
            // Exit 2: the input was refused (an input error), nothing was checked.
            if i.code == 2 {
                let cols = if ratio { " | – | –" } else { " | –" };
                return format!("{:.1} | refused (exit 2){cols}", i.bytes as f64 / 1e6);
            }
            let mut c = format!("{:.1} | {}", i.bytes as f64 / 1e6, secs(i.wall));
            if ratio {
                c.push_str(&format!(" | {:.2}×", i.wall.as_secs_f64() / own));
            }
            c.push_str(&format!(" | {:.0}", i.rss as f64 / 1024.0));
            c
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.n,
            r.objects,
            cells(&o.snapshot, false),
            cells(&o.kubectl_json, true),
            cells(&o.kubectl_yaml, true),
        ));
    }
    s
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    if !a.bin.exists() {
        eprintln!(
            "bench: {} not found (build it first: bench/run does)",
            a.bin.display()
        );
        std::process::exit(2);
    }
    let dir = tempfile_dir();
    if a.serve_mode {
        let mut t = String::new();
        for &n in &a.sizes {
            eprintln!("bench: serve at {n} nodes ...");
            let sub = dir.join(format!("s{n}"));
            std::fs::create_dir_all(&sub).expect("dir");
            let row = serve_row(&a, n, &sub);
            eprintln!("{row}");
            t.push_str(&row);
            t.push('\n');
        }
        println!("{}{t}", serve_header(&a));
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let mut rows = Vec::new();
    for &n in a.sizes.iter().filter(|_| !a.node_facts_only) {
        eprintln!("bench: {n} nodes ...");
        let sub = dir.join(format!("n{n}"));
        std::fs::create_dir_all(&sub).expect("dir");
        if let Some(row) = run_size(&a, n, &sub) {
            rows.push(row);
            eprintln!("{}", table(&rows[rows.len() - 1..], &a));
        }
    }
    // Only snapshots written, or only offline rows wanted: no node-facts rows either.
    let node_facts =
        (a.node_facts || a.node_facts_only) && !a.offline_only && a.snapshots_to.is_none();
    if rows.is_empty() && !node_facts {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let mut t = if rows.is_empty() {
        String::new()
    } else {
        table(&rows, &a)
    };
    if node_facts {
        let mut node_rows = Vec::new();
        for &n in &a.sizes {
            eprintln!("bench: {n} nodes with node facts from the agent ...");
            let sub = dir.join(format!("nf{n}"));
            std::fs::create_dir_all(&sub).expect("dir");
            node_rows.push(run_node_facts(&a, n, &sub));
            eprintln!(
                "{}",
                node_facts_table(&node_rows[node_rows.len() - 1..], &a)
            );
        }
        t.push_str(&node_facts_table(&node_rows, &a));
    }
    println!("{t}");
    if let Some(out) = &a.out {
        let machine = machine();
        let body = format!(
            "# Benchmark results\n\nGenerated by `bench/run` on {}.\n\nMachine: {machine}\n\n{t}\n",
            jiff_now()
        );
        std::fs::write(out, body).expect("write results");
        eprintln!("bench: wrote {}", out.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One size of the node-facts comparison: the same served cluster, with the agent DaemonSet, a
/// pod per node and each pod's log, audited without and with `--node-facts cluster`.
struct NodeFactsRow {
    n: usize,
    logs: usize,
    without: Vec<Duration>,
    with: Vec<Duration>,
    rss_without: u64,
    rss_with: u64,
    requests_without: usize,
    requests_with: usize,
    /// Of the run with node facts: requests for pod logs, and how many distinct pods they name.
    log_requests: usize,
    log_pods: usize,
    lower_bound_logs: Duration,
    lower_bound_cluster: Duration,
}

/// Node facts are the fixture's (DGX nodes dgx01's, the others mgmt01's) with the node's name,
/// collected now, served as the `node-facts` log of the node's agent pod.
fn run_node_facts(a: &Args, n: usize, dir: &Path) -> NodeFactsRow {
    let dgx: serde_json::Value =
        serde_json::from_str(include_str!("../../../../fixtures/node/facts/dgx01.json"))
            .expect("dgx01 facts");
    let mgmt: serde_json::Value =
        serde_json::from_str(include_str!("../../../../fixtures/node/facts/mgmt01.json"))
            .expect("mgmt01 facts");
    let now = jiff::Timestamp::now().to_string();
    let mut objects = synth::cluster(n);
    let (agent, logs) = synth::node_agent(&objects, |node| {
        let template = if node.starts_with("dgx") { &dgx } else { &mgmt };
        synth::node_facts_for(template, node, &now)
    });
    objects.extend(agent);
    let server = ApiServer::start(Config {
        objects,
        logs,
        delay: a.delay,
        ..Config::default()
    });
    let kc = server.write_kubeconfig(dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let site = dir.join("site.yaml");
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").expect("site");
    if let Some(to) = &a.serve {
        std::fs::create_dir_all(to).expect("serve folder");
        std::fs::copy(&kc, to.join("kubeconfig")).expect("kubeconfig");
        std::fs::copy(&site, to.join("site.yaml")).expect("site");
        eprintln!(
            "bench: serving {n} nodes with the node agent; kubeconfig and site.yaml in {}",
            to.display()
        );
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let (kc_s, site_s) = (kc.display().to_string(), site.display().to_string());
    let base = [
        "check",
        "--kubeconfig",
        &kc_s,
        "--site",
        &site_s,
        "--profile",
        "all",
        "--format",
        "json",
    ];
    let mut with_args = base.to_vec();
    with_args.extend(["--node-facts", "cluster"]);
    let gp = |args: &[&str]| {
        let mut c = Command::new(&a.bin);
        c.args(args).env("HOME", &home).env_remove("KUBECONFIG");
        c
    };
    measure(&mut gp(&base));
    measure(&mut gp(&with_args));
    let mut row = NodeFactsRow {
        n,
        logs: 0,
        without: Vec::new(),
        with: Vec::new(),
        rss_without: 0,
        rss_with: 0,
        requests_without: 0,
        requests_with: 0,
        log_requests: 0,
        log_pods: 0,
        lower_bound_logs: Duration::ZERO,
        lower_bound_cluster: Duration::ZERO,
    };
    // Alternated, so a burst of load on the shared machine hits both alike.
    for _ in 0..a.runs {
        server.clear_log();
        let (w, r, _) = measure(&mut gp(&base));
        row.without.push(w);
        row.rss_without = row.rss_without.max(r);
        let log = server.requests();
        row.requests_without = log.len();
        let mut pages: BTreeMap<String, usize> = BTreeMap::new();
        for l in &log {
            *pages.entry(l.path.clone()).or_default() += 1;
        }
        row.lower_bound_cluster = a.delay * pages.values().copied().max().unwrap_or(1) as u32;
        server.clear_log();
        let (w, r, _) = measure(&mut gp(&with_args));
        row.with.push(w);
        row.rss_with = row.rss_with.max(r);
        let log = server.requests();
        row.requests_with = log.len();
        let logs: Vec<&String> = log
            .iter()
            .filter(|l| l.path.ends_with("/log"))
            .map(|l| &l.path)
            .collect();
        row.log_requests = logs.len();
        row.log_pods = logs.iter().collect::<std::collections::BTreeSet<_>>().len();
    }
    row.logs = n.max(7);
    // The DaemonSet, the agent's pods at 500 a page, then the logs 32 at a time.
    let waves = 1 + row.logs.div_ceil(500) + row.logs.div_ceil(32);
    row.lower_bound_logs = a.delay * waves as u32;
    row
}

fn best(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}

fn node_facts_table(rows: &[NodeFactsRow], a: &Args) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "\n### Node facts from the agent (`--node-facts cluster`)\n\nThe same served cluster plus the agent DaemonSet, one pod and one `node-facts` log per node (node facts of ~15 KB on DGX nodes); server delay {} ms per request; {} runs of each, alternated, after a warm-up of each; best / median wall time; peak RSS in MiB. Lower bound of node facts: (1 DaemonSet GET + agent pod pages + log requests ÷ 32) × delay; they overlap the kinds' lists.\n\n",
        a.delay.as_millis(),
        a.runs
    ));
    s.push_str("| nodes | log requests (distinct pods) | cluster-only audit (s) | with node facts (s) | with / without (median) | node facts lower bound (s) | cluster lower bound (s) | requests without / with | RSS without / with (MiB) |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let (mw, mn) = (median(r.with.clone()), median(r.without.clone()));
        s.push_str(&format!(
            "| {} | {} ({}) | {} / {} | {} / {} | {:.2}× | {} | {} | {} / {} | {:.0} / {:.0} |\n",
            r.n,
            r.log_requests,
            r.log_pods,
            secs(best(&r.without)),
            secs(mn),
            secs(best(&r.with)),
            secs(mw),
            mw.as_secs_f64() / mn.as_secs_f64(),
            secs(r.lower_bound_logs),
            secs(r.lower_bound_cluster),
            r.requests_without,
            r.requests_with,
            r.rss_without as f64 / 1024.0,
            r.rss_with as f64 / 1024.0,
        ));
    }
    s
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("gpu-preflight-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    let kubectl = Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| {
            v["clientVersion"]["gitVersion"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    format!("{cpus} CPUs ({model}), {mem} GiB RAM, kubectl {kubectl}")
}

fn jiff_now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The table head of `--serve-mode`.
fn serve_header(a: &Args) -> String {
    format!(
        "### `gpu-preflight serve`\n\nServer delay {} ms per request; `serve --profile all --interval 1h --debounce 100ms`; \
ready = start to /readyz 200 (initial lists + first audit); re-audit = `gpu_preflight_audit_duration_seconds` of an audit \
started by a changed Node (median of {}); one-shot = `check --profile all --format json` of the same cluster (wall, peak RSS); \
1 % of the nodes NotReady (failing series); steady / peak RSS = VmRSS once no audit has run for 5 s / VmHWM; event = 1,000 Node changes applied back to back, time until the store has them all \
(end to end: server, TLS, parse, prune, store) ÷ 1,000, and the store's own apply time per event; scrape = GET /metrics, median of 20.\n\n\
| nodes | objects | ready (s) | re-audit (s) | one-shot check (s) | serve RSS steady / peak (MiB) | one-shot peak RSS (MiB) | event end to end / apply (µs) | scrape (ms) | /metrics (KB) | failing series |\n\
|---|---|---|---|---|---|---|---|---|---|---|\n",
        a.delay.as_millis(),
        a.runs
    )
}

/// `GET path` over HTTP/1.1 on loopback: (status, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return (0, String::new());
    };
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_string())
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "bench: timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One size of `--serve-mode`: a row of the table.
fn serve_row(a: &Args, n: usize, dir: &Path) -> String {
    let mut objects = synth::cluster(n);
    // 1 % of the nodes NotReady, so /metrics carries failing series as a real fleet's would.
    for (i, o) in objects
        .iter_mut()
        .filter(|o| o["kind"] == "Node")
        .enumerate()
    {
        if i % 100 == 99
            && let Some(conds) = o["status"]["conditions"].as_array_mut()
        {
            for c in conds.iter_mut().filter(|c| c["type"] == "Ready") {
                c["status"] = "False".into();
                c["reason"] = "KubeletNotReady".into();
            }
        }
    }
    let count = objects.len();
    let node = objects
        .iter()
        .find(|o| o["kind"] == "Node")
        .expect("a node")
        .clone();
    let server = ApiServer::start(Config {
        objects,
        delay: a.delay,
        ..Config::default()
    });
    let kc = server.write_kubeconfig(dir);
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let site = dir.join("site.yaml");
    std::fs::write(&site, "platform:\n  reserved_ip: 127.0.5.10\n").expect("site");
    let kc_s = kc.display().to_string();
    let site_s = site.display().to_string();

    // The one-shot audit of the same cluster, for comparison.
    let (oneshot, oneshot_rss, _) = measure(
        Command::new(&a.bin)
            .args(["check", "--kubeconfig", &kc_s, "--site", &site_s])
            .args(["--profile", "all", "--format", "json"])
            .env("HOME", &home)
            .env("GPU_PREFLIGHT_NO_PROBES", "1")
            .env_remove("KUBECONFIG"),
    );

    let started = Instant::now();
    let mut child = Command::new(&a.bin)
        .args(["serve", "--kubeconfig", &kc_s, "--site", &site_s])
        .args([
            "--profile",
            "all",
            "--interval",
            "1h",
            "--debounce",
            "100ms",
        ])
        .args(["--listen", "127.0.0.1:0"])
        .env("HOME", &home)
        .env("GPU_PREFLIGHT_NO_PROBES", "1")
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let addr = {
        use std::io::BufRead;
        let err = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(err).lines();
        let addr = loop {
            let line = lines
                .next()
                .and_then(Result::ok)
                .expect("serve says where it serves");
            if let Some(rest) = line.split("serving on http://").nth(1) {
                break rest.split_whitespace().next().unwrap_or("").to_string();
            }
        };
        // Keep draining stderr so serve never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        addr
    };
    wait_for("ready", Duration::from_secs(600), || {
        http_get(&addr, "/readyz").0 == 200
    });
    let ready = started.elapsed();

    // Re-audits from the store, each started by a changed Node.
    let mut reaudits = Vec::new();
    for i in 0..a.runs {
        let before =
            metric(&http_get(&addr, "/metrics").1, "gpu_preflight_audits_total").unwrap_or(0.0);
        let mut changed = node.clone();
        changed["metadata"]["labels"]["bench/touch"] = format!("r{i}").into();
        server.apply(changed);
        let mut text = String::new();
        wait_for("a re-audit", Duration::from_secs(600), || {
            text = http_get(&addr, "/metrics").1;
            metric(&text, "gpu_preflight_audits_total").unwrap_or(0.0) > before
        });
        let d = metric(&text, "gpu_preflight_audit_duration_seconds").unwrap_or(f64::NAN);
        reaudits.push(Duration::from_secs_f64(d.max(0.0)));
    }
    let reaudit = median(reaudits);

    // Watch events: 1,000 changes back to back, until the store has applied them all.
    let text = http_get(&addr, "/metrics").1;
    let events0 = metric(&text, "gpu_preflight_watch_events_total").unwrap_or(0.0);
    let spent0 = metric(&text, "gpu_preflight_watch_event_seconds_total").unwrap_or(0.0);
    const EVENTS: usize = 1000;
    let t = Instant::now();
    for i in 0..EVENTS {
        let mut changed = node.clone();
        changed["metadata"]["labels"]["bench/event"] = format!("e{i}").into();
        server.apply(changed);
    }
    eprintln!(
        "bench: the test server took {:.0} µs per change (its own cost, inside the end-to-end figure)",
        t.elapsed().as_secs_f64() * 1e6 / EVENTS as f64
    );
    let mut text = String::new();
    wait_for("the watch events", Duration::from_secs(600), || {
        text = http_get(&addr, "/metrics").1;
        metric(&text, "gpu_preflight_watch_events_total").unwrap_or(0.0) >= events0 + EVENTS as f64
    });
    let end_to_end = t.elapsed() / EVENTS as u32;
    let apply = (metric(&text, "gpu_preflight_watch_event_seconds_total").unwrap_or(0.0) - spent0)
        / EVENTS as f64;
    // Let the audit the events started finish before RSS is read.
    let audits = metric(&text, "gpu_preflight_audits_total").unwrap_or(0.0);
    wait_for(
        "the audit after the events",
        Duration::from_secs(600),
        || {
            metric(&http_get(&addr, "/metrics").1, "gpu_preflight_audits_total").unwrap_or(0.0)
                > audits
        },
    );
    // Steady: no audit for 5 s (the changes may have started more than one, one after the
    // other), so the allocator has given back what an audit's transient copy of the facts and
    // its results used (the peak is VmHWM).
    let audits_now = || metric(&http_get(&addr, "/metrics").1, "gpu_preflight_audits_total");
    let mut seen = audits_now();
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let now = audits_now();
        if now == seen {
            break;
        }
        seen = now;
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let kib = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (rss_kib, peak_kib) = (kib("VmRSS:"), kib("VmHWM:"));

    // Scrapes.
    let mut scrapes = Vec::new();
    let mut size = 0;
    let mut failing = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let (_, body) = http_get(&addr, "/metrics");
        scrapes.push(t.elapsed());
        size = body.len();
        failing = body
            .lines()
            .filter(|l| l.starts_with("gpu_preflight_result{"))
            .count();
    }
    let scrape = median(scrapes);
    let _ = child.kill();
    let _ = child.wait();
    format!(
        "| {n} | {count} | {} | {} | {} | {} / {} | {} | {:.0} / {:.1} | {:.2} | {:.0} | {failing} |",
        secs(ready),
        secs(reaudit),
        secs(oneshot),
        rss_kib / 1024,
        peak_kib / 1024,
        oneshot_rss / 1024,
        end_to_end.as_secs_f64() * 1e6,
        apply * 1e6,
        scrape.as_secs_f64() * 1e3,
        size as f64 / 1024.0
    )
}
