#![no_main]
// Saved cmsh outputs (devices, overlays, labelsets, one containerd file), separated by a line
// `====`: BCM facts or an error naming file and line, never a panic.
use gpu_preflight_checks::parse::bcm::{CmshOutputs, from_cmsh};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split("\n====\n").map(str::to_string);
    let mut next = || parts.next().unwrap_or_default();
    let o = CmshOutputs {
        devices: ("devices.txt".into(), next()),
        overlays: ("overlays.txt".into(), next()),
        labelsets: ("labelsets.txt".into(), next()),
        containerd: vec![("kube-dra-worker".into(), "c.txt".into(), next())],
    };
    let _ = from_cmsh(&o);
});
