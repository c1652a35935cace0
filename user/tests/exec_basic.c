/* execve: argv and envp, #! scripts, the auxiliary vector, what survives an
 * exec (pid, ignored signals, the mask, pending signals), the other threads
 * ending even when they sleep, and the errors ENOENT, EACCES, ENOEXEC,
 * ENOTDIR, EFAULT, E2BIG. */
#include "kt.h"

#include <pthread.h>

#include <sys/auxv.h>

/* Runs execve(path, argv, envp) in a child; returns its wait status
 * (exit 127 with errno in the parent's *err when the exec failed). */
static int run(const char *path, char *const argv[], char *const envp[]) {
    pid_t p = fork();
    if (p == 0) {
        execve(path, argv, envp);
        _exit(127);
    }
    int st = -1;
    waitpid(p, &st, 0);
    return st;
}

static int write_file(const char *path, const char *text, mode_t mode) {
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

static char *no_env[] = {0};

KT_CASE(argv_reaches_the_new_image) {
    char *argv[] = {(char *)kt_self, "kt-argc", "a", "b", "c", 0};
    KT_STATUS(run(kt_self, argv, no_env), kt_exited(5));
}

KT_CASE(envp_reaches_the_new_image) {
    char *argv[] = {(char *)kt_self, "kt-envc", 0};
    char *envp[] = {"A=1", "B=2", "C=3", 0};
    KT_STATUS(run(kt_self, argv, envp), kt_exited(3));
    KT_STATUS(run(kt_self, argv, no_env), kt_exited(0));
}

KT_CASE(exec_keeps_pid_and_parent) {
    int fds[2];
    KT_SYS_RET(pipe(fds), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        dup2(fds[1], 1);
        char *argv[] = {(char *)kt_self, "kt-ids", 0};
        execve(kt_self, argv, no_env);
        _exit(127);
    }
    close(fds[1]);
    char buf[64] = {0};
    KT_TRUE(read(fds[0], buf, sizeof buf - 1) > 0, "no output from the exec'd child");
    close(fds[0]);
    int pid = 0, ppid = 0;
    KT_EQ(sscanf(buf, "%d %d", &pid, &ppid), 2);
    KT_EQ(pid, p);
    KT_EQ(ppid, getpid());
    KT_WAIT_STATUS(p, kt_exited(0));
}

static void on_usr1(int sig) { (void)sig; }

KT_CASE(exec_resets_handlers_keeps_ignored_mask_and_pending) {
    pid_t p = KT_FORK();
    if (p == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, 0);
        signal(SIGUSR2, SIG_IGN);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTERM);
        sigprocmask(SIG_BLOCK, &s, 0);
        raise(SIGTERM);
        char *argv[] = {(char *)kt_self, "kt-sigstate", 0};
        execve(kt_self, argv, no_env);
        _exit(127);
    }
    KT_WAIT_STATUS(p, kt_exited(1 | 2 | 4 | 8));
}

KT_CASE(shebang_script_runs_the_interpreter_with_its_argument) {
    char text[300];
    snprintf(text, sizeof text, "#!%s kt-argc\n", kt_self);
    KT_SYS_RET(write_file("/tmp/kt_script", text, 0755), 0);
    /* interpreter argv: [self, "kt-argc", "/tmp/kt_script", "x", "y"] */
    char *argv[] = {"ignored-argv0", "x", "y", 0};
    KT_STATUS(run("/tmp/kt_script", argv, no_env), kt_exited(5));
    unlink("/tmp/kt_script");
}

KT_CASE(shebang_with_a_missing_interpreter_is_enoent) {
    KT_SYS_RET(write_file("/tmp/kt_script2", "#!/nonexistent/sh\n", 0755), 0);
    char *argv[] = {"s", 0};
    KT_SYS_ERR(execve("/tmp/kt_script2", argv, no_env), ENOENT);
    unlink("/tmp/kt_script2");
}

KT_CASE(execve_errors) {
    char *argv[] = {"x", 0};
    KT_SYS_ERR(execve("/nonexistent", argv, no_env), ENOENT);
    KT_SYS_ERR(execve("", argv, no_env), ENOENT);
    KT_SYS_ERR(execve("/tmp", argv, no_env), EACCES);
    char path[300];
    snprintf(path, sizeof path, "%s/x", kt_self);
    KT_SYS_ERR(execve(path, argv, no_env), ENOTDIR);
    KT_SYS_RET(write_file("/tmp/kt_noexec", "#!/bin/sh\n", 0644), 0);
    KT_SYS_ERR(execve("/tmp/kt_noexec", argv, no_env), EACCES); /* no x bit, even for root */
    KT_SYS_RET(write_file("/tmp/kt_garbage", "this is not a program\n", 0755), 0);
    KT_SYS_ERR(execve("/tmp/kt_garbage", argv, no_env), ENOEXEC);
    unlink("/tmp/kt_noexec");
    unlink("/tmp/kt_garbage");
}

KT_CASE(execve_bad_pointers_are_efault) {
    char *argv[] = {"x", 0};
    KT_SYS_ERR(syscall(SYS_execve, (char *)8, argv, no_env), EFAULT);
    KT_SYS_ERR(syscall(SYS_execve, kt_self, (char **)8, no_env), EFAULT);
    char *bad_argv[] = {"x", (char *)8, 0};
    KT_SYS_ERR(syscall(SYS_execve, kt_self, bad_argv, no_env), EFAULT);
}

KT_CASE(one_argument_above_128k_is_e2big) {
    size_t n = 200 * 1024;
    char *big = mmap(0, n + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(big != MAP_FAILED, "mmap: %s", kt_errname(errno));
    memset(big, 'a', n);
    big[n] = 0;
    char *argv[] = {(char *)kt_self, "kt-argc", big, 0};
    KT_SYS_ERR(execve(kt_self, argv, no_env), E2BIG);
    munmap(big, n + 1);
}

/* 4 Mi pointers to "" in argv and in envp: the pointers alone (64 MiB)
 * are far past the string space (bprm_stack_limits: E2BIG), and counting
 * them must not make the kernel hold a copy of each. */
KT_CASE(millions_of_empty_args_are_e2big) {
    size_t n = 4u << 20, len = (n + 1) * sizeof(char *);
    char **v = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(v != MAP_FAILED, "mmap: %s", kt_errname(errno));
    static char empty[] = "";
    for (size_t i = 0; i < n; i++) v[i] = empty;
    v[n] = 0;
    KT_SYS_ERR(execve(kt_self, v, v), E2BIG);
    munmap(v, len);
}

KT_CASE(auxv_has_the_basic_entries) {
    KT_EQ(getauxval(AT_PAGESZ), 4096);
    KT_EQ(getauxval(AT_UID), getuid());
    KT_EQ(getauxval(AT_EUID), geteuid());
    KT_EQ(getauxval(AT_GID), getgid());
    KT_EQ(getauxval(AT_EGID), getegid());
    KT_EQ(getauxval(AT_SECURE), 0);
    KT_NE(getauxval(AT_ENTRY), 0);
    KT_NE(getauxval(AT_PHDR), 0);
    KT_EQ(getauxval(AT_PHENT), 56); /* sizeof(Elf64_Phdr) */
    KT_NE(getauxval(AT_PHNUM), 0);
    KT_NE(getauxval(AT_RANDOM), 0);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    KT_TRUE(fn && strcmp(fn, kt_self) == 0, "AT_EXECFN %s, argv[0] %s", fn ? fn : "(null)", kt_self);
}

/* A pipe whose read end a sleeping thread waits on while another thread of
 * the process execs: the sleeper must be gone, so the byte the new image
 * writes comes back to the new image (kt-pipe-back exits 0). */
static int sleeper_pipe[2];

static void exec_pipe_back(void) {
    char r[16], w[16];
    snprintf(r, sizeof r, "%d", sleeper_pipe[0]);
    snprintf(w, sizeof w, "%d", sleeper_pipe[1]);
    char *argv[] = {(char *)kt_self, "kt-pipe-back", r, w, 0};
    execve(kt_self, argv, no_env);
    _exit(127);
}

static void *read_sleeper(void *arg) {
    (void)arg;
    char c;
    read(sleeper_pipe[0], &c, 1);
    _exit(5); /* the exec ended this thread: never here */
}

static void *exec_after_a_while(void *arg) {
    (void)arg;
    usleep(50 * 1000); /* the leader is asleep in read by now */
    exec_pipe_back();
    return 0;
}

KT_CASE(exec_from_a_thread_ends_the_leader_asleep_in_read) {
    pid_t p = KT_FORK();
    if (p == 0) {
        pthread_t t;
        if (pipe(sleeper_pipe) != 0) _exit(4);
        if (pthread_create(&t, 0, exec_after_a_while, 0) != 0) _exit(3);
        read_sleeper(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

KT_CASE(exec_from_the_leader_ends_a_thread_asleep_in_read) {
    pid_t p = KT_FORK();
    if (p == 0) {
        pthread_t t;
        if (pipe(sleeper_pipe) != 0) _exit(4);
        if (pthread_create(&t, 0, read_sleeper, 0) != 0) _exit(3);
        usleep(50 * 1000); /* the thread is asleep in read by now */
        exec_pipe_back();
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

/* A thread that unshared its fd table holds the only write end of a pipe
 * while another thread execs: the exec ends the thread and its table with
 * it, so the new image reads end of file at once (Linux's de_thread waits
 * for the other threads' exit, whose exit_files closes their tables). */
static int eof_pipe[2];
static int unshared_ready;

static void *unshare_and_sleep(void *arg) {
    (void)arg;
    if (unshare(CLONE_FILES) != 0) _exit(6);
    __atomic_store_n(&unshared_ready, 1, __ATOMIC_SEQ_CST);
    for (;;) pause();
}

KT_CASE(exec_closes_the_table_a_removed_thread_unshared) {
    pid_t p = KT_FORK();
    if (p == 0) {
        pthread_t t;
        if (pipe(eof_pipe) != 0) _exit(4);
        if (pthread_create(&t, 0, unshare_and_sleep, 0) != 0) _exit(3);
        while (!__atomic_load_n(&unshared_ready, __ATOMIC_SEQ_CST)) usleep(1000);
        close(eof_pipe[1]); /* the thread's table holds the only write end */
        char r[16];
        snprintf(r, sizeof r, "%d", eof_pipe[0]);
        char *argv[] = {(char *)kt_self, "exec-eof", r, 0};
        execve(kt_self, argv, no_env);
        _exit(127);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

/* exec-eof R: read fd R without blocking: exit 0 at end of file, 1 when a
 * write end is still open (EAGAIN), 2 on anything else. */
int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "exec-eof") == 0) {
        int r = atoi(argv[2]);
        fcntl(r, F_SETFL, fcntl(r, F_GETFL) | O_NONBLOCK);
        char c;
        ssize_t n = read(r, &c, 1);
        _exit(n == 0 ? 0 : n == -1 && errno == EAGAIN ? 1 : 2);
    }
    return kt_main(argc, argv);
}
