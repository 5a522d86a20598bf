//! What the release bundle promises: the portable binary (`release/build`) needs no glibc newer
//! than 2.17, says what it is (`--version`), and ships a man page per command. CI runs the
//! ignored test with `GPU_PREFLIGHT_BIN` naming the bundled binary, and the rest of this suite
//! against that binary too (see `.ci/run`).

use crate::support::*;
use object::Endianness;
use object::elf::{DT_NEEDED, FileHeader64, SHT_DYNSYM};
use object::read::elf::{Dyn, FileHeader, Sym};
use std::collections::BTreeSet;

/// The newest glibc symbol version the bundle may import: CentOS 7's, older than RHEL/Rocky 8
/// (2.28), Ubuntu 20.04 / DGX OS 5 (2.31) and SLES 15.
const GLIBC_CEILING: [u32; 2] = [2, 17];

/// Libraries every glibc system has; nothing else (no OpenSSL, no libstdc++) may be needed.
const BASE_LIBS: &[&str] = &[
    "ld-linux-x86-64.so.2",
    "libc.so.6",
    "libdl.so.2",
    "libgcc_s.so.1",
    "libm.so.6",
    "libpthread.so.0",
    "librt.so.1",
    "libutil.so.1",
];

/// What an ELF executable asks of the dynamic linker.
struct Imports {
    /// `DT_NEEDED` libraries.
    needed: BTreeSet<String>,
    /// Undefined dynamic symbols with their required version: (symbol, `GLIBC_2.17`).
    versioned: Vec<(String, String)>,
}

fn imports(data: &[u8]) -> Imports {
    let header = FileHeader64::<Endianness>::parse(data).expect("a 64-bit ELF file");
    let endian = header.endian().expect("endianness");
    let sections = header.sections(endian, data).expect("section table");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    let mut needed = BTreeSet::new();
    if let Some((entries, link)) = sections.dynamic(endian, data).expect("dynamic section") {
        let strings = sections
            .strings(endian, data, link)
            .expect("dynamic strings");
        for d in entries {
            if d.d_tag(endian) == DT_NEEDED {
                needed.insert(text(d.string(endian, strings).expect("library name")));
            }
        }
    }

    let symbols = sections
        .symbols(endian, data, SHT_DYNSYM)
        .expect("dynamic symbols");
    let versions = sections
        .versions(endian, data)
        .expect("symbol versions")
        .unwrap_or_default();
    let mut versioned = Vec::new();
    for (index, sym) in symbols.enumerate() {
        if !sym.is_undefined(endian) {
            continue;
        }
        let version = versions
            .version(versions.version_index(endian, index))
            .expect("version index");
        if let Some(v) = version {
            let name = sym.name(endian, symbols.strings()).expect("symbol name");
            versioned.push((text(name), text(v.name())));
        }
    }
    Imports { needed, versioned }
}

/// `GLIBC_2.2.5` → `[2, 2, 5]`; other version names (`GCC_3.0`) → `None`.
fn glibc(version: &str) -> Option<Vec<u32>> {
    version
        .strip_prefix("GLIBC_")?
        .split('.')
        .map(|p| p.parse().ok())
        .collect()
}

#[test]
#[ignore = "needs GPU_PREFLIGHT_BIN naming the portable binary from release/build; CI runs it"]
fn portable_binary_needs_glibc_2_17_at_most_and_runs() {
    let path = std::env::var_os("GPU_PREFLIGHT_BIN")
        .expect("GPU_PREFLIGHT_BIN names the portable binary (release/build)");
    let imp = imports(&std::fs::read(&path).expect("binary readable"));

    let too_new: Vec<String> = imp
        .versioned
        .iter()
        .filter(|(_, v)| glibc(v).is_some_and(|v| v.as_slice() > GLIBC_CEILING.as_slice()))
        .map(|(s, v)| format!("{s}@{v}"))
        .collect();
    assert!(
        too_new.is_empty(),
        "needs glibc newer than 2.17: {too_new:?}"
    );
    assert!(
        imp.versioned.iter().any(|(_, v)| v.starts_with("GLIBC_")),
        "no versioned glibc import at all: not a dynamically linked glibc binary?"
    );
    let foreign: Vec<&String> = imp
        .needed
        .iter()
        .filter(|l| !BASE_LIBS.contains(&l.as_str()))
        .collect();
    assert!(
        foreign.is_empty(),
        "needs libraries beyond glibc: {foreign:?}"
    );

    // It starts here, and says what it is.
    let out = bin().arg("--version").output().expect("runs");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{version}");
    assert!(
        version.contains(env!("CARGO_PKG_VERSION"))
            && version.contains("commit ")
            && version.contains("x86_64-unknown-linux-gnu"),
        "{version}"
    );
}

#[test]
fn the_ceiling_check_reads_real_symbol_versions() {
    // The binary cargo built for these tests links the host's glibc the ordinary way: the reader
    // must find its libc and versioned glibc imports, or the check above would prove nothing.
    let imp = imports(&std::fs::read(assert_cmd::cargo::cargo_bin("gpu-preflight")).unwrap());
    assert!(imp.needed.contains("libc.so.6"), "{:?}", imp.needed);
    let libc_imports = imp
        .versioned
        .iter()
        .filter(|(_, v)| glibc(v).is_some())
        .count();
    assert!(libc_imports > 10, "{:?}", imp.versioned);
    assert_eq!(glibc("GLIBC_2.2.5"), Some(vec![2, 2, 5]));
    assert_eq!(glibc("GCC_3.0"), None);
    assert!([2, 34].as_slice() > GLIBC_CEILING.as_slice());
    assert!([2, 2, 5].as_slice() < GLIBC_CEILING.as_slice());
}

#[test]
fn version_names_release_commit_and_target() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // `gpu-preflight 0.1.0 (commit 0123456789ab, x86_64-unknown-linux-gnu)`; `unknown` when
    // built outside a git checkout.
    let rest = text
        .strip_prefix(&format!(
            "gpu-preflight {} (commit ",
            env!("CARGO_PKG_VERSION")
        ))
        .unwrap_or_else(|| panic!("{text}"));
    let (commit, target) = rest
        .trim_end()
        .trim_end_matches(')')
        .split_once(", ")
        .unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
    assert!(target.contains("-linux-"), "{text}");
}

#[test]
fn man_pages_for_every_command() {
    use clap::CommandFactory;
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let cli = gpu_preflight::cli::Cli::command();
    let mut want: Vec<String> = cli
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| format!("gpu-preflight-{}.1", c.get_name()))
        .chain(["gpu-preflight.1".to_string()])
        .collect();
    want.sort();
    assert_eq!(written, want);
    assert!(want.contains(&"gpu-preflight-check.1".to_string()));

    // Each page documents its own command; the top page lists pages that now exist.
    let check = std::fs::read_to_string(dir.path().join("gpu-preflight-check.1")).unwrap();
    assert!(check.contains(".TH gpu-preflight-check 1"), "{check}");
    assert!(
        check.contains("\\-\\-fail\\-on"),
        "check's options: {check}"
    );
    let top = std::fs::read_to_string(dir.path().join("gpu-preflight.1")).unwrap();
    for page in &want {
        let name = page.trim_end_matches(".1");
        if name != "gpu-preflight" {
            let roff_name = format!("{}(1)", name.replace('-', "\\-"));
            assert!(top.contains(&roff_name), "top page lists {name}");
        }
    }
    assert!(
        !top.contains("gpu\\-preflight\\-help(1)"),
        "no page for `help`"
    );
    // `man` alone still prints the top page.
    let out = bin().arg("man").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), top);

    // groff renders every page without a warning.
    if std::process::Command::new("groff")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "groff is required under CI=true"
        );
        eprintln!("notice: groff not found; pages not rendered");
        return;
    }
    for page in &want {
        let out = std::process::Command::new("groff")
            // -k: UTF-8 input through preconv, as man(1) does.
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.path().join(page))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
