#![no_main]
// A node-facts file (--node-facts) and a containerd config: parsed, then judged by every
// node-local rule.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = gpu_preflight::node::containerd::parse(text);
    let _ = gpu_preflight_checks::check::rdma_device_plugin_config::validate_config(text);
    let Ok(nf) = gpu_preflight::agent::ingest::parse_facts(std::path::Path::new("fuzz.json"), text)
    else {
        return;
    };
    let mut facts = gpu_preflight_checks::Facts::default();
    facts.node_local.facts.insert("fuzz".into(), nf);
    let set = gpu_preflight::builtin::rules();
    let rules: Vec<_> = set
        .rules()
        .iter()
        .filter(|r| r.id.starts_with("NODE") || r.id.starts_with("RDMA"))
        .collect();
    let _ = gpu_preflight_checks::evaluate(&rules, &facts, &Default::default(), &Default::default());
});
