//! TLS004: before loading them into the ingress, the certificate and key files agree, the file's
//! chain is complete to the CA bundle, and the certificate is valid for the FQDN.

use super::{Ctx, Needs, TypedCheck};
use crate::cert::{self, NameMatch};
use crate::context::ProbeNeeds;
use crate::fix::FixVariant;
use crate::model::Finding;
use crate::probe::unb64;
use serde::Deserialize;

pub struct TlsFiles;

/// The cases with their own fix (see [`TypedCheck::FIXES`]).
pub const FIX_CERT_UNREADABLE: &str = "cert-unreadable";
pub const FIX_KEY_UNREADABLE: &str = "key-unreadable";
pub const FIX_KEY_MISMATCH: &str = "key-mismatch";
pub const FIX_CHAIN: &str = "chain-unverified";
pub const FIX_CA_UNUSABLE: &str = "ca-unusable";
pub const FIX_NAME: &str = "name-mismatch";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for TlsFiles {
    type Params = Params;
    const NAME: &'static str = "tls_files";
    const SUMMARY: &'static str =
        "The certificate/key files to be loaded match, chain to the CA bundle and name the FQDN.";
    const FIXES: &'static [FixVariant] = &[
        FixVariant {
            key: FIX_CERT_UNREADABLE,
            when: "the certificate file is missing, unreadable or holds no usable certificate",
        },
        FixVariant {
            key: FIX_KEY_UNREADABLE,
            when: "the key file is missing, unreadable or holds no usable private key",
        },
        FixVariant {
            key: FIX_KEY_MISMATCH,
            when: "the private key does not match the certificate",
        },
        FixVariant {
            key: FIX_CHAIN,
            when: "the file's chain does not verify to the CA bundle",
        },
        FixVariant {
            key: FIX_CA_UNUSABLE,
            when: "the CA bundle cannot be read or holds no certificate",
        },
        FixVariant {
            key: FIX_NAME,
            when: "the certificate is not valid for the FQDN by its SAN",
        },
    ];

    fn needs(_: &Params) -> Needs {
        Needs::default().probing(ProbeNeeds {
            cert_files: true,
            ca_bundle: true,
            ..ProbeNeeds::default()
        })
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let Some(p) = &ctx.facts.probes else {
            return vec![Finding::skip(
                "endpoint",
                "the input has no certificate file facts: give `platform.cert` (and `platform.key`) in the site file",
            )];
        };
        let Some(files) = &p.cert_files else {
            return vec![Finding::skip(
                "endpoint",
                "the site file gives no `platform.cert`: nothing to check before loading",
            )];
        };
        let path = &files.cert.path;
        let target = format!("file/{path}");
        if let Some(e) = &files.cert.error {
            return vec![
                Finding::fail(&target, format!("certificate file {path}: {e}"))
                    .fix(FIX_CERT_UNREADABLE),
            ];
        }
        let chain = match cert::decode_all(&files.cert.certs) {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => {
                return vec![
                    Finding::fail(
                        &target,
                        format!("certificate file {path} holds no certificate"),
                    )
                    .fix(FIX_CERT_UNREADABLE),
                ];
            }
            Err(e) => {
                return vec![Finding::error(
                    &target,
                    format!("recorded certificate file is corrupt: {e}"),
                )];
            }
        };
        let leaf = match cert::parse(&chain[0]) {
            Ok(l) => l,
            Err(e) => {
                return vec![
                    Finding::fail(
                        &target,
                        format!(
                            "certificate file {path}: the first certificate cannot be parsed: {e}"
                        ),
                    )
                    .fix(FIX_CERT_UNREADABLE),
                ];
            }
        };
        let mut problems = Vec::new();
        let mut notes = Vec::new();
        let mut observed = Vec::new();
        let mut cases = Vec::new();

        match (&files.key_path, &files.key_error, &files.key_public) {
            (Some(k), Some(e), _) => {
                problems.push(format!("key file {k}: {e}"));
                observed.push("key unusable".to_string());
                cases.push(FIX_KEY_UNREADABLE);
            }
            (Some(k), None, Some(pk)) => {
                if unb64(pk).ok().as_deref() == Some(leaf.spki.as_slice()) {
                    observed.push("key matches".into());
                } else {
                    problems.push(format!(
                        "the private key in {k} does not match the certificate in {path} (different public key): the ingress would refuse to load the pair"
                    ));
                    observed.push("key does not match".into());
                    cases.push(FIX_KEY_MISMATCH);
                }
            }
            _ => notes.push("no `platform.key` given, so the key was not compared".to_string()),
        }

        match super::tls_chain::anchors(p) {
            Ok((anchors, bundle)) => match cert::verify_chain(&chain, &anchors, p.collected_at) {
                Ok(path_) => observed.push(format!("chain: {}", path_.join(" ← "))),
                Err(problem) => {
                    problems.push(format!(
                        "the chain in {path} does not verify to {bundle}: {}",
                        problem.message()
                    ));
                    observed.push(format!("chain: {}", problem.code()));
                    cases.push(FIX_CHAIN);
                }
            },
            Err(f) if p.ca_bundle.is_some() => {
                problems.push(f.message);
                observed.push("CA bundle unusable".into());
                cases.push(FIX_CA_UNUSABLE);
            }
            Err(_) => notes
                .push("no `platform.ca_bundle` given, so the chain was not verified".to_string()),
        }

        match ctx.site.platform.fqdn.as_ref().map(|f| f.as_str()) {
            Some(fqdn) => match cert::match_name(&leaf, fqdn) {
                NameMatch::San(_) => observed.push(format!("valid for {fqdn}")),
                NameMatch::CnOnly => {
                    problems.push(format!("{path} names {fqdn} only in its CN; clients match the SAN, so reissue it with subjectAltName DNS:{fqdn}"));
                    observed.push("CN only".into());
                    cases.push(FIX_NAME);
                }
                NameMatch::Mismatch => {
                    problems.push(format!(
                        "name mismatch: {path} is not valid for {fqdn} ({})",
                        cert::describe_names(&leaf)
                    ));
                    observed.push("name mismatch".into());
                    cases.push(FIX_NAME);
                }
            },
            None => notes.push("no `platform.fqdn` given, so the name was not checked".to_string()),
        }

        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        let f = if problems.is_empty() {
            Finding::pass(
                &target,
                format!("{path}: certificate and key are consistent{note}"),
            )
        } else {
            cases.into_iter().fold(
                Finding::fail(&target, format!("{}{note}", problems.join("; "))),
                Finding::fix,
            )
        };
        vec![
            f.expected(
                "key matches the certificate, chain complete to the CA bundle, SAN covers the FQDN",
            )
            .observed(observed.join(", ")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::testpki::{self, NOW};
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::probe::{CertFiles, PemFile, Probes, b64};
    use crate::site::Site;

    const DAY: i64 = 86_400;

    fn run(chain: &[&[u8]], key_spki: &[u8], bundle: &[u8]) -> Finding {
        let facts = Facts {
            probes: Some(Probes {
                collected_at: NOW,
                ca_bundle: Some(PemFile {
                    path: "ca.pem".into(),
                    certs: vec![b64(bundle)],
                    error: None,
                }),
                cert_files: Some(CertFiles {
                    cert: PemFile {
                        path: "runai.pem".into(),
                        certs: chain.iter().map(|d| b64(d)).collect(),
                        error: None,
                    },
                    key_path: Some("runai.key".into()),
                    key_public: Some(b64(key_spki)),
                    key_error: None,
                }),
                ..Probes::default()
            }),
            ..Facts::default()
        };
        let s = Site::parse("platform:\n  fqdn: runai.example.com\n").unwrap();
        TlsFiles::eval(
            &Ctx {
                facts: &facts,
                site: &s,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn consistent_files_pass() {
        let root = testpki::ca("Root");
        let int = testpki::intermediate("Issuing", &root);
        let leaf = testpki::leaf(
            "runai.example.com",
            &["runai.example.com"],
            NOW - DAY,
            NOW + 90 * DAY,
            &int,
        );
        let f = run(
            &[&leaf.der, &int.der],
            &rcgen::PublicKeyData::subject_public_key_info(&leaf.key),
            &root.der,
        );
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert_eq!(f.target, "file/runai.pem");
    }

    #[test]
    fn wrong_key_missing_intermediate_and_name_fail_together() {
        let root = testpki::ca("Root");
        let int = testpki::intermediate("Issuing", &root);
        let leaf = testpki::leaf("x", &["other.example.com"], NOW - DAY, NOW + 90 * DAY, &int);
        let stranger = testpki::self_signed("s", &["s"]);
        let f = run(
            &[&leaf.der],
            &rcgen::PublicKeyData::subject_public_key_info(&stranger.key),
            &root.der,
        );
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains(
                "the private key in runai.key does not match the certificate in runai.pem"
            ),
            "{}",
            f.message
        );
        assert!(f.message.contains("incomplete chain"), "{}", f.message);
        assert!(
            f.message
                .contains("name mismatch: runai.pem is not valid for runai.example.com"),
            "{}",
            f.message
        );
        assert_eq!(
            f.observed.as_deref(),
            Some("key does not match, chain: incomplete chain, name mismatch")
        );
    }
}
