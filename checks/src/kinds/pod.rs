//! Pod: where it runs, its containers' resources and privileges, and its readiness.

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Pod<'a> {
    #[serde(borrow)]
    pub spec: PodSpec<'a>,
    #[serde(borrow)]
    pub status: PodStatus<'a>,
}
view!(Pod<'a>, "pods");

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec<'a> {
    #[serde(borrow)]
    pub node_name: Option<&'a str>,
    pub host_network: Option<bool>,
    #[serde(borrow)]
    pub containers: Vec<Container<'a>>,
    #[serde(borrow)]
    pub init_containers: Vec<Container<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container<'a> {
    #[serde(borrow)]
    pub name: Option<&'a str>,
    #[serde(borrow)]
    pub resources: Resources<'a>,
    #[serde(borrow)]
    pub security_context: SecurityContext<'a>,
}

/// Resource names only: rules ask which resources a container requests, not how many.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Resources<'a> {
    #[serde(borrow)]
    pub limits: BTreeMap<&'a str, IgnoredAny>,
    #[serde(borrow)]
    pub requests: BTreeMap<&'a str, IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecurityContext<'a> {
    pub privileged: Option<bool>,
    #[serde(borrow)]
    pub capabilities: Capabilities<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Capabilities<'a> {
    #[serde(borrow)]
    pub add: Vec<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus<'a> {
    #[serde(borrow)]
    pub phase: Option<&'a str>,
    #[serde(borrow)]
    pub conditions: Vec<PodCondition<'a>>,
    pub container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodCondition<'a> {
    #[serde(borrow, rename = "type")]
    pub type_: Option<&'a str>,
    #[serde(borrow)]
    pub status: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContainerStatus {
    pub ready: Option<bool>,
}

impl<'a> Container<'a> {
    /// Names of the resources it limits or requests, limits first, each once.
    pub fn resource_names(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for k in self
            .resources
            .limits
            .keys()
            .chain(self.resources.requests.keys())
        {
            if !out.contains(k) {
                out.push(k);
            }
        }
        out
    }
}
