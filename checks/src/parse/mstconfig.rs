//! `mstconfig`/`mlxconfig` query output: `mstconfig -e -d <pci> q` (extended: Default / Current /
//! Next Boot columns, `*` marking non-default values) and plain `q` (one column, values like
//! `True(1)`, `IB(1)`, `8`).
//!
//! The text may come from a file an engineer captured or from the node agent; either way it is
//! untrusted, so every malformed line is an error naming its line number.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Firmware facts of the cluster: node name → PCI address (`0000:17:00.0`) → configuration.
pub type FirmwareFacts = BTreeMap<String, BTreeMap<String, DeviceConfig>>;

/// Everything one query printed (one device with `-d`, every device without).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareQuery {
    pub devices: Vec<DeviceConfig>,
}

/// One device's header and configuration parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Normalized PCI address (`0000:17:00.0`) from the `Device:` line, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pci: Option<String>,
    /// The `Device:` line as printed (a PCI address or an mst device path).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Parameter name (upper case, as printed) → values.
    pub params: BTreeMap<String, Param>,
}

/// The values of one parameter. The plain form prints only the Next Boot value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_boot: Option<String>,
    /// The `*` marker: a value differs from the default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub modified: bool,
}

/// A problem in query output, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// Which value each column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Default,
    Current,
    NextBoot,
    /// A column a newer tool may add; its values are read past, not kept.
    Other,
}

/// Columns of a `Configurations:` header (or of the `#  Default  Current  Next Boot` line some
/// versions print): names separated by two or more spaces.
fn columns_of(rest: &str) -> Result<Vec<Column>, String> {
    let cols: Vec<Column> = rest
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| match name.to_ascii_lowercase().as_str() {
            "default" => Column::Default,
            "current" => Column::Current,
            "next boot" => Column::NextBoot,
            _ => Column::Other,
        })
        .collect();
    if cols.is_empty() {
        // Older tools print no header; the plain query shows the Next Boot value.
        return Ok(vec![Column::NextBoot]);
    }
    if cols.iter().all(|c| *c == Column::Other) {
        return Err(format!(
            "column header `{}` names none of Default, Current, Next Boot",
            rest.trim()
        ));
    }
    Ok(cols)
}

impl DeviceConfig {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.get(&name.to_ascii_uppercase())
    }
}

/// The number a value carries: `8`, `IB(1)` → 1, `0x10` → 16.
pub fn value_number(v: &str) -> Option<i64> {
    let v = v.trim();
    if let (Some(open), true) = (v.rfind('('), v.ends_with(')')) {
        return value_number(&v[open + 1..v.len() - 1]);
    }
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    v.parse().ok()
}

/// A boolean value: `True(1)`, `False(0)`, `1`, `0`, `true`.
pub fn value_bool(v: &str) -> Option<bool> {
    let word = v
        .trim()
        .split('(')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match word.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => value_number(v).map(|n| n != 0),
    }
}

/// Normalizes a PCI address: lower case, with the `0000:` domain. `None` if it is not one.
pub fn normalize_pci(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let parts: Vec<&str> = s.split(':').collect();
    let (domain, bus, devfn) = match parts.as_slice() {
        [d, b, df] => (*d, *b, *df),
        [b, df] => ("0000", *b, *df),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let hex = |x: &str, n: usize| x.len() == n && x.chars().all(|c| c.is_ascii_hexdigit());
    if hex(domain, 4) && hex(bus, 2) && hex(dev, 2) && func.len() == 1 && hex(func, 1) {
        Some(format!("{domain}:{bus}:{dev}.{func}"))
    } else {
        None
    }
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

fn is_param_name(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '[' | ']' | '.'))
}

/// Parses the output of `mstconfig [-e] [-d DEV] q` (or `mlxconfig`).
pub fn parse(text: &str) -> Result<FirmwareQuery, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut q = FirmwareQuery::default();
    let mut dev: Option<DeviceConfig> = None;
    // Columns of the current `Configurations:` section; `None` outside one.
    let mut columns: Option<Vec<Column>> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        let t = line.trim();
        if t.is_empty() || t.chars().all(|c| c == '-') {
            continue;
        }
        if let Some(msg) = t.strip_prefix("-E-") {
            return Err(err(
                n,
                format!("the tool reported an error: {}", msg.trim()),
            ));
        }
        if t.starts_with("-W-") || t.starts_with("-I-") || t.starts_with("The '*' shows") {
            continue;
        }
        if t.starts_with("Device #") && t.ends_with(':') {
            if let Some(d) = dev.take() {
                q.devices.push(d);
            }
            dev = Some(DeviceConfig::default());
            columns = None;
            continue;
        }
        if let Some(rest) = t.strip_prefix("Configurations:") {
            dev.get_or_insert_with(DeviceConfig::default);
            columns = Some(columns_of(rest).map_err(|m| err(n, m))?);
            continue;
        }
        if let (Some(rest), Some(_)) = (t.strip_prefix('#'), &columns) {
            // `#   Default   Current   Next Boot` repeats (or, after grep, replaces) the header.
            columns = Some(columns_of(rest).map_err(|m| err(n, m))?);
            continue;
        }
        match &columns {
            Some(cols) => {
                let d = dev.get_or_insert_with(DeviceConfig::default);
                let (modified, body) = match t.strip_prefix('*') {
                    Some(b) => (true, b.trim_start()),
                    None => (false, t),
                };
                let mut tokens = body.split_whitespace();
                let name = tokens.next().unwrap_or("");
                if !is_param_name(name) {
                    return Err(err(
                        n,
                        format!(
                            "expected a parameter line `NAME  VALUE…` under Configurations:, found `{t}`"
                        ),
                    ));
                }
                let values: Vec<&str> = tokens.collect();
                if values.len() != cols.len() {
                    return Err(err(
                        n,
                        format!(
                            "parameter {name} has {} value(s), the Configurations: header announces {}",
                            values.len(),
                            cols.len()
                        ),
                    ));
                }
                let mut p = Param {
                    modified,
                    ..Param::default()
                };
                for (c, v) in cols.iter().zip(values) {
                    let v = Some(v.to_string());
                    match c {
                        Column::Default => p.default = v,
                        Column::Current => p.current = v,
                        Column::NextBoot => p.next_boot = v,
                        Column::Other => {}
                    }
                }
                d.params.insert(name.to_ascii_uppercase(), p);
            }
            None => {
                let Some((key, value)) = t.split_once(':') else {
                    return Err(err(
                        n,
                        format!(
                            "expected `Device #N:`, a `Key: value` header line or `Configurations:`, found `{t}`"
                        ),
                    ));
                };
                let key = key.trim().to_ascii_lowercase();
                let known = matches!(
                    key.as_str(),
                    "device" | "device type" | "name" | "description" | "pci device"
                );
                // Unknown header keys are tolerated inside a device block only, so that the
                // shell's "mstconfig: command not found" is not mistaken for a header.
                if !known && dev.is_none() {
                    return Err(err(
                        n,
                        format!(
                            "expected `Device #N:` or a device header line (Device type:, Name:, Device:), found `{t}`"
                        ),
                    ));
                }
                let d = dev.get_or_insert_with(DeviceConfig::default);
                let value = value.trim();
                match key.as_str() {
                    "device" => {
                        d.device = value.to_string();
                        d.pci = normalize_pci(value);
                    }
                    "device type" => d.device_type = value.to_string(),
                    "name" => d.name = value.to_string(),
                    // Description, PCI device and future header keys carry nothing we decide on.
                    _ => {}
                }
            }
        }
    }
    if let Some(d) = dev.take() {
        q.devices.push(d);
    }
    q.devices
        .retain(|d| !d.params.is_empty() || !d.device.is_empty());
    if q.devices.iter().all(|d| d.params.is_empty()) {
        return Err(err(
            0,
            "no `Configurations:` section with parameters: not mstconfig/mlxconfig query output",
        ));
    }
    if let Some(d) = q.devices.iter().find(|d| d.params.is_empty()) {
        return Err(err(
            0,
            format!("device {} has no configuration parameters", d.device),
        ));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXTENDED: &str = "\r\nDevice #1:\r\n----------\r\n\r\nDevice type:    ConnectX7       \r\nName:           MCX75310AAS-NEA_Ax\r\nDescription:    NVIDIA ConnectX-7 HHHL Adapter Card; 400GbE / NDR IB (default mode); Single-port OSFP; PCIe 5.0 x16; Crypto Disabled; Secure Boot Enabled\r\nDevice:         0000:1A:00.0    \r\n\r\nConfigurations:                                      Default             Current             Next Boot\r\n         MEMIC_BAR_SIZE                              0                   0                   0\r\n*        NUM_OF_VFS                                  0                   8                   16\r\n*\tSRIOV_EN                                    False(0)            True(1)             True(1)\r\n         LINK_TYPE_P1                                IB(1)               IB(1)               IB(1)\r\n         FUTURE_KNOB_X                               _256KB(1)           _256KB(1)           _256KB(1)\r\nThe '*' shows parameters with next value different from default/current value.\r\n";

    #[test]
    fn extended_form_with_crlf_tabs_and_unknown_keys() {
        let q = parse(EXTENDED).unwrap();
        assert_eq!(q.devices.len(), 1);
        let d = &q.devices[0];
        assert_eq!(d.pci.as_deref(), Some("0000:1a:00.0"));
        assert_eq!(d.device_type, "ConnectX7");
        let vfs = d.param("num_of_vfs").unwrap();
        assert_eq!(vfs.default.as_deref(), Some("0"));
        assert_eq!(vfs.current.as_deref(), Some("8"));
        assert_eq!(vfs.next_boot.as_deref(), Some("16"));
        assert!(vfs.modified);
        let en = d.param("SRIOV_EN").unwrap();
        assert_eq!(en.current.as_deref().and_then(value_bool), Some(true));
        assert!(en.modified);
        assert_eq!(
            d.param("LINK_TYPE_P1")
                .unwrap()
                .current
                .as_deref()
                .and_then(value_number),
            Some(1)
        );
        assert!(d.param("FUTURE_KNOB_X").is_some());
    }

    #[test]
    fn hash_header_lines_and_unknown_columns() {
        // As captured on a DGX by `mstconfig -d 0000:18:00.0 q`: the operator staged 8 VFs.
        let text = "Device:  0000:18:00.0\nConfigurations:\n*        NUM_OF_VFS                          16              16              8\n         #                                   Default         Current         Next Boot\n*        NUM_OF_VFS                          16              16              8\n";
        // The first row comes before the `#` header, under the one-column plain header.
        assert!(parse(text).is_err());
        let text = "Device:  0000:18:00.0\nConfigurations:   Default   Current   Next Boot   RW\n*  NUM_OF_VFS   0   16   8   RW\n         #       Default         Current         Next Boot\n*  SRIOV_EN   False(0)   True(1)   True(1)\n";
        let q = parse(text).unwrap();
        let p = q.devices[0].param("NUM_OF_VFS").unwrap();
        assert_eq!(
            (p.current.as_deref(), p.next_boot.as_deref()),
            (Some("16"), Some("8"))
        );
        assert_eq!(
            q.devices[0].param("SRIOV_EN").unwrap().current.as_deref(),
            Some("True(1)")
        );
    }

    #[test]
    fn plain_form_and_several_devices() {
        let text = "Device #1:\n----------\nDevice type:    ConnectX6\nPCI device:     /dev/mst/mt4123_pciconf0\nDevice:         17:00.0\n\nConfigurations:                              Next Boot\n         NUM_OF_VFS                          8\n         SRIOV_EN                            True(1)\n         LINK_TYPE_P1                        IB(1)\n\nDevice #2:\n----------\nDevice:         /dev/mst/mt4123_pciconf1\nConfigurations:\n         NUM_OF_VFS                          0\n";
        let q = parse(text).unwrap();
        assert_eq!(q.devices.len(), 2);
        assert_eq!(q.devices[0].pci.as_deref(), Some("0000:17:00.0"));
        let p = q.devices[0].param("NUM_OF_VFS").unwrap();
        assert_eq!(
            (p.current.as_deref(), p.next_boot.as_deref()),
            (None, Some("8"))
        );
        assert_eq!(q.devices[1].pci, None);
        assert_eq!(q.devices[1].device, "/dev/mst/mt4123_pciconf1");
        assert_eq!(
            q.devices[1]
                .param("NUM_OF_VFS")
                .unwrap()
                .next_boot
                .as_deref(),
            Some("0")
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_line_number() {
        let e = parse("total 0\ndrwxr-xr-x 2 root root 40 .\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse("Device:  0000:17:00.0\nConfigurations:   Default  Current  Next Boot\n  NUM_OF_VFS  0  8\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("NUM_OF_VFS has 2 value(s)"), "{e}");
        let e = parse("-E- Failed to open the device\n").unwrap_err();
        assert!(e.to_string().contains("line 1") && e.to_string().contains("Failed to open"));
        let e = parse("mstconfig: command not found\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse("Device type: ConnectX7\n").unwrap_err();
        assert!(e.to_string().contains("no `Configurations:`"), "{e}");
        assert!(parse("").is_err());
        let e = parse("Configurations:  Factory  Vendor\n").unwrap_err();
        assert!(e.to_string().contains("Factory"), "{e}");
        assert_eq!(e.line, 1);
    }

    #[test]
    fn truncated_or_mangled_output_never_panics() {
        // Every prefix (a capture cut short) and every single-byte corruption either parses or
        // gives a located error.
        for cut in 0..EXTENDED.len() {
            if EXTENDED.is_char_boundary(cut) {
                let _ = parse(&EXTENDED[..cut]);
            }
        }
        let bytes = EXTENDED.as_bytes();
        for (i, b) in [b'*', b':', b'(', b'\t', b'#', 0xff]
            .iter()
            .cycle()
            .take(400)
            .enumerate()
        {
            let mut v = bytes.to_vec();
            let at = (i * 7919) % v.len();
            v[at] = *b;
            if let Err(e) = parse(&String::from_utf8_lossy(&v)) {
                assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn values_and_pci_addresses() {
        assert_eq!(value_number("IB(1)"), Some(1));
        assert_eq!(value_number("16"), Some(16));
        assert_eq!(value_number("0x10"), Some(16));
        assert_eq!(value_number("ETH"), None);
        assert_eq!(value_bool("False(0)"), Some(false));
        assert_eq!(value_bool("1"), Some(true));
        assert_eq!(
            normalize_pci("0000:AF:00.1").as_deref(),
            Some("0000:af:00.1")
        );
        assert_eq!(normalize_pci("/dev/mst/mt4129_pciconf0"), None);
        assert_eq!(normalize_pci("17:0.0"), None);
    }
}
