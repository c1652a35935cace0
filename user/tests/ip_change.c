/*
 * ip_change: addresses and routes changed over NETLINK_ROUTE as iproute2's
 * `ip addr add/del`, `ip route add/del/replace`, `ip link set up/down` and
 * `ip monitor` do: the change reaches the stack (a bind to an added
 * address, a connect through an added route), the dumps show it, group
 * members are told, and the errors are Linux's (EEXIST, EADDRNOTAVAIL,
 * ENODEV, ENETUNREACH, ENETDOWN, ESRCH, ENOENT, EINVAL). Every case runs in
 * a network namespace of its own (lo down, no address, no route), so both
 * kernels start from the same state. Sockets bound to 0.0.0.0 are reached
 * at every address of every interface, one added after they were bound
 * too, and answer from the address they were reached at.
 */
#include "kt_netlink.h"

#include <sched.h>

#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif

static int link_set(int s, int index, int up) {
    struct ifinfo ifi = {0};
    ifi.index = index;
    ifi.flags = up ? IFF_UP : 0;
    ifi.change = IFF_UP;
    struct nl_req r;
    nl_req_start(&r, RTM_NEWLINK_, NLM_F_REQUEST_, &ifi, sizeof ifi);
    return nl_req_ack(s, &r);
}

/* RTM_NEWADDR/RTM_DELADDR of an IPv4 or IPv6 address (as ip addr add/del) */
static int addr_change(int s, uint16_t type, uint16_t flags, int family, const char *text, int prefix, int index) {
    unsigned char a[16];
    if (inet_pton(family, text, a) != 1) return 1004;
    size_t n = family == AF_INET ? 4 : 16;
    struct ifamsg_ ifa = {(uint8_t)family, (uint8_t)prefix, 0, 0, (uint32_t)index};
    struct nl_req r;
    nl_req_start(&r, type, NLM_F_REQUEST_ | flags, &ifa, sizeof ifa);
    nl_req_attr(&r, IFA_LOCAL_, a, n);
    nl_req_attr(&r, IFA_ADDRESS_, a, n);
    return nl_req_ack(s, &r);
}

/* RTM_NEWROUTE/RTM_DELROUTE of a main-table route (as ip route add/del) */
static int route_change(int s, uint16_t type, uint16_t flags, int family, const char *dst, int len, const char *gw,
                        int oif) {
    unsigned char a[16], g[16];
    size_t n = family == AF_INET ? 4 : 16;
    if (inet_pton(family, dst, a) != 1) return 1004;
    struct rtmsg_ rt = {(uint8_t)family, (uint8_t)len, 0, 0, 254, 0, 255, 0, 0};
    if (type == RTM_NEWROUTE_) {
        rt.protocol = 3; /* RTPROT_BOOT */
        rt.scope = gw ? 0 : 253;
        rt.type = 1; /* RTN_UNICAST */
    }
    struct nl_req r;
    nl_req_start(&r, type, NLM_F_REQUEST_ | flags, &rt, sizeof rt);
    nl_req_attr(&r, RTA_DST_, a, n);
    if (gw) {
        if (inet_pton(family, gw, g) != 1) return 1004;
        nl_req_attr(&r, RTA_GATEWAY_, g, n);
    }
    if (oif) {
        uint32_t o = (uint32_t)oif;
        nl_req_attr(&r, RTA_OIF_, &o, 4);
    }
    return nl_req_ack(s, &r);
}

/* what dump_has looks for, and found */
struct want { uint16_t type; int family, len, index, found; unsigned char a[16]; size_t alen; uint32_t *metric; };

static int on_dumped(struct nlhdr *h, void *arg) {
    struct want *w = arg;
    size_t got = 0;
    if (w->type == RTM_GETADDR_) {
        struct ifamsg_ *m = (struct ifamsg_ *)(h + 1);
        unsigned char *v = nl_attr(m + 1, h->len - sizeof *h - sizeof *m, IFA_ADDRESS_, &got);
        if (m->family == w->family && (int)m->index == w->index && m->prefixlen == w->len && v &&
            got == w->alen && memcmp(v, w->a, w->alen) == 0)
            w->found = 1;
    } else {
        struct rtmsg_ *m = (struct rtmsg_ *)(h + 1);
        size_t rest = h->len - sizeof *h - sizeof *m;
        unsigned char *v = nl_attr(m + 1, rest, RTA_DST_, &got);
        size_t ol;
        uint32_t *o = nl_attr(m + 1, rest, RTA_OIF_, &ol);
        if (m->family == w->family && m->table == 254 && m->dst_len == w->len && v && got == w->alen &&
            memcmp(v, w->a, w->alen) == 0 && o && (int)*o == w->index) {
            w->found = 1;
            size_t pl;
            uint32_t *pr = nl_attr(m + 1, rest, RTA_PRIORITY_, &pl);
            if (w->metric) *w->metric = pr ? *pr : 0;
        }
    }
    return 0;
}

/* whether a dump of `type` for `family` has an address (prefix) or route
 * (dst_len) `text` on interface `index`; -1 on a broken dump. For routes
 * *metric gets RTA_PRIORITY (or 0). */
static int dump_has(int s, uint16_t type, int family, const char *text, int len, int index, uint32_t *metric) {
    struct want w = {type, family, len, index, 0, {0}, family == AF_INET ? 4 : 16, metric};
    if (inet_pton(family, text, w.a) != 1) return -1;
    unsigned char body[12] = {(uint8_t)family};
    struct nl_req r;
    nl_req_start(&r, type, NLM_F_REQUEST_ | NLM_F_DUMP_, body, type == RTM_GETADDR_ ? 8 : 12);
    if (nl_req_send(s, &r) != 0) return -1;
    return nl_dump(s, nl_seq, on_dumped, &w) == 0 ? w.found : -1;
}

static int udp_bind(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    int r = bind(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
    close(s);
    return r;
}

static int udp_connect(const char *ip) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    inet_pton(AF_INET, ip, &a.sin_addr);
    int r = connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
    close(s);
    return r;
}

#define EXCL (NLM_F_CREATE_ | NLM_F_EXCL_)

static int addresses_on_lo(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int s = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, s >= 0);
    KT_CHILD_CHECK(3, link_set(s, 1, 1) == 0);
    KT_CHILD_CHECK(4, udp_bind("10.9.9.9", 4000) == EADDRNOTAVAIL);
    KT_CHILD_CHECK(5, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 1) == 0);
    KT_CHILD_CHECK(6, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 1) == -EEXIST);
    KT_CHILD_CHECK(7, addr_change(s, RTM_NEWADDR_, NLM_F_CREATE_, AF_INET, "10.9.9.9", 24, 1) == -EEXIST);
    KT_CHILD_CHECK(8, addr_change(s, RTM_NEWADDR_, NLM_F_CREATE_ | NLM_F_REPLACE_, AF_INET, "10.9.9.9", 24, 1) == 0);
    KT_CHILD_CHECK(9, dump_has(s, RTM_GETADDR_, AF_INET, "10.9.9.9", 24, 1, NULL) == 1);
    /* the stack has it: a bind and a datagram to it */
    KT_CHILD_CHECK(10, udp_bind("10.9.9.9", 4000) == 0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(4001);
    inet_pton(AF_INET, "10.9.9.9", &a.sin_addr);
    KT_CHILD_CHECK(11, bind(u, (struct sockaddr *)&a, sizeof a) == 0);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    KT_CHILD_CHECK(12, sendto(c, "hey", 3, 0, (struct sockaddr *)&a, sizeof a) == 3);
    char b[8];
    struct pollfd pf = {u, POLLIN, 0};
    KT_CHILD_CHECK(13, poll(&pf, 1, 5000) == 1);
    KT_CHILD_CHECK(14, recv(u, b, sizeof b, 0) == 3 && memcmp(b, "hey", 3) == 0);
    close(u);
    close(c);
    /* errors */
    KT_CHILD_CHECK(15, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 999) == -ENODEV);
    KT_CHILD_CHECK(16, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 33, 1) == -EINVAL);
    /* deletion, then nothing to delete; the address is gone from the stack */
    KT_CHILD_CHECK(17, addr_change(s, RTM_DELADDR_, 0, AF_INET, "10.9.9.9", 24, 1) == 0);
    KT_CHILD_CHECK(18, addr_change(s, RTM_DELADDR_, 0, AF_INET, "10.9.9.9", 24, 1) == -EADDRNOTAVAIL);
    KT_CHILD_CHECK(19, addr_change(s, RTM_DELADDR_, 0, AF_INET, "10.9.9.9", 24, 999) == -ENODEV);
    KT_CHILD_CHECK(20, dump_has(s, RTM_GETADDR_, AF_INET, "10.9.9.9", 24, 1, NULL) == 0);
    KT_CHILD_CHECK(21, udp_bind("10.9.9.9", 4000) == EADDRNOTAVAIL);
    /* IPv6 */
    KT_CHILD_CHECK(22, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET6, "2001:db8::1", 64, 1) == 0);
    KT_CHILD_CHECK(23, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET6, "2001:db8::1", 64, 1) == -EEXIST);
    KT_CHILD_CHECK(24, dump_has(s, RTM_GETADDR_, AF_INET6, "2001:db8::1", 64, 1, NULL) == 1);
    KT_CHILD_CHECK(25, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET6, "2001:db8::2", 129, 1) == -EINVAL);
    /* an IPv6 address is one whatever its prefix (ipv6_get_ifaddr): EEXIST
     * with another prefix, and a replace keeps the one it has */
    KT_CHILD_CHECK(29, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET6, "2001:db8::1", 48, 1) == -EEXIST);
    KT_CHILD_CHECK(30, addr_change(s, RTM_NEWADDR_, NLM_F_CREATE_, AF_INET6, "2001:db8::1", 48, 1) == -EEXIST);
    KT_CHILD_CHECK(31, addr_change(s, RTM_NEWADDR_, NLM_F_CREATE_ | NLM_F_REPLACE_, AF_INET6, "2001:db8::1", 48, 1) ==
                           0);
    KT_CHILD_CHECK(32, dump_has(s, RTM_GETADDR_, AF_INET6, "2001:db8::1", 48, 1, NULL) == 0);
    KT_CHILD_CHECK(33, dump_has(s, RTM_GETADDR_, AF_INET6, "2001:db8::1", 64, 1, NULL) == 1);
    KT_CHILD_CHECK(26, addr_change(s, RTM_DELADDR_, 0, AF_INET6, "2001:db8::1", 64, 1) == 0);
    KT_CHILD_CHECK(27, addr_change(s, RTM_DELADDR_, 0, AF_INET6, "2001:db8::1", 64, 1) == -EADDRNOTAVAIL);
    KT_CHILD_CHECK(28, dump_has(s, RTM_GETADDR_, AF_INET6, "2001:db8::1", 64, 1, NULL) == 0);
    close(s);
    return 0;
}

KT_CASE(addresses_added_and_deleted_on_lo) {
    KT_EQ(kt_in_child(addresses_on_lo), 0);
}

static int routes_on_lo(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int s = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, s >= 0);
    /* lo down: no route onto it */
    KT_CHILD_CHECK(3, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.5.0", 24, NULL, 1) == -ENETDOWN);
    KT_CHILD_CHECK(4, link_set(s, 1, 1) == 0);
    /* (a global address on lo for the connects' source) */
    KT_CHILD_CHECK(31, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 1) == 0);
    KT_CHILD_CHECK(5, udp_connect("192.168.5.7") == ENETUNREACH);
    KT_CHILD_CHECK(6, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.5.0", 24, NULL, 1) == 0);
    KT_CHILD_CHECK(7, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.5.0", 24, NULL, 1) == -EEXIST);
    uint32_t metric = 77;
    KT_CHILD_CHECK(8, dump_has(s, RTM_GETROUTE_, AF_INET, "192.168.5.0", 24, 1, &metric) == 1);
    KT_CHILD_CHECK(9, metric == 0);
    KT_CHILD_CHECK(10, udp_connect("192.168.5.7") == 0);
    /* errors */
    KT_CHILD_CHECK(11, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.6.0", 24, "203.0.113.1", 0) ==
                           -ENETUNREACH);
    KT_CHILD_CHECK(12, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.6.1", 24, NULL, 1) == -EINVAL);
    KT_CHILD_CHECK(13, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.6.0", 24, NULL, 999) == -ENODEV);
    KT_CHILD_CHECK(14, route_change(s, RTM_NEWROUTE_, NLM_F_REPLACE_, AF_INET, "192.168.6.0", 24, NULL, 1) ==
                           -ENOENT);
    /* replace of an existing one */
    KT_CHILD_CHECK(15, route_change(s, RTM_NEWROUTE_, NLM_F_CREATE_ | NLM_F_REPLACE_, AF_INET, "192.168.5.0", 24,
                                    NULL, 1) == 0);
    /* deletion */
    KT_CHILD_CHECK(16, route_change(s, RTM_DELROUTE_, 0, AF_INET, "192.168.5.0", 24, NULL, 0) == 0);
    KT_CHILD_CHECK(17, route_change(s, RTM_DELROUTE_, 0, AF_INET, "192.168.5.0", 24, NULL, 0) == -ESRCH);
    KT_CHILD_CHECK(18, dump_has(s, RTM_GETROUTE_, AF_INET, "192.168.5.0", 24, 1, NULL) == 0);
    KT_CHILD_CHECK(19, udp_connect("192.168.5.7") == ENETUNREACH);
    /* lo down takes its routes, and up does not bring them back */
    KT_CHILD_CHECK(20, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.5.0", 24, NULL, 1) == 0);
    KT_CHILD_CHECK(21, link_set(s, 1, 0) == 0);
    KT_CHILD_CHECK(22, link_set(s, 1, 1) == 0);
    KT_CHILD_CHECK(23, dump_has(s, RTM_GETROUTE_, AF_INET, "192.168.5.0", 24, 1, NULL) == 0);
    KT_CHILD_CHECK(24, route_change(s, RTM_DELROUTE_, 0, AF_INET, "192.168.5.0", 24, NULL, 0) == -ESRCH);
    /* IPv6: a route without a metric gets 1024 */
    KT_CHILD_CHECK(25, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET6, "2001:db8:5::", 64, NULL, 1) == 0);
    KT_CHILD_CHECK(26, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET6, "2001:db8:5::", 64, NULL, 1) == -EEXIST);
    metric = 0;
    KT_CHILD_CHECK(27, dump_has(s, RTM_GETROUTE_, AF_INET6, "2001:db8:5::", 64, 1, &metric) == 1);
    KT_CHILD_CHECK(28, metric == 1024);
    KT_CHILD_CHECK(29, route_change(s, RTM_DELROUTE_, 0, AF_INET6, "2001:db8:5::", 64, NULL, 0) == 0);
    KT_CHILD_CHECK(30, route_change(s, RTM_DELROUTE_, 0, AF_INET6, "2001:db8:5::", 64, NULL, 0) == -ESRCH);
    close(s);
    return 0;
}

KT_CASE(routes_added_replaced_and_deleted) {
    KT_EQ(kt_in_child(routes_on_lo), 0);
}

/* reads without waiting until a message of `type` (-1: none came) */
static struct nlhdr *next_of(int s, uint16_t type) {
    for (int i = 0; i < 50; i++) {
        struct pollfd pf = {s, POLLIN, 0};
        if (poll(&pf, 1, 2000) != 1) return NULL;
        ssize_t n = recv(s, nl_buf, sizeof nl_buf, 0);
        if (n < (ssize_t)sizeof(struct nlhdr)) return NULL;
        struct nlhdr *h = (struct nlhdr *)nl_buf;
        if (h->type == type) return h;
    }
    return NULL;
}

static int monitor(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int s = nl_socket(NETLINK_ROUTE_), mon = nl_socket(NETLINK_ROUTE_), rmon = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, s >= 0 && mon >= 0 && rmon >= 0);
    KT_CHILD_CHECK(3, link_set(s, 1, 1) == 0);
    /* RTMGRP_IPV4_IFADDR by bind, RTNLGRP_IPV4_ROUTE by the option */
    struct snl a = {AF_NETLINK_, 0, 0, RTMGRP_IPV4_IFADDR_};
    KT_CHILD_CHECK(4, bind(mon, (struct sockaddr *)&a, sizeof a) == 0);
    int g = RTNLGRP_IPV4_ROUTE_;
    /* bound first: a bind with nl_groups 0 would leave the first 32 groups */
    struct snl any = {AF_NETLINK_, 0, 0, 0};
    KT_CHILD_CHECK(26, bind(rmon, (struct sockaddr *)&any, sizeof any) == 0);
    KT_CHILD_CHECK(5, setsockopt(rmon, SOL_NETLINK_, NETLINK_ADD_MEMBERSHIP_, &g, sizeof g) == 0);
    /* joining binds nothing, and a member without a port id gets nothing */
    int unbound = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(25, setsockopt(unbound, SOL_NETLINK_, NETLINK_ADD_MEMBERSHIP_, &g, sizeof g) == 0);
    KT_CHILD_CHECK(24, nl_portid(unbound) == 0);
    g = 0;
    KT_CHILD_CHECK(6, setsockopt(rmon, SOL_NETLINK_, NETLINK_ADD_MEMBERSHIP_, &g, sizeof g) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(7, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 1) == 0);
    uint32_t seq = nl_seq;
    struct nlhdr *h = next_of(mon, RTM_NEWADDR_);
    KT_CHILD_CHECK(8, h != NULL);
    KT_CHILD_CHECK(9, h->seq == seq && h->pid == nl_portid(s));
    struct ifamsg_ *m = (struct ifamsg_ *)(h + 1);
    KT_CHILD_CHECK(10, m->family == AF_INET && m->prefixlen == 24 && m->index == 1);
    size_t n;
    unsigned char *v = nl_attr(m + 1, h->len - sizeof *h - sizeof *m, IFA_LOCAL_, &n);
    unsigned char want[4] = {10, 9, 9, 9};
    KT_CHILD_CHECK(11, v && n == 4 && memcmp(v, want, 4) == 0);
    char *label = nl_attr(m + 1, h->len - sizeof *h - sizeof *m, IFA_LABEL_, &n);
    KT_CHILD_CHECK(12, label && strcmp(label, "lo") == 0);
    /* a failed change tells nobody */
    KT_CHILD_CHECK(13, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 1) == -EEXIST);
    KT_CHILD_CHECK(14, addr_change(s, RTM_DELADDR_, 0, AF_INET, "10.9.9.9", 24, 1) == 0);
    seq = nl_seq;
    h = next_of(mon, RTM_DELADDR_);
    KT_CHILD_CHECK(15, h != NULL && h->seq == seq);
    /* a route added: its own message with the request's seq */
    KT_CHILD_CHECK(16, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.5.0", 24, NULL, 1) == 0);
    seq = nl_seq;
    for (;;) {
        h = next_of(rmon, RTM_NEWROUTE_);
        KT_CHILD_CHECK(17, h != NULL);
        if (h->seq == seq) break;
    }
    KT_CHILD_CHECK(18, h->pid == nl_portid(s));
    struct rtmsg_ *r = (struct rtmsg_ *)(h + 1);
    KT_CHILD_CHECK(19, r->family == AF_INET && r->dst_len == 24 && r->table == 254 && r->type == 1);
    uint32_t *oif = nl_attr(r + 1, h->len - sizeof *h - sizeof *r, RTA_OIF_, &n);
    KT_CHILD_CHECK(20, oif && *oif == 1);
    /* announced as fib_table_insert does: a new key, EXCL|CREATE */
    KT_CHILD_CHECK(28, h->flags == (NLM_F_EXCL_ | NLM_F_CREATE_));
    KT_CHILD_CHECK(21, route_change(s, RTM_DELROUTE_, 0, AF_INET, "192.168.5.0", 24, NULL, 0) == 0);
    seq = nl_seq;
    h = next_of(rmon, RTM_DELROUTE_);
    KT_CHILD_CHECK(22, h != NULL && h->seq == seq);
    KT_CHILD_CHECK(29, h->flags == 0);
    /* the address monitor saw none of the routes */
    KT_CHILD_CHECK(23, recv(mon, nl_buf, sizeof nl_buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);
    KT_CHILD_CHECK(27, recv(unbound, nl_buf, sizeof nl_buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);
    return 0;
}

KT_CASE(group_members_are_told_of_changes) {
    KT_EQ(kt_in_child(monitor), 0);
}

/* ---- wildcard sockets reached at every address ---- */

/* Through the TCP listener `l` and the UDP socket `u` (both bound to
 * 0.0.0.0) from fresh sockets at the IPv4 address `ip` (network order):
 * 0 when the connection's ends and the datagrams' addresses are `ip`, else
 * the number of the step that failed. */
static int reach_at(uint32_t ip, int l, int u) {
    struct sockaddr_in to = {0}, me, got;
    socklen_t len;
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = ip;
    to.sin_port = htons((uint16_t)kt_port_of(l));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&to, sizeof to) != 0) return 1;
    int s = accept(l, NULL, NULL);
    if (s < 0) return 2;
    len = sizeof got;
    if (getsockname(s, (struct sockaddr *)&got, &len) != 0 || got.sin_addr.s_addr != ip || got.sin_port != to.sin_port)
        return 3;
    len = sizeof me;
    if (getsockname(c, (struct sockaddr *)&me, &len) != 0 || me.sin_addr.s_addr != ip) return 4;
    if (write(c, "t", 1) != 1 || read(s, &got, 1) != 1) return 5;
    close(c);
    close(s);
    /* UDP: a connected client's datagram comes from the address, the
     * reply goes back from it (the client takes only its peer's) */
    to.sin_port = htons((uint16_t)kt_port_of(u));
    c = socket(AF_INET, SOCK_DGRAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&to, sizeof to) != 0) return 6;
    len = sizeof me;
    if (getsockname(c, (struct sockaddr *)&me, &len) != 0 || me.sin_addr.s_addr != ip) return 7;
    if (send(c, "ping", 4, 0) != 4) return 8;
    char b[8];
    struct pollfd pf = {u, POLLIN, 0};
    if (poll(&pf, 1, 5000) != 1) return 9;
    len = sizeof got;
    if (recvfrom(u, b, sizeof b, 0, (struct sockaddr *)&got, &len) != 4 || got.sin_addr.s_addr != ip ||
        got.sin_port != me.sin_port)
        return 10;
    if (sendto(u, "pong", 4, 0, (struct sockaddr *)&got, len) != 4) return 11;
    pf.fd = c;
    if (poll(&pf, 1, 5000) != 1) return 12;
    len = sizeof got;
    if (recvfrom(c, b, sizeof b, 0, (struct sockaddr *)&got, &len) != 4 || got.sin_addr.s_addr != ip ||
        got.sin_port != to.sin_port || memcmp(b, "pong", 4) != 0)
        return 13;
    close(c);
    return 0;
}

/* A TCP listener (`stream`) or UDP socket bound to 0.0.0.0, or -1. */
static int wildcard4(int stream) {
    int s = socket(AF_INET, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
    struct sockaddr_in a = kt_sin(INADDR_ANY, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    if (stream && listen(s, 8) != 0) return -1;
    return s;
}

static uint32_t ip4(const char *t) {
    struct in_addr a = {0};
    inet_pton(AF_INET, t, &a);
    return a.s_addr;
}

static int wildcard_in_netns(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int s = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, s >= 0);
    KT_CHILD_CHECK(3, link_set(s, 1, 1) == 0);
    KT_CHILD_CHECK(4, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.0.1", 32, 1) == 0);
    int l = wildcard4(1), u = wildcard4(0);
    KT_CHILD_CHECK(5, l >= 0 && u >= 0);
    KT_CHILD_CHECK(6, reach_at(ip4("127.0.0.1"), l, u) == 0);
    KT_CHILD_CHECK(7, reach_at(ip4("10.9.0.1"), l, u) == 0);
    /* an address added after listen(2) and bind(2) is reached too */
    KT_CHILD_CHECK(8, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.1.1", 24, 1) == 0);
    KT_CHILD_CHECK(9, reach_at(ip4("10.9.1.1"), l, u) == 0);
    /* a deleted one is not: nothing of this host answers there */
    KT_CHILD_CHECK(10, addr_change(s, RTM_DELADDR_, 0, AF_INET, "10.9.0.1", 32, 1) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = kt_sin(0, (uint16_t)kt_port_of(l));
    to.sin_addr.s_addr = ip4("10.9.0.1");
    KT_CHILD_CHECK(11, connect(c, (struct sockaddr *)&to, sizeof to) == -1 && errno == ENETUNREACH);
    close(c);
    /* the IPv4 listener takes no IPv6 connection: [::1] is refused */
    c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 t6 = kt_sin6(&in6addr_loopback, (uint16_t)kt_port_of(l));
    KT_CHILD_CHECK(12, connect(c, (struct sockaddr *)&t6, sizeof t6) == -1 && errno == ECONNREFUSED);
    close(c);
    /* nor the UDP socket an IPv6 datagram */
    c = socket(AF_INET6, SOCK_DGRAM, 0);
    t6.sin6_port = htons((uint16_t)kt_port_of(u));
    KT_CHILD_CHECK(13, sendto(c, "six", 3, 0, (struct sockaddr *)&t6, sizeof t6) == 3);
    struct pollfd pf = {u, POLLIN, 0};
    KT_CHILD_CHECK(14, poll(&pf, 1, 200) == 0);
    close(c);
    /* a listener bound to in6addr_any (not v6-only) takes both */
    int l6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 any6 = kt_sin6(&in6addr_any, 0);
    KT_CHILD_CHECK(15, bind(l6, (struct sockaddr *)&any6, sizeof any6) == 0 && listen(l6, 4) == 0);
    c = socket(AF_INET, SOCK_STREAM, 0);
    to = kt_sin(0, (uint16_t)kt_port_of(l6));
    to.sin_addr.s_addr = ip4("10.9.1.1");
    KT_CHILD_CHECK(16, connect(c, (struct sockaddr *)&to, sizeof to) == 0);
    int a = accept(l6, NULL, NULL);
    struct sockaddr_in6 got;
    socklen_t len = sizeof got;
    KT_CHILD_CHECK(17, a >= 0 && getsockname(a, (struct sockaddr *)&got, &len) == 0);
    KT_CHILD_CHECK(18, IN6_IS_ADDR_V4MAPPED(&got.sin6_addr) && memcmp(&got.sin6_addr.s6_addr[12], &to.sin_addr, 4) == 0);
    close(a);
    close(c);
    close(l6);
    close(l);
    close(u);
    close(s);
    return 0;
}

KT_CASE(wildcard_sockets_reached_at_every_address) {
    KT_EQ(kt_in_child(wildcard_in_netns), 0);
}

/* The initial namespace: every IPv4 address of every interface that is up
 * (ours: lo's and eth0's; Linux's suite boot has lo down and no NIC, so
 * none there). */
KT_CASE(wildcard_sockets_reached_at_the_interfaces_addresses) {
    int l = wildcard4(1), u = wildcard4(0);
    KT_TRUE(l >= 0 && u >= 0, "wildcard sockets");
    int q = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq rs[16];
    struct ifconf ic = {.ifc_len = sizeof rs, .ifc_req = rs};
    KT_SYS_RET(ioctl(q, SIOCGIFCONF, &ic), 0);
    int n = ic.ifc_len / (int)sizeof(struct ifreq), tried = 0;
    for (int i = 0; i < n; i++) {
        struct ifreq f = rs[i];
        KT_SYS_RET(ioctl(q, SIOCGIFFLAGS, &f), 0);
        if (!(f.ifr_flags & IFF_UP)) continue;
        uint32_t ip = ((struct sockaddr_in *)&rs[i].ifr_addr)->sin_addr.s_addr;
        kt_printf("# %s %s\n", rs[i].ifr_name, inet_ntoa(((struct sockaddr_in *)&rs[i].ifr_addr)->sin_addr));
        KT_EQ(reach_at(ip, l, u), 0);
        tried++;
    }
    kt_printf("# %d addresses\n", tried);
    close(q);
    close(l);
    close(u);
}

/* RTM_NEWROUTE/RTM_DELROUTE of an IPv4 route of type `ty` (ip route add
 * blackhole|unreachable|prohibit DST/LEN) */
static int typed_route(int s, uint16_t type, uint8_t ty, const char *dst, int len) {
    unsigned char a[4];
    if (inet_pton(AF_INET, dst, a) != 1) return 1004;
    struct rtmsg_ rt = {AF_INET, (uint8_t)len, 0, 0, 254, 3, 0, ty, 0};
    struct nl_req r;
    nl_req_start(&r, type, NLM_F_REQUEST_ | (type == RTM_NEWROUTE_ ? EXCL : 0), &rt, sizeof rt);
    nl_req_attr(&r, RTA_DST_, a, 4);
    return nl_req_ack(s, &r);
}

/* connect(2) of a fresh socket of `type` to `ip`:9: 0 or the errno */
static int connect_err(int type, const char *ip) {
    int c = socket(AF_INET, type | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = kt_sin(0, 9);
    inet_pton(AF_INET, ip, &to.sin_addr);
    int r = connect(c, (struct sockaddr *)&to, sizeof to) == 0 ? 0 : errno;
    close(c);
    return r;
}

static int route_types(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int s = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, s >= 0);
    KT_CHILD_CHECK(3, link_set(s, 1, 1) == 0);
    KT_CHILD_CHECK(4, addr_change(s, RTM_NEWADDR_, EXCL, AF_INET, "10.9.9.9", 24, 1) == 0);
    KT_CHILD_CHECK(5, typed_route(s, RTM_NEWROUTE_, 6, "198.51.100.0", 24) == 0); /* blackhole */
    KT_CHILD_CHECK(6, typed_route(s, RTM_NEWROUTE_, 7, "198.51.101.0", 24) == 0); /* unreachable */
    KT_CHILD_CHECK(7, typed_route(s, RTM_NEWROUTE_, 8, "198.51.102.0", 24) == 0); /* prohibit */
    KT_CHILD_CHECK(8, typed_route(s, RTM_NEWROUTE_, 6, "198.51.100.0", 24) == -EEXIST);
    KT_CHILD_CHECK(9, connect_err(SOCK_STREAM, "198.51.100.1") == EINVAL);
    KT_CHILD_CHECK(10, connect_err(SOCK_DGRAM, "198.51.100.1") == EINVAL);
    KT_CHILD_CHECK(11, connect_err(SOCK_STREAM, "198.51.101.1") == EHOSTUNREACH);
    KT_CHILD_CHECK(12, connect_err(SOCK_DGRAM, "198.51.101.1") == EHOSTUNREACH);
    KT_CHILD_CHECK(13, connect_err(SOCK_STREAM, "198.51.102.1") == EACCES);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = kt_sin(0, 9);
    inet_pton(AF_INET, "198.51.102.1", &to.sin_addr);
    KT_CHILD_CHECK(14, sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof to) == -1 && errno == EACCES);
    close(u);
    KT_CHILD_CHECK(15, connect_err(SOCK_DGRAM, "198.51.103.1") == ENETUNREACH);
    KT_CHILD_CHECK(16, typed_route(s, RTM_DELROUTE_, 6, "198.51.100.0", 24) == 0);
    KT_CHILD_CHECK(17, connect_err(SOCK_DGRAM, "198.51.100.1") == ENETUNREACH);
    KT_CHILD_CHECK(18, typed_route(s, RTM_DELROUTE_, 7, "198.51.101.0", 24) == 0);
    KT_CHILD_CHECK(19, typed_route(s, RTM_DELROUTE_, 8, "198.51.102.0", 24) == 0);
    /* a route by device through lo: what is sent there comes back in and
     * reaches a wildcard socket (Linux's lo hands the packet up with the
     * route it went out by) */
    KT_CHILD_CHECK(20, route_change(s, RTM_NEWROUTE_, EXCL, AF_INET, "192.168.5.0", 24, NULL, 1) == 0);
    u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = kt_sin(INADDR_ANY, 0);
    KT_CHILD_CHECK(21, bind(u, (struct sockaddr *)&any, sizeof any) == 0);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    to = kt_sin(0, (uint16_t)kt_port_of(u));
    inet_pton(AF_INET, "192.168.5.7", &to.sin_addr);
    KT_CHILD_CHECK(22, sendto(c, "x", 1, 0, (struct sockaddr *)&to, sizeof to) == 1);
    struct pollfd pf = {u, POLLIN, 0};
    KT_CHILD_CHECK(23, poll(&pf, 1, 5000) == 1);
    char b[4];
    KT_CHILD_CHECK(24, recv(u, b, sizeof b, 0) == 1 && b[0] == 'x');
    close(c);
    close(u);
    close(s);
    return 0;
}

#define RTM_SETLINK_ 19

static int lo_flags(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    int ret = ioctl(s, SIOCGIFFLAGS, &r);
    close(s);
    return ret == 0 ? r.ifr_flags : -1;
}

/* RTM_SETLINK with IFF_UP in ifi_flags and ifi_change (rtnl_setlink), as
 * systemd's loopback set-up brings lo up (ours said EOPNOTSUPP, "Failed to
 * bring loopback interface up"); an unknown index ENODEV, no index and no
 * name EINVAL */
static int setlink_lo(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int s = nl_socket(NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, s >= 0);
    KT_CHILD_CHECK(3, lo_flags() >= 0 && !(lo_flags() & IFF_UP));
    struct ifinfo ifi = {0};
    ifi.index = 1;
    ifi.flags = IFF_UP;
    ifi.change = IFF_UP;
    struct nl_req r;
    nl_req_start(&r, RTM_SETLINK_, NLM_F_REQUEST_, &ifi, sizeof ifi);
    KT_CHILD_CHECK(4, nl_req_ack(s, &r) == 0);
    KT_CHILD_CHECK(5, lo_flags() & IFF_UP);
    ifi.flags = 0;
    nl_req_start(&r, RTM_SETLINK_, NLM_F_REQUEST_, &ifi, sizeof ifi);
    KT_CHILD_CHECK(6, nl_req_ack(s, &r) == 0);
    KT_CHILD_CHECK(7, !(lo_flags() & IFF_UP));
    ifi.index = 999;
    nl_req_start(&r, RTM_SETLINK_, NLM_F_REQUEST_, &ifi, sizeof ifi);
    KT_CHILD_CHECK(8, nl_req_ack(s, &r) == -ENODEV);
    ifi.index = 0;
    nl_req_start(&r, RTM_SETLINK_, NLM_F_REQUEST_, &ifi, sizeof ifi);
    KT_CHILD_CHECK(9, nl_req_ack(s, &r) == -EINVAL);
    /* by name, index 0 */
    ifi.flags = IFF_UP;
    nl_req_start(&r, RTM_SETLINK_, NLM_F_REQUEST_, &ifi, sizeof ifi);
    nl_req_attr(&r, 3 /* IFLA_IFNAME */, "lo", 3);
    KT_CHILD_CHECK(10, nl_req_ack(s, &r) == 0);
    KT_CHILD_CHECK(11, lo_flags() & IFF_UP);
    close(s);
    return 0;
}

KT_CASE(blackhole_unreachable_prohibit_routes) {
    KT_EQ(kt_in_child(route_types), 0);
}

KT_CASE(setlink_brings_lo_up_as_systemd) {
    KT_EQ(kt_in_child(setlink_lo), 0);
}

KT_MAIN()
