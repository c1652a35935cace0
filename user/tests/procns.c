/* /proc by its mount: a procfs mount belongs to the PID namespace of the
 * task that mounted it (Linux's proc_fs_info->pid_ns, the mounter's
 * task_active_pid_ns), whatever the reader's: its listing, /proc/self,
 * /proc/PID/status and stat number by that namespace (`unshare -pf
 * --mount-proc`); a reader outside it sees /proc/self dangling (ENOENT).
 * The options hidepid= (0/off, 1/noaccess, 2/invisible, 4/ptraceable),
 * gid= and subset=pid, per mount. /proc/PID/task/TID/children
 * (CONFIG_PROC_CHILDREN): the thread's children by the mount's numbers,
 * each followed by a space. Run as root (the suite's user). */
#include "kt.h"

#include <sched.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <grp.h>

/* The numeric entries of directory `dir`, ascending, space-separated into
 * `out` (each followed by a space); -1 when it cannot be opened. */
static int numbers_in(const char *dir, char *out, int size) {
    int v[64], n = 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9') v[n++] = atoi(e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    int len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len < size - 12; i++) len += snprintf(out + len, size - len, "%d ", v[i]);
    return n;
}

/* Whether directory `dir` has an entry `name`. */
static int has_entry(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) found |= strcmp(e->d_name, name) == 0;
    closedir(d);
    return found;
}

/* The line of /proc/self/mounts whose mount point is `at` (the last one). */
static int mounts_line(const char *at, char *out, int size) {
    static char text[16384];
    if (kt_read_text("/proc/self/mounts", text, sizeof text) <= 0) return -1;
    int found = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *sp = strchr(line, ' ');
        if (sp && strncmp(sp + 1, at, strlen(at)) == 0 && sp[1 + strlen(at)] == ' ') {
            snprintf(out, size, "%s", line);
            found = 0;
        }
    }
    return found;
}

/* A new mount namespace with nothing propagating out (unshare -m). */
static int private_mounts(void) {
    if (unshare(CLONE_NEWNS) != 0) return -1;
    return mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* `unshare -pf --mount-proc`: a new PID and mount namespace, its init
 * mounts proc; inside, the listing, /proc/self and the pid files number by
 * the namespace; the unsharer (outside the namespace, same mounts) reads
 * the namespace's view and finds /proc/self dangling. */
KT_CASE(mount_proc_in_new_pid_namespace) {
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_CK(1, unshare(CLONE_NEWPID | CLONE_NEWNS) == 0);
        KT_CK(2, mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        int ready[2], done[2];
        KT_CK(3, pipe(ready) == 0 && pipe(done) == 0);
        pid_t init = fork();
        if (init == 0) {
            char buf[128], link[32];
            KT_CK(10, getpid() == 1);
            KT_CK(11, mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0);
            pid_t two = fork();
            if (two == 0) {
                char v;
                _exit(read(done[0], &v, 1) == 1 ? 0 : 1);
            }
            KT_CK(12, two == 2);
            int n = readlink("/proc/self", link, sizeof link - 1);
            KT_CK(13, n == 1 && link[0] == '1');
            n = readlink("/proc/thread-self", link, sizeof link - 1);
            KT_CK(14, n == 8 && memcmp(link, "1/task/1", 8) == 0);
            KT_CK(15, numbers_in("/proc", buf, sizeof buf) == 2 && strcmp(buf, "1 2 ") == 0);
            KT_CK(16, kt_key_value("/proc/2/status", "Pid:", buf, sizeof buf) > 0 && strcmp(buf, "2") == 0);
            KT_CK(17, kt_key_value("/proc/2/status", "PPid:", buf, sizeof buf) > 0 && strcmp(buf, "1") == 0);
            KT_CK(18, kt_key_value("/proc/2/status", "NSpid:", buf, sizeof buf) > 0 && strcmp(buf, "2") == 0);
            KT_CK(19, kt_read_text("/proc/2/stat", buf, sizeof buf) > 0 && strncmp(buf, "2 (", 3) == 0);
            char *r = strrchr(buf, ')');
            KT_CK(20, r && strncmp(r, ") S 1 ", 6) == 0);
            KT_CK(21, numbers_in("/proc/1/task", buf, sizeof buf) == 1 && strcmp(buf, "1 ") == 0);
            KT_CK(22, write(ready[1], "r", 1) == 1);
            char v;
            KT_CK(23, read(done[0], &v, 1) == 1);
            int st;
            KT_CK(24, waitpid(two, &st, 0) == two && st == 0);
            _exit(0);
        }
        KT_CK(4, init > 1);
        char v, buf[128], link[32], want[64];
        KT_CK(5, read(ready[0], &v, 1) == 1);
        /* the unsharer is outside the namespace: no number there */
        errno = 0;
        KT_CK(30, readlink("/proc/self", link, sizeof link) == -1 && errno == ENOENT);
        errno = 0;
        KT_CK(31, readlink("/proc/thread-self", link, sizeof link) == -1 && errno == ENOENT);
        errno = 0;
        KT_CK(32, open("/proc/self/status", O_RDONLY) == -1 && errno == ENOENT);
        struct stat st;
        KT_CK(33, lstat("/proc/self", &st) == 0 && S_ISLNK(st.st_mode));
        /* the mount's view, not the reader's */
        KT_CK(34, numbers_in("/proc", buf, sizeof buf) == 2 && strcmp(buf, "1 2 ") == 0);
        KT_CK(35, kt_key_value("/proc/1/status", "NSpid:", buf, sizeof buf) > 0 && strcmp(buf, "1") == 0);
        KT_CK(36, kt_key_value("/proc/1/status", "PPid:", buf, sizeof buf) > 0 && strcmp(buf, "0") == 0);
        snprintf(want, sizeof want, "/proc/%d", getpid());
        errno = 0;
        KT_CK(37, access(want, F_OK) == -1 && errno == ENOENT);
        KT_CK(38, write(done[1], "dd", 2) == 2);
        int s;
        KT_CK(39, waitpid(init, &s, 0) == init && s == 0);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* A process in a child PID namespace reading the parent's /proc (the
 * suite's, mounted in the initial namespace) sees the parent's numbers:
 * /proc/self is its outer pid, NSpid lists both. */
KT_CASE(parent_mount_read_from_child_namespace) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        char link[32] = {0}, ns[64];
        KT_CK(1, getpid() == 1);
        int n = readlink("/proc/self", link, sizeof link - 1);
        KT_CK(2, n > 0);
        KT_CK(3, atoi(link) != 1);
        KT_CK(4, kt_key_value("/proc/self/status", "NSpid:", ns, sizeof ns) > 0);
        KT_CK(5, write(p[1], link, strlen(link)) == (ssize_t)strlen(link));
        KT_CK(6, write(p[1], " ", 1) == 1);
        KT_CK(7, write(p[1], ns, strlen(ns)) == (ssize_t)strlen(ns));
        _exit(0);
    }
    close(p[1]);
    char got[128] = {0}, want[128];
    int n = 0, r;
    while (n < (int)sizeof got - 1 && (r = read(p[0], got + n, sizeof got - 1 - n)) > 0) n += r;
    close(p[0]);
    KT_WAIT_STATUS(c, kt_exited(0));
    snprintf(want, sizeof want, "%d %d\t1", c, c);
    KT_TRUE(strcmp(got, want) == 0, "got '%s', want '%s'", got, want);
}

/* hidepid=2 (invisible): another user's /proc/PID is gone for stat, open
 * and the listing; hidepid=1 (noaccess): it is listed and stat works, but
 * its files and listing are EPERM; hidepid=4 (ptraceable): gone as 2;
 * gid= exempts its group; the options show in /proc/mounts; a bad
 * value is EINVAL. */
KT_CASE(hidepid_per_mount) {
    pid_t c = KT_FORK();
    if (c == 0) {
        char line[256], buf[4096];
        KT_CK(1, private_mounts() == 0);
        errno = 0;
        KT_CK(2, mount("proc", "/proc", "proc", 0, "hidepid=3") == -1 && errno == EINVAL);
        errno = 0;
        KT_CK(3, mount("proc", "/proc", "proc", 0, "hidepid=secret") == -1 && errno == EINVAL);
        errno = 0;
        KT_CK(4, mount("proc", "/proc", "proc", 0, "subset=sys") == -1 && errno == EINVAL);
        errno = 0;
        KT_CK(5, mount("proc", "/proc", "proc", 0, "nosuchoption") == -1 && errno == EINVAL);
        KT_CK(6, mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") == 0);
        KT_CK(7, mounts_line("/proc", line, sizeof line) == 0);
        KT_CK(8, strcmp(line, "proc /proc proc rw,nosuid,nodev,noexec,relatime,hidepid=invisible 0 0") == 0);
        pid_t u = fork();
        if (u == 0) {
            struct stat st;
            char self[32];
            KT_CK(20, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
            snprintf(self, sizeof self, "%d", getpid());
            errno = 0;
            KT_CK(21, stat("/proc/1", &st) == -1 && errno == ENOENT);
            errno = 0;
            KT_CK(22, open("/proc/1/status", O_RDONLY) == -1 && errno == ENOENT);
            KT_CK(23, has_entry("/proc", "1") == 0);
            KT_CK(24, has_entry("/proc", self) == 1);
            KT_CK(25, kt_read_text("/proc/self/status", buf, sizeof buf) > 0);
            _exit(0);
        }
        int s;
        KT_CK(9, waitpid(u, &s, 0) == u && s == 0);
        /* root sees everything */
        KT_CK(10, has_entry("/proc", "1") == 1);
        KT_CK(11, mount("proc", "/proc", "proc", 0, "hidepid=noaccess") == 0);
        KT_CK(12, mounts_line("/proc", line, sizeof line) == 0);
        KT_CK(13, strcmp(line, "proc /proc proc rw,relatime,hidepid=noaccess 0 0") == 0);
        u = fork();
        if (u == 0) {
            struct stat st;
            KT_CK(30, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
            KT_CK(31, stat("/proc/1", &st) == 0 && S_ISDIR(st.st_mode));
            errno = 0;
            KT_CK(32, open("/proc/1/status", O_RDONLY) == -1 && errno == EPERM);
            errno = 0;
            KT_CK(33, open("/proc/1", O_RDONLY | O_DIRECTORY) == -1 && errno == EPERM);
            KT_CK(34, has_entry("/proc", "1") == 1);
            KT_CK(35, kt_read_text("/proc/self/stat", buf, sizeof buf) > 0);
            _exit(0);
        }
        KT_CK(14, waitpid(u, &s, 0) == u && s == 0);
        KT_CK(15, mount("proc", "/proc", "proc", 0, "hidepid=4") == 0);
        KT_CK(16, mounts_line("/proc", line, sizeof line) == 0);
        KT_CK(17, strcmp(line, "proc /proc proc rw,relatime,hidepid=ptraceable 0 0") == 0);
        u = fork();
        if (u == 0) {
            struct stat st;
            KT_CK(40, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
            errno = 0;
            KT_CK(41, stat("/proc/1", &st) == -1 && errno == ENOENT);
            KT_CK(42, has_entry("/proc", "1") == 0);
            _exit(0);
        }
        KT_CK(18, waitpid(u, &s, 0) == u && s == 0);
        KT_CK(19, mount("proc", "/proc", "proc", 0, "hidepid=invisible,gid=1000") == 0);
        KT_CK(50, mounts_line("/proc", line, sizeof line) == 0);
        KT_CK(51, strcmp(line, "proc /proc proc rw,relatime,gid=1000,hidepid=invisible 0 0") == 0);
        u = fork();
        if (u == 0) {
            struct stat st;
            KT_CK(60, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0);
            KT_CK(61, stat("/proc/1", &st) == 0);
            KT_CK(62, kt_read_text("/proc/1/stat", buf, sizeof buf) > 0);
            _exit(0);
        }
        KT_CK(52, waitpid(u, &s, 0) == u && s == 0);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* subset=pid: the process directories, self and thread-self alone. */
KT_CASE(subset_pid) {
    pid_t c = KT_FORK();
    if (c == 0) {
        char line[256], buf[4096], self[32];
        KT_CK(1, private_mounts() == 0);
        KT_CK(2, mount("proc", "/proc", "proc", 0, "subset=pid") == 0);
        KT_CK(3, mounts_line("/proc", line, sizeof line) == 0);
        KT_CK(4, strcmp(line, "proc /proc proc rw,relatime,subset=pid 0 0") == 0);
        errno = 0;
        KT_CK(5, access("/proc/meminfo", F_OK) == -1 && errno == ENOENT);
        errno = 0;
        KT_CK(6, access("/proc/sys", F_OK) == -1 && errno == ENOENT);
        KT_CK(7, kt_read_text("/proc/self/status", buf, sizeof buf) > 0);
        KT_CK(8, kt_read_text("/proc/1/stat", buf, sizeof buf) > 0);
        snprintf(self, sizeof self, "%d", getpid());
        DIR *d = opendir("/proc");
        KT_CK(9, d != NULL);
        struct dirent *e;
        int names = 0, me = 0;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9') {
                me |= strcmp(e->d_name, self) == 0;
                continue;
            }
            /* (Linux lists no "." and ".." here: proc_pid_readdir
             * emits none; this kernel's directories always have them) */
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            KT_CK(10, strcmp(e->d_name, "self") == 0 || strcmp(e->d_name, "thread-self") == 0);
            names++;
        }
        closedir(d);
        KT_CK(11, names == 2 && me);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

static volatile int thread_kid, thread_tid;
static int kid_go[2], thread_go[2], thread_ready[2];

static void *forking_thread(void *arg) {
    (void)arg;
    pid_t k = fork();
    if (k == 0) {
        char v;
        _exit(read(kid_go[0], &v, 1) == 1 ? 0 : 1);
    }
    thread_kid = k;
    thread_tid = (pid_t)syscall(SYS_gettid);
    char v = 'r';
    if (write(thread_ready[1], &v, 1) != 1 || read(thread_go[0], &v, 1) != 1) return NULL;
    return NULL;
}

/* Reads `path` into `buf` until it reads `want` (a thread's exit hands its
 * children over after its clear_child_tid wake): 1 when it did. */
static int reads_soon(const char *path, char *buf, int size, const char *want) {
    for (int i = 0; i < 200; i++) {
        if (kt_read_text(path, buf, size) >= 0 && strcmp(buf, want) == 0) return 1;
        kt_msleep(5);
    }
    return 0;
}

/* /proc/PID/task/TID/children: the children that thread forked, oldest
 * first, a space after each (zombies included); another thread's children
 * are its own until it exits; no /proc/PID/children. */
KT_CASE(task_children) {
    char path[96], tpath[96], buf[256], want[96];
    KT_SYS_OK(pipe(kid_go));
    KT_SYS_OK(pipe(thread_go));
    KT_SYS_OK(pipe(thread_ready));
    pid_t tid = (pid_t)syscall(SYS_gettid);
    snprintf(path, sizeof path, "/proc/self/task/%d/children", tid);
    KT_EQ(kt_read_text(path, buf, sizeof buf), 0);
    pid_t a = KT_FORK();
    if (a == 0) {
        char v;
        _exit(read(kid_go[0], &v, 1) == 1 ? 0 : 1);
    }
    pid_t b = KT_FORK();
    if (b == 0) _exit(7);
    siginfo_t si;
    KT_SYS_RET(waitid(P_PID, b, &si, WEXITED | WNOWAIT), 0);
    pthread_t th;
    KT_EQ(pthread_create(&th, NULL, forking_thread, NULL), 0);
    char v;
    KT_EQ(read(thread_ready[0], &v, 1), 1);
    snprintf(want, sizeof want, "%d %d ", a, b);
    KT_TRUE(kt_read_text(path, buf, sizeof buf) > 0 && strcmp(buf, want) == 0, "children '%s', want '%s'",
            buf, want);
    snprintf(tpath, sizeof tpath, "/proc/self/task/%d/children", thread_tid);
    snprintf(want, sizeof want, "%d ", thread_kid);
    KT_TRUE(kt_read_text(tpath, buf, sizeof buf) > 0 && strcmp(buf, want) == 0, "thread's children '%s', want '%s'",
            buf, want);
    KT_EQ(has_entry("/proc/self/task", "children"), 0);
    snprintf(tpath, sizeof tpath, "/proc/self/task/%d", tid);
    KT_EQ(has_entry(tpath, "children"), 1);
    KT_SYS_ERR(open("/proc/self/children", O_RDONLY), ENOENT);
    struct stat st;
    KT_SYS_RET(stat(path, &st), 0);
    KT_EQ(st.st_mode, S_IFREG | 0444);
    /* the thread ends: its child goes to another thread (us) */
    KT_EQ(write(thread_go[1], "g", 1), 1);
    KT_EQ(pthread_join(th, NULL), 0);
    snprintf(want, sizeof want, "%d %d %d ", a, b, thread_kid);
    KT_TRUE(reads_soon(path, buf, sizeof buf, want), "after the thread's exit '%s', want '%s'", buf, want);
    KT_EQ(write(kid_go[1], "xx", 2), 2);
    KT_WAIT_STATUS(a, kt_exited(0));
    KT_WAIT_STATUS(b, kt_exited(7));
    KT_WAIT_STATUS(thread_kid, kt_exited(0));
    KT_EQ(kt_read_text(path, buf, sizeof buf), 0);
    close(kid_go[0]);
    close(kid_go[1]);
}

/* children by the mount's numbers: a namespace's init with two children
 * reads "2 3 " through its own proc mount; the outside reads the outer
 * numbers through the suite's. */
KT_CASE(task_children_by_namespace) {
    int ready[2], done[2];
    KT_SYS_OK(pipe(ready));
    KT_SYS_OK(pipe(done));
    pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        char buf[64];
        KT_CK(1, mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        KT_CK(2, mount("proc", "/proc", "proc", 0, NULL) == 0);
        pid_t k[2];
        for (int i = 0; i < 2; i++) {
            k[i] = fork();
            if (k[i] == 0) {
                char v;
                _exit(read(done[0], &v, 1) == 1 ? 0 : 1);
            }
        }
        KT_CK(3, k[0] == 2 && k[1] == 3);
        KT_CK(4, kt_read_text("/proc/1/task/1/children", buf, sizeof buf) > 0 && strcmp(buf, "2 3 ") == 0);
        KT_CK(5, write(ready[1], "r", 1) == 1);
        int st;
        for (int i = 0; i < 2; i++) KT_CK(6, waitpid(k[i], &st, 0) == k[i] && st == 0);
        _exit(0);
    }
    char v, path[64], buf[64];
    KT_EQ(read(ready[0], &v, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", c, c);
    int n = kt_read_text(path, buf, sizeof buf);
    int x = 0, y = 0;
    char tail[8] = {0};
    KT_TRUE(n > 0 && sscanf(buf, "%d %d%1s", &x, &y, tail) == 2 && x > c && y > x && buf[n - 1] == ' ',
            "outer children '%s'", buf);
    char ns[64], want[64];
    snprintf(path, sizeof path, "/proc/%d/status", x);
    snprintf(want, sizeof want, "%d\t2", x);
    KT_TRUE(kt_key_value(path, "NSpid:", ns, sizeof ns) > 0 && strcmp(ns, want) == 0, "NSpid %s, want %s", ns,
            want);
    KT_EQ(write(done[1], "dd", 2), 2);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
