//! nv-ipam CIDRPool: which nodes it allocates blocks on.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CidrPool {
    pub spec: super::ip_pool::NvIpamPoolSpec,
}
view!(CidrPool, "cidrpools.nv-ipam.nvidia.com");
