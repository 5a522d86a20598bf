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

#[cfg(test)]
mod tests {
    use crate::facts::Facts;
    use crate::parse::{bcm, inventory};

    #[test]
    fn intent_round_trips_through_the_snapshot_body_and_is_omitted_when_empty() {
        let empty = serde_json::to_value(Facts::default()).unwrap();
        assert!(empty.get("intent").is_none());
        let mut f = Facts::default();
        f.intent.inventory =
            Some(inventory::parse("inv", "[etcd]\nm1 ansible_host=127.0.0.1\n").unwrap());
        f.intent.bcm = Some(
            bcm::from_yaml(
                "b.yaml",
                "nodes: {m1: cat}\nlabelsets: [{name: s, labels: [\"a=b\"], categories: [cat]}]\n",
            )
            .unwrap(),
        );
        let text = serde_json::to_string(&f).unwrap();
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
    }
}
