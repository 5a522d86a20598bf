//! Keeps what rules read and drops the rest — and, for Secrets, every value.
//!
//! Applied by every collector (live and offline) before an object is stored, so neither memory
//! nor a snapshot ever holds managed fields, image lists or secret data.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Prunes one object of the given kind key.
pub fn prune(key: &str, mut obj: Value) -> Value {
    if key == "secrets" {
        return redact_secret(&obj);
    }
    prune_metadata(&mut obj);
    match key {
        "nodes" => obj = prune_node(obj),
        "pods" => obj = prune_pod(obj),
        "customresourcedefinitions.apiextensions.k8s.io" => prune_crd(&mut obj),
        "sriovnetworknodestates.sriovnetwork.openshift.io" => obj = prune_node_state(obj),
        _ => {}
    }
    obj
}

fn prune_metadata(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            // The last-applied annotation repeats the whole object — for a Secret applied with
            // kubectl apply, its data too.
            ann.remove(LAST_APPLIED);
        }
    }
}

fn pick(src: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    if let Some(m) = src.as_object() {
        for k in keys {
            if let Some(v) = m.get(*k) {
                out.insert((*k).to_string(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn prune_pod(obj: Value) -> Value {
    let containers = |list: Option<&Value>| -> Value {
        Value::Array(
            list.and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| pick(c, &["name", "resources", "securityContext"]))
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let mut s = pick(
        &spec,
        &["nodeName", "hostNetwork", "securityContext", "nodeSelector"],
    );
    s["containers"] = containers(spec.get("containers"));
    if spec.get("initContainers").is_some() {
        s["initContainers"] = containers(spec.get("initContainers"));
    }
    let status = obj.get("status").cloned().unwrap_or(Value::Null);
    let mut st = pick(&status, &["phase", "conditions"]);
    if let Some(cs) = status.get("containerStatuses").and_then(Value::as_array) {
        st["containerStatuses"] = Value::Array(
            cs.iter()
                .map(|c| pick(c, &["name", "ready", "restartCount"]))
                .collect(),
        );
    }
    json!({
        "apiVersion": obj.get("apiVersion").cloned().unwrap_or(json!("v1")),
        "kind": "Pod",
        "metadata": pick(obj.get("metadata").unwrap_or(&Value::Null),
                         &["name", "namespace", "labels", "resourceVersion"]),
        "spec": s,
        "status": st,
    })
}

/// Nodes keep what rules read: name, labels, the SR-IOV operator's annotations, taints,
/// addresses, allocatable/capacity and each condition's type/status/reason/message. Dropped:
/// images, volumes, nodeInfo, heartbeat times and every other annotation (a 5,000-node cluster's
/// nodes shrink to a third).
fn prune_node(mut obj: Value) -> Value {
    let Some(m) = obj.as_object_mut() else {
        return obj;
    };
    let meta = m.remove("metadata").unwrap_or(Value::Null);
    // resourceVersion: which of two copies of an object is newer (see `Facts::dedupe`).
    let mut metadata = pick(&meta, &["name", "labels", "resourceVersion"]);
    if let Some(ann) = meta.get("annotations").and_then(Value::as_object) {
        let kept: Map<String, Value> = ann
            .iter()
            .filter(|(k, _)| k.starts_with(NODE_ANNOTATION_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            metadata["annotations"] = Value::Object(kept);
        }
    }
    let spec = pick(
        m.get("spec").unwrap_or(&Value::Null),
        &["taints", "unschedulable"],
    );
    let status = m.remove("status").unwrap_or(Value::Null);
    let mut st = pick(&status, &["addresses", "allocatable", "capacity"]);
    if let Some(conds) = status.get("conditions").and_then(Value::as_array) {
        st["conditions"] = Value::Array(
            conds
                .iter()
                .map(|c| pick(c, &["type", "status", "reason", "message"]))
                .collect(),
        );
    }
    json!({
        "apiVersion": m.remove("apiVersion").unwrap_or(json!("v1")),
        "kind": "Node",
        "metadata": metadata,
        "spec": spec,
        "status": st,
    })
}

/// SR-IOV node states keep metadata (with the operator's state annotations), the sync status
/// and, per interface, what `sriov::interfaces` reads. Dropped: `spec` (the operator's copy of
/// the policies) and per-interface VF lists, drivers, MTU and link speed.
fn prune_node_state(mut obj: Value) -> Value {
    let Some(m) = obj.as_object_mut() else {
        return obj;
    };
    m.remove("spec");
    if let Some(st) = m.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(ifaces) = st.get_mut("interfaces").and_then(Value::as_array_mut) {
            for i in ifaces.iter_mut() {
                *i = pick(
                    i,
                    &[
                        "name",
                        "pciAddress",
                        "vendor",
                        "deviceID",
                        "linkType",
                        "totalvfs",
                        "numVfs",
                    ],
                );
            }
        }
        st.retain(|k, _| matches!(k.as_str(), "interfaces" | "syncStatus" | "lastSyncError"));
    }
    obj
}

/// Node annotations kept: the SR-IOV operator's (`sriovnetwork.openshift.io/state`, SRIOV005).
const NODE_ANNOTATION_PREFIX: &str = "sriovnetwork.openshift.io/";

fn prune_crd(obj: &mut Value) {
    // Schemas are large; only the SR-IOV operator config schema is ever read (SRIOV002).
    let keep_schema = obj
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .is_some_and(|g| g == "sriovnetwork.openshift.io");
    if keep_schema {
        return;
    }
    if let Some(versions) = obj
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    {
        for v in versions {
            if let Some(m) = v.as_object_mut() {
                m.remove("schema");
                m.remove("additionalPrinterColumns");
            }
        }
    }
}

/// Replaces a Secret by what rules may know of it: type, key names, registry hosts (with whether
/// they carry credentials) and the SHA-256 of a `tls.crt`. No value survives.
pub fn redact_secret(obj: &Value) -> Value {
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    let mut metadata = pick(
        meta,
        &[
            "name",
            "namespace",
            "labels",
            "creationTimestamp",
            "resourceVersion",
        ],
    );
    if let Some(ann) = meta.get("annotations").and_then(Value::as_object) {
        // Annotation values can embed data (last-applied); keep names only.
        let names: Vec<Value> = ann.keys().map(|k| json!(k)).collect();
        metadata["annotationKeys"] = Value::Array(names);
    }
    let data = obj.get("data").and_then(Value::as_object);
    let string_data = obj.get("stringData").and_then(Value::as_object);
    let mut keys: Vec<String> = data
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(sd) = string_data {
        keys.extend(sd.keys().cloned());
    }
    keys.sort();
    keys.dedup();

    let value_of = |k: &str| -> Option<Vec<u8>> {
        if let Some(s) = data.and_then(|d| d.get(k)).and_then(Value::as_str) {
            return base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok();
        }
        string_data
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .map(|s| s.as_bytes().to_vec())
    };

    let mut summary = json!({ "keys": keys });
    if let Some(raw) = value_of(".dockerconfigjson").or_else(|| value_of(".dockercfg")) {
        summary["dockerconfig"] = summarize_dockerconfig(&raw);
    }
    if let Some(crt) = value_of("tls.crt") {
        summary["tlsCrtSha256"] = json!(crate::prune::sha256_hex(&crt));
        // The served leaf is compared as DER (TLS005); the file hash above covers PEM bytes.
        if let Some(leaf) = first_pem_cert(&crt) {
            summary["tlsLeafSha256"] = json!(crate::prune::sha256_hex(&leaf));
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": obj.get("type").cloned().unwrap_or(json!("Opaque")),
        "summary": summary,
    })
}

/// Registry hosts of a docker config and whether each has a credential, never the credential.
fn summarize_dockerconfig(raw: &[u8]) -> Value {
    let parsed: Result<Value, _> = serde_json::from_slice(raw);
    let Ok(v) = parsed else {
        return json!({"error": "not valid JSON"});
    };
    // `.dockerconfigjson` nests under `auths`; legacy `.dockercfg` is the map itself.
    let auths = v.get("auths").or(Some(&v)).and_then(Value::as_object);
    let Some(auths) = auths else {
        return json!({"error": "no `auths` object"});
    };
    let registries: Vec<Value> = auths
        .iter()
        .map(|(server, entry)| {
            let nonempty = |k: &str| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            };
            json!({
                "server": server,
                "hasUsername": nonempty("username"),
                "hasPassword": nonempty("password"),
                "hasAuth": nonempty("auth"),
            })
        })
        .collect();
    json!({ "registries": registries })
}

/// Lower-case hex SHA-256.
/// DER of the first certificate in PEM text (a `tls.crt` holds leaf first, then intermediates).
fn first_pem_cert(pem: &[u8]) -> Option<Vec<u8>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .next()
        .and_then(Result::ok)
        .map(|c| c.to_vec())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
                       "capacity": {"rdma/ib": "1"},
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
                           "capacity": {"rdma/ib": "1"},
                           "conditions": [{"type": "Ready", "status": "False",
                                           "reason": "KubeletNotReady",
                                           "message": "PLEG is not healthy"}]}})
        );
    }
}

/// Paths [`prune`] removes from objects of kind `key` that are worth never building: they are
/// skipped while a live page is parsed (map keys from the object's root; arrays are
/// transparent, so `status.interfaces.Vfs` is each interface's VF list). Node images and
/// SR-IOV VF lists are most of a node's and a node state's JSON.
pub fn skipped_at_parse(key: &str) -> &'static [&'static [&'static str]] {
    match key {
        "nodes" => &[
            &["metadata", "managedFields"],
            &["status", "images"],
            &["status", "nodeInfo"],
            &["status", "volumesAttached"],
            &["status", "volumesInUse"],
            &["status", "daemonEndpoints"],
        ],
        "pods" => &[
            &["metadata", "managedFields"],
            &["metadata", "annotations"],
            &["metadata", "ownerReferences"],
            &["spec", "volumes"],
            &["spec", "tolerations"],
            &["spec", "affinity"],
        ],
        "sriovnetworknodestates.sriovnetwork.openshift.io" => &[
            &["metadata", "managedFields"],
            &["spec"],
            &["status", "interfaces", "Vfs"],
            &["status", "interfaces", "vfGroups"],
        ],
        _ => &[&["metadata", "managedFields"]],
    }
}

/// Deserializes a JSON value, skipping the given paths (see [`skipped_at_parse`]) without
/// building them.
pub struct Skipping<'a> {
    pub paths: &'a [&'a [&'a str]],
}

impl<'de> serde::de::DeserializeSeed<'de> for Skipping<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.paths.is_empty() {
            return <Value as serde::Deserialize>::deserialize(d);
        }
        let tails: Vec<&[&str]> = self.paths.to_vec();
        d.deserialize_any(SkipVisitor { tails })
    }
}

/// The remaining suffixes of the skipped paths at this depth.
struct SkipVisitor<'a> {
    tails: Vec<&'a [&'a str]>,
}

struct SkipSeed<'a> {
    tails: Vec<&'a [&'a str]>,
}

impl<'de> serde::de::DeserializeSeed<'de> for SkipSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.tails.is_empty() {
            <Value as serde::Deserialize>::deserialize(d)
        } else {
            d.deserialize_any(SkipVisitor { tails: self.tails })
        }
    }
}

impl<'de> serde::de::Visitor<'de> for SkipVisitor<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = m.next_key::<String>()? {
            let here: Vec<&[&str]> = self
                .tails
                .iter()
                .filter(|t| t.first() == Some(&k.as_str()))
                .map(|t| &t[1..])
                .collect();
            if here.iter().any(|t| t.is_empty()) {
                m.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let v = m.next_value_seed(SkipSeed { tails: here })?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = s.next_element_seed(SkipSeed {
            tails: self.tails.clone(),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod skip_tests {
    use super::*;
    use serde::de::DeserializeSeed;

    fn parse_skipping(key: &str, text: &str) -> Value {
        let mut de = serde_json::Deserializer::from_str(text);
        Skipping {
            paths: skipped_at_parse(key),
        }
        .deserialize(&mut de)
        .unwrap()
    }

    /// Skipping at parse time changes nothing after pruning: it only avoids building what
    /// `prune` drops.
    #[test]
    fn skipping_then_pruning_equals_pruning() {
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
                         "managedFields": [{}]},
            "data": {"config.conf": "mode: ipvs\nipvs:\n  strictARP: true\n"}});
        for (key, obj) in [
            ("nodes", node),
            ("pods", pod),
            ("sriovnetworknodestates.sriovnetwork.openshift.io", state),
            ("configmaps", cm),
        ] {
            let text = obj.to_string();
            let skipped = parse_skipping(key, &text);
            assert!(
                text.len() > skipped.to_string().len(),
                "{key}: nothing skipped"
            );
            assert_eq!(prune(key, skipped), prune(key, obj), "{key}");
        }
        // Values of every JSON type survive where nothing is skipped.
        let v = json!({"a": [1, -2, 2.5, true, null, "s"], "b": {"c": {}}});
        assert_eq!(parse_skipping("nodes", &v.to_string()), v);
    }
}
