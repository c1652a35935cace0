/* prctl options (PDEATHSIG acted on, DUMPABLE, NO_NEW_PRIVS, CAPBSET_*,
 * TIMERSLACK, CHILD_SUBREAPER, unknown options), unshare(2) without
 * namespaces, and the /proc facts of a child started by vfork/posix_spawn
 * (they must be the child's, not its parent's). */
#include "kt.h"
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/prctl.h>

#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#define PR_GET_NO_NEW_PRIVS 39
#endif
#ifndef PR_CAPBSET_READ
#define PR_CAPBSET_READ 23
#define PR_CAPBSET_DROP 24
#endif

extern char **environ;

/* Helper modes when run as `prog prctl-get N`: exit with prctl(N). */
__attribute__((constructor)) static void helper_mode(void) {
    char buf[256];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *a1 = buf + strlen(buf) + 1;
    if (a1 >= buf + n || strcmp(a1, "prctl-get") != 0) return;
    char *a2 = a1 + strlen(a1) + 1;
    if (a2 >= buf + n) _exit(200);
    int opt = atoi(a2);
    if (opt == 1000) { /* the effective capability set is full */
        struct { uint32_t v; int pid; } h = {0x20080522, 0};
        uint32_t d[6] = {0};
        if (syscall(SYS_capget, &h, d) != 0) _exit(2);
        _exit(d[0] == 0xffffffffu && d[3] == 0x1ff && d[1] == 0xffffffffu && d[4] == 0x1ff ? 0 : 1);
    }
    if (opt == 1001) { /* effective and permitted are CAP_SYS_TIME alone, inheritable kept */
        struct { uint32_t v; int pid; } h = {0x20080522, 0};
        uint32_t d[6] = {0};
        if (syscall(SYS_capget, &h, d) != 0) _exit(2);
        if (d[0] != 1u << 25 || d[1] != 1u << 25 || d[2] != 1u << 25) _exit(3);
        if (d[3] || d[4] || d[5]) _exit(4);
        _exit((int)prctl(47, 1, 25, 0, 0) == 1 ? 0 : 5); /* still ambient */
    }
    if (opt == PR_GET_PDEATHSIG) {
        int s = -1;
        prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0);
        _exit(s);
    }
    _exit((int)prctl(opt, 0, 0, 0, 0));
}

/* Runs this program as `prog prctl-get opt` (exec in this process): the
 * exit status is the value. */
static void exec_get(int opt) {
    char n[16];
    snprintf(n, sizeof n, "%d", opt);
    char *argv[] = {(char *)kt_self, "prctl-get", n, 0};
    execve(kt_self, argv, environ);
    _exit(201);
}

/* Waits up to `ms` for fd to be readable. */
static int readable(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1;
}

KT_CASE(pdeathsig_get_set_and_bad_signal) {
    int s = -1;
    KT_SYS_RET(prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0), 0);
    KT_EQ(s, 0);
    KT_SYS_RET(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
    KT_SYS_RET(prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0), 0);
    KT_EQ(s, SIGUSR1);
    KT_SYS_ERR(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_GET_PDEATHSIG, (void *)8, 0, 0, 0), EFAULT);
    pid_t c = KT_FORK();
    if (c == 0) {
        int x = -1;
        prctl(PR_GET_PDEATHSIG, &x, 0, 0, 0);
        _exit(x == 0 ? 0 : 1); /* fork clears it */
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_RET(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), 0);
    KT_SYS_RET(prctl(PR_GET_PDEATHSIG, &s, 0, 0, 0), 0);
    KT_EQ(s, 0);
}

KT_CASE(pdeathsig_kept_across_exec) {
    pid_t c = KT_FORK();
    if (c == 0) {
        prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0);
        exec_get(PR_GET_PDEATHSIG);
    }
    KT_WAIT_STATUS(c, kt_exited(SIGUSR2));
}

static volatile sig_atomic_t pdeath_got;
static void on_pdeath(int s) { pdeath_got = s; }

/* The grandchild: asks for SIGUSR1 at its parent's death, says it is
 * ready on `w`, waits for the signal and reports "<signal> <ppid>". */
static void pdeath_grandchild(int w) {
    signal(SIGUSR1, on_pdeath);
    prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
    char r = 'r';
    write(w, &r, 1);
    for (int i = 0; i < 400 && !pdeath_got; i++) kt_msleep(5);
    char msg[32];
    int n = snprintf(msg, sizeof msg, "%d %d\n", (int)pdeath_got, (int)getppid());
    write(w, msg, n);
    _exit(0);
}

KT_CASE(pdeathsig_sent_when_the_parent_exits) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        if (fork() == 0) pdeath_grandchild(p[1]);
        char r;
        read(p[0], &r, 1); /* the grandchild is ready */
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    close(p[1]);
    KT_TRUE(readable(p[0], 3000), "no report from the grandchild");
    char buf[32] = {0};
    KT_TRUE(read(p[0], buf, sizeof buf - 1) > 0, "read");
    close(p[0]);
    int sig = 0, ppid = 0;
    KT_EQ(sscanf(buf, "%d %d", &sig, &ppid), 2);
    KT_EQ(sig, SIGUSR1);
    KT_NE(ppid, c);
}

static int thread_pipe_w;
static volatile pid_t thread_child;
static void *forking_thread(void *arg) {
    (void)arg;
    int p[2];
    pipe(p);
    pid_t g = fork();
    if (g == 0) {
        close(p[0]);
        signal(SIGUSR1, on_pdeath);
        prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
        close(p[1]); /* ready */
        for (int i = 0; i < 400 && !pdeath_got; i++) kt_msleep(5);
        char msg[32];
        int n = snprintf(msg, sizeof msg, "%d %d\n", (int)pdeath_got, (int)getppid());
        write(thread_pipe_w, msg, n);
        _exit(0);
    }
    close(p[1]);
    char r;
    read(p[0], &r, 1); /* EOF: the child set its pdeath signal */
    close(p[0]);
    thread_child = g;
    return 0; /* the creating thread exits: the child gets SIGUSR1 */
}

KT_CASE(pdeathsig_follows_the_creating_thread_not_the_process) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        thread_pipe_w = p[1];
        pthread_t th;
        pthread_create(&th, 0, forking_thread, 0);
        pthread_join(th, 0);
        /* this process lives on while the grandchild reports */
        kt_msleep(1000);
        int st;
        waitpid(-1, &st, 0);
        _exit(0);
    }
    close(p[1]);
    KT_TRUE(readable(p[0], 3000), "no report from the grandchild");
    char buf[32] = {0};
    KT_TRUE(read(p[0], buf, sizeof buf - 1) > 0, "read");
    close(p[0]);
    int sig = 0, ppid = 0;
    KT_EQ(sscanf(buf, "%d %d", &sig, &ppid), 2);
    KT_EQ(sig, SIGUSR1);
    KT_EQ(ppid, c); /* still the same process: another of its threads */
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(dumpable_get_set_fork_and_exec) {
    KT_SYS_RET(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    KT_SYS_ERR(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_SET_DUMPABLE, 3, 0, 0, 0), EINVAL);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(10);
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(11);
        pid_t g = fork();
        if (g == 0) _exit((int)prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) + 20); /* inherited: 20 */
        int st;
        waitpid(g, &st, 0);
        if (st != kt_exited(20)) _exit(12);
        exec_get(PR_GET_DUMPABLE); /* exec makes it 1 again */
    }
    KT_WAIT_STATUS(c, kt_exited(1));
    KT_SYS_RET(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
}

KT_CASE(no_new_privs_is_sticky_inherited_and_kept_by_exec) {
    KT_SYS_RET(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    KT_SYS_ERR(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) _exit(11);
        /* clearing it is refused */
        if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) != -1 || errno != EINVAL) _exit(12);
        pid_t g = fork();
        if (g == 0) _exit((int)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) + 20);
        int st;
        waitpid(g, &st, 0);
        if (st != kt_exited(21)) _exit(13);
        exec_get(PR_GET_NO_NEW_PRIVS);
    }
    KT_WAIT_STATUS(c, kt_exited(1));
    KT_SYS_RET(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
}

KT_CASE(capbset_read_full_set_and_bounds) {
    KT_SYS_RET(prctl(PR_CAPBSET_READ, 0, 0, 0, 0), 1);       /* CAP_CHOWN */
    KT_SYS_RET(prctl(PR_CAPBSET_READ, 21, 0, 0, 0), 1);      /* CAP_SYS_ADMIN */
    KT_SYS_RET(prctl(PR_CAPBSET_READ, 40, 0, 0, 0), 1);      /* CAP_CHECKPOINT_RESTORE */
    KT_SYS_ERR(prctl(PR_CAPBSET_READ, 41, 0, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_CAPBSET_READ, -1L, 0, 0, 0), EINVAL);
}

KT_CASE(capbset_drop_as_root_and_as_a_user) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (prctl(PR_CAPBSET_DROP, 41, 0, 0, 0) != -1 || errno != EINVAL) _exit(10);
        if (prctl(PR_CAPBSET_DROP, 7, 0, 0, 0) != 0) _exit(11); /* CAP_SETUID */
        if (prctl(PR_CAPBSET_READ, 7, 0, 0, 0) != 0) _exit(12);
        if (prctl(PR_CAPBSET_READ, 6, 0, 0, 0) != 1) _exit(13);
        pid_t g = fork();
        if (g == 0) _exit((int)prctl(PR_CAPBSET_READ, 7, 0, 0, 0)); /* inherited: 0 */
        int st;
        waitpid(g, &st, 0);
        if (st != kt_exited(0)) _exit(14);
        if (setuid(65534) != 0) _exit(15);
        if (prctl(PR_CAPBSET_DROP, 6, 0, 0, 0) != -1 || errno != EPERM) _exit(16);
        if (prctl(PR_CAPBSET_READ, 6, 0, 0, 0) != 1) _exit(17); /* a user reads the set too */
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(timerslack_default_set_reset_and_fork) {
    KT_SYS_RET(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 50000);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0) != 0) _exit(10);
        if (prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) != 1000) _exit(11);
        pid_t g = fork();
        if (g == 0) {
            /* inherited, and 0 goes back to the slack at fork time */
            if (prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) != 1000) _exit(1);
            prctl(PR_SET_TIMERSLACK, 7, 0, 0, 0);
            prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
            _exit(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 1000 ? 0 : 2);
        }
        int st;
        waitpid(g, &st, 0);
        if (st != 0) _exit(12);
        if (prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0) != 0) _exit(13);
        _exit(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 50000 ? 0 : 14);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(child_subreaper_get_set_and_orphans_come_to_it) {
    int on = -1;
    KT_SYS_RET(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
    KT_EQ(on, 0);
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t s = KT_FORK();
    if (s == 0) {
        close(p[0]);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) _exit(10);
        int v = 0;
        prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
        if (v != 1) _exit(11);
        pid_t m = fork();
        if (m == 0) {
            if (fork() == 0) {
                kt_msleep(100); /* its parent m is gone by now */
                _exit(getppid() == getppid() ? 42 : 0);
            }
            _exit(0);
        }
        int st;
        waitpid(m, &st, 0);
        /* the orphan is ours now: wait for it */
        pid_t o = wait(&st);
        _exit(o > 0 && st == kt_exited(42) ? 0 : 12);
    }
    close(p[1]);
    close(p[0]);
    KT_WAIT_STATUS(s, kt_exited(0));
}

KT_CASE(unknown_prctl_option_is_einval) {
    KT_SYS_ERR(prctl(1000, 0, 0, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(0, 0, 0, 0, 0), EINVAL);
}

KT_CASE(unshare_nothing_and_unknown_flags) {
    KT_SYS_RET(unshare(0), 0);
    KT_SYS_ERR(unshare(0x11), EINVAL);          /* CSIGNAL bits */
    KT_SYS_ERR(unshare(CLONE_PTRACE), EINVAL);
    KT_SYS_ERR(unshare(CLONE_VFORK), EINVAL);
    KT_SYS_RET(unshare(CLONE_FILES | CLONE_FS | CLONE_SYSVSEM), 0);
}

static volatile int th_fd = -1;
static volatile int th_err;
static void *unshare_files_thread(void *arg) {
    int inherited = *(int *)arg;
    if (unshare(CLONE_FILES) != 0) {
        th_err = errno;
        return 0;
    }
    close(inherited); /* only the thread's copy */
    th_fd = open("/", O_RDONLY);
    return 0;
}

KT_CASE(unshare_files_gives_a_thread_its_own_fd_table) {
    int fd = KT_SYS_OK(open("/", O_RDONLY));
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, unshare_files_thread, &fd), 0);
    KT_EQ(pthread_join(th, 0), 0);
    KT_EQ(th_err, 0);
    KT_SYS_RET(fcntl(fd, F_GETFD), 0); /* still open here */
    KT_TRUE(th_fd >= 0, "the thread's open failed");
    if (th_fd != fd) KT_SYS_ERR(fcntl(th_fd, F_GETFD), EBADF);
    close(fd);
}

static void *unshare_fs_thread(void *arg) {
    (void)arg;
    if (unshare(CLONE_FS) != 0 || chdir("/proc") != 0) th_err = errno ? errno : -1;
    umask(077);
    return 0;
}

KT_CASE(unshare_fs_gives_a_thread_its_own_cwd_and_umask) {
    char before[256], after[256];
    KT_TRUE(getcwd(before, sizeof before) != 0, "getcwd");
    mode_t old = umask(022);
    th_err = 0;
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, unshare_fs_thread, 0), 0);
    KT_EQ(pthread_join(th, 0), 0);
    KT_EQ(th_err, 0);
    KT_TRUE(getcwd(after, sizeof after) != 0, "getcwd");
    KT_TRUE(strcmp(before, after) == 0, "cwd moved to %s", after);
    KT_EQ(umask(old), 022);
}

static volatile int other_thread_stop;
static void *idle_thread(void *arg) {
    (void)arg;
    while (!other_thread_stop) kt_msleep(1);
    return 0;
}

KT_CASE(unshare_thread_sighand_with_threads_is_einval) {
    pthread_t th;
    other_thread_stop = 0;
    KT_EQ(pthread_create(&th, 0, idle_thread, 0), 0);
    KT_SYS_ERR(unshare(CLONE_THREAD), EINVAL);
    KT_SYS_ERR(unshare(CLONE_SIGHAND), EINVAL);
    other_thread_stop = 1;
    KT_EQ(pthread_join(th, 0), 0);
    pid_t c = KT_FORK();
    if (c == 0) _exit(unshare(CLONE_THREAD) == 0 && unshare(CLONE_SIGHAND) == 0 ? 0 : 1);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(unshare_namespaces_need_privilege) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setuid(65534) != 0) _exit(10);
        int flags[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID};
        for (int i = 0; i < 5; i++)
            if (unshare(flags[i]) != -1 || errno != EPERM) _exit(20 + i);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* The child started from /tests/exec_basic (kt-sleep) must show its own
 * comm, cmdline and exe, and ours must stay ours. */
static void check_spawned(pid_t child) {
    char path[64], buf[256];
    int n = 0;
    /* the exec may still be on its way: wait for the new comm */
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof path, "/proc/%d/comm", (int)child);
        n = kt_read_text(path, buf, sizeof buf);
        if (n > 0 && strcmp(buf, "exec_basic\n") == 0) {
            /* Linux renames the task before the new program's arguments
             * are on its stack: until then its cmdline reads empty */
            char args[64];
            snprintf(path, sizeof path, "/proc/%d/cmdline", (int)child);
            if (kt_read_text(path, args, sizeof args) > 0) break;
        }
        kt_msleep(5);
    }
    KT_TRUE(strcmp(buf, "exec_basic\n") == 0, "the child's comm is %s", buf);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)child);
    n = kt_read_text(path, buf, sizeof buf);
    KT_EQ(n, (int)sizeof "/tests/exec_basic\0kt-sleep");
    KT_TRUE(memcmp(buf, "/tests/exec_basic\0kt-sleep\0", n) == 0, "the child's cmdline is %s", buf);
    snprintf(path, sizeof path, "/proc/%d/exe", (int)child);
    n = readlink(path, buf, sizeof buf - 1);
    KT_TRUE(n > 0, "readlink exe");
    buf[n] = 0;
    KT_TRUE(strcmp(buf, "/tests/exec_basic") == 0, "the child's exe is %s", buf);
    n = kt_read_text("/proc/self/comm", buf, sizeof buf);
    KT_TRUE(strcmp(buf, "prctl_misc\n") == 0, "our comm became %s", buf);
    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    KT_TRUE(n > 0, "readlink self exe");
    buf[n] = 0;
    KT_TRUE(strcmp(buf, "/tests/prctl_misc") == 0, "our exe became %s", buf);
}

KT_CASE(posix_spawn_child_has_its_own_proc_facts) {
    pid_t child;
    char *argv[] = {"/tests/exec_basic", "kt-sleep", 0};
    KT_EQ(posix_spawn(&child, "/tests/exec_basic", 0, 0, argv, environ), 0);
    check_spawned(child);
    kill(child, SIGKILL);
    KT_WAIT_STATUS(child, kt_killed(SIGKILL));
}

KT_CASE(vfork_exec_child_has_its_own_proc_facts) {
    char *argv[] = {"/tests/exec_basic", "kt-sleep", 0};
    pid_t child = vfork();
    if (child == 0) {
        execve("/tests/exec_basic", argv, environ);
        _exit(127);
    }
    KT_TRUE(child > 0, "vfork");
    check_spawned(child);
    kill(child, SIGKILL);
    KT_WAIT_STATUS(child, kt_killed(SIGKILL));
}

/* ---- clock_settime / settimeofday --------------------------------------- */

KT_CASE(clock_settime_realtime_as_root_moves_realtime_only) {
    struct timespec r0, m0, r1, m1, back;
    KT_SYS_RET(clock_gettime(CLOCK_REALTIME, &r0), 0);
    KT_SYS_RET(clock_gettime(CLOCK_MONOTONIC, &m0), 0);
    struct timespec set = {r0.tv_sec + 100000, r0.tv_nsec};
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &set), 0);
    KT_SYS_RET(clock_gettime(CLOCK_REALTIME, &r1), 0);
    KT_SYS_RET(clock_gettime(CLOCK_MONOTONIC, &m1), 0);
    /* put it back (less the time this took) before checking */
    back.tv_sec = r1.tv_sec - 100000;
    back.tv_nsec = r1.tv_nsec;
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &back), 0);
    KT_TRUE(r1.tv_sec >= r0.tv_sec + 100000 && r1.tv_sec <= r0.tv_sec + 100002, "realtime %ld from %ld",
            (long)r1.tv_sec, (long)r0.tv_sec);
    KT_TRUE(m1.tv_sec - m0.tv_sec <= 2, "monotonic jumped by %ld s", (long)(m1.tv_sec - m0.tv_sec));
}

KT_CASE(clock_settime_other_clocks_and_bad_times) {
    struct timespec ts;
    KT_SYS_RET(clock_gettime(CLOCK_REALTIME, &ts), 0);
    KT_SYS_ERR(clock_settime(CLOCK_MONOTONIC, &ts), EINVAL);
    KT_SYS_ERR(clock_settime(CLOCK_BOOTTIME, &ts), EINVAL);
    KT_SYS_ERR(clock_settime(CLOCK_MONOTONIC_RAW, &ts), EINVAL);
    KT_SYS_ERR(clock_settime(CLOCK_TAI, &ts), EINVAL);
    KT_SYS_ERR(clock_settime(100, &ts), EINVAL);
    KT_SYS_ERR(clock_settime(CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    KT_SYS_ERR(clock_settime(CLOCK_THREAD_CPUTIME_ID, &ts), EINVAL);
    clockid_t cpu;
    KT_EQ(clock_getcpuclockid(getpid(), &cpu), 0);
    KT_SYS_ERR(clock_settime(cpu, &ts), EPERM);
    KT_SYS_ERR(clock_settime((~getpid()) * 8 + 3, &ts), EINVAL);
    KT_SYS_ERR(syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8), EFAULT);
    struct timespec bad = {ts.tv_sec, 1000000000};
    KT_SYS_ERR(clock_settime(CLOCK_REALTIME, &bad), EINVAL);
    bad.tv_sec = -1;
    bad.tv_nsec = 0;
    KT_SYS_ERR(clock_settime(CLOCK_REALTIME, &bad), EINVAL);
}

KT_CASE(clock_settime_and_settimeofday_need_cap_sys_time) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setuid(65534) != 0) _exit(10);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (clock_settime(CLOCK_REALTIME, &ts) != -1 || errno != EPERM) _exit(11);
        /* an invalid time is EINVAL before the privilege check */
        struct timespec bad = {ts.tv_sec, 2000000000};
        if (clock_settime(CLOCK_REALTIME, &bad) != -1 || errno != EINVAL) _exit(12);
        struct timeval tv = {ts.tv_sec, 0};
        if (syscall(SYS_settimeofday, &tv, 0) != -1 || errno != EPERM) _exit(13);
        if (syscall(SYS_settimeofday, 0, 0) != -1 || errno != EPERM) _exit(14);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(settimeofday_as_root) {
    struct timeval tv, now;
    KT_SYS_RET(gettimeofday(&tv, 0), 0);
    KT_SYS_RET(syscall(SYS_settimeofday, 0, 0), 0);
    struct timeval bad = {tv.tv_sec, 1000000};
    KT_SYS_ERR(syscall(SYS_settimeofday, &bad, 0), EINVAL);
    int tz[2] = {16 * 60, 0};
    KT_SYS_ERR(syscall(SYS_settimeofday, 0, tz), EINVAL);
    KT_SYS_ERR(syscall(SYS_settimeofday, (void *)8, 0), EFAULT);
    tv.tv_sec += 50000;
    KT_SYS_RET(syscall(SYS_settimeofday, &tv, 0), 0);
    KT_SYS_RET(gettimeofday(&now, 0), 0);
    now.tv_sec -= 50000;
    KT_SYS_RET(syscall(SYS_settimeofday, &now, 0), 0);
    KT_TRUE(now.tv_sec >= tv.tv_sec - 50000 && now.tv_sec <= tv.tv_sec - 50000 + 2, "set and read back");
}

/* ---- membarrier ----------------------------------------------------------- */

#ifndef SYS_membarrier
#define SYS_membarrier 324
#endif

KT_CASE(membarrier_query_and_global) {
    KT_SYS_RET(syscall(SYS_membarrier, 0, 0, 0), 0x1ff);
    KT_SYS_ERR(syscall(SYS_membarrier, 0, 1, 0), EINVAL);
    KT_SYS_RET(syscall(SYS_membarrier, 1, 0, 0), 0);   /* GLOBAL */
    KT_SYS_RET(syscall(SYS_membarrier, 2, 0, 0), 0);   /* GLOBAL_EXPEDITED */
    KT_SYS_RET(syscall(SYS_membarrier, 4, 0, 0), 0);   /* REGISTER_GLOBAL_EXPEDITED */
    KT_SYS_ERR(syscall(SYS_membarrier, 3, 0, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_membarrier, 512 << 1, 0, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_membarrier, 1, 2, 0), EINVAL);
}

KT_CASE(membarrier_private_expedited_needs_registration) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (syscall(SYS_membarrier, 8, 0, 0) != -1 || errno != EPERM) _exit(10);
        if (syscall(SYS_membarrier, 32, 0, 0) != -1 || errno != EPERM) _exit(11);
        if (syscall(SYS_membarrier, 128, 0, 0) != -1 || errno != EPERM) _exit(12);
        if (syscall(SYS_membarrier, 16, 0, 0) != 0) _exit(13);
        if (syscall(SYS_membarrier, 8, 0, 0) != 0) _exit(14);
        /* another command's registration is separate */
        if (syscall(SYS_membarrier, 32, 0, 0) != -1 || errno != EPERM) _exit(15);
        if (syscall(SYS_membarrier, 64, 0, 0) != 0) _exit(16);
        if (syscall(SYS_membarrier, 32, 0, 0) != 0) _exit(17);
        if (syscall(SYS_membarrier, 256, 0, 0) != 0) _exit(18);
        if (syscall(SYS_membarrier, 128, 1, 0) != 0) _exit(19); /* FLAG_CPU */
        if (syscall(SYS_membarrier, 128, 2, 0) != -1 || errno != EINVAL) _exit(20);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* ---- capget / capset -------------------------------------------------------- */

struct cap_hdr {
    uint32_t version;
    int pid;
};
#define CAP_V1 0x19980330
#define CAP_V3 0x20080522

/* d[0..2]: effective, permitted, inheritable (low halves); d[3..5]: high. */
static long capget3(int pid, uint32_t d[6]) {
    struct cap_hdr h = {CAP_V3, pid};
    return syscall(SYS_capget, &h, d);
}
static long capset3(uint64_t e, uint64_t p, uint64_t i) {
    struct cap_hdr h = {CAP_V3, 0};
    uint32_t d[6] = {(uint32_t)e, (uint32_t)p, (uint32_t)i, (uint32_t)(e >> 32), (uint32_t)(p >> 32),
                     (uint32_t)(i >> 32)};
    return syscall(SYS_capset, &h, d);
}
#define FULL_CAPS 0x1ffffffffffULL

KT_CASE(capget_version_handshake) {
    struct cap_hdr h = {0, 0};
    KT_SYS_RET(syscall(SYS_capget, &h, 0), 0);
    KT_EQ(h.version, CAP_V3);
    uint32_t d[6];
    h.version = 12345;
    KT_SYS_ERR(syscall(SYS_capget, &h, d), EINVAL);
    KT_EQ(h.version, CAP_V3);
    h.version = 12345;
    KT_SYS_ERR(syscall(SYS_capset, &h, d), EINVAL);
    KT_EQ(h.version, CAP_V3);
    KT_SYS_ERR(syscall(SYS_capget, (void *)8, d), EFAULT);
    h.pid = -1;
    KT_SYS_ERR(syscall(SYS_capget, &h, d), EINVAL);
    h.pid = 0x3fffffff;
    KT_SYS_ERR(syscall(SYS_capget, &h, d), ESRCH);
}

KT_CASE(capget_roots_full_sets_and_a_users_empty_sets) {
    uint32_t d[6] = {0};
    KT_SYS_RET(capget3(0, d), 0);
    KT_EQ(d[0], 0xffffffffu);
    KT_EQ(d[3], 0x1ff);
    KT_EQ(d[1], 0xffffffffu);
    KT_EQ(d[4], 0x1ff);
    KT_EQ(d[2], 0);
    KT_EQ(d[5], 0);
    memset(d, 0, sizeof d);
    KT_SYS_RET(capget3(1, d), 0); /* init's */
    KT_EQ(d[0], 0xffffffffu);
    struct cap_hdr h = {CAP_V1, 0};
    uint32_t v1[6] = {7, 7, 7, 7, 7, 7};
    KT_SYS_RET(syscall(SYS_capget, &h, v1), 0);
    KT_EQ(v1[0], 0xffffffffu);
    KT_EQ(v1[3], 7); /* version 1: one struct written */
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setuid(65534) != 0) _exit(10);
        uint32_t u[6] = {1, 1, 1, 1, 1, 1};
        if (capget3(0, u) != 0) _exit(11);
        for (int i = 0; i < 6; i++)
            if (u[i] != 0) _exit(20 + i);
        /* a user can read root's sets */
        if (capget3(1, u) != 0 || u[0] != 0xffffffffu) _exit(12);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(capset_lowers_and_cannot_raise) {
    pid_t c = KT_FORK();
    if (c == 0) {
        /* effective must stay within permitted */
        if (capset3(FULL_CAPS, 1ULL << 7, 0) != -1 || errno != EPERM) _exit(10);
        /* someone else's sets: EPERM */
        struct cap_hdr h = {CAP_V3, 1};
        uint32_t d[6] = {0};
        if (syscall(SYS_capset, &h, d) != -1 || errno != EPERM) _exit(11);
        /* drop every effective capability, keep the permitted ones */
        if (capset3(0, FULL_CAPS, 0) != 0) _exit(12);
        if (setuid(65534) != -1 || errno != EPERM) _exit(13); /* no CAP_SETUID */
        uint32_t g[6];
        if (capget3(0, g) != 0 || g[0] != 0 || g[1] != 0xffffffffu) _exit(14);
        /* back from the permitted set */
        if (capset3(FULL_CAPS, FULL_CAPS, 0) != 0) _exit(15);
        /* drop CAP_SYS_TIME from the permitted set: it cannot come back */
        uint64_t less = FULL_CAPS & ~(1ULL << 25);
        if (capset3(less, less, 0) != 0) _exit(16);
        if (capset3(FULL_CAPS, FULL_CAPS, 0) != -1 || errno != EPERM) _exit(17);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (clock_settime(CLOCK_REALTIME, &ts) != -1 || errno != EPERM) _exit(18);
        /* version 1 sets only the low halves: the high ones become 0 */
        struct cap_hdr h1 = {CAP_V1, 0};
        uint32_t d1[3] = {0xfdffffffu, 0xfdffffffu, 0};
        if (syscall(SYS_capset, &h1, d1) != 0) _exit(19);
        if (capget3(0, g) != 0 || g[3] != 0 || g[4] != 0 || g[1] != 0xfdffffffu) _exit(20);
        if (setuid(65534) != 0) _exit(21); /* CAP_SETUID (7) is still there */
        if (capset3(1, 1, 0) != -1 || errno != EPERM) _exit(22);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(exec_gives_root_its_capabilities_back) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (capset3(1ULL << 7, 1ULL << 7, 0) != 0) _exit(10);
        exec_get(1000);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* ---- securebits, keepcaps, the ambient set ------------------------------------ */

#define PR_GET_KEEPCAPS_ 7
#define PR_SET_KEEPCAPS_ 8
#define PR_GET_SECUREBITS_ 27
#define PR_SET_SECUREBITS_ 28
#define PR_CAP_AMBIENT_ 47

KT_CASE(keepcaps_keeps_the_permitted_set_across_setuid) {
    KT_SYS_RET(prctl(PR_GET_KEEPCAPS_, 0, 0, 0, 0), 0);
    KT_SYS_RET(prctl(PR_GET_SECUREBITS_, 0, 0, 0, 0), 0);
    KT_SYS_ERR(prctl(PR_SET_KEEPCAPS_, 2, 0, 0, 0), EINVAL);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (prctl(PR_SET_KEEPCAPS_, 1, 0, 0, 0) != 0) _exit(10);
        if (prctl(PR_GET_KEEPCAPS_, 0, 0, 0, 0) != 1) _exit(11);
        if (prctl(PR_GET_SECUREBITS_, 0, 0, 0, 0) != 0x10) _exit(12);
        if (setresuid(65534, 65534, 65534) != 0) _exit(13);
        uint32_t g[6];
        /* effective cleared by the euid change, permitted kept */
        if (capget3(0, g) != 0 || g[0] != 0 || g[1] != 0xffffffffu || g[4] != 0x1ff) _exit(14);
        /* so a user can take CAP_SETUID back into effect and use it */
        if (capset3(1ULL << 7, FULL_CAPS, 0) != 0) _exit(15);
        if (setuid(0) != 0) _exit(16);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    c = KT_FORK();
    if (c == 0) { /* without it: nothing left */
        if (setresuid(65534, 65534, 65534) != 0) _exit(10);
        uint32_t g[6];
        if (capget3(0, g) != 0 || g[0] != 0 || g[1] != 0) _exit(11);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(securebits_locks_and_their_errors) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (prctl(PR_SET_SECUREBITS_, 0x100, 0, 0, 0) != -1 || errno != EPERM) _exit(10);
        if (prctl(PR_SET_SECUREBITS_, 0x30, 0, 0, 0) != 0) _exit(11); /* KEEP_CAPS + lock */
        if (prctl(PR_GET_SECUREBITS_, 0, 0, 0, 0) != 0x30) _exit(12);
        if (prctl(PR_SET_KEEPCAPS_, 0, 0, 0, 0) != -1 || errno != EPERM) _exit(13);
        if (prctl(PR_SET_SECUREBITS_, 0x20, 0, 0, 0) != -1 || errno != EPERM) _exit(14);
        if (prctl(PR_SET_SECUREBITS_, 0x10, 0, 0, 0) != -1 || errno != EPERM) _exit(15);
        if (prctl(PR_SET_SECUREBITS_, 0x34, 0, 0, 0) != 0) _exit(16); /* + NO_SETUID_FIXUP */
        /* NO_SETUID_FIXUP: the effective set survives the change away from 0 */
        if (setresuid(1, 1, 1) != 0) _exit(17);
        uint32_t g[6];
        if (capget3(0, g) != 0 || g[0] != 0xffffffffu) _exit(18);
        /* a user without CAP_SETPCAP... still has it here: drop it, then EPERM */
        if (capset3(FULL_CAPS & ~(1ULL << 8), FULL_CAPS & ~(1ULL << 8), 0) != 0) _exit(19);
        if (prctl(PR_SET_SECUREBITS_, 0x34, 0, 0, 0) != -1 || errno != EPERM) _exit(20);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(ambient_capabilities_survive_a_users_exec) {
    KT_SYS_RET(prctl(PR_CAP_AMBIENT_, 1, 25, 0, 0), 0);
    KT_SYS_ERR(prctl(PR_CAP_AMBIENT_, 1, 41, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_CAP_AMBIENT_, 1, 25, 1, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_CAP_AMBIENT_, 5, 25, 0, 0), EINVAL);
    KT_SYS_ERR(prctl(PR_CAP_AMBIENT_, 4, 1, 0, 0), EINVAL);
    /* not in the inheritable set: EPERM */
    KT_SYS_ERR(prctl(PR_CAP_AMBIENT_, 2, 25, 0, 0), EPERM);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (capset3(FULL_CAPS, FULL_CAPS, 1ULL << 25) != 0) _exit(10);
        if (prctl(PR_CAP_AMBIENT_, 2, 25, 0, 0) != 0) _exit(11);
        if (prctl(PR_CAP_AMBIENT_, 1, 25, 0, 0) != 1) _exit(12);
        if (prctl(PR_SET_KEEPCAPS_, 1, 0, 0, 0) != 0) _exit(13);
        /* the change away from root clears the ambient set */
        if (setresuid(65534, 65534, 65534) != 0) _exit(14);
        if (prctl(PR_CAP_AMBIENT_, 1, 25, 0, 0) != 0) _exit(15);
        if (prctl(PR_CAP_AMBIENT_, 2, 25, 0, 0) != 0) _exit(16);
        exec_get(1001); /* the user's program runs with CAP_SYS_TIME */
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    c = KT_FORK();
    if (c == 0) { /* capset lowering the inheritable set lowers the ambient one */
        if (capset3(FULL_CAPS, FULL_CAPS, 1ULL << 25) != 0) _exit(10);
        if (prctl(PR_CAP_AMBIENT_, 2, 25, 0, 0) != 0) _exit(11);
        if (capset3(FULL_CAPS, FULL_CAPS, 0) != 0) _exit(12);
        if (prctl(PR_CAP_AMBIENT_, 1, 25, 0, 0) != 0) _exit(13);
        if (capset3(FULL_CAPS, FULL_CAPS, 1ULL << 25) != 0) _exit(14);
        if (prctl(PR_CAP_AMBIENT_, 2, 25, 0, 0) != 0) _exit(15);
        if (prctl(PR_CAP_AMBIENT_, 4, 0, 0, 0) != 0) _exit(16);
        if (prctl(PR_CAP_AMBIENT_, 1, 25, 0, 0) != 0) _exit(17);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* ---- mlock family ------------------------------------------------------------ */

#ifndef SYS_mlock2
#define SYS_mlock2 325
#endif

/* VmLck of /proc/self/status in kB, -1 when missing. */
static long vmlck_kb(void) {
    char buf[2048];
    if (kt_read_text("/proc/self/status", buf, sizeof buf) <= 0) return -1;
    char *p = strstr(buf, "VmLck:");
    return p ? atol(p + 6) : -1;
}

KT_CASE(mlock_munlock_count_in_vmlck) {
    char *m = mmap(0, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    long base = vmlck_kb();
    KT_TRUE(base >= 0, "no VmLck line");
    KT_SYS_RET(mlock(m, 4 * 4096), 0);
    KT_EQ(vmlck_kb() - base, 16);
    KT_SYS_RET(mlock(m + 4096 + 100, 10), 0); /* already locked: nothing more */
    KT_EQ(vmlck_kb() - base, 16);
    KT_SYS_RET(mlock(m + 6 * 4096 + 100, 10), 0); /* a partial page locks it */
    KT_EQ(vmlck_kb() - base, 20);
    KT_SYS_RET(munlock(m + 4096, 4096), 0);
    KT_EQ(vmlck_kb() - base, 16);
    KT_SYS_RET(mlock(m, 0), 0);
    KT_SYS_RET(munlock(m, 8 * 4096), 0);
    KT_EQ(vmlck_kb(), base);
    KT_SYS_RET(syscall(SYS_mlock2, m, 4096, 1), 0); /* MLOCK_ONFAULT */
    KT_EQ(vmlck_kb() - base, 4);
    KT_SYS_ERR(syscall(SYS_mlock2, m, 4096, 2), EINVAL);
    munmap(m, 8 * 4096); /* unmapping ends the lock */
    KT_EQ(vmlck_kb(), base);
}

KT_CASE(mlock_of_unmapped_memory_is_enomem) {
    char *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    KT_SYS_OK(munmap(m + 4096, 4096));
    long base = vmlck_kb();
    KT_SYS_ERR(mlock(m + 4096, 4096), ENOMEM);
    KT_SYS_ERR(munlock(m + 4096, 4096), ENOMEM);
    KT_SYS_ERR(mlock((void *)0x1000, 4096), ENOMEM);
    KT_EQ(vmlck_kb(), base);
    /* a hole in the middle: what comes before it is locked, then ENOMEM */
    KT_SYS_ERR(mlock(m, 3 * 4096), ENOMEM);
    KT_EQ(vmlck_kb() - base, 4);
    KT_SYS_ERR(munlock(m, 3 * 4096), ENOMEM);
    KT_EQ(vmlck_kb(), base);
    munmap(m, 3 * 4096);
}

KT_CASE(mlockall_flags_and_munlockall) {
    KT_SYS_ERR(mlockall(0), EINVAL);
    KT_SYS_ERR(mlockall(MCL_ONFAULT), EINVAL);
    KT_SYS_ERR(mlockall(8), EINVAL);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (mlockall(MCL_CURRENT) != 0) _exit(10);
        long all = vmlck_kb();
        if (all < 16) _exit(11);
        pid_t g = fork();
        if (g == 0) _exit(vmlck_kb() == 0 ? 0 : 1); /* not inherited */
        int st;
        waitpid(g, &st, 0);
        if (st != 0) _exit(12);
        if (munlockall() != 0) _exit(13);
        if (vmlck_kb() != 0) _exit(14);
        if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) _exit(15);
        munlockall();
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(mlock_limit_for_a_user_and_none_for_root) {
    struct rlimit rl;
    KT_SYS_RET(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
    KT_EQ(rl.rlim_cur, 8 << 20);
    KT_EQ(rl.rlim_max, 8 << 20);
    size_t big = 9 << 20;
    char *m = mmap(0, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setuid(65534) != 0) _exit(10);
        if (mlock(m, 16 * 4096) != 0) _exit(11);
        if (mlock(m, big) != -1 || errno != ENOMEM) _exit(12);
        if (mlockall(MCL_CURRENT) != -1 || errno != ENOMEM) _exit(13);
        struct rlimit zero = {0, 0};
        if (setrlimit(RLIMIT_MEMLOCK, &zero) != 0) _exit(14);
        if (mlock(m, 4096) != -1 || errno != EPERM) _exit(15);
        if (mlockall(MCL_CURRENT) != -1 || errno != EPERM) _exit(16);
        if (munlock(m, 16 * 4096) != 0) _exit(17); /* unlocking needs nothing */
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    c = KT_FORK();
    if (c == 0) {
        struct rlimit zero = {0, 0};
        if (setrlimit(RLIMIT_MEMLOCK, &zero) != 0) _exit(10);
        if (mlock(m, big) != 0) _exit(11); /* CAP_IPC_LOCK */
        if (vmlck_kb() < (long)(big / 1024)) _exit(12);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    munmap(m, big);
}

KT_MAIN()
