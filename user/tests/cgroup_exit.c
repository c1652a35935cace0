/* The order of a process's exit against its cgroup (cgexit41): as
 * Linux's do_exit calls cgroup_exit before exit_notify, a process has
 * left its group (cgroup.procs, cgroup.threads, "populated") before its
 * parent can see the zombie, while pids.current counts the zombie until
 * it is reaped (pids_release). Races of many rounds on 2 CPUs, so a slow
 * program (init.c's slow_tests). Run as root; each case mounts /tmp/cg
 * and takes its groups and the mount away. */
#include "kt_cgroup.h"

/* cgexit41: a child that joins a group and exits, waited for (polled),
 * then the group removed at once, 1000 times: the wait returns after the child
 * left its group (Linux's cgroup_exit comes before exit_notify), so the
 * rmdir never finds it populated (EBUSY). */
KT_CASE(waitpid_then_rmdir_never_finds_the_child) {
    KT_SYS_OK(mount_cg());
    for (int i = 0; i < 1000; i++) {
        KT_SYS_OK(mkdir(CG "/r", 0755));
        pid_t c = KT_FORK();
        if (c == 0) _exit(write_text(CG "/r/cgroup.procs", "0") == 0 ? 0 : 1);
        /* polled, so the wait returns the moment the zombie shows */
        int st = -1;
        pid_t w;
        while ((w = waitpid(c, &st, WNOHANG)) == 0) {
        }
        KT_TRUE(w == c && st == 0, "round %d: waitpid %d status %#x", i, (int)w, st);
        if (rmdir(CG "/r") != 0) {
            int e = errno;
            KT_TRUE(0, "round %d: rmdir: %s (events %s)", i, kt_errname(e), text_of(CG "/r/cgroup.events"));
        }
    }
    umount_cg();
}

/* cgexit41: between a WNOWAIT wait and the reap, the zombie's group has
 * it no more in cgroup.procs and cgroup.threads and is not populated,
 * while pids.current still counts it (pids_release at the reap); 200
 * rounds (the order used to be a race here). */
KT_CASE(a_zombie_is_out_of_its_group_but_in_pids_current) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+pids"));
    KT_SYS_OK(mkdir(CG "/zp", 0755));
    for (int i = 0; i < 200; i++) {
        pid_t c = KT_FORK();
        if (c == 0) _exit(write_text(CG "/zp/cgroup.procs", "0") == 0 ? 0 : 1);
        /* polled, so the wait returns the moment the zombie shows */
        siginfo_t si;
        do {
            memset(&si, 0, sizeof si);
            KT_SYS_OK(waitid(P_PID, c, &si, WEXITED | WNOWAIT | WNOHANG));
        } while (si.si_pid == 0);
        KT_EQ(si.si_pid, c);
        const char *procs = text_of(CG "/zp/cgroup.procs");
        const char *threads = text_of(CG "/zp/cgroup.threads");
        const char *events = text_of(CG "/zp/cgroup.events");
        const char *pids = text_of(CG "/zp/pids.current");
        KT_TRUE(strcmp(procs, "") == 0 && strcmp(threads, "") == 0 &&
                    strcmp(events, "populated 0\nfrozen 0\n") == 0 && strcmp(pids, "1\n") == 0,
                "round %d: procs '%s' threads '%s' events '%s' pids.current '%s'", i, procs, threads, events,
                pids);
        KT_WAIT_STATUS(c, kt_exited(0));
        KT_STREQ(text_of(CG "/zp/pids.current"), "0\n");
    }
    KT_SYS_OK(rmdir(CG "/zp"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-pids"));
    umount_cg();
}

KT_MAIN()
