/* System V semaphores as Linux 6.1: semget's and semop's errors in
 * their order, semctl's values, pids, counts and times, all-or-nothing
 * operation arrays, the order blocked operations are woken in, SEM_UNDO
 * at exit (clamped, cleared by SETVAL), EIDRM for a sleeper when the set
 * goes, EINTR by a signal, semtimedop's timeout, IPC_INFO/SEM_INFO,
 * /proc/sysvipc/sem and per-IPC-namespace sets. Run as root; the cases
 * that count or list objects run in a new IPC namespace. */
#include "kt.h"

#include <pthread.h>
#include <sched.h>
#include <grp.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>

#define KEY 0x6b735301

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    void *info;
};

static long sctl(int id, int num, int cmd, long arg) { return syscall(SYS_semctl, id, num, cmd, arg); }
static long sop(int id, struct sembuf *s, long n) { return syscall(SYS_semop, id, s, n); }
static long stimed(int id, struct sembuf *s, long n, const struct timespec *ts) {
    return syscall(SYS_semtimedop, id, s, n, ts);
}

static int new_set(int n) { return semget(IPC_PRIVATE, n, 0600); }

/* waits up to 2 s for semctl(cmd) on semaphore num to reach want */
static int wait_count(int id, int num, int cmd, int want) {
    for (int i = 0; i < 400; i++) {
        if (sctl(id, num, cmd, 0) == want) return 1;
        kt_msleep(5);
    }
    return 0;
}

KT_CASE(semget_errors) {
    KT_SYS_ERR(semget(IPC_PRIVATE, -1, 0600), EINVAL);
    KT_SYS_ERR(semget(IPC_PRIVATE, 32001, 0600), EINVAL);
    KT_SYS_ERR(semget(IPC_PRIVATE, 0, 0600), EINVAL);
    semctl(semget(KEY, 0, 0), 0, IPC_RMID);
    KT_SYS_ERR(semget(KEY, 2, 0600), ENOENT);
    int id = KT_SYS_OK(semget(KEY, 2, IPC_CREAT | 0600));
    KT_SYS_RET(semget(KEY, 2, IPC_CREAT | 0600), id);
    KT_SYS_RET(semget(KEY, 0, 0), id);
    KT_SYS_ERR(semget(KEY, 2, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    KT_SYS_ERR(semget(KEY, 3, 0), EINVAL);
    /* EEXIST comes before the size check */
    KT_SYS_ERR(semget(KEY, 3, IPC_CREAT | IPC_EXCL), EEXIST);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
    KT_SYS_ERR(semctl(id, 0, IPC_RMID), EINVAL);
    KT_SYS_ERR(semget(KEY, 2, 0600), ENOENT);
    KT_SYS_ERR(semctl(-1, 0, IPC_RMID), EINVAL);
}

KT_CASE(semop_errors_in_order) {
    int id = KT_SYS_OK(new_set(2));
    static struct sembuf many[501];
    struct sembuf s[2] = {{0, -1, IPC_NOWAIT}, {1, 1, 0}};
    KT_SYS_ERR(sop(id, many, 501), E2BIG);
    KT_SYS_ERR(sop(id, s, 0), EINVAL);
    /* E2BIG before EFAULT; EFAULT before the id */
    KT_SYS_ERR(sop(id, (void *)8, 501), E2BIG);
    KT_SYS_ERR(sop(-1, (void *)8, 1), EFAULT);
    KT_SYS_ERR(sop(-1, s, 1), EINVAL);
    struct sembuf far = {2, 1, 0};
    KT_SYS_ERR(sop(id, &far, 1), EFBIG);
    KT_SYS_ERR(sop(id + 32768, &far, 1), EINVAL);
    /* the first operation would wait: EAGAIN, the second not applied */
    KT_SYS_ERR(sop(id, s, 2), EAGAIN);
    KT_EQ(sctl(id, 1, GETVAL, 0), 0);
    struct sembuf big = {0, 32767, 0}, one = {0, 1, 0};
    KT_SYS_OK(sop(id, &big, 1));
    KT_SYS_ERR(sop(id, &one, 1), ERANGE);
    /* wait-for-zero with IPC_NOWAIT on a non-zero value */
    struct sembuf z = {0, 0, IPC_NOWAIT};
    KT_SYS_ERR(sop(id, &z, 1), EAGAIN);
    /* semtimedop: a bad timeout is EINVAL, after the array's checks */
    struct timespec bad = {0, 1000000000L}, t50 = {0, 50 * 1000000L};
    KT_SYS_ERR(stimed(id, &far, 1, &bad), EINVAL);
    KT_SYS_ERR(stimed(id, &far, 1, (void *)8), EFAULT);
    struct sembuf w = {1, -1, 0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    KT_SYS_ERR(stimed(id, &w, 1, &t50), EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    KT_TRUE(ms >= 45, "timed out after %ld ms", ms);
    KT_EQ(sctl(id, 1, GETNCNT, 0), 0);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

KT_CASE(semctl_values_pids_times) {
    int id = KT_SYS_OK(new_set(3));
    struct semid_ds ds;
    KT_SYS_OK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    KT_EQ(ds.sem_nsems, 3);
    KT_EQ(ds.sem_perm.mode, 0600);
    KT_EQ(ds.sem_otime, 0);
    KT_TRUE(ds.sem_ctime > 0, "ctime %ld", (long)ds.sem_ctime);
    KT_SYS_ERR(sctl(id, 0, SETVAL, -1), ERANGE);
    KT_SYS_ERR(sctl(id, 0, SETVAL, 32768), ERANGE);
    KT_SYS_ERR(sctl(id, 3, SETVAL, 1), EINVAL);
    KT_SYS_ERR(sctl(id, 3, GETVAL, 0), EINVAL);
    KT_SYS_ERR(sctl(id, -1, GETPID, 0), EINVAL);
    KT_SYS_OK(sctl(id, 1, SETVAL, 7));
    KT_EQ(sctl(id, 1, GETVAL, 0), 7);
    KT_EQ(sctl(id, 1, GETPID, 0), getpid());
    KT_EQ(sctl(id, 0, GETPID, 0), 0);
    unsigned short v[3] = {1, 2, 3}, got[3] = {0};
    KT_SYS_OK(sctl(id, 0, SETALL, (long)v));
    KT_SYS_OK(sctl(id, 0, GETALL, (long)got));
    KT_TRUE(got[0] == 1 && got[1] == 2 && got[2] == 3, "%d %d %d", got[0], got[1], got[2]);
    KT_SYS_ERR(sctl(id, 0, GETALL, 8), EFAULT);
    unsigned short big[3] = {0, 32768, 0};
    KT_SYS_ERR(sctl(id, 0, SETALL, (long)big), ERANGE);
    KT_EQ(sctl(id, 1, GETVAL, 0), 2);
    /* a semop sets otime and the pid of what it changed */
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sembuf s = {2, -1, 0};
        _exit(sop(id, &s, 1) == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(sctl(id, 2, GETPID, 0), c);
    KT_EQ(sctl(id, 2, GETVAL, 0), 2);
    KT_SYS_OK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    KT_TRUE(ds.sem_otime > 0, "otime %ld", (long)ds.sem_otime);
    KT_SYS_ERR(sctl(id, 0, 99, 0), EINVAL);
    KT_SYS_ERR(sctl(id, 0, IPC_STAT | 0x100, (long)&ds), EINVAL);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

/* Children that block on the set write their letter to the pipe when
 * their semop returns. */
static pid_t blocker(int id, int fd, char letter, struct sembuf *s, int n) {
    pid_t c = fork();
    if (c == 0) {
        long r = sop(id, s, n);
        char m = r == 0 ? letter : '!';
        write(fd, &m, 1);
        _exit(0);
    }
    return c;
}

static int got_letters(int fd, char *buf, int want) {
    int n = 0;
    for (int i = 0; i < 400 && n < want; i++) {
        int r = read(fd, buf + n, want - n);
        if (r > 0) n += r;
        else kt_msleep(5);
    }
    buf[n] = 0;
    return n;
}

KT_CASE(wakeup_order) {
    int id = KT_SYS_OK(new_set(2));
    int p[2];
    KT_SYS_OK(pipe2(p, O_NONBLOCK));
    char buf[8];
    struct sembuf a = {0, -2, 0}, b = {0, -1, 0}, c = {0, -1, 0};
    blocker(id, p[1], 'A', &a, 1);
    KT_TRUE(wait_count(id, 0, GETNCNT, 1), "A waits");
    pid_t pb = blocker(id, p[1], 'B', &b, 1);
    KT_TRUE(wait_count(id, 0, GETNCNT, 2), "B waits");
    blocker(id, p[1], 'C', &c, 1);
    KT_TRUE(wait_count(id, 0, GETNCNT, 3), "C waits");
    /* +1: A (first) cannot, B can, applied for B (its pid); C sees 0 */
    struct sembuf up = {0, 1, 0};
    KT_SYS_OK(sop(id, &up, 1));
    KT_EQ(got_letters(p[0], buf, 1), 1);
    KT_EQ(buf[0], 'B');
    KT_EQ(sctl(id, 0, GETPID, 0), pb);
    kt_msleep(50);
    KT_EQ(read(p[0], buf, 1), -1);
    KT_EQ(sctl(id, 0, GETNCNT, 0), 2);
    /* SETVAL 2: A, first in the queue, takes both; C keeps waiting */
    KT_SYS_OK(sctl(id, 0, SETVAL, 2));
    KT_EQ(got_letters(p[0], buf, 1), 1);
    KT_EQ(buf[0], 'A');
    kt_msleep(50);
    KT_EQ(read(p[0], buf, 1), -1);
    KT_EQ(sctl(id, 0, GETNCNT, 0), 1);
    KT_EQ(sctl(id, 0, GETVAL, 0), 0);
    KT_SYS_OK(sop(id, &up, 1));
    KT_EQ(got_letters(p[0], buf, 1), 1);
    KT_EQ(buf[0], 'C');
    /* wait-for-zero: semzcnt, woken when the value reaches 0; a complex
     * operation counts on the semaphore it blocks on */
    KT_SYS_OK(sctl(id, 1, SETVAL, 2));
    struct sembuf z = {1, 0, 0};
    blocker(id, p[1], 'Z', &z, 1);
    KT_TRUE(wait_count(id, 1, GETZCNT, 1), "Z waits");
    static struct sembuf cx[2] = {{0, 1, 0}, {1, 0, 0}};
    blocker(id, p[1], 'X', cx, 2);
    KT_TRUE(wait_count(id, 1, GETZCNT, 2), "X waits");
    KT_EQ(sctl(id, 0, GETNCNT, 0), 0);
    struct sembuf down = {1, -1, 0};
    KT_SYS_OK(sop(id, &down, 1));
    kt_msleep(30);
    KT_EQ(read(p[0], buf, 1), -1);
    KT_SYS_OK(sop(id, &down, 1));
    KT_EQ(got_letters(p[0], buf, 2), 2);
    KT_TRUE((buf[0] == 'Z' && buf[1] == 'X') || (buf[0] == 'X' && buf[1] == 'Z'), "woken %s", buf);
    KT_EQ(sctl(id, 0, GETVAL, 0), 1);
    KT_EQ(sctl(id, 1, GETZCNT, 0), 0);
    while (waitpid(-1, 0, 0) > 0) {
    }
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
    close(p[0]);
    close(p[1]);
}

KT_CASE(undo_at_exit) {
    int id = KT_SYS_OK(new_set(1));
    KT_SYS_OK(sctl(id, 0, SETVAL, 5));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sembuf s[2] = {{0, -2, SEM_UNDO}, {0, 1, 0}};
        _exit(sop(id, s, 2) == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    /* 5 - 2 + 1, then the -2 undone */
    KT_EQ(sctl(id, 0, GETVAL, 0), 6);
    KT_EQ(sctl(id, 0, GETPID, 0), c);
    /* clamped at 0: +5 with undo, the parent takes 4, the child exits */
    KT_SYS_OK(sctl(id, 0, SETVAL, 0));
    int p[2];
    KT_SYS_OK(pipe(p));
    c = KT_FORK();
    if (c == 0) {
        struct sembuf s = {0, 5, SEM_UNDO};
        char x;
        if (sop(id, &s, 1) != 0) _exit(1);
        read(p[0], &x, 1);
        _exit(0);
    }
    struct sembuf d = {0, -4, 0};
    KT_SYS_OK(sop(id, &d, 1));
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(sctl(id, 0, GETVAL, 0), 0);
    /* SETVAL clears the adjustments: the exit changes nothing */
    c = KT_FORK();
    if (c == 0) {
        struct sembuf s = {0, 2, SEM_UNDO};
        char x;
        if (sop(id, &s, 1) != 0) _exit(1);
        read(p[0], &x, 1);
        _exit(0);
    }
    KT_TRUE(wait_count(id, 0, GETVAL, 2), "child's +2");
    KT_SYS_OK(sctl(id, 0, SETVAL, 10));
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(sctl(id, 0, GETVAL, 0), 10);
    /* the undo range: an adjustment past 32767 is ERANGE; the exit's
     * value is clamped at 32767 */
    KT_SYS_OK(sctl(id, 0, SETVAL, 32767));
    c = KT_FORK();
    if (c == 0) {
        struct sembuf s = {0, -32767, SEM_UNDO}, u = {0, 1, 0}, q = {0, -1, SEM_UNDO};
        if (sop(id, &s, 1) != 0) _exit(1);
        if (sop(id, &u, 1) != 0) _exit(2);
        if (sop(id, &q, 1) != -1 || errno != ERANGE) _exit(3);
        if (semctl(id, 0, GETVAL) != 1) _exit(4);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(sctl(id, 0, GETVAL, 0), 32767);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
    close(p[0]);
    close(p[1]);
}

KT_CASE(fork_does_not_share_undo) {
    /* the parent's undo list is not the child's (fork without
     * CLONE_SYSVSEM): the child's exit undoes its own only */
    int id = KT_SYS_OK(new_set(1));
    struct sembuf up = {0, 3, SEM_UNDO};
    KT_SYS_OK(sop(id, &up, 1));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sembuf s = {0, 1, SEM_UNDO};
        _exit(sop(id, &s, 1) == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(sctl(id, 0, GETVAL, 0), 3);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

KT_CASE(mutex_under_contention) {
    /* a binary semaphore guarding a shared counter: 3 processes, 1000
     * rounds each; every P sleeps or passes, every V wakes the next */
    int id = KT_SYS_OK(new_set(1));
    KT_SYS_OK(sctl(id, 0, SETVAL, 1));
    volatile long *counter = kt_shared_page();
    KT_TRUE(counter != 0, "shared page");
    *counter = 0;
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = KT_FORK();
        if (kids[k] == 0) {
            struct sembuf p = {0, -1, SEM_UNDO}, v = {0, 1, SEM_UNDO};
            for (int i = 0; i < 1000; i++) {
                if (sop(id, &p, 1) != 0) _exit(1);
                long c = *counter;
                if (i % 64 == 0) sched_yield();
                *counter = c + 1;
                if (sop(id, &v, 1) != 0) _exit(2);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 3; k++) KT_WAIT_STATUS(kids[k], kt_exited(0));
    KT_EQ(*counter, 3000);
    KT_EQ(sctl(id, 0, GETVAL, 0), 1);
    KT_EQ(sctl(id, 0, GETNCNT, 0), 0);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

static int thread_set;
static volatile pid_t undo_tid;
static void *undo_thread(void *a) {
    struct sembuf s = {0, 2, SEM_UNDO};
    (void)a;
    undo_tid = (pid_t)syscall(SYS_gettid);
    return (void *)sop(thread_set, &s, 1);
}

/* pthread_join returns at the exiting thread's CLEARTID wake (Linux's
 * exit_mm), before that thread's exit_sem drops its hold on the shared
 * undo list; an unshare(CLONE_SYSVSEM) in that window finds the list
 * still shared and leaves the undo to the thread (seen under Linux on a
 * loaded host: 5 where 0 was wanted). Waits until the thread is released
 * (its /proc/self/task entry gone, after exit_sem), at most 5 s. */
static int wait_thread_released(pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
    for (int i = 0; i < 5000; i++) {
        if (access(path, F_OK) != 0) return errno == ENOENT;
        usleep(1000);
    }
    return 0;
}

static int threads_child(void) {
    pthread_t th;
    void *r = (void *)1;
    KT_CHILD_CHECK(1, pthread_create(&th, 0, undo_thread, 0) == 0);
    KT_CHILD_CHECK(2, pthread_join(th, &r) == 0 && r == 0);
    KT_CHILD_CHECK(9, wait_thread_released(undo_tid));
    /* the thread's exit leaves the process's list alone */
    KT_CHILD_CHECK(3, semctl(thread_set, 0, GETVAL) == 2);
    /* unshare(CLONE_SYSVSEM) is an exit for the list: undone now */
    struct sembuf s = {0, 3, SEM_UNDO};
    KT_CHILD_CHECK(4, sop(thread_set, &s, 1) == 0 && semctl(thread_set, 0, GETVAL) == 5);
    KT_CHILD_CHECK(5, unshare(CLONE_SYSVSEM) == 0);
    KT_CHILD_CHECK(6, semctl(thread_set, 0, GETVAL) == 0);
    KT_CHILD_CHECK(7, semctl(thread_set, 0, GETPID) == getpid());
    /* a new list after it */
    struct sembuf t = {0, 4, SEM_UNDO};
    KT_CHILD_CHECK(8, sop(thread_set, &t, 1) == 0);
    return 0;
}

static int setns_child(void) {
    struct sembuf s = {0, 2, SEM_UNDO};
    KT_CHILD_CHECK(1, sop(thread_set, &s, 1) == 0 && semctl(thread_set, 0, GETVAL) == 2);
    int fd = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(2, fd >= 0);
    /* entering an IPC namespace (its own, here) ends the undo list */
    KT_CHILD_CHECK(3, setns(fd, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(4, semctl(thread_set, 0, GETVAL) == 0);
    close(fd);
    return 0;
}

KT_CASE(setns_ends_the_undo_list) {
    thread_set = KT_SYS_OK(new_set(1));
    KT_EQ(kt_in_child(setns_child), 0);
    KT_EQ(sctl(thread_set, 0, GETVAL, 0), 0);
    KT_SYS_OK(semctl(thread_set, 0, IPC_RMID));
}

KT_CASE(threads_share_the_undo_list) {
    thread_set = KT_SYS_OK(new_set(1));
    KT_EQ(kt_in_child(threads_child), 0);
    KT_EQ(sctl(thread_set, 0, GETVAL, 0), 0);
    KT_SYS_OK(semctl(thread_set, 0, IPC_RMID));
}

static int pidns_set;
static int pidns_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWPID) == 0);
    pid_t g = fork();
    if (g == 0) {
        struct sembuf s = {0, 1, 0};
        if (sop(pidns_set, &s, 1) != 0) _exit(1);
        /* GETPID is the caller's PID namespace's number: 1 in its own */
        _exit(semctl(pidns_set, 0, GETPID) == 1 ? 0 : 2);
    }
    int st = 0;
    KT_CHILD_CHECK(2, waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    KT_CHILD_CHECK(3, semctl(pidns_set, 0, GETPID) == g);
    return 0;
}

KT_CASE(getpid_in_pid_namespaces) {
    pidns_set = KT_SYS_OK(new_set(1));
    KT_EQ(kt_in_child(pidns_child), 0);
    KT_SYS_OK(semctl(pidns_set, 0, IPC_RMID));
}

static volatile int got_usr1;
static void on_usr1(int s) {
    (void)s;
    got_usr1 = 1;
}

KT_CASE(eidrm_and_eintr_for_sleepers) {
    int id = KT_SYS_OK(new_set(1));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sembuf s = {0, -1, 0};
        long r = sop(id, &s, 1);
        _exit(r == -1 && errno == EIDRM ? 0 : 1);
    }
    KT_TRUE(wait_count(id, 0, GETNCNT, 1), "child waits");
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
    KT_WAIT_STATUS(c, kt_exited(0));

    id = KT_SYS_OK(new_set(1));
    c = KT_FORK();
    if (c == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, 0);
        struct sembuf s = {0, 0, 0};
        semctl(id, 0, SETVAL, 1);
        long r = sop(id, &s, 1);
        /* never restarted, even with SA_RESTART */
        _exit(r == -1 && errno == EINTR && got_usr1 ? 0 : 1);
    }
    KT_TRUE(wait_count(id, 0, GETZCNT, 1), "child waits for zero");
    KT_SYS_OK(kill(c, SIGUSR1));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(sctl(id, 0, GETZCNT, 0), 0);
    KT_EQ(sctl(id, 0, GETVAL, 0), 1);
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

KT_CASE(permissions_and_ipc_set) {
    int id = KT_SYS_OK(semget(IPC_PRIVATE, 1, 0640));
    struct semid_ds ds;
    KT_SYS_OK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    ds.sem_perm.uid = 1000;
    ds.sem_perm.mode = 0604;
    KT_SYS_OK(semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
    KT_SYS_OK(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    KT_EQ(ds.sem_perm.uid, 1000);
    KT_EQ(ds.sem_perm.cuid, 0);
    KT_EQ(ds.sem_perm.mode, 0604);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(2000) || setuid(2000)) _exit(1);
        struct sembuf up = {0, 1, 0}, z = {0, 0, IPC_NOWAIT};
        if (sop(id, &up, 1) != -1 || errno != EACCES) _exit(2);
        if (sop(id, &z, 1) != 0) _exit(3); /* read is allowed */
        if (semctl(id, 0, SETVAL, 1) != -1 || errno != EACCES) _exit(4);
        if (semctl(id, 0, IPC_RMID) != -1 || errno != EPERM) _exit(5);
        if (semget(IPC_PRIVATE, 1, 0600) < 0) _exit(6);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

static int ns_child(void) {
    int outer = semget(KEY, 1, IPC_CREAT | 0600);
    KT_CHILD_CHECK(1, outer >= 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(3, semget(KEY, 1, 0) == -1 && errno == ENOENT);
    KT_CHILD_CHECK(4, semctl(outer, 0, GETVAL) == -1 && errno == EINVAL);
    char buf[4096];
    KT_CHILD_CHECK(5, kt_read_text("/proc/sysvipc/sem", buf, sizeof buf) > 0);
    KT_CHILD_CHECK(6, strcmp(buf, "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n") == 0);
    /* limits and counts of this namespace */
    int info[10];
    KT_CHILD_CHECK(7, semctl(0, 0, IPC_INFO, info) == 0);
    KT_CHILD_CHECK(8, info[1] == 32000 && info[2] == 1024000000 && info[4] == 32000 && info[5] == 500 &&
                          info[7] == 20 && info[8] == 32767 && info[9] == 32767);
    int a = semget(KEY, 3, IPC_CREAT | 0640);
    int b = semget(IPC_PRIVATE, 2, 0600);
    KT_CHILD_CHECK(9, a == 0 && b == 1);
    KT_CHILD_CHECK(10, semctl(0, 0, SEM_INFO, info) == 1);
    KT_CHILD_CHECK(11, info[7] == 2 && info[9] == 5);
    struct semid_ds ds;
    KT_CHILD_CHECK(12, semctl(1, 0, SEM_STAT, &ds) == b && ds.sem_nsems == 2);
    KT_CHILD_CHECK(13, semctl(a, 0, IPC_STAT, &ds) == 0);
    char want[512];
    int n = snprintf(want, sizeof want,
                     "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
                     "%10d %10d  %4o %10u %5u %5u %5u %5u %10llu %10llu\n",
                     KEY, a, 0640, 3, 0, 0, 0, 0, 0ULL, (unsigned long long)ds.sem_ctime);
    snprintf(want + n, sizeof want - n, "%10d %10d  %4o %10u %5u %5u %5u %5u %10llu %10llu\n", 0, b, 0600, 2, 0,
             0, 0, 0, 0ULL, (unsigned long long)ds.sem_ctime);
    KT_CHILD_CHECK(14, kt_read_text("/proc/sysvipc/sem", buf, sizeof buf) > 0);
    if (strcmp(buf, want) != 0) printf("  got:\n%s  want:\n%s", buf, want);
    KT_CHILD_CHECK(15, strcmp(buf, want) == 0);
    /* the limits: SEMMNS and SEMMNI from kernel.sem */
    int fd = open("/proc/sys/kernel/sem", O_WRONLY);
    KT_CHILD_CHECK(16, fd >= 0 && write(fd, "250 6 500 3", 11) == 11);
    close(fd);
    KT_CHILD_CHECK(17, semget(IPC_PRIVATE, 2, 0600) == -1 && errno == ENOSPC);
    KT_CHILD_CHECK(18, semget(IPC_PRIVATE, 251, 0600) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(19, semget(IPC_PRIVATE, 1, 0600) == 2);
    KT_CHILD_CHECK(20, semget(IPC_PRIVATE, 1, 0600) == -1 && errno == ENOSPC);
    return 0;
}

KT_CASE(namespaces_limits_and_proc) {
    KT_EQ(kt_in_child(ns_child), 0);
    /* the outer set is still there */
    int id = KT_SYS_OK(semget(KEY, 1, 0));
    KT_SYS_OK(semctl(id, 0, IPC_RMID));
}

/* ipcperms' in_group_p: a supplementary group of the caller counts as
 * the object's group. */
static int gid_sem, gid_msg;
static int groups_grandchild(void) {
    gid_t g[1] = {50};
    KT_CHILD_CHECK(1, setgroups(1, g) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
    /* owner 2000, creator root: only the group bits apply */
    KT_CHILD_CHECK(2, semctl(gid_sem, 0, GETVAL) == 0);
    struct sembuf op = {0, 1, IPC_NOWAIT};
    KT_CHILD_CHECK(3, semop(gid_sem, &op, 1) == 0);
    struct msqid_ds mds;
    KT_CHILD_CHECK(4, msgctl(gid_msg, IPC_STAT, &mds) == 0);
    struct {
        long t;
        char c;
    } m = {1, 'x'};
    KT_CHILD_CHECK(5, msgsnd(gid_msg, &m, 1, IPC_NOWAIT) == -1 && errno == EACCES);
    /* without the group: the other bits */
    gid_t none[1] = {51};
    KT_CHILD_CHECK(6, setgroups(1, none) == -1 && errno == EPERM);
    return 0;
}

static int groups_child(void) {
    gid_sem = semget(IPC_PRIVATE, 1, 0660);
    gid_msg = msgget(IPC_PRIVATE, 0640);
    KT_CHILD_CHECK(1, gid_sem >= 0 && gid_msg >= 0);
    struct semid_ds ds;
    KT_CHILD_CHECK(2, semctl(gid_sem, 0, IPC_STAT, &ds) == 0);
    ds.sem_perm.uid = 2000;
    ds.sem_perm.gid = 50;
    KT_CHILD_CHECK(3, semctl(gid_sem, 0, IPC_SET, &ds) == 0);
    struct msqid_ds mds;
    KT_CHILD_CHECK(4, msgctl(gid_msg, IPC_STAT, &mds) == 0);
    mds.msg_perm.uid = 2000;
    mds.msg_perm.gid = 50;
    KT_CHILD_CHECK(5, msgctl(gid_msg, IPC_SET, &mds) == 0);
    int r = kt_in_child(groups_grandchild);
    if (r != 0) printf("  grandchild: check %d failed\n", r);
    KT_CHILD_CHECK(6, semctl(gid_sem, 0, GETVAL) == 1);
    semctl(gid_sem, 0, IPC_RMID);
    msgctl(gid_msg, IPC_RMID, 0);
    KT_CHILD_CHECK(7, r == 0);
    return 0;
}

KT_CASE(supplementary_groups_count) { KT_EQ(kt_in_child(groups_child), 0); }

KT_MAIN()
