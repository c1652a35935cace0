/* PID namespaces: unshare(2)/clone(2) with CLONE_NEWPID, the first child
 * as pid 1 with getppid() 0, init's signal rules (SIG_DFL signals from
 * inside and from outside ignored, SIGKILL from outside kills), its exit
 * killing the namespace, ENOMEM for a fork after that, orphans reparented
 * to init, wait and si_pid numbers of the waiter's namespace,
 * /proc/PID/status's NSpid from outside and a proc mounted inside,
 * /proc/PID/ns/pid and pid_for_children, setns(2) with a pid namespace.
 * Run as root (the suite's user). */
#include "kt.h"

#include <sched.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The value of `key` (e.g. "NSpid:") in /proc/<pid>/status (pid 0:
 * self), tabs kept. */
static int status_line(pid_t pid, const char *key, char *out, int size) {
    char path[64];
    if (pid) snprintf(path, sizeof path, "/proc/%d/status", pid);
    else snprintf(path, sizeof path, "/proc/self/status");
    return kt_key_value(path, key, out, size);
}

static pid_t clone_newpid(void) {
    return (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
}

KT_CASE(unshare_then_fork_is_init) {
    pid_t c = KT_FORK();
    if (c == 0) {
        pid_t me = getpid();
        char a[64] = {0}, b[64] = {0}, r[64] = {0}, path[64];
        if (unshare(CLONE_NEWPID) != 0) _exit(1);
        if (getpid() != me) _exit(2);
        /* the caller stays; its children go into the new namespace, which
         * has no link before its init exists */
        if (readlink("/proc/self/ns/pid", a, sizeof a) <= 0) _exit(3);
        if (readlink("/proc/self/ns/pid_for_children", b, sizeof b) != -1 || errno != ENOENT) _exit(4);
        int p[2];
        if (pipe(p) != 0) _exit(6);
        pid_t g = fork();
        if (g == 0) {
            close(p[0]);
            int ok = getpid() == 1 && getppid() == 0 && syscall(SYS_gettid) == 1;
            if (write(p[1], ok ? "y" : "n", 1) != 1) _exit(1);
            char x;
            (void)read(p[0], &x, 1); /* (closed: returns at once) */
            pause();
            _exit(0);
        }
        close(p[1]);
        char ok = 0;
        if (g <= 1 || read(p[0], &ok, 1) != 1 || ok != 'y') _exit(7);
        snprintf(path, sizeof path, "/proc/%d/ns/pid", g);
        if (readlink("/proc/self/ns/pid_for_children", b, sizeof b) <= 0) _exit(5);
        if (readlink(path, r, sizeof r) <= 0 || strcmp(r, b) != 0 || strcmp(a, b) == 0) _exit(5);
        if (strncmp(b, "pid:[", 5) != 0) _exit(5);
        /* from outside: both numbers, ours first */
        char ns[64], want[64];
        snprintf(want, sizeof want, "%d\t1", g);
        if (status_line(g, "NSpid:", ns, sizeof ns) < 0 || strcmp(ns, want) != 0) _exit(8);
        if (kill(g, SIGKILL) != 0) _exit(9);
        int st;
        if (waitpid(g, &st, 0) != g || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) _exit(10);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

static volatile int got_pid = -1;
static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    got_pid = si->si_pid;
}

/* init's own view: getppid 0, signals to itself without a handler
 * ignored, a child's kill seen with the child's number, waits by the
 * namespace's numbers, orphans reparented to it. */
static int init_body(void) {
    if (getpid() != 1 || getppid() != 0) return 1;
    /* SIG_DFL signals sent from inside are ignored by init */
    if (kill(1, SIGTERM) != 0 || kill(getpid(), SIGUSR2) != 0) return 2;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGUSR1, &sa, NULL) != 0) return 3;
    sigset_t m, old;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, &old);
    pid_t c = fork();
    if (c == 0) _exit(kill(1, SIGUSR1) == 0 && getppid() == 1 ? 0 : 1);
    if (c != 2) return 4;
    int st;
    if (waitpid(c, &st, 0) != 2 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 5;
    sigsuspend(&old);
    if (got_pid != 2) return 6;
    /* an orphan goes to init */
    int p[2];
    if (pipe(p) != 0) return 7;
    pid_t a = fork();
    if (a == 0) {
        pid_t b = fork();
        if (b == 0) {
            close(p[0]);
            for (int i = 0; i < 500 && getppid() != 1; i++) usleep(2000);
            char v = getppid() == 1 ? 'y' : 'n';
            _exit(write(p[1], &v, 1) == 1 ? 0 : 1);
        }
        _exit(b == 4 ? 0 : 1);
    }
    close(p[1]);
    if (a != 3 || waitpid(a, &st, 0) != 3 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 8;
    char v = 0;
    if (read(p[0], &v, 1) != 1 || v != 'y') return 9;
    siginfo_t si = {0};
    if (waitid(P_PID, 4, &si, WEXITED) != 0 || si.si_pid != 4 || si.si_status != 0) return 10;
    return 0;
}

KT_CASE(clone_newpid_init) {
    pid_t c = clone_newpid();
    if (c == 0) _exit(init_body());
    KT_TRUE(c > 1, "clone gave %d", c);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* From the parent namespace: SIGTERM (no handler) is ignored by the
 * namespace's init, SIGKILL kills it; the parent's waits and SIGCHLD use
 * its own numbers. */
KT_CASE(init_killed_from_outside) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = clone_newpid();
    if (c == 0) {
        close(p[0]);
        if (write(p[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    KT_TRUE(c > 1, "clone gave %d", c);
    close(p[1]);
    char r;
    KT_SYS_RET(read(p[0], &r, 1), 1);
    KT_SYS_OK(kill(c, SIGTERM));
    kt_msleep(50);
    int st;
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_OK(kill(c, SIGKILL));
    siginfo_t si = {0};
    KT_SYS_OK(waitid(P_PID, c, &si, WEXITED));
    KT_EQ(si.si_pid, c);
    KT_EQ(si.si_code, CLD_KILLED);
    KT_EQ(si.si_status, SIGKILL);
    close(p[0]);
}

/* init's exit kills the namespace's other processes; a fork into the
 * namespace after that fails with ENOMEM. */
KT_CASE(init_exit_kills_namespace) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        close(p[0]);
        if (unshare(CLONE_NEWPID) != 0) _exit(1);
        pid_t i = fork();
        if (i == 0) {
            int q[2];
            if (pipe(q) != 0) _exit(1);
            pid_t g = fork();
            if (g == 0) {
                char v = getpid() == 2 ? '2' : 'x';
                if (write(p[1], &v, 1) != 1) _exit(1);
                if (write(q[1], &v, 1) != 1) _exit(1);
                for (;;) pause();
            }
            char v;
            /* init exits once the other process runs */
            _exit(g == 2 && read(q[0], &v, 1) == 1 ? 0 : 1);
        }
        close(p[1]);
        int st;
        if (waitpid(i, &st, 0) != i || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(2);
        /* the namespace is closed */
        pid_t again = fork();
        if (again == 0) _exit(0);
        if (again != -1 || errno != ENOMEM) _exit(3);
        _exit(0);
    }
    close(p[1]);
    char v = 0;
    KT_SYS_RET(read(p[0], &v, 1), 1);
    KT_EQ(v, '2');
    /* EOF once the grandchild (SIGKILLed with init) is gone */
    alarm(10);
    KT_SYS_RET(read(p[0], &v, 1), 0);
    alarm(0);
    close(p[0]);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* unshare(CLONE_NEWPID) only from the namespace the caller is in (a
 * second one is EINVAL until setns back to its own); setns into a
 * namespace not below the caller's is EINVAL. */
KT_CASE(unshare_twice_and_setns) {
    pid_t c = KT_FORK();
    if (c == 0) {
        int self_fd = open("/proc/self/ns/pid", O_RDONLY);
        if (self_fd < 0) _exit(1);
        if (unshare(CLONE_NEWPID) != 0) _exit(2);
        if (unshare(CLONE_NEWPID) != -1 || errno != EINVAL) _exit(3);
        if (open("/proc/self/ns/pid_for_children", O_RDONLY) != -1 || errno != ENOENT) _exit(4);
        int go[2];
        if (pipe(go) != 0) _exit(4);
        pid_t init = fork();
        if (init == 0) {
            char v;
            _exit(read(go[0], &v, 1) == 1 ? 0 : 1);
        }
        if (init <= 1) _exit(4);
        int child_fd = open("/proc/self/ns/pid_for_children", O_RDONLY);
        if (child_fd < 0) _exit(4);
        /* back to our own namespace: children are ours again */
        if (setns(self_fd, CLONE_NEWPID) != 0) _exit(5);
        int st;
        pid_t h = fork();
        if (h == 0) _exit(getpid() > 2 && getppid() > 1 ? 0 : 1);
        if (h <= 2 || waitpid(h, &st, 0) != h || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(5);
        if (setns(child_fd, CLONE_NEWUTS) != -1 || errno != EINVAL) _exit(6);
        if (setns(child_fd, CLONE_NEWPID) != 0) _exit(7);
        pid_t g = fork();
        if (g == 0) {
            /* inside, the second process; the parent namespace is not
             * below ours */
            _exit(getpid() == 2 && getppid() == 0 && setns(self_fd, CLONE_NEWPID) == -1 && errno == EINVAL
                      ? 0
                      : 1);
        }
        if (g <= 1 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(8);
        if (write(go[1], "g", 1) != 1 || waitpid(init, &st, 0) != init || st != 0) _exit(9);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* Three levels: NSpid from the outside lists one number per level; a
 * proc mounted inside (in a new mount namespace) shows the innermost. */
KT_CASE(nested_nspid_and_proc_mount) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = clone_newpid();
    if (c == 0) {
        close(p[0]);
        pid_t d = clone_newpid();
        if (d == 0) {
            if (getpid() != 1) _exit(1);
            if (unshare(CLONE_NEWNS) != 0) _exit(2);
            if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(3);
            if (mount("proc", "/proc", "proc", 0, NULL) != 0) _exit(4);
            char ns[64], link[32];
            if (status_line(0, "NSpid:", ns, sizeof ns) < 0 || strcmp(ns, "1") != 0) _exit(5);
            int n = readlink("/proc/self", link, sizeof link - 1);
            if (n != 1 || link[0] != '1') _exit(6);
            if (access("/proc/2", F_OK) == 0) _exit(7);
            if (write(p[1], "r", 1) != 1) _exit(8);
            for (;;) pause();
        }
        if (d != 2) _exit(20);
        int st;
        waitpid(d, &st, 0);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 30 + WTERMSIG(st));
    }
    close(p[1]);
    char r = 0;
    int got = read(p[0], &r, 1);
    KT_EQ(got, 1);
    if (got == 1) {
        /* find the innermost process: the child's only child */
        pid_t d = 0;
        char buf[64];
        DIR *dir = opendir("/proc");
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            pid_t x = atoi(e->d_name);
            if (x > 0 && status_line(x, "PPid:", buf, sizeof buf) > 0 && atoi(buf) == c) d = x;
        }
        if (dir) closedir(dir);
        KT_TRUE(d > 0, "no child of %d", c);
        char ns[64], want[64];
        snprintf(want, sizeof want, "%d\t2\t1", d);
        KT_TRUE(status_line(d, "NSpid:", ns, sizeof ns) > 0, "status of %d", d);
        KT_TRUE(strcmp(ns, want) == 0, "NSpid %s, want %s", ns, want);
        snprintf(want, sizeof want, "%d\t1", c);
        KT_TRUE(status_line(c, "NSpid:", ns, sizeof ns) > 0, "status of %d", c);
        KT_TRUE(strcmp(ns, want) == 0, "NSpid %s, want %s", ns, want);
    }
    KT_SYS_OK(kill(c, SIGKILL));
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    close(p[0]);
}


/* How many lines of /proc/locks end in `want` after their "N: ", or with
 * `any`, end in " want". */
static int locks_line(const char *want, int any) {
    static char text[16384];
    char pat[192];
    if (kt_read_text("/proc/locks", text, sizeof text) < 0) return -1;
    snprintf(pat, sizeof pat, "%s %s\n", any ? "" : ":", want);
    int n = 0;
    for (char *at = strstr(text, pat); at; at = strstr(at + 1, pat)) n++;
    return n;
}

static int locks_has(const char *want) {
    return locks_line(want, 0);
}

static int setlk(int fd, off_t start) {
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = 10;
    return fcntl(fd, F_SETLK, &fl);
}

/* /proc/locks gives the holders' numbers in the PID namespace of the proc
 * mount, and leaves out the locks of processes it does not see (Linux's
 * locks_show): a proc mounted in the child's namespace shows its POSIX
 * and flock locks as pid 1 and neither of the parent's. */
KT_CASE(proc_locks_by_namespace) {
    char path[64], id[64], want[160];
    snprintf(path, sizeof path, "/tmp/pidns_locks.%d", getpid());
    int fd = KT_SYS_OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600));
    int ff = KT_SYS_OK(open(path, O_RDONLY));
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    snprintf(id, sizeof id, "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    KT_SYS_RET(setlk(fd, 0), 0);
    KT_SYS_RET(flock(ff, LOCK_SH), 0);
    int p[2], q[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(pipe(q));
    pid_t c = clone_newpid();
    if (c == 0) {
        close(p[0]);
        close(q[1]);
        char line[160];
        int r = 0, own = open(path, O_RDONLY);
        if (own < 0 || setlk(fd, 20) != 0 || flock(own, LOCK_SH) != 0) r = 1;
        else if (unshare(CLONE_NEWNS) != 0) r = 2;
        else if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) r = 3;
        else if (mount("proc", "/proc", "proc", 0, NULL) != 0) r = 4;
        if (r == 0) {
            snprintf(line, sizeof line, "POSIX  ADVISORY  WRITE 1 %s 20 29", id);
            if (locks_has(line) != 1) r = 5;
            snprintf(line, sizeof line, "FLOCK  ADVISORY  READ 1 %s 0 EOF", id);
            if (r == 0 && locks_has(line) != 1) r = 6;
            /* the parent's locks are there (they conflict), their lines
             * are not: one flock line (ours), one lock at 0-9 (none) */
            struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
            if (r == 0 && (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type != F_WRLCK || fl.l_pid != 0)) r = 7;
            snprintf(line, sizeof line, "%s 0 9", id);
            if (r == 0 && locks_line(line, 1) != 0) r = 8;
            snprintf(line, sizeof line, "%s 0 EOF", id);
            if (r == 0 && locks_line(line, 1) != 1) r = 10;
        }
        char v = (char)r;
        if (write(p[1], &v, 1) != 1) _exit(9);
        (void)read(q[0], &v, 1); /* until the parent has looked */
        _exit(0);
    }
    close(p[1]);
    close(q[0]);
    char v = 1;
    KT_EQ(read(p[0], &v, 1), 1);
    KT_EQ(v, 0);
    /* from the parent's namespace: both with their own numbers */
    snprintf(want, sizeof want, "POSIX  ADVISORY  WRITE %d %s 0 9", (int)getpid(), id);
    KT_EQ(locks_has(want), 1);
    snprintf(want, sizeof want, "POSIX  ADVISORY  WRITE %d %s 20 29", (int)c, id);
    KT_EQ(locks_has(want), 1);
    snprintf(want, sizeof want, "FLOCK  ADVISORY  READ %d %s 0 EOF", (int)c, id);
    KT_EQ(locks_has(want), 1);
    close(q[1]);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(p[0]);
    close(ff);
    close(fd);
    unlink(path);
}

KT_MAIN()

/* Send one byte on `fd` with SCM_CREDENTIALS claiming `pid`. */
static int send_creds(int fd, pid_t pid) {
    char c = 'x';
    struct iovec iov = {&c, 1};
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(struct ucred))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred cr = {pid, getuid(), getgid()};
    memcpy(CMSG_DATA(h), &cr, sizeof cr);
    return (int)sendmsg(fd, &m, 0);
}

/* Receive one byte on `fd`: the SCM_CREDENTIALS pid, or -1000. */
static int recv_creds_pid(int fd) {
    char c;
    struct iovec iov = {&c, 1};
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(struct ucred))];
    } u;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    if (recvmsg(fd, &m, 0) != 1) return -1000;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (!h || h->cmsg_type != SCM_CREDENTIALS) return -1000;
    struct ucred cr;
    memcpy(&cr, CMSG_DATA(h), sizeof cr);
    return cr.pid;
}

static int peer_pid(int fd) {
    struct ucred cr;
    socklen_t l = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0) return -1000;
    return cr.pid;
}

static int getlk_pid(int fd, off_t start) {
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = 10;
    if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type != F_WRLCK) return -1000;
    return fl.l_pid;
}

static int owner_ex_pid(int fd) {
    struct f_owner_ex o = {0};
    if (fcntl(fd, F_GETOWN_EX, &o) != 0 || o.type != F_OWNER_PID) return -1000;
    return o.pid;
}

/* Pids handed across the boundary: SO_PEERCRED, SCM_CREDENTIALS (sent
 * and received), F_SETOWN/F_GETOWN(_EX) and F_GETLK's l_pid, each the
 * number of the caller's namespace, 0 for a process it does not see. */
KT_CASE(pids_of_sockets_owners_and_locks) {
    pid_t c = KT_FORK();
    if (c == 0) {
        int sv[2], one = 1, p[2], q[2];
        if (unshare(CLONE_NEWPID) != 0) _exit(1);
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(p) != 0 || pipe(q) != 0) _exit(2);
        if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) _exit(2);
        if (setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) _exit(2);
        char path[64];
        snprintf(path, sizeof path, "/tmp/pidns_lk.%d", getpid());
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(3);
        unlink(path);
        struct flock fl = {0};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = 0;
        fl.l_len = 10;
        if (fcntl(fd, F_SETLK, &fl) != 0) _exit(4);
        if (fcntl(sv[0], F_SETOWN, getpid()) != 0) _exit(5);
        if (send_creds(sv[0], getpid()) != 1) _exit(6);
        pid_t g = fork();
        if (g == 0) {
            close(p[0]);
            close(q[1]);
            int r = 0;
            if (peer_pid(sv[1]) != 0) r = 20;
            else if (fcntl(sv[0], F_GETOWN) != 0) r = 21;
            else if (owner_ex_pid(sv[0]) != 0) r = 22;
            else if (fcntl(sv[1], F_SETOWN, 1) != 0 || fcntl(sv[1], F_GETOWN) != 1) r = 23;
            else if (fcntl(sv[1], F_SETOWN, 2) != -1 || errno != ESRCH) r = 24;
            else if (getlk_pid(fd, 0) != 0) r = 25;
            else if (recv_creds_pid(sv[1]) != 0) r = 26;
            else if (send_creds(sv[1], 2) != -1 || errno != ESRCH) r = 27;
            else if (send_creds(sv[1], 1) != 1) r = 28;
            if (r == 0) {
                fl.l_start = 20;
                if (fcntl(fd, F_SETLK, &fl) != 0) r = 29;
            }
            char v = (char)r;
            if (write(p[1], &v, 1) != 1) _exit(1);
            (void)read(q[0], &v, 1); /* until the parent has looked */
            _exit(0);
        }
        close(p[1]);
        close(q[0]);
        char v = 1;
        if (g <= 1 || read(p[0], &v, 1) != 1) _exit(7);
        if (v != 0) _exit(v);
        int r = 0;
        if (fcntl(sv[1], F_GETOWN) != g) r = 30;
        else if (owner_ex_pid(sv[1]) != g) r = 31;
        else if (getlk_pid(fd, 20) != g) r = 32;
        else if (recv_creds_pid(sv[0]) != g) r = 33;
        else if (peer_pid(sv[0]) != getpid()) r = 34;
        close(q[1]);
        int st;
        if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(r ? r : 35);
        _exit(r);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* Inside a namespace (as its init): the scheduling calls, priorities,
 * rt_sigqueueinfo/rt_tgsigqueueinfo and pidfd_open take the namespace's
 * numbers (3 is none of its processes: ESRCH). */
static int by_number_body(void) {
    pid_t h = fork();
    if (h == 0) {
        pause();
        _exit(0);
    }
    if (h != 2) return 1;
    unsigned long mask = 0;
    struct sched_param sp = {0};
    struct timespec ts;
    char attr[56] = {0};
    if (syscall(SYS_sched_getscheduler, 2) != 0) return 2;
    if (syscall(SYS_sched_getscheduler, 3) != -1 || errno != ESRCH) return 3;
    if (syscall(SYS_sched_getparam, 2, &sp) != 0 || syscall(SYS_sched_setparam, 2, &sp) != 0) return 4;
    if (syscall(SYS_sched_getparam, 3, &sp) != -1 || errno != ESRCH) return 5;
    if (syscall(SYS_sched_setscheduler, 2, SCHED_OTHER, &sp) != 0) return 6;
    if (syscall(SYS_sched_rr_get_interval, 2, &ts) != 0) return 7;
    if (syscall(SYS_sched_rr_get_interval, 3, &ts) != -1 || errno != ESRCH) return 8;
    if (syscall(SYS_sched_getattr, 2, attr, sizeof attr, 0) != 0) return 9;
    if (syscall(SYS_sched_getattr, 3, attr, sizeof attr, 0) != -1 || errno != ESRCH) return 10;
    if (syscall(SYS_sched_getaffinity, 2, sizeof mask, &mask) != 8 || mask == 0) return 11;
    if (syscall(SYS_sched_getaffinity, 3, sizeof mask, &mask) != -1 || errno != ESRCH) return 12;
    if (syscall(SYS_sched_setaffinity, 2, sizeof mask, &mask) != 0) return 13;
    if (syscall(SYS_sched_setaffinity, 3, sizeof mask, &mask) != -1 || errno != ESRCH) return 14;
    if (syscall(SYS_setpriority, PRIO_PROCESS, 2, 7) != 0) return 15;
    if (syscall(SYS_getpriority, PRIO_PROCESS, 2) != 20 - 7) return 16;
    if (syscall(SYS_getpriority, PRIO_PROCESS, 3) != -1 || errno != ESRCH) return 17;
    if (syscall(SYS_setpriority, PRIO_PROCESS, 3, 7) != -1 || errno != ESRCH) return 18;
    int fd = (int)syscall(SYS_pidfd_open, 2, 0);
    if (fd < 0) return 19;
    if (syscall(SYS_pidfd_open, 3, 0) != -1 || errno != ESRCH) return 20;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGTERM;
    si.si_code = SI_QUEUE;
    if (syscall(SYS_rt_sigqueueinfo, 3, SIGTERM, &si) != -1 || errno != ESRCH) return 21;
    if (syscall(SYS_rt_tgsigqueueinfo, 2, 3, SIGTERM, &si) != -1 || errno != ESRCH) return 22;
    if (syscall(SYS_rt_tgsigqueueinfo, 2, 2, SIGTERM, &si) != 0) return 23;
    memset(&si, 0, sizeof si);
    if (syscall(SYS_waitid, P_PIDFD, fd, &si, WEXITED, 0) != 0) return 24;
    if (si.si_pid != 2 || si.si_code != CLD_KILLED || si.si_status != SIGTERM) return 25;
    return 0;
}

KT_CASE(scheduling_signals_and_pidfd_by_number) {
    pid_t c = clone_newpid();
    if (c == 0) _exit(by_number_body());
    KT_TRUE(c > 1, "clone gave %d", c);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* A terminal's process group and session as the namespace numbers them:
 * its init makes a session, a pty its controlling terminal, a child's
 * group the foreground (3 is no group: ESRCH). */
static int tty_body(void) {
    if (setsid() != 1) return 1;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return 2;
    char *name = ptsname(m);
    if (!name) return 3;
    int s = open(name, O_RDWR);
    if (s < 0) return 4;
    pid_t v = 0;
    if (ioctl(s, TIOCGSID, &v) != 0 || v != 1) return 5;
    if (ioctl(s, TIOCGPGRP, &v) != 0 || v != 1) return 6;
    if (ioctl(m, TIOCGPGRP, &v) != 0 || v != 1) return 7;
    int p[2];
    if (pipe(p) != 0) return 8;
    pid_t h = fork();
    if (h == 0) {
        close(p[1]);
        setpgid(0, 0);
        char x;
        (void)read(p[0], &x, 1);
        _exit(0);
    }
    close(p[0]);
    if (h != 2 || setpgid(h, h) != 0) return 9;
    v = 2;
    if (ioctl(s, TIOCSPGRP, &v) != 0) return 10;
    v = 0;
    if (ioctl(s, TIOCGPGRP, &v) != 0 || v != 2) return 11;
    /* (init, now in the background, ignores SIGTTOU: no restart) */
    signal(SIGTTOU, SIG_IGN);
    v = 3;
    if (ioctl(s, TIOCSPGRP, &v) != -1 || errno != ESRCH) return 12;
    v = 1;
    if (ioctl(s, TIOCSPGRP, &v) != 0) return 13;
    close(p[1]);
    int st;
    if (waitpid(h, &st, 0) != 2) return 14;
    return 0;
}

KT_CASE(tty_pgrp_and_session_by_number) {
    pid_t c = clone_newpid();
    if (c == 0) _exit(tty_body());
    KT_TRUE(c > 1, "clone gave %d", c);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* The parent-death signal's si_pid is the dead parent's number in the
 * child's namespace. */
static int pdeath_body(void) {
    int p[2], r[2];
    if (pipe(p) != 0 || pipe(r) != 0) return 1;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGUSR1, &sa, NULL) != 0) return 2;
    sigset_t m, old;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, &old);
    pid_t h = fork();
    if (h == 0) {
        pid_t k = fork();
        if (k == 0) {
            got_pid = -1;
            if (prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0) _exit(1);
            char x = 'k';
            if (write(p[1], &x, 1) != 1) _exit(1);
            sigsuspend(&old);
            int v = got_pid;
            if (write(r[1], &v, sizeof v) != sizeof v) _exit(1);
            _exit(0);
        }
        char x;
        if (k != 3 || read(p[0], &x, 1) != 1) _exit(1);
        _exit(0);
    }
    if (h != 2) return 3;
    int st;
    if (waitpid(h, &st, 0) != 2 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 4;
    int v = 0;
    if (read(r[0], &v, sizeof v) != sizeof v) return 5;
    if (v != 2) return 6;
    if (waitpid(3, &st, 0) != 3 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 7;
    return 0;
}

KT_CASE(pdeath_signal_si_pid) {
    pid_t c = clone_newpid();
    if (c == 0) _exit(pdeath_body());
    KT_TRUE(c > 1, "clone gave %d", c);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* ptrace from a namespace's init: its pid arguments and
 * PTRACE_GETEVENTMSG's new pid are the namespace's numbers. */
static int ptrace_body(void) {
    pid_t h = fork();
    if (h == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(1);
        raise(SIGSTOP);
        pid_t k = fork();
        if (k == 0) {
            pause();
            _exit(0);
        }
        pause();
        _exit(0);
    }
    int st;
    if (h != 2 || waitpid(2, &st, 0) != 2 || !WIFSTOPPED(st)) return 1;
    if (ptrace(PTRACE_SETOPTIONS, 2, 0, PTRACE_O_TRACEFORK) != 0) return 2;
    if (ptrace(PTRACE_SETOPTIONS, 3, 0, PTRACE_O_TRACEFORK) != -1 || errno != ESRCH) return 3;
    if (ptrace(PTRACE_CONT, 2, 0, 0) != 0) return 4;
    if (waitpid(2, &st, 0) != 2 || !WIFSTOPPED(st) || (st >> 8) != (SIGTRAP | (PTRACE_EVENT_FORK << 8))) return 5;
    unsigned long msg = 0;
    if (ptrace(PTRACE_GETEVENTMSG, 2, 0, &msg) != 0 || msg != 3) return 6;
    if (waitpid(3, &st, __WALL) != 3 || !WIFSTOPPED(st)) return 7;
    kill(3, SIGKILL);
    kill(2, SIGKILL);
    if (waitpid(3, &st, __WALL) != 3) return 8;
    if (waitpid(2, &st, __WALL) != 2) return 9;
    return 0;
}

KT_CASE(ptrace_by_number_and_fork_event) {
    pid_t c = clone_newpid();
    if (c == 0) _exit(ptrace_body());
    KT_TRUE(c > 1, "clone gave %d", c);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* /proc/PID/fdinfo of a pidfd on a namespace's init, read from the
 * parent namespace: Pid is ours, NSpid both numbers. */
KT_CASE(pidfd_fdinfo_nspid) {
    pid_t c = clone_newpid();
    if (c == 0) {
        pause();
        _exit(0);
    }
    KT_TRUE(c > 1, "clone gave %d", c);
    int fd = (int)syscall(SYS_pidfd_open, c, 0);
    KT_TRUE(fd >= 0, "pidfd_open: %d", fd);
    char path[64], buf[512], want[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    KT_TRUE(kt_read_text(path, buf, sizeof buf) > 0, "read %s", path);
    snprintf(want, sizeof want, "Pid:\t%d\nNSpid:\t%d\t1\n", c, c);
    KT_TRUE(strstr(buf, want) != NULL, "fdinfo: %s", buf);
    close(fd);
    kill(c, SIGKILL);
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
}
