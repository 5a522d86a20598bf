//! The wire format of a LIST page, read as it streams: the continue token first (so the next page
//! is requested at once), then each item the interest keeps, pruned to its kind's view as it is
//! read.

use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::object::Object;
use gpu_preflight_checks::prune::prune;
use serde::Deserialize;
use serde_json::Value;

/// A page's continue token, read before its items are parsed so the next page is requested at
/// once. Reading stops at `metadata`, which the API server writes before `items`; the parser
/// reads the whole page and reports a malformed one.
pub(super) fn continue_token(text: &str) -> Result<Option<String>, serde_json::Error> {
    use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, Visitor};
    const STOP: &str = "gpu-preflight: metadata read";
    struct V<'a>(&'a mut Option<ListMeta>);
    impl<'de> Visitor<'de> for V<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a Kubernetes list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "metadata" {
                    *self.0 = Some(m.next_value()?);
                    return Err(A::Error::custom(STOP));
                }
                m.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut meta = None;
    let res = serde_json::Deserializer::from_str(text).deserialize_map(V(&mut meta));
    match (res, meta) {
        (_, Some(m)) => Ok(m.continue_.filter(|c| !c.is_empty())),
        (Ok(()), None) => Ok(None),
        (Err(e), None) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
}

/// Parses one page: each item the interest keeps, with apiVersion/kind restored and pruned as
/// soon as it is read, so a page never holds more than one unpruned object.
pub(super) fn parse_page(
    text: &str,
    kind: &'static ResourceKind,
    api_version: &str,
    interest: &Interest,
) -> Result<Vec<Object>, serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    #[derive(Clone, Copy)]
    struct Ctx<'a> {
        kind: &'static ResourceKind,
        api_version: &'a str,
        interest: &'a Interest,
    }

    struct PageV<'a>(Ctx<'a>);
    impl<'de> Visitor<'de> for PageV<'_> {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a Kubernetes list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Vec<Object>, A::Error> {
            let mut items = Vec::new();
            while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "items" {
                    items = m.next_value_seed(Items(self.0))?;
                } else {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            Ok(items)
        }
    }

    struct Items<'a>(Ctx<'a>);
    impl<'de> DeserializeSeed<'de> for Items<'_> {
        type Value = Vec<Object>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Items<'_> {
        type Value = Vec<Object>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Object>, A::Error> {
            let Ctx {
                kind,
                api_version,
                interest,
            } = self.0;
            let mut out = Vec::new();
            // What prune would drop (node images, VF lists...) is never built.
            let shape = gpu_preflight_checks::prune::shape_at_parse(kind.key);
            while let Some(mut item) =
                seq.next_element_seed(gpu_preflight_checks::prune::Skipping { shape })?
            {
                if !interest.keeps(kind.key, &item) {
                    continue;
                }
                if let Some(m) = item.as_object_mut() {
                    // List items carry no apiVersion/kind; restore them so snapshots read like
                    // kubectl's.
                    m.entry("apiVersion")
                        .or_insert_with(|| Value::String(api_version.to_string()));
                    m.entry("kind")
                        .or_insert_with(|| Value::String(kind.kind.to_string()));
                }
                out.push(Object(prune(kind.key, item)));
            }
            Ok(out)
        }
        /// `"items": null`, as some servers write an empty list.
        fn visit_unit<E>(self) -> Result<Vec<Object>, E> {
            Ok(Vec::new())
        }
    }

    let ctx = Ctx {
        kind,
        api_version,
        interest,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let items = (&mut de).deserialize_map(PageV(ctx))?;
    de.end()?;
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::continue_token;

    #[test]
    fn continue_token_is_read_from_metadata_wherever_it_is() {
        let first = r#"{"kind":"PodList","metadata":{"continue":"abc","remainingItemCount":3},"items":[{"a":1}]}"#;
        assert_eq!(continue_token(first).unwrap().as_deref(), Some("abc"));
        // The rest of the page is not read here: a page cut after its metadata still gives the
        // token (the parser reports the cut).
        assert_eq!(
            continue_token(r#"{"metadata":{"continue":"abc"},"items":[{"a":"#)
                .unwrap()
                .as_deref(),
            Some("abc")
        );
        let after = r#"{"items":[{"a":[1,2]}],"metadata":{"continue":"x"}}"#;
        assert_eq!(continue_token(after).unwrap().as_deref(), Some("x"));
        assert_eq!(
            continue_token(r#"{"metadata":{"continue":""},"items":[]}"#).unwrap(),
            None
        );
        assert_eq!(continue_token(r#"{"items":[]}"#).unwrap(), None);
        assert!(continue_token(r#"{"items":[{"a":"#).is_err());
        assert!(continue_token("<html>").is_err());
        assert!(continue_token(r#"{"metadata":{"continue":5}}"#).is_err());
    }
}
