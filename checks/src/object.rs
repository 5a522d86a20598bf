//! A Kubernetes object as the rules see it: the (pruned) JSON the API server returned.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A pruned Kubernetes object. Serialized exactly as `kubectl get -o json` would show it, minus
/// what no rule reads (managed fields, images lists, secret values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Object(pub Value);

impl Object {
    pub fn new(v: Value) -> Self {
        Object(v)
    }
    pub fn name(&self) -> &str {
        self.str_at("/metadata/name").unwrap_or("")
    }
    pub fn namespace(&self) -> Option<&str> {
        self.str_at("/metadata/namespace")
    }
    pub fn kind(&self) -> &str {
        self.str_at("/kind").unwrap_or("")
    }
    /// Value at a JSON pointer (`/spec/replicas`).
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.0.pointer(pointer).filter(|v| !v.is_null())
    }
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.at(pointer).and_then(Value::as_str)
    }
    pub fn i64_at(&self, pointer: &str) -> Option<i64> {
        self.at(pointer).and_then(Value::as_i64)
    }
    pub fn bool_at(&self, pointer: &str) -> Option<bool> {
        self.at(pointer).and_then(Value::as_bool)
    }
    pub fn array_at(&self, pointer: &str) -> &[Value] {
        self.at(pointer)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    pub fn labels(&self) -> BTreeMap<&str, &str> {
        string_map(self.at("/metadata/labels"))
    }
    pub fn label(&self, key: &str) -> Option<&str> {
        self.at("/metadata/labels")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
    }
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.at("/metadata/annotations")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
    }
    /// `namespace/name`, or `name` for cluster-scoped objects.
    pub fn qualified_name(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{ns}/{}", self.name()),
            None => self.name().to_string(),
        }
    }
}

/// Reads a JSON object of string values (labels, annotations, ConfigMap data).
pub fn string_map(v: Option<&Value>) -> BTreeMap<&str, &str> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s)))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses a Kubernetes quantity as the rules need it (device counts, `110`, `8`, `1k`).
/// Fractional and binary-suffixed values are accepted; the result is rounded down.
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_read_nested_fields() {
        let o = Object(
            json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"x": "1"}},
                              "spec": {"replicas": 3}}),
        );
        assert_eq!(o.qualified_name(), "ns/a");
        assert_eq!(o.i64_at("/spec/replicas"), Some(3));
        assert_eq!(o.label("x"), Some("1"));
        assert_eq!(o.str_at("/spec/missing"), None);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("8"), Some(8.0));
        assert_eq!(parse_quantity("1k"), Some(1000.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("abc"), None);
    }
}
