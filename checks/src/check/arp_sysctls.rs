//! NODE003: with kube-proxy strictARP on, nodes have `net.ipv4.conf.all.arp_ignore=1` and
//! `arp_announce=2` (what strictARP sets for IPVS; MetalLB L2 relies on it).

use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::{Scope, scope};
use serde::Deserialize;
use serde_json::Value;

pub struct ArpSysctls;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    #[serde(default = "d_name")]
    pub name: String,
    #[serde(default = "d_key")]
    pub key: String,
}

fn d_ns() -> String {
    "kube-system".into()
}
fn d_name() -> String {
    "kube-proxy".into()
}
fn d_key() -> String {
    "config.conf".into()
}

/// `Some(true)` when kube-proxy runs ipvs with strictARP, `Some(false)` when not, `None` when the
/// configuration cannot be read (NET001 reports that).
fn strict_arp_on(ctx: &Ctx, p: &Params) -> Option<bool> {
    let text = ctx
        .facts
        .get("configmaps", Some(&p.namespace), &p.name)?
        .at("/data")?
        .get(&p.key)?
        .as_str()?;
    let cfg: Value = crate::yaml::from_str(text).ok()?;
    let ipvs = cfg.get("mode").and_then(Value::as_str) == Some("ipvs");
    Some(ipvs && cfg.pointer("/ipvs/strictARP").and_then(Value::as_bool) == Some(true))
}

impl TypedCheck for ArpSysctls {
    type Params = Params;
    const NAME: &'static str = "arp_sysctls";
    const SUMMARY: &'static str = "With strictARP on, nodes have arp_ignore=1 and arp_announce=2.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["configmaps"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::All) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        match strict_arp_on(ctx, p) {
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
                )];
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
            out.push(if ok {
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
            });
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
