//! Synthetic Run:ai-on-BCM (+ RDMA) clusters of any size, for the benchmark.
//!
//! Objects look like `kubectl get -o json` output of a real cluster: nodes with the labels,
//! allocatable resources and conditions real nodes carry; 10 pods per node; and every object the
//! runai-bcm and deepops-rdma rules read (kube-proxy ConfigMap, CRDs, MetalLB, SR-IOV node states
//! per node, Services, Deployments, DaemonSets...). All addresses are loopback.

use serde_json::{Value, json};

fn meta(name: &str, ns: Option<&str>, labels: Value) -> Value {
    let mut m = json!({"name": name, "uid": format!("uid-{name}"), "resourceVersion": "4242",
                       "creationTimestamp": "2026-09-14T08:12:31Z", "labels": labels});
    if let Some(ns) = ns {
        m["namespace"] = json!(ns);
    }
    m
}

fn ip(i: usize) -> String {
    format!(
        "127.{}.{}.{}",
        20 + (i >> 16) % 200,
        (i >> 8) & 255,
        i & 255
    )
}

fn node(name: &str, i: usize, role: &str) -> Value {
    let mut labels = json!({"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"});
    let mut alloc = json!({"cpu": "127", "memory": "2113123456Ki", "ephemeral-storage": "1712345678Ki",
        "hugepages-1Gi": "0", "hugepages-2Mi": "0", "pods": "110"});
    let mut taints = json!([]);
    match role {
        "cp" => {
            labels["node-role.kubernetes.io/control-plane"] = json!("");
            taints =
                json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
        }
        "sys" => labels["node-role.kubernetes.io/runai-system"] = json!("true"),
        _ => {
            for (k, v) in [
                ("nvidia.com/gpu.present", "true"),
                ("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
                ("nvidia.com/gpu.count", "8"),
                // GPU Feature Discovery's driver and CUDA labels, and the GPU Operator's.
                ("nvidia.com/cuda.driver-version.full", "550.127.05"),
                ("nvidia.com/cuda.runtime-version.full", "12.4"),
                ("nvidia.com/gpu.deploy.device-plugin", "true"),
                ("nvidia.com/gpu.deploy.operator-validator", "true"),
                ("feature.node.kubernetes.io/pci-15b3.present", "true"),
                ("feature.node.kubernetes.io/rdma.capable", "true"),
                ("feature.node.kubernetes.io/rdma.available", "true"),
                ("node-role.kubernetes.io/worker", ""),
            ] {
                labels[k] = json!(v);
            }
            alloc["nvidia.com/gpu"] = json!("8");
            alloc["rdma/roce"] = json!("100");
            alloc["nvidia.com/mlnxnics"] = json!("8");
        }
    }
    let cond = |t: &str, s: &str, r: &str, m: &str| {
        json!({"type": t, "status": s, "reason": r, "message": m,
               "lastHeartbeatTime": "2026-11-23T10:01:02Z", "lastTransitionTime": "2026-09-14T08:13:00Z"})
    };
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "4242",
                     "creationTimestamp": "2026-09-14T08:12:31Z", "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                     "csi.volume.kubernetes.io/nodeid": format!("{{\"nfs.csi.k8s.io\":\"{name}\"}}")}},
        "spec": {"podCIDR": format!("10.{}.{}.0/24", (i >> 8) & 255, i & 255), "taints": taints},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip(i)}, {"type": "Hostname", "address": name}],
            "allocatable": alloc.clone(), "capacity": alloc,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": (0..40).map(|k| json!({"names": [format!("nvcr.io/nvidia/image-{k}@sha256:{:064x}", k), format!("nvcr.io/nvidia/image-{k}:24.{k}")], "sizeBytes": 123456789 + k})).collect::<Vec<_>>(),
            "nodeInfo": {"kubeletVersion": "v1.31.4", "containerRuntimeVersion": "containerd://1.7.23",
                         "kernelVersion": "5.15.0-126-generic", "osImage": "Ubuntu 22.04.5 LTS",
                         "architecture": "amd64", "operatingSystem": "linux", "machineID": format!("{i:032x}"),
                         "systemUUID": format!("{i:032x}"), "bootID": format!("{i:032x}")}}})
}

fn pod(name: &str, ns: &str, node: &str, i: usize, rdma: bool) -> Value {
    let mut resources =
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}});
    let mut sc = json!({"allowPrivilegeEscalation": false});
    if rdma {
        resources["limits"]["rdma/roce"] = json!("1");
        resources["limits"]["nvidia.com/gpu"] = json!("8");
        sc = json!({"capabilities": {"add": ["IPC_LOCK"]}});
    }
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "resourceVersion": "4242",
                     "creationTimestamp": "2026-11-01T08:12:31Z", "labels": {"app": name.rsplit_once('-').map(|x| x.0).unwrap_or(name)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{ns}-rs"), "uid": "u", "controller": true}]},
        "spec": {"nodeName": node, "hostNetwork": rdma, "serviceAccountName": "default",
                 "containers": [{"name": "main", "image": "nvcr.io/nvidia/pytorch:24.10-py3",
                                 "command": ["sleep", "infinity"], "resources": resources, "securityContext": sc,
                                 "env": [{"name": "NCCL_DEBUG", "value": "INFO"}],
                                 "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]}],
                 "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                 "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]},
        "status": {"phase": "Running", "podIP": ip(100_000 + i), "hostIP": "127.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
                   "containerStatuses": [{"name": "main", "ready": true, "restartCount": 0, "image": "nvcr.io/nvidia/pytorch:24.10-py3",
                                          "imageID": "sha256:abc", "containerID": format!("containerd://{i:064x}"), "started": true}]}})
}

fn deployment(name: &str, ns: &str, replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, Some(ns), json!({"app": name})),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "x"}]}}},
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "updatedReplicas": replicas}})
}

fn daemonset(name: &str, ns: &str, selector: Value, n: usize) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(name, Some(ns), json!({"app": name})),
        "spec": {"selector": {"matchLabels": {"name": name}},
                 "template": {"metadata": {"labels": {"name": name}},
                              "spec": {"hostNetwork": true, "nodeSelector": selector, "containers": [{"name": name, "image": "x"}]}}},
        "status": {"desiredNumberScheduled": n, "currentNumberScheduled": n, "numberReady": n,
                   "numberAvailable": n, "updatedNumberScheduled": n, "numberMisscheduled": 0}})
}

fn crd(plural: &str, group: &str, kind: &str, version: &str, namespaced: bool) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": meta(&format!("{plural}.{group}"), None, json!({})),
        "spec": {"group": group, "scope": if namespaced {"Namespaced"} else {"Cluster"},
                 "names": {"plural": plural, "kind": kind, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
                 "versions": [{"name": version, "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {
                                       "featureGates": {"type": "object", "additionalProperties": {"type": "boolean"}},
                                       "enableInjector": {"type": "boolean"}, "logLevel": {"type": "integer"}}}}}}}]},
        "status": {"conditions": [{"type": "Established", "status": "True"}], "storedVersions": [version]}})
}

/// A cluster of `n` nodes (3 control-plane, 3 Run:ai system, the rest DGX workers), 10 pods each.
pub fn cluster(n: usize) -> Vec<Value> {
    let n = n.max(7);
    let mut out = Vec::with_capacity(n * 12 + 100);
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let (name, role) = match i {
            0..=2 => (format!("k8s-master-{:02}", i + 1), "cp"),
            3..=5 => (format!("runai-sys-{:02}", i - 2), "sys"),
            _ => (format!("dgx-{:05}", i - 5), "gpu"),
        };
        out.push(node(&name, i, role));
        names.push((name, role));
    }
    let workers = names.iter().filter(|(_, r)| *r == "gpu").count();
    for ns in [
        "default",
        "kube-system",
        "ingress-nginx",
        "metallb-system",
        "network-operator",
        "runai-backend",
        "runai",
        "monitoring",
        "container-object-storage-system",
        "gpu-operator",
    ] {
        out.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, None, json!({"kubernetes.io/metadata.name": ns})),
                        "status": {"phase": "Active"}}));
    }
    let mut k = 0;
    for (name, role) in &names {
        let sys = [
            ("kube-system", "kube-proxy"),
            ("kube-system", "calico-node"),
            ("metallb-system", "speaker"),
            ("kube-system", "node-exporter"),
            ("network-operator", "sriov-device-plugin"),
        ];
        for (ns, app) in sys {
            out.push(pod(&format!("{app}-{name}"), ns, name, k, false));
            k += 1;
        }
        for j in 0..5 {
            let rdma = *role == "gpu" && j == 0;
            let ns = if *role == "gpu" {
                "runai"
            } else {
                "runai-backend"
            };
            out.push(pod(&format!("job-{name}-{j}"), ns, name, k, rdma));
            k += 1;
        }
    }
    out.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("kube-proxy", Some("kube-system"), json!({"app": "kube-proxy"})),
        "data": {"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: rr\n  strictARP: true\n"}}));
    out.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("rdma-devices", Some("kube-system"), json!({})),
        "data": {"config.json": "{\"periodicUpdateInterval\": 300, \"configList\": [{\"resourceName\": \"roce\", \"rdmaHcaMax\": 100, \"selectors\": {\"drivers\": [\"mlx5_core\"]}}]}"}}));
    out.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta("runai-reg-creds", Some("runai-backend"), json!({})),
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": "eyJhdXRocyI6eyJodHRwczovL3J1bmFpLmpmcm9nLmlvIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCJ9fX0="}}));
    for (name, ns, replicas) in [
        ("calico-typha", "kube-system", 5),
        ("ingress-nginx-controller", "ingress-nginx", 3),
        ("snapshot-controller", "kube-system", 2),
        ("controller", "metallb-system", 1),
        (
            "container-object-storage-controller",
            "container-object-storage-system",
            1,
        ),
        ("coredns", "kube-system", 2),
    ] {
        out.push(deployment(name, ns, replicas));
    }
    out.push(daemonset(
        "speaker",
        "metallb-system",
        json!({"kubernetes.io/os": "linux"}),
        n,
    ));
    out.push(daemonset(
        "rdma-shared-dp-ds",
        "kube-system",
        json!({"feature.node.kubernetes.io/rdma.capable": "true"}),
        workers,
    ));
    out.push(daemonset(
        "kube-proxy",
        "kube-system",
        json!({"kubernetes.io/os": "linux"}),
        n,
    ));
    // The GPU Operator (GPU001): its ClusterPolicy ready, its validator and device plugin on
    // every GPU node.
    for (name, label) in [
        (
            "nvidia-operator-validator",
            "nvidia.com/gpu.deploy.operator-validator",
        ),
        (
            "nvidia-device-plugin-daemonset",
            "nvidia.com/gpu.deploy.device-plugin",
        ),
    ] {
        out.push(daemonset(
            name,
            "gpu-operator",
            json!({label: "true"}),
            workers,
        ));
    }
    out.push(crd(
        "clusterpolicies",
        "nvidia.com",
        "ClusterPolicy",
        "v1",
        false,
    ));
    out.push(
        json!({"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
        "metadata": meta("cluster-policy", None, json!({})),
        "spec": {"driver": {"enabled": true}, "devicePlugin": {"enabled": true}},
        "status": {"namespace": "gpu-operator", "state": "ready"}}),
    );
    out.push(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path"}));
    out.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("ingress-nginx-controller-lb1", Some("ingress-nginx"), json!({"app.kubernetes.io/component": "controller"})),
        "spec": {"type": "LoadBalancer", "loadBalancerIP": "127.0.5.10",
                 "selector": {"app.kubernetes.io/component": "controller", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/name": "ingress-nginx"},
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "127.0.5.10", "ipMode": "VIP"}]}}}));
    for (name, port) in [
        ("grafana", 30200),
        ("prometheus", 30500),
        ("alertmanager", 30400),
    ] {
        out.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(name, Some("monitoring"), json!({})),
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": port, "protocol": "TCP"}]}}));
    }
    for (plural, group, kind, v, nsd) in [
        (
            "volumesnapshotclasses",
            "snapshot.storage.k8s.io",
            "VolumeSnapshotClass",
            "v1",
            false,
        ),
        (
            "volumesnapshotcontents",
            "snapshot.storage.k8s.io",
            "VolumeSnapshotContent",
            "v1",
            false,
        ),
        (
            "volumesnapshots",
            "snapshot.storage.k8s.io",
            "VolumeSnapshot",
            "v1",
            true,
        ),
        (
            "buckets",
            "objectstorage.k8s.io",
            "Bucket",
            "v1alpha1",
            false,
        ),
        (
            "bucketclaims",
            "objectstorage.k8s.io",
            "BucketClaim",
            "v1alpha1",
            true,
        ),
        (
            "bucketaccesses",
            "objectstorage.k8s.io",
            "BucketAccess",
            "v1alpha1",
            true,
        ),
        (
            "bucketclasses",
            "objectstorage.k8s.io",
            "BucketClass",
            "v1alpha1",
            false,
        ),
        (
            "bucketaccessclasses",
            "objectstorage.k8s.io",
            "BucketAccessClass",
            "v1alpha1",
            false,
        ),
        (
            "ipaddresspools",
            "metallb.io",
            "IPAddressPool",
            "v1beta1",
            true,
        ),
        (
            "l2advertisements",
            "metallb.io",
            "L2Advertisement",
            "v1beta1",
            true,
        ),
        (
            "sriovnetworknodepolicies",
            "sriovnetwork.openshift.io",
            "SriovNetworkNodePolicy",
            "v1",
            true,
        ),
        (
            "sriovnetworknodestates",
            "sriovnetwork.openshift.io",
            "SriovNetworkNodeState",
            "v1",
            true,
        ),
        (
            "sriovoperatorconfigs",
            "sriovnetwork.openshift.io",
            "SriovOperatorConfig",
            "v1",
            true,
        ),
        (
            "sriovnetworkpoolconfigs",
            "sriovnetwork.openshift.io",
            "SriovNetworkPoolConfig",
            "v1",
            true,
        ),
        (
            "sriovibnetworks",
            "sriovnetwork.openshift.io",
            "SriovIBNetwork",
            "v1",
            true,
        ),
        ("ippools", "nv-ipam.nvidia.com", "IPPool", "v1alpha1", true),
        (
            "nicclusterpolicies",
            "mellanox.com",
            "NicClusterPolicy",
            "v1alpha1",
            false,
        ),
    ] {
        out.push(crd(plural, group, kind, v, nsd));
    }
    out.push(json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": meta("ingress-pool", Some("metallb-system"), json!({})),
        "spec": {"addresses": ["127.0.5.10/32"], "autoAssign": false, "avoidBuggyIPs": false,
                 "serviceAllocation": {"priority": 50, "namespaces": ["ingress-nginx"]}}}));
    out.push(json!({"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": meta("l2-ingress", Some("metallb-system"), json!({})),
        "spec": {"ipAddressPools": ["ingress-pool"], "nodeSelectors": [{"matchLabels": {"node-role.kubernetes.io/runai-system": "true"}}]}}));
    for p in 0..8 {
        out.push(json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodePolicy",
            "metadata": meta(&format!("ibp{p}"), Some("network-operator"), json!({})),
            "spec": {"deviceType": "netdevice", "isRdma": true, "linkType": "IB", "numVfs": 8, "priority": 90,
                     "resourceName": format!("ibp{p}"), "nodeSelector": {"nvidia.com/gpu.present": "true"},
                     "nicSelector": {"vendor": "15b3", "deviceID": "1021", "pfNames": [format!("ibp{p}s0")]}}}));
        out.push(json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovIBNetwork",
            "metadata": meta(&format!("ibp{p}-net"), Some("network-operator"), json!({})),
            "spec": {"resourceName": format!("ibp{p}"), "networkNamespace": "runai", "linkState": "enable",
                     "ipam": format!("{{\"type\": \"nv-ipam\", \"poolName\": \"ibp{p}-pool\"}}")}}));
        out.push(json!({"apiVersion": "nv-ipam.nvidia.com/v1alpha1", "kind": "IPPool",
            "metadata": meta(&format!("ibp{p}-pool"), Some("network-operator"), json!({})),
            "spec": {"subnet": format!("192.168.{p}.0/16"), "perNodeBlockSize": 16, "gateway": format!("192.168.{p}.1"),
                     "nodeSelector": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "Exists"}]}]}}}));
    }
    out.push(
        json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovOperatorConfig",
        "metadata": meta("default", Some("network-operator"), json!({})),
        "spec": {"enableInjector": false, "enableOperatorWebhook": false, "logLevel": 2,
                 "featureGates": {"parallelNicConfig": true}}}),
    );
    out.push(json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkPoolConfig",
        "metadata": meta("worker-pool", Some("network-operator"), json!({})),
        "spec": {"maxUnavailable": "20%", "nodeSelector": {"matchLabels": {"nvidia.com/gpu.present": "true"}}}}));
    out.push(
        json!({"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
        "metadata": meta("nic-cluster-policy", None, json!({})),
        "spec": {"nvIpam": {"image": "nvidia-k8s-ipam"}}, "status": {"state": "ready"}}),
    );
    for (name, role) in &names {
        if *role != "gpu" {
            continue;
        }
        let ifaces: Vec<Value> = (0..8)
            .map(|p| json!({"name": format!("ibp{p}s0"), "pciAddress": format!("0000:{:02x}:00.0", 0x0c + p * 0x10),
                            "vendor": "15b3", "deviceID": "1021", "driver": "mlx5_core", "linkType": "IB",
                            "linkSpeed": "400000 Mb/s", "mtu": 4092, "numVfs": 8, "totalvfs": 16,
                            "Vfs": (0..8).map(|v| json!({"vfID": v, "pciAddress": format!("0000:{:02x}:00.{}", 0x0c + p * 0x10, v + 1), "driver": "mlx5_core"})).collect::<Vec<_>>()}))
            .collect();
        out.push(json!({"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodeState",
            "metadata": {"name": name, "namespace": "network-operator", "uid": format!("uid-s-{name}"),
                         "annotations": {"sriovnetwork.openshift.io/desired-state": "Idle", "sriovnetwork.openshift.io/current-state": "Idle"}},
            "spec": {"interfaces": ifaces.iter().map(|i| json!({"name": i["name"], "pciAddress": i["pciAddress"], "numVfs": 8, "linkType": "IB"})).collect::<Vec<_>>()},
            "status": {"interfaces": ifaces, "syncStatus": "Succeeded", "lastSyncError": ""}}));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_scale_with_nodes() {
        let c = super::cluster(100);
        let nodes = c.iter().filter(|o| o["kind"] == "Node").count();
        let pods = c.iter().filter(|o| o["kind"] == "Pod").count();
        assert_eq!(nodes, 100);
        assert_eq!(pods, 1000);
        assert_eq!(
            c.iter()
                .filter(|o| o["kind"] == "SriovNetworkNodeState")
                .count(),
            94
        );
    }
}

/// The node agent DaemonSet exactly as deploy/node-agent-daemonset.yaml declares it, as the API
/// server returns it (uid, status), scheduled on `nodes` nodes.
pub fn agent_daemonset(nodes: usize) -> Value {
    let docs: Vec<Value> = gpu_preflight_checks::yaml::from_multi(include_str!(
        "../../../deploy/node-agent-daemonset.yaml"
    ))
    .expect("deploy/node-agent-daemonset.yaml is YAML");
    let mut ds = docs
        .into_iter()
        .find(|d| d["kind"] == "DaemonSet")
        .expect("the manifest has a DaemonSet");
    let name = ds["metadata"]["name"].as_str().unwrap_or("").to_string();
    ds["metadata"]["uid"] = json!(format!("uid-ds-{name}"));
    ds["metadata"]["creationTimestamp"] = json!("2026-11-20T08:00:00Z");
    ds["status"] = json!({"desiredNumberScheduled": nodes, "currentNumberScheduled": nodes,
        "numberReady": nodes, "numberAvailable": nodes, "updatedNumberScheduled": nodes,
        "numberMisscheduled": 0});
    ds
}

/// The name the DaemonSet controller gives its pod on `node`: NAME-xxxxx (stable per node).
pub fn agent_pod_name(ds: &Value, node: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let suffix: String = (0..5)
        .map(|i| ALPHABET[((h >> (i * 8)) % ALPHABET.len() as u64) as usize] as char)
        .collect();
    format!(
        "{}-{suffix}",
        ds["metadata"]["name"].as_str().unwrap_or("agent")
    )
}

/// The DaemonSet's pod on `node` as the controller creates it from the template, running, its
/// `node-facts` init container (the agent) done.
pub fn agent_pod(ds: &Value, node: &str) -> Value {
    let tmpl = &ds["spec"]["template"];
    let mut spec = tmpl["spec"].clone();
    spec["nodeName"] = json!(node);
    let done = |c: &Value| {
        json!({"name": c["name"], "image": c["image"], "ready": true, "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                         "startedAt": "2026-11-30T08:00:01Z", "finishedAt": "2026-11-30T08:00:02Z"}}})
    };
    let running = |c: &Value| {
        json!({"name": c["name"], "image": c["image"], "ready": true, "restartCount": 0, "started": true,
               "state": {"running": {"startedAt": "2026-11-30T08:00:03Z"}}})
    };
    let each = |k: &str, f: &dyn Fn(&Value) -> Value| -> Vec<Value> {
        spec[k]
            .as_array()
            .map(|cs| cs.iter().map(f).collect())
            .unwrap_or_default()
    };
    let (init, main) = (each("initContainers", &done), each("containers", &running));
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": agent_pod_name(ds, node), "namespace": ds["metadata"]["namespace"],
                     "uid": format!("uid-agent-{node}"), "labels": tmpl["metadata"]["labels"],
                     "creationTimestamp": "2026-11-30T08:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                          "name": ds["metadata"]["name"], "uid": ds["metadata"]["uid"],
                                          "controller": true, "blockOwnerDeletion": true}]},
        "spec": spec,
        "status": {"phase": "Running", "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                   "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                   "initContainerStatuses": init, "containerStatuses": main}})
}

/// The facts `gpu-preflight node` would print on `node` in the DaemonSet: `template` (a node
/// facts document) with the node's name as node_name and hostname, collected at `collected_at`.
pub fn node_facts_for(template: &Value, node: &str, collected_at: &str) -> String {
    let mut f = template.clone();
    f["node_name"] = json!(node);
    f["hostname"] = json!(node);
    f["collected_at"] = json!(collected_at);
    f["host_root"] = json!("/host");
    // Pretty, as the agent prints it.
    let mut s = serde_json::to_string_pretty(&f).expect("facts serialize");
    s.push('\n');
    s
}

/// The agent for every Node in `objects`: the DaemonSet and one pod per node (to add to the
/// objects), and each pod's `node-facts` log, `facts(node)`, to serve.
pub fn node_agent(
    objects: &[Value],
    facts: impl Fn(&str) -> String,
) -> (
    Vec<Value>,
    std::collections::HashMap<(String, String), crate::apiserver::PodLog>,
) {
    let nodes: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Node")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    let ds = agent_daemonset(nodes.len());
    let ns = ds["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut out = Vec::with_capacity(nodes.len() + 1);
    let mut logs = std::collections::HashMap::with_capacity(nodes.len());
    for node in nodes {
        let pod = agent_pod(&ds, node);
        let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
        logs.insert(
            (format!("{ns}/{name}"), "node-facts".to_string()),
            crate::apiserver::PodLog::Text(facts(node)),
        );
        out.push(pod);
    }
    out.push(ds);
    (out, logs)
}

#[cfg(test)]
mod agent_tests {
    use super::*;

    #[test]
    fn agent_pods_follow_the_manifest() {
        let objects = cluster(7);
        let (agent, logs) = node_agent(&objects, |n| format!("{{\"node\": \"{n}\"}}"));
        assert_eq!(agent.len(), 8);
        assert_eq!(logs.len(), 7);
        let ds = agent.last().unwrap();
        let pod = &agent[0];
        assert_eq!(pod["metadata"]["namespace"], ds["metadata"]["namespace"]);
        assert_eq!(
            pod["metadata"]["labels"],
            ds["spec"]["selector"]["matchLabels"]
        );
        assert_eq!(pod["spec"]["initContainers"][0]["name"], "node-facts");
        assert_eq!(
            pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"],
            0
        );
        let names: std::collections::BTreeSet<String> = agent[..7]
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names.len(), 7, "one distinct pod name per node");
    }
}
