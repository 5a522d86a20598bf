//! What proves a measurement is the test's own: the device each end names, and the connection
//! both ends print. perftest (every version since the 2.x rewrite, `perftest_communication.c`)
//! prints, before it measures, one line per queue pair for each side:
//!
//! ```text
//!  local address: LID 0x2c QPN 0x0089 PSN 0x6f0a12 RKey 0x1fdfbd VAddr 0x007f1c9b7ff000
//!  remote address: LID 0x2d QPN 0x008a PSN 0x1b77c4 RKey 0x1fe0be VAddr 0x007f6e13bff000
//! ```
//!
//! (`" %s address: LID %#04x QPN %#06x PSN %#06x"`, so a zero LID on RoCE prints `LID 0000`; read
//! tests add `OUT`, XRC/DC add `SRQn`; with a GID index — RoCE — each line is followed by
//! ` GID: 00:00:…:192:168:07:201`). The client's remote address is its server's local one and
//! the other way round: two logs that say so were one connection.

use std::fmt;

/// One end of a queue pair as perftest prints it: numbers, so `0x0089` and `0x89` agree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub lid: u32,
    pub qpn: u32,
    pub psn: u32,
    /// The ` GID: …` line after it, when printed (RoCE, or `-x`).
    pub gid: Option<String>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LID {:#x} QPN {:#x} PSN {:#x}",
            self.lid, self.qpn, self.psn
        )?;
        if let Some(g) = &self.gid {
            write!(f, " GID {g}")?;
        }
        Ok(())
    }
}

/// What one log says about its connection and device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub local: Vec<Endpoint>,
    pub remote: Vec<Endpoint>,
    /// The banner's `Device : mlx5_3`.
    pub device: Option<String>,
}

fn number(s: &str) -> Option<u32> {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u32::from_str_radix(hex, 16).ok()
}

/// Reads the address lines and the banner's device; anything else is passed over.
pub fn parse(log: &str) -> Connection {
    let mut c = Connection::default();
    // Which list the last address line went to, for its GID line.
    let mut last: Option<bool> = None;
    for line in log.lines() {
        let t = line.trim();
        let side = if let Some(rest) = t.strip_prefix("local address:") {
            Some((true, rest))
        } else {
            t.strip_prefix("remote address:").map(|rest| (false, rest))
        };
        if let Some((local, rest)) = side {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let after = |key: &str| {
                words
                    .iter()
                    .position(|w| *w == key)
                    .and_then(|i| words.get(i + 1))
                    .and_then(|v| number(v))
            };
            last = None;
            if let (Some(lid), Some(qpn), Some(psn)) = (after("LID"), after("QPN"), after("PSN")) {
                let e = Endpoint {
                    lid,
                    qpn,
                    psn,
                    gid: None,
                };
                if local {
                    c.local.push(e);
                } else {
                    c.remote.push(e);
                }
                last = Some(local);
            }
            continue;
        }
        if let Some(gid) = t.strip_prefix("GID:") {
            let list = match last {
                Some(true) => &mut c.local,
                Some(false) => &mut c.remote,
                None => continue,
            };
            if let Some(e) = list.last_mut() {
                e.gid = Some(gid.trim().to_string());
            }
            last = None;
            continue;
        }
        last = None;
        if c.device.is_none()
            && let Some(i) = t.find("Device")
            && let Some(v) = t[i + "Device".len()..].trim_start().strip_prefix(':')
        {
            c.device = v.split_whitespace().next().map(str::to_string);
        }
    }
    c
}

/// Why two logs are not the two ends of one connection, or `Ok`.
pub fn same_connection(client: &Connection, server: &Connection) -> Result<(), String> {
    if client.local.is_empty() || client.remote.is_empty() {
        return Err(
            "the client's log does not show its connection (no `local address`/`remote address` lines): nothing proves which server it measured against".into(),
        );
    }
    if server.local.is_empty() || server.remote.is_empty() {
        return Err(
            "the server's log does not show its connection (no `local address`/`remote address` lines): nothing proves the client measured against it".into(),
        );
    }
    // GIDs are compared only where both ends printed them.
    let agree = |a: &[Endpoint], b: &[Endpoint]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                (x.lid, x.qpn, x.psn) == (y.lid, y.qpn, y.psn)
                    && (x.gid.is_none() || y.gid.is_none() || x.gid == y.gid)
            })
    };
    let show = |v: &[Endpoint]| {
        v.iter()
            .map(Endpoint::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !agree(&client.remote, &server.local) {
        return Err(format!(
            "the client connected to {} but its own server listened as {}: the client reached another ib_write_bw (one an earlier run left on the port?)",
            show(&client.remote),
            show(&server.local)
        ));
    }
    if !agree(&server.remote, &client.local) {
        return Err(format!(
            "the server was connected from {} but the client was {}: the server served another client",
            show(&server.remote),
            show(&client.local)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = " Dual-port       : OFF\t\tDevice         : mlx5_0
 local address: LID 0000 QPN 0x10107 PSN 0xb5554 RKey 0x04ad6e VAddr 0x007f8389beb000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:201
 remote address: LID 0000 QPN 0x10108 PSN 0x92e7fa RKey 0x047c3b VAddr 0x007fd6f366c000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:189
";
    const SERVER: &str = "************************************
* Waiting for client to connect... *
************************************
 Dual-port       : OFF          Device         : mlx5_0
 local address: LID 0x00 QPN 0x10108 PSN 0x92e7fa RKey 0x047c3b VAddr 0x007fd6f366c000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:189
 remote address: LID 0000 QPN 0x10107 PSN 0xb5554 RKey 0x04ad6e VAddr 0x007f8389beb000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:201
";

    #[test]
    fn roce_logs_with_gids_agree_and_a_stale_server_does_not() {
        let c = parse(CLIENT);
        let s = parse(SERVER);
        assert_eq!(c.device.as_deref(), Some("mlx5_0"));
        assert_eq!(s.device.as_deref(), Some("mlx5_0"));
        assert_eq!(c.local[0].qpn, 0x10107);
        assert_eq!(
            c.remote[0].gid.as_deref(),
            Some("00:00:00:00:00:00:00:00:00:00:255:255:192:168:07:189")
        );
        assert_eq!(same_connection(&c, &s), Ok(()));
        // The client's peer was another process: QPN 0x10108 is not what our server printed.
        let stale = parse(&SERVER.replace("0x10108", "0x20001"));
        let e = same_connection(&c, &stale).unwrap_err();
        assert!(
            e.contains("QPN 0x10108") && e.contains("QPN 0x20001"),
            "{e}"
        );
        assert!(same_connection(&c, &parse("Couldn't listen to port 18515\n")).is_err());
        assert!(same_connection(&parse(""), &s).is_err());
    }

    #[test]
    fn ib_addresses_of_the_fixture_and_read_tests_parse() {
        let log = std::fs::read_to_string(crate::rdma_test::tests::fixture(
            "node/perftest/ib_write_bw-report-gbits.txt",
        ))
        .unwrap();
        let c = parse(&log);
        assert_eq!(c.device.as_deref(), Some("mlx5_3"));
        assert_eq!(
            c.local,
            [Endpoint {
                lid: 0x2c,
                qpn: 0x89,
                psn: 0x6f0a12,
                gid: None
            }]
        );
        assert_eq!(c.remote[0].qpn, 0x8a);
        // ib_read_bw adds OUT; XRC adds SRQn.
        let r = parse(
            " local address: LID 0x05 OUT 0x10 QPN 0x0a1b PSN 0x1 RKey 0x2 VAddr 0x3 SRQn 0x000004\n",
        );
        assert_eq!((r.local[0].lid, r.local[0].qpn), (5, 0xa1b));
    }
}
