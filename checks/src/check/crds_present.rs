//! CRD001, CRD003: CustomResourceDefinitions exist (and serve a version).

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::crd::Crd;
use crate::model::Finding;
use serde::Deserialize;

pub struct CrdsPresent;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub group: String,
    /// Plural resource names: the CRD is `plural.group`.
    pub plurals: Vec<String>,
    /// A version that must be served, e.g. `v1`.
    #[serde(default)]
    pub served_version: Option<String>,
}

impl TypedCheck for CrdsPresent {
    type Params = Params;
    const NAME: &'static str = "crds_present";
    const SUMMARY: &'static str =
        "Each CRD `plural.group` exists (and serves the version, when given).";

    fn validate(p: &Params) -> Result<(), String> {
        if p.plurals.is_empty() {
            return Err("`plurals` must list at least one resource".into());
        }
        Ok(())
    }

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["customresourcedefinitions.apiextensions.k8s.io"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        p.plurals
            .iter()
            .map(|plural| {
                let name = format!("{plural}.{}", p.group);
                let target = format!("crd/{name}");
                let Some((_, crd)) = ctx.facts.view::<Crd>(None, &name) else {
                    return Finding::fail(&target, format!("CRD {name} is not installed"))
                        .expected("installed")
                        .observed("absent");
                };
                let served: Vec<String> = crd.served().into_iter().map(str::to_string).collect();
                match &p.served_version {
                    Some(want) if !served.contains(want) => Finding::fail(
                        &target,
                        format!(
                            "CRD {name} does not serve {want} (serves: {})",
                            super::util::list(&served)
                        ),
                    )
                    .expected(format!("serves {want}"))
                    .observed(format!("serves {}", served.join(", "))),
                    _ => Finding::pass(
                        &target,
                        format!("CRD {name} installed, serving {}", served.join(", ")),
                    )
                    .observed(format!("serves {}", served.join(", "))),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    #[test]
    fn present_missing_and_wrong_version() {
        let crd = |n: &str, v: &str| {
            json!({"metadata": {"name": n},
            "spec": {"group": "snapshot.storage.k8s.io", "versions": [{"name": v, "served": true}]}})
        };
        let f = facts(&[(
            "customresourcedefinitions.apiextensions.k8s.io",
            vec![
                crd("volumesnapshots.snapshot.storage.k8s.io", "v1"),
                crd("volumesnapshotclasses.snapshot.storage.k8s.io", "v1beta1"),
            ],
        )]);
        let site = Site::default();
        let p = Params {
            group: "snapshot.storage.k8s.io".into(),
            plurals: vec![
                "volumesnapshots".into(),
                "volumesnapshotclasses".into(),
                "volumesnapshotcontents".into(),
            ],
            served_version: Some("v1".into()),
        };
        let r = CrdsPresent::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        );
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].message.contains("does not serve v1"));
        assert_eq!(r[2].status, Status::Fail);
        assert!(
            r[2].message
                .contains("volumesnapshotcontents.snapshot.storage.k8s.io")
        );
    }
}
