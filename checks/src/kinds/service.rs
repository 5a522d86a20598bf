//! Service: type, selector, ports, requested and assigned load-balancer addresses.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Service<'a> {
    #[serde(borrow)]
    pub metadata: ServiceMeta<'a>,
    #[serde(borrow)]
    pub spec: ServiceSpec<'a>,
    #[serde(borrow)]
    pub status: ServiceStatus<'a>,
}
view!(Service<'a>, "services");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceMeta<'a> {
    #[serde(borrow)]
    pub annotations: ServiceAnnotations<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceAnnotations<'a> {
    #[serde(borrow, rename = "metallb.io/loadBalancerIPs")]
    pub metallb_ips: Option<&'a str>,
    #[serde(borrow, rename = "metallb.universe.tf/loadBalancerIPs")]
    pub metallb_ips_old: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceSpec<'a> {
    #[serde(borrow, rename = "type")]
    pub type_: Option<&'a str>,
    /// A label map (read with `LabelSelector::from_map`).
    pub selector: Option<Value>,
    pub ports: Vec<Port>,
    #[serde(borrow, rename = "loadBalancerIP")]
    pub load_balancer_ip: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Port {
    pub node_port: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceStatus<'a> {
    #[serde(borrow)]
    pub load_balancer: LoadBalancerStatus<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoadBalancerStatus<'a> {
    #[serde(borrow)]
    pub ingress: Vec<LoadBalancerIngress<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoadBalancerIngress<'a> {
    #[serde(borrow)]
    pub ip: Option<&'a str>,
}
