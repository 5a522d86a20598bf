//! RUNAI003: enough Ready nodes carry the Run:ai system label, none of them control-plane.

use super::util::{is_control_plane, is_ready, list};
use super::{Ctx, Needs, TypedCheck};
use crate::kinds::node;
use crate::model::Finding;
use serde::Deserialize;

pub struct SystemNodes;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub label: String,
    #[serde(default = "d_value")]
    pub value: String,
}

fn d_value() -> String {
    "true".into()
}

impl TypedCheck for SystemNodes {
    type Params = Params;
    const NAME: &'static str = "system_nodes";
    const SUMMARY: &'static str = "At least N Ready nodes carry the label (site expect.runai_system_nodes), none control-plane.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&["nodes"])
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let min = ctx.site.expect.runai_system_nodes as usize;
        let labelled: Vec<_> = ctx
            .facts
            .list("nodes")
            .iter()
            .filter(|n| node::label(n, &p.label) == Some(p.value.as_str()))
            .collect();
        let ready: Vec<String> = labelled
            .iter()
            .filter(|n| is_ready(n))
            .map(|n| n.name().to_string())
            .collect();
        let not_ready: Vec<String> = labelled
            .iter()
            .filter(|n| !is_ready(n))
            .map(|n| n.name().to_string())
            .collect();
        let cp: Vec<String> = labelled
            .iter()
            .filter(|n| is_control_plane(n))
            .map(|n| n.name().to_string())
            .collect();
        let sel = format!("{}={}", p.label, p.value);
        let expected = format!("≥ {min} Ready nodes with {sel}, none control-plane");
        let observed = format!(
            "{} Ready{}{}",
            ready.len(),
            if ready.is_empty() {
                String::new()
            } else {
                format!(" ({})", ready.join(", "))
            },
            if cp.is_empty() {
                String::new()
            } else {
                format!("; control-plane: {}", cp.join(", "))
            }
        );
        let mut out = vec![];
        if ready.len() < min {
            let extra = if not_ready.is_empty() {
                String::new()
            } else {
                format!("; labelled but not Ready: {}", list(&not_ready))
            };
            let found = match ready.len() {
                0 => format!("no Ready node carries {sel}"),
                1 => format!("only 1 Ready node carries {sel} ({})", list(&ready)),
                n => format!("only {n} Ready nodes carry {sel} ({})", list(&ready)),
            };
            out.push(
                Finding::fail("cluster", format!("{found}, {min} required{extra}"))
                    .expected(expected.clone())
                    .observed(observed.clone()),
            );
        }
        if !cp.is_empty() {
            out.push(Finding::fail("cluster", format!(
                "control-plane node(s) {} carry {sel}: Run:ai system pods would compete with the control plane",
                list(&cp))).expected(expected.clone()).observed(observed.clone()));
        }
        if out.is_empty() {
            out.push(
                Finding::pass(
                    "cluster",
                    format!("{} Ready nodes carry {sel}: {}", ready.len(), list(&ready)),
                )
                .expected(expected)
                .observed(observed),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{facts, node};
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    const L: &str = "node-role.kubernetes.io/runai-system";

    fn run(nodes: Vec<serde_json::Value>) -> Vec<Finding> {
        let f = facts(&[("nodes", nodes)]);
        let site = Site::default();
        let p = Params {
            label: L.into(),
            value: "true".into(),
        };
        SystemNodes::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
    }

    #[test]
    fn three_ready_workers_pass() {
        let r = run((1..=3)
            .map(|i| node(&format!("sys{i}"), true, json!({L: "true"})))
            .collect());
        assert_eq!(r[0].status, Status::Pass);
    }

    #[test]
    fn too_few_and_control_plane_fail() {
        let r = run(vec![
            node("sys1", true, json!({L: "true"})),
            node("sys2", false, json!({L: "true"})),
            node(
                "head",
                true,
                json!({L: "true", "node-role.kubernetes.io/control-plane": ""}),
            ),
        ]);
        assert_eq!(r.len(), 2);
        assert!(r[0].message.contains("only 2 Ready"));
        assert!(r[0].message.contains("sys2"));
        assert!(r[1].message.contains("head"));
    }

    #[test]
    fn no_labelled_node_says_so_without_empty_lists() {
        let r = run(vec![node("w1", true, json!({}))]);
        assert_eq!(r[0].status, Status::Fail);
        assert_eq!(r[0].observed.as_deref(), Some("0 Ready"));
        assert_eq!(
            r[0].message,
            format!("no Ready node carries {L}=true, 3 required")
        );
        let one = run(vec![node("sys1", true, json!({L: "true"}))]);
        assert!(
            one[0].message.starts_with("only 1 Ready node carries"),
            "{}",
            one[0].message
        );
        assert_eq!(one[0].observed.as_deref(), Some("1 Ready (sys1)"));
    }
}
