//! Keeps what rules read and drops the rest — and, for Secrets, every value.
//!
//! Applied by every collector (live and offline) before an object is stored, so neither memory
//! nor a snapshot ever holds managed fields, image lists or secret data. What is kept of a kind
//! is derived from its view in [`crate::kinds`]: nothing here lists fields.

pub use crate::shape::{Discard, Shape, Skipping, keep};
use serde_json::Value;

/// Prunes one object of the given kind key: keeps what its view reads (see [`crate::kinds`]);
/// a Secret is replaced by its redacted summary.
pub fn prune(key: &str, obj: Value) -> Value {
    if key == crate::kinds::secret::KEY {
        return crate::kinds::secret::redact(&obj);
    }
    match crate::kinds::view_shape(key) {
        Some(shape) => keep(shape, obj),
        // Not a kind any rule reads: what it is and which (see `kinds::Identity`).
        None => keep(crate::kinds::identity_shape(), obj),
    }
}

#[cfg(test)]
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;

    #[test]
    fn secret_values_never_survive() {
        let cfg = r#"{"auths":{"https://runai.jfrog.io":{"username":"u","password":"CANARY-PW","auth":"Q0FOQVJZ"}}}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(cfg);
        let s = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "runai-reg-creds", "namespace": "runai-backend",
                         "annotations": {LAST_APPLIED: "CANARY-LA"}},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": b64.clone()}
        });
        let out = serde_json::to_string(&prune("secrets", s)).unwrap();
        assert!(!out.contains("CANARY"), "{out}");
        assert!(!out.contains(&b64));
        assert!(!out.contains("Q0FOQVJZ"));
        assert!(out.contains("runai.jfrog.io"));
        assert!(out.contains("\"hasPassword\":true"));
    }

    #[test]
    fn nodes_lose_images_and_managed_fields() {
        let n = json!({"metadata": {"name": "n", "managedFields": [{}]},
                       "status": {"images": [{"names": ["x"]}], "allocatable": {"cpu": "8"}}});
        let p = prune("nodes", n);
        assert!(p.pointer("/status/images").is_none());
        assert!(p.pointer("/metadata/managedFields").is_none());
        assert_eq!(p.pointer("/status/allocatable/cpu").unwrap(), "8");
    }

    #[test]
    fn node_states_keep_what_rules_read() {
        let n = json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState",
            "metadata": {"name": "dgx-1", "namespace": "network-operator",
                         "annotations": {"sriovnetwork.openshift.io/desired-state": "Reboot_Required"}},
            "spec": {"interfaces": [{"name": "ibp0s0", "numVfs": 8}]},
            "status": {"syncStatus": "InProgress", "lastSyncError": "",
                       "interfaces": [{"name": "ibp0s0", "pciAddress": "0000:0c:00.0", "vendor": "15b3",
                                       "deviceID": "1021", "linkType": "IB", "totalvfs": 16, "numVfs": 8,
                                       "mtu": 4092, "driver": "mlx5_core", "Vfs": [{"vfID": 0}]}]}});
        let p = prune("sriovnetworknodestates.sriovnetwork.openshift.io", n);
        assert_eq!(
            p,
            json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState",
                "metadata": {"name": "dgx-1", "namespace": "network-operator",
                             "annotations": {"sriovnetwork.openshift.io/desired-state": "Reboot_Required"}},
                "status": {"syncStatus": "InProgress", "lastSyncError": "",
                           "interfaces": [{"name": "ibp0s0", "pciAddress": "0000:0c:00.0", "vendor": "15b3",
                                           "deviceID": "1021", "linkType": "IB", "totalvfs": 16,
                                           "numVfs": 8}]}})
        );
    }

    #[test]
    fn nodes_keep_what_rules_read() {
        let n = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "dgx-1", "uid": "u", "labels": {"a": "b"},
                         "annotations": {"sriovnetwork.openshift.io/state": "Draining",
                                         "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"podCIDR": "10.0.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"nodeInfo": {"kubeletVersion": "v1.31.4"},
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
                       "capacity": {"rdma/ib": "1"}, "allocatable": {"rdma/ib": "1"},
                       "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                                       "message": "PLEG is not healthy",
                                       "lastHeartbeatTime": "2026-11-23T10:01:02Z"}]}});
        let p = prune("nodes", n);
        assert_eq!(
            p,
            json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "dgx-1", "labels": {"a": "b"},
                             "annotations": {"sriovnetwork.openshift.io/state": "Draining"}},
                "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
                "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
                           "allocatable": {"rdma/ib": "1"}, "capacity": {"rdma/ib": "1"},
                           "conditions": [{"type": "Ready", "status": "False",
                                           "reason": "KubeletNotReady",
                                           "message": "PLEG is not healthy"}]}})
        );
    }
}

/// What [`prune`] keeps of objects of kind `key`, as a [`Shape`] to parse them to: live pages
/// and kubectl dumps never build the rest. Node images, pod volumes and SR-IOV VF lists are
/// most of a cluster's JSON.
pub fn shape_at_parse(key: &str) -> &'static Shape {
    if key == crate::kinds::secret::KEY {
        return &crate::kinds::secret::AT_PARSE;
    }
    crate::kinds::view_shape(key).unwrap_or_else(crate::kinds::identity_shape)
}

#[cfg(test)]
mod skip_tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::DeserializeSeed;
    use serde_json::json;

    const KEYS: &[&str] = &[
        "nodes",
        "pods",
        "sriovnetworknodestates.sriovnetwork.openshift.io",
        "secrets",
        "configmaps",
        "customresourcedefinitions.apiextensions.k8s.io",
    ];

    fn parse_to_shape(key: &str, text: &str) -> Value {
        let mut de = serde_json::Deserializer::from_str(text);
        Skipping {
            shape: shape_at_parse(key),
        }
        .deserialize(&mut de)
        .unwrap()
    }

    /// Parsing to a kind's shape changes nothing after pruning: it only avoids building what
    /// `prune` drops.
    #[test]
    fn parsing_to_the_shape_then_pruning_equals_pruning() {
        let node = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n", "managedFields": [{"manager": "kubelet"}],
                         "annotations": {"sriovnetwork.openshift.io/state": "Idle"}},
            "status": {"images": [{"names": ["a"], "sizeBytes": 1}], "nodeInfo": {"k": "v"},
                       "allocatable": {"cpu": "8", "rdma/ib": "1"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "ok", "lastHeartbeatTime": "t"}]}});
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "annotations": {"a": "b"},
                         "ownerReferences": [{"kind": "ReplicaSet"}], "labels": {"app": "x"}},
            "spec": {"nodeName": "n", "volumes": [{"name": "v"}], "tolerations": [{}],
                     "containers": [{"name": "c", "image": "i",
                                     "resources": {"limits": {"rdma/ib": "1"}},
                                     "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}]}});
        let state = json!({"apiVersion": "sriovnetwork.openshift.io/v1",
            "kind": "SriovNetworkNodeState",
            "metadata": {"name": "n", "namespace": "network-operator"},
            "spec": {"interfaces": [{"name": "ib0", "numVfs": 8}]},
            "status": {"syncStatus": "Succeeded", "lastSyncError": "",
                       "interfaces": [{"name": "ib0", "vendor": "15b3", "numVfs": 8, "totalvfs": 16,
                                       "Vfs": [{"vfID": 0, "mac": "00:11"}], "vfGroups": [{}]}]}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system",
                         "managedFields": [{}], "annotations": {LAST_APPLIED: "{}"}},
            "data": {"config.conf": "mode: ipvs\nipvs:\n  strictARP: true\n"}});
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "n", "managedFields": [{}],
                         "annotations": {LAST_APPLIED: "{\"data\": \"CANARY\"}"}},
            "type": "Opaque", "data": {"k": "Q0FOQVJZ"}});
        for (key, obj) in [
            ("nodes", node),
            ("pods", pod),
            ("sriovnetworknodestates.sriovnetwork.openshift.io", state),
            ("configmaps", cm),
            ("secrets", secret),
        ] {
            let text = obj.to_string();
            let shaped = parse_to_shape(key, &text);
            assert!(
                text.len() > shaped.to_string().len(),
                "{key}: nothing skipped"
            );
            assert_eq!(prune(key, shaped), prune(key, obj), "{key}");
        }
        // Values of every JSON type survive where the shape keeps all.
        let v = json!({"data": {"a": [1, -2, 2.5, true, null, "s"], "b": {"c": {}}}});
        assert_eq!(parse_to_shape("configmaps", &v.to_string()), v);
    }

    /// What `Discard` drops it reads as strictly as a `Value` would be read.
    #[test]
    fn what_is_dropped_is_still_validated() {
        for bad in [
            r#"{"metadata": {"managedFields": ["\ud800"]}}"#,
            r#"{"metadata": {"managedFields": [1e400]}}"#,
            r#"{"metadata": {"managedFields": [tru]}}"#,
        ] {
            let mut de = serde_json::Deserializer::from_str(bad);
            assert!(serde_json::from_str::<Value>(bad).is_err());
            assert!(
                Skipping {
                    shape: crate::kinds::identity_shape()
                }
                .deserialize(&mut de)
                .is_err(),
                "{bad}"
            );
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-2i64..3).prop_map(Value::from),
            prop::sample::select(vec!["x", "rdma/ib", "sriovnetwork.openshift.io/state"])
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "apiVersion",
                        "metadata",
                        "name",
                        "namespace",
                        "labels",
                        "annotations",
                        "managedFields",
                        LAST_APPLIED,
                        "spec",
                        "status",
                        "containers",
                        "initContainers",
                        "resources",
                        "limits",
                        "securityContext",
                        "volumes",
                        "images",
                        "conditions",
                        "type",
                        "interfaces",
                        "Vfs",
                        "numVfs",
                        "syncStatus",
                        "containerStatuses",
                        "ready",
                        "taints",
                        "data",
                        "group",
                        "versions",
                        "schema",
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..5,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Objects with every part the shapes name, for mutation.
    fn bases() -> Vec<(&'static str, Value)> {
        let meta = json!({"name": "a", "namespace": "network-operator", "uid": "u",
            "labels": {"app": "x"}, "managedFields": [{"manager": "m"}],
            "annotations": {LAST_APPLIED: "{}", "sriovnetwork.openshift.io/state": "Idle", "o": "p"},
            "ownerReferences": [{"kind": "ReplicaSet"}]});
        let container = json!({"name": "c", "image": "i", "env": [{"name": "E"}],
            "resources": {"limits": {"rdma/ib": "1"}, "requests": {"cpu": "1"}},
            "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}}});
        vec![
            (
                "nodes",
                json!({"apiVersion": "v1", "kind": "Node", "metadata": meta,
                "spec": {"podCIDR": "c", "taints": [{"key": "k"}], "unschedulable": true},
                "status": {"images": [{"names": ["a"]}], "nodeInfo": {"k": "v"},
                           "addresses": [{"type": "InternalIP", "address": "a"}],
                           "allocatable": {"cpu": "8"}, "capacity": {"cpu": "8"},
                           "conditions": [{"type": "Ready", "status": "True", "reason": "r",
                                           "message": "m", "lastHeartbeatTime": "t"}]}}),
            ),
            (
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"nodeName": "n", "hostNetwork": true, "securityContext": {"a": 1},
                         "nodeSelector": {"a": "b"}, "volumes": [{"name": "v"}],
                         "tolerations": [{}], "containers": [container.clone()],
                         "initContainers": [container]},
                "status": {"phase": "Running", "podIP": "i", "conditions": [{"type": "Ready"}],
                           "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0,
                                                  "image": "i"}]}}),
            ),
            (
                "sriovnetworknodestates.sriovnetwork.openshift.io",
                json!({
                "apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState",
                "metadata": meta, "spec": {"interfaces": [{"name": "ib0"}]},
                "status": {"syncStatus": "Succeeded", "lastSyncError": "", "x": 1,
                           "interfaces": [{"name": "ib0", "pciAddress": "p", "vendor": "v",
                                           "deviceID": "d", "linkType": "IB", "totalvfs": 16,
                                           "numVfs": 8, "mtu": 1, "Vfs": [{"vfID": 0}]}]}}),
            ),
            (
                "secrets",
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta,
                "type": "kubernetes.io/dockerconfigjson", "data": {"k": "Q0FOQVJZ"},
                "stringData": {"s": "t"}}),
            ),
            (
                "customresourcedefinitions.apiextensions.k8s.io",
                json!({
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": meta, "spec": {"group": "g", "versions": [{"name": "v1",
                    "schema": {"openAPIV3Schema": {}}, "additionalPrinterColumns": []}]}}),
            ),
            (
                "configmaps",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                "data": {"k": "v"}}),
            ),
        ]
    }

    /// Every JSON pointer in a value.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    pointers(c, p.clone(), out);
                    out.push(p);
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    pointers(c, p.clone(), out);
                    out.push(p);
                }
            }
            _ => {}
        }
    }

    /// A realistic object of each kind, some of its parts replaced by any value or removed,
    /// read as its own kind or as another.
    fn mutated() -> impl Strategy<Value = (&'static str, Value)> {
        (
            0..bases().len(),
            prop::sample::select(KEYS),
            any::<bool>(),
            prop::collection::vec((any::<prop::sample::Index>(), value(), any::<bool>()), 0..4),
        )
            .prop_map(|(b, other, own, muts)| {
                let (key, mut v) = bases().swap_remove(b);
                for (at, new, remove) in muts {
                    let mut ps = Vec::new();
                    pointers(&v, String::new(), &mut ps);
                    if ps.is_empty() {
                        break;
                    }
                    let p = at.get(&ps).clone();
                    let (parent, last) = p.rsplit_once('/').unwrap_or(("", ""));
                    let last = last.replace("~1", "/").replace("~0", "~");
                    match v.pointer_mut(parent) {
                        Some(Value::Object(m)) if remove => {
                            m.remove(&last);
                        }
                        _ => {
                            if let Some(slot) = v.pointer_mut(&p) {
                                *slot = new;
                            }
                        }
                    }
                }
                (if own { key } else { other }, v)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Whatever an object's shape (maps where lists are expected, scalars, missing parts),
        /// pruning what was parsed to the kind's shape equals pruning the whole object.
        #[test]
        fn shapes_never_change_what_prune_keeps((k, v) in mutated()) {
            let text = v.to_string();
            prop_assert_eq!(prune(k, parse_to_shape(k, &text)), prune(k, v));
        }

        #[test]
        fn shapes_never_change_what_prune_keeps_of_any_value(
            v in value(),
            k in prop::sample::select(KEYS),
        ) {
            let text = v.to_string();
            prop_assert_eq!(prune(k, parse_to_shape(k, &text)), prune(k, v));
        }
    }
}
