/* inotify(7): inotify_init1's flags, inotify_add_watch's errors and watch
 * descriptors (same inode, same wd; cyclic numbering), the events of a
 * watched directory's entries with their names (padded to 16 bytes) and of
 * a watched file itself, the order when both are watched, move cookies,
 * coalescing of an identical last event, IN_ONESHOT, IN_MASK_ADD,
 * IN_MASK_CREATE, IN_EXCL_UNLINK, IN_IGNORED, read's EINVAL on a short
 * buffer, FIONREAD, poll and epoll readiness, a blocking read woken by
 * another process, /proc/sys/fs/inotify and its limits (EMFILE, ENOSPC,
 * IN_Q_OVERFLOW). Events are compared as text: "wd MASK|BITS name". */
#include "kt.h"

#include <poll.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 2
#endif
#include <sys/ioctl.h>
#include <utime.h>

static char dir[64];
static char paths[4][160];
static int next_path;

/* A fresh empty directory under /tmp (its path in `dir`). */
static int fresh_dir(void) {
    static int n;
    snprintf(dir, sizeof dir, "/tmp/kt_in_%d_%d", (int)getpid(), n++);
    return mkdir(dir, 0755);
}

/* dir/name, in one of four buffers (two may be used in one call). */
static const char *in(const char *name) {
    char *p = paths[next_path++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static const struct {
    unsigned bit;
    const char *name;
} bits[] = {
    {IN_ACCESS, "ACCESS"},         {IN_MODIFY, "MODIFY"},       {IN_ATTRIB, "ATTRIB"},
    {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
    {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},   {IN_CREATE, "CREATE"},
    {IN_DELETE, "DELETE"},         {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
    {IN_UNMOUNT, "UNMOUNT"},       {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
    {IN_ISDIR, "ISDIR"},
};

static char got[4096];
static unsigned cookies[64];
static int ncookies;
static int bad_len; /* an event whose len is not a multiple of 16 or too short */

/* Reads every queued event (fd non-blocking) into `got` as text. */
static void drain(int fd) {
    char buf[4096] __attribute__((aligned(8)));
    got[0] = 0;
    ncookies = 0;
    bad_len = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char one[400];
            int k = snprintf(one, sizeof one, "%s%d ", got[0] ? "," : "", e->wd);
            int first = 1;
            for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++)
                if (e->mask & bits[i].bit) {
                    k += snprintf(one + k, sizeof one - k, "%s%s", first ? "" : "|", bits[i].name);
                    first = 0;
                }
            if (e->len) {
                if (e->len % 16 || strlen(e->name) >= e->len) bad_len = 1;
                snprintf(one + k, sizeof one - k, " %s", e->name);
            }
            strncat(got, one, sizeof got - strlen(got) - 1);
            if (e->cookie && ncookies < 64) cookies[ncookies++] = e->cookie;
            p += sizeof *e + e->len;
        }
    }
}

#define EXPECT(fd, want)                                                            \
    do {                                                                            \
        drain(fd);                                                                  \
        KT_TRUE(strcmp(got, want) == 0, "events \"%.280s\", want \"%.280s\"", got, want); \
        KT_EQ(bad_len, 0);                                                          \
    } while (0)

static int touch(const char *p) {
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return -1;
    return close(fd);
}

static int write_sys(const char *knob, const char *value) {
    char p[96];
    snprintf(p, sizeof p, "/proc/sys/fs/inotify/%s", knob);
    int fd = open(p, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int read_sys(const char *knob, char *out, size_t len) {
    char p[96];
    snprintf(p, sizeof p, "/proc/sys/fs/inotify/%s", knob);
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, out, len - 1);
    close(fd);
    if (n < 0) return -1;
    out[n] = 0;
    return 0;
}

KT_CASE(init1_flags_and_file) {
    KT_SYS_ERR(inotify_init1(1), EINVAL);
    KT_SYS_ERR(inotify_init1(O_RDWR), EINVAL);
    int fd = KT_SYS_OK(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    KT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(fd, F_GETFL), O_RDONLY | O_NONBLOCK);
    char buf[64];
    KT_SYS_ERR(read(fd, buf, sizeof buf), EAGAIN);
    KT_SYS_ERR(write(fd, buf, 8), EBADF); /* open read-only */
    char link[64], lp[64];
    snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
    ssize_t n = KT_SYS_OK(readlink(lp, link, sizeof link - 1));
    link[n] = 0;
    KT_TRUE(strcmp(link, "anon_inode:inotify") == 0, "link %s", link);
    int fd2 = KT_SYS_OK(inotify_init());
    KT_EQ(fcntl(fd2, F_GETFD), 0);
    KT_EQ(fcntl(fd2, F_GETFL), O_RDONLY);
    close(fd2);
    close(fd);
}

KT_CASE(add_watch_errors) {
    KT_SYS_OK(fresh_dir());
    KT_SYS_OK(touch(in("f")));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_ERR(inotify_add_watch(fd, dir, 0), EINVAL);
    KT_SYS_ERR(inotify_add_watch(fd, dir, IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
    KT_SYS_ERR(inotify_add_watch(999, dir, IN_OPEN), EBADF);
    int pp[2];
    KT_SYS_OK(pipe(pp));
    KT_SYS_ERR(inotify_add_watch(pp[0], dir, IN_OPEN), EINVAL);
    KT_SYS_ERR(inotify_add_watch(fd, in("nope"), IN_OPEN), ENOENT);
    KT_SYS_ERR(inotify_add_watch(fd, in("f"), IN_OPEN | IN_ONLYDIR), ENOTDIR);
    KT_SYS_ERR(inotify_add_watch(fd, "", IN_OPEN), ENOENT);
    KT_SYS_RET(inotify_add_watch(fd, in("f"), IN_OPEN | IN_MASK_CREATE), 1);
    KT_SYS_ERR(inotify_add_watch(fd, in("f"), IN_OPEN | IN_MASK_CREATE), EEXIST);
    KT_SYS_ERR(inotify_rm_watch(fd, 7), EINVAL);
    KT_SYS_ERR(inotify_rm_watch(pp[0], 1), EINVAL);
    close(pp[0]);
    close(pp[1]);
    KT_SYS_ERR(inotify_rm_watch(999, 1), EBADF);
    /* a file the caller may not read: EACCES (as nobody) */
    KT_SYS_OK(chmod(in("f"), 0600));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        if (setuid(65534) != 0) _exit(2);
        int r = inotify_add_watch(fd, in("f"), IN_OPEN);
        _exit(r == -1 && errno == EACCES ? 0 : 1);
    }
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(fd);
}

KT_CASE(same_inode_same_wd) {
    KT_SYS_OK(fresh_dir());
    KT_SYS_OK(touch(in("f")));
    char f[160];
    strcpy(f, in("f"));
    KT_SYS_OK(link(f, in("hard")));
    KT_SYS_OK(symlink(f, in("sym")));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_CREATE), 1);
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_DELETE), 1);
    KT_SYS_RET(inotify_add_watch(fd, f, IN_OPEN), 2);
    KT_SYS_RET(inotify_add_watch(fd, in("hard"), IN_OPEN), 2);
    KT_SYS_RET(inotify_add_watch(fd, in("sym"), IN_OPEN), 2);
    /* IN_DONT_FOLLOW: the link itself */
    KT_SYS_RET(inotify_add_watch(fd, in("sym"), IN_OPEN | IN_DONT_FOLLOW), 3);
    KT_SYS_OK(inotify_rm_watch(fd, 3));
    EXPECT(fd, "3 IGNORED");
    /* numbering goes on, no reuse */
    KT_SYS_RET(inotify_add_watch(fd, in("sym"), IN_OPEN | IN_DONT_FOLLOW), 4);
    /* the mask was replaced: IN_CREATE no longer reported, IN_DELETE is */
    KT_SYS_OK(touch(in("g")));
    KT_SYS_OK(unlink(in("g")));
    EXPECT(fd, "1 DELETE g");
    close(fd);
}

KT_CASE(directory_entry_events) {
    KT_SYS_OK(fresh_dir());
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_ALL_EVENTS), 1);
    int f = KT_SYS_OK(open(in("a"), O_CREAT | O_WRONLY, 0644));
    KT_SYS_RET(write(f, "xy", 2), 2);
    KT_SYS_RET(write(f, "z", 1), 1); /* coalesced with the last MODIFY */
    close(f);
    EXPECT(fd, "1 CREATE a,1 OPEN a,1 MODIFY a,1 CLOSE_WRITE a");
    f = KT_SYS_OK(open(in("a"), O_RDONLY));
    char b[8];
    KT_SYS_RET(read(f, b, sizeof b), 3);
    KT_SYS_RET(read(f, b, sizeof b), 0); /* nothing read: no event */
    close(f);
    KT_SYS_OK(chmod(in("a"), 0600));
    KT_SYS_OK(truncate(in("a"), 1));
    KT_SYS_OK(utime(in("a"), NULL));
    EXPECT(fd, "1 OPEN a,1 ACCESS a,1 CLOSE_NOWRITE a,1 ATTRIB a,1 MODIFY a,1 ATTRIB a");
    KT_SYS_OK(mkdir(in("sub"), 0755));
    KT_SYS_OK(rename(in("a"), in("bbbbbbbbbbbbbbbbbbbb")));
    KT_SYS_OK(unlink(in("bbbbbbbbbbbbbbbbbbbb")));
    KT_SYS_OK(symlink("x", in("s")));
    KT_SYS_OK(mknod(in("p"), S_IFIFO | 0600, 0));
    KT_SYS_OK(rmdir(in("sub")));
    EXPECT(fd, "1 CREATE|ISDIR sub,1 MOVED_FROM a,1 MOVED_TO bbbbbbbbbbbbbbbbbbbb,1 DELETE bbbbbbbbbbbbbbbbbbbb,"
               "1 CREATE s,1 CREATE p,1 DELETE|ISDIR sub");
    KT_EQ(ncookies, 2);
    KT_NE(cookies[0], 0);
    KT_EQ(cookies[0], cookies[1]);
    /* the next move has another cookie */
    KT_SYS_OK(rename(in("s"), in("t")));
    unsigned first = cookies[0];
    drain(fd);
    KT_EQ(ncookies, 2);
    KT_NE(cookies[0], first);
    close(fd);
}

KT_CASE(file_self_events_and_order) {
    KT_SYS_OK(fresh_dir());
    KT_SYS_OK(touch(in("f")));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_MODIFY | IN_DELETE | IN_ATTRIB), 1);
    KT_SYS_RET(inotify_add_watch(fd, in("f"), IN_ALL_EVENTS), 2);
    int f = KT_SYS_OK(open(in("f"), O_WRONLY | O_TRUNC));
    KT_SYS_RET(write(f, "x", 1), 1);
    close(f);
    /* the parent with the name first, then the file's own watch */
    EXPECT(fd, "1 MODIFY f,2 MODIFY,2 OPEN,1 MODIFY f,2 MODIFY,2 CLOSE_WRITE");
    KT_SYS_OK(unlink(in("f")));
    EXPECT(fd, "2 ATTRIB,2 DELETE_SELF,2 IGNORED,1 DELETE f");
    /* the directory's own events, without a name */
    int d = KT_SYS_OK(open(dir, O_RDONLY | O_DIRECTORY));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE | IN_MOVE_SELF), 1);
    char buf[512];
    KT_SYS_OK(syscall(SYS_getdents64, d, buf, sizeof buf));
    close(d);
    d = KT_SYS_OK(open(dir, O_RDONLY | O_DIRECTORY));
    close(d);
    char moved[80];
    snprintf(moved, sizeof moved, "%s_m", dir);
    KT_SYS_OK(rename(dir, moved));
    EXPECT(fd, "1 ACCESS|ISDIR,1 CLOSE_NOWRITE|ISDIR,1 OPEN|ISDIR,1 CLOSE_NOWRITE|ISDIR,1 MOVE_SELF");
    KT_SYS_OK(rmdir(moved));
    EXPECT(fd, "1 IGNORED");
    close(fd);
}

KT_CASE(oneshot_mask_add_excl_unlink) {
    KT_SYS_OK(fresh_dir());
    KT_SYS_OK(touch(in("f")));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, in("f"), IN_OPEN | IN_ONESHOT), 1);
    KT_SYS_OK(close(KT_SYS_OK(open(in("f"), O_RDONLY))));
    KT_SYS_OK(close(KT_SYS_OK(open(in("f"), O_RDONLY))));
    EXPECT(fd, "1 OPEN,1 IGNORED");
    KT_SYS_ERR(inotify_rm_watch(fd, 1), EINVAL);
    KT_SYS_RET(inotify_add_watch(fd, in("f"), IN_OPEN), 2);
    KT_SYS_RET(inotify_add_watch(fd, in("f"), IN_ATTRIB | IN_MASK_ADD), 2);
    KT_SYS_OK(chmod(in("f"), 0600));
    KT_SYS_OK(close(KT_SYS_OK(open(in("f"), O_RDONLY))));
    EXPECT(fd, "2 ATTRIB,2 OPEN");
    KT_SYS_OK(inotify_rm_watch(fd, 2));
    EXPECT(fd, "2 IGNORED");
    /* IN_EXCL_UNLINK: no events from an unlinked child's open file */
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_MODIFY | IN_DELETE | IN_EXCL_UNLINK), 3);
    int f = KT_SYS_OK(open(in("f"), O_WRONLY));
    KT_SYS_OK(unlink(in("f")));
    KT_SYS_RET(write(f, "x", 1), 1);
    close(f);
    EXPECT(fd, "3 DELETE f");
    close(fd);
}

KT_CASE(read_sizes_and_fionread) {
    KT_SYS_OK(fresh_dir());
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_CREATE), 1);
    int avail = -1;
    KT_SYS_OK(ioctl(fd, FIONREAD, &avail));
    KT_EQ(avail, 0);
    KT_SYS_OK(touch(in("abc")));                    /* 16 + 16 */
    KT_SYS_OK(touch(in("0123456789abcdef")));       /* 16 + 32 */
    KT_SYS_OK(ioctl(fd, FIONREAD, &avail));
    KT_EQ(avail, 80);
    char buf[256] __attribute__((aligned(8)));
    KT_SYS_ERR(read(fd, buf, 31), EINVAL);
    KT_SYS_RET(read(fd, buf, 79), 32);
    struct inotify_event *e = (struct inotify_event *)buf;
    KT_EQ(e->wd, 1);
    KT_EQ(e->mask, IN_CREATE);
    KT_EQ(e->cookie, 0);
    KT_EQ(e->len, 16);
    KT_TRUE(strcmp(e->name, "abc") == 0, "name %s", e->name);
    KT_SYS_ERR(read(fd, buf, 47), EINVAL);
    KT_SYS_RET(read(fd, buf, 48), 48);
    KT_EQ(e->len, 32);
    KT_SYS_OK(ioctl(fd, FIONREAD, &avail));
    KT_EQ(avail, 0);
    close(fd);
}

KT_CASE(poll_epoll_and_blocking_read) {
    KT_SYS_OK(fresh_dir());
    int fd = KT_SYS_OK(inotify_init());
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_CREATE), 1);
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    KT_SYS_RET(poll(&p, 1, 0), 0);
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 7};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 0), 0);
    KT_SYS_OK(touch(in("x")));
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLIN);
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 0), 1);
    KT_EQ(ev.events, EPOLLIN);
    /* edge-triggered: a second event is a new edge */
    KT_SYS_OK(touch(in("y")));
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 0), 1);
    char buf[256];
    KT_SYS_RET(read(fd, buf, sizeof buf), 64);
    /* a blocking read woken by another process's create */
    pid_t pid = KT_FORK();
    if (pid == 0) {
        usleep(100000);
        _exit(touch(in("z")) == 0 ? 0 : 1);
    }
    KT_SYS_RET(read(fd, buf, sizeof buf), 32);
    KT_TRUE(strcmp(((struct inotify_event *)buf)->name, "z") == 0, "name");
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(ep);
    close(fd);
}

KT_CASE(proc_sys_limits) {
    char v[32];
    KT_SYS_OK(read_sys("max_queued_events", v, sizeof v));
    KT_TRUE(strcmp(v, "16384\n") == 0, "max_queued_events %s", v);
    KT_SYS_OK(read_sys("max_user_instances", v, sizeof v));
    KT_TRUE(strcmp(v, "128\n") == 0, "max_user_instances %s", v);
    KT_SYS_OK(read_sys("max_user_watches", v, sizeof v));
    KT_TRUE(strcmp(v, "8192\n") == 0, "max_user_watches %s", v);
    KT_SYS_ERR(write_sys("max_queued_events", "-1"), EINVAL);
    /* instances: EMFILE past the limit */
    int a = KT_SYS_OK(inotify_init1(0));
    KT_SYS_OK(write_sys("max_user_instances", "1"));
    int r = inotify_init1(0);
    int e = errno;
    KT_SYS_OK(write_sys("max_user_instances", "128"));
    KT_EQ(r, -1);
    KT_EQ(e, EMFILE);
    /* watches: ENOSPC past the limit, an update is no new watch */
    KT_SYS_OK(fresh_dir());
    KT_SYS_OK(touch(in("f")));
    KT_SYS_OK(write_sys("max_user_watches", "1"));
    int w1 = inotify_add_watch(a, dir, IN_CREATE);
    int w1b = inotify_add_watch(a, dir, IN_DELETE);
    int w2 = inotify_add_watch(a, in("f"), IN_OPEN);
    e = errno;
    KT_SYS_OK(write_sys("max_user_watches", "8192"));
    KT_EQ(w1, 1);
    KT_EQ(w1b, 1);
    KT_EQ(w2, -1);
    KT_EQ(e, ENOSPC);
    close(a);
    /* the queue: max_queued_events, then one IN_Q_OVERFLOW */
    KT_SYS_OK(write_sys("max_queued_events", "3"));
    int q = inotify_init1(IN_NONBLOCK);
    KT_SYS_OK(write_sys("max_queued_events", "16384"));
    KT_SYS_OK(q);
    KT_SYS_RET(inotify_add_watch(q, dir, IN_CREATE), 1);
    KT_SYS_OK(touch(in("1")));
    KT_SYS_OK(touch(in("2")));
    KT_SYS_OK(touch(in("3")));
    KT_SYS_OK(touch(in("4")));
    KT_SYS_OK(touch(in("5")));
    EXPECT(q, "1 CREATE 1,1 CREATE 2,1 CREATE 3,-1 Q_OVERFLOW");
    close(q);
}

/* The same events from ext2: the suite's /ext2.img on /dev/vda, mounted
 * on /fsext2 as fs_ops_ext2 does (its mount is used when it is there;
 * one made here is unmounted at the end). */
static unsigned char ext2_img[4 << 20];
static int mounted_here;

static int ext2_mounted(void) {
    struct statfs sf;
    if (statfs("/fsext2", &sf) == 0 && sf.f_type == 0xEF53) return 1;
    if (mkdir("/fsext2", 0755) != 0 && errno != EEXIST) return 0;
    int in = open("/ext2.img", O_RDONLY);
    if (in < 0) return 0;
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof ext2_img && (r = read(in, ext2_img + n, sizeof ext2_img - n)) > 0) n += r;
    close(in);
    int d = open("/dev/vda", O_RDWR);
    if (d < 0) return 0;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = pwrite(d, ext2_img + off, n - off, off);
        if (w <= 0) return 0;
        off += w;
    }
    fsync(d);
    close(d);
    mounted_here = mount("/dev/vda", "/fsext2", "ext2", 0, 0) == 0;
    return mounted_here;
}

KT_CASE(ext2_events) {
    KT_TRUE(ext2_mounted(), "ext2 on /dev/vda at /fsext2");
    snprintf(dir, sizeof dir, "/fsext2/kt_in_%d", (int)getpid());
    KT_SYS_OK(mkdir(dir, 0755));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_ALL_EVENTS), 1);
    int f = KT_SYS_OK(open(in("a"), O_CREAT | O_WRONLY, 0644));
    KT_SYS_RET(inotify_add_watch(fd, in("a"), IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF), 2);
    KT_SYS_RET(write(f, "x", 1), 1);
    close(f);
    KT_SYS_OK(rename(in("a"), in("b")));
    KT_SYS_OK(mkdir(in("d"), 0700));
    KT_SYS_OK(rmdir(in("d")));
    KT_SYS_OK(unlink(in("b")));
    EXPECT(fd, "1 CREATE a,1 OPEN a,1 MODIFY a,2 MODIFY,1 CLOSE_WRITE a,1 MOVED_FROM a,1 MOVED_TO b,2 MOVE_SELF,"
               "1 CREATE|ISDIR d,1 DELETE|ISDIR d,2 ATTRIB,2 DELETE_SELF,2 IGNORED,1 DELETE b");
    KT_EQ(ncookies, 2);
    KT_EQ(cookies[0], cookies[1]);
    close(fd);
    KT_SYS_OK(rmdir(dir));
    if (mounted_here) KT_SYS_OK(umount("/fsext2"));
}

/* vfs_fallocate's fsnotify_modify; copy_file_range's (tmpfs: a splice)
 * fsnotify_modify of the destination per write, then its fsnotify_access
 * of the source and fsnotify_modify of the destination. */
KT_CASE(fallocate_and_copy_file_range_events) {
    KT_SYS_OK(fresh_dir());
    int a = KT_SYS_OK(open(in("a"), O_CREAT | O_RDWR, 0644));
    int b = KT_SYS_OK(open(in("b"), O_CREAT | O_RDWR, 0644));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_MODIFY | IN_ACCESS), 1);
    KT_SYS_OK(fallocate(a, 0, 0, 4096));
    EXPECT(fd, "1 MODIFY a");
    KT_SYS_OK(fallocate(a, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4096));
    EXPECT(fd, "1 MODIFY a");
    loff_t in_off = 0;
    KT_SYS_RET(copy_file_range(a, &in_off, b, NULL, 100, 0), 100);
    /* the splice's write (vfs_iter_write), then vfs_copy_file_range's own */
    EXPECT(fd, "1 MODIFY b,1 ACCESS a,1 MODIFY b");
    /* nothing copied (at the end of the source): no event */
    in_off = 4096;
    KT_SYS_RET(copy_file_range(a, &in_off, b, NULL, 100, 0), 0);
    EXPECT(fd, "");
    close(a);
    close(b);
    close(fd);
}

/* /proc/self/fdinfo of an instance: a line per watch as fs/notify/
 * fdinfo.c prints it (tmpfs's file handle: the generation, then the
 * inode number in two 32-bit halves). */
KT_CASE(fdinfo_lines) {
    KT_SYS_OK(fresh_dir());
    KT_SYS_OK(touch(in("f")));
    int fd = KT_SYS_OK(inotify_init1(IN_NONBLOCK));
    KT_SYS_RET(inotify_add_watch(fd, dir, IN_CREATE), 1);
    KT_SYS_RET(inotify_add_watch(fd, in("f"), IN_MODIFY | IN_EXCL_UNLINK | IN_ONESHOT), 2);
    struct stat sd, sf;
    KT_SYS_OK(stat(dir, &sd));
    KT_SYS_OK(stat(in("f"), &sf));
    struct statfs fs;
    KT_SYS_OK(statfs(dir, &fs));
    KT_EQ((unsigned long)fs.f_type, 0x01021994UL); /* tmpfs */
    char p[64], text[2048];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    int f = KT_SYS_OK(open(p, O_RDONLY));
    ssize_t n = KT_SYS_OK(read(f, text, sizeof text - 1));
    close(f);
    text[n] = 0;
    char want[2][200];
    const struct stat *st[2] = {&sd, &sf};
    unsigned masks[2] = {IN_CREATE, IN_MODIFY | IN_EXCL_UNLINK | IN_ONESHOT};
    for (int i = 0; i < 2; i++) {
        unsigned long ino = st[i]->st_ino;
        unsigned dev = (major(st[i]->st_dev) << 20) | minor(st[i]->st_dev);
        snprintf(want[i], sizeof want[i],
                 "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:0 fhandle-bytes:c fhandle-type:1 f_handle:",
                 i + 1, ino, dev, masks[i]);
        char *at = strstr(text, want[i]);
        KT_TRUE(at != NULL, "line \"%s\" in \"%.300s\"", want[i], text);
        if (!at) continue;
        /* the handle: 4 bytes of generation, then the inode number */
        char tail[40];
        snprintf(tail, sizeof tail, "%02x%02x%02x%02x%02x%02x%02x%02x\n", (unsigned)(ino & 0xff),
                 (unsigned)((ino >> 8) & 0xff), (unsigned)((ino >> 16) & 0xff), (unsigned)((ino >> 24) & 0xff),
                 (unsigned)((ino >> 32) & 0xff), (unsigned)((ino >> 40) & 0xff), (unsigned)((ino >> 48) & 0xff),
                 (unsigned)((ino >> 56) & 0xff));
        char *h = at + strlen(want[i]);
        KT_TRUE(strncmp(h + 8, tail, 17) == 0, "handle \"%.26s\" ends with %s", h, tail);
    }
    /* the newest mark first, as Linux's group list */
    char *l1 = strstr(text, want[0]), *l2 = strstr(text, want[1]);
    KT_TRUE(l1 && l2 && l2 < l1, "order in \"%.400s\"", text);
    close(fd);
}

KT_MAIN()
