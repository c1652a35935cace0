/* cgroup v2 delegation (cgmem40): chown(2) of a group's directory and of
 * its cgroup.procs, cgroup.subtree_control and cgroup.threads is kept
 * (systemd's Delegate=), so their unprivileged owner makes child groups
 * and moves its processes between the groups it owns, and nowhere else;
 * and the nsdelegate mount option (review39 M6 b): a cgroup namespace is
 * a delegation boundary (ENOENT for a move across it, EPERM for writes to
 * its root group's files). Run as root; each case mounts /tmp/cg and
 * takes its groups and the mount away. */
#include "kt_cgroup.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int delegatee(void) {
    KT_CHILD_CHECK(1, write_text(CG "/d/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(2, setgroups(0, NULL) == 0 && setresgid(1000, 1000, 1000) == 0 &&
                          setresuid(1000, 1000, 1000) == 0);
    KT_CHILD_CHECK(3, mkdir(CG "/d/a", 0755) == 0);
    KT_CHILD_CHECK(4, mkdir(CG "/d/b", 0755) == 0);
    struct stat st;
    KT_CHILD_CHECK(5, stat(CG "/d/a/cgroup.procs", &st) == 0 && st.st_uid == 1000);
    KT_CHILD_CHECK(6, write_text(CG "/d/a/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(7, strcmp(text_of("/proc/self/cgroup"), "0::/d/a\n") == 0);
    KT_CHILD_CHECK(8, write_text(CG "/d/b/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(9, strcmp(text_of("/proc/self/cgroup"), "0::/d/b\n") == 0);
    errno = 0;
    KT_CHILD_CHECK(10, write_text(CG "/cgroup.procs", "0") == -1 && errno == EACCES);
    errno = 0;
    KT_CHILD_CHECK(11, mkdir(CG "/x", 0755) == -1 && errno == EACCES);
    errno = 0;
    KT_CHILD_CHECK(12, write_text(CG "/d/cgroup.max.depth", "3") == -1 && errno == EACCES);
    errno = 0;
    KT_CHILD_CHECK(13, chown(CG "/d/a/cgroup.procs", 0, 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(14, rmdir(CG "/d/a") == 0);
    KT_CHILD_CHECK(15, strcmp(text_of("/proc/self/cgroup"), "0::/d/b\n") == 0);
    return 0;
}

KT_CASE(chown_delegates_a_subtree) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/d", 0755));
    KT_SYS_OK(chown(CG "/d", 1000, 1000));
    KT_SYS_OK(chown(CG "/d/cgroup.procs", 1000, 1000));
    KT_SYS_OK(chown(CG "/d/cgroup.subtree_control", 1000, 1000));
    KT_SYS_OK(chown(CG "/d/cgroup.threads", 1000, 1000));
    struct stat st;
    KT_SYS_OK(stat(CG "/d", &st));
    KT_EQ(st.st_uid, 1000);
    KT_EQ(st.st_gid, 1000);
    KT_SYS_OK(stat(CG "/d/cgroup.procs", &st));
    KT_EQ(st.st_uid, 1000);
    KT_SYS_OK(stat(CG "/d/cgroup.max.depth", &st));
    KT_EQ(st.st_uid, 0);
    /* chmod is kept too */
    KT_SYS_OK(chmod(CG "/d/cgroup.max.depth", 0600));
    KT_SYS_OK(stat(CG "/d/cgroup.max.depth", &st));
    KT_EQ(st.st_mode & 0777, 0600);
    KT_SYS_OK(chmod(CG "/d/cgroup.max.depth", 0644));
    KT_EQ(kt_in_child(delegatee), 0);
    KT_SYS_OK(rmdir(CG "/d/b"));
    KT_SYS_OK(rmdir(CG "/d"));
    umount_cg();
}

static int in_namespace(void) {
    KT_CHILD_CHECK(1, write_text(CG "/n/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWCGROUP) == 0);
    KT_CHILD_CHECK(3, strcmp(text_of("/proc/self/cgroup"), "0::/\n") == 0);
    /* within the namespace: allowed */
    KT_CHILD_CHECK(4, write_text(CG "/n/in/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(5, write_text(CG "/n/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(6, write_text(CG "/n/in/cgroup.max.depth", "5") == 0);
    /* out of it: ENOENT; the root group's files: EPERM */
    errno = 0;
    KT_CHILD_CHECK(7, write_text(CG "/cgroup.procs", "0") == -1 && errno == ENOENT);
    errno = 0;
    KT_CHILD_CHECK(8, write_text(CG "/n/cgroup.max.depth", "5") == -1 && errno == EPERM);
    KT_CHILD_CHECK(9, write_text(CG "/n/cgroup.subtree_control", " ") == 0);
    KT_CHILD_CHECK(10, strcmp(text_of("/proc/self/cgroup"), "0::/\n") == 0);
    return 0;
}

static int in_namespace_without(void) {
    KT_CHILD_CHECK(1, write_text(CG "/n/cgroup.procs", "0") == 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWCGROUP) == 0);
    KT_CHILD_CHECK(3, write_text(CG "/n/cgroup.max.depth", "5") == 0);
    KT_CHILD_CHECK(4, write_text(CG "/cgroup.procs", "0") == 0);
    return 0;
}

KT_CASE(nsdelegate_makes_namespaces_boundaries) {
    umount2(CG, MNT_DETACH);
    mkdir(CG, 0755);
    KT_SYS_OK(mount("none", CG, "cgroup2", 0, "nsdelegate"));
    KT_SYS_OK(mkdir(CG "/n", 0755));
    KT_SYS_OK(mkdir(CG "/n/in", 0755));
    KT_EQ(kt_in_child(in_namespace), 0);
    /* a mount from the initial namespace without it clears it */
    KT_SYS_OK(mount_cg());
    KT_EQ(kt_in_child(in_namespace_without), 0);
    KT_SYS_OK(write_text(CG "/n/cgroup.max.depth", "max"));
    KT_SYS_OK(rmdir(CG "/n/in"));
    KT_SYS_OK(rmdir(CG "/n"));
    umount_cg();
}

/* clone3(CLONE_INTO_CGROUP) from a cgroup namespace rooted at /n into the
 * root group (its directory opened before the unshare): the namespace
 * check is cgroup_procs_write_permission's, made only with nsdelegate
 * (review41's finding 4): allowed without it, ENOENT with it. */
static int clone_out_want;

static int clone_out_of_namespace(void) {
    KT_CHILD_CHECK(1, write_text(CG "/n/cgroup.procs", "0") == 0);
    int dfd = open(CG, O_RDONLY | O_DIRECTORY);
    KT_CHILD_CHECK(2, dfd >= 0);
    KT_CHILD_CHECK(3, unshare(CLONE_NEWCGROUP) == 0);
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_INTO_CGROUP;
    a.exit_signal = SIGCHLD;
    a.cgroup = (uint64_t)(unsigned)dfd;
    errno = 0;
    pid_t c = (pid_t)syscall(SYS_clone3, &a, sizeof a);
    if (c == 0) _exit(0);
    if (clone_out_want == 0) {
        KT_CHILD_CHECK(4, c > 0);
        int st;
        KT_CHILD_CHECK(5, waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    } else {
        KT_CHILD_CHECK(6, c == -1 && errno == clone_out_want);
    }
    /* the move by cgroup.procs answers the same */
    errno = 0;
    int r = write_text(CG "/cgroup.procs", "0");
    KT_CHILD_CHECK(7, clone_out_want == 0 ? r == 0 : r == -1 && errno == clone_out_want);
    return 0;
}

KT_CASE(clone_into_cgroup_checks_the_namespace_only_with_nsdelegate) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/n", 0755));
    clone_out_want = 0;
    KT_EQ(kt_in_child(clone_out_of_namespace), 0);
    umount_cg();
    KT_SYS_OK(mount("none", CG, "cgroup2", 0, "nsdelegate"));
    clone_out_want = ENOENT;
    KT_EQ(kt_in_child(clone_out_of_namespace), 0);
    /* a mount from the initial namespace without it clears it */
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(rmdir(CG "/n"));
    umount_cg();
}

KT_MAIN()
