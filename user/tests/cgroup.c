/* cgroup v2 (cg38): `mount -t cgroup2` on /tmp/cg, groups made and
 * removed (EEXIST, EBUSY while populated or with children, EAGAIN at
 * cgroup.max.depth / cgroup.max.descendants), the files' text, processes
 * moved by cgroup.procs (children inherit the group at fork;
 * /proc/PID/cgroup "0::/path"), cgroup.subtree_control's rules, the pids
 * controller (fork EAGAIN beyond pids.max, pids.events), cgroup.kill, the
 * permission on cgroup.procs, and cgroup namespaces (CLONE_NEWCGROUP by
 * unshare, clone and setns; paths from the namespace's root with "/.."
 * for groups outside it; a cgroup2 mount inside one is rooted there, and
 * mountinfo's root field is seen from the reader's namespace), and
 * clone3's CLONE_INTO_CGROUP, cgroup.freeze, cpu.stat and the cpu
 * controller's files (cg39). Run as
 * root; each case mounts /tmp/cg and takes its groups and the mount away
 * (helpers in kt_cgroup.h). */
#include "kt_cgroup.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

KT_CASE(mount_shows_the_root_group) {
    KT_SYS_OK(mount_cg());
    struct stat st;
    KT_SYS_OK(stat(CG, &st));
    KT_EQ(st.st_mode, S_IFDIR | 0555);
    KT_SYS_OK(stat(CG "/cgroup.procs", &st));
    KT_EQ(st.st_mode, S_IFREG | 0644);
    KT_EQ(st.st_uid, 0);
    KT_SYS_OK(stat(CG "/cgroup.controllers", &st));
    KT_EQ(st.st_mode, S_IFREG | 0444);
    /* not on the root */
    KT_SYS_ERR(stat(CG "/cgroup.events", &st), ENOENT);
    KT_SYS_ERR(stat(CG "/cgroup.type", &st), ENOENT);
    KT_SYS_ERR(stat(CG "/cgroup.freeze", &st), ENOENT);
    KT_SYS_ERR(stat(CG "/pids.max", &st), ENOENT);
    KT_STREQ(text_of("/proc/self/cgroup"), "0::/\n");
    KT_STREQ(text_of(CG "/cgroup.max.depth"), "max\n");
    KT_STREQ(text_of(CG "/cgroup.max.descendants"), "max\n");
    KT_STREQ(text_of(CG "/cgroup.subtree_control"), "");
    KT_TRUE(strstr(text_of(CG "/cgroup.controllers"), "pids") != NULL, "%s", text_of(CG "/cgroup.controllers"));
    /* the mount's lines */
    char buf[8192];
    KT_TRUE(kt_read_text("/proc/self/mounts", buf, sizeof buf) > 0, "mounts");
    KT_TRUE(strstr(buf, "\nnone " CG " cgroup2 rw,relatime 0 0\n") != NULL, "%s", buf);
    KT_TRUE(kt_read_text("/proc/self/mountinfo", buf, sizeof buf) > 0, "mountinfo");
    char *line = strstr(buf, " / " CG " rw,relatime");
    KT_TRUE(line != NULL, "%s", buf);
    char *end = strchr(line, '\n');
    KT_TRUE(end != NULL && end - line > 20 && memcmp(end - 18, " - cgroup2 none rw", 18) == 0, "%.200s", line);
    umount_cg();
    /* visible from now on, without a mount */
    KT_STREQ(text_of("/proc/self/cgroup"), "0::/\n");
}

KT_CASE(mkdir_files_and_rmdir) {
    KT_SYS_OK(mount_cg());
    umask(022);
    KT_SYS_OK(mkdir(CG "/t1", 0770));
    struct stat st;
    KT_SYS_OK(stat(CG "/t1", &st));
    KT_EQ(st.st_mode, S_IFDIR | 0750);
    KT_SYS_ERR(mkdir(CG "/t1", 0755), EEXIST);
    KT_SYS_ERR(mkdir(CG "/cgroup.procs", 0755), EEXIST);
    KT_STREQ(text_of(CG "/t1/cgroup.type"), "domain\n");
    KT_STREQ(text_of(CG "/t1/cgroup.events"), "populated 0\nfrozen 0\n");
    KT_STREQ(text_of(CG "/t1/cgroup.controllers"), "");
    KT_STREQ(text_of(CG "/t1/cgroup.subtree_control"), "");
    KT_STREQ(text_of(CG "/t1/cgroup.procs"), "");
    KT_STREQ(text_of(CG "/t1/cgroup.threads"), "");
    KT_STREQ(text_of(CG "/t1/cgroup.freeze"), "0\n");
    KT_STREQ(text_of(CG "/t1/cgroup.max.depth"), "max\n");
    KT_STREQ(text_of(CG "/t1/cgroup.stat"), "nr_descendants 0\nnr_dying_descendants 0\n");
    /* (the root's dying count: Linux may still be releasing groups an
     * earlier program removed) */
    const char *root_stat = text_of(CG "/cgroup.stat");
    KT_TRUE(strncmp(root_stat, "nr_descendants 1\nnr_dying_descendants ", 38) == 0, "%s", root_stat);
    KT_SYS_OK(stat(CG "/t1/cgroup.kill", &st));
    KT_EQ(st.st_mode, S_IFREG | 0200);
    /* names the directory cannot make or remove */
    KT_SYS_ERR(open(CG "/t1/newfile", O_WRONLY | O_CREAT, 0644), EACCES);
    KT_SYS_ERR(unlink(CG "/t1/cgroup.procs"), EPERM);
    KT_SYS_ERR(rmdir(CG "/t1/cgroup.procs"), ENOTDIR);
    KT_SYS_ERR(write_text(CG "/t1/cgroup.type", "domain"), EINVAL);
    KT_SYS_ERR(write_text(CG "/t1/cgroup.freeze", "2"), ERANGE);
    KT_SYS_ERR(write_text(CG "/t1/cgroup.kill", "0"), ERANGE);
    KT_SYS_ERR(write_text(CG "/t1/cgroup.max.depth", "-1"), ERANGE);
    KT_SYS_ERR(write_text(CG "/t1/cgroup.max.depth", "x"), EINVAL);
    KT_SYS_OK(rmdir(CG "/t1"));
    KT_SYS_ERR(rmdir(CG "/t1"), ENOENT);
    KT_SYS_ERR(stat(CG "/t1", &st), ENOENT);
    /* (Linux may count the removed group as dying for a while) */
    const char *stat_text = text_of(CG "/cgroup.stat");
    KT_TRUE(strncmp(stat_text, "nr_descendants 0\nnr_dying_descendants ", 38) == 0, "%s", stat_text);
    umount_cg();
}

KT_CASE(depth_and_descendant_limits) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/a", 0755));
    KT_SYS_OK(mkdir(CG "/a/b", 0755));
    KT_SYS_ERR(rmdir(CG "/a"), EBUSY);
    KT_SYS_OK(write_text(CG "/a/cgroup.max.depth", "1\n"));
    KT_STREQ(text_of(CG "/a/cgroup.max.depth"), "1\n");
    KT_SYS_ERR(mkdir(CG "/a/b/c", 0755), EAGAIN);
    KT_SYS_OK(write_text(CG "/a/cgroup.max.depth", "max"));
    KT_SYS_OK(mkdir(CG "/a/b/c", 0755));
    KT_STREQ(text_of(CG "/a/cgroup.stat"), "nr_descendants 2\nnr_dying_descendants 0\n");
    KT_SYS_OK(write_text(CG "/a/cgroup.max.descendants", "2"));
    KT_SYS_ERR(mkdir(CG "/a/d", 0755), EAGAIN);
    KT_SYS_ERR(mkdir(CG "/a/b/c/d", 0755), EAGAIN);
    KT_SYS_OK(rmdir(CG "/a/b/c"));
    KT_SYS_OK(mkdir(CG "/a/d", 0755));
    KT_SYS_OK(rmdir(CG "/a/d"));
    KT_SYS_OK(rmdir(CG "/a/b"));
    KT_SYS_OK(rmdir(CG "/a"));
    umount_cg();
}

KT_CASE(procs_moves_and_fork_inherits) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/t2", 0755));
    int wr;
    pid_t c = sleeper(&wr);
    KT_TRUE(c > 0, "fork");
    KT_SYS_OK(write_pid(CG "/t2/cgroup.procs", c));
    char want[64], path[64];
    snprintf(want, sizeof want, "%d\n", (int)c);
    KT_STREQ(text_of(CG "/t2/cgroup.procs"), want);
    KT_STREQ(text_of(CG "/t2/cgroup.threads"), want);
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)c);
    KT_STREQ(text_of(path), "0::/t2\n");
    KT_STREQ(text_of(CG "/t2/cgroup.events"), "populated 1\nfrozen 0\n");
    KT_SYS_ERR(rmdir(CG "/t2"), EBUSY);
    /* the writer itself (0), then a fork inherits its group */
    KT_SYS_OK(write_text(CG "/t2/cgroup.procs", "0"));
    KT_STREQ(text_of("/proc/self/cgroup"), "0::/t2\n");
    pid_t g = KT_FORK();
    if (g == 0) _exit(strcmp(text_of("/proc/self/cgroup"), "0::/t2\n") == 0 ? 0 : 1);
    KT_WAIT_STATUS(g, kt_exited(0));
    KT_SYS_OK(write_pid(CG "/cgroup.procs", getpid()));
    KT_STREQ(text_of("/proc/self/cgroup"), "0::/\n");
    /* bad numbers, a task that does not exist */
    KT_SYS_ERR(write_text(CG "/t2/cgroup.procs", "abc"), EINVAL);
    KT_SYS_ERR(write_text(CG "/t2/cgroup.procs", "-1"), EINVAL);
    KT_SYS_ERR(write_text(CG "/t2/cgroup.procs", "1 2"), EINVAL);
    KT_SYS_ERR(write_text(CG "/t2/cgroup.procs", "4000000"), ESRCH);
    /* a thread cannot leave its process's domain group */
    KT_SYS_ERR(write_pid(CG "/cgroup.threads", c), EOPNOTSUPP);
    close(wr);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_STREQ(text_of(CG "/t2/cgroup.events"), "populated 0\nfrozen 0\n");
    KT_STREQ(text_of(CG "/t2/cgroup.procs"), "");
    KT_SYS_OK(rmdir(CG "/t2"));
    /* a removed group's file */
    umount_cg();
}

KT_CASE(subtree_control_rules) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/s", 0755));
    KT_SYS_OK(mkdir(CG "/s/t", 0755));
    KT_SYS_ERR(write_text(CG "/cgroup.subtree_control", "+nosuch"), EINVAL);
    KT_SYS_ERR(write_text(CG "/cgroup.subtree_control", "pids"), EINVAL);
    KT_SYS_ERR(write_text(CG "/s/cgroup.subtree_control", "+pids"), ENOENT);
    KT_SYS_OK(write_text(CG "/s/cgroup.subtree_control", "-pids"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids\n"));
    KT_STREQ(text_of(CG "/cgroup.subtree_control"), "pids\n");
    KT_STREQ(text_of(CG "/s/cgroup.controllers"), "pids\n");
    KT_STREQ(text_of(CG "/s/pids.max"), "max\n");
    KT_STREQ(text_of(CG "/s/t/cgroup.controllers"), "");
    struct stat st;
    KT_SYS_ERR(stat(CG "/s/t/pids.max", &st), ENOENT);
    KT_SYS_OK(write_text(CG "/s/cgroup.subtree_control", "+pids"));
    KT_STREQ(text_of(CG "/s/t/pids.current"), "0\n");
    KT_SYS_ERR(write_text(CG "/cgroup.subtree_control", "-pids"), EBUSY);
    /* a group with a controller on and a populated child takes no process */
    int wr;
    pid_t c = sleeper(&wr);
    KT_SYS_OK(write_pid(CG "/s/t/cgroup.procs", c));
    KT_SYS_ERR(write_pid(CG "/s/cgroup.procs", getpid()), EBUSY);
    close(wr);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(write_text(CG "/s/cgroup.subtree_control", "-pids"));
    KT_STREQ(text_of(CG "/s/cgroup.subtree_control"), "");
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-pids"));
    KT_STREQ(text_of(CG "/cgroup.subtree_control"), "");
    KT_SYS_OK(rmdir(CG "/s/t"));
    KT_SYS_OK(rmdir(CG "/s"));
    umount_cg();
}

/* A child in p (pids.max 2) forks one that stays and then a second:
 * EAGAIN. */
KT_CASE(pids_max_refuses_fork_with_eagain) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids"));
    KT_SYS_OK(mkdir(CG "/p", 0755));
    KT_STREQ(text_of(CG "/p/pids.max"), "max\n");
    KT_STREQ(text_of(CG "/p/pids.current"), "0\n");
    KT_STREQ(text_of(CG "/p/pids.events"), "max 0\n");
    KT_SYS_ERR(write_text(CG "/p/pids.max", "-1"), EINVAL);
    KT_SYS_ERR(write_text(CG "/p/pids.max", "4194305"), EINVAL);
    KT_SYS_ERR(write_text(CG "/p/pids.max", "x"), EINVAL);
    KT_SYS_OK(write_text(CG "/p/pids.max", "2\n"));
    KT_STREQ(text_of(CG "/p/pids.max"), "2\n");
    int go[2], res[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(res));
    pid_t c = KT_FORK();
    if (c == 0) {
        close(go[1]);
        close(res[0]);
        if (write_text(CG "/p/cgroup.procs", "0") != 0) _exit(10);
        int gw;
        pid_t g1 = sleeper(&gw);
        if (g1 < 0) _exit(11);
        pid_t g2 = fork();
        if (g2 == 0) _exit(0);
        int e = g2 < 0 ? errno : 0;
        if (write(res[1], &e, sizeof e) != sizeof e) _exit(12);
        char b;
        while (read(go[0], &b, 1) == -1 && errno == EINTR) {
        }
        close(gw);
        waitpid(g1, NULL, 0);
        _exit(0);
    }
    close(go[0]);
    close(res[1]);
    int e = -1;
    KT_EQ(read(res[0], &e, sizeof e), sizeof e);
    KT_EQ(e, EAGAIN);
    KT_STREQ(text_of(CG "/p/pids.current"), "2\n");
    KT_STREQ(text_of(CG "/p/pids.events"), "max 1\n");
    close(go[1]);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_STREQ(text_of(CG "/p/pids.current"), "0\n");
    KT_STREQ(text_of(CG "/p/cgroup.events"), "populated 0\nfrozen 0\n");
    /* a move is charged beyond the limit */
    KT_SYS_OK(write_text(CG "/p/pids.max", "0"));
    int wr;
    pid_t s = sleeper(&wr);
    KT_SYS_OK(write_pid(CG "/p/cgroup.procs", s));
    KT_STREQ(text_of(CG "/p/pids.current"), "1\n");
    close(wr);
    KT_WAIT_STATUS(s, kt_exited(0));
    KT_SYS_OK(rmdir(CG "/p"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-pids"));
    umount_cg();
}

KT_CASE(kill_ends_every_process_below) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/k", 0755));
    KT_SYS_OK(mkdir(CG "/k/sub", 0755));
    int w1, w2;
    pid_t a = sleeper(&w1), b = sleeper(&w2);
    KT_SYS_OK(write_pid(CG "/k/cgroup.procs", a));
    KT_SYS_OK(write_pid(CG "/k/sub/cgroup.procs", b));
    KT_SYS_OK(write_text(CG "/k/cgroup.kill", "1"));
    KT_WAIT_STATUS(a, kt_killed(SIGKILL));
    KT_WAIT_STATUS(b, kt_killed(SIGKILL));
    close(w1);
    close(w2);
    KT_SYS_OK(rmdir(CG "/k/sub"));
    KT_SYS_OK(rmdir(CG "/k"));
    umount_cg();
}

/* The writer needs write access to the common ancestor's cgroup.procs
 * (root's 0644 here): a user's open for writing is refused. */
static int user_moves(void) {
    KT_CHILD_CHECK(1, setgid(1000) == 0 && setuid(1000) == 0);
    KT_CHILD_CHECK(2, open(CG "/u/cgroup.procs", O_WRONLY) == -1 && errno == EACCES);
    KT_CHILD_CHECK(3, strcmp(text_of("/proc/self/cgroup"), "0::/u\n") == 0);
    KT_CHILD_CHECK(4, mkdir(CG "/u/v", 0755) == -1 && errno == EACCES);
    KT_CHILD_CHECK(5, rmdir(CG "/u") == -1 && errno == EACCES);
    return 0;
}

KT_CASE(procs_write_needs_permission) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/u", 0755));
    KT_SYS_OK(write_text(CG "/u/cgroup.procs", "0"));
    int r = kt_in_child(user_moves);
    KT_SYS_OK(write_text(CG "/cgroup.procs", "0"));
    KT_EQ(r, 0);
    KT_SYS_OK(rmdir(CG "/u"));
    umount_cg();
}

/* In a child: into /ns1, a namespace of its own there, then moves
 * around, checking /proc/self/cgroup each time; mounts cgroup2 on
 * /tmp/cgns (rooted at /ns1) and reads mountinfo's root fields. */
static int ns_child(void) {
    char buf[8192];
    KT_CHILD_CHECK(1, write_text(CG "/ns1/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWCGROUP) == 0);
    KT_CHILD_CHECK(3, strcmp(text_of("/proc/self/cgroup"), "0::/\n") == 0);
    KT_CHILD_CHECK(4, write_text(CG "/ns1/sub/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(5, strcmp(text_of("/proc/self/cgroup"), "0::/sub\n") == 0);
    KT_CHILD_CHECK(6, write_text(CG "/other/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(7, strcmp(text_of("/proc/self/cgroup"), "0::/../other\n") == 0);
    KT_CHILD_CHECK(8, write_text(CG "/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(9, strcmp(text_of("/proc/self/cgroup"), "0::/..\n") == 0);
    /* init (pid 1) is in the root */
    KT_CHILD_CHECK(10, strcmp(text_of("/proc/1/cgroup"), "0::/..\n") == 0);
    mkdir("/tmp/cgns", 0755);
    KT_CHILD_CHECK(11, mount("none", "/tmp/cgns", "cgroup2", 0, NULL) == 0);
    struct stat st;
    KT_CHILD_CHECK(12, stat("/tmp/cgns/sub", &st) == 0 && S_ISDIR(st.st_mode));
    KT_CHILD_CHECK(13, stat("/tmp/cgns/other", &st) == -1 && errno == ENOENT);
    KT_CHILD_CHECK(14, kt_read_text("/proc/self/mountinfo", buf, sizeof buf) > 0);
    KT_CHILD_CHECK(15, strstr(buf, " / /tmp/cgns rw,relatime") != NULL);
    KT_CHILD_CHECK(16, strstr(buf, " /.. " CG " rw,relatime") != NULL);
    return 0;
}

KT_CASE(namespace_paths_are_relative_to_its_root) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/ns1", 0755));
    KT_SYS_OK(mkdir(CG "/ns1/sub", 0755));
    KT_SYS_OK(mkdir(CG "/other", 0755));
    int r = kt_in_child(ns_child);
    KT_EQ(r, 0);
    /* seen from the initial namespace: the mount's root is /ns1 */
    char buf[8192];
    KT_TRUE(kt_read_text("/proc/self/mountinfo", buf, sizeof buf) > 0, "mountinfo");
    KT_TRUE(strstr(buf, " /ns1 /tmp/cgns rw,relatime") != NULL, "%s", buf);
    KT_SYS_OK(umount2("/tmp/cgns", MNT_DETACH));
    KT_SYS_OK(rmdir(CG "/ns1/sub"));
    KT_SYS_OK(rmdir(CG "/ns1"));
    KT_SYS_OK(rmdir(CG "/other"));
    umount_cg();
}

/* clone(CLONE_NEWCGROUP) roots the child's namespace at the parent's
 * group; setns(2) into it from the root group gives "/.." paths. */
KT_CASE(clone_and_setns) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/cl", 0755));
    KT_SYS_OK(write_text(CG "/cl/cgroup.procs", "0"));
    int go[2];
    KT_SYS_OK(pipe(go));
    pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        close(go[1]);
        int ok = strcmp(text_of("/proc/self/cgroup"), "0::/\n") == 0;
        char b;
        while (read(go[0], &b, 1) == -1 && errno == EINTR) {
        }
        _exit(ok ? 0 : 1);
    }
    KT_TRUE(c > 0, "clone: %s", kt_errname(errno));
    close(go[0]);
    KT_SYS_OK(write_text(CG "/cgroup.procs", "0"));
    char path[64], mine[64], theirs[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)c);
    KT_STREQ(text_of(path), "0::/cl\n");
    snprintf(path, sizeof path, "/proc/%d/ns/cgroup", (int)c);
    KT_TRUE(readlink(path, theirs, sizeof theirs) > 0, "readlink");
    ssize_t n = readlink("/proc/self/ns/cgroup", mine, sizeof mine - 1);
    KT_TRUE(n > 0, "readlink self");
    mine[n] = 0;
    KT_TRUE(strcmp(mine, theirs) != 0 && strncmp(theirs, "cgroup:[", 8) == 0, "%s %s", mine, theirs);
    int fd = KT_SYS_OK(open(path, O_RDONLY));
    pid_t s = KT_FORK();
    if (s == 0) {
        if (setns(fd, CLONE_NEWCGROUP) != 0) _exit(2);
        _exit(strcmp(text_of("/proc/self/cgroup"), "0::/..\n") == 0 ? 0 : 3);
    }
    KT_WAIT_STATUS(s, kt_exited(0));
    /* the wrong kind */
    KT_SYS_ERR(setns(fd, CLONE_NEWNET), EINVAL);
    close(fd);
    close(go[1]);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(rmdir(CG "/cl"));
    umount_cg();
}

/* clone3(CLONE_INTO_CGROUP | extra) into the group whose directory is
 * open as `dfd`: the child's pid (0 in the child), or -1 and errno. */
static pid_t clone_into(int dfd, uint64_t extra) {
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_INTO_CGROUP | extra;
    a.exit_signal = (extra & CLONE_THREAD) ? 0 : SIGCHLD;
    a.cgroup = (uint64_t)(unsigned)dfd;
    return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

static int into_dfd;

/* A thread cannot be made in another group than its process's. (In a
 * helper process: a thread wrongly made would run on a bare stack.) */
static int thread_into_other_group(void) {
    static char stack[16384];
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_INTO_CGROUP | CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
    a.stack = (uint64_t)(uintptr_t)stack;
    a.stack_size = sizeof stack;
    a.cgroup = (uint64_t)into_dfd;
    long r = syscall(SYS_clone3, &a, sizeof a);
    KT_CHILD_CHECK(1, r == -1 && errno == EOPNOTSUPP);
    return 0;
}

/* A user needs write access to the target's cgroup.procs. */
static int user_clones_into(void) {
    KT_CHILD_CHECK(1, setgid(1000) == 0 && setuid(1000) == 0);
    KT_CHILD_CHECK(2, clone_into(into_dfd, 0) == -1 && errno == EACCES);
    return 0;
}

KT_CASE(clone3_into_cgroup) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/ci", 0755));
    KT_SYS_OK(mkdir(CG "/ci/x", 0755));
    int cfd = KT_SYS_OK(open(CG "/ci", O_RDONLY | O_DIRECTORY));
    int dfd = KT_SYS_OK(open(CG "/ci/x", O_RDONLY | O_DIRECTORY));
    pid_t c = clone_into(dfd, 0);
    if (c == 0) _exit(strcmp(text_of("/proc/self/cgroup"), "0::/ci/x\n") == 0 ? 0 : 1);
    KT_TRUE(c > 0, "clone3: %s", kt_errname(errno));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_STREQ(text_of("/proc/self/cgroup"), "0::/\n");
    /* an O_PATH descriptor will do; the child is listed while it lives */
    int pfd = KT_SYS_OK(open(CG "/ci/x", O_PATH));
    int go[2];
    KT_SYS_OK(pipe(go));
    c = clone_into(pfd, 0);
    if (c == 0) {
        close(go[1]);
        char b;
        while (read(go[0], &b, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    KT_TRUE(c > 0, "clone3 O_PATH: %s", kt_errname(errno));
    close(go[0]);
    char want[32];
    snprintf(want, sizeof want, "%d\n", (int)c);
    KT_STREQ(text_of(CG "/ci/x/cgroup.procs"), want);
    KT_STREQ(text_of(CG "/ci/cgroup.events"), "populated 1\nfrozen 0\n");
    /* descriptors that are not a cgroup directory */
    KT_SYS_ERR(clone_into(999, 0), EBADF);
    int tfd = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(clone_into(tfd, 0), EBADF);
    close(tfd);
    int ffd = KT_SYS_OK(open(CG "/ci/x/cgroup.procs", O_RDONLY));
    KT_SYS_ERR(clone_into(ffd, 0), EBADF);
    close(ffd);
    into_dfd = dfd;
    KT_EQ(kt_in_child(thread_into_other_group), 0);
    KT_EQ(kt_in_child(user_clones_into), 0);
    /* the no-internal-process rule: ci enables pids, x is populated */
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids"));
    KT_SYS_OK(write_text(CG "/ci/cgroup.subtree_control", "+pids"));
    KT_SYS_ERR(clone_into(cfd, 0), EBUSY);
    /* the target's pids.max, its event counted there */
    KT_SYS_OK(write_text(CG "/ci/x/pids.max", "1"));
    KT_SYS_ERR(clone_into(dfd, 0), EAGAIN);
    KT_STREQ(text_of(CG "/ci/x/pids.events"), "max 1\n");
    KT_STREQ(text_of(CG "/ci/x/pids.current"), "1\n");
    close(go[1]);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(write_text(CG "/ci/cgroup.subtree_control", "-pids"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-pids"));
    /* a removed group */
    KT_SYS_OK(rmdir(CG "/ci/x"));
    KT_SYS_ERR(clone_into(dfd, 0), ENOENT);
    KT_SYS_ERR(clone_into(pfd, 0), ENOENT);
    close(dfd);
    close(pfd);
    close(cfd);
    KT_SYS_OK(rmdir(CG "/ci"));
    umount_cg();
}

/* cgroup.events' "frozen" of group `dir` becomes `want` within 5 s (the
 * freezer is asynchronous on Linux: each task freezes on its own way
 * back to user mode). */
static int wait_frozen(const char *dir, int want) {
    char path[128];
    snprintf(path, sizeof path, "%s/cgroup.events", dir);
    for (int i = 0; i < 500; i++) {
        const char *f = strstr(text_of(path), "frozen ");
        if (f && f[7] == '0' + want) return 0;
        usleep(10000);
    }
    errno = ETIMEDOUT;
    return -1;
}

/* cgroup.freeze: a spinning task and one blocked in read(2) stop without
 * a stop that wait(2) or SIGCONT would see, go on after the thaw, and a
 * frozen task is killed by SIGKILL. */
KT_CASE(freeze_stops_tasks_until_thaw) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/fz", 0755));
    KT_STREQ(text_of(CG "/fz/cgroup.freeze"), "0\n");
    KT_SYS_ERR(write_text(CG "/fz/cgroup.freeze", "2"), ERANGE);
    KT_SYS_ERR(write_text(CG "/fz/cgroup.freeze", "x"), EINVAL);
    volatile long *counter =
        (volatile long *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(counter != MAP_FAILED, "mmap");
    pid_t spin = KT_FORK();
    if (spin == 0) {
        for (;;) (*counter)++;
    }
    int wr;
    pid_t sl = sleeper(&wr);
    KT_SYS_OK(write_pid(CG "/fz/cgroup.procs", spin));
    KT_SYS_OK(write_pid(CG "/fz/cgroup.procs", sl));
    KT_SYS_OK(write_text(CG "/fz/cgroup.freeze", "1"));
    KT_STREQ(text_of(CG "/fz/cgroup.freeze"), "1\n");
    int fr = wait_frozen(CG "/fz", 1);
    if (fr != 0) kill(spin, SIGKILL);
    KT_SYS_OK(fr);
    KT_STREQ(text_of(CG "/fz/cgroup.events"), "populated 1\nfrozen 1\n");
    long a = *counter;
    usleep(100000);
    long b = *counter;
    /* not a stop: wait(2) sees nothing, SIGCONT does not end it */
    int st;
    pid_t w = waitpid(spin, &st, WNOHANG | WUNTRACED | WCONTINUED);
    kill(spin, SIGCONT);
    usleep(50000);
    long c = *counter;
    /* the sleeper's byte waits for the thaw */
    KT_EQ(write(wr, "x", 1), 1);
    usleep(100000);
    pid_t w2 = waitpid(sl, &st, WNOHANG);
    KT_SYS_OK(write_text(CG "/fz/cgroup.freeze", "0"));
    KT_EQ(b, a);
    KT_EQ(c, a);
    KT_EQ(w, 0);
    KT_EQ(w2, 0);
    KT_SYS_OK(wait_frozen(CG "/fz", 0));
    KT_STREQ(text_of(CG "/fz/cgroup.freeze"), "0\n");
    KT_WAIT_STATUS(sl, kt_exited(0));
    for (int i = 0; i < 500 && *counter == a; i++) usleep(10000);
    KT_TRUE(*counter != a, "the spinner runs again");
    /* a frozen group's task is killed */
    KT_SYS_OK(write_text(CG "/fz/cgroup.freeze", "1"));
    fr = wait_frozen(CG "/fz", 1);
    KT_SYS_OK(kill(spin, SIGKILL));
    KT_SYS_OK(fr);
    KT_WAIT_STATUS(spin, kt_killed(SIGKILL));
    KT_STREQ(text_of(CG "/fz/cgroup.events"), "populated 0\nfrozen 1\n");
    close(wr);
    KT_SYS_OK(write_text(CG "/fz/cgroup.freeze", "0"));
    KT_STREQ(text_of(CG "/fz/cgroup.events"), "populated 0\nfrozen 0\n");
    KT_SYS_OK(rmdir(CG "/fz"));
    munmap((void *)counter, 4096);
    umount_cg();
}

/* cpu.stat's three lines of group `dir`. */
static int cpu_stat(const char *dir, long long *usage, long long *user, long long *sys) {
    char path[128];
    snprintf(path, sizeof path, "%s/cpu.stat", dir);
    return sscanf(text_of(path), "usage_usec %lld\nuser_usec %lld\nsystem_usec %lld\n", usage, user, sys) == 3
               ? 0
               : -1;
}

/* A child that joins `dir` and spins for `ms` of its own CPU time. */
static void spin_in(const char *dir, int ms) {
    char path[128];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    if (write_text(path, "0") != 0) _exit(2);
    struct timespec ts;
    do {
        for (volatile int i = 0; i < 200000; i++) {
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < ms);
    _exit(0);
}

/* cpu.stat (a core file of every group): the time of the tasks that ran
 * in a group and below it, kept after they end and after a child group
 * is removed. */
KT_CASE(cpu_stat_counts_a_groups_time) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/cs", 0755));
    KT_SYS_OK(mkdir(CG "/cs/sub", 0755));
    struct stat st;
    KT_SYS_OK(stat(CG "/cs/cpu.stat", &st));
    KT_EQ(st.st_mode, S_IFREG | 0444);
    KT_SYS_OK(stat(CG "/cpu.stat", &st));
    long long u, us, sy;
    KT_SYS_OK(cpu_stat(CG "/cs", &u, &us, &sy));
    KT_EQ(u, 0);
    KT_EQ(us + sy, 0);
    pid_t c = KT_FORK();
    if (c == 0) spin_in(CG "/cs", 300);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(cpu_stat(CG "/cs", &u, &us, &sy));
    /* (Linux counts from the move on: the child's time before it is not
     * the group's) */
    KT_TRUE(u >= 250000 && u < 10000000, "usage_usec %lld", u);
    KT_TRUE(us >= 150000, "user_usec %lld", us);
    KT_TRUE(us + sy >= u - 1000 && us + sy <= u + 1000, "%lld + %lld vs %lld", us, sy, u);
    long long u1 = u;
    c = KT_FORK();
    if (c == 0) spin_in(CG "/cs/sub", 200);
    KT_WAIT_STATUS(c, kt_exited(0));
    long long su, sus, ssy;
    KT_SYS_OK(cpu_stat(CG "/cs/sub", &su, &sus, &ssy));
    KT_TRUE(su >= 150000, "sub usage_usec %lld", su);
    KT_SYS_OK(cpu_stat(CG "/cs", &u, &us, &sy));
    KT_TRUE(u >= u1 + su, "usage_usec %lld after %lld + %lld", u, u1, su);
    KT_SYS_OK(rmdir(CG "/cs/sub"));
    long long u2 = u;
    KT_SYS_OK(cpu_stat(CG "/cs", &u, &us, &sy));
    KT_TRUE(u >= u2, "usage_usec %lld after the rmdir, %lld before", u, u2);
    KT_SYS_OK(cpu_stat(CG, &u, &us, &sy));
    KT_TRUE(u >= u2, "root usage_usec %lld", u);
    KT_SYS_OK(rmdir(CG "/cs"));
    umount_cg();
}

/* A process moved out of a group leaves the time it used there behind:
 * the group's usage_usec never goes back (Linux's rstat counters). */
KT_CASE(cpu_stat_keeps_a_moved_process_time) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/mv", 0755));
    KT_SYS_OK(mkdir(CG "/mv/a", 0755));
    KT_SYS_OK(mkdir(CG "/mv/b", 0755));
    int p1[2], p2[2];
    KT_SYS_OK(pipe(p1));
    KT_SYS_OK(pipe(p2));
    pid_t c = KT_FORK();
    if (c == 0) {
        char x;
        if (write_text(CG "/mv/a/cgroup.procs", "0") != 0) _exit(2);
        struct timespec ts;
        do {
            for (volatile int i = 0; i < 200000; i++) {
            }
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        } while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < 200);
        if (write(p1[1], "1", 1) != 1 || read(p2[0], &x, 1) != 1) _exit(3);
        if (write_text(CG "/mv/b/cgroup.procs", "0") != 0) _exit(4);
        if (write(p1[1], "2", 1) != 1 || read(p2[0], &x, 1) != 1) _exit(5);
        _exit(0);
    }
    char x;
    KT_EQ(read(p1[0], &x, 1), 1);
    long long u1, u2, ub, us, sy;
    KT_SYS_OK(cpu_stat(CG "/mv/a", &u1, &us, &sy));
    KT_EQ(write(p2[1], "g", 1), 1);
    KT_EQ(read(p1[0], &x, 1), 1);
    KT_SYS_OK(cpu_stat(CG "/mv/a", &u2, &us, &sy));
    KT_SYS_OK(cpu_stat(CG "/mv/b", &ub, &us, &sy));
    KT_EQ(write(p2[1], "g", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_TRUE(u1 >= 150000, "a's usage_usec %lld", u1);
    KT_TRUE(u2 >= u1, "a's usage_usec %lld after the move, %lld before", u2, u1);
    KT_TRUE(ub < 100000, "b's usage_usec %lld", ub);
    long long um;
    KT_SYS_OK(cpu_stat(CG "/mv", &um, &us, &sy));
    KT_TRUE(um >= u2, "mv's usage_usec %lld", um);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    KT_SYS_OK(rmdir(CG "/mv/a"));
    KT_SYS_OK(rmdir(CG "/mv/b"));
    KT_SYS_OK(rmdir(CG "/mv"));
    umount_cg();
}

/* A child made by clone3(CLONE_INTO_CGROUP) into a frozen group freezes
 * before its first instruction (cgroup_post_fork's JOBCTL_TRAP_FREEZE),
 * and runs after the thaw. */
KT_CASE(a_child_made_into_a_frozen_group_runs_after_the_thaw) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/fc", 0755));
    KT_SYS_OK(write_text(CG "/fc/cgroup.freeze", "1"));
    KT_SYS_OK(wait_frozen(CG "/fc", 1));
    volatile long *shared =
        (volatile long *)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(shared != MAP_FAILED, "mmap");
    /* (present before the clone: the child's store takes no fault, whose
     * way back to user mode would look at the freezer anyway) */
    *shared = 0;
    int dfd = open(CG "/fc", O_RDONLY | O_DIRECTORY);
    KT_TRUE(dfd >= 0, "open: %s", strerror(errno));
    pid_t c = clone_into(dfd, 0);
    if (c == 0) {
        *shared = 1;
        for (;;) (*shared)++;
    }
    KT_TRUE(c > 0, "clone3: %s", strerror(errno));
    int fr = wait_frozen(CG "/fc", 1);
    usleep(100000);
    long seen = *shared;
    KT_SYS_OK(write_text(CG "/fc/cgroup.freeze", "0"));
    for (int i = 0; i < 500 && *shared == 0; i++) usleep(10000);
    long after = *shared;
    KT_SYS_OK(kill(c, SIGKILL));
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    KT_SYS_OK(fr);
    KT_EQ(seen, 0);
    KT_TRUE(after != 0, "the child runs after the thaw");
    close(dfd);
    munmap((void *)shared, 4096);
    KT_SYS_OK(rmdir(CG "/fc"));
    umount_cg();
}

/* The cpu controller's files: cpu.weight's and cpu.max's ranges and
 * texts, cpu.stat's bandwidth lines where it is on. */
KT_CASE(cpu_controller_files) {
    KT_SYS_OK(mount_cg());
    KT_TRUE(strstr(text_of(CG "/cgroup.controllers"), "cpu ") != NULL, "%s", text_of(CG "/cgroup.controllers"));
    KT_SYS_OK(mkdir(CG "/cpu", 0755));
    struct stat st;
    KT_SYS_ERR(stat(CG "/cpu/cpu.max", &st), ENOENT);
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+cpu"));
    KT_SYS_ERR(stat(CG "/cpu.max", &st), ENOENT);
    KT_STREQ(text_of(CG "/cpu/cgroup.controllers"), "cpu\n");
    KT_STREQ(text_of(CG "/cpu/cpu.max"), "max 100000\n");
    KT_STREQ(text_of(CG "/cpu/cpu.weight"), "100\n");
    KT_SYS_ERR(write_text(CG "/cpu/cpu.weight", "0"), ERANGE);
    KT_SYS_ERR(write_text(CG "/cpu/cpu.weight", "10001"), ERANGE);
    KT_SYS_ERR(write_text(CG "/cpu/cpu.weight", "x"), EINVAL);
    KT_SYS_OK(write_text(CG "/cpu/cpu.weight", "50\n"));
    KT_STREQ(text_of(CG "/cpu/cpu.weight"), "50\n");
    KT_SYS_ERR(write_text(CG "/cpu/cpu.max", "999"), EINVAL);
    KT_SYS_ERR(write_text(CG "/cpu/cpu.max", "1000 999"), EINVAL);
    KT_SYS_ERR(write_text(CG "/cpu/cpu.max", "1000 1000001"), EINVAL);
    KT_SYS_ERR(write_text(CG "/cpu/cpu.max", "maxx"), EINVAL);
    KT_SYS_OK(write_text(CG "/cpu/cpu.max", "50000"));
    KT_STREQ(text_of(CG "/cpu/cpu.max"), "50000 100000\n");
    KT_SYS_OK(write_text(CG "/cpu/cpu.max", "20000 40000\n"));
    KT_STREQ(text_of(CG "/cpu/cpu.max"), "20000 40000\n");
    KT_SYS_OK(write_text(CG "/cpu/cpu.max", "max"));
    KT_STREQ(text_of(CG "/cpu/cpu.max"), "max 40000\n");
    const char *cs = text_of(CG "/cpu/cpu.stat");
    /* nr_periods may count one on Linux: the quota set above for a while
     * starts the bandwidth timer (a full run saw "nr_periods 1") */
    KT_TRUE(strstr(cs, "\nnr_periods ") != NULL && strstr(cs, "\nnr_throttled 0\nthrottled_usec 0\n") != NULL, "%s",
            cs);
    KT_SYS_OK(rmdir(CG "/cpu"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-cpu"));
    umount_cg();
}

KT_MAIN()
