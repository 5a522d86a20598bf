//! NET002, NET003, CRD002, CRD004: a Deployment exists (in one of its usual places), has at
//! least N replicas and all of them are ready.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::deployment::Deployment;
use crate::model::Finding;
use crate::site::Site;
use serde::Deserialize;

pub struct DeploymentReady;

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub namespace: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Where the Deployment may live; the first one found is checked.
    pub candidates: Vec<Location>,
    /// Fixed minimum of `spec.replicas`.
    #[serde(default)]
    pub min_replicas: Option<u32>,
    /// Site `expect.*` field giving the minimum (overrides `min_replicas`).
    #[serde(default)]
    pub min_replicas_setting: Option<String>,
}

const SETTINGS: &[&str] = &["ingress_replicas", "typha_replicas"];

fn setting(site: &Site, name: &str) -> Option<u32> {
    match name {
        "ingress_replicas" => Some(site.expect.ingress_replicas),
        "typha_replicas" => Some(site.expect.typha_replicas),
        _ => None,
    }
}

impl TypedCheck for DeploymentReady {
    type Params = Params;
    const NAME: &'static str = "deployment_ready";
    const SUMMARY: &'static str =
        "A Deployment exists, has at least the minimum replicas, and all replicas are ready.";

    fn validate(p: &Params) -> Result<(), String> {
        if p.candidates.is_empty() {
            return Err("`candidates` must list at least one namespace/name".into());
        }
        if let Some(s) = &p.min_replicas_setting
            && !SETTINGS.contains(&s.as_str())
        {
            return Err(format!(
                "min_replicas_setting `{s}` is not a site expect field (one of {})",
                SETTINGS.join(", ")
            ));
        }
        Ok(())
    }

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["deployments.apps"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let found = p.candidates.iter().find_map(|c| {
            ctx.facts
                .view::<Deployment>(Some(&c.namespace), &c.name)
                .map(|(_, d)| (c, d))
        });
        let min = p
            .min_replicas_setting
            .as_deref()
            .and_then(|s| setting(ctx.site, s))
            .or(p.min_replicas)
            .unwrap_or(1);
        let Some((loc, d)) = found else {
            let where_: Vec<String> = p
                .candidates
                .iter()
                .map(|c| format!("{}/{}", c.namespace, c.name))
                .collect();
            let c = &p.candidates[0];
            return vec![
                Finding::fail(
                    format!("deployment/{}/{}", c.namespace, c.name),
                    format!(
                        "Deployment not found (looked for {})",
                        super::util::list(&where_)
                    ),
                )
                .expected(format!("Deployment present with ≥ {min} ready replicas"))
                .observed("absent"),
            ];
        };
        let target = format!("deployment/{}/{}", loc.namespace, loc.name);
        let replicas = d.spec.replicas.unwrap_or(1);
        let ready = d.status.ready_replicas.unwrap_or(0);
        let observed = format!("replicas={replicas}, ready={ready}");
        let expected = format!("replicas ≥ {min}, ready = replicas");
        let f = if replicas < i64::from(min) {
            Finding::fail(
                &target,
                format!(
                    "Deployment {}/{} has {replicas} replica(s), fewer than the required {min}",
                    loc.namespace, loc.name
                ),
            )
        } else if ready < replicas {
            Finding::fail(
                &target,
                format!(
                    "Deployment {}/{}: only {ready} of {replicas} replicas are ready",
                    loc.namespace, loc.name
                ),
            )
        } else {
            Finding::pass(
                &target,
                format!(
                    "Deployment {}/{}: {ready}/{replicas} replicas ready",
                    loc.namespace, loc.name
                ),
            )
        };
        vec![f.expected(expected).observed(observed)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use serde_json::{Value, json};

    fn dep(ns: &str, name: &str, replicas: i64, ready: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": ns},
               "spec": {"replicas": replicas}, "status": {"readyReplicas": ready}})
    }

    fn params() -> Params {
        serde_json::from_value(json!({
            "candidates": [{"namespace": "kube-system", "name": "calico-typha"},
                           {"namespace": "calico-system", "name": "calico-typha"}],
            "min_replicas_setting": "typha_replicas"}))
        .unwrap()
    }

    fn run(items: Vec<Value>, site: &Site) -> Finding {
        let f = facts(&[("deployments.apps", items)]);
        DeploymentReady::eval(&Ctx { facts: &f, site }, &params()).remove(0)
    }

    #[test]
    fn enough_ready_replicas_pass_in_either_namespace() {
        let s = Site::default();
        assert_eq!(
            run(vec![dep("calico-system", "calico-typha", 5, 5)], &s).status,
            Status::Pass
        );
    }

    #[test]
    fn too_few_replicas_fail_with_values() {
        let s = Site::default();
        let r = run(vec![dep("kube-system", "calico-typha", 1, 1)], &s);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("kube-system/calico-typha"));
        assert!(r.message.contains("1 replica"));
        assert_eq!(
            r.expected.as_deref(),
            Some("replicas ≥ 5, ready = replicas")
        );
        assert_eq!(r.observed.as_deref(), Some("replicas=1, ready=1"));
    }

    #[test]
    fn site_threshold_and_unready_and_absent() {
        let mut s = Site::default();
        s.expect.typha_replicas = 1;
        assert_eq!(
            run(vec![dep("kube-system", "calico-typha", 1, 1)], &s).status,
            Status::Pass
        );
        let r = run(
            vec![dep("kube-system", "calico-typha", 5, 3)],
            &Site::default(),
        );
        assert!(r.message.contains("only 3 of 5"));
        let r = run(vec![], &s);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("calico-system/calico-typha"));
    }

    #[test]
    fn unknown_setting_is_rejected() {
        let p: Params =
            serde_json::from_value(json!({"candidates": [{"namespace": "a", "name": "b"}],
            "min_replicas_setting": "nope"}))
            .unwrap();
        assert!(DeploymentReady::validate(&p).is_err());
    }
}
