/* Preemption points (issue 19, preempt29): a pinned spinner's largest
 * gap while another process on CPU 0 execs with 50,000 environment
 * strings dropping a 96 MiB image, forks a 100,000-fd table, truncates a
 * big file (the rest of preempt.c's measured cases; a program of its own
 * for the suite's 30 s per-program timeout under a loaded host). */
#include "preempt.h"

#define EXEC_MIB 96
#define EXEC_ENVS 50000

/* A child touches 96 MiB, then execs this program (kt-exit 0: it exits
 * at once) with 50,000 environment strings (about 1.2 MB of strings and
 * pointers, under Linux's quarter of the 8 MiB stack limit): the exec
 * copies them and drops the old image. The spinner measures from just
 * before the execve until the child is reaped; the result is that
 * stretch. */
static long long big_exec(struct shared *sh) {
    sh->started = 0;
    pid_t c = fork();
    if (c < 0) return -1;
    if (c == 0) {
        char *m = mmap(0, EXEC_MIB << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char **envp = mmap(0, (EXEC_ENVS + 1) * sizeof(char *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char *text = mmap(0, EXEC_ENVS * 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || envp == MAP_FAILED || text == MAP_FAILED) _exit(2);
        for (long i = 0; i < (long)EXEC_MIB << 20; i += 4096) m[i] = 1;
        for (int i = 0; i < EXEC_ENVS; i++) {
            envp[i] = text + i * 16;
            snprintf(envp[i], 16, "E%06d=abcdefg", i);
        }
        envp[EXEC_ENVS] = 0;
        char *argv[] = {(char *)kt_self, "kt-exit", "0", 0};
        sh->mark_ns = mono_ns();
        sh->started = 1;
        execve(kt_self, argv, envp);
        _exit(3);
    }
    int st;
    if (waitpid(c, &st, 0) != c) return -2;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -3 - (WIFEXITED(st) ? WEXITSTATUS(st) : 100);
    return mono_ns() - sh->mark_ns;
}

/* The exec case: the figure printed is the exec's stretch (execve to the
 * reaping of the new image's exit); checked loosely as the others. */
KT_CASE(a_pinned_process_runs_during_an_exec_that_drops_a_big_image) {
    struct shared *sh = shared_page();
    KT_TRUE(sh != 0, "mmap");
    pid_t s, w;
    run_measured(sh, big_exec, &s, &w);
    KT_TRUE(s > 0 && w > 0, "fork");
    KT_WAIT_STATUS(w, kt_exited(0));
    KT_WAIT_STATUS(s, kt_exited(0));
    printf("  exec with %d envs dropping %d MiB: %lld ms; the spinner's largest gap: %lld ms\n", EXEC_ENVS, EXEC_MIB,
           sh->result / 1000000, sh->max_gap_ns / 1000000);
    KT_TRUE(sh->result > 0, "exec result %lld", sh->result);
    KT_TRUE(sh->max_gap_ns < 250000000LL || sh->max_gap_ns * 4 < sh->result,
            "the spinner waited %lld ms (the exec took %lld ms)", sh->max_gap_ns / 1000000, sh->result / 1000000);
    munmap((void *)sh, sizeof *sh);
}

#define MANY_FDS 100000

/* A process with 100,000 descriptors (dups of one pipe end) forks three
 * times; each child exits at once (its exit drops its copy of the
 * table). The spinner measures the forks only (not the dups). */
static long long fd_table_fork(struct shared *sh) {
    sh->started = 0;
    struct rlimit rl = {MANY_FDS + 64, MANY_FDS + 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    int p[2];
    if (pipe(p) != 0) return -2;
    for (int i = 0; i < MANY_FDS; i++)
        if (fcntl(p[0], F_DUPFD, 0) < 0) return -3;
    sh->started = 1;
    long long worst = 0;
    for (int k = 0; k < 3; k++) {
        long long t0 = mono_ns();
        pid_t c = fork();
        if (c == 0) _exit(0);
        if (c < 0) return -4;
        long long d = mono_ns() - t0;
        if (d > worst) worst = d;
        if (waitpid(c, 0, 0) != c) return -5;
    }
    /* (the window stays open: a gap that ends after it would be lost) */
    if (fcntl(p[0], F_GETFD) != 0 || fcntl(MANY_FDS + 1, F_GETFD) != 0) return -6;
    return worst;
}

KT_CASE(a_pinned_process_runs_during_forks_of_a_100k_fd_table) {
    struct shared *sh = shared_page();
    KT_TRUE(sh != 0, "mmap");
    pid_t s, w;
    run_measured(sh, fd_table_fork, &s, &w);
    KT_TRUE(s > 0 && w > 0, "fork");
    KT_WAIT_STATUS(w, kt_exited(0));
    KT_WAIT_STATUS(s, kt_exited(0));
    printf("  fork with %d fds: slowest fork %lld ms, all %lld ms; the spinner's largest gap: %lld ms\n", MANY_FDS,
           sh->result / 1000000, sh->work_ns / 1000000, sh->max_gap_ns / 1000000);
    KT_TRUE(sh->result > 0, "fork result %lld", sh->result);
    KT_TRUE(sh->max_gap_ns < 250000000LL || sh->max_gap_ns * 4 < sh->work_ns,
            "the spinner waited %lld ms (the loop took %lld ms)", sh->max_gap_ns / 1000000, sh->work_ns / 1000000);
    munmap((void *)sh, sizeof *sh);
}

#define TRUNC_MIB 64

/* A 64 MiB file in /tmp truncated to 0: the page cache's pages go. The
 * spinner measures the ftruncate only. */
static long long big_truncate(struct shared *sh) {
    sh->started = 0;
    const char *path = "/tmp/kt_preempt_trunc";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    char *buf = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return -2;
    memset(buf, 7, 1 << 20);
    for (int i = 0; i < TRUNC_MIB; i++)
        if (write(fd, buf, 1 << 20) != 1 << 20) return -3;
    sh->started = 1;
    long long t0 = mono_ns();
    if (ftruncate(fd, 0) != 0) return -4;
    long long d = mono_ns() - t0;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != 0) return -5;
    close(fd);
    unlink(path);
    return d;
}

KT_CASE(a_pinned_process_runs_during_a_truncate_of_a_big_file) {
    struct shared *sh = shared_page();
    KT_TRUE(sh != 0, "mmap");
    pid_t s, w;
    run_measured(sh, big_truncate, &s, &w);
    KT_TRUE(s > 0 && w > 0, "fork");
    KT_WAIT_STATUS(w, kt_exited(0));
    KT_WAIT_STATUS(s, kt_exited(0));
    printf("  ftruncate of %d MiB to 0: %lld ms; the spinner's largest gap: %lld ms\n", TRUNC_MIB,
           sh->result / 1000000, sh->max_gap_ns / 1000000);
    KT_TRUE(sh->result > 0, "truncate result %lld", sh->result);
    KT_TRUE(sh->max_gap_ns < 250000000LL || sh->max_gap_ns * 4 < sh->result,
            "the spinner waited %lld ms (the truncate took %lld ms)", sh->max_gap_ns / 1000000, sh->result / 1000000);
    munmap((void *)sh, sizeof *sh);
}

KT_MAIN()
