//! CustomResourceDefinition: the versions it serves and, of its schema, only whether the
//! SR-IOV operator config has `spec.maxParallelNodeConfiguration` (SRIOV002). Schemas are most
//! of a CRD's size; nothing else of them is kept.

use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Crd<'a> {
    #[serde(borrow)]
    pub spec: CrdSpec<'a>,
}
view!(Crd<'a>, "customresourcedefinitions.apiextensions.k8s.io");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CrdSpec<'a> {
    #[serde(borrow)]
    pub versions: Vec<CrdVersion<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CrdVersion<'a> {
    #[serde(borrow)]
    pub name: Option<&'a str>,
    pub served: Option<bool>,
    pub schema: Option<VersionSchema>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VersionSchema {
    #[serde(rename = "openAPIV3Schema")]
    pub open_api_v3_schema: Option<Properties<SpecSchema>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Properties<T> {
    pub properties: Option<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SpecSchema {
    pub spec: Option<Properties<SpecFields>>,
}

/// The `spec` fields rules ask about.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SpecFields {
    pub max_parallel_node_configuration: Option<IgnoredAny>,
}

impl<'a> Crd<'a> {
    /// Names of the versions served.
    pub fn served(&self) -> Vec<&'a str> {
        self.spec
            .versions
            .iter()
            .filter(|v| v.served == Some(true))
            .filter_map(|v| v.name)
            .collect()
    }

    /// The `spec` of version `name`'s schema, else of the first version's (`None`: no schema).
    pub fn spec_schema(&self, name: &str) -> Option<&SpecFields> {
        let v = self
            .spec
            .versions
            .iter()
            .find(|v| v.name == Some(name))
            .or_else(|| self.spec.versions.first())?;
        v.schema
            .as_ref()?
            .open_api_v3_schema
            .as_ref()?
            .properties
            .as_ref()?
            .spec
            .as_ref()?
            .properties
            .as_ref()
            .or(Some(&NO_FIELDS))
    }
}

static NO_FIELDS: SpecFields = SpecFields {
    max_parallel_node_configuration: None,
};
