//! The audit API driven directly (no binary): a `Request` in, an `Outcome` or `Collected` out —
//! offline, live against the test API server, with waivers — and the CLI shown to be a thin face
//! over it (same report as `check --format json`).

use crate::support::*;
use gpu_preflight::audit::{self, ClusterSource, LiveCluster, Request, SnapshotSource};
use gpu_preflight::exit::InputError;
use gpu_preflight_testkit::apiserver::{ApiServer, Config, load_objects};
use serde_json::Value;
use std::path::PathBuf;

fn demo_site() -> PathBuf {
    fixture("demo/site.yaml")
}

fn offline(paths: Vec<PathBuf>) -> Request {
    let mut r = Request {
        site: Some(demo_site()),
        ..Request::default()
    };
    r.sources.cluster = ClusterSource::Snapshot(SnapshotSource {
        paths,
        complete: false,
    });
    r
}

fn live(kubeconfig: PathBuf) -> Request {
    let mut r = Request {
        site: Some(demo_site()),
        ..Request::default()
    };
    r.sources.cluster = ClusterSource::Live(LiveCluster {
        kubeconfig: Some(kubeconfig),
        ..LiveCluster::default()
    });
    // Endpoint probes would ask the system resolver.
    r.sources.probes.network = false;
    r
}

/// The report as the JSON renderer writes it.
fn json(o: &audit::Outcome) -> Value {
    let text = gpu_preflight::report::json::render(&o.report).expect("renders");
    serde_json::from_str(&text).expect("JSON")
}

fn result<'a>(r: &'a Value, rule: &str, target: &str) -> &'a Value {
    results_of(r, rule)
        .into_iter()
        .find(|x| x["target"] == target)
        .unwrap_or_else(|| panic!("no {rule} result for {target}: {:#}", r["results"]))
}

fn input_error(e: &anyhow::Error) -> String {
    e.downcast_ref::<InputError>()
        .unwrap_or_else(|| panic!("not an input error: {e:#}"))
        .to_string()
}

#[test]
fn offline_snapshot_outcome_is_what_the_binary_prints() {
    let snap = fixture("demo/runai-bcm.yaml");
    let o = audit::run(&offline(vec![snap.clone()])).expect("runs");
    assert_eq!(o.code, 1, "planted failures");
    assert!(o.notices.is_empty(), "{:?}", o.notices);
    assert_eq!(o.report.source, format!("snapshot {}", snap.display()));
    // The site's profile, both phases.
    assert_eq!(
        (o.report.profile.as_str(), o.report.phase.as_str()),
        ("runai-bcm", "both")
    );
    let r = json(&o);
    let net = result(&r, "NET001", "configmap/kube-system/kube-proxy");
    assert_eq!(net["status"], "fail");
    assert_eq!(net["observed"], "ipvs.strictARP: false");

    let (code, printed) = check_json(&[
        "--snapshot",
        snap.to_str().unwrap(),
        "--site",
        demo_site().to_str().unwrap(),
    ]);
    assert_eq!(code, o.code);
    let strip = |mut v: Value| {
        v["generated_at"] = Value::Null;
        v
    };
    assert_eq!(strip(printed), strip(r));
}

#[test]
fn live_outcome_and_collected_snapshot_agree() {
    let objects = load_objects(&fixture("demo/runai-bcm.yaml"));
    let server = ApiServer::start(Config {
        objects,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = server.write_kubeconfig(dir.path());

    let o = audit::run(&live(kc.clone())).expect("live run");
    assert_eq!(o.report.source, format!("live {}/", server.url()));
    assert_eq!(o.code, 1);
    let live_json = json(&o);
    assert_eq!(result(&live_json, "K8S001", "cluster")["status"], "pass");
    // Audit mode only reads.
    assert!(server.requests().iter().all(|l| l.method == "GET"));

    let c = audit::collect(&live(kc)).expect("collect");
    assert_eq!(c.exit_code(), 0, "{:?}", c.unusable);
    assert!(c.unreachable().is_none());
    assert!(c.source.starts_with(&server.url()), "{}", c.source);
    let snap = dir.path().join("snap.json");
    std::fs::write(&snap, c.snapshot_json().unwrap()).unwrap();

    let off = audit::run(&offline(vec![snap])).expect("offline run");
    assert_eq!(off.code, o.code);
    assert_eq!(json(&off)["results"], live_json["results"]);
}

#[test]
fn waivers_become_statuses_and_notices() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("waivers.yaml");
    std::fs::write(
        &w,
        "waivers:\n  - {rule: NET001, reason: CHG-1, expires: 2999-12-31}\n  - {rule: CRD003, reason: old, expires: 2020-01-01}\n  - {rule: RUNAI001, reason: nothing fails}\n",
    )
    .unwrap();
    let mut req = offline(vec![fixture("demo/runai-bcm.yaml")]);
    req.options.waivers = Some(w.clone());
    let o = audit::run(&req).expect("runs");
    let r = json(&o);
    assert_eq!(
        result(&r, "NET001", "configmap/kube-system/kube-proxy")["status"],
        "waived"
    );
    let states: Vec<&str> = o.report.waivers.iter().map(|w| w.state).collect();
    assert_eq!(states, ["applied", "expired", "stale"]);
    let notices: Vec<String> = o.notices.iter().map(|n| n.to_string()).collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices[0].starts_with("warning: expired waiver for CRD003 (old): expired 2020-01-01"),
        "{notices:?}"
    );
    assert_eq!(
        notices[1],
        "warning: stale waiver for RUNAI001 (nothing fails): matches no failure; remove it"
    );
    // CRD003 still fails at error severity.
    assert_eq!(o.code, 1);

    std::fs::write(&w, "waivers:\n  - {rule: NOPE001, reason: r}\n").unwrap();
    let e = audit::run(&req).expect_err("unknown rule");
    assert_eq!(
        input_error(&e),
        format!(
            "{}: waiver for unknown rule `NOPE001`: neither a rule ID nor a rule name (see `gpu-preflight rules`)",
            w.display()
        )
    );
}

#[test]
fn no_cluster_run_reads_only_local_inputs() {
    let mut req = Request::default();
    req.rules.only = vec!["NODE001".into(), "RDMA007".into()];
    req.sources.node_facts = Some(audit::NodeFactsSource::Folder(fixture("node/facts")));
    req.sources.perf = Some(fixture("node/perf"));
    // No kubeconfig anywhere is fine: no selected rule needs the API server.
    let o = audit::run(&req).expect("runs");
    assert_eq!(o.report.source, "no cluster");
    let r = json(&o);
    assert_eq!(result(&r, "NODE001", "node/gpu03")["status"], "fail");
    assert_eq!(
        result(&r, "RDMA007", "node/gpu03/mlx5_0")["observed"],
        "96.25 Gb/s"
    );
}

#[test]
fn bad_requests_are_input_errors() {
    let mut req = offline(vec![fixture("demo/runai-bcm.yaml")]);
    req.rules.only = vec!["NOPE001".into()];
    let e = audit::run(&req).expect_err("unknown ID");
    assert_eq!(
        input_error(&e),
        "unknown rule `NOPE001`: neither a rule ID nor a rule name (see `gpu-preflight rules`)"
    );

    let mut req = offline(vec![fixture("demo/runai-bcm.yaml")]);
    req.rules.profile = Some("nope".into());
    let e = audit::run(&req).expect_err("unknown profile");
    assert!(input_error(&e).starts_with("unknown profile `nope`"));

    // `collect` lists a live cluster; a snapshot is not one.
    let e = audit::collect(&offline(vec![fixture("demo/runai-bcm.yaml")])).expect_err("offline");
    assert!(input_error(&e).contains("collect reads the live cluster"));

    // A live run checks its timeout when it lists, naming the flag.
    let mut req = live(PathBuf::from("/nonexistent/kubeconfig"));
    if let ClusterSource::Live(l) = &mut req.sources.cluster {
        l.timeout_secs = f64::NAN;
    }
    let e = audit::run(&req).expect_err("bad timeout");
    assert_eq!(
        input_error(&e),
        "--timeout NaN: expected seconds greater than 0 and at most 3600"
    );
}
