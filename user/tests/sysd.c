/* What Debian's systemd (252) needs of the kernel when it runs as PID 1,
 * each case a step of its start where ours differed from Linux:
 * mount_setup() mounts cgroup2 on /sys/fs/cgroup of a fresh sysfs with
 * "nsdelegate,memory_recursiveprot" and checks it by statfs(2);
 * systemd-udevd-kernel.socket and the manager's device monitor open
 * NETLINK_KOBJECT_UEVENT sockets. Run as root (the suite's user). */
#include "kt.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define SYS_DIR "/tmp/sysd_sys"
#define CGROUP2_SUPER_MAGIC_ 0x63677270

/* /sys/fs/cgroup is a directory of sysfs, and a mount on it stays: walks
 * that look it up again see the cgroup2 root (ours made a fresh inode per
 * lookup of a sysfs directory, so the mount was lost at once) */
KT_CASE(cgroup2_on_sysfs_fs_cgroup) {
    mkdir(SYS_DIR, 0755);
    KT_SYS_OK(mount("sysfs", SYS_DIR, "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL));
    struct stat st;
    KT_SYS_OK(stat(SYS_DIR "/fs/cgroup", &st));
    KT_TRUE(S_ISDIR(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_OK(stat(SYS_DIR "/fs", &st));
    KT_TRUE(S_ISDIR(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_OK(mount("cgroup2", SYS_DIR "/fs/cgroup", "cgroup2", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                    "nsdelegate,memory_recursiveprot"));
    struct statfs sf;
    KT_SYS_OK(statfs(SYS_DIR "/fs/cgroup/", &sf));
    KT_EQ((long)sf.f_type, (long)CGROUP2_SUPER_MAGIC_);
    KT_SYS_OK(access(SYS_DIR "/fs/cgroup/cgroup.procs", F_OK));
    /* the mount point stays busy for the sysfs under it */
    KT_SYS_ERR(umount(SYS_DIR), EBUSY);
    KT_SYS_OK(umount(SYS_DIR "/fs/cgroup"));
    KT_SYS_ERR(access(SYS_DIR "/fs/cgroup/cgroup.procs", F_OK), ENOENT);
    KT_SYS_OK(umount(SYS_DIR));
    KT_SYS_OK(rmdir(SYS_DIR));
}

/* musl has no linux/netlink.h */
struct nl_addr {
    uint16_t family, pad;
    uint32_t pid, groups;
};
#define NETLINK_KOBJECT_UEVENT_ 15

/* socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT) and a bind to the
 * kernel's event group, as sd-device's monitor does (ours said
 * EPROTONOSUPPORT); with no device coming or going nothing arrives, and
 * a message sent to the kernel is taken and dropped */
KT_CASE(kobject_uevent_socket_binds) {
    int fd = KT_SYS_OK(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT_));
    struct nl_addr a = {.family = AF_NETLINK, .groups = 1};
    KT_SYS_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
    char buf[256];
    KT_SYS_ERR(recv(fd, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    struct nl_addr kernel = {.family = AF_NETLINK};
    char msg[16] = {16, 0, 0, 0};
    KT_SYS_RET(sendto(fd, msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel), 16);
    KT_SYS_ERR(recv(fd, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(fd);
    /* protocol 14 stays unsupported on both (Linux: no such family built) */
    KT_SYS_ERR(socket(AF_NETLINK, SOCK_RAW, 14), EPROTONOSUPPORT);
}

#define MQ_DIR "/tmp/sysd_mq"

/* The line of /proc/self/mountinfo whose mount point is `dir`, into
 * `out`: 1 when found. */
static int mountinfo_line(const char *dir, char *out, size_t size) {
    static char buf[65536];
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n, total = 0;
    while ((n = read(fd, buf + total, sizeof buf - 1 - (size_t)total)) > 0) total += n;
    close(fd);
    buf[total] = 0;
    char pat[256];
    snprintf(pat, sizeof pat, " %s ", dir);
    for (char *line = buf; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = 0;
        /* the fifth field is the mount point */
        char *p = line;
        for (int i = 0; i < 4 && p; i++) p = strchr(p + 1, ' ');
        if (p && strncmp(p, pat, strlen(pat)) == 0) {
            size_t len = strlen(line) < size - 1 ? strlen(line) : size - 1;
            memcpy(out, line, len);
            out[len] = 0;
            return 1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* /proc/self/mountinfo polls as Linux's mounts_poll: readable always,
 * POLLERR|POLLPRI once per change of the mount table (a mount, an umount)
 * since the open or the poll that said so; the mqueue mount (systemd's
 * dev-mqueue.mount, made by mount(8)) shows type and source "mqueue" */
KT_CASE(mountinfo_poll_tells_each_mount_change) {
    mkdir(MQ_DIR, 0755);
    int fd = KT_SYS_OK(open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    struct pollfd p = {.fd = fd, .events = POLLPRI};
    KT_SYS_RET(poll(&p, 1, 0), 0);
    KT_SYS_OK(mount("mqueue", MQ_DIR, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLPRI | POLLERR);
    KT_SYS_RET(poll(&p, 1, 0), 0);
    char line[512];
    KT_TRUE(mountinfo_line(MQ_DIR, line, sizeof line), "no mountinfo line for " MQ_DIR);
    KT_TRUE(strstr(line, " - mqueue mqueue rw") != NULL, "line: %s", line);
    KT_TRUE(strstr(line, " rw,nosuid,nodev,noexec,relatime ") != NULL, "line: %s", line);
    /* a second open starts from now: no change to tell */
    int fd2 = KT_SYS_OK(open("/proc/self/mounts", O_RDONLY | O_CLOEXEC));
    struct pollfd p2 = {.fd = fd2, .events = POLLPRI | POLLIN};
    KT_SYS_RET(poll(&p2, 1, 0), 1);
    KT_EQ(p2.revents, POLLIN);
    KT_SYS_OK(umount(MQ_DIR));
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLPRI | POLLERR);
    KT_SYS_RET(poll(&p2, 1, 0), 1);
    KT_EQ(p2.revents, POLLIN | POLLPRI | POLLERR);
    KT_TRUE(!mountinfo_line(MQ_DIR, line, sizeof line), "still there: %s", line);
    close(fd2);
    close(fd);
    KT_SYS_OK(rmdir(MQ_DIR));
}

/* libmount's kernel monitor (systemd's view of its .mount units): an
 * epoll of /proc/self/mountinfo with EPOLLIN|EPOLLET reports once after
 * the add, then once per change, with EPOLLERR (the poll's POLLERR) */
KT_CASE(mountinfo_epoll_edge_as_libmount) {
    mkdir(MQ_DIR, 0755);
    int fd = KT_SYS_OK(open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    int ep = KT_SYS_OK(epoll_create1(EPOLL_CLOEXEC));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    struct epoll_event out[2];
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_EQ(out[0].events, (uint32_t)EPOLLIN);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    KT_SYS_OK(mount("tmpfs", MQ_DIR, "tmpfs", 0, "size=64k"));
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_EQ(out[0].events, (uint32_t)(EPOLLIN | EPOLLERR));
    KT_EQ(out[0].data.u64, 7);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    KT_SYS_OK(umount(MQ_DIR));
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    close(ep);
    close(fd);
    KT_SYS_OK(rmdir(MQ_DIR));
}

/* a poll that sleeps wakes at another process's mount (the change comes
 * after the poll looked; its wake-up check must not use it up) */
KT_CASE(mountinfo_poll_sleeps_until_a_mount) {
    mkdir(MQ_DIR, 0755);
    int fd = KT_SYS_OK(open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct timespec d = {0, 200 * 1000 * 1000};
        nanosleep(&d, NULL);
        _exit(mount("tmpfs", MQ_DIR, "tmpfs", 0, "size=64k") == 0 ? 0 : 1);
    }
    struct pollfd p = {.fd = fd, .events = POLLPRI};
    KT_SYS_RET(poll(&p, 1, 10000), 1);
    KT_EQ(p.revents, POLLPRI | POLLERR);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(umount(MQ_DIR));
    close(fd);
    KT_SYS_OK(rmdir(MQ_DIR));
}

static long read_long(const char *path) {
    char b[64];
    if (kt_read_text(path, b, sizeof b) <= 0) return -1;
    return atol(b);
}

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = (int)write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return r < 0 ? -e : r;
}

/* fs.file-max (systemd bumps it to LONG_MAX), fs.nr_open (systemd halves
 * INT_MAX until a write takes: Linux's bound is INT_MAX & ~63) and
 * net.unix.max_dgram_qlen (journald reads it; Linux's default 10) */
KT_CASE(sysctls_systemd_reads_and_bumps) {
    long fmax = read_long("/proc/sys/fs/file-max");
    KT_TRUE(fmax >= 8192, "file-max %ld", fmax);
    KT_EQ(write_text("/proc/sys/fs/file-max", "9223372036854775807\n"), 20);
    KT_EQ(read_long("/proc/sys/fs/file-max"), 9223372036854775807L);
    KT_EQ(write_text("/proc/sys/fs/file-max", "9223372036854775808\n"), -EINVAL);
    KT_EQ(write_text("/proc/sys/fs/file-max", "-1\n"), -EINVAL);
    char b[32];
    snprintf(b, sizeof b, "%ld\n", fmax);
    KT_EQ(write_text("/proc/sys/fs/file-max", b), (int)strlen(b));
    KT_EQ(read_long("/proc/sys/fs/file-max"), fmax);

    KT_EQ(read_long("/proc/sys/fs/nr_open"), 1048576);
    KT_EQ(write_text("/proc/sys/fs/nr_open", "2147483640\n"), -EINVAL);
    KT_EQ(write_text("/proc/sys/fs/nr_open", "63\n"), -EINVAL);
    KT_EQ(write_text("/proc/sys/fs/nr_open", "1073741816\n"), 11);
    KT_EQ(read_long("/proc/sys/fs/nr_open"), 1073741816);
    /* prlimit's bound follows it */
    pid_t c = KT_FORK();
    if (c == 0) {
        struct rlimit r = {2000000, 2000000};
        _exit(setrlimit(RLIMIT_NOFILE, &r) == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(write_text("/proc/sys/fs/nr_open", "1048576\n"), 8);
    c = KT_FORK();
    if (c == 0) {
        struct rlimit r = {2000000, 2000000};
        _exit(setrlimit(RLIMIT_NOFILE, &r) == -1 && errno == EPERM ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));

    /* Linux's default; systemd's sysctl.d writes 512 */
    KT_EQ(read_long("/proc/sys/net/unix/max_dgram_qlen"), 10);
    KT_EQ(write_text("/proc/sys/net/unix/max_dgram_qlen", "512\n"), 4);
    KT_EQ(read_long("/proc/sys/net/unix/max_dgram_qlen"), 512);
    KT_EQ(write_text("/proc/sys/net/unix/max_dgram_qlen", "10\n"), 3);
}

/* journald's sockets: SO_PASSSEC and SO_TIMESTAMP on AF_UNIX (ours said
 * ENOPROTOOPT); a datagram then comes with SCM_TIMESTAMP, a timeval of
 * its sending (SO_TIMESTAMPNS: SCM_TIMESTAMPNS, a timespec) */
KT_CASE(unix_timestamp_and_passsec) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    int one = 1, v = -1;
    socklen_t l = sizeof v;
    KT_SYS_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSSEC, &one, sizeof one));
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_PASSSEC, &v, &l));
    KT_EQ(v, 1);
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMP, &v, &l));
    KT_EQ(v, 0);
    KT_SYS_OK(setsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one));
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMP, &v, &l));
    KT_EQ(v, 1);
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMPNS, &v, &l));
    KT_EQ(v, 0);
    struct timeval before, after;
    gettimeofday(&before, NULL);
    KT_SYS_RET(send(sv[0], "x", 1, 0), 1);
    char data[4];
    union {
        char buf[256];
        struct cmsghdr align;
    } u;
    struct iovec io = {data, sizeof data};
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    KT_SYS_RET(recvmsg(sv[1], &m, 0), 1);
    gettimeofday(&after, NULL);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != NULL, "no control message (controllen %zu)", (size_t)m.msg_controllen);
    KT_EQ(c->cmsg_level, SOL_SOCKET);
    KT_EQ(c->cmsg_type, SCM_TIMESTAMP);
    KT_EQ((long)c->cmsg_len, (long)CMSG_LEN(sizeof(struct timeval)));
    struct timeval tv;
    memcpy(&tv, CMSG_DATA(c), sizeof tv);
    long long t = tv.tv_sec * 1000000LL + tv.tv_usec;
    long long lo = before.tv_sec * 1000000LL + before.tv_usec, hi = after.tv_sec * 1000000LL + after.tv_usec;
    KT_TRUE(t >= lo - 1000 && t <= hi + 1000, "stamp %lld not in [%lld, %lld]", t, lo, hi);
    KT_TRUE(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "usec %ld", (long)tv.tv_usec);
    /* SO_TIMESTAMPNS replaces it */
    KT_SYS_OK(setsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one));
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMP, &v, &l));
    KT_EQ(v, 0);
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMPNS, &v, &l));
    KT_EQ(v, 1);
    KT_SYS_RET(send(sv[0], "y", 1, 0), 1);
    m.msg_controllen = sizeof u.buf;
    KT_SYS_RET(recvmsg(sv[1], &m, 0), 1);
    c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != NULL, "no control message");
    KT_EQ(c->cmsg_type, SCM_TIMESTAMPNS);
    KT_EQ((long)c->cmsg_len, (long)CMSG_LEN(sizeof(struct timespec)));
    struct timespec ts;
    memcpy(&ts, CMSG_DATA(c), sizeof ts);
    KT_TRUE(ts.tv_sec >= before.tv_sec && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "ts %ld.%09ld",
            (long)ts.tv_sec, (long)ts.tv_nsec);
    /* off again: no control message, no MSG_CTRUNC */
    int zero = 0;
    KT_SYS_OK(setsockopt(sv[1], SOL_SOCKET, SO_TIMESTAMPNS, &zero, sizeof zero));
    KT_SYS_RET(send(sv[0], "z", 1, 0), 1);
    m.msg_controllen = sizeof u.buf;
    KT_SYS_RET(recvmsg(sv[1], &m, 0), 1);
    KT_EQ((long)m.msg_controllen, 0L);
    KT_EQ(m.msg_flags, 0);
    close(sv[0]);
    close(sv[1]);
}

struct fh {
    unsigned int bytes;
    int type;
    unsigned char h[128];
};

#define CG_DIR "/tmp/sysd_cg"

/* name_to_handle_at(2): a cgroup2 directory's handle is its 64-bit id
 * (FILEID_KERNFS, 0xfe), the directory's inode number (systemd's cgroup
 * ids); /proc has no handles (EOPNOTSUPP, before the handle is read);
 * too small a buffer EOVERFLOW with the size needed; open_by_handle_at of
 * a handle of no file ESTALE, a bad size EINVAL */
KT_CASE(file_handles_of_cgroups) {
    struct fh f;
    int mnt = -1;
    f.bytes = 128;
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, "/proc/self/status", &f, &mnt, 0), EOPNOTSUPP);
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, "/proc/self/status", (void *)8, &mnt, 0), EOPNOTSUPP);
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, "/proc/self/status", &f, &mnt, 1), EINVAL);
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, "/tmp/sysd_none", &f, &mnt, 0), ENOENT);
    mkdir(CG_DIR, 0755);
    KT_SYS_OK(mount("cgroup2", CG_DIR, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    KT_SYS_OK(mkdir(CG_DIR "/kt_handle", 0755));
    struct stat st;
    KT_SYS_OK(stat(CG_DIR "/kt_handle", &st));
    f.bytes = 0;
    f.type = 0;
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, CG_DIR "/kt_handle", &f, &mnt, 0), EOVERFLOW);
    KT_EQ(f.bytes, 8u);
    KT_EQ(f.type, 0xff);
    f.bytes = 7;
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, CG_DIR "/kt_handle", &f, &mnt, 0), EOVERFLOW);
    f.bytes = 129;
    KT_SYS_ERR(syscall(SYS_name_to_handle_at, AT_FDCWD, CG_DIR "/kt_handle", &f, &mnt, 0), EINVAL);
    f.bytes = 8;
    mnt = -1;
    KT_SYS_OK(syscall(SYS_name_to_handle_at, AT_FDCWD, CG_DIR "/kt_handle", &f, &mnt, 0));
    KT_EQ(f.bytes, 8u);
    KT_EQ(f.type, 0xfe);
    uint64_t id;
    memcpy(&id, f.h, 8);
    KT_EQ(id, (uint64_t)st.st_ino);
    /* statx's stx_mnt_id (STATX_MNT_ID 0x1000) at offset 144 */
    unsigned char sx[256];
    KT_SYS_OK(syscall(SYS_statx, AT_FDCWD, CG_DIR "/kt_handle", 0, 0x1000, sx));
    uint64_t sx_mnt;
    memcpy(&sx_mnt, sx + 144, 8);
    KT_EQ((uint64_t)mnt, sx_mnt);
    /* AT_EMPTY_PATH on an open directory */
    int d = KT_SYS_OK(open(CG_DIR "/kt_handle", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    f.bytes = 128;
    KT_SYS_OK(syscall(SYS_name_to_handle_at, d, "", &f, &mnt, AT_EMPTY_PATH));
    KT_EQ(f.bytes, 8u);
    memcpy(&id, f.h, 8);
    KT_EQ(id, (uint64_t)st.st_ino);
    /* a handle of no cgroup */
    id = 0xfffffff0ull;
    memcpy(f.h, &id, 8);
    KT_SYS_ERR(syscall(SYS_open_by_handle_at, d, &f, O_RDONLY), ESTALE);
    f.bytes = 0;
    KT_SYS_ERR(syscall(SYS_open_by_handle_at, d, &f, O_RDONLY), EINVAL);
    f.bytes = 129;
    KT_SYS_ERR(syscall(SYS_open_by_handle_at, d, &f, O_RDONLY), EINVAL);
    f.bytes = 8;
    KT_SYS_ERR(syscall(SYS_open_by_handle_at, 999, &f, O_RDONLY), EBADF);
    close(d);
    KT_SYS_OK(rmdir(CG_DIR "/kt_handle"));
    KT_SYS_OK(umount(CG_DIR));
    KT_SYS_OK(rmdir(CG_DIR));
}

KT_MAIN()
