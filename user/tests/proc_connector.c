/* NETLINK_CONNECTOR's process events (Linux's cn_proc): a socket bound to
 * group CN_IDX_PROC (CAP_NET_ADMIN, else EPERM) that sent
 * PROC_CN_MCAST_LISTEN gets an acknowledgement (PROC_EVENT_NONE, the
 * request's ack + 1, err 0/EPERM/EINVAL) and then one NLMSG_DONE message
 * per event: fork, exec, uid, sid, comm, exit, with struct proc_event's
 * layout (what, cpu, timestamp_ns, the union). */
#include "kt.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define NETLINK_CONNECTOR 11
#define CN_IDX_PROC 1
#define CN_VAL_PROC 1
#define LISTEN 1
#define IGNORE 2
#define EV_NONE 0
#define EV_FORK 1
#define EV_EXEC 2
#define EV_UID 4
#define EV_SID 0x80
#define EV_COMM 0x200
#define EV_EXIT 0x80000000u
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct nlhdr {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
};
struct cnmsg {
    uint32_t idx, val, seq, ack;
    uint16_t len, flags;
};
struct pev {
    uint32_t what, cpu;
    uint64_t ts;
    uint32_t d[6];
};
struct sanl {
    uint16_t family, pad;
    uint32_t pid, groups;
};

static int open_cn(uint32_t groups) {
    int s = socket(16 /* AF_NETLINK */, SOCK_DGRAM, NETLINK_CONNECTOR);
    if (s < 0) return -1;
    struct sanl a = {16, 0, 0, groups};
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

/* sends the process connector `op` (4 bytes, or `len` of them) */
static long send_op(int s, uint32_t op, uint32_t ack, uint16_t len) {
    struct {
        struct nlhdr h;
        struct cnmsg c;
        uint32_t op;
    } m;
    memset(&m, 0, sizeof m);
    m.h.len = sizeof m;
    m.h.type = 3; /* NLMSG_DONE, as libraries send it */
    m.h.pid = getpid();
    m.c.idx = CN_IDX_PROC;
    m.c.val = CN_VAL_PROC;
    m.c.seq = 5;
    m.c.ack = ack;
    m.c.len = len;
    m.op = op;
    return send(s, &m, sizeof m, 0);
}

/* one event's message: 76 bytes, the proc_event right after the cn_msg */
struct got {
    struct nlhdr h;
    struct cnmsg c;
    struct pev e;
} __attribute__((packed));

/* the next message of `s` (up to `ms` milliseconds) matching `what` and,
 * when nonzero, d[0] == `pid`: 1 found (into `out`), 0 not */
static int find(int s, uint32_t what, uint32_t pid, struct got *out, int ms) {
    for (int waited = 0; waited <= ms;) {
        struct got g;
        long n = recv(s, &g, sizeof g, MSG_DONTWAIT);
        if (n > 0 && n != 76) kt_printf("# a message of %ld bytes\n", n);
        if (n < 0) {
            if (errno != EAGAIN) return 0;
            kt_msleep(10);
            waited += 10;
            continue;
        }
        if (n == sizeof g && g.e.what == what && (pid == 0 || g.e.d[0] == pid)) {
            *out = g;
            return 1;
        }
    }
    return 0;
}

static int listener = -1;

KT_CASE(listen_is_acknowledged) {
    listener = KT_SYS_OK(open_cn(CN_IDX_PROC));
    KT_SYS_RET(send_op(listener, LISTEN, 41, 4), 40);
    struct got g;
    KT_TRUE(find(listener, EV_NONE, 0, &g, 2000), "no acknowledgement");
    KT_EQ(g.h.len, 76);
    KT_EQ(g.h.type, 3);
    KT_EQ(g.h.pid, 0);
    KT_EQ(g.h.seq, g.c.seq);
    KT_EQ(g.c.idx, CN_IDX_PROC);
    KT_EQ(g.c.val, CN_VAL_PROC);
    KT_EQ(g.c.ack, 42);
    KT_EQ(g.c.len, 40);
    KT_EQ(g.e.d[0], 0);
    /* an unknown operation: EINVAL; a short one: no answer */
    KT_SYS_RET(send_op(listener, 3, 50, 4), 40);
    KT_TRUE(find(listener, EV_NONE, 0, &g, 2000), "no acknowledgement");
    KT_EQ(g.c.ack, 51);
    KT_EQ(g.e.d[0], EINVAL);
}

KT_CASE(fork_and_exit_events) {
    KT_TRUE(listener >= 0, "no listener");
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) _exit(3);
    KT_WAIT_STATUS(c, kt_exited(3));
    struct got g;
    KT_TRUE(find(listener, EV_FORK, me, &g, 2000), "no fork event");
    KT_EQ(g.e.d[1], me);
    KT_EQ(g.e.d[2], c);
    KT_EQ(g.e.d[3], c);
    KT_TRUE(g.e.ts != 0, "no timestamp");
    KT_TRUE(find(listener, EV_EXIT, c, &g, 2000), "no exit event");
    KT_EQ(g.e.d[1], c);
    KT_EQ(g.e.d[2], 3 << 8);
    KT_EQ(g.e.d[3], SIGCHLD);
    KT_EQ(g.e.d[4], me);
    KT_EQ(g.e.d[5], me);
}

KT_CASE(exec_comm_sid_uid_events) {
    KT_TRUE(listener >= 0, "no listener");
    pid_t c = KT_FORK();
    if (c == 0) {
        prctl(PR_SET_NAME, "cn-test-name");
        setsid();
        if (setuid(1000) != 0) _exit(1);
        execl(kt_self, kt_self, "kt-exit", "0", (char *)0);
        _exit(2);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    struct got g;
    KT_TRUE(find(listener, EV_COMM, c, &g, 2000), "no comm event");
    KT_EQ(g.e.d[1], c);
    KT_EQ(strcmp((char *)&g.e.d[2], "cn-test-name"), 0);
    KT_TRUE(find(listener, EV_SID, c, &g, 2000), "no sid event");
    KT_EQ(g.e.d[1], c);
    KT_TRUE(find(listener, EV_UID, c, &g, 2000), "no uid event");
    KT_EQ(g.e.d[2], 1000);
    KT_EQ(g.e.d[3], 1000);
    KT_TRUE(find(listener, EV_EXEC, c, &g, 2000), "no exec event");
    KT_EQ(g.e.d[1], c);
    KT_TRUE(find(listener, EV_EXIT, c, &g, 2000), "no exit event");
    KT_EQ(g.e.d[2], 0);
}

static int unprivileged(void) {
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    /* the group needs CAP_NET_ADMIN */
    KT_CHILD_CHECK(2, open_cn(CN_IDX_PROC) == -1 && errno == EPERM);
    int s = open_cn(0);
    KT_CHILD_CHECK(3, s >= 0);
    int g = CN_IDX_PROC;
    KT_CHILD_CHECK(4, setsockopt(s, SOL_NETLINK, 1 /* ADD_MEMBERSHIP */, &g, sizeof g) == -1 && errno == EPERM);
    /* LISTEN without the capability: answered EPERM (to the group) */
    KT_CHILD_CHECK(5, send_op(s, LISTEN, 700, 4) == 40);
    return 0;
}

KT_CASE(unprivileged_cannot_listen) {
    KT_TRUE(listener >= 0, "no listener");
    KT_EQ(kt_in_child(unprivileged), 0);
    struct got g;
    KT_TRUE(find(listener, EV_NONE, 0, &g, 2000), "no acknowledgement");
    KT_EQ(g.c.ack, 701);
    KT_EQ(g.e.d[0], EPERM);
    KT_SYS_RET(send_op(listener, IGNORE, 0, 4), 40);
    close(listener);
}

KT_MAIN()
