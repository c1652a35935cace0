/* Isolation and hardening (issue 18): kernel-half pointers give EFAULT even
 * where the call would not touch them, a blocked non-SIGCHLD exit signal
 * stays pending, init starts in session 0 and group 0, /proc/PID files of
 * another user's process are refused (ptrace_may_access), a raised
 * RLIMIT_STACK lets the stack grow. */
#include "kt.h"

#include <grp.h>
#include <sys/auxv.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>


#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAKE_BITSET 10
#define FUTEX_WAIT_BITSET 9
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)

/* the first address of the kernel half */
#define KADDR ((void *)0xffff800000000000UL)
/* the guard page at the top of the user half (TASK_SIZE_MAX) */
#define PAST_USER ((void *)0x7ffffffff000UL)

KT_CASE(futex_wake_on_kernel_address_is_efault) {
    KT_SYS_ERR(syscall(SYS_futex, KADDR, FUTEX_WAKE, 1, 0, 0, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, KADDR, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, 0x8000000000000000UL, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, 0xfffffffffffffffcUL, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), EFAULT);
    /* access_ok of a word is the sign bit (valid_user_address): a private
     * wake on a non-canonical lower-half address touches nothing */
    KT_SYS_RET(syscall(SYS_futex, 0x800000000000UL, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), 0);
    KT_SYS_ERR(syscall(SYS_futex, KADDR, FUTEX_WAKE_BITSET, 1, 0, 0, ~0u), EFAULT);
    /* alignment is checked first */
    KT_SYS_ERR(syscall(SYS_futex, (char *)KADDR + 1, FUTEX_WAKE, 1, 0, 0, 0), EINVAL);
    /* the last user word and the guard page are fine for a private wake */
    KT_SYS_RET(syscall(SYS_futex, (char *)PAST_USER - 4, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), 0);
    KT_SYS_RET(syscall(SYS_futex, PAST_USER, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), 0);
}

KT_CASE(futex_wait_timeout_is_copied_before_other_checks) {
    static int word = 1;
    /* sys_futex copies the timeout first: EFAULT before EINVAL (alignment)
     * and before EAGAIN (the value differs) */
    KT_SYS_ERR(syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT, 0, KADDR, 0, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_WAIT, 0, KADDR, 0, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_WAIT_BITSET, 0, KADDR, 0, ~0u), EFAULT);
    struct timespec bad = {0, 1000000000};
    KT_SYS_ERR(syscall(SYS_futex, (char *)&word + 1, FUTEX_WAIT, 0, &bad, 0, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_WAIT, 0, &bad, 0, 0), EINVAL);
    /* a wake takes no timeout: the slot is not read */
    KT_SYS_RET(syscall(SYS_futex, &word, FUTEX_WAKE, 1, KADDR, 0, 0), 0);
}

KT_CASE(futex_requeue_with_kernel_second_address_is_efault) {
    static int word = 0;
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, (void *)1, KADDR, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, KADDR, 0),
               EFAULT);
    /* both keys come before the compare: a mismatch is still EFAULT */
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE, 1, (void *)1, KADDR, 7), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_REQUEUE, 1, (void *)1, KADDR, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_WAKE_OP, 1, (void *)1, KADDR, 0), EFAULT);
    /* a user second address works */
    static int other = 0;
    KT_SYS_RET(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 0), 0);
    KT_SYS_ERR(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 7),
               EAGAIN);
}

KT_CASE(gettimeofday_kernel_tz_is_efault) {
    /* the raw call: glibc's vDSO would write the pointer itself */
    struct timeval tv;
    KT_SYS_ERR(syscall(SYS_gettimeofday, 0, KADDR), EFAULT);
    KT_SYS_ERR(syscall(SYS_gettimeofday, &tv, KADDR), EFAULT);
    KT_SYS_ERR(syscall(SYS_gettimeofday, KADDR, 0), EFAULT);
    struct timezone tz = {.tz_minuteswest = 12345, .tz_dsttime = 678};
    KT_SYS_RET(syscall(SYS_gettimeofday, 0, &tz), 0);
    KT_TRUE(tz.tz_minuteswest != 12345 && tz.tz_dsttime != 678, "tz %d %d not written",
            tz.tz_minuteswest, tz.tz_dsttime);
    KT_SYS_RET(syscall(SYS_gettimeofday, &tv, 0), 0);
}

/* clone(SIGUSR1) child exits while its parent, with SIGUSR1 blocked, is
 * (late: is not) in sigtimedwait for it: the signal waits to be taken. */
static void exit_signal_pending(int late) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    KT_SYS_OK(sigprocmask(SIG_BLOCK, &set, 0));
    long c = syscall(SYS_clone, SIGUSR1, 0, 0, 0, 0);
    KT_TRUE(c >= 0, "clone: %s", kt_errname(errno));
    if (c == 0) {
        if (!late) kt_msleep(100);
        _exit(5);
    }
    if (late) kt_msleep(100);
    siginfo_t si;
    struct timespec ts = {5, 0};
    KT_SYS_RET(sigtimedwait(&set, &si, &ts), SIGUSR1);
    KT_EQ(si.si_pid, c);
    KT_EQ(si.si_code, CLD_EXITED);
    KT_EQ(si.si_status, 5);
    /* not a SIGCHLD child: only __WCLONE or __WALL wait for it */
    KT_SYS_ERR(waitpid(c, 0, WNOHANG), ECHILD);
    int st;
    KT_SYS_RET(waitpid(c, &st, __WCLONE), c);
    KT_STATUS(st, kt_exited(5));
}

KT_CASE(blocked_exit_signal_is_pending_for_sigtimedwait) {
    pid_t p = KT_FORK();
    if (p == 0) {
        exit_signal_pending(0);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

KT_CASE(blocked_exit_signal_is_pending_after_exit) {
    pid_t p = KT_FORK();
    if (p == 0) {
        exit_signal_pending(1);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

KT_CASE(init_starts_in_session_0_and_group_0) {
    /* recorded by the suite's /init before its setsid() */
    const char *s = getenv("KT_INIT_START");
    KT_TRUE(s != 0, "KT_INIT_START not set (not run by the suite's init)");
    KT_TRUE(strcmp(s, "0 0") == 0, "init started with sid/pgid \"%s\", want \"0 0\"", s);
    /* and its setsid() made it leader of session 1 */
    KT_EQ(getsid(1), 1);
    KT_EQ(getpgid(1), 1);
}

/* ---- /proc and ptrace_may_access ---------------------------------------- */

static int become_nobody(void) {
    if (setgroups(0, 0) != 0 || setgid(65534) != 0 || setuid(65534) != 0) return -1;
    return 0;
}

static void nobody_looks_at_init(void) {
    KT_SYS_OK(become_nobody());
    char buf[256];
    /* maps: refused at open (mm_access) */
    KT_SYS_ERR(open("/proc/1/maps", O_RDONLY), EACCES);
    /* the links: proc_fd_access_allowed */
    KT_SYS_ERR(readlink("/proc/1/exe", buf, sizeof buf), EACCES);
    KT_SYS_ERR(readlink("/proc/1/cwd", buf, sizeof buf), EACCES);
    KT_SYS_ERR(readlink("/proc/1/root", buf, sizeof buf), EACCES);
    KT_SYS_ERR(open("/proc/1/cwd/.", O_RDONLY), EACCES);
    /* fd/: dr-x------ owned by root, neither listed nor searched */
    KT_SYS_ERR(open("/proc/1/fd", O_RDONLY | O_DIRECTORY), EACCES);
    KT_SYS_ERR(readlink("/proc/1/fd/0", buf, sizeof buf), EACCES);
    struct stat st;
    KT_SYS_OK(stat("/proc/1/fd", &st));
    KT_EQ(st.st_mode & 07777, 0500);
    KT_EQ(st.st_uid, 0);
    /* what anyone may see */
    int fd = KT_SYS_OK(open("/proc/1/stat", O_RDONLY));
    KT_TRUE(read(fd, buf, sizeof buf) > 0, "read /proc/1/stat");
    close(fd);
    /* one's own process: all of it */
    fd = KT_SYS_OK(open("/proc/self/maps", O_RDONLY));
    KT_TRUE(read(fd, buf, sizeof buf) > 0, "read own maps");
    close(fd);
    KT_TRUE(readlink("/proc/self/exe", buf, sizeof buf) > 0, "own exe: %s", kt_errname(errno));
    KT_SYS_RET(readlink("/proc/self/cwd", buf, sizeof buf), 1);
    fd = KT_SYS_OK(open("/proc/self/fd", O_RDONLY | O_DIRECTORY));
    close(fd);
    KT_TRUE(readlink("/proc/self/fd/0", buf, sizeof buf) > 0, "own fd 0: %s", kt_errname(errno));
}

KT_CASE(proc_of_root_process_is_eacces_for_nobody) {
    pid_t p = KT_FORK();
    if (p == 0) {
        KT_SYS_OK(chdir("/"));
        nobody_looks_at_init();
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

KT_CASE(root_sees_another_users_proc_files) {
    int go[2], done[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(done));
    pid_t p = KT_FORK();
    if (p == 0) {
        if (become_nobody() != 0) _exit(2);
        char c = 0;
        if (write(go[1], &c, 1) != 1) _exit(3);
        if (read(done[0], &c, 1) != 1) _exit(4);
        _exit(0);
    }
    char c, path[64], buf[64];
    KT_SYS_RET(read(go[0], &c, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)p);
    int fd = open(path, O_RDONLY);
    int e = errno;
    snprintf(path, sizeof path, "/proc/%d/exe", (int)p);
    long n = readlink(path, buf, sizeof buf);
    KT_SYS_RET(write(done[1], &c, 1), 1);
    KT_TRUE(fd >= 0, "open maps: %s", kt_errname(e));
    close(fd);
    KT_TRUE(n > 0, "readlink exe");
    KT_WAIT_STATUS(p, kt_exited(0));
    close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}

/* Two processes of uid 65534: the child may read its parent's maps while
 * the parent is dumpable, not after PR_SET_DUMPABLE 0, when the files
 * also belong to root. */
static void dumpable_pair(void) {
    KT_SYS_OK(become_nobody());
    KT_SYS_OK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    int go[2], back[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(back));
    pid_t parent = getpid();
    pid_t c = KT_FORK();
    char path[64], lpath[64], buf[64], x = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)parent);
    snprintf(lpath, sizeof lpath, "/proc/%d", (int)parent);
    if (c == 0) {
        struct stat st;
        int fd = KT_SYS_OK(open(path, O_RDONLY));
        KT_TRUE(read(fd, buf, sizeof buf) > 0, "read maps");
        close(fd);
        KT_SYS_OK(stat(path, &st));
        KT_EQ(st.st_uid, 65534);
        KT_SYS_RET(write(go[1], &x, 1), 1);
        KT_SYS_RET(read(back[0], &x, 1), 1);
        KT_SYS_ERR(open(path, O_RDONLY), EACCES);
        /* task_dump_owner: the files are root's now, not the directory */
        KT_SYS_OK(stat(path, &st));
        KT_EQ(st.st_uid, 0);
        KT_SYS_OK(stat(lpath, &st));
        KT_EQ(st.st_uid, 65534);
        _exit(0);
    }
    KT_SYS_RET(read(go[0], &x, 1), 1);
    KT_SYS_OK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    KT_SYS_RET(write(back[1], &x, 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(non_dumpable_process_is_hidden_from_same_user) {
    pid_t p = KT_FORK();
    if (p == 0) {
        dumpable_pair();
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

/* ---- RLIMIT_STACK at fault time ------------------------------------------ */

/* Uses about 64 KiB of stack per level. */
static int __attribute__((noinline)) deep(int n) {
    volatile char frame[65536];
    frame[0] = (char)(n & 0x7f);
    frame[sizeof frame - 1] = (char)(n & 0x7f);
    if (n == 0) return 0;
    /* n when every frame kept its bytes */
    return deep(n - 1) + (frame[0] == (char)(n & 0x7f) && frame[sizeof frame - 1] == frame[0]);
}

KT_CASE(raised_stack_limit_lets_the_stack_grow) {
    pid_t p = KT_FORK();
    if (p == 0) {
        struct rlimit r = {64 << 20, RLIM_INFINITY};
        if (setrlimit(RLIMIT_STACK, &r) != 0) _exit(2);
        /* 24 MiB of frames: past the 8 MiB the process started with */
        _exit(deep(384) == 384 ? 0 : 3);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

KT_CASE(stack_beyond_the_limit_is_sigsegv) {
    pid_t p = KT_FORK();
    if (p == 0) {
        struct rlimit r = {16 << 20, RLIM_INFINITY};
        if (setrlimit(RLIMIT_STACK, &r) != 0) _exit(2);
        /* 12 MiB fits, 24 MiB does not */
        if (deep(192) != 192) _exit(3);
        deep(384);
        _exit(4);
    }
    KT_WAIT_STATUS(p, kt_killed(SIGSEGV));
}

/* ---- fs.protected_hardlinks / fs.protected_symlinks ---------------------- */

/* Debian turns both on at boot (sysctl.d); a bare Linux started with the
 * suite as init has them off, so switch them on where the knob exists. */
static void protect_links(void) {
    const char *knobs[] = {"/proc/sys/fs/protected_hardlinks", "/proc/sys/fs/protected_symlinks"};
    for (int i = 0; i < 2; i++) {
        int fd = open(knobs[i], O_WRONLY);
        if (fd >= 0) {
            if (write(fd, "1", 1) != 1) kt_printf("# %s: %s\n", knobs[i], kt_errname(errno));
            close(fd);
        }
    }
}

static void make_file(const char *path, mode_t mode) {
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
    if (fd >= 0) close(fd);
    chmod(path, mode);
}

static void nobody_links(void) {
    KT_SYS_OK(become_nobody());
    KT_SYS_ERR(link("/tmp/iso_secret", "/tmp/iso_l1"), EPERM);
    KT_SYS_ERR(link("/tmp/iso_suid", "/tmp/iso_l2"), EPERM);
    unlink("/tmp/iso_l3");
    KT_SYS_RET(link("/tmp/iso_open", "/tmp/iso_l3"), 0);
    /* a link to root's file in sticky /tmp: only root removes it */
    KT_SYS_ERR(unlink("/tmp/iso_l3"), EPERM);
    /* its own file, even mode 0 */
    make_file("/tmp/iso_mine", 0);
    KT_SYS_RET(link("/tmp/iso_mine", "/tmp/iso_l4"), 0);
    KT_SYS_OK(unlink("/tmp/iso_l4"));
    KT_SYS_OK(unlink("/tmp/iso_mine"));
    /* a link of its own in sticky /tmp, for root to (not) follow */
    unlink("/tmp/iso_sym");
    KT_SYS_OK(symlink("/tmp/iso_open", "/tmp/iso_sym"));
    int fd = KT_SYS_OK(open("/tmp/iso_sym", O_RDONLY));
    close(fd);
}

KT_CASE(protected_hardlinks_and_symlinks_in_tmp) {
    protect_links();
    struct stat st;
    KT_SYS_OK(stat("/tmp", &st));
    KT_EQ(st.st_mode & 07777, 01777);
    make_file("/tmp/iso_secret", 0600);
    make_file("/tmp/iso_suid", 04777);
    make_file("/tmp/iso_open", 0666);
    pid_t p = KT_FORK();
    if (p == 0) {
        nobody_links();
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    /* root follows nobody's link in sticky world-writable /tmp: EACCES */
    KT_SYS_ERR(open("/tmp/iso_sym", O_RDONLY), EACCES);
    KT_SYS_ERR(stat("/tmp/iso_sym", &st), EACCES);
    KT_SYS_OK(lstat("/tmp/iso_sym", &st));
    char buf[64];
    KT_SYS_RET(readlink("/tmp/iso_sym", buf, sizeof buf), 13);
    /* root links anything */
    KT_SYS_RET(link("/tmp/iso_secret", "/tmp/iso_l5"), 0);
    unlink("/tmp/iso_l5");
    KT_SYS_OK(unlink("/tmp/iso_l3"));
    unlink("/tmp/iso_sym");
    unlink("/tmp/iso_secret");
    unlink("/tmp/iso_suid");
    unlink("/tmp/iso_open");
}

/* ---- fs.protected_fifos / fs.protected_regular --------------------------- */

static int knob_get(const char *path) {
    char buf[16] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atoi(buf) : -1;
}

static void knob_set(const char *path, int v) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d\n", v);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, buf, n) != n) kt_printf("# %s: %s\n", path, kt_errname(errno));
    if (fd >= 0) close(fd);
}

#define FIFOS "/proc/sys/fs/protected_fifos"
#define REGULAR "/proc/sys/fs/protected_regular"

/* O_CREAT of an existing file: 0 when it opened, else -errno */
static int creat_open(const char *path, int flags) {
    int fd = open(path, O_CREAT | flags, 0644);
    if (fd < 0) return -errno;
    close(fd);
    return 0;
}

KT_CASE(protected_fifos_and_regular_refuse_o_creat_of_others_files_in_sticky_dirs) {
    int old_f = knob_get(FIFOS), old_r = knob_get(REGULAR);
    KT_TRUE(old_f >= 0 && old_r >= 0, "knobs readable: %d %d", old_f, old_r);
    /* nobody's FIFO and file in sticky world-writable /tmp; a sticky
     * group-writable directory of root's, group nobody, with the same */
    unlink("/tmp/iso_nreg");
    unlink("/tmp/iso_nfifo");
    mkdir("/tmp/iso_g", 0);
    KT_SYS_OK(chown("/tmp/iso_g", 0, 65534));
    KT_SYS_OK(chmod("/tmp/iso_g", 01770));
    pid_t p = KT_FORK();
    if (p == 0) {
        KT_SYS_OK(become_nobody());
        KT_SYS_OK(creat_open("/tmp/iso_nreg", O_WRONLY | O_EXCL));
        KT_SYS_OK(chmod("/tmp/iso_nreg", 0666));
        KT_SYS_OK(mkfifo("/tmp/iso_nfifo", 0666));
        KT_SYS_OK(chmod("/tmp/iso_nfifo", 0666));
        KT_SYS_OK(creat_open("/tmp/iso_g/reg", O_WRONLY | O_EXCL));
        KT_SYS_OK(chmod("/tmp/iso_g/reg", 0666));
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    knob_set(FIFOS, 1);
    knob_set(REGULAR, 1);
    /* root, the opener, is refused: no capability overrides it */
    KT_EQ(creat_open("/tmp/iso_nreg", O_WRONLY), -EACCES);
    KT_EQ(creat_open("/tmp/iso_nreg", O_RDONLY), -EACCES);
    KT_EQ(creat_open("/tmp/iso_nfifo", O_RDONLY | O_NONBLOCK), -EACCES);
    /* O_EXCL: EEXIST first; without O_CREAT: no restriction */
    KT_EQ(creat_open("/tmp/iso_nreg", O_WRONLY | O_EXCL), -EEXIST);
    int fd = KT_SYS_OK(open("/tmp/iso_nreg", O_WRONLY));
    close(fd);
    fd = KT_SYS_OK(open("/tmp/iso_nfifo", O_RDONLY | O_NONBLOCK));
    close(fd);
    /* group-writable sticky directory: level 1 lets it pass, 2 refuses */
    KT_EQ(creat_open("/tmp/iso_g/reg", O_WRONLY), 0);
    knob_set(REGULAR, 2);
    KT_EQ(creat_open("/tmp/iso_g/reg", O_WRONLY), -EACCES);
    KT_EQ(creat_open("/tmp/iso_nreg", O_WRONLY), -EACCES);
    /* off: the usual open */
    knob_set(FIFOS, 0);
    knob_set(REGULAR, 0);
    KT_EQ(creat_open("/tmp/iso_nreg", O_WRONLY), 0);
    KT_EQ(creat_open("/tmp/iso_nfifo", O_RDONLY | O_NONBLOCK), 0);
    knob_set(FIFOS, old_f);
    knob_set(REGULAR, old_r);
    unlink("/tmp/iso_nreg");
    unlink("/tmp/iso_nfifo");
    unlink("/tmp/iso_g/reg");
    rmdir("/tmp/iso_g");
}

/* ---- /proc/PID/environ and /proc/PID/auxv ------------------------------- */

static long read_file(const char *path, char *buf, size_t len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    long n = 0, r;
    while ((r = read(fd, buf + n, len - n)) > 0) n += r;
    close(fd);
    return r < 0 ? -errno : n;
}

KT_CASE(proc_environ_is_the_environment_execve_gave) {
    extern char **environ;
    static char want[8192], got[8192];
    size_t n = 0;
    for (char **e = environ; *e; e++) {
        size_t l = strlen(*e) + 1;
        if (n + l > sizeof want) break;
        memcpy(want + n, *e, l);
        n += l;
    }
    KT_EQ(read_file("/proc/self/environ", got, sizeof got), (long)n);
    KT_EQ(memcmp(got, want, n), 0);
    struct stat st;
    KT_SYS_OK(stat("/proc/self/environ", &st));
    KT_EQ(st.st_mode, S_IFREG | 0400);
    /* another process's, after its execve; from an offset too */
    pid_t c = KT_FORK();
    if (c == 0) {
        char *argv[] = {(char *)kt_self, "kt-sleep", 0};
        char *envp[] = {"A=1", "BB=22", 0};
        execve(kt_self, argv, envp);
        _exit(127);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)c);
    long r = 0;
    for (int i = 0; i < 400; i++) {
        r = read_file(path, got, sizeof got);
        if (r == 10) break;
        kt_msleep(5);
    }
    KT_EQ(r, 10);
    KT_EQ(memcmp(got, "A=1\0BB=22\0", 10), 0);
    int fd = KT_SYS_OK(open(path, O_RDONLY));
    KT_SYS_RET(pread(fd, got, sizeof got, 4), 6);
    KT_EQ(memcmp(got, "BB=22\0", 6), 0);
    KT_SYS_RET(pread(fd, got, 3, 0), 3);
    KT_SYS_RET(pread(fd, got, sizeof got, 10), 0);
    KT_SYS_RET(pread(fd, got, sizeof got, 1000), 0);
    close(fd);
    kill(c, SIGKILL);
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
}

KT_CASE(proc_auxv_is_the_vector_execve_gave) {
    static unsigned long words[512];
    long n = read_file("/proc/self/auxv", (char *)words, sizeof words);
    KT_TRUE(n >= 32 && n % 16 == 0, "auxv: %ld bytes", n);
    long pairs = n / 16;
    /* ends with AT_NULL, and nothing before it is AT_NULL */
    KT_EQ(words[2 * pairs - 2], 0);
    KT_EQ(words[2 * pairs - 1], 0);
    int seen = 0;
    for (long i = 0; i < pairs - 1; i++) {
        KT_NE(words[2 * i], 0);
        unsigned long t = words[2 * i], v = words[2 * i + 1];
        if (t == AT_PAGESZ || t == AT_ENTRY || t == AT_RANDOM || t == AT_UID || t == AT_PHDR) {
            KT_EQ(v, getauxval(t));
            seen++;
        }
    }
    KT_EQ(seen, 5);
    struct stat st;
    KT_SYS_OK(stat("/proc/self/auxv", &st));
    KT_EQ(st.st_mode, S_IFREG | 0400);
}

static void nobody_reads_inits_environ(void) {
    KT_SYS_OK(become_nobody());
    char buf[64];
    KT_EQ(read_file("/proc/1/environ", buf, sizeof buf), -EACCES);
    KT_EQ(read_file("/proc/1/auxv", buf, sizeof buf), -EACCES);
    struct stat st;
    KT_SYS_OK(stat("/proc/1/environ", &st));
    KT_EQ(st.st_uid, 0);
    KT_EQ(st.st_mode, S_IFREG | 0400);
    /* its own after the change of ids: not dumpable, so root's (0400) */
    KT_SYS_OK(stat("/proc/self/environ", &st));
    KT_EQ(st.st_uid, 0);
    KT_EQ(read_file("/proc/self/environ", buf, sizeof buf), -EACCES);
    /* dumpable again: its own */
    KT_SYS_OK(prctl(PR_SET_DUMPABLE, 1));
    KT_TRUE(read_file("/proc/self/auxv", buf, sizeof buf) > 0, "own auxv");
    KT_TRUE(read_file("/proc/self/environ", buf, sizeof buf) >= 0, "own environ");
}

KT_CASE(proc_environ_and_auxv_of_root_process_are_eacces_for_nobody) {
    pid_t p = KT_FORK();
    if (p == 0) {
        nobody_reads_inits_environ();
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

KT_MAIN()
