//! Test support for gpu-preflight: real servers on loopback that tests point the binary at.
//!
//! - [`apiserver`]: an HTTPS Kubernetes API server serving fixture objects at the real REST paths,
//!   with discovery, pagination, bearer-token auth, forbidden kinds, RBAC enforcement, faults, a
//!   per-request delay and a log of every request.
//! - [`rbac`]: Kubernetes RBAC authorization of those requests, from ClusterRoles, Roles and
//!   bindings written in YAML.
//! - [`pods`]: pod creation and deletion with a simulated scheduler and kubelet, opt-in, for
//!   `rdma-test`.
//! - [`pki`]: a throwaway CA and server certificates (rcgen).

pub mod apiserver;
pub mod dns;
pub mod pki;
pub mod pods;
pub mod rbac;
pub mod synth;
pub mod tls;
