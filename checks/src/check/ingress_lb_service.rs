//! LB005: a LoadBalancer Service in the ingress namespace selects the controller pods, requests
//! the reserved IP and has been given it (`status.loadBalancer.ingress[].ip`).

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::View;
use crate::kinds::deployment::Deployment;
use crate::kinds::service::Service;
use crate::metallb;
use crate::model::Finding;
use crate::object::Object;
use crate::selector::LabelSelector;
use serde::Deserialize;

pub struct IngressLbService;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    /// The controller Deployment whose pod template labels the Service must select.
    #[serde(default = "d_dep")]
    pub deployment: String,
}

fn d_ns() -> String {
    "ingress-nginx".into()
}
fn d_dep() -> String {
    "ingress-nginx-controller".into()
}

fn requested_text(svc: &Object) -> String {
    let r = metallb::requested_ips(svc);
    if r.is_empty() {
        "no address requested".into()
    } else {
        r.iter()
            .map(|(f, ip)| format!("{f}={ip}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl TypedCheck for IngressLbService {
    type Params = Params;
    const NAME: &'static str = "ingress_lb_service";
    const SUMMARY: &'static str = "A LoadBalancer Service selecting the ingress controller pods requests the reserved IP and has it in status.loadBalancer.ingress.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["services", "deployments.apps"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let ip = match metallb::reserved_ip(ctx.site) {
            Ok(ip) => ip,
            Err(skip) => return vec![skip],
        };
        let ns = &p.namespace;
        let expected = format!(
            "a type LoadBalancer Service in {ns} selecting the {} pods, requesting {ip} (spec.loadBalancerIP or annotation {}) with status.loadBalancer.ingress[].ip = {ip}",
            p.deployment,
            metallb::ANN_IPS
        );
        let Some((_, dep)) = ctx.facts.view::<Deployment>(Some(ns), &p.deployment) else {
            return vec![
                Finding::fail(
                    format!("deployment/{ns}/{}", p.deployment),
                    format!(
                        "Deployment {ns}/{} not found: no controller pods for a LoadBalancer Service to select",
                        p.deployment
                    ),
                )
                .expected(expected)
                .observed("Deployment absent")
                .rests_on(&["deployments.apps"]),
            ];
        };
        let template_labels = dep.spec.template.metadata.labels.as_ref();
        let pod_labels = crate::object::string_map(template_labels);
        let lbs: Vec<&Object> = ctx
            .facts
            .list("services")
            .iter()
            .filter(|s| s.namespace() == Some(ns))
            .filter(|s| Service::of(s).spec.type_ == Some("LoadBalancer"))
            .collect();
        let selecting: Vec<&&Object> = lbs
            .iter()
            .filter(|s| {
                let sel = LabelSelector::from_map(Service::of(s).spec.selector.as_ref());
                !sel.is_empty() && sel.matches(&pod_labels)
            })
            .collect();
        if selecting.is_empty() {
            let seen: Vec<String> = lbs
                .iter()
                .map(|s| {
                    format!(
                        "{} selects {}",
                        s.name(),
                        LabelSelector::from_map(Service::of(s).spec.selector.as_ref())
                    )
                })
                .collect();
            return vec![
                Finding::fail(
                    format!("service/{ns}"),
                    format!(
                        "no Service of type LoadBalancer in {ns} selects the {} pods (template labels {})",
                        p.deployment,
                        LabelSelector::from_map(template_labels)
                    ),
                )
                .expected(expected)
                .observed(if seen.is_empty() {
                    format!("no LoadBalancer Service in {ns}")
                } else {
                    seen.join("; ")
                }),
            ];
        }
        let requesting: Vec<&&&Object> = selecting
            .iter()
            .filter(|s| {
                metallb::requested_ips(s)
                    .iter()
                    .any(|(_, r)| metallb::same_ip(r, ip))
            })
            .collect();
        let Some(svc) = requesting.first() else {
            let seen: Vec<String> = selecting
                .iter()
                .map(|s| format!("{}: {}", s.name(), requested_text(s)))
                .collect();
            return vec![
                Finding::fail(
                    format!("service/{}", selecting[0].qualified_name()),
                    format!(
                        "LoadBalancer Service(s) selecting the controller do not request the reserved IP {ip}: {}",
                        seen.join("; ")
                    ),
                )
                .expected(expected)
                .observed(seen.join("; ")),
            ];
        };
        let target = format!("service/{}", svc.qualified_name());
        let got = metallb::ingress_ips(svc);
        let observed = format!(
            "{}; status.loadBalancer.ingress ip: [{}]",
            requested_text(svc),
            got.join(", ")
        );
        if got.iter().any(|g| metallb::same_ip(g, ip)) {
            vec![
                Finding::pass(
                    target,
                    format!(
                        "Service {} requests and holds the reserved IP {ip}",
                        svc.qualified_name()
                    ),
                )
                .expected(expected)
                .observed(observed),
            ]
        } else {
            let why = if got.is_empty() {
                "MetalLB has not assigned it (pending: check LB002-LB004 and the MetalLB controller logs)".to_string()
            } else {
                format!("it was given {} instead", got.join(", "))
            };
            vec![
                Finding::fail(
                    target,
                    format!(
                        "Service {} requests {ip} but status.loadBalancer.ingress does not hold it: {why}",
                        svc.qualified_name()
                    ),
                )
                .expected(expected)
                .observed(observed),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    fn run(svc: serde_json::Value) -> Finding {
        let labels = json!({"app.kubernetes.io/component": "controller",
            "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/name": "ingress-nginx"});
        let f = facts(&[
            (
                "deployments.apps",
                vec![
                    json!({"metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
                    "spec": {"template": {"metadata": {"labels": labels}}}}),
                ],
            ),
            ("services", vec![svc]),
        ]);
        let mut site = Site::default();
        site.platform.reserved_ip = Some("127.0.5.10".parse().unwrap());
        let p: Params = serde_json::from_value(json!({})).unwrap();
        IngressLbService::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    fn svc(
        annotations: serde_json::Value,
        spec_ip: Option<&str>,
        got: &[&str],
    ) -> serde_json::Value {
        let mut s = json!({"metadata": {"name": "ingress-nginx-controller-lb1", "namespace": "ingress-nginx",
                "annotations": annotations},
            "spec": {"type": "LoadBalancer", "selector": {"app.kubernetes.io/component": "controller",
                "app.kubernetes.io/name": "ingress-nginx"}},
            "status": {"loadBalancer": {"ingress": got.iter().map(|i| json!({"ip": i})).collect::<Vec<_>>()}}});
        if let Some(ip) = spec_ip {
            s["spec"]["loadBalancerIP"] = json!(ip);
        }
        s
    }

    #[test]
    fn requested_and_assigned_passes_via_field_or_annotation() {
        assert_eq!(
            run(svc(json!({}), Some("127.0.5.10"), &["127.0.5.10"])).status,
            Status::Pass
        );
        let r = run(svc(
            json!({"metallb.universe.tf/loadBalancerIPs": "127.0.5.10"}),
            None,
            &["127.0.5.10"],
        ));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
    }

    #[test]
    fn pending_wrong_or_unrequested_ip_fails() {
        let r = run(svc(json!({}), Some("127.0.5.10"), &[]));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.target,
            "service/ingress-nginx/ingress-nginx-controller-lb1"
        );
        assert!(r.message.contains("has not assigned"));
        assert!(
            r.expected
                .as_deref()
                .unwrap()
                .contains("status.loadBalancer.ingress[].ip = 127.0.5.10")
        );
        assert_eq!(
            r.observed.as_deref(),
            Some("spec.loadBalancerIP=127.0.5.10; status.loadBalancer.ingress ip: []")
        );
        let r = run(svc(
            json!({"metallb.io/loadBalancerIPs": "127.0.5.99"}),
            None,
            &["127.0.5.99"],
        ));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("127.0.5.99") && r.message.contains("127.0.5.10"));
        let mut s = svc(json!({}), Some("127.0.5.10"), &["127.0.5.10"]);
        s["spec"]["selector"] = json!({"app": "other"});
        let r = run(s);
        assert_eq!(r.status, Status::Fail);
        assert!(r.observed.unwrap().contains("app=other"));
    }
}
