/*
 * /init of the Debian system (`cargo xtask qemu --debian`), pid 1.
 *
 * Mounts proc on /proc, sysfs on /sys, devtmpfs on /dev, tmpfs on /tmp,
 * /run and /dev/shm (errors ignored: the initramfs carries the /dev nodes
 * too), makes the /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr links udev
 * would, sets the host name from /etc/hostname, prints /etc/issue.net's
 * system name and the time since boot (/proc/uptime), then runs Debian's
 * `bash -l` in a session of its own with /dev/ttyS0 as its controlling
 * terminal (so job control works), in /root with PATH, HOME, TERM set.
 * It reaps orphans; when the shell exits it syncs and powers off with
 * reboot(RB_POWER_OFF), so `exit` ends QEMU.
 *
 * An image with /usr/local/lib/autorun.sh (`cargo xtask pytest`'s) runs
 * `bash /usr/local/lib/autorun.sh` there instead of the login shell, with
 * the same terminal and environment, and powers off when it ends.
 *
 * Run as `poweroff`, `reboot` or `halt` (the links in /usr/sbin) by a
 * process other than pid 1, it syncs and calls reboot(2) at once, as
 * `systemctl poweroff --force --force` would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define AUTORUN "/usr/local/lib/autorun.sh"

static const char *base(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int halt_command(const char *name) {
    sync();
    int how = RB_POWER_OFF;
    if (strcmp(name, "reboot") == 0)
        how = RB_AUTOBOOT;
    else if (strcmp(name, "halt") == 0)
        how = RB_HALT_SYSTEM;
    reboot(how);
    fprintf(stderr, "%s: reboot: %s\n", name, strerror(errno));
    return 1;
}

static void console(void) {
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    if (getpid() != 1)
        return halt_command(base(argv[0]));
    console();
    mount("proc", "/proc", "proc", 0, 0);
    mount("sysfs", "/sys", "sysfs", 0, 0);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    /* what udev makes on Debian; bash's <(...) opens /dev/fd/N */
    symlink("/proc/self/fd", "/dev/fd");
    symlink("/proc/self/fd/0", "/dev/stdin");
    symlink("/proc/self/fd/1", "/dev/stdout");
    symlink("/proc/self/fd/2", "/dev/stderr");
    mkdir("/dev/pts", 0755);
    mount("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620,ptmxmode=000");
    mkdir("/dev/shm", 01777);
    mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
    mount("tmpfs", "/run", "tmpfs", 0, "mode=755");
    mkdir("/run/lock", 01777);

    char name[65] = "debian";
    FILE *f = fopen("/etc/hostname", "r");
    if (f) {
        if (fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = 0;
        fclose(f);
    }
    sethostname(name, strlen(name));

    char up[64] = "?";
    f = fopen("/proc/uptime", "r");
    if (f) {
        if (fscanf(f, "%63s", up) != 1)
            strcpy(up, "?");
        fclose(f);
    }
    char issue[128] = "Debian GNU/Linux";
    f = fopen("/etc/issue.net", "r");
    if (f) {
        if (fgets(issue, sizeof issue, f))
            issue[strcspn(issue, "\n")] = 0;
        fclose(f);
    }
    printf("\n%s, booted in %s s; `exit` or `poweroff` ends QEMU\n\n", issue, up);
    fflush(stdout);

    pid_t shell = fork();
    if (shell == 0) {
        setsid();
        int fd = open("/dev/ttyS0", O_RDWR);
        if (fd < 0)
            fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            ioctl(fd, TIOCSCTTY, 0);
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        chdir("/root");
        char *args[] = {"bash", "-l", 0};
        char *autorun[] = {"bash", AUTORUN, 0};
        char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "HOME=/root",
                        "TERM=vt220",
                        "SHELL=/bin/bash",
                        "USER=root",
                        "LOGNAME=root",
                        "LANG=C.UTF-8",
                        0};
        execve("/bin/bash", access(AUTORUN, R_OK) == 0 ? autorun : args, envp);
        fprintf(stderr, "init: execve /bin/bash: %s\n", strerror(errno));
        _exit(127);
    }
    for (;;) {
        int st;
        pid_t p = wait(&st);
        if (p == shell || (p < 0 && errno == ECHILD))
            break;
    }
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}
