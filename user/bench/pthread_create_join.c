/* pthread_create_join: pthread_create(3) of a thread that returns at once,
 * then pthread_join(3) (clone + exit + the futex wake of the join). */
#include "bench.h"

#include <pthread.h>

static void *thread(void *arg) {
    return arg;
}

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        pthread_t t;
        int e = pthread_create(&t, 0, thread, 0);
        if (e) {
            errno = e;
            bench_fail("pthread_create_join", "pthread_create");
        }
        e = pthread_join(t, 0);
        if (e) {
            errno = e;
            bench_fail("pthread_create_join", "pthread_join");
        }
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("pthread_create_join", body, 0, 1ULL << 20);
    return 0;
}
