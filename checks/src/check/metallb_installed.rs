//! LB001: MetalLB is installed — its CRDs exist, the controller Deployment is ready and the
//! speaker DaemonSet is ready on every node it is scheduled to.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::daemon_set::DaemonSet;
use crate::kinds::deployment::Deployment;
use crate::model::Finding;
use serde::Deserialize;

pub struct MetallbInstalled;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    #[serde(default = "d_controller")]
    pub controller: String,
    #[serde(default = "d_speaker")]
    pub speaker: String,
    /// CRD names (`plural.group`) that must exist.
    #[serde(default = "d_crds")]
    pub crds: Vec<String>,
}

fn d_ns() -> String {
    "metallb-system".into()
}
fn d_controller() -> String {
    "controller".into()
}
fn d_speaker() -> String {
    "speaker".into()
}
fn d_crds() -> Vec<String> {
    vec![
        "ipaddresspools.metallb.io".into(),
        "l2advertisements.metallb.io".into(),
    ]
}

const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";

impl TypedCheck for MetallbInstalled {
    type Params = Params;
    const NAME: &'static str = "metallb_installed";
    const SUMMARY: &'static str = "MetalLB CRDs exist, its controller Deployment is ready and its speaker DaemonSet is ready on all scheduled nodes.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[CRDS, "deployments.apps", "daemonsets.apps"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let mut out = vec![];
        let missing: Vec<String> = p
            .crds
            .iter()
            .filter(|c| ctx.facts.get(CRDS, None, c).is_none())
            .cloned()
            .collect();
        let expected = p.crds.join(", ");
        out.push(if missing.is_empty() {
            Finding::pass(
                "crd/metallb.io",
                format!("MetalLB CRDs installed: {expected}"),
            )
        } else {
            Finding::fail(
                "crd/metallb.io",
                format!(
                    "MetalLB CRD(s) not installed: {}",
                    super::util::list(&missing)
                ),
            )
            .expected(format!("installed: {expected}"))
            .observed(format!("missing: {}", missing.join(", ")))
        });

        let ns = &p.namespace;
        let target = format!("deployment/{ns}/{}", p.controller);
        out.push(
            match ctx.facts.view::<Deployment>(Some(ns), &p.controller) {
                None => Finding::fail(
                    &target,
                    format!(
                        "MetalLB controller Deployment {ns}/{} not found",
                        p.controller
                    ),
                )
                .expected("Deployment present, all replicas ready")
                .observed("absent"),
                Some((_, d)) => {
                    let want = d.spec.replicas.unwrap_or(1);
                    let ready = d.status.ready_replicas.unwrap_or(0);
                    let obs = format!("status.readyReplicas={ready}, spec.replicas={want}");
                    if want > 0 && ready >= want {
                        Finding::pass(
                            &target,
                            format!("MetalLB controller {ns}/{}: {ready}/{want} ready", p.controller),
                        )
                    } else {
                        Finding::fail(
                            &target,
                            format!(
                                "MetalLB controller Deployment {ns}/{}: {ready} of {want} replicas ready",
                                p.controller
                            ),
                        )
                    }
                    .expected("readyReplicas = replicas ≥ 1")
                    .observed(obs)
                }
            },
        );

        let target = format!("daemonset/{ns}/{}", p.speaker);
        out.push(
            match ctx.facts.view::<DaemonSet>(Some(ns), &p.speaker) {
                None => Finding::fail(
                    &target,
                    format!("MetalLB speaker DaemonSet {ns}/{} not found", p.speaker),
                )
                .expected("DaemonSet present, ready on all scheduled nodes")
                .observed("absent"),
                Some((_, ds)) => {
                    let desired = ds.status.desired_number_scheduled.unwrap_or(0);
                    let ready = ds.status.number_ready.unwrap_or(0);
                    let obs = format!(
                        "status.numberReady={ready}, status.desiredNumberScheduled={desired}"
                    );
                    let f = if desired == 0 {
                        Finding::fail(
                            &target,
                            format!(
                                "MetalLB speaker DaemonSet {ns}/{} is scheduled on no node: nothing announces the LoadBalancer addresses",
                                p.speaker
                            ),
                        )
                    } else if ready != desired {
                        Finding::fail(
                            &target,
                            format!(
                                "MetalLB speaker DaemonSet {ns}/{}: {ready} of {desired} scheduled speakers ready",
                                p.speaker
                            ),
                        )
                    } else {
                        Finding::pass(
                            &target,
                            format!(
                                "MetalLB speaker {ns}/{}: ready on all {desired} scheduled nodes",
                                p.speaker
                            ),
                        )
                    };
                    f.expected("numberReady = desiredNumberScheduled ≥ 1")
                        .observed(obs)
                }
            },
        );
        // CRDs, controller and speaker are separate evidence.
        for (f, kind) in out
            .iter_mut()
            .zip([CRDS, "deployments.apps", "daemonsets.apps"])
        {
            f.rests_on = Some([kind].into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::{Value, json};

    fn run(speaker_ready: i64, crds: &[&str]) -> Vec<Finding> {
        let crd = |n: &str| json!({"metadata": {"name": n}});
        let f = facts(&[
            (CRDS, crds.iter().map(|c| crd(c)).collect::<Vec<Value>>()),
            (
                "deployments.apps",
                vec![
                    json!({"metadata": {"name": "controller", "namespace": "metallb-system"},
                    "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}),
                ],
            ),
            (
                "daemonsets.apps",
                vec![
                    json!({"metadata": {"name": "speaker", "namespace": "metallb-system"},
                    "status": {"desiredNumberScheduled": 3, "numberReady": speaker_ready}}),
                ],
            ),
        ]);
        let p: Params = serde_json::from_value(json!({})).unwrap();
        MetallbInstalled::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &p,
        )
    }

    #[test]
    fn installed_and_ready_passes() {
        let r = run(
            3,
            &["ipaddresspools.metallb.io", "l2advertisements.metallb.io"],
        );
        assert!(r.iter().all(|f| f.status == Status::Pass), "{r:?}");
    }

    #[test]
    fn unready_speaker_and_missing_crd_fail_with_values() {
        let r = run(2, &["ipaddresspools.metallb.io"]);
        assert_eq!(r[0].status, Status::Fail);
        assert!(r[0].message.contains("l2advertisements.metallb.io"));
        assert_eq!(r[1].status, Status::Pass);
        assert_eq!(r[2].status, Status::Fail);
        assert_eq!(r[2].target, "daemonset/metallb-system/speaker");
        assert!(r[2].message.contains("2 of 3"), "{}", r[2].message);
        assert_eq!(
            r[2].observed.as_deref(),
            Some("status.numberReady=2, status.desiredNumberScheduled=3")
        );
        assert_eq!(
            r[2].expected.as_deref(),
            Some("numberReady = desiredNumberScheduled ≥ 1")
        );
    }
}
