/* /proc: absolute and relative paths, /proc/self and /proc/thread-self,
 * per-process files and directories (stat, status, cmdline, comm, maps,
 * fd/, task/), /proc/mounts, /proc/sys/kernel/pid_max, statfs figures. */
#include "kt.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>

#define PROC_SUPER_MAGIC 0x9fa0
#define TMPFS_MAGIC 0x01021994

/* Whether directory `path` lists `name`. */
static int lists(const char *path, const char *name) {
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, name) == 0) found = 1;
    }
    closedir(d);
    return found;
}

static char buf[16384];
static char cwd_save[512];

KT_CASE(self_is_a_link_to_the_pid) {
    char want[32], got[64];
    snprintf(want, sizeof want, "%d", getpid());
    long n = readlink("/proc/self", got, sizeof got);
    KT_EQ(n, (long)strlen(want));
    got[n] = 0;
    KT_TRUE(strcmp(got, want) == 0, "got %s", got);
    struct stat st;
    KT_SYS_RET(lstat("/proc/self", &st), 0);
    KT_TRUE(S_ISLNK(st.st_mode), "mode 0%o", st.st_mode);
    KT_SYS_RET(stat("/proc/self", &st), 0);
    KT_TRUE(S_ISDIR(st.st_mode), "mode 0%o", st.st_mode);
}

KT_CASE(thread_self_names_the_task) {
    char want[64], got[64];
    snprintf(want, sizeof want, "%d/task/%d", getpid(), (int)syscall(SYS_gettid));
    long n = readlink("/proc/thread-self", got, sizeof got);
    KT_EQ(n, (long)strlen(want));
    got[n] = 0;
    KT_TRUE(strcmp(got, want) == 0, "got %s", got);
    KT_SYS_OK(kt_read_all("/proc/thread-self/comm", buf, sizeof buf));
    KT_TRUE(strcmp(buf, "procfs\n") == 0, "comm %s", buf);
}

KT_CASE(self_stat_fields) {
    KT_SYS_OK(kt_read_all("/proc/self/stat", buf, sizeof buf));
    int pid = 0, ppid = 0, pgrp = 0;
    char comm[64], state = 0;
    KT_EQ(sscanf(buf, "%d (%63[^)]) %c %d %d", &pid, comm, &state, &ppid, &pgrp), 5);
    KT_EQ(pid, getpid());
    KT_TRUE(strcmp(comm, "procfs") == 0, "comm %s", comm);
    KT_EQ(state, 'R');
    KT_EQ(ppid, getppid());
    KT_EQ(pgrp, getpgrp());
    /* 52 fields on 6.1 (at least 44 everywhere) */
    int fields = 0;
    for (char *p = strrchr(buf, ')') + 1; *p; p++)
        if (*p == ' ') fields++;
    KT_TRUE(fields >= 42, "%d fields after comm", fields);
}

KT_CASE(relative_paths_after_chdir_proc) {
    KT_TRUE(getcwd(cwd_save, sizeof cwd_save) != NULL, "getcwd");
    KT_SYS_RET(chdir("/proc"), 0);
    long n = kt_read_all("self/stat", buf, sizeof buf);
    KT_SYS_RET(chdir(cwd_save), 0);
    KT_TRUE(n > 0, "self/stat: %ld", n);
    KT_EQ(atoi(buf), getpid());
}

KT_CASE(chdir_into_a_process_directory) {
    char path[64], got[256];
    KT_TRUE(getcwd(cwd_save, sizeof cwd_save) != NULL, "getcwd");
    KT_SYS_RET(chdir("/proc/self"), 0);
    snprintf(path, sizeof path, "/proc/%d", getpid());
    char *c = getcwd(got, sizeof got);
    long n = kt_read_all("comm", buf, sizeof buf);
    int up = chdir("..");
    char *c2 = getcwd(got + 128, 128);
    KT_SYS_RET(chdir(cwd_save), 0);
    KT_TRUE(c && strcmp(got, path) == 0, "getcwd %s", c ? got : "NULL");
    KT_EQ(n, 7);
    KT_TRUE(strcmp(buf, "procfs\n") == 0, "comm %s", buf);
    KT_EQ(up, 0);
    KT_TRUE(c2 && strcmp(got + 128, "/proc") == 0, "after .. %s", c2 ? got + 128 : "NULL");
}

KT_CASE(openat_relative_to_a_proc_dirfd) {
    int d = KT_SYS_OK(open("/proc", O_RDONLY | O_DIRECTORY));
    KT_SYS_OK(kt_read_all_at(d, "self/cmdline", buf, sizeof buf));
    KT_TRUE(strcmp(buf, "/tests/procfs") == 0, "cmdline %s", buf);
    int s = KT_SYS_OK(openat(d, "self", O_RDONLY | O_DIRECTORY));
    KT_SYS_OK(kt_read_all_at(s, "comm", buf, sizeof buf));
    KT_TRUE(strcmp(buf, "procfs\n") == 0, "comm %s", buf);
    struct stat st;
    KT_SYS_RET(fstatat(s, "fd", &st, 0), 0);
    KT_TRUE(S_ISDIR(st.st_mode), "fd mode 0%o", st.st_mode);
    close(s);
    close(d);
}

KT_CASE(cmdline_and_comm) {
    long n = KT_SYS_OK(kt_read_all("/proc/self/cmdline", buf, sizeof buf));
    KT_EQ(n, (long)strlen("/tests/procfs") + 1);
    KT_TRUE(strcmp(buf, "/tests/procfs") == 0, "cmdline %s", buf);
    KT_SYS_OK(kt_read_all("/proc/self/comm", buf, sizeof buf));
    KT_TRUE(strcmp(buf, "procfs\n") == 0, "comm %s", buf);
}

KT_CASE(status_names_the_process) {
    KT_SYS_OK(kt_read_all("/proc/self/status", buf, sizeof buf));
    char line[64];
    KT_TRUE(strncmp(buf, "Name:\tprocfs\n", 13) == 0, "status starts %.20s", buf);
    snprintf(line, sizeof line, "\nPid:\t%d\n", getpid());
    KT_TRUE(strstr(buf, line) != NULL, "no %s", line + 1);
    snprintf(line, sizeof line, "\nPPid:\t%d\n", getppid());
    KT_TRUE(strstr(buf, line) != NULL, "no %s", line + 1);
    KT_TRUE(strstr(buf, "\nThreads:\t1\n") != NULL, "no Threads");
    KT_TRUE(strstr(buf, "\nUid:\t0\t0\t0\t0\n") != NULL, "no Uid");
}

KT_CASE(maps_shows_the_stack) {
    KT_SYS_OK(kt_read_all("/proc/self/maps", buf, sizeof buf));
    KT_TRUE(strstr(buf, "[stack]") != NULL, "maps:\n%.300s", buf);
}

KT_CASE(exe_links_to_the_program) {
    char got[256];
    long n = readlink("/proc/self/exe", got, sizeof got - 1);
    KT_EQ(n, 13);
    got[n] = 0;
    KT_TRUE(strcmp(got, "/tests/procfs") == 0, "exe %s", got);
}

KT_CASE(exe_is_the_resolved_absolute_path) {
    /* exec through a relative path naming a symbolic link */
    unlink("/tmp/kt-exe-link");
    KT_SYS_RET(symlink(kt_self, "/tmp/kt-exe-link"), 0);
    int fds[2];
    KT_SYS_RET(pipe(fds), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        dup2(fds[1], 1);
        if (chdir("/tmp") != 0) _exit(3);
        char *argv[] = {"kt-exe-link", "kt-exe", 0};
        char *envp[] = {0};
        execve("kt-exe-link", argv, envp);
        _exit(127);
    }
    close(fds[1]);
    char got[256] = {0};
    ssize_t n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_TRUE(n > 0, "no output from the exec'd child");
    KT_TRUE(strcmp(got, "/tests/procfs\n") == 0, "exe %s", got);
    unlink("/tmp/kt-exe-link");
}

KT_CASE(process_directory_lists_its_files) {
    const char *names[] = {"stat", "status", "cmdline", "comm", "maps", "mounts", "exe", "cwd", "fd", "task"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        KT_TRUE(lists("/proc/self", names[i]) == 1, "/proc/self lacks %s", names[i]);
    }
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    KT_EQ(lists("/proc", pid), 1);
    KT_EQ(lists("/proc", "self"), 1);
    KT_EQ(lists("/proc", "meminfo"), 1);
    KT_EQ(lists("/proc/self/task", pid), 1);
}

KT_CASE(fd_directory_lists_open_fds) {
    int p[2];
    KT_SYS_OK(pipe(p));
    char name[32], path[64], got[64];
    snprintf(name, sizeof name, "%d", p[1]);
    KT_EQ(lists("/proc/self/fd", name), 1);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    long n = readlink(path, got, sizeof got - 1);
    KT_TRUE(n > 6, "readlink %s: %ld", path, n);
    got[n] = 0;
    KT_TRUE(strncmp(got, "pipe:[", 6) == 0, "target %s", got);
    /* a high number, which opendir() cannot take once closed */
    KT_SYS_RET(dup2(p[1], 100), 100);
    KT_EQ(lists("/proc/self/fd", "100"), 1);
    close(100);
    KT_EQ(lists("/proc/self/fd", "100"), 0);
    KT_SYS_ERR(readlink("/proc/self/fd/100", got, sizeof got), ENOENT);
    close(p[1]);
    int d = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    snprintf(path, sizeof path, "/proc/self/fd/%d", d);
    n = readlink(path, got, sizeof got - 1);
    KT_EQ(n, 4);
    got[n] = 0;
    KT_TRUE(strcmp(got, "/tmp") == 0, "target %s", got);
    close(d);
    close(p[0]);
    int f = KT_SYS_OK(open("/tmp/procfs-fdlink", O_RDWR | O_CREAT | O_TRUNC, 0600));
    snprintf(path, sizeof path, "/proc/self/fd/%d", f);
    n = readlink(path, got, sizeof got - 1);
    KT_EQ(n, 18);
    got[n] = 0;
    KT_TRUE(strcmp(got, "/tmp/procfs-fdlink") == 0, "target %s", got);
    close(f);
    unlink("/tmp/procfs-fdlink");
}

KT_CASE(task_directory_holds_the_thread) {
    char path[64];
    int tid = (int)syscall(SYS_gettid);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    KT_SYS_OK(kt_read_all(path, buf, sizeof buf));
    KT_EQ(atoi(buf), tid);
    struct stat st;
    KT_SYS_ERR(stat("/proc/self/task/999999", &st), ENOENT);
}

KT_CASE(another_process_and_its_end) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);
        _exit(0);
    }
    close(p[0]);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    long n = kt_read_all(path, buf, sizeof buf);
    int cpid = 0, ppid = 0;
    char state;
    int scanned = sscanf(buf, "%d (%*[^)]) %c %d", &cpid, &state, &ppid);
    close(p[1]);
    KT_WAIT_STATUS(pid, kt_exited(0));
    KT_TRUE(n > 0, "read %s", path);
    KT_EQ(scanned, 3);
    KT_EQ(cpid, pid);
    KT_EQ(ppid, getpid());
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", pid);
    KT_SYS_ERR(stat(path, &st), ENOENT);
    KT_SYS_ERR(open("/proc/999999/stat", O_RDONLY), ENOENT);
}

KT_CASE(mounts_lists_proc_and_tmp) {
    KT_SYS_OK(kt_read_all("/proc/mounts", buf, sizeof buf));
    KT_TRUE(strstr(buf, " /proc proc ") != NULL, "mounts:\n%s", buf);
    KT_TRUE(strstr(buf, " /tmp tmpfs ") != NULL, "mounts:\n%s", buf);
    static char buf2[16384];
    KT_SYS_OK(kt_read_all("/proc/self/mounts", buf2, sizeof buf2));
    KT_TRUE(strcmp(buf, buf2) == 0, "self/mounts differs");
    char got[64];
    long n = readlink("/proc/mounts", got, sizeof got - 1);
    KT_EQ(n, 11);
    got[n] = 0;
    KT_TRUE(strcmp(got, "self/mounts") == 0, "link %s", got);
}

KT_CASE(a_new_mount_shows_up_and_goes) {
    KT_SYS_RET(mkdir("/tmp/procfs-mnt", 0755), 0);
    KT_SYS_RET(mount("none", "/tmp/procfs-mnt", "tmpfs", 0, "mode=0700"), 0);
    struct stat st;
    KT_SYS_RET(stat("/tmp/procfs-mnt", &st), 0);
    KT_EQ(st.st_mode & 07777, 0700);
    KT_SYS_OK(kt_read_all("/proc/mounts", buf, sizeof buf));
    KT_TRUE(strstr(buf, "none /tmp/procfs-mnt tmpfs rw") != NULL, "mounts:\n%s", buf);
    KT_SYS_RET(umount2("/tmp/procfs-mnt", 0), 0);
    KT_SYS_OK(kt_read_all("/proc/mounts", buf, sizeof buf));
    KT_TRUE(strstr(buf, "/tmp/procfs-mnt") == NULL, "mounts:\n%s", buf);
    KT_SYS_ERR(umount2("/tmp/procfs-mnt", 0), EINVAL);
    KT_SYS_RET(rmdir("/tmp/procfs-mnt"), 0);
}

KT_CASE(mount_and_umount_need_root) {
    KT_SYS_RET(mkdir("/tmp/procfs-mnt2", 0755), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        if (setuid(65534) != 0) _exit(3);
        /* the target is looked up first, then the privilege */
        if (mount("none", "/tmp/no-such-dir", "tmpfs", 0, 0) != -1 || errno != ENOENT) _exit(4);
        if (mount("none", "/tmp/procfs-mnt2", "tmpfs", 0, 0) != -1 || errno != EPERM) _exit(5);
        if (umount2("/tmp/no-such-dir", 0) != -1 || errno != ENOENT) _exit(6);
        if (umount2("/proc", 0) != -1 || errno != EPERM) _exit(7);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_OK(kt_read_all("/proc/mounts", buf, sizeof buf));
    KT_TRUE(strstr(buf, "/tmp/procfs-mnt2") == NULL, "mounts:\n%.300s", buf);
    KT_SYS_RET(rmdir("/tmp/procfs-mnt2"), 0);
}

KT_CASE(pid_max_and_global_files) {
    KT_SYS_OK(kt_read_all("/proc/sys/kernel/pid_max", buf, sizeof buf));
    KT_TRUE(atoi(buf) >= 32768, "pid_max %s", buf);
    KT_SYS_OK(kt_read_all("/proc/meminfo", buf, sizeof buf));
    KT_TRUE(strncmp(buf, "MemTotal:", 9) == 0, "meminfo %.20s", buf);
    KT_TRUE(strstr(buf, "\nMemAvailable:") != NULL, "no MemAvailable");
    KT_SYS_OK(kt_read_all("/proc/uptime", buf, sizeof buf));
    double up = -1, idle = -1;
    KT_EQ(sscanf(buf, "%lf %lf", &up, &idle), 2);
    KT_TRUE(up > 0, "uptime %s", buf);
    KT_SYS_OK(kt_read_all("/proc/loadavg", buf, sizeof buf));
    double l1, l5, l15;
    int run, total, last;
    KT_EQ(sscanf(buf, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &run, &total, &last), 6);
    KT_SYS_OK(kt_read_all("/proc/stat", buf, sizeof buf));
    KT_TRUE(strncmp(buf, "cpu ", 4) == 0, "stat %.20s", buf);
    KT_TRUE(strstr(buf, "\nbtime ") != NULL, "no btime");
}

KT_CASE(proc_is_read_only_for_names) {
    KT_SYS_ERR(open("/proc/newfile", O_WRONLY | O_CREAT, 0644), ENOENT);
    KT_SYS_ERR(mkdir("/proc/newdir", 0755), ENOENT);
    KT_SYS_ERR(unlink("/proc/meminfo"), EPERM);
    KT_SYS_ERR(rmdir("/proc/self/fd"), EPERM);
    struct stat st;
    KT_SYS_ERR(stat("/proc/nonexistent", &st), ENOENT);
    KT_SYS_ERR(open("/proc/self/nonexistent", O_RDONLY), ENOENT);
    KT_SYS_ERR(open("/proc/self/stat/x", O_RDONLY), ENOTDIR);
}

KT_CASE(statfs_figures) {
    struct statfs s;
    KT_SYS_RET(statfs("/proc", &s), 0);
    KT_EQ(s.f_type, PROC_SUPER_MAGIC);
    KT_SYS_RET(statfs("/tmp", &s), 0);
    KT_EQ(s.f_type, TMPFS_MAGIC);
    KT_EQ(s.f_bsize, 4096);
    KT_TRUE(s.f_blocks > 0, "blocks %ld", (long)s.f_blocks);
    KT_TRUE(s.f_bfree <= s.f_blocks && s.f_bavail <= s.f_blocks, "free %ld", (long)s.f_bfree);
    /* writing a file takes blocks from /tmp */
    int fd = KT_SYS_OK(open("/tmp/procfs-df", O_RDWR | O_CREAT | O_TRUNC, 0600));
    static char page[65536];
    memset(page, 1, sizeof page);
    KT_SYS_RET(write(fd, page, sizeof page), 65536);
    struct statfs after;
    KT_SYS_RET(fstatfs(fd, &after), 0);
    KT_EQ(after.f_type, TMPFS_MAGIC);
    KT_EQ(after.f_blocks, s.f_blocks);
    KT_TRUE(after.f_bfree + 16 <= s.f_bfree, "free %ld then %ld", (long)s.f_bfree, (long)after.f_bfree);
    close(fd);
    unlink("/tmp/procfs-df");
}

/* Writes `text` to path at offset `off`; returns write's result (errno set). */
static long write_at(const char *path, const char *text, off_t off) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    long r = pwrite(fd, text, strlen(text), off);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static unsigned long read_ul(const char *path) {
    char t[32];
    if (kt_read_all(path, t, sizeof t) <= 0) return 1;
    return strtoul(t, NULL, 10);
}

/* /proc/self/loginuid and sessionid (pam_loginuid at an ssh login):
 * audit_set_loginuid's rules, run in a child so the suite's ids stay. */
static int loginuid_rules(void) {
    char t[32];
    KT_CHILD_CHECK(1, kt_read_all("/proc/self/loginuid", t, sizeof t) == 10 && strcmp(t, "4294967295") == 0);
    KT_CHILD_CHECK(2, kt_read_all("/proc/self/sessionid", t, sizeof t) == 10 && strcmp(t, "4294967295") == 0);
    KT_CHILD_CHECK(3, write_at("/proc/self/loginuid", "1000", 1) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(4, write_at("/proc/self/loginuid", "1x", 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(5, write_at("/proc/self/loginuid", "4294967296", 0) == -1 && errno == ERANGE);
    KT_CHILD_CHECK(6, write_at("/proc/self/loginuid", "", 0) == -1 && errno == EINVAL);
    char parent[64];
    snprintf(parent, sizeof parent, "/proc/%d/loginuid", getppid());
    KT_CHILD_CHECK(7, write_at(parent, "1000", 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(8, write_at("/proc/self/loginuid", "1000\n", 0) == 5);
    KT_CHILD_CHECK(9, kt_read_all("/proc/self/loginuid", t, sizeof t) == 4 && strcmp(t, "1000") == 0);
    unsigned long s1 = read_ul("/proc/self/sessionid");
    KT_CHILD_CHECK(10, s1 != 4294967295UL && s1 != 0);
    /* a child inherits both */
    pid_t c = fork();
    if (c == 0) _exit(read_ul("/proc/self/loginuid") == 1000 && read_ul("/proc/self/sessionid") == s1 ? 0 : 1);
    int st;
    KT_CHILD_CHECK(11, waitpid(c, &st, 0) == c && st == 0);
    /* root (CAP_AUDIT_CONTROL) changes a set one: a new session */
    KT_CHILD_CHECK(12, write_at("/proc/self/loginuid", "+1001", 0) == 5);
    KT_CHILD_CHECK(13, read_ul("/proc/self/loginuid") == 1001);
    unsigned long s2 = read_ul("/proc/self/sessionid");
    KT_CHILD_CHECK(14, s2 != s1 && s2 != 4294967295UL);
    /* unsetting unsets the session too */
    KT_CHILD_CHECK(15, write_at("/proc/self/loginuid", "4294967295", 0) == 10);
    KT_CHILD_CHECK(16, read_ul("/proc/self/loginuid") == 4294967295UL);
    KT_CHILD_CHECK(17, read_ul("/proc/self/sessionid") == 4294967295UL);
    /* without CAP_AUDIT_CONTROL: an unset one can be set, a set one not */
    KT_CHILD_CHECK(18, setuid(1000) == 0);
    /* the uid change left it undumpable: its /proc files root's */
    KT_CHILD_CHECK(23, write_at("/proc/self/loginuid", "1000", 0) == -1 && errno == EACCES);
    KT_CHILD_CHECK(24, prctl(PR_SET_DUMPABLE, 1) == 0);
    KT_CHILD_CHECK(19, write_at("/proc/self/loginuid", "1000", 0) == 4);
    KT_CHILD_CHECK(20, write_at("/proc/self/loginuid", "1002", 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(21, write_at("/proc/self/loginuid", "4294967295", 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(22, read_ul("/proc/self/loginuid") == 1000);
    return 0;
}

KT_CASE(loginuid_and_sessionid) {
    struct stat st;
    KT_SYS_RET(stat("/proc/self/loginuid", &st), 0);
    KT_EQ(st.st_mode & 07777, 0644);
    KT_SYS_RET(stat("/proc/self/sessionid", &st), 0);
    KT_EQ(st.st_mode & 07777, 0444);
    KT_EQ(kt_in_child(loginuid_rules), 0);
}

/* proc_pid_lookup(): a thread's id opens /proc/<tid> (its own Pid:, the
 * group's Tgid:) though /proc's listing names only thread-group leaders. */
static volatile pid_t tid_seen;
static void *tid_thread(void *a) {
    (void)a;
    tid_seen = (pid_t)syscall(SYS_gettid);
    while (tid_seen) usleep(1000);
    return 0;
}

KT_CASE(a_thread_id_names_a_proc_directory) {
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, tid_thread, 0), 0);
    while (!tid_seen) usleep(1000);
    pid_t tid = tid_seen;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    int fd = KT_SYS_OK(open(path, O_RDONLY));
    int n = KT_SYS_OK(read(fd, buf, sizeof buf - 1));
    close(fd);
    buf[n] = 0;
    char want[64];
    snprintf(want, sizeof want, "\nTgid:\t%d\n", (int)getpid());
    KT_TRUE(strstr(buf, want) != NULL, "%s", buf);
    snprintf(want, sizeof want, "\nPid:\t%d\n", (int)tid);
    KT_TRUE(strstr(buf, want) != NULL, "%s", buf);
    snprintf(path, sizeof path, "/proc/%d", (int)tid);
    struct stat st;
    KT_SYS_OK(stat(path, &st));
    KT_EQ(S_ISDIR(st.st_mode), 1);
    int listed = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (atoi(e->d_name) == tid) listed = 1;
    if (d) closedir(d);
    KT_EQ(listed, 0);
    tid_seen = 0;
    pthread_join(th, 0);
    /* (the thread's id is freed a little after join's futex wake) */
    for (int i = 0; i < 400 && stat(path, &st) == 0; i++) usleep(5000);
    KT_SYS_ERR(stat(path, &st), ENOENT);
}

KT_MAIN()
