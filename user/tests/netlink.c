/*
 * netlink: AF_NETLINK / NETLINK_ROUTE as busybox ip uses it. Requests go
 * to the kernel (port 0); dumps answer with NLM_F_MULTI messages and
 * NLMSG_DONE, acks and errors are NLMSG_ERROR (netlink_rcv_skb's rules).
 * Linux's lo is down in an initramfs-only boot and gets 127.0.0.1 and ::1
 * when it comes up, so every case brings it up first (kt_lo_up); only what
 * both kernels show the same is compared.
 */
#include "kt_netlink.h"

KT_CASE(socket_types_and_protocols) {
    KT_SYS_OK(kt_lo_up());
    int s = socket(AF_NETLINK_, SOCK_DGRAM, 0);
    KT_TRUE(s >= 0, "SOCK_DGRAM: %s", kt_errname(errno));
    int v = 0;
    socklen_t l = sizeof v;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l));
    KT_EQ(v, AF_NETLINK_);
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    KT_EQ(v, SOCK_DGRAM);
    close(s);
    KT_SYS_ERR(socket(AF_NETLINK_, SOCK_STREAM, 0), ESOCKTNOSUPPORT);
    KT_SYS_ERR(socket(AF_NETLINK_, SOCK_RAW, 32), EPROTONOSUPPORT);
    KT_SYS_ERR(socket(AF_NETLINK_, SOCK_RAW, -1), EPROTONOSUPPORT);
    int sv[2];
    KT_SYS_ERR(socketpair(AF_NETLINK_, SOCK_RAW, 0, sv), EOPNOTSUPP);
}

KT_CASE(getsockname_and_bind) {
    int s = nl_open(NETLINK_ROUTE_);
    KT_TRUE(s >= 0, "socket: %s", kt_errname(errno));
    struct snl a;
    socklen_t l = sizeof a + 4;
    memset(&a, 0xff, sizeof a);
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&a, &l));
    KT_EQ(l, 12);
    KT_EQ(a.family, AF_NETLINK_);
    KT_EQ(a.pid, 0);
    struct snl b = {AF_NETLINK_, 0, 0, 0};
    KT_SYS_ERR(bind(s, (struct sockaddr *)&b, 8), EINVAL);
    b.family = AF_INET;
    KT_SYS_ERR(bind(s, (struct sockaddr *)&b, sizeof b), EINVAL);
    b.family = AF_NETLINK_;
    /* autobind: the first socket of a process gets its pid */
    KT_SYS_OK(bind(s, (struct sockaddr *)&b, sizeof b));
    KT_EQ(nl_portid(s), (uint32_t)getpid());
    /* the next one a negative id below -4096 */
    int t = socket(AF_NETLINK_, SOCK_RAW, 0);
    KT_SYS_OK(bind(t, (struct sockaddr *)&b, sizeof b));
    KT_TRUE((int32_t)nl_portid(t) < -4096, "second autobind got %d", (int32_t)nl_portid(t));
    /* a bound socket: another id EINVAL, the same (or 0) fine */
    b.pid = 777777;
    KT_SYS_ERR(bind(t, (struct sockaddr *)&b, sizeof b), EINVAL);
    close(t);
    /* an id in use: EADDRINUSE; free again once closed */
    int u = socket(AF_NETLINK_, SOCK_RAW, 0);
    b.pid = (uint32_t)getpid();
    KT_SYS_ERR(bind(u, (struct sockaddr *)&b, sizeof b), EADDRINUSE);
    close(s);
    KT_SYS_OK(bind(u, (struct sockaddr *)&b, sizeof b));
    close(u);
}

KT_CASE(send_autobinds) {
    int s = nl_open(NETLINK_ROUTE_);
    struct ifinfo ifi = {0};
    KT_SYS_RET(nl_send(s, RTM_GETLINK_, NLM_F_REQUEST_ | NLM_F_DUMP_, 1, &ifi, sizeof ifi), 32);
    KT_EQ(nl_portid(s), (uint32_t)getpid());
    close(s);
}

struct lo_seen { int found, index, type, mtu; uint32_t flags; };

static int on_link(struct nlhdr *h, void *arg) {
    struct lo_seen *w = arg;
    if (h->type != RTM_NEWLINK_) return 0;
    struct ifinfo *ifi = (struct ifinfo *)(h + 1);
    size_t n;
    char *name = nl_attr(ifi + 1, h->len - sizeof *h - sizeof *ifi, IFLA_IFNAME_, &n);
    if (!name || strcmp(name, "lo") != 0) return 0;
    w->found++;
    w->index = ifi->index;
    w->type = ifi->type;
    w->flags = ifi->flags;
    uint32_t *mtu = nl_attr(ifi + 1, h->len - sizeof *h - sizeof *ifi, IFLA_MTU_, &n);
    w->mtu = mtu && n == 4 ? (int)*mtu : -1;
    return 0;
}

KT_CASE(link_dump_finds_lo) {
    int s = nl_open(NETLINK_ROUTE_);
    struct ifinfo ifi = {0};
    KT_SYS_RET(nl_send(s, RTM_GETLINK_, NLM_F_REQUEST_ | NLM_F_DUMP_, 42, &ifi, sizeof ifi), 32);
    struct lo_seen w = {0};
    KT_EQ(nl_dump(s, 42, on_link, &w), 0);
    KT_EQ(w.found, 1);
    KT_EQ(w.index, 1);
    KT_EQ(w.type, 772); /* ARPHRD_LOOPBACK */
    KT_EQ(w.flags, IFF_UP | IFF_LOOPBACK | IFF_RUNNING | 0x10000);
    KT_EQ(w.mtu, 65536);
    /* nothing after the dump: no ack for a dump */
    KT_SYS_ERR(recv(s, nl_buf, sizeof nl_buf, MSG_DONTWAIT), EAGAIN);
    close(s);
}

struct addr_seen { int v4, v6, v4_prefix, v4_scope, label_ok, v6_prefix; };

static int on_addr(struct nlhdr *h, void *arg) {
    struct addr_seen *w = arg;
    if (h->type != RTM_NEWADDR_) return 0;
    struct ifamsg_ *ifa = (struct ifamsg_ *)(h + 1);
    size_t alen = h->len - sizeof *h - sizeof *ifa, n;
    if (ifa->index != 1) return 0;
    if (ifa->family == AF_INET) {
        unsigned char *a = nl_attr(ifa + 1, alen, IFA_LOCAL_, &n);
        if (!a || n != 4 || memcmp(a, "\x7f\0\0\x01", 4) != 0) return 0;
        w->v4++;
        w->v4_prefix = ifa->prefixlen;
        w->v4_scope = ifa->scope;
        char *l = nl_attr(ifa + 1, alen, IFA_LABEL_, &n);
        w->label_ok = l && strcmp(l, "lo") == 0;
    } else if (ifa->family == AF_INET6) {
        unsigned char *a = nl_attr(ifa + 1, alen, IFA_ADDRESS_, &n);
        static const unsigned char one[16] = {[15] = 1};
        if (!a || n != 16 || memcmp(a, one, 16) != 0) return 0;
        w->v6++;
        w->v6_prefix = ifa->prefixlen;
    }
    return 0;
}

KT_CASE(addr_dump_finds_127_0_0_1) {
    int s = nl_open(NETLINK_ROUTE_);
    struct ifamsg_ ifa = {0};
    KT_SYS_RET(nl_send(s, RTM_GETADDR_, NLM_F_REQUEST_ | NLM_F_DUMP_, 7, &ifa, sizeof ifa), 24);
    struct addr_seen w = {0};
    KT_EQ(nl_dump(s, 7, on_addr, &w), 0);
    KT_EQ(w.v4, 1);
    KT_EQ(w.v4_prefix, 8);
    KT_EQ(w.v4_scope, 254); /* RT_SCOPE_HOST */
    KT_TRUE(w.label_ok, "IFA_LABEL of 127.0.0.1 is not lo");
    KT_EQ(w.v6, 1);
    KT_EQ(w.v6_prefix, 128);
    /* family AF_INET: no ::1 */
    ifa.family = AF_INET;
    KT_SYS_RET(nl_send(s, RTM_GETADDR_, NLM_F_REQUEST_ | NLM_F_DUMP_, 8, &ifa, sizeof ifa), 24);
    memset(&w, 0, sizeof w);
    KT_EQ(nl_dump(s, 8, on_addr, &w), 0);
    KT_EQ(w.v4, 1);
    KT_EQ(w.v6, 0);
    close(s);
}

struct rt_seen { int local_host, main_via_lo, table_attr_ok, oif, prefsrc_ok; };

static int on_route(struct nlhdr *h, void *arg) {
    struct rt_seen *w = arg;
    if (h->type != RTM_NEWROUTE_) return 0;
    unsigned char *rtm = (unsigned char *)(h + 1);
    size_t alen = h->len - sizeof *h - 12, n;
    if (rtm[0] != AF_INET) return 0;
    uint32_t *oif = nl_attr(rtm + 12, alen, RTA_OIF_, &n);
    if (!oif || *oif != 1) return 0;
    if (rtm[4] == 254) w->main_via_lo++;
    unsigned char *dst = nl_attr(rtm + 12, alen, RTA_DST_, &n);
    /* local 127.0.0.1: dst_len 32, table local, proto kernel, scope host, RTN_LOCAL */
    if (dst && n == 4 && memcmp(dst, "\x7f\0\0\x01", 4) == 0 && rtm[1] == 32 && rtm[4] == 255 &&
        rtm[5] == 2 && rtm[6] == 254 && rtm[7] == 2) {
        w->local_host++;
        uint32_t *t = nl_attr(rtm + 12, alen, RTA_TABLE_, &n);
        w->table_attr_ok = t && n == 4 && *t == 255;
        unsigned char *src = nl_attr(rtm + 12, alen, RTA_PREFSRC_, &n);
        w->prefsrc_ok = src && n == 4 && memcmp(src, "\x7f\0\0\x01", 4) == 0;
    }
    return 0;
}

KT_CASE(route_dump_has_local_127_0_0_1) {
    int s = nl_open(NETLINK_ROUTE_);
    unsigned char rtm[12] = {AF_INET};
    KT_SYS_RET(nl_send(s, RTM_GETROUTE_, NLM_F_REQUEST_ | NLM_F_DUMP_, 31, rtm, sizeof rtm), 28);
    struct rt_seen w = {0};
    KT_EQ(nl_dump(s, 31, on_route, &w), 0);
    KT_EQ(w.local_host, 1);
    KT_TRUE(w.table_attr_ok, "RTA_TABLE of local 127.0.0.1 is not 255");
    KT_TRUE(w.prefsrc_ok, "RTA_PREFSRC of local 127.0.0.1 is not 127.0.0.1");
    /* nothing of lo in the main table (busybox ip route shows none) */
    KT_EQ(w.main_via_lo, 0);
    close(s);
}

KT_CASE(getlink_by_index_then_ack) {
    int s = nl_open(NETLINK_ROUTE_);
    struct ifinfo ifi = {0};
    ifi.index = 1;
    KT_SYS_RET(nl_send(s, RTM_GETLINK_, NLM_F_REQUEST_ | NLM_F_ACK_, 5, &ifi, sizeof ifi), 32);
    ssize_t n = recv(s, nl_buf, sizeof nl_buf, 0);
    KT_TRUE(n > 32, "recv %zd %s", n, kt_errname(errno));
    struct nlhdr *h = (struct nlhdr *)nl_buf;
    KT_EQ(h->type, RTM_NEWLINK_);
    KT_EQ(h->flags, 0);
    KT_EQ(h->seq, 5);
    KT_EQ(((struct ifinfo *)(h + 1))->index, 1);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 36);
    KT_EQ(h->type, NLMSG_ERROR_);
    KT_EQ(h->flags, NLM_F_CAPPED_);
    KT_EQ(h->seq, 5);
    KT_EQ(h->pid, nl_portid(s));
    KT_EQ(*(int32_t *)(h + 1), 0);
    struct nlhdr *orig = (struct nlhdr *)((char *)(h + 1) + 4);
    KT_EQ(orig->len, 32);
    KT_EQ(orig->type, RTM_GETLINK_);
    KT_EQ(orig->seq, 5);
    close(s);
}

KT_CASE(errors_carry_the_request) {
    int s = nl_open(NETLINK_ROUTE_);
    struct ifinfo ifi = {0};
    ifi.index = 99999;
    KT_SYS_RET(nl_send(s, RTM_GETLINK_, NLM_F_REQUEST_, 11, &ifi, sizeof ifi), 32);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 52);
    struct nlhdr *h = (struct nlhdr *)nl_buf;
    KT_EQ(h->type, NLMSG_ERROR_);
    KT_EQ(h->flags, 0);
    KT_EQ(h->seq, 11);
    KT_EQ(*(int32_t *)(h + 1), -ENODEV);
    KT_EQ(((struct nlhdr *)((char *)(h + 1) + 4))->len, 32);
    /* a type above RTM_MAX: EOPNOTSUPP */
    KT_SYS_RET(nl_send(s, 500, NLM_F_REQUEST_, 12, &ifi, sizeof ifi), 32);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 52);
    KT_EQ(*(int32_t *)(h + 1), -EOPNOTSUPP);
    /* GETLINK with neither index nor name: EINVAL */
    ifi.index = 0;
    KT_SYS_RET(nl_send(s, RTM_GETLINK_, NLM_F_REQUEST_, 13, &ifi, sizeof ifi), 32);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 52);
    KT_EQ(*(int32_t *)(h + 1), -EINVAL);
    close(s);
}

KT_CASE(control_messages_and_bad_lengths) {
    int s = nl_open(NETLINK_ROUTE_);
    /* NOOP with ACK: an ack; without REQUEST: an ack too */
    KT_SYS_RET(nl_send(s, NLMSG_NOOP_, NLM_F_REQUEST_ | NLM_F_ACK_, 3, "", 0), 16);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 36);
    KT_EQ(*(int32_t *)(nl_buf + 16), 0);
    struct ifinfo ifi = {0};
    KT_SYS_RET(nl_send(s, RTM_GETLINK_, NLM_F_DUMP_ | NLM_F_ACK_, 4, &ifi, sizeof ifi), 32);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 36);
    KT_EQ(((struct nlhdr *)nl_buf)->seq, 4);
    KT_EQ(*(int32_t *)(nl_buf + 16), 0);
    /* NOOP without ACK: nothing */
    KT_SYS_RET(nl_send(s, NLMSG_NOOP_, NLM_F_REQUEST_, 3, "", 0), 16);
    KT_SYS_ERR(recv(s, nl_buf, sizeof nl_buf, MSG_DONTWAIT), EAGAIN);
    /* nlmsg_len below the header or beyond the data: silently dropped */
    unsigned char b[32] = {0};
    struct nlhdr h = {8, RTM_GETLINK_, NLM_F_REQUEST_ | NLM_F_ACK_ | NLM_F_DUMP_, 1, 0};
    memcpy(b, &h, sizeof h);
    struct snl a = nl_kernel();
    KT_SYS_RET(sendto(s, b, sizeof b, 0, (struct sockaddr *)&a, sizeof a), 32);
    h.len = 64;
    memcpy(b, &h, sizeof h);
    KT_SYS_RET(sendto(s, b, sizeof b, 0, (struct sockaddr *)&a, sizeof a), 32);
    KT_SYS_RET(sendto(s, b, 10, 0, (struct sockaddr *)&a, sizeof a), 10);
    KT_SYS_ERR(recv(s, nl_buf, sizeof nl_buf, MSG_DONTWAIT), EAGAIN);
    /* a short address or another port: EINVAL, ECONNREFUSED */
    KT_SYS_ERR(sendto(s, b, sizeof b, 0, (struct sockaddr *)&a, 8), EINVAL);
    a.pid = 0x7ffffff0;
    KT_SYS_ERR(sendto(s, b, sizeof b, 0, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    /* connect takes any port; a send to a missing one is ECONNREFUSED */
    KT_SYS_OK(connect(s, (struct sockaddr *)&a, sizeof a));
    struct snl peer;
    socklen_t pl = sizeof peer;
    KT_SYS_OK(getpeername(s, (struct sockaddr *)&peer, &pl));
    KT_EQ(pl, 12);
    KT_EQ(peer.pid, 0x7ffffff0);
    KT_SYS_ERR(send(s, b, sizeof b, 0), ECONNREFUSED);
    /* AF_UNSPEC: back to the kernel */
    struct sockaddr u = {AF_UNSPEC, {0}};
    KT_SYS_OK(connect(s, &u, sizeof u));
    KT_SYS_RET(nl_send(s, NLMSG_NOOP_, NLM_F_REQUEST_ | NLM_F_ACK_, 3, "", 0), 16);
    KT_SYS_RET(send(s, b, 16, 0), 16);
    close(s);
}

KT_CASE(peek_and_trunc) {
    int s = nl_open(NETLINK_ROUTE_);
    KT_SYS_RET(nl_send(s, NLMSG_NOOP_, NLM_F_REQUEST_ | NLM_F_ACK_, 3, "", 0), 16);
    KT_SYS_RET(recv(s, nl_buf, 0, MSG_PEEK | MSG_TRUNC), 36);
    KT_SYS_RET(recv(s, nl_buf, 4, MSG_PEEK), 4);
    struct snl from;
    struct iovec iov = {nl_buf, 10};
    struct msghdr m = {0};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    KT_SYS_RET(recvmsg(s, &m, 0), 10);
    KT_EQ(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    KT_EQ(m.msg_namelen, 12);
    KT_EQ(from.family, AF_NETLINK_);
    KT_EQ(from.pid, 0);
    /* the truncated datagram is gone */
    KT_SYS_ERR(recv(s, nl_buf, sizeof nl_buf, MSG_DONTWAIT), EAGAIN);
    close(s);
}

KT_CASE(newlink_up_needs_cap_net_admin) {
    int s = nl_open(NETLINK_ROUTE_);
    struct ifinfo ifi = {0};
    ifi.index = 1;
    ifi.flags = IFF_UP;
    ifi.change = IFF_UP;
    KT_SYS_RET(nl_send(s, RTM_NEWLINK_, NLM_F_REQUEST_ | NLM_F_ACK_, 21, &ifi, sizeof ifi), 32);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 36);
    KT_EQ(*(int32_t *)(nl_buf + 16), 0);
    ifi.index = 99999;
    KT_SYS_RET(nl_send(s, RTM_NEWLINK_, NLM_F_REQUEST_, 22, &ifi, sizeof ifi), 32);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 52);
    KT_EQ(*(int32_t *)(nl_buf + 16), -ENODEV);
    pid_t p = KT_FORK();
    if (p == 0) {
        KT_SYS_RET(setuid(65534), 0);
        ifi.index = 1;
        KT_SYS_RET(nl_send(s, RTM_NEWLINK_, NLM_F_REQUEST_, 23, &ifi, sizeof ifi), 32);
        KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 52);
        KT_EQ(*(int32_t *)(nl_buf + 16), -EPERM);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(s);
}

KT_MAIN()
