/* io_uring fixes of review39 (fix39): a parked request does not keep its
 * exited submitter thread's kernel memory (its Task and kernel stack here;
 * Linux keeps only the task_struct, whose stack goes at its last switch).
 * 2,000 threads each submit a TIMEOUT that never fires and exit; MemFree
 * must not drop by more than 40 MiB meanwhile (Linux: about 10 KiB a
 * request; ours before the fix: the 32-48 KiB stack of each). */
#include "kt_uring.h"

#include <pthread.h>

static struct ring rg;
static struct kts forever = {1000000, 0};

/* One TIMEOUT of 10^6 s submitted by a new thread, which then exits. */
static void *submit_one(void *arg) {
    (void)arg;
    prep(&rg, OP_TIMEOUT, -1, &forever, 1, 0, rg.tail);
    return (void *)(long)submit(&rg, 1);
}

KT_CASE(parked_requests_keep_no_exited_thread_stack) {
    memset(&rg, 0, sizeof rg);
    rg.p.flags = SETUP_CQSIZE;
    rg.p.cq_entries = 4096;
    KT_TRUE(ring_init_p(&rg, 8) == 0, "io_uring set-up: %s", kt_errname(errno));
    /* a few rounds first: the allocators' caches */
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        void *r;
        KT_EQ(pthread_create(&t, NULL, submit_one, NULL), 0);
        KT_EQ(pthread_join(t, &r), 0);
        KT_EQ((long)r, 1);
    }
    long before = kt_meminfo_kb("MemFree:");
    long low = before;
    int n = 0;
    for (; n < 2000; n++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, NULL, submit_one, NULL) != 0) break;
        if (pthread_join(t, &r) != 0 || (long)r != 1) break;
        if (n % 100 == 99) {
            long f = kt_meminfo_kb("MemFree:");
            if (f < low) low = f;
            if (before - low > 40 * 1024) break;
        }
    }
    kt_printf("# %d threads: MemFree %ld kB before, lowest %ld kB\n", n, before, low);
    ring_exit(&rg);
    KT_EQ(n, 2000);
    KT_TRUE(before - low <= 40 * 1024, "MemFree dropped by %ld kB", before - low);
}

KT_MAIN()
