/* Namespaces: unshare(2)/clone(2) with CLONE_NEWUTS and CLONE_NEWUSER, the
 * uid_map/gid_map/setgroups files and their write rules, the id
 * translation (getuid, getgroups, stat's st_uid, 65534 for what is not
 * mapped), capabilities inside (sethostname in a UTS namespace the user
 * namespace owns), /proc/PID/ns inode numbers per namespace, NS_GET_*
 * ioctls and setns(2) through nsfs files and pidfds. Run as root (the
 * suite's user); the unprivileged cases drop to uid/gid 1000 in a child. */
#include "kt.h"

#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/time.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

#define NS_GET_USERNS 0xb701
#define NS_GET_PARENT 0xb702
#define NS_GET_NSTYPE 0xb703
#define NS_GET_OWNER_UID 0xb704

static unsigned long ino_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static int same_name(const char *want) {
    struct utsname u;
    return uname(&u) == 0 && strcmp(u.nodename, want) == 0;
}

static int uts_child(void) {
    char host[65];
    gethostname(host, sizeof host);
    unsigned long before = ino_of("/proc/self/ns/uts");
    KT_CHILD_CHECK(1, unshare(CLONE_NEWUTS) == 0);
    KT_CHILD_CHECK(2, ino_of("/proc/self/ns/uts") != before);
    KT_CHILD_CHECK(3, ino_of("/proc/self/ns/uts") != 0);
    KT_CHILD_CHECK(4, same_name(host));
    KT_CHILD_CHECK(5, sethostname("ns-child", 8) == 0);
    KT_CHILD_CHECK(6, same_name("ns-child"));
    char buf[80];
    KT_CHILD_CHECK(7, kt_read_text("/proc/sys/kernel/hostname", buf, sizeof buf) > 0 && strcmp(buf, "ns-child\n") == 0);
    KT_CHILD_CHECK(8, setdomainname("dom", 3) == 0);
    struct utsname u;
    KT_CHILD_CHECK(9, uname(&u) == 0 && strcmp(u.domainname, "dom") == 0);
    return 0;
}

KT_CASE(uts_unshare_is_private) {
    struct utsname a, b;
    KT_SYS_OK(uname(&a));
    KT_EQ(kt_in_child(uts_child), 0);
    KT_SYS_OK(uname(&b));
    KT_EQ(strcmp(a.nodename, b.nodename), 0);
    KT_EQ(strcmp(a.domainname, b.domainname), 0);
}

static int uts_unprivileged(void) {
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, unshare(CLONE_NEWUTS) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, unshare(CLONE_NEWIPC | CLONE_NEWUTS) == -1 && errno == EPERM);
    return 0;
}

/* create_user_ns/userns_install: a chrooted process may not make or enter
 * a user namespace (it would get CAP_SYS_CHROOT there); and entering a
 * mount namespace, even one's own, needs CAP_SYS_ADMIN. */
static int chrooted_userns(void) {
    KT_CHILD_CHECK(1, mkdir("/tmp/kt_ns_jail", 0755) == 0 || errno == EEXIST);
    int self_user = open("/proc/self/ns/user", O_RDONLY);
    int self_mnt = open("/proc/self/ns/mnt", O_RDONLY);
    KT_CHILD_CHECK(2, self_user >= 0 && self_mnt >= 0);
    KT_CHILD_CHECK(3, chroot("/tmp/kt_ns_jail") == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
    KT_CHILD_CHECK(5, kt_drop_to_1000());
    KT_CHILD_CHECK(6, unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
    KT_CHILD_CHECK(7, setns(self_mnt, CLONE_NEWNS) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(chrooted_may_not_make_a_user_namespace) {
    KT_EQ(kt_in_child(chrooted_userns), 0);
    rmdir("/tmp/kt_ns_jail");
}

KT_CASE(uts_unprivileged_is_eperm) {
    KT_EQ(kt_in_child(uts_unprivileged), 0);
}

static int userns_unprivileged(void) {
    char buf[128];
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    unsigned long user0 = ino_of("/proc/self/ns/user");
    KT_CHILD_CHECK(2, unshare(CLONE_NEWUSER) == 0);
    KT_CHILD_CHECK(3, ino_of("/proc/self/ns/user") != user0);
    /* nothing mapped yet: the overflow ids */
    KT_CHILD_CHECK(4, getuid() == 65534 && geteuid() == 65534 && getgid() == 65534);
    struct stat st;
    KT_CHILD_CHECK(5, stat("/", &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534);
    KT_CHILD_CHECK(6, kt_read_text("/proc/self/uid_map", buf, sizeof buf) == 0);
    KT_CHILD_CHECK(7, kt_read_text("/proc/self/setgroups", buf, sizeof buf) > 0 && strcmp(buf, "allow\n") == 0);
    /* only the writer's own uid, one id */
    KT_CHILD_CHECK(8, kt_put("/proc/self/uid_map", "0 1001 1") == -1 && errno == EPERM);
    KT_CHILD_CHECK(9, kt_put("/proc/self/uid_map", "0 1000 2") == -1 && errno == EPERM);
    KT_CHILD_CHECK(10, kt_put("/proc/self/uid_map", "0 1000 0") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(11, kt_put("/proc/self/uid_map", "0 1000") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(12, kt_put("/proc/self/uid_map", "0 1000 1\n") == 9);
    KT_CHILD_CHECK(13, kt_put("/proc/self/uid_map", "0 1000 1\n") == -1 && errno == EPERM);
    KT_CHILD_CHECK(14, getuid() == 0 && geteuid() == 0 && getgid() == 65534);
    KT_CHILD_CHECK(15, kt_read_text("/proc/self/uid_map", buf, sizeof buf) > 0 &&
                           strcmp(buf, "         0       1000          1\n") == 0);
    /* gid_map: setgroups must be denied first */
    KT_CHILD_CHECK(16, kt_put("/proc/self/gid_map", "0 1000 1") == -1 && errno == EPERM);
    KT_CHILD_CHECK(17, kt_put("/proc/self/setgroups", "maybe") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(18, kt_put("/proc/self/setgroups", "deny") == 4);
    KT_CHILD_CHECK(19, kt_put("/proc/self/setgroups", "allow") == -1 && errno == EPERM);
    KT_CHILD_CHECK(20, kt_read_text("/proc/self/setgroups", buf, sizeof buf) > 0 && strcmp(buf, "deny\n") == 0);
    KT_CHILD_CHECK(21, kt_put("/proc/self/gid_map", "0 1000 1") == 8);
    KT_CHILD_CHECK(22, getgid() == 0 && getegid() == 0);
    uid_t r, e, s;
    KT_CHILD_CHECK(23, getresuid(&r, &e, &s) == 0 && r == 0 && e == 0 && s == 0);
    /* root's files show as the overflow ids, ours as 0 */
    KT_CHILD_CHECK(24, stat("/", &st) == 0 && st.st_uid == 65534);
    int fd = open("/proc/self/status", O_RDONLY);
    KT_CHILD_CHECK(26, fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == 0 && st.st_gid == 0);
    close(fd);
    /* /proc/self/status shows the ids as this namespace sees them */
    KT_CHILD_CHECK(25, kt_read_text("/proc/self/status", buf, sizeof buf) > 0);
    char status[2048];
    KT_CHILD_CHECK(34, kt_read_text("/proc/self/status", status, sizeof status) > 0 &&
                           strstr(status, "\nUid:\t0\t0\t0\t0\n") != NULL &&
                           strstr(status, "\nGid:\t0\t0\t0\t0\n") != NULL);
    /* setgroups(2) is refused once denied; set*id to unmapped ids is EINVAL */
    KT_CHILD_CHECK(27, setgroups(0, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(28, setuid(5) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(29, setuid(0) == 0);
    KT_CHILD_CHECK(30, setresuid(-1, 0, -1) == 0);
    /* every capability here, none over the initial namespace */
    KT_CHILD_CHECK(31, sethostname("x", 1) == -1 && errno == EPERM);
    struct utsname u0;
    uname(&u0);
    KT_CHILD_CHECK(32, unshare(CLONE_NEWUTS) == 0);
    KT_CHILD_CHECK(33, sethostname("userns", 6) == 0 && same_name("userns"));
    /* capabilities of the caller's own namespace: chroot, the bounding
     * set; not those of the initial one: the clock, mounts */
    KT_CHILD_CHECK(35, chroot("/") == 0);
    KT_CHILD_CHECK(36, prctl(PR_CAPBSET_DROP, 25 /* CAP_SYS_TIME */) == 0 &&
                           prctl(PR_CAPBSET_READ, 25) == 0 && prctl(PR_CAPBSET_READ, 24) == 1);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    KT_CHILD_CHECK(37, settimeofday(&tv, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(38, mount("none", "/tmp", "tmpfs", 0, NULL) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(userns_unprivileged_maps) {
    struct utsname a, b;
    KT_SYS_OK(uname(&a));
    KT_EQ(kt_in_child(userns_unprivileged), 0);
    KT_SYS_OK(uname(&b));
    KT_EQ(strcmp(a.nodename, b.nodename), 0);
}

/* unshare -U: no map at all */
static int userns_unmapped(void) {
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, unshare(CLONE_NEWUSER) == 0);
    KT_CHILD_CHECK(3, getuid() == 65534 && getgid() == 65534);
    gid_t g[4];
    KT_CHILD_CHECK(4, getgroups(4, g) == 0);
    /* no map: ids cannot be set, nor can a child namespace be made (the
     * euid has no mapping) */
    KT_CHILD_CHECK(5, setuid(0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(6, unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(userns_unmapped_overflow_ids) {
    KT_EQ(kt_in_child(userns_unmapped), 0);
}

/* root makes a namespace; its parent (root outside) maps a range */
KT_CASE(userns_map_written_from_outside) {
    int go[2], done[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(done));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        if (unshare(CLONE_NEWUSER) != 0) _exit(1);
        if (write(done[1], "u", 1) != 1) _exit(2);
        if (read(go[0], &b, 1) != 1) _exit(3);
        /* kernel uid 0 is not in 0 100000 1000: 65534 */
        if (getuid() != 65534) _exit(4);
        struct stat st;
        if (stat("/", &st) != 0 || st.st_uid != 65534) _exit(5);
        _exit(0);
    }
    char b, path[64], buf[128];
    KT_SYS_RET(read(done[0], &b, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/uid_map", c);
    KT_SYS_ERR(kt_put(path, "0 100000 1000 junk"), EINVAL);
    KT_SYS_RET(kt_put(path, "0 100000 1000\n"), 14);
    KT_SYS_ERR(kt_put(path, "0 100000 1000\n"), EPERM);
    KT_SYS_OK(kt_read_text(path, buf, sizeof buf));
    KT_EQ(strcmp(buf, "         0     100000       1000\n"), 0);
    /* the initial namespace's own map */
    KT_SYS_OK(kt_read_text("/proc/self/uid_map", buf, sizeof buf));
    KT_EQ(strcmp(buf, "         0          0 4294967295\n"), 0);
    KT_SYS_ERR(kt_put("/proc/self/uid_map", "0 0 1"), EPERM);
    KT_SYS_RET(write(go[1], "g", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* clone(CLONE_NEWUSER | CLONE_NEWUTS) unprivileged: the user namespace is
 * made first and owns the UTS namespace */
static int clone_userns(void) {
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    long c = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        if (getuid() != 65534) _exit(10);
        if (sethostname("cloned", 6) != 0) _exit(11);
        if (!same_name("cloned")) _exit(12);
        _exit(0);
    }
    KT_CHILD_CHECK(2, c > 0);
    int st;
    KT_CHILD_CHECK(3, waitpid(c, &st, 0) == c && st == 0);
    KT_CHILD_CHECK(4, !same_name("cloned"));
    long d = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    KT_CHILD_CHECK(5, d == -1 && errno == EPERM);
    return 0;
}

KT_CASE(clone_newuser_newuts_unprivileged) {
    KT_EQ(kt_in_child(clone_userns), 0);
}

/* NS_GET_* on the files of new namespaces */
static int ioctls(void) {
    unsigned long init_user = ino_of("/proc/self/ns/user");
    KT_CHILD_CHECK(1, kt_drop_to_1000());
    KT_CHILD_CHECK(2, unshare(CLONE_NEWUSER) == 0);
    KT_CHILD_CHECK(3, kt_put("/proc/self/uid_map", "0 1000 1") > 0 && kt_put("/proc/self/setgroups", "deny") > 0 &&
                          kt_put("/proc/self/gid_map", "0 1000 1") > 0);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWUTS) == 0);
    int uts = open("/proc/self/ns/uts", O_RDONLY);
    int user = open("/proc/self/ns/user", O_RDONLY);
    KT_CHILD_CHECK(5, uts >= 0 && user >= 0);
    KT_CHILD_CHECK(6, ioctl(uts, NS_GET_NSTYPE) == CLONE_NEWUTS && ioctl(user, NS_GET_NSTYPE) == CLONE_NEWUSER);
    int owner = ioctl(uts, NS_GET_USERNS);
    struct stat a, b;
    KT_CHILD_CHECK(7, owner >= 0 && fstat(owner, &a) == 0 && fstat(user, &b) == 0 && a.st_ino == b.st_ino);
    /* the parent of the new user namespace is the initial one, which is
     * not below ours: EPERM, as is its own parent */
    KT_CHILD_CHECK(8, ioctl(user, NS_GET_PARENT) == -1 && errno == EPERM);
    KT_CHILD_CHECK(9, ioctl(user, NS_GET_USERNS) == -1 && errno == EPERM);
    uid_t o = 12345;
    KT_CHILD_CHECK(10, ioctl(user, NS_GET_OWNER_UID, &o) == 0 && o == 0);
    KT_CHILD_CHECK(11, ioctl(uts, NS_GET_OWNER_UID, &o) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(12, ioctl(uts, NS_GET_PARENT) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(13, b.st_ino != init_user);
    /* a child namespace: from inside, its parent is above us (EPERM);
     * its owner (uid 1000) is not mapped there */
    KT_CHILD_CHECK(14, unshare(CLONE_NEWUSER) == 0);
    int inner = open("/proc/self/ns/user", O_RDONLY);
    KT_CHILD_CHECK(15, inner >= 0 && ioctl(inner, NS_GET_PARENT) == -1 && errno == EPERM);
    KT_CHILD_CHECK(16, ioctl(inner, NS_GET_OWNER_UID, &o) == 0 && o == 65534);
    KT_CHILD_CHECK(17, ioctl(user, NS_GET_PARENT) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(ns_ioctls_on_new_namespaces) {
    KT_EQ(kt_in_child(ioctls), 0);
}

/* setns(2): into a sibling's UTS namespace through its nsfs file or a
 * pidfd; wrong types, other files */
KT_CASE(setns_uts) {
    int go[2], done[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(done));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        if (unshare(CLONE_NEWUTS) != 0 || sethostname("sib", 3) != 0) _exit(1);
        if (write(done[1], "u", 1) != 1) _exit(2);
        if (read(go[0], &b, 1) != 1) _exit(3);
        _exit(0);
    }
    char b, path[64];
    KT_SYS_RET(read(done[0], &b, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/ns/uts", c);
    int fd = KT_SYS_OK(open(path, O_RDONLY));
    KT_EQ(ino_of(path) != ino_of("/proc/self/ns/uts"), 1);
    pid_t d = KT_FORK();
    if (d == 0) {
        if (setns(fd, CLONE_NEWUSER) != -1 || errno != EINVAL) _exit(1);
        if (setns(1, 0) != -1 || errno != EINVAL) _exit(2);
        if (setns(999, 0) != -1 || errno != EBADF) _exit(3);
        if (setns(fd, CLONE_NEWUTS) != 0) _exit(4);
        if (!same_name("sib")) _exit(5);
        if (ino_of("/proc/self/ns/uts") != ino_of(path)) _exit(6);
        _exit(0);
    }
    KT_WAIT_STATUS(d, kt_exited(0));
    int pfd = KT_SYS_OK(syscall(SYS_pidfd_open, c, 0));
    d = KT_FORK();
    if (d == 0) {
        if (setns(pfd, 0) != -1 || errno != EINVAL) _exit(1);
        if (setns(pfd, CLONE_NEWUTS) != 0) _exit(2);
        if (!same_name("sib")) _exit(3);
        _exit(0);
    }
    KT_WAIT_STATUS(d, kt_exited(0));
    /* without CAP_SYS_ADMIN: EPERM */
    d = KT_FORK();
    if (d == 0) {
        if (!kt_drop_to_1000()) _exit(1);
        if (setns(fd, 0) != -1 || errno != EPERM) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(d, kt_exited(0));
    KT_EQ(same_name("sib"), 0);
    KT_SYS_RET(write(go[1], "g", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(fd);
    close(pfd);
}

/* setns into a user namespace the same uid made (nsenter -U) */
KT_CASE(setns_user_of_same_owner) {
    int go[2], done[2];
    KT_SYS_OK(pipe(go));
    KT_SYS_OK(pipe(done));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        if (!kt_drop_to_1000()) _exit(1);
        if (unshare(CLONE_NEWUSER) != 0) _exit(2);
        if (kt_put("/proc/self/uid_map", "0 1000 1") < 0) _exit(3);
        if (write(done[1], "u", 1) != 1) _exit(4);
        if (read(go[0], &b, 1) != 1) _exit(5);
        _exit(0);
    }
    char b, path[64];
    KT_SYS_RET(read(done[0], &b, 1), 1);
    snprintf(path, sizeof path, "/proc/%d/ns/user", c);
    int fd = KT_SYS_OK(open(path, O_RDONLY));
    pid_t d = KT_FORK();
    if (d == 0) {
        if (!kt_drop_to_1000()) _exit(1);
        if (setns(fd, CLONE_NEWUSER) != 0) _exit(2);
        if (getuid() != 0) _exit(3);
        /* already there */
        if (setns(fd, CLONE_NEWUSER) != -1 || errno != EINVAL) _exit(4);
        _exit(0);
    }
    KT_WAIT_STATUS(d, kt_exited(0));
    /* sharing the fs context (CLONE_FS) bars it */
    d = KT_FORK();
    if (d == 0) {
        if (!kt_drop_to_1000()) _exit(1);
        long e = syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, 0, 0, 0);
        if (e == 0) _exit(setns(fd, CLONE_NEWUSER) == -1 && errno == EINVAL ? 0 : 1);
        int st;
        if (e < 0 || waitpid(e, &st, 0) != e || st != 0) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(d, kt_exited(0));
    d = KT_FORK();
    if (d == 0) {
        if (setgroups(0, NULL) != 0 || setgid(1001) != 0 || setuid(1001) != 0) _exit(1);
        if (setns(fd, CLONE_NEWUSER) != -1 || errno != EPERM) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(d, kt_exited(0));
    KT_SYS_RET(write(go[1], "g", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(fd);
}

/* the kinds not built here keep Linux's answer for a privileged caller
 * only where both agree: CLONE_NEWUSER with CLONE_FS or CLONE_THREAD */
KT_CASE(flag_rules) {
    KT_SYS_ERR(syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0, 0, 0, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, 0, 0, 0, 0), EINVAL);
}

KT_MAIN()
