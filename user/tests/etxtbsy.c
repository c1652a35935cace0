/* ETXTBSY (Linux 6.1's i_writecount: deny_write_access/get_write_access):
 * a running program's file cannot be opened for writing or truncated, and a
 * file open for writing cannot be executed; the denial is held by the
 * process's memory (mm->exe_file, taken again by fork) and goes with its
 * exit or exec. Libraries and an ELF interpreter are not protected once
 * mapped (MAP_DENYWRITE is ignored since 5.15), nor a #! script once its
 * interpreter runs; renaming over or unlinking a running program works.
 *
 * Each program run is a copy of this test in /tmp, exec'd with a helper of
 * kt.h (kt-sleep) or of this file (etx-fork). */
#include "kt.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PROG "/tmp/etx_prog"
#define PROG2 "/tmp/etx_prog2"
#define SCRIPT "/tmp/etx_script"
#define LIB "/tmp/etx_lib"

#ifndef MAP_DENYWRITE
#define MAP_DENYWRITE 0x0800
#endif

static char image[4 << 20];

/* Copies this program to `path` (mode 0755): 0 or -1. */
static int copy_self(const char *path) {
    int in = open("/proc/self/exe", O_RDONLY);
    if (in < 0) return -1;
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof image && (r = read(in, image + n, sizeof image - n)) > 0) n += r;
    close(in);
    unlink(path);
    int out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    if (out < 0) return -1;
    int ok = write(out, image, n) == n;
    close(out);
    return ok ? 0 : -1;
}

/* Whether /proc/<pid>/exe names `path` (the exec reached its new image). */
static int runs(pid_t pid, const char *path) {
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) return 0;
    target[n] = 0;
    return strcmp(target, path) == 0;
}

/* Waits up to 5 s until `pid` runs `path`: 1 when it does. */
static int wait_runs(pid_t pid, const char *path) {
    for (int i = 0; i < 5000; i++) {
        if (runs(pid, path)) return 1;
        kt_msleep(1);
    }
    return 0;
}

/* A child running `path` with argv[1] = `arg` (pauses forever with
 * kt-sleep); -1 when it did not get there. */
static pid_t start(const char *path, const char *arg, const char *wait_for) {
    pid_t p = fork();
    if (p == 0) {
        char *argv[] = {(char *)path, (char *)arg, 0};
        char *envp[] = {0};
        execve(path, argv, envp);
        _exit(errno);
    }
    if (p < 0 || !wait_runs(p, wait_for)) return -1;
    return p;
}

static int stop(pid_t p) {
    kill(p, SIGKILL);
    int st = 0;
    waitpid(p, &st, 0);
    return st;
}

/* The status of a child that execs `path` (exit: errno when it failed). */
static int exec_status(const char *path) {
    pid_t p = fork();
    if (p == 0) {
        char *argv[] = {(char *)path, "kt-exit", "7", 0};
        char *envp[] = {0};
        execve(path, argv, envp);
        _exit(errno);
    }
    int st = -1;
    waitpid(p, &st, 0);
    return st;
}

KT_CASE(own_program_cannot_be_opened_for_writing) {
    KT_SYS_ERR(open("/proc/self/exe", O_WRONLY), ETXTBSY);
    KT_SYS_ERR(open("/proc/self/exe", O_RDWR), ETXTBSY);
    int fd = KT_SYS_OK(open("/proc/self/exe", O_RDONLY));
    close(fd);
}

KT_CASE(running_child_open_for_write_or_trunc_etxtbsy) {
    KT_SYS_OK(copy_self(PROG));
    struct stat before, after;
    KT_SYS_OK(stat(PROG, &before));
    pid_t p = start(PROG, "kt-sleep", PROG);
    KT_TRUE(p > 0, "the child does not run " PROG);
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_SYS_ERR(open(PROG, O_RDWR), ETXTBSY);
    KT_SYS_ERR(open(PROG, O_WRONLY | O_TRUNC), ETXTBSY);
    /* handle_truncate's get_write_access: even read-only */
    KT_SYS_ERR(open(PROG, O_RDONLY | O_TRUNC), ETXTBSY);
    KT_SYS_ERR(open(PROG, O_WRONLY | O_CREAT, 0644), ETXTBSY);
    /* reading, O_PATH and exec again are fine */
    int fd = KT_SYS_OK(open(PROG, O_RDONLY));
    close(fd);
    fd = KT_SYS_OK(open(PROG, O_PATH | O_RDWR));
    close(fd);
    KT_STATUS(exec_status(PROG), kt_exited(7));
    KT_SYS_OK(stat(PROG, &after));
    KT_EQ((long)after.st_size, (long)before.st_size);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
}

KT_CASE(running_child_truncate_etxtbsy_ftruncate_needs_write) {
    KT_SYS_OK(copy_self(PROG));
    pid_t p = start(PROG, "kt-sleep", PROG);
    KT_TRUE(p > 0, "the child does not run " PROG);
    KT_SYS_ERR(truncate(PROG, 0), ETXTBSY);
    KT_SYS_ERR(truncate(PROG, 1 << 20), ETXTBSY);
    int fd = KT_SYS_OK(open(PROG, O_RDONLY));
    KT_SYS_ERR(ftruncate(fd, 0), EINVAL);
    close(fd);
    struct stat st;
    KT_SYS_OK(stat(PROG, &st));
    KT_TRUE(st.st_size > 4096, "size %ld", (long)st.st_size);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
}

KT_CASE(after_the_child_exits_open_and_truncate_work) {
    KT_SYS_OK(copy_self(PROG));
    pid_t p = start(PROG, "kt-sleep", PROG);
    KT_TRUE(p > 0, "the child does not run " PROG);
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
    int fd = KT_SYS_OK(open(PROG, O_WRONLY));
    close(fd);
    KT_SYS_OK(truncate(PROG, 100));
    /* a child that ran it and exited normally */
    KT_SYS_OK(copy_self(PROG));
    KT_STATUS(exec_status(PROG), kt_exited(7));
    fd = KT_SYS_OK(open(PROG, O_RDWR | O_TRUNC));
    close(fd);
}

KT_CASE(exec_of_a_file_open_for_writing_etxtbsy) {
    KT_SYS_OK(copy_self(PROG));
    int w = KT_SYS_OK(open(PROG, O_WRONLY));
    KT_STATUS(exec_status(PROG), kt_exited(ETXTBSY));
    close(w);
    w = KT_SYS_OK(open(PROG, O_RDWR | O_APPEND));
    KT_STATUS(exec_status(PROG), kt_exited(ETXTBSY));
    close(w);
    /* read-only opens do not count; with the writers gone it runs */
    int r = KT_SYS_OK(open(PROG, O_RDONLY));
    KT_STATUS(exec_status(PROG), kt_exited(7));
    close(r);
    /* the other order: the writer comes while it runs */
    pid_t p = start(PROG, "kt-sleep", PROG);
    KT_TRUE(p > 0, "the child does not run " PROG);
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
}

KT_CASE(exec_of_a_script_open_for_writing_etxtbsy_not_once_it_runs) {
    KT_SYS_OK(copy_self(PROG));
    unlink(SCRIPT);
    int fd = KT_SYS_OK(open(SCRIPT, O_CREAT | O_RDWR | O_TRUNC, 0755));
    const char text[] = "#!" PROG " kt-sleep\n";
    KT_SYS_RET(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    /* do_open_execat denies writes to the script too */
    KT_STATUS(exec_status(SCRIPT), kt_exited(ETXTBSY));
    close(fd);
    /* running: its interpreter is the process's program, not the script */
    pid_t p = start(SCRIPT, "x", PROG);
    KT_TRUE(p > 0, "the child does not run " PROG);
    fd = KT_SYS_OK(open(SCRIPT, O_WRONLY));
    close(fd);
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
    /* an interpreter open for writing: the script cannot run */
    fd = KT_SYS_OK(open(PROG, O_WRONLY));
    KT_STATUS(exec_status(SCRIPT), kt_exited(ETXTBSY));
    close(fd);
}

KT_CASE(vfork_exec_denies_and_is_refused) {
    KT_SYS_OK(copy_self(PROG));
    pid_t p = vfork();
    if (p == 0) {
        char *argv[] = {PROG, "kt-sleep", 0};
        char *envp[] = {0};
        execve(PROG, argv, envp);
        _exit(errno);
    }
    KT_TRUE(p > 0, "vfork");
    /* vfork returned: the child's exec is past its point of no return */
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
    int w = KT_SYS_OK(open(PROG, O_WRONLY));
    p = vfork();
    if (p == 0) {
        char *argv[] = {PROG, "kt-exit", "7", 0};
        char *envp[] = {0};
        execve(PROG, argv, envp);
        _exit(errno);
    }
    close(w);
    KT_WAIT_STATUS(p, kt_exited(ETXTBSY));
}

/* etx-fork: fork a child that sleeps, print its pid on fd 1, exit 0. */
static void etx_fork_helper(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "etx-fork") != 0) return;
    pid_t c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d\n", (int)c);
    _exit(c > 0 && write(1, buf, n) == n ? 0 : 1);
}

KT_CASE(a_forked_copy_keeps_the_denial) {
    KT_SYS_OK(copy_self(PROG));
    int fds[2];
    KT_SYS_OK(pipe(fds));
    pid_t p = KT_FORK();
    if (p == 0) {
        dup2(fds[1], 1);
        char *argv[] = {PROG, "etx-fork", 0};
        char *envp[] = {0};
        execve(PROG, argv, envp);
        _exit(errno);
    }
    close(fds[1]);
    char buf[32] = {0};
    KT_TRUE(read(fds[0], buf, sizeof buf - 1) > 0, "no pid from etx-fork");
    close(fds[0]);
    pid_t grandchild = atoi(buf);
    KT_WAIT_STATUS(p, kt_exited(0));
    /* the program that exec'd it is gone; its fork still runs it */
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_SYS_OK(kill(grandchild, SIGKILL));
    int fd = -1;
    for (int i = 0; i < 5000 && fd < 0; i++) {
        fd = open(PROG, O_WRONLY);
        if (fd < 0) {
            KT_EQ(errno, ETXTBSY);
            kt_msleep(1);
        }
    }
    KT_TRUE(fd >= 0, "still ETXTBSY 5 s after the fork was killed");
    close(fd);
}

/* etx-leader-exit: a second thread waits until the leader's pthread_exit
 * took it away from /proc/self/exe, then prints "gone" (or "still") on fd 1
 * and sleeps. */
static void *etx_waiter(void *arg) {
    (void)arg;
    char target[256];
    int gone = 0;
    for (int i = 0; i < 5000 && !gone; i++) {
        if (readlink("/proc/self/exe", target, sizeof target) < 0)
            gone = 1;
        else
            kt_msleep(1);
    }
    const char *msg = gone ? "gone\n" : "still\n";
    if (write(1, msg, strlen(msg)) < 0) _exit(2);
    for (;;) pause();
    return 0;
}

static void etx_leader_exit_helper(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "etx-leader-exit") != 0) return;
    pthread_t t;
    if (pthread_create(&t, 0, etx_waiter, 0) != 0) _exit(1);
    pthread_exit(0);
}

KT_CASE(the_denial_outlives_the_leader_while_a_thread_runs) {
    /* Linux: mm->exe_file goes with the last mmput, not the leader */
    KT_SYS_OK(copy_self(PROG));
    int fds[2];
    KT_SYS_OK(pipe(fds));
    pid_t p = KT_FORK();
    if (p == 0) {
        dup2(fds[1], 1);
        char *argv[] = {PROG, "etx-leader-exit", 0};
        char *envp[] = {0};
        execve(PROG, argv, envp);
        _exit(errno);
    }
    close(fds[1]);
    char buf[16] = {0};
    KT_SYS_RET(read(fds[0], buf, 5), (ssize_t)5);
    close(fds[0]);
    KT_EQ(strcmp(buf, "gone\n"), 0);
    KT_SYS_ERR(open(PROG, O_WRONLY), ETXTBSY);
    KT_SYS_ERR(truncate(PROG, 0), ETXTBSY);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
    /* the group is dead and reaped: writable again */
    int fd = KT_SYS_OK(open(PROG, O_WRONLY));
    close(fd);
}

KT_CASE(mapped_library_can_be_opened_for_writing) {
    KT_SYS_OK(copy_self(LIB));
    int fd = KT_SYS_OK(open(LIB, O_RDONLY));
    /* as ld.so maps a library: MAP_DENYWRITE is ignored (Linux >= 5.15) */
    void *m = mmap(0, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_DENYWRITE, fd, 0);
    KT_TRUE(m != MAP_FAILED, "mmap: errno %d", errno);
    close(fd);
    int w = KT_SYS_OK(open(LIB, O_RDWR));
    KT_SYS_RET(pwrite(w, "\177ELF", 4, 0), 4);
    close(w);
    KT_SYS_OK(truncate(LIB, 8192));
    KT_EQ(memcmp(m, "\177ELF", 4), 0);
    munmap(m, 8192);
    /* and a file open for writing can still be mapped executable */
    w = KT_SYS_OK(open(LIB, O_RDWR));
    m = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, w, 0);
    KT_TRUE(m != MAP_FAILED, "mmap: errno %d", errno);
    munmap(m, 4096);
    close(w);
}

KT_CASE(rename_over_and_unlink_of_a_running_program_work) {
    KT_SYS_OK(copy_self(PROG));
    KT_SYS_OK(copy_self(PROG2));
    pid_t p = start(PROG, "kt-sleep", PROG);
    KT_TRUE(p > 0, "the child does not run " PROG);
    KT_SYS_OK(rename(PROG2, PROG));
    /* the name is a new file now: writable; the old one still runs */
    int fd = KT_SYS_OK(open(PROG, O_WRONLY));
    close(fd);
    KT_SYS_OK(copy_self(PROG2));
    pid_t q = start(PROG2, "kt-sleep", PROG2);
    KT_TRUE(q > 0, "the child does not run " PROG2);
    KT_SYS_OK(unlink(PROG2));
    fd = KT_SYS_OK(open(PROG2, O_CREAT | O_WRONLY, 0755));
    close(fd);
    KT_STATUS(stop(p), kt_killed(SIGKILL));
    KT_STATUS(stop(q), kt_killed(SIGKILL));
    unlink(PROG);
    unlink(PROG2);
    unlink(SCRIPT);
    unlink(LIB);
}

/* A memfd is made open for writing by the kernel (alloc_file_pseudo), not
 * by open(2): it is no writer of its inode, so it can be executed while
 * it stays open (fexecve of a memfd, as runc does). */
KT_CASE(a_memfd_open_for_writing_can_be_executed) {
    int in = KT_SYS_OK(open("/proc/self/exe", O_RDONLY));
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof image && (r = read(in, image + n, sizeof image - n)) > 0) n += r;
    close(in);
    int m = KT_SYS_OK((int)syscall(SYS_memfd_create, "etx", 0));
    KT_SYS_RET(write(m, image, n), n);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", m);
    pid_t p = KT_FORK();
    if (p == 0) {
        char *argv[] = {"etx", "kt-exit", "7", 0};
        char *envp[] = {0};
        execve(path, argv, envp);
        _exit(100 + errno);
    }
    KT_WAIT_STATUS(p, kt_exited(7));
    close(m);
}

int main(int argc, char **argv) {
    etx_fork_helper(argc, argv);
    etx_leader_exit_helper(argc, argv);
    return kt_main(argc, argv);
}
