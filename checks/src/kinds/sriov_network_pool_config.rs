//! SR-IOV SriovNetworkPoolConfig: which nodes it groups and how many may drain at once.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SriovNetworkPoolConfig {
    pub spec: PoolConfigSpec,
}
view!(
    SriovNetworkPoolConfig,
    "sriovnetworkpoolconfigs.sriovnetwork.openshift.io"
);

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolConfigSpec {
    /// A LabelSelector, parsed by the rule (`None`: selects no node).
    pub node_selector: Option<Value>,
    /// An IntOrString.
    pub max_unavailable: Option<Value>,
}
