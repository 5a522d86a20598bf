//! MetalLB L2Advertisement: which pools it announces, and from which nodes.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct L2Advertisement<'a> {
    #[serde(borrow)]
    pub spec: L2AdvertisementSpec<'a>,
}
view!(L2Advertisement<'a>, "l2advertisements.metallb.io");

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct L2AdvertisementSpec<'a> {
    #[serde(borrow)]
    pub ip_address_pools: Vec<&'a str>,
    /// LabelSelectors, parsed by the rule that reads them (an invalid one is reported).
    pub ip_address_pool_selectors: Vec<Value>,
    pub node_selectors: Vec<Value>,
}
