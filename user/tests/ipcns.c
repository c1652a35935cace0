/* IPC namespaces: unshare(2), clone(2) and clone3(2) with CLONE_NEWIPC
 * give the process an empty set of System V shared-memory segments (a
 * key or id of another namespace is ENOENT / EINVAL; ids start at 0;
 * /proc/sysvipc/shm lists the reader's namespace), setns(2) moves
 * between them through nsfs files, the kernel.shm* / msg* / sem and
 * fs.mqueue.* limits are per namespace (a new one starts with Linux's
 * defaults), /proc/self/ns/ipc names the namespace (NS_GET_USERNS gives
 * its owner), a user namespace's root may make one (EPERM without), and a
 * namespace's segments are freed when its last user goes. Run as root
 * (the suite's user); every case runs in a child. */
#include "kt.h"

#include <sched.h>
#include <sys/ipc.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#define NS_GET_USERNS 0xb701
#define KEY_A 0x6b740001
#define KEY_B 0x6b740002

static int get(const char *path, char *buf, int size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = 0, r;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0) n += r;
    close(fd);
    buf[n] = 0;
    return n;
}

static unsigned long ino_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static unsigned long fd_ino(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* Lines of /proc/sysvipc/shm after its header. */
static int shm_lines(void) {
    static char buf[8192];
    if (get("/proc/sysvipc/shm", buf, sizeof buf) < 0) return -1;
    int n = 0;
    for (char *p = buf; *p; p++) n += *p == '\n';
    return n - 1;
}

static int empty_child(void) {
    char buf[64], want[64];
    unsigned long before = ino_of("/proc/self/ns/ipc");
    int id = shmget(KEY_A, 0, 0);
    KT_CHILD_CHECK(1, id >= 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWIPC) == 0);
    unsigned long after = ino_of("/proc/self/ns/ipc");
    KT_CHILD_CHECK(3, after != 0 && after != before);
    ssize_t n = readlink("/proc/self/ns/ipc", buf, sizeof buf - 1);
    KT_CHILD_CHECK(4, n > 0);
    buf[n] = 0;
    snprintf(want, sizeof want, "ipc:[%lu]", after);
    KT_CHILD_CHECK(5, strcmp(buf, want) == 0);
    /* the other namespace's key and id are not here */
    KT_CHILD_CHECK(6, shmget(KEY_A, 0, 0) == -1 && errno == ENOENT);
    struct shmid_ds ds;
    KT_CHILD_CHECK(7, shmctl(id, IPC_STAT, &ds) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, shm_lines() == 0);
    /* ids start again; the same key names a segment of this namespace */
    KT_CHILD_CHECK(9, shmget(IPC_PRIVATE, 4096, 0600) == 0);
    int mine = shmget(KEY_A, 8192, IPC_CREAT | IPC_EXCL | 0600);
    KT_CHILD_CHECK(10, mine == 1);
    KT_CHILD_CHECK(11, shm_lines() == 2);
    KT_CHILD_CHECK(12, shmctl(mine, IPC_STAT, &ds) == 0 && ds.shm_segsz == 8192);
    struct shm_info info;
    KT_CHILD_CHECK(13, shmctl(0, SHM_INFO, (struct shmid_ds *)&info) == 1 && info.used_ids == 2);
    return 0;
}

KT_CASE(unshare_gives_an_empty_namespace) {
    int id = KT_SYS_OK(shmget(KEY_A, 4096, IPC_CREAT | 0600));
    int lines = shm_lines();
    KT_EQ(kt_in_child(empty_child), 0);
    /* ours are untouched, the child's went with it */
    KT_EQ(shmget(KEY_A, 0, 0), id);
    struct shmid_ds ds;
    KT_SYS_OK(shmctl(id, IPC_STAT, &ds));
    KT_EQ((long)ds.shm_segsz, 4096);
    KT_EQ(shm_lines(), lines);
    KT_SYS_OK(shmctl(id, IPC_RMID, 0));
}

KT_CASE(clone_and_clone3_newipc) {
    unsigned long mine = ino_of("/proc/self/ns/ipc");
    int id = KT_SYS_OK(shmget(KEY_B, 4096, IPC_CREAT | 0600));
    pid_t c = syscall(SYS_clone, CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        KT_CHILD_CHECK(1, ino_of("/proc/self/ns/ipc") != mine);
        KT_CHILD_CHECK(2, shmget(KEY_B, 0, 0) == -1 && errno == ENOENT);
        _exit(0);
    }
    KT_TRUE(c > 0, "clone(CLONE_NEWIPC): %s", strerror(errno));
    KT_WAIT_STATUS(c, kt_exited(0));
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } args = {.flags = CLONE_NEWIPC, .exit_signal = SIGCHLD};
    c = syscall(SYS_clone3, &args, sizeof args);
    if (c == 0) {
        KT_CHILD_CHECK(3, ino_of("/proc/self/ns/ipc") != mine);
        KT_CHILD_CHECK(4, shmctl(id, IPC_STAT, &(struct shmid_ds){0}) == -1 && errno == EINVAL);
        _exit(0);
    }
    KT_TRUE(c > 0, "clone3(CLONE_NEWIPC): %s", strerror(errno));
    KT_WAIT_STATUS(c, kt_exited(0));
    /* CLONE_NEWIPC with CLONE_SYSVSEM stays EINVAL */
    KT_SYS_ERR(syscall(SYS_clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, 0, 0, 0, 0), EINVAL);
    KT_SYS_OK(shmctl(id, IPC_RMID, 0));
}

static int setns_child(void) {
    int orig = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(1, orig >= 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWIPC) == 0);
    int id = shmget(KEY_A, 4096, IPC_CREAT | 0600);
    KT_CHILD_CHECK(3, id == 0);
    int inner = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(4, inner >= 0 && fd_ino(inner) != fd_ino(orig));
    /* the wrong kind: EINVAL, nothing changes */
    KT_CHILD_CHECK(5, setns(orig, CLONE_NEWUTS) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(6, shmget(KEY_A, 0, 0) == id);
    KT_CHILD_CHECK(7, setns(orig, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(8, ino_of("/proc/self/ns/ipc") == fd_ino(orig));
    KT_CHILD_CHECK(9, shmget(KEY_A, 0, 0) == -1 && errno == ENOENT);
    /* the open nsfs file keeps the namespace and its segment */
    KT_CHILD_CHECK(10, setns(inner, 0) == 0);
    KT_CHILD_CHECK(11, ino_of("/proc/self/ns/ipc") == fd_ino(inner));
    KT_CHILD_CHECK(12, shmget(KEY_A, 0, 0) == id);
    /* the parent's namespace through a pidfd */
    int pidfd = syscall(434 /* pidfd_open */, getppid(), 0);
    KT_CHILD_CHECK(13, pidfd >= 0);
    KT_CHILD_CHECK(14, setns(pidfd, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(15, ino_of("/proc/self/ns/ipc") == fd_ino(orig));
    KT_CHILD_CHECK(16, shmget(KEY_A, 0, 0) == -1 && errno == ENOENT);
    return 0;
}

KT_CASE(setns_back_and_forth) {
    KT_EQ(kt_in_child(setns_child), 0);
    KT_SYS_ERR(shmget(KEY_A, 0, 0), ENOENT);
}

static int sysctl_child(void) {
    char buf[128];
    KT_CHILD_CHECK(1, unshare(CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(2, get("/proc/sys/kernel/shmmni", buf, sizeof buf) > 0 && strcmp(buf, "4096\n") == 0);
    KT_CHILD_CHECK(3, get("/proc/sys/kernel/shmmax", buf, sizeof buf) > 0 &&
                          strcmp(buf, "18446744073692774399\n") == 0);
    KT_CHILD_CHECK(4, get("/proc/sys/kernel/sem", buf, sizeof buf) > 0 &&
                          strcmp(buf, "32000\t1024000000\t500\t32000\n") == 0);
    KT_CHILD_CHECK(5, get("/proc/sys/kernel/msgmax", buf, sizeof buf) > 0 && strcmp(buf, "8192\n") == 0);
    KT_CHILD_CHECK(6, get("/proc/sys/kernel/msgmnb", buf, sizeof buf) > 0 && strcmp(buf, "16384\n") == 0);
    KT_CHILD_CHECK(7, get("/proc/sys/kernel/msgmni", buf, sizeof buf) > 0 && strcmp(buf, "32000\n") == 0);
    KT_CHILD_CHECK(8, get("/proc/sys/fs/mqueue/msg_max", buf, sizeof buf) > 0 && strcmp(buf, "10\n") == 0);
    KT_CHILD_CHECK(9, get("/proc/sys/fs/mqueue/queues_max", buf, sizeof buf) > 0 && strcmp(buf, "256\n") == 0);
    /* changed here only */
    KT_CHILD_CHECK(10, kt_put("/proc/sys/kernel/shmmni", "1") == 1);
    KT_CHILD_CHECK(11, kt_put("/proc/sys/kernel/shmmax", "8192") == 4);
    KT_CHILD_CHECK(12, kt_put("/proc/sys/kernel/msgmax", "1234\n") == 5);
    KT_CHILD_CHECK(13, kt_put("/proc/sys/kernel/sem", "250 32000 32 128") == 16);
    KT_CHILD_CHECK(14, get("/proc/sys/kernel/sem", buf, sizeof buf) > 0 && strcmp(buf, "250\t32000\t32\t128\n") == 0);
    KT_CHILD_CHECK(15, kt_put("/proc/sys/kernel/shmmni", "40000") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(16, kt_put("/proc/sys/fs/mqueue/msg_max", "20") == 2);
    /* the limits apply to this namespace's segments */
    KT_CHILD_CHECK(17, shmget(IPC_PRIVATE, 8193, 0600) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(18, shmget(IPC_PRIVATE, 8192, 0600) == 0);
    KT_CHILD_CHECK(19, shmget(IPC_PRIVATE, 4096, 0600) == -1 && errno == ENOSPC);
    struct shminfo si;
    KT_CHILD_CHECK(20, shmctl(0, IPC_INFO, (struct shmid_ds *)&si) == 0 && si.shmmax == 8192 && si.shmmni == 1);
    /* a namespace made from here starts with the defaults again */
    pid_t c = fork();
    if (c == 0) {
        KT_CHILD_CHECK(21, unshare(CLONE_NEWIPC) == 0);
        KT_CHILD_CHECK(22, get("/proc/sys/kernel/shmmni", buf, sizeof buf) > 0 && strcmp(buf, "4096\n") == 0);
        KT_CHILD_CHECK(23, get("/proc/sys/kernel/msgmax", buf, sizeof buf) > 0 && strcmp(buf, "8192\n") == 0);
        KT_CHILD_CHECK(24, get("/proc/sys/fs/mqueue/msg_max", buf, sizeof buf) > 0 && strcmp(buf, "10\n") == 0);
        _exit(0);
    }
    int st;
    KT_CHILD_CHECK(25, waitpid(c, &st, 0) == c && st == 0);
    KT_CHILD_CHECK(26, get("/proc/sys/kernel/msgmax", buf, sizeof buf) > 0 && strcmp(buf, "1234\n") == 0);
    return 0;
}

KT_CASE(sysctl_limits_per_namespace) {
    static const char *knobs[] = {"/proc/sys/kernel/shmmni", "/proc/sys/kernel/shmmax", "/proc/sys/kernel/msgmax",
                                  "/proc/sys/kernel/sem", "/proc/sys/fs/mqueue/msg_max"};
    char before[5][128], after[128];
    for (int i = 0; i < 5; i++) KT_TRUE(get(knobs[i], before[i], sizeof before[i]) > 0, "read %s", knobs[i]);
    KT_EQ(kt_in_child(sysctl_child), 0);
    for (int i = 0; i < 5; i++) {
        KT_TRUE(get(knobs[i], after, sizeof after) > 0, "read %s", knobs[i]);
        KT_TRUE(strcmp(before[i], after) == 0, "%s changed to %s", knobs[i], after);
    }
}

static int userns_child(void) {
    int orig = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(1, orig >= 0);
    /* the initial namespace is owned by the initial user namespace */
    int owner = ioctl(orig, NS_GET_USERNS);
    KT_CHILD_CHECK(2, owner >= 0 && fd_ino(owner) == ino_of("/proc/self/ns/user"));
    close(owner);
    KT_CHILD_CHECK(3, setgid(65534) == 0 && setuid(65534) == 0);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWIPC) == -1 && errno == EPERM);
    KT_CHILD_CHECK(5, setns(orig, CLONE_NEWIPC) == -1 && errno == EPERM);
    KT_CHILD_CHECK(6, unshare(CLONE_NEWUSER | CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(7, ino_of("/proc/self/ns/ipc") != fd_ino(orig));
    int id = shmget(KEY_A, 4096, IPC_CREAT | 0600);
    KT_CHILD_CHECK(8, id == 0);
    int ns = open("/proc/self/ns/ipc", O_RDONLY);
    owner = ioctl(ns, NS_GET_USERNS);
    KT_CHILD_CHECK(9, owner >= 0 && fd_ino(owner) == ino_of("/proc/self/ns/user"));
    /* root of the new user namespace, but not over the initial ipc one */
    KT_CHILD_CHECK(10, setns(orig, CLONE_NEWIPC) == -1 && errno == EPERM);
    KT_CHILD_CHECK(11, setns(ns, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(12, shmget(KEY_A, 0, 0) == id);
    return 0;
}

KT_CASE(unprivileged_through_a_user_namespace) {
    KT_EQ(kt_in_child(userns_child), 0);
    KT_SYS_ERR(shmget(KEY_A, 0, 0), ENOENT);
}

#define BIG (16L << 20)

static int last_user_child(void) {
    int orig = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(1, orig >= 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWIPC) == 0);
    int big = shmget(KEY_A, BIG, IPC_CREAT | 0600);
    KT_CHILD_CHECK(3, big >= 0);
    char *p = shmat(big, 0, 0);
    KT_CHILD_CHECK(4, p != (void *)-1);
    memset(p, 0x5a, BIG);
    KT_CHILD_CHECK(5, shmdt(p) == 0);
    /* a small one stays attached across the namespace's end */
    int small = shmget(KEY_B, 4096, IPC_CREAT | 0600);
    char *q = shmat(small, 0, 0);
    KT_CHILD_CHECK(6, q != (void *)-1);
    strcpy(q, "kept");
    KT_CHILD_CHECK(7, setns(orig, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(8, strcmp(q, "kept") == 0);
    strcpy(q, "still");
    KT_CHILD_CHECK(9, strcmp(q, "still") == 0);
    KT_CHILD_CHECK(10, shmdt(q) == 0);
    KT_CHILD_CHECK(11, shmget(KEY_B, 0, 0) == -1 && errno == ENOENT);
    return 0;
}

KT_CASE(namespace_ends_with_its_last_user) {
    long free0 = kt_meminfo_kb("MemFree:");
    pid_t c = KT_FORK();
    if (c == 0) _exit(last_user_child());
    KT_WAIT_STATUS(c, kt_exited(0));
    /* the 16 MiB segment went with the namespace (Linux frees it from a
     * work item: wait for it) */
    long free1 = 0;
    for (int i = 0; i < 200; i++) {
        free1 = kt_meminfo_kb("MemFree:");
        if (free1 > free0 - 4096) break;
        kt_msleep(10);
    }
    KT_TRUE(free1 > free0 - 4096, "MemFree %ld kB before, %ld kB after", free0, free1);
    /* and it was there: a child that keeps it shows the memory in use */
    c = KT_FORK();
    if (c == 0) {
        if (unshare(CLONE_NEWIPC) != 0) _exit(1);
        int big = shmget(KEY_A, BIG, IPC_CREAT | 0600);
        char *p = shmat(big, 0, 0);
        if (p == (void *)-1) _exit(2);
        memset(p, 0x5a, BIG);
        shmdt(p);
        _exit(kt_meminfo_kb("MemFree:") < free0 - 12 * 1024 ? 0 : 3);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* shmdt goes by the mapping, whatever the caller's namespace: two
 * namespaces' segments with the same id (0 in each), attached in one
 * process; each detach counts against its own segment (IPC_STAT seen from
 * its namespace); a segment made after a removed one's last detach
 * detaches as itself; a mapping of another shared file is EINVAL. */
static int nattch_in(int nsfd, int id) {
    if (setns(nsfd, CLONE_NEWIPC) != 0) return -2;
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0) return -1;
    return (int)ds.shm_nattch;
}

static int two_ns_child(void) {
    int a = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(1, unshare(CLONE_NEWIPC) == 0);
    int b = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWIPC) == 0);
    int c = open("/proc/self/ns/ipc", O_RDONLY);
    KT_CHILD_CHECK(3, a >= 0 && b >= 0 && c >= 0);
    KT_CHILD_CHECK(4, setns(b, CLONE_NEWIPC) == 0);
    int idb = shmget(IPC_PRIVATE, 4096, 0600);
    char *pb = shmat(idb, 0, 0);
    char *pb2 = shmat(idb, 0, 0);
    KT_CHILD_CHECK(5, idb == 0 && pb != (void *)-1 && pb2 != (void *)-1);
    KT_CHILD_CHECK(6, setns(c, CLONE_NEWIPC) == 0);
    int idc = shmget(IPC_PRIVATE, 8192, 0600);
    char *pc = shmat(idc, 0, 0);
    KT_CHILD_CHECK(7, idc == 0 && pc != (void *)-1);
    /* from the initial namespace: b's first attachment */
    KT_CHILD_CHECK(8, setns(a, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(9, shmdt(pb) == 0);
    KT_CHILD_CHECK(10, shmdt(pb) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(11, nattch_in(b, idb) == 1);
    KT_CHILD_CHECK(12, nattch_in(c, idc) == 1);
    /* c's, from b */
    KT_CHILD_CHECK(13, setns(b, CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(14, shmdt(pc) == 0);
    KT_CHILD_CHECK(15, nattch_in(c, idc) == 0);
    KT_CHILD_CHECK(16, nattch_in(b, idb) == 1);
    /* b's removed, its last attachment detached: gone; a new one (a new
     * id) detaches as itself */
    KT_CHILD_CHECK(17, shmctl(idb, IPC_RMID, NULL) == 0);
    KT_CHILD_CHECK(18, shmdt(pb2) == 0);
    int idb2 = shmget(IPC_PRIVATE, 4096, 0600);
    KT_CHILD_CHECK(19, idb2 >= 0 && idb2 != idb);
    char *p3 = shmat(idb2, 0, 0);
    KT_CHILD_CHECK(20, p3 != (void *)-1);
    KT_CHILD_CHECK(21, nattch_in(b, idb2) == 1);
    KT_CHILD_CHECK(22, shmdt(p3) == 0);
    KT_CHILD_CHECK(23, nattch_in(b, idb2) == 0);
    /* a shared mapping of a memfd is no attachment */
    int fd = (int)syscall(SYS_memfd_create, "x", 0);
    KT_CHILD_CHECK(24, fd >= 0 && ftruncate(fd, 4096) == 0);
    char *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_CHILD_CHECK(25, m != MAP_FAILED);
    KT_CHILD_CHECK(26, shmdt(m) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(27, munmap(m, 4096) == 0);
    return 0;
}

KT_CASE(shmdt_finds_the_segment_of_any_namespace) {
    KT_EQ(kt_in_child(two_ns_child), 0);
}

KT_MAIN()
