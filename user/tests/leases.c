/* fcntl leases (F_SETLEASE, F_GETLEASE): the type and permission rules,
 * the open checks (a read lease needs no writer, a write lease no other
 * open file description), the break by a conflicting open or truncate
 * (SIGIO to the holder, the opener waits or, with O_NONBLOCK, gets
 * EWOULDBLOCK; F_GETLEASE shows the type the lease is being broken to),
 * the removal with the last close of the description, and /proc/locks'
 * LEASE lines. The lease-break time (45 s) is not waited out. */
#include "kt.h"

#include <sys/sysmacros.h>
#include <sys/time.h>

#ifndef F_SETLEASE
#define F_SETLEASE 1024
#define F_GETLEASE 1025
#endif

static char path[64];
static volatile sig_atomic_t sigio_count;
/* When >= 0, the SIGIO handler gives up the lease on this fd. */
static volatile int release_fd = -1;

static void on_sigio(int sig) {
    (void)sig;
    sigio_count++;
    if (release_fd >= 0) fcntl(release_fd, F_SETLEASE, F_UNLCK);
}

static void catch_sigio(int release) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigio;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGIO, &sa, 0);
    sigio_count = 0;
    release_fd = release;
}

static void default_sigio(void) {
    release_fd = -1;
    signal(SIGIO, SIG_DFL);
}

/* A fresh empty file in /tmp (path in `path`), opened with `flags`: the
 * only open of it. */
static int fresh(int flags) {
    static int n;
    snprintf(path, sizeof path, "/tmp/kt_lease_%d_%d", (int)getpid(), n++);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    if (write(fd, "0123456789", 10) != 10) return -1;
    close(fd);
    return open(path, flags);
}

/* In a child process: open(path, flags); exit 0 on success, else errno. */
static int child_open(int flags) {
    pid_t p = fork();
    if (p == 0) {
        int fd = open(path, flags);
        _exit(fd >= 0 ? 0 : errno);
    }
    int st = 0;
    while (p > 0 && waitpid(p, &st, 0) == -1 && errno == EINTR) {
    }
    if (p < 0 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* Whether /proc/locks has a lease line `state type pid` for `fd`'s inode. */
static int proc_lease(int fd, const char *state, const char *type, int pid) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    char want[160];
    snprintf(want, sizeof want, "LEASE  %s%s %d %02x:%02x:%lu 0 EOF\n", state, type, pid, major(st.st_dev),
             minor(st.st_dev), (unsigned long)st.st_ino);
    int p = open("/proc/locks", O_RDONLY);
    if (p < 0) return -1;
    static char buf[16384];
    int n = 0, r;
    while (n < (int)sizeof buf - 1 && (r = read(p, buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(p);
    buf[n] = 0;
    return strstr(buf, want) != 0;
}

KT_CASE(getlease_without_lease_is_unlck) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
    close(fd);
    unlink(path);
}

KT_CASE(read_lease_on_read_only_fd) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    /* a dup shares the description and its lease, another open does not */
    int d = KT_SYS_OK(dup(fd));
    KT_SYS_RET(fcntl(d, F_GETLEASE), F_RDLCK);
    int other = KT_SYS_OK(open(path, O_RDONLY));
    KT_SYS_RET(fcntl(other, F_GETLEASE), F_UNLCK);
    /* a second read lease on another description */
    KT_SYS_RET(fcntl(other, F_SETLEASE, F_RDLCK), 0);
    KT_SYS_RET(fcntl(other, F_GETLEASE), F_RDLCK);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
    KT_SYS_RET(fcntl(d, F_GETLEASE), F_UNLCK);
    KT_SYS_RET(fcntl(other, F_GETLEASE), F_RDLCK);
    close(fd);
    close(d);
    close(other);
    unlink(path);
}

KT_CASE(read_lease_needs_no_writer) {
    int fd = KT_SYS_OK(fresh(O_RDWR));
    /* its own O_RDWR open is a writer */
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_RDLCK), EAGAIN);
    int r = KT_SYS_OK(open(path, O_RDONLY));
    KT_SYS_ERR(fcntl(r, F_SETLEASE, F_RDLCK), EAGAIN);
    close(fd);
    KT_SYS_RET(fcntl(r, F_SETLEASE, F_RDLCK), 0);
    close(r);
    unlink(path);
}

KT_CASE(write_lease_needs_sole_open) {
    int fd = KT_SYS_OK(fresh(O_RDWR));
    int r = KT_SYS_OK(open(path, O_RDONLY));
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_WRLCK), EAGAIN);
    KT_SYS_ERR(fcntl(r, F_SETLEASE, F_WRLCK), EAGAIN);
    close(r);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_WRLCK);
    close(fd);
    /* on a read-only descriptor too */
    fd = KT_SYS_OK(open(path, O_RDONLY));
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_WRLCK);
    /* and it turns into a read lease in place */
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    close(fd);
    unlink(path);
}

KT_CASE(write_lease_counts_descriptions_not_fds) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    int d = KT_SYS_OK(dup(fd));
    /* a child holding the same description (fork) is no other open */
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(300);
        _exit(0);
    }
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    /* an open in another process is */
    int pipefd[2];
    KT_SYS_OK(pipe(pipefd));
    p = KT_FORK();
    if (p == 0) {
        int o = open(path, O_RDONLY);
        char c = o >= 0 ? 'y' : 'n';
        write(pipefd[1], &c, 1);
        kt_msleep(400);
        _exit(0);
    }
    char c = 0;
    KT_SYS_RET(read(pipefd[0], &c, 1), 1);
    KT_EQ(c, 'y');
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_WRLCK), EAGAIN);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(pipefd[0]);
    close(pipefd[1]);
    close(fd);
    close(d);
    unlink(path);
}

KT_CASE(second_write_lease_on_other_description_eagain) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    int other = KT_SYS_OK(open(path, O_RDONLY));
    KT_SYS_RET(fcntl(other, F_SETLEASE, F_RDLCK), 0);
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_WRLCK), EAGAIN);
    KT_SYS_ERR(fcntl(other, F_SETLEASE, F_WRLCK), EAGAIN);
    close(other);
    /* the lease went with the description */
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    close(fd);
    unlink(path);
}

KT_CASE(unlock_without_lease_eagain) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_UNLCK), EAGAIN);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_UNLCK), EAGAIN);
    close(fd);
    unlink(path);
}

KT_CASE(bad_lease_type_einval) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, 3), EINVAL);
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, -1), EINVAL);
    KT_SYS_ERR(fcntl(fd, F_SETLEASE, 0x100000000L | F_RDLCK), EINVAL);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
    close(fd);
    unlink(path);
}

KT_CASE(lease_on_directory_and_pipe_einval) {
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(fcntl(d, F_SETLEASE, F_RDLCK), EINVAL);
    KT_SYS_ERR(fcntl(d, F_SETLEASE, F_UNLCK), EINVAL);
    KT_SYS_RET(fcntl(d, F_GETLEASE), F_UNLCK);
    close(d);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(fcntl(p[0], F_SETLEASE, F_RDLCK), EINVAL);
    KT_SYS_RET(fcntl(p[0], F_GETLEASE), F_UNLCK);
    close(p[0]);
    close(p[1]);
}

KT_CASE(lease_on_o_path_ebadf) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    int o = KT_SYS_OK(open(path, O_PATH));
    KT_SYS_ERR(fcntl(o, F_SETLEASE, F_RDLCK), EBADF);
    KT_SYS_ERR(fcntl(o, F_GETLEASE), EBADF);
    /* an O_PATH open is no open for a write lease */
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    close(o);
    close(fd);
    unlink(path);
}

KT_CASE(lease_needs_owner_or_cap_lease) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    pid_t p = KT_FORK();
    if (p == 0) {
        /* not the owner and no capability left */
        if (setresuid(1000, 1000, 1000) != 0) _exit(100);
        KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_RDLCK), EACCES);
        KT_SYS_ERR(fcntl(fd, F_SETLEASE, F_UNLCK), EACCES);
        /* the type is looked at first */
        KT_SYS_ERR(fcntl(fd, F_SETLEASE, 7), EINVAL);
        KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    /* the owner may, without capabilities */
    KT_SYS_OK(fchown(fd, 1000, 1000));
    p = KT_FORK();
    if (p == 0) {
        if (setresuid(1000, 1000, 1000) != 0) _exit(100);
        KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
        KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(fd);
    unlink(path);
}

KT_CASE(nonblocking_writer_breaks_read_lease) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(-1);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    KT_EQ(proc_lease(fd, "ACTIVE    ", "READ", getpid()), 1);
    /* an open for writing (by the holder too) starts the break */
    KT_SYS_ERR(open(path, O_WRONLY | O_NONBLOCK), EWOULDBLOCK);
    KT_EQ(sigio_count, 1);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
    KT_EQ(proc_lease(fd, "BREAKING  ", "UNLCK", getpid()), 1);
    /* another one is refused without a second signal */
    KT_EQ(child_open(O_RDWR | O_NONBLOCK), EWOULDBLOCK);
    KT_EQ(sigio_count, 1);
    /* no new lease while it is being removed */
    int other = KT_SYS_OK(open(path, O_RDONLY | O_NONBLOCK));
    KT_SYS_ERR(fcntl(other, F_SETLEASE, F_RDLCK), EAGAIN);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
    int w = KT_SYS_OK(open(path, O_WRONLY | O_NONBLOCK));
    KT_EQ(sigio_count, 1);
    close(w);
    close(other);
    close(fd);
    default_sigio();
    unlink(path);
}

KT_CASE(reader_does_not_break_read_lease) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(-1);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    int r = KT_SYS_OK(open(path, O_RDONLY | O_NONBLOCK));
    KT_EQ(child_open(O_RDONLY), 0);
    KT_EQ(sigio_count, 0);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    close(r);
    close(fd);
    default_sigio();
    unlink(path);
}

KT_CASE(reader_breaks_write_lease_to_read) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(-1);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    KT_EQ(proc_lease(fd, "ACTIVE    ", "WRITE", getpid()), 1);
    KT_EQ(child_open(O_RDONLY | O_NONBLOCK), EWOULDBLOCK);
    KT_EQ(sigio_count, 1);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    KT_EQ(proc_lease(fd, "BREAKING  ", "READ", getpid()), 1);
    /* the holder downgrades: readers may open, writers still break */
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    KT_EQ(proc_lease(fd, "ACTIVE    ", "READ", getpid()), 1);
    KT_EQ(child_open(O_RDONLY | O_NONBLOCK), 0);
    KT_EQ(sigio_count, 1);
    KT_EQ(child_open(O_WRONLY | O_NONBLOCK), EWOULDBLOCK);
    KT_EQ(sigio_count, 2);
    close(fd);
    default_sigio();
    unlink(path);
}

KT_CASE(blocking_open_waits_for_holder) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(fd);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    struct timeval a, b;
    gettimeofday(&a, 0);
    /* the child sleeps in open until the holder's handler unlocks */
    KT_EQ(child_open(O_WRONLY), 0);
    gettimeofday(&b, 0);
    KT_EQ(sigio_count, 1);
    KT_TRUE(b.tv_sec - a.tv_sec < 10, "open waited %lds", (long)(b.tv_sec - a.tv_sec));
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
    KT_EQ(proc_lease(fd, "ACTIVE    ", "READ", getpid()), 0);
    close(fd);
    default_sigio();
    unlink(path);
}

static volatile long size_at_sigio = -1;

static void on_sigio_size(int sig) {
    (void)sig;
    struct stat st;
    sigio_count++;
    if (fstat(release_fd, &st) == 0) size_at_sigio = st.st_size;
    fcntl(release_fd, F_SETLEASE, F_UNLCK);
}

KT_CASE(o_trunc_open_breaks_before_truncating) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(fd);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigio_size;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGIO, &sa, 0);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    /* the holder still sees the data when it is told */
    KT_EQ(child_open(O_WRONLY | O_TRUNC), 0);
    KT_EQ(sigio_count, 1);
    KT_EQ(size_at_sigio, 10);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 0);
    close(fd);
    default_sigio();
    unlink(path);
}

static void on_alarm(int sig) {
    (void)sig;
}

KT_CASE(blocked_open_interrupted_eintr) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(-1);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, 0);
        alarm(1);
        int r = open(path, O_RDONLY);
        _exit(r >= 0 ? 0 : errno);
    }
    int st = 0;
    while (waitpid(p, &st, 0) == -1 && errno == EINTR) {
    }
    KT_STATUS(st, kt_exited(EINTR));
    KT_EQ(sigio_count, 1);
    /* the break stays pending */
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
    KT_EQ(child_open(O_RDWR | O_NONBLOCK), 0);
    close(fd);
    default_sigio();
    unlink(path);
}

KT_CASE(truncate_breaks_lease) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(fd);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    /* the holder's own truncate: its handler unlocks, truncate restarts */
    KT_SYS_RET(truncate(path, 3), 0);
    KT_EQ(sigio_count, 1);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 3);
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
    close(fd);
    default_sigio();
    unlink(path);
}

KT_CASE(lease_goes_with_last_close) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
    int d = KT_SYS_OK(dup(fd));
    close(fd);
    KT_SYS_RET(fcntl(d, F_GETLEASE), F_RDLCK);
    KT_EQ(proc_lease(d, "ACTIVE    ", "READ", getpid()), 1);
    int probe = KT_SYS_OK(open(path, O_RDONLY));
    close(d);
    KT_EQ(proc_lease(probe, "ACTIVE    ", "READ", getpid()), 0);
    /* nothing left to break */
    int w = KT_SYS_OK(open(path, O_WRONLY | O_NONBLOCK));
    close(w);
    close(probe);
    unlink(path);
}

KT_CASE(lease_shared_with_forked_child) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        KT_SYS_RET(fcntl(fd, F_GETLEASE), F_WRLCK);
        /* the child may change it: same description */
        KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_RDLCK);
    close(fd);
    unlink(path);
}

KT_CASE(break_signals_first_setter) {
    int fd = KT_SYS_OK(fresh(O_RDONLY));
    catch_sigio(fd);
    KT_SYS_RET(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    int pipefd[2];
    KT_SYS_OK(pipe(pipefd));
    pid_t p = KT_FORK();
    if (p == 0) {
        /* the child changes the shared lease; the file's owner (who the
         * break signals) stays the parent */
        catch_sigio(-1);
        KT_SYS_RET(fcntl(fd, F_SETLEASE, F_RDLCK), 0);
        write(pipefd[1], "r", 1);
        kt_msleep(1500);
        _exit(sigio_count);
    }
    char c = 0;
    KT_SYS_RET(read(pipefd[0], &c, 1), 1);
    /* the parent's handler gives the lease up; the open goes on */
    int w = KT_SYS_OK(open(path, O_WRONLY));
    KT_EQ(sigio_count, 1);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_RET(fcntl(fd, F_GETLEASE), F_UNLCK);
    close(w);
    close(pipefd[0]);
    close(pipefd[1]);
    close(fd);
    default_sigio();
    unlink(path);
}

KT_MAIN()
