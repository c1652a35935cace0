/* The memory controller charges an address space to its owner's group
 * (Linux's mm->owner, review41's finding 3): a vfork child that moves to
 * another group leaves its parent's charges where they were, and a vfork
 * child's exec charges its new image to its own group, not to its
 * parent's. Run as root; each case mounts /tmp/cg and takes
 * its groups and the mount away. */
#include "kt_cgroup.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define MiB (1024L * 1024L)

static long num_of(const char *path) {
    return atol(text_of(path));
}

/* Re-executed with CG_OWNER_FD=n: touch 16 MiB, write a byte to fd n,
 * wait for its reader's byte on fd n+1 (or the pipe's end), exit 0. */
__attribute__((constructor)) static void exec_toucher(void) {
    const char *e = getenv("CG_OWNER_FD");
    if (!e) return;
    int fd = atoi(e);
    char *m = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) _exit(20);
    for (long i = 0; i < 16 * MiB; i += 4096) m[i] = 1;
    char x = 't';
    if (write(fd, &x, 1) != 1) _exit(21);
    while (read(fd + 1, &x, 1) == -1 && errno == EINTR) {
    }
    _exit(0);
}

static void setup(void) {
    KT_SYS_OK(mount_cg());
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "+memory"));
    /* a failed case's groups */
    rmdir(CG "/a");
    rmdir(CG "/b");
    KT_SYS_OK(mkdir(CG "/a", 0755));
    KT_SYS_OK(mkdir(CG "/b", 0755));
}

static void teardown(void) {
    KT_SYS_OK(rmdir(CG "/a"));
    KT_SYS_OK(rmdir(CG "/b"));
    KT_SYS_OK(write_text(CG "/cgroup.subtree_control", "-memory"));
    umount_cg();
}

/* review41's reproducer: the parent's 16 MiB go to its own group a. */
KT_CASE(vfork_child_moving_keeps_parent_charges) {
    setup();
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t w = fork();
    if (w == 0) {
        close(p[0]);
        if (write_text(CG "/a/cgroup.procs", "0") != 0) _exit(10);
        pid_t c = vfork();
        if (c == 0) {
            int fd = open(CG "/b/cgroup.procs", O_WRONLY);
            if (fd < 0 || write(fd, "0", 1) != 1) _exit(1);
            _exit(0);
        }
        int st;
        if (waitpid(c, &st, 0) != c || st != 0) _exit(11);
        long a0 = num_of(CG "/a/memory.current"), b0 = num_of(CG "/b/memory.current");
        char *m = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) _exit(12);
        for (long i = 0; i < 16 * MiB; i += 4096) m[i] = 1;
        long a1 = num_of(CG "/a/memory.current"), b1 = num_of(CG "/b/memory.current");
        long r[2] = {a1 - a0, b1 - b0};
        if (write(p[1], r, sizeof r) != sizeof r) _exit(13);
        _exit(0);
    }
    close(p[1]);
    long r[2] = {0, 0};
    KT_EQ(read(p[0], r, sizeof r), (ssize_t)sizeof r);
    close(p[0]);
    KT_WAIT_STATUS(w, kt_exited(0));
    KT_TRUE(r[0] >= 15 * MiB, "a's delta %ld b's delta %ld", r[0], r[1]);
    KT_TRUE(r[1] < MiB, "a's delta %ld b's delta %ld", r[0], r[1]);
    teardown();
}

/* A vfork child moves its parent (the address space's owner) from a to b
 * and execs: the parent's charges go to b from then on, but the child's
 * new image is its own, charged to its own group a, not to b. */
KT_CASE(vfork_child_exec_charges_its_own_group) {
    setup();
    int up[2], down[2];
    KT_SYS_OK(pipe(up));
    KT_SYS_OK(pipe(down));
    /* the exec'd toucher writes to fd 10, reads fd 11 */
    KT_SYS_OK(dup2(up[1], 10));
    KT_SYS_OK(dup2(down[0], 11));
    long a0 = num_of(CG "/a/memory.current"), b0 = num_of(CG "/b/memory.current");
    pid_t w = fork();
    if (w == 0) {
        if (write_text(CG "/a/cgroup.procs", "0") != 0) _exit(10);
        pid_t c = vfork();
        if (c == 0) {
            if (write_pid(CG "/b/cgroup.procs", getppid()) != 0) _exit(1);
            char *argv[] = {"cgroup_mem_owner", NULL};
            char *envp[] = {"CG_OWNER_FD=10", NULL};
            execve("/proc/self/exe", argv, envp);
            _exit(2);
        }
        int st;
        if (waitpid(c, &st, 0) != c || st != 0) _exit(11);
        _exit(0);
    }
    close(10);
    close(11);
    close(up[1]);
    close(down[0]);
    char x;
    KT_EQ(read(up[0], &x, 1), 1);
    long a1 = num_of(CG "/a/memory.current"), b1 = num_of(CG "/b/memory.current");
    KT_EQ(write(down[1], "x", 1), 1);
    close(up[0]);
    close(down[1]);
    KT_WAIT_STATUS(w, kt_exited(0));
    KT_TRUE(a1 - a0 >= 15 * MiB, "a's delta %ld b's delta %ld", a1 - a0, b1 - b0);
    KT_TRUE(b1 - b0 < MiB, "a's delta %ld b's delta %ld", a1 - a0, b1 - b0);
    teardown();
}
KT_MAIN()
