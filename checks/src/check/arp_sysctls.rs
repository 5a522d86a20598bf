//! NODE003: with kube-proxy strictARP on, nodes have `net.ipv4.conf.all.arp_ignore=1` and
//! `arp_announce=2` (what strictARP sets for IPVS; MetalLB L2 relies on it).

use super::node_scope::{self, Scope, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::facts::ObjectRef;
use crate::model::Finding;

pub struct ArpSysctls;

/// Where kube-proxy's configuration lives: the same parameters as NET001.
pub type Params = super::strict_arp::Params;

impl TypedCheck for ArpSysctls {
    type Params = Params;
    const NAME: &'static str = "arp_sysctls";
    const SUMMARY: &'static str = "With strictARP on, nodes have arp_ignore=1 and arp_announce=2.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs().by_name("configmaps")
    }

    fn named(_: &Ctx, p: &Params) -> Vec<ObjectRef> {
        vec![super::strict_arp::config_map(p)]
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::All) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        match super::strict_arp::strict_arp_on(ctx.facts, p) {
            None => {
                return vec![Finding::skip(
                    "cluster",
                    format!(
                        "cannot read kube-proxy's configuration ({}/{} key {}): see NET001",
                        p.namespace, p.name, p.key
                    ),
                )];
            }
            Some(false) => {
                return vec![Finding::skip(
                    "cluster",
                    "kube-proxy does not run ipvs with strictARP: the ARP sysctls are not required",
                )
                .cause(crate::model::Cause::NotApplicable)];
            }
            Some(true) => {}
        }
        let expected = "arp_ignore=1, arp_announce=2";
        for t in &targets {
            let show = |v: &crate::node_facts::Probe<i64>| match v.value() {
                Some(n) => n.to_string(),
                None => format!("unknown ({})", v.why_not()),
            };
            let observed = format!(
                "arp_ignore={}, arp_announce={}",
                show(&t.facts.arp_ignore),
                show(&t.facts.arp_announce)
            );
            let ok =
                t.facts.arp_ignore.value() == Some(&1) && t.facts.arp_announce.value() == Some(&2);
            let f = if ok {
                Finding::pass(t.target(), format!("node {}: {observed}", t.node))
                    .expected(expected)
                    .observed(observed)
            } else {
                Finding::fail(
                    t.target(),
                    format!(
                        "node {}: strictARP is on but net.ipv4.conf.all has {observed}",
                        t.node
                    ),
                )
                .expected(expected)
                .observed(observed)
            };
            out.push(t.judged(f, &["configmaps"]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::node_facts::Probe;
    use crate::node_facts::testing::{healthy, local};
    use crate::site::Site;
    use serde_json::json;

    fn run(conf: &str) -> Vec<Finding> {
        let mut f = facts(&[(
            "configmaps",
            vec![
                json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                        "data": {"config.conf": conf}}),
            ],
        )]);
        let mut bad = healthy("gpu02");
        bad.arp_ignore = Probe::Found { value: 0 };
        bad.arp_announce = Probe::Found { value: 0 };
        f.node_local = local(vec![("gpu01", healthy("gpu01")), ("gpu02", bad)]);
        let site = Site::default();
        let p: Params = serde_json::from_value(json!({})).unwrap();
        ArpSysctls::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
    }

    #[test]
    fn strict_arp_on_checks_sysctls() {
        let r = run("mode: ipvs\nipvs:\n  strictARP: true\n");
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].message.contains("node gpu02"));
        assert_eq!(
            r[1].observed.as_deref(),
            Some("arp_ignore=0, arp_announce=0")
        );
        assert_eq!(
            r[1].expected.as_deref(),
            Some("arp_ignore=1, arp_announce=2")
        );
    }

    #[test]
    fn strict_arp_off_skips() {
        let r = run("mode: iptables\n");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Skip);
    }
}
