//! DaemonSet: pods scheduled and ready, and its pod template's node selector and container
//! arguments.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DaemonSet<'a> {
    #[serde(borrow)]
    pub spec: DaemonSetSpec<'a>,
    pub status: DaemonSetStatus,
}
view!(DaemonSet<'a>, "daemonsets.apps");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DaemonSetSpec<'a> {
    #[serde(borrow)]
    pub template: super::PodTemplate<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonSetStatus {
    pub number_ready: Option<i64>,
    pub desired_number_scheduled: Option<i64>,
}
