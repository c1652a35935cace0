/* Bind mounts of files (a file mounted on a file, as `mount --bind
 * /etc/hosts /tmp/h`, bwrap's --ro-bind of a file and iproute2's
 * `ip netns add`, which binds /proc/self/ns/net on /run/netns/NAME):
 * the walk crosses them, ENOTDIR for a file on a directory and back,
 * EBUSY for unlink and rename of a mounted-on file, umount2 of them,
 * mountinfo's lines (nsfs's root `net:[N]`), copies into a new mount
 * namespace, MS_REMOUNT|MS_BIND|MS_RDONLY of one. Run as root (the
 * suite's user); every case runs in a child in its own mount namespace so
 * the suite's mounts stay. */
#include "kt_mount.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/syscall.h>

#define DIR "/tmp/kt_mntfile"
#define SRC DIR "/src"
#define DST DIR "/dst"
#define SUB DIR "/sub"

static void files(void) {
    mkdir(DIR, 0755);
    mkdir(SUB, 0755);
    km_put_file(SRC, "hello\n");
    km_put_file(DST, "");
}

/* The mountinfo file info_of() reads (another after a pivot). */
static const char *mountinfo = "/proc/self/mountinfo";

static int info_of(const char *mp, char *root, char *type, char *source) {
    return km_info_in(mountinfo, mp, root, type, source);
}

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static int bind_child(void) {
    char buf[64], root[256], type[64], source[64];
    struct stat a, b;
    KT_CHILD_CHECK(1, km_private_ns());
    KT_CHILD_CHECK(2, mount(SRC, DST, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(3, km_get(DST, buf, sizeof buf) == 6 && strcmp(buf, "hello\n") == 0);
    KT_CHILD_CHECK(4, stat(SRC, &a) == 0 && stat(DST, &b) == 0);
    KT_CHILD_CHECK(5, a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    /* written through the bind, read at the source */
    KT_CHILD_CHECK(6, km_put_file(DST, "bye\n") == 0);
    KT_CHILD_CHECK(7, km_get(SRC, buf, sizeof buf) == 4 && strcmp(buf, "bye\n") == 0);
    /* a mounted-on file is busy in its namespace */
    errno = 0;
    KT_CHILD_CHECK(8, unlink(DST) == -1 && errno == EBUSY);
    KT_CHILD_CHECK(9, km_put_file(DIR "/other", "x") == 0);
    errno = 0;
    KT_CHILD_CHECK(10, rename(DIR "/other", DST) == -1 && errno == EBUSY);
    errno = 0;
    KT_CHILD_CHECK(11, rename(DST, DIR "/moved") == -1 && errno == EBUSY);
    /* mountinfo: the source file's path in its filesystem as the root */
    KT_CHILD_CHECK(12, info_of(DST, root, type, source) == 0);
    KT_CHILD_CHECK(13, ends_with(root, "/kt_mntfile/src"));
    /* umount2 takes it; the file under it is back */
    KT_CHILD_CHECK(14, umount2(DST, 0) == 0);
    KT_CHILD_CHECK(15, km_get(DST, buf, sizeof buf) == 0);
    errno = 0;
    KT_CHILD_CHECK(16, umount2(DST, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(17, info_of(DST, root, type, source) == -1);
    KT_CHILD_CHECK(18, unlink(DIR "/other") == 0);
    return 0;
}

KT_CASE(a_file_bound_on_a_file) {
    files();
    KT_EQ(kt_in_child(bind_child), 0);
}

static int errno_child(void) {
    KT_CHILD_CHECK(1, km_private_ns());
    errno = 0;
    KT_CHILD_CHECK(2, mount(SRC, SUB, NULL, MS_BIND, NULL) == -1 && errno == ENOTDIR);
    errno = 0;
    KT_CHILD_CHECK(3, mount(SUB, DST, NULL, MS_BIND, NULL) == -1 && errno == ENOTDIR);
    errno = 0;
    KT_CHILD_CHECK(4, mount("none", DST, "tmpfs", 0, NULL) == -1 && errno == ENOTDIR);
    /* a file's path with a trailing slash */
    errno = 0;
    KT_CHILD_CHECK(5, mount(SRC, DST "/", NULL, MS_BIND, NULL) == -1 && errno == ENOTDIR);
    /* a file bound on itself is a mount of its own */
    KT_CHILD_CHECK(6, mount(SRC, SRC, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(7, umount2(SRC, 0) == 0);
    errno = 0;
    KT_CHILD_CHECK(8, umount2(SRC, 0) == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(a_file_on_a_directory_and_back_is_enotdir) {
    files();
    KT_EQ(kt_in_child(errno_child), 0);
}

/* ip netns add: a child's network namespace bound on a file stays after
 * the child exits; setns(2) through the file enters it. */
static int netns_bind_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    KT_CHILD_CHECK(2, mount("/proc/self/ns/net", DST, "none", MS_BIND, NULL) == 0);
    return 0;
}

static int netns_child(void) {
    char mine[64], bound[64], root[256], type[64], source[64];
    struct stat st, ns;
    KT_CHILD_CHECK(1, km_private_ns());
    ssize_t n = readlink("/proc/self/ns/net", mine, sizeof mine - 1);
    KT_CHILD_CHECK(2, n > 0);
    mine[n] = 0;
    KT_CHILD_CHECK(3, kt_in_child(netns_bind_child) == 0);
    KT_CHILD_CHECK(4, stat(DST, &st) == 0);
    KT_CHILD_CHECK(5, stat("/proc/self/ns/net", &ns) == 0);
    /* nsfs's device, another namespace's number */
    KT_CHILD_CHECK(6, st.st_dev == ns.st_dev && st.st_ino != ns.st_ino);
    KT_CHILD_CHECK(7, S_ISREG(st.st_mode));
    KT_CHILD_CHECK(8, info_of(DST, root, type, source) == 0);
    char want[64];
    snprintf(want, sizeof want, "net:[%lu]", (unsigned long)st.st_ino);
    KT_CHILD_CHECK(9, strcmp(root, want) == 0);
    KT_CHILD_CHECK(10, strcmp(type, "nsfs") == 0 && strcmp(source, "nsfs") == 0);
    /* reading an nsfs file is EINVAL */
    int fd = open(DST, O_RDONLY);
    KT_CHILD_CHECK(11, fd >= 0);
    char c;
    errno = 0;
    KT_CHILD_CHECK(12, read(fd, &c, 1) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(13, setns(fd, CLONE_NEWNET) == 0);
    n = readlink("/proc/self/ns/net", bound, sizeof bound - 1);
    KT_CHILD_CHECK(14, n > 0);
    bound[n] = 0;
    KT_CHILD_CHECK(15, strcmp(bound, want) == 0 && strcmp(bound, mine) != 0);
    close(fd);
    /* ip netns del: a lazy umount, then the file goes */
    KT_CHILD_CHECK(16, umount2(DST, MNT_DETACH) == 0);
    KT_CHILD_CHECK(17, stat(DST, &st) == 0 && st.st_size == 0 && st.st_dev != ns.st_dev);
    KT_CHILD_CHECK(18, unlink(DST) == 0);
    return 0;
}

KT_CASE(a_network_namespace_bound_on_a_file) {
    files();
    KT_EQ(kt_in_child(netns_child), 0);
    km_put_file(DST, "");
}

/* A new mount namespace copies a file's mount; its umount there leaves
 * the first namespace's. */
static int copy_grandchild(void) {
    char buf[64];
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNS) == 0);
    KT_CHILD_CHECK(2, km_get(DST, buf, sizeof buf) == 6);
    KT_CHILD_CHECK(3, umount2(DST, 0) == 0);
    KT_CHILD_CHECK(4, km_get(DST, buf, sizeof buf) == 0);
    return 0;
}

static int copy_child(void) {
    char buf[64];
    KT_CHILD_CHECK(1, km_private_ns());
    KT_CHILD_CHECK(2, mount(SRC, DST, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(3, kt_in_child(copy_grandchild) == 0);
    KT_CHILD_CHECK(4, km_get(DST, buf, sizeof buf) == 6);
    return 0;
}

KT_CASE(a_file_mount_copied_into_a_new_namespace) {
    files();
    KT_EQ(kt_in_child(copy_child), 0);
    char buf[64];
    /* the suite's namespace never had it */
    KT_EQ(km_get(DST, buf, sizeof buf), 0);
}

/* bwrap's --ro-bind of a file: the one mount read-only */
static int ro_child(void) {
    KT_CHILD_CHECK(1, km_private_ns());
    KT_CHILD_CHECK(2, mount(SRC, DST, NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(3, mount(NULL, DST, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0);
    errno = 0;
    KT_CHILD_CHECK(4, open(DST, O_WRONLY) == -1 && errno == EROFS);
    int fd = open(SRC, O_WRONLY);
    KT_CHILD_CHECK(5, fd >= 0);
    close(fd);
    KT_CHILD_CHECK(6, umount2(DST, 0) == 0);
    fd = open(DST, O_WRONLY);
    KT_CHILD_CHECK(7, fd >= 0);
    close(fd);
    return 0;
}

KT_CASE(a_file_bound_read_only) {
    files();
    KT_EQ(kt_in_child(ro_child), 0);
}

/* bwrap on an initramfs root: `mount --rbind / R; chroot R`, then
 * bwrap's two pivots (pivot_root into a tmpfs with the old root below it,
 * then pivot_root(".", ".") from a bound newroot and a lazy umount of the
 * old root). The root's mount is the bind, which has a parent. */
#define R DIR "/r"
#define BASE DIR "/base"

static int pivot_child(void) {
    struct stat st;
    char buf[256];
    KT_CHILD_CHECK(1, km_private_ns());
    mkdir(R, 0755);
    mkdir(BASE, 0755);
    KT_CHILD_CHECK(2, mount("/", R, NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(3, chroot(R) == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(4, mount("tmpfs", BASE, "tmpfs", MS_NODEV | MS_NOSUID, NULL) == 0);
    KT_CHILD_CHECK(5, chdir(BASE) == 0);
    KT_CHILD_CHECK(6, mkdir("newroot", 0755) == 0 && mkdir("oldroot", 0755) == 0);
    KT_CHILD_CHECK(7, mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(8, syscall(SYS_pivot_root, BASE, "oldroot") == 0);
    KT_CHILD_CHECK(9, chdir("/") == 0);
    KT_CHILD_CHECK(10, stat("/newroot", &st) == 0 && S_ISDIR(st.st_mode));
    KT_CHILD_CHECK(11, stat("/oldroot" SRC, &st) == 0 && S_ISREG(st.st_mode));
    KT_CHILD_CHECK(12, getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    /* the tmpfs is "/" now, the old root below it (proc is there) */
    char root[256], type[64], source[64];
    mountinfo = "/oldroot/proc/self/mountinfo";
    KT_CHILD_CHECK(13, info_of("/", root, type, source) == 0 && strcmp(type, "tmpfs") == 0);
    KT_CHILD_CHECK(14, info_of("/oldroot", root, type, source) == 0);
    /* bwrap's --bind of a directory as the new root, a file bound in it */
    KT_CHILD_CHECK(15, mount("/oldroot" DIR, "/newroot", NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(16, km_put_file("/newroot/h", "") == 0);
    KT_CHILD_CHECK(17, mount("/oldroot" SRC, "/newroot/h", NULL, MS_BIND, NULL) == 0);
    KT_CHILD_CHECK(18, info_of("/newroot/h", root, type, source) == 0);
    KT_CHILD_CHECK(19, km_get("/newroot/h", buf, sizeof buf) == 6);
    /* the second pivot */
    KT_CHILD_CHECK(20, mount("oldroot", "oldroot", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    KT_CHILD_CHECK(21, umount2("oldroot", MNT_DETACH) == 0);
    errno = 0;
    KT_CHILD_CHECK(22, stat("/oldroot" SRC, &st) == -1 && errno == ENOENT);
    int fd = open("/", O_DIRECTORY | O_RDONLY);
    KT_CHILD_CHECK(23, fd >= 0);
    KT_CHILD_CHECK(24, chdir("/newroot") == 0);
    KT_CHILD_CHECK(25, syscall(SYS_pivot_root, ".", ".") == 0);
    KT_CHILD_CHECK(26, fchdir(fd) == 0);
    KT_CHILD_CHECK(27, umount2(".", MNT_DETACH) == 0);
    KT_CHILD_CHECK(28, chdir("/") == 0);
    /* the bound directory is the root, the file bound in it */
    KT_CHILD_CHECK(29, stat("/src", &st) == 0 && S_ISREG(st.st_mode));
    KT_CHILD_CHECK(30, km_get("/h", buf, sizeof buf) == 6 && strcmp(buf, "hello\n") == 0);
    errno = 0;
    KT_CHILD_CHECK(31, stat("/newroot", &st) == -1 && errno == ENOENT);
    errno = 0;
    KT_CHILD_CHECK(32, stat("/oldroot", &st) == -1 && errno == ENOENT);
    KT_CHILD_CHECK(33, getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    return 0;
}

KT_CASE(pivot_root_from_a_chroot_into_a_bind_mount) {
    files();
    KT_EQ(kt_in_child(pivot_child), 0);
    unlink(DIR "/h");
}

/* bwrap's second pivot when nothing is bound over newroot: new_root a
 * directory bound on itself, from a chroot into a bind mount of / */
static int self_bound_child(void) {
    struct stat st;
    char buf[256];
    KT_CHILD_CHECK(1, km_private_ns());
    mkdir(R, 0755);
    mkdir(BASE, 0755);
    KT_CHILD_CHECK(2, mount("/", R, NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(3, chroot(R) == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(4, mount("tmpfs", BASE, "tmpfs", 0, NULL) == 0);
    KT_CHILD_CHECK(5, mkdir(BASE "/newroot", 0755) == 0);
    KT_CHILD_CHECK(6, mount(BASE "/newroot", BASE "/newroot", NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(7, km_put_file(BASE "/newroot/x", "x") == 0);
    int fd = open("/", O_DIRECTORY | O_RDONLY);
    KT_CHILD_CHECK(8, fd >= 0);
    KT_CHILD_CHECK(9, chdir(BASE "/newroot") == 0);
    KT_CHILD_CHECK(10, syscall(SYS_pivot_root, ".", ".") == 0);
    KT_CHILD_CHECK(11, fchdir(fd) == 0);
    KT_CHILD_CHECK(12, umount2(".", MNT_DETACH) == 0);
    KT_CHILD_CHECK(13, chdir("/") == 0);
    KT_CHILD_CHECK(14, stat("/x", &st) == 0 && st.st_size == 1);
    errno = 0;
    KT_CHILD_CHECK(15, stat("/tmp", &st) == -1 && errno == ENOENT);
    KT_CHILD_CHECK(16, getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    return 0;
}

KT_CASE(pivot_root_into_a_directory_bound_on_itself) {
    files();
    KT_EQ(kt_in_child(self_bound_child), 0);
}

/* switch_root's way onto a bind of the root (the ns side-by-side script
 * starts so: bwrap pivots, which rootfs cannot): `mount --rbind / R; cd
 * R; mount --move R /; chroot .`. The root is then the bind, a mount with
 * a parent and no chroot (a user namespace may be made), R empty again */
static int switch_root_child(void) {
    struct stat st;
    char buf[256];
    KT_CHILD_CHECK(1, km_private_ns());
    mkdir(R, 0755);
    KT_CHILD_CHECK(2, mount("/", R, NULL, MS_BIND | MS_REC, NULL) == 0);
    /* the root directory through the bind: getcwd names the bind's place
     * (mount(8) passes realpath(".") as the source) */
    KT_CHILD_CHECK(3, chdir(R) == 0 && getcwd(buf, sizeof buf) && strcmp(buf, R) == 0);
    KT_CHILD_CHECK(4, mount(R, "/", NULL, MS_MOVE, NULL) == 0);
    KT_CHILD_CHECK(5, chroot(".") == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(6, stat(R, &st) == 0 && S_ISDIR(st.st_mode));
    KT_CHILD_CHECK(7, km_mounted(R) == 0);
    KT_CHILD_CHECK(8, km_mounted("/") == 1);
    KT_CHILD_CHECK(9, unshare(CLONE_NEWUSER) == 0);
    return 0;
}

/* bwrap's first pivot from that root: a tmpfs with newroot bound on
 * itself becomes the root, the moved bind goes on oldroot */
static int switch_root_pivot_child(void) {
    struct stat st;
    char buf[256];
    KT_CHILD_CHECK(1, km_private_ns());
    mkdir(R, 0755);
    mkdir(BASE, 0755);
    KT_CHILD_CHECK(2, mount("/", R, NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(3, chdir(R) == 0 && mount(R, "/", NULL, MS_MOVE, NULL) == 0);
    KT_CHILD_CHECK(4, chroot(".") == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(5, mount("tmpfs", BASE, "tmpfs", 0, NULL) == 0 && chdir(BASE) == 0);
    KT_CHILD_CHECK(6, mkdir("newroot", 0755) == 0 && mkdir("oldroot", 0755) == 0);
    KT_CHILD_CHECK(7, mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL) == 0);
    KT_CHILD_CHECK(8, syscall(SYS_pivot_root, BASE, "oldroot") == 0);
    KT_CHILD_CHECK(9, chdir("/") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    KT_CHILD_CHECK(10, stat("/newroot", &st) == 0 && S_ISDIR(st.st_mode));
    KT_CHILD_CHECK(11, stat("/oldroot" SRC, &st) == 0 && S_ISREG(st.st_mode));
    return 0;
}

KT_CASE(pivot_root_after_switch_root) {
    files();
    KT_EQ(kt_in_child(switch_root_pivot_child), 0);
}

KT_CASE(switch_root_onto_the_root_from_a_bind_of_it) {
    files();
    KT_EQ(kt_in_child(switch_root_child), 0);
}

KT_MAIN()
