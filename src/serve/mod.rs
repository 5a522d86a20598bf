//! `gpu-preflight serve`: the audit as a read-only service. The listed kinds are kept by a
//! watched [`store::Store`] that stands where the one-shot lists stand in the one gather; an
//! audit runs on a jittered interval and, debounced, after a watched object changes; the last
//! audit's results are served over HTTP ([`http`]): `/metrics` ([`metrics`]), `/results`,
//! `/drift`, `/healthz`, `/readyz`.
//!
//! Each audit is the `check` audit ([`audit::run`]) with the store as its listed kinds: named
//! Secrets and ConfigMaps are read by name, node facts are read again from the agent's logs,
//! and probes run again, every audit. An audit runs on a thread of its own, so serving never
//! waits for it; a panic in it is counted as an error, not a crash.

pub mod drift;
pub mod http;
pub mod metrics;
pub mod store;

use crate::audit::{self, ClusterSource, Outcome, Request};
use crate::collect::kube as live;
use crate::exit;
use crate::report::Report;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Items per LIST page of serve's initial lists unless `--page-size` says otherwise: it lists
/// once, then watches, and ready comes sooner in fewer round trips.
pub const PAGE_SIZE: u32 = 2000;

/// What `serve` was asked.
#[derive(Debug, Clone)]
pub struct ServeRequest {
    /// The audit each round runs (its cluster must be live).
    pub audit: Request,
    /// Between two audits (each wait jittered by ±10 %).
    pub interval: Duration,
    /// After a watched object changes, how long to wait for more changes before auditing.
    pub debounce: Duration,
    pub listen: SocketAddr,
    /// Transitions `/drift` keeps.
    pub drift_history: usize,
    /// How messages on stderr name the program (`gpu-preflight`, or `kubectl gpu-preflight`).
    pub program: &'static str,
}

/// Everything the endpoints read: written by the audit loop, read by scrapes.
pub struct State {
    pub started: Instant,
    pub store: Option<store::Store>,
    last: Mutex<Last>,
    pub drift: drift::History,
}

/// The audits so far.
#[derive(Default)]
pub struct Last {
    /// The last audit that finished with a report, and the metrics it gives.
    pub report: Option<Arc<Finished>>,
    pub audits: u64,
    pub errors: u64,
    /// Seconds since the epoch.
    pub last_run: Option<f64>,
    pub last_success: Option<f64>,
    pub duration: Option<Duration>,
    /// Why the last audit failed, when it did.
    pub last_error: Option<String>,
}

/// A finished audit, as the endpoints need it, rendered once: the report as `/results` serves it
/// (JSON, about a tenth of what the results cost as values, kept LZ4-compressed: a 20,000-node
/// report's 290 MB of JSON is what would otherwise dominate serve's memory between audits), the
/// report without its results (for the other formats, which read the results back from the
/// JSON), and the part of `/metrics` that comes from it.
pub struct Finished {
    /// The JSON report, LZ4-compressed (see [`Finished::json`]).
    packed: Vec<u8>,
    pub head: Report,
    pub metrics: String,
    /// The API server answered (K8S001 not unreachable).
    pub api_up: bool,
}

impl Finished {
    fn of(mut report: Report) -> Result<Finished, String> {
        let metrics = metrics::from_report(&report);
        let api_up = !report.results.iter().any(|r| {
            &*r.rule == crate::report::API_RULE && r.cause.is_some_and(|c| c.is_api_down())
        });
        let mut json = Vec::new();
        crate::report::json::render_to(&report, &mut json)
            .map_err(|e| format!("cannot render the report: {e:#}"))?;
        let mut packed = lz4_flex::compress_prepend_size(&json);
        drop(json);
        packed.shrink_to_fit();
        report.results = Vec::new();
        Ok(Finished {
            packed,
            head: report,
            metrics,
            api_up,
        })
    }

    /// The report as `/results` serves it: JSON, as `check --format json` writes it.
    pub fn json(&self) -> anyhow::Result<Vec<u8>> {
        lz4_flex::decompress_size_prepended(&self.packed)
            .map_err(|e| anyhow::anyhow!("the kept report does not unpack: {e}"))
    }

    /// The whole report again, its results read back from the JSON.
    pub fn report(&self) -> anyhow::Result<Report> {
        #[derive(serde::Deserialize)]
        struct Results {
            results: Vec<gpu_preflight_checks::RuleResult>,
        }
        let r: Results = serde_json::from_slice(&self.json()?)?;
        let mut report = self.head.clone();
        report.results = r.results;
        Ok(report)
    }
}

impl State {
    pub fn new(store: Option<store::Store>, drift_history: usize) -> State {
        State {
            started: Instant::now(),
            store,
            last: Mutex::new(Last::default()),
            drift: drift::History::new(drift_history),
        }
    }

    pub fn last(&self) -> MutexGuard<'_, Last> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Initial lists done and one audit finished.
    pub fn ready(&self) -> bool {
        self.store.as_ref().is_none_or(store::Store::ready) && self.last().report.is_some()
    }

    /// Records one audit's outcome: a report (which becomes what the endpoints serve) or why
    /// there is none.
    pub fn record(&self, outcome: Result<Outcome, String>, took: Duration) {
        let now = jiff::Timestamp::now().as_millisecond() as f64 / 1e3;
        let finished = match outcome {
            Ok(o) => {
                // What `check` prints beside its report goes to the log, each audit.
                for n in &o.notices {
                    let text = crate::report::printable(&n.text);
                    match n.level {
                        audit::Level::Warning => tracing::warn!("{text}"),
                        audit::Level::Note => tracing::info!("{text}"),
                    }
                }
                self.drift.update(&o.report);
                Finished::of(o.report).map(Arc::new)
            }
            Err(e) => Err(e),
        };
        let mut last = self.last();
        last.audits += 1;
        last.last_run = Some(now);
        last.duration = Some(took);
        match finished {
            Ok(f) => {
                last.report = Some(f);
                last.last_success = Some(now);
                last.last_error = None;
            }
            Err(e) => {
                tracing::warn!("audit failed: {e}");
                last.errors += 1;
                last.last_error = Some(e);
            }
        }
    }
}

/// `serve`: checks the request, binds the address, starts the store, then audits and serves
/// until SIGTERM or SIGINT.
pub fn run(req: ServeRequest) -> anyhow::Result<i32> {
    let ClusterSource::Live(cluster) = &req.audit.sources.cluster else {
        return Err(exit::input(
            "serve watches the live cluster: snapshot files are not a source of it",
        ));
    };
    // Bad input fails here, before anything is served.
    let plan = audit::select::Prepared::load(&req.audit.rules, req.audit.site.as_deref())?;
    let rules = plan.select()?;
    audit::sources::Local::load(&req.audit.sources, &plan.site)?;
    audit::waivers::load(req.audit.options.waivers.as_deref(), &plan.set)?;
    let opts = audit::sources::live_options(cluster)?;
    let kinds = audit::select::needed_kinds(&rules);
    let interest = audit::select::interest(&rules);
    let rt = audit::sources::runtime()?;
    let code = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(req.listen)
            .await
            .map_err(|e| exit::input(format!("--listen {}: {e}", req.listen)))?;
        let addr = listener.local_addr()?;
        let (client, server) = live::connect(&opts).await.map_err(|e| {
            match e.downcast_ref::<live::NoCluster>() {
                Some(n) => exit::input(format!(
                    "no cluster to watch: give --kubeconfig FILE or --context NAME, set KUBECONFIG, or run it in a pod with a service account ({})",
                    n.0
                )),
                None => e,
            }
        })?;
        let (watch_client, _) = live::connect_with(&opts, Some(store::WATCH_READ_TIMEOUT)).await?;
        tracing::info!(server, kinds = kinds.len(), "watching");
        let store = store::Store::start(&client, &watch_client, &kinds, &opts, &interest);
        let state = Arc::new(State::new(Some(store.clone()), req.drift_history));
        eprintln!(
            "{}: serving on http://{addr} (/metrics /results /drift /healthz /readyz), auditing {server} every {}",
            req.program,
            human(req.interval)
        );
        tokio::spawn(http::serve(listener, state.clone()));
        let mut audit_req = req.audit.clone();
        if let ClusterSource::Live(c) = &mut audit_req.sources.cluster {
            c.listed = Some(audit::gather::Source(Arc::new(store.clone())));
            c.progress = false;
        }
        let audits = tokio::spawn(audit_loop(
            state,
            Some(store),
            req.interval,
            req.debounce,
            move || audit::run(&audit_req),
        ));
        let code = stopped(req.program).await;
        audits.abort();
        Ok::<i32, anyhow::Error>(code)
    })?;
    // A running audit is abandoned: its thread ends with the process.
    rt.shutdown_background();
    Ok(code)
}

/// Waits for SIGTERM or SIGINT; the exit code.
async fn stopped(program: &str) -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => {
            // Without signal handlers (no such thing on this platform), Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    eprintln!("{program}: stopping");
    exit::OK
}

/// Audits from the store's first full state on: every `interval` (jittered ±10 %), and
/// `debounce` after a watched object changes. Each audit runs on its own thread; a panic in it
/// is an error, not the end of the loop.
pub async fn audit_loop<F>(
    state: Arc<State>,
    store: Option<store::Store>,
    interval: Duration,
    debounce: Duration,
    audit: F,
) where
    F: Fn() -> anyhow::Result<Outcome> + Send + Sync + 'static,
{
    let audit = Arc::new(audit);
    let mut changes = store.as_ref().map(store::Store::changes);
    // The first audit waits for every kind's first list.
    if let (Some(store), Some(rx)) = (&store, &mut changes) {
        while !store.ready() {
            let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        }
    }
    let mut seed = jitter_seed();
    loop {
        if let Some(rx) = &mut changes {
            // Changes from now on start another audit after this one.
            rx.borrow_and_update();
        }
        let started = Instant::now();
        let a = audit.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a()));
                let _ = tx.send(r);
            });
        let outcome = match spawned {
            Err(e) => Err(format!("cannot start the audit thread: {e}")),
            Ok(_) => match rx.await {
                Ok(Ok(Ok(o))) => Ok(o),
                Ok(Ok(Err(e))) => Err(format!("{e:#}")),
                Ok(Err(panic)) => Err(format!("the audit panicked: {}", panic_text(&panic))),
                Err(_) => Err("the audit thread ended without an outcome".to_string()),
            },
        };
        state.record(outcome, started.elapsed());
        // The next audit: the interval, jittered, or a change, debounced.
        let wait = interval.mul_f64(0.9 + 0.2 * store::unit(&mut seed));
        let next = tokio::time::sleep(wait);
        match &mut changes {
            Some(rx) => {
                tokio::select! {
                    _ = next => {}
                    r = rx.changed() => {
                        if r.is_ok() {
                            tokio::time::sleep(debounce).await;
                        } else {
                            // The store is gone: only the interval is left.
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
            None => next.await,
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

fn jitter_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x2545_F491_4F6C_DD1D)
        | 1
}

/// `10m`, `90s`, `250ms`: a duration given to `serve`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| "expected a duration such as 10m, 90s, 1h or 500ms".to_string());
    }
    match audit::sources::parse_age(t) {
        Ok(Some(d)) => Ok(d),
        _ => Err("expected a duration such as 10m, 90s, 1h or 500ms".to_string()),
    }
}

/// `:8080`, `0.0.0.0:8080`, `127.0.0.1:0`, `[::]:8080`: the address to listen on (`:PORT` is
/// every IPv4 address).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    let full = match t.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => t.to_string(),
    };
    full.parse()
        .map_err(|_| "expected HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:8080".to_string())
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_millis() != 0 || s == 0 {
        format!("{}ms", d.as_millis())
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_addresses_parse_as_documented() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in ["", "0", "0ms", "10", "ten", "-1s", "5x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_listen(":8080"), Ok("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(
            parse_listen("127.0.0.1:0"),
            Ok("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(parse_listen("[::]:9"), Ok("[::]:9".parse().unwrap()));
        for bad in ["8080", "localhost:80", ":", "1.2.3.4"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
    }

    /// A panic inside an audit is an error metric; the loop goes on and the next audit counts.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_audit_is_an_error_not_a_crash() {
        let state = Arc::new(State::new(None, 10));
        let n = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let calls = n.clone();
        let task = tokio::spawn(audit_loop(
            state.clone(),
            None,
            Duration::from_millis(20),
            Duration::from_millis(1),
            move || {
                let i = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i == 0 {
                    panic!("injected panic in the audit");
                }
                Err(anyhow::anyhow!("second audit fails plainly"))
            },
        ));
        let deadline = Instant::now() + Duration::from_secs(30);
        while state.last().audits < 3 {
            assert!(Instant::now() < deadline, "the loop stopped after a panic");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        let (errors, report) = {
            let last = state.last();
            (last.errors, last.report.is_some())
        };
        assert!(errors >= 3, "every failed audit is an error");
        assert!(!report);
        let text = metrics::render(&state);
        assert!(
            text.contains(&format!("gpu_preflight_audit_errors_total {errors}")),
            "{text}"
        );
        assert!(text.contains("gpu_preflight_up 0"), "{text}");
    }
}
