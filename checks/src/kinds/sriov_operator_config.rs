//! SR-IOV SriovOperatorConfig: the parallel-configuration settings (SRIOV002).

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SriovOperatorConfig {
    pub spec: OperatorConfigSpec,
}
view!(
    SriovOperatorConfig,
    "sriovoperatorconfigs.sriovnetwork.openshift.io"
);

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OperatorConfigSpec {
    pub feature_gates: FeatureGates,
    /// Kept as written: whether it is there at all matters.
    pub max_parallel_node_configuration: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FeatureGates {
    /// Kept as written: anything but `true` is reported as it is.
    pub parallel_nic_config: Option<Value>,
}
