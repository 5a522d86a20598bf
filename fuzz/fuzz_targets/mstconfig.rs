#![no_main]
// mstconfig / mlxconfig query output (extended and plain forms).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gpu_preflight_checks::parse::mstconfig::parse(text);
    }
});
