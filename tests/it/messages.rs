//! Bad input is told once, in the user's words: the file, the position once, the key, what was
//! expected and what was found — never a parser library's wording.

use crate::support::*;

/// Runs `check` with a site file of `text`; returns (exit code, stderr).
fn with_site(text: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(&site, text).unwrap();
    let out = bin()
        .arg("check")
        .arg("--site")
        .arg(&site)
        .args(["--only", "DNS001", "--no-probes"])
        .args(extra)
        .current_dir(dir.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn site_file_errors_name_the_key_and_value_once() {
    let cases = [
        (
            "platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.141.5.0/24\n",
            "line 3 column 16: `platform.reserved_ip`: `10.141.5.0/24` is an address range (CIDR), but one IP address is expected here, e.g. `10.141.5.0`",
        ),
        (
            "platform:\n  reserved_ip: 10.141.5\n",
            "line 2 column 16: `platform.reserved_ip`: `10.141.5` is not an IP address",
        ),
        (
            "platform:\n  port: 70000\n",
            "line 2 column 9: `platform.port`: 70000 is not a TCP port: expected 1 to 65535",
        ),
        (
            "platform:\n  port: 0\n",
            "line 2 column 9: `platform.port`: 0 is not a TCP port: expected 1 to 65535",
        ),
        (
            "expect:\n  typha_replicas: five\n",
            "line 2 column 19: `expect.typha_replicas`: expected a whole number from 0 to 4294967295, found `five`",
        ),
        (
            "dns:\n  servers: 10.141.0.254\n",
            "line 2 column 12: `dns.servers`: expected a list (`- item` lines, or `[a, b]`), found `10.141.0.254`",
        ),
        (
            "platform:\n  fqdn: a.example.com\n  fqdn: b.example.com\n",
            "line 3 column 3: `fqdn` is given twice in the same mapping",
        ),
        (
            "platform:\n  fqdn: a.example.com\n  reserved: 10.1.2.3\n",
            "line 3 column 3: `platform`: unknown field `reserved`, expected one of fqdn, reserved_ip",
        ),
    ];
    for (text, want) in cases {
        let (code, err) = with_site(text, &[]);
        assert_eq!(code, 2, "{text:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("gpu-preflight: "), "{err}");
        assert!(err.contains("site.yaml: "), "names the file: {err}");
        assert!(err.contains(want), "{text:?}\n got: {err}\nwant: {want}");
        // The position is printed once.
        let line = want.split(':').next().unwrap();
        assert_eq!(err.matches(line).count(), 1, "{err}");
        for library in [
            "invalid u",
            "sequence start",
            "DuplicateKeyPolicy",
            "invalid IP address syntax",
            "error: line",
        ] {
            assert!(!err.contains(library), "{err}");
        }
    }
}

#[test]
fn a_missing_inventory_names_who_asked_for_it() {
    let (code, err) = with_site("inventory: config/inventory\n", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "config/inventory: no such file or folder, named by `inventory:` in the site file"
        ),
        "{err}"
    );
    let (code, err) = with_site("", &["--inventory", "nowhere/hosts"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nowhere/hosts: no such file or folder, named by --inventory"),
        "{err}"
    );
    let (code, err) = with_site("bcm: bcm-export/\n", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("named by `bcm:` in the site file"), "{err}");
    // The flag wins: the site's missing inventory is not read at all.
    let inv = fixture("intent/inventory.ini");
    let (code, err) = with_site(
        "inventory: config/inventory\n",
        &["--inventory", inv.to_str().unwrap()],
    );
    // Read without error; its one rule skips (no FQDN), so nothing was evaluated: exit 3.
    assert_eq!(code, 3, "{err}");
    assert!(!err.contains("config/inventory"), "{err}");
}

#[test]
fn an_empty_waivers_file_means_no_waivers() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.yaml", ""),
        ("comment.yaml", "# nothing waived yet\n"),
        ("bare.yaml", "waivers:\n"),
    ] {
        let w = dir.path().join(name);
        std::fs::write(&w, text).unwrap();
        let out = bin()
            .args(["check", "--snapshot"])
            .arg(fixture("demo/runai-bcm.yaml"))
            .arg("--site")
            .arg(fixture("demo/site.yaml"))
            .arg("--waivers")
            .arg(&w)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: the planted failures still fail"
        );
        assert!(
            out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["summary"]["waived"], 0);
    }
}
