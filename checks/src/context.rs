//! What a check kind is given ([`Ctx`]) and what it asks to have collected ([`Needs`]): below
//! the check kinds and the helpers they share (`evidence`, `node_scope`, `endpoint`).

use crate::facts::Facts;
use crate::interest::PodSubset;
use crate::site::Site;

/// What a check needs collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Resource kind keys (see [`crate::kinds`]).
    pub kinds: Vec<&'static str>,
    /// Needs the API server even without listing kinds (K8S001).
    pub api: bool,
    /// Kinds listed when possible but not required: an input without them does not make the
    /// rule `skip` (nv-ipam CIDRPools, which only some clusters use).
    pub optional: Vec<&'static str>,
    /// With `pods` among the kinds: the only pods this check reads (`None`: every pod). Pods
    /// no selected rule reads are dropped on arrival (see [`crate::interest`]).
    pub pods: Option<PodSubset>,
    /// Kinds read only by name: the objects `Check::named` names are fetched with one GET
    /// each, never listed (Secrets, ConfigMaps: least privilege).
    pub named: Vec<&'static str>,
    /// The kinds whose objects `Check::named` reads to name them (among `kinds` and
    /// `optional`): collected before the named objects are fetched.
    pub names_from: Vec<&'static str>,
    /// What is asked of this host rather than the cluster: probes it runs (DNS, TLS, HTTP) and
    /// files the site names that it reads (CA bundle, certificate files).
    pub probes: ProbeNeeds,
}

/// The probes and site files a check reads (see `Needs::probes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeNeeds {
    /// The endpoint's name resolved at the cluster's DNS servers.
    pub dns: bool,
    /// A TLS handshake with the endpoint (its served chain).
    pub tls: bool,
    /// HTTP GETs of the monitoring endpoints.
    pub http: bool,
    /// The site's CA bundle file.
    pub ca_bundle: bool,
    /// The site's certificate and key files.
    pub cert_files: bool,
}

impl ProbeNeeds {
    /// Anything at all.
    pub fn any(&self) -> bool {
        self.dns || self.tls || self.http || self.ca_bundle || self.cert_files
    }

    /// Both sets' probes.
    pub fn union(self, o: ProbeNeeds) -> ProbeNeeds {
        ProbeNeeds {
            dns: self.dns || o.dns,
            tls: self.tls || o.tls,
            http: self.http || o.http,
            ca_bundle: self.ca_bundle || o.ca_bundle,
            cert_files: self.cert_files || o.cert_files,
        }
    }
}

impl Needs {
    pub fn kinds(kinds: &[&'static str]) -> Self {
        Needs {
            kinds: kinds.to_vec(),
            ..Needs::default()
        }
    }

    /// Also reads these kinds when the input has them.
    pub fn optional(mut self, kinds: &[&'static str]) -> Self {
        for k in kinds {
            if !self.optional.contains(k) && !self.kinds.contains(k) {
                self.optional.push(k);
            }
        }
        self
    }

    /// Reads objects of `kind` by name (see `Check::named`). Namespaces are listed when
    /// possible, so an object whose namespace does not exist is known absent without a request
    /// (before installation, a Role in that namespace cannot even be created).
    pub fn by_name(mut self, kind: &'static str) -> Self {
        self.named.push(kind);
        self.optional(&["namespaces"]).names_from(&["namespaces"])
    }

    /// Also asks this host for these probes and site files.
    pub fn probing(mut self, probes: ProbeNeeds) -> Self {
        self.probes = self.probes.union(probes);
        self
    }

    /// The names `Check::named` returns depend on these kinds' objects.
    pub fn names_from(mut self, kinds: &[&'static str]) -> Self {
        for k in kinds {
            if !self.names_from.contains(k) {
                self.names_from.push(k);
            }
        }
        self
    }

    /// Reads only the pods of this namespace (besides any other subset it names).
    pub fn pods_in_namespace(mut self, ns: &str) -> Self {
        self.pods
            .get_or_insert_with(PodSubset::default)
            .namespaces
            .insert(ns.to_string());
        self
    }

    /// Reads only pods with a container requesting or limiting a resource named `prefix...`.
    pub fn pods_requesting(mut self, prefix: &str) -> Self {
        self.pods
            .get_or_insert_with(PodSubset::default)
            .resource_prefixes
            .insert(prefix.to_string());
        self
    }
}

/// What a check kind sees.
pub struct Ctx<'a> {
    pub facts: &'a Facts,
    pub site: &'a Site,
}
