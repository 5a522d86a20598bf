//! Property tests for the pure building blocks rules stand on: label selectors, address ranges,
//! certificate name matching and waiver globs. Each compares against a simple reference model.

use gpu_preflight_checks::cert::name_matches;
use gpu_preflight_checks::iprange::AddrRange;
use gpu_preflight_checks::selector::{LabelSelector, NodeSelector};
use gpu_preflight_checks::waiver::glob;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn label_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "node-role.kubernetes.io/runai-system"])
        .prop_map(str::to_string)
}
fn label_val() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["true", "false", "x", ""]).prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// matchLabels and each matchExpressions operator behave as Kubernetes defines them.
    #[test]
    fn selector_matches_reference(
        labels in prop::collection::btree_map(label_key(), label_val(), 0..4),
        ml in prop::collection::btree_map(label_key(), label_val(), 0..2),
        key in label_key(),
        values in prop::collection::vec(label_val(), 1..3),
        op in prop::sample::select(vec!["In", "NotIn", "Exists", "DoesNotExist"]),
    ) {
        let mut expr = json!({"key": key, "operator": op});
        if op == "In" || op == "NotIn" {
            expr["values"] = json!(values);
        }
        let sel_json = json!({"matchLabels": ml, "matchExpressions": [expr]});
        let sel = LabelSelector::parse(Some(&sel_json)).unwrap();
        let l: BTreeMap<&str, &str> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let ml_ok = ml.iter().all(|(k, v)| labels.get(k) == Some(v));
        let expr_ok = match op {
            "In" => labels.get(&key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&key),
            _ => !labels.contains_key(&key),
        };
        prop_assert_eq!(sel.matches(&l), ml_ok && expr_ok);
    }

    /// A NodeSelector's terms are ORed, each term's label requirements ANDed with the same
    /// operator semantics as a LabelSelector's matchExpressions: a one-term NodeSelector agrees
    /// with the equivalent LabelSelector, two terms with the OR of two.
    #[test]
    fn node_selector_is_an_or_of_label_selectors(
        labels in prop::collection::btree_map(label_key(), label_val(), 0..4),
        terms in prop::collection::vec(
            prop::collection::vec(
                (label_key(),
                 prop::sample::select(vec!["In", "NotIn", "Exists", "DoesNotExist"]),
                 prop::collection::vec(label_val(), 1..3)),
                1..3),
            1..3),
    ) {
        let exprs = |t: &Vec<(String, &str, Vec<String>)>| -> serde_json::Value {
            serde_json::Value::Array(t.iter().map(|(k, op, vs)| {
                let mut e = json!({"key": k, "operator": op});
                if *op == "In" || *op == "NotIn" {
                    e["values"] = json!(vs);
                }
                e
            }).collect())
        };
        let ns = NodeSelector::parse(&json!({"nodeSelectorTerms":
            terms.iter().map(|t| json!({"matchExpressions": exprs(t)})).collect::<Vec<_>>()}))
            .unwrap();
        let l: BTreeMap<&str, &str> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let any = terms.iter().any(|t| {
            LabelSelector::parse(Some(&json!({"matchExpressions": exprs(t)}))).unwrap().matches(&l)
        });
        prop_assert_eq!(ns.matches("node-1", &l), any);
    }

    /// An IPv4 CIDR contains exactly the addresses that share its prefix.
    #[test]
    fn cidr_v4_containment(base in any::<u32>(), len in 0u8..=32, probe in any::<u32>()) {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let net = Ipv4Addr::from(base & mask);
        let r = AddrRange::parse(&format!("{net}/{len}")).unwrap();
        let want = probe & mask == base & mask;
        prop_assert_eq!(r.contains(IpAddr::V4(Ipv4Addr::from(probe))), want);
    }

    /// `start-end` ranges are inclusive and ordered; IPv6 too.
    #[test]
    fn ranges_inclusive(a in any::<u128>(), b in any::<u128>(), p in any::<u128>()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let r = AddrRange::parse(&format!("{}-{}", Ipv6Addr::from(lo), Ipv6Addr::from(hi))).unwrap();
        prop_assert!(r.contains(IpAddr::V6(Ipv6Addr::from(lo))));
        prop_assert!(r.contains(IpAddr::V6(Ipv6Addr::from(hi))));
        prop_assert_eq!(r.contains(IpAddr::V6(Ipv6Addr::from(p))), lo <= p && p <= hi);
        // A family never contains the other.
        prop_assert!(!r.contains(IpAddr::V4(Ipv4Addr::new(127, 0, 5, 10))));
    }

    /// RFC 6125: `*.suffix` matches exactly one extra left-most label, case-insensitively.
    #[test]
    fn wildcard_one_label(
        labels in prop::collection::vec("[a-z][a-z0-9-]{0,6}", 2..4),
        extra in prop::collection::vec("[a-z][a-z0-9]{0,5}", 0..3),
        upper in any::<bool>(),
    ) {
        let suffix = labels.join(".");
        let host = if extra.is_empty() { suffix.clone() } else { format!("{}.{suffix}", extra.join(".")) };
        let host = if upper { host.to_ascii_uppercase() } else { host };
        let want = extra.len() == 1;
        let pattern = format!("*.{suffix}");
        prop_assert_eq!(name_matches(&pattern, &host), want);
        prop_assert!(name_matches(&host, &host.to_ascii_lowercase()));
    }

    /// `*` in a waiver target glob matches any run, `?` one character; literal text matches itself.
    #[test]
    fn glob_reference(prefix in "[a-z/]{0,6}", middle in "[a-z0-9-]{0,8}", suffix in "[a-z]{0,4}") {
        let text = format!("{prefix}{middle}{suffix}");
        let star = format!("{prefix}*{suffix}");
        prop_assert!(glob(&star, &text));
        prop_assert!(glob(&text, &text));
        prop_assert!(glob("*", &text));
        let q: String = "?".repeat(text.chars().count());
        prop_assert!(glob(&q, &text));
        let longer = format!("{q}?");
        prop_assert!(!glob(&longer, &text));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Kernel log lines are hostile input: any text parses to an Xid or to nothing, never a
    /// panic; a parsed device is always a normalised `dddd:bb:dd`, its text bounded and free of
    /// control characters; and a well-formed line round-trips its XID and device.
    #[test]
    fn xid_lines_never_panic_and_round_trip(
        junk in ".{0,80}",
        prefix in prop::sample::select(vec!["", "[ 12.5] ", "4,1,2,-;", "Oct 02 10:41:07 h kernel: "]),
        dom in 0u32..0x10000, bus in 0u32..0x100, dev in 0u32..0x20, xid in 0u32..200,
        tail in "[ -~]{0,400}",
    ) {
        use gpu_preflight_checks::parse::nvidia::{xid_line, normalize_bus, XID_TEXT_MAX};
        if let Some(x) = xid_line(&junk) {
            prop_assert_eq!(normalize_bus(&x.device), Some(x.device.clone()));
        }
        let line = format!("{prefix}NVRM: Xid (PCI:{dom:04x}:{bus:02x}:{dev:02x}): {xid}, {tail}");
        let x = xid_line(&line).expect("a well-formed line parses");
        prop_assert_eq!(x.xid, xid);
        prop_assert_eq!(x.device, format!("{dom:04x}:{bus:02x}:{dev:02x}"));
        prop_assert!(x.text.chars().count() <= XID_TEXT_MAX);
        prop_assert!(!x.text.chars().any(char::is_control));
    }

    /// nvidia-smi output and the driver's version file never panic the parsers, whatever they hold.
    #[test]
    fn nvidia_outputs_never_panic(text in ".{0,300}", inner in "[<>/a-z_ 0-9\"=:.]{0,200}") {
        use gpu_preflight_checks::parse::nvidia::{driver_version, smi_xml, fabric_manager_version};
        let _ = driver_version(&text);
        let _ = fabric_manager_version(&text);
        let _ = smi_xml(&text);
        let _ = smi_xml(&format!("<nvidia_smi_log>{inner}</nvidia_smi_log>"));
    }
}
