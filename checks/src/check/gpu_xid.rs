//! GPU007: no hardware XID in the kernel log since boot.

use super::node_scope::{self, Scope, older_facts, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::Probe;
use crate::parse::nvidia::{XidClass, xid_class};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct GpuXid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for GpuXid {
    type Params = Params;
    const NAME: &'static str = "gpu_xid";
    const SUMMARY: &'static str = "No hardware XID in a GPU node's kernel log since boot.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::NvidiaGpu) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            let node = &t.node;
            let log = match &t.facts.kernel_log {
                None if t.facts.revision < 2 => {
                    out.push(older_facts(t, "the kernel log's XID lines"));
                    continue;
                }
                None => {
                    out.push(t.judged(
                        Finding::skip(
                            t.target(),
                            format!("node {node}: the agent did not read the kernel log (--no-kernel-log)"),
                        ),
                        &[],
                    ));
                    continue;
                }
                Some(Probe::Found { value }) => value,
                Some(p) => {
                    out.push(t.judged(
                        Finding::skip(
                            t.target(),
                            format!(
                                "node {node}: the kernel log could not be read: {}",
                                p.why_not()
                            ),
                        ),
                        &[],
                    ));
                    continue;
                }
            };
            // (class, xid) -> (name, devices, count, newest line)
            let mut seen: BTreeMap<u32, (XidClass, &str, Vec<&str>, u64, &str)> = BTreeMap::new();
            for x in &log.xids {
                let (class, name) = xid_class(x.xid);
                let e = seen.entry(x.xid).or_insert((class, name, vec![], 0, ""));
                if !e.2.contains(&x.device.as_str()) {
                    e.2.push(&x.device);
                }
                e.3 += 1;
                e.4 = &x.text;
            }
            let line = |n: &u32, v: &(XidClass, &str, Vec<&str>, u64, &str)| {
                format!("XID {n} ({}) x{} on GPU {}", v.1, v.3, v.2.join(", "))
            };
            let hw: Vec<String> = seen
                .iter()
                .filter(|(_, v)| v.0 == XidClass::Hardware)
                .map(|(n, v)| format!("{}: \"{}\"", line(n, v), v.4))
                .collect();
            let other: Vec<String> = seen
                .iter()
                .filter(|(_, v)| v.0 != XidClass::Hardware)
                .map(|(n, v)| line(n, v))
                .collect();
            let more = if log.xids_dropped > 0 {
                format!(" ({} older XID line(s) not kept)", log.xids_dropped)
            } else {
                String::new()
            };
            let info = if other.is_empty() {
                String::new()
            } else {
                format!(
                    "; for information, application/other XIDs: {}",
                    other.join("; ")
                )
            };
            let f = if hw.is_empty() {
                Finding::pass(
                    t.target(),
                    format!(
                        "node {node}: no hardware XID in {} lines of the kernel log ({}){info}{more}",
                        log.lines, log.source
                    ),
                )
                .expected("no hardware XID since boot")
                .observed("none")
            } else {
                Finding::fail(
                    t.target(),
                    format!(
                        "node {node}: hardware XID(s) in the kernel log ({}) since boot: {}{info}{more}",
                        log.source,
                        hw.join("; ")
                    ),
                )
                .expected("no hardware XID since boot")
                .observed(
                    seen.iter()
                        .filter(|(_, v)| v.0 == XidClass::Hardware)
                        .map(|(n, v)| format!("XID {n} on {}", v.2.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            };
            out.push(t.judged(f, &[]));
        }
        node_scope::printable(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::KernelLog;
    use crate::node_facts::testing::{healthy, local};
    use crate::parse::nvidia::xid_line;
    use crate::site::Site;

    fn run(log: Option<Probe<KernelLog>>) -> Finding {
        let mut f = healthy("gpu01");
        f.revision = 2;
        f.kernel_log = log;
        let facts = Facts {
            node_local: local(vec![("gpu01", f)]),
            ..Facts::default()
        };
        let site = Site::default();
        GpuXid::eval(
            &Ctx {
                facts: &facts,
                site: &site,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn unreadable_log_skips_with_the_reason_and_unknown_xids_are_information() {
        let u = run(Some(Probe::Unreadable {
            path: "syslog(2)".into(),
            reason: "Operation not permitted (os error 1)".into(),
        }));
        assert_eq!(u.status, Status::Skip);
        assert!(u.message.contains("Operation not permitted"));
        let off = run(None);
        assert!(off.message.contains("--no-kernel-log"), "{}", off.message);
        let log = KernelLog {
            source: "syslog(2)".into(),
            lines: 2,
            xids: [
                "[1.0] NVRM: Xid (PCI:0000:07:00): 109, pid=1797828, name=pt_main_thread, Ch 00000008, errorString CTX SWITCH TIMEOUT",
                "[2.0] NVRM: Xid (PCI:0000:07:00): 48, An uncorrectable double bit error (DBE) has been detected on GPU",
            ]
            .iter()
            .filter_map(|l| xid_line(l))
            .collect(),
            xids_dropped: 3,
        };
        let mut only_other = log.clone();
        only_other.xids.truncate(1);
        let p = run(Some(Probe::Found { value: only_other }));
        assert_eq!(p.status, Status::Pass);
        assert!(p.message.contains("XID 109 (not in the judged catalogue)"));
        let f = run(Some(Probe::Found { value: log }));
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("XID 48 (Double-bit ECC error) x1 on GPU 0000:07:00")
        );
        assert!(f.message.contains("3 older XID line(s) not kept"));
    }
}
