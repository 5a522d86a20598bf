//! The test pods, as runbook 002 step 12 makes them (`hostNetwork: true`, `IPC_LOCK`, the RDMA
//! resource), pinned to their node, labelled so `--cleanup` can find them, and running the
//! perftest commands of step 17 without anyone exec-ing into them. Pure: manifests and scripts.

use super::plan::{Placement, Test};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, Pod, PodSpec, ResourceRequirements, SecurityContext, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// Every pod this command creates carries these two labels: `--cleanup` deletes by them.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "gpu-preflight");
pub const COMPONENT: (&str, &str) = ("app.kubernetes.io/component", "rdma-test");
/// The run a pod belongs to (one value per `rdma-test` invocation).
pub const RUN_ID: &str = "gpu-preflight/run-id";
/// `server` or `client`.
pub const ROLE: &str = "gpu-preflight/role";
/// The container's name, for `pods/log?container=`.
pub const CONTAINER: &str = "perftest";
/// What the scripts print when the image has no perftest (and their exit code, as a shell's).
pub const NO_PERFTEST: &str = "gpu-preflight: ib_write_bw is not installed in image";
pub const NO_PERFTEST_EXIT: i32 = 127;

/// The label selector of every pod this command made, any run.
pub fn selector_all() -> String {
    format!(
        "{}={},{}={}",
        MANAGED_BY.0, MANAGED_BY.1, COMPONENT.0, COMPONENT.1
    )
}

/// The label selector of one run's pods.
pub fn selector_run(run_id: &str) -> String {
    format!("{},{RUN_ID}={run_id}", selector_all())
}

/// `server` or `client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// Settings every pod of a run shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub namespace: String,
    pub image: String,
    pub run_id: String,
    /// `ib_write_bw -D`: seconds of measurement.
    pub duration_secs: u32,
    /// How long the client keeps retrying to reach its server, seconds.
    pub connect_secs: u32,
    /// Seconds between the client's connection attempts.
    pub retry_every_secs: u32,
    /// `activeDeadlineSeconds`: the kubelet stops a pod left behind by a killed run.
    pub deadline_secs: i64,
}

/// The name of a test's pod: `rdma-test-RUN-007-server`.
pub fn name(run_id: &str, test: &Test, role: Role) -> String {
    format!("rdma-test-{run_id}-{:03}-{}", test.index, role.as_str())
}

/// `ib_write_bw` as step 17 runs it, with the port and duration of this test; the client adds
/// the server's address.
fn perftest(test: &Test, s: &Settings, server_ip: Option<&str>) -> String {
    let mut cmd = format!(
        "ib_write_bw -d {} -F --report_gbits -D {} -p {}",
        test.device, s.duration_secs, test.port
    );
    if let Some(ip) = server_ip {
        cmd.push(' ');
        cmd.push_str(ip);
    }
    cmd
}

/// Checks the image has perftest before anything else: the log then names the image.
fn preamble(s: &Settings) -> String {
    format!(
        "if ! command -v ib_write_bw >/dev/null 2>&1; then\n  echo \"{NO_PERFTEST} {}: install perftest in it (apt-get install -y perftest)\"\n  exit {NO_PERFTEST_EXIT}\nfi\n",
        s.image
    )
}

/// The server: listens once, measures for the duration, exits.
pub fn server_script(test: &Test, s: &Settings) -> String {
    format!("{}exec {}\n", preamble(s), perftest(test, s, None))
}

/// The client: perftest exchanges queue-pair data over TCP before it measures, and gives up at
/// once when nothing listens yet, so it is retried — only on that error, for a bounded time.
pub fn client_script(test: &Test, s: &Settings) -> String {
    let tries = (s.connect_secs / s.retry_every_secs.max(1)).max(1);
    format!(
        "{pre}attempt=1\nwhile :; do\n  out=$({cmd} 2>&1)\n  rc=$?\n  printf '%s\\n' \"$out\"\n  case \"$out\" in\n    *\"Couldn't connect to\"*) ;;\n    *) exit $rc ;;\n  esac\n  if [ \"$attempt\" -ge {tries} ]; then\n    echo \"gpu-preflight: no ib_write_bw server answered at {ip}:{port} after $attempt attempts\"\n    exit $rc\n  fi\n  attempt=$((attempt + 1))\n  sleep {every}\ndone\n",
        pre = preamble(s),
        cmd = perftest(test, s, Some(&test.server_ip)),
        ip = test.server_ip,
        port = test.port,
        every = s.retry_every_secs,
    )
}

/// A test's pod for one role.
pub fn pod(test: &Test, role: Role, place: &Placement, s: &Settings) -> Pod {
    let script = match role {
        Role::Server => server_script(test, s),
        Role::Client => client_script(test, s),
    };
    let labels: BTreeMap<String, String> = [
        (MANAGED_BY.0, MANAGED_BY.1),
        (COMPONENT.0, COMPONENT.1),
        (RUN_ID, s.run_id.as_str()),
        (ROLE, role.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let annotations: BTreeMap<String, String> = [
        ("gpu-preflight/client", test.client.as_str()),
        ("gpu-preflight/server", test.server.as_str()),
        ("gpu-preflight/device", test.device.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let tolerations: Vec<Toleration> = place
        .tolerations
        .iter()
        .map(|t| Toleration {
            key: Some(t.key.clone()),
            operator: Some(if t.value.is_some() { "Equal" } else { "Exists" }.to_string()),
            value: t.value.clone(),
            effect: Some(t.effect.clone()),
            toleration_seconds: None,
        })
        .collect();
    Pod {
        metadata: ObjectMeta {
            name: Some(name(&s.run_id, test, role)),
            namespace: Some(s.namespace.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            host_network: Some(true),
            restart_policy: Some("Never".into()),
            node_selector: Some(
                [("kubernetes.io/hostname".to_string(), place.hostname.clone())].into(),
            ),
            tolerations: (!tolerations.is_empty()).then_some(tolerations),
            active_deadline_seconds: Some(s.deadline_secs),
            termination_grace_period_seconds: Some(5),
            // The pods never talk to the API server.
            automount_service_account_token: Some(false),
            containers: vec![Container {
                name: CONTAINER.into(),
                image: Some(s.image.clone()),
                command: Some(vec!["sh".into(), "-c".into(), script]),
                security_context: Some(SecurityContext {
                    capabilities: Some(Capabilities {
                        add: Some(vec!["IPC_LOCK".into()]),
                        drop: None,
                    }),
                    ..SecurityContext::default()
                }),
                resources: Some(ResourceRequirements {
                    limits: Some([(place.resource.clone(), Quantity("1".into()))].into()),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// The manifests as multi-document YAML (what `--dry-run` prints; `kubectl apply -f` takes it).
pub fn yaml(pods: &[Pod]) -> anyhow::Result<String> {
    let docs: Vec<serde_json::Value> = pods
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p)?;
            // Pod serializes without its type; a manifest needs it.
            if let Some(m) = v.as_object_mut() {
                let mut typed = serde_json::Map::new();
                typed.insert("apiVersion".into(), "v1".into());
                typed.insert("kind".into(), "Pod".into());
                typed.extend(std::mem::take(m));
                *m = typed;
            }
            Ok(v)
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(serde_saphyr::to_string_multiple(&docs)?)
}

/// A device name as `-d` takes it (`mlx5_3`): it goes into a shell script.
pub fn valid_device(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 64
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// An image reference (`registry:5000/ns/perftest:24.04@sha256:…`): it goes into a script too.
pub fn valid_image(i: &str) -> bool {
    !i.is_empty()
        && i.len() <= 512
        && i.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdma_test::plan::Taint;

    fn test() -> Test {
        Test {
            index: 7,
            client: "gpu01".into(),
            server: "gpu02".into(),
            server_ip: "10.0.0.2".into(),
            device: "mlx5_3".into(),
            port: 18516,
        }
    }

    fn settings(image: &str) -> Settings {
        Settings {
            namespace: "gpu-preflight-rdma".into(),
            image: image.into(),
            run_id: "ab12cd34".into(),
            duration_secs: 10,
            connect_secs: 3,
            retry_every_secs: 1,
            deadline_secs: 600,
        }
    }

    fn place() -> Placement {
        Placement {
            hostname: "gpu01.lab".into(),
            resource: "rdma/roce".into(),
            tolerations: vec![Taint {
                key: "nvidia.com/gpu".into(),
                value: Some("present".into()),
                effect: "NoSchedule".into(),
            }],
        }
    }

    #[test]
    fn manifest_has_the_runbook_fields_and_reads_back_as_a_pod() {
        let p = pod(
            &test(),
            Role::Client,
            &place(),
            &settings("registry.local/perftest:24.04"),
        );
        let text = yaml(std::slice::from_ref(&p)).unwrap();
        let back: serde_json::Value =
            gpu_preflight_checks::yaml::from_multi::<serde_json::Value>(&text)
                .unwrap()
                .remove(0);
        assert_eq!(back["kind"], "Pod");
        let typed: Pod = serde_json::from_value(back).unwrap();
        assert_eq!(typed, p);
        let spec = typed.spec.unwrap();
        assert_eq!(spec.host_network, Some(true));
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(
            spec.node_selector.unwrap()["kubernetes.io/hostname"],
            "gpu01.lab"
        );
        assert_eq!(
            typed.metadata.name.as_deref(),
            Some("rdma-test-ab12cd34-007-client")
        );
        let c = &spec.containers[0];
        assert_eq!(
            c.resources.as_ref().unwrap().limits.as_ref().unwrap()["rdma/roce"].0,
            "1"
        );
        let script = &c.command.as_ref().unwrap()[2];
        assert!(
            script.contains("ib_write_bw -d mlx5_3 -F --report_gbits -D 10 -p 18516 10.0.0.2"),
            "{script}"
        );
        assert!(text.contains("IPC_LOCK"));
    }

    /// The scripts run under a real shell, with a stand-in `ib_write_bw` on PATH: the client
    /// retries while nothing listens and stops at once on success; a missing perftest names the
    /// image and exits 127.
    #[test]
    fn scripts_run_under_sh() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let counter = dir.path().join("calls");
        let fake = format!(
            "#!/bin/sh\necho x >> {c}\nn=$(wc -l < {c})\nif [ \"$n\" -lt 3 ]; then echo \"Couldn't connect to $9:18516\" >&2; echo ' Unable to init the socket connection' >&2; exit 1; fi\ncat {log}\n",
            c = counter.display(),
            log = crate::rdma_test::tests::fixture("node/perftest/ib_write_bw-report-gbits.txt")
                .display()
        );
        let ib = bin.join("ib_write_bw");
        std::fs::write(&ib, fake).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ib, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = Settings {
            retry_every_secs: 0,
            ..settings("img:1")
        };
        let run = |script: &str, path: &str| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .env("PATH", path)
                .output()
                .unwrap()
        };
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let out = run(&client_script(&test(), &s), &path);
        let log = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{log}");
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            3
        );
        let parsed = gpu_preflight_checks::parse::perftest::parse(&log).unwrap();
        assert_eq!(parsed.bw_average_gbps, 191.87);
        // Never listening: bounded attempts (connect 3 s / every 1 s), then perftest's status.
        std::fs::write(&counter, "").unwrap();
        let s3 = Settings {
            connect_secs: 2,
            retry_every_secs: 1,
            ..settings("img:1")
        };
        let fail = "#!/bin/sh\necho \"Couldn't connect to $9:18516\" >&2\nexit 1\n";
        std::fs::write(&ib, fail).unwrap();
        let out = run(&client_script(&test(), &s3), &path);
        let log = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert_eq!(
            log.matches("Couldn't connect to 10.0.0.2:18516").count(),
            2,
            "{log}"
        );
        assert!(log.contains("no ib_write_bw server answered at 10.0.0.2:18516 after 2 attempts"));
        // No perftest in the image.
        let out = run(&server_script(&test(), &s), "/usr/bin:/bin");
        assert_eq!(out.status.code(), Some(NO_PERFTEST_EXIT));
        assert!(String::from_utf8_lossy(&out.stdout).contains("not installed in image img:1"));
    }

    #[test]
    fn names_that_reach_a_shell_are_checked() {
        assert!(valid_device("mlx5_3"));
        assert!(!valid_device("mlx5_3; rm -rf /"));
        assert!(valid_image(
            "nvcr.io/nvidia/doca/doca:2.9.1-full-rt-host@sha256:ab12"
        ));
        assert!(!valid_image("img $(id)"));
        assert!(!valid_image("img\"x"));
    }
}
