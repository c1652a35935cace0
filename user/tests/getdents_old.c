/*
 * getdents(2), the call before getdents64 (x86_64 syscall 78), as
 * LeakSanitizer's thread lister uses it on /proc/PID/task (gcc
 * -fsanitize=address: "Can't read directory entries from /proc/N/task"
 * when it is missing): `struct linux_dirent` records, d_type in each
 * record's last byte, the same d_ino/d_off/d_reclen as getdents64.
 */
#include "kt.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define D "/tmp/getdents_old.dir"

/* the two record layouts, read field by field from the byte buffers */
static uint64_t u64at(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static unsigned reclen_at(const char *p) {
    uint16_t v;
    memcpy(&v, p + 16, 2);
    return v;
}

KT_CASE(getdents_matches_getdents64_record_by_record) {
    mkdir(D, 0755);
    close(KT_SYS_OK(open(D "/a", O_CREAT | O_WRONLY, 0644)));
    close(KT_SYS_OK(open(D "/a-longer-name", O_CREAT | O_WRONLY, 0644)));
    mkdir(D "/sub", 0755);
    symlink("a", D "/lnk");
    int fd = KT_SYS_OK(open(D, O_RDONLY | O_DIRECTORY));
    char old[4096], new[4096];
    long n = KT_SYS_OK(syscall(SYS_getdents, fd, old, sizeof old));
    KT_SYS_RET(lseek(fd, 0, SEEK_SET), 0);
    KT_SYS_RET(syscall(SYS_getdents64, fd, new, sizeof new), n);
    int seen = 0;
    for (long at = 0; at < n;) {
        const char *o = old + at, *w = new + at;
        unsigned len = reclen_at(o);
        KT_EQ(len, reclen_at(w));
        KT_EQ(u64at(o), u64at(w));         /* d_ino */
        KT_EQ(u64at(o + 8), u64at(w + 8)); /* d_off */
        KT_TRUE(!strcmp(o + 18, w + 19), "name %s, want %s", o + 18, w + 19);
        KT_EQ(o[len - 1], w[18]); /* d_type */
        if (!strcmp(o + 18, "sub") && o[len - 1] == DT_DIR)
            seen |= 1;
        if (!strcmp(o + 18, "lnk") && o[len - 1] == DT_LNK)
            seen |= 2;
        if (!strcmp(o + 18, "a-longer-name") && o[len - 1] == DT_REG)
            seen |= 4;
        at += len;
    }
    KT_EQ(seen, 7);
    /* the end: 0 */
    KT_SYS_RET(syscall(SYS_getdents, fd, old, sizeof old), 0);
    close(fd);
    unlink(D "/a");
    unlink(D "/a-longer-name");
    unlink(D "/lnk");
    rmdir(D "/sub");
    rmdir(D);
}

KT_CASE(getdents_errors) {
    char buf[64];
    KT_SYS_ERR(syscall(SYS_getdents, -1, buf, sizeof buf), EBADF);
    int fd = KT_SYS_OK(open("/proc/self", O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(syscall(SYS_getdents, fd, buf, 8), EINVAL);
    KT_SYS_ERR(syscall(SYS_getdents, fd, (void *)8, 4096), EFAULT);
    close(fd);
    fd = KT_SYS_OK(open("/proc/self/status", O_RDONLY));
    KT_SYS_ERR(syscall(SYS_getdents, fd, buf, sizeof buf), ENOTDIR);
    close(fd);
}

/* LeakSanitizer's case: a child lists its parent's threads */
KT_CASE(getdents_of_the_parents_task_directory_from_a_child) {
    pid_t parent = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/task", (int)parent);
        int fd = open(path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            _exit(2);
        long n = syscall(SYS_getdents, fd, buf, sizeof buf);
        if (n <= 0)
            _exit(3);
        char want[16];
        snprintf(want, sizeof want, "%d", (int)parent);
        for (long at = 0; at < n; at += reclen_at(buf + at))
            if (!strcmp(buf + at + 18, want))
                _exit(buf[at + reclen_at(buf + at) - 1] == DT_DIR ? 0 : 4);
        _exit(5);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
