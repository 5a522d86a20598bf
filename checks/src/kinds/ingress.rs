//! Ingress: which Secret serves TLS for which hosts.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ingress<'a> {
    #[serde(borrow)]
    pub spec: IngressSpec<'a>,
}
view!(Ingress<'a>, "ingresses.networking.k8s.io");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IngressSpec<'a> {
    #[serde(borrow)]
    pub tls: Vec<IngressTls<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngressTls<'a> {
    #[serde(borrow)]
    pub hosts: Vec<&'a str>,
    #[serde(borrow)]
    pub secret_name: Option<&'a str>,
}
