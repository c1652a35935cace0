/* /proc/PID/stat's tty_nr and tpgid (fields 7 and 8): 0 and -1 without a
 * controlling terminal; for a session that made /dev/ttyS0 its controlling
 * terminal, ttyS0's device number (major 4, minor 64: 1088 in Linux's
 * new_encode_dev) and the foreground process group, which follows
 * tcsetpgrp. */
#include "kt.h"

#include <sys/ioctl.h>

/* tty_nr and tpgid of /proc/<pid>/stat; 0 when read and parsed */
static int stat_tty(pid_t pid, long *tty_nr, long *tpgid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    char st;
    int ppid, pgrp, sid;
    return sscanf(p + 1, " %c %d %d %d %ld %ld", &st, &ppid, &pgrp, &sid, tty_nr, tpgid) == 6 ? 0 : -1;
}

KT_CASE(no_controlling_terminal) {
    long nr = 7, tp = 7;
    KT_SYS_RET(stat_tty(getpid(), &nr, &tp), 0);
    KT_EQ(nr, 0);
    KT_EQ(tp, -1);
}

KT_CASE(serial_terminal_and_foreground_group) {
    pid_t pid = KT_FORK();
    if (pid == 0) {
        if (setsid() < 0) _exit(10);
        int fd = open("/dev/ttyS0", O_RDWR);
        if (fd < 0) _exit(11);
        if (ioctl(fd, TIOCSCTTY, 0) != 0) _exit(12);
        long nr = 0, tp = 0;
        if (stat_tty(getpid(), &nr, &tp) != 0) _exit(13);
        if (nr != 1088) _exit(14);
        if (tp != getpid()) _exit(15);
        /* a child in a group of its own made the foreground */
        pid_t c = fork();
        if (c == 0) {
            setpgid(0, 0);
            pause();
            _exit(0);
        }
        setpgid(c, c);
        signal(SIGTTOU, SIG_IGN);
        if (tcsetpgrp(fd, c) != 0) _exit(16);
        int ok = stat_tty(getpid(), &nr, &tp) == 0 && nr == 1088 && tp == c;
        long cnr = 0, ctp = 0;
        ok = ok && stat_tty(c, &cnr, &ctp) == 0 && cnr == 1088 && ctp == c;
        kill(c, SIGKILL);
        waitpid(c, 0, 0);
        _exit(ok ? 0 : 17);
    }
    KT_WAIT_STATUS(pid, kt_exited(0));
}

KT_MAIN()
