/* The mount programs' helpers (mntns.c, mntfile.c, mntprop.c): a small
 * file's text, a write, whether a path exists, its inode number, a
 * private mount namespace for a case, /proc/self/mounts and mountinfo
 * look-ups (a mount point's optional fields, root/type/source, options),
 * and a one-byte hand-off over a pipe between two processes. */
#ifndef KT_MOUNT_H
#define KT_MOUNT_H
#include "kt.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

/* The text of `path` (at most size - 1 bytes, NUL-terminated): its
 * length, -1 when it cannot be opened. */
static int km_get(const char *path, char *buf, int size) {
    return (int)kt_read_all_at(AT_FDCWD, path, buf, (size_t)size);
}

/* `s` written to the existing `path`: write's return, -1 when it cannot
 * be opened. */
static long km_put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    long r = write(fd, s, strlen(s));
    close(fd);
    return r;
}

/* `path` made (or truncated) with the text `s`: 0, else -1. */
static int km_put_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    int r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
    close(fd);
    return r;
}

static unsigned long km_ino(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static int km_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The caller in a mount namespace of its own with nothing shared (what
 * util-linux's unshare does): 1 on success. */
static int km_private_ns(void) {
    return unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
}

/* Whether /proc/self/mounts has a line with mount point `dir` (-1 when
 * it cannot be read). */
static int km_mounted(const char *dir) {
    static char buf[16384];
    if (km_get("/proc/self/mounts", buf, sizeof buf) <= 0) return -1;
    char pat[128];
    snprintf(pat, sizeof pat, " %s ", dir);
    return strstr(buf, pat) != NULL;
}

/* The optional fields of the first mountinfo line of `dir` ("" when
 * none; "shared:1 master:2"), into `out`; 0 when found, -1 when not. */
static int km_optional(const char *dir, char *out, int size) {
    static char buf[32768];
    if (km_get("/proc/self/mountinfo", buf, sizeof buf) <= 0) return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char mp[256];
        int n = 0;
        if (sscanf(line, "%*d %*d %*d:%*d %*s %255s %*s%n", mp, &n) != 1 || strcmp(mp, dir) != 0) continue;
        const char *rest = line + n, *dash = strstr(rest, " - ");
        if (!dash) return -1;
        while (*rest == ' ') rest++;
        int len = dash - rest;
        if (len < 0) len = 0;
        if (len >= size) len = size - 1;
        memcpy(out, rest, len);
        out[len] = 0;
        return 0;
    }
    return -1;
}

/* The number after `key` ("shared:", "master:", "propagate_from:") in
 * the optional fields of `dir`'s mountinfo line: 0 when there is none,
 * -1 when `dir` has no line. */
static int km_field(const char *dir, const char *key) {
    char opt[256];
    if (km_optional(dir, opt, sizeof opt) != 0) return -1;
    const char *p = strstr(opt, key);
    return p ? atoi(p + strlen(key)) : 0;
}

/* The line of the mountinfo file `file` whose mount point is `mp`: its
 * root field and the type and source after " - "; 0 when found. */
static int km_info_in(const char *file, const char *mp, char *root, char *type, char *source) {
    static char buf[32768];
    if (km_get(file, buf, sizeof buf) <= 0) return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char r[256], m[256];
        if (sscanf(line, "%*d %*d %*d:%*d %255s %255s", r, m) != 2 || strcmp(m, mp) != 0) continue;
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(dash + 3, "%63s %63s", type, source) != 2) return -1;
        strcpy(root, r);
        return 0;
    }
    return -1;
}

/* km_info_in() of /proc/self/mountinfo. */
static int km_info(const char *mp, char *root, char *type, char *source) {
    return km_info_in("/proc/self/mountinfo", mp, root, type, source);
}

/* The mount options (sixth field) and the filesystem's options (last
 * field) of the mountinfo line of `dir`; 0 when found. */
static int km_options(const char *dir, char *mnt, char *sb, int size) {
    static char buf[32768];
    if (km_get("/proc/self/mountinfo", buf, sizeof buf) <= 0) return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char mp[256], o[256];
        if (sscanf(line, "%*d %*d %*d:%*d %*s %255s %255s", mp, o) != 2 || strcmp(mp, dir) != 0) continue;
        const char *last = strrchr(line, ' ');
        snprintf(mnt, size, "%s", o);
        snprintf(sb, size, "%s", last ? last + 1 : "");
        return 0;
    }
    return -1;
}

/* One byte over a pipe: tell the other side, wait for it (1 on success). */
static int km_tell(int fd) {
    return write(fd, "x", 1) == 1;
}

static int km_wait(int fd) {
    char c;
    return read(fd, &c, 1) == 1;
}

#endif
