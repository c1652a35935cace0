/* Anonymous memory: mmap/munmap/mprotect/mremap/madvise errnos and contents,
 * private vs shared across fork, brk; the errors of file mappings. */
#include "kt.h"

#define PG 4096L

static void *map(long len, int prot, int flags) {
    return mmap(0, (size_t)len, prot, flags | MAP_ANONYMOUS, -1, 0);
}


KT_CASE(anonymous_mapping_is_zeroed_and_writable) {
    char *p = map(3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_EQ((uintptr_t)p % PG, 0);
    for (long i = 0; i < 3 * PG; i += 512) KT_EQ(p[i], 0);
    memset(p, 0x5a, 3 * PG);
    KT_EQ(p[3 * PG - 1], 0x5a);
    KT_SYS_RET(munmap(p, 3 * PG), 0);
}

KT_CASE(mmap_argument_errors) {
    KT_TRUE(map(0, PROT_READ, MAP_PRIVATE) == MAP_FAILED && errno == EINVAL, "length 0: %s",
            kt_errname(errno));
    errno = 0;
    KT_TRUE(map(PG, PROT_READ, 0) == MAP_FAILED && errno == EINVAL,
            "neither MAP_PRIVATE nor MAP_SHARED: %s", kt_errname(errno));
    errno = 0;
    KT_TRUE(mmap((void *)(0x10000000 + 1), PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) == MAP_FAILED &&
                errno == EINVAL,
            "MAP_FIXED unaligned: %s", kt_errname(errno));
    errno = 0;
    KT_TRUE(mmap(0, PG, PROT_READ, MAP_PRIVATE, -1, 0) == MAP_FAILED && errno == EBADF,
            "file mapping of fd -1: %s", kt_errname(errno));
    errno = 0;
    KT_TRUE(syscall(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1) == -1 &&
                errno == EINVAL,
            "unaligned offset: %s", kt_errname(errno));
    errno = 0;
    /* raw: musl refuses lengths above PTRDIFF_MAX itself */
    KT_SYS_ERR(syscall(SYS_mmap, 0, -PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
}

KT_CASE(munmap_argument_errors) {
    char *p = map(PG, PROT_READ, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_ERR(munmap(p + 1, PG), EINVAL);
    KT_SYS_ERR(munmap(p, 0), EINVAL);
    KT_SYS_RET(munmap(p, PG), 0);
    KT_SYS_RET(munmap(p, PG), 0); /* nothing mapped there any more: still 0 */
}

KT_CASE(access_after_munmap_is_sigsegv) {
    char *p = map(2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_RET(munmap(p + PG, PG), 0); /* a hole in the middle of a mapping */
    p[0] = 1;
    KT_STATUS(kt_status_of(kt_touch_read, p + PG), kt_killed(SIGSEGV));
    KT_STATUS(kt_status_of(kt_touch_write, p), kt_exited(0));
    KT_SYS_RET(munmap(p, PG), 0);
}

KT_CASE(mprotect_read_only_write_is_sigsegv) {
    char *p = map(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[10] = 42;
    KT_SYS_RET(mprotect(p, PG, PROT_READ), 0);
    KT_EQ(p[10], 42);
    KT_STATUS(kt_status_of(kt_touch_write, p), kt_killed(SIGSEGV));
    KT_STATUS(kt_status_of(kt_touch_read, p), kt_exited(0));
    KT_SYS_RET(mprotect(p, PG, PROT_NONE), 0);
    KT_STATUS(kt_status_of(kt_touch_read, p), kt_killed(SIGSEGV));
    KT_SYS_RET(mprotect(p, PG, PROT_READ | PROT_WRITE), 0);
    KT_EQ(p[10], 42);
    munmap(p, PG);
}

/* The raw syscall: musl's mprotect() rounds the start down to a page. */
static long raw_mprotect(void *p, long len, int prot) {
    return syscall(SYS_mprotect, p, len, prot);
}

KT_CASE(mprotect_argument_errors) {
    char *p = map(PG, PROT_READ, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_ERR(raw_mprotect(p + 1, PG, PROT_READ), EINVAL);
    KT_SYS_ERR(raw_mprotect(p, PG, 0x100), EINVAL);
    KT_SYS_RET(raw_mprotect(p, 0, PROT_READ), 0);
    KT_SYS_RET(munmap(p, PG), 0);
    KT_SYS_ERR(raw_mprotect(p, PG, PROT_READ), ENOMEM);
}

KT_CASE(map_fixed_replaces_and_noreplace_is_eexist) {
    char *p = map(2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    memset(p, 7, 2 * PG);
    char *q = mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    KT_TRUE(q == p, "MAP_FIXED returned %p, want %p", (void *)q, (void *)p);
    KT_EQ(p[0], 0);
    KT_EQ(p[PG], 7);
    errno = 0;
    q = mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    KT_TRUE(q == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE: %p, %s", (void *)q,
            kt_errname(errno));
    KT_EQ(p[PG], 7);
    KT_SYS_RET(munmap(p, 2 * PG), 0);
}

KT_CASE(private_mapping_is_copied_on_fork) {
    volatile int *p = map(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 1;
    pid_t c = KT_FORK();
    if (c == 0) {
        int saw = p[0];
        p[0] = 2;
        _exit(saw == 1 && p[0] == 2 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(p[0], 1);
    munmap((void *)p, PG);
}

KT_CASE(shared_anonymous_mapping_is_shared_with_a_child) {
    volatile int *p = map(PG, PROT_READ | PROT_WRITE, MAP_SHARED);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 1;
    pid_t c = KT_FORK();
    if (c == 0) {
        p[0] = 2;
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(p[0], 2);
    munmap((void *)p, PG);
}

KT_CASE(mremap_grows_in_place_or_moves_keeping_contents) {
    char *p = map(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    strcpy(p, "kept");
    char *q = mremap(p, PG, 4 * PG, MREMAP_MAYMOVE);
    KT_TRUE(q != MAP_FAILED, "mremap: %s", kt_errname(errno));
    KT_EQ(strcmp(q, "kept"), 0);
    KT_EQ(q[4 * PG - 1], 0);
    q = mremap(q, 4 * PG, PG, 0); /* shrinking never moves */
    KT_TRUE(q != MAP_FAILED, "mremap shrink: %s", kt_errname(errno));
    KT_EQ(strcmp(q, "kept"), 0);
    errno = 0;
    KT_TRUE(mremap(q + 1, PG, PG, 0) == MAP_FAILED && errno == EINVAL, "unaligned: %s",
            kt_errname(errno));
    KT_SYS_RET(munmap(q, PG), 0);
}

KT_CASE(madvise_dontneed_zeroes_private_anonymous_pages) {
    char *p = map(2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    memset(p, 9, 2 * PG);
    KT_SYS_RET(madvise(p, PG, MADV_DONTNEED), 0);
    KT_EQ(p[0], 0);
    KT_EQ(p[PG], 9);
    KT_SYS_ERR(madvise(p + 1, PG, MADV_DONTNEED), EINVAL);
    /* madvise(2): "EINVAL advice is not valid" */
    KT_SYS_ERR(syscall(SYS_madvise, p, PG, 999), EINVAL);
    KT_SYS_RET(syscall(SYS_madvise, p, PG, MADV_RANDOM), 0);
    munmap(p, 2 * PG);
}

KT_CASE(brk_grows_shrinks_and_refuses_below_start) {
    long cur = syscall(SYS_brk, 0);
    KT_TRUE(cur > 0, "brk(0) = %ld", cur);
    long up = syscall(SYS_brk, cur + 2 * PG);
    KT_EQ(up, cur + 2 * PG);
    volatile char *b = (volatile char *)cur;
    b[0] = 1;
    b[2 * PG - 1] = 2;
    KT_EQ(b[2 * PG - 1], 2);
    KT_EQ(syscall(SYS_brk, cur), cur);
    KT_EQ(syscall(SYS_brk, 4096), cur); /* refused: the old break */
    KT_EQ(syscall(SYS_brk, 0), cur);
}

/* The errors of a file mapping come before anything is mapped: an
 * unaligned offset is EINVAL, a file opened without read EACCES, a file
 * with no mmap (a directory, /dev/null) ENODEV, and the range asked for
 * stays free afterwards. */
KT_CASE(file_mapping_errors_leave_nothing_mapped) {
    const char *path = "/tmp/mmap_basic_file";
    int fd = KT_SYS_OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    KT_SYS_RET(write(fd, "hello", 5), 5);
    close(fd);
    /* a hint that is free: reserve a range, then give it back */
    char *hint = map(4 * PG, PROT_NONE, MAP_PRIVATE);
    KT_TRUE(hint != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_RET(munmap(hint, 4 * PG), 0);

    fd = KT_SYS_OK(open(path, O_RDONLY));
    KT_TRUE(mmap(hint, PG, PROT_READ, MAP_PRIVATE, fd, 1) == MAP_FAILED && errno == EINVAL,
            "unaligned offset: %s", kt_errname(errno));
    close(fd);
    fd = KT_SYS_OK(open(path, O_WRONLY));
    KT_TRUE(mmap(hint, PG, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == EACCES,
            "write-only file: %s", kt_errname(errno));
    close(fd);
    fd = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    KT_TRUE(mmap(hint, PG, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == ENODEV,
            "directory: %s", kt_errname(errno));
    close(fd);
    fd = KT_SYS_OK(open("/dev/null", O_RDWR));
    KT_TRUE(mmap(hint, PG, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == ENODEV,
            "/dev/null: %s", kt_errname(errno));
    close(fd);
    /* nothing was left behind at the hint */
    char *p = mmap(hint, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    KT_TRUE(p == hint, "the hinted range is still free: got %p (%s), want %p", (void *)p,
            p == MAP_FAILED ? kt_errname(errno) : "no error", (void *)hint);
    KT_SYS_RET(munmap(p, 4 * PG), 0);
    unlink(path);
}

/* A private file mapping reads the file's bytes and zeros past its end;
 * /dev/zero maps zeros. */
KT_CASE(file_mapping_reads_the_file) {
    const char *path = "/tmp/mmap_basic_file";
    int fd = KT_SYS_OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    KT_SYS_RET(write(fd, "hello", 5), 5);
    char *p = mmap(0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_TRUE(!memcmp(p, "hello", 5), "contents");
    KT_EQ(p[5], 0);
    KT_EQ(p[PG - 1], 0);
    KT_SYS_RET(munmap(p, 2 * PG), 0);
    close(fd);
    unlink(path);
    fd = KT_SYS_OK(open("/dev/zero", O_RDWR));
    p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap /dev/zero: %s", kt_errname(errno));
    KT_EQ(p[0], 0);
    p[0] = 1;
    KT_EQ(p[0], 1);
    KT_SYS_RET(munmap(p, PG), 0);
    close(fd);
}

KT_CASE(madvise_on_an_unmapped_range_is_enomem) {
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_RET(munmap(p + 4096, 4096), 0);
    KT_SYS_RET(madvise(p, 4096, MADV_NORMAL), 0);
    KT_SYS_ERR(madvise(p, 8192, MADV_NORMAL), ENOMEM);
    KT_SYS_ERR(madvise(p + 4096, 4096, MADV_WILLNEED), ENOMEM);
    KT_SYS_ERR(madvise(p, 8192, MADV_DONTNEED), ENOMEM);
    KT_SYS_ERR(madvise((void *)0xffff800000000000ull, 4096, MADV_NORMAL), ENOMEM);
    munmap(p, 4096);
}

KT_CASE(mremap_fixed_beyond_user_space_is_einval) {
    char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    void *r = mremap(p, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)0xffff800000000000ull);
    KT_TRUE(r == MAP_FAILED && errno == EINVAL, "mremap: %p %s", r, kt_errname(errno));
    KT_SYS_ERR(munmap((void *)0xffff800000000000ull, 4096), EINVAL);
    KT_SYS_ERR(mprotect((void *)0xffff800000000000ull, 4096, PROT_READ), ENOMEM);
    munmap(p, 4096);
}

KT_MAIN()
