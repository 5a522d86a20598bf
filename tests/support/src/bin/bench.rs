//! The benchmark: a full audit of synthetic clusters served live with a per-request delay,
//! gpu-preflight against the runbook's kubectl way and against the lower bound.
//!
//!   bench [--sizes 100,1000,5000] [--runs 5] [--delay-ms 20] [--bin PATH] [--out bench/results.md]
//!   bench --sizes 5000 --serve DIR        # serve only, for profiling a live run by hand
//!   bench --sizes 5000 --snapshots-to DIR # write the snapshot only
//!
//! Run it through `bench/run`, which builds release binaries first.

use gpu_preflight_testkit::apiserver::{ApiServer, Config};
use gpu_preflight_testkit::synth;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    delay: Duration,
    bin: PathBuf,
    out: Option<PathBuf>,
    script: PathBuf,
    /// Only write the snapshot of each size to this folder (for profiling), no timings.
    snapshots_to: Option<PathBuf>,
    /// Only serve the first size, writing its kubeconfig and site file to this folder, until
    /// killed (for profiling a live run by hand).
    serve: Option<PathBuf>,
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
        serve: None,
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
            other => return Err(format!("unknown flag {other}")),
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
    gp_wall: Duration,
    gp_rss: u64,
    gp_requests: usize,
    kc_wall: Duration,
    kc_rss: u64,
    kc_requests: usize,
    offline_wall: Duration,
    offline_rss: u64,
    lower_bound: Duration,
    longest_chain: usize,
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn run_size(a: &Args, n: usize, dir: &Path) -> Row {
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

    if let Some(to) = &a.snapshots_to {
        let snap = to.join(format!("snap-{n}.json"));
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
        eprintln!("bench: wrote {snap_s}");
        std::process::exit(0);
    }

    // gpu-preflight live: warm-up, then timed runs.
    measure(&mut gp(&live_args));
    let mut walls = Vec::new();
    let mut rss = 0;
    let mut requests = 0;
    let mut pages: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..a.runs {
        server.clear_log();
        let (w, r, _) = measure(&mut gp(&live_args));
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

    // The runbook's kubectl way.
    let kubectl = |_: ()| {
        let mut c = Command::new("bash");
        c.arg(&a.script).env("KUBECONFIG", &kc).env("HOME", &home);
        c
    };
    measure(&mut kubectl(()));
    let mut kwalls = Vec::new();
    let mut krss = 0;
    let mut kreq = 0;
    for _ in 0..a.runs {
        server.clear_log();
        let (w, r, _) = measure(&mut kubectl(()));
        kwalls.push(w);
        krss = krss.max(r);
        kreq = server.requests().len();
    }

    // Offline: collect once, check the snapshot.
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
    let off_args = [
        "check",
        "--snapshot",
        &snap_s,
        "--site",
        &site_s,
        "--profile",
        "all",
        "--format",
        "json",
    ];
    measure(&mut gp(&off_args));
    let mut owalls = Vec::new();
    let mut orss = 0;
    for _ in 0..a.runs {
        let (w, r, _) = measure(&mut gp(&off_args));
        owalls.push(w);
        orss = orss.max(r);
    }
    Row {
        n,
        objects: count,
        gp_wall,
        gp_rss: rss,
        gp_requests: requests,
        kc_wall: median(kwalls),
        kc_rss: krss,
        kc_requests: kreq,
        offline_wall: median(owalls),
        offline_rss: orss,
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
    s.push_str("| nodes | objects | gpu-preflight live (s) | kubectl script (s) | speed-up | lower bound (s) | live / lower bound | requests gp / kubectl | RSS gp / kubectl (MiB) | offline check (s) | offline RSS (MiB) | offline µs/object |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.1}× | {} ({} pages) | {:.2}× | {} / {} | {:.0} / {:.0} | {} | {:.0} | {:.1} |\n",
            r.n,
            r.objects,
            secs(r.gp_wall),
            secs(r.kc_wall),
            r.kc_wall.as_secs_f64() / r.gp_wall.as_secs_f64(),
            secs(r.lower_bound),
            r.longest_chain,
            r.gp_wall.as_secs_f64() / r.lower_bound.as_secs_f64(),
            r.gp_requests,
            r.kc_requests,
            r.gp_rss as f64 / 1024.0,
            r.kc_rss as f64 / 1024.0,
            secs(r.offline_wall),
            r.offline_rss as f64 / 1024.0,
            r.offline_wall.as_secs_f64() * 1e6 / r.objects as f64,
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
    let mut rows = Vec::new();
    for &n in &a.sizes {
        eprintln!("bench: {n} nodes ...");
        let sub = dir.join(format!("n{n}"));
        std::fs::create_dir_all(&sub).expect("dir");
        rows.push(run_size(&a, n, &sub));
        eprintln!("{}", table(&rows[rows.len() - 1..], &a));
    }
    let t = table(&rows, &a);
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
