//! SRIOV004: per node and PF, the policy's numVfs fits the NIC (≤ totalvfs, ≤ 128 on Mellanox)
//! and matches the firmware, so applying the policy does not reboot the node.
//!
//! The operator's Mellanox plugin reboots a node when the firmware's Current NUM_OF_VFS differs
//! from the policy's numVfs, or SRIOV_EN must flip. When only the Next Boot value differs from
//! Current, a firmware change is already staged and waits for a reboot.

use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::parse::mstconfig::{self, DeviceConfig, value_bool, value_number};
use crate::sriov::{self, MELLANOX, MELLANOX_MAX_VFS, POLICIES, STATES};
use serde::Deserialize;

pub struct NumvfsFirmware;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

fn show(v: Option<&str>) -> &str {
    v.unwrap_or("?")
}

/// Compares a PF's firmware with the policy: `Err((will_reboot, message))` on mismatch.
fn firmware_verdict(fw: &DeviceConfig, want: i64) -> (Result<String, (bool, String)>, String) {
    let num = fw.param("NUM_OF_VFS");
    let en = fw.param("SRIOV_EN");
    let cur_num = num.and_then(|p| p.current.as_deref());
    let next_num = num.and_then(|p| p.next_boot.as_deref());
    let cur_en = en.and_then(|p| p.current.as_deref());
    let next_en = en.and_then(|p| p.next_boot.as_deref());
    let observed = format!(
        "firmware NUM_OF_VFS Current={} Next Boot={}, SRIOV_EN Current={} Next Boot={}",
        show(cur_num),
        show(next_num),
        show(cur_en),
        show(next_en)
    );
    if num.is_none() {
        return (
            Err((
                false,
                "the firmware query has no NUM_OF_VFS parameter".into(),
            )),
            observed,
        );
    }
    let want_en = want > 0;
    // The plain query form prints only Next Boot: the best available value for "current".
    let (eff_num, eff_en, col) = match cur_num {
        Some(c) => (Some(c), cur_en, "Current"),
        None => (
            next_num,
            next_en,
            "Next Boot (plain query; Current unknown)",
        ),
    };
    let mut reboot = vec![];
    if eff_num.and_then(value_number) != Some(want) {
        reboot.push(format!(
            "{col} NUM_OF_VFS={} ≠ numVfs {want}",
            show(eff_num)
        ));
    }
    if eff_en.and_then(value_bool).is_some_and(|e| e != want_en) {
        reboot.push(format!(
            "SRIOV_EN {col}={} must flip to {}",
            show(eff_en),
            if want_en { "True" } else { "False" }
        ));
    }
    if !reboot.is_empty() {
        // Current differs but Next Boot already holds numVfs: the operator has written the
        // firmware and the node waits for the reboot that applies it.
        if cur_num.is_some() && next_num.and_then(value_number) == Some(want) {
            reboot.push(format!(
                "the change is already staged (Next Boot NUM_OF_VFS={want}) and takes effect at the next firmware reset (cold reboot or mlxfwreset)"
            ));
        }
        return (Err((true, reboot.join("; "))), observed);
    }
    let mut pending = vec![];
    if cur_num.is_some()
        && next_num.is_some()
        && cur_num.and_then(value_number) != next_num.and_then(value_number)
    {
        pending.push(format!(
            "NUM_OF_VFS Next Boot={} differs from Current={}",
            show(next_num),
            show(cur_num)
        ));
    }
    if cur_en.is_some()
        && next_en.is_some()
        && cur_en.and_then(value_bool) != next_en.and_then(value_bool)
    {
        pending.push(format!(
            "SRIOV_EN Next Boot={} differs from Current={}",
            show(next_en),
            show(cur_en)
        ));
    }
    if !pending.is_empty() {
        return (Err((false, pending.join("; "))), observed);
    }
    (
        Ok(format!(
            "firmware {col} NUM_OF_VFS={} = numVfs",
            show(eff_num)
        )),
        observed,
    )
}

impl TypedCheck for NumvfsFirmware {
    type Params = Params;
    const NAME: &'static str = "numvfs_firmware";
    const SUMMARY: &'static str = "Each policy's numVfs ≤ the PF's totalvfs (≤ 128 for Mellanox) and equals the firmware's Current NUM_OF_VFS when firmware facts are given; says whether the node WILL reboot or a reboot is pending.";

    fn needs(_: &Params) -> Needs {
        Needs::kinds(&[POLICIES, STATES, "nodes"])
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let labels = sriov::node_labels(ctx.facts.list("nodes"));
        let policies: Vec<_> = ctx
            .facts
            .list(POLICIES)
            .iter()
            .map(sriov::Policy::of)
            .collect();
        let empty = Default::default();
        let have_fw = !ctx.facts.firmware.is_empty();
        let mut out = vec![];
        for state in ctx.facts.list(STATES) {
            let node = state.name();
            let l = labels.get(node).unwrap_or(&empty);
            for i in sriov::interfaces(state) {
                let Some(pol) = sriov::policy_for(&policies, l, &i) else {
                    continue;
                };
                let Some(want) = pol.num_vfs else {
                    continue;
                };
                let pci = mstconfig::normalize_pci(i.pci).unwrap_or_else(|| i.pci.to_string());
                let target = format!("node/{node}/{pci}");
                let who = format!(
                    "node {node} PF {} ({pci}), policy {} numVfs={want}",
                    i.name,
                    pol.name()
                );
                let mut expected = format!("numVfs {want} ≤ totalvfs");
                if i.vendor.eq_ignore_ascii_case(MELLANOX) {
                    expected.push_str(&format!(", ≤ {MELLANOX_MAX_VFS}"));
                }
                if have_fw {
                    expected.push_str(&format!(
                        ", firmware Current NUM_OF_VFS = {want}, SRIOV_EN = {}",
                        if want > 0 { "True" } else { "False" }
                    ));
                }
                let total = i.total_vfs;
                let mut limits: Vec<String> = pol
                    .problems
                    .iter()
                    .map(|e| format!("policy {} spec.nicSelector.{e}", pol.name()))
                    .collect();
                // A `pf#first-last` range must lie within the VFs the policy creates.
                for pf in pol.pf_names.iter().filter(|p| p.name == i.name) {
                    if let Some((a, b)) = pf.range.filter(|(_, b)| i64::from(*b) >= want) {
                        limits.push(format!(
                            "spec.nicSelector.pfNames `{}#{a}-{b}` reaches VF {b}, but numVfs {want} creates VFs 0-{}",
                            pf.name,
                            want - 1
                        ));
                    }
                }
                if let Some(t) = total.filter(|t| want > *t) {
                    // mlx5 reports the firmware's NUM_OF_VFS as sriov_totalvfs.
                    let why = if i.vendor.eq_ignore_ascii_case(MELLANOX) {
                        format!(
                            " (on ConnectX, totalvfs is the firmware's NUM_OF_VFS: the operator would rewrite the firmware and reboot node {node})"
                        )
                    } else {
                        String::new()
                    };
                    limits.push(format!("numVfs {want} exceeds the PF's totalvfs {t}{why}"));
                }
                if i.vendor.eq_ignore_ascii_case(MELLANOX) && want > MELLANOX_MAX_VFS {
                    limits.push(format!(
                        "numVfs {want} exceeds the ConnectX maximum of {MELLANOX_MAX_VFS}"
                    ));
                }
                let fw = ctx.facts.firmware.get(node).and_then(|m| m.get(&pci));
                let total_text = format!(
                    "totalvfs={}",
                    total.map(|t| t.to_string()).unwrap_or_else(|| "?".into())
                );
                let (verdict, fw_observed) = match fw {
                    Some(fw) => {
                        let (v, o) = firmware_verdict(fw, want);
                        (Some(v), o)
                    }
                    None => (None, String::new()),
                };
                let observed = if fw_observed.is_empty() {
                    total_text
                } else {
                    format!("{total_text}; {fw_observed}")
                };
                let f = if !limits.is_empty() {
                    Finding::fail(&target, format!("{who}: {}", limits.join("; ")))
                } else {
                    match verdict {
                        Some(Err((true, why))) => Finding::fail(
                            &target,
                            format!(
                                "{who}: {why}: applying the policy WILL reboot node {node} (the operator rewrites the NIC firmware and reboots)"
                            ),
                        ),
                        Some(Err((false, why))) => Finding::fail(
                            &target,
                            format!(
                                "{who}: reboot pending: {why}; the staged firmware change takes effect at the next reboot of {node}"
                            ),
                        ),
                        Some(Ok(why)) => {
                            Finding::pass(&target, format!("{who}: {why}; no reboot needed"))
                        }
                        None => Finding::pass(
                            &target,
                            format!(
                                "{who}: within limits ({}); {}",
                                total
                                    .map(|t| format!("totalvfs {t}"))
                                    .unwrap_or_else(|| "totalvfs unknown".into()),
                                if have_fw {
                                    format!(
                                        "no firmware facts for {node} {pci}, so the reboot risk is not assessed"
                                    )
                                } else {
                                    "no firmware facts given (--firmware DIR), so the reboot risk is not assessed".into()
                                }
                            ),
                        ),
                    }
                };
                out.push(f.expected(expected).observed(observed));
            }
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
    use crate::site::Site;
    use serde_json::json;

    fn cluster(num_vfs: i64) -> Facts {
        facts(&[
            (
                POLICIES,
                vec![
                    json!({"metadata": {"name": "ibp26s0", "namespace": "network-operator"},
                    "spec": {"numVfs": num_vfs, "resourceName": "ibp26s0",
                        "nodeSelector": {"feature.node.kubernetes.io/network-sriov.capable": "true"},
                        "nicSelector": {"vendor": "15b3", "pfNames": ["ibp26s0"]}}}),
                ],
            ),
            (
                STATES,
                vec![
                    json!({"metadata": {"name": "dgx-1", "namespace": "network-operator"},
                    "status": {"interfaces": [{"name": "ibp26s0", "pciAddress": "0000:1a:00.0",
                        "vendor": "15b3", "deviceID": "1021", "linkType": "IB", "totalvfs": 16, "numVfs": 8}]}}),
                ],
            ),
            (
                "nodes",
                vec![node(
                    "dgx-1",
                    true,
                    json!({"feature.node.kubernetes.io/network-sriov.capable": "true"}),
                )],
            ),
        ])
    }

    fn fw(text: &str) -> DeviceConfig {
        mstconfig::parse(text).unwrap().devices.remove(0)
    }

    fn extended(cur: &str, next: &str, en: &str) -> DeviceConfig {
        fw(&format!(
            "Device:  0000:1a:00.0\nConfigurations:   Default   Current   Next Boot\n*  NUM_OF_VFS   0   {cur}   {next}\n*  SRIOV_EN   False(0)   {en}   {en}\n"
        ))
    }

    fn run(mut f: Facts, device: Option<DeviceConfig>) -> Finding {
        if let Some(d) = device {
            f.firmware
                .entry("dgx-1".into())
                .or_default()
                .insert("0000:1a:00.0".into(), d);
        }
        NumvfsFirmware::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn matching_firmware_passes_and_no_firmware_is_noted() {
        let r = run(cluster(8), Some(extended("8", "8", "True(1)")));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        let r = run(cluster(8), None);
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("--firmware"));
    }

    #[test]
    fn current_mismatch_will_reboot() {
        let r = run(cluster(8), Some(extended("4", "4", "True(1)")));
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.target, "node/dgx-1/0000:1a:00.0");
        for needle in [
            "dgx-1",
            "ibp26s0",
            "0000:1a:00.0",
            "policy ibp26s0",
            "numVfs=8",
            "Current NUM_OF_VFS=4",
            "WILL reboot",
        ] {
            assert!(r.message.contains(needle), "{needle}: {}", r.message);
        }
        assert!(
            r.expected
                .unwrap()
                .contains("firmware Current NUM_OF_VFS = 8")
        );
        assert!(
            r.observed
                .unwrap()
                .contains("NUM_OF_VFS Current=4 Next Boot=4")
        );
        let r = run(cluster(8), Some(extended("8", "8", "False(0)")));
        assert!(
            r.message.contains("SRIOV_EN") && r.message.contains("WILL reboot"),
            "{}",
            r.message
        );
    }

    #[test]
    fn staged_change_still_reboots_and_says_so() {
        let r = run(cluster(8), Some(extended("16", "8", "True(1)")));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("Current NUM_OF_VFS=16 ≠ numVfs 8"),
            "{}",
            r.message
        );
        assert!(r.message.contains("already staged") && r.message.contains("WILL reboot"));
    }

    #[test]
    fn next_boot_only_mismatch_is_pending() {
        let r = run(cluster(8), Some(extended("8", "16", "True(1)")));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("reboot pending") && !r.message.contains("WILL"),
            "{}",
            r.message
        );
        assert!(r.message.contains("Next Boot=16 differs from Current=8"));
    }

    #[test]
    fn limits_totalvfs_and_128() {
        let r = run(cluster(32), None);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("numVfs 32 exceeds the PF's totalvfs 16"));
        assert_eq!(r.observed.as_deref(), Some("totalvfs=16"));
        let mut f = cluster(200);
        if let Some(crate::facts::KindFact::Listed { items, .. }) = f.resources.get_mut(STATES) {
            items[0].0["status"]["interfaces"][0]["totalvfs"] = json!(256);
        }
        let r = run(f, None);
        assert!(
            r.message.contains("ConnectX maximum of 128"),
            "{}",
            r.message
        );
    }

    #[test]
    fn vf_range_beyond_numvfs_fails() {
        let mut f = cluster(8);
        if let Some(crate::facts::KindFact::Listed { items, .. }) = f.resources.get_mut(POLICIES) {
            items[0].0["spec"]["nicSelector"]["pfNames"] = json!(["ibp26s0#0-15"]);
        }
        let r = run(f, None);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message
                .contains("`ibp26s0#0-15` reaches VF 15, but numVfs 8 creates VFs 0-7"),
            "{}",
            r.message
        );
    }

    #[test]
    fn plain_form_compares_next_boot() {
        let d = fw(
            "Device: 0000:1a:00.0\nConfigurations:     Next Boot\n  NUM_OF_VFS   4\n  SRIOV_EN  True(1)\n",
        );
        let r = run(cluster(8), Some(d));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message
                .contains("Next Boot (plain query; Current unknown) NUM_OF_VFS=4"),
            "{}",
            r.message
        );
    }
}
