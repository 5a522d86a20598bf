//! Hostile input for the intent parsers: thousands of deterministic mutations of real fixtures
//! (cut, duplicated, swapped, garbage bytes, CR/LF changes) must each give facts or a located
//! error — never a panic — and the check kinds must evaluate whatever was accepted. The cargo-fuzz
//! targets in `fuzz/` explore further; this runs in every `cargo test`.

#[cfg(test)]
mod tests {
    use crate::check::{self, Ctx};
    use crate::facts::Facts;
    use crate::object::Object;
    use crate::parse::{bcm, inventory};
    use crate::site::Site;

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "\r\n",
        "\n",
        ",",
        "..",
        "[",
        "]",
        ":",
        "=",
        "#",
        ";",
        "-----",
        " ",
        "  \t",
        "\u{feff}",
        "é",
        "node001..node999999999",
        "[a:z]",
        "[0:99999999]",
        "(key)",
        "all:",
        "hosts:",
        "children:",
        "\"",
        "'",
        "%",
        "{",
        "}",
    ];

    fn mutate(rng: &mut Rng, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..1 + rng.below(4) {
            let len = chars.len();
            let at = rng.below(len + 1);
            match rng.below(5) {
                0 if len > 0 => {
                    let end = (at + rng.below(40)).min(len);
                    chars.drain(at.min(end)..end);
                }
                1 => {
                    let p = PIECES[rng.below(PIECES.len())];
                    chars.splice(at..at, p.chars());
                }
                2 if len > 0 => {
                    let end = (at + rng.below(80)).min(len);
                    let dup: Vec<char> = chars[at.min(end)..end].to_vec();
                    chars.splice(at.min(end)..at.min(end), dup);
                }
                3 => chars.insert(at, char::from_u32(rng.below(0x2FF) as u32).unwrap_or('?')),
                _ if len > 1 => {
                    let b = rng.below(len);
                    chars.swap(at.min(len - 1), b);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    const DEVICES: &str = include_str!("../../../fixtures/intent/bcm-cmsh-broken/devices.txt");
    const OVERLAYS: &str = include_str!("../../../fixtures/intent/bcm-cmsh/overlays.txt");
    const LABELSETS: &str = include_str!("../../../fixtures/intent/bcm-cmsh/labelsets.txt");
    const CONTAINERD: &str =
        include_str!("../../../fixtures/intent/bcm-cmsh/containerd/kube-dra-worker.txt");
    const EXPORT: &str = include_str!("../../../fixtures/intent/bcm.yaml");
    const INI: &str = include_str!("../../../fixtures/intent/inventory.ini");
    const YAML: &str = include_str!("../../../fixtures/intent/inventory.yaml");
    const CLUSTER: &str = include_str!("../../../fixtures/intent/cluster.yaml");

    fn facts_with_nodes() -> Facts {
        let list: serde_json::Value = crate::yaml::from_str(CLUSTER).expect("fixture parses");
        let nodes = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .cloned()
            .map(Object)
            .collect();
        let mut f = Facts::default();
        f.resources
            .insert("nodes".into(), crate::facts::KindFact::listed(nodes));
        f
    }

    fn eval_all(f: &Facts) {
        let site = Site::default();
        let ctx = Ctx {
            facts: f,
            site: &site,
        };
        for name in [
            "bcm_label_category",
            "bcm_cpuonly_overlay",
            "rdma_label_truthful",
            "inventory_nodes",
            "etcd_odd",
            "gpu_label_truthful",
        ] {
            let c = check::find(name).expect("registered");
            let params = if name == "bcm_label_category" {
                serde_json::json!({"label": "node-role.kubernetes.io/runai-system"})
            } else {
                serde_json::json!({})
            };
            assert!(!c.eval(&ctx, &params).is_empty(), "{name}");
        }
    }

    #[test]
    fn mutated_cmsh_outputs_parse_or_fail_with_a_location() {
        let mut rng = Rng(0x5eed_cafe);
        let mut base = facts_with_nodes();
        let mut accepted = 0;
        for i in 0..2000 {
            let mut o = bcm::CmshOutputs {
                devices: ("devices.txt".into(), DEVICES.into()),
                overlays: ("overlays.txt".into(), OVERLAYS.into()),
                labelsets: ("labelsets.txt".into(), LABELSETS.into()),
                containerd: vec![("kube-dra-worker".into(), "c.txt".into(), CONTAINERD.into())],
            };
            match i % 4 {
                0 => o.devices.1 = mutate(&mut rng, DEVICES),
                1 => o.overlays.1 = mutate(&mut rng, OVERLAYS),
                2 => o.labelsets.1 = mutate(&mut rng, LABELSETS),
                _ => o.containerd[0].2 = mutate(&mut rng, CONTAINERD),
            }
            match bcm::from_cmsh(&o) {
                Ok(b) => {
                    accepted += 1;
                    base.intent.bcm = Some(b);
                    eval_all(&base);
                }
                Err(e) => assert!(!e.message.is_empty() && !e.file.is_empty(), "{e}"),
            }
        }
        assert!(accepted > 50, "the mutations should not all be rejected");
    }

    #[test]
    fn mutated_exports_and_inventories_parse_or_fail_with_a_location() {
        let mut rng = Rng(0xfeed_beef);
        let mut base = facts_with_nodes();
        for _ in 0..700 {
            let text = mutate(&mut rng, EXPORT);
            if let Ok(b) = bcm::from_yaml("bcm.yaml", &text) {
                base.intent.bcm = Some(b);
                eval_all(&base);
            }
        }
        for (i, src) in [INI, YAML].iter().enumerate() {
            let name = ["inventory", "hosts.yaml"][i];
            for _ in 0..700 {
                let text = mutate(&mut rng, src);
                match inventory::parse(name, &text) {
                    Ok(inv) => {
                        base.intent.inventory = Some(inv);
                        eval_all(&base);
                    }
                    Err(e) => assert!(!e.message.is_empty(), "{e}"),
                }
            }
        }
    }
}
