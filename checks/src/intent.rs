//! Intent sources besides the cluster: what BCM and the Ansible inventory say it should be.

use crate::parse::bcm::BcmFacts;
use crate::parse::inventory::Inventory;
use serde::{Deserialize, Serialize};

/// BCM facts and the Ansible inventory, when given (`--bcm`, `--inventory` or the site file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntentFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcm: Option<BcmFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
}

impl IntentFacts {
    pub fn is_empty(&self) -> bool {
        self.bcm.is_none() && self.inventory.is_none()
    }
}
