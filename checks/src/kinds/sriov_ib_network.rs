//! SR-IOV SriovIBNetwork: the resource it uses and its IPAM configuration.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SriovIbNetwork<'a> {
    #[serde(borrow)]
    pub spec: IbNetworkSpec<'a>,
}
view!(
    SriovIbNetwork<'a>,
    "sriovibnetworks.sriovnetwork.openshift.io"
);

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IbNetworkSpec<'a> {
    #[serde(borrow)]
    pub resource_name: Option<&'a str>,
    /// The CNI IPAM configuration: JSON text (see [`Ipam::parse`]).
    #[serde(borrow)]
    pub ipam: Option<&'a str>,
}

/// The parts of an IPAM configuration rules read.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Ipam {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub pool_type: Option<String>,
    pub pool_name: Option<String>,
}

impl Ipam {
    /// Parses the JSON text; the error is serde_json's (its line and column say where).
    pub fn parse(text: &str) -> Result<Ipam, serde_json::Error> {
        let v: Value = serde_json::from_str(text)?;
        Ok(super::view::read(&v, ipam_schema()))
    }
}

fn ipam_schema() -> &'static super::Schema {
    static S: std::sync::OnceLock<super::Schema> = std::sync::OnceLock::new();
    S.get_or_init(super::view::trace::<Ipam>)
}
