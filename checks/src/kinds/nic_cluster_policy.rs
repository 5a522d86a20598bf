//! Network Operator NicClusterPolicy: its state and each component's.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NicClusterPolicy<'a> {
    #[serde(borrow)]
    pub status: NicClusterPolicyStatus<'a>,
}
view!(NicClusterPolicy<'a>, "nicclusterpolicies.mellanox.com");

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NicClusterPolicyStatus<'a> {
    #[serde(borrow)]
    pub state: Option<&'a str>,
    #[serde(borrow)]
    pub reason: Option<&'a str>,
    #[serde(borrow)]
    pub applied_states: Vec<AppliedState<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AppliedState<'a> {
    #[serde(borrow)]
    pub name: Option<&'a str>,
    #[serde(borrow)]
    pub state: Option<&'a str>,
    #[serde(borrow)]
    pub message: Option<&'a str>,
}
