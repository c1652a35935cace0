/*
 * proc_net_dev: /proc/net/dev as Linux's dev_seq_show prints it (the two
 * header lines, then one line per device: "%6s:" and 16 counters). The
 * suite's machine has no NIC on either kernel, so lo is the one device
 * every kernel shows; busybox ifconfig lists interfaces from this file.
 */
#include "kt.h"
#include <fcntl.h>

static char buf[8192];

KT_CASE(header_lines) {
    KT_SYS_OK(kt_read_all("/proc/net/dev", buf, sizeof buf));
    const char *want =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n";
    KT_TRUE(strncmp(buf, want, strlen(want)) == 0, "got %.200s", buf);
}

KT_CASE(lo_line_has_sixteen_counters) {
    KT_SYS_OK(kt_read_all("/proc/net/dev", buf, sizeof buf));
    char *lo = strstr(buf, "\n    lo: ");
    KT_TRUE(lo != NULL, "no lo line in %.300s", buf);
    lo += strlen("\n    lo:");
    int fields = 0;
    char *p = lo;
    while (*p && *p != '\n') {
        while (*p == ' ') p++;
        if (*p == '\n' || !*p) break;
        KT_TRUE(*p >= '0' && *p <= '9', "not a number at %.40s", p);
        while (*p >= '0' && *p <= '9') p++;
        fields++;
    }
    KT_EQ(fields, 16);
}

KT_CASE(reads_in_small_pieces_give_the_same_text) {
    long whole = KT_SYS_OK(kt_read_all("/proc/net/dev", buf, sizeof buf));
    int fd = KT_SYS_OK(open("/proc/net/dev", O_RDONLY));
    char piece[7];
    long total = 0;
    ssize_t r;
    while ((r = read(fd, piece, sizeof piece)) > 0) total += r;
    KT_EQ(r, 0);
    close(fd);
    KT_EQ(total, whole);
}

KT_MAIN()
