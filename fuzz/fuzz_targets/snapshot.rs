#![no_main]
// Offline input: snapshots, kubectl Lists, objects (YAML and JSON), then evaluation of every
// built-in rule over whatever was accepted — checks must not panic on odd objects either.
use gpu_preflight::collect::snapshot::{Loaded, parse_text};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut loaded = Loaded::default();
    if parse_text("fuzz", text, &mut loaded).is_ok() {
        let set = gpu_preflight::builtin::rules();
        let rules: Vec<_> = set.rules().iter().collect();
        let site = gpu_preflight_checks::Site::default();
        let _ = gpu_preflight_checks::evaluate(&rules, &loaded.facts, &site, &Default::default());
    }
});
