/* The program the Debian system's gdb check debugs (xtask/src/debsys.rs,
 * gdb.sh): built on the host with Debian's gcc, -g, linked against
 * glibc as a PIE. gdb stops at main, prints the backtrace and rip, then
 * lets it run to its exit status. */
#include <stdio.h>

static int twice(int x) {
    return 2 * x;
}

int main(void) {
    int v = twice(21);
    printf("gdbprog %d\n", v);
    return v - 39;
}
