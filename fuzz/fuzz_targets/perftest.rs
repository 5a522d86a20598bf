#![no_main]
// ib_write_bw output (text or --out_json) through the perftest parser.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gpu_preflight_checks::parse::perftest::parse(text);
    }
});
