//! Loads `--node-facts DIR` (one `NODE.json` per node, from `gpu-preflight node`) and `--perf DIR`
//! (`NODE*.txt` / `NODE*.json` perftest output). A malformed file is an input error naming it.

use super::NodeInputArgs;
use crate::collect::Error;
use gpu_preflight_checks::node_facts::{
    NodeFacts, NodeLocal, SCHEMA, UnreadReason, UnusedFile, same_node,
};
use gpu_preflight_checks::parse::perftest;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest node-facts or perftest file read.
const MAX_BYTES: u64 = 64 << 20;

/// How far ahead of the audit's clock facts may be dated: hosts' clocks disagree by seconds
/// under NTP; further ahead, the node's clock is wrong or the date was made up, and the facts'
/// age (which bounds how stale a verdict may be) cannot be known.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// How old node facts may be, judged against which clock.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Facts collected longer ago are set aside (`None`: any age).
    pub max_age: Option<Duration>,
    /// The audit's clock.
    pub now: jiff::Timestamp,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            max_age: None,
            now: jiff::Timestamp::now(),
        }
    }
}

/// Whether facts dated `collected_at` may be judged now: `Err` says why not — too old (only
/// with a limit), or dated ahead of the audit's clock by more than [`MAX_CLOCK_SKEW`] (always).
pub fn vet_age(collected_at: &str, f: &Freshness) -> Result<(), (UnreadReason, String)> {
    let Ok(at) = collected_at.parse::<jiff::Timestamp>() else {
        return match f.max_age {
            None => Ok(()),
            Some(limit) => Err((
                UnreadReason::Stale,
                format!(
                    "collected_at `{collected_at}` is not an RFC 3339 time, so the facts' age is unknown (--node-facts-max-age {})",
                    human(limit)
                ),
            )),
        };
    };
    let now = f.now;
    if at > now {
        let ahead = at.duration_since(now).unsigned_abs();
        if ahead > MAX_CLOCK_SKEW {
            return Err((
                UnreadReason::Future,
                format!(
                    "collected {at}, {} ahead of this host's clock ({now}), more than the {} clocks may disagree: set the node's clock right (NTP) and collect its facts again",
                    human(ahead),
                    human(MAX_CLOCK_SKEW)
                ),
            ));
        }
        return Ok(());
    }
    if let Some(limit) = f.max_age {
        let age = now.duration_since(at).unsigned_abs();
        if age > limit {
            return Err((
                UnreadReason::Stale,
                format!(
                    "collected {at}, {} ago, older than the {} limit (--node-facts-max-age)",
                    human(age),
                    human(limit)
                ),
            ));
        }
    }
    Ok(())
}

/// The time zones perftest's dates may be in (it prints local time, with no zone): a date read
/// as UTC is off by at most this much.
const ZONE_SLACK: Duration = Duration::from_secs(14 * 3600);

/// perftest's own date of a run, as UTC: its `Completed:` line, else `Connected:`
/// (`Completed: Tue Mar 10 14:02:24 2026`, local time).
pub fn perf_date(text: &str) -> Option<jiff::Timestamp> {
    let stamp = |prefix: &str| {
        text.lines().find_map(|l| {
            let v = l.trim().strip_prefix(prefix)?;
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            jiff::civil::DateTime::strptime("%a %b %d %H:%M:%S %Y", &v)
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
    };
    stamp("Completed:").or_else(|| stamp("Connected:"))
}

/// Why a perftest output dated `at` is not judged, if it is not: older than the limit by more
/// than a time zone can account for, or dated further ahead than one can.
fn vet_perf_date(at: jiff::Timestamp, f: &Freshness) -> Option<String> {
    let now = f.now;
    let note = "perftest prints local time with no zone: read as UTC, give or take 14h";
    if at > now {
        let ahead = at.duration_since(now).unsigned_abs();
        return (ahead > ZONE_SLACK + MAX_CLOCK_SKEW).then(|| {
            format!(
                "dated {at}, {} ahead of this host's clock ({note}): its machine's clock is wrong",
                human(ahead)
            )
        });
    }
    let limit = f.max_age?;
    let age = now.duration_since(at).unsigned_abs();
    (age > limit + ZONE_SLACK).then(|| {
        format!(
            "dated {at}, {} ago, older than the {} limit (--node-facts-max-age; {note})",
            human(age),
            human(limit)
        )
    })
}

/// Loads both inputs with no age limit; empty when neither flag is given.
pub fn load(a: &NodeInputArgs) -> anyhow::Result<NodeLocal> {
    load_with(a, &Freshness::default())
}

/// Loads both inputs; empty when neither flag is given. A facts file stands only for the node
/// it is named after: facts that name another node (`node_name`) are set aside, an error for
/// that file's node and for the node they name when it has no facts of its own; facts too old
/// for `fresh`, or dated ahead of its clock, are set aside too ([`NodeLocal::unused`]).
pub fn load_with(a: &NodeInputArgs, fresh: &Freshness) -> anyhow::Result<NodeLocal> {
    let mut local = NodeLocal::default();
    if let Some(dir) = &a.node_facts {
        // (node named, file, the file's node)
        let mut claims: Vec<(String, String, String)> = Vec::new();
        for f in files(dir, &["json"], "--node-facts")? {
            let text = read(&f)?;
            let facts = parse_facts(&f, &text)?;
            let key = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = f.display().to_string();
            let set_aside = |reason, detail| UnusedFile {
                file: file.clone(),
                reason,
                detail,
            };
            if let Some(named) = facts
                .node_name
                .as_deref()
                .filter(|n| !n.is_empty() && !same_node(n, &key))
            {
                local.unused.insert(
                    key.clone(),
                    set_aside(
                        UnreadReason::OtherNode,
                        format!(
                            "the facts name node {named} (node_name), not {key}: a file stands only for the node it is named after; collect {key}'s own facts (`gpu-preflight node -o {key}.json` on it)"
                        ),
                    ),
                );
                claims.push((named.to_string(), file.clone(), key));
                continue;
            }
            if let Err((reason, detail)) = vet_age(&facts.collected_at, fresh) {
                local.unused.insert(key, set_aside(reason, detail));
                continue;
            }
            local.facts.insert(key, facts);
        }
        for (named, file, key) in claims {
            let own = local.facts.keys().any(|k| same_node(k, &named));
            let worse = local
                .unused
                .get(&named)
                .is_some_and(|u| !u.reason.is_stale());
            if own || worse {
                continue;
            }
            local.unused.insert(
                named.clone(),
                UnusedFile {
                    file,
                    reason: UnreadReason::OtherNode,
                    detail: format!(
                        "the facts of node {key} claim to be node {named}: facts count only for the node they are filed under, and {named} has no usable facts of its own"
                    ),
                },
            );
        }
    }
    if let Some(dir) = &a.perf {
        for f in files(dir, &["txt", "json", "log"], "--perf")? {
            let text = read(&f)?;
            let r = perftest::parse(&text).map_err(|e| {
                Error::invalid(format!("{}: not ib_write_bw output: {e}", f.display()))
            })?;
            let key = f
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(why) = perf_date(&text).and_then(|at| vet_perf_date(at, fresh)) {
                local.perf_set_aside.insert(key, why);
                continue;
            }
            local.perf.insert(key, r);
        }
    }
    Ok(local)
}

/// Parses one node-facts file; errors name the file, the line and what was expected.
pub fn parse_facts(path: &Path, text: &str) -> anyhow::Result<NodeFacts> {
    parse_facts_text(text).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
}

/// Parses node facts (`gpu-preflight node` output); the error says where in the text and what
/// was expected, for the caller to prefix with where the text came from.
pub fn parse_facts_text(text: &str) -> Result<NodeFacts, String> {
    // The common case in one pass; the slower path below only words the error.
    if let Ok(f) = serde_json::from_str::<NodeFacts>(text)
        && f.schema == SCHEMA
    {
        return Ok(f);
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {} column {}: {e} (expected the JSON written by `gpu-preflight node`)",
            e.line(),
            e.column()
        )
    })?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(format!(
                "unsupported node-facts schema `{other}` (this version reads {SCHEMA})"
            ));
        }
        None => {
            return Err(format!(
                "no `schema` field: not node facts from `gpu-preflight node` ({SCHEMA})"
            ));
        }
    }
    serde_json::from_value(v).map_err(|e| format!("invalid node facts ({SCHEMA}): {e}"))
}

fn read(f: &Path) -> anyhow::Result<String> {
    crate::input::read_text(f, MAX_BYTES).map_err(|e| e.at(f, ""))
}

/// A file, or the files with these extensions in a folder (sorted, not recursive).
fn files(path: &Path, exts: &[&str], flag: &str) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::unreadable(format!(
            "{flag} {}: no such file or folder",
            path.display()
        )));
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::unreadable(format!("{}: cannot read folder: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e))
        })
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(Error::invalid(format!(
            "{flag} {}: the folder has no .{} files",
            path.display(),
            exts.join(" or .")
        )));
    }
    Ok(v)
}

/// Merges node-local inputs into the run's facts. Firmware queries the agent ran successfully
/// (`mstconfig -e -d PCI q`) become firmware facts of that node, like `--firmware DIR` files;
/// output that does not parse (e.g. `-E- Failed to open device`) is logged and left out.
pub fn apply(facts: &mut gpu_preflight_checks::Facts, local: NodeLocal) {
    use gpu_preflight_checks::parse::mstconfig;
    for (key, nf) in &local.facts {
        // The node the facts were filed under, never the one they name.
        let node = key.clone();
        for q in nf.firmware.iter().filter(|q| q.exit_code == Some(0)) {
            match mstconfig::parse(&q.output) {
                Ok(parsed) => {
                    for d in parsed.devices {
                        let pci = d
                            .pci
                            .clone()
                            .or_else(|| mstconfig::normalize_pci(&q.pci_address))
                            .unwrap_or_else(|| q.pci_address.clone());
                        facts
                            .firmware
                            .entry(node.clone())
                            .or_default()
                            .insert(pci, d);
                    }
                }
                Err(e) => tracing::warn!(
                    node = %node,
                    pci = %q.pci_address,
                    "node facts: `{}` output does not parse: {e}",
                    q.command
                ),
            }
        }
    }
    facts.node_local.merge(local);
}

/// `3d 4h`, `24h`, `2h 5m`, `45s`: ages and limits in messages (days from two on).
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (hours, mins) = (s / 3600, s % 3600 / 60);
    match (hours, mins) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, 0) if h < 48 => format!("{h}h"),
        (h, m) if h < 48 => format!("{h}h {m}m"),
        (h, _) if h % 24 == 0 => format!("{}d", h / 24),
        (h, _) => format!("{}d {}h", h / 24, h % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn perftest_dates_are_read_and_judged_with_zone_slack() {
        let text =
            "Connected: Tue Mar 10 14:02:11 2026\n ... \nCompleted: Tue Mar  3 14:02:24 2026\n";
        assert_eq!(perf_date(text), Some(at("2026-03-03T14:02:24Z")));
        assert_eq!(
            perf_date("Connected: Tue Mar 10 14:02:11 2026\n"),
            Some(at("2026-03-10T14:02:11Z"))
        );
        assert_eq!(perf_date("no date here\nCompleted: soon\n"), None);
        let now = at("2026-12-07T00:00:00Z");
        let off = Freshness { max_age: None, now };
        let week = Freshness {
            max_age: Some(Duration::from_secs(7 * 86_400)),
            now,
        };
        // Without a limit only a date ahead of every time zone is set aside.
        assert_eq!(vet_perf_date(at("2020-01-01T00:00:00Z"), &off), None);
        assert_eq!(vet_perf_date(at("2026-12-07T13:00:00Z"), &off), None);
        let why = vet_perf_date(at("2026-12-08T12:00:00Z"), &off).unwrap();
        assert!(why.contains("36h ahead of this host's clock"), "{why}");
        // With one, older than the limit plus the slack.
        assert_eq!(vet_perf_date(at("2026-11-30T00:00:00Z"), &week), None);
        let why = vet_perf_date(at("2026-11-01T00:00:00Z"), &week).unwrap();
        assert!(why.contains("older than the 7d limit"), "{why}");
    }

    #[test]
    fn facts_dates_ahead_are_an_error_whatever_the_limit() {
        let now = at("2026-12-07T00:00:00Z");
        let f = Freshness { max_age: None, now };
        assert!(vet_age("2026-12-07T00:04:00Z", &f).is_ok());
        let (reason, why) = vet_age("2026-12-07T02:00:00Z", &f).unwrap_err();
        assert_eq!(reason, UnreadReason::Future);
        assert!(why.contains("2h ahead of this host's clock"), "{why}");
        assert!(vet_age("2020-01-01T00:00:00Z", &f).is_ok());
        assert!(vet_age("yesterday", &f).is_ok());
        let g = Freshness {
            max_age: Some(Duration::from_secs(3600)),
            now,
        };
        assert_eq!(
            vet_age("2026-12-06T00:00:00Z", &g).unwrap_err().0,
            UnreadReason::Stale
        );
        assert_eq!(vet_age("yesterday", &g).unwrap_err().0, UnreadReason::Stale);
    }
}
