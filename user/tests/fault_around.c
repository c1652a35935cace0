/* Fault-around: a read fault of a file mapping maps up to 16 pages (64 KiB,
 * Linux's fault_around_bytes) that the page cache holds, from the start of
 * the 64 KiB-aligned block around the fault (or from the mapping's start
 * when that is higher), within the mapping, so reading them faults no more;
 * a write fault maps one page; a private page mapped around is still copied
 * on write, a shared one is written in place. Faults are counted with
 * getrusage's ru_minflt (exact on Linux, where statm's RSS lags). */
#include "kt.h"

#include <sys/mman.h>
#include <sys/resource.h>

#define PG 4096L
#define BLOCK (16 * PG)
#define PAGES 40

/* minor faults of this process so far */
static long minflt(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_minflt;
}

/* reads one byte of each page of [from, to); returns the faults it took */
static long read_pages(volatile char *p, int from, int to) {
    long f0 = minflt();
    for (int i = from; i < to; i++) (void)p[i * PG];
    return minflt() - f0;
}

/* An unlinked /tmp file of PAGES pages; with `fill`, byte i/PG at every
 * offset i (every page in the page cache), else a hole of that size. */
static int file_of(int fill) {
    char path[] = "/tmp/fault_around_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);
    if (!fill) return ftruncate(fd, PAGES * PG) == 0 ? fd : -1;
    static char page[PG];
    for (int i = 0; i < PAGES; i++) {
        memset(page, i, PG);
        if (write(fd, page, PG) != PG) return -1;
    }
    return fd;
}

/* The file mapped 3 pages above a 64 KiB boundary (inside a reserved
 * PROT_NONE region, so nothing else is near). */
static volatile char *map_at_block(int fd, int prot, int flags) {
    char *r = mmap(0, 8 * BLOCK, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return 0;
    char *base = (char *)(((unsigned long)r + BLOCK - 1) & ~(BLOCK - 1));
    char *p = mmap(base + 3 * PG, PAGES * PG, prot, flags | MAP_FIXED, fd, 0);
    return p == MAP_FAILED ? 0 : p;
}

KT_CASE(read_faults_map_16_cached_pages) {
    int fd = KT_SYS_OK(file_of(1));
    volatile char *p = map_at_block(fd, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != 0, "mmap: %s", kt_errname(errno));
    minflt();
    /* page 0: the block starts 3 pages below the mapping, so pages 0-15;
     * page 16: the next block starts at page 13, so pages 16-28 (13-15
     * are there); page 29: the last block, pages 29-39 */
    KT_EQ(read_pages(p, 0, PAGES), 3);
    KT_EQ(read_pages(p, 0, PAGES), 0);
    KT_EQ(p[5 * PG], 5);
    KT_EQ(p[39 * PG], 39);
    /* a page mapped around is copied on its first write */
    long f0 = minflt();
    p[7 * PG] = 'x';
    KT_EQ(minflt() - f0, 1);
    KT_EQ(p[7 * PG], 'x');
    char c = 0;
    KT_SYS_RET(pread(fd, &c, 1, 7 * PG), 1);
    KT_EQ(c, 7);
    close(fd);
}

KT_CASE(the_window_starts_at_the_faults_block) {
    int fd = KT_SYS_OK(file_of(1));
    volatile char *p = map_at_block(fd, PROT_READ, MAP_PRIVATE);
    KT_TRUE(p != 0, "mmap: %s", kt_errname(errno));
    minflt();
    /* page 20 is in the block that starts at page 13: pages 13-28 */
    KT_EQ(read_pages(p, 20, 21), 1);
    KT_EQ(read_pages(p, 13, 29), 0);
    KT_EQ(read_pages(p, 12, 13), 1);
    KT_EQ(read_pages(p, 29, 30), 1);
    close(fd);
}

KT_CASE(write_faults_map_one_page) {
    int fd = KT_SYS_OK(file_of(1));
    volatile char *p = map_at_block(fd, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != 0, "mmap: %s", kt_errname(errno));
    long f0 = minflt();
    p[20 * PG] = 'w';
    p[21 * PG] = 'w';
    KT_EQ(minflt() - f0, 2);
    /* a read then maps pages 13-28 but keeps the copies */
    KT_EQ(read_pages(p, 22, 23), 1);
    KT_EQ(read_pages(p, 13, 29), 0);
    KT_EQ(p[20 * PG], 'w');
    KT_EQ(p[22 * PG], 22);
    close(fd);
}

KT_CASE(pages_not_in_the_cache_are_not_mapped) {
    /* a hole: no page is cached until a fault asks for it */
    int fd = KT_SYS_OK(file_of(0));
    volatile char *p = map_at_block(fd, PROT_READ, MAP_PRIVATE);
    KT_TRUE(p != 0, "mmap: %s", kt_errname(errno));
    minflt();
    KT_EQ(read_pages(p, 0, 10), 10);
    KT_EQ(read_pages(p, 0, 10), 0);
    close(fd);
}

KT_CASE(shared_pages_mapped_around_are_written_in_place) {
    int fd = KT_SYS_OK(file_of(1));
    /* Linux's fault-around skips a page it cannot lock at that moment
     * (filemap_map_pages' trylock): with 2 CPUs another CPU's kernel work
     * on the page made it fault twice once in four --linux runs. A fresh
     * mapping is tried again then; the first try that maps around is
     * checked (ours maps around on the first). */
    volatile char *p = 0;
    long n = -1;
    for (int attempt = 0; attempt < 5 && n != 1; attempt++) {
        if (p) munmap((void *)p, PAGES * PG);
        p = map_at_block(fd, PROT_READ | PROT_WRITE, MAP_SHARED);
        KT_TRUE(p != 0, "mmap: %s", kt_errname(errno));
        n = read_pages(p, 0, 16);
    }
    KT_EQ(n, 1);
    /* writable as mapped: no fault for the write */
    long f0 = minflt();
    p[9 * PG + 1] = 'y';
    KT_EQ(minflt() - f0, 0);
    char c = 0;
    KT_SYS_RET(pread(fd, &c, 1, 9 * PG + 1), 1);
    KT_EQ(c, 'y');
    close(fd);
}

KT_MAIN()
