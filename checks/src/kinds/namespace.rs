//! Namespace: labels (namespaceSelectors) and phase.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Namespace<'a> {
    #[serde(borrow)]
    pub metadata: super::LabelsOnly<'a>,
    #[serde(borrow)]
    pub status: NamespaceStatus<'a>,
}
view!(Namespace<'a>, "namespaces");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NamespaceStatus<'a> {
    #[serde(borrow)]
    pub phase: Option<&'a str>,
}
