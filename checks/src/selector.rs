//! Kubernetes LabelSelector semantics (`matchLabels` + `matchExpressions`), as the API server and
//! controllers apply them. Used wherever a rule asks "which nodes does this object select?".

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// One `matchExpressions` requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed LabelSelector. The empty selector matches everything (API semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses `{matchLabels: {...}, matchExpressions: [...]}`. `null` or absent is the empty
    /// selector. Errors name the offending field.
    pub fn parse(v: Option<&Value>) -> Result<LabelSelector, String> {
        let mut sel = LabelSelector::default();
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(sel);
        };
        let obj = v
            .as_object()
            .ok_or_else(|| format!("label selector must be a mapping, found {v}"))?;
        if let Some(ml) = obj.get("matchLabels").filter(|m| !m.is_null()) {
            let ml = ml
                .as_object()
                .ok_or("matchLabels must be a mapping of strings")?;
            for (k, val) in ml {
                let s = match val {
                    Value::String(s) => s.clone(),
                    // A YAML `true` reaches us as a boolean; the API would have refused it, but
                    // a dump edited by hand may carry it.
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(format!("matchLabels.{k} must be a string, found {other}"));
                    }
                };
                sel.match_labels.insert(k.clone(), s);
            }
        }
        if let Some(me) = obj.get("matchExpressions").filter(|m| !m.is_null()) {
            let list = me.as_array().ok_or("matchExpressions must be a list")?;
            for (i, e) in list.iter().enumerate() {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("matchExpressions[{i}].key is missing"))?
                    .to_string();
                let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let r = match op {
                    "In" if !values.is_empty() => Requirement::In(key, values),
                    "NotIn" if !values.is_empty() => Requirement::NotIn(key, values),
                    "In" | "NotIn" => {
                        return Err(format!(
                            "matchExpressions[{i}] ({key} {op}) needs a non-empty `values`"
                        ));
                    }
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::DoesNotExist(key),
                    other => {
                        return Err(format!(
                            "matchExpressions[{i}].operator `{other}` is not In, NotIn, Exists or DoesNotExist"
                        ));
                    }
                };
                sel.expressions.push(r);
            }
        }
        Ok(sel)
    }

    /// A plain `map[string]string` selector (Service.spec.selector, SR-IOV policy nodeSelector).
    pub fn from_map(v: Option<&Value>) -> LabelSelector {
        LabelSelector {
            match_labels: crate::object::string_map(v)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            expressions: vec![],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether labels satisfy every term (AND of all of them).
    pub fn matches(&self, labels: &BTreeMap<&str, &str>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k.as_str()) == Some(&v.as_str()))
            && self.expressions.iter().all(|r| match r {
                Requirement::In(k, vs) => labels
                    .get(k.as_str())
                    .is_some_and(|l| vs.iter().any(|v| v == l)),
                // NotIn matches objects without the key, as in Kubernetes.
                Requirement::NotIn(k, vs) => labels
                    .get(k.as_str())
                    .is_none_or(|l| !vs.iter().any(|v| v == l)),
                Requirement::Exists(k) => labels.contains_key(k.as_str()),
                Requirement::DoesNotExist(k) => !labels.contains_key(k.as_str()),
            })
    }
}

impl fmt::Display for LabelSelector {
    /// kubectl's selector syntax: `a=b,c in (x,y),!d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(everything)");
        }
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for r in &self.expressions {
            parts.push(match r {
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::DoesNotExist(k) => format!("!{k}"),
            });
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&'static str, &'static str)]) -> BTreeMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn match_labels_and_every_operator() {
        let s = LabelSelector::parse(Some(&json!({
        "matchLabels": {"role": "runai"},
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a", "b"]},
            {"key": "tier", "operator": "NotIn", "values": ["old"]},
            {"key": "gpu", "operator": "Exists"},
            {"key": "cordon", "operator": "DoesNotExist"}
        ]})))
        .unwrap();
        let ok = labels(&[("role", "runai"), ("zone", "a"), ("gpu", "")]);
        assert!(s.matches(&ok));
        let mut l = ok.clone();
        l.insert("zone", "c");
        assert!(!s.matches(&l), "In");
        let mut l = ok.clone();
        l.insert("tier", "old");
        assert!(!s.matches(&l), "NotIn");
        let mut l = ok.clone();
        l.remove("gpu");
        assert!(!s.matches(&l), "Exists");
        let mut l = ok.clone();
        l.insert("cordon", "1");
        assert!(!s.matches(&l), "DoesNotExist");
        let mut l = ok.clone();
        l.insert("role", "other");
        assert!(!s.matches(&l), "matchLabels");
        assert_eq!(
            s.to_string(),
            "role=runai,zone in (a,b),tier notin (old),gpu,!cordon"
        );
    }

    #[test]
    fn empty_selects_all_and_bad_operators_are_errors() {
        assert!(LabelSelector::parse(None).unwrap().matches(&labels(&[])));
        assert!(LabelSelector::parse(Some(&json!({}))).unwrap().is_empty());
        let e = LabelSelector::parse(Some(&json!({"matchExpressions": [
            {"key": "a", "operator": "Gt", "values": ["1"]}]})))
        .unwrap_err();
        assert!(e.contains("Gt"), "{e}");
        assert!(
            LabelSelector::parse(Some(&json!({"matchExpressions": [
            {"key": "a", "operator": "In"}]})))
            .is_err()
        );
    }
}
