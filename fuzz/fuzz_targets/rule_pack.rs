#![no_main]
// Rule packs: parsing and validation against the check registry.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut set = gpu_preflight_checks::RuleSet::default();
        let _ = set.add_pack("fuzz.yaml", text);
    }
});
