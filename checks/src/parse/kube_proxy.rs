//! kube-proxy's KubeProxyConfiguration (a ConfigMap's data), as NET001 and NODE003 read it.

use crate::yaml::YamlError;
use serde_json::Value;

/// What rules read of a KubeProxyConfiguration, as written: a `null` is not an absence.
#[derive(Debug, Default, PartialEq)]
pub struct KubeProxyConfig {
    /// `mode` when it is a string (unset means iptables).
    pub mode: Option<String>,
    /// Whether there is an `ipvs` key at all.
    pub has_ipvs: bool,
    /// `ipvs.strictARP`, whatever its type.
    pub strict_arp: Option<Value>,
}

impl KubeProxyConfig {
    pub fn parse(text: &str) -> Result<KubeProxyConfig, YamlError> {
        let cfg: Value = crate::yaml::from_str(text)?;
        Ok(KubeProxyConfig {
            mode: cfg.get("mode").and_then(Value::as_str).map(str::to_string),
            has_ipvs: cfg.get("ipvs").is_some(),
            strict_arp: cfg.pointer("/ipvs/strictARP").cloned(),
        })
    }

    /// ipvs mode with `strictARP: true`.
    pub fn strict_arp_on(&self) -> bool {
        self.mode.as_deref() == Some("ipvs") && self.strict_arp == Some(Value::Bool(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_ipvs_section_is_there() {
        let c = KubeProxyConfig::parse("mode: ipvs\nipvs:\n").unwrap();
        assert!(c.has_ipvs);
        assert_eq!(c.strict_arp, None);
        let c = KubeProxyConfig::parse("mode: ipvs\nipvs:\n  strictARP: true\n").unwrap();
        assert!(c.strict_arp_on());
        let c = KubeProxyConfig::parse("mode: 5\n").unwrap();
        assert_eq!((c.mode, c.has_ipvs), (None, false));
    }
}
