//! The requests `rdma-test` sends for its pods (kube-rs `Api<Pod>` in one namespace): create,
//! get, delete, list by label, and the container log. Each failure names the request as the
//! API server saw it, so a refusal says exactly what was refused.

use crate::collect::kube::chain;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use std::fmt;

/// Largest log read from a test pod: perftest prints a few kilobytes.
const LOG_LIMIT: i64 = 1 << 20;

/// A request that failed: what was asked, the HTTP status when the server answered, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `POST /api/v1/namespaces/NS/pods (create pod NAME)`.
    pub request: String,
    /// The status code of the server's answer; `None` when there was none (timeout, network).
    pub code: Option<u16>,
    pub message: String,
}

impl Failure {
    /// 401/403: the credentials may not do this.
    pub fn refused(&self) -> bool {
        matches!(self.code, Some(401 | 403))
    }
    pub fn not_found(&self) -> bool {
        self.code == Some(404)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} was refused ({code}): {}", self.request, self.message),
            None => write!(f, "{} failed: {}", self.request, self.message),
        }
    }
}

/// The pods of one namespace.
#[derive(Clone)]
pub struct Pods {
    api: Api<Pod>,
    client: kube::Client,
    pub namespace: String,
}

impl Pods {
    pub fn new(client: kube::Client, namespace: &str) -> Pods {
        Pods {
            api: Api::namespaced(client.clone(), namespace),
            client,
            namespace: namespace.to_string(),
        }
    }

    fn path(&self, name: Option<&str>) -> String {
        match name {
            Some(n) => format!("/api/v1/namespaces/{}/pods/{n}", self.namespace),
            None => format!("/api/v1/namespaces/{}/pods", self.namespace),
        }
    }

    pub async fn create(&self, pod: &Pod) -> Result<(), Failure> {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        self.api
            .create(&PostParams::default(), pod)
            .await
            .map(|_| ())
            .map_err(|e| failure(format!("POST {} (create pod {name})", self.path(None)), &e))
    }

    pub async fn get(&self, name: &str) -> Result<Pod, Failure> {
        self.api
            .get(name)
            .await
            .map_err(|e| failure(format!("GET {}", self.path(Some(name))), &e))
    }

    /// Deletes a pod; one already gone counts as deleted.
    pub async fn delete(&self, name: &str) -> Result<(), Failure> {
        match self.api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let f = failure(format!("DELETE {}", self.path(Some(name))), &e);
                if f.not_found() { Ok(()) } else { Err(f) }
            }
        }
    }

    /// Pod names matching a label selector (every page).
    pub async fn list(&self, selector: &str) -> Result<Vec<Pod>, Failure> {
        let mut out = Vec::new();
        let mut lp = ListParams::default().labels(selector).limit(500);
        loop {
            let page = self.api.list(&lp).await.map_err(|e| {
                failure(
                    format!("GET {}?labelSelector={selector}", self.path(None)),
                    &e,
                )
            })?;
            out.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => return Ok(out),
            }
        }
    }

    /// The test container's log.
    pub async fn log(&self, name: &str) -> Result<String, Failure> {
        let lp = LogParams {
            container: Some(super::pods::CONTAINER.to_string()),
            limit_bytes: Some(LOG_LIMIT),
            ..LogParams::default()
        };
        self.api.logs(name, &lp).await.map_err(|e| {
            failure(
                format!(
                    "GET {}/log?container={}",
                    self.path(Some(name)),
                    super::pods::CONTAINER
                ),
                &e,
            )
        })
    }

    /// The namespace object: `Ok(None)` when it does not exist, `Err` when it cannot be read
    /// (the rdma-test Role grants nothing outside its namespace, so a 403 is expected there).
    pub async fn namespace(&self) -> Result<Option<Namespace>, Failure> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.get(&self.namespace).await {
            Ok(ns) => Ok(Some(ns)),
            Err(e) => {
                let f = failure(format!("GET /api/v1/namespaces/{}", self.namespace), &e);
                if f.not_found() { Ok(None) } else { Err(f) }
            }
        }
    }
}

fn failure(request: String, e: &kube::Error) -> Failure {
    match e {
        kube::Error::Api(s) => Failure {
            request,
            code: Some(s.code),
            message: if s.message.is_empty() {
                s.reason.clone()
            } else {
                s.message.clone()
            },
        },
        other => Failure {
            request,
            code: None,
            message: chain(other),
        },
    }
}
