//! RDMA006: from node facts, RLIMIT_MEMLOCK is unlimited or CAP_IPC_LOCK is effective, so RDMA
//! memory registration can pin pages.

use super::node_scope::{self, Scope, scope};
use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::Memlock;
use serde::Deserialize;

pub struct MemlockUnlimited;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

const EXPECTED: &str = "RLIMIT_MEMLOCK unlimited or CAP_IPC_LOCK effective";

impl TypedCheck for MemlockUnlimited {
    type Params = Params;
    const NAME: &'static str = "memlock";
    const SUMMARY: &'static str =
        "Node facts show RLIMIT_MEMLOCK unlimited or CAP_IPC_LOCK effective.";

    fn needs(_: &Params) -> Needs {
        node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let (targets, mut out) = match scope(ctx.facts, Scope::RdmaCapable) {
            Ok(s) => s,
            Err(skip) => return vec![skip],
        };
        for t in &targets {
            let f = t.facts;
            let limit = match f.memlock {
                Some(m) => format!(
                    "RLIMIT_MEMLOCK soft {} / hard {}",
                    Memlock::describe(m.soft),
                    Memlock::describe(m.hard)
                ),
                None => "RLIMIT_MEMLOCK not recorded".to_string(),
            };
            let cap = match f.cap_ipc_lock.value() {
                Some(true) => "CAP_IPC_LOCK effective".to_string(),
                Some(false) => "CAP_IPC_LOCK not effective".to_string(),
                None => format!("CAP_IPC_LOCK unknown ({})", f.cap_ipc_lock.why_not()),
            };
            let observed = format!("{limit}; {cap}");
            let unlimited = f.memlock.is_some_and(|m| m.soft.is_none());
            let capable = f.cap_ipc_lock.value() == Some(&true);
            out.push(t.judged(if unlimited || capable {
                Finding::pass(t.target(), format!("node {}: {observed}", t.node))
                    .expected(EXPECTED)
                    .observed(observed)
            } else {
                Finding::fail(
                    t.target(),
                    format!(
                        "node {}: {observed}: RDMA memory registration (ibv_reg_mr) will fail beyond the limit",
                        t.node
                    ),
                )
                .expected(EXPECTED)
                .observed(observed)
            }, &[]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::node_facts::{Memlock, Probe};
    use crate::site::Site;

    #[test]
    fn unlimited_or_capability_passes_and_limit_fails() {
        let ok = healthy("gpu01");
        let mut cap = healthy("gpu02");
        cap.memlock = Some(Memlock {
            soft: Some(65536),
            hard: Some(65536),
        });
        cap.cap_ipc_lock = Probe::Found { value: true };
        let mut bad = healthy("gpu03");
        bad.memlock = Some(Memlock {
            soft: Some(8 * 1024 * 1024),
            hard: Some(8 * 1024 * 1024),
        });
        let f = Facts {
            node_local: local(vec![("gpu01", ok), ("gpu02", cap), ("gpu03", bad)]),
            ..Facts::default()
        };
        let site = Site::default();
        let r = MemlockUnlimited::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        );
        assert_eq!(r[0].status, Status::Pass);
        assert_eq!(r[1].status, Status::Pass);
        assert_eq!(r[2].status, Status::Fail);
        assert!(r[2].message.contains("node gpu03"));
        assert_eq!(
            r[2].observed.as_deref(),
            Some("RLIMIT_MEMLOCK soft 8192 KiB / hard 8192 KiB; CAP_IPC_LOCK not effective")
        );
        assert_eq!(r[2].expected.as_deref(), Some(EXPECTED));
    }
}
