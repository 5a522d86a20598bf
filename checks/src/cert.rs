//! Certificate analysis for the TLS rules: fields (x509-parser), host name matching (RFC 6125)
//! and chain verification to a CA bundle (rustls-webpki) with the precise reason it fails.
//! Pure: certificates come in as DER from facts, and the evaluation time is a parameter.

use rustls_pki_types::{CertificateDer, UnixTime};
use std::net::IpAddr;
use std::time::Duration;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// What the rules need to know about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub cn: Option<String>,
    pub dns_names: Vec<String>,
    pub ip_addrs: Vec<IpAddr>,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    /// Subject equals issuer (self-signed or self-issued).
    pub self_issued: bool,
    /// `None` when the certificate has no extended key usage extension (any use allowed).
    pub server_auth: Option<bool>,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
}

/// Parses one DER certificate.
pub fn parse(der: &[u8]) -> Result<CertInfo, String> {
    let (rest, c) =
        X509Certificate::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the certificate", rest.len()));
    }
    let mut dns_names = Vec::new();
    let mut ip_addrs = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns_names.push((*d).to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => ip_addrs.push(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())),
                    16 => ip_addrs.push(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let cn = c
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string);
    let server_auth = match c.extended_key_usage() {
        Ok(Some(eku)) => Some(eku.value.server_auth || eku.value.any),
        _ => None,
    };
    Ok(CertInfo {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        cn,
        dns_names,
        ip_addrs,
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        is_ca: c.is_ca(),
        self_issued: c.subject().as_raw() == c.issuer().as_raw(),
        server_auth,
        sha256: sha256_hex(der),
        spki: c.public_key().raw.to_vec(),
    })
}

/// Decodes base64 DER blobs from facts.
pub fn decode_all(b64: &[String]) -> Result<Vec<Vec<u8>>, String> {
    b64.iter()
        .enumerate()
        .map(|(i, s)| crate::probe::unb64(s).map_err(|e| format!("certificate {}: {e}", i + 1)))
        .collect()
}

/// Whether a SAN/CN pattern covers the host, per RFC 6125 §6.4: case-insensitive, a wildcard
/// only as the whole left-most label and matching exactly one label, never `*.tld`.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.trim_end_matches('.').to_ascii_lowercase();
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(suffix) = p.strip_prefix("*.") {
        if !suffix.contains('.') || suffix.contains('*') {
            return false;
        }
        match h.split_once('.') {
            Some((first, rest)) => !first.is_empty() && rest == suffix,
            None => false,
        }
    } else {
        !p.contains('*') && p == h
    }
}

/// How a certificate relates to the name clients use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// A SAN DNS entry covers the name (the entry).
    San(String),
    /// No SAN DNS entries; only the CN names the host (clients ignore CN).
    CnOnly,
    Mismatch,
}

pub fn match_name(info: &CertInfo, fqdn: &str) -> NameMatch {
    if let Some(n) = info.dns_names.iter().find(|n| name_matches(n, fqdn)) {
        return NameMatch::San(n.clone());
    }
    if info.dns_names.is_empty() && info.cn.as_deref().is_some_and(|cn| name_matches(cn, fqdn)) {
        return NameMatch::CnOnly;
    }
    NameMatch::Mismatch
}

/// The names a certificate carries, for messages: `SAN [a, b], CN x`.
pub fn describe_names(info: &CertInfo) -> String {
    let mut san: Vec<String> = info.dns_names.clone();
    san.extend(info.ip_addrs.iter().map(|i| format!("IP:{i}")));
    format!(
        "SAN [{}], CN {}",
        san.join(", "),
        info.cn.as_deref().unwrap_or("(none)")
    )
}

/// Why a chain does not verify to the CA bundle. Each variant has its own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    NoCertificates,
    NoAnchors,
    Unparsable(String),
    /// The leaf is self-signed and not itself in the bundle.
    SelfSigned {
        subject: String,
    },
    /// The server sent only end-entity certificates and the bundle has no CA that issued them.
    MissingIntermediate {
        issuer: String,
    },
    /// The chain leads to a CA the bundle does not contain.
    UnknownIssuer {
        issuer: String,
        anchors: Vec<String>,
    },
    Expired {
        subject: String,
        not_after: i64,
    },
    NotYetValid {
        subject: String,
        not_before: i64,
    },
    BadSignature {
        subject: String,
    },
    WrongKeyUsage {
        detail: String,
    },
    Other(String),
}

impl ChainProblem {
    /// Short reason code, stable for tests and JSON consumers.
    pub fn code(&self) -> &'static str {
        match self {
            ChainProblem::NoCertificates => "no certificates",
            ChainProblem::NoAnchors => "empty CA bundle",
            ChainProblem::Unparsable(_) => "unparsable certificate",
            ChainProblem::SelfSigned { .. } => "self-signed",
            ChainProblem::MissingIntermediate { .. } => "incomplete chain",
            ChainProblem::UnknownIssuer { .. } => "unknown issuer",
            ChainProblem::Expired { .. } => "expired",
            ChainProblem::NotYetValid { .. } => "not yet valid",
            ChainProblem::BadSignature { .. } => "bad signature",
            ChainProblem::WrongKeyUsage { .. } => "wrong key usage",
            ChainProblem::Other(_) => "invalid",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ChainProblem::NoCertificates => "no certificate was presented".into(),
            ChainProblem::NoAnchors => "the CA bundle holds no certificate".into(),
            ChainProblem::Unparsable(e) => format!("a certificate cannot be parsed: {e}"),
            ChainProblem::SelfSigned { subject } => format!(
                "self-signed: the leaf `{subject}` signed itself and is not in the CA bundle"
            ),
            ChainProblem::MissingIntermediate { issuer } => format!(
                "incomplete chain: the intermediate `{issuer}` that issued the leaf was not sent and is not in the CA bundle; serve leaf + intermediate(s) in the certificate file"
            ),
            ChainProblem::UnknownIssuer { issuer, anchors } => format!(
                "unknown issuer: the chain ends at `{issuer}`, which is not in the CA bundle (bundle holds {})",
                crate::text::list(anchors)
            ),
            ChainProblem::Expired { subject, not_after } => {
                format!("expired: `{subject}` was valid until {}", date(*not_after))
            }
            ChainProblem::NotYetValid {
                subject,
                not_before,
            } => {
                format!(
                    "not yet valid: `{subject}` is valid from {}",
                    date(*not_before)
                )
            }
            ChainProblem::BadSignature { subject } => format!(
                "bad signature: `{subject}` names a CA of the bundle as issuer, but that CA's key did not sign it"
            ),
            ChainProblem::WrongKeyUsage { detail } => {
                format!(
                    "wrong key usage: {detail}; a server certificate needs extendedKeyUsage serverAuth"
                )
            }
            ChainProblem::Other(e) => format!("does not verify: {e}"),
        }
    }
}

/// Verifies `chain` (leaf first) to `anchors` at Unix time `now`, for TLS server use.
/// The subject name is not checked here (that is TLS001); returns the verified path's subjects.
pub fn verify_chain(
    chain: &[Vec<u8>],
    anchors: &[Vec<u8>],
    now: i64,
) -> Result<Vec<String>, ChainProblem> {
    let Some(leaf_der) = chain.first() else {
        return Err(ChainProblem::NoCertificates);
    };
    let infos: Vec<CertInfo> = chain
        .iter()
        .map(|d| parse(d))
        .collect::<Result<_, _>>()
        .map_err(ChainProblem::Unparsable)?;
    let anchor_infos: Vec<CertInfo> = anchors
        .iter()
        .map(|d| parse(d))
        .collect::<Result<_, _>>()
        .map_err(|e| ChainProblem::Unparsable(format!("CA bundle: {e}")))?;
    if anchors.is_empty() {
        return Err(ChainProblem::NoAnchors);
    }
    let anchor_ders: Vec<CertificateDer> = anchors
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let trust: Vec<_> = anchor_ders
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<_, _>>()
        .map_err(|e| ChainProblem::Unparsable(format!("CA bundle: {e}")))?;
    let leaf_cd = CertificateDer::from(leaf_der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&leaf_cd)
        .map_err(|e| ChainProblem::Unparsable(format!("leaf: {e}")))?;
    let inter: Vec<CertificateDer> = chain[1..]
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
    let res = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &trust,
        &inter,
        time,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    );
    match res {
        Ok(path) => {
            let mut subjects = vec![infos[0].subject.clone()];
            for c in path.intermediate_certificates() {
                if let Ok(i) = parse(c.der().as_ref()) {
                    subjects.push(i.subject);
                }
            }
            if let Some(a) = anchor_infos.iter().find(|a| {
                let last = subjects.len() - 1;
                infos
                    .iter()
                    .find(|i| i.subject == subjects[last])
                    .is_some_and(|i| i.issuer == a.subject)
            }) {
                subjects.push(a.subject.clone());
            }
            Ok(subjects)
        }
        Err(e) => Err(classify(e, &infos, &anchor_infos, now)),
    }
}

fn classify(e: webpki::Error, infos: &[CertInfo], anchors: &[CertInfo], now: i64) -> ChainProblem {
    use webpki::Error as E;
    let leaf = &infos[0];
    let anchor_subjects: Vec<String> = anchors.iter().map(|a| format!("`{}`", a.subject)).collect();
    match e {
        E::CertExpired { .. } => {
            let c = infos.iter().find(|i| i.not_after < now).unwrap_or(leaf);
            ChainProblem::Expired {
                subject: c.subject.clone(),
                not_after: c.not_after,
            }
        }
        E::CertNotValidYet { .. } => {
            let c = infos.iter().find(|i| i.not_before > now).unwrap_or(leaf);
            ChainProblem::NotYetValid {
                subject: c.subject.clone(),
                not_before: c.not_before,
            }
        }
        E::InvalidSignatureForPublicKey => {
            let c = infos
                .iter()
                .find(|i| anchors.iter().any(|a| a.subject == i.issuer))
                .unwrap_or(leaf);
            ChainProblem::BadSignature {
                subject: c.subject.clone(),
            }
        }
        #[allow(deprecated)]
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => ChainProblem::WrongKeyUsage {
            detail: format!(
                "`{}` does not allow TLS server authentication",
                infos
                    .iter()
                    .find(|i| i.server_auth == Some(false))
                    .unwrap_or(leaf)
                    .subject
            ),
        },
        E::UnknownIssuer => {
            // A signature check against a bundle CA of the right name failed: report that.
            if let Some(c) = infos
                .iter()
                .find(|i| anchors.iter().any(|a| a.subject == i.issuer))
            {
                return ChainProblem::BadSignature {
                    subject: c.subject.clone(),
                };
            }
            if infos.len() == 1 && leaf.self_issued {
                return ChainProblem::SelfSigned {
                    subject: leaf.subject.clone(),
                };
            }
            // The top of what was sent: the certificate no other sent certificate issued.
            let top = infos
                .iter()
                .find(|c| {
                    !infos
                        .iter()
                        .any(|o| o.subject == c.issuer && o.subject != c.subject)
                })
                .unwrap_or(leaf);
            if !top.is_ca && !top.self_issued {
                ChainProblem::MissingIntermediate {
                    issuer: top.issuer.clone(),
                }
            } else {
                ChainProblem::UnknownIssuer {
                    issuer: top.issuer.clone(),
                    anchors: anchor_subjects,
                }
            }
        }
        other => ChainProblem::Other(other.to_string()),
    }
}

/// Whether each certificate after the first issued the one before it (RFC 8446 §4.4.2 order).
/// Returns the index of the first certificate out of place.
pub fn order_problem(infos: &[CertInfo]) -> Option<usize> {
    infos
        .windows(2)
        .position(|w| w[0].issuer != w[1].subject)
        .map(|i| i + 1)
}

/// `YYYY-MM-DD` (UTC) of Unix seconds.
pub fn date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whole days from `now` until `until` (negative when past).
pub fn days_left(until: i64, now: i64) -> i64 {
    (until - now).div_euclid(86_400)
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
pub(crate) mod testpki {
    //! rcgen-built certificates for unit tests.
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };

    pub struct Ca {
        pub der: Vec<u8>,
        pub issuer: Issuer<'static, KeyPair>,
    }

    fn params(cn: &str, sans: &[&str]) -> CertificateParams {
        let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = ts(NOW - 5 * 365 * 86_400);
        p.not_after = ts(NOW + 5 * 365 * 86_400);
        p
    }

    pub fn ts(unix: i64) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(unix).expect("timestamp")
    }

    /// 2026-01-01 00:00 UTC, the "now" of unit tests.
    pub const NOW: i64 = 1_767_225_600;

    pub fn ca(cn: &str) -> Ca {
        let mut p = params(cn, &[]);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let cert = p.self_signed(&key).expect("ca");
        Ca {
            der: cert.der().to_vec(),
            issuer: Issuer::new(p, key),
        }
    }

    pub fn intermediate(cn: &str, parent: &Ca) -> Ca {
        let mut p = params(cn, &[]);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &parent.issuer).expect("intermediate");
        Ca {
            der: cert.der().to_vec(),
            issuer: Issuer::new(p, key),
        }
    }

    pub struct Leaf {
        pub der: Vec<u8>,
        pub key: KeyPair,
    }

    /// A server leaf valid from `from` to `until` (Unix seconds).
    pub fn leaf(cn: &str, sans: &[&str], from: i64, until: i64, by: &Ca) -> Leaf {
        leaf_with(
            cn,
            sans,
            from,
            until,
            by,
            vec![ExtendedKeyUsagePurpose::ServerAuth],
        )
    }

    pub fn leaf_with(
        cn: &str,
        sans: &[&str],
        from: i64,
        until: i64,
        by: &Ca,
        eku: Vec<ExtendedKeyUsagePurpose>,
    ) -> Leaf {
        let mut p = params(cn, sans);
        p.not_before = ts(from);
        p.not_after = ts(until);
        p.extended_key_usages = eku;
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &by.issuer).expect("leaf");
        Leaf {
            der: cert.der().to_vec(),
            key,
        }
    }

    pub fn self_signed(cn: &str, sans: &[&str]) -> Leaf {
        let mut p = params(cn, sans);
        p.not_before = ts(NOW - 86_400);
        p.not_after = ts(NOW + 365 * 86_400);
        let key = KeyPair::generate().expect("key");
        let cert = p.self_signed(&key).expect("self-signed");
        Leaf {
            der: cert.der().to_vec(),
            key,
        }
    }
}
