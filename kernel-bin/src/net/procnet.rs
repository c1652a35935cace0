//! The socket tables of /proc/net as Linux 6.1 prints them: `tcp`,
//! `tcp6` (net/ipv4/tcp_ipv4.c `get_tcp4_sock`, net/ipv6/tcp_ipv6.c
//! `get_tcp6_sock`), `udp`, `udp6` (`udp4_format_sock`,
//! `ip6_dgram_sock_seq_show`), `raw`, `raw6`, `unix` (`unix_seq_show`),
//! `route` (`fib_route_seq_show`), `if_inet6`, `sockstat`, `sockstat6`;
//! the counters of `snmp`, `netstat` and `snmp6` (net/ipv4/proc.c,
//! net/ipv6/proc.c: Linux 6.1's names and order, 0 for what this stack
//! does not count) and `arp` (`arp_seq_show`: its header; the neighbour
//! cache of smoltcp is not readable).
//!
//! The sockets come from the registry of open socket files
//! ([`super::open_sockets`]), so the inode column is the number
//! /proc/PID/fd shows as `socket:[N]` (netstat -p and lsof join on it);
//! the connections no file holds (closed ones finishing, those waiting
//! for accept) come from the stack with inode 0, as Linux's orphans.
//! Kernel pointers print as zeros (Linux's `%pK` with `kptr_restrict`).

use super::inet::{InetSocket, NetRef};
use super::unix::KEnv;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::{IpAddr, SocketAddr};
use inet::{Family, Kind, SockInfo};
use linux_abi::{Errno, Result};
use net::unix::UnixSocket;

const PTR: &str = "0000000000000000";

/// One inet socket: the stack's view, the file's inode and owner.
pub(super) struct Row {
    pub(super) info: SockInfo,
    pub(super) ino: u64,
    pub(super) uid: u32,
    /// The user socket (none for a connection no socket holds).
    pub(super) id: Option<inet::SockId>,
}

/// How many sockets (or entries of the stack's tables) one acquisition of
/// NET's lock looks at while the tables are read.
const BATCH: usize = 64;

/// The inet sockets the tables list: the stack's lock taken per
/// [`BATCH`] sockets (rows reserved before, so nothing is allocated under
/// it), not once for all; the tables are no atomic snapshot (nor are
/// Linux's, read bucket by bucket).
pub(super) fn inet_rows(ns: &NetRef) -> Result<Vec<Row>> {
    let files = super::open_sockets()?;
    let mut ids = Vec::new();
    ids.try_reserve_exact(files.len()).map_err(|_| Errno::ENOMEM)?;
    for f in &files {
        if let Some(s) = f.sock.as_any().downcast_ref::<InetSocket>()
            && s.net().ino() == ns.ino()
        {
            ids.push((s.id(), f.ino(), f.uid()));
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    rows.try_reserve_exact(ids.len()).map_err(|_| Errno::ENOMEM)?;
    for chunk in ids.chunks(BATCH) {
        super::inet::with_stack(ns, |st| {
            for &(id, ino, uid) in chunk {
                if let Ok(info) = st.sock_info(id)
                    && info.hashed
                {
                    rows.push(Row { info, ino, uid, id: Some(id) });
                }
            }
        });
    }
    // the files (their ids stay theirs meanwhile) go with no lock held (a
    // last reference releases)
    drop(files);
    let mut extra = Vec::new();
    let mut at = Some(inet::UnownedCursor::default());
    while let Some(c) = at {
        extra.try_reserve(BATCH).map_err(|_| Errno::ENOMEM)?;
        at = super::inet::with_stack(ns, |st| st.unowned_tcp_batch(c, BATCH, &mut extra))?;
    }
    rows.try_reserve_exact(extra.len()).map_err(|_| Errno::ENOMEM)?;
    rows.extend(extra.into_iter().map(|info| Row { info, ino: 0, uid: 0, id: None }));
    Ok(rows)
}

/// An address as /proc/net prints it: the IPv4 address as the native
/// (little-endian) word of its network-order bytes, an IPv6 address as
/// four such words; the port in host order.
fn addr_hex(a: SocketAddr, v6: bool, out: &mut String) {
    match (a.ip(), v6) {
        (IpAddr::V4(ip), false) => {
            let _ = write!(out, "{:08X}:{:04X}", u32::from_le_bytes(ip.octets()), a.port());
        }
        (ip, _) => {
            let o = match ip {
                IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
                IpAddr::V6(v) => v.octets(),
            };
            for w in o.chunks_exact(4) {
                let _ = write!(out, "{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            }
            let _ = write!(out, ":{:04X}", a.port());
        }
    }
}

/// Pads the last line of `out` (from `start`) to `width` and ends it
/// (`seq_setwidth` + `seq_pad`).
fn pad(out: &mut String, start: usize, width: usize) {
    let len = out.len() - start;
    for _ in len..width {
        out.push(' ');
    }
    out.push('\n');
}

/// /proc/net/`name` for `tcp`, `tcp6`, `udp`, `udp6`, `raw`, `raw6`.
pub fn inet_table(ns: &NetRef, name: &str) -> Result<Vec<u8>> {
    let v6 = name.ends_with('6');
    let rows = inet_rows(ns)?;
    let family = if v6 { Family::V6 } else { Family::V4 };
    let mut out = String::new();
    let want = |r: &&Row, kind: Kind| r.info.family == family && r.info.kind == kind;
    match name {
        "tcp" | "tcp6" => {
            if v6 {
                out.push_str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
            } else {
                let start = out.len();
                out.push_str(
                    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                );
                pad(&mut out, start, 149);
            }
            // listeners first (Linux's listening hash, then the established one)
            let mut list: Vec<&Row> = rows.iter().filter(|r| want(r, Kind::Tcp)).collect();
            list.sort_by_key(|r| (r.info.state != 10, r.info.local.port()));
            for (i, r) in list.iter().enumerate() {
                let start = out.len();
                let _ = write!(out, "{i:4}: ");
                addr_hex(r.info.local, v6, &mut out);
                out.push(' ');
                addr_hex(r.info.remote, v6, &mut out);
                let st = r.info.state;
                if st == 6 {
                    // get_timewait4_sock: timer 3, no inode
                    let _ = write!(
                        out,
                        " {st:02X} {:08X}:{:08X} 03:{:08X} {:08X} {:5} {:8} {} {} {PTR}",
                        0, 0, 0, 0, 0, 0, 0, 3
                    );
                } else {
                    let listen = st == 10;
                    let (rto, ato, quick, ssthresh) = if listen { (100, 0, 0, 0) } else { (20, 4, 0, -1) };
                    let _ = write!(
                        out,
                        " {st:02X} {:08X}:{:08X} 00:{:08X} {:08X} {:5} {:8} {} {} {PTR} {rto} {ato} {quick} 10 {ssthresh}",
                        r.info.tx_queue,
                        r.info.rx_queue,
                        0,
                        0,
                        r.uid,
                        0,
                        r.ino,
                        if listen { 1 } else { 2 },
                    );
                }
                if v6 {
                    out.push('\n');
                } else {
                    pad(&mut out, start, 149);
                }
            }
        }
        "udp" | "udp6" | "raw" | "raw6" => {
            let raw = name.starts_with("raw");
            let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
            if v6 {
                out.push_str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n");
            } else if raw {
                out.push_str(header);
                out.push('\n');
            } else {
                // udp4_seq_show: one more leading space than raw's
                let start = out.len();
                out.push(' ');
                out.push_str(header);
                pad(&mut out, start, 127);
            }
            let kind = if raw { Kind::Raw } else { Kind::Udp };
            let mut list: Vec<&Row> = rows.iter().filter(|r| want(r, kind)).collect();
            list.sort_by_key(|r| r.info.local.port());
            for r in list {
                let start = out.len();
                // udp: the hash bucket of the port; raw: of the protocol
                let (bucket, local) = if raw {
                    // the local "port" is the protocol (inet_num)
                    (usize::from(r.info.local.port()) & 255, r.info.local)
                } else {
                    (usize::from(r.info.local.port()) & 127, r.info.local)
                };
                let width = if raw { 4 } else { 5 };
                let _ = write!(out, "{bucket:width$}: ");
                addr_hex(local, v6, &mut out);
                out.push(' ');
                addr_hex(r.info.remote, v6, &mut out);
                let _ = write!(
                    out,
                    " {:02X} {:08X}:{:08X} 00:{:08X} {:08X} {:5} {:8} {} 2 {PTR} 0",
                    r.info.state, r.info.tx_queue, r.info.rx_queue, 0, 0, r.uid, 0, r.ino
                );
                if v6 || raw {
                    out.push('\n');
                } else {
                    pad(&mut out, start, 127);
                }
            }
        }
        _ => return Err(Errno::ENOENT),
    }
    Ok(out.into_bytes())
}

/// /proc/net/unix (`unix_seq_show`).
pub fn unix_table(ns: &NetRef) -> Result<Vec<u8>> {
    let files = super::open_sockets()?;
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for f in &files {
        let Some(u) = f.sock.as_any().downcast_ref::<UnixSocket<KEnv>>() else { continue };
        if u.netns() != ns.ino() {
            continue;
        }
        let d = u.diag();
        let flags = if d.state == 10 { 0x10000 } else { 0 };
        // a socket with a file: SS_CONNECTED or SS_UNCONNECTED
        let st = if d.state == 1 { 3 } else { 1 };
        let _ = write!(out, "{PTR}: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}", 2, 0, flags, d.ty, st, f.ino());
        match &d.name {
            Some(net::addr::UnixName::Path(p)) => {
                out.push(' ');
                out.push_str(&String::from_utf8_lossy(p));
            }
            Some(net::addr::UnixName::Abstract(a)) => {
                out.push_str(" @");
                for &b in a {
                    out.push(if b == 0 { '@' } else { char::from(b) });
                }
            }
            None => {}
        }
        out.push('\n');
    }
    drop(files);
    Ok(out.into_bytes())
}

/// /proc/net/route (`fib_route_seq_show`): the main table's IPv4 routes
/// of the up interfaces: the default route through the gateway, then the
/// subnet.
pub fn route_table(ns: &NetRef) -> Result<Vec<u8>> {
    let ifs = super::inet::with_stack(ns, |st| st.interfaces())?;
    let mut out = String::new();
    let start = out.len();
    out.push_str("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
    pad(&mut out, start, 127);
    let mut line = |dev: &str, dst: u32, gw: u32, flags: u32, mask: u32| {
        let start = out.len();
        let _ = write!(out, "{dev}\t{dst:08X}\t{gw:08X}\t{flags:04X}\t0\t0\t0\t{mask:08X}\t0\t0\t0");
        pad(&mut out, start, 127);
    };
    let le = |a: core::net::Ipv4Addr| u32::from_le_bytes(a.octets());
    for f in ifs.iter().filter(|f| f.flags & 1 != 0 && f.name != "lo") {
        if let Some(gw) = f.gw4 {
            line(&f.name, 0, le(gw), 0x3, 0);
        }
    }
    for f in ifs.iter().filter(|f| f.flags & 1 != 0 && f.name != "lo") {
        if let Some((a, len)) = f.ipv4 {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            let net = u32::from(a) & mask;
            line(&f.name, net.swap_bytes(), 0, 0x1, mask.swap_bytes());
        }
    }
    Ok(out.into_bytes())
}

/// /proc/net/if_inet6 (`if6_seq_show`): address, interface index, prefix
/// length, scope, flags (IFA_F_PERMANENT), name.
pub fn if_inet6(ns: &NetRef) -> Result<Vec<u8>> {
    let ifs = super::inet::with_stack(ns, |st| st.interfaces())?;
    let mut out = String::new();
    for f in &ifs {
        for &(a, len) in &f.ipv6 {
            let scope = if a.is_loopback() {
                0x10
            } else if a.segments()[0] & 0xffc0 == 0xfe80 {
                0x20
            } else {
                0
            };
            for b in a.octets() {
                let _ = write!(out, "{b:02x}");
            }
            let _ = writeln!(out, " {:02x} {len:02x} {scope:02x} 80 {:>8}", f.index, f.name);
        }
    }
    Ok(out.into_bytes())
}

/// /proc/net/sockstat (`sockstat_seq_show`) and sockstat6.
pub fn sockstat(ns: &NetRef, v6: bool) -> Result<Vec<u8>> {
    let rows = inet_rows(ns)?;
    let count =
        |fam: Family, kind: Kind| rows.iter().filter(|r| r.info.family == fam && r.info.kind == kind).count();
    let mut out = String::new();
    if v6 {
        let _ = write!(
            out,
            "TCP6: inuse {}\nUDP6: inuse {}\nUDPLITE6: inuse 0\nRAW6: inuse {}\nFRAG6: inuse 0 memory 0\n",
            count(Family::V6, Kind::Tcp),
            count(Family::V6, Kind::Udp),
            count(Family::V6, Kind::Raw)
        );
    } else {
        let used = super::open_sockets()?.len();
        let tcp = count(Family::V4, Kind::Tcp);
        let tw = rows.iter().filter(|r| r.info.kind == Kind::Tcp && r.info.state == 6).count();
        let orphan = rows.iter().filter(|r| r.info.kind == Kind::Tcp && r.ino == 0).count() - tw;
        let _ = write!(
            out,
            "sockets: used {used}\nTCP: inuse {tcp} orphan {orphan} tw {tw} alloc {} mem 0\nUDP: inuse {} mem 0\nUDPLITE: inuse 0\nRAW: inuse {}\nFRAG: inuse 0 memory 0\n",
            tcp + count(Family::V6, Kind::Tcp),
            count(Family::V4, Kind::Udp),
            count(Family::V4, Kind::Raw)
        );
    }
    Ok(out.into_bytes())
}

/// The counters of /proc/net/snmp's Udp and UdpLite lines (the same list).
const UDP_FIELDS: &[&str] = &[
    "InDatagrams",
    "NoPorts",
    "InErrors",
    "OutDatagrams",
    "RcvbufErrors",
    "SndbufErrors",
    "InCsumErrors",
    "IgnoredMulti",
    "MemErrors",
];

/// The groups of /proc/net/snmp and their counters, in Linux 6.1's order
/// (net/ipv4/proc.c: snmp4_ipstats_list, icmp_put, snmp4_tcp_list,
/// snmp4_udp_list).
const SNMP_GROUPS: &[(&str, &[&str])] = &[
    (
        "Ip",
        &[
            "Forwarding",
            "DefaultTTL",
            "InReceives",
            "InHdrErrors",
            "InAddrErrors",
            "ForwDatagrams",
            "InUnknownProtos",
            "InDiscards",
            "InDelivers",
            "OutRequests",
            "OutDiscards",
            "OutNoRoutes",
            "ReasmTimeout",
            "ReasmReqds",
            "ReasmOKs",
            "ReasmFails",
            "FragOKs",
            "FragFails",
            "FragCreates",
        ],
    ),
    (
        "Icmp",
        &[
            "InMsgs",
            "InErrors",
            "InCsumErrors",
            "InDestUnreachs",
            "InTimeExcds",
            "InParmProbs",
            "InSrcQuenchs",
            "InRedirects",
            "InEchos",
            "InEchoReps",
            "InTimestamps",
            "InTimestampReps",
            "InAddrMasks",
            "InAddrMaskReps",
            "OutMsgs",
            "OutErrors",
            "OutRateLimitGlobal",
            "OutRateLimitHost",
            "OutDestUnreachs",
            "OutTimeExcds",
            "OutParmProbs",
            "OutSrcQuenchs",
            "OutRedirects",
            "OutEchos",
            "OutEchoReps",
            "OutTimestamps",
            "OutTimestampReps",
            "OutAddrMasks",
            "OutAddrMaskReps",
        ],
    ),
    (
        "Tcp",
        &[
            "RtoAlgorithm",
            "RtoMin",
            "RtoMax",
            "MaxConn",
            "ActiveOpens",
            "PassiveOpens",
            "AttemptFails",
            "EstabResets",
            "CurrEstab",
            "InSegs",
            "OutSegs",
            "RetransSegs",
            "InErrs",
            "OutRsts",
            "InCsumErrors",
        ],
    ),
    ("Udp", UDP_FIELDS),
    ("UdpLite", UDP_FIELDS),
];
/// The groups of /proc/net/netstat (snmp4_net_list, snmp4_ipextstats_list,
/// mptcp_snmp_list) as Debian's Linux 6.1 prints them.
const NETSTAT_GROUPS: &[(&str, &[&str])] = &[
    (
        "TcpExt",
        &[
            "SyncookiesSent",
            "SyncookiesRecv",
            "SyncookiesFailed",
            "EmbryonicRsts",
            "PruneCalled",
            "RcvPruned",
            "OfoPruned",
            "OutOfWindowIcmps",
            "LockDroppedIcmps",
            "ArpFilter",
            "TW",
            "TWRecycled",
            "TWKilled",
            "PAWSActive",
            "PAWSEstab",
            "DelayedACKs",
            "DelayedACKLocked",
            "DelayedACKLost",
            "ListenOverflows",
            "ListenDrops",
            "TCPHPHits",
            "TCPPureAcks",
            "TCPHPAcks",
            "TCPRenoRecovery",
            "TCPSackRecovery",
            "TCPSACKReneging",
            "TCPSACKReorder",
            "TCPRenoReorder",
            "TCPTSReorder",
            "TCPFullUndo",
            "TCPPartialUndo",
            "TCPDSACKUndo",
            "TCPLossUndo",
            "TCPLostRetransmit",
            "TCPRenoFailures",
            "TCPSackFailures",
            "TCPLossFailures",
            "TCPFastRetrans",
            "TCPSlowStartRetrans",
            "TCPTimeouts",
            "TCPLossProbes",
            "TCPLossProbeRecovery",
            "TCPRenoRecoveryFail",
            "TCPSackRecoveryFail",
            "TCPRcvCollapsed",
            "TCPBacklogCoalesce",
            "TCPDSACKOldSent",
            "TCPDSACKOfoSent",
            "TCPDSACKRecv",
            "TCPDSACKOfoRecv",
            "TCPAbortOnData",
            "TCPAbortOnClose",
            "TCPAbortOnMemory",
            "TCPAbortOnTimeout",
            "TCPAbortOnLinger",
            "TCPAbortFailed",
            "TCPMemoryPressures",
            "TCPMemoryPressuresChrono",
            "TCPSACKDiscard",
            "TCPDSACKIgnoredOld",
            "TCPDSACKIgnoredNoUndo",
            "TCPSpuriousRTOs",
            "TCPMD5NotFound",
            "TCPMD5Unexpected",
            "TCPMD5Failure",
            "TCPSackShifted",
            "TCPSackMerged",
            "TCPSackShiftFallback",
            "TCPBacklogDrop",
            "PFMemallocDrop",
            "TCPMinTTLDrop",
            "TCPDeferAcceptDrop",
            "IPReversePathFilter",
            "TCPTimeWaitOverflow",
            "TCPReqQFullDoCookies",
            "TCPReqQFullDrop",
            "TCPRetransFail",
            "TCPRcvCoalesce",
            "TCPOFOQueue",
            "TCPOFODrop",
            "TCPOFOMerge",
            "TCPChallengeACK",
            "TCPSYNChallenge",
            "TCPFastOpenActive",
            "TCPFastOpenActiveFail",
            "TCPFastOpenPassive",
            "TCPFastOpenPassiveFail",
            "TCPFastOpenListenOverflow",
            "TCPFastOpenCookieReqd",
            "TCPFastOpenBlackhole",
            "TCPSpuriousRtxHostQueues",
            "BusyPollRxPackets",
            "TCPAutoCorking",
            "TCPFromZeroWindowAdv",
            "TCPToZeroWindowAdv",
            "TCPWantZeroWindowAdv",
            "TCPSynRetrans",
            "TCPOrigDataSent",
            "TCPHystartTrainDetect",
            "TCPHystartTrainCwnd",
            "TCPHystartDelayDetect",
            "TCPHystartDelayCwnd",
            "TCPACKSkippedSynRecv",
            "TCPACKSkippedPAWS",
            "TCPACKSkippedSeq",
            "TCPACKSkippedFinWait2",
            "TCPACKSkippedTimeWait",
            "TCPACKSkippedChallenge",
            "TCPWinProbe",
            "TCPKeepAlive",
            "TCPMTUPFail",
            "TCPMTUPSuccess",
            "TCPDelivered",
            "TCPDeliveredCE",
            "TCPAckCompressed",
            "TCPZeroWindowDrop",
            "TCPRcvQDrop",
            "TCPWqueueTooBig",
            "TCPFastOpenPassiveAltKey",
            "TcpTimeoutRehash",
            "TcpDuplicateDataRehash",
            "TCPDSACKRecvSegs",
            "TCPDSACKIgnoredDubious",
            "TCPMigrateReqSuccess",
            "TCPMigrateReqFailure",
        ],
    ),
    (
        "IpExt",
        &[
            "InNoRoutes",
            "InTruncatedPkts",
            "InMcastPkts",
            "OutMcastPkts",
            "InBcastPkts",
            "OutBcastPkts",
            "InOctets",
            "OutOctets",
            "InMcastOctets",
            "OutMcastOctets",
            "InBcastOctets",
            "OutBcastOctets",
            "InCsumErrors",
            "InNoECTPkts",
            "InECT1Pkts",
            "InECT0Pkts",
            "InCEPkts",
            "ReasmOverlaps",
        ],
    ),
    (
        "MPTcpExt",
        &[
            "MPCapableSYNRX",
            "MPCapableSYNTX",
            "MPCapableSYNACKRX",
            "MPCapableACKRX",
            "MPCapableFallbackACK",
            "MPCapableFallbackSYNACK",
            "MPCapableEndpAttempt",
            "MPFallbackTokenInit",
            "MPTCPRetrans",
            "MPJoinNoTokenFound",
            "MPJoinSynRx",
            "MPJoinSynBackupRx",
            "MPJoinSynAckRx",
            "MPJoinSynAckBackupRx",
            "MPJoinSynAckHMacFailure",
            "MPJoinAckRx",
            "MPJoinAckHMacFailure",
            "DSSNotMatching",
            "DSSCorruptionFallback",
            "DSSCorruptionReset",
            "InfiniteMapTx",
            "InfiniteMapRx",
            "DSSNoMatchTCP",
            "DataCsumErr",
            "OFOQueueTail",
            "OFOQueue",
            "OFOMerge",
            "NoDSSInWindow",
            "DuplicateData",
            "AddAddr",
            "EchoAdd",
            "PortAdd",
            "AddAddrDrop",
            "MPJoinPortSynRx",
            "MPJoinPortSynAckRx",
            "MPJoinPortAckRx",
            "MismatchPortSynRx",
            "MismatchPortAckRx",
            "RmAddr",
            "RmAddrDrop",
            "RmSubflow",
            "MPPrioTx",
            "MPPrioRx",
            "MPFailTx",
            "MPFailRx",
            "MPFastcloseTx",
            "MPFastcloseRx",
            "MPRstTx",
            "MPRstRx",
            "RcvPruned",
            "SubflowStale",
            "SubflowRecover",
            "SndWndShared",
            "RcvWndShared",
            "RcvWndConflictUpdate",
            "RcvWndConflict",
        ],
    ),
];
/// /proc/net/snmp6's counters (net/ipv6/proc.c: snmp6_ipstats_list,
/// snmp6_icmp6_list, snmp6_udp6_list, snmp6_udplite6_list).
const SNMP6_NAMES: &[&str] = &[
    "Ip6InReceives",
    "Ip6InHdrErrors",
    "Ip6InTooBigErrors",
    "Ip6InNoRoutes",
    "Ip6InAddrErrors",
    "Ip6InUnknownProtos",
    "Ip6InTruncatedPkts",
    "Ip6InDiscards",
    "Ip6InDelivers",
    "Ip6OutForwDatagrams",
    "Ip6OutRequests",
    "Ip6OutDiscards",
    "Ip6OutNoRoutes",
    "Ip6ReasmTimeout",
    "Ip6ReasmReqds",
    "Ip6ReasmOKs",
    "Ip6ReasmFails",
    "Ip6FragOKs",
    "Ip6FragFails",
    "Ip6FragCreates",
    "Ip6InMcastPkts",
    "Ip6OutMcastPkts",
    "Ip6InOctets",
    "Ip6OutOctets",
    "Ip6InMcastOctets",
    "Ip6OutMcastOctets",
    "Ip6InBcastOctets",
    "Ip6OutBcastOctets",
    "Ip6InNoECTPkts",
    "Ip6InECT1Pkts",
    "Ip6InECT0Pkts",
    "Ip6InCEPkts",
    "Icmp6InMsgs",
    "Icmp6InErrors",
    "Icmp6OutMsgs",
    "Icmp6OutErrors",
    "Icmp6InCsumErrors",
    "Icmp6OutRateLimitHost",
    "Icmp6InDestUnreachs",
    "Icmp6InPktTooBigs",
    "Icmp6InTimeExcds",
    "Icmp6InParmProblems",
    "Icmp6InEchos",
    "Icmp6InEchoReplies",
    "Icmp6InGroupMembQueries",
    "Icmp6InGroupMembResponses",
    "Icmp6InGroupMembReductions",
    "Icmp6InRouterSolicits",
    "Icmp6InRouterAdvertisements",
    "Icmp6InNeighborSolicits",
    "Icmp6InNeighborAdvertisements",
    "Icmp6InRedirects",
    "Icmp6InMLDv2Reports",
    "Icmp6OutDestUnreachs",
    "Icmp6OutPktTooBigs",
    "Icmp6OutTimeExcds",
    "Icmp6OutParmProblems",
    "Icmp6OutEchos",
    "Icmp6OutEchoReplies",
    "Icmp6OutGroupMembQueries",
    "Icmp6OutGroupMembResponses",
    "Icmp6OutGroupMembReductions",
    "Icmp6OutRouterSolicits",
    "Icmp6OutRouterAdvertisements",
    "Icmp6OutNeighborSolicits",
    "Icmp6OutNeighborAdvertisements",
    "Icmp6OutRedirects",
    "Icmp6OutMLDv2Reports",
    "Udp6InDatagrams",
    "Udp6NoPorts",
    "Udp6InErrors",
    "Udp6OutDatagrams",
    "Udp6RcvbufErrors",
    "Udp6SndbufErrors",
    "Udp6InCsumErrors",
    "Udp6IgnoredMulti",
    "Udp6MemErrors",
    "UdpLite6InDatagrams",
    "UdpLite6NoPorts",
    "UdpLite6InErrors",
    "UdpLite6OutDatagrams",
    "UdpLite6RcvbufErrors",
    "UdpLite6SndbufErrors",
    "UdpLite6InCsumErrors",
    "UdpLite6MemErrors",
];

/// The `Name: a b c` / `Name: 1 2 3` line pairs of /proc/net/snmp and
/// netstat, each counter's value from `value(group, name)`.
fn mib_text(groups: &[(&str, &[&str])], value: impl Fn(&str, &str) -> i64) -> Vec<u8> {
    let mut out = String::new();
    for (g, names) in groups {
        let _ = write!(out, "{g}:");
        for n in names.iter() {
            let _ = write!(out, " {n}");
        }
        let _ = write!(out, "\n{g}:");
        for n in names.iter() {
            let _ = write!(out, " {}", value(g, n));
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// /proc/net/snmp (`snmp_seq_show`): forwarding off (2), TTL 64, the
/// TCP constants (Van Jacobson's RTO, 200 ms to 120 s, no connection
/// limit) and the established connections now (TCP_MIB_CURRESTAB, which
/// Linux 6.1 counts in ESTABLISHED only); the rest 0 (this stack counts
/// no packets or events). No `IcmpMsg` lines: Linux prints them only for
/// message types seen.
pub fn snmp(ns: &NetRef) -> Result<Vec<u8>> {
    let rows = inet_rows(ns)?;
    let estab = rows.iter().filter(|r| r.info.kind == Kind::Tcp && r.info.state == 1).count() as i64;
    Ok(mib_text(SNMP_GROUPS, |g, n| match (g, n) {
        ("Ip", "Forwarding") => 2,
        ("Ip", "DefaultTTL") => 64,
        ("Tcp", "RtoAlgorithm") => 1,
        ("Tcp", "RtoMin") => 200,
        ("Tcp", "RtoMax") => 120_000,
        ("Tcp", "MaxConn") => -1,
        ("Tcp", "CurrEstab") => estab,
        _ => 0,
    }))
}

/// /proc/net/netstat (`netstat_seq_show`): every counter 0.
pub fn netstat() -> Result<Vec<u8>> {
    Ok(mib_text(NETSTAT_GROUPS, |_, _| 0))
}

/// /proc/net/snmp6 (`snmp6_seq_show`): `%-32s\t%lu` per counter, all 0.
pub fn snmp6() -> Result<Vec<u8>> {
    let mut out = String::new();
    for n in SNMP6_NAMES {
        let _ = writeln!(out, "{n:<32}\t0");
    }
    Ok(out.into_bytes())
}

/// /proc/net/arp (`arp_seq_show`): the header (smoltcp keeps its
/// neighbour cache to itself, so no entries are listed).
pub fn arp() -> Result<Vec<u8>> {
    Ok(b"IP address       HW type     Flags       HW address            Mask     Device\n".to_vec())
}
