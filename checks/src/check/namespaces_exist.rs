//! RUNAI001: required namespaces exist (one result per namespace).

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::namespace::Namespace;
use crate::model::Finding;
use serde::Deserialize;

pub struct NamespacesExist;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub names: Vec<String>,
}

impl TypedCheck for NamespacesExist {
    type Params = Params;
    const NAME: &'static str = "namespaces_exist";
    const SUMMARY: &'static str = "Each listed namespace exists and is not terminating.";

    fn validate(p: &Params) -> Result<(), String> {
        if p.names.is_empty() {
            return Err("`names` must list at least one namespace".into());
        }
        Ok(())
    }

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["namespaces"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        p.names
            .iter()
            .map(|name| {
                let target = format!("namespace/{name}");
                match ctx.facts.view::<Namespace>(None, name) {
                    None => Finding::fail(target, format!("namespace {name} does not exist"))
                        .expected("present")
                        .observed("absent"),
                    Some((_, ns)) => match ns.status.phase {
                        Some("Terminating") => Finding::fail(
                            target,
                            format!("namespace {name} is being deleted (phase Terminating)"),
                        )
                        .expected("phase Active")
                        .observed("phase Terminating"),
                        _ => Finding::pass(target, format!("namespace {name} exists"))
                            .observed("present"),
                    },
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
    fn present_and_missing() {
        let f = facts(&[(
            "namespaces",
            vec![json!({"metadata": {"name": "runai"}, "status": {"phase": "Active"}})],
        )]);
        let site = Site::default();
        let p = Params {
            names: vec!["runai-backend".into(), "runai".into()],
        };
        let r = NamespacesExist::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        );
        assert_eq!(r[0].status, Status::Fail);
        assert!(r[0].message.contains("runai-backend"));
        assert_eq!(r[0].observed.as_deref(), Some("absent"));
        assert_eq!(r[1].status, Status::Pass);
    }
}
