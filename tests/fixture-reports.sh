#!/usr/bin/env bash
# Every fixture input combination the tests use, checked with `--format json --profile all` (plus
# the other formats, a waivers file, and, given the bench binary, a live run and a `collect`),
# written to one folder: report, stderr and exit code per case, times and temp paths normalised.
# A refactor that must not change behaviour is proven by comparing two binaries:
#
#   tests/fixture-reports.sh --compare OLD_BIN NEW_BIN [BENCH_BIN]   # exit 1 on any difference
#   tests/fixture-reports.sh BIN OUTDIR [BENCH_BIN]                   # one binary's reports
#
# Nothing leaves loopback: probes are off (GPU_PREFLIGHT_NO_PROBES) and the live cluster is the
# benchmark's synthetic one, served on 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fx="$root/fixtures"

if [ "${1:-}" = "--compare" ]; then
    [ $# -ge 3 ] || { echo "usage: $0 --compare OLD_BIN NEW_BIN [BENCH_BIN]" >&2; exit 2; }
    out="$(mktemp -d)"
    "$0" "$2" "$out/old" "${4:-}"
    "$0" "$3" "$out/new" "${4:-}"
    if diff -r "$out/old" "$out/new"; then
        echo "fixture-reports: $(ls "$out/new" | wc -l) files identical ($out)"
    else
        echo "fixture-reports: DIFFERENT (see $out)" >&2
        exit 1
    fi
    exit 0
fi
[ $# -ge 2 ] || { echo "usage: $0 BIN OUTDIR [BENCH_BIN]" >&2; exit 2; }
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="$2"
bench="${3:-}"
mkdir -p "$out"
work="$(mktemp -d)"
bench_pid=""
cleanup() {
    if [ -n "$bench_pid" ]; then kill "$bench_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
export GPU_PREFLIGHT_NO_PROBES=1 NO_COLOR=1 HOME="$work/home"
unset KUBECONFIG GPU_PREFLIGHT_LOG CI
mkdir -p "$HOME"

# Times, temp folders and the live server's port differ between runs, never between binaries.
normalise() {
    sed -E \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})/<time>/g' \
        -e "s#$work#<work>#g" \
        -e 's#127\.0\.0\.1:[0-9]+#127.0.0.1:<port>#g' \
        -e 's/(_timestamp_seconds) [0-9]+$/\1 <time>/'
}

# case NAME ARGS...: `check ARGS --format json --profile all` (unless ARGS name a profile).
case_() {
    local name="$1"
    shift
    local code=0
    "$bin" check "$@" >"$work/stdout" 2>"$work/stderr" || code=$?
    normalise <"$work/stdout" >"$out/$name.out"
    normalise <"$work/stderr" >"$out/$name.err"
    echo "$code" >"$out/$name.code"
}
json() { case_ "$@" --format json; }

demo=(--snapshot "$fx/demo/runai-bcm.yaml" --site "$fx/demo/site.yaml")
json demo "${demo[@]}" --profile all
json demo-default-profile "${demo[@]}"
for p in core runai-bcm deepops-rdma; do json "demo-$p" "${demo[@]}" --profile "$p"; done
for ph in pre post; do json "demo-$ph" "${demo[@]}" --profile all --phase "$ph"; done
json demo-fail-on-info "${demo[@]}" --profile all --fail-on info
for f in table junit sarif markdown prometheus html; do
    case_ "demo-$f" "${demo[@]}" --profile all --format "$f"
done
# --output files beside stdout.
mkdir -p "$work/outputs"
json demo-outputs "${demo[@]}" --profile all \
    --output "junit=$work/outputs/r.xml" --output "sarif=$work/outputs/r.sarif"
for f in "$work"/outputs/*; do normalise <"$f" >"$out/demo-outputs.$(basename "$f")"; done

# Waivers: applied, expired, stale (tests/it/ecosystem.rs), and an unknown rule.
cat >"$work/waivers.yaml" <<'EOF'
waivers:
  - rule: NET001
    reason: change window CHG-1234
    expires: 2999-12-31
  - rule: CRD003
    target: "crd/bucket*"
    reason: COSI comes with the storage upgrade
    expires: 2020-01-01
  - rule: RUNAI001
    reason: stale on purpose
EOF
json demo-waivers "${demo[@]}" --profile all --waivers "$work/waivers.yaml"
printf 'waivers:\n  - {rule: NOPE001, reason: r}\n' >"$work/waivers-unknown.yaml"
json demo-waivers-unknown "${demo[@]}" --profile all --waivers "$work/waivers-unknown.yaml"

# MetalLB / SR-IOV: the good cluster, and each broken case laid over a copy of it.
ms="$fx/metallb-sriov"
mkdir -p "$work/ms"
cp -r "$ms/good" "$work/ms/good"
json ms-good --snapshot "$work/ms/good" --firmware "$work/ms/good/firmware" \
    --site "$ms/site.yaml" --profile all
json ms-good-no-firmware --snapshot "$work/ms/good" --site "$ms/site.yaml" --profile all
for b in "$ms"/broken/*/; do
    c="$(basename "$b")"
    cp -r "$ms/good" "$work/ms/$c"
    cp -r "$b". "$work/ms/$c/"
    json "ms-$c" --snapshot "$work/ms/$c" --firmware "$work/ms/$c/firmware" \
        --site "$ms/site.yaml" --profile all
done

# Intent: each cluster with each BCM source and inventory (and without).
it="$fx/intent"
for cl in cluster cluster-broken; do
    json "intent-$cl-site" --snapshot "$it/$cl.yaml" --site "$it/site.yaml" --profile all
    for bcm in none bcm.yaml bcm-cmsh bcm-cmsh-broken; do
        for inv in none inventory.ini inventory-new.ini inventory.yaml inventory-broken.ini \
            inventory-mixed.ini inventory-undefined-host.ini; do
            args=(--snapshot "$it/$cl.yaml" --profile all)
            [ "$bcm" = none ] || args+=(--bcm "$it/$bcm")
            [ "$inv" = none ] || args+=(--inventory "$it/$inv")
            json "intent-$cl-$bcm-$inv" "${args[@]}"
        done
    done
done

# Node facts, perf and firmware from the agent.
nd="$fx/node"
json node-all --snapshot "$nd/cluster.yaml" --node-facts "$nd/facts" --perf "$nd/perf" \
    --profile all
json node-site --snapshot "$nd/cluster.yaml" --node-facts "$nd/facts" --perf "$nd/perf" \
    --site "$fx/demo/site.yaml" --profile all
json node-facts-only --snapshot "$nd/cluster.yaml" --node-facts "$nd/facts" --profile all
json node-none --snapshot "$nd/cluster.yaml" --profile all
json node-one-file --snapshot "$nd/cluster.yaml" --node-facts "$nd/facts/dgx01.json" \
    --perf "$nd/perf/gpu03-mlx5_0.txt" --profile all
json node-no-cluster --node-facts "$nd/facts" --perf "$nd/perf" --profile all
json node-no-cluster-local --node-facts "$nd/facts" --perf "$nd/perf" \
    --only NODE001,NODE002,RDMA005,RDMA006,RDMA007
# The GPU pack's nodes (issue #27): hgx01 passes, hgx02/hgx03 fail each rule for its reason.
json gpu-facts --node-facts "$fx/gpu/facts" --only GPU005,GPU006,GPU007,GPU008,RDMA008,RDMA009

# No cluster: the endpoint rules alone (probes off: the site's files are still read).
json no-cluster-endpoint --site "$fx/demo/site.yaml" --only DNS001,DNS002,TLS001,TLS002,TLS004
# Input errors: messages and exit code 2.
json err-unknown-rule "${demo[@]}" --only NOPE001
json err-bad-profile "${demo[@]}" --profile nope
json err-bad-snapshot --snapshot "$work/missing.yaml"
json err-bad-node-facts "${demo[@]}" --node-facts "$work/missing"

# The other commands: help texts, man page, completions, rule list, RBAC, explain, the node agent.
cmd() {
    local name="$1"
    shift
    local code=0
    "$bin" "$@" >"$work/stdout" 2>"$work/stderr" || code=$?
    normalise <"$work/stdout" >"$out/$name.out"
    normalise <"$work/stderr" >"$out/$name.err"
    echo "$code" >"$out/$name.code"
}
cmd help --help
for c in check collect node rules rbac explain diff; do cmd "help-$c" "$c" --help; done
cmd man man
cmd completions-bash completions bash
cmd rules rules
cmd rbac rbac
cmd explain explain NET001
# The tree's saved kernel log, never this machine's (it changes between runs), where the
# binary reads one at all (issue #27).
klog=()
if "$bin" node --help 2>/dev/null | grep -q -- --kernel-log; then klog=(--no-kernel-log); fi
for t in "$nd"/trees/*/ "$fx"/gpu/trees/*/; do
    log=("${klog[@]}")
    if [ ${#klog[@]} -gt 0 ] && [ -f "$t/var/log/kern.log" ]; then log=(--kernel-log "$t/var/log/kern.log"); fi
    cmd "node-agent-$(basename "$t")" node --host-root "$t" --no-firmware --node-name x "${log[@]}"
done
cmd node-agent-bad-timeout node --firmware-timeout 0
cmd node-agent-bad-root node --host-root "$work/missing"
cmd diff diff "$out/demo.out" "$out/demo-waivers.out"

# Live, against the benchmark's synthetic cluster (100 nodes), and `collect` of it.
if [ -n "$bench" ]; then
    "$bench" --sizes 100 --delay-ms 1 --bin "$bin" --serve "$work/serve" 2>"$work/bench.log" &
    bench_pid=$!
    for _ in $(seq 1 600); do [ -f "$work/serve/site.yaml" ] && break; sleep 0.1; done
    live=(--kubeconfig "$work/serve/kubeconfig" --site "$work/serve/site.yaml")
    json live "${live[@]}" --profile all
    json live-rdma "${live[@]}" --profile deepops-rdma --node-facts "$nd/facts"
    code=0
    "$bin" collect "${live[@]}" --profile all -o "$work/snap.json" 2>"$work/stderr" || code=$?
    echo "$code" >"$out/collect.code"
    normalise <"$work/stderr" >"$out/collect.err"
    normalise <"$work/snap.json" >"$out/collect.snapshot"
    json live-snapshot --snapshot "$work/snap.json" --site "$work/serve/site.yaml" --profile all
fi
echo "fixture-reports: $(ls "$out" | wc -l) files in $out" >&2
