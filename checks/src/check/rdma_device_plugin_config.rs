//! RDMA001: the RDMA shared device plugin's ConfigMap (`kube-system/rdma-devices`, key
//! `config.json`) is valid per the plugin's schema; every error is named by its JSON path.

use super::{Ctx, Needs, TypedCheck};
use crate::kinds::config_map::ConfigMap;
use crate::model::Finding;
pub use crate::parse::rdma_device_plugin::{Validated, validate_config};
use serde::Deserialize;

pub struct RdmaDevicePluginConfig;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "d_ns")]
    pub namespace: String,
    #[serde(default = "d_name")]
    pub name: String,
    #[serde(default = "d_key")]
    pub key: String,
}

pub fn d_ns() -> String {
    "kube-system".into()
}
pub fn d_name() -> String {
    "rdma-devices".into()
}
pub fn d_key() -> String {
    "config.json".into()
}

/// The plugin's `config.json` text from the ConfigMap, if present.
pub fn config_text<'a>(ctx: &'a Ctx, ns: &str, name: &str, key: &str) -> Option<&'a str> {
    let (_, cm) = ctx.facts.view::<ConfigMap>(Some(ns), name)?;
    cm.data?.get(key).copied()
}

impl TypedCheck for RdmaDevicePluginConfig {
    type Params = Params;
    const NAME: &'static str = "rdma_device_plugin_config";
    const SUMMARY: &'static str =
        "The RDMA shared device plugin ConfigMap exists and its config.json is valid.";

    fn needs(_: &Params) -> Needs {
        Needs::default().by_name("configmaps")
    }

    fn named(_: &Ctx, p: &Params) -> Vec<crate::facts::ObjectRef> {
        vec![crate::facts::ObjectRef::namespaced(
            "configmaps",
            &p.namespace,
            &p.name,
        )]
    }

    fn eval(ctx: &Ctx, p: &Params) -> Vec<Finding> {
        let target = format!("configmap/{}/{}", p.namespace, p.name);
        if (ctx.facts)
            .view::<ConfigMap>(Some(&p.namespace), &p.name)
            .is_none()
        {
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "ConfigMap {}/{} not found: the RDMA shared device plugin has no configuration",
                        p.namespace, p.name
                    ),
                )
                .expected("ConfigMap present")
                .observed("absent"),
            ];
        }
        let Some(text) = config_text(ctx, &p.namespace, &p.name, &p.key) else {
            return vec![
                Finding::fail(
                    target,
                    format!(
                        "ConfigMap {}/{} has no key `{}`",
                        p.namespace, p.name, p.key
                    ),
                )
                .expected(format!("data.{}", p.key))
                .observed("key absent"),
            ];
        };
        let v = validate_config(text);
        if v.errors.is_empty() {
            vec![
                Finding::pass(
                    target,
                    format!(
                        "{}/{} {} is valid; resources: {}",
                        p.namespace,
                        p.name,
                        p.key,
                        v.resources.join(", ")
                    ),
                )
                .observed(v.resources.join(", ")),
            ]
        } else {
            vec![
                Finding::fail(
                    target,
                    format!(
                        "{}/{} {} has {} error(s): {}",
                        p.namespace,
                        p.name,
                        p.key,
                        v.errors.len(),
                        v.errors.join("; ")
                    ),
                )
                .expected("a valid rdma shared device plugin config.json")
                .observed(v.errors.join("; ")),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::facts;
    use crate::model::Status;
    use crate::site::Site;
    use serde_json::json;

    /// The runbook's ConfigMap (step 10).
    pub const RUNBOOK: &str = r#"{
      "periodicUpdateInterval": 300,
      "configList": [
        {
          "resourceName": "roce",
          "rdmaHcaMax": 100,
          "selectors": {
            "drivers": [
              "mlx5_core"
            ]
          }
        }
      ]
    }"#;

    fn run(data: Option<&str>) -> Finding {
        let items = match data {
            Some(d) => vec![
                json!({"metadata": {"name": "rdma-devices", "namespace": "kube-system"},
                                   "data": {"config.json": d}}),
            ],
            None => vec![],
        };
        let f = facts(&[("configmaps", items)]);
        let site = Site::default();
        let p: Params = serde_json::from_value(json!({})).unwrap();
        RdmaDevicePluginConfig::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &p,
        )
        .remove(0)
    }

    #[test]
    fn runbook_config_passes() {
        let r = run(Some(RUNBOOK));
        assert_eq!(r.status, Status::Pass, "{}", r.message);
        assert_eq!(r.observed.as_deref(), Some("rdma/roce"));
    }

    #[test]
    fn every_error_is_named_by_path() {
        let bad = r#"{"periodicUpdateInterval": -1, "configList": [
            {"resourceName": "ro-ce", "rdmaHcaMax": -5, "selectors": {"driver": ["mlx5_core"]}},
            {"resourceName": "hca", "selectors": {"vendors": ["15b3"]}, "devices": ["ib0"]},
            {"resourceName": "hca", "selectors": {"vendors": "15b3"}},
            {"rdmaHcaMax": 1, "selectors": {}}
        ]}"#;
        let r = run(Some(bad));
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("kube-system/rdma-devices"));
        for path in [
            "$.periodicUpdateInterval",
            "$.configList[0].resourceName: `ro-ce`",
            "$.configList[0].rdmaHcaMax",
            "$.configList[0].selectors.driver: unknown selector",
            "$.configList[1]: has both",
            "$.configList[2].resourceName: `hca` is used by an earlier entry",
            "$.configList[2].selectors.vendors: expected a list",
            "$.configList[3].resourceName: required",
        ] {
            assert!(r.message.contains(path), "missing {path} in {}", r.message);
        }
    }

    #[test]
    fn missing_map_key_and_bad_json_fail() {
        let r = run(None);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.observed.as_deref(), Some("absent"));
        let r = run(Some("{\"configList\": [}"));
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("$: not valid JSON (line 1"),
            "{}",
            r.message
        );
        let r = run(Some("{\"configList\": []}"));
        assert!(r.message.contains("$.configList: empty"));
    }

    #[test]
    fn resources_use_prefix() {
        let v = validate_config(
            r#"{"configList": [{"resourceName": "hca_shared", "resourcePrefix": "nvidia.com", "devices": ["ib0"]}]}"#,
        );
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        assert_eq!(v.resources, ["nvidia.com/hca_shared"]);
    }
}
