//! The RDMA shared device plugin's `config.json` (a ConfigMap's data), validated against the
//! plugin's schema (RULES.md): every error is named by its JSON path.

use serde_json::Value;

const SELECTOR_KEYS: &[&str] = &["vendors", "deviceIDs", "drivers", "ifNames", "linkTypes"];
const ITEM_KEYS: &[&str] = &[
    "resourceName",
    "resourcePrefix",
    "rdmaHcaMax",
    "selectors",
    "devices",
];

/// The result of validating a `config.json`.
#[derive(Debug, Default, PartialEq)]
pub struct Validated {
    /// `$.configList[0].resourceName: ...` messages.
    pub errors: Vec<String>,
    /// Extended resource names it advertises: `rdma/roce`.
    pub resources: Vec<String>,
}

/// Validates the plugin config text against the schema in RULES.md.
pub fn validate_config(text: &str) -> Validated {
    let mut out = Validated::default();
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(format!(
                "$: not valid JSON (line {} column {}): {e}",
                e.line(),
                e.column()
            ));
            return out;
        }
    };
    let Some(top) = v.as_object() else {
        out.errors.push("$: expected an object".into());
        return out;
    };
    if let Some(p) = top.get("periodicUpdateInterval")
        && p.as_i64().is_none_or(|n| n < 0)
    {
        out.errors.push(format!(
            "$.periodicUpdateInterval: expected an integer >= 0, found {p}"
        ));
    }
    for k in top.keys() {
        if k != "periodicUpdateInterval" && k != "configList" {
            out.errors.push(format!(
                "$.{k}: unknown field (known: periodicUpdateInterval, configList)"
            ));
        }
    }
    let list = match top.get("configList") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => {
            out.errors
                .push("$.configList: empty; at least one resource is required".into());
            return out;
        }
        Some(other) => {
            out.errors
                .push(format!("$.configList: expected a list, found {other}"));
            return out;
        }
        None => {
            out.errors.push("$.configList: required".into());
            return out;
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in list.iter().enumerate() {
        let path = format!("$.configList[{i}]");
        let Some(m) = item.as_object() else {
            out.errors.push(format!("{path}: expected an object"));
            continue;
        };
        for k in m.keys() {
            if !ITEM_KEYS.contains(&k.as_str()) {
                out.errors.push(format!(
                    "{path}.{k}: unknown field (known: {})",
                    ITEM_KEYS.join(", ")
                ));
            }
        }
        let name = match m.get("resourceName") {
            Some(Value::String(s)) if valid_name(s) => {
                if !seen.insert(s.clone()) {
                    out.errors.push(format!(
                        "{path}.resourceName: `{s}` is used by an earlier entry; names must be unique"
                    ));
                }
                Some(s.clone())
            }
            Some(Value::String(s)) => {
                out.errors.push(format!(
                    "{path}.resourceName: `{s}` must match ^[a-zA-Z0-9_]+$"
                ));
                None
            }
            Some(other) => {
                out.errors.push(format!(
                    "{path}.resourceName: expected a string, found {other}"
                ));
                None
            }
            None => {
                out.errors.push(format!("{path}.resourceName: required"));
                None
            }
        };
        let prefix = match m.get("resourcePrefix") {
            None => "rdma".to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                out.errors.push(format!(
                    "{path}.resourcePrefix: expected a non-empty string, found {other}"
                ));
                "rdma".to_string()
            }
        };
        if let Some(h) = m.get("rdmaHcaMax")
            && h.as_i64().is_none_or(|n| n < 0)
        {
            out.errors.push(format!(
                "{path}.rdmaHcaMax: expected an integer >= 0, found {h}"
            ));
        }
        match (m.get("selectors"), m.get("devices")) {
            (Some(_), Some(_)) => out.errors.push(format!(
                "{path}: has both `selectors` and deprecated `devices`; give exactly one"
            )),
            (None, None) => out.errors.push(format!(
                "{path}: needs `selectors` (or deprecated `devices`) to choose devices"
            )),
            (Some(sel), None) => match sel.as_object() {
                Some(sm) => {
                    for (k, v) in sm {
                        if !SELECTOR_KEYS.contains(&k.as_str()) {
                            out.errors.push(format!(
                                "{path}.selectors.{k}: unknown selector (the plugin ignores it; known: {})",
                                SELECTOR_KEYS.join(", ")
                            ));
                        } else if !string_list(v) {
                            out.errors.push(format!(
                                "{path}.selectors.{k}: expected a list of strings, found {v}"
                            ));
                        }
                    }
                }
                None => out
                    .errors
                    .push(format!("{path}.selectors: expected an object, found {sel}")),
            },
            (None, Some(d)) => {
                if !string_list(d) {
                    out.errors.push(format!(
                        "{path}.devices: expected a list of interface names, found {d}"
                    ));
                }
            }
        }
        if let Some(n) = name {
            out.resources.push(format!("{prefix}/{n}"));
        }
    }
    out
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn string_list(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().all(|x| x.is_string()))
}
