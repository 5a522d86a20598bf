//! The resource kinds rules can read, with the REST coordinates collectors need.

use serde::Serialize;

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
