//! Deployment: replicas wanted and ready, and its pod template's labels and container
//! arguments.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Deployment<'a> {
    #[serde(borrow)]
    pub spec: DeploymentSpec<'a>,
    pub status: DeploymentStatus,
}
view!(Deployment<'a>, "deployments.apps");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeploymentSpec<'a> {
    pub replicas: Option<i64>,
    #[serde(borrow)]
    pub template: super::PodTemplate<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeploymentStatus {
    pub ready_replicas: Option<i64>,
}
