/* What Debian's systemd (252) needs of the kernel when it runs as PID 1,
 * each case a step of its start where ours differed from Linux:
 * mount_setup() mounts cgroup2 on /sys/fs/cgroup of a fresh sysfs with
 * "nsdelegate,memory_recursiveprot" and checks it by statfs(2);
 * systemd-udevd-kernel.socket and the manager's device monitor open
 * NETLINK_KOBJECT_UEVENT sockets. Run as root (the suite's user). */
#include "kt.h"

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define SYS_DIR "/tmp/sysd_sys"
#define CGROUP2_SUPER_MAGIC_ 0x63677270

/* /sys/fs/cgroup is a directory of sysfs, and a mount on it stays: walks
 * that look it up again see the cgroup2 root (ours made a fresh inode per
 * lookup of a sysfs directory, so the mount was lost at once) */
KT_CASE(cgroup2_on_sysfs_fs_cgroup) {
    mkdir(SYS_DIR, 0755);
    KT_SYS_OK(mount("sysfs", SYS_DIR, "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL));
    struct stat st;
    KT_SYS_OK(stat(SYS_DIR "/fs/cgroup", &st));
    KT_TRUE(S_ISDIR(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_OK(stat(SYS_DIR "/fs", &st));
    KT_TRUE(S_ISDIR(st.st_mode), "mode %o", st.st_mode);
    KT_SYS_OK(mount("cgroup2", SYS_DIR "/fs/cgroup", "cgroup2", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                    "nsdelegate,memory_recursiveprot"));
    struct statfs sf;
    KT_SYS_OK(statfs(SYS_DIR "/fs/cgroup/", &sf));
    KT_EQ((long)sf.f_type, (long)CGROUP2_SUPER_MAGIC_);
    KT_SYS_OK(access(SYS_DIR "/fs/cgroup/cgroup.procs", F_OK));
    /* the mount point stays busy for the sysfs under it */
    KT_SYS_ERR(umount(SYS_DIR), EBUSY);
    KT_SYS_OK(umount(SYS_DIR "/fs/cgroup"));
    KT_SYS_ERR(access(SYS_DIR "/fs/cgroup/cgroup.procs", F_OK), ENOENT);
    KT_SYS_OK(umount(SYS_DIR));
    KT_SYS_OK(rmdir(SYS_DIR));
}

/* musl has no linux/netlink.h */
struct nl_addr {
    uint16_t family, pad;
    uint32_t pid, groups;
};
#define NETLINK_KOBJECT_UEVENT_ 15

/* socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT) and a bind to the
 * kernel's event group, as sd-device's monitor does (ours said
 * EPROTONOSUPPORT); with no device coming or going nothing arrives, and
 * a message sent to the kernel is taken and dropped */
KT_CASE(kobject_uevent_socket_binds) {
    int fd = KT_SYS_OK(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT_));
    struct nl_addr a = {.family = AF_NETLINK, .groups = 1};
    KT_SYS_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
    char buf[256];
    KT_SYS_ERR(recv(fd, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    struct nl_addr kernel = {.family = AF_NETLINK};
    char msg[16] = {16, 0, 0, 0};
    KT_SYS_RET(sendto(fd, msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel), 16);
    KT_SYS_ERR(recv(fd, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(fd);
    /* protocol 14 stays unsupported on both (Linux: no such family built) */
    KT_SYS_ERR(socket(AF_NETLINK, SOCK_RAW, 14), EPROTONOSUPPORT);
}

KT_MAIN()
