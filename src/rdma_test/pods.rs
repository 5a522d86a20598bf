//! The test pods, as runbook 002 step 12 makes them (`hostNetwork: true`, `IPC_LOCK`, the RDMA
//! resource), pinned to their node, labelled so `--cleanup` can find them, and running the
//! perftest commands of step 17 without anyone exec-ing into them. Pure: manifests and scripts.

use super::plan::{Placement, Test};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvVar, Pod, PodSpec, ResourceRequirements, SeccompProfile,
    SecurityContext, Toleration,
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

/// Whether a pod is one this command made (its two labels).
pub fn is_ours(p: &Pod) -> bool {
    let labels = p.metadata.labels.as_ref();
    let has = |(k, v): (&str, &str)| labels.and_then(|l| l.get(k)).is_some_and(|x| x == v);
    has(MANAGED_BY) && has(COMPONENT)
}

/// The node and port a server pod of this command listens on, while it is not ended (a
/// Terminating one still listens): from its `RDMA_TEST_PORT`, or the `-p PORT` of an older
/// version's script. The node is the one it was scheduled to.
pub fn holds_port(p: &Pod) -> Option<(String, u16)> {
    let labels = p.metadata.labels.as_ref()?;
    if labels.get(ROLE).map(String::as_str) != Some(Role::Server.as_str()) {
        return None;
    }
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return None;
    }
    let spec = p.spec.as_ref()?;
    let node = spec.node_name.clone()?;
    let c = spec.containers.first()?;
    let from_env = c
        .env
        .iter()
        .flatten()
        .find(|e| e.name == ENV_PORT)
        .and_then(|e| e.value.as_deref()?.parse().ok());
    let from_script = || {
        let script = c.command.as_ref()?.get(2)?;
        let mut words = script.split_whitespace();
        words.find(|w| *w == "-p")?;
        words.next()?.parse().ok()
    };
    Some((node, from_env.or_else(from_script)?))
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

/// The environment variables that carry every value the scripts use. The scripts are constant
/// text: a value (a device name from node facts, an address from a Node's status, the image) is
/// only ever expanded inside double quotes, as one argument, never parsed as shell.
pub const ENV_DEVICE: &str = "RDMA_TEST_DEVICE";
pub const ENV_PORT: &str = "RDMA_TEST_PORT";
pub const ENV_DURATION: &str = "RDMA_TEST_DURATION";
/// The client's server address (only the client has it).
pub const ENV_SERVER: &str = "RDMA_TEST_SERVER";
pub const ENV_IMAGE: &str = "RDMA_TEST_IMAGE";
pub const ENV_ATTEMPTS: &str = "RDMA_TEST_ATTEMPTS";
pub const ENV_RETRY_SECS: &str = "RDMA_TEST_RETRY_SECS";

/// Checks the image has perftest before anything else: the log then names the image.
fn preamble() -> String {
    format!(
        "if ! command -v ib_write_bw >/dev/null 2>&1; then\n  printf '%s %s: install perftest in it (apt-get install -y perftest)\\n' '{NO_PERFTEST}' \"${ENV_IMAGE}\"\n  exit {NO_PERFTEST_EXIT}\nfi\n"
    )
}

/// The server: listens once, measures for the duration, exits (step 17's `ib_write_bw -d DEV -F`).
const SERVER: &str = "exec ib_write_bw -d \"$RDMA_TEST_DEVICE\" -F --report_gbits -D \"$RDMA_TEST_DURATION\" -p \"$RDMA_TEST_PORT\"
";

/// The client: perftest exchanges queue-pair data over TCP before it measures, and gives up at
/// once when nothing listens yet, so it is retried — only on that error, for a bounded time.
const CLIENT: &str = "attempt=1
while :; do
  out=$(ib_write_bw -d \"$RDMA_TEST_DEVICE\" -F --report_gbits -D \"$RDMA_TEST_DURATION\" -p \"$RDMA_TEST_PORT\" \"$RDMA_TEST_SERVER\" 2>&1)
  rc=$?
  printf '%s\\n' \"$out\"
  case \"$out\" in
    *\"Couldn't connect to\"*) ;;
    *) exit $rc ;;
  esac
  if [ \"$attempt\" -ge \"$RDMA_TEST_ATTEMPTS\" ]; then
    printf 'gpu-preflight: no ib_write_bw server answered at %s:%s after %s attempts\\n' \"$RDMA_TEST_SERVER\" \"$RDMA_TEST_PORT\" \"$attempt\"
    exit $rc
  fi
  attempt=$((attempt + 1))
  sleep \"$RDMA_TEST_RETRY_SECS\"
done
";

/// The script of a role: constant text, the same for every test (the values are in [`env`]).
pub fn script(role: Role) -> String {
    let body = match role {
        Role::Server => SERVER,
        Role::Client => CLIENT,
    };
    format!("{}{body}", preamble())
}

/// The values a role's script reads, as `(name, value)`: each one argument to `ib_write_bw`.
pub fn env(test: &Test, role: Role, s: &Settings) -> Vec<(&'static str, String)> {
    let mut v = vec![
        (ENV_DEVICE, test.device.clone()),
        (ENV_PORT, test.port.to_string()),
        (ENV_DURATION, s.duration_secs.to_string()),
        (ENV_IMAGE, s.image.clone()),
    ];
    if role == Role::Client {
        let tries = (s.connect_secs / s.retry_every_secs.max(1)).max(1);
        v.push((ENV_SERVER, test.server_ip.to_string()));
        v.push((ENV_ATTEMPTS, tries.to_string()));
        v.push((ENV_RETRY_SECS, s.retry_every_secs.to_string()));
    }
    v
}

/// The `ib_write_bw` arguments a role's script runs, as the program receives them.
pub fn perftest_argv(test: &Test, role: Role, s: &Settings) -> Vec<String> {
    let mut v: Vec<String> = [
        "-d",
        test.device.as_str(),
        "-F",
        "--report_gbits",
        "-D",
        &s.duration_secs.to_string(),
        "-p",
        &test.port.to_string(),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    if role == Role::Client {
        v.push(test.server_ip.to_string());
    }
    v
}

/// A test's pod for one role.
pub fn pod(test: &Test, role: Role, place: &Placement, s: &Settings) -> Pod {
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
                command: Some(vec!["sh".into(), "-c".into(), script(role)]),
                env: Some(
                    env(test, role, s)
                        .into_iter()
                        .map(|(name, value)| EnvVar {
                            name: name.to_string(),
                            value: Some(value),
                            value_from: None,
                        })
                        .collect(),
                ),
                security_context: Some(security_context()),
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

/// What ib_write_bw needs and nothing more: IPC_LOCK to pin its buffers (the RDMA device
/// nodes come with the resource), every other capability dropped, no privilege escalation, the
/// runtime's seccomp profile, and a read-only root file system (perftest writes nothing).
pub fn security_context() -> SecurityContext {
    SecurityContext {
        capabilities: Some(Capabilities {
            add: Some(vec!["IPC_LOCK".into()]),
            drop: Some(vec!["ALL".into()]),
        }),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
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

/// An RDMA device name as the kernel names it (`mlx5_3`, `ibp12s0`, `rocep65s0f0`): the one
/// check every device name passes, wherever it comes from (`--device`, node facts files, the
/// agent's logs), before it reaches a pod or a file name. At most 64 characters (the kernel's
/// IB_DEVICE_NAME_MAX), starting with a letter or digit, then letters, digits, `_`, `-`, `.`.
pub fn valid_device(d: &str) -> bool {
    d.len() <= 64
        && d.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A Kubernetes node name (an RFC 1123 subdomain): checked before it becomes part of a file
/// name (`--perf DIR/NODE-DEVICE.txt`), whatever the API server let through.
pub fn valid_node_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// An image reference (`registry:5000/ns/perftest:24.04@sha256:…`).
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
    use proptest::prelude::*;
    use std::net::IpAddr;
    use std::path::Path;

    fn test() -> Test {
        Test {
            index: 7,
            client: "gpu01".into(),
            server: "gpu02".into(),
            server_ip: "10.0.0.2".parse().unwrap(),
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

    /// The container's command and environment, run by the real `sh` with `PATH` and `cwd`
    /// given, as the kubelet would run them.
    fn run_pod(p: &Pod, path: &str, cwd: &Path) -> std::process::Output {
        let c = &p.spec.as_ref().unwrap().containers[0];
        let cmd = c.command.as_ref().unwrap();
        let mut command = std::process::Command::new(&cmd[0]);
        command
            .args(&cmd[1..])
            .env_clear()
            .env("PATH", path)
            .current_dir(cwd);
        for e in c.env.iter().flatten() {
            command.env(&e.name, e.value.as_deref().unwrap_or(""));
        }
        command.output().unwrap()
    }

    fn executable(path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
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
        // The script is the same text for every test: the values are environment variables.
        let cmd = c.command.as_ref().unwrap();
        assert_eq!(cmd.len(), 3);
        assert_eq!(cmd[2], script(Role::Client));
        let env: BTreeMap<&str, &str> = c
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap()))
            .collect();
        assert_eq!(env[ENV_DEVICE], "mlx5_3");
        assert_eq!(env[ENV_PORT], "18516");
        assert_eq!(env[ENV_SERVER], "10.0.0.2");
        assert_eq!(env[ENV_DURATION], "10");
        // ib_write_bw gets IPC_LOCK and nothing else.
        let sc = c.security_context.as_ref().unwrap();
        let caps = sc.capabilities.as_ref().unwrap();
        assert_eq!(caps.add.as_deref(), Some(&["IPC_LOCK".to_string()][..]));
        assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_string()][..]));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(
            sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            Some("RuntimeDefault")
        );
        assert_eq!(sc.privileged, None);
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
        executable(&ib, &fake);
        let s = Settings {
            retry_every_secs: 0,
            ..settings("img:1")
        };
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let out = run_pod(&pod(&test(), Role::Client, &place(), &s), &path, dir.path());
        let log = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{log}");
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            3
        );
        let parsed = gpu_preflight_checks::parse::perftest::parse(&log).unwrap();
        assert_eq!(parsed.bw_average_gbps, 191.87);
        // Never listening: bounded attempts (connect 2 s / every 1 s), then perftest's status.
        std::fs::write(&counter, "").unwrap();
        let s3 = Settings {
            connect_secs: 2,
            retry_every_secs: 1,
            ..settings("img:1")
        };
        executable(
            &ib,
            "#!/bin/sh\necho \"Couldn't connect to $9:18516\" >&2\nexit 1\n",
        );
        let out = run_pod(
            &pod(&test(), Role::Client, &place(), &s3),
            &path,
            dir.path(),
        );
        let log = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert_eq!(
            log.matches("Couldn't connect to 10.0.0.2:18516").count(),
            2,
            "{log}"
        );
        assert!(log.contains("no ib_write_bw server answered at 10.0.0.2:18516 after 2 attempts"));
        // No perftest in the image.
        let out = run_pod(
            &pod(&test(), Role::Server, &place(), &s),
            "/usr/bin:/bin",
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(NO_PERFTEST_EXIT));
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("{NO_PERFTEST} img:1: install perftest"))
        );
    }

    #[test]
    fn names_that_reach_a_pod_are_checked() {
        assert!(valid_device("mlx5_3"));
        assert!(valid_device("rocep65s0f0"));
        assert!(!valid_device("mlx5_3; rm -rf /"));
        assert!(!valid_device("-x"));
        assert!(!valid_device(""));
        assert!(!valid_device("../etc"));
        assert!(!valid_device(&"m".repeat(65)));
        assert!(valid_image(
            "nvcr.io/nvidia/doca/doca:2.9.1-full-rt-host@sha256:ab12"
        ));
        assert!(!valid_image("img $(id)"));
        assert!(!valid_image("img\"x"));
        assert!(valid_node_name("gpu02.cluster.local"));
        assert!(!valid_node_name("../gpu02"));
        assert!(!valid_node_name("gpu02/x"));
        assert!(!valid_node_name(".."));
        assert!(!valid_node_name("a..b"));
    }

    /// Strings an attacker would write where a device name or an address goes.
    fn hostile() -> impl Strategy<Value = String> {
        let fragment = prop_oneof![
            Just(";touch pwned;".to_string()),
            Just("$(touch pwned)".to_string()),
            Just("`touch pwned`".to_string()),
            Just("\"; touch pwned; \"".to_string()),
            Just("'; touch pwned; '".to_string()),
            Just("${IFS}".to_string()),
            Just("|touch pwned".to_string()),
            Just("&& touch pwned".to_string()),
            Just("\ntouch pwned\n".to_string()),
            Just("*".to_string()),
            Just("-x".to_string()),
            Just("mlx5_0".to_string()),
            "[ -~]{0,12}",
            any::<String>().prop_map(|s| s.chars().filter(|c| *c != '\0').take(12).collect()),
        ];
        proptest::collection::vec(fragment, 0..5).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// For any node name, address and device string, the pods' commands — run by `sh`, as
        /// the container runs them, with a stand-in `ib_write_bw` that records its arguments —
        /// run ib_write_bw with exactly the planned arguments and nothing else: no file appears
        /// but the record. (Validation keeps such devices out of a plan; this holds without it.)
        #[test]
        fn pod_commands_execute_nothing_but_ib_write_bw(
            device in hostile(),
            client in hostile(),
            server in hostile(),
            ip in any::<IpAddr>(),
            port in 1024u16..,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            let work = dir.path().join("work");
            std::fs::create_dir(&work).unwrap();
            let record = dir.path().join("argv");
            executable(
                &bin.join("ib_write_bw"),
                &format!(
                    "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > '{}'\n",
                    record.display()
                ),
            );
            let t = Test {
                index: 0,
                client,
                server,
                server_ip: ip,
                device: device.clone(),
                port,
            };
            let s = settings("img:1");
            for role in [Role::Server, Role::Client] {
                let _ = std::fs::remove_file(&record);
                let p = pod(&t, role, &place(), &s);
                let out = run_pod(&p, &format!("{}:/usr/bin:/bin", bin.display()), &work);
                prop_assert!(out.status.success(), "{:?}", out);
                let got = std::fs::read(&record).unwrap();
                // Each argument is followed by a NUL: the last piece is empty.
                let mut argv: Vec<String> = got
                    .split(|b| *b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                prop_assert_eq!(argv.pop(), Some(String::new()));
                let want = perftest_argv(&t, role, &s);
                prop_assert_eq!(&argv, &want);
                prop_assert_eq!(argv[1].as_str(), device.as_str());
                let created: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
                prop_assert!(created.is_empty(), "{:?}", created);
                let top: BTreeMap<String, ()> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| (e.unwrap().file_name().to_string_lossy().into_owned(), ()))
                    .collect();
                prop_assert_eq!(top.keys().cloned().collect::<Vec<_>>(), ["argv", "bin", "work"]);
            }
        }
    }
}
