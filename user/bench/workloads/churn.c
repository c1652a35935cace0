/* churn.c: /bin/churn of the workloads initramfs: a Go-style allocation
 * churn. 4 threads each run ROUNDS rounds; a round allocates objects of
 * 16 B .. 64 KiB (sizes from an xorshift generator), writes every byte of
 * each, and keeps a live set of 4,096 slots per thread, freeing the object
 * it replaces: malloc/free through musl's allocator, so brk/mmap/munmap
 * and page faults at the kernel. A fixed amount of work (the time it takes
 * is the row); exits 0 when the checksums agree. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define SLOTS 4096
#ifndef ROUNDS
#define ROUNDS 40000
#endif

static void *worker(void *arg) {
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(uintptr_t)arg + 1;
    static __thread char *slot[SLOTS];
    uint64_t sum = 0;
    for (long r = 0; r < ROUNDS; r++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t size = (size_t)16 << (x % 13); /* 16 B .. 64 KiB */
        size_t i = (x >> 8) % SLOTS;
        char *p = malloc(size);
        if (!p) return (void *)1;
        memset(p, (int)(r & 0xff), size);
        sum += (unsigned char)p[size - 1];
        free(slot[i]);
        slot[i] = p;
    }
    for (size_t i = 0; i < SLOTS; i++) free(slot[i]);
    return sum ? 0 : (void *)1;
}

int main(void) {
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], 0, worker, (void *)(i + 1)) != 0) return 1;
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= r != 0;
    }
    return bad;
}
