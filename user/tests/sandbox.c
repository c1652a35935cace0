/* What sandbox tools (bubblewrap, util-linux's unshare/choom) need of the
 * kernel beyond the namespaces themselves: proc, sysfs and mqueue mounted
 * by a user namespace's root (mount_capable() over the owner of the PID,
 * network or IPC namespace the filesystem shows; mount_too_revealing()
 * for proc and sysfs), /proc/PID/oom_score. Run as root (the suite's
 * user). */
#include "kt.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/socket.h>

/* musl has no linux/netlink.h: the uapi layouts */
struct nl_hdr {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
};
struct nl_addr {
    uint16_t family, pad;
    uint32_t pid, groups;
};
#define NETLINK_ROUTE_ 0
#define RTM_GETADDR_ 22
#define NLM_F_REQUEST_ 1
#define NLM_F_DUMP_ 0x300

#define DIR_P "/tmp/sandbox_p"

static int put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int n = (int)write(fd, text, strlen(text));
    close(fd);
    return n;
}

/* As uid 1000: a user namespace (root mapped to 1000) with `extra`
 * namespaces; 0 when it worked. */
static int become_userns_root(int extra) {
    if (setgroups(0, NULL) != 0 || setgid(1000) != 0 || setuid(1000) != 0) return -1;
    if (prctl(PR_SET_DUMPABLE, 1) != 0) return -1;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | extra) != 0) return -1;
    if (put("/proc/self/setgroups", "deny") <= 0) return -1;
    if (put("/proc/self/uid_map", "0 1000 1") <= 0 || put("/proc/self/gid_map", "0 1000 1") <= 0) return -1;
    return 0;
}

/* unshare -Urmpf --mount-proc: the PID namespace's owner is the caller's
 * user namespace, so its root may mount a proc (of that namespace: its
 * /proc/self is 1); a second proc on top too */
static int proc_own_pidns_child(void) {
    mkdir(DIR_P, 0755);
    KT_CHILD_CHECK(1, become_userns_root(CLONE_NEWPID) == 0);
    pid_t c = fork();
    if (c == 0) {
        char buf[32] = {0};
        if (getpid() != 1) _exit(2);
        if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(3);
        if (mount("proc", DIR_P, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) _exit(4);
        if (readlink(DIR_P "/self", buf, sizeof buf - 1) != 1 || strcmp(buf, "1") != 0) _exit(5);
        if (mount("proc", DIR_P, "proc", 0, NULL) != 0) _exit(6);
        if (umount(DIR_P) != 0 || umount(DIR_P) != 0) _exit(7);
        if (umount(DIR_P) != -1 || errno != EINVAL) _exit(8);
        _exit(0);
    }
    int st = 0;
    KT_CHILD_CHECK(9, c > 0 && waitpid(c, &st, 0) == c);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 10 + (WIFEXITED(st) ? WEXITSTATUS(st) : 80);
}

KT_CASE(proc_mounted_by_the_root_of_its_pid_namespaces_owner) {
    KT_EQ(kt_in_child(proc_own_pidns_child), 0);
}

/* a PID namespace made before the user namespace belongs to the outer
 * user namespace: no proc for the inner root (EPERM), as without a PID
 * namespace of its own */
static int proc_outer_pidns_child(void) {
    mkdir(DIR_P, 0755);
    KT_CHILD_CHECK(1, unshare(CLONE_NEWPID) == 0);
    pid_t c = fork();
    if (c == 0) {
        if (getpid() != 1) _exit(2);
        if (become_userns_root(0) != 0) _exit(3);
        errno = 0;
        if (mount("proc", DIR_P, "proc", 0, NULL) != -1 || errno != EPERM) _exit(4);
        _exit(0);
    }
    int st = 0;
    KT_CHILD_CHECK(5, c > 0 && waitpid(c, &st, 0) == c);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 10 + (WIFEXITED(st) ? WEXITSTATUS(st) : 80);
}

KT_CASE(proc_refused_for_a_pid_namespace_of_the_outer_user_namespace) {
    KT_EQ(kt_in_child(proc_outer_pidns_child), 0);
}

/* mqueue: the IPC namespace's owner decides; sysfs: the network
 * namespace's, and a sysfs must already show in the mount namespace (the
 * suite mounts none: EPERM either way, mount_too_revealing()) */
static int mqueue_sysfs_child(void) {
    mkdir(DIR_P, 0755);
    KT_CHILD_CHECK(1, become_userns_root(CLONE_NEWIPC | CLONE_NEWNET) == 0);
    KT_CHILD_CHECK(2, mount("mqueue", DIR_P, "mqueue", 0, NULL) == 0);
    KT_CHILD_CHECK(3, umount(DIR_P) == 0);
    struct stat st;
    int have_sys = stat("/sys/kernel", &st) == 0;
    int r = mount("sysfs", DIR_P, "sysfs", 0, NULL);
    KT_CHILD_CHECK(4, have_sys ? r == 0 : (r == -1 && errno == EPERM));
    if (r == 0) KT_CHILD_CHECK(5, umount(DIR_P) == 0);
    return 0;
}

KT_CASE(mqueue_and_sysfs_by_their_namespaces_owner) {
    KT_EQ(kt_in_child(mqueue_sysfs_child), 0);
}

static int mqueue_outer_ipc_child(void) {
    mkdir(DIR_P, 0755);
    KT_CHILD_CHECK(1, become_userns_root(CLONE_NEWNET) == 0);
    errno = 0;
    KT_CHILD_CHECK(2, mount("mqueue", DIR_P, "mqueue", 0, NULL) == -1 && errno == EPERM);
    errno = 0;
    KT_CHILD_CHECK(3, mount("proc", DIR_P, "proc", 0, NULL) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(mqueue_refused_for_the_outer_ipc_namespace) {
    KT_EQ(kt_in_child(mqueue_outer_ipc_child), 0);
}

/* current_chrooted() compares paths: a chroot into a bind mount of / is
 * a chroot (the same directory, another mount), so no user namespace
 * (bubblewrap in such a chroot: "No permissions to create new
 * namespace"); chroot("/") is none */
static int chroot_bind_child(void) {
    mkdir(DIR_P, 0755);
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(3, mount("/", DIR_P, NULL, MS_BIND | MS_REC, NULL) == 0);
    pid_t c = fork();
    if (c == 0) {
        if (chroot("/") != 0 || unshare(CLONE_NEWUSER) != 0) _exit(1);
        _exit(0);
    }
    int st = 0;
    KT_CHILD_CHECK(4, waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    KT_CHILD_CHECK(5, chroot(DIR_P) == 0 && chdir("/") == 0);
    errno = 0;
    KT_CHILD_CHECK(6, unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(chroot_into_a_bind_mount_of_the_root_is_chrooted) {
    KT_EQ(kt_in_child(chroot_bind_child), 0);
}

static long read_long(const char *path) {
    char buf[64] = {0};
    if (kt_read_text(path, buf, sizeof buf) <= 0) return -1;
    if (!strchr(buf, '\n')) return -2;
    return atol(buf);
}

/* /proc/PID/oom_score (choom -p): oom_badness() scaled to 0..2000,
 * (1000 + points * 1000 / total pages) * 2 / 3 where points are the
 * resident pages plus oom_score_adj thousandths of memory; 0 for init and
 * for oom_score_adj -1000; -r--r--r-- */
static int oom_score_child(void) {
    struct stat st;
    KT_CHILD_CHECK(1, stat("/proc/self/oom_score", &st) == 0 && (st.st_mode & 07777) == 0444);
    long s = read_long("/proc/self/oom_score");
    KT_CHILD_CHECK(2, s >= 666 && s < 700);
    KT_CHILD_CHECK(3, read_long("/proc/1/oom_score") == 0);
    KT_CHILD_CHECK(4, put("/proc/self/oom_score_adj", "500") == 3);
    s = read_long("/proc/self/oom_score");
    KT_CHILD_CHECK(5, s >= 990 && s < 1040);
    KT_CHILD_CHECK(6, put("/proc/self/oom_score_adj", "-1000") == 5);
    KT_CHILD_CHECK(7, read_long("/proc/self/oom_score") == 0);
    KT_CHILD_CHECK(8, put("/proc/self/oom_score_adj", "-500") == 4);
    s = read_long("/proc/self/oom_score");
    KT_CHILD_CHECK(9, s >= 330 && s < 370);
    return 0;
}

KT_CASE(proc_pid_oom_score) {
    KT_EQ(kt_in_child(oom_score_child), 0);
}

/* Sends request `type` with `flags` | NLM_F_REQUEST | NLM_F_ACK and
 * `body`; the ack's error (0, -errno) or 1 when there was none. */
static int nl_ack(int fd, uint16_t type, uint16_t flags, const void *body, uint32_t len) {
    char req[256] = {0}, buf[4096];
    struct nl_hdr *h = (struct nl_hdr *)req;
    *h = (struct nl_hdr){.len = (uint32_t)sizeof *h + len, .type = type, .flags = flags | NLM_F_REQUEST_ | 4, .seq = 9};
    memcpy(req + sizeof *h, body, len);
    if (send(fd, req, h->len, 0) != (ssize_t)h->len) return 2;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    struct nl_hdr *r = (struct nl_hdr *)buf;
    if (n < (ssize_t)sizeof *r + 4 || r->type != 2 /* NLMSG_ERROR */) return 1;
    int32_t e;
    memcpy(&e, buf + sizeof *r, 4);
    return e;
}

/* RTM_NEWADDR of 127.0.0.1/8 on a new network namespace's lo before it is
 * up (bubblewrap's loopback set-up): an ack; once lo is up and shows it,
 * EEXIST; another address on lo here is EOPNOTSUPP (not on Linux: not
 * asserted) */
static int newaddr_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE_);
    KT_CHILD_CHECK(2, fd >= 0);
    struct {
        uint8_t family, prefixlen, flags, scope;
        uint32_t index;
        uint16_t alen, atype;
        uint8_t addr[4];
    } a = {AF_INET, 8, 0x80 /* IFA_F_PERMANENT */, 254 /* RT_SCOPE_HOST */, 1, 8, 2 /* IFA_LOCAL */, {127, 0, 0, 1}};
    const uint16_t create_excl = 0x400 | 0x200;
    KT_CHILD_CHECK(3, nl_ack(fd, 20 /* RTM_NEWADDR */, create_excl, &a, sizeof a) == 0);
    struct {
        uint8_t family, pad;
        uint16_t type;
        int32_t index;
        uint32_t flags, change;
    } up = {0, 0, 0, 1, 1 /* IFF_UP */, 1};
    KT_CHILD_CHECK(4, nl_ack(fd, 16 /* RTM_NEWLINK */, 0, &up, sizeof up) == 0);
    KT_CHILD_CHECK(5, nl_ack(fd, 20, create_excl, &a, sizeof a) == -EEXIST);
    KT_CHILD_CHECK(6, nl_ack(fd, 20, 0x400, &a, sizeof a) == -EEXIST);
    a.index = 999;
    KT_CHILD_CHECK(7, nl_ack(fd, 20, create_excl, &a, sizeof a) == -ENODEV);
    return 0;
}

KT_CASE(netlink_newaddr_of_the_loopback_address) {
    KT_EQ(kt_in_child(newaddr_child), 0);
}

/* A netlink socket's automatic port id is the caller's pid as its own
 * PID namespace numbers it (netlink_autobind: task_tgid_vnr), so that the
 * replies' nlmsg_pid is getpid() (bubblewrap's loopback set-up checks it
 * after --unshare-pid) */
static int netlink_port_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWPID | CLONE_NEWNET) == 0);
    pid_t c = fork();
    if (c == 0) {
        if (getpid() != 1) _exit(2);
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE_);
        if (fd < 0) _exit(3);
        struct {
            struct nl_hdr h;
            uint8_t family, prefixlen, flags, scope;
            uint32_t index;
        } req = {.h = {.len = sizeof req, .type = RTM_GETADDR_, .flags = NLM_F_REQUEST_ | NLM_F_DUMP_, .seq = 7},
                 .family = AF_INET};
        struct nl_addr to = {.family = AF_NETLINK};
        if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof req) _exit(4);
        char buf[8192];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        struct nl_hdr *h = (struct nl_hdr *)buf;
        if (n < (ssize_t)sizeof *h || h->seq != 7 || h->pid != 1) _exit(5);
        struct nl_addr me = {0};
        socklen_t len = sizeof me;
        if (getsockname(fd, (struct sockaddr *)&me, &len) != 0 || me.pid != 1) _exit(6);
        /* a second socket of the same process: another (negative) id */
        int fd2 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE_);
        struct nl_addr any = {.family = AF_NETLINK};
        len = sizeof me;
        if (fd2 < 0 || bind(fd2, (struct sockaddr *)&any, sizeof any) != 0 ||
            getsockname(fd2, (struct sockaddr *)&me, &len) != 0 || (int)me.pid >= 0)
            _exit(7);
        _exit(0);
    }
    int st = 0;
    KT_CHILD_CHECK(8, c > 0 && waitpid(c, &st, 0) == c);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 10 + (WIFEXITED(st) ? WEXITSTATUS(st) : 80);
}

KT_CASE(netlink_port_id_by_the_callers_pid_namespace) {
    KT_EQ(kt_in_child(netlink_port_child), 0);
}

KT_MAIN()
