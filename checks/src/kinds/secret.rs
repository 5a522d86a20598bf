//! Secret: what rules may know of one — type, key names, registry hosts (with whether each has
//! a credential) and certificate hashes. [`redact`] replaces every Secret by that summary as it
//! arrives; no value is ever kept, so the view is of the redacted form, not of the API object.

use crate::shape::Shape;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The kind key.
pub const KEY: &str = "secrets";

/// What [`redact`] reads, parsed: everything but managed fields (it lists every annotation's
/// name, the last-applied one included).
pub static AT_PARSE: Shape =
    Shape::But(&[("metadata", Shape::But(&[("managedFields", Shape::Nothing)]))]);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Secret<'a> {
    #[serde(borrow, rename = "type")]
    pub type_: Option<&'a str>,
    #[serde(borrow)]
    pub summary: Summary<'a>,
}
view!(Secret<'a>, "secrets");

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Summary<'a> {
    #[serde(borrow)]
    pub dockerconfig: Option<DockerConfig<'a>>,
    /// SHA-256 of the DER of the first certificate in `tls.crt`.
    #[serde(borrow)]
    pub tls_leaf_sha256: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DockerConfig<'a> {
    /// Why the docker config could not be read.
    #[serde(borrow)]
    pub error: Option<&'a str>,
    #[serde(borrow)]
    pub registries: Vec<Registry<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Registry<'a> {
    #[serde(borrow)]
    pub server: Option<&'a str>,
    pub has_password: Option<bool>,
    pub has_auth: Option<bool>,
}

/// Replaces a Secret by what rules may know of it: type, key names, registry hosts (with whether
/// they carry credentials) and the SHA-256 of a `tls.crt`. No value survives.
pub fn redact(obj: &Value) -> Value {
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    let mut metadata = pick(
        meta,
        &[
            "name",
            "namespace",
            "labels",
            "creationTimestamp",
            "resourceVersion",
        ],
    );
    if let Some(ann) = meta.get("annotations").and_then(Value::as_object) {
        // Annotation values can embed data (last-applied); keep names only.
        let names: Vec<Value> = ann.keys().map(|k| json!(k)).collect();
        metadata["annotationKeys"] = Value::Array(names);
    }
    let data = obj.get("data").and_then(Value::as_object);
    let string_data = obj.get("stringData").and_then(Value::as_object);
    let mut keys: Vec<String> = data
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(sd) = string_data {
        keys.extend(sd.keys().cloned());
    }
    keys.sort();
    keys.dedup();

    let value_of = |k: &str| -> Option<Vec<u8>> {
        if let Some(s) = data.and_then(|d| d.get(k)).and_then(Value::as_str) {
            return base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok();
        }
        string_data
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .map(|s| s.as_bytes().to_vec())
    };

    let mut summary = json!({ "keys": keys });
    if let Some(raw) = value_of(".dockerconfigjson").or_else(|| value_of(".dockercfg")) {
        summary["dockerconfig"] = summarize_dockerconfig(&raw);
    }
    if let Some(crt) = value_of("tls.crt") {
        summary["tlsCrtSha256"] = json!(crate::cert::sha256_hex(&crt));
        // The served leaf is compared as DER (TLS005); the file hash above covers PEM bytes.
        if let Some(leaf) = first_pem_cert(&crt) {
            summary["tlsLeafSha256"] = json!(crate::cert::sha256_hex(&leaf));
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": obj.get("type").cloned().unwrap_or(json!("Opaque")),
        "summary": summary,
    })
}

/// Registry hosts of a docker config and whether each has a credential, never the credential.
fn summarize_dockerconfig(raw: &[u8]) -> Value {
    let parsed: Result<Value, _> = serde_json::from_slice(raw);
    let Ok(v) = parsed else {
        return json!({"error": "not valid JSON"});
    };
    // `.dockerconfigjson` nests under `auths`; legacy `.dockercfg` is the map itself.
    let auths = v.get("auths").or(Some(&v)).and_then(Value::as_object);
    let Some(auths) = auths else {
        return json!({"error": "no `auths` object"});
    };
    let registries: Vec<Value> = auths
        .iter()
        .map(|(server, entry)| {
            let nonempty = |k: &str| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
            };
            json!({
                "server": server,
                "hasUsername": nonempty("username"),
                "hasPassword": nonempty("password"),
                "hasAuth": nonempty("auth"),
            })
        })
        .collect();
    json!({ "registries": registries })
}

fn pick(src: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    if let Some(m) = src.as_object() {
        for k in keys {
            if let Some(v) = m.get(*k) {
                out.insert((*k).to_string(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// DER of the first certificate in PEM text (a `tls.crt` holds leaf first, then intermediates).
fn first_pem_cert(pem: &[u8]) -> Option<Vec<u8>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .next()
        .and_then(Result::ok)
        .map(|c| c.to_vec())
}
