//! MON001: Grafana, Prometheus and Alertmanager Services exist in `monitoring` with their
//! NodePorts (site `expect.monitoring_ports`), and each answers HTTP on a node address.

use super::{Ctx, Needs, TypedCheck};
use crate::context::ProbeNeeds;
use crate::kinds::View;
use crate::kinds::service::Service;
use crate::model::Finding;
use crate::object::Object;
use crate::probe::HttpOutcome;
use serde::Deserialize;

pub struct MonitoringEndpoints;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
}

fn d_ns() -> String {
    "monitoring".into()
}

/// The UIs and their NodePorts from the site (the collector probes the same list).
pub fn expected_ports(site: &crate::site::Site) -> [(&'static str, u16); 3] {
    let m = &site.expect.monitoring_ports;
    [
        ("grafana", m.grafana),
        ("prometheus", m.prometheus),
        ("alertmanager", m.alertmanager),
    ]
}

fn node_ports(svc: &Object) -> Vec<i64> {
    Service::of(svc)
        .spec
        .ports
        .iter()
        .filter_map(|p| p.node_port)
        .collect()
}

impl TypedCheck for MonitoringEndpoints {
    type Params = Params;
    const NAME: &'static str = "monitoring_endpoints";
    const SUMMARY: &'static str =
        "Monitoring UIs are exposed on their NodePorts and answer HTTP on a node address.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["services", "nodes"]).probing(ProbeNeeds {
            http: true,
            ..ProbeNeeds::default()
        })
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let ns = p.namespace.as_str();
        let services: Vec<&Object> = ctx
            .facts
            .list("services")
            .iter()
            .filter(|s| s.namespace() == Some(ns))
            .collect();
        let probes = ctx.facts.probes.as_ref();
        expected_ports(ctx.site)
            .into_iter()
            .map(|(ui, port)| {
                let expected = format!("a Service for {ui} in {ns} with NodePort {port} answering HTTP");
                let Some(svc) = services.iter().find(|s| node_ports(s).contains(&i64::from(port))) else {
                    let similar = services.iter().find(|s| s.name().contains(ui));
                    return match similar {
                        Some(s) => Finding::fail(
                            format!("service/{ns}/{}", s.name()),
                            format!("Service {ns}/{} ({ui}) is not exposed on NodePort {port} (type {}, NodePorts {:?})",
                                s.name(), Service::of(s).spec.type_.unwrap_or("ClusterIP"), node_ports(s)),
                        )
                        .observed(format!("NodePorts {:?}", node_ports(s))),
                        None => Finding::fail(
                            format!("service/{ns}/{ui}"),
                            format!("no Service in {ns} exposes {ui} on NodePort {port}"),
                        )
                        .observed("absent"),
                    }
                    .expected(expected)
                    .rests_on(&["services"]);
                };
                let target = format!("service/{ns}/{}", svc.name());
                let probe = probes.and_then(|pr| pr.http.iter().find(|h| h.port == port));
                let Some(h) = probe else {
                    let why = match probes {
                        Some(p) if p.network => "no Ready node with an InternalIP to ask",
                        _ => "the input has no HTTP probe facts",
                    };
                    // Half the evidence is a skip, not a pass: without the probe, a UI that
                    // refuses connections would look the same as one that answers.
                    return Finding::skip(&target, format!(
                        "Service {ns}/{} exposes {ui} on NodePort {port}, but whether it answers HTTP is not known: {why}", svc.name()))
                        .expected(expected)
                        .observed(format!("NodePort {port}, HTTP not probed"));
                };
                let url = &h.url;
                match &h.outcome {
                    HttpOutcome::Response { code } if *code < 500 => Finding::pass(&target, format!(
                        "{ui} answers HTTP {code} at {url} (Service {ns}/{})", svc.name())),
                    HttpOutcome::Response { code } => Finding::fail(&target, format!(
                        "{ui} at {url} answers HTTP {code}: the Service {ns}/{} exists but its pods fail", svc.name())),
                    HttpOutcome::Refused { detail } => Finding::fail(&target, format!(
                        "{ui} at {url} refuses connections ({detail}): no endpoint behind Service {ns}/{} or kube-proxy is not forwarding the NodePort", svc.name())),
                    HttpOutcome::Timeout { after_ms } => Finding::fail(&target, format!(
                        "{ui} at {url} does not answer within {after_ms} ms (firewall, or the pod hangs)")),
                    HttpOutcome::Failed { detail } => Finding::fail(&target, format!(
                        "{ui} at {url} does not speak HTTP: {detail}")),
                }
                .expected(expected)
                .observed(match &h.outcome {
                    HttpOutcome::Response { code } => format!("HTTP {code}"),
                    HttpOutcome::Refused { .. } => "connection refused".into(),
                    HttpOutcome::Timeout { after_ms } => format!("timeout after {after_ms} ms"),
                    HttpOutcome::Failed { detail } => detail.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::probe::{HttpProbe, Probes};
    use crate::site::Site;
    use serde_json::{Value, json};

    fn svc(name: &str, node_port: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": "monitoring"},
               "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": node_port}]}})
    }

    fn run(svcs: Vec<Value>, http: Vec<HttpProbe>) -> Vec<Finding> {
        let mut f = facts(&[("services", svcs), ("nodes", vec![])]);
        f.probes = Some(Probes {
            network: true,
            http,
            ..Probes::default()
        });
        let p = Params {
            namespace: "monitoring".into(),
        };
        MonitoringEndpoints::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &p,
        )
    }

    fn probe(port: u16, outcome: HttpOutcome) -> HttpProbe {
        HttpProbe {
            url: format!("http://10.0.0.1:{port}/"),
            port,
            outcome,
        }
    }

    #[test]
    fn all_three_answering_pass() {
        let r = run(
            vec![
                svc("grafana", 30200),
                svc("prometheus", 30500),
                svc("alertmanager", 30400),
            ],
            vec![
                probe(30200, HttpOutcome::Response { code: 302 }),
                probe(30500, HttpOutcome::Response { code: 200 }),
                probe(30400, HttpOutcome::Response { code: 200 }),
            ],
        );
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
        assert_eq!(r[0].target, "service/monitoring/grafana");
    }

    #[test]
    fn wrong_port_refused_and_5xx_fail() {
        let r = run(
            vec![
                svc("grafana", 31000),
                svc("prometheus", 30500),
                svc("alertmanager", 30400),
            ],
            vec![
                probe(
                    30500,
                    HttpOutcome::Refused {
                        detail: "os error 111".into(),
                    },
                ),
                probe(30400, HttpOutcome::Response { code: 503 }),
            ],
        );
        assert!(r.iter().all(|f| f.status == Status::Fail), "{r:?}");
        assert!(
            r[0].message
                .contains("Service monitoring/grafana (grafana) is not exposed on NodePort 30200"),
            "{}",
            r[0].message
        );
        assert_eq!(r[0].observed.as_deref(), Some("NodePorts [31000]"));
        assert!(r[1].message.contains("refuses connections"));
        assert!(r[2].message.contains("answers HTTP 503"));
        assert_eq!(
            r[2].expected.as_deref(),
            Some("a Service for alertmanager in monitoring with NodePort 30400 answering HTTP")
        );
    }
}
