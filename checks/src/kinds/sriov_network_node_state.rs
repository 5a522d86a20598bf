//! SR-IOV SriovNetworkNodeState: the operator's sync status and state annotations, and per
//! interface what `sriov::interfaces` reads. The operator's copy of the policies (`spec`) and
//! per-interface VF lists, drivers, MTU and link speed are never kept.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SriovNetworkNodeState<'a> {
    #[serde(borrow)]
    pub metadata: StateMeta<'a>,
    #[serde(borrow)]
    pub status: StateStatus<'a>,
}
view!(
    SriovNetworkNodeState<'a>,
    "sriovnetworknodestates.sriovnetwork.openshift.io"
);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateMeta<'a> {
    #[serde(borrow)]
    pub annotations: StateAnnotations<'a>,
}

/// The operator's state annotations (SRIOV005).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateAnnotations<'a> {
    #[serde(borrow, rename = "sriovnetwork.openshift.io/desired-state")]
    pub desired_state: Option<&'a str>,
    #[serde(borrow, rename = "sriovnetwork.openshift.io/current-state")]
    pub current_state: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateStatus<'a> {
    #[serde(borrow)]
    pub interfaces: Vec<StateInterface<'a>>,
    #[serde(borrow)]
    pub sync_status: Option<&'a str>,
    #[serde(borrow)]
    pub last_sync_error: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StateInterface<'a> {
    #[serde(borrow)]
    pub name: Option<&'a str>,
    #[serde(borrow)]
    pub pci_address: Option<&'a str>,
    #[serde(borrow)]
    pub vendor: Option<&'a str>,
    #[serde(borrow, rename = "deviceID")]
    pub device_id: Option<&'a str>,
    #[serde(borrow)]
    pub link_type: Option<&'a str>,
    #[serde(rename = "totalvfs")]
    pub total_vfs: Option<i64>,
    pub num_vfs: Option<i64>,
}
