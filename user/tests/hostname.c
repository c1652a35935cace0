/* sethostname(2) and the host name uname(2) and /proc/sys/kernel/hostname
 * show: "(none)" at boot, up to 64 bytes (65 and -1 are EINVAL, checked
 * after EPERM for an unprivileged caller), EFAULT for a bad buffer, a name
 * that ends at its first NUL. The name is put back at the end. */
#include "kt.h"

#include <sys/utsname.h>

static char saved[65];

static void proc_hostname(char *out, size_t n) {
    out[0] = 0;
    int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
    if (fd < 0) return;
    long r = read(fd, out, n - 1);
    out[r > 0 ? r : 0] = 0;
    close(fd);
}

KT_CASE(set_and_read_back) {
    struct utsname u;
    KT_SYS_OK(uname(&u));
    snprintf(saved, sizeof saved, "%s", u.nodename);
    KT_SYS_RET(sethostname("debian", 6), 0);
    KT_SYS_OK(uname(&u));
    KT_EQ(strcmp(u.nodename, "debian"), 0);
    char buf[128];
    proc_hostname(buf, sizeof buf);
    KT_EQ(strcmp(buf, "debian\n"), 0);
    char h[80];
    KT_SYS_OK(gethostname(h, sizeof h));
    KT_EQ(strcmp(h, "debian"), 0);
    /* a shorter length takes a prefix */
    KT_SYS_RET(sethostname("abcdef", 3), 0);
    KT_SYS_OK(uname(&u));
    KT_EQ(strcmp(u.nodename, "abc"), 0);
    /* the name ends at a NUL inside the length */
    KT_SYS_RET(sethostname("xy\0zw", 5), 0);
    KT_SYS_OK(uname(&u));
    KT_EQ(strcmp(u.nodename, "xy"), 0);
}

KT_CASE(length_limits) {
    char name[66];
    memset(name, 'n', sizeof name);
    KT_SYS_RET(sethostname(name, 64), 0);
    struct utsname u;
    KT_SYS_OK(uname(&u));
    KT_EQ(strlen(u.nodename), 64);
    KT_SYS_ERR(syscall(SYS_sethostname, name, 65), EINVAL);
    KT_SYS_ERR(syscall(SYS_sethostname, name, -1), EINVAL);
    KT_SYS_OK(uname(&u));
    KT_EQ(strlen(u.nodename), 64);
    KT_SYS_ERR(syscall(SYS_sethostname, (char *)8, 4), EFAULT);
    KT_SYS_OK(uname(&u));
    KT_EQ(strlen(u.nodename), 64);
    KT_SYS_RET(sethostname(saved, strlen(saved)), 0);
    KT_SYS_OK(uname(&u));
    KT_EQ(strcmp(u.nodename, saved), 0);
}

KT_CASE(unprivileged_is_eperm_first) {
    pid_t pid = KT_FORK();
    if (pid == 0) {
        KT_SYS_RET(setuid(65534), 0);
        KT_SYS_ERR(sethostname("x", 1), EPERM);
        KT_SYS_ERR(syscall(SYS_sethostname, "x", 65), EPERM);
        _exit(0);
    }
    KT_WAIT_STATUS(pid, kt_exited(0));
}

KT_MAIN()
