//! How a kind's typed view is read and what of an object it keeps.
//!
//! A view is a plain serde struct (`#[serde(default)]`, only the fields rules read). Its
//! [`Schema`] is traced from the struct itself, and the parse-time [`Shape`] that pruning keeps
//! is derived from that schema: what is kept and what is read are one list, so a field a view
//! reads cannot be dropped.
//!
//! Reading never fails. Everything from the cluster is hostile input, and a view reads it as a
//! JSON pointer would: a field that is missing, `null` or of another type reads as `None` (or
//! as the field's default), a list element that does not fit is skipped (an element that
//! should be an object reads as the object's defaults), a map entry that does not fit is
//! skipped. Strings are borrowed from the stored object.

use crate::shape::Shape;
use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, Error};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The fields a view reads, with the JSON type each expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    Str,
    I64,
    U64,
    F64,
    Bool,
    /// A `serde_json::Value` or `IgnoredAny`: all of it, whatever it is.
    Any,
    Option(Box<Schema>),
    Seq(Box<Schema>),
    /// A map with string keys.
    Map(Box<Schema>),
    Struct(Vec<(&'static str, Schema)>),
}

impl Schema {
    /// Both schemas' fields (`self`'s where both name a field with different types).
    pub fn merge(&self, other: &Schema) -> Schema {
        match (self, other) {
            (Schema::Struct(a), Schema::Struct(b)) => {
                let mut out = a.clone();
                for (k, s) in b {
                    match out.iter_mut().find(|(n, _)| n == k) {
                        Some((_, mine)) => *mine = mine.merge(s),
                        None => out.push((k, s.clone())),
                    }
                }
                Schema::Struct(out)
            }
            (Schema::Option(a), b) => Schema::Option(Box::new(a.merge(b))),
            (a, Schema::Option(b)) => a.merge(b),
            (a, _) => a.clone(),
        }
    }

    /// The shape parsing keeps of a value read with this schema. Leaked once per kind.
    pub fn shape(&self) -> &'static Shape {
        match self.shape_owned() {
            Shape::All => &Shape::All,
            s => Box::leak(Box::new(s)),
        }
    }

    fn shape_owned(&self) -> Shape {
        match self {
            Schema::Struct(fields) => {
                let keys: Vec<(&'static str, Shape)> =
                    fields.iter().map(|(k, s)| (*k, s.shape_owned())).collect();
                Shape::Only(Box::leak(keys.into_boxed_slice()))
            }
            Schema::Option(s) => s.shape_owned(),
            Schema::Seq(e) => match e.shape_owned() {
                Shape::All => Shape::All,
                s => Shape::Each(Box::leak(Box::new(s))),
            },
            _ => Shape::All,
        }
    }

    /// Whether `v` is read as present (`Some`) where an `Option` of this schema is read.
    fn fits(&self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => false,
            (Schema::Str, v) => v.is_string(),
            (Schema::I64, v) => v.as_i64().is_some(),
            (Schema::U64, v) => v.as_u64().is_some(),
            (Schema::F64, v) => v.is_number(),
            (Schema::Bool, v) => v.is_boolean(),
            (Schema::Option(s), v) => s.fits(v),
            // As a pointer: present whatever it is (a non-object reads as the defaults).
            (Schema::Any | Schema::Seq(_) | Schema::Map(_) | Schema::Struct(_), _) => true,
        }
    }

    /// Whether a list element is read: leaves that do not fit are skipped; objects are kept
    /// even when they are not objects (as `array[i].get(..)` reads `None` there).
    fn keeps_element(&self, v: &Value) -> bool {
        match self {
            Schema::Struct(_) | Schema::Any => true,
            s => s.fits(v),
        }
    }
}

/// Reads a view of `v`. Never fails: see the module documentation.
pub fn read<'a, V: Deserialize<'a> + Default>(v: &'a Value, schema: &Schema) -> V {
    V::deserialize(Reader { v, s: schema }).unwrap_or_default()
}

/// The schema of a view type, traced from its `Deserialize` implementation.
pub fn trace<T: Deserialize<'static>>() -> Schema {
    let mut out = None;
    // Tracing calls every visitor with a value of the type it asks for; it cannot fail for a
    // view made of the supported types (a test traces every view).
    let _ = T::deserialize(Tracer { out: &mut out });
    out.unwrap_or(Schema::Any)
}

// ----- tracing -----

struct Tracer<'s> {
    out: &'s mut Option<Schema>,
}

impl Tracer<'_> {
    fn leaf(self, s: Schema) {
        *self.out = Some(s);
    }
}

struct TraceStruct {
    fields: &'static [&'static str],
    at: usize,
    acc: Vec<(&'static str, Schema)>,
}

impl<'de> MapAccess<'de> for TraceStruct {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, k: K) -> Result<Option<K::Value>, Error> {
        match self.fields.get(self.at) {
            Some(f) => k.deserialize(BorrowedStrDeserializer::new(f)).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, v: V) -> Result<V::Value, Error> {
        let mut slot = None;
        let r = v.deserialize(Tracer { out: &mut slot });
        if let Some(f) = self.fields.get(self.at) {
            self.acc.push((f, slot.unwrap_or(Schema::Any)));
        }
        self.at += 1;
        r
    }
}

/// One element (a list) or one entry (a map), traced.
struct TraceOne {
    done: bool,
    slot: Option<Schema>,
}

impl<'de> SeqAccess<'de> for TraceOne {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        seed.deserialize(Tracer {
            out: &mut self.slot,
        })
        .map(Some)
    }
}

impl<'de> MapAccess<'de> for TraceOne {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, k: K) -> Result<Option<K::Value>, Error> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        k.deserialize(BorrowedStrDeserializer::new("")).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, v: V) -> Result<V::Value, Error> {
        v.deserialize(Tracer {
            out: &mut self.slot,
        })
    }
}

impl<'de> Deserializer<'de> for Tracer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf(Schema::Any);
        v.visit_unit()
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf(Schema::Bool);
        v.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf(Schema::I64);
        v.visit_i64(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf(Schema::U64);
        v.visit_u64(0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf(Schema::F64);
        v.visit_f64(0.0)
    }
    fn deserialize_char<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("a kind view reads no char"))
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf(Schema::Str);
        v.visit_borrowed_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("a kind view reads no bytes"))
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("a kind view reads no bytes"))
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let mut slot = None;
        let r = v.visit_some(Tracer { out: &mut slot });
        *self.out = Some(Schema::Option(Box::new(slot.unwrap_or(Schema::Any))));
        r
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let mut one = TraceOne {
            done: false,
            slot: None,
        };
        let r = v.visit_seq(&mut one);
        *self.out = Some(Schema::Seq(Box::new(one.slot.unwrap_or(Schema::Any))));
        r
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("a kind view reads no tuple"))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::custom("a kind view reads no tuple"))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let mut one = TraceOne {
            done: false,
            slot: None,
        };
        let r = v.visit_map(&mut one);
        *self.out = Some(Schema::Map(Box::new(one.slot.unwrap_or(Schema::Any))));
        r
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let mut m = TraceStruct {
            fields,
            at: 0,
            acc: Vec::new(),
        };
        let r = v.visit_map(&mut m);
        *self.out = Some(Schema::Struct(m.acc));
        r
    }
    /// Its first variant, as a string (parameters name unit variants).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.leaf(Schema::Str);
        let first = variants.first().copied().unwrap_or("");
        v.visit_enum(de::value::StrDeserializer::<Error>::new(first))
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
}

// ----- reading -----

struct Reader<'a, 's> {
    v: &'a Value,
    s: &'s Schema,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// A struct's fields, in the schema's order, those present and not `null`.
struct Fields<'a, 's> {
    m: &'a Map<String, Value>,
    fields: &'s [(&'static str, Schema)],
    at: usize,
    value: Option<(&'a Value, &'s Schema)>,
}

impl<'a> MapAccess<'a> for Fields<'a, '_> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, k: K) -> Result<Option<K::Value>, Error> {
        while let Some((name, s)) = self.fields.get(self.at) {
            self.at += 1;
            if let Some(v) = self.m.get(*name).filter(|v| !v.is_null()) {
                self.value = Some((v, s));
                return k.deserialize(BorrowedStrDeserializer::new(name)).map(Some);
            }
        }
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some((v, s)) => seed.deserialize(Reader { v, s }),
            None => Err(de::Error::custom("a value without a key")),
        }
    }
}

/// A map's entries whose values fit.
struct Entries<'a, 's, I> {
    it: I,
    s: &'s Schema,
    value: Option<&'a Value>,
}

impl<'a, I: Iterator<Item = (&'a String, &'a Value)>> MapAccess<'a> for Entries<'a, '_, I> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, k: K) -> Result<Option<K::Value>, Error> {
        for (key, v) in self.it.by_ref() {
            if self.s.keeps_element(v) {
                self.value = Some(v);
                return k.deserialize(BorrowedStrDeserializer::new(key)).map(Some);
            }
        }
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Reader { v, s: self.s }),
            None => Err(de::Error::custom("a value without a key")),
        }
    }
}

/// A list's elements that fit.
struct Elements<'s, I> {
    it: I,
    s: &'s Schema,
}

impl<'a, I: Iterator<Item = &'a Value>> SeqAccess<'a> for Elements<'_, I> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        for v in self.it.by_ref() {
            if self.s.keeps_element(v) {
                return seed.deserialize(Reader { v, s: self.s }).map(Some);
            }
        }
        Ok(None)
    }
}

const ANY: &Schema = &Schema::Any;

impl<'a> Deserializer<'a> for Reader<'a, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.v.deserialize_any(v).map_err(de::Error::custom)
    }
    fn deserialize_ignored_any<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bool(self.v.as_bool().unwrap_or_default())
    }
    fn deserialize_i8<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i16<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i32<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_i64(v)
    }
    fn deserialize_i64<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_i64(self.v.as_i64().unwrap_or_default())
    }
    fn deserialize_u8<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u16<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u32<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_u64<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u64(self.v.as_u64().unwrap_or_default())
    }
    fn deserialize_f32<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }
    fn deserialize_f64<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_f64(self.v.as_f64().unwrap_or_default())
    }
    fn deserialize_char<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_str<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_borrowed_str(self.v.as_str().unwrap_or_default())
    }
    fn deserialize_string<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_byte_buf<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_option<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        let inner = match self.s {
            Schema::Option(s) => s,
            s => s,
        };
        if inner.fits(self.v) {
            v.visit_some(Reader {
                v: self.v,
                s: inner,
            })
        } else {
            v.visit_none()
        }
    }
    fn deserialize_unit<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        let s = match self.s {
            Schema::Seq(e) => e,
            _ => ANY,
        };
        let items = self.v.as_array().map(Vec::as_slice).unwrap_or_default();
        v.visit_seq(Elements {
            it: items.iter(),
            s,
        })
    }
    fn deserialize_tuple<V: Visitor<'a>>(self, _: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_map<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        let s = match self.s {
            Schema::Map(e) => e,
            _ => ANY,
        };
        let m: &'a Map<String, Value> = self.v.as_object().unwrap_or(&EMPTY);
        v.visit_map(Entries {
            it: m.iter(),
            s,
            value: None,
        })
    }
    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let (m, fields): (&'a Map<String, Value>, &[(&'static str, Schema)]) =
            match (self.v.as_object(), self.s) {
                (Some(m), Schema::Struct(fields)) => (m, fields),
                _ => (&EMPTY, &[]),
            };
        v.visit_map(Fields {
            m,
            fields,
            at: 0,
            value: None,
        })
    }
    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(v)
    }
    fn deserialize_identifier<V: Visitor<'a>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, rename_all = "camelCase")]
    struct Sample<'a> {
        #[serde(borrow)]
        name: Option<&'a str>,
        replicas: Option<i64>,
        ready: bool,
        #[serde(borrow)]
        labels: BTreeMap<&'a str, &'a str>,
        #[serde(borrow)]
        names: Vec<&'a str>,
        #[serde(borrow)]
        items: Vec<Item<'a>>,
        #[serde(borrow)]
        spec: Option<Item<'a>>,
        raw: Option<Value>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Item<'a> {
        #[serde(borrow)]
        name: Option<&'a str>,
    }

    #[test]
    fn traces_every_field_with_its_type() {
        let s = trace::<Sample<'static>>();
        let Schema::Struct(fields) = &s else {
            panic!("{s:?}")
        };
        let names: Vec<_> = fields.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "name", "replicas", "ready", "labels", "names", "items", "spec", "raw"
            ]
        );
        assert_eq!(fields[0].1, Schema::Option(Box::new(Schema::Str)));
        assert_eq!(fields[3].1, Schema::Map(Box::new(Schema::Str)));
        assert_eq!(
            fields[5].1,
            Schema::Seq(Box::new(Schema::Struct(vec![(
                "name",
                Schema::Option(Box::new(Schema::Str))
            )])))
        );
        assert_eq!(fields[7].1, Schema::Option(Box::new(Schema::Any)));
    }

    /// Read as a JSON pointer reads: wrong types and `null` are absent, never an error.
    #[test]
    fn reads_hostile_values_as_a_pointer_would() {
        let s = trace::<Sample<'static>>();
        let v = json!({"name": 3, "replicas": "three", "ready": "yes",
            "labels": {"a": "b", "n": 1, "z": null}, "names": ["x", 2, null, "y"],
            "items": ["not an object", {"name": "i"}, null, [1]], "spec": [1, 2], "raw": null});
        let got: Sample = read(&v, &s);
        assert_eq!(
            got,
            Sample {
                labels: BTreeMap::from([("a", "b")]),
                names: vec!["x", "y"],
                items: vec![
                    Item::default(),
                    Item { name: Some("i") },
                    Item::default(),
                    Item::default()
                ],
                spec: Some(Item::default()),
                ..Sample::default()
            }
        );
        let text = json!("a string");
        let got: Sample = read(&text, &s);
        assert_eq!(got, Sample::default());
        let good = json!({"name": "n", "replicas": 2, "raw": {"k": [1]}});
        let got: Sample = read(&good, &s);
        assert_eq!(got.name, Some("n"));
        assert_eq!(got.replicas, Some(2));
        assert_eq!(got.raw, Some(json!({"k": [1]})));
    }

    #[test]
    fn the_shape_keeps_exactly_the_fields() {
        #[derive(Debug, Default, Deserialize)]
        #[serde(default)]
        #[allow(dead_code)]
        struct Top<'a> {
            #[serde(borrow)]
            items: Vec<Item<'a>>,
            #[serde(borrow)]
            labels: BTreeMap<&'a str, &'a str>,
        }
        let shape = trace::<Top<'static>>().shape();
        assert!(matches!(shape.key("labels"), Shape::All));
        assert!(matches!(shape.key("other"), Shape::Nothing));
        let Shape::Each(item) = shape.key("items") else {
            panic!("{shape:?}")
        };
        assert!(matches!(item.key("name"), Shape::All));
        assert!(matches!(item.key("image"), Shape::Nothing));
    }
}
