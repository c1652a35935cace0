/* Netlink through the raw socket calls for the suite's programs (netlink.c,
 * sock_diag.c, ip_change.c; musl ships no kernel headers): Linux's ABI
 * numbers and structures of netlink and rtnetlink, a request sent to the
 * kernel (nl_send, or built with attributes and acked: struct nl_req), an
 * attribute found in a message (nl_attr), and a dump read to its
 * NLMSG_DONE (nl_dump). */
#ifndef KT_NETLINK_H
#define KT_NETLINK_H
#include "kt_inet.h"

/* include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h of Linux 6.1 */
#define AF_NETLINK_ 16
#define NETLINK_ROUTE_ 0
#define NETLINK_SOCK_DIAG_ 4
#define SOL_NETLINK_ 270
#define NETLINK_ADD_MEMBERSHIP_ 1
#define NLMSG_NOOP_ 1
#define NLMSG_ERROR_ 2
#define NLMSG_DONE_ 3
#define NLM_F_REQUEST_ 1
#define NLM_F_MULTI_ 2
#define NLM_F_ACK_ 4
#define NLM_F_DUMP_ 0x300
#define NLM_F_CAPPED_ 0x100 /* on an ack */
#define NLM_F_REPLACE_ 0x100
#define NLM_F_EXCL_ 0x200
#define NLM_F_CREATE_ 0x400
#define RTM_NEWLINK_ 16
#define RTM_GETLINK_ 18
#define RTM_NEWADDR_ 20
#define RTM_DELADDR_ 21
#define RTM_GETADDR_ 22
#define RTM_NEWROUTE_ 24
#define RTM_DELROUTE_ 25
#define RTM_GETROUTE_ 26
#define IFLA_IFNAME_ 3
#define IFLA_MTU_ 4
#define IFA_ADDRESS_ 1
#define IFA_LOCAL_ 2
#define IFA_LABEL_ 3
#define RTA_DST_ 1
#define RTA_OIF_ 4
#define RTA_GATEWAY_ 5
#define RTA_PRIORITY_ 6
#define RTA_PREFSRC_ 7
#define RTA_TABLE_ 15
#define RTNLGRP_IPV4_ROUTE_ 7
#define RTMGRP_IPV4_IFADDR_ 0x10

struct nlhdr { uint32_t len; uint16_t type, flags; uint32_t seq, pid; };
struct snl { uint16_t family, pad; uint32_t pid, groups; };
struct ifinfo { uint8_t family, pad; uint16_t type; int32_t index; uint32_t flags, change; };
struct ifamsg_ { uint8_t family, prefixlen, flags, scope; uint32_t index; };
struct rtmsg_ { uint8_t family, dst_len, src_len, tos, table, protocol, scope, type; uint32_t flags; };
struct rta { uint16_t len, type; };

/* what the programs receive into */
static unsigned char nl_buf[65536];

/* a netlink socket of `protocol` (NETLINK_ROUTE_, NETLINK_SOCK_DIAG_) */
static inline int nl_socket(int protocol) {
    return socket(AF_NETLINK_, SOCK_RAW | SOCK_CLOEXEC, protocol);
}

/* lo up (Linux's is down in an initramfs-only boot), then nl_socket */
static inline int nl_open(int protocol) {
    if (kt_lo_up() != 0) return -1;
    return nl_socket(protocol);
}

/* the kernel's address: port 0 */
static inline struct snl nl_kernel(void) {
    struct snl a = {AF_NETLINK_, 0, 0, 0};
    return a;
}

/* the socket's port id (0 before it is bound; 0xdead when getsockname fails) */
static inline uint32_t nl_portid(int s) {
    struct snl a;
    socklen_t l = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &l) != 0) return 0xdead;
    return a.pid;
}

/* sends a request to the kernel: the header, then `n` bytes of body */
static inline ssize_t nl_send(int s, uint16_t type, uint16_t flags, uint32_t seq, const void *body, size_t n) {
    unsigned char b[256];
    struct nlhdr h = {(uint32_t)(sizeof h + n), type, flags, seq, 0};
    memcpy(b, &h, sizeof h);
    memcpy(b + sizeof h, body, n);
    struct snl a = nl_kernel();
    return sendto(s, b, sizeof h + n, 0, (struct sockaddr *)&a, sizeof a);
}

/* the payload of the first attribute of `type` among the `n` bytes at
 * `start` (*alen its length), NULL when there is none */
static inline void *nl_attr(void *start, size_t n, uint16_t type, size_t *alen) {
    unsigned char *p = start;
    while (n >= 4) {
        struct rta *r = (struct rta *)p;
        if (r->len < 4 || r->len > n) return NULL;
        if ((r->type & 0x3fff) == type) {
            *alen = r->len - 4;
            return p + 4;
        }
        size_t step = (r->len + 3u) & ~3u;
        if (step >= n) return NULL;
        p += step;
        n -= step;
    }
    return NULL;
}

/* nl_dump: a malformed answer */
#define NL_BAD (-1000)

/* Reads the dump of request `seq` on `s` into nl_buf and calls fn on each
 * of its messages (a non-zero return ends the dump with that value).
 * Returns NLMSG_DONE's error (0 or -errno); 1000 + errno for an
 * NLMSG_ERROR instead of the dump; NL_BAD when a message is not the
 * dump's (another seq or port id, no NLM_F_MULTI, a bad length) or no
 * NLMSG_DONE came in 100 reads. */
static inline int nl_dump(int s, uint32_t seq, int (*fn)(struct nlhdr *, void *), void *arg) {
    uint32_t me = nl_portid(s);
    for (int rounds = 0; rounds < 100; rounds++) {
        ssize_t n = recv(s, nl_buf, sizeof nl_buf, 0);
        if (n < 0) return NL_BAD;
        unsigned char *p = nl_buf;
        while (n >= (ssize_t)sizeof(struct nlhdr)) {
            struct nlhdr *h = (struct nlhdr *)p;
            if (h->len < sizeof *h || h->len > (size_t)n || h->seq != seq || h->pid != me) return NL_BAD;
            if (h->type == NLMSG_ERROR_) return 1000 - *(int32_t *)(h + 1);
            if (!(h->flags & NLM_F_MULTI_)) return NL_BAD;
            if (h->type == NLMSG_DONE_) return h->len == 20 ? *(int32_t *)(h + 1) : NL_BAD;
            int r = fn(h, arg);
            if (r != 0) return r;
            size_t step = (h->len + 3u) & ~3u;
            p += step;
            n -= (ssize_t)step;
        }
    }
    return NL_BAD;
}

/* A request being built: nl_req_start, nl_req_attr..., then nl_req_ack
 * (or nl_req_send). Each request gets the next sequence number of nl_seq. */
struct nl_req { unsigned char b[512]; size_t n; };
static uint32_t nl_seq = 100;

static inline void nl_req_start(struct nl_req *r, uint16_t type, uint16_t flags, const void *body, size_t n) {
    struct nlhdr h = {0, type, flags, ++nl_seq, 0};
    memcpy(r->b, &h, sizeof h);
    memcpy(r->b + sizeof h, body, n);
    r->n = sizeof h + ((n + 3) & ~(size_t)3);
}

static inline void nl_req_attr(struct nl_req *r, uint16_t type, const void *d, size_t n) {
    struct rta a = {(uint16_t)(4 + n), type};
    memcpy(r->b + r->n, &a, 4);
    memcpy(r->b + r->n + 4, d, n);
    r->n += (4 + n + 3) & ~(size_t)3;
}

/* sends the request to the kernel: 0, or -1 with errno */
static inline int nl_req_send(int s, struct nl_req *r) {
    struct nlhdr *h = (struct nlhdr *)r->b;
    h->len = (uint32_t)r->n;
    struct snl a = nl_kernel();
    return sendto(s, r->b, r->n, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)r->n ? 0 : -1;
}

/* sends the request with NLM_F_ACK; returns the ack's error (0, -errno),
 * or 1000 + k when something else went wrong */
static inline int nl_req_ack(int s, struct nl_req *r) {
    struct nlhdr *h = (struct nlhdr *)r->b;
    h->flags |= NLM_F_ACK_;
    if (nl_req_send(s, r) != 0) return 1001;
    for (int i = 0; i < 50; i++) {
        ssize_t n = recv(s, nl_buf, sizeof nl_buf, 0);
        if (n < (ssize_t)sizeof(struct nlhdr)) return 1002;
        struct nlhdr *m = (struct nlhdr *)nl_buf;
        if (m->type == NLMSG_ERROR_ && m->seq == h->seq) return *(int32_t *)(m + 1);
    }
    return 1003;
}
#endif
