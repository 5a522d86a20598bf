#![no_main]
// The site file parser: any bytes give a Site or an error with a position, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gpu_preflight_checks::Site::parse(text);
    }
});
