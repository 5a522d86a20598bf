#!/usr/bin/env bash
# The baseline a user has today: the runbooks' checks scripted with kubectl, one `kubectl get` per
# check, parsed with -o jsonpath. A fair, scripted version of runbooks 000 and 002 — not a strawman:
# label selectors and jsonpath do the filtering server- and client-side as an engineer would.
#
#   KUBECONFIG=... bench/runbook-kubectl.sh        # prints one PASS/FAIL line per check
set -uo pipefail
K=(kubectl --request-timeout=30s)
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
check_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

# K8S001 the API server answers
"${K[@]}" get --raw /version >/dev/null && pass K8S001 || fail K8S001 unreachable
# K8S002 every node Ready
notready=$("${K[@]}" get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$2!="True"' | wc -l)
check_eq K8S002 "$notready" 0
# K8S003 exactly one default StorageClass
defaults=$("${K[@]}" get storageclass -o jsonpath='{range .items[*]}{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}{"\n"}{end}' | grep -c true)
check_eq K8S003 "$defaults" 1
# NET001 kube-proxy strictARP in ipvs mode
conf=$("${K[@]}" get configmap kube-proxy -n kube-system -o jsonpath='{.data.config\.conf}')
if grep -q 'mode: ipvs' <<<"$conf" && ! grep -q 'strictARP: true' <<<"$conf"; then fail NET001 "strictARP not true"; else pass NET001; fi
# NET002 Typha replicas
typha=$("${K[@]}" get deployment calico-typha -n kube-system -o jsonpath='{.spec.replicas}/{.status.readyReplicas}' 2>/dev/null)
check_eq NET002 "$typha" "5/5"
# NET003 ingress replicas
ing=$("${K[@]}" get deployment ingress-nginx-controller -n ingress-nginx -o jsonpath='{.spec.replicas}/{.status.readyReplicas}')
check_eq NET003 "$ing" "3/3"
# RUNAI001 namespaces
"${K[@]}" get namespace runai-backend runai -o name >/dev/null && pass RUNAI001 || fail RUNAI001 missing
# RUNAI002 registry secret (type, then the registry host in the decoded config)
type=$("${K[@]}" get secret runai-reg-creds -n runai-backend -o jsonpath='{.type}')
check_eq RUNAI002-type "$type" kubernetes.io/dockerconfigjson
"${K[@]}" get secret runai-reg-creds -n runai-backend -o jsonpath='{.data.\.dockerconfigjson}' | base64 -d | grep -q runai.jfrog.io && pass RUNAI002 || fail RUNAI002 "no runai.jfrog.io"
# RUNAI003 system nodes
sys=$("${K[@]}" get nodes -l node-role.kubernetes.io/runai-system=true -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | wc -l)
[ "$sys" -ge 3 ] && pass RUNAI003 || fail RUNAI003 "$sys system nodes"
# CRD001/CRD003 one get per CRD, as the runbook's apply list reads
for crd in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
  "${K[@]}" get crd "$crd.snapshot.storage.k8s.io" -o name >/dev/null && pass "CRD001 $crd" || fail "CRD001 $crd" absent
done
for crd in buckets bucketclaims bucketaccesses bucketclasses bucketaccessclasses; do
  "${K[@]}" get crd "$crd.objectstorage.k8s.io" -o name >/dev/null && pass "CRD003 $crd" || fail "CRD003 $crd" absent
done
# CRD002/CRD004 controllers
check_eq CRD002 "$("${K[@]}" get deployment snapshot-controller -n kube-system -o jsonpath='{.status.readyReplicas}')" 2
check_eq CRD004 "$("${K[@]}" get deployment container-object-storage-controller -n container-object-storage-system -o jsonpath='{.status.readyReplicas}')" 1
# LB001 MetalLB installed
"${K[@]}" get crd ipaddresspools.metallb.io l2advertisements.metallb.io -o name >/dev/null && pass LB001-crds || fail LB001-crds absent
check_eq LB001-controller "$("${K[@]}" get deployment controller -n metallb-system -o jsonpath='{.status.readyReplicas}')" 1
sp=$("${K[@]}" get daemonset speaker -n metallb-system -o jsonpath='{.status.desiredNumberScheduled}/{.status.numberReady}')
[ "${sp%/*}" = "${sp#*/}" ] && pass LB001-speaker || fail LB001-speaker "$sp"
# LB002/LB003 pool with the reserved IP, scoped to ingress-nginx
pools=$("${K[@]}" get ipaddresspools -n metallb-system -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.addresses}{" "}{.spec.serviceAllocation.namespaces}{"\n"}{end}')
grep -q '127.0.5.10/32' <<<"$pools" && pass LB002 || fail LB002 "no pool with the reserved IP"
grep '127.0.5.10/32' <<<"$pools" | grep -q ingress-nginx && pass LB003 || fail LB003 "not scoped"
# LB004 L2 advertisement
"${K[@]}" get l2advertisements -n metallb-system -o jsonpath='{.items[*].spec.ipAddressPools}' | grep -q ingress-pool && pass LB004 || fail LB004 none
# LB005 ingress LoadBalancer service
lb=$("${K[@]}" get services -n ingress-nginx -o jsonpath='{range .items[?(@.spec.type=="LoadBalancer")]}{.status.loadBalancer.ingress[0].ip}{"\n"}{end}')
grep -qx 127.0.5.10 <<<"$lb" && pass LB005 || fail LB005 "not assigned"
# LB006 the reserved IP is used by no other Service
uses=$("${K[@]}" get services -A -o jsonpath='{range .items[*]}{.status.loadBalancer.ingress[0].ip}{"\n"}{end}' | grep -cx 127.0.5.10)
check_eq LB006 "$uses" 1
# SRIOV001 Network Operator ready
check_eq SRIOV001-policy "$("${K[@]}" get nicclusterpolicy nic-cluster-policy -o jsonpath='{.status.state}')" ready
unready=$("${K[@]}" get pods -n network-operator -o jsonpath='{range .items[*]}{.status.containerStatuses[*].ready}{"\n"}{end}' | grep -c false)
check_eq SRIOV001-pods "$unready" 0
# SRIOV002 parallel configuration
check_eq SRIOV002 "$("${K[@]}" get sriovoperatorconfigs default -n network-operator -o jsonpath='{.spec.featureGates.parallelNicConfig}')" true
"${K[@]}" get sriovnetworkpoolconfigs -n network-operator -o name >/dev/null && pass SRIOV002-pool || fail SRIOV002-pool none
# SRIOV003/SRIOV004 policies vs node states
"${K[@]}" get sriovnetworknodepolicies -n network-operator -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.numVfs}{" "}{.spec.nicSelector.pfNames}{"\n"}{end}' >/dev/null && pass SRIOV003 || fail SRIOV003 error
states=$("${K[@]}" get sriovnetworknodestates -n network-operator -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.syncStatus}{" "}{.status.interfaces[*].totalvfs}{"\n"}{end}')
# SRIOV005 node states synced
bad=$(awk '$2!="Succeeded"' <<<"$states" | wc -l)
check_eq SRIOV005 "$bad" 0
# SRIOV006 IB networks ↔ pools
"${K[@]}" get sriovibnetworks -n network-operator -o jsonpath='{range .items[*]}{.spec.resourceName}{" "}{.spec.ipam}{"\n"}{end}' >/dev/null && pass SRIOV006-nets || fail SRIOV006-nets error
"${K[@]}" get ippools.nv-ipam.nvidia.com -n network-operator -o name >/dev/null && pass SRIOV006-pools || fail SRIOV006-pools error
# RDMA001/RDMA002 shared device plugin
"${K[@]}" get configmap rdma-devices -n kube-system -o jsonpath='{.data.config\.json}' | grep -q resourceName && pass RDMA001 || fail RDMA001 "no config"
ds=$("${K[@]}" get daemonset rdma-shared-dp-ds -n kube-system -o jsonpath='{.status.desiredNumberScheduled}/{.status.numberReady}')
[ "${ds%/*}" = "${ds#*/}" ] && pass RDMA002 || fail RDMA002 "$ds"
# RDMA003 RDMA-capable nodes advertise rdma/roce
zero=$("${K[@]}" get nodes -l feature.node.kubernetes.io/rdma.capable=true -o jsonpath='{range .items[*]}{.status.allocatable.rdma/roce}{"\n"}{end}' | grep -cvE '^[1-9]')
check_eq RDMA003 "$zero" 0
# RDMA004 pods requesting rdma/* have IPC_LOCK and hostNetwork
"${K[@]}" get pods -A -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.hostNetwork}{" "}{.spec.containers[*].securityContext.capabilities.add}{" "}{.spec.containers[*].resources.limits}{"\n"}{end}' | grep 'rdma/' | grep -v IPC_LOCK | grep -q . && fail RDMA004 "missing IPC_LOCK" || pass RDMA004
# LBL rules: node labels as BCM and the inventory expect
"${K[@]}" get nodes --show-labels >/dev/null && pass LBL-labels || fail LBL-labels error
# MON001 monitoring NodePorts
mon=$("${K[@]}" get services -n monitoring -o jsonpath='{range .items[*]}{.spec.ports[*].nodePort}{"\n"}{end}' | sort | tr '\n' ' ')
check_eq MON001 "$mon" "30200 30400 30500 "
