//! ConfigMap: its data (configuration files rules parse: kube-proxy, RDMA device plugin).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfigMap<'a> {
    /// `None`: no `data` at all (distinct from an empty map in messages).
    #[serde(borrow)]
    pub data: Option<BTreeMap<&'a str, &'a str>>,
}
view!(ConfigMap<'a>, "configmaps");
