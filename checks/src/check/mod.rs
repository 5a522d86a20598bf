//! Check kinds: pure functions from facts (+ site intent + parameters) to findings.
//!
//! One file per kind. A rule in `rules/*.yaml` names a kind and gives its parameters; several
//! rules may share a kind (`deployment_ready` serves NET002, NET003, CRD002, CRD004).

pub use crate::context::{Ctx, Needs};
use crate::facts::{Facts, ObjectRef};
use crate::fix::FixVariant;
use crate::kinds::Schema;
use crate::model::Finding;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::marker::PhantomData;

/// Helpers the check kinds share, moved beside the model; re-exported so `super::evidence`
/// paths in check kinds keep working.
pub use crate::{endpoint, evidence, node_scope};

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
pub mod etcd_odd;
pub mod fabric_manager;
pub mod gpu_driver_uniform;
pub mod gpu_label_truthful;
pub mod gpu_memory_health;
pub mod gpu_operator_ready;
pub mod gpu_xid;
pub mod gpus_advertised;
pub mod hca_firmware_uniform;
pub mod ib_networks_wired;
pub mod ib_port_counters;
pub mod ingress_lb_service;
pub mod inventory_nodes;
pub mod l2_advertisement;
pub mod memlock;
pub mod metallb_installed;
pub mod mig_config_applied;
pub mod monitoring_endpoints;
pub mod namespaces_exist;
pub mod network_operator_ready;
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
    /// Its parameters (a rule's `params`), traced from their type.
    fn params(&self) -> Vec<Param>;
}

/// One parameter of a check kind, as docs/rules.md lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    /// Its JSON type in words: `string`, `list of string`, `object (namespace, name)`.
    pub kind: String,
    /// Whether a rule must give it.
    pub required: bool,
}

fn describe(s: &Schema) -> String {
    match s {
        Schema::Str => "string".into(),
        Schema::I64 | Schema::U64 => "integer".into(),
        Schema::F64 => "number".into(),
        Schema::Bool => "boolean".into(),
        Schema::Any => "any".into(),
        Schema::Option(s) => describe(s),
        Schema::Seq(e) => format!("list of {}", describe(e)),
        Schema::Map(v) => format!("map of {}", describe(v)),
        Schema::Struct(fields) => format!(
            "object ({})",
            fields
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A value of schema `s`, to find which parameters a rule must give.
fn sample(s: &Schema) -> Value {
    match s {
        Schema::Str => Value::from("x"),
        Schema::I64 | Schema::U64 => Value::from(1),
        Schema::F64 => Value::from(1.0),
        Schema::Bool => Value::from(true),
        Schema::Any => Value::Null,
        Schema::Option(s) => sample(s),
        Schema::Seq(e) => Value::Array(vec![sample(e)]),
        Schema::Map(v) => Value::Object([("k".to_string(), sample(v))].into_iter().collect()),
        Schema::Struct(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, s)| ((*k).to_string(), sample(s)))
                .collect(),
        ),
    }
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
    fn params(&self) -> Vec<Param> {
        let Schema::Struct(fields) = crate::kinds::view::trace::<T::Params>() else {
            return Vec::new();
        };
        // Required: those serde reports missing, one at a time, until the rest parse.
        let mut given = serde_json::Map::new();
        let mut required = Vec::new();
        for _ in 0..=fields.len() {
            let Err(e) = Self::parse(&Value::Object(given.clone())) else {
                break;
            };
            let missing = e
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next());
            let Some((name, s)) = missing.and_then(|m| fields.iter().find(|(k, _)| *k == m)) else {
                break;
            };
            required.push(*name);
            given.insert((*name).to_string(), sample(s));
        }
        fields
            .iter()
            .map(|(name, s)| Param {
                name,
                kind: describe(s),
                required: required.contains(name),
            })
            .collect()
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
    &Kind::<gpu_operator_ready::GpuOperatorReady>::new(),
    &Kind::<gpus_advertised::GpusAdvertised>::new(),
    &Kind::<gpu_driver_uniform::GpuDriverUniform>::new(),
    &Kind::<mig_config_applied::MigConfigApplied>::new(),
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
    use crate::kinds::View;
    use crate::kinds::node::NodeReadiness;
    use crate::object::Object;

    pub use crate::kinds::node::CONTROL_PLANE_LABELS;

    pub fn is_control_plane(node: &Object) -> bool {
        crate::kinds::node::is_control_plane(node)
    }

    /// Ready condition of a node: `Some((status, reason, message))`.
    pub fn node_ready(node: &Object) -> Option<(&str, &str, &str)> {
        NodeReadiness::of(node).ready()
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

#[cfg(test)]
mod params_tests {
    use super::*;

    /// Parameters are traced from each kind's type: names, types, and which a rule must give.
    #[test]
    fn every_kind_lists_its_parameters() {
        let deployment = find("deployment_ready").map(|c| c.params());
        assert_eq!(
            deployment,
            Some(vec![
                Param {
                    name: "candidates",
                    kind: "list of object (namespace, name)".into(),
                    required: true
                },
                Param {
                    name: "min_replicas",
                    kind: "integer".into(),
                    required: false
                },
                Param {
                    name: "min_replicas_setting",
                    kind: "string".into(),
                    required: false
                },
            ])
        );
    }
}

#[cfg(test)]
mod probe_needs {
    /// What a run asks of this host (probes, site files) comes from the check kinds' needs
    /// alone: a check kind that reads probe facts and does not declare them would be evaluated
    /// on a run that never probed (a skip where a verdict was due). Held by reading the sources:
    /// every check kind that reads `probes` declares at least one probe; none that does not.
    #[test]
    fn check_kinds_that_read_probe_facts_declare_them() {
        // Reading the facts' probes directly, or through the helpers in endpoint.rs that do.
        const READERS: &[&str] = &[".probes", "endpoint::probes(", "endpoint::each_tls("];
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let endpoint = std::fs::read_to_string(src.join("endpoint.rs")).unwrap_or_default();
        for (i, l) in endpoint.lines().enumerate() {
            if let Some(f) = l.strip_prefix("pub fn ") {
                let name = f.split(['<', '(']).next().unwrap_or("");
                let body: String = endpoint.lines().skip(i).take(12).collect();
                assert!(
                    !body.contains("probes(ctx") && !body.contains("facts.probes")
                        || READERS.contains(&format!("endpoint::{name}(").as_str()),
                    "endpoint::{name} reads probe facts: add it to READERS"
                );
            }
        }
        let dir = src.join("check");
        let mut wrong = Vec::new();
        let mut readers = 0;
        let mut seen = 0;
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            // The check kinds this file defines (`const NAME: &'static str = "...";`).
            let names: Vec<&str> = code
                .lines()
                .filter(|l| l.contains("const NAME: &'static str = \""))
                .filter_map(|l| l.split('"').nth(1))
                .collect();
            let reads = code
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .any(|l| READERS.iter().any(|r| l.contains(r)));
            for name in names {
                let c = super::find(name).unwrap_or_else(|| panic!("{f:?}: `{name}` unregistered"));
                seen += 1;
                readers += usize::from(reads);
                let declared = c.needs(&serde_json::json!({})).probes.any();
                if reads != declared {
                    wrong.push(format!(
                        "{name}: reads probe facts: {reads}, declares probes in needs: {declared}"
                    ));
                }
            }
        }
        assert_eq!(
            seen,
            super::registry().len(),
            "a check kind's file was not found"
        );
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(readers >= 8, "the scan found only {readers} probe readers");
    }
}
