//! StorageClass: whether it is the default.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StorageClass<'a> {
    #[serde(borrow)]
    pub metadata: StorageClassMeta<'a>,
}
view!(StorageClass<'a>, "storageclasses.storage.k8s.io");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StorageClassMeta<'a> {
    #[serde(borrow)]
    pub annotations: DefaultClass<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DefaultClass<'a> {
    #[serde(borrow, rename = "storageclass.kubernetes.io/is-default-class")]
    pub is_default: Option<&'a str>,
    #[serde(borrow, rename = "storageclass.beta.kubernetes.io/is-default-class")]
    pub is_default_beta: Option<&'a str>,
}

impl StorageClass<'_> {
    /// Marked default by either annotation.
    pub fn is_default(&self) -> bool {
        let a = &self.metadata.annotations;
        [a.is_default, a.is_default_beta].contains(&Some("true"))
    }
}
