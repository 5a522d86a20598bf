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

/// One requirement of a core/v1 NodeSelectorTerm.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NodeOp {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    Gt(i64),
    Lt(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeReq {
    key: String,
    op: NodeOp,
}

/// A core/v1 NodeSelector, as nv-ipam IPPools and node affinity carry it: `nodeSelectorTerms`
/// are ORed; within a term, `matchExpressions` (labels) and `matchFields` (only `metadata.name`)
/// are ANDed; an empty term matches no node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSelector {
    terms: Vec<(Vec<NodeReq>, Vec<NodeReq>)>,
}

impl NodeSelector {
    /// Parses `{nodeSelectorTerms: [{matchExpressions: [...], matchFields: [...]}]}`. Errors name
    /// the offending field.
    pub fn parse(v: &Value) -> Result<NodeSelector, String> {
        let terms = v
            .get("nodeSelectorTerms")
            .ok_or("nodeSelectorTerms is missing")?
            .as_array()
            .ok_or("nodeSelectorTerms must be a list")?;
        let reqs = |t: &Value, field: &str, i: usize| -> Result<Vec<NodeReq>, String> {
            let Some(list) = t.get(field).filter(|l| !l.is_null()) else {
                return Ok(vec![]);
            };
            let list = list
                .as_array()
                .ok_or_else(|| format!("nodeSelectorTerms[{i}].{field} must be a list"))?;
            list.iter()
                .enumerate()
                .map(|(j, e)| {
                    let at = format!("nodeSelectorTerms[{i}].{field}[{j}]");
                    let key = e
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{at}.key is missing"))?
                        .to_string();
                    let values: Vec<String> = e
                        .get("values")
                        .and_then(Value::as_array)
                        .map(|vs| {
                            vs.iter()
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let number = || -> Result<i64, String> {
                        match values.as_slice() {
                            [one] => one
                                .parse()
                                .map_err(|_| format!("{at}: `{one}` is not an integer")),
                            _ => Err(format!("{at}: Gt/Lt take exactly one value")),
                        }
                    };
                    let op = match e.get("operator").and_then(Value::as_str) {
                        Some("In") => NodeOp::In(values.clone()),
                        Some("NotIn") => NodeOp::NotIn(values.clone()),
                        Some("Exists") => NodeOp::Exists,
                        Some("DoesNotExist") => NodeOp::DoesNotExist,
                        Some("Gt") => NodeOp::Gt(number()?),
                        Some("Lt") => NodeOp::Lt(number()?),
                        Some(other) => return Err(format!("{at}.operator `{other}` is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt")),
                        None => return Err(format!("{at}.operator is missing")),
                    };
                    Ok(NodeReq { key, op })
                })
                .collect()
        };
        let mut out = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            out.push((reqs(t, "matchExpressions", i)?, reqs(t, "matchFields", i)?));
        }
        Ok(NodeSelector { terms: out })
    }

    /// Whether the node (name and labels) satisfies any term.
    pub fn matches(&self, name: &str, labels: &BTreeMap<&str, &str>) -> bool {
        let holds = |r: &NodeReq, value: Option<&str>| match &r.op {
            NodeOp::In(vs) => value.is_some_and(|v| vs.iter().any(|x| x == v)),
            NodeOp::NotIn(vs) => value.is_none_or(|v| !vs.iter().any(|x| x == v)),
            NodeOp::Exists => value.is_some(),
            NodeOp::DoesNotExist => value.is_none(),
            NodeOp::Gt(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *n),
            NodeOp::Lt(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *n),
        };
        self.terms.iter().any(|(exprs, fields)| {
            !(exprs.is_empty() && fields.is_empty())
                && exprs
                    .iter()
                    .all(|r| holds(r, labels.get(r.key.as_str()).copied()))
                && fields
                    .iter()
                    .all(|r| r.key == "metadata.name" && holds(r, Some(name)))
        })
    }
}

impl fmt::Display for NodeSelector {
    /// Terms joined by ` or `, each in kubectl's selector syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let term = |(exprs, fields): &(Vec<NodeReq>, Vec<NodeReq>)| {
            let parts: Vec<String> = exprs
                .iter()
                .chain(fields)
                .map(|r| match &r.op {
                    NodeOp::In(vs) => format!("{} in ({})", r.key, vs.join(",")),
                    NodeOp::NotIn(vs) => format!("{} notin ({})", r.key, vs.join(",")),
                    NodeOp::Exists => r.key.clone(),
                    NodeOp::DoesNotExist => format!("!{}", r.key),
                    NodeOp::Gt(n) => format!("{}>{n}", r.key),
                    NodeOp::Lt(n) => format!("{}<{n}", r.key),
                })
                .collect();
            if parts.is_empty() {
                "(no node)".to_string()
            } else {
                parts.join(",")
            }
        };
        let terms: Vec<String> = self.terms.iter().map(term).collect();
        if terms.is_empty() {
            f.write_str("(no node)")
        } else {
            f.write_str(&terms.join(" or "))
        }
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

    #[test]
    fn node_selector_terms_are_ored_and_requirements_anded() {
        let sel = NodeSelector::parse(&json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "role", "operator": "In", "values": ["gpu"]},
                                  {"key": "nics", "operator": "Gt", "values": ["4"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["cpu-07"]}]}
        ]}))
        .unwrap();
        assert!(sel.matches("dgx-1", &labels(&[("role", "gpu"), ("nics", "8")])));
        assert!(!sel.matches("dgx-2", &labels(&[("role", "gpu"), ("nics", "2")])));
        assert!(!sel.matches("dgx-3", &labels(&[("role", "gpu")])));
        assert!(sel.matches("cpu-07", &labels(&[])));
        assert!(!sel.matches("cpu-08", &labels(&[("role", "cpu")])));
        assert_eq!(
            sel.to_string(),
            "role in (gpu),nics>4 or metadata.name in (cpu-07)"
        );
        let not = NodeSelector::parse(&json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "mgmt", "operator": "DoesNotExist"},
                                  {"key": "zone", "operator": "NotIn", "values": ["a"]}]}]}))
        .unwrap();
        assert!(not.matches("n", &labels(&[])));
        assert!(!not.matches("n", &labels(&[("zone", "a")])));
        // An empty term matches no node, as in the scheduler.
        let empty = NodeSelector::parse(&json!({"nodeSelectorTerms": [{}]})).unwrap();
        assert!(!empty.matches("n", &labels(&[("a", "b")])));
    }

    #[test]
    fn malformed_node_selectors_name_the_field() {
        let e = |v: Value| NodeSelector::parse(&v).unwrap_err();
        assert!(e(json!({})).contains("nodeSelectorTerms is missing"));
        assert!(e(json!({"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Near"}]}]}))
            .contains("nodeSelectorTerms[0].matchExpressions[0].operator `Near`"));
        assert!(e(json!({"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["x"]}]}]}))
            .contains("not an integer"));
    }
}
