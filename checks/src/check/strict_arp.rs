//! NET001: kube-proxy in IPVS mode must have `ipvs.strictARP: true` (MetalLB L2 needs it).

use super::{Ctx, Needs, TypedCheck};
use crate::facts::ObjectRef;
use crate::fix::FixVariant;
use crate::kinds::config_map::ConfigMap;
use crate::model::Finding;
use crate::parse::kube_proxy::KubeProxyConfig;
use serde::Deserialize;
use serde_json::Value;

pub struct StrictArp;

/// The cases with their own fix (see [`TypedCheck::FIXES`]).
pub const FIX_FALSE: &str = "strictarp-false";
pub const FIX_UNSET: &str = "strictarp-unset";
pub const FIX_NO_IPVS: &str = "no-ipvs-section";

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

/// kube-proxy's ConfigMap, read by name (NET001, NODE003).
pub fn config_map(p: &Params) -> ObjectRef {
    ObjectRef::namespaced("configmaps", &p.namespace, &p.name)
}

/// `Some(true)` when kube-proxy runs ipvs with strictARP, `Some(false)` when not, `None` when the
/// configuration cannot be read (NET001 reports why). Shared with NODE003.
pub fn strict_arp_on(facts: &crate::facts::Facts, p: &Params) -> Option<bool> {
    let (_, cm) = facts.view::<ConfigMap>(Some(&p.namespace), &p.name)?;
    let text = cm.data?.get(p.key.as_str()).copied()?;
    Some(KubeProxyConfig::parse(text).ok()?.strict_arp_on())
}

impl TypedCheck for StrictArp {
    type Params = Params;
    const NAME: &'static str = "strict_arp";
    const SUMMARY: &'static str =
        "kube-proxy's KubeProxyConfiguration has ipvs.strictARP true when mode is ipvs.";
    const FIXES: &'static [FixVariant] = &[
        FixVariant {
            key: FIX_FALSE,
            when: "mode is ipvs and `ipvs.strictARP` is `false`",
        },
        FixVariant {
            key: FIX_UNSET,
            when: "mode is ipvs and the `ipvs` section has no `strictARP`",
        },
        FixVariant {
            key: FIX_NO_IPVS,
            when: "mode is ipvs and there is no `ipvs` section",
        },
    ];

    fn needs(_: &Params) -> Needs {
        Needs::default().by_name("configmaps")
    }

    fn named(_: &Ctx, p: &Params) -> Vec<ObjectRef> {
        vec![config_map(p)]
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let target = format!("configmap/{}/{}", p.namespace, p.name);
        let Some((_, cm)) = ctx.facts.view::<ConfigMap>(Some(&p.namespace), &p.name) else {
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "ConfigMap {}/{} not found: cannot confirm kube-proxy's strictARP",
                        p.namespace, p.name
                    ),
                )
                .expected("ConfigMap present")
                .observed("absent"),
            ];
        };
        let Some(text) = cm.data.and_then(|d| d.get(p.key.as_str()).copied()) else {
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "ConfigMap {}/{} has no key `{}`",
                        p.namespace, p.name, p.key
                    ),
                )
                .expected(format!("data.{} with a KubeProxyConfiguration", p.key))
                .observed("key absent"),
            ];
        };
        let cfg = match KubeProxyConfig::parse(text) {
            Ok(v) => v,
            Err(e) => {
                return vec![
                    Finding::fail(
                        target,
                        format!(
                            "{}/{} key `{}` is not valid YAML: {e}",
                            p.namespace, p.name, p.key
                        ),
                    )
                    .expected("a KubeProxyConfiguration YAML document")
                    .observed("unparsable"),
                ];
            }
        };
        let mode = cfg.mode.as_deref().unwrap_or("");
        if mode != "ipvs" {
            let shown = if mode.is_empty() {
                "unset (iptables)"
            } else {
                mode
            };
            return vec![Finding::pass(
                target,
                format!("kube-proxy mode is {shown}: strictARP applies only to ipvs mode, not required"),
            )
            .observed(format!("mode={shown}"))];
        }
        let strict = cfg.strict_arp.as_ref();
        match strict {
            Some(Value::Bool(true)) => vec![
                Finding::pass(target, "kube-proxy mode ipvs with ipvs.strictARP: true")
                    .expected("ipvs.strictARP: true")
                    .observed("ipvs.strictARP: true"),
            ],
            other => {
                // Each case has its own command (the rule's remediation variants): a sed that
                // rewrites `false` changes nothing when the key is absent.
                let (observed, case) = match other {
                    None if !cfg.has_ipvs => (
                        "no ipvs section (strictARP defaults to false)".to_string(),
                        Some(FIX_NO_IPVS),
                    ),
                    None => (
                        "ipvs.strictARP unset (defaults to false)".to_string(),
                        Some(FIX_UNSET),
                    ),
                    Some(Value::Bool(false)) => {
                        ("ipvs.strictARP: false".to_string(), Some(FIX_FALSE))
                    }
                    Some(v) => (format!("ipvs.strictARP: {v}"), None),
                };
                let f = Finding::fail(
                    target,
                    format!(
                        "kube-proxy runs in ipvs mode but {observed} in {}/{} {}: MetalLB L2 announcements need strict ARP",
                        p.namespace, p.name, p.key
                    ),
                )
                .expected("ipvs.strictARP: true")
                .observed(observed);
                vec![match case {
                    Some(c) => f.fix(c),
                    None => f,
                }]
            }
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

    fn run(conf: Option<&str>) -> Finding {
        let items = match conf {
            Some(c) => vec![
                json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                                   "data": {"config.conf": c}}),
            ],
            None => vec![],
        };
        let f = facts(&[("configmaps", items)]);
        let site = Site::default();
        let p: Params = serde_json::from_value(json!({})).unwrap();
        StrictArp::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn ipvs_strict_true_passes() {
        let r = run(Some(
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: true\n",
        ));
        assert_eq!(r.status, Status::Pass);
    }

    #[test]
    fn ipvs_strict_false_fails_naming_object_and_values() {
        let r = run(Some(
            "mode: \"ipvs\"\nipvs:\n  scheduler: rr\n  strictARP: false\n",
        ));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("kube-system/kube-proxy"));
        assert_eq!(r.observed.as_deref(), Some("ipvs.strictARP: false"));
        assert_eq!(r.expected.as_deref(), Some("ipvs.strictARP: true"));
    }

    #[test]
    fn absent_key_and_absent_section_are_told_apart() {
        let r = run(Some("mode: ipvs\nipvs: {scheduler: rr}\n"));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.observed.as_deref(),
            Some("ipvs.strictARP unset (defaults to false)")
        );
        let r = run(Some("mode: ipvs\nipvs:\n"));
        assert_eq!(
            r.observed.as_deref(),
            Some("ipvs.strictARP unset (defaults to false)")
        );
        let r = run(Some("mode: ipvs\n"));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.observed.as_deref(),
            Some("no ipvs section (strictARP defaults to false)")
        );
    }

    #[test]
    fn iptables_or_empty_mode_passes_with_note() {
        let r = run(Some("mode: \"\"\nipvs:\n  strictARP: false\n"));
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("not required"));
        assert_eq!(run(Some("mode: nftables\n")).status, Status::Pass);
    }

    #[test]
    fn missing_or_broken_config_fails() {
        assert_eq!(run(None).status, Status::Fail);
        let r = run(Some("mode: [unclosed\n"));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("not valid YAML"));
    }
}
