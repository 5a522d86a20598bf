//! RDMA007: perftest bandwidth results (`--perf DIR`: `ib_write_bw`, `ib_read_bw`, `ib_send_bw`)
//! reach the site fraction (default 0.9) of the port rate, taken from the site
//! (`expect.rdma_port_gbps`) or the node facts of the measured device. A bidirectional run (`-b`)
//! reports both directions summed, so it is judged against twice the port rate.

use super::{Ctx, Needs, TypedCheck};
use crate::model::Finding;
use crate::node_facts::{NodeFacts, NodeLocal, match_nodes};
use crate::parse::perftest::PerfResult;
use serde::Deserialize;

pub struct RdmaBandwidth;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

pub const NO_PERF: &str = "no perftest results given: save `ib_write_bw ... --report_gbits` output as NODE-DEVICE.txt (or --out_json as .json) and pass the folder with `--perf DIR`";

/// The node a perf file belongs to: the longest node name its file name starts with.
fn node_of<'a>(file: &str, names: &'a [String]) -> Option<&'a String> {
    names
        .iter()
        .filter(|n| {
            file.strip_prefix(n.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '-', '_']))
        })
        .max_by_key(|n| n.len())
}

/// The port rate the measured device runs at: `(Gb/s, description)`.
fn port_rate(f: &NodeFacts, r: &PerfResult) -> Option<(f64, String)> {
    let devices = f.rdma_devices.value()?;
    devices
        .iter()
        .filter(|d| r.device.as_deref().is_none_or(|want| want == d.name))
        .flat_map(|d| d.ports.iter().map(move |p| (d, p)))
        .filter(|(_, p)| p.is_active())
        .filter_map(|(d, p)| {
            p.rate_gbps()
                .map(|g| (g, format!("{}/{} {}", d.name, p.port, p.rate)))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

impl TypedCheck for RdmaBandwidth {
    type Params = Params;
    const NAME: &'static str = "rdma_bandwidth";
    const SUMMARY: &'static str = "perftest (ib_write_bw, ib_read_bw, ib_send_bw) average bandwidth reaches the site fraction of the port rate (twice the port rate for bidirectional runs).";

    fn needs(_: &Params) -> Needs {
        super::node_scope::needs()
    }

    fn eval(ctx: &Ctx, _: &Params) -> Vec<Finding> {
        let local: &NodeLocal = &ctx.facts.node_local;
        if local.perf.is_empty() && !local.perf_set_aside.is_empty() {
            let files: Vec<String> = local
                .perf_set_aside
                .iter()
                .map(|(f, why)| format!("{f}: {why}"))
                .collect();
            return vec![
                Finding::skip(
                    "cluster",
                    format!("no perftest result judged: {}", files.join("; ")),
                )
                .rests_on(&[]),
            ];
        }
        if local.perf.is_empty() {
            return vec![Finding::skip("cluster", NO_PERF).rests_on(&[])];
        }
        let fraction = ctx.site.expect.rdma_bandwidth_fraction.0;
        let site_rate = ctx.site.expect.rdma_port_gbps;
        // Facts by node name (Kubernetes names when nodes are known).
        let matched = match_nodes(local, ctx.facts.list("nodes"));
        let mut names: Vec<String> = matched.pairs.iter().map(|(n, _)| n.clone()).collect();
        names.extend(ctx.facts.list("nodes").iter().map(|n| n.name().to_string()));
        names.extend(local.facts.keys().cloned());
        names.sort();
        names.dedup();
        // One result per target: node and device (`node/gpu01/mlx5_3`), with the file name when
        // two runs of the same device are given (a write and a read test).
        let base = |file: &str, r: &crate::parse::perftest::PerfResult| match node_of(file, &names)
        {
            Some(n) => format!(
                "node/{n}/{}",
                r.device.as_deref().unwrap_or("unknown-device")
            ),
            None => format!("perf/{file}"),
        };
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (file, r) in &local.perf {
            *seen.entry(base(file, r)).or_default() += 1;
        }
        let mut out = Vec::new();
        for (file, r) in &local.perf {
            let node = node_of(file, &names);
            let target = match base(file, r) {
                t if seen.get(&t).is_some_and(|n| *n > 1) => format!("{t}/{file}"),
                t => t,
            };
            let facts = node.and_then(|n| {
                matched
                    .pairs
                    .iter()
                    .find(|(m, _)| m == n)
                    .map(|(_, f)| *f)
                    .or_else(|| local.facts.get(n))
            });
            // The verdict rests on Node objects only when one of them named the node.
            let rests_on: &[&'static str] = match node {
                Some(n) if !local.facts.contains_key(n) => &["nodes"],
                _ => &[],
            };
            let dev = r.device.as_deref().unwrap_or("unknown device");
            let rate = match (site_rate, facts.and_then(|f| port_rate(f, r))) {
                (Some(g), _) => Some((g, format!("site expect.rdma_port_gbps {g} Gb/s"))),
                (None, Some((g, d))) => Some((g, format!("port rate of {d}"))),
                (None, None) => None,
            };
            let run = r.describe();
            let measured = format!(
                "{:.2} Gb/s average ({} {} bytes, {} from {file})",
                r.bw_average_gbps, dev, r.msg_size, r.unit
            );
            let Some((rate, from)) = rate else {
                out.push(
                    Finding::skip(
                        target,
                        format!(
                            "{run} on {dev}: {measured}: no port rate to judge it by: give node facts with an ACTIVE port for {dev} (--node-facts) or set expect.rdma_port_gbps in the site file"
                        ),
                    )
                    .observed(measured)
                    .rests_on(rests_on),
                );
                continue;
            };
            // perftest -b adds the two directions' bandwidths; a full-duplex port carries its
            // rate each way.
            let (capacity, per) = if r.bidirectional {
                (
                    2.0 * rate,
                    format!("2 x {from}: bidirectional, both directions summed"),
                )
            } else {
                (rate, from)
            };
            let want = fraction * capacity;
            let expected = format!(">= {want:.2} Gb/s ({fraction} x {per})");
            let mut msg = format!(
                "{}: {run} on {dev} measured {measured}",
                node.map(|n| format!("node {n}"))
                    .unwrap_or_else(|| format!("perf file {file}"))
            );
            if !r.notes.is_empty() {
                msg.push_str(&format!(" [perftest notes: {}]", r.notes.join("; ")));
            }
            let share = 100.0 * r.bw_average_gbps / capacity;
            out.push(
                (if r.bw_average_gbps >= want {
                    Finding::pass(target, format!("{msg}: {share:.0}% of {capacity} Gb/s"))
                        .expected(expected)
                        .observed(format!("{:.2} Gb/s", r.bw_average_gbps))
                } else {
                    Finding::fail(
                        target,
                        format!(
                            "{msg}: {share:.0}% of {capacity} Gb/s{}, below {:.0}%",
                            if r.bidirectional {
                                format!(" (2 x {rate} Gb/s, both directions)")
                            } else {
                                String::new()
                            },
                            100.0 * fraction
                        ),
                    )
                    .expected(expected)
                    .observed(format!("{:.2} Gb/s", r.bw_average_gbps))
                    .fill("device", dev)
                    .fill_some("server_ip", r.server.as_deref())
                })
                .rests_on(rests_on),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Facts;
    use crate::model::Status;
    use crate::node_facts::testing::{healthy, local};
    use crate::parse::perftest::parse;
    use crate::site::Site;

    fn perf(avg_gbps: f64) -> PerfResult {
        let rate = avg_gbps * 1e9 / 8.0 / 65536.0 / 1e6;
        parse(&format!(
            " Dual-port       : OFF\t\tDevice         : mlx5_0\n #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]\n 65536      100000           0.00               {avg_gbps:.2}\t\t   {rate:.6}\n"
        ))
        .unwrap()
    }

    fn run(site: &Site, entries: Vec<(&str, PerfResult)>) -> Vec<Finding> {
        let mut nl = local(vec![
            ("gpu01", healthy("gpu01")),
            ("gpu02", healthy("gpu02")),
        ]);
        nl.perf = entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let f = Facts {
            node_local: nl,
            ..Facts::default()
        };
        RdmaBandwidth::eval(&Ctx { facts: &f, site }, &Params {})
    }

    #[test]
    fn against_port_rate_from_facts() {
        let site = Site::default();
        let r = run(
            &site,
            vec![
                ("gpu01-mlx5_0.txt", perf(191.87)),
                ("gpu02.txt", perf(96.25)),
            ],
        );
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert_eq!(r[0].target, "node/gpu01/mlx5_0");
        assert_eq!(r[1].status, Status::Fail);
        assert!(r[1].message.contains("node gpu02"), "{}", r[1].message);
        assert_eq!(r[1].observed.as_deref(), Some("96.25 Gb/s"));
        assert_eq!(
            r[1].expected.as_deref(),
            Some(">= 180.00 Gb/s (0.9 x port rate of mlx5_0/1 200 Gb/sec (4X HDR))")
        );
    }

    #[test]
    fn bidirectional_runs_count_both_directions() {
        let bidir = |avg: f64| {
            let mut p = perf(avg);
            p.test = Some("RDMA_Write Bidirectional BW Test".into());
            p.verb = Some("RDMA_Write".into());
            p.bidirectional = true;
            p
        };
        // HDR 200 Gb/s port: 380 both ways is 95 % of 400, 300 is 75 %.
        let r = run(
            &Site::default(),
            vec![("gpu01-b.txt", bidir(380.0)), ("gpu02-b.txt", bidir(300.0))],
        );
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        assert!(
            r[0].message
                .contains("ib_write_bw -b (RDMA_Write Bidirectional BW Test)")
        );
        assert_eq!(r[1].status, Status::Fail);
        assert!(
            r[1].message
                .contains("75% of 400 Gb/s (2 x 200 Gb/s, both directions), below 90%"),
            "{}",
            r[1].message
        );
    }

    #[test]
    fn site_override_and_unknown_rate() {
        let mut site = Site::default();
        site.expect.rdma_port_gbps = Some(100.0);
        let r = run(&site, vec![("gpu02.txt", perf(96.25))]);
        assert_eq!(r[0].status, Status::Pass, "{}", r[0].message);
        let r = run(&Site::default(), vec![("other.txt", perf(96.25))]);
        assert_eq!(r[0].status, Status::Skip);
        assert!(r[0].message.contains("expect.rdma_port_gbps"));
        assert_eq!(run(&Site::default(), vec![])[0].message, NO_PERF);
    }
}
