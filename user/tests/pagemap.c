/* /proc/PID/pagemap (Linux's pagemap_read): 8 bytes per virtual page at
 * offset (address / 4096) * 8; bit 63 present, 61 a file's or shared
 * memory's page, 56 mapped once, 55 soft-dirty (set for every address of a
 * mapping until clear_refs), the frame number in bits 0-54 only for a
 * reader with CAP_SYS_ADMIN; 0 outside the mappings; EINVAL for an offset
 * or count that is no multiple of 8; the open needs ptrace read access. */
#include "kt.h"

#include <sys/mman.h>
#include <sys/stat.h>

#define PG 4096L
#define PRESENT (1ULL << 63)
#define FILEPG (1ULL << 61)
#define EXCL (1ULL << 56)
#define SOFTDIRTY (1ULL << 55)
#define PFN ((1ULL << 55) - 1)

/* the entry of `addr` in `fd` (a pagemap), ~0 on error */
static unsigned long long entry(int fd, const volatile void *addr) {
    unsigned long long e;
    if (pread(fd, &e, 8, (off_t)((unsigned long)addr / PG * 8)) != 8) return ~0ULL;
    return e;
}

KT_CASE(mode_is_0400) {
    struct stat st;
    KT_SYS_OK(stat("/proc/self/pagemap", &st));
    KT_EQ(st.st_mode, S_IFREG | 0400);
}

KT_CASE(anonymous_untouched_written_and_unmapped) {
    volatile char *p = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_OK(munmap((void *)(p + 3 * PG), PG));
    p[PG] = 1;
    int fd = KT_SYS_OK(open("/proc/self/pagemap", O_RDONLY));
    KT_EQ(entry(fd, p), SOFTDIRTY);
    unsigned long long e = entry(fd, p + PG);
    KT_EQ(e & ~PFN, PRESENT | EXCL | SOFTDIRTY);
    /* root: the frame number is shown */
    KT_TRUE((e & PFN) != 0, "no frame number for root: %llx", e);
    KT_EQ(entry(fd, p + 2 * PG), SOFTDIRTY);
    KT_EQ(entry(fd, p + 3 * PG), 0);
    close(fd);
    munmap((void *)p, 3 * PG);
}

KT_CASE(shared_anonymous_is_file) {
    volatile char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 1;
    int fd = KT_SYS_OK(open("/proc/self/pagemap", O_RDONLY));
    KT_EQ(entry(fd, p) & ~PFN, PRESENT | FILEPG | EXCL | SOFTDIRTY);
    close(fd);
    munmap((void *)p, PG);
}

KT_CASE(file_page_then_private_copy) {
    char path[] = "/tmp/pagemap_XXXXXX";
    int f = KT_SYS_OK(mkstemp(path));
    unlink(path);
    static char page[PG];
    memset(page, 7, PG);
    KT_SYS_RET(write(f, page, PG), PG);
    volatile char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_EQ(p[0], 7);
    int fd = KT_SYS_OK(open("/proc/self/pagemap", O_RDONLY));
    KT_EQ(entry(fd, p) & ~PFN, PRESENT | FILEPG | EXCL | SOFTDIRTY);
    p[0] = 8;
    KT_EQ(entry(fd, p) & ~PFN, PRESENT | EXCL | SOFTDIRTY);
    close(fd);
    close(f);
    munmap((void *)p, PG);
}

KT_CASE(fork_shares_the_page) {
    volatile char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 1;
    int fd = KT_SYS_OK(open("/proc/self/pagemap", O_RDONLY));
    pid_t c = KT_FORK();
    if (c == 0) {
        int cfd = open("/proc/self/pagemap", O_RDONLY);
        KT_CK(1, cfd >= 0);
        /* mapped by both processes: not exclusive */
        KT_CK(2, (entry(cfd, p) & ~PFN) == (PRESENT | SOFTDIRTY));
        p[0] = 2; /* the child's own copy */
        KT_CK(3, (entry(cfd, p) & ~PFN) == (PRESENT | EXCL | SOFTDIRTY));
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    /* the copy was the child's: the parent's page is its own again */
    KT_EQ(entry(fd, p) & ~PFN, PRESENT | EXCL | SOFTDIRTY);
    close(fd);
    munmap((void *)p, PG);
}

KT_CASE(alignment_count_and_end) {
    int fd = KT_SYS_OK(open("/proc/self/pagemap", O_RDONLY));
    unsigned long long e[2];
    KT_SYS_ERR(pread(fd, e, 8, 4), EINVAL);
    KT_SYS_ERR(pread(fd, e, 4, 8), EINVAL);
    KT_SYS_RET(pread(fd, e, 0, 8), 0);
    /* TASK_SIZE is the end: 2^47 - 4096 with 4-level page tables (ours),
     * 2^56 - 4096 with 5 (Linux on QEMU's "max" CPU): past both, nothing */
    KT_SYS_RET(pread(fd, e, 8, 1L << 47), 0);
    KT_SYS_RET(pread(fd, e, 16, 1L << 50), 0);
    /* read(2) advances the offset */
    KT_SYS_RET(lseek(fd, 8 * 16, SEEK_SET), 8 * 16);
    KT_SYS_RET(read(fd, e, 16), 16);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 8 * 18);
    /* a large read is answered in full (the zero page's entries) */
    static unsigned long long big[4096];
    KT_SYS_RET(pread(fd, big, sizeof big, 0), (long)sizeof big);
    KT_EQ(big[0], 0);
    close(fd);
}

static int unprivileged(void) {
    volatile char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_CHILD_CHECK(1, p != MAP_FAILED);
    p[0] = 1;
    KT_CHILD_CHECK(2, kt_drop_to_1000());
    int fd = open("/proc/self/pagemap", O_RDONLY);
    KT_CHILD_CHECK(3, fd >= 0);
    /* no frame number without CAP_SYS_ADMIN */
    KT_CHILD_CHECK(4, entry(fd, p) == (PRESENT | EXCL | SOFTDIRTY));
    /* another user's process: EACCES at open */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)getppid());
    KT_CHILD_CHECK(5, open(path, O_RDONLY) == -1 && errno == EACCES);
    return 0;
}

KT_CASE(unprivileged_reader_sees_no_frame_numbers) {
    KT_EQ(kt_in_child(unprivileged), 0);
}

KT_MAIN()
