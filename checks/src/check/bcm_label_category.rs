//! LBL001: the nodes carrying a label are exactly the nodes of the BCM labelset(s) that set it.

use super::evidence::NO_BCM;
use super::util::list;
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::{View, node, node::Node};
use crate::model::Finding;
use crate::parse::bcm::node_key;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

pub struct BcmLabelCategory;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub label: String,
    #[serde(default = "d_value")]
    pub value: String,
    /// Only this labelset (default: every labelset that sets `label=value`).
    #[serde(default)]
    pub labelset: Option<String>,
}

fn d_value() -> String {
    "true".into()
}

impl TypedCheck for BcmLabelCategory {
    type Params = Params;
    const NAME: &'static str = "bcm_label_category";
    const SUMMARY: &'static str =
        "Nodes with label=value are exactly the members of the BCM labelset(s) that set it.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let Some(bcm) = &ctx.facts.intent.bcm else {
            return vec![Finding::skip("cluster", NO_BCM)];
        };
        let sel = format!("{}={}", p.label, p.value);
        let sets: Vec<_> = bcm
            .labelsets
            .iter()
            .filter(|l| p.labelset.as_ref().is_none_or(|n| &l.name == n))
            .filter(|l| l.sets(&p.label, &p.value))
            .collect();
        if sets.is_empty() {
            let known: Vec<String> = bcm.labelsets.iter().map(|l| l.name.clone()).collect();
            return vec![
                Finding::fail(
                    "cluster",
                    format!(
                        "no BCM labelset{} sets {sel} (labelsets: {}); BCM will not label any node",
                        p.labelset
                            .as_ref()
                            .map(|n| format!(" named `{n}`"))
                            .unwrap_or_default(),
                        list(&known)
                    ),
                )
                .expected(format!("a labelset setting {sel}"))
                .observed("none"),
            ];
        }
        let set_names: Vec<String> = sets.iter().map(|l| l.name.clone()).collect();
        let mut cats: Vec<String> = sets.iter().flat_map(|l| l.categories.clone()).collect();
        cats.sort();
        cats.dedup();
        let scope = format!("labelset {} (categories {})", list(&set_names), list(&cats));
        let intended: BTreeSet<String> =
            sets.iter().flat_map(|l| bcm.labelset_members(l)).collect();
        let nodes: BTreeMap<String, &crate::object::Object> = ctx
            .facts
            .list("nodes")
            .iter()
            .map(|n| (node_key(n.name()), n))
            .collect();
        let idx = bcm.index();
        let category = |n: &str| {
            idx.category_of(n)
                .filter(|c| !c.is_empty())
                .map(|c| format!("category {c}"))
                .unwrap_or_else(|| "no BCM category".into())
        };
        let mut out = vec![];
        for (k, n) in &nodes {
            let has = node::label(n, &p.label) == Some(p.value.as_str());
            if has && !intended.contains(k) {
                out.push(
                    Finding::fail(
                        format!("node/{}", n.name()),
                        format!(
                            "extra: node {} carries {sel} but is not a member of {scope}; it is in {}",
                            n.name(),
                            category(n.name())
                        ),
                    )
                    .expected(format!("no {sel} (not in {})", list(&cats)))
                    .observed(format!("{sel}, {}", category(n.name()))),
                );
            }
        }
        for k in &intended {
            match nodes.get(k) {
                Some(n) if node::label(n, &p.label) != Some(p.value.as_str()) => {
                    let now = Node::of(n)
                        .label_value(&p.label)
                        .map(|v| format!("{}={v}", p.label))
                        .unwrap_or_else(|| format!("no {} label", p.label));
                    out.push(
                        Finding::fail(
                            format!("node/{}", n.name()),
                            format!(
                                "missing: node {} ({}) is a member of {scope} but lacks {sel}",
                                n.name(),
                                category(n.name())
                            ),
                        )
                        .expected(sel.clone())
                        .observed(now),
                    );
                }
                Some(_) => {}
                None => out.push(
                    Finding::fail(
                        format!("node/{k}"),
                        format!(
                            "missing: BCM node {k} is a member of {scope} but is not a Kubernetes node"
                        ),
                    )
                    .expected(format!("Kubernetes node {k} with {sel}"))
                    .observed("no such node"),
                ),
            }
        }
        if out.is_empty() {
            let names: Vec<String> = intended
                .iter()
                .filter_map(|k| nodes.get(k).map(|n| n.name().to_string()))
                .collect();
            out.push(
                Finding::pass(
                    "cluster",
                    format!(
                        "the nodes with {sel} are exactly the members of {scope}: {}",
                        list(&names)
                    ),
                )
                .expected(format!("members of {}", list(&cats)))
                .observed(list(&names)),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::parse::bcm::{BcmFacts, LabelSet};
    use crate::site::Site;
    use serde_json::json;

    const L: &str = "node-role.kubernetes.io/runai-system";

    fn bcm() -> BcmFacts {
        BcmFacts {
            nodes: [
                ("cpu001", "runai-control-plane"),
                ("cpu002", "runai-control-plane"),
                ("dgx001", "dgx"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            labelsets: vec![LabelSet {
                name: "runai-control-plane".into(),
                labels: vec![format!("{L}=true")],
                categories: vec!["runai-control-plane".into()],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn run(f: &Facts) -> Vec<Finding> {
        let p = Params {
            label: L.into(),
            value: "true".into(),
            labelset: None,
        };
        BcmLabelCategory::eval(
            &Ctx {
                facts: f,
                site: &Site::default(),
            },
            &p,
        )
    }

    #[test]
    fn matching_labels_pass_and_missing_bcm_skips() {
        let mut f = facts(&[(
            "nodes",
            vec![
                node("cpu001", true, json!({L: "true"})),
                node("cpu002.cluster.local", true, json!({L: "true"})),
                node("dgx001", true, json!({})),
            ],
        )]);
        assert_eq!(run(&f)[0].status, Status::Skip);
        assert!(run(&f)[0].message.contains("--bcm"));
        f.intent.bcm = Some(bcm());
        let r = run(&f);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert!(
            r[0].message.contains("cpu001, cpu002.cluster.local")
                || r[0].message.contains("cpu001 and cpu002")
        );
    }

    #[test]
    fn extra_and_missing_nodes_are_named() {
        let mut f = facts(&[(
            "nodes",
            vec![
                node("cpu001", true, json!({L: "true"})),
                node("cpu002", true, json!({})),
                node("dgx001", true, json!({L: "true"})),
            ],
        )]);
        f.intent.bcm = Some(bcm());
        let r = run(&f);
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.status == Status::Fail));
        assert_eq!(r[0].target, "node/dgx001");
        assert!(r[0].message.contains("extra") && r[0].message.contains("category dgx"));
        assert_eq!(r[1].target, "node/cpu002");
        assert!(r[1].message.contains("missing"));
        assert_eq!(r[1].expected.as_deref(), Some(&*format!("{L}=true")));
        assert_eq!(r[1].observed.as_deref(), Some(&*format!("no {L} label")));
    }
}
