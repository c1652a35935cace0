/* cgroup v2 fixes of review39 (fix39): cgroup.procs checks the opener's
 * credentials, not the writer's (CVE-2021-4197); cgroup.kill also kills
 * children born while it runs (Linux's CGRP_KILL in cgroup_post_fork);
 * a thread clone racing a sibling's execve leaves no task charge behind.
 * Run as root; each case mounts /tmp/cg and takes its groups and the
 * mount away. */
#include "kt_cgroup.h"

#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

/* cgroup.procs opened by root, written after the process dropped to a
 * user: the permission on the common ancestor (the root group's
 * cgroup.procs, root's 0644) is the opener's (file->f_cred), so the move
 * is allowed, though the writer could not open the file itself (and an
 * unprivileged opener's fd gives a privileged writer nothing more). */
static int opener_child(void) {
    int fd = open(CG "/d/cgroup.procs", O_WRONLY);
    KT_CHILD_CHECK(1, fd >= 0);
    KT_CHILD_CHECK(2, setgroups(0, NULL) == 0 && setresgid(1000, 1000, 1000) == 0 &&
                          setresuid(1000, 1000, 1000) == 0);
    errno = 0;
    KT_CHILD_CHECK(3, open(CG "/d/cgroup.procs", O_WRONLY) == -1 && errno == EACCES);
    KT_CHILD_CHECK(4, write(fd, "0\n", 2) == 2);
    KT_CHILD_CHECK(5, strcmp(text_of("/proc/self/cgroup"), "0::/d\n") == 0);
    return 0;
}

KT_CASE(procs_write_checks_the_opener) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(mkdir(CG "/d", 0755));
    KT_EQ(kt_in_child(opener_child), 0);
    KT_SYS_OK(rmdir(CG "/d"));
    umount_cg();
}

/* A fork bomb in a group: one write of cgroup.kill leaves nobody (a child
 * committed before the kill's snapshot but entered after it dies too). */
KT_CASE(kill_leaves_no_fork_bomb_survivor) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids"));
    int bad = 0;
    for (int round = 0; round < 3 && !bad; round++) {
        KT_SYS_OK(mkdir(CG "/b", 0755));
        KT_SYS_OK(write_text(CG "/b/pids.max", "24"));
        int p[2];
        KT_SYS_OK(pipe(p));
        pid_t c = KT_FORK();
        if (c == 0) {
            close(p[0]);
            if (write_text(CG "/b/cgroup.procs", "0") != 0) _exit(10);
            /* every process forks on and on; none waits */
            close(p[1]);
            for (;;) {
                pid_t g = fork();
                if (g < 0) sched_yield();
            }
        }
        close(p[1]);
        char b;
        KT_EQ(read(p[0], &b, 1), 0);
        close(p[0]);
        /* let it fill the group */
        for (int i = 0; i < 50 && atoi(text_of(CG "/b/pids.current")) < 16; i++) kt_msleep(10);
        KT_SYS_OK(write_text(CG "/b/cgroup.kill", "1"));
        KT_WAIT_STATUS(c, kt_killed(SIGKILL));
        /* the others are reparented: wait for them to go, without a second kill */
        int empty = 0;
        for (int i = 0; i < 300 && !empty; i++) {
            empty = strcmp(text_of(CG "/b/cgroup.events"), "populated 0\nfrozen 0\n") == 0;
            if (!empty) kt_msleep(10);
        }
        if (!empty) {
            kt_printf("# round %d: survivors: %s\n", round, text_of(CG "/b/cgroup.procs"));
            bad = 1;
            for (int i = 0; i < 100 && rmdir(CG "/b") != 0; i++) {
                write_text(CG "/b/cgroup.kill", "1");
                kt_msleep(20);
            }
        } else {
            KT_SYS_OK(rmdir(CG "/b"));
        }
    }
    KT_EQ(bad, 0);
    write_text(CG "/cgroup.subtree_control", "-pids");
    umount_cg();
}

/* ---- a thread clone racing a sibling's execve ------------------------- */

static void *quick(void *arg) {
    return arg;
}

static void *clone_threads(void *arg) {
    (void)arg;
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, quick, NULL) == 0) pthread_detach(t);
    }
    return NULL;
}

/* Processes whose threads make threads while another thread execs: after
 * all are gone, the group counts no task (pids.current 0, not populated). */
KT_CASE(thread_clone_racing_exec_leaves_no_charge) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids"));
    KT_SYS_OK(mkdir(CG "/r", 0755));
    pid_t c = KT_FORK();
    if (c == 0) {
        if (write_text(CG "/r/cgroup.procs", "0") != 0) _exit(10);
        for (int i = 0; i < 30; i++) {
            pid_t g = fork();
            if (g == 0) {
                pthread_t t1, t2;
                pthread_create(&t1, NULL, clone_threads, NULL);
                pthread_create(&t2, NULL, clone_threads, NULL);
                struct timespec ts = {0, (i % 10) * 100000};
                nanosleep(&ts, NULL);
                char *argv[] = {(char *)kt_self, "kt-exit", "0", NULL};
                execv(kt_self, argv);
                _exit(20);
            }
            if (g > 0) waitpid(g, NULL, 0);
        }
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        ok = strcmp(text_of(CG "/r/pids.current"), "0\n") == 0;
        if (!ok) kt_msleep(20);
    }
    KT_STREQ(text_of(CG "/r/pids.current"), "0\n");
    KT_STREQ(text_of(CG "/r/cgroup.events"), "populated 0\nfrozen 0\n");
    KT_SYS_OK(rmdir(CG "/r"));
    write_text(CG "/cgroup.subtree_control", "-pids");
    umount_cg();
}

KT_MAIN()
