//! Parsing to a shape: building only the parts of a JSON value that are kept, reading the rest
//! as strictly and dropping it. What each kind keeps is derived in [`crate::kinds`].

use serde::de::DeserializeSeed;
use serde_json::{Map, Value};

/// What of a value is built while parsing; the rest is read as strictly (see [`Discard`]) and
/// dropped. A shape that does not fit the value (a map's shape on a list...) keeps all of it,
/// so parsing to a shape never decides what `prune` keeps: it only avoids building what
/// `prune` would drop anyway.
#[derive(Debug)]
pub enum Shape {
    /// All of it.
    All,
    /// None of it.
    Nothing,
    /// A map: only these keys, each to its shape.
    Only(&'static [(&'static str, Shape)]),
    /// A map: every key, these to their shapes.
    But(&'static [(&'static str, Shape)]),
    /// A list: every element to this shape.
    Each(&'static Shape),
}

impl Shape {
    /// The shape of the value under `key`, when this shape applies to a map.
    pub fn key(&self, key: &str) -> &Shape {
        let find = |keys: &'static [(&'static str, Shape)]| {
            keys.iter().find(|(k, _)| *k == key).map(|(_, s)| s)
        };
        match self {
            Shape::Only(keys) => find(keys).unwrap_or(&Shape::Nothing),
            Shape::But(keys) => find(keys).unwrap_or(&Shape::All),
            _ => &Shape::All,
        }
    }
}

/// What [`Skipping`] builds of a value already parsed: the same value, as if parsed to `shape`.
pub fn keep(shape: &Shape, v: Value) -> Value {
    match (shape, v) {
        (Shape::Only(_) | Shape::But(_), Value::Object(m)) => Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| match shape.key(&k) {
                    Shape::Nothing => None,
                    s => Some((k, keep(s, v))),
                })
                .collect(),
        ),
        (Shape::Each(each), Value::Array(a)) => {
            Value::Array(a.into_iter().map(|v| keep(each, v)).collect())
        }
        // All of it, or a shape that does not fit the value: all of it (as `Skipping`).
        (_, v) => v,
    }
}

/// Deserializes a value to a [`Shape`]. What is built is exactly what `serde_json::Value`
/// would build there, and what is dropped is read as strictly (see [`Discard`]).
#[derive(Clone, Copy)]
pub struct Skipping {
    pub shape: &'static Shape,
}

impl<'de> serde::de::DeserializeSeed<'de> for Skipping {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.shape {
            Shape::All => <Value as serde::Deserialize>::deserialize(d),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> serde::de::Visitor<'de> for Skipping {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = m.next_key_seed(Key)? {
            match self.shape.key(&k) {
                Shape::Nothing => m.next_value_seed(Discard)?,
                shape => {
                    let v = m.next_value_seed(Skipping { shape })?;
                    out.insert(k.into_owned(), v);
                }
            }
        }
        Ok(Value::Object(out))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let each = match self.shape {
            Shape::Each(shape) => Skipping { shape },
            _ => Skipping { shape: &Shape::All },
        };
        let mut out = Vec::new();
        while let Some(v) = s.next_element_seed(each)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Value, E> {
        <Value as serde::Deserialize>::deserialize(serde::de::value::I128Deserializer::new(v))
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Value, E> {
        <Value as serde::Deserialize>::deserialize(serde::de::value::U128Deserializer::new(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
}

/// Reads a value and keeps nothing, accepting and rejecting exactly what deserializing a
/// `serde_json::Value` would (keys must be strings, numbers in range, escapes valid), so a value
/// skipped is never more lenient than one built. `serde::de::IgnoredAny` is not: it takes any
/// key, and serde_json skips numbers and escapes without checking them.
#[derive(Clone, Copy)]
pub struct Discard;

impl<'de> serde::de::DeserializeSeed<'de> for Discard {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A map key, read as `serde_json::Value` reads one (a string), borrowed from the input where
/// it can be: the keys of what is dropped cost no allocation.
struct Key;

impl<'de> serde::de::DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v))
    }
}

/// A map key, read as `serde_json::Value` reads one (a string) and dropped.
struct DiscardKey;

impl<'de> serde::de::DeserializeSeed<'de> for DiscardKey {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_string(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DiscardKey {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for Discard {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while m.next_key_seed(DiscardKey)?.is_some() {
            m.next_value_seed(Discard)?;
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        while s.next_element_seed(Discard)?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<(), E> {
        Skipping {
            shape: &Shape::Nothing,
        }
        .visit_i128(v)
        .map(drop)
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<(), E> {
        Skipping {
            shape: &Shape::Nothing,
        }
        .visit_u128(v)
        .map(drop)
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}
