//! nv-ipam IPPool: which nodes it allocates blocks on.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IpPool {
    pub spec: NvIpamPoolSpec,
}
view!(IpPool, "ippools.nv-ipam.nvidia.com");

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NvIpamPoolSpec {
    /// A NodeSelector (`nodeSelectorTerms`), parsed by the rule.
    pub node_selector: Option<Value>,
}
