/* /proc/<pid>/syscall: the reader's own read(2), a thread blocked in a
 * call (the same numbers PTRACE_GETREGS gives at a trap there), one
 * stopped outside a call (-1 sp pc), one running; EPERM without ptrace
 * access; the file's mode. */
#include "kt_ptrace.h"
#include <sys/prctl.h>
#include <sys/user.h>

static char rbuf[64];

static long read_proc(pid_t p, char *out, size_t n) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)p);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long r = read(fd, out, n - 1);
    close(fd);
    if (r >= 0) out[r] = 0;
    return r;
}

KT_CASE(self_shows_its_read) {
    int fd = KT_SYS_OK(open("/proc/self/syscall", O_RDONLY));
    char buf[200];
    memset(buf, 0, sizeof buf);
    long r = read(fd, buf, 150);
    close(fd);
    KT_TRUE(r > 0, "read %ld", r);
    char want[100];
    snprintf(want, sizeof want, "%d 0x%x 0x%lx 0x96 ", SYS_read, fd, (unsigned long)buf);
    KT_TRUE(strncmp(buf, want, strlen(want)) == 0, "got '%s', want '%s...'", buf, want);
    int fields = 0;
    for (char *q = buf; *q; q++) fields += *q == ' ' || *q == '\n';
    KT_EQ(fields, 9);
}

KT_CASE(blocked_in_read_matches_the_registers) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        read(p[0], rbuf, sizeof rbuf);
        _exit(0);
    }
    kt_msleep(50);
    char line[256];
    KT_TRUE(read_proc(c, line, sizeof line) > 0, "read");
    char want[100];
    snprintf(want, sizeof want, "%d 0x%x 0x%lx 0x40 ", SYS_read, p[0], (unsigned long)rbuf);
    KT_TRUE(strncmp(line, want, strlen(want)) == 0, "got '%s', want '%s...'", line, want);
    /* a trap in the call: the registers the tracer sees */
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, c, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    struct user_regs_struct r;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    KT_EQ(r.orig_rax, SYS_read);
    char regs[256];
    snprintf(regs, sizeof regs, "%d 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx\n", SYS_read, r.rdi,
             r.rsi, r.rdx, r.r10, r.r8, r.r9, r.rsp, r.rip);
    KT_TRUE(strcmp(line, regs) == 0, "blocked '%s', trapped regs '%s'", line, regs);
    char again[256];
    KT_TRUE(read_proc(c, again, sizeof again) > 0, "read");
    KT_TRUE(strcmp(again, regs) == 0, "trapped '%s', regs '%s'", again, regs);
    kt_kill_reap(c);
    close(p[0]);
    close(p[1]);
}

KT_CASE(stopped_outside_a_call_and_running) {
    pid_t c = KT_FORK();
    if (c == 0) {
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    kt_msleep(20);
    char line[256];
    KT_TRUE(read_proc(c, line, sizeof line) > 0, "read");
    KT_TRUE(strcmp(line, "running\n") == 0, "running child: '%s'", line);
    KT_SYS_RET(kill(c, SIGSTOP), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, WUNTRACED), c);
    KT_TRUE(read_proc(c, line, sizeof line) > 0, "read");
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80137f);
    struct user_regs_struct r;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    KT_EQ((long)r.orig_rax, -1);
    char want[100];
    snprintf(want, sizeof want, "-1 0x%llx 0x%llx\n", r.rsp, r.rip);
    KT_TRUE(strcmp(line, want) == 0, "stopped '%s', regs '%s'", line, want);
    kt_kill_reap(c);
}

/* ours is YAMA scope 1; Debian's Linux starts at 0: raise it there */
static void yama_scope_1(void) {
    int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "1", 1) != 1) kt_printf("# ptrace_scope: %s\n", kt_errname(errno));
        close(fd);
    }
}

/* lock_trace(): a sibling of the same user opens the file (its mode lets
 * it) but the read is refused by ptrace_may_access (YAMA): EPERM. */
KT_CASE(sibling_read_eperm) {
    yama_scope_1();
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t a = KT_FORK();
    if (a == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        write(p[1], "x", 1);
        for (;;) pause();
    }
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    pid_t s = KT_FORK();
    if (s == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        /* dumpable again after the id change, so its own files are its */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        char path[64], line[200];
        snprintf(path, sizeof path, "/proc/%d/syscall", (int)a);
        int fd = open(path, O_RDONLY);
        if (fd < 0) _exit(2);
        errno = 0;
        if (read(fd, line, sizeof line) != -1 || errno != EPERM) _exit(3);
        close(fd);
        /* its own file it reads */
        fd = open("/proc/self/syscall", O_RDONLY);
        if (fd < 0 || read(fd, line, sizeof line) <= 0) _exit(4);
        _exit(0);
    }
    int st;
    waitpid(s, &st, 0);
    kt_kill_reap(a);
    close(p[0]);
    close(p[1]);
    KT_STATUS(st, kt_exited(0));
}

KT_CASE(mode_0400) {
    struct stat s;
    KT_SYS_OK(stat("/proc/self/syscall", &s));
    KT_EQ(s.st_mode & 07777, 0400);
}

KT_MAIN()
