//! The text renderers over hostile values: control characters in, none out.

use super::*;
use gpu_preflight_checks::{Cause, Status};
use proptest::prelude::*;
use std::sync::Arc;

fn result(rule: &str, status: Status, target: String, message: String, ev: String) -> RuleResult {
    RuleResult {
        rule: Arc::from(rule),
        name: Arc::from("a-name"),
        title: Arc::from(ev.as_str()),
        area: Arc::from("Networking"),
        severity: Severity::Error,
        status,
        target,
        message,
        expected: Some(ev.clone()),
        observed: Some(ev.clone()),
        remediation: Arc::from(format!("kubectl fix {ev}")),
        waiver: (status == Status::Waived).then(|| ev.clone()),
        cause: Cause::default_for(status),
    }
}

/// Any character, control characters (C0, DEL, C1, ESC) and bidi overrides often.
fn hostile() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('x')),
        (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('x')),
        Just('\u{1b}'),
        Just('\u{202e}'),
        Just('<'),
        Just('|'),
        Just('`'),
        any::<char>(),
    ];
    proptest::collection::vec(c, 0..40).prop_map(|v| v.into_iter().collect())
}

fn unsafe_out(s: &str) -> Option<char> {
    s.chars().find(|c| {
        (c.is_control() && *c != '\n' && *c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// A `<` that is not one of the renderer's own tags, outside fenced code (where it is text).
fn markup_outside_fences(md: &str) -> Option<String> {
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        if ticks.len() >= 3 {
            match &fence {
                Some(f) if *f == ticks && line == ticks => fence = None,
                None => fence = Some(ticks),
                _ => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let rest = ["<br>", "<details>", "</details>", "<summary>", "</summary>"]
            .iter()
            .fold(line.to_string(), |l, t| l.replace(t, ""));
        if rest.contains('<') {
            return Some(line.to_string());
        }
    }
    None
}

proptest! {
    #[test]
    fn text_renderers_print_no_control_character(
        target in hostile(), message in hostile(), ev in hostile(), width in 20usize..200,
    ) {
        let results = vec![
            result("NET001", Status::Fail, format!("node/{target}"), message.clone(), ev.clone()),
            result("NET002", Status::Error, target.clone(), message.clone(), ev.clone()),
            result("NET003", Status::Skip, format!("node/a{target}"), message.clone(), ev.clone()),
            result("NET003", Status::Skip, format!("node/b{target}"), message.clone(), ev.clone()),
            result("LB001", Status::Waived, target.clone(), message.clone(), ev.clone()),
            result("LB002", Status::Pass, target.clone(), message.clone(), ev.clone()),
        ];
        let mut report = Report::new(results, ev.clone(), ev.clone(), "both".into());
        report.generated_at = "2026-12-07T00:00:00Z".into();
        for by_node in [false, true] {
            let style = Style { width, show: Some(Show::ALL), by_node, ..Style::default() };
            let table = table::render(&report, style);
            prop_assert_eq!(unsafe_out(&table), None, "table: {:?}", table);
            let md = markdown::render(&report, style);
            prop_assert_eq!(unsafe_out(&md), None, "markdown: {:?}", md);
            prop_assert!(markup_outside_fences(&md).is_none(), "markdown markup: {md}");
        }
    }
}

#[test]
fn printable_replaces_escapes_and_keeps_text() {
    assert_eq!(printable("ok\ttab\nline"), "ok\ttab\nline");
    assert_eq!(printable("a\u{1b}[2Jb"), "a\u{FFFD}[2Jb");
    assert_eq!(
        printable("\u{9b}31m\u{7}\u{202e}"),
        "\u{FFFD}31m\u{FFFD}\u{FFFD}"
    );
}

#[test]
fn show_parses_statuses_and_all() {
    let s = Show::parse("fail,error").unwrap();
    assert!(s.has(Status::Fail) && s.has(Status::Error) && !s.has(Status::Skip));
    assert_eq!(Show::parse("all").unwrap(), Show::ALL);
    assert!(Show::parse("").is_err());
    assert!(
        Show::parse("fial")
            .unwrap_err()
            .contains("unknown status `fial`")
    );
}
