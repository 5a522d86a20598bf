//! Check kinds: pure functions from facts (+ site intent + parameters) to findings.
//!
//! One file per kind. A rule in `rules/*.yaml` names a kind and gives its parameters; several
//! rules may share a kind (`deployment_ready` serves NET002, NET003, CRD002, CRD004).

use crate::facts::{Facts, ObjectRef};
use crate::fix::FixVariant;
use crate::interest::PodSubset;
use crate::model::Finding;
use crate::site::Site;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::marker::PhantomData;

pub mod api_reachable;
pub mod arp_sysctls;
pub mod bcm_cpuonly_overlay;
pub mod bcm_label_category;
pub mod containerd_default_runtime;
pub mod crds_present;
pub mod daemonset_selected_nodes;
pub mod default_storageclass;
pub mod deployment_ready;
pub mod dns_resolves;
pub mod dns_stray_aaaa;
pub mod endpoint;
pub mod etcd_odd;
pub mod evidence;
pub mod fabric_manager;
pub mod gpu_label_truthful;
pub mod gpu_memory_health;
pub mod gpu_xid;
pub mod hca_firmware_uniform;
pub mod ib_networks_wired;
pub mod ib_port_counters;
pub mod ingress_lb_service;
pub mod inventory_nodes;
pub mod l2_advertisement;
pub mod memlock;
pub mod metallb_installed;
pub mod monitoring_endpoints;
pub mod namespaces_exist;
pub mod network_operator_ready;
pub mod node_scope;
pub mod node_states_synced;
pub mod nodes_ready;
pub mod numvfs_firmware;
pub mod parallel_node_config;
pub mod pcie_link_width;
pub mod policies_cover_nics;
pub mod pool_service_allocation;
pub mod rdma_bandwidth;
pub mod rdma_device_plugin_config;
pub mod rdma_devices_visible;
pub mod rdma_kernel_modules;
pub mod rdma_label_truthful;
pub mod rdma_pod_privileges;
pub mod rdma_resource_advertised;
pub mod registry_secret;
pub mod reserved_ip_pool;
pub mod reserved_ip_unique;
pub mod strict_arp;
pub mod system_nodes;
pub mod tls_chain;
pub mod tls_expiry;
pub mod tls_files;
pub mod tls_name;
pub mod tls_secret;

/// What a check needs collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Resource kind keys (see [`crate::kinds`]).
    pub kinds: Vec<&'static str>,
    /// Needs the API server even without listing kinds (K8S001).
    pub api: bool,
    /// Kinds listed when possible but not required: an input without them does not make the
    /// rule `skip` (nv-ipam CIDRPools, which only some clusters use).
    pub optional: Vec<&'static str>,
    /// With `pods` among the kinds: the only pods this check reads (`None`: every pod). Pods
    /// no selected rule reads are dropped on arrival (see [`crate::interest`]).
    pub pods: Option<PodSubset>,
    /// Kinds read only by name: the objects [`Check::named`] names are fetched with one GET
    /// each, never listed (Secrets, ConfigMaps: least privilege).
    pub named: Vec<&'static str>,
    /// The kinds whose objects [`Check::named`] reads to name them (among `kinds` and
    /// `optional`): collected before the named objects are fetched.
    pub names_from: Vec<&'static str>,
}

impl Needs {
    pub fn kinds(kinds: &[&'static str]) -> Self {
        Needs {
            kinds: kinds.to_vec(),
            ..Needs::default()
        }
    }

    /// Also reads these kinds when the input has them.
    pub fn optional(mut self, kinds: &[&'static str]) -> Self {
        for k in kinds {
            if !self.optional.contains(k) && !self.kinds.contains(k) {
                self.optional.push(k);
            }
        }
        self
    }

    /// Reads objects of `kind` by name (see [`Check::named`]). Namespaces are listed when
    /// possible, so an object whose namespace does not exist is known absent without a request
    /// (before installation, a Role in that namespace cannot even be created).
    pub fn by_name(mut self, kind: &'static str) -> Self {
        self.named.push(kind);
        self.optional(&["namespaces"]).names_from(&["namespaces"])
    }

    /// The names [`Check::named`] returns depend on these kinds' objects.
    pub fn names_from(mut self, kinds: &[&'static str]) -> Self {
        for k in kinds {
            if !self.names_from.contains(k) {
                self.names_from.push(k);
            }
        }
        self
    }

    /// Reads only the pods of this namespace (besides any other subset it names).
    pub fn pods_in_namespace(mut self, ns: &str) -> Self {
        self.pods
            .get_or_insert_with(PodSubset::default)
            .namespaces
            .insert(ns.to_string());
        self
    }

    /// Reads only pods with a container requesting or limiting a resource named `prefix...`.
    pub fn pods_requesting(mut self, prefix: &str) -> Self {
        self.pods
            .get_or_insert_with(PodSubset::default)
            .resource_prefixes
            .insert(prefix.to_string());
        self
    }
}

/// What a check kind sees.
pub struct Ctx<'a> {
    pub facts: &'a Facts,
    pub site: &'a Site,
}

/// A check kind, type-erased for the registry.
pub trait Check: Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn validate(&self, params: &Value) -> Result<(), String>;
    fn needs(&self, params: &Value) -> Needs;
    /// The objects of its `named` kinds it reads, from the site and its `names_from` kinds.
    fn named(&self, ctx: &Ctx, params: &Value) -> Vec<ObjectRef>;
    fn eval(&self, ctx: &Ctx, params: &Value) -> Vec<Finding>;
    /// The cases it tells apart that may have their own fix (a rule's `remediation_variants`).
    fn fixes(&self) -> &'static [FixVariant];
}

/// A check kind with typed parameters (`#[serde(deny_unknown_fields)]` structs).
pub trait TypedCheck: 'static {
    type Params: DeserializeOwned;
    const NAME: &'static str;
    const SUMMARY: &'static str;
    /// The cases its findings name with [`Finding::fix`], each of which a rule may give its own
    /// fix.
    const FIXES: &'static [FixVariant] = &[];
    fn needs(p: &Self::Params) -> Needs;
    /// The objects of the kinds [`Needs::named`] lists that it reads. `ctx.facts` holds the
    /// [`Needs::names_from`] kinds (and, live, nothing else yet): the answer must not depend on
    /// anything else.
    fn named(_ctx: &Ctx, _p: &Self::Params) -> Vec<ObjectRef> {
        Vec::new()
    }
    fn eval(ctx: &Ctx, p: &Self::Params) -> Vec<Finding>;
    /// Extra validation beyond the parameter types.
    fn validate(_p: &Self::Params) -> Result<(), String> {
        Ok(())
    }
}

pub struct Kind<T>(PhantomData<fn() -> T>);

impl<T> Kind<T> {
    pub const fn new() -> Self {
        Kind(PhantomData)
    }
}

impl<T> Default for Kind<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TypedCheck> Kind<T> {
    fn parse(params: &Value) -> Result<T::Params, String> {
        let v = if params.is_null() {
            Value::Object(Default::default())
        } else {
            params.clone()
        };
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

impl<T: TypedCheck> Check for Kind<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn summary(&self) -> &'static str {
        T::SUMMARY
    }
    fn validate(&self, params: &Value) -> Result<(), String> {
        T::validate(&Self::parse(params)?)
    }
    fn needs(&self, params: &Value) -> Needs {
        Self::parse(params)
            .map(|p| T::needs(&p))
            .unwrap_or_default()
    }
    fn named(&self, ctx: &Ctx, params: &Value) -> Vec<ObjectRef> {
        Self::parse(params)
            .map(|p| T::named(ctx, &p))
            .unwrap_or_default()
    }
    fn fixes(&self) -> &'static [FixVariant] {
        T::FIXES
    }
    fn eval(&self, ctx: &Ctx, params: &Value) -> Vec<Finding> {
        match Self::parse(params) {
            Ok(p) => T::eval(ctx, &p),
            // Unreachable for validated rules; kept so a bad rule never panics.
            Err(e) => vec![Finding::error("rule", format!("invalid params: {e}"))],
        }
    }
}

static REGISTRY: &[&dyn Check] = &[
    &Kind::<api_reachable::ApiReachable>::new(),
    &Kind::<nodes_ready::NodesReady>::new(),
    &Kind::<default_storageclass::DefaultStorageClass>::new(),
    &Kind::<strict_arp::StrictArp>::new(),
    &Kind::<deployment_ready::DeploymentReady>::new(),
    &Kind::<namespaces_exist::NamespacesExist>::new(),
    &Kind::<registry_secret::RegistrySecret>::new(),
    &Kind::<system_nodes::SystemNodes>::new(),
    &Kind::<crds_present::CrdsPresent>::new(),
    &Kind::<rdma_device_plugin_config::RdmaDevicePluginConfig>::new(),
    &Kind::<daemonset_selected_nodes::DaemonsetSelectedNodes>::new(),
    &Kind::<rdma_resource_advertised::RdmaResourceAdvertised>::new(),
    &Kind::<rdma_pod_privileges::RdmaPodPrivileges>::new(),
    &Kind::<rdma_devices_visible::RdmaDevicesVisible>::new(),
    &Kind::<memlock::MemlockUnlimited>::new(),
    &Kind::<rdma_bandwidth::RdmaBandwidth>::new(),
    &Kind::<rdma_kernel_modules::RdmaKernelModules>::new(),
    &Kind::<containerd_default_runtime::ContainerdDefaultRuntime>::new(),
    &Kind::<arp_sysctls::ArpSysctls>::new(),
    &Kind::<bcm_label_category::BcmLabelCategory>::new(),
    &Kind::<bcm_cpuonly_overlay::BcmCpuonlyOverlay>::new(),
    &Kind::<rdma_label_truthful::RdmaLabelTruthful>::new(),
    &Kind::<inventory_nodes::InventoryNodes>::new(),
    &Kind::<etcd_odd::EtcdOdd>::new(),
    &Kind::<gpu_label_truthful::GpuLabelTruthful>::new(),
    &Kind::<dns_resolves::DnsResolves>::new(),
    &Kind::<dns_stray_aaaa::DnsStrayAaaa>::new(),
    &Kind::<tls_name::TlsName>::new(),
    &Kind::<tls_chain::TlsChain>::new(),
    &Kind::<tls_expiry::TlsExpiry>::new(),
    &Kind::<tls_files::TlsFiles>::new(),
    &Kind::<tls_secret::TlsSecret>::new(),
    &Kind::<monitoring_endpoints::MonitoringEndpoints>::new(),
    &Kind::<metallb_installed::MetallbInstalled>::new(),
    &Kind::<reserved_ip_pool::ReservedIpPool>::new(),
    &Kind::<pool_service_allocation::PoolServiceAllocation>::new(),
    &Kind::<l2_advertisement::L2Advertisement>::new(),
    &Kind::<ingress_lb_service::IngressLbService>::new(),
    &Kind::<reserved_ip_unique::ReservedIpUnique>::new(),
    &Kind::<network_operator_ready::NetworkOperatorReady>::new(),
    &Kind::<parallel_node_config::ParallelNodeConfig>::new(),
    &Kind::<policies_cover_nics::PoliciesCoverNics>::new(),
    &Kind::<numvfs_firmware::NumvfsFirmware>::new(),
    &Kind::<node_states_synced::NodeStatesSynced>::new(),
    &Kind::<ib_networks_wired::IbNetworksWired>::new(),
    &Kind::<fabric_manager::FabricManagerRunning>::new(),
    &Kind::<pcie_link_width::PcieLinkWidth>::new(),
    &Kind::<gpu_xid::GpuXid>::new(),
    &Kind::<gpu_memory_health::GpuMemoryHealth>::new(),
    &Kind::<hca_firmware_uniform::HcaFirmwareUniform>::new(),
    &Kind::<ib_port_counters::IbPortCounters>::new(),
];

/// Every check kind.
pub fn registry() -> &'static [&'static dyn Check] {
    REGISTRY
}

pub fn find(name: &str) -> Option<&'static dyn Check> {
    REGISTRY.iter().copied().find(|c| c.name() == name)
}

/// The problems one finding reports, each with the kinds it rests on, so that a failure proven
/// by the evidence present stands when another kind is missing — and names only what is proven.
#[derive(Debug, Default)]
pub struct Problems {
    items: Vec<(String, &'static [&'static str])>,
}

impl Problems {
    pub fn push(&mut self, problem: impl Into<String>, rests_on: &'static [&'static str]) {
        self.items.push((problem.into(), rests_on));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A failure with `what` followed by the problems: those proven by the evidence present,
    /// resting on their kinds; when none is proven without a missing kind, all of them, resting on
    /// every kind the check needs (the engine then reports the target as not evaluated).
    /// `None` when there is no problem.
    pub fn fail(&self, facts: &Facts, target: &str, what: &str) -> Option<Finding> {
        if self.items.is_empty() {
            return None;
        }
        Some(match self.proven(facts) {
            Some((proven, on)) => {
                Finding::fail(target, format!("{what}{}", proven.join("; "))).rests_on(&on)
            }
            None => Finding::fail(
                target,
                format!(
                    "{what}{}",
                    self.items
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
        })
    }

    /// The problems whose kinds are all available, and the kinds they rest on together; all of
    /// them when nothing is missing. `None` when no problem is proven by the evidence present.
    pub fn proven(&self, facts: &Facts) -> Option<(Vec<&str>, Vec<&'static str>)> {
        let usable = |k: &&str| facts.availability(k).is_ok();
        let proven: Vec<&(String, &'static [&'static str])> = self
            .items
            .iter()
            .filter(|(_, on)| on.iter().all(usable))
            .collect();
        if proven.is_empty() {
            return None;
        }
        let mut kinds: Vec<&'static str> = proven
            .iter()
            .flat_map(|(_, on)| on.iter().copied())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        Some((proven.iter().map(|(p, _)| p.as_str()).collect(), kinds))
    }
}

/// Shared helpers for check kinds.
pub mod util {
    use crate::object::Object;

    pub const CONTROL_PLANE_LABELS: &[&str] = &[
        "node-role.kubernetes.io/control-plane",
        "node-role.kubernetes.io/master",
    ];

    pub fn is_control_plane(node: &Object) -> bool {
        CONTROL_PLANE_LABELS.iter().any(|l| node.label(l).is_some())
    }

    /// Ready condition of a node: `Some((status, reason, message))`.
    pub fn node_ready(node: &Object) -> Option<(&str, &str, &str)> {
        node.array_at("/status/conditions")
            .iter()
            .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Ready"))
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("");
                (s("status"), s("reason"), s("message"))
            })
    }

    pub fn is_ready(node: &Object) -> bool {
        node_ready(node).is_some_and(|(s, _, _)| s == "True")
    }

    pub use crate::text::list;
}

#[cfg(test)]
pub(crate) mod testing {
    //! Tiny builders for fixture objects in unit tests.
    use crate::facts::{Facts, KindFact};
    use crate::object::Object;
    use serde_json::{Value, json};

    pub fn facts(kinds: &[(&str, Vec<Value>)]) -> Facts {
        let mut f = Facts::default();
        for (k, items) in kinds {
            f.resources.insert(
                (*k).to_string(),
                KindFact::listed(items.iter().cloned().map(Object).collect()),
            );
        }
        f
    }

    pub fn node(name: &str, ready: bool, labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "labels": labels},
               "status": {"conditions": [{"type": "Ready",
                   "status": if ready {"True"} else {"False"},
                   "reason": if ready {"KubeletReady"} else {"KubeletNotReady"},
                   "message": if ready {"kubelet is posting ready status"} else {"container runtime network not ready"}}]}})
    }
}
