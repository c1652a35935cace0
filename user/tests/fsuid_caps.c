/* setfsuid(2)/setfsgid(2) and the capabilities (Linux's
 * cap_task_fix_setuid with LSM_SETID_FS): a root fs uid changed to
 * another one drops the file-system capabilities (CAP_FS_SET: CHOWN,
 * DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MKNOD,
 * MAC_OVERRIDE) from the effective set and nothing else; changing it back
 * to 0 raises them again from the permitted set; SECBIT_NO_SETUID_FIXUP
 * keeps the set as it is. setfsgid never touches capabilities. Both
 * return the previous id, also when they refuse (without CAP_SETUID or
 * CAP_SETGID, an id that is none of real, effective, saved, fs) or are
 * given -1 (a query). Each case runs in a child (its credentials change). */
#include "kt.h"
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

struct cap_hdr {
    uint32_t version;
    int pid;
};
#define CAP_V3 0x20080522
/* CAP_FS_SET of Linux 6.1: bits 0-4, 9, 27 and 32 */
#define FS_SET 0x10800021fULL
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define F "/tmp/fsuid_caps_file"

/* The effective (0) or permitted (1) set of the caller. */
static uint64_t caps(int which) {
    struct cap_hdr h = {CAP_V3, 0};
    uint32_t d[6] = {0};
    if (syscall(SYS_capget, &h, d) != 0) return ~0ULL;
    return (uint64_t)d[which] | (uint64_t)d[3 + which] << 32;
}

static long fsuid(long id) { return syscall(SYS_setfsuid, id); }
static long fsgid(long id) { return syscall(SYS_setfsgid, id); }

static int root_fsuid_drops_and_raises(void) {
    uint64_t e = caps(0), p = caps(1);
    KT_CHILD_CHECK(1, e != ~0ULL && (e & FS_SET) == FS_SET);
    KT_CHILD_CHECK(2, fsuid(1000) == 0);
    KT_CHILD_CHECK(3, fsuid(-1) == 1000);
    KT_CHILD_CHECK(4, caps(0) == (e & ~FS_SET));
    KT_CHILD_CHECK(5, caps(1) == p);
    /* without CAP_DAC_OVERRIDE the fs uid 1000 cannot read root's 0600 file */
    KT_CHILD_CHECK(6, open(F, O_RDONLY) == -1 && errno == EACCES);
    /* the real uid is still 0: kill, setuid and the like keep working */
    KT_CHILD_CHECK(7, getuid() == 0 && geteuid() == 0);
    /* another non-zero fs uid: nothing more is dropped */
    KT_CHILD_CHECK(8, fsuid(2000) == 1000);
    KT_CHILD_CHECK(9, caps(0) == (e & ~FS_SET));
    /* back to 0: raised from the permitted set */
    KT_CHILD_CHECK(10, fsuid(0) == 2000);
    KT_CHILD_CHECK(11, caps(0) == e);
    int fd = open(F, O_RDONLY);
    KT_CHILD_CHECK(12, fd >= 0);
    close(fd);
    return 0;
}

static int no_setuid_fixup_keeps_the_set(void) {
    uint64_t e = caps(0);
    KT_CHILD_CHECK(1, prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) == 0);
    KT_CHILD_CHECK(2, fsuid(1000) == 0);
    KT_CHILD_CHECK(3, caps(0) == e);
    KT_CHILD_CHECK(4, fsuid(-1) == 1000);
    KT_CHILD_CHECK(5, fsuid(0) == 1000);
    KT_CHILD_CHECK(6, caps(0) == e);
    return 0;
}

static int setfsgid_leaves_capabilities(void) {
    uint64_t e = caps(0);
    KT_CHILD_CHECK(1, fsgid(1000) == 0);
    KT_CHILD_CHECK(2, fsgid(-1) == 1000);
    KT_CHILD_CHECK(3, caps(0) == e);
    KT_CHILD_CHECK(4, getgid() == 0 && getegid() == 0);
    KT_CHILD_CHECK(5, fsgid(0) == 1000);
    KT_CHILD_CHECK(6, caps(0) == e);
    return 0;
}

static int unprivileged_ids_are_limited(void) {
    KT_CHILD_CHECK(1, setresgid(100, 200, 300) == 0);
    KT_CHILD_CHECK(2, setresuid(1000, 2000, 3000) == 0);
    KT_CHILD_CHECK(3, caps(0) == 0);
    /* the fs ids followed the effective ones */
    KT_CHILD_CHECK(4, fsuid(-1) == 2000);
    KT_CHILD_CHECK(5, fsgid(-1) == 200);
    /* another id: refused, the previous one returned */
    KT_CHILD_CHECK(6, fsuid(0) == 2000);
    KT_CHILD_CHECK(7, fsuid(-1) == 2000);
    KT_CHILD_CHECK(8, fsgid(0) == 200);
    KT_CHILD_CHECK(9, fsgid(-1) == 200);
    /* real and saved ones are allowed; nothing is raised */
    KT_CHILD_CHECK(10, fsuid(1000) == 2000);
    KT_CHILD_CHECK(11, fsuid(3000) == 1000);
    KT_CHILD_CHECK(12, fsuid(-1) == 3000);
    KT_CHILD_CHECK(13, fsgid(300) == 200);
    KT_CHILD_CHECK(14, fsgid(-1) == 300);
    KT_CHILD_CHECK(15, caps(0) == 0);
    return 0;
}

static int make_file(void) {
    int fd = open(F, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) return -1;
    close(fd);
    return chmod(F, 0600);
}

KT_CASE(root_fsuid_change_drops_and_raises_the_fs_capabilities) {
    KT_SYS_RET(make_file(), 0);
    KT_EQ(kt_in_child(root_fsuid_drops_and_raises), 0);
    unlink(F);
}

KT_CASE(secbit_no_setuid_fixup_keeps_the_capabilities) {
    KT_EQ(kt_in_child(no_setuid_fixup_keeps_the_set), 0);
}

KT_CASE(setfsgid_changes_no_capability) {
    KT_EQ(kt_in_child(setfsgid_leaves_capabilities), 0);
}

KT_CASE(without_the_capabilities_only_own_ids_are_taken) {
    KT_EQ(kt_in_child(unprivileged_ids_are_limited), 0);
}

KT_MAIN()
