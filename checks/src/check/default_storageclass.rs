//! K8S003: exactly one default StorageClass.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::storage_class::StorageClass;
use crate::model::Finding;
use serde::Deserialize;

pub struct DefaultStorageClass;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for DefaultStorageClass {
    type Params = Params;
    const NAME: &'static str = "default_storageclass";
    const SUMMARY: &'static str =
        "Exactly one StorageClass carries storageclass.kubernetes.io/is-default-class: \"true\".";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["storageclasses.storage.k8s.io"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let all = ctx.facts.list("storageclasses.storage.k8s.io");
        let defaults: Vec<String> = ctx
            .facts
            .views::<StorageClass>()
            .filter(|(_, sc)| sc.is_default())
            .map(|(o, _)| o.name().to_string())
            .collect();
        let names: Vec<String> = all.iter().map(|s| s.name().to_string()).collect();
        // The class the fix makes the default: the first of several defaults, or the only class.
        let keep = match defaults.len() {
            0 if names.len() == 1 => Some(names[0].clone()),
            0 => None,
            _ => Some(defaults[0].clone()),
        };
        let f = match defaults.len() {
            1 => Finding::pass(
                format!("storageclass/{}", defaults[0]),
                format!("StorageClass {} is the only default", defaults[0]),
            ),
            0 => Finding::fail(
                "cluster",
                format!(
                    "no StorageClass is marked default (StorageClasses: {}); PVCs without storageClassName stay Pending",
                    super::util::list(&names)
                ),
            ),
            _ => Finding::fail(
                "cluster",
                format!(
                    "{} StorageClasses are marked default: {}; which one a PVC gets is ambiguous",
                    defaults.len(),
                    super::util::list(&defaults)
                ),
            ),
        };
        let f = match keep {
            Some(k) => f.fill("name", k),
            None => f,
        };
        vec![
            f.expected("exactly 1 default StorageClass")
                .observed(format!(
                    "{} default ({})",
                    defaults.len(),
                    defaults.join(", ")
                )),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::{Value, json};

    fn sc(name: &str, default: bool) -> Value {
        json!({"metadata": {"name": name, "annotations":
            {"storageclass.kubernetes.io/is-default-class": if default {"true"} else {"false"}}}})
    }

    fn run(items: Vec<Value>) -> Finding {
        let f = facts(&[("storageclasses.storage.k8s.io", items)]);
        let site = Site::default();
        DefaultStorageClass::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn one_default_passes() {
        assert_eq!(
            run(vec![sc("local-path", true), sc("nfs", false)]).status,
            Status::Pass
        );
    }

    #[test]
    fn zero_or_two_defaults_fail() {
        let r = run(vec![sc("nfs", false)]);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("nfs"));
        let r = run(vec![sc("a", true), sc("b", true)]);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("a and b"), "{}", r.message);
        assert_eq!(r.observed.as_deref(), Some("2 default (a, b)"));
    }
}
