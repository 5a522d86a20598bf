//! Flags into requests: what `check`, `collect` and `rdma-test` were asked, as the values the
//! audit pipeline and `rdma-test` take. Nothing here runs anything.

use super::*;
use crate::rdma_test::{self, plan};

impl Command {
    /// `-v` given after the command's name (check, collect, rdma-test).
    pub(super) fn verbose(&self) -> u8 {
        match self {
            Command::Check(a) => a.log.verbose,
            Command::Collect(a) => a.log.verbose,
            Command::RdmaTest(a) => a.log.verbose,
            Command::Serve(a) => a.log.verbose,
            _ => 0,
        }
    }
}

impl SelectArgs {
    fn rules(&self) -> audit::Rules {
        audit::Rules {
            profile: self.profile.clone(),
            phase: match self.phase.as_deref() {
                Some("pre") => Some(Phase::Pre),
                Some("post") => Some(Phase::Post),
                _ => None,
            },
            only: self.only.clone(),
            skip: self.skip.clone(),
            packs: self.rules.clone(),
            nodes: Default::default(),
        }
    }
}

impl ClusterArgs {
    fn live(&self, progress: bool) -> audit::LiveCluster {
        audit::LiveCluster {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            timeout_secs: self.timeout,
            page_size: self.page_size.unwrap_or(audit::LiveCluster::PAGE_SIZE),
            progress,
            listed: None,
        }
    }
}

/// The sources `check` and `collect` share; the cluster is set by each.
fn sources(
    s: &SelectArgs,
    probes: &ProbeArgs,
    node: &NodeInputArgs,
    firmware: &Option<PathBuf>,
) -> audit::Sources {
    audit::Sources {
        cluster: audit::ClusterSource::default(),
        node_facts: node.node_facts.as_ref().map(|p| {
            // A keyword, as `--bcm cmsh` is: `./cluster` names a folder of that name.
            if p.as_os_str() == "cluster" {
                audit::NodeFactsSource::Cluster(audit::NodeAgent {
                    daemonset: node.node_agent.clone(),
                    concurrency: node.node_concurrency,
                    max_age: node
                        .node_facts_max_age
                        .clone()
                        .unwrap_or_else(|| audit::NodeAgent::default().max_age),
                })
            } else {
                audit::NodeFactsSource::Folder(p.clone())
            }
        }),
        perf: node.perf.clone(),
        node_facts_max_age: node.node_facts_max_age.clone(),
        firmware: firmware.clone(),
        bcm: s.bcm.clone(),
        inventory: s.inventory.clone(),
        probes: audit::Probes {
            concurrency: probes.concurrency,
            timeout_secs: probes.probe_timeout,
            network: !probes.no_probes,
        },
    }
}

impl CheckArgs {
    /// The audit `check` runs.
    pub(super) fn request(&self) -> anyhow::Result<audit::Request> {
        let a = self;
        let mut sources = sources(&a.select, &a.probes, &a.node, &a.firmware);
        sources.cluster = if a.snapshot.is_empty() {
            audit::ClusterSource::Live(a.cluster.live(!a.quiet))
        } else {
            audit::ClusterSource::Snapshot(audit::SnapshotSource {
                paths: a.snapshot.clone(),
                complete: a.complete_dump,
            })
        };
        let mut rules = a.select.rules();
        rules.nodes = audit::select::NodeScope::parse(&a.nodes, a.node_selector.as_deref())?;
        Ok(audit::Request {
            rules,
            site: a.select.site.clone(),
            sources,
            options: audit::Options {
                fail_on: match a.fail_on.as_str() {
                    "warning" => Severity::Warning,
                    "info" => Severity::Info,
                    _ => Severity::Error,
                },
                waivers: a.waivers.clone(),
            },
        })
    }
}

impl ServeArgs {
    /// What `serve` runs: the `check` audit of the live cluster, on an interval and on change.
    pub(super) fn request(&self) -> anyhow::Result<crate::serve::ServeRequest> {
        let a = self;
        let mut sources = sources(&a.select, &a.probes, &a.node, &a.firmware);
        let mut live = a.cluster.live(false);
        // serve lists each kind once and then watches it: larger pages reach ready sooner (200,000
        // pods are 100 round trips instead of 400), and one page's memory is gone after it.
        live.page_size = a.cluster.page_size.unwrap_or(crate::serve::PAGE_SIZE);
        sources.cluster = audit::ClusterSource::Live(live);
        let duration = |flag: &str, v: &str| {
            crate::serve::parse_duration(v).map_err(|e| exit::input(format!("--{flag} {v}: {e}")))
        };
        let listen = crate::serve::parse_listen(&a.listen)
            .map_err(|e| exit::input(format!("--listen {}: {e}", a.listen)))?;
        if a.drift_history == 0 {
            return Err(exit::input("--drift-history must be at least 1"));
        }
        Ok(crate::serve::ServeRequest {
            audit: audit::Request {
                rules: a.select.rules(),
                site: a.select.site.clone(),
                sources,
                options: audit::Options {
                    fail_on: match a.fail_on.as_str() {
                        "warning" => Severity::Warning,
                        "info" => Severity::Info,
                        _ => Severity::Error,
                    },
                    waivers: a.waivers.clone(),
                },
            },
            interval: duration("interval", &a.interval)?,
            debounce: duration("debounce", &a.debounce)?,
            listen,
            drift_history: a.drift_history,
            program: super::prefix(),
        })
    }
}

impl CollectArgs {
    /// What `collect` reads: the live cluster (never a snapshot), probes and local inputs.
    pub(super) fn request(&self) -> audit::Request {
        let mut sources = sources(&self.select, &self.probes, &self.node, &self.firmware);
        sources.cluster = audit::ClusterSource::Live(self.cluster.live(true));
        audit::Request {
            rules: self.select.rules(),
            site: self.select.site.clone(),
            sources,
            options: audit::Options::default(),
        }
    }
}

impl RdmaTestArgs {
    /// The bandwidth test `rdma-test` runs.
    pub(super) fn request(&self) -> anyhow::Result<rdma_test::Request> {
        let a = self;
        let cluster = self.cluster();
        let nodes = if a.all {
            plan::NodeChoice::All
        } else if a.nodes.is_empty() {
            return Err(exit::input(
                "which nodes? give --nodes NODE,NODE,... or --all (every node with an rdma/* resource or labelled RDMA-capable)",
            ));
        } else {
            plan::NodeChoice::Named(a.nodes.clone())
        };
        Ok(rdma_test::Request {
            cluster,
            site: a.site.clone(),
            node_facts: a.node_facts.clone(),
            nodes,
            pattern: plan::Pattern::parse(&a.pattern).unwrap_or(plan::Pattern::Ring),
            devices: match a.device.as_deref() {
                None => plan::DeviceChoice::FromFacts,
                Some("all") => plan::DeviceChoice::All,
                Some(d) => plan::DeviceChoice::Named(d.to_string()),
            },
            resource: a.resource.clone(),
            image: a.image.clone().unwrap_or_default(),
            namespace: a.namespace.clone(),
            duration_secs: a.duration,
            timeout_secs: a.timeout,
            port: a.port,
            parallel: a.parallel,
            perf_out: a.perf.clone(),
            dry_run: a.dry_run,
            waivers: a.waivers.clone(),
            fail_on: match a.fail_on.as_str() {
                "error" => Severity::Error,
                "info" => Severity::Info,
                _ => Severity::Warning,
            },
            progress: !a.quiet,
            force: a.force,
        })
    }

    /// What `rdma-test --cleanup` removes.
    pub(super) fn cleanup_request(&self) -> rdma_test::CleanupRequest {
        rdma_test::CleanupRequest {
            cluster: self.cluster(),
            namespace: self.namespace.clone(),
            dry_run: self.dry_run,
            wait: std::time::Duration::from_secs(u64::from(self.timeout)),
        }
    }

    fn cluster(&self) -> audit::LiveCluster {
        audit::LiveCluster {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            ..audit::LiveCluster::default()
        }
    }
}

pub(super) fn parse_format(f: &str) -> anyhow::Result<Format> {
    Format::parse(f)
        .ok_or_else(|| exit::input(format!("--format {f}: expected one of {}", Format::NAMES)))
}

/// `--output FORMAT=PATH`.
fn parse_output(o: &str) -> anyhow::Result<(Format, PathBuf)> {
    let (f, path) = o.split_once('=').ok_or_else(|| {
        exit::input(format!(
            "--output {o}: expected FORMAT=PATH, e.g. junit=report.xml"
        ))
    })?;
    let f = Format::parse(f).ok_or_else(|| {
        exit::input(format!(
            "--output {o}: unknown format `{f}` (one of {})",
            Format::NAMES
        ))
    })?;
    Ok((f, PathBuf::from(path)))
}

/// Every `--output FORMAT=PATH`.
pub(super) fn parse_outputs(outputs: &[String]) -> anyhow::Result<Vec<(Format, PathBuf)>> {
    outputs.iter().map(|o| parse_output(o)).collect()
}
