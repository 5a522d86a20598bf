//! perftest (`ib_write_bw`, `ib_read_bw`, `ib_send_bw`) output → bandwidth in Gb/s.
//!
//! Reads the text report (banner, result table with `BW peak[...]`/`BW average[...]` in MB/sec,
//! MiB/sec or Gb/sec with `--report_gbits`, `-a` multi-size tables, CPU-frequency warnings
//! interleaved when `-F` is absent) and `--out_json` files.
//!
//! The banner's `Key : value` pairs are separated by tabs as perftest prints them, or by runs of
//! spaces once a terminal or a web page has expanded the tabs; values never contain spaces, keys
//! do (`Number of qps`, `PCIe relax order:`), so pairs are read token by token. The title line
//! (`RDMA_Write Bidirectional BW Test`) gives the verb and whether both directions were measured
//! (`-b`): perftest then reports the sum of both directions. Anything else perftest prints around
//! the banner and the table (`Using sampled CPU speed …`, the `Waiting for client` box,
//! `Connected:`/`Completed:` timestamps, `Total run time`, UD MTU notices) is read past;
//! `WARNING` lines are kept as notes.
//!
//! Units: perftest's `MB/sec` is 10^6 bytes/s, `MiB/sec` 2^20 bytes/s, `Gb/sec` 10^9 bits/s. The
//! message rate column is `BW / size`, so when a row's BW disagrees with its MsgRate × size under
//! the header's unit but agrees under another, the other unit is used and a note says so (some
//! perftest builds print `[MB/sec]` headers over `--report_gbits` values — runbook 002's sample is
//! one). JSON output carries no unit; it is inferred the same way.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One parsed perftest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfResult {
    /// `text` or `json`.
    pub format: String,
    /// The banner's title: `RDMA_Write BW Test`, `RDMA_Read Bidirectional BW Test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// The title's first word: `RDMA_Write`, `RDMA_Write_imm`, `RDMA_Read`, `Send`, `Send_imm`,
    /// `Atomic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    /// `-b`: the bandwidth is the sum of both directions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bidirectional: bool,
    /// `Number of qps` (`-q N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qps: Option<u32>,
    /// `mlx5_3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// `IB` or `Ethernet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The unit the bandwidth columns were read in: `MB/sec`, `MiB/sec` or `Gb/sec`.
    pub unit: String,
    /// Message size of the row taken (the one with the highest average).
    pub msg_size: u64,
    pub bw_peak_gbps: f64,
    pub bw_average_gbps: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_rate_mpps: Option<f64>,
    /// Result rows in the table (more than one with `-a`).
    pub rows: usize,
    /// Warnings printed by perftest and unit corrections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The address the client connected to, when the run that measured it knows it
    /// (`rdma-test`); perftest's output does not say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

impl PerfResult {
    /// The perftest program that runs this verb.
    pub fn program(&self) -> Option<&'static str> {
        match self.verb.as_deref()? {
            "RDMA_Write" | "RDMA_Write_imm" => Some("ib_write_bw"),
            "RDMA_Read" => Some("ib_read_bw"),
            "Send" | "Send_imm" => Some("ib_send_bw"),
            "Atomic" => Some("ib_atomic_bw"),
            _ => None,
        }
    }

    /// The run as messages name it: `ib_write_bw -b (RDMA_Write Bidirectional BW Test, 4 QPs)`.
    pub fn describe(&self) -> String {
        let qps = self
            .qps
            .filter(|q| *q > 1)
            .map(|q| format!(", {q} QPs"))
            .unwrap_or_default();
        match (&self.test, self.program()) {
            (Some(t), Some(p)) => format!(
                "{p}{} ({t}{qps})",
                if self.bidirectional { " -b" } else { "" }
            ),
            (Some(t), None) => format!("perftest ({t}{qps})"),
            (None, _) => format!("perftest (no banner: test kind unknown{qps})"),
        }
    }
}

/// Why a file is not perftest output; `line` is 1-based when known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct PerfError {
    pub line: Option<usize>,
    pub message: String,
}

fn err(line: Option<usize>, message: impl Into<String>) -> PerfError {
    PerfError {
        line,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    MBps,
    MiBps,
    Gbps,
}

impl Unit {
    fn parse(s: &str) -> Option<Unit> {
        match s {
            "MB/sec" => Some(Unit::MBps),
            "MiB/sec" => Some(Unit::MiBps),
            "Gb/sec" => Some(Unit::Gbps),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Unit::MBps => "MB/sec",
            Unit::MiBps => "MiB/sec",
            Unit::Gbps => "Gb/sec",
        }
    }
    fn to_gbps(self, v: f64) -> f64 {
        match self {
            Unit::MBps => v * 8.0e6 / 1e9,
            Unit::MiBps => v * 8.0 * 1_048_576.0 / 1e9,
            Unit::Gbps => v,
        }
    }
}

struct Row {
    size: u64,
    peak: f64,
    avg: f64,
    rate: Option<f64>,
}

/// Parses perftest output: `--out_json` JSON when the text starts with `{`, else the text report.
pub fn parse(text: &str) -> Result<PerfResult, PerfError> {
    let t = text.trim_start_matches('\u{feff}');
    if t.trim_start().starts_with('{') {
        parse_json(t)
    } else {
        parse_text(t)
    }
}

/// What the banner says about the run.
#[derive(Default)]
struct Banner {
    test: Option<String>,
    device: Option<String>,
    link_type: Option<String>,
    mtu: Option<u32>,
    qps: Option<u32>,
}

fn parse_text(text: &str) -> Result<PerfResult, PerfError> {
    let mut b = Banner::default();
    let mut header: Option<(usize, Unit, Cols)> = None;
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.chars().all(|c| c == '-' || c == '*') {
            continue;
        }
        if line.contains("BW average[") {
            let (unit, cols) = parse_header(line, n)?;
            if let Some((_, u, _)) = &header
                && *u != unit
            {
                return Err(err(
                    Some(n),
                    format!(
                        "a second result table in {} after one in {}",
                        unit.name(),
                        u.name()
                    ),
                ));
            }
            header = Some((n, unit, cols));
            continue;
        }
        if let Some((_, _, cols)) = &header {
            let first = line.split_whitespace().next().unwrap_or("");
            if first.chars().all(|c| c.is_ascii_digit()) {
                rows.push(parse_row(line, cols, n)?);
                continue;
            }
            if line.contains("CPU") || line.to_ascii_lowercase().contains("warning") {
                notes.push(line.to_string());
            }
            continue;
        }
        // Before the table: the banner, and whatever perftest prints around it.
        if is_title(line) {
            b.test = Some(line.split_whitespace().collect::<Vec<_>>().join(" "));
            continue;
        }
        if line.contains("WARNING") || line.starts_with("Conflicting CPU frequency") {
            notes.push(line.to_string());
            continue;
        }
        for (k, v) in banner_pairs(line) {
            match k.as_str() {
                "Device" => b.device = Some(v.to_string()),
                "Link type" => b.link_type = Some(v.to_string()),
                // `4096[B]`; perftest before 2014 printed `2048B`.
                "Mtu" => {
                    let digits = v.trim_end_matches("[B]").trim_end_matches('B');
                    b.mtu =
                        Some(digits.parse().map_err(|_| {
                            err(Some(n), format!("Mtu `{v}` is not a number of bytes"))
                        })?)
                }
                "Number of qps" => {
                    b.qps = Some(v.parse().map_err(|_| {
                        err(Some(n), format!("Number of qps `{v}` is not a number"))
                    })?)
                }
                _ => {}
            }
        }
    }
    let Some((hline, unit, _)) = header else {
        if let Some(t) = b.test.as_deref().filter(|t| t.contains("Latency")) {
            return Err(err(
                None,
                format!(
                    "`{t}` output has no bandwidth table: RDMA007 needs a bandwidth test (ib_write_bw, ib_read_bw or ib_send_bw)"
                ),
            ));
        }
        return Err(err(
            None,
            "no perftest result table: expected a header with `BW average[MB/sec]`, `[MiB/sec]` or `[Gb/sec]`, or --out_json output",
        ));
    };
    if rows.is_empty() {
        return Err(err(
            Some(hline),
            "the result table has no rows (did the test finish?)",
        ));
    }
    finish("text", b, unit, rows, notes, true)
}

/// The banner's title line: `RDMA_Write BW Test`, `Send Bidirectional BW Test`,
/// `Atomic FETCH_AND_ADD BW Test`.
fn is_title(line: &str) -> bool {
    line.ends_with(" Test") && !line.contains(':') && !line.starts_with('*')
}

/// `Key : value` pairs of one line, whether tabs or runs of spaces separate them
/// (` Dual-port       : OFF          Device         : mlx5_0`, ` PCIe relax order: ON`). A key is
/// the words before a colon, its value the one token after it.
fn banner_pairs(line: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let mut key: Vec<&str> = Vec::new();
    let mut tokens = line.split_whitespace();
    while let Some(t) = tokens.next() {
        match t.strip_suffix(':') {
            Some(last) => {
                if !last.is_empty() {
                    key.push(last);
                }
                if let Some(v) = tokens.next() {
                    out.push((key.join(" "), v));
                }
                key.clear();
            }
            None => key.push(t),
        }
    }
    out
}

/// The verb and direction a title names: `RDMA_Write Bidirectional BW Test` → (`RDMA_Write`, true).
fn verb_of(test: &str) -> (Option<String>, bool) {
    let mut words = test.split_whitespace();
    let verb = words.next().map(str::to_string);
    let bidirectional = test.split_whitespace().any(|w| w == "Bidirectional");
    (verb, bidirectional)
}

#[derive(Debug)]
struct Cols {
    bytes: usize,
    peak: usize,
    avg: usize,
    rate: Option<usize>,
    count: usize,
}

fn parse_header(line: &str, n: usize) -> Result<(Unit, Cols), PerfError> {
    // Column names contain spaces (`BW average[MB/sec]`, `MsgRate Port1[Mpps]`); join them first.
    let joined = line
        .replace("BW peak", "BW_peak")
        .replace("BW average", "BW_average")
        .replace("BW Port", "BW_Port")
        .replace("MsgRate Port", "MsgRate_Port");
    let names: Vec<&str> = joined.split_whitespace().collect();
    let find = |p: &str| names.iter().position(|c| c.starts_with(p));
    let avg = find("BW_average[").ok_or_else(|| err(Some(n), "header without BW average"))?;
    let unit_str = names[avg]
        .trim_start_matches("BW_average[")
        .trim_end_matches(']');
    let unit = Unit::parse(unit_str).ok_or_else(|| {
        err(
            Some(n),
            format!("unknown bandwidth unit `{unit_str}` (expected MB/sec, MiB/sec or Gb/sec)"),
        )
    })?;
    let cols = Cols {
        bytes: find("#bytes").ok_or_else(|| err(Some(n), "header without #bytes"))?,
        peak: find("BW_peak[").ok_or_else(|| err(Some(n), "header without BW peak"))?,
        avg,
        rate: find("MsgRate["),
        count: names.len(),
    };
    Ok((unit, cols))
}

fn parse_row(line: &str, cols: &Cols, n: usize) -> Result<Row, PerfError> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let need = cols
        .peak
        .max(cols.avg)
        .max(cols.bytes)
        .max(cols.rate.unwrap_or(0))
        + 1;
    if f.len() < need {
        return Err(err(
            Some(n),
            format!(
                "result row has {} columns, the header has {}: `{line}`",
                f.len(),
                cols.count
            ),
        ));
    }
    let num = |i: usize, what: &str| -> Result<f64, PerfError> {
        f[i].parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| err(Some(n), format!("{what} `{}` is not a number", f[i])))
    };
    Ok(Row {
        size: f[cols.bytes]
            .parse()
            .map_err(|_| err(Some(n), format!("#bytes `{}` is not a size", f[cols.bytes])))?,
        peak: num(cols.peak, "BW peak")?,
        avg: num(cols.avg, "BW average")?,
        rate: cols.rate.map(|i| num(i, "MsgRate")).transpose()?,
    })
}

/// The unit in which `avg` agrees with `rate × size`, if the row allows telling.
fn implied_unit(row: &Row, stated: Option<Unit>) -> Option<Unit> {
    let rate = row.rate?;
    if rate < 0.001 || row.size == 0 {
        return None;
    }
    let implied = rate * 1e6 * row.size as f64 * 8.0 / 1e9;
    let agrees = |u: Unit| {
        let g = u.to_gbps(row.avg);
        (g - implied).abs() <= 0.05 * implied.max(1e-9)
    };
    if let Some(u) = stated.filter(|u| agrees(*u)) {
        return Some(u);
    }
    [Unit::Gbps, Unit::MiBps, Unit::MBps]
        .into_iter()
        .find(|u| agrees(*u))
}

fn finish(
    format: &str,
    b: Banner,
    stated: Unit,
    rows: Vec<Row>,
    mut notes: Vec<String>,
    unit_printed: bool,
) -> Result<PerfResult, PerfError> {
    let n = rows.len();
    let best = rows
        .into_iter()
        .max_by(|a, b| a.avg.total_cmp(&b.avg).then(a.size.cmp(&b.size)))
        .ok_or_else(|| err(None, "no result rows"))?;
    let mut unit = stated;
    match implied_unit(&best, unit_printed.then_some(stated)) {
        Some(u) if u != stated => {
            if unit_printed {
                notes.push(format!(
                    "header says {} but BW average {} matches MsgRate {} Mpps x {} bytes only in {}: read as {}",
                    stated.name(),
                    best.avg,
                    best.rate.unwrap_or(0.0),
                    best.size,
                    u.name(),
                    u.name()
                ));
            } else {
                notes.push(format!(
                    "unit inferred from MsgRate x MsgSize: {}",
                    u.name()
                ));
            }
            unit = u;
        }
        Some(_) => {}
        None if !unit_printed => notes.push(format!(
            "no MsgRate to infer the unit from: assumed perftest's default {}",
            stated.name()
        )),
        None => {}
    }
    let (verb, bidirectional) = match b.test.as_deref() {
        Some(t) => verb_of(t),
        None => (None, false),
    };
    Ok(PerfResult {
        format: format.into(),
        test: b.test,
        verb,
        bidirectional,
        qps: b.qps,
        device: b.device,
        link_type: b.link_type,
        mtu: b.mtu,
        unit: unit.name().into(),
        msg_size: best.size,
        bw_peak_gbps: round3(unit.to_gbps(best.peak)),
        bw_average_gbps: round3(unit.to_gbps(best.avg)),
        msg_rate_mpps: best.rate,
        rows: n,
        notes,
        server: None,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn parse_json(text: &str) -> Result<PerfResult, PerfError> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        // Some perftest versions print bare words (`"Device": mlx5_0`); quote them and retry.
        Err(first) => serde_json::from_str(&quote_bare_values(text)).map_err(|_| {
            err(
                Some(first.line()),
                format!("not valid --out_json output: {first}"),
            )
        })?,
    };
    let info = v.get("test_info");
    let s = |k: &str| {
        info.and_then(|i| i.get(k)).and_then(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let results: Vec<&Value> = match v.get("results") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => {
            return Err(err(
                None,
                "--out_json output without a `results` object (expected results.BW_average)",
            ));
        }
    };
    let mut rows = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let num = |k: &str| r.get(k).and_then(Value::as_f64).filter(|x| x.is_finite());
        let avg = num("BW_average").ok_or_else(|| {
            err(
                None,
                format!("results[{i}].BW_average is missing or not a number"),
            )
        })?;
        rows.push(Row {
            size: r.get("MsgSize").and_then(Value::as_u64).unwrap_or(0),
            peak: num("BW_peak").unwrap_or(avg),
            avg,
            rate: num("MsgRate"),
        });
    }
    let b = Banner {
        test: s("test").map(|t| json_title(&t)),
        device: s("Device"),
        link_type: s("Link_type"),
        mtu: s("Mtu").and_then(|m| m.trim_end_matches("[B]").parse().ok()),
        qps: s("Number_of_qps").and_then(|q| q.parse().ok()),
    };
    finish("json", b, Unit::MiBps, rows, vec![], false)
}

/// `RDMA_Write_Bidirectional_BW_Test` → `RDMA_Write Bidirectional BW Test`: the verb keeps its
/// underscores, as in the text banner.
fn json_title(t: &str) -> String {
    const VERBS: [&str; 6] = [
        "RDMA_Write_imm",
        "RDMA_Write",
        "RDMA_Read",
        "Send_imm",
        "Send",
        "Atomic",
    ];
    match VERBS
        .iter()
        .find(|v| t.strip_prefix(*v).is_some_and(|r| r.starts_with('_')))
    {
        Some(v) => format!("{v} {}", t[v.len() + 1..].replace('_', " ")),
        None => t.replace('_', " "),
    }
}

/// Quotes unquoted scalar values in `"key": value` lines.
fn quote_bare_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let fixed = line.split_once("\":").and_then(|(k, v)| {
            let val = v.trim().trim_end_matches(',').trim();
            let comma = if v.trim_end().ends_with(',') { "," } else { "" };
            let bare = !val.is_empty()
                && !val.starts_with(['"', '{', '['])
                && val.parse::<f64>().is_err()
                && !matches!(val, "true" | "false" | "null");
            bare.then(|| format!("{k}\": \"{val}\"{comma}"))
        });
        out.push_str(fixed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BANNER: &str = "\
---------------------------------------------------------------------------------------
                    RDMA_Write BW Test
 Dual-port       : OFF\t\tDevice         : mlx5_3
 Number of qps   : 1\t\tTransport type : IB
 Connection type : RC\t\tUsing SRQ      : OFF
 CQ Moderation   : 100
 Mtu             : 4096[B]
 Link type       : Ethernet
 GID index       : 2
 Max inline data : 0[B]
 rdma_cm QPs\t : OFF
 Data ex. method : Ethernet
---------------------------------------------------------------------------------------
 local address: LID 0000 QPN 0x10107 PSN 0xb5554 RKey 0x04ad6e VAddr 0x007f8389beb000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:201
 remote address: LID 0000 QPN 0x10107 PSN 0x92e7fa RKey 0x047c3b VAddr 0x007fd6f366c000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:189
---------------------------------------------------------------------------------------
";

    #[test]
    fn megabytes_are_decimal() {
        let t = format!(
            "{BANNER} #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]\n 65536      5000             11030.78            11030.45\t\t     0.168311\n---\n"
        );
        let r = parse(&t).unwrap();
        assert_eq!(r.unit, "MB/sec");
        assert_eq!(r.device.as_deref(), Some("mlx5_3"));
        assert_eq!(r.link_type.as_deref(), Some("Ethernet"));
        assert_eq!(r.mtu, Some(4096));
        assert_eq!(r.test.as_deref(), Some("RDMA_Write BW Test"));
        // 11030.45 MB/s * 8 = 88.244 Gb/s
        assert!((r.bw_average_gbps - 88.244).abs() < 0.01, "{r:?}");
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn mebibytes_are_binary() {
        let t = " #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]\n 65536      5000             11030.78            11030.45\t\t     0.176487\n";
        let r = parse(t).unwrap();
        assert_eq!(r.unit, "MiB/sec");
        // 11030.45 * 2^20 * 8 / 1e9 = 92.53 Gb/s
        assert!((r.bw_average_gbps - 92.529).abs() < 0.01, "{r:?}");
    }

    #[test]
    fn report_gbits() {
        let t = " #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]    CPU_Util[%]\n 65536      1829700          0.00               191.87\t\t   0.365966\t    4.12\n";
        let r = parse(t).unwrap();
        assert_eq!(r.unit, "Gb/sec");
        assert_eq!(r.bw_average_gbps, 191.87);
    }

    #[test]
    fn runbook_sample_header_mismatch_is_corrected_and_noted() {
        let t = format!(
            "{BANNER} #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]\n 65536      1101500          0.00               96.25  \t\t   0.183585\n---\n"
        );
        let r = parse(&t).unwrap();
        assert_eq!(r.unit, "Gb/sec");
        assert_eq!(r.bw_average_gbps, 96.25);
        assert!(r.notes[0].contains("header says MB/sec"), "{:?}", r.notes);
    }

    #[test]
    fn all_sizes_with_cpu_warning_takes_max_average() {
        let t = "\
 #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]
Conflicting CPU frequency values detected: 1846.550000 != 2596.396000. CPU Frequency is not max.
 2          5000             8.96               8.55   \t\t     4.484013
Conflicting CPU frequency values detected: 1846.550000 != 2596.396000. CPU Frequency is not max.
 4          5000             17.92              17.11  \t\t     4.484960
 8388608    5000             23514.06            23513.92\t\t     0.002939
 4194304    5000             23514.90            23513.50\t\t     0.005878
---------------------------------------------------------------------------------------
";
        let r = parse(t).unwrap();
        assert_eq!(r.rows, 4);
        assert_eq!(r.msg_size, 8388608);
        assert!((r.bw_average_gbps - 197.246).abs() < 0.01, "{r:?}");
        assert_eq!(r.notes.len(), 2);
        assert!(r.notes[0].contains("CPU Frequency is not max"));
    }

    #[test]
    fn out_json_infers_unit_from_msgrate() {
        let t = r#"{
  "test_info": {
    "test": "RDMA_Write_BW_Test",
    "Dual_port": "OFF",
    "Device": "mlx5_11",
    "Mtu": 1024,
    "Link_type": "Ethernet"
  },
  "results": {
    "MsgSize": 65536,
    "n_iterations": 5000,
    "BW_peak": 5293.52,
    "BW_average": 2229.27,
    "MsgRate": 0.035668
  }
}"#;
        let r = parse(t).unwrap();
        assert_eq!(r.format, "json");
        assert_eq!(r.unit, "MiB/sec");
        assert_eq!(r.device.as_deref(), Some("mlx5_11"));
        assert!((r.bw_average_gbps - 18.701).abs() < 0.01, "{r:?}");
    }

    #[test]
    fn out_json_with_bare_words_and_gbits() {
        let t = "{\n\"test_info\": {\n\"test\": RDMA_Write_BW_Test,\n\"Device\": mlx5_0,\n\"Link_type\": IB\n},\n\"results\": {\n\"MsgSize\": 65536,\n\"n_iterations\": 5000,\n\"BW_peak\": 196.10,\n\"BW_average\": 196.05,\n\"MsgRate\": 0.373936\n}\n}\n";
        let r = parse(t).unwrap();
        assert_eq!(r.unit, "Gb/sec");
        assert_eq!(r.bw_average_gbps, 196.05);
        assert_eq!(r.device.as_deref(), Some("mlx5_0"));
    }

    #[test]
    fn garbage_is_rejected_clearly() {
        let e = parse("hello world\nthis is not perftest\n").unwrap_err();
        assert!(e.message.contains("no perftest result table"), "{e}");
        let e = parse(" #bytes  #iterations  BW peak[MB/sec]  BW average[MB/sec]  MsgRate[Mpps]\n")
            .unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.to_string().contains("no rows"), "{e}");
        let e = parse(" #bytes  #iterations  BW peak[MB/sec]  BW average[MB/sec]  MsgRate[Mpps]\n 65536 5000 abc 12.0 0.1\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("BW peak `abc`"), "{e}");
        let e = parse(" BW peak[MB/sec]  BW average[MB/sec]  #bytes\n 1 2.0\n").unwrap_err();
        assert!(e.message.contains("result row has 2 columns"), "{e}");
        let e = parse(" #bytes  BW peak[kB/sec]  BW average[kB/sec]\n").unwrap_err();
        assert!(e.message.contains("unknown bandwidth unit `kB/sec`"), "{e}");
        let e = parse("{\"results\": {\"BW_peak\": 1}}").unwrap_err();
        assert!(e.message.contains("BW_average"), "{e}");
        let e = parse("{ broken").unwrap_err();
        assert!(e.message.contains("not valid --out_json"), "{e}");
    }

    /// Realistic samples in fixtures/node/perftest/, one per output variant.
    #[test]
    fn sample_files() {
        macro_rules! sample {
            ($f:literal) => {
                include_str!(concat!("../../../fixtures/node/perftest/", $f))
            };
        }
        let r = parse(sample!("ib_write_bw-mb.txt")).unwrap();
        assert_eq!(
            (r.unit.as_str(), r.device.as_deref()),
            ("MB/sec", Some("mlx5_2"))
        );
        assert!((r.bw_average_gbps - 197.215).abs() < 0.01, "{r:?}");
        let r = parse(sample!("ib_write_bw-report-gbits.txt")).unwrap();
        assert_eq!((r.unit.as_str(), r.bw_average_gbps), ("Gb/sec", 191.87));
        let r = parse(sample!("ib_write_bw-a-no-F-mib.txt")).unwrap();
        assert_eq!(r.rows, 23);
        assert_eq!(r.unit, "MiB/sec");
        assert!((r.bw_average_gbps - 197.25).abs() < 0.01, "{r:?}");
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("CPU Frequency is not max"))
        );
        assert_eq!(r.mtu, Some(4096));
        assert_eq!(r.link_type.as_deref(), Some("IB"));
        let r = parse(sample!("ib_write_bw-out_json.json")).unwrap();
        assert_eq!((r.format.as_str(), r.unit.as_str()), ("json", "MiB/sec"));
        assert!((r.bw_average_gbps - 197.249).abs() < 0.01, "{r:?}");
        let e = parse(sample!("garbage.txt")).unwrap_err();
        assert!(e.message.contains("no perftest result table"), "{e}");
        let e = parse(sample!("truncated.txt")).unwrap_err();
        assert_eq!(e.line, Some(19), "{e}");
        assert!(e.message.contains("no rows"), "{e}");
    }

    #[test]
    fn banner_pairs_split_on_tabs_or_runs_of_spaces() {
        for line in [
            " Dual-port       : OFF\t\tDevice         : mlx5_0",
            " Dual-port       : OFF          Device         : mlx5_0",
        ] {
            assert_eq!(
                banner_pairs(line),
                [
                    ("Dual-port".to_string(), "OFF"),
                    ("Device".to_string(), "mlx5_0")
                ]
            );
        }
        assert_eq!(
            banner_pairs(" PCIe relax order: ON           Lock-free      : OFF"),
            [
                ("PCIe relax order".to_string(), "ON"),
                ("Lock-free".to_string(), "OFF")
            ]
        );
        assert_eq!(
            banner_pairs(" rdma_cm QPs\t : OFF"),
            [("rdma_cm QPs".to_string(), "OFF")]
        );
        // Lines around the banner name no key we read.
        for line in [
            "Using ROCm Device with ID: 1, Name: AMD Instinct, PCI Bus ID: 0x15",
            "CUDA device 0: PCIe address is 07:00",
            "Connected: Tue Mar 10 14:02:11 2026",
        ] {
            assert!(
                banner_pairs(line).iter().all(|(k, _)| k != "Device"),
                "{line}"
            );
        }
    }

    #[test]
    fn spaced_banner_bidirectional_qps_and_old_mtu() {
        let t = "Using sampled CPU speed 2400 MHz over reported speed 3800 MHz\n\
************************************\n\
* Waiting for client to connect... *\n\
************************************\n\
Connected: Tue Mar 10 14:02:11 2026\n\
                    RDMA_Write Bidirectional BW Test\n\
 Dual-port       : OFF          Device         : mlx5_0\n\
 Number of qps   : 4            Transport type : IB\n\
 Mtu             : 2048B\n\
 local address: LID 0x11 QPN 0xxxxx PSN 0xxxxx RKey 0xxxxx VAddr 0x007f3a200000\n\
 #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]\n\
 2          20000           0.093791            0.093417            5.838563\n\
 65536      20000            775.85             775.03              1.478252\n\
Completed: Tue Mar 10 14:02:24 2026\n\
Total run time: 13.271s\n";
        let r = parse(t).unwrap();
        assert_eq!(r.device.as_deref(), Some("mlx5_0"));
        assert_eq!(r.test.as_deref(), Some("RDMA_Write Bidirectional BW Test"));
        assert_eq!(
            (r.verb.as_deref(), r.bidirectional),
            (Some("RDMA_Write"), true)
        );
        assert_eq!((r.qps, r.mtu, r.rows), (Some(4), Some(2048), 2));
        assert_eq!(r.bw_average_gbps, 775.03);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        assert_eq!(
            r.describe(),
            "ib_write_bw -b (RDMA_Write Bidirectional BW Test, 4 QPs)"
        );
    }

    #[test]
    fn kinds_and_warnings_before_the_table() {
        let t = " WARNING: BW peak won't be measured in this run.\n                    Send BW Test\n #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]    CPU_Util[%]\n 65536      7379100          0.00               386.88\t\t     0.737915\t    1.12\n";
        let r = parse(t).unwrap();
        assert_eq!(r.program(), Some("ib_send_bw"));
        assert!(!r.bidirectional);
        assert_eq!(r.notes, ["WARNING: BW peak won't be measured in this run."]);
        assert_eq!(r.describe(), "ib_send_bw (Send BW Test)");
        let r = parse(" #bytes  #iterations  BW peak[Gb/sec]  BW average[Gb/sec]  MsgRate[Mpps]\n 65536 5000 1.0 1.0 0.001907\n").unwrap();
        assert_eq!(r.describe(), "perftest (no banner: test kind unknown)");
        assert_eq!(
            json_title("RDMA_Read_Bidirectional_BW_Test"),
            "RDMA_Read Bidirectional BW Test"
        );
        assert_eq!(
            json_title("RDMA_Write_imm_BW_Test"),
            "RDMA_Write_imm BW Test"
        );
        let e = parse("                    RDMA_Write Latency Test\n #bytes #iterations    t_min[usec]    t_max[usec]\n 2       1000          1.01        2.20\n").unwrap_err();
        assert!(e.message.contains("RDMA007 needs a bandwidth test"), "{e}");
    }

    /// Truncated or mangled output never panics: every prefix of every sample parses or errors.
    #[test]
    fn prefixes_never_panic() {
        for text in [
            include_str!("../../../fixtures/node/perftest/ib_write_bw-a-no-F-mib.txt"),
            include_str!("../../../fixtures/node/perftest/ib_write_bw-out_json.json"),
            include_str!("../../../fixtures/node/perf/gpu03-mlx5_0.txt"),
            include_str!(
                "../../../fixtures/real-formats/perftest/gpu01-mlx5_0-write-bw-bidir-q4.txt"
            ),
            include_str!("../../../fixtures/real-formats/perftest/gpu01-mlx5_3-banner-spaces.txt"),
        ] {
            for (i, _) in text.char_indices() {
                let _ = parse(&text[..i]);
                let _ = parse(&text[i..]);
            }
        }
    }
}
