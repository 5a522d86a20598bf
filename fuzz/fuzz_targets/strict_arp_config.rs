#![no_main]
// kube-proxy's config.conf as found in a ConfigMap: arbitrary YAML through the NET001 check.
use serde_json::json;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
        "data": {"config.conf": text}});
    let mut facts = gpu_preflight_checks::Facts::default();
    let kind = gpu_preflight_checks::kinds::by_key("configmaps").unwrap();
    facts.add_objects(kind, vec![gpu_preflight_checks::Object(cm)]);
    let set = gpu_preflight::builtin::rules();
    let rules: Vec<_> = set.rules().iter().filter(|r| r.id == "NET001").collect();
    let _ = gpu_preflight_checks::evaluate(&rules, &facts, &Default::default(), &Default::default());
});
