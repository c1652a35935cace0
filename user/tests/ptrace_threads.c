/* ptrace(2) of threads: each thread (task) is a tracee of its own, as on
 * Linux. PTRACE_O_TRACECLONE attaches a new thread (PTRACE_EVENT_CLONE
 * with its tid, then its SIGSTOP); wait(__WALL) reports each thread's stop
 * by its tid; registers, siginfo, resumes and syscall stops are per
 * thread; SEIZE/INTERRUPT and ATTACH of a thread's tid trace that thread
 * only; a thread made without TRACECLONE is not traced; exec from a thread
 * reports PTRACE_EVENT_EXEC on the leader's tid with the old tid in
 * GETEVENTMSG; a thread's exit stops at PTRACE_EVENT_EXIT, then its exit
 * is reported; a group stop stops every traced thread. */
#include "kt_ptrace.h"
#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/user.h>

#define OFF(reg) ((void *)offsetof(struct user_regs_struct, reg))

static int tid_pipe[2];
static int note_pipe[2];

static void *thr_pause(void *a) {
    (void)a;
    for (;;) pause();
    return 0;
}

static void *thr_getppid(void *a) {
    (void)a;
    for (;;) syscall(SYS_getppid);
    return 0;
}

static void *thr_exit7(void *a) {
    (void)a;
    syscall(SYS_exit, 7);
    return 0;
}

static void *thr_exec(void *a) {
    (void)a;
    execl(kt_self, kt_self, "kt-exit", "13", (char *)0);
    _exit(99);
}

static void *thr_report(void *a) {
    (void)a;
    pid_t me = (pid_t)syscall(SYS_gettid);
    if (write(tid_pipe[1], &me, sizeof me) != sizeof me) _exit(61);
    for (;;) pause();
    return 0;
}

static void spawn(void *(*fn)(void *)) {
    pthread_t th;
    if (pthread_create(&th, 0, fn, 0) != 0) _exit(60);
}

static void body_pause(void) {
    spawn(thr_pause);
    for (;;) pause();
}
static void body_getppid(void) {
    spawn(thr_getppid);
    for (;;) pause();
}
static void body_exit7(void) {
    spawn(thr_exit7);
    for (;;) pause();
}
static void body_exec(void) {
    spawn(thr_exec);
    for (;;) pause();
}

static void on_usr2(int s) {
    (void)s;
    char c = 'u';
    if (write(note_pipe[1], &c, 1) != 1) _exit(62);
}
static void body_report(void) {
    signal(SIGUSR2, on_usr2);
    spawn(thr_report);
    for (;;) pause();
}

/* Kills the tracee and reaps whatever it (and its threads) report (a
 * PTRACE_EVENT_EXIT stop on the way out goes on). */
static void kill_drain(pid_t c) {
    int st;
    kill(c, SIGKILL);
    for (;;) {
        pid_t r = waitpid(-1, &st, __WALL);
        if (r > 0 && WIFSTOPPED(st)) ptrace(PTRACE_CONT, r, 0, 0);
        if (r > 0 || (r == -1 && errno == EINTR)) continue;
        break;
    }
}

/* A traced child with PTRACE_O_TRACECLONE (and `opts`) that creates a
 * thread: returns with the leader in its PTRACE_EVENT_CLONE stop and the
 * new thread (*tid) in its SIGSTOP stop; -1 after failing the case. */
static pid_t start_threaded(void (*body)(void), long opts, pid_t *tid) {
    pid_t c = kt_start_traced(body);
    if (c < 0) return -1;
    int st = 0;
    unsigned long msg = 0;
    if (ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACECLONE | opts) != 0 || ptrace(PTRACE_CONT, c, 0, 0) != 0 ||
        waitpid(c, &st, __WALL) != c || (st >> 8) != (SIGTRAP | (PTRACE_EVENT_CLONE << 8)) ||
        ptrace(PTRACE_GETEVENTMSG, c, 0, &msg) != 0) {
        kt_fail("start_threaded: clone event: status 0x%x errno %s", st, kt_errname(errno));
        kill_drain(c);
        return -1;
    }
    *tid = (pid_t)msg;
    if (waitpid(*tid, &st, __WALL) != *tid || st != kt_stopped(SIGSTOP)) {
        kt_fail("start_threaded: thread %d: status 0x%x errno %s", (int)*tid, st, kt_errname(errno));
        kill_drain(c);
        return -1;
    }
    return c;
}

KT_CASE(clone_event_names_the_new_thread) {
    pid_t t;
    pid_t c = start_threaded(body_pause, 0, &t);
    if (c < 0) return;
    KT_NE(t, c);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)c, (int)t);
    KT_SYS_RET(access(path, F_OK), 0);
    /* both are in trace stops at once */
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, c, OFF(orig_rax), 0), SYS_clone);
    errno = 0;
    ptrace(PTRACE_PEEKUSER, t, OFF(rax), 0);
    KT_EQ(errno, 0);
    kill_drain(c);
}

KT_CASE(wait_any_reports_each_thread_by_tid) {
    pid_t c = kt_start_traced(body_pause);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACECLONE), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    int st, event = 0, thread_stop = 0;
    pid_t other = 0;
    for (int i = 0; i < 2; i++) {
        pid_t r = waitpid(-1, &st, __WALL);
        if (r == c) {
            KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_CLONE << 8));
            event++;
        } else {
            KT_STATUS(st, kt_stopped(SIGSTOP));
            other = r;
            thread_stop++;
        }
    }
    KT_EQ(event, 1);
    KT_EQ(thread_stop, 1);
    unsigned long msg = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &msg), 0);
    KT_EQ((pid_t)msg, other);
    /* nothing more to report */
    KT_SYS_RET(waitpid(-1, &st, __WALL | WNOHANG), 0);
    kill_drain(c);
}

KT_CASE(registers_are_per_thread) {
    pid_t t;
    pid_t c = start_threaded(body_pause, 0, &t);
    if (c < 0) return;
    struct user_regs_struct rc, rt;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &rc), 0);
    KT_SYS_RET(ptrace(PTRACE_GETREGS, t, 0, &rt), 0);
    KT_NE(rc.rsp, rt.rsp);
    KT_EQ(rt.rax, 0); /* clone returned 0 in the new thread */
    KT_EQ(rc.orig_rax, SYS_clone);
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, t, OFF(rsp), 0), (long)rt.rsp);
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, c, OFF(rsp), 0), (long)rc.rsp);
    /* a write to one thread's registers leaves the other's alone */
    KT_SYS_RET(ptrace(PTRACE_POKEUSER, t, OFF(r12), 0x1234abcd), 0);
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, t, OFF(r12), 0), 0x1234abcd);
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, c, OFF(r12), 0), (long)rc.r12);
    kill_drain(c);
}

KT_CASE(siginfo_is_per_thread) {
    pid_t t;
    pid_t c = start_threaded(body_pause, 0, &t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    int st;
    KT_SYS_RET(syscall(SYS_tgkill, c, t, SIGUSR1), 0);
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(syscall(SYS_tgkill, c, c, SIGUSR2), 0);
    KT_SYS_RET(waitpid(c, &st, __WALL), c);
    KT_STATUS(st, kt_stopped(SIGUSR2));
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, t, 0, &si), 0);
    KT_EQ(si.si_signo, SIGUSR1);
    KT_EQ(si.si_code, SI_TKILL);
    KT_EQ(si.si_pid, getpid());
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGUSR2);
    kill_drain(c);
}

KT_CASE(resuming_one_thread_leaves_the_other_stopped) {
    pid_t t;
    pid_t c = start_threaded(body_pause, 0, &t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    /* the running thread takes no requests; the stopped one does */
    KT_SYS_ERR(ptrace(PTRACE_PEEKUSER, t, OFF(rsp), 0), ESRCH);
    KT_SYS_ERR(ptrace(PTRACE_CONT, t, 0, 0), ESRCH);
    struct user_regs_struct r;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    KT_EQ(r.orig_rax, SYS_clone);
    int st;
    KT_SYS_RET(waitpid(-1, &st, __WALL | WNOHANG), 0);
    /* a thread id that is not a tracee's thread */
    KT_SYS_ERR(ptrace(PTRACE_GETREGS, getpid(), 0, &r), ESRCH);
    kill_drain(c);
}

KT_CASE(syscall_stops_of_one_thread) {
    pid_t t;
    pid_t c = start_threaded(body_getppid, PTRACE_O_TRACESYSGOOD, &t);
    if (c < 0) return;
    int st, entered = 0, exited = 0;
    long ret = 0;
    for (int i = 0; i < 40 && !exited; i++) {
        KT_SYS_RET(ptrace(PTRACE_SYSCALL, t, 0, 0), 0);
        KT_SYS_RET(waitpid(t, &st, __WALL), t);
        if (!WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80)) {
            kt_fail("stop 0x%x", st);
            break;
        }
        long nr = ptrace(PTRACE_PEEKUSER, t, OFF(orig_rax), 0);
        if (nr != SYS_getppid) continue;
        if (!entered) {
            entered = 1;
            KT_EQ(ptrace(PTRACE_PEEKUSER, t, OFF(rax), 0), -ENOSYS);
        } else {
            exited = 1;
            ret = ptrace(PTRACE_PEEKUSER, t, OFF(rax), 0);
        }
    }
    KT_EQ(entered, 1);
    KT_EQ(exited, 1);
    KT_EQ(ret, getpid());
    /* the leader stayed in its clone event stop meanwhile */
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, c, OFF(orig_rax), 0), SYS_clone);
    KT_SYS_RET(waitpid(c, &st, __WALL | WNOHANG), 0);
    kill_drain(c);
}

/* A child (not traced) whose thread sends its tid through tid_pipe. */
static pid_t start_untraced_threaded(pid_t *tid) {
    if (pipe(tid_pipe) != 0 || pipe(note_pipe) != 0) {
        kt_fail("pipe: %s", kt_errname(errno));
        return -1;
    }
    pid_t c = fork();
    if (c == 0) body_report();
    *tid = 0;
    if (c < 0 || read(tid_pipe[0], tid, sizeof *tid) != sizeof *tid) {
        kt_fail("start_untraced_threaded: %s", kt_errname(errno));
        if (c > 0) kill_drain(c);
        return -1;
    }
    return c;
}

static void close_pipes(void) {
    close(tid_pipe[0]);
    close(tid_pipe[1]);
    close(note_pipe[0]);
    close(note_pipe[1]);
}

KT_CASE(seize_and_interrupt_one_thread) {
    pid_t t;
    pid_t c = start_untraced_threaded(&t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, t, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, t, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_EQ(st >> 16, PTRACE_EVENT_STOP);
    KT_TRUE(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP, "status 0x%x", st);
    /* the leader is not a tracee */
    struct user_regs_struct r;
    KT_SYS_ERR(ptrace(PTRACE_GETREGS, c, 0, &r), ESRCH);
    KT_SYS_ERR(ptrace(PTRACE_INTERRUPT, c, 0, 0), ESRCH);
    KT_SYS_RET(waitpid(c, &st, __WALL | WNOHANG), 0);
    KT_SYS_RET(ptrace(PTRACE_GETREGS, t, 0, &r), 0);
    KT_SYS_RET(ptrace(PTRACE_DETACH, t, 0, 0), 0);
    KT_SYS_ERR(ptrace(PTRACE_GETREGS, t, 0, &r), ESRCH);
    kill_drain(c);
    close_pipes();
}

KT_CASE(attach_a_thread_by_its_tid) {
    pid_t t;
    pid_t c = start_untraced_threaded(&t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_ATTACH, t, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)c, (int)t);
    int fd = open(path, O_RDONLY);
    KT_TRUE(fd >= 0, "open %s", path);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    buf[n > 0 ? n : 0] = 0;
    char want[32];
    snprintf(want, sizeof want, "TracerPid:\t%d\n", (int)getpid());
    KT_TRUE(strstr(buf, want) != 0, "no \"%s\" in %s", want, path);
    /* the thread is stopped for the tracer's requests */
    struct user_regs_struct r;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, t, 0, &r), 0);
    kill_drain(c);
    close_pipes();
}

KT_CASE(a_thread_made_without_traceclone_is_not_traced) {
    if (pipe(tid_pipe) != 0 || pipe(note_pipe) != 0) {
        kt_fail("pipe");
        return;
    }
    pid_t c = kt_start_traced(body_report);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    pid_t t = 0;
    KT_SYS_RET(read(tid_pipe[0], &t, sizeof t), (long)sizeof t);
    KT_NE(t, c);
    struct user_regs_struct r;
    KT_SYS_ERR(ptrace(PTRACE_GETREGS, t, 0, &r), ESRCH);
    /* its signal goes to its handler with no stop for the tracer */
    KT_SYS_RET(syscall(SYS_tgkill, c, t, SIGUSR2), 0);
    char b = 0;
    KT_SYS_RET(read(note_pipe[0], &b, 1), 1);
    KT_EQ(b, 'u');
    int st;
    KT_SYS_RET(waitpid(-1, &st, __WALL | WNOHANG), 0);
    kill_drain(c);
    close_pipes();
}

KT_CASE(exec_from_a_thread_reports_the_old_tid) {
    pid_t t;
    pid_t c = start_threaded(body_exec, PTRACE_O_TRACEEXEC, &t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    int st;
    /* the exec'ing thread reports on the leader's tid */
    KT_SYS_RET(waitpid(-1, &st, __WALL), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_EXEC << 8));
    unsigned long msg = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &msg), 0);
    KT_EQ((pid_t)msg, t);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(-1, &st, __WALL), c);
    KT_STATUS(st, kt_exited(13));
    KT_SYS_ERR(waitpid(-1, &st, __WALL | WNOHANG), ECHILD);
}

KT_CASE(thread_exit_stops_then_is_reported) {
    pid_t t;
    pid_t c = start_threaded(body_exit7, PTRACE_O_TRACEEXIT, &t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_EXIT << 8));
    unsigned long msg = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, t, 0, &msg), 0);
    KT_EQ(msg, 7 << 8);
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_STATUS(st, kt_exited(7));
    KT_SYS_ERR(waitpid(t, &st, __WALL | WNOHANG), ECHILD);
    /* the leader is still in its clone event stop */
    KT_SYS_RET(ptrace(PTRACE_PEEKUSER, c, OFF(orig_rax), 0), SYS_clone);
    kill_drain(c);
}

KT_CASE(group_stop_stops_every_traced_thread) {
    pid_t t;
    pid_t c = start_threaded(body_pause, 0, &t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(kill(c, SIGSTOP), 0);
    int st, leader = 0, thread = 0, delivery = 0;
    for (int i = 0; i < 6 && !(leader && thread); i++) {
        pid_t r = waitpid(-1, &st, __WALL);
        if (r != c && r != t) {
            kt_fail("waitpid %d status 0x%x", (int)r, st);
            break;
        }
        KT_STATUS(st, kt_stopped(SIGSTOP));
        siginfo_t si;
        if (ptrace(PTRACE_GETSIGINFO, r, 0, &si) == 0) {
            /* the signal-delivery stop: let the stop happen */
            KT_EQ(si.si_signo, SIGSTOP);
            delivery++;
            KT_SYS_RET(ptrace(PTRACE_CONT, r, 0, SIGSTOP), 0);
        } else {
            KT_EQ(errno, EINVAL); /* a group stop has no siginfo */
            if (r == c) leader++;
            else thread++;
        }
    }
    KT_EQ(delivery, 1);
    KT_EQ(leader, 1);
    KT_EQ(thread, 1);
    kill_drain(c);
}

/* A worker that sends its tid, then exits 7 when a byte comes on
 * note_pipe; the leader pauses. */
static void *thr_report_exit7(void *a) {
    (void)a;
    pid_t me = (pid_t)syscall(SYS_gettid);
    char b;
    if (write(tid_pipe[1], &me, sizeof me) != sizeof me || read(note_pipe[0], &b, 1) != 1) _exit(61);
    syscall(SYS_exit, 7);
    return 0;
}
static void body_report_exit7(void) {
    spawn(thr_report_exit7);
    for (;;) pause();
}

/* The worker sends its tid and pauses; the leader execs a program that
 * pauses when a byte comes on note_pipe. */
static void body_report_exec(void) {
    spawn(thr_report);
    char b;
    if (read(note_pipe[0], &b, 1) != 1) _exit(63);
    execl(kt_self, kt_self, "kt-sleep", (char *)0);
    _exit(99);
}

/* A child (not traced) running `body`, whose worker thread sent its tid. */
static pid_t start_untraced_body(void (*body)(void), pid_t *tid) {
    if (pipe(tid_pipe) != 0 || pipe(note_pipe) != 0) {
        kt_fail("pipe: %s", kt_errname(errno));
        return -1;
    }
    pid_t c = fork();
    if (c == 0) body();
    *tid = 0;
    if (c < 0 || read(tid_pipe[0], tid, sizeof *tid) != sizeof *tid) {
        kt_fail("start_untraced_body: %s", kt_errname(errno));
        if (c > 0) kill_drain(c);
        return -1;
    }
    return c;
}

/* The process is traced while a task of it is: when its only tracee (a
 * seized worker) exits, a new PTRACE_ATTACH of the leader makes a new,
 * attached (not seized) link: PTRACE_INTERRUPT is EIO. */
KT_CASE(the_link_goes_with_the_last_traced_thread) {
    pid_t t;
    pid_t c = start_untraced_body(body_report_exit7, &t);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, t, 0, 0), 0);
    KT_SYS_RET(write(note_pipe[1], "x", 1), 1);
    int st;
    /* the tracer reaps the thread's exit by its tid */
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_STATUS(st, kt_exited(7));
    KT_SYS_ERR(waitpid(t, &st, __WALL | WNOHANG), ECHILD);
    KT_SYS_ERR(ptrace(PTRACE_INTERRUPT, c, 0, 0), ESRCH);
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, __WALL), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_ERR(ptrace(PTRACE_INTERRUPT, c, 0, 0), EIO);
    KT_SYS_RET(ptrace(PTRACE_DETACH, c, 0, 0), 0);
    KT_SYS_RET(kill(c, SIGTERM), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_killed(SIGTERM));
    close_pipes();
}

/* exec's de_thread() ends the only tracee (a seized worker): the process
 * is no longer traced after the exec. */
KT_CASE(exec_ends_the_link_of_a_traced_worker) {
    int done[2];
    if (pipe2(done, O_CLOEXEC) != 0) {
        kt_fail("pipe2: %s", kt_errname(errno));
        return;
    }
    pid_t t;
    pid_t c = start_untraced_body(body_report_exec, &t);
    close(done[1]);
    if (c < 0) {
        close(done[0]);
        return;
    }
    KT_SYS_RET(ptrace(PTRACE_SEIZE, t, 0, 0), 0);
    KT_SYS_RET(write(note_pipe[1], "x", 1), 1);
    /* the worker's exit, killed for the exec, goes to its tracer (Linux's
     * exec waits for the tracer to reap it): it exits 0, as in
     * do_group_exit() with a group_exec_task */
    int st;
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_STATUS(st, kt_exited(0));
    /* the exec closed the child's end: its point of no return is behind */
    char b;
    KT_SYS_RET(read(done[0], &b, 1), 0);
    close(done[0]);
    KT_SYS_ERR(ptrace(PTRACE_INTERRUPT, c, 0, 0), ESRCH);
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, __WALL), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_ERR(ptrace(PTRACE_INTERRUPT, c, 0, 0), EIO);
    kill_drain(c);
    close_pipes();
}

/* wait(2) takes a tracee thread as it is, with no __WALL/__WCLONE
 * (eligible_child(): "Wait for all children (clone and not) if __WALL is
 * set or if it is traced by us", Linux 4.7 on): its stops and exit. */
KT_CASE(a_traced_thread_is_waited_for_without_wall) {
    pid_t t;
    pid_t c = start_threaded(body_exit7, 0, &t);
    if (c < 0) return;
    int st;
    KT_SYS_RET(syscall(SYS_tgkill, c, t, SIGUSR1), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    KT_SYS_RET(waitpid(t, &st, 0), t);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(ptrace(PTRACE_CONT, t, 0, 0), 0);
    KT_SYS_RET(waitpid(-1, &st, 0), t);
    KT_STATUS(st, kt_exited(7));
    KT_SYS_ERR(waitpid(t, &st, WNOHANG), ECHILD);
    /* the leader is still in its clone event stop, reported already */
    KT_SYS_RET(waitpid(-1, &st, WNOHANG), 0);
    kill_drain(c);
}


/* gdb -p's attach of a threaded process by a tracer that is not its
 * parent: PTRACE_ATTACH of each thread, each stopped by its SIGSTOP
 * (State "t (tracing stop)"), then PTRACE_DETACH of each. The parent's
 * wait(WUNTRACED|WCONTINUED) sees no stop: the process never group-stops. */
static void *thr_nap(void *a) {
    (void)a;
    for (;;) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, 0);
    }
    return 0;
}

static char state_of(pid_t tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return '?';
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return '?';
    buf[n] = 0;
    char *s = strstr(buf, "State:\t");
    return s ? s[7] : '?';
}

KT_CASE(attach_each_thread_by_a_non_parent_no_stop_for_the_parent) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t a = KT_FORK();
    if (a == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, 0);
        pthread_t th;
        for (int i = 0; i < 2; i++)
            if (pthread_create(&th, 0, thr_nap, 0) != 0) _exit(60);
        write(p[1], "x", 1);
        int sig;
        sigwait(&set, &sig);
        _exit(9);
    }
    close(p[1]);
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    close(p[0]);
    pid_t t = KT_FORK();
    if (t == 0) {
        int st;
        pid_t tids[3] = {a, 0, 0};
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int)a);
        DIR *d = opendir(path);
        if (!d) _exit(1);
        int n = 1;
        struct dirent *e;
        while ((e = readdir(d)) && n < 3) {
            pid_t id = atoi(e->d_name);
            if (id > 0 && id != a) tids[n++] = id;
        }
        closedir(d);
        if (n != 3) _exit(2);
        for (int i = 0; i < 3; i++) {
            if (ptrace(PTRACE_ATTACH, tids[i], 0, 0) != 0) _exit(3);
            if (waitpid(tids[i], &st, __WALL) != tids[i] || st != kt_stopped(SIGSTOP)) _exit(4);
            if (state_of(tids[i]) != 't') _exit(5);
        }
        for (int i = 0; i < 3; i++)
            if (ptrace(PTRACE_DETACH, tids[i], 0, 0) != 0) _exit(6);
        _exit(0);
    }
    KT_WAIT_STATUS(t, kt_exited(0));
    int st;
    KT_SYS_RET(waitpid(a, &st, WUNTRACED | WCONTINUED | WNOHANG), 0);
    char sa = state_of(a);
    KT_TRUE(sa == 'S' || sa == 'R', "state of the detached leader: %c", sa);
    KT_SYS_RET(kill(a, SIGTERM), 0);
    KT_WAIT_STATUS(a, kt_exited(9));
}

KT_MAIN()
