//! SRIOV004: per node and PF, the policy's numVfs fits the NIC (≤ totalvfs, ≤ 128 on Mellanox)
//! and matches the firmware, so applying the policy does not reboot the node.
//!
//! The operator's Mellanox plugin (sriov-network-operator `pkg/vendors/mellanox`) reads only
//! NUM_OF_VFS, SRIOV_EN and LINK_TYPE_P1/P2 from `mstconfig -e -d <pci> q`, and reboots a node
//! when the firmware's Current NUM_OF_VFS differs from the numVfs it wants, SRIOV_EN must flip,
//! or a policy's linkType differs from the one the port runs (the node state's; the operator then
//! rewrites LINK_TYPE_P1/P2). On a dual-port NIC both PFs share NUM_OF_VFS:
//! the operator writes the larger numVfs of the two. Other staged parameters (`*` lines such as
//! MEMIC_SIZE_LIMIT) take effect at whatever reboot comes but never make the operator reboot.
//! When only Next Boot differs from Current for the parameters it reads, a firmware change is
//! already staged and waits for a reboot.

use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::parse::mstconfig::{self, DeviceConfig, value_bool, value_number};
use crate::sriov::{self, MELLANOX, MELLANOX_MAX_VFS, POLICIES, STATES};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct NumvfsFirmware;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

fn show(v: Option<&str>) -> &str {
    v.unwrap_or("?")
}

/// The parameters the operator's Mellanox plugin reads; nothing else decides its reboot.
const OPERATOR_PARAMS: [&str; 4] = ["NUM_OF_VFS", "SRIOV_EN", "LINK_TYPE_P1", "LINK_TYPE_P2"];

/// What the firmware says about applying the policy to one PF.
#[derive(Debug, PartialEq)]
enum FwVerdict {
    /// Nothing the operator reads needs changing.
    Match(String),
    /// The operator rewrites the firmware and reboots the node.
    WillReboot(String),
    /// A change is staged (Next Boot ≠ Current) and waits for a reboot.
    Pending(String),
    /// The query lacks what the verdict needs.
    CannotAssess(String),
}

/// What the policy asks of one PF's firmware.
struct Want<'a> {
    /// numVfs the operator writes: the policy's, or the larger of both ports' on a dual-port NIC.
    num_vfs: i64,
    /// `LINK_TYPE_P1`/`LINK_TYPE_P2` and the policy's `spec.linkType` (`ib`, `eth`), when set.
    link: Option<(&'static str, &'a str)>,
    /// The link type the port runs (the node state's `linkType`), which the operator compares
    /// the policy's with; empty when the state does not say.
    running: &'a str,
}

/// A link type change the policy makes: the operator rewrites LINK_TYPE_Pn and reboots.
fn link_change(want: &Want) -> Option<String> {
    let (param, policy) = want.link?;
    (!want.running.is_empty() && !want.running.eq_ignore_ascii_case(policy)).then(|| {
        format!(
            "the port runs linkType {} (node state) but the policy sets linkType {policy}: the operator rewrites {param}",
            want.running
        )
    })
}

/// Compares a PF's firmware with what the policy needs; the second value is the observed text.
fn firmware_verdict(fw: &DeviceConfig, want: &Want) -> (FwVerdict, String) {
    let target = want.num_vfs;
    let num = fw.param("NUM_OF_VFS");
    let en = fw.param("SRIOV_EN");
    let cur_num = num.and_then(|p| p.current.as_deref());
    let next_num = num.and_then(|p| p.next_boot.as_deref());
    let cur_en = en.and_then(|p| p.current.as_deref());
    let next_en = en.and_then(|p| p.next_boot.as_deref());
    let link = want
        .link
        .and_then(|(param, policy)| fw.param(param).map(|p| (param, policy, p)));
    let mut observed = format!(
        "firmware NUM_OF_VFS Current={} Next Boot={}, SRIOV_EN Current={} Next Boot={}",
        show(cur_num),
        show(next_num),
        show(cur_en),
        show(next_en)
    );
    if let Some((param, _, p)) = link {
        observed.push_str(&format!(
            ", {param} Current={} Next Boot={}",
            show(p.current.as_deref()),
            show(p.next_boot.as_deref())
        ));
    }
    // Staged changes to parameters the operator never reads: worth knowing, never its reboot.
    let others: Vec<&str> = fw
        .params
        .iter()
        .filter(|(k, p)| !OPERATOR_PARAMS.contains(&k.as_str()) && p.staged())
        .map(|(k, _)| k.as_str())
        .collect();
    let others_note = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; other staged firmware parameters ({}) take effect at the next reboot but do not make the operator reboot",
            others.join(", ")
        )
    };
    if num.is_none() {
        // The link type needs no NUM_OF_VFS: a change it makes is a reboot all the same.
        if let Some(why) = link_change(want) {
            return (FwVerdict::WillReboot(why), observed);
        }
        return (
            FwVerdict::CannotAssess(format!(
                "the firmware query has no NUM_OF_VFS parameter, so the VF count cannot be assessed (capture the full `mstconfig -e -d <pci> q`, not a query of selected parameters){others_note}"
            )),
            observed,
        );
    }
    let want_en = target > 0;
    // The plain query form prints only Next Boot: the best available value for "current".
    let plain = cur_num.is_none();
    let (eff_num, eff_en, col) = if plain {
        (
            next_num,
            next_en,
            "Next Boot (plain query; Current unknown)",
        )
    } else {
        (cur_num, cur_en, "Current")
    };
    let mut reboot = vec![];
    if eff_num.and_then(value_number) != Some(target) {
        reboot.push(format!(
            "{col} NUM_OF_VFS={} ≠ numVfs {target}",
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
    reboot.extend(link_change(want));
    if !reboot.is_empty() {
        // Current differs but Next Boot already holds numVfs: the operator has written the
        // firmware and the node waits for the reboot that applies it.
        if !plain && next_num.and_then(value_number) == Some(target) {
            reboot.push(format!(
                "the change is already staged (Next Boot NUM_OF_VFS={target}) and takes effect at the next firmware reset (cold reboot or mlxfwreset)"
            ));
        }
        return (FwVerdict::WillReboot(reboot.join("; ")), observed);
    }
    let mut pending = vec![];
    if next_num.is_some()
        && !plain
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
    if let Some((param, _, p)) = link.filter(|(_, _, p)| p.staged()) {
        pending.push(format!(
            "{param} Next Boot={} differs from Current={}",
            show(p.next_boot.as_deref()),
            show(p.current.as_deref())
        ));
    }
    if !pending.is_empty() {
        return (FwVerdict::Pending(pending.join("; ")), observed);
    }
    (
        FwVerdict::Match(format!(
            "firmware {col} NUM_OF_VFS={} = numVfs{others_note}",
            show(eff_num)
        )),
        observed,
    )
}

/// `0000:18:00.1` → `0000:18:00.`: the functions of one NIC, as the operator groups dual ports.
fn nic_of(pci: &str) -> &str {
    pci.char_indices().last().map_or("", |(i, _)| &pci[..i])
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
            let configured: Vec<_> = sriov::interfaces(state)
                .into_iter()
                .filter_map(|i| {
                    let pol = sriov::policy_for(&policies, l, &i)?;
                    let want = pol.num_vfs?;
                    let pci = mstconfig::normalize_pci(i.pci).unwrap_or_else(|| i.pci.to_string());
                    Some((i, pol, want, pci))
                })
                .collect();
            // Both ports of a dual-port NIC share NUM_OF_VFS: the operator writes the larger.
            let mut per_nic: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
            for (_, _, want, pci) in &configured {
                let e = per_nic.entry(nic_of(pci)).or_insert((*want, pci));
                if *want > e.0 {
                    *e = (*want, pci);
                }
            }
            for (i, pol, want, pci) in &configured {
                let (want, pci) = (*want, pci.as_str());
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
                let (fw_num, shared_with) = per_nic
                    .get(nic_of(pci))
                    .copied()
                    .filter(|(n, other)| *n > want && *other != pci)
                    .map_or((want, None), |(n, other)| (n, Some(other)));
                let link_param = if pci.ends_with('1') {
                    "LINK_TYPE_P2"
                } else {
                    "LINK_TYPE_P1"
                };
                let link = pol.link_type.map(|t| (link_param, t));
                if have_fw {
                    expected.push_str(&format!(
                        ", firmware Current NUM_OF_VFS = {fw_num}, SRIOV_EN = {}",
                        if fw_num > 0 { "True" } else { "False" }
                    ));
                }
                if let Some((_, t)) = link {
                    expected.push_str(&format!(", linkType {t} as the port runs"));
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
                let fw = ctx.facts.firmware.get(node).and_then(|m| m.get(pci));
                let total_text = format!(
                    "totalvfs={}",
                    total.map(|t| t.to_string()).unwrap_or_else(|| "?".into())
                );
                let wanted = Want {
                    num_vfs: fw_num,
                    link,
                    running: i.link_type,
                };
                let (verdict, fw_observed) = match fw {
                    Some(fw) => {
                        let (v, o) = firmware_verdict(fw, &wanted);
                        (Some(v), o)
                    }
                    // The link type the port runs is in the node state: no firmware needed.
                    None => (
                        link_change(&wanted).map(FwVerdict::WillReboot),
                        String::new(),
                    ),
                };
                let who = match shared_with {
                    Some(other) => format!(
                        "{who} (NUM_OF_VFS is shared with {other} on the same NIC, whose policy asks {fw_num}: the operator writes {fw_num})"
                    ),
                    None => who,
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
                        Some(FwVerdict::WillReboot(why)) => Finding::fail(
                            &target,
                            format!(
                                "{who}: {why}: applying the policy WILL reboot node {node} (the operator rewrites the NIC firmware and reboots)"
                            ),
                        ),
                        Some(FwVerdict::Pending(why)) => Finding::fail(
                            &target,
                            format!(
                                "{who}: reboot pending: {why}; the staged firmware change takes effect at the next reboot of {node}"
                            ),
                        ),
                        Some(FwVerdict::CannotAssess(why)) => Finding::skip(
                            &target,
                            format!(
                                "{who}: within limits, but {why}; the reboot risk is not assessed"
                            ),
                        ),
                        Some(FwVerdict::Match(why)) => {
                            Finding::pass(&target, format!("{who}: {why}; no reboot needed"))
                        }
                        // Within limits, but whether the operator reboots the node is what the
                        // rule is for: without the firmware's answer that is not known, and a
                        // missing input must never read as a pass.
                        None => Finding::skip(
                            &target,
                            format!(
                                "{who}: within limits ({}); {}",
                                total
                                    .map(|t| format!("totalvfs {t}"))
                                    .unwrap_or_else(|| "totalvfs unknown".into()),
                                if have_fw {
                                    format!(
                                        "no firmware facts for {node} {pci}, so whether the operator reboots the node is not known: add DIR/{node}/{pci}.txt (`mstconfig -e -d {pci} q`)"
                                    )
                                } else {
                                    "no firmware facts given, so whether the operator reboots the node is not known: pass --firmware DIR (see docs/metallb-sriov.md)".into()
                                }
                            ),
                        )
                        .cause(crate::model::Cause::NotInInput),
                    }
                };
                out.push(f.expected(expected).observed(observed).fill("pci", pci));
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
    fn matching_firmware_passes_and_no_firmware_is_a_skip() {
        let r = run(cluster(8), Some(extended("8", "8", "True(1)")));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        // Without firmware the reboot question is open: never a pass.
        let r = run(cluster(8), None);
        assert_eq!(r.status, Status::Skip);
        assert!(r.message.contains("within limits"), "{}", r.message);
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
    fn without_num_of_vfs_the_reboot_risk_is_not_assessed() {
        let d = fw(
            "Device: 0000:1a:00.0\nConfigurations:   Default   Current   Next Boot\n*  MEMIC_SIZE_LIMIT   _256KB(1)   _256KB(1)   _1MB(3)\n",
        );
        let r = run(cluster(8), Some(d));
        assert_eq!(r.status, Status::Skip, "{}", r.message);
        assert!(
            r.message.contains("no NUM_OF_VFS parameter"),
            "{}",
            r.message
        );
        assert!(r.message.contains("(MEMIC_SIZE_LIMIT)"), "{}", r.message);
        // Limits still fail on their own.
        let d = fw("Device: 0000:1a:00.0\nConfigurations: Next Boot\n SRIOV_EN True(1)\n");
        assert_eq!(run(cluster(32), Some(d)).status, Status::Fail);
    }

    #[test]
    fn a_link_type_change_reboots_with_or_without_firmware() {
        let with_link = |t: &str| {
            let mut f = cluster(8);
            if let Some(crate::facts::KindFact::Listed { items, .. }) =
                f.resources.get_mut(POLICIES)
            {
                items[0].0["spec"]["linkType"] = json!(t);
            }
            f
        };
        // The state says the port runs IB.
        let r = run(with_link("eth"), None);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains(
                "the port runs linkType IB (node state) but the policy sets linkType eth: the operator rewrites LINK_TYPE_P1"
            ) && r.message.contains("WILL reboot"),
            "{}",
            r.message
        );
        let r = run(with_link("ib"), Some(extended("8", "8", "True(1)")));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert!(r.expected.unwrap().contains("linkType ib as the port runs"));
    }

    #[test]
    fn dual_port_nics_share_num_of_vfs() {
        // Port 0 asks 8, port 1 asks 16: the operator writes 16 for the NIC, so firmware 16
        // means no reboot for either port.
        let mut f = cluster(8);
        if let Some(crate::facts::KindFact::Listed { items, .. }) = f.resources.get_mut(STATES) {
            items[0].0["status"]["interfaces"] = json!([
                {"name": "ibp26s0", "pciAddress": "0000:1a:00.0", "vendor": "15b3", "totalvfs": 16},
                {"name": "ibp26s0f1", "pciAddress": "0000:1a:00.1", "vendor": "15b3", "totalvfs": 16}
            ]);
        }
        if let Some(crate::facts::KindFact::Listed { items, .. }) = f.resources.get_mut(POLICIES) {
            let mut second = items[0].0.clone();
            second["metadata"]["name"] = json!("ibp26s0f1");
            second["spec"]["numVfs"] = json!(16);
            second["spec"]["nicSelector"]["pfNames"] = json!(["ibp26s0f1"]);
            items.push(crate::object::Object(second));
        }
        for pci in ["0000:1a:00.0", "0000:1a:00.1"] {
            f.firmware
                .entry("dgx-1".into())
                .or_default()
                .insert(pci.into(), extended("16", "16", "True(1)"));
        }
        let r = NumvfsFirmware::eval(
            &Ctx {
                facts: &f,
                site: &Site::default(),
            },
            &Params {},
        );
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.status == Status::Pass), "{r:#?}");
        assert!(
            r[0].message.contains(
                "NUM_OF_VFS is shared with 0000:1a:00.1 on the same NIC, whose policy asks 16"
            ),
            "{}",
            r[0].message
        );
        assert!(
            r[0].expected
                .as_deref()
                .unwrap()
                .contains("NUM_OF_VFS = 16")
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
