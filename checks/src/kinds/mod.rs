//! The resource kinds rules can read: the REST coordinates collectors need, and one file per
//! kind with the typed view rules read it through.
//!
//! A view is the one list of a kind's fields: checks read objects only through it, and what
//! pruning keeps of an object is derived from it ([`shape_at_parse`], [`view::Schema::shape`]),
//! so a field a check reads cannot be one that was dropped.

use crate::object::Object;
use crate::shape::Shape;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

pub mod view;

pub use view::Schema;

/// A kind's typed view: a `#[serde(default)]` struct of the fields rules read (see [`view`]).
pub trait View<'a>: Deserialize<'a> + Default {
    /// The kind key it views (`deployments.apps`).
    const KIND: &'static str;
    /// Its schema, traced once.
    fn schema() -> &'static Schema;
    /// Reads `obj` (never fails: see [`view`]).
    fn of(obj: &'a Object) -> Self {
        view::read(&obj.0, Self::schema())
    }
}

/// `view!(Deployment, "deployments.apps")`: implements [`View`] for a view struct.
macro_rules! view {
    ($t:ident < $l:lifetime >, $key:literal) => {
        impl<$l> $crate::kinds::View<$l> for $t<$l> {
            const KIND: &'static str = $key;
            fn schema() -> &'static $crate::kinds::Schema {
                static S: std::sync::OnceLock<$crate::kinds::Schema> = std::sync::OnceLock::new();
                S.get_or_init($crate::kinds::view::trace::<$t<'static>>)
            }
        }
    };
    ($t:ident, $key:literal) => {
        impl<'a> $crate::kinds::View<'a> for $t {
            const KIND: &'static str = $key;
            fn schema() -> &'static $crate::kinds::Schema {
                static S: std::sync::OnceLock<$crate::kinds::Schema> = std::sync::OnceLock::new();
                S.get_or_init($crate::kinds::view::trace::<$t>)
            }
        }
    };
}

pub mod cidr_pool;
pub mod cluster_policy;
pub mod config_map;
pub mod crd;
pub mod daemon_set;
pub mod deployment;
pub mod ingress;
pub mod ip_address_pool;
pub mod ip_pool;
pub mod l2_advertisement;
pub mod namespace;
pub mod nic_cluster_policy;
pub mod node;
pub mod pod;
pub mod secret;
pub mod service;
pub mod sriov_ib_network;
pub mod sriov_network_node_policy;
pub mod sriov_network_node_state;
pub mod sriov_network_pool_config;
pub mod sriov_operator_config;
pub mod storage_class;

/// `metadata` when only its labels are read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LabelsOnly<'a> {
    #[serde(borrow)]
    pub labels: std::collections::BTreeMap<&'a str, &'a str>,
}

/// A workload's pod template: its labels, node selector and container arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodTemplate<'a> {
    pub metadata: TemplateMeta,
    #[serde(borrow)]
    pub spec: TemplateSpec<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateMeta {
    /// A label map as written (read with `LabelSelector::from_map` and `string_map`).
    pub labels: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TemplateSpec<'a> {
    #[serde(borrow)]
    pub node_selector: std::collections::BTreeMap<&'a str, &'a str>,
    #[serde(borrow)]
    pub containers: Vec<TemplateContainer<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateContainer<'a> {
    #[serde(borrow)]
    pub command: Vec<&'a str>,
    #[serde(borrow)]
    pub args: Vec<&'a str>,
}

/// A resource quantity: a string (`8`, `500m`, `1k`) or a number (a hand-written YAML dump).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Quantity<'a> {
    /// The text, when it is a string.
    pub text: Option<&'a str>,
    /// Its value; anything unreadable is 0.
    pub value: f64,
}

impl<'de: 'a, 'a> Deserialize<'de> for Quantity<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        fn number<'a>(value: f64) -> Quantity<'a> {
            Quantity { text: None, value }
        }
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Quantity<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a quantity")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Quantity<'a>, E> {
                Ok(Quantity {
                    text: Some(s),
                    value: crate::object::parse_quantity(s).unwrap_or(0.0),
                })
            }
            fn visit_str<E>(self, s: &str) -> Result<Quantity<'a>, E> {
                Ok(number(crate::object::parse_quantity(s).unwrap_or(0.0)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Quantity<'a>, E> {
                Ok(number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Quantity<'a>, E> {
                Ok(number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Quantity<'a>, E> {
                Ok(number(n))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Quantity<'a>, E> {
                Ok(number(0.0))
            }
            fn visit_unit<E>(self) -> Result<Quantity<'a>, E> {
                Ok(number(0.0))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Quantity<'a>, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(number(0.0))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Quantity<'a>, A::Error> {
                while m
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(number(0.0))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// What every object keeps whatever its view: what it is and which it is (read by
/// [`Object::name`], [`Object::namespace`], [`Object::kind`] and `Facts::dedupe`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[allow(dead_code)] // read through `Object`'s accessors
struct Identity<'a> {
    #[serde(borrow)]
    api_version: Option<&'a str>,
    #[serde(borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    metadata: IdentityMeta<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[allow(dead_code)]
struct IdentityMeta<'a> {
    #[serde(borrow)]
    name: Option<&'a str>,
    #[serde(borrow)]
    namespace: Option<&'a str>,
    /// Which of two copies of an object is newer (see `Facts::dedupe`).
    #[serde(borrow)]
    resource_version: Option<&'a str>,
}

/// The schema of kind `key`'s view with [`Identity`]'s fields (`None`: a kind without a view).
pub fn schema_of(key: &str) -> Option<Schema> {
    macro_rules! each {
        ($($v:ty),* $(,)?) => {
            $(if key == <$v as View>::KIND {
                return Some(<$v as View>::schema().merge(&view::trace::<Identity<'static>>()));
            })*
        };
    }
    each!(
        cidr_pool::CidrPool,
        cluster_policy::ClusterPolicy,
        config_map::ConfigMap,
        crd::Crd,
        daemon_set::DaemonSet,
        deployment::Deployment,
        ingress::Ingress,
        ip_address_pool::IpAddressPool,
        ip_pool::IpPool,
        l2_advertisement::L2Advertisement,
        namespace::Namespace,
        nic_cluster_policy::NicClusterPolicy,
        node::Node,
        pod::Pod,
        secret::Secret,
        service::Service,
        sriov_ib_network::SriovIbNetwork,
        sriov_network_node_policy::SriovNetworkNodePolicy,
        sriov_network_node_state::SriovNetworkNodeState,
        sriov_network_pool_config::SriovNetworkPoolConfig,
        sriov_operator_config::SriovOperatorConfig,
        storage_class::StorageClass,
    );
    None
}

/// What is kept of an object no view reads: [`Identity`] alone.
pub fn identity_shape() -> &'static Shape {
    static S: OnceLock<&'static Shape> = OnceLock::new();
    S.get_or_init(|| view::trace::<Identity<'static>>().shape())
}

/// What parsing and pruning keep of objects of kind `key` whose view is known.
pub fn view_shape(key: &str) -> Option<&'static Shape> {
    static SHAPES: OnceLock<Vec<(&'static str, &'static Shape)>> = OnceLock::new();
    SHAPES
        .get_or_init(|| {
            KINDS
                .iter()
                .filter(|k| k.key != secret::KEY)
                .filter_map(|k| Some((k.key, schema_of(k.key)?.shape())))
                .collect()
        })
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, s)| *s)
}

/// One Kubernetes resource kind. `key` is `plural` for the core group, else `plural.group`
/// (what `kubectl get` accepts), and is how rules name what they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResourceKind {
    pub key: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// Served only when a CustomResourceDefinition is installed; a 404 means "not installed".
    pub crd: bool,
}

impl ResourceKind {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// Path of the cluster-wide collection: `/api/v1/nodes`, `/apis/apps/v1/deployments`.
    pub fn list_path(&self) -> String {
        format!("{}/{}", self.prefix(), self.plural)
    }

    /// Path of one object: `/api/v1/namespaces/kube-system/configmaps/kube-proxy`.
    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) => format!("{}/namespaces/{ns}/{}/{name}", self.prefix(), self.plural),
            None => format!("{}/{}/{name}", self.prefix(), self.plural),
        }
    }

    fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

macro_rules! kind {
    ($key:literal, $group:literal, $version:literal, $plural:literal, $kind:literal, $ns:expr, $crd:expr) => {
        ResourceKind {
            key: $key,
            group: $group,
            version: $version,
            plural: $plural,
            kind: $kind,
            namespaced: $ns,
            crd: $crd,
        }
    };
}

/// Every kind any check kind may ask for.
pub const KINDS: &[ResourceKind] = &[
    kind!("nodes", "", "v1", "nodes", "Node", false, false),
    kind!(
        "namespaces",
        "",
        "v1",
        "namespaces",
        "Namespace",
        false,
        false
    ),
    kind!(
        "configmaps",
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        true,
        false
    ),
    kind!("secrets", "", "v1", "secrets", "Secret", true, false),
    kind!("services", "", "v1", "services", "Service", true, false),
    kind!("pods", "", "v1", "pods", "Pod", true, false),
    kind!(
        "deployments.apps",
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        false
    ),
    kind!(
        "daemonsets.apps",
        "apps",
        "v1",
        "daemonsets",
        "DaemonSet",
        true,
        false
    ),
    kind!(
        "ingresses.networking.k8s.io",
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        false
    ),
    kind!(
        "storageclasses.storage.k8s.io",
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        false,
        false
    ),
    kind!(
        "customresourcedefinitions.apiextensions.k8s.io",
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        false
    ),
    kind!(
        "ipaddresspools.metallb.io",
        "metallb.io",
        "v1beta1",
        "ipaddresspools",
        "IPAddressPool",
        true,
        true
    ),
    kind!(
        "l2advertisements.metallb.io",
        "metallb.io",
        "v1beta1",
        "l2advertisements",
        "L2Advertisement",
        true,
        true
    ),
    kind!(
        "sriovnetworknodepolicies.sriovnetwork.openshift.io",
        "sriovnetwork.openshift.io",
        "v1",
        "sriovnetworknodepolicies",
        "SriovNetworkNodePolicy",
        true,
        true
    ),
    kind!(
        "sriovnetworknodestates.sriovnetwork.openshift.io",
        "sriovnetwork.openshift.io",
        "v1",
        "sriovnetworknodestates",
        "SriovNetworkNodeState",
        true,
        true
    ),
    kind!(
        "sriovoperatorconfigs.sriovnetwork.openshift.io",
        "sriovnetwork.openshift.io",
        "v1",
        "sriovoperatorconfigs",
        "SriovOperatorConfig",
        true,
        true
    ),
    kind!(
        "sriovnetworkpoolconfigs.sriovnetwork.openshift.io",
        "sriovnetwork.openshift.io",
        "v1",
        "sriovnetworkpoolconfigs",
        "SriovNetworkPoolConfig",
        true,
        true
    ),
    kind!(
        "sriovibnetworks.sriovnetwork.openshift.io",
        "sriovnetwork.openshift.io",
        "v1",
        "sriovibnetworks",
        "SriovIBNetwork",
        true,
        true
    ),
    kind!(
        "ippools.nv-ipam.nvidia.com",
        "nv-ipam.nvidia.com",
        "v1alpha1",
        "ippools",
        "IPPool",
        true,
        true
    ),
    kind!(
        "cidrpools.nv-ipam.nvidia.com",
        "nv-ipam.nvidia.com",
        "v1alpha1",
        "cidrpools",
        "CIDRPool",
        true,
        true
    ),
    kind!(
        "nicclusterpolicies.mellanox.com",
        "mellanox.com",
        "v1alpha1",
        "nicclusterpolicies",
        "NicClusterPolicy",
        false,
        true
    ),
    kind!(
        "clusterpolicies.nvidia.com",
        "nvidia.com",
        "v1",
        "clusterpolicies",
        "ClusterPolicy",
        false,
        true
    ),
];

/// Looks a kind up by its key (`deployments.apps`).
pub fn by_key(key: &str) -> Option<&'static ResourceKind> {
    KINDS.iter().find(|k| k.key == key)
}

/// Looks a kind up by `apiVersion` and `kind` as they appear in an object. The version is not
/// compared, so a `v1beta1` dump of a kind we read at `v1` still lands in the right place.
pub fn by_api_version_kind(api_version: &str, kind: &str) -> Option<&'static ResourceKind> {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    KINDS.iter().find(|k| k.kind == kind && k.group == group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A value with every field of `s`, each of its type.
    fn sample(s: &Schema) -> Value {
        match s {
            Schema::Str => json!("s"),
            Schema::I64 | Schema::U64 => json!(1),
            Schema::F64 => json!(1.5),
            Schema::Bool => json!(true),
            Schema::Any => json!({"any": [1, "x"]}),
            Schema::Option(s) => sample(s),
            Schema::Seq(e) => json!([sample(e)]),
            Schema::Map(v) => json!({"k": sample(v)}),
            Schema::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, s)| ((*k).to_string(), sample(s)))
                    .collect(),
            ),
        }
    }

    /// The fields of `s` that `v` lacks, as paths.
    fn missing(s: &Schema, v: &Value, at: &str, out: &mut Vec<String>) {
        match s {
            Schema::Option(s) => missing(s, v, at, out),
            Schema::Struct(fields) => {
                for (k, s) in fields {
                    match v.get(*k) {
                        Some(f) => missing(s, f, &format!("{at}.{k}"), out),
                        None => out.push(format!("{at}.{k}")),
                    }
                }
            }
            Schema::Seq(e) => match v.as_array().and_then(|a| a.first()) {
                Some(f) => missing(e, f, &format!("{at}[]"), out),
                None => out.push(format!("{at}[]")),
            },
            _ => {}
        }
    }

    /// Check kinds read objects only through views: what they read is then what is kept (see
    /// `pruning_keeps_every_field_a_view_reads`). A check kind reading an object's JSON by
    /// pointer, by key or through `Object`'s label/annotation accessors fails here, naming the
    /// file and line.
    #[test]
    fn check_kinds_read_objects_only_through_views() {
        const RAW: &[&str] = &[
            ".pointer(",
            ".get(\"",
            ".at(",
            "str_at(",
            "i64_at(",
            "bool_at(",
            "array_at(",
            ".annotation(",
            ".label(",
            ".labels()",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/check");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        assert!(files.len() > 30, "{files:?}");
        let mut found = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            // Unit tests build and inspect raw objects; only the check itself is held to this.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (i, line) in code.lines().enumerate() {
                let line = line.split("//").next().unwrap_or("");
                if let Some(raw) = RAW.iter().find(|r| line.contains(*r)) {
                    found.push(format!("{}:{}: `{raw}`", f.display(), i + 1));
                }
            }
        }
        assert!(
            found.is_empty(),
            "raw reads in check kinds:\n{}",
            found.join("\n")
        );
    }

    /// Every kind rules may read has a view, and every view's schema traces (a type tracing
    /// cannot read would leave fields out).
    #[test]
    fn every_kind_has_a_view() {
        for k in KINDS {
            let s = schema_of(k.key).unwrap_or_else(|| panic!("{}: no view", k.key));
            let Schema::Struct(fields) = &s else {
                panic!("{}: {s:?}", k.key)
            };
            assert!(fields.iter().any(|(f, _)| *f == "metadata"), "{}", k.key);
        }
    }

    /// What a view reads is what pruning keeps: an object with every field of its kind's view
    /// comes out of `prune` whole. Secrets are redacted first: the redacted form has every
    /// field the Secret view reads.
    #[test]
    fn pruning_keeps_every_field_a_view_reads() {
        for k in KINDS.iter().filter(|k| k.key != secret::KEY) {
            let Some(s) = schema_of(k.key) else { continue };
            let full = sample(&s);
            let kept = crate::prune::prune(k.key, full.clone());
            let mut lost = Vec::new();
            missing(&s, &kept, "", &mut lost);
            assert!(lost.is_empty(), "{}: pruning drops {lost:?}", k.key);
            assert_eq!(kept, full, "{}", k.key);
        }
        let schema = schema_of(secret::KEY).unwrap_or_else(|| panic!("no Secret view"));
        let der = crate::cert::testpki::ca("ca").der;
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der)
        );
        let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
        let raw = |config: &str| {
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s", "namespace": "n", "resourceVersion": "1"},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": b64(config), "tls.crt": b64(&pem)}})
        };
        let mut lost_in_every: Option<Vec<String>> = None;
        for config in [
            r#"{"auths": {"r.io": {"username": "u", "password": "p", "auth": "a"}}}"#,
            "not JSON",
        ] {
            let mut lost = Vec::new();
            missing(
                &schema,
                &crate::prune::prune(secret::KEY, raw(config)),
                "",
                &mut lost,
            );
            lost_in_every = Some(match lost_in_every {
                None => lost,
                Some(before) => before.into_iter().filter(|p| lost.contains(p)).collect(),
            });
        }
        assert_eq!(
            lost_in_every,
            Some(vec![]),
            "the Secret view reads what redaction drops"
        );
    }

    #[test]
    fn keys_are_unique_and_paths_are_real() {
        let mut keys: Vec<_> = KINDS.iter().map(|k| k.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), KINDS.len());
        assert_eq!(by_key("nodes").unwrap().list_path(), "/api/v1/nodes");
        assert_eq!(
            by_key("deployments.apps").unwrap().list_path(),
            "/apis/apps/v1/deployments"
        );
        assert_eq!(
            by_key("secrets")
                .unwrap()
                .object_path(Some("runai-backend"), "runai-reg-creds"),
            "/api/v1/namespaces/runai-backend/secrets/runai-reg-creds"
        );
        assert_eq!(
            by_key("nodes").unwrap().object_path(None, "dgx-01"),
            "/api/v1/nodes/dgx-01"
        );
        assert_eq!(
            by_api_version_kind("apps/v1", "Deployment").unwrap().key,
            "deployments.apps"
        );
    }
}
