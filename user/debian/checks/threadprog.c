/* The threaded program the Debian system's strace -f check traces
 * (xtask/src/debsys.rs, strace_threads.sh): built on the host with
 * Debian's gcc against glibc. Two threads, each one getppid(2), joined in
 * order. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *work(void *arg) {
    syscall(SYS_getppid);
    return arg;
}

int main(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&t[i], 0, work, 0) != 0) return 1;
        /* one at a time: the second is made after the first has gone */
        if (pthread_join(t[i], 0) != 0) return 2;
    }
    printf("threadprog done\n");
    return 0;
}
