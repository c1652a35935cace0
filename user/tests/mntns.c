/* Mount namespaces: unshare(2)/clone(2) with CLONE_NEWNS copy the mounts,
 * mounts and umounts in one do not show in the other (path walks,
 * /proc/self/mounts, mountinfo), /proc/self/ns/mnt per namespace,
 * setns(2) into one through an nsfs file, mount propagation flags
 * (MS_PRIVATE/MS_SHARED with MS_REC, mountinfo's shared:N), umount2 with
 * MNT_DETACH of a mount with mounts below it (EBUSY without), and mounts
 * by a user namespace's root in the mount namespace it owns (tmpfs and
 * bind mounts allowed, proc and devtmpfs EPERM). Run as root (the suite's
 * user); every case runs in a child so the suite's own mounts stay. */
#include "kt_mount.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <grp.h>
#include <pthread.h>

#define DIR_A "/tmp/kt_mntns_a"
#define DIR_B "/tmp/kt_mntns_b"

static void dirs(void) {
    mkdir(DIR_A, 0755);
    mkdir(DIR_B, 0755);
}

static int copy_child(void) {
    unsigned long before = km_ino("/proc/self/ns/mnt");
    KT_CHILD_CHECK(1, before != 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(3, mknod(DIR_A "/old", S_IFREG | 0644, 0) == 0);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(5, km_ino("/proc/self/ns/mnt") != before && km_ino("/proc/self/ns/mnt") != 0);
    /* the copy shows the parent's mounts */
    KT_CHILD_CHECK(6, km_exists(DIR_A "/old") && km_mounted(DIR_A) == 1);
    /* a mount here is not the parent's */
    KT_CHILD_CHECK(7, mount("none", DIR_B, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(8, mknod(DIR_B "/new", S_IFREG | 0644, 0) == 0);
    KT_CHILD_CHECK(9, km_mounted(DIR_B) == 1);
    /* an umount here leaves the parent's */
    KT_CHILD_CHECK(10, umount(DIR_A) == 0);
    KT_CHILD_CHECK(11, !km_exists(DIR_A "/old") && km_mounted(DIR_A) == 0);
    return 0;
}

KT_CASE(unshare_copies_and_separates_mounts) {
    dirs();
    pid_t c = fork();
    KT_TRUE(c >= 0, "c >= 0");
    if (c == 0) {
        /* a private namespace for the whole case, the suite's own intact */
        if (unshare(CLONE_NEWNS) != 0) _exit(KT_CHILD_FAILED);
        pid_t g = fork();
        if (g == 0) _exit(copy_child());
        int st;
        waitpid(g, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
        /* the parent still has /a (the grandchild unmounted its copy) and
         * never saw /b */
        if (!km_exists(DIR_A "/old") || km_mounted(DIR_A) != 1) _exit(40);
        if (km_exists(DIR_B "/new") || km_mounted(DIR_B) != 0) _exit(41);
        if (umount(DIR_A) != 0) _exit(42);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_TRUE(!km_exists(DIR_A "/old") && !km_exists(DIR_B "/new"), "!km_exists(DIR_A '/old') && !km_exists(DIR_B '/new')");
}

static int clone_child_fn(void *arg) {
    (void)arg;
    if (!km_exists(DIR_A "/seen")) return 1;
    if (umount(DIR_A) != 0) return 2;
    if (km_exists(DIR_A "/seen")) return 3;
    return 0;
}

KT_CASE(clone_newns_child_has_a_copy) {
    dirs();
    pid_t c = fork();
    KT_TRUE(c >= 0, "c >= 0");
    if (c == 0) {
        if (unshare(CLONE_NEWNS) != 0) _exit(KT_CHILD_FAILED);
        if (mount("none", DIR_A, "tmpfs", 0, NULL) != 0) _exit(10);
        if (mknod(DIR_A "/seen", S_IFREG | 0644, 0) != 0) _exit(11);
        static char stack[16384];
        pid_t g = clone(clone_child_fn, stack + sizeof stack, CLONE_NEWNS | SIGCHLD, NULL);
        if (g < 0) _exit(12);
        int st;
        if (waitpid(g, &st, 0) != g || !WIFEXITED(st)) _exit(13);
        if (WEXITSTATUS(st) != 0) _exit(20 + WEXITSTATUS(st));
        if (!km_exists(DIR_A "/seen")) _exit(14);
        /* CLONE_NEWNS with CLONE_FS is EINVAL */
        if (clone(clone_child_fn, stack + sizeof stack, CLONE_NEWNS | CLONE_FS | SIGCHLD, NULL) != -1 ||
            errno != EINVAL)
            _exit(15);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(setns_into_another_mount_namespace) {
    dirs();
    int pipefd[2], back[2];
    KT_SYS_OK(pipe(pipefd));
    KT_SYS_OK(pipe(back));
    pid_t holder = fork();
    KT_TRUE(holder >= 0, "holder >= 0");
    if (holder == 0) {
        char x;
        if (unshare(CLONE_NEWNS) != 0) _exit(1);
        if (mount("none", DIR_A, "tmpfs", 0, NULL) != 0) _exit(2);
        if (mknod(DIR_A "/held", S_IFREG | 0644, 0) != 0) _exit(3);
        if (write(back[1], "r", 1) != 1) _exit(4);
        if (read(pipefd[0], &x, 1) != 1) _exit(5);
        _exit(0);
    }
    char x;
    KT_SYS_RET(read(back[0], &x, 1), 1);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", holder);
    pid_t c = fork();
    KT_TRUE(c >= 0, "c >= 0");
    if (c == 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) _exit(10);
        if (km_exists(DIR_A "/held")) _exit(11);
        if (setns(fd, CLONE_NEWUTS) != -1 || errno != EINVAL) _exit(12);
        if (setns(fd, CLONE_NEWNS) != 0) _exit(13);
        if (!km_exists(DIR_A "/held")) _exit(14);
        if (km_ino("/proc/self/ns/mnt") != km_ino(path)) _exit(15);
        /* setns sets the cwd to the namespace's root */
        char cwd[64];
        if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/") != 0) _exit(16);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_RET(write(pipefd[1], "g", 1), 1);
    KT_WAIT_STATUS(holder, kt_exited(0));
    KT_TRUE(!km_exists(DIR_A "/held"), "!km_exists(DIR_A '/held')");
}

static int propagation_child(void) {
    char opt[128];
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    /* what util-linux's unshare does first */
    KT_CHILD_CHECK(2, mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(3, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(4, km_optional(DIR_A, opt, sizeof opt) == 0 && strcmp(opt, "") == 0);
    KT_CHILD_CHECK(5, mount("none", DIR_A, NULL, MS_SHARED, NULL) == 0);
    KT_CHILD_CHECK(6, km_optional(DIR_A, opt, sizeof opt) == 0 && strncmp(opt, "shared:", 7) == 0);
    KT_CHILD_CHECK(7, mount("none", DIR_A, NULL, MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(8, km_optional(DIR_A, opt, sizeof opt) == 0 && strcmp(opt, "") == 0);
    /* two types at once, or other flags beside one: EINVAL */
    KT_CHILD_CHECK(9, mount("none", DIR_A, NULL, MS_SHARED | MS_PRIVATE, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(10, mount("none", DIR_A, NULL, MS_PRIVATE | MS_RDONLY, NULL) == -1 && errno == EINVAL);
    /* not a mount's root: EINVAL */
    KT_CHILD_CHECK(11, mkdir(DIR_A "/sub", 0755) == 0);
    KT_CHILD_CHECK(12, mount("none", DIR_A "/sub", NULL, MS_PRIVATE, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(13, mount("none", DIR_A, NULL, MS_SLAVE, NULL) == 0);
    KT_CHILD_CHECK(14, mount("none", DIR_A, NULL, MS_UNBINDABLE, NULL) == 0);
    return 0;
}

KT_CASE(propagation_flags) {
    dirs();
    KT_EQ(kt_in_child(propagation_child), 0);
}

static int detach_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(3, mkdir(DIR_A "/in", 0755) == 0);
    KT_CHILD_CHECK(4, mount("none", DIR_A "/in", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(5, mknod(DIR_A "/in/f", S_IFREG | 0644, 0) == 0);
    /* a mount with a mount below it is busy */
    KT_CHILD_CHECK(6, umount2(DIR_A, 0) == -1 && errno == EBUSY);
    KT_CHILD_CHECK(7, umount2(DIR_A, MNT_DETACH) == 0);
    KT_CHILD_CHECK(8, km_mounted(DIR_A) == 0 && km_mounted(DIR_A "/in") == 0);
    KT_CHILD_CHECK(9, !km_exists(DIR_A "/in"));
    /* not a mount point */
    KT_CHILD_CHECK(10, umount2(DIR_A, MNT_DETACH) == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(umount2_detach_takes_the_mounts_below) {
    dirs();
    KT_EQ(kt_in_child(detach_child), 0);
}

static int bind_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(3, mkdir(DIR_A "/d", 0755) == 0);
    KT_CHILD_CHECK(4, mknod(DIR_A "/d/f", S_IFREG | 0644, 0) == 0);
    KT_CHILD_CHECK(5, mount(DIR_A "/d", DIR_B, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(6, km_exists(DIR_B "/f"));
    KT_CHILD_CHECK(7, km_mounted(DIR_B) == 1);
    KT_CHILD_CHECK(8, umount(DIR_B) == 0);
    KT_CHILD_CHECK(9, !km_exists(DIR_B "/f"));
    return 0;
}

KT_CASE(bind_mount_in_a_namespace) {
    dirs();
    KT_EQ(kt_in_child(bind_child), 0);
}

static int pivot_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(3, mkdir(DIR_A "/old", 0755) == 0 && mknod(DIR_A "/f", S_IFREG | 0644, 0) == 0);
    KT_CHILD_CHECK(4, syscall(SYS_pivot_root, DIR_A "/f", DIR_A "/old") == -1 && errno == ENOTDIR);
    KT_CHILD_CHECK(5, syscall(SYS_pivot_root, DIR_A, DIR_A "/nothing") == -1 && errno == ENOENT);
    /* an initramfs root: EINVAL before the EBUSY of the same mount */
    KT_CHILD_CHECK(6, syscall(SYS_pivot_root, "/", "/") == -1 && errno == EINVAL);
    /* an initramfs root (rootfs) has no parent mount */
    KT_CHILD_CHECK(8, syscall(SYS_pivot_root, DIR_A, DIR_A "/old") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(9, setgid(1000) == 0 && setuid(1000) == 0);
    KT_CHILD_CHECK(10, syscall(SYS_pivot_root, DIR_A, DIR_A "/old") == -1 && errno == EPERM);
    return 0;
}

KT_CASE(pivot_root_errors) {
    dirs();
    KT_EQ(kt_in_child(pivot_child), 0);
}

/* MS_MOVE: a mount and the mounts below it go to another directory */
static int move_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0 && mkdir(DIR_A "/sub", 0755) == 0);
    KT_CHILD_CHECK(3, mount("none", DIR_A "/sub", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(4, mknod(DIR_A "/sub/x", S_IFREG | 0644, 0) == 0 && mkdir(DIR_A "/plain", 0755) == 0);
    /* not a mount's root; no source; into itself */
    KT_CHILD_CHECK(5, mount(DIR_A "/plain", DIR_B, NULL, MS_MOVE, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(6, mount(NULL, DIR_B, NULL, MS_MOVE, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(7, mount(DIR_A, DIR_A "/plain", NULL, MS_MOVE, NULL) == -1 && errno == ELOOP);
    KT_CHILD_CHECK(8, mount(DIR_A, DIR_B, NULL, MS_MOVE, NULL) == 0);
    KT_CHILD_CHECK(9, km_exists(DIR_B "/sub/x") && !km_exists(DIR_A "/sub") && km_exists(DIR_B "/plain"));
    KT_CHILD_CHECK(10, km_mounted(DIR_B) == 1 && km_mounted(DIR_B "/sub") == 1);
    KT_CHILD_CHECK(11, km_mounted(DIR_A) == 0 && km_mounted(DIR_A "/sub") == 0);
    /* the tree detaches whole from its new place */
    KT_CHILD_CHECK(12, umount2(DIR_B, MNT_DETACH) == 0 && km_mounted(DIR_B "/sub") == 0 && !km_exists(DIR_B "/sub"));
    return 0;
}

KT_CASE(ms_move_moves_a_mount_tree) {
    dirs();
    KT_EQ(kt_in_child(move_child), 0);
}

/* A directory bound on itself is a mount (mountinfo, MS_MOVE, umount)
 * showing what it showed. */
static int self_bind_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(2, mknod(DIR_A "/f", S_IFREG | 0644, 0) == 0);
    KT_CHILD_CHECK(3, km_mounted(DIR_A) == 0 && mount(DIR_A, DIR_A, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(4, km_mounted(DIR_A) == 1 && km_exists(DIR_A "/f"));
    KT_CHILD_CHECK(5, mount(DIR_A, DIR_B, NULL, MS_MOVE, NULL) == 0);
    KT_CHILD_CHECK(6, km_mounted(DIR_A) == 0 && km_mounted(DIR_B) == 1 && km_exists(DIR_B "/f") && km_exists(DIR_A "/f"));
    KT_CHILD_CHECK(7, umount(DIR_B) == 0 && !km_exists(DIR_B "/f") && km_mounted(DIR_B) == 0);
    KT_CHILD_CHECK(8, mount(DIR_A, DIR_A, NULL, MS_BIND, NULL) == 0 && umount(DIR_A) == 0);
    KT_CHILD_CHECK(9, km_mounted(DIR_A) == 0 && km_exists(DIR_A "/f") && unlink(DIR_A "/f") == 0);
    return 0;
}

KT_CASE(a_directory_bound_on_itself) {
    dirs();
    KT_EQ(kt_in_child(self_bind_child), 0);
    unlink(DIR_A "/f");
}

/* Per-mount flags: MS_REMOUNT|MS_BIND|MS_RDONLY makes one mount read-only
 * (EROFS through it, not through the filesystem's other mount), MS_NOEXEC
 * (execve EACCES) and MS_NODEV (opening a device EACCES) per mount, shown
 * in mountinfo's mount options while the filesystem stays rw. */
static int ro_bind_child(void) {
    char mnt[256], sb[256];
    char *argv[] = {"x", NULL}, *envp[] = {NULL};
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0 && mkdir(DIR_A "/d", 0755) == 0);
    KT_CHILD_CHECK(3, mount(DIR_A "/d", DIR_B, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(4, mount(NULL, DIR_B, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0);
    KT_CHILD_CHECK(5, open(DIR_B "/f", O_CREAT | O_WRONLY, 0644) == -1 && errno == EROFS);
    KT_CHILD_CHECK(6, mkdir(DIR_B "/e", 0755) == -1 && errno == EROFS);
    int fd = open(DIR_A "/d/f", O_CREAT | O_WRONLY, 0755);
    KT_CHILD_CHECK(7, fd >= 0 && write(fd, "#!/bin/sh\nexit 7\n", 17) == 17 && close(fd) == 0);
    fd = open(DIR_B "/f", O_RDONLY);
    KT_CHILD_CHECK(8, fd >= 0 && close(fd) == 0);
    KT_CHILD_CHECK(9, open(DIR_B "/f", O_WRONLY) == -1 && errno == EROFS);
    KT_CHILD_CHECK(10, unlink(DIR_B "/f") == -1 && errno == EROFS);
    KT_CHILD_CHECK(11, km_options(DIR_B, mnt, sb, sizeof mnt) == 0 && strcmp(mnt, "ro,relatime") == 0);
    KT_CHILD_CHECK(12, strncmp(sb, "rw", 2) == 0);
    KT_CHILD_CHECK(13, km_options(DIR_A, mnt, sb, sizeof mnt) == 0 && strcmp(mnt, "rw,relatime") == 0);
    /* writable again; then nosuid, nodev, noexec */
    KT_CHILD_CHECK(14, mount(NULL, DIR_B, NULL, MS_REMOUNT | MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(15, mknod(DIR_B "/null", S_IFCHR | 0666, makedev(1, 3)) == 0);
    KT_CHILD_CHECK(16, mount(NULL, DIR_B, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0);
    KT_CHILD_CHECK(17, km_options(DIR_B, mnt, sb, sizeof mnt) == 0 && strcmp(mnt, "rw,nosuid,nodev,noexec,relatime") == 0);
    KT_CHILD_CHECK(18, open(DIR_B "/null", O_RDONLY) == -1 && errno == EACCES);
    fd = open(DIR_A "/d/null", O_RDONLY);
    KT_CHILD_CHECK(19, fd >= 0 && close(fd) == 0);
    KT_CHILD_CHECK(20, execve(DIR_B "/f", argv, envp) == -1 && errno == EACCES);
    fd = open(DIR_B "/g", O_CREAT | O_WRONLY, 0644);
    KT_CHILD_CHECK(21, fd >= 0 && close(fd) == 0);
    return 0;
}

KT_CASE(per_mount_read_only_and_flags) {
    dirs();
    KT_EQ(kt_in_child(ro_bind_child), 0);
}

/* statfs(2)'s f_flags of `path` (through `fd` when >= 0); -1 on error. */
static long st_flags(const char *path, int fd) {
    struct statfs sf;
    int r = fd >= 0 ? fstatfs(fd, &sf) : statfs(path, &sf);
    return r == 0 ? (long)sf.f_flags : -1;
}

/* Runs `path` (a script exiting 7) in a child: its exit status, or
 * 100 + errno when execve fails. */
static int run(const char *path) {
    pid_t c = fork();
    if (c == 0) {
        char *argv[] = {(char *)path, NULL}, *envp[] = {NULL};
        execve(path, argv, envp);
        _exit(100 + errno);
    }
    int st = -1;
    if (c < 0 || waitpid(c, &st, 0) != c) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One directory bound twice, read-only at ro/ and read-write at rw/:
 * each walk takes the flags of the mount it went through (Linux's struct
 * path), also from a working directory or a directory descriptor inside
 * either, for a /proc/self/fd reopen of a descriptor opened through
 * either, for statfs's f_flags (ST_VALID 0x20, ST_RELATIME 0x1000 beside
 * ST_RDONLY/ST_NOEXEC) and for execve through a noexec bind. */
static int twice_child(void) {
    char buf[256], link[64];
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0 && mkdir(DIR_A "/src", 0755) == 0);
    KT_CHILD_CHECK(3, mkdir(DIR_A "/ro", 0755) == 0 && mkdir(DIR_A "/rw", 0755) == 0);
    KT_CHILD_CHECK(4, mount(DIR_A "/src", DIR_A "/ro", NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(5, mount(NULL, DIR_A "/ro", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0);
    KT_CHILD_CHECK(6, mount(DIR_A "/src", DIR_A "/rw", NULL, MS_BIND, NULL) == 0);
    /* through the rw alias writes work, through the ro one EROFS */
    int fd = open(DIR_A "/rw/f", O_CREAT | O_WRONLY, 0755);
    KT_CHILD_CHECK(7, fd >= 0 && write(fd, "#!/bin/sh\nexit 7\n", 17) == 17 && close(fd) == 0);
    KT_CHILD_CHECK(8, open(DIR_A "/ro/g", O_CREAT | O_WRONLY, 0644) == -1 && errno == EROFS);
    KT_CHILD_CHECK(9, open(DIR_A "/ro/f", O_WRONLY) == -1 && errno == EROFS && km_exists(DIR_A "/ro/f"));
    KT_CHILD_CHECK(10, mkdir(DIR_A "/ro/d", 0755) == -1 && errno == EROFS && mkdir(DIR_A "/rw/d", 0755) == 0);
    KT_CHILD_CHECK(11, chmod(DIR_A "/ro/f", 0700) == -1 && errno == EROFS && chmod(DIR_A "/rw/f", 0755) == 0);
    KT_CHILD_CHECK(12, rename(DIR_A "/rw/d", DIR_A "/ro/d2") == -1 && errno == EXDEV);
    /* from a working directory inside either */
    KT_CHILD_CHECK(13, chdir(DIR_A "/ro") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, DIR_A "/ro") == 0);
    KT_CHILD_CHECK(14, open("f", O_WRONLY) == -1 && errno == EROFS);
    KT_CHILD_CHECK(15, mkdir("e", 0755) == -1 && errno == EROFS && unlink("f") == -1 && errno == EROFS);
    KT_CHILD_CHECK(16, chdir(DIR_A "/rw") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, DIR_A "/rw") == 0);
    fd = open("f", O_WRONLY | O_APPEND);
    KT_CHILD_CHECK(17, fd >= 0 && close(fd) == 0 && mkdir("e", 0755) == 0 && km_exists(DIR_A "/ro/e"));
    KT_CHILD_CHECK(18, chdir("..") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, DIR_A) == 0);
    /* directory descriptors */
    int dro = open(DIR_A "/ro", O_DIRECTORY | O_RDONLY), drw = open(DIR_A "/rw", O_DIRECTORY | O_RDONLY);
    KT_CHILD_CHECK(19, dro >= 0 && drw >= 0);
    KT_CHILD_CHECK(20, openat(dro, "h", O_CREAT | O_WRONLY, 0644) == -1 && errno == EROFS);
    fd = openat(drw, "h", O_CREAT | O_WRONLY, 0644);
    KT_CHILD_CHECK(21, fd >= 0 && close(fd) == 0);
    KT_CHILD_CHECK(22, fchdir(dro) == 0 && mkdir("e2", 0755) == -1 && errno == EROFS && chdir("/") == 0);
    /* a descriptor opened through the ro bind: its /proc/self/fd reopen
     * for writing is EROFS; through the rw bind it works */
    int ro = open(DIR_A "/ro/f", O_RDONLY), rw = open(DIR_A "/rw/f", O_RDONLY);
    KT_CHILD_CHECK(23, ro >= 0 && rw >= 0);
    snprintf(link, sizeof link, "/proc/self/fd/%d", ro);
    KT_CHILD_CHECK(24, open(link, O_WRONLY) == -1 && errno == EROFS);
    snprintf(link, sizeof link, "/proc/self/fd/%d", rw);
    fd = open(link, O_WRONLY | O_APPEND);
    KT_CHILD_CHECK(25, fd >= 0 && close(fd) == 0);
    /* statfs's f_flags per alias, by path and by descriptor */
    KT_CHILD_CHECK(26, st_flags(DIR_A "/ro", -1) == 0x1021 && st_flags(DIR_A "/rw", -1) == 0x1020);
    KT_CHILD_CHECK(27, st_flags(NULL, ro) == 0x1021 && st_flags(NULL, rw) == 0x1020);
    KT_CHILD_CHECK(28, st_flags(DIR_A "/src", -1) == 0x1020);
    /* fchmod/futimens/fchown of a descriptor: its mount's (mnt_want_write_file) */
    KT_CHILD_CHECK(37, fchmod(ro, 0755) == -1 && errno == EROFS && fchmod(rw, 0755) == 0);
    KT_CHILD_CHECK(38, futimens(ro, NULL) == -1 && errno == EROFS && futimens(rw, NULL) == 0);
    KT_CHILD_CHECK(39, fchown(ro, 0, 0) == -1 && errno == EROFS && fchown(rw, 0, 0) == 0);
    /* exec: noexec on the first bind (read-write again), the same file
     * through the other bind runs */
    KT_CHILD_CHECK(29, mount(NULL, DIR_A "/ro", NULL, MS_REMOUNT | MS_BIND | MS_NOEXEC, NULL) == 0);
    KT_CHILD_CHECK(30, st_flags(DIR_A "/ro", -1) == 0x1028 && st_flags(NULL, ro) == 0x1028);
    KT_CHILD_CHECK(31, run(DIR_A "/ro/f") == 100 + EACCES);
    KT_CHILD_CHECK(32, run(DIR_A "/rw/f") == 7 && run(DIR_A "/src/f") == 7);
    KT_CHILD_CHECK(33, mkdir(DIR_A "/ro/e3", 0755) == 0);
    /* `..` from a bind's root goes up from where it is mounted */
    KT_CHILD_CHECK(34, mkdir(DIR_A "/src/sub", 0755) == 0 && mount(DIR_A "/src/sub", DIR_B, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(35, km_ino(DIR_B "/..") == km_ino("/tmp") && km_ino(DIR_B "/../kt_mntns_a/src/sub") == km_ino(DIR_B));
    KT_CHILD_CHECK(36, chdir(DIR_B) == 0 && chdir("..") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/tmp") == 0);
    return 0;
}

KT_CASE(a_directory_bound_twice_takes_each_mounts_flags) {
    dirs();
    KT_EQ(kt_in_child(twice_child), 0);
}

/* pivot_root(2): a root with a parent mount (switch_root's MS_MOVE onto /
 * and chroot), then pivot_root(new, new/old), then runc's and bwrap's
 * pivot_root(".", ".") with umount2(".", MNT_DETACH) through a descriptor
 * of the old root. */
static int pivot_move_child(void) {
    char buf[256];
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0 && mknod(DIR_A "/one", S_IFREG | 0644, 0) == 0);
    KT_CHILD_CHECK(3, chdir(DIR_A) == 0 && mount(".", "/", NULL, MS_MOVE, NULL) == 0);
    KT_CHILD_CHECK(4, chroot(".") == 0 && chdir("/") == 0 && km_exists("/one"));
    KT_CHILD_CHECK(5, mkdir("/new", 0755) == 0 && mount("none", "/new", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(6, mkdir("/new/old", 0755) == 0 && mknod("/new/two", S_IFREG | 0644, 0) == 0);
    /* put_old in the root mount: EBUSY; in a mount new_root cannot reach: EINVAL */
    KT_CHILD_CHECK(7, mkdir("/outside", 0755) == 0);
    KT_CHILD_CHECK(8, syscall(SYS_pivot_root, "/new", "/outside") == -1 && errno == EBUSY);
    KT_CHILD_CHECK(9, mkdir("/other", 0755) == 0 && mount("none", "/other", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(10, syscall(SYS_pivot_root, "/new", "/other") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(11, syscall(SYS_pivot_root, ".", ".") == -1 && errno == EBUSY);
    /* nothing moves or pivots under a shared mount (propagation would
     * copy it): new_root's parent mount shared, a moved mount's parent */
    KT_CHILD_CHECK(30, mount(NULL, "/", NULL, MS_SHARED, NULL) == 0);
    KT_CHILD_CHECK(31, syscall(SYS_pivot_root, "/new", "/new/old") == -1 && errno == EINVAL);
    KT_CHILD_CHECK(32, mkdir("/mv", 0755) == 0 && mount("/other", "/mv", NULL, MS_MOVE, NULL) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(33, mount(NULL, "/", NULL, MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(12, syscall(SYS_pivot_root, "/new", "/new/old") == 0);
    KT_CHILD_CHECK(13, getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    KT_CHILD_CHECK(14, km_exists("/two") && km_exists("/old/one") && !km_exists("/one") && km_exists("/old/other"));
    KT_CHILD_CHECK(15, mkdir("/n3", 0755) == 0 && mount("none", "/n3", "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(16, mknod("/n3/three", S_IFREG | 0644, 0) == 0);
    int oldroot = open("/", O_DIRECTORY | O_RDONLY);
    KT_CHILD_CHECK(17, oldroot >= 0 && chdir("/n3") == 0);
    KT_CHILD_CHECK(18, syscall(SYS_pivot_root, ".", ".") == 0);
    KT_CHILD_CHECK(19, fchdir(oldroot) == 0 && umount2(".", MNT_DETACH) == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(20, km_exists("/three") && !km_exists("/two") && !km_exists("/old") && !km_exists("/n3"));
    KT_CHILD_CHECK(21, getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    /* the old root is gone from the descriptor's view too: its mounts went */
    KT_CHILD_CHECK(22, fstatat(oldroot, "old/one", &(struct stat){0}, 0) == -1 && errno == ENOENT);
    return 0;
}

KT_CASE(pivot_root_swaps_the_root_mount) {
    dirs();
    KT_EQ(kt_in_child(pivot_move_child), 0);
}

/* unshare -rm: a user namespace whose root owns a new mount namespace */
static int userns_child(void) {
    char map[32];
    dirs();
    KT_CHILD_CHECK(1, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0 &&
                          prctl(PR_SET_DUMPABLE, 1) == 0);
    /* an unprivileged process may not make a mount namespace alone */
    KT_CHILD_CHECK(2, unshare(CLONE_NEWNS) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0);
    snprintf(map, sizeof map, "0 1000 1");
    KT_CHILD_CHECK(4, km_put("/proc/self/setgroups", "deny") > 0);
    KT_CHILD_CHECK(5, km_put("/proc/self/uid_map", map) > 0 && km_put("/proc/self/gid_map", map) > 0);
    KT_CHILD_CHECK(6, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(7, mknod(DIR_A "/mine", S_IFREG | 0644, 0) == 0);
    struct stat st;
    KT_CHILD_CHECK(8, stat(DIR_A, &st) == 0 && st.st_uid == 0 && st.st_gid == 0);
    KT_CHILD_CHECK(9, mount(DIR_A, DIR_B, NULL, MS_BIND, NULL) == 0 && km_exists(DIR_B "/mine"));
    KT_CHILD_CHECK(10, mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    /* no proc without a PID namespace of its own, no devtmpfs */
    KT_CHILD_CHECK(11, mount("proc", DIR_B, "proc", 0, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(12, mount("none", DIR_B, "devtmpfs", 0, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(13, umount(DIR_B) == 0 && umount(DIR_A) == 0);
    return 0;
}

KT_CASE(user_namespace_root_mounts_in_its_own_namespace) {
    KT_EQ(kt_in_child(userns_child), 0);
    /* nothing of it shows here */
    KT_TRUE(!km_exists(DIR_A "/mine"), "!km_exists(DIR_A '/mine')");
}

/* A user namespace's root may remount only the filesystems it made (a
 * filesystem of the initial namespace stays as it is: EPERM), and may not
 * umount the mounts its namespace was given (locked: EINVAL, with
 * MNT_DETACH or MNT_FORCE too); its own it may. */
static int locked_child(void) {
    char map[32];
    dirs();
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", MS_NOSUID | MS_NOEXEC, NULL) == 0);
    /* a copy of a copy keeps the mounts (the first copy's namespace,
     * which no process is in any more, is not reaped before) */
    KT_CHILD_CHECK(30, unshare(CLONE_NEWNS) == 0 && km_exists("/proc/self/setgroups") && km_mounted(DIR_A) == 1);
    KT_CHILD_CHECK(3, setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0 &&
                          prctl(PR_SET_DUMPABLE, 1) == 0);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0);
    snprintf(map, sizeof map, "0 1000 1");
    KT_CHILD_CHECK(5, km_put("/proc/self/setgroups", "deny") > 0);
    KT_CHILD_CHECK(6, km_put("/proc/self/uid_map", map) > 0 && km_put("/proc/self/gid_map", map) > 0);
    KT_CHILD_CHECK(7, mount(NULL, DIR_A, NULL, MS_REMOUNT | MS_RDONLY, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(8, mount(NULL, DIR_A, NULL, MS_REMOUNT, NULL) == -1 && errno == EPERM);
    /* its nosuid and noexec are locked too (can_change_locked_flags):
     * a bind remount may keep them, not drop them */
    KT_CHILD_CHECK(40, mount(NULL, DIR_A, NULL, MS_REMOUNT | MS_BIND, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(41, mount(NULL, DIR_A, NULL, MS_REMOUNT | MS_BIND | MS_NOEXEC, NULL) == -1 && errno == EPERM);
    KT_CHILD_CHECK(42, mount(NULL, DIR_A, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC, NULL) == 0);
    /* its own tmpfs: read-only and back */
    KT_CHILD_CHECK(9, mount("none", DIR_B, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(10, mount(NULL, DIR_B, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
    KT_CHILD_CHECK(11, open(DIR_B "/f", O_CREAT | O_WRONLY, 0644) == -1 && errno == EROFS);
    KT_CHILD_CHECK(12, mount(NULL, DIR_B, NULL, MS_REMOUNT, NULL) == 0);
    int fd = open(DIR_B "/f", O_CREAT | O_WRONLY, 0644);
    KT_CHILD_CHECK(13, fd >= 0);
    close(fd);
    /* the copied mount is locked */
    KT_CHILD_CHECK(14, umount(DIR_A) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(15, umount2(DIR_A, MNT_DETACH) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(16, km_mounted(DIR_A) == 1);
    KT_CHILD_CHECK(17, umount2(DIR_A, MNT_FORCE) == -1 && errno == EINVAL);
    /* its own mount: MNT_FORCE is allowed (Linux 6.1 checks no capability) */
    KT_CHILD_CHECK(18, umount2(DIR_B, MNT_FORCE) == 0 && km_mounted(DIR_B) == 0);
    return 0;
}

KT_CASE(user_namespace_root_remounts_and_umounts_only_its_own) {
    KT_EQ(kt_in_child(locked_child), 0);
}

static void *idle_thread(void *arg) {
    int *fds = arg;
    char c;
    while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

/* setns(2) into a mount namespace while the fs context is shared with
 * another thread: EINVAL (mntns_install: fs->users != 1). */
static int setns_threads_child(void) {
    int fds[2];
    pthread_t th;
    int fd = open("/proc/self/ns/mnt", O_RDONLY);
    KT_CHILD_CHECK(1, fd >= 0 && pipe(fds) == 0);
    KT_CHILD_CHECK(2, pthread_create(&th, NULL, idle_thread, fds) == 0);
    KT_CHILD_CHECK(3, setns(fd, CLONE_NEWNS) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(4, write(fds[1], "x", 1) == 1 && pthread_join(th, NULL) == 0);
    return 0;
}

KT_CASE(setns_mnt_with_a_shared_fs_context) {
    KT_EQ(kt_in_child(setns_threads_child), 0);
}

/* /proc/PID/fd and cwd links are paths in the process's mount namespace */
static int links_child(void) {
    char buf[256];
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, mount("none", DIR_A, "tmpfs", 0, NULL) == 0);
    int fd = open(DIR_A "/f", O_CREAT | O_RDWR, 0644);
    KT_CHILD_CHECK(3, fd >= 0);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    KT_CHILD_CHECK(4, n > 0);
    buf[n] = 0;
    KT_CHILD_CHECK(5, strcmp(buf, DIR_A "/f") == 0);
    KT_CHILD_CHECK(6, chdir(DIR_A) == 0);
    n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    KT_CHILD_CHECK(7, n > 0);
    buf[n] = 0;
    KT_CHILD_CHECK(8, strcmp(buf, DIR_A) == 0);
    return 0;
}

KT_CASE(proc_links_are_paths_in_the_namespace) {
    dirs();
    KT_EQ(kt_in_child(links_child), 0);
}

/* bwrap reads the overflow ids first */
KT_CASE(overflow_ids_for_sandboxes) {
    char buf[32];
    KT_TRUE(km_get("/proc/sys/kernel/overflowuid", buf, sizeof buf) > 0 && strcmp(buf, "65534\n") == 0, "overflowuid");
    KT_TRUE(km_get("/proc/sys/kernel/overflowgid", buf, sizeof buf) > 0 && strcmp(buf, "65534\n") == 0, "overflowgid");
}

KT_MAIN()
