/*
 * proc_net_snmp: /proc/net/snmp, netstat, snmp6 and arp as Linux 6.1
 * prints them (snmp_seq_show, netstat_seq_show, snmp6_seq_show,
 * arp_seq_show): the group and counter names in Linux's order, a value
 * per name, the constants of the Ip and Tcp groups, and Tcp's CurrEstab
 * counting the connections in ESTABLISHED. (Other counters are not looked
 * at: Linux counts packets, this kernel's stack does not.)
 */
#include "kt_inet.h"
#include <fcntl.h>

static char buf[1 << 16];

static const char *snmp_heads[] = {
    "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates",
    "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps",
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors",
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
    "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
};

static const char *netstat_heads[] = {
    "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure",
    "IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps",
    "MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK MPCapableFallbackSYNACK MPCapableEndpAttempt MPFallbackTokenInit MPTCPRetrans MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure DSSNotMatching DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx InfiniteMapRx DSSNoMatchTCP DataCsumErr OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData AddAddr EchoAdd PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx MPJoinPortAckRx MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmSubflow MPPrioTx MPPrioRx MPFailTx MPFailRx MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx RcvPruned SubflowStale SubflowRecover SndWndShared RcvWndShared RcvWndConflictUpdate RcvWndConflict",
};

static const char *snmp6_names[] = {
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
};

/* `text` is pairs of lines: each header `heads[i]` exactly, then a line of
 * the same group name with one integer per counter; 0 when so, else the
 * 1-based number of the first line that differs. */
static int check_pairs(char *text, const char **heads, int n) {
    char *p = text;
    for (int i = 0; i < n; i++) {
        /* icmpmsg_put: IcmpMsg pairs only for the message types counted
         * so far (on Linux after any ping: the suite's other programs) */
        while (strncmp(p, "IcmpMsg:", 8) == 0) {
            char *end = strchr(p, '\n');
            end = end ? strchr(end + 1, '\n') : NULL;
            if (!end) return 2 * i + 1;
            p = end + 1;
        }
        char *nl = strchr(p, '\n');
        if (!nl) return 2 * i + 1;
        *nl = 0;
        if (strcmp(p, heads[i]) != 0) return 2 * i + 1;
        int names = 0;
        for (char *q = p; *q; q++) names += *q == ' ';
        size_t glen = strchr(heads[i], ':') - heads[i] + 1;
        char *v = nl + 1;
        nl = strchr(v, '\n');
        if (!nl) return 2 * i + 2;
        *nl = 0;
        if (strncmp(v, heads[i], glen) != 0) return 2 * i + 2;
        int vals = 0;
        for (char *q = v + glen; *q;) {
            if (*q != ' ') return 2 * i + 2;
            q++;
            char *e;
            strtoll(q, &e, 10);
            if (e == q) return 2 * i + 2;
            q = e;
            vals++;
        }
        if (vals != names) return 2 * i + 2;
        p = nl + 1;
    }
    return *p ? 2 * n + 1 : 0;
}

/* the value of counter `name` of group `group` in /proc/net/snmp text */
static long long counter(const char *text, const char *group, const char *name) {
    char g[32];
    snprintf(g, sizeof g, "\n%s:", group);
    char tmp[8192];
    snprintf(tmp, sizeof tmp, "\n%s", text);
    char *h = strstr(tmp, g);
    if (!h) return -999;
    char *hend = strchr(h + 1, '\n');
    char *v = hend + 1 + strlen(group) + 1;
    int idx = -1, k = 0;
    for (char *q = h + strlen(g); q < hend;) {
        q++;
        char *e = q;
        while (e < hend && *e != ' ') e++;
        if ((size_t)(e - q) == strlen(name) && !strncmp(q, name, e - q)) idx = k;
        k++;
        q = e;
    }
    if (idx < 0) return -998;
    for (int i = 0; i <= idx; i++) {
        char *e;
        long long x = strtoll(v, &e, 10);
        if (i == idx) return x;
        v = e;
    }
    return -997;
}

KT_CASE(snmp_names_values_and_constants) {
    KT_SYS_OK(kt_read_all("/proc/net/snmp", buf, sizeof buf));
    char copy[sizeof buf];
    strcpy(copy, buf);
    KT_EQ(check_pairs(copy, snmp_heads, (int)(sizeof snmp_heads / sizeof *snmp_heads)), 0);
    /* forwarding off (2), ip_default_ttl 64 */
    KT_EQ(counter(buf, "Ip", "Forwarding"), 2);
    KT_EQ(counter(buf, "Ip", "DefaultTTL"), 64);
    KT_EQ(counter(buf, "Tcp", "RtoAlgorithm"), 1);
    KT_EQ(counter(buf, "Tcp", "RtoMin"), 200);
    KT_EQ(counter(buf, "Tcp", "RtoMax"), 120000);
    KT_EQ(counter(buf, "Tcp", "MaxConn"), -1);
}

KT_CASE(snmp_curr_estab_counts_established_connections) {
    KT_SYS_RET(kt_lo_up(), 0);
    KT_SYS_OK(kt_read_all("/proc/net/snmp", buf, sizeof buf));
    long long before = counter(buf, "Tcp", "CurrEstab");
    KT_TRUE(before >= 0, "CurrEstab %lld", before);
    int l = KT_SYS_OK(kt_listener4(4));
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, kt_port_of(l));
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = KT_SYS_OK(accept(l, NULL, NULL));
    KT_SYS_OK(kt_read_all("/proc/net/snmp", buf, sizeof buf));
    KT_EQ(counter(buf, "Tcp", "CurrEstab"), before + 2);
    close(s);
    close(c);
    close(l);
}

KT_CASE(netstat_names_and_values) {
    KT_SYS_OK(kt_read_all("/proc/net/netstat", buf, sizeof buf));
    KT_EQ(check_pairs(buf, netstat_heads, (int)(sizeof netstat_heads / sizeof *netstat_heads)), 0);
}

KT_CASE(snmp6_one_padded_line_per_counter) {
    KT_SYS_OK(kt_read_all("/proc/net/snmp6", buf, sizeof buf));
    char *p = buf;
    int n = (int)(sizeof snmp6_names / sizeof *snmp6_names);
    for (int i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "%-32s\t", snmp6_names[i]);
        KT_TRUE(!strncmp(p, want, strlen(want)), "line %d: %.40s want %s", i + 1, p, snmp6_names[i]);
        p += strlen(want);
        char *e;
        strtoull(p, &e, 10);
        KT_TRUE(e > p && *e == '\n', "line %d value", i + 1);
        p = e + 1;
    }
    KT_EQ(*p, 0);
}

KT_CASE(arp_header) {
    long n = KT_SYS_OK(kt_read_all("/proc/net/arp", buf, sizeof buf));
    const char *h = "IP address       HW type     Flags       HW address            Mask     Device\n";
    KT_TRUE(n >= (long)strlen(h) && !strncmp(buf, h, strlen(h)), "got %s", buf);
    struct stat st;
    KT_SYS_RET(stat("/proc/net/arp", &st), 0);
    KT_EQ(st.st_mode, S_IFREG | 0444);
}

KT_MAIN()
