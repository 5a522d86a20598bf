//! SR-IOV SriovNetworkNodePolicy: which NICs on which nodes get how many VFs, as which
//! resource (read through `sriov::Policy`).

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SriovNetworkNodePolicy<'a> {
    #[serde(borrow)]
    pub spec: PolicySpec<'a>,
}
view!(
    SriovNetworkNodePolicy<'a>,
    "sriovnetworknodepolicies.sriovnetwork.openshift.io"
);

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicySpec<'a> {
    pub num_vfs: Option<i64>,
    pub priority: Option<i64>,
    #[serde(borrow)]
    pub resource_name: Option<&'a str>,
    /// A label map (read with `LabelSelector::from_map`).
    pub node_selector: Option<Value>,
    #[serde(borrow)]
    pub nic_selector: NicSelector<'a>,
    #[serde(borrow)]
    pub link_type: Option<&'a str>,
    /// RDMA-capable VFs (`rdma_test::plan` picks their resource).
    pub is_rdma: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NicSelector<'a> {
    #[serde(borrow)]
    pub vendor: Option<&'a str>,
    #[serde(borrow, rename = "deviceID")]
    pub device_id: Option<&'a str>,
    #[serde(borrow)]
    pub pf_names: Vec<&'a str>,
    #[serde(borrow)]
    pub root_devices: Vec<&'a str>,
}
