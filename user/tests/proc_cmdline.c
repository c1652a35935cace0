/* /proc/PID/cmdline and environ read from the process's memory (Linux's
 * get_mm_cmdline: the bytes of arg_start..arg_end as they are now; when
 * the last byte of the argument area is not NUL, setproctitle's rule: the
 * string at arg_start up to its NUL, into the environment that follows),
 * /proc/PID/stat's layout fields, and prctl(PR_SET_MM, ...) moving them. */
#include "kt.h"
#include <sys/prctl.h>

#ifndef PR_SET_MM
#define PR_SET_MM 35
#endif
#define MM_START_CODE 1
#define MM_END_CODE 2
#define MM_START_STACK 5
#define MM_BRK 7
#define MM_ARG_START 8
#define MM_ARG_END 9
#define MM_ENV_START 10
#define MM_ENV_END 11
#define MM_AUXV 12
#define MM_MAP 14
#define MM_MAP_SIZE 15

struct mm_map {
    uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start,
        arg_end, env_start, env_end;
    uint64_t *auxv;
    uint32_t auxv_size, exe_fd;
};

extern char **environ;

/* the whole of PATH (pread at `off`, up to `max` bytes), -1 on error */
static int slurp(const char *path, off_t off, char *buf, int max) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int got = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + got, max - got, off + got);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0 || got + n >= max) {
            got += n;
            break;
        }
        got += n;
    }
    close(fd);
    return got;
}

/* fields 1-based of /proc/PID/stat after the comm */
static unsigned long long stat_field(pid_t pid, int field) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int n = slurp(path, 0, buf, sizeof buf - 1);
    if (n <= 0) return ~0ULL;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return ~0ULL;
    p += 2; /* field 3 */
    for (int f = 3; f < field; f++) {
        p = strchr(p, ' ');
        if (!p) return ~0ULL;
        p++;
    }
    return strtoull(p, 0, 10);
}

/* the helper mode: argv[1] names what to do with the argument area, then
 * the child says so on fd 1 (a pipe) and waits to be killed */
static void helper(int argc, char **argv) {
    char *start = argv[0];
    char *arg_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    char *env_end = arg_end;
    for (char **e = environ; *e; e++) env_end = *e + strlen(*e) + 1;
    if (!strcmp(argv[1], "same")) {
        /* in place, the last NUL kept: ps sees the bytes */
        start[0] = 'X';
        argv[2][0] = 'Y';
    } else if (!strcmp(argv[1], "title")) {
        /* nginx's way: the title over the arguments and environment,
         * padded with NULs to the end of the environment */
        const char *t = "nginx: master process /usr/sbin/nginx -g daemon off; with a long title";
        size_t room = env_end - start;
        memset(start, 0, room);
        memcpy(start, t, strlen(t) < room ? strlen(t) : room - 1);
    } else if (!strcmp(argv[1], "short")) {
        /* PostgreSQL's way: a short title, the rest of the argument area
         * NUL, so the last byte is NUL: the whole area is shown */
        memset(start, 0, arg_end - start);
        strcpy(start, "postgres: checkpointer");
    } else if (!strcmp(argv[1], "nonul")) {
        /* the last byte not NUL and no NUL before the end of the env */
        memset(start, 'z', env_end - start);
    }
    if (write(1, "r", 1) != 1) _exit(1);
    for (;;) pause();
}

/* runs the helper in mode `mode` with extra arguments; its pid; the pipe
 * tells when it is done */
static pid_t start_helper(const char *mode) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        dup2(p[1], 1);
        close(p[0]);
        char *argv[] = {(char *)kt_self, (char *)mode, "aa", "bbb", 0};
        char *envp[] = {"A=1", "BB=22", 0};
        execve(kt_self, argv, envp);
        _exit(127);
    }
    close(p[1]);
    char b;
    if (read(p[0], &b, 1) != 1) {
        kill(c, SIGKILL);
        waitpid(c, 0, 0);
        c = -1;
    }
    close(p[0]);
    return c;
}

static void stop_helper(pid_t c) {
    kill(c, SIGKILL);
    waitpid(c, 0, 0);
}

KT_CASE(cmdline_reads_memory_as_it_is_now) {
    pid_t c = start_helper("same");
    KT_TRUE(c > 0, "helper");
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
    int n = slurp(path, 0, buf, sizeof buf);
    int want = strlen(kt_self) + 1 + 5 + 3 + 4;
    KT_EQ(n, want);
    KT_EQ(buf[0], 'X');
    KT_TRUE(!memcmp(buf + 1, kt_self + 1, strlen(kt_self)), "argv0 %s", buf);
    KT_TRUE(!memcmp(buf + strlen(kt_self) + 1, "same\0Ya\0bbb\0", 12), "rest");
    /* pread in the middle; past the end 0 */
    KT_EQ(slurp(path, strlen(kt_self) + 1, buf, sizeof buf), 12);
    KT_TRUE(!memcmp(buf, "same\0Ya\0bbb\0", 12), "from offset");
    KT_EQ(slurp(path, want, buf, sizeof buf), 0);
    /* environ unchanged */
    snprintf(path, sizeof path, "/proc/%d/environ", (int)c);
    KT_EQ(slurp(path, 0, buf, sizeof buf), 10);
    KT_TRUE(!memcmp(buf, "A=1\0BB=22\0", 10), "environ");
    stop_helper(c);
}

KT_CASE(setproctitle_over_the_environment) {
    pid_t c = start_helper("title");
    KT_TRUE(c > 0, "helper");
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
    const char *t = "nginx: master process /usr/sbin/nginx -g daemon off; with a long title";
    size_t area = strlen(kt_self) + 1 + 6 + 3 + 4 + 10;
    size_t tl = strlen(t) < area ? strlen(t) : area - 1;
    int n = slurp(path, 0, buf, sizeof buf);
    KT_EQ(n, tl + 1);
    KT_TRUE(!memcmp(buf, t, tl) && buf[tl] == 0, "got %.*s", n, buf);
    /* from an offset: the rest of the title and its NUL */
    KT_EQ(slurp(path, 7, buf, sizeof buf), tl + 1 - 7);
    KT_TRUE(!memcmp(buf, t + 7, tl - 7), "offset 7");
    KT_EQ(slurp(path, tl + 1, buf, sizeof buf), 0);
    /* environ reads the area as it is: the title's tail and NULs */
    snprintf(path, sizeof path, "/proc/%d/environ", (int)c);
    KT_EQ(slurp(path, 0, buf, sizeof buf), 10);
    stop_helper(c);
}

KT_CASE(short_title_shows_the_whole_argument_area) {
    pid_t c = start_helper("short");
    KT_TRUE(c > 0, "helper");
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
    size_t area = strlen(kt_self) + 1 + 6 + 3 + 4;
    int n = slurp(path, 0, buf, sizeof buf);
    KT_EQ(n, area);
    KT_TRUE(!strcmp(buf, "postgres: checkpointer"), "got %s", buf);
    for (size_t i = strlen(buf); i < area; i++) KT_EQ(buf[i], 0);
    stop_helper(c);
}

KT_CASE(no_nul_ends_at_the_environment_end) {
    pid_t c = start_helper("nonul");
    KT_TRUE(c > 0, "helper");
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
    size_t area = strlen(kt_self) + 1 + 6 + 3 + 4 + 10;
    /* a page from arg_start up to the first NUL, whatever follows the
     * environment (the exec file name: bytes and its NUL) */
    int n = slurp(path, 0, buf, sizeof buf);
    KT_EQ(n, area);
    for (size_t i = 0; i < area; i++) KT_EQ(buf[i], 'z');
    stop_helper(c);
}

KT_CASE(stat_shows_the_argument_and_environment_ranges) {
    pid_t me = getpid();
    char **e = environ;
    unsigned long long arg_start = stat_field(me, 48), arg_end = stat_field(me, 49);
    unsigned long long env_start = stat_field(me, 50), env_end = stat_field(me, 51);
    KT_EQ(arg_start, (uintptr_t)kt_self);
    KT_EQ(arg_end, env_start);
    if (e[0]) KT_EQ(env_start, (uintptr_t)e[0]);
    char *last = 0;
    for (char **p = e; *p; p++) last = *p;
    if (last) KT_EQ(env_end, (uintptr_t)last + strlen(last) + 1);
    KT_TRUE(stat_field(me, 26) > 0 && stat_field(me, 26) < stat_field(me, 27), "code");
    KT_TRUE(stat_field(me, 28) > arg_start - 65536 && stat_field(me, 28) < arg_start, "start_stack");
    KT_EQ(stat_field(me, 29), 0);
    KT_EQ(stat_field(me, 52), 0);
}

static int other_user_stat(void) {
    pid_t parent = getppid();
    KT_CHILD_CHECK(1, setuid(65534) == 0);
    KT_CHILD_CHECK(2, stat_field(parent, 26) == 1 && stat_field(parent, 27) == 1);
    KT_CHILD_CHECK(3, stat_field(parent, 28) == 0 && stat_field(parent, 48) == 0);
    KT_CHILD_CHECK(4, stat_field(parent, 51) == 0);
    return 0;
}

KT_CASE(stat_hides_the_layout_from_other_users) {
    KT_EQ(kt_in_child(other_user_stat), 0);
}

static const char args_text[] = "one\0two\0three";
static char *new_args; /* anonymous memory: what cmdline reads (FOLL_ANON) */
static char file_args[] = "one\0two\0three"; /* .data: a file's mapping */

static int set_arg_range(void) {
    char buf[64];
    /* a file's private mapping is not read (access_remote_vm FOLL_ANON) */
    KT_CHILD_CHECK(14, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)file_args, 0, 0) == 0);
    KT_CHILD_CHECK(15, prctl(PR_SET_MM, MM_ARG_END, (unsigned long)file_args + sizeof file_args, 0, 0) == 0);
    KT_CHILD_CHECK(16, slurp("/proc/self/cmdline", 0, buf, sizeof buf) == 0);
    /* the end first: the start may not pass it */
    KT_CHILD_CHECK(1, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)new_args, 0, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(2, prctl(PR_SET_MM, MM_ARG_END, (unsigned long)new_args + sizeof args_text, 0, 0) == 0);
    KT_CHILD_CHECK(17, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)new_args, 0, 0) == 0);
    int n = slurp("/proc/self/cmdline", 0, buf, sizeof buf);
    KT_CHILD_CHECK(3, n == (int)sizeof args_text && !memcmp(buf, args_text, sizeof args_text));
    KT_CHILD_CHECK(4, stat_field(getpid(), 48) == (uintptr_t)new_args);
    /* end before start */
    KT_CHILD_CHECK(5, prctl(PR_SET_MM, MM_ARG_END, (unsigned long)new_args - 8, 0, 0) == -1 &&
                          errno == EINVAL);
    /* below mmap_min_addr, at or past TASK_SIZE */
    KT_CHILD_CHECK(6, prctl(PR_SET_MM, MM_ARG_START, 4096UL, 0, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(7, prctl(PR_SET_MM, MM_ARG_START, 0x7ffffffff000UL, 0, 0) == -1 && errno == EINVAL);
    /* arg5 set; arg4 set for a single field */
    KT_CHILD_CHECK(8, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)new_args, 0, 1) == -1 &&
                          errno == EINVAL);
    KT_CHILD_CHECK(9, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)new_args, 1, 0) == -1 &&
                          errno == EINVAL);
    /* start_code past end_code */
    KT_CHILD_CHECK(11, prctl(PR_SET_MM, MM_START_CODE, 0x7ffffff00000UL, 0, 0) == -1 && errno == EINVAL);
    /* an unknown field */
    KT_CHILD_CHECK(12, prctl(PR_SET_MM, 99, (unsigned long)new_args, 0, 0) == -1 && errno == EINVAL);
    /* the size of struct prctl_mm_map */
    unsigned int size = 0;
    KT_CHILD_CHECK(13, prctl(PR_SET_MM, MM_MAP_SIZE, (unsigned long)&size, 0, 0) == 0 && size == 104);
    return 0;
}

KT_CASE(pr_set_mm_moves_the_arguments) {
    new_args = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(new_args != MAP_FAILED, "mmap");
    memcpy(new_args, args_text, sizeof args_text);
    KT_EQ(kt_in_child(set_arg_range), 0);
}

static int set_as_user(void) {
    KT_CHILD_CHECK(1, setuid(65534) == 0);
    KT_CHILD_CHECK(2, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)new_args, 0, 0) == -1 && errno == EPERM);
    /* the argument checks come before the capability */
    KT_CHILD_CHECK(3, prctl(PR_SET_MM, MM_ARG_START, (unsigned long)new_args, 0, 1) == -1 &&
                          errno == EINVAL);
    /* PR_SET_MM_MAP needs no capability without an exe_fd */
    struct mm_map m = {0};
    m.start_code = stat_field(getpid(), 26);
    m.end_code = stat_field(getpid(), 27);
    m.start_stack = stat_field(getpid(), 28);
    m.start_data = stat_field(getpid(), 45);
    m.end_data = stat_field(getpid(), 46);
    m.start_brk = stat_field(getpid(), 47);
    m.brk = (uintptr_t)syscall(SYS_brk, 0);
    m.arg_start = (uintptr_t)new_args;
    m.arg_end = (uintptr_t)new_args + 8;
    m.env_start = stat_field(getpid(), 50);
    m.env_end = stat_field(getpid(), 51);
    m.exe_fd = -1;
    KT_CHILD_CHECK(4, prctl(PR_SET_MM, MM_MAP, (unsigned long)&m, sizeof m - 8, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(5, prctl(PR_SET_MM, MM_MAP, (unsigned long)&m, sizeof m, 0) == 0);
    char buf[64];
    int n = slurp("/proc/self/cmdline", 0, buf, sizeof buf);
    KT_CHILD_CHECK(6, n == 8 && !memcmp(buf, "one\0two\0", 8));
    KT_CHILD_CHECK(7, stat_field(getpid(), 49) == (uintptr_t)new_args + 8);
    /* brk goes on from where it was */
    long b = syscall(SYS_brk, 0);
    KT_CHILD_CHECK(8, b == (long)m.brk && syscall(SYS_brk, b + 4096) == b + 4096);
    /* an address out of range */
    m.arg_start = 4096;
    KT_CHILD_CHECK(9, prctl(PR_SET_MM, MM_MAP, (unsigned long)&m, sizeof m, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(10, prctl(PR_SET_MM, MM_MAP, 8UL, sizeof m, 0) == -1 && errno == EFAULT);
    return 0;
}

KT_CASE(pr_set_mm_needs_cap_sys_resource) {
    KT_EQ(kt_in_child(set_as_user), 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "same") || !strcmp(argv[1], "title") || !strcmp(argv[1], "short") ||
                     !strcmp(argv[1], "nonul")))
        helper(argc, argv);
    return kt_main(argc, argv);
}
