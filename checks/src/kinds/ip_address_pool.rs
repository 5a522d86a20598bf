//! MetalLB IPAddressPool: its addresses, labels (pool selectors) and allocation settings.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IpAddressPool<'a> {
    #[serde(borrow)]
    pub metadata: super::LabelsOnly<'a>,
    pub spec: IpAddressPoolSpec,
}
view!(IpAddressPool<'a>, "ipaddresspools.metallb.io");

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IpAddressPoolSpec {
    /// Ranges as written (`10.0.0.1/32`, `a-b`); anything else is reported, so kept as is.
    pub addresses: Vec<Value>,
    /// Kept as written: whether it is there at all matters (see LB004).
    pub auto_assign: Option<Value>,
    pub service_allocation: Option<ServiceAllocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceAllocation {
    pub namespaces: Vec<Value>,
    /// LabelSelectors, parsed by the rule that reads them.
    pub namespace_selectors: Vec<Value>,
}
