//! `--format table`: the terminal view an operator reads at fleet scale.
//!
//! Failures and errors first (most severe first, then by area), then skips, then one line per
//! area, then "How to fix". Results that repeat — the same rule, status, cause and message but for
//! another target — are one row with the count and a few targets; failures stay one row per
//! target up to [`FAILS_SHOWN`] per rule. `--no-fold` keeps every row; JSON always does.
//!
//! Each row is a head line (`FAIL  NET001  error  TARGET`) and its message below, wrapped to the
//! terminal's width at spaces; a target name is never split (a list of them breaks between
//! names). Every text from the cluster goes through [`super::printable`].

use super::{Report, Style, printable};
use gpu_preflight_checks::{Cause, RuleResult, Severity, Status};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Failures of one rule shown one row per target; the rest of them fold into one row.
pub const FAILS_SHOWN: usize = 10;
/// Targets a folded row names.
const TARGETS_SHOWN: usize = 3;
/// The message's indent under its head line.
const INDENT: usize = 7;

pub fn render(report: &Report, style: Style) -> String {
    let width = style.width.max(40);
    let show = style.show.unwrap_or_default();
    let mut out = String::new();
    let results = &report.results;
    let area_rank = area_order(results);
    let rank = |r: &RuleResult| {
        area_rank
            .get(r.area.as_ref())
            .copied()
            .unwrap_or(usize::MAX)
    };

    if style.by_node {
        by_node(&mut out, report, style, width);
    }

    // The API server down: one message with its cause and how many rules it stopped.
    let stopped: Vec<&RuleResult> = results
        .iter()
        .filter(|r| super::stopped_by_api(r))
        .collect();
    let api = results
        .iter()
        .find(|r| &*r.rule == super::API_RULE && r.cause.is_some_and(Cause::is_api_down));

    // Failures and errors, most severe first, then by area, in report order within.
    let mut bad: Vec<&RuleResult> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error))
        .filter(|r| !super::stopped_by_api(r))
        .filter(|r| show.has(r.status))
        .collect();
    bad.sort_by_key(|r| (std::cmp::Reverse(r.severity), order(r.status), rank(r)));
    let shown_bad = !bad.is_empty() || (!stopped.is_empty() && show.has(Status::Error));
    if shown_bad {
        heading(&mut out, "Failures and errors", style);
        if api.is_none()
            && let Some(first) = stopped.first()
        {
            // K8S001 not selected: the first stopped rule's message carries the cause.
            row(
                &mut out,
                style,
                width,
                first,
                &[],
                &Target::One(&first.target),
                &first.message,
            );
        }
        for group in fold(&bad, style.no_fold, true) {
            group_rows(&mut out, style, width, &group);
        }
        if !stopped.is_empty() {
            let mut rules = distinct_rules(&stopped);
            if api.is_none() {
                // The first is shown above with the cause.
                rules.remove(0);
            }
            let _ = writeln!(
                out,
                "{}",
                wrap(
                    &format!(
                        "and {} more rule(s) not evaluated, the API server {}: {}",
                        rules.len(),
                        if stopped[0].cause == Some(Cause::Unauthorized) {
                            "refusing the credentials"
                        } else {
                            "being unreachable"
                        },
                        rules.join(" ")
                    ),
                    width,
                    INDENT
                )
            );
        }
        out.push('\n');
    }

    if show.has(Status::Waived) {
        let waived: Vec<&RuleResult> = results
            .iter()
            .filter(|r| r.status == Status::Waived)
            .collect();
        if !waived.is_empty() {
            heading(&mut out, "Waived", style);
            for group in fold(&waived, style.no_fold, true) {
                group_rows(&mut out, style, width, &group);
            }
            out.push('\n');
        }
    }

    if show.has(Status::Skip) {
        let mut skipped: Vec<&RuleResult> = results
            .iter()
            .filter(|r| r.status == Status::Skip)
            .collect();
        skipped.sort_by_key(|r| rank(r));
        if !skipped.is_empty() {
            heading(&mut out, "Skipped", style);
            for group in fold(&skipped, style.no_fold, false) {
                group_rows(&mut out, style, width, &group);
            }
            out.push('\n');
        }
    }

    if show.has(Status::Pass) {
        let passed: Vec<&RuleResult> = results
            .iter()
            .filter(|r| r.status == Status::Pass)
            .collect();
        if !passed.is_empty() {
            heading(&mut out, "Passed", style);
            for group in fold(&passed, style.no_fold, false) {
                group_rows(&mut out, style, width, &group);
            }
            out.push('\n');
        }
    }

    areas(&mut out, results, &area_rank, width);
    how_to_fix(&mut out, report, style, width, api);

    for w in &report.waivers {
        let line = format!(
            "waiver {} {}{}: {} ({} matched{})",
            w.state,
            w.rule,
            w.target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            w.reason,
            w.matched,
            w.expires
                .as_deref()
                .map(|e| format!(", expires {e}"))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "{}", wrap(&printable(&line), width, 0));
    }
    let s = &report.summary;
    let last = format!(
        "{} from {} ({}): {} pass, {} fail, {} skip, {} error{}",
        plural(s.total, "result"),
        plural(count_rules(results), "rule"),
        report.source,
        s.pass,
        s.fail,
        s.skip,
        s.error,
        if s.waived > 0 {
            format!(", {} waived", s.waived)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "{}", wrap(&printable(&last), width, 0));
    out
}

/// Fail before error before the rest.
fn order(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Waived => 2,
        Status::Skip => 3,
        Status::Pass => 4,
    }
}

/// Areas in the order the report first names them (catalogue order).
fn area_order(results: &[RuleResult]) -> HashMap<&str, usize> {
    let mut rank: HashMap<&str, usize> = HashMap::new();
    for r in results {
        let n = rank.len();
        rank.entry(&r.area).or_insert(n);
    }
    rank
}

fn heading(out: &mut String, title: &str, style: Style) {
    if style.color {
        let _ = writeln!(out, "\x1b[1m{title}\x1b[0m");
    } else {
        let _ = writeln!(out, "{title}");
    }
    let _ = writeln!(out, "{}", "-".repeat(title.chars().count()));
}

/// Results that read the same: one rule, status and cause, and the same message once the
/// target's own names and the numbers are taken out.
struct Group<'a> {
    rows: Vec<&'a RuleResult>,
    /// Other rules whose results read exactly the same for the same targets (three node rules
    /// skipped for want of node facts): one row names them all.
    also: Vec<&'a str>,
}

impl<'a> Group<'a> {
    fn of(rows: Vec<&'a RuleResult>) -> Self {
        Group {
            rows,
            also: Vec::new(),
        }
    }
}

/// Status, cause, message and targets: what makes two rules' rows one.
type SameKey<'a> = (Status, Option<Cause>, String, Vec<&'a str>);

/// Merges groups of different rules that say the same of the same targets (not failures: each
/// failing rule keeps its own row and fix).
fn merge_rules(groups: Vec<Group<'_>>) -> Vec<Group<'_>> {
    let mut out: Vec<Group> = Vec::new();
    let mut at: HashMap<SameKey, usize> = HashMap::new();
    for g in groups {
        let first = g.rows[0];
        if first.status == Status::Fail {
            out.push(g);
            continue;
        }
        let key = (
            first.status,
            first.cause,
            first.message.clone(),
            g.rows.iter().map(|r| r.target.as_str()).collect(),
        );
        match at.get(&key) {
            Some(&i)
                if !out[i].also.contains(&first.rule.as_ref())
                    && out[i].rows[0].rule != first.rule =>
            {
                out[i].also.push(&first.rule)
            }
            _ => {
                at.insert(key, out.len());
                out.push(g);
            }
        }
    }
    out
}

/// The message with its target's names and every number taken out: what repeats across targets.
fn shape(r: &RuleResult) -> String {
    let mut m = r.message.clone();
    let mut parts: Vec<&str> = r
        .target
        .split('/')
        .skip(1)
        .filter(|p| p.len() > 1)
        .collect();
    // Longest first, so `gpu01` does not eat part of `gpu01-ib`.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in parts {
        m = m.replace(p, "\u{1}");
    }
    let mut out = String::with_capacity(m.len());
    let mut digit = false;
    for c in m.chars() {
        if c.is_ascii_digit() {
            if !digit {
                out.push('#');
            }
            digit = true;
        } else {
            digit = false;
            out.push(c);
        }
    }
    out
}

/// Groups rows that read the same, in the order of their first row. Failures (`one_each`) keep
/// their own rows up to [`FAILS_SHOWN`] per rule; with `no_fold` every row is its own group.
fn fold<'a>(rows: &[&'a RuleResult], no_fold: bool, one_each: bool) -> Vec<Group<'a>> {
    if no_fold {
        return rows.iter().map(|r| Group::of(vec![*r])).collect();
    }
    let mut at: HashMap<(&str, Status, Option<Cause>, String), usize> = HashMap::new();
    let mut per_rule: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Group<'a>> = Vec::new();
    for r in rows {
        if one_each && r.status == Status::Fail {
            let n = per_rule.entry(&r.rule).or_default();
            *n += 1;
            if *n <= FAILS_SHOWN {
                groups.push(Group::of(vec![*r]));
                continue;
            }
        }
        let key = (r.rule.as_ref(), r.status, r.cause, shape(r));
        match at.get(&key) {
            Some(&i) => groups[i].rows.push(r),
            None => {
                at.insert(key, groups.len());
                groups.push(Group::of(vec![*r]));
            }
        }
    }
    merge_rules(groups)
}

/// What a row's target column says.
enum Target<'a> {
    One(&'a str),
    Many(&'a [&'a RuleResult]),
}

fn group_rows(out: &mut String, style: Style, width: usize, g: &Group) {
    let first = g.rows[0];
    if g.rows.len() == 1 {
        let mut msg = first.message.clone();
        if matches!(first.status, Status::Fail | Status::Waived)
            && let (Some(e), Some(o)) = (&first.expected, &first.observed)
        {
            let _ = write!(msg, "\nexpected: {e}\nobserved: {o}");
        }
        if let Some(w) = &first.waiver {
            let _ = write!(msg, "\nwaived: {w}");
        }
        row(
            out,
            style,
            width,
            first,
            &g.also,
            &Target::One(&first.target),
            &msg,
        );
        return;
    }
    let same_text = g.rows.iter().all(|r| r.message == first.message);
    let msg = if same_text {
        first.message.clone()
    } else {
        format!("e.g. {}: {}", first.target, first.message)
    };
    row(
        out,
        style,
        width,
        first,
        &g.also,
        &Target::Many(&g.rows),
        &msg,
    );
}

/// `node/NAME/...` → `NAME`.
fn node_of(target: &str) -> Option<&str> {
    let rest = target.strip_prefix("node/")?;
    rest.split('/').next().filter(|n| !n.is_empty())
}

/// `48 targets on 6 nodes`, `3 targets`.
fn count_targets(rows: &[&RuleResult]) -> String {
    let mut nodes: Vec<&str> = rows.iter().filter_map(|r| node_of(&r.target)).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let all_on_nodes = rows.iter().all(|r| node_of(&r.target).is_some());
    let per_node = rows.iter().any(|r| {
        r.target
            .strip_prefix("node/")
            .is_some_and(|t| t.contains('/'))
    });
    if all_on_nodes && !per_node {
        plural(rows.len(), "node")
    } else if all_on_nodes {
        format!(
            "{} on {}",
            plural(rows.len(), "target"),
            plural(nodes.len(), "node")
        )
    } else {
        plural(rows.len(), "target")
    }
}

/// One row: the head line (status, rule, severity, target or targets), the message below.
fn row(
    out: &mut String,
    style: Style,
    width: usize,
    r: &RuleResult,
    also: &[&str],
    t: &Target,
    msg: &str,
) {
    let status = r.status.as_str().to_uppercase();
    let status = if style.color {
        format!("{}{status:<6}\x1b[0m", colour(r.status))
    } else {
        format!("{status:<6}")
    };
    let mut rules = vec![r.rule.as_ref()];
    rules.extend(also);
    let rules = rules.join(" ");
    // Rules that say the same (each with its own severity): their IDs, no severity column.
    let (head, head_len) = if also.is_empty() {
        (
            format!("{status} {rules:<9} {:<7} ", r.severity.as_str()),
            6 + 1 + rules.chars().count().max(9) + 1 + 7 + 1,
        )
    } else {
        // The IDs flow like the targets after them, so a long list wraps at the width.
        (format!("{status} "), 6 + 1)
    };
    // The targets, each whole, after the head and on lines of their own when they do not fit.
    let ids = if also.is_empty() {
        Vec::new()
    } else {
        rules.split(' ').map(str::to_string).collect()
    };
    let targets: Vec<String> = match t {
        Target::One(t) => vec![printable(t).into_owned()],
        Target::Many(rows) => {
            let mut v = vec![format!("{}:", count_targets(rows))];
            let shown = rows.len().min(TARGETS_SHOWN);
            for (i, x) in rows.iter().take(shown).enumerate() {
                let sep = if i + 1 < shown || rows.len() > shown {
                    ","
                } else {
                    ""
                };
                v.push(format!("{}{sep}", printable(&x.target)));
            }
            if rows.len() > shown {
                v.push("…".into());
            }
            v
        }
    };
    let names: Vec<String> = ids.into_iter().chain(targets).collect();
    out.push_str(&head);
    let mut col = head_len;
    let mut first = true;
    for n in &names {
        let w = n.chars().count();
        let gap = usize::from(!first);
        if col > INDENT && col + gap + w > width {
            // No trailing space before the break.
            let kept = out.trim_end_matches(' ').len();
            out.truncate(kept);
            out.push('\n');
            // A name too long for the indented line starts the line: never cut.
            let indent = if INDENT + w > width { 0 } else { INDENT };
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if gap == 1 {
            out.push(' ');
            col += 1;
        }
        out.push_str(n);
        col += w;
        first = false;
    }
    out.push('\n');
    let _ = writeln!(out, "{}", wrap(&printable(msg), width, INDENT));
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Pass => "\x1b[32m",
        Status::Fail => "\x1b[1;31m",
        Status::Error => "\x1b[1;35m",
        Status::Skip => "\x1b[90m",
        Status::Waived => "\x1b[33m",
    }
}

/// Wraps `text` at spaces to `width` columns, every line indented by `indent`; a word longer
/// than a line is cut (messages only: targets are laid out by [`row`]).
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    let room = width.saturating_sub(indent).max(20);
    let pad = " ".repeat(indent);
    let mut lines: Vec<String> = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split(' ') {
            let w = word.chars().count();
            if len > 0 && len + 1 + w > room {
                lines.push(std::mem::take(&mut line));
                len = 0;
            }
            if w > room {
                // Too long for any line: its own lines, cut at the width.
                if len > 0 {
                    lines.push(std::mem::take(&mut line));
                    len = 0;
                }
                let chars: Vec<char> = word.chars().collect();
                let mut chunks = chars.chunks(room).peekable();
                while let Some(c) = chunks.next() {
                    let c: String = c.iter().collect();
                    if chunks.peek().is_some() {
                        lines.push(c);
                    } else {
                        len = c.chars().count();
                        line = c;
                    }
                }
                continue;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            line.push_str(word);
            len += w;
        }
        lines.push(line);
    }
    lines
        .iter()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per area: how many rules, and how many of them pass, fail, … (a rule counts once,
/// by its worst result).
fn areas(out: &mut String, results: &[RuleResult], rank: &HashMap<&str, usize>, width: usize) {
    let mut worst: Vec<(&str, &str, Status)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for r in results {
        let i = *at.entry(&r.rule).or_insert_with(|| {
            worst.push((&r.area, &r.rule, r.status));
            worst.len() - 1
        });
        if order(r.status) < order(worst[i].2) {
            worst[i].2 = r.status;
        }
    }
    let mut names: Vec<&str> = rank.keys().copied().collect();
    names.sort_by_key(|a| rank.get(a).copied().unwrap_or(usize::MAX));
    if names.is_empty() {
        return;
    }
    let _ = writeln!(out, "By area");
    let _ = writeln!(out, "-------");
    let pad = names.iter().map(|a| a.chars().count()).max().unwrap_or(0);
    for a in names {
        let rules: Vec<Status> = worst
            .iter()
            .filter(|(area, _, _)| *area == a)
            .map(|w| w.2)
            .collect();
        let counts: Vec<String> = [
            Status::Fail,
            Status::Error,
            Status::Waived,
            Status::Skip,
            Status::Pass,
        ]
        .iter()
        .filter_map(|s| {
            let n = rules.iter().filter(|x| *x == s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
        let line = format!(
            "{:<pad$}  {}: {}",
            printable(a),
            plural(rules.len(), "rule"),
            counts.join(", ")
        );
        let _ = writeln!(out, "{}", wrap(&line, width, 0));
    }
    out.push('\n');
}

/// Remediation once per failing rule, most severe first; once per different text when the texts
/// name each failure's node or object. With the API server down, K8S001's fix comes first.
fn how_to_fix(
    out: &mut String,
    report: &Report,
    style: Style,
    width: usize,
    api: Option<&RuleResult>,
) {
    let mut failing: Vec<Vec<&RuleResult>> = Vec::new();
    if let Some(a) = api {
        failing.push(vec![a]);
    }
    let mut at: HashMap<&str, usize> = HashMap::new();
    if style.show.unwrap_or_default().has(Status::Fail) {
        for r in report.results.iter().filter(|r| r.status == Status::Fail) {
            let i = *at.entry(&r.rule).or_insert_with(|| {
                failing.push(Vec::new());
                failing.len() - 1
            });
            failing[i].push(r);
        }
    }
    if failing.is_empty() {
        return;
    }
    let first_api = api.is_some();
    // The API server's fix first (nothing else was checked), then by severity.
    failing.sort_by_key(|rs| {
        (
            !(first_api && &*rs[0].rule == super::API_RULE),
            std::cmp::Reverse(rs[0].severity),
        )
    });
    let _ = writeln!(out, "How to fix");
    let _ = writeln!(out, "----------");
    for rs in failing {
        let r = rs[0];
        let head = format!("{} {} ({})", r.rule, printable(&r.title), r.severity);
        if style.color {
            let _ = writeln!(out, "\x1b[1m{head}\x1b[0m");
        } else {
            let _ = writeln!(out, "{head}");
        }
        let groups = super::fix_groups(&rs);
        if let [(text, _)] = groups.as_slice() {
            for line in printable(text).lines() {
                fix_line(out, line, width, 4);
            }
        } else {
            for (text, targets) in groups.iter().take(super::FIXES_SHOWN) {
                let names = printable(&super::some_targets(targets)).into_owned();
                let _ = writeln!(out, "{}:", wrap(&names, width, 4));
                for line in printable(text).lines() {
                    fix_line(out, line, width, 6);
                }
            }
            let rest: usize = groups
                .iter()
                .skip(super::FIXES_SHOWN)
                .map(|(_, t)| t.len())
                .sum();
            if rest > 0 {
                let _ = writeln!(
                    out,
                    "{}",
                    wrap(
                        &format!(
                            "… and {rest} more target(s): every result carries its own fix in --format json and html"
                        ),
                        width,
                        4
                    )
                );
            }
        }
        out.push('\n');
    }
}

/// One line of a fix, indented; a line wider than the terminal is broken at spaces with a shell
/// continuation (` \\`), so a command still pastes as one.
fn fix_line(out: &mut String, line: &str, width: usize, indent: usize) {
    let pad = " ".repeat(indent);
    if indent + line.chars().count() <= width {
        let _ = writeln!(out, "{pad}{line}");
        return;
    }
    // Room on a line for the text and ` \`; continuation lines are indented two more.
    let room = width.saturating_sub(indent + 4).max(20);
    let lead: String = line.chars().take_while(|c| *c == ' ').collect();
    let mut lines: Vec<String> = Vec::new();
    let mut cur = lead.clone();
    for word in line.trim_start_matches(' ').split(' ') {
        let extra = usize::from(cur.len() > lead.len());
        if cur.len() > lead.len() && cur.chars().count() + extra + word.chars().count() > room {
            lines.push(std::mem::replace(&mut cur, lead.clone()));
        } else if extra == 1 {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    lines.push(cur);
    let last = lines.len() - 1;
    for (i, l) in lines.iter().enumerate() {
        let more = if i < last { " \\" } else { "" };
        let cont = if i > 0 { "  " } else { "" };
        let _ = writeln!(out, "{pad}{cont}{l}{more}");
    }
}

/// `--by node`: the nodes with failures or errors first (most failures first), each with its
/// counts and its failing and erroring rows; nodes with neither are counted on one line.
fn by_node(out: &mut String, report: &Report, style: Style, width: usize) {
    #[derive(Default)]
    struct Node<'a> {
        fail: usize,
        error: usize,
        skip: usize,
        pass: usize,
        waived: usize,
        worst: Option<Severity>,
        rows: Vec<&'a RuleResult>,
    }
    let mut nodes: HashMap<&str, Node> = HashMap::new();
    for r in &report.results {
        let Some(n) = r.node() else {
            continue;
        };
        let e = nodes.entry(n).or_default();
        match r.status {
            Status::Fail => e.fail += 1,
            Status::Error => e.error += 1,
            Status::Skip => e.skip += 1,
            Status::Pass => e.pass += 1,
            Status::Waived => e.waived += 1,
        }
        if matches!(r.status, Status::Fail | Status::Error) {
            e.worst = e.worst.max(Some(r.severity));
            if style.show.unwrap_or_default().has(r.status) {
                e.rows.push(r);
            }
        }
    }
    let mut list: Vec<(&str, Node)> = nodes.into_iter().collect();
    list.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.1.worst),
            std::cmp::Reverse(a.1.fail),
            std::cmp::Reverse(a.1.error),
            a.0,
        )
            .cmp(&(
                std::cmp::Reverse(b.1.worst),
                std::cmp::Reverse(b.1.fail),
                std::cmp::Reverse(b.1.error),
                b.0,
            ))
    });
    heading(out, "By node", style);
    let mut quiet = 0;
    for (name, n) in &list {
        if n.fail == 0 && n.error == 0 {
            quiet += 1;
            continue;
        }
        let mut counts = Vec::new();
        for (k, v) in [
            ("fail", n.fail),
            ("error", n.error),
            ("waived", n.waived),
            ("skip", n.skip),
            ("pass", n.pass),
        ] {
            if v > 0 {
                counts.push(format!("{v} {k}"));
            }
        }
        let _ = writeln!(
            out,
            "{}",
            wrap(
                &format!("{}: {}", printable(name), counts.join(", ")),
                width,
                0
            )
        );
        for r in &n.rows {
            let g = Group::of(vec![*r]);
            group_rows(out, style, width, &g);
        }
    }
    if quiet > 0 {
        let _ = writeln!(
            out,
            "{} with no failure and no error",
            plural(quiet, "other node")
        );
    }
    if list.is_empty() {
        let _ = writeln!(out, "no result names a node");
    }
    out.push('\n');
}

fn distinct_rules<'a>(rows: &[&'a RuleResult]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = Vec::new();
    for r in rows {
        if !ids.contains(&r.rule.as_ref()) {
            ids.push(&r.rule);
        }
    }
    ids
}

/// `1 result`, `2 results`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn count_rules(results: &[RuleResult]) -> usize {
    let mut ids: Vec<&str> = results.iter().map(|r| r.rule.as_ref()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_indents() {
        let w = wrap("aaa bbb ccc ddd", 30, 0);
        assert_eq!(w, "aaa bbb ccc ddd");
        let w = wrap(&"word ".repeat(20), 30, 4);
        assert!(w.lines().all(|l| l.chars().count() <= 30), "{w}");
        assert!(w.lines().all(|l| l.starts_with("    ")), "{w}");
    }

    #[test]
    fn a_long_word_is_cut_to_the_width() {
        let w = wrap(&"x".repeat(100), 40, 7);
        assert!(w.lines().all(|l| l.chars().count() <= 40), "{w}");
        assert_eq!(w.chars().filter(|c| *c == 'x').count(), 100);
    }
}
