/* /proc/sys/user/max_*_namespaces (Linux's ucounts of the initial user
 * namespace): every kind of namespace counts per user; at the limit a new
 * one is ENOSPC, from unshare(2) and from clone(2), while the ones made
 * live; room again once one goes. The limit is set to the user's current
 * count + 1 (found by trying: the suite's other programs may hold some),
 * a holder makes one, and a second is refused (CLONE_NEWTIME by clone3).
 * user.max_inotify_* are the
 * fs.inotify.max_user_* values. Run as root (the suite's user); the old
 * limits are put back. */
#include "kt.h"

#include <sched.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static long read_num(const char *path) {
    char buf[32];
    if (kt_read_text(path, buf, sizeof buf) <= 0) return -1;
    return atol(buf);
}

static int set_num(const char *path, long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld\n", v);
    return kt_write_text(path, buf);
}

/* unshare(flag) in a child: 0 made, 1 ENOSPC, 2 another error. */
static int try_unshare(int flag) {
    pid_t c = fork();
    if (c == 0) _exit(unshare(flag) == 0 ? 0 : errno == ENOSPC ? 1 : 2);
    int st;
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st)) return 3;
    return WEXITSTATUS(st);
}

/* clone(flag): 0 made (the child exits at once), else the errno.
 * CLONE_NEWTIME (0x80, in clone's CSIGNAL bits) only through clone3. */
static int try_clone(int flag) {
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = (uint64_t)flag;
    a.exit_signal = SIGCHLD;
    pid_t c = flag == CLONE_NEWTIME ? (pid_t)syscall(SYS_clone3, &a, KT_CLONE_ARGS_SIZE_VER0)
                                    : (pid_t)syscall(SYS_clone, flag | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) _exit(0);
    if (c < 0) return errno;
    waitpid(c, NULL, 0);
    return 0;
}

/* A child that makes a namespace of `flag` and holds it until killed:
 * its pid, *made the unshare's result (0 or an errno). */
static pid_t holder(int flag, int *made) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        /* the probe's namespace may still count for a moment (Linux
         * frees user and PID namespaces from a work item) */
        int rc = ENOSPC;
        for (int i = 0; i < 100 && rc == ENOSPC; i++) {
            rc = unshare(flag) == 0 ? 0 : errno;
            if (rc == ENOSPC) kt_msleep(20);
        }
        if (write(p[1], &rc, sizeof rc) != sizeof rc) _exit(1);
        for (;;) pause();
    }
    close(p[1]);
    *made = -1;
    if (c > 0 && read(p[0], made, sizeof *made) != sizeof *made) *made = -1;
    close(p[0]);
    return c;
}

static void end(pid_t c) {
    if (c <= 0) return;
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

/* The check of one kind; 0 when it held, else which step failed. */
static int limit_of(const char *knob, int flag) {
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/user/%s", knob);
    long old = read_num(path);
    if (old < 2) return 1;
    int result = 2;
    /* Linux frees some namespaces in a work queue (a little after their
     * last holder): a round whose counts moved under it is tried again */
    for (int round = 0; round < 40 && result != 0; round++) {
        if (round > 0) kt_msleep(50);
        /* the smallest limit that lets one more be made: count + 1 */
        long k = 1;
        while (k <= 16) {
            if (set_num(path, k) != 0) {
                result = 3;
                goto out;
            }
            int r = try_unshare(flag);
            if (r == 0) break;
            if (r != 1) {
                result = 4;
                goto out;
            }
            k++;
        }
        if (k > 16) continue;
        int made;
        pid_t h = holder(flag, &made);
        if (made != 0) {
            end(h);
            continue;
        }
        /* the holder's counts: no second one, by unshare or by clone */
        int u = try_unshare(flag);
        int c = try_clone(flag);
        end(h);
        if (u == 0) continue; /* one of the probes went meanwhile */
        if (u != 1) {
            result = 5;
            break;
        }
        if (c != ENOSPC) {
            result = 6;
            break;
        }
        /* once the holder went: room again */
        int e = -1;
        for (int i = 0; i < 40 && e != 0; i++) {
            e = try_clone(flag);
            if (e != 0) kt_msleep(50);
        }
        result = e == 0 ? 0 : 7;
    }
out:
    set_num(path, old);
    return result;
}

KT_CASE(uts_limit_is_enospc) {
    KT_EQ(limit_of("max_uts_namespaces", CLONE_NEWUTS), 0);
}

KT_CASE(ipc_limit_is_enospc) {
    KT_EQ(limit_of("max_ipc_namespaces", CLONE_NEWIPC), 0);
}

KT_CASE(mnt_limit_is_enospc) {
    KT_EQ(limit_of("max_mnt_namespaces", CLONE_NEWNS), 0);
}

KT_CASE(net_limit_is_enospc) {
    KT_EQ(limit_of("max_net_namespaces", CLONE_NEWNET), 0);
}

KT_CASE(user_limit_is_enospc) {
    KT_EQ(limit_of("max_user_namespaces", CLONE_NEWUSER), 0);
}

/* unshare(CLONE_NEWTIME) too: the children's namespace counts. */
KT_CASE(time_limit_is_enospc) {
    KT_EQ(limit_of("max_time_namespaces", CLONE_NEWTIME), 0);
}

KT_CASE(cgroup_limit_is_enospc) {
    KT_EQ(limit_of("max_cgroup_namespaces", CLONE_NEWCGROUP), 0);
}

/* unshare(CLONE_NEWPID) moves only the children: the holder's new
 * namespace counts as the others' do. */
KT_CASE(pid_limit_is_enospc) {
    KT_EQ(limit_of("max_pid_namespaces", CLONE_NEWPID), 0);
}

/* Each knob: an int from 0 to INT_MAX, max_threads / 2 at boot (every
 * kind the same); written values read back; out of range EINVAL. */
KT_CASE(knobs_read_back) {
    static const char *names[] = {"max_cgroup_namespaces", "max_ipc_namespaces", "max_mnt_namespaces",
                                  "max_net_namespaces", "max_pid_namespaces", "max_time_namespaces",
                                  "max_user_namespaces", "max_uts_namespaces"};
    char path[96];
    long first = read_num("/proc/sys/user/max_net_namespaces");
    KT_TRUE(first > 1, "max_net_namespaces %ld", first);
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "/proc/sys/user/%s", names[i]);
        long v = read_num(path);
        KT_TRUE(v == first, "%s: %ld, max_net_namespaces %ld", names[i], v, first);
        KT_SYS_OK(kt_write_text(path, "7\n"));
        KT_EQ(read_num(path), 7);
        KT_SYS_ERR(kt_write_text(path, "-1\n"), EINVAL);
        KT_SYS_ERR(kt_write_text(path, "2147483648\n"), EINVAL);
        KT_EQ(read_num(path), 7);
        KT_SYS_OK(set_num(path, v));
        KT_EQ(read_num(path), v);
    }
}

/* user.max_inotify_instances / _watches are fs.inotify.max_user_*. */
KT_CASE(inotify_knobs_are_the_fs_ones) {
    long inst = read_num("/proc/sys/fs/inotify/max_user_instances");
    long watches = read_num("/proc/sys/fs/inotify/max_user_watches");
    KT_TRUE(inst > 0 && watches > 0, "%ld %ld", inst, watches);
    KT_EQ(read_num("/proc/sys/user/max_inotify_instances"), inst);
    KT_EQ(read_num("/proc/sys/user/max_inotify_watches"), watches);
    KT_SYS_OK(set_num("/proc/sys/user/max_inotify_instances", inst + 3));
    KT_EQ(read_num("/proc/sys/fs/inotify/max_user_instances"), inst + 3);
    KT_SYS_OK(set_num("/proc/sys/fs/inotify/max_user_watches", watches + 5));
    KT_EQ(read_num("/proc/sys/user/max_inotify_watches"), watches + 5);
    KT_SYS_OK(set_num("/proc/sys/fs/inotify/max_user_instances", inst));
    KT_SYS_OK(set_num("/proc/sys/user/max_inotify_watches", watches));
    KT_EQ(read_num("/proc/sys/user/max_inotify_instances"), inst);
}

#define UTS_MAX "/proc/sys/user/max_uts_namespaces"

/* A child user namespace's /proc/sys/user/max_*_namespaces are its own
 * (Linux's per-namespace ucount_max): INT_MAX at its creation, written by
 * its root (the unprivileged maker outside may not write the initial
 * namespace's), binding inside it; the initial namespace's maximum still
 * binds what is made below it by that namespace's owner (the ucounts
 * chain: a namespace counts in every user namespace up to the initial
 * one), and it reads its own value. */
KT_CASE(child_user_namespace_limits) {
    long old = read_num(UTS_MAX);
    KT_TRUE(old > 1, "max_uts_namespaces %ld", old);
    int ready[2], go[2];
    KT_SYS_OK(pipe(ready));
    KT_SYS_OK(pipe(go));
    pid_t c = KT_FORK();
    if (c == 0) {
        char v;
        close(ready[0]);
        close(go[1]);
        KT_CK(1, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
        /* (the id change left it non-dumpable: its /proc files root's) */
        KT_CK(22, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0);
        errno = 0;
        KT_CK(2, open(UTS_MAX, O_WRONLY) == -1 && errno == EACCES);
        KT_CK(3, unshare(CLONE_NEWUSER) == 0);
        KT_CK(4, kt_write_text("/proc/self/uid_map", "0 1000 1") == 0);
        KT_CK(5, kt_write_text("/proc/self/setgroups", "deny") == 0);
        KT_CK(6, kt_write_text("/proc/self/gid_map", "0 1000 1") == 0);
        KT_CK(7, read_num(UTS_MAX) == 2147483647);
        KT_CK(8, read_num("/proc/sys/user/max_ipc_namespaces") == 2147483647);
        KT_CK(9, set_num(UTS_MAX, 1) == 0);
        KT_CK(10, read_num(UTS_MAX) == 1);
        int made;
        pid_t h = holder(CLONE_NEWUTS, &made);
        KT_CK(11, h > 0 && made == 0);
        KT_CK(12, try_unshare(CLONE_NEWUTS) == 1);
        KT_CK(13, try_clone(CLONE_NEWUTS) == ENOSPC);
        KT_CK(14, try_unshare(CLONE_NEWIPC) == 0);
        end(h);
        KT_CK(15, try_unshare(CLONE_NEWUTS) == 0);
        /* the initial namespace's maximum: 1 (set by the parent) */
        KT_CK(16, set_num(UTS_MAX, 100) == 0);
        KT_CK(17, write(ready[1], "r", 1) == 1 && read(go[0], &v, 1) == 1);
        KT_CK(18, read_num(UTS_MAX) == 100);
        h = holder(CLONE_NEWUTS, &made);
        KT_CK(19, h > 0 && made == 0);
        KT_CK(20, try_unshare(CLONE_NEWUTS) == 1);
        end(h);
        KT_CK(21, try_unshare(CLONE_NEWUTS) == 0);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char v = 0;
    KT_EQ(read(ready[0], &v, 1), 1);
    KT_EQ(read_num(UTS_MAX), old);
    KT_SYS_OK(set_num(UTS_MAX, 1));
    KT_EQ(write(go[1], "g", 1), 1);
    int st = -1;
    waitpid(c, &st, 0);
    KT_EQ(read_num(UTS_MAX), 1);
    KT_SYS_OK(set_num(UTS_MAX, old));
    close(ready[0]);
    close(go[1]);
    KT_STATUS(st, kt_exited(0));
}

/* fd passing for the case below */
static int send_fd(int sock, int fd) {
    char b = 'f';
    struct iovec iov = {&b, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
    char b;
    struct iovec iov = {&b, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    if (recvmsg(sock, &m, 0) != 1) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* An open max_*_namespaces file is bound to the opener's user namespace
 * (Linux's set_lookup at lookup: the file's ctl_table data is that
 * namespace's slot): an unprivileged user's fd opened inside its own user
 * namespace and written by a process of the initial namespace changes
 * the child namespace's limit, never the machine's. */
KT_CASE(limit_fd_bound_to_opener_namespace) {
    long old = read_num(UTS_MAX);
    KT_TRUE(old > 5, "max_uts_namespaces %ld", old);
    int sv[2], go[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_OK(pipe(go));
    pid_t c = KT_FORK();
    if (c == 0) {
        char v;
        close(sv[0]);
        close(go[1]);
        KT_CK(1, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
        KT_CK(2, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0);
        KT_CK(3, unshare(CLONE_NEWUSER) == 0);
        KT_CK(4, kt_write_text("/proc/self/uid_map", "0 1000 1") == 0);
        KT_CK(5, kt_write_text("/proc/self/setgroups", "deny") == 0);
        KT_CK(6, kt_write_text("/proc/self/gid_map", "0 1000 1") == 0);
        int fd = open(UTS_MAX, O_RDWR);
        KT_CK(7, fd >= 0);
        KT_CK(8, send_fd(sv[1], fd) == 0);
        KT_CK(9, read(go[0], &v, 1) == 1);
        /* the parent's write went into this namespace */
        KT_CK(10, read_num(UTS_MAX) == 3);
        _exit(0);
    }
    close(sv[1]);
    close(go[0]);
    int fd = recv_fd(sv[0]);
    KT_TRUE(fd >= 0, "recv_fd %d", fd);
    KT_EQ(write(fd, "3\n", 2), 2);
    char buf[32] = {0};
    KT_EQ(pread(fd, buf, sizeof buf - 1, 0), 2);
    KT_EQ(atol(buf), 3);
    long now = read_num(UTS_MAX);
    if (now != old) set_num(UTS_MAX, old);
    KT_EQ(now, old);
    KT_EQ(write(go[1], "g", 1), 1);
    int st = -1;
    waitpid(c, &st, 0);
    /* its last process gone, the namespace lives on with the open file
     * (the file's f_cred holds it: no sysctl retirement, the fd still
     * reads and writes that namespace's slot; review40 #14 thought
     * otherwise) */
    KT_EQ(pwrite(fd, "4\n", 2, 0), 2);
    memset(buf, 0, sizeof buf);
    KT_EQ(pread(fd, buf, sizeof buf - 1, 0), 2);
    KT_EQ(atol(buf), 4);
    KT_EQ(read_num(UTS_MAX), old);
    close(fd);
    close(sv[0]);
    close(go[1]);
    KT_STATUS(st, kt_exited(0));
}

KT_MAIN()
