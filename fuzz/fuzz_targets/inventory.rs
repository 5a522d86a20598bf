#![no_main]
// Ansible inventories, through both the INI and the YAML reader: an inventory or an error with a
// line, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gpu_preflight_checks::parse::inventory::parse("inventory", text);
        let _ = gpu_preflight_checks::parse::inventory::parse("hosts.yaml", text);
    }
});
