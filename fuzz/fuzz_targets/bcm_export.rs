#![no_main]
// The BCM export file (YAML/JSON): facts or an error with a line, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gpu_preflight_checks::parse::bcm::from_yaml("bcm.yaml", text);
    }
});
