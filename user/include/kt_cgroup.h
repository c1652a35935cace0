/* The cgroup v2 programs' helpers (cgroup.c, cgroup_fix.c): a cgroup2
 * mount on /tmp/cg made and taken away, the text of a file, a write of
 * a text or a pid, a child that sleeps until told. */
#ifndef KT_CGROUP_H
#define KT_CGROUP_H
#include "kt.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define CG "/tmp/cg"

#define KT_STREQ(got, want) KT_TRUE(strcmp((got), (want)) == 0, "got\n%.280s\nwant\n%.280s", (got), (want))

/* all of `text` written to `path`: 0, else -1 with the write's errno */
static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int n = (int)write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (int)strlen(text) ? 0 : -1;
}

static int write_pid(const char *path, int pid) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d\n", pid);
    return write_text(path, buf);
}

/* The text of `path` in a static buffer ("<error>" when unreadable). */
static const char *text_of(const char *path) {
    static char buf[4][512];
    static int at;
    char *b = buf[at++ % 4];
    if (kt_read_text(path, b, 512) < 0) snprintf(b, 512, "<%s>", kt_errname(errno));
    return b;
}

static int mount_cg(void) {
    umount2(CG, MNT_DETACH); /* a failed case's mount */
    mkdir(CG, 0755);
    return mount("none", CG, "cgroup2", 0, NULL);
}

static void umount_cg(void) {
    umount2(CG, MNT_DETACH);
}

/* A child that waits for a byte on its pipe (or its closing), then exits
 * 0: its pid; *wr the pipe's write end. */
static pid_t sleeper(int *wr) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        char b;
        while (read(p[0], &b, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(p[0]);
    *wr = p[1];
    return c;
}
#endif
