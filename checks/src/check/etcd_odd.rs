//! LBL005: the inventory's etcd group has an odd number of hosts (quorum).

use super::evidence::NO_INVENTORY;
use super::util::list;
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use serde::Deserialize;

pub struct EtcdOdd;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_group")]
    pub group: String,
}

fn d_group() -> String {
    "etcd".into()
}

impl TypedCheck for EtcdOdd {
    type Params = Params;
    const NAME: &'static str = "etcd_odd";
    const SUMMARY: &'static str = "The inventory's etcd group has an odd number of hosts.";

    fn needs(_: &Params) -> Needs {
        Needs::default()
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let Some(inv) = &ctx.facts.intent.inventory else {
            return vec![Finding::skip("inventory", NO_INVENTORY)];
        };
        let target = format!("group/{}", p.group);
        if !inv.groups.contains_key(&p.group) {
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "the inventory has no [{}] group; Kubespray needs one",
                        p.group
                    ),
                )
                .expected("an odd number of etcd hosts (1, 3, 5)")
                .observed("no group"),
            ];
        }
        let hosts: Vec<String> = inv.members(&p.group).into_iter().collect();
        let obs = format!("{} host(s): {}", hosts.len(), list(&hosts));
        if hosts.len() % 2 == 1 {
            vec![Finding::pass(target, format!("[{}] has {obs}", p.group)).observed(obs)]
        } else {
            vec![
                Finding::fail(
                    target,
                    format!(
                        "[{}] has {obs}: an even count tolerates no more failures than one host less and can split votes; use 1, 3 or 5",
                        p.group
                    ),
                )
                .expected("an odd number of hosts (1, 3, 5)")
                .observed(obs),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::parse::inventory::parse;
    use crate::site::Site;

    fn run(text: &str) -> Finding {
        let mut f = Facts::default();
        f.intent.inventory = Some(parse("inventory", text).unwrap());
        EtcdOdd::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params { group: d_group() },
        )
        .remove(0)
    }

    #[test]
    fn odd_passes_even_fails() {
        assert_eq!(run("[etcd]\nm1\nm2\nm3\n").status, Status::Pass);
        let f = run("[etcd]\nm1\nm2\n");
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("2 host(s): m1 and m2"), "{}", f.message);
        assert_eq!(run("[kube-node]\nm1\n").status, Status::Fail);
    }
}
