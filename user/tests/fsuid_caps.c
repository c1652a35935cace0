/* setfsuid(2)/setfsgid(2) and the capabilities (Linux's
 * cap_task_fix_setuid with LSM_SETID_FS): a root fs uid changed to
 * another one drops the file-system capabilities (CAP_FS_SET: CHOWN,
 * DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MKNOD,
 * MAC_OVERRIDE) from the effective set and nothing else; changing it back
 * to 0 raises them again from the permitted set; SECBIT_NO_SETUID_FIXUP
 * keeps the set as it is. setfsgid never touches capabilities. Both
 * return the previous id, also when they refuse (without CAP_SETUID or
 * CAP_SETGID, an id that is none of real, effective, saved, fs) or are
 * given -1 (a query). The file permission overrides follow the effective
 * set, not the fs uid: a root that dropped CAP_DAC_OVERRIDE with capset
 * cannot open another user's 0600 file, CAP_DAC_READ_SEARCH alone reads
 * but does not write it, without CAP_FOWNER chmod of another's file is
 * EPERM and without CAP_CHOWN chown is. Each case runs in a child (its
 * credentials change). */
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

/* Sets the effective set to `e`, keeping the permitted and inheritable. */
static int set_effective(uint64_t e) {
    struct cap_hdr h = {CAP_V3, 0};
    uint32_t d[6] = {0};
    if (syscall(SYS_capget, &h, d) != 0) return -1;
    d[0] = (uint32_t)e;
    d[3] = (uint32_t)(e >> 32);
    return (int)syscall(SYS_capset, &h, d);
}

#define CAP_CHOWN_BIT (1ULL << 0)
#define CAP_DAC_OVERRIDE_BIT (1ULL << 1)
#define CAP_DAC_READ_SEARCH_BIT (1ULL << 2)
#define CAP_FOWNER_BIT (1ULL << 3)

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
    /* CAP_DAC_OVERRIDE still in effect for fs uid 1000 */
    int fd = open(F, O_RDWR);
    KT_CHILD_CHECK(5, fd >= 0);
    close(fd);
    KT_CHILD_CHECK(6, fsuid(0) == 1000);
    KT_CHILD_CHECK(7, caps(0) == e);
    return 0;
}

/* F is 0600 and owned by 1000; the caller is root (fs uid 0). */
static int without_dac_override_and_read_search(void) {
    uint64_t e = caps(0);
    KT_CHILD_CHECK(1, set_effective(e & ~(CAP_DAC_OVERRIDE_BIT | CAP_DAC_READ_SEARCH_BIT)) == 0);
    KT_CHILD_CHECK(2, fsuid(-1) == 0 && geteuid() == 0);
    KT_CHILD_CHECK(3, open(F, O_RDONLY) == -1 && errno == EACCES);
    KT_CHILD_CHECK(4, open(F, O_WRONLY) == -1 && errno == EACCES);
    /* (access(2) checks with the real ids and, for real uid 0, the
     * permitted set: Linux's access_override_creds; ours does not yet) */
    KT_CHILD_CHECK(5, open(F, O_RDONLY | O_NOFOLLOW) == -1 && errno == EACCES);
    /* raised again from the permitted set */
    KT_CHILD_CHECK(6, set_effective(e) == 0);
    int fd = open(F, O_RDWR);
    KT_CHILD_CHECK(7, fd >= 0);
    close(fd);
    return 0;
}

static int read_search_reads_but_does_not_write(void) {
    uint64_t e = caps(0);
    KT_CHILD_CHECK(1, set_effective(e & ~CAP_DAC_OVERRIDE_BIT) == 0);
    int fd = open(F, O_RDONLY);
    KT_CHILD_CHECK(2, fd >= 0);
    close(fd);
    KT_CHILD_CHECK(3, open(F, O_WRONLY) == -1 && errno == EACCES);
    KT_CHILD_CHECK(4, open(F, O_RDWR) == -1 && errno == EACCES);
    return 0;
}

static int without_fowner_chmod_is_eperm(void) {
    uint64_t e = caps(0);
    KT_CHILD_CHECK(1, set_effective(e & ~CAP_FOWNER_BIT) == 0);
    KT_CHILD_CHECK(2, chmod(F, 0644) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, set_effective(e) == 0);
    KT_CHILD_CHECK(4, chmod(F, 0640) == 0);
    struct stat st;
    KT_CHILD_CHECK(5, stat(F, &st) == 0 && (st.st_mode & 07777) == 0640);
    return 0;
}

static int without_chown_chown_is_eperm(void) {
    uint64_t e = caps(0);
    KT_CHILD_CHECK(1, set_effective(e & ~CAP_CHOWN_BIT) == 0);
    KT_CHILD_CHECK(2, chown(F, 2000, -1) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, chown(F, -1, 2000) == -1 && errno == EPERM);
    KT_CHILD_CHECK(4, set_effective(e) == 0);
    KT_CHILD_CHECK(5, chown(F, 2000, 2000) == 0);
    struct stat st;
    KT_CHILD_CHECK(6, stat(F, &st) == 0 && st.st_uid == 2000 && st.st_gid == 2000);
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
    KT_SYS_RET(make_file(), 0);
    KT_EQ(kt_in_child(no_setuid_fixup_keeps_the_set), 0);
    unlink(F);
}

/* A 0600 file of user 1000 for a root child that drops capabilities. */
static int make_other_file(void) {
    if (make_file() != 0) return -1;
    return chown(F, 1000, 1000);
}

KT_CASE(root_without_dac_override_gets_eacces) {
    KT_SYS_RET(make_other_file(), 0);
    KT_EQ(kt_in_child(without_dac_override_and_read_search), 0);
    unlink(F);
}

KT_CASE(dac_read_search_alone_reads_but_does_not_write) {
    KT_SYS_RET(make_other_file(), 0);
    KT_EQ(kt_in_child(read_search_reads_but_does_not_write), 0);
    unlink(F);
}

KT_CASE(root_without_fowner_cannot_chmod_anothers_file) {
    KT_SYS_RET(make_other_file(), 0);
    KT_EQ(kt_in_child(without_fowner_chmod_is_eperm), 0);
    unlink(F);
}

KT_CASE(root_without_chown_cannot_chown) {
    KT_SYS_RET(make_other_file(), 0);
    KT_EQ(kt_in_child(without_chown_chown_is_eperm), 0);
    unlink(F);
}

KT_CASE(setfsgid_changes_no_capability) {
    KT_EQ(kt_in_child(setfsgid_leaves_capabilities), 0);
}

KT_CASE(without_the_capabilities_only_own_ids_are_taken) {
    KT_EQ(kt_in_child(unprivileged_ids_are_limited), 0);
}

KT_MAIN()
