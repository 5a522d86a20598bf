//! K8S001: the API server answers.

use super::{Ctx, Needs, TypedCheck};
use crate::facts::ApiFact;
use crate::model::Finding;
use serde::Deserialize;

pub struct ApiReachable;

/// How every rule that reads cluster objects begins its `error` result when the API server is
/// unreachable; the cause follows after `: `. Renderers fold these rows (the cause is K8S001's).
pub const NOT_EVALUATED: &str = "not evaluated: the API server is unreachable (K8S001)";

/// The same when the API server answered 401: it is there, but refused the credentials.
pub const NOT_AUTHORIZED: &str =
    "not evaluated: the API server refused the credentials (401, K8S001)";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl TypedCheck for ApiReachable {
    type Params = Params;
    const NAME: &'static str = "api_reachable";
    const SUMMARY: &'static str = "The Kubernetes API server answers; reports its version.";

    fn needs(_: &Params) -> Needs {
        Needs {
            api: true,
            ..Needs::default()
        }
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let t = "cluster";
        match &ctx.facts.api {
            ApiFact::Reachable { version, server } => {
                let at = if server.is_empty() {
                    String::new()
                } else {
                    format!(" at {server}")
                };
                vec![
                    Finding::pass(t, format!("API server{at} answers, version {version}"))
                        .observed(version.clone()),
                ]
            }
            ApiFact::Unreachable {
                cause,
                unauthorized,
            } => vec![
                Finding::error(
                    t,
                    if *unauthorized {
                        format!("API server refused the credentials: {cause}")
                    } else {
                        format!("API server unreachable: {cause}")
                    },
                )
                .expected("an answer to GET /version")
                .observed(cause.clone())
                .cause(crate::model::Cause::api_down(*unauthorized)),
            ],
            ApiFact::NotCollected => vec![Finding::skip(
                t,
                "offline input without server version (plain kubectl output): reachability not known",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::site::Site;

    fn run(api: ApiFact) -> Finding {
        let f = Facts {
            api,
            ..Facts::default()
        };
        let site = Site::default();
        ApiReachable::eval(
            &Ctx {
                facts: &f,
                site: &site,
            },
            &Params {},
        )
        .remove(0)
    }

    #[test]
    fn reachable_passes_with_version() {
        let r = run(ApiFact::Reachable {
            version: "v1.31.2".into(),
            server: "https://127.0.0.1:6443".into(),
        });
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("v1.31.2"));
    }

    #[test]
    fn unreachable_is_an_error_with_cause() {
        let r = run(ApiFact::Unreachable {
            cause: "connection refused".into(),
            unauthorized: false,
        });
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains("connection refused"));
    }
}
