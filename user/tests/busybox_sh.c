/* Debian's busybox-static (a glibc static binary) as a real-world client:
 * scripted `busybox sh -c '...'` runs through fork, execve and a pipe, with
 * their output (stdout and stderr together) and exit status compared
 * exactly: pipelines, $(...), for/while loops, & and wait, and the applets
 * ls, cat, sort, wc, seq and test (the initramfs links /bin/sh, ls, cat,
 * sort, wc, seq, test and echo to /bin/busybox; the scripts use only those
 * and shell built-ins, and no /dev node).
 *
 * Each run has a 20 s deadline; a run that outlives it is killed and
 * reported with what it printed so far. */
#include "kt.h"

#include <poll.h>

#define BUSYBOX "/bin/busybox"
#define OUT_MAX 65536

static char out[OUT_MAX + 1];
static size_t out_len;

/* Runs argv (argv[0] is the program path) with stdout and stderr on a pipe;
 * returns the wait status, or -1 when it could not run or timed out
 * (`why` says which). */
static int run_argv(char *const argv[], const char **why) {
    static char *const envp[] = {"PATH=/bin", "HOME=/", "LC_ALL=C", 0};
    int p[2];
    out_len = 0;
    out[0] = 0;
    *why = "";
    if (pipe(p) != 0) {
        *why = "pipe failed";
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *why = "fork failed";
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        dup2(p[1], 2);
        if (p[1] > 2) close(p[1]);
        /* stdin: an empty pipe (at end of file) */
        int in[2];
        if (pipe(in) == 0) {
            close(in[1]);
            dup2(in[0], 0);
            if (in[0] > 0) close(in[0]);
        }
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(p[1]);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0;
    for (;;) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        int r = poll(&pfd, 1, 200);
        if (r > 0) {
            char tmp[4096];
            ssize_t n = read(p[0], tmp, sizeof tmp);
            if (n == 0) break;
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                break;
            }
            size_t room = OUT_MAX - out_len;
            size_t k = (size_t)n < room ? (size_t)n : room;
            memcpy(out + out_len, tmp, k);
            out_len += k;
            out[out_len] = 0;
        } else if (r < 0 && errno != EINTR) {
            break;
        }
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
    }
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {
    }
    if (timed_out) {
        *why = "timed out after 20 s";
        return -1;
    }
    return st;
}

/* Shows a string with its newlines and control characters escaped. */
static const char *esc(const char *s, char *buf, size_t size) {
    size_t j = 0;
    for (; *s && j + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            buf[j++] = '\\';
            buf[j++] = 'n';
        } else if (c == '\t') {
            buf[j++] = '\\';
            buf[j++] = 't';
        } else if (c < 32 || c >= 127) {
            j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
        } else {
            buf[j++] = (char)c;
        }
    }
    buf[j] = 0;
    return buf;
}

/* `busybox sh -c script` must print exactly `want` and exit with `code`. */
#define SH(script, want, code)                                                            \
    do {                                                                                  \
        char *const argv_[] = {BUSYBOX, "sh", "-c", (script), 0};                         \
        KT_RUN(argv_, want, code);                                                        \
    } while (0)

#define KT_RUN(argv, want, code)                                                          \
    do {                                                                                  \
        const char *why_;                                                                 \
        int st_ = run_argv((argv), &why_);                                                \
        char g_[300], w_[300];                                                            \
        KT_TRUE(st_ != -1, "%s; output so far \"%s\"", why_, esc(out, g_, sizeof g_));    \
        KT_TRUE(strcmp(out, (want)) == 0, "output \"%s\", want \"%s\" (%s)",               \
                esc(out, g_, sizeof g_), esc((want), w_, sizeof w_), kt_status_str(st_));  \
        KT_STATUS(st_, kt_exited(code));                                                  \
    } while (0)

KT_CASE(busybox_runs) {
    char *const argv[] = {BUSYBOX, "echo", "hello", "busybox", 0};
    KT_RUN(argv, "hello busybox\n", 0);
}

KT_CASE(applet_through_symlink) {
    /* /bin/sh -> busybox: the applet comes from argv[0] */
    char *const argv[] = {"/bin/sh", "-c", "echo $((6 * 7))", 0};
    KT_RUN(argv, "42\n", 0);
}

KT_CASE(exit_status) {
    SH("exit 3", "", 3);
    SH("false || exit 9; exit 1", "", 9);
    SH("sh -c 'exit 5'; echo \"inner $?\"", "inner 5\n", 0);
}

KT_CASE(echo_and_variables) {
    SH("a=hello; b=\"$a world\"; echo \"$b\" ${#a}", "hello world 5\n", 0);
    SH("set -- x y z; echo $# \"$2\"", "3 y\n", 0);
    SH("f() { echo \"f:$1:$#\"; return 4; }; f one two; echo $?", "f:one:2\n4\n", 0);
}

KT_CASE(pipeline) {
    SH("echo one two three | wc -w", "3\n", 0);
    SH("seq 10 | sort -rn | cat", "10\n9\n8\n7\n6\n5\n4\n3\n2\n1\n", 0);
    SH("seq 5000 | cat | cat | wc -c", "23893\n", 0);
    SH("seq 2000 | sort -rn | wc -l", "2000\n", 0);
}

KT_CASE(pipeline_exit_status_is_last) {
    SH("exit 3 | exit 0; echo $?", "0\n", 0);
    SH("echo x | sh -c 'cat >/tmp/bb_null; exit 6'; echo $?", "6\n", 0);
}

KT_CASE(command_substitution) {
    SH("x=$(seq 3 | wc -l); echo \"n=$x\"", "n=3\n", 0);
    SH("echo $(echo $(seq 2))", "1 2\n", 0);
    SH("echo \"[`echo back`]\"", "[back]\n", 0);
    SH("n=$(sh -c 'echo in; exit 2'); echo \"$n $?\"", "in 2\n", 0);
}

KT_CASE(for_loop) {
    SH("for i in a b c; do echo \"<$i>\"; done", "<a>\n<b>\n<c>\n", 0);
    SH("s=0; for i in $(seq 100); do s=$((s + i)); done; echo $s", "5050\n", 0);
}

KT_CASE(while_loop) {
    SH("i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo $i", "5\n", 0);
    SH("seq 5 | while read n; do echo $((n * n)); done", "1\n4\n9\n16\n25\n", 0);
    SH("i=3; until [ $i -eq 0 ]; do echo $i; i=$((i - 1)); done", "3\n2\n1\n", 0);
}

KT_CASE(background_and_wait) {
    SH("echo a > /tmp/bb_a & echo b > /tmp/bb_b & wait; cat /tmp/bb_a /tmp/bb_b",
       "a\nb\n", 0);
    SH("sh -c 'exit 7' & wait $!; echo \"status $?\"", "status 7\n", 0);
    SH("for i in 1 2 3 4; do (seq $i | wc -l > /tmp/bb_w$i) & done; wait; cat /tmp/bb_w1 /tmp/bb_w2 "
       "/tmp/bb_w3 /tmp/bb_w4",
       "1\n2\n3\n4\n", 0);
    SH("{ seq 3 | wc -l; } & wait; echo done", "3\ndone\n", 0);
}

KT_CASE(ls) {
    mkdir("/tmp/bb_ls", 0755);
    const char *names[] = {"/tmp/bb_ls/b", "/tmp/bb_ls/a", "/tmp/bb_ls/c"};
    for (int i = 0; i < 3; i++) {
        int fd = KT_SYS_OK(open(names[i], O_CREAT | O_WRONLY | O_TRUNC, 0644));
        close(fd);
    }
    mkdir("/tmp/bb_ls/d", 0755);
    SH("ls /tmp/bb_ls", "a\nb\nc\nd\n", 0);
    SH("cd /tmp/bb_ls && ls", "a\nb\nc\nd\n", 0);
    SH("ls -d /tmp/bb_ls/d /tmp/bb_ls/a", "/tmp/bb_ls/a\n/tmp/bb_ls/d\n", 0);
    SH("ls /tmp/bb_ls/nonexistent >/tmp/bb_null 2>&1; echo $?", "1\n", 0);
    SH("ls -1a /tmp/bb_ls/d", ".\n..\n", 0);
}

KT_CASE(cat) {
    int fd = KT_SYS_OK(open("/tmp/bb_cat", O_CREAT | O_WRONLY | O_TRUNC, 0644));
    KT_SYS_RET(write(fd, "line 1\nline 2\n", 14), 14);
    close(fd);
    SH("cat /tmp/bb_cat", "line 1\nline 2\n", 0);
    SH("cat < /tmp/bb_cat", "line 1\nline 2\n", 0);
    SH("cat /tmp/bb_cat /tmp/bb_cat | wc -l", "4\n", 0);
    SH("echo hi | cat -n", "     1\thi\n", 0);
    SH("cat /tmp/bb_missing 2>/tmp/bb_null; echo $?", "1\n", 0);
}

KT_CASE(sort) {
    SH("sort <<EOF\npear\napple\nfig\nEOF\n", "apple\nfig\npear\n", 0);
    SH("sort -n <<EOF\n10\n9\n100\nEOF\n", "9\n10\n100\n", 0);
    SH("sort -r <<EOF\na\nc\nb\nEOF\n", "c\nb\na\n", 0);
    SH("sort -u <<EOF\nb\na\nb\na\nEOF\n", "a\nb\n", 0);
}

KT_CASE(wc) {
    SH("echo abc | wc -c", "4\n", 0);
    SH("seq 12 | wc -l", "12\n", 0);
    SH("echo 'a b  c' | wc -w", "3\n", 0);
}

KT_CASE(seq) {
    SH("seq 3", "1\n2\n3\n", 0);
    SH("seq 2 2 10", "2\n4\n6\n8\n10\n", 0);
    SH("seq 3 -1 1", "3\n2\n1\n", 0);
    SH("seq -s , 5", "1,2,3,4,5\n", 0);
}

KT_CASE(test_applet) {
    SH("test 3 -gt 2 && echo gt; [ -d /tmp ] && echo dir; test -f /nonexistent || echo nofile; "
       "[ abc = abc ] && echo eq; [ -n \"\" ] || echo empty",
       "gt\ndir\nnofile\neq\nempty\n", 0);
    char *const t1[] = {"/bin/test", "1", "-eq", "1", 0};
    KT_RUN(t1, "", 0);
    char *const t2[] = {"/bin/test", "-e", "/nonexistent", 0};
    KT_RUN(t2, "", 1);
    char *const t3[] = {BUSYBOX, "test", "-x", BUSYBOX, 0};
    KT_RUN(t3, "", 0);
}

KT_CASE(case_and_redirections) {
    SH("for w in apple kiwi x; do case $w in a*) echo A;; k*) echo K;; *) echo other;; esac; done",
       "A\nK\nother\n", 0);
    SH("echo out; echo err >&2", "out\nerr\n", 0);
    SH("echo one > /tmp/bb_r; echo two >> /tmp/bb_r; cat /tmp/bb_r", "one\ntwo\n", 0);
}

KT_MAIN()
