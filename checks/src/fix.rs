//! "How to fix" with the values the tool knows.
//!
//! A rule's remediation is a template: `{site.fqdn}`, `{site.ca_bundle}`, … are filled from the
//! site file, `{node}`, `{namespace}`, `{name}` from the finding's target, and other names
//! (`{pci}`, `{dns_server}`, …) from values the check kind attaches to its finding
//! ([`Finding::fill`]). A value that is not known keeps a readable form (`<FQDN>`, `NODE`, or
//! the text after `|` in `{name|runai-reg-creds}`), so a report never shows `{…}`.
//!
//! A rule may also give variants of its fix (`remediation_variants`), keyed by the cases its
//! check kind tells apart ([`FixVariant`]): a finding names the cases that apply
//! ([`Finding::fix`]) and gets their texts instead of the default one.
//!
//! Only failures are filled per finding: every other result shares the rule's one text, filled
//! from the site alone (a rule with a target per node would otherwise hold 5,000 copies).

use crate::model::{Finding, Status};
use crate::site::Site;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A case of a check kind that has its own fix: `key` names it in a rule's
/// `remediation_variants`, `when` says in words when it applies (docs, `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixVariant {
    pub key: &'static str,
    pub when: &'static str,
}

/// A name a remediation text may use as `{name}`.
pub struct Placeholder {
    pub name: &'static str,
    /// Shown when the value is not known.
    pub readable: &'static str,
    /// What it stands for (docs).
    pub meaning: &'static str,
    /// Its value from the site file; `None`: a value of the finding.
    site: Option<fn(&Site) -> Option<String>>,
}

fn fqdn(s: &Site) -> Option<String> {
    s.platform.fqdn.as_ref().map(|f| f.as_str().to_string())
}
fn reserved_ip(s: &Site) -> Option<String> {
    s.platform.reserved_ip.map(|ip| ip.to_string())
}
fn port(s: &Site) -> Option<String> {
    Some(s.platform.port.to_string())
}
fn ca_bundle(s: &Site) -> Option<String> {
    s.platform
        .ca_bundle
        .as_ref()
        .map(|p| p.display().to_string())
}
fn cert(s: &Site) -> Option<String> {
    s.platform.cert.as_ref().map(|p| p.display().to_string())
}
fn key(s: &Site) -> Option<String> {
    s.platform.key.as_ref().map(|p| p.display().to_string())
}
fn ingress_replicas(s: &Site) -> Option<String> {
    Some(s.expect.ingress_replicas.to_string())
}
fn typha_replicas(s: &Site) -> Option<String> {
    Some(s.expect.typha_replicas.to_string())
}
fn cert_min_days(s: &Site) -> Option<String> {
    Some(s.expect.cert_min_days.to_string())
}

/// Every placeholder a remediation text may use. A rule pack naming another one is rejected
/// when loaded, so a typo never reaches a report.
pub static PLACEHOLDERS: &[Placeholder] = &[
    Placeholder {
        name: "site.fqdn",
        readable: "<FQDN>",
        meaning: "`platform.fqdn`",
        site: Some(fqdn),
    },
    Placeholder {
        name: "site.reserved_ip",
        readable: "<reserved-ip>",
        meaning: "`platform.reserved_ip`",
        site: Some(reserved_ip),
    },
    Placeholder {
        name: "site.port",
        readable: "443",
        meaning: "`platform.port` (default 443)",
        site: Some(port),
    },
    Placeholder {
        name: "site.ca_bundle",
        readable: "<ca.pem>",
        meaning: "`platform.ca_bundle`, as the tool opens it (relative to the current folder)",
        site: Some(ca_bundle),
    },
    Placeholder {
        name: "site.cert",
        readable: "<cert.pem>",
        meaning: "`platform.cert`, as the tool opens it",
        site: Some(cert),
    },
    Placeholder {
        name: "site.key",
        readable: "<key.pem>",
        meaning: "`platform.key`, as the tool opens it",
        site: Some(key),
    },
    Placeholder {
        name: "site.ingress_replicas",
        readable: "3",
        meaning: "`expect.ingress_replicas` (default 3)",
        site: Some(ingress_replicas),
    },
    Placeholder {
        name: "site.typha_replicas",
        readable: "5",
        meaning: "`expect.typha_replicas` (default 5)",
        site: Some(typha_replicas),
    },
    Placeholder {
        name: "site.cert_min_days",
        readable: "30",
        meaning: "`expect.cert_min_days` (default 30)",
        site: Some(cert_min_days),
    },
    Placeholder {
        name: "node",
        readable: "NODE",
        meaning: "the node of the target (`node/NODE…`)",
        site: None,
    },
    Placeholder {
        name: "namespace",
        readable: "NAMESPACE",
        meaning: "the namespace of the target (`KIND/NAMESPACE/NAME`)",
        site: None,
    },
    Placeholder {
        name: "name",
        readable: "NAME",
        meaning: "the object name of the target (`KIND/NAMESPACE/NAME` or `KIND/NAME`)",
        site: None,
    },
    Placeholder {
        name: "dns_server",
        readable: "<dns-server>",
        meaning: "the address of the DNS server asked (DNS001, DNS002)",
        site: None,
    },
    Placeholder {
        name: "dns_port",
        readable: "53",
        meaning: "the port of the DNS server asked",
        site: None,
    },
    Placeholder {
        name: "pci",
        readable: "<pci>",
        meaning: "the PCI address of the NIC (SRIOV004)",
        site: None,
    },
    Placeholder {
        name: "server_ip",
        readable: "<server RDMA IP>",
        meaning: "the address of the server end of a perftest measurement (`rdma-test` knows it; `--perf` files do not say it)",
        site: None,
    },
    Placeholder {
        name: "device",
        readable: "<device>",
        meaning: "the RDMA device (`mlx5_3`)",
        site: None,
    },
];

fn placeholder(name: &str) -> Option<&'static Placeholder> {
    PLACEHOLDERS.iter().find(|p| p.name == name)
}

#[derive(Debug, Clone)]
enum Seg<'a> {
    Text(&'a str),
    Var {
        p: &'static Placeholder,
        fallback: Option<&'a str>,
    },
}

impl std::fmt::Debug for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A remediation text split into literal text and placeholders.
#[derive(Debug, Clone)]
pub struct Template<'a> {
    segs: Vec<Seg<'a>>,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

impl<'a> Template<'a> {
    /// Splits `text`. `{name}` and `{name|readable}` are placeholders when `name` is a lower-case
    /// identifier (dots allowed); anything else in braces is text: JSON and YAML flow maps,
    /// shell `${VAR}` and `{a,b}`, Go templates `{{…}}`. An unknown name is an error.
    pub fn parse(text: &'a str) -> Result<Template<'a>, String> {
        let mut segs = Vec::new();
        let mut lit_start = 0;
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < bytes.len() {
            if bytes[i] != b'{' || (i > 0 && matches!(bytes[i - 1], b'$' | b'{')) {
                i += 1;
                continue;
            }
            let rest = &text[i + 1..];
            let Some(end) = rest.find(['}', '{', '\n']) else {
                break;
            };
            if rest.as_bytes()[end] != b'}' {
                i += 1;
                continue;
            }
            let inner = &rest[..end];
            let (name, fallback) = match inner.split_once('|') {
                Some((n, f)) => (n, Some(f)),
                None => (inner, None),
            };
            if !is_ident(name) {
                i += 1;
                continue;
            }
            let Some(p) = placeholder(name) else {
                let known: Vec<&str> = PLACEHOLDERS.iter().map(|p| p.name).collect();
                return Err(format!(
                    "unknown placeholder `{{{name}}}` (known: {})",
                    known.join(", ")
                ));
            };
            if fallback.is_some_and(|f| f.trim().is_empty()) {
                return Err(format!(
                    "placeholder `{{{inner}}}`: the text after `|` (shown when the value is not known) is empty"
                ));
            }
            if lit_start < i {
                segs.push(Seg::Text(&text[lit_start..i]));
            }
            segs.push(Seg::Var { p, fallback });
            i += end + 2;
            lit_start = i;
        }
        if lit_start < text.len() {
            segs.push(Seg::Text(&text[lit_start..]));
        }
        Ok(Template { segs })
    }

    /// The text as it is, without placeholders (a text that did not parse).
    fn literal(text: &'a str) -> Template<'a> {
        Template {
            segs: vec![Seg::Text(text)],
        }
    }

    /// Whether a placeholder takes its value from a finding.
    pub fn per_finding(&self) -> bool {
        self.segs
            .iter()
            .any(|s| matches!(s, Seg::Var { p, .. } if p.site.is_none()))
    }

    /// The text with the site's values and `value`'s (a finding's), each quoted for a shell
    /// where it needs it; unknown ones in their readable form.
    pub fn render(&self, site: &Site, value: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Text(t) => out.push_str(t),
                Seg::Var { p, fallback } => {
                    // A site value the site file does not give may be known to the finding
                    // (the CA bundle a recorded probe verified against).
                    let v = match p.site {
                        Some(get) => get(site).or_else(|| value(p.name)),
                        None => value(p.name),
                    };
                    match v {
                        Some(v) => out.push_str(&shell_word(&v)),
                        None => out.push_str(fallback.unwrap_or(p.readable)),
                    }
                }
            }
        }
        out
    }
}

/// `s` as one shell word: as is when it holds only characters no shell treats specially,
/// else in single quotes. Values come from the site file and the cluster (a snapshot from
/// elsewhere): a name must never turn a copied command into another one.
pub fn shell_word(s: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

/// The text with every placeholder in its readable form (`explain`, docs/rules.md).
pub fn readable(text: &str) -> String {
    match Template::parse(text) {
        Ok(t) => t.render(&Site::default(), &|_| None),
        Err(_) => text.to_string(),
    }
}

/// The values a target names: `node/NODE…` gives `node`; `KIND/NAMESPACE/NAME` gives
/// `namespace` and `name`; `KIND/NAME` gives `name`. Targets that are not Kubernetes objects
/// (files, endpoints, DNS servers, IPs) give nothing.
fn from_target<'t>(target: &'t str, name: &str) -> Option<&'t str> {
    let mut parts = target.split('/');
    let kind = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    match (kind, name) {
        ("node", "node") => rest.first().copied(),
        (
            "node" | "endpoint" | "file" | "dns" | "ip" | "perf" | "node-facts" | "group"
            | "labelset" | "inventory" | "cluster" | "rule",
            _,
        ) => None,
        (_, "namespace") if rest.len() == 2 => Some(rest[0]),
        (_, "name") if rest.len() == 2 => Some(rest[1]),
        (_, "name") if rest.len() == 1 => Some(rest[0]),
        _ => None,
    }
    .filter(|v| !v.is_empty())
}

/// A finding's value for a placeholder: one the check kind attached, else one of its target.
fn finding_value(f: &Finding, name: &str) -> Option<String> {
    f.fix
        .as_ref()
        .and_then(|c| c.values.iter().find(|(n, _)| *n == name))
        .map(|(_, v)| v.clone())
        .or_else(|| from_target(&f.target, name).map(str::to_string))
}

/// A rule's remediation, ready to fill for each of its results.
pub struct Fixes<'r> {
    site: &'r Site,
    default: Template<'r>,
    variants: Vec<(&'r str, Template<'r>)>,
    /// Texts filled from the site alone, by the variants chosen (none: the default), shared by
    /// every result that gets them.
    shared: Vec<(Vec<&'r str>, Arc<str>)>,
}

impl<'r> Fixes<'r> {
    /// A rule's `remediation` and `remediation_variants`, for results judged against `site`.
    pub fn new(
        remediation: &'r str,
        variants: &'r BTreeMap<String, String>,
        site: &'r Site,
    ) -> Fixes<'r> {
        let compile = |t: &'r str| Template::parse(t).unwrap_or_else(|_| Template::literal(t));
        Fixes {
            site,
            default: compile(remediation.trim()),
            variants: variants
                .iter()
                .map(|(k, t)| (k.as_str(), compile(t.trim())))
                .collect(),
            shared: Vec::new(),
        }
    }

    /// The text of results that are not failures: the default, filled from the site.
    pub fn generic(&mut self) -> Arc<str> {
        self.shared_for(Vec::new())
    }

    /// The text for one finding: a failure gets the variants it chose (that the rule has) and
    /// its own values; any other result the generic text.
    pub fn for_finding(&mut self, f: &Finding) -> Arc<str> {
        if f.status != Status::Fail {
            return self.generic();
        }
        let mut chosen: Vec<&'r str> = Vec::new();
        if let Some(c) = &f.fix {
            for want in &c.variants {
                if let Some((k, _)) = self.variants.iter().find(|(k, _)| k == want)
                    && !chosen.contains(k)
                {
                    chosen.push(k);
                }
            }
        }
        let templates = self.templates(&chosen);
        let has_values = f.fix.as_ref().is_some_and(|c| !c.values.is_empty());
        if !has_values && !templates.iter().any(|t| t.per_finding()) {
            return self.shared_for(chosen);
        }
        let value = |name: &str| finding_value(f, name);
        let text: Vec<String> = templates
            .iter()
            .map(|t| t.render(self.site, &value))
            .collect();
        Arc::from(text.join("\n"))
    }

    fn templates(&self, chosen: &[&str]) -> Vec<&Template<'r>> {
        if chosen.is_empty() {
            return vec![&self.default];
        }
        chosen
            .iter()
            .filter_map(|k| self.variants.iter().find(|(v, _)| v == k).map(|(_, t)| t))
            .collect()
    }

    fn shared_for(&mut self, chosen: Vec<&'r str>) -> Arc<str> {
        if let Some((_, text)) = self.shared.iter().find(|(c, _)| *c == chosen) {
            return text.clone();
        }
        let text: Vec<String> = self
            .templates(&chosen)
            .iter()
            .map(|t| t.render(self.site, &|_| None))
            .collect();
        let text: Arc<str> = Arc::from(text.join("\n"));
        self.shared.push((chosen, text.clone()));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleDef;

    fn site(yaml: &str) -> Site {
        Site::parse(yaml).unwrap()
    }

    #[test]
    fn site_values_fill_and_unknown_ones_read_as_placeholders() {
        let t = Template::parse(
            "openssl s_client -connect {site.reserved_ip}:{site.port} -servername {site.fqdn} -CAfile {site.ca_bundle}",
        )
        .unwrap();
        assert_eq!(
            t.render(&Site::default(), &|_| None),
            "openssl s_client -connect <reserved-ip>:443 -servername <FQDN> -CAfile <ca.pem>"
        );
        let s = site(
            "platform:\n  fqdn: runai.example.com\n  reserved_ip: 10.141.5.10\n  port: 8443\n  ca_bundle: certs/my ca.pem\n",
        );
        assert_eq!(
            t.render(&s, &|_| None),
            "openssl s_client -connect 10.141.5.10:8443 -servername runai.example.com -CAfile 'certs/my ca.pem'"
        );
        assert!(!t.per_finding());
    }

    #[test]
    fn braces_that_are_not_placeholders_stay_text() {
        for text in [
            r#"kubectl patch sc NAME -p '{"metadata":{"annotations":{"x":"true"}}}'"#,
            "securityContext: {capabilities: {add: [\"IPC_LOCK\"]}}",
            "cat /sys/class/infiniband/*/ports/*/{state,phys_state}",
            "echo ${node} {{end}} {{.metadata.name}} {Upper}",
            "sed -E -e 's/ipvs: *\\{ *([^ }])/ipvs: {strictARP: true, \\1/'",
            "an unclosed { brace",
        ] {
            let t = Template::parse(text).unwrap();
            assert_eq!(t.render(&Site::default(), &|_| None), text);
        }
    }

    #[test]
    fn unknown_placeholders_and_empty_fallbacks_are_errors() {
        let e = Template::parse("ssh {nodee}").unwrap_err();
        assert!(e.contains("unknown placeholder `{nodee}`"), "{e}");
        assert!(e.contains("node"), "{e}");
        let e = Template::parse("use {node|}").unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn finding_values_come_from_the_check_then_the_target() {
        let t = Template::parse(
            "kubectl describe node {node}; kubectl -n {namespace|runai-backend} get secret {name}; mstconfig -d {pci} q",
        )
        .unwrap();
        assert!(t.per_finding());
        let f = Finding::fail("node/gpu01/0000:1a:00.0", "x").fill("pci", "0000:1a:00.0");
        assert_eq!(
            t.render(&Site::default(), &|n| finding_value(&f, n)),
            "kubectl describe node gpu01; kubectl -n runai-backend get secret NAME; mstconfig -d 0000:1a:00.0 q"
        );
        let f = Finding::fail("secret/runai-backend/pull-creds", "x");
        assert_eq!(
            t.render(&Site::default(), &|n| finding_value(&f, n)),
            "kubectl describe node NODE; kubectl -n runai-backend get secret pull-creds; mstconfig -d <pci> q"
        );
        // Only failures carry values (and cases): nothing else shows them.
        assert!(
            Finding::pass("node/gpu01/0000:1a:00.0", "ok")
                .fill("pci", "0000:1a:00.0")
                .fix("x")
                .fix
                .is_none()
        );
        assert_eq!(from_target("file/certs/a.pem", "name"), None);
        assert_eq!(from_target("storageclass/fast", "name"), Some("fast"));
        assert_eq!(from_target("endpoint/10.0.0.1:443", "name"), None);
    }

    fn pack(rule: &str) -> crate::rules::RuleSet {
        let mut set = crate::rules::RuleSet::default();
        set.add_pack("test.yaml", rule).unwrap();
        set
    }

    #[test]
    fn failures_get_their_own_text_and_the_rest_share_one() {
        use crate::check::testing::{facts, node};
        let set = pack(
            "rules:\n  - {id: K8S002, name: nodes-ready, title: t, severity: error, profiles: [core], phase: both,\n     check: nodes_ready, description: d, rationale: r,\n     remediation: \"kubectl describe node {node} # {site.fqdn}\"}\n",
        );
        let f = facts(&[(
            "nodes",
            vec![
                node("gpu01", true, serde_json::json!({})),
                node("gpu02", false, serde_json::json!({})),
                node("gpu03", true, serde_json::json!({})),
            ],
        )]);
        let s = site("platform:\n  fqdn: runai.example.com\n");
        let rules: Vec<&RuleDef> = set.rules().iter().collect();
        let r = crate::engine::evaluate(&rules, &f, &s, &Default::default());
        assert_eq!(
            &*r[1].remediation,
            "kubectl describe node gpu02 # runai.example.com"
        );
        assert_eq!(
            &*r[0].remediation,
            "kubectl describe node NODE # runai.example.com"
        );
        // 5,000 passing nodes hold one text, not 5,000.
        assert!(Arc::ptr_eq(&r[0].remediation, &r[2].remediation));
    }

    #[test]
    fn a_failure_gets_the_variants_of_its_cases() {
        let rule = "rules:\n  - id: NET001\n    name: kube-proxy-strict-arp\n    title: t\n    severity: error\n    profiles: [core]\n    phase: both\n    check: strict_arp\n    description: d\n    rationale: r\n    remediation: edit it\n    remediation_variants:\n      strictarp-false: sed false\n      no-ipvs-section: sed section\n";
        let set = pack(rule);
        let rules: Vec<&RuleDef> = set.rules().iter().collect();
        let run = |conf: &str| {
            let f = crate::check::testing::facts(&[
                (
                    "namespaces",
                    vec![serde_json::json!({"metadata": {"name": "kube-system"}})],
                ),
                (
                    "configmaps",
                    vec![
                        serde_json::json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                                            "data": {"config.conf": conf}}),
                    ],
                ),
            ]);
            crate::engine::evaluate(&rules, &f, &Site::default(), &Default::default())
                .remove(0)
                .remediation
        };
        assert_eq!(
            &*run("mode: ipvs\nipvs:\n  strictARP: false\n"),
            "sed false"
        );
        assert_eq!(&*run("mode: ipvs\n"), "sed section");
        // A case the rule gives no text for: the default.
        assert_eq!(&*run("mode: ipvs\nipvs: {}\n"), "edit it");
        assert_eq!(&*run("mode: ipvs\nipvs:\n  strictARP: true\n"), "edit it");

        let bad = rule.replace("strictarp-false", "strictarp-flase");
        let e = crate::rules::RuleSet::default()
            .add_pack("x.yaml", &bad)
            .unwrap_err();
        assert!(e.message.contains("has no case `strictarp-flase`"), "{e}");
        assert!(e.message.contains("strictarp-false"), "{e}");
        let bad = rule.replace("edit it", "edit {nodes}");
        let e = crate::rules::RuleSet::default()
            .add_pack("x.yaml", &bad)
            .unwrap_err();
        assert!(e.message.contains("unknown placeholder `{nodes}`"), "{e}");
    }

    #[test]
    fn values_that_a_shell_would_read_are_quoted() {
        assert_eq!(shell_word("gpu-01.example.com"), "gpu-01.example.com");
        assert_eq!(shell_word("fd00::1"), "fd00::1");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
