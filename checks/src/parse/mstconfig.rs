//! `mstconfig`/`mlxconfig` query output: `mstconfig -e -d <pci> q` (extended: Default / Current /
//! Next Boot columns, `*` marking non-default values) and plain `q` (one column, values like
//! `True(1)`, `IB(1)`, `8`).
//!
//! The table layout changed across mstflint releases: parameter lines indented 9 (`*` + 8
//! spaces, up to 4.24) or 8 (`*`, a 2-character `RO` read-only marker, 5 spaces, from 4.25)
//! characters; names padded to 36, 44 or 48 columns; values padded to 16, 20 (+1 separator) or
//! 33 columns, a value longer than its column followed by one space — and, up to 4.25, a value of
//! exactly 16 characters by none (`PRINT_SPACE_IF_NEEDED` tested `width > 16`). The header's
//! `Default  Current  Next Boot` words are right-aligned in other widths than the data (4.6–4.35).
//! So lines are split on runs of whitespace (and after a `)` closing a `NAME(n)` value), and the
//! header only says which columns exist, in order — never where. The device is named by
//! `Device:` (4.9 on) or `PCI device:` (up to 4.6: the `-d` argument or, without `-d`, the sysfs
//! path `/sys/bus/pci/devices/0000:05:00.0/config`); both may be an address in short form
//! (`05:00.0`), with a non-zero domain (`0108:00:00.0`) or an mst device path.
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
    /// The `PCI device:` line old mstflint prints instead (`/sys/bus/pci/devices/<pci>/config`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pci_device: String,
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

impl Param {
    /// A change is staged: Next Boot differs from Current (extended form only).
    pub fn staged(&self) -> bool {
        matches!((&self.current, &self.next_boot), (Some(c), Some(n)) if c != n)
    }
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
/// versions print), in order. Only the words count, not where they stand: from mstflint 4.6 to
/// 4.35 the header is right-aligned in other widths than the values below it.
fn columns_of(rest: &str) -> Result<Vec<Column>, String> {
    let mut cols = Vec::new();
    let mut words = rest.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let c = match w.to_ascii_lowercase().as_str() {
            "default" => Column::Default,
            "current" => Column::Current,
            "next" if words.peek().is_some_and(|b| b.eq_ignore_ascii_case("boot")) => {
                words.next();
                Column::NextBoot
            }
            _ => Column::Other,
        };
        cols.push(c);
    }
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

/// The values of a parameter line. A `NAME(n)` value of exactly the column width is printed by
/// older mstflint with no separator before the next one (`ETH(2)IB(1)` is never one value).
fn split_values(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for token in body.split_whitespace() {
        let mut rest = token;
        while let Some(i) = rest.find(')').filter(|i| i + 1 < rest.len()) {
            out.push(&rest[..=i]);
            rest = &rest[i + 1..];
        }
        out.push(rest);
    }
    out
}

/// The PCI address a device header names: an address (`0000:05:00.0`, `05:00.0`) or a sysfs
/// path holding one (`/sys/bus/pci/devices/0000:05:00.0/config`). `None` for mst device paths.
pub fn pci_in(s: &str) -> Option<String> {
    normalize_pci(s).or_else(|| s.trim().split('/').find_map(normalize_pci))
}

impl DeviceConfig {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.get(&name.to_ascii_uppercase())
    }

    /// The device as its header names it: the `Device:` line, else the `PCI device:` line.
    pub fn shown(&self) -> &str {
        if self.device.is_empty() {
            &self.pci_device
        } else {
            &self.device
        }
    }

    /// Which header line the PCI address was read from, for messages.
    pub fn pci_source(&self) -> &'static str {
        if self.device.is_empty() || pci_in(&self.device).is_none() {
            "PCI device:"
        } else {
            "Device:"
        }
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

/// Normalizes a PCI address: lower case, with the `0000:` domain added to the short form. The
/// domain is 4 hex digits, or more (VMD domains such as `10000`). `None` if it is not one.
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
    let domain_ok =
        (4..=8).contains(&domain.len()) && domain.chars().all(|c| c.is_ascii_hexdigit());
    if domain_ok && hex(bus, 2) && hex(dev, 2) && func.len() == 1 && hex(func, 1) {
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
        // Notices around the table: warnings, the `*` and `RO` legends, and what the firmware
        // cannot report (`Device Firmware does not support reading default configurations`).
        if t.starts_with("-W-")
            || t.starts_with("-I-")
            || t.starts_with("The '")
            || t.starts_with("Device Firmware does not support")
        {
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
                // mstflint 4.25+ marks read-only parameters with `RO` before the name.
                let body = match body.strip_prefix("RO") {
                    Some(b) if b.starts_with([' ', '\t']) => b.trim_start(),
                    _ => body,
                };
                let name = body.split_whitespace().next().unwrap_or("");
                if !is_param_name(name) {
                    return Err(err(
                        n,
                        format!(
                            "expected a parameter line `NAME  VALUE…` under Configurations:, found `{t}`"
                        ),
                    ));
                }
                let values = split_values(body.get(name.len()..).unwrap_or(""));
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
                        if let Some(p) = pci_in(value) {
                            d.pci = Some(p);
                        }
                    }
                    // Old mstflint's only device line; newer ones print `Device:` instead.
                    "pci device" => {
                        d.pci_device = value.to_string();
                        if d.pci.is_none() {
                            d.pci = pci_in(value);
                        }
                    }
                    "device type" => d.device_type = value.to_string(),
                    "name" => d.name = value.to_string(),
                    // Description and future header keys carry nothing we decide on.
                    _ => {}
                }
            }
        }
    }
    if let Some(d) = dev.take() {
        q.devices.push(d);
    }
    q.devices
        .retain(|d| !d.params.is_empty() || !d.device.is_empty() || !d.pci_device.is_empty());
    if q.devices.iter().all(|d| d.params.is_empty()) {
        return Err(err(
            0,
            "no `Configurations:` section with parameters: not mstconfig/mlxconfig query output",
        ));
    }
    if let Some(d) = q.devices.iter().find(|d| d.params.is_empty()) {
        return Err(err(
            0,
            format!("device {} has no configuration parameters", d.shown()),
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
    fn layouts_of_every_mstflint_release_read_alike() {
        // 4.25+: `RO` marker; 4.9-4.25: a 16-character value glued to the next; a 17-character
        // one followed by one space; the header words anywhere.
        let text = "Device type:    ConnectX7\nDevice:         0000:18:00.0\nConfigurations:                                      Default         Current         Next Boot\n RO     NUM_OF_PF                                   1               1               1\n*RO     NUM_OF_VFS                                  0               8               8\n        SOME_MODE_P1                                AB_SIXTEEN_CH(1)AB_SIXTEEN_CH(2)AB_SIXTEEN_CH(1)\n        P2P_ORDERING_MODE                           DEVICE_DEFAULT(0) DEVICE_DEFAULT(0) DEVICE_DEFAULT(0)\n        ESWITCH_HAIRPIN_DESCRIPTORS                 Array[0..7]     Array[0..7]     Array[0..7]\nThe '*' shows parameters with next value different from default/current value.\n\nThe 'RO' shows parameters which are for read only and cannot be changed\nDevice Firmware does not support reading default configurations\n";
        let q = parse(text).unwrap();
        let d = &q.devices[0];
        let p = d.param("NUM_OF_VFS").unwrap();
        assert!(p.modified);
        assert_eq!(
            (p.default.as_deref(), p.current.as_deref()),
            (Some("0"), Some("8"))
        );
        assert_eq!(d.param("NUM_OF_PF").unwrap().current.as_deref(), Some("1"));
        let m = d.param("SOME_MODE_P1").unwrap();
        assert_eq!(
            (
                m.default.as_deref(),
                m.current.as_deref(),
                m.next_boot.as_deref()
            ),
            (
                Some("AB_SIXTEEN_CH(1)"),
                Some("AB_SIXTEEN_CH(2)"),
                Some("AB_SIXTEEN_CH(1)")
            )
        );
        assert!(m.staged());
        assert_eq!(
            d.param("P2P_ORDERING_MODE").unwrap().next_boot.as_deref(),
            Some("DEVICE_DEFAULT(0)")
        );
        // Header words separated by single spaces still name three columns.
        let q = parse(
            "Device: 18:00.0\nConfigurations: Default Current Next Boot\n NUM_OF_VFS 0 8 8\n",
        )
        .unwrap();
        assert_eq!(q.devices[0].pci.as_deref(), Some("0000:18:00.0"));
        assert_eq!(
            q.devices[0]
                .param("NUM_OF_VFS")
                .unwrap()
                .next_boot
                .as_deref(),
            Some("8")
        );
    }

    #[test]
    fn old_pci_device_line_gives_the_address() {
        let text = "\nDevice #1:\n----------\n\nDevice type:    ConnectX5\nPCI device:     /sys/bus/pci/devices/0000:05:00.0/config\n\nConfigurations:                              Default         Current         Next Boot\n         NUM_OF_VFS                          0               8               8\n\nDevice #2:\n----------\n\nDevice type:    ConnectX5\nPCI device:     /dev/mst/mt4119_pciconf0\n\nConfigurations:                              Default         Current         Next Boot\n         NUM_OF_VFS                          0               8               8\n";
        let q = parse(text).unwrap();
        assert_eq!(q.devices[0].pci.as_deref(), Some("0000:05:00.0"));
        assert_eq!(q.devices[0].pci_source(), "PCI device:");
        assert_eq!(
            q.devices[0].shown(),
            "/sys/bus/pci/devices/0000:05:00.0/config"
        );
        assert_eq!(q.devices[1].pci, None);
        assert_eq!(q.devices[1].shown(), "/dev/mst/mt4119_pciconf0");
        // `Device:` wins over `PCI device:` when both carry an address.
        let q = parse("PCI device: /sys/bus/pci/devices/0000:05:00.0/config\nDevice: 0000:06:00.0\nConfigurations: Next Boot\n NUM_OF_VFS 8\n").unwrap();
        assert_eq!(q.devices[0].pci.as_deref(), Some("0000:06:00.0"));
        assert_eq!(q.devices[0].pci_source(), "Device:");
    }

    /// fixtures/real-formats/mstconfig/: every release's layout gives the same values, and no
    /// prefix of any of them panics.
    #[test]
    fn real_format_files() {
        macro_rules! real {
            ($f:literal) => {
                (
                    $f,
                    include_str!(concat!("../../../fixtures/real-formats/mstconfig/", $f)),
                )
            };
        }
        for (name, text) in [
            real!("v4.6-pci-device-sysfs.txt"),
            real!("v4.14-indent9-name36-val16.txt"),
            real!("v4.25-indent8-name44-val16-ro.txt"),
            real!("v4.26-domain0108-val21.txt"),
            real!("v4.36-name48-val33.txt"),
            real!("staged-memic-numvfs-ok.txt"),
        ] {
            let q = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let d = &q.devices[0];
            assert!(d.pci.is_some(), "{name}");
            let p = d.param("NUM_OF_VFS").unwrap();
            assert_eq!(
                (
                    p.default.as_deref(),
                    p.current.as_deref(),
                    p.next_boot.as_deref()
                ),
                (Some("0"), Some("8"), Some("8")),
                "{name}"
            );
            assert_eq!(
                d.param("HOST_CHAINING_DESCRIPTORS")
                    .unwrap()
                    .current
                    .as_deref(),
                Some("Array[0..7]"),
                "{name}"
            );
            for cut in (0..text.len()).filter(|c| text.is_char_boundary(*c)) {
                let _ = parse(&text[..cut]);
            }
        }
        let (_, all) = real!("v4.6-pci-device-sysfs-all.txt");
        let pcis: Vec<_> = parse(all)
            .unwrap()
            .devices
            .into_iter()
            .map(|d| d.pci.unwrap_or_default())
            .collect();
        assert_eq!(pcis, ["0000:18:00.0", "0000:40:00.0"]);
        let (_, plain) = real!("plain-short-pci.txt");
        let d = parse(plain).unwrap().devices.remove(0);
        assert_eq!(d.pci.as_deref(), Some("0000:18:00.0"));
        assert_eq!(d.name, "N/A");
        let p = d.param("NUM_OF_VFS").unwrap();
        assert_eq!(
            (p.current.as_deref(), p.next_boot.as_deref()),
            (None, Some("8"))
        );
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
        assert_eq!(
            normalize_pci("0108:00:00.0").as_deref(),
            Some("0108:00:00.0")
        );
        assert_eq!(
            normalize_pci("10000:e1:00.1").as_deref(),
            Some("10000:e1:00.1")
        );
        assert_eq!(normalize_pci("01:00.1").as_deref(), Some("0000:01:00.1"));
        assert_eq!(
            pci_in("/sys/bus/pci/devices/0000:05:00.0/config").as_deref(),
            Some("0000:05:00.0")
        );
        assert_eq!(split_values("ETH(2)IB(1)  8"), ["ETH(2)", "IB(1)", "8"]);
        assert_eq!(split_values("Array[0..7]"), ["Array[0..7]"]);
    }
}
