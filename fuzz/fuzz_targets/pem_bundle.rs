#![no_main]
// PEM bundles (CA bundle, served or file chains): PEM decoding, then X.509 analysis of every
// certificate (SAN, CN, validity, key usage) as TLS001-TLS004 use it.
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for der in CertificateDer::pem_slice_iter(data).flatten() {
        if let Ok(info) = gpu_preflight_checks::cert::parse(der.as_ref()) {
            let _ = gpu_preflight_checks::cert::match_name(&info, "runai.example.com");
            let _ = gpu_preflight_checks::cert::describe_names(&info);
        }
    }
    // Raw DER too: the served chain arrives as DER.
    if let Ok(info) = gpu_preflight_checks::cert::parse(data) {
        let _ = gpu_preflight_checks::cert::match_name(&info, "runai.example.com");
    }
});
