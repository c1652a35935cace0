/* User namespaces, review32's findings: uid_map/gid_map/setgroups writes
 * are checked against the opener's credentials (file->f_cred) as well as
 * the writer's, map_write's parse and order of errors, setgroups' open-time
 * check; ids translated through the caller's namespace by chown(2),
 * fchown(2), lchown(2) (EINVAL for an unmapped id), F_GETOWNER_UIDS
 * ((uid_t)-1 when unmapped), SO_PEERCRED and SCM_CREDENTIALS, siginfo's
 * si_uid (kill, sigqueue, SIGCHLD and waitid: the receiver's view); F_SETFL turning O_ASYNC on and off from two threads
 * leaves the flag and the signalling together. Run as root (the suite's
 * user); the unprivileged cases drop to uid/gid 1000 in a child. */
#include "kt.h"

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17
#endif

/* uid 1000 in a namespace of its own mapping itself as 0 */
static int own_namespace(void) {
    return unshare(CLONE_NEWUSER) == 0 && kt_put("/proc/self/uid_map", "0 1000 1") == 8 &&
           kt_put("/proc/self/setgroups", "deny") == 4 && kt_put("/proc/self/gid_map", "0 1000 1") == 8;
}

static int send_fd(int sock, int fd) {
    char b = 'f';
    struct iovec iov = {&b, 1};
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
    char b;
    struct iovec iov = {&b, 1};
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    if (recvmsg(sock, &m, 0) != 1) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* An unprivileged user opens its namespace's uid_map and hands the fd to
 * root: root's write through it cannot install more than the opener could
 * (new_idmap_permitted checks file->f_cred), but the opener's own id. */
KT_CASE(map_write_checks_the_opener) {
    int sv[2], go[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_OK(pipe(go));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        if (!kt_drop_to_1000()) _exit(1);
        if (unshare(CLONE_NEWUSER) != 0) _exit(2);
        int fd = open("/proc/self/uid_map", O_WRONLY);
        if (fd < 0) _exit(3);
        if (send_fd(sv[1], fd) != 0) _exit(4);
        if (read(go[0], &b, 1) != 1) _exit(5);
        if (getuid() != 0 || geteuid() != 0) _exit(6);
        _exit(0);
    }
    int fd = recv_fd(sv[0]);
    KT_TRUE(fd >= 0, "fd %d", fd);
    KT_SYS_ERR(write(fd, "0 0 4294967295", 14), EPERM);
    KT_SYS_ERR(write(fd, "0 100000 1000", 13), EPERM);
    KT_SYS_ERR(write(fd, "0 1001 1", 8), EPERM);
    KT_SYS_RET(write(fd, "0 1000 1\n", 9), 9);
    KT_SYS_RET(write(go[1], "g", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(fd);
}

/* The other way round: root opens, the namespace's unprivileged maker
 * writes. The writer lacks CAP_SETUID over the parent, and the own-id rule
 * asks the opener's euid: nothing can be written through root's fd. */
KT_CASE(map_write_checks_the_writer) {
    int sv[2], ready[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_OK(pipe(ready));
    pid_t c = KT_FORK();
    if (c == 0) {
        if (!kt_drop_to_1000()) _exit(1);
        if (unshare(CLONE_NEWUSER) != 0) _exit(2);
        if (write(ready[1], "r", 1) != 1) _exit(3);
        int fd = recv_fd(sv[1]);
        if (fd < 0) _exit(4);
        if (write(fd, "0 100000 10", 11) != -1 || errno != EPERM) _exit(5);
        if (write(fd, "0 1000 1", 8) != -1 || errno != EPERM) _exit(6);
        /* its own open works */
        if (kt_put("/proc/self/uid_map", "0 1000 1") != 8) _exit(7);
        if (getuid() != 0) _exit(8);
        _exit(0);
    }
    char b, path[64];
    KT_SYS_RET(read(ready[0], &b, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/uid_map", c);
    int fd = open(path, O_WRONLY);
    KT_TRUE(fd >= 0, "fd %d", fd);
    KT_SYS_OK(send_fd(sv[0], fd));
    close(fd);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* proc_setgroups_open: writing needs CAP_SYS_ADMIN over the namespace at
 * open (EACCES); proc_setgroups_write: "allow" or "deny" then white space;
 * the initial namespace takes "allow" and refuses "deny" (its gid map is
 * written). */
static int setgroups_child(void) {
    char buf[16];
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, open("/proc/self/setgroups", O_WRONLY) == -1 && errno == EACCES);
    KT_CHILD_CHECK(3, open("/proc/self/setgroups", O_RDWR) == -1 && errno == EACCES);
    KT_CHILD_CHECK(4, kt_read_text("/proc/self/setgroups", buf, sizeof buf) == 6 && strcmp(buf, "allow\n") == 0);
    KT_CHILD_CHECK(5, unshare(CLONE_NEWUSER) == 0);
    KT_CHILD_CHECK(6, kt_put("/proc/self/setgroups", "allowx") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(7, kt_put("/proc/self/setgroups", " deny") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, kt_put("/proc/self/setgroups", "denial") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(9, kt_put("/proc/self/setgroups", "allow\t\n") == 7);
    KT_CHILD_CHECK(10, kt_put("/proc/self/setgroups", "deny\n") == 5);
    KT_CHILD_CHECK(11, kt_put("/proc/self/setgroups", "allow") == -1 && errno == EPERM);
    KT_CHILD_CHECK(12, kt_put("/proc/self/setgroups", "deny") == 4);
    return 0;
}

KT_CASE(setgroups_open_and_write_rules) {
    KT_SYS_RET(kt_put("/proc/self/setgroups", "allow"), 5);
    KT_SYS_ERR(kt_put("/proc/self/setgroups", "deny"), EPERM);
    KT_SYS_ERR(kt_put("/proc/self/setgroups", "yes"), EINVAL);
    KT_SYS_ERR(kt_put("/proc/self/setgroups", "allow   "), EINVAL);
    KT_EQ(kt_in_child(setgroups_child), 0);
}

/* map_write's parse: one final newline only, no empty line; the numbers
 * modulo 2^32 (simple_strtoul into a u32); the whole-page limit first */
KT_CASE(map_write_parse) {
    int go[2], done[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(done));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        if (unshare(CLONE_NEWUSER) != 0) _exit(1);
        if (write(done[1], "u", 1) != 1) _exit(2);
        if (read(go[0], &b, 1) != 1) _exit(3);
        _exit(getuid() == 7 ? 0 : 4);
    }
    char b, path[64], buf[128];
    static char big[4097];
    KT_SYS_RET(read(done[0], &b, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/uid_map", c);
    memset(big, ' ', 4096);
    KT_SYS_ERR(kt_put(path, big), EINVAL);
    KT_SYS_ERR(kt_put(path, "0 100000 10\n\n"), EINVAL);
    KT_SYS_ERR(kt_put(path, "\n0 100000 10"), EINVAL);
    KT_SYS_ERR(kt_put(path, "0 100000 10\n\n5 200000 1"), EINVAL);
    KT_SYS_ERR(kt_put(path, "0 100000"), EINVAL);
    KT_SYS_ERR(kt_put(path, "0 4294967295 1"), EINVAL);
    KT_SYS_RET(kt_put(path, "4294967303 0 1\n"), 15);
    KT_SYS_ERR(kt_put(path, "0 100000 10"), EPERM);
    KT_SYS_OK(kt_read_text(path, buf, sizeof buf));
    KT_EQ(strcmp(buf, "         7          0          1\n"), 0);
    /* the gid map: CAP_SETGID over the parent, setgroups allowed */
    snprintf(path, sizeof path, "/proc/%d/gid_map", c);
    KT_SYS_RET(kt_put(path, "0 100000 10\t\n"), 13);
    KT_SYS_OK(kt_read_text(path, buf, sizeof buf));
    KT_EQ(strcmp(buf, "         0     100000         10\n"), 0);
    KT_SYS_RET(write(go[1], "g", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
}

#define FILE_A "/tmp/kt_ns_ids_a"
#define FILE_B "/tmp/kt_ns_ids_b"

/* chown_common(): the ids given are the caller's namespace's; one it does
 * not map is EINVAL (after the path's look-up); -1 leaves the id */
static int chown_child(void) {
    struct stat st;
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    int fd = open(FILE_A, O_CREAT | O_RDWR | O_TRUNC, 0600);
    KT_CHILD_CHECK(2, fd >= 0);
    KT_CHILD_CHECK(3, own_namespace());
    KT_CHILD_CHECK(4, fstat(fd, &st) == 0 && st.st_uid == 0 && st.st_gid == 0);
    KT_CHILD_CHECK(5, chown(FILE_A, 0, 0) == 0);
    KT_CHILD_CHECK(6, chown(FILE_A, 5, -1) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(7, chown(FILE_A, -1, 1000) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, chown(FILE_A, 1000, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(9, fchown(fd, 1, -1) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(10, lchown(FILE_A, 7, 7) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(11, fchownat(AT_FDCWD, FILE_A, 0, 9, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(12, chown("/tmp/kt_ns_ids_none/x", 5, 5) == -1 && errno == ENOENT);
    KT_CHILD_CHECK(13, chown(FILE_A, -1, -1) == 0);
    KT_CHILD_CHECK(14, fchown(fd, 0, -1) == 0);
    KT_CHILD_CHECK(15, fstat(fd, &st) == 0 && st.st_uid == 0 && st.st_gid == 0);
    /* access(2) asks as the real ids: the namespace's root owns the file
     * but its mode gives nothing; a root-owned file (unmapped) is refused.
     * (Linux's CAP_DAC_OVERRIDE over a mapped file inside the namespace,
     * capable_wrt_inode_uidgid, is not built here: not checked.) */
    KT_CHILD_CHECK(16, fchmod(fd, 0600) == 0);
    KT_CHILD_CHECK(17, access(FILE_A, R_OK | W_OK) == 0);
    KT_CHILD_CHECK(18, access(FILE_A, X_OK) == -1 && errno == EACCES);
    KT_CHILD_CHECK(19, access(FILE_B, R_OK) == -1 && errno == EACCES);
    close(fd);
    return 0;
}

KT_CASE(chown_and_access_in_a_namespace) {
    unlink(FILE_A);
    int b = open(FILE_B, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    KT_TRUE(b >= 0, "open %d", b);
    close(b);
    KT_EQ(kt_in_child(chown_child), 0);
    KT_SYS_OK(unlink(FILE_B));
    struct stat st;
    KT_SYS_OK(stat(FILE_A, &st));
    KT_EQ(st.st_uid, 1000);
    KT_EQ(st.st_gid, 1000);
    KT_EQ(st.st_mode & 07777, 0600);
    KT_SYS_OK(unlink(FILE_A));
}

/* f_getowner_uids: the owner's ids from_kuid'ed into the caller's
 * namespace, -1 when unmapped there */
static int owner_fd_root = -1;
static int getowner_child(void) {
    int q[2];
    uid_t u[2];
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, pipe(q) == 0 && fcntl(q[0], F_SETOWN, getpid()) == 0);
    KT_CHILD_CHECK(3, fcntl(q[0], F_GETOWNER_UIDS, u) == 0 && u[0] == 1000 && u[1] == 1000);
    KT_CHILD_CHECK(4, own_namespace());
    KT_CHILD_CHECK(5, fcntl(q[0], F_GETOWNER_UIDS, u) == 0 && u[0] == 0 && u[1] == 0);
    KT_CHILD_CHECK(6, fcntl(owner_fd_root, F_GETOWNER_UIDS, u) == 0 && u[0] == (uid_t)-1 &&
                          u[1] == (uid_t)-1);
    return 0;
}

KT_CASE(getowner_uids_in_a_namespace) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(fcntl(p[0], F_SETOWN, getpid()));
    owner_fd_root = p[0];
    KT_EQ(kt_in_child(getowner_child), 0);
    close(p[0]);
    close(p[1]);
}

/* cred_to_ucred, scm_check_creds, scm_recv: SO_PEERCRED and
 * SCM_CREDENTIALS carry kernel ids, each side sees them in its namespace */
static int cred_sock[2];
static int send_creds(int sock, pid_t pid, uid_t uid, gid_t gid) {
    char b = 'c';
    struct iovec iov = {&b, 1};
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    memset(ctl, 0, sizeof ctl);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred u = {pid, uid, gid};
    memcpy(CMSG_DATA(c), &u, sizeof u);
    return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_creds(int sock, struct ucred *u) {
    char b;
    struct iovec iov = {&b, 1};
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    if (recvmsg(sock, &m, 0) != 1) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_CREDENTIALS) return -1;
    memcpy(u, CMSG_DATA(c), sizeof *u);
    return 0;
}

static int creds_child(void) {
    struct ucred u;
    socklen_t len = sizeof u;
    int one = 1, sp[2];
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, own_namespace());
    /* the pair's maker was root: unmapped here */
    KT_CHILD_CHECK(3, getsockopt(cred_sock[1], SOL_SOCKET, SO_PEERCRED, &u, &len) == 0 &&
                          u.uid == 65534 && u.gid == 65534);
    KT_CHILD_CHECK(4, socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == 0);
    len = sizeof u;
    KT_CHILD_CHECK(5, getsockopt(sp[0], SOL_SOCKET, SO_PEERCRED, &u, &len) == 0 && u.uid == 0 &&
                          u.gid == 0 && u.pid == getpid());
    KT_CHILD_CHECK(6, setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    /* the namespace's ids: 0 is ours, 1000 is not mapped here */
    KT_CHILD_CHECK(7, send_creds(sp[0], getpid(), 1000, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, send_creds(sp[0], getpid(), 0, 0) == 0);
    KT_CHILD_CHECK(9, recv_creds(sp[1], &u) == 0 && u.uid == 0 && u.gid == 0);
    KT_CHILD_CHECK(10, send_creds(cred_sock[1], getpid(), 0, 0) == 0);
    /* a namespace's CAP_SYS_ADMIN does not let it claim another pid */
    KT_CHILD_CHECK(11, send_creds(sp[0], getppid(), 0, 0) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(peer_credentials_in_a_namespace) {
    int one = 1;
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, cred_sock));
    KT_SYS_OK(setsockopt(cred_sock[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    KT_EQ(kt_in_child(creds_child), 0);
    struct ucred u;
    KT_SYS_OK(recv_creds(cred_sock[0], &u));
    KT_EQ(u.uid, 1000);
    KT_EQ(u.gid, 1000);
    close(cred_sock[0]);
    close(cred_sock[1]);
}

/* shmctl: ipc64_perm's ids as the caller's namespace sees them
 * (kernel_to_ipc64_perm), IPC_SET's ids from it (ipc_update_perm);
 * /proc/sysvipc/shm's uid, gid, cuid and cgid through the reader's */
static int root_shm = -1;

static char ipc_buf[16384];

/* segment `id`'s row of /proc/sysvipc/shm: perms, size, the four ids */
static int shm_row(int id, unsigned *perms, unsigned long *size, unsigned ids[4]) {
    if (kt_read_text("/proc/sysvipc/shm", ipc_buf, sizeof ipc_buf) <= 0) return -1;
    for (char *l = strchr(ipc_buf, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        int key, shmid;
        unsigned cpid, lpid;
        unsigned long nattch;
        if (sscanf(l + 1, "%d %d %o %lu %u %u %lu %u %u %u %u", &key, &shmid, perms, size, &cpid, &lpid,
                   &nattch, &ids[0], &ids[1], &ids[2], &ids[3]) == 11 &&
            shmid == id)
            return 0;
    }
    return -1;
}

static int shm_child(void) {
    struct shmid_ds ds;
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, own_namespace());
    KT_CHILD_CHECK(3, shmctl(root_shm, IPC_STAT, &ds) == 0 && ds.shm_perm.uid == 65534 &&
                          ds.shm_perm.cuid == 65534 && ds.shm_perm.gid == 65534);
    unsigned perms, ids[4];
    unsigned long size;
    KT_CHILD_CHECK(10, shm_row(root_shm, &perms, &size, ids) == 0 && ids[0] == 65534 && ids[1] == 65534 &&
                           ids[2] == 65534 && ids[3] == 65534);
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    KT_CHILD_CHECK(4, id >= 0);
    KT_CHILD_CHECK(11, shm_row(id, &perms, &size, ids) == 0 && ids[0] == 0 && ids[1] == 0 && ids[2] == 0 &&
                           ids[3] == 0 && perms == 0600 && size == 4096);
    KT_CHILD_CHECK(5, shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_perm.uid == 0 && ds.shm_perm.cuid == 0 &&
                          ds.shm_perm.gid == 0 && ds.shm_perm.cgid == 0);
    ds.shm_perm.uid = 5;
    KT_CHILD_CHECK(6, shmctl(id, IPC_SET, &ds) == -1 && errno == EINVAL);
    ds.shm_perm.uid = 0;
    ds.shm_perm.gid = 1000;
    KT_CHILD_CHECK(7, shmctl(id, IPC_SET, &ds) == -1 && errno == EINVAL);
    ds.shm_perm.gid = 0;
    KT_CHILD_CHECK(8, shmctl(id, IPC_SET, &ds) == 0);
    KT_CHILD_CHECK(9, shmctl(id, IPC_RMID, NULL) == 0);
    return 0;
}

KT_CASE(shm_ids_in_a_namespace) {
    root_shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0666);
    KT_TRUE(root_shm >= 0, "shmget %d", root_shm);
    unsigned perms, ids[4];
    unsigned long size;
    KT_SYS_OK(shm_row(root_shm, &perms, &size, ids));
    KT_EQ(perms, 0666u);
    KT_EQ(size, 4096ul);
    KT_EQ(ids[0] + ids[1] + ids[2] + ids[3], 0u);
    const char *head = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid"
                       "      atime      dtime      ctime                   rss                  swap\n";
    KT_EQ(strncmp(ipc_buf, head, strlen(head)), 0);
    /* message queues and semaphore sets: their headers (ours has no rows:
     * neither kind is built) */
    KT_EQ(kt_read_text("/proc/sysvipc/msg", ipc_buf, sizeof ipc_buf) > 0, 1);
    /* (on Linux, rows follow where the suite's other programs left some) */
    const char *msg_head = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime"
                           "      rtime      ctime\n";
    KT_EQ(strncmp(ipc_buf, msg_head, strlen(msg_head)), 0);
    KT_EQ(kt_read_text("/proc/sysvipc/sem", ipc_buf, sizeof ipc_buf) > 0, 1);
    const char *sem_head = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n";
    KT_EQ(strncmp(ipc_buf, sem_head, strlen(sem_head)), 0);
    KT_EQ(kt_in_child(shm_child), 0);
    KT_SYS_OK(shmctl(root_shm, IPC_RMID, NULL));
}

/* siginfo's si_uid as the receiver's namespace sees it: T (root) forks A
 * (uid 1000), A forks C, which maps 1000 as 0 in a namespace of its own
 * and forks G. C sees G's SIGCHLD and waitid with si_uid 0; A sees C's
 * kill, sigqueue and pidfd_send_signal (whose si_uid 0 is C's view) as
 * 1000; C sees A's kill
 * as 0 and T's (root, unmapped there) as 65534. */
static int sig_pipe[2];

static int wait_sig(int sig, siginfo_t *si) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    struct timespec limit = {10, 0}; /* a failed peer: no hang */
    return sigtimedwait(&s, si, &limit);
}

static int siguid_c(void) {
    siginfo_t si;
    KT_CHILD_CHECK(1, own_namespace());
    pid_t g = fork();
    if (g == 0) _exit(7);
    KT_CHILD_CHECK(2, g > 0);
    KT_CHILD_CHECK(3, wait_sig(SIGCHLD, &si) == SIGCHLD && si.si_uid == 0 && si.si_pid == g &&
                          si.si_code == CLD_EXITED);
    memset(&si, 0, sizeof si);
    KT_CHILD_CHECK(4, waitid(P_PID, g, &si, WEXITED) == 0 && si.si_uid == 0 && si.si_status == 7);
    union sigval v = {.sival_int = 5};
    KT_CHILD_CHECK(5, kill(getppid(), SIGUSR1) == 0 && sigqueue(getppid(), SIGRTMIN, v) == 0);
    /* pidfd_send_signal with a siginfo: its si_uid is the caller's view too */
    int pfd = syscall(SYS_pidfd_open, getppid(), 0);
    memset(&si, 0, sizeof si);
    si.si_signo = SIGRTMIN + 1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = 0;
    si.si_value.sival_int = 6;
    KT_CHILD_CHECK(9, pfd >= 0 && syscall(SYS_pidfd_send_signal, pfd, SIGRTMIN + 1, &si, 0) == 0);
    pid_t me = getpid();
    KT_CHILD_CHECK(6, write(sig_pipe[1], &me, sizeof me) == sizeof me);
    KT_CHILD_CHECK(7, wait_sig(SIGUSR2, &si) == SIGUSR2 && si.si_uid == 65534 && si.si_code == SI_USER);
    KT_CHILD_CHECK(8, wait_sig(SIGUSR1, &si) == SIGUSR1 && si.si_uid == 0 && si.si_pid == getppid());
    return 0;
}

static int siguid_a(void) {
    siginfo_t si;
    KT_CHILD_CHECK(20, kt_drop_to_1000());
    pid_t c = fork();
    if (c == 0) _exit(siguid_c());
    close(sig_pipe[1]);
    KT_CHILD_CHECK(21, c > 0);
    KT_CHILD_CHECK(22, wait_sig(SIGUSR1, &si) == SIGUSR1 && si.si_uid == 1000 && si.si_pid == c &&
                           si.si_code == SI_USER);
    KT_CHILD_CHECK(23, wait_sig(SIGRTMIN, &si) == SIGRTMIN && si.si_uid == 1000 && si.si_pid == c &&
                           si.si_code == SI_QUEUE && si.si_value.sival_int == 5);
    KT_CHILD_CHECK(26, wait_sig(SIGRTMIN + 1, &si) == SIGRTMIN + 1 && si.si_uid == 1000 &&
                           si.si_code == SI_QUEUE && si.si_value.sival_int == 6);
    KT_CHILD_CHECK(24, kill(c, SIGUSR1) == 0);
    int st;
    KT_CHILD_CHECK(25, waitpid(c, &st, 0) == c);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 30;
}

KT_CASE(siginfo_uid_in_the_receivers_namespace) {
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGRTMIN);
    sigaddset(&s, SIGRTMIN + 1);
    sigaddset(&s, SIGCHLD);
    KT_SYS_OK(sigprocmask(SIG_BLOCK, &s, &old));
    KT_SYS_OK(pipe(sig_pipe));
    pid_t a = KT_FORK();
    if (a == 0) _exit(siguid_a());
    close(sig_pipe[1]);
    pid_t c = 0;
    KT_EQ(read(sig_pipe[0], &c, sizeof c), (long)sizeof c);
    KT_SYS_OK(kill(c, SIGUSR2));
    KT_WAIT_STATUS(a, kt_exited(0));
    close(sig_pipe[0]);
    KT_SYS_OK(sigprocmask(SIG_SETMASK, &old, NULL));
}

/* setfl(): two threads switching O_ASYNC on and off; afterwards a write
 * signals exactly when F_GETFL shows the flag */
static int flip_fd;
static void *flipper(void *arg) {
    int on = arg != NULL;
    for (int i = 0; i < 3000; i++) {
        int fl = fcntl(flip_fd, F_GETFL);
        fcntl(flip_fd, F_SETFL, on ? (fl | O_ASYNC) : (fl & ~O_ASYNC));
    }
    return NULL;
}

KT_CASE(o_async_switch_is_one_step) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    KT_SYS_OK(sigprocmask(SIG_BLOCK, &set, &old));
    for (int round = 0; round < 4; round++) {
        int p[2];
        KT_SYS_OK(pipe(p));
        flip_fd = p[0];
        KT_SYS_OK(fcntl(p[0], F_SETOWN, getpid()));
        pthread_t a, b;
        KT_EQ(pthread_create(&a, NULL, flipper, (void *)1), 0);
        KT_EQ(pthread_create(&b, NULL, flipper, NULL), 0);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        int on = (fcntl(p[0], F_GETFL) & O_ASYNC) != 0;
        struct timespec none = {0, 0};
        while (sigtimedwait(&set, NULL, &none) == SIGIO) {
        }
        KT_SYS_RET(write(p[1], "x", 1), 1);
        struct timespec ts = {0, 300 * 1000 * 1000};
        int got = sigtimedwait(&set, NULL, &ts) == SIGIO;
        KT_EQ(got, on);
        close(p[0]);
        close(p[1]);
    }
    KT_SYS_OK(sigprocmask(SIG_SETMASK, &old, NULL));
}

KT_MAIN()
