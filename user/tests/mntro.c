/* Read-only binds of files and directories onto themselves, as systemd's
 * unit sandboxes make them (src/core/namespace.c, systemd 252):
 * ProtectHostname= binds /proc/sys/kernel/hostname and domainname onto
 * themselves, ProtectKernelTunables= /proc/sys and /sys (MS_BIND|MS_REC),
 * each then remounted MS_BIND|MS_REMOUNT|MS_RDONLY with the flags
 * mountinfo showed (every submount below a directory too). systemd does
 * it in a new mount namespace made a slave of the old one, through
 * O_PATH fds (mount(2) on /proc/self/fd/N), below a bind of / at
 * /run/systemd/unit-root that is moved onto / at the end. A write through
 * such a mount is EROFS, a read works, the namespace outside keeps its
 * rw mount. Run as root (the suite's user); every case runs in a child. */
#include "kt_mount.h"

#include <sys/syscall.h>

#ifndef MS_RELATIME
#define MS_RELATIME (1 << 21)
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x2000
#endif

#define DOMAIN "/proc/sys/kernel/domainname"
#define HOST "/proc/sys/kernel/hostname"
#define DIR "/tmp/kt_mntro"
#define UNIT_ROOT DIR "/unit-root"

/* systemd's first steps: a mount namespace receiving from the old one */
static int sandbox_ns(void) {
    return unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0;
}

/* mount_nofollow(): the target opened O_PATH|O_NOFOLLOW, mount(2) on its
 * /proc/self/fd name; 0 or -1 with errno */
static int mount_nofollow(const char *what, const char *where, unsigned long flags) {
    int fd = open(where, O_PATH | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int r = mount(what, p, NULL, flags, NULL);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* The MS_* flags of mountinfo's mount options ("rw,nosuid,...") as
 * libmount's mnt_optstr_get_flags() gives them */
static unsigned long options_flags(const char *o) {
    unsigned long f = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", o);
    for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
        if (!strcmp(s, "ro")) f |= MS_RDONLY;
        if (!strcmp(s, "nosuid")) f |= MS_NOSUID;
        if (!strcmp(s, "nodev")) f |= MS_NODEV;
        if (!strcmp(s, "noexec")) f |= MS_NOEXEC;
        if (!strcmp(s, "relatime")) f |= MS_RELATIME;
        if (!strcmp(s, "noatime")) f |= MS_NOATIME;
        if (!strcmp(s, "strictatime")) f |= MS_STRICTATIME;
    }
    return f;
}

/* bind_remount_one_with_mountinfo(): the flags of `path`'s line kept,
 * MS_RDONLY added */
static int remount_ro(const char *path) {
    char mnt[256], sb[256];
    if (km_options(path, mnt, sb, sizeof mnt) != 0) {
        errno = ENOENT;
        return -1;
    }
    return mount_nofollow(NULL, path, MS_BIND | MS_REMOUNT | MS_RDONLY | options_flags(mnt));
}

/* The mount options of the last mountinfo line of `path` into `mnt` (the
 * top of a stack; km_options gives the first): 0 when found. */
static int last_options(const char *path, char *mnt, int size) {
    static char buf[32768];
    int found = -1;
    if (km_get("/proc/self/mountinfo", buf, sizeof buf) <= 0) return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char mp[256], o[256];
        if (sscanf(line, "%*d %*d %*d:%*d %*s %255s %255s", mp, o) != 2 || strcmp(mp, path) != 0) continue;
        snprintf(mnt, size, "%s", o);
        found = 0;
    }
    return found;
}

/* The number of mountinfo lines of mount point `path`. */
static int lines_of(const char *path) {
    static char buf[32768];
    int n = 0;
    if (km_get("/proc/self/mountinfo", buf, sizeof buf) <= 0) return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char mp[256];
        if (sscanf(line, "%*d %*d %*d:%*d %*s %255s", mp) == 1 && strcmp(mp, path) == 0) n++;
    }
    return n;
}

/* open(path, O_WRONLY)'s errno (0 when it opened). */
static int write_open_errno(const char *path) {
    errno = 0;
    int fd = open(path, O_WRONLY);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno;
}

/* statx's STATX_ATTR_MOUNT_ROOT of `path` (systemd's path_is_mount_point):
 * 1, 0, or -1 when the mask does not say */
static int mount_root(const char *path) {
    /* struct statx: stx_attributes at 8, stx_attributes_mask at 56 */
    unsigned char sx[256];
    unsigned long long attrs, mask;
    if (syscall(SYS_statx, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 1 /* STATX_TYPE */, sx) != 0)
        return -1;
    memcpy(&attrs, sx + 8, 8);
    memcpy(&mask, sx + 56, 8);
    if (!(mask & STATX_ATTR_MOUNT_ROOT)) return -1;
    return !!(attrs & STATX_ATTR_MOUNT_ROOT);
}

/* ProtectHostname=: each file bound onto itself through an O_PATH fd,
 * then remounted read-only with proc's flags */
static int hostname_child(void) {
    char before[128], got[128], mnt[256], root[256], type[64], source[64], want[256];
    KT_CHILD_CHECK(1, km_get(DOMAIN, before, sizeof before) > 0);
    KT_CHILD_CHECK(2, sandbox_ns());
    KT_CHILD_CHECK(3, mount_root(DOMAIN) == 0);
    KT_CHILD_CHECK(4, lines_of(DOMAIN) == 0);
    KT_CHILD_CHECK(5, mount_nofollow(DOMAIN, DOMAIN, MS_BIND) == 0);
    KT_CHILD_CHECK(6, mount_nofollow(HOST, HOST, MS_BIND) == 0);
    /* a mount of its own: mountinfo's line, the mount root */
    KT_CHILD_CHECK(7, lines_of(DOMAIN) == 1 && lines_of(HOST) == 1);
    KT_CHILD_CHECK(8, mount_root(DOMAIN) == 1);
    KT_CHILD_CHECK(9, km_info(DOMAIN, root, type, source) == 0);
    KT_CHILD_CHECK(10, strcmp(root, "/sys/kernel/domainname") == 0);
    KT_CHILD_CHECK(11, strcmp(type, "proc") == 0 && strcmp(source, "proc") == 0);
    KT_CHILD_CHECK(12, last_options(DOMAIN, mnt, sizeof mnt) == 0 && strncmp(mnt, "rw,", 3) == 0);
    /* proc's own options, read-only */
    snprintf(want, sizeof want, "ro,%s", mnt + 3);
    /* still writable until the remount */
    KT_CHILD_CHECK(13, write_open_errno(DOMAIN) == 0);
    KT_CHILD_CHECK(14, remount_ro(DOMAIN) == 0);
    KT_CHILD_CHECK(15, remount_ro(HOST) == 0);
    KT_CHILD_CHECK(16, last_options(DOMAIN, mnt, sizeof mnt) == 0);
    KT_CHILD_CHECK(17, strcmp(mnt, want) == 0);
    KT_CHILD_CHECK(18, write_open_errno(DOMAIN) == EROFS);
    KT_CHILD_CHECK(19, write_open_errno(HOST) == EROFS);
    KT_CHILD_CHECK(20, km_get(DOMAIN, got, sizeof got) > 0 && strcmp(got, before) == 0);
    KT_CHILD_CHECK(21, km_get(HOST, got, sizeof got) > 0);
    /* the files next to them keep proc's rw mount */
    KT_CHILD_CHECK(22, write_open_errno("/proc/sys/vm/overcommit_memory") == 0);
    /* O_RDWR is a write too; truncation as well */
    errno = 0;
    KT_CHILD_CHECK(23, open(DOMAIN, O_RDWR) == -1 && errno == EROFS);
    /* umount2 takes the read-only mount, proc's is there again */
    KT_CHILD_CHECK(24, umount2(DOMAIN, 0) == 0);
    KT_CHILD_CHECK(25, lines_of(DOMAIN) == 0 && mount_root(DOMAIN) == 0);
    KT_CHILD_CHECK(26, write_open_errno(DOMAIN) == 0);
    return 0;
}

KT_CASE(protect_hostname_binds_the_files_read_only) {
    KT_EQ(kt_in_child(hostname_child), 0);
    /* the suite's namespace never had them */
    KT_EQ(lines_of(DOMAIN), 0);
    KT_EQ(write_open_errno(DOMAIN), 0);
    KT_EQ(write_open_errno(HOST), 0);
}

/* bind_remount_recursive_with_mountinfo(): the directory and every mount
 * below it remounted read-only with their own flags */
static int remount_tree_ro(const char *prefix) {
    static char buf[32768];
    char paths[64][256];
    int n = 0;
    size_t len = strlen(prefix);
    if (km_get("/proc/self/mountinfo", buf, sizeof buf) <= 0) return -1;
    for (char *line = strtok(buf, "\n"); line && n < 64; line = strtok(NULL, "\n")) {
        char mp[256];
        if (sscanf(line, "%*d %*d %*d:%*d %*s %255s", mp) != 1) continue;
        if (strncmp(mp, prefix, len) != 0 || (mp[len] != 0 && mp[len] != '/')) continue;
        snprintf(paths[n++], sizeof paths[0], "%s", mp);
    }
    if (n == 0) return -1;
    for (int i = 0; i < n; i++)
        if (remount_ro(paths[i]) != 0) return -1;
    return n;
}

/* ProtectKernelTunables=: /proc/sys and /sys */
static int tunables_child(void) {
    char mnt[256], got[128], want[256];
    KT_CHILD_CHECK(1, sandbox_ns());
    KT_CHILD_CHECK(2, mount_nofollow("/proc/sys", "/proc/sys", MS_BIND | MS_REC) == 0);
    KT_CHILD_CHECK(3, last_options("/proc/sys", mnt, sizeof mnt) == 0 && strncmp(mnt, "rw,", 3) == 0);
    snprintf(want, sizeof want, "ro,%s", mnt + 3);
    KT_CHILD_CHECK(30, lines_of("/proc/sys") == 1 && mount_root("/proc/sys") == 1);
    KT_CHILD_CHECK(31, mount_root("/proc/sys/kernel") == 0);
    KT_CHILD_CHECK(4, remount_tree_ro("/proc/sys") >= 1);
    KT_CHILD_CHECK(5, last_options("/proc/sys", mnt, sizeof mnt) == 0);
    KT_CHILD_CHECK(6, strcmp(mnt, want) == 0);
    KT_CHILD_CHECK(7, write_open_errno(DOMAIN) == EROFS);
    KT_CHILD_CHECK(8, write_open_errno("/proc/sys/vm/overcommit_memory") == EROFS);
    KT_CHILD_CHECK(9, km_get("/proc/sys/kernel/ostype", got, sizeof got) > 0 && strcmp(got, "Linux\n") == 0);
    /* the rest of proc is proc's rw mount */
    KT_CHILD_CHECK(10, write_open_errno("/proc/self/comm") == 0);
    /* a name /proc/sys does not have is ENOENT before the mount's EROFS
     * (proc_sys_lookup) */
    errno = 0;
    KT_CHILD_CHECK(11, open("/proc/sys/kernel/kt_new", O_WRONLY | O_CREAT, 0644) == -1 && errno == ENOENT);
    /* sysfs with its submounts (a sysfs of this namespace where the
     * suite's root has none at /sys) */
    const char *sys = "/sys";
    if (!km_exists("/sys/kernel")) {
        sys = DIR "/sys";
        mkdir(DIR, 0755);
        mkdir(sys, 0755);
        KT_CHILD_CHECK(12, mount("sysfs", sys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0);
    }
    char thp[256], cg[256];
    snprintf(thp, sizeof thp, "%s/kernel/mm/transparent_hugepage/enabled", sys);
    snprintf(cg, sizeof cg, "%s/fs/cgroup", sys);
    KT_CHILD_CHECK(13, write_open_errno(thp) == 0);
    KT_CHILD_CHECK(14, mount_nofollow(sys, sys, MS_BIND | MS_REC) == 0);
    KT_CHILD_CHECK(15, remount_tree_ro(sys) >= 1);
    KT_CHILD_CHECK(16, last_options(sys, mnt, sizeof mnt) == 0 && strncmp(mnt, "ro,", 3) == 0);
    KT_CHILD_CHECK(17, write_open_errno(thp) == EROFS);
    KT_CHILD_CHECK(18, km_get(thp, got, sizeof got) > 0);
    /* a cgroup2 below it is read-only too */
    if (lines_of(cg) > 0) {
        KT_CHILD_CHECK(19, last_options(cg, mnt, sizeof mnt) == 0 && strncmp(mnt, "ro,", 3) == 0);
        strcat(cg, "/kt_mntro");
        errno = 0;
        KT_CHILD_CHECK(20, mkdir(cg, 0755) == -1 && errno == EROFS);
    }
    return 0;
}

KT_CASE(protect_kernel_tunables_binds_proc_sys_and_sys_read_only) {
    KT_EQ(kt_in_child(tunables_child), 0);
    KT_EQ(lines_of("/proc/sys"), 0);
    KT_EQ(write_open_errno(DOMAIN), 0);
    rmdir(DIR "/sys");
    rmdir(DIR);
}

/* The whole of systemd's order: / bound recursively at the unit root,
 * the entries below it, the unit root moved onto / and chrooted into
 * (mount_move_root()) */
static int unit_root_child(void) {
    char got[128], mnt[256];
    KT_CHILD_CHECK(1, sandbox_ns());
    mkdir(DIR, 0755);
    mkdir(UNIT_ROOT, 0755);
    KT_CHILD_CHECK(2, mount_nofollow("/", UNIT_ROOT, MS_BIND | MS_REC) == 0);
    KT_CHILD_CHECK(3, mount_nofollow(UNIT_ROOT DOMAIN, UNIT_ROOT DOMAIN, MS_BIND) == 0);
    KT_CHILD_CHECK(4, lines_of(UNIT_ROOT DOMAIN) == 1);
    KT_CHILD_CHECK(5, remount_ro(UNIT_ROOT DOMAIN) == 0);
    KT_CHILD_CHECK(6, write_open_errno(UNIT_ROOT DOMAIN) == EROFS);
    KT_CHILD_CHECK(7, mount_nofollow(UNIT_ROOT "/proc/sys", UNIT_ROOT "/proc/sys", MS_BIND | MS_REC) == 0);
    KT_CHILD_CHECK(8, remount_tree_ro(UNIT_ROOT "/proc/sys") >= 1);
    KT_CHILD_CHECK(9, write_open_errno(UNIT_ROOT "/proc/sys/vm/overcommit_memory") == EROFS);
    /* mount_move_root() */
    KT_CHILD_CHECK(10, chdir(UNIT_ROOT) == 0);
    KT_CHILD_CHECK(11, mount(UNIT_ROOT, "/", NULL, MS_MOVE, NULL) == 0);
    KT_CHILD_CHECK(12, chroot(".") == 0 && chdir("/") == 0);
    KT_CHILD_CHECK(13, write_open_errno(DOMAIN) == EROFS);
    KT_CHILD_CHECK(14, write_open_errno("/proc/sys/vm/overcommit_memory") == EROFS);
    KT_CHILD_CHECK(15, km_get(DOMAIN, got, sizeof got) > 0);
    KT_CHILD_CHECK(16, write_open_errno("/proc/self/comm") == 0);
    KT_CHILD_CHECK(17, last_options(DOMAIN, mnt, sizeof mnt) == 0 && strncmp(mnt, "ro,", 3) == 0);
    KT_CHILD_CHECK(18, last_options("/proc/sys", mnt, sizeof mnt) == 0 && strncmp(mnt, "ro,", 3) == 0);
    /* the rest of the tree as it was */
    KT_CHILD_CHECK(19, km_exists("/tmp") && km_exists("/proc/self/mountinfo"));
    return 0;
}

KT_CASE(systemds_unit_root_moved_onto_the_root) {
    KT_EQ(kt_in_child(unit_root_child), 0);
    KT_EQ(write_open_errno(DOMAIN), 0);
    rmdir(UNIT_ROOT);
    rmdir(DIR);
}

KT_MAIN()
