//! The requests `rdma-test` sends for its pods (kube-rs `Api<Pod>` in one namespace): create,
//! get, delete, list by label, and the container log. Each failure names the request as the
//! API server saw it, so a refusal says exactly what was refused.

use crate::collect::kube::chain;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use std::fmt;

/// Largest log read from a test pod: perftest prints a few kilobytes. Asked of the server
/// (`limitBytes`) and enforced here: reading stops at the limit whatever the server sends.
pub const LOG_LIMIT: usize = 1 << 20;

/// A pod's log, read up to [`LOG_LIMIT`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodLog {
    pub text: String,
    /// The log was longer: only its first [`LOG_LIMIT`] bytes are in `text`.
    pub cut: bool,
}

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

    /// Pods matching a label selector (every page; `""`: every pod of the namespace).
    pub async fn list(&self, selector: &str) -> Result<Vec<Pod>, Failure> {
        let mut out = Vec::new();
        let mut lp = ListParams::default().limit(500);
        if !selector.is_empty() {
            lp = lp.labels(selector);
        }
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

    /// Pods not ended, in every namespace: what they request of a node's RDMA resource is
    /// not free for the tests.
    pub async fn list_running_everywhere(&self) -> Result<Vec<Pod>, Failure> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let mut out = Vec::new();
        let mut lp = ListParams::default()
            .fields("status.phase!=Succeeded,status.phase!=Failed")
            .limit(500);
        loop {
            let page = api
                .list(&lp)
                .await
                .map_err(|e| failure("GET /api/v1/pods".to_string(), &e))?;
            out.extend(page.items.into_iter().filter(|p| {
                !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
            }));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = lp.continue_token(&c),
                None => return Ok(out),
            }
        }
    }

    /// The test container's log, at most [`LOG_LIMIT`] bytes of it (the rest is not read).
    pub async fn log(&self, name: &str) -> Result<PodLog, Failure> {
        use futures::AsyncReadExt;
        let lp = LogParams {
            container: Some(super::pods::CONTAINER.to_string()),
            limit_bytes: Some(LOG_LIMIT as i64),
            ..LogParams::default()
        };
        let request = || {
            format!(
                "GET {}/log?container={}",
                self.path(Some(name)),
                super::pods::CONTAINER
            )
        };
        let stream = self
            .api
            .log_stream(name, &lp)
            .await
            .map_err(|e| failure(request(), &e))?;
        let mut stream = Box::pin(stream);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let mut cut = false;
        loop {
            let n = stream.read(&mut chunk).await.map_err(|e| Failure {
                request: request(),
                code: None,
                message: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            let room = LOG_LIMIT - buf.len();
            if n > room {
                buf.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok(PodLog {
            text: String::from_utf8_lossy(&buf).into_owned(),
            cut,
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
