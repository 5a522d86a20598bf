//! NVIDIA GPU Operator ClusterPolicy (nvidia.com/v1): its state (GPU001).

use serde::Deserialize;

pub const KEY: &str = "clusterpolicies.nvidia.com";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClusterPolicy<'a> {
    #[serde(borrow)]
    pub status: ClusterPolicyStatus<'a>,
}
view!(ClusterPolicy<'a>, "clusterpolicies.nvidia.com");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClusterPolicyStatus<'a> {
    /// `ready` or `notReady` (the operator's `State`).
    #[serde(borrow)]
    pub state: Option<&'a str>,
    /// The operator's conditions (`Ready`, `Error`), with its reason and message.
    #[serde(borrow)]
    pub conditions: Vec<super::node::Condition<'a>>,
}
