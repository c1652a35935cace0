/* mincore(2) as Linux 6.1: one byte per page, 1 (bit 0) for a resident
 * page (anonymous pages touched, file pages in the page cache whether
 * mapped or not), 0 otherwise; EINVAL for an unaligned start, ENOMEM for a
 * range past user space or with an unmapped page (the bytes of the
 * mappings before the hole written), EFAULT for a vector that cannot be
 * written; a zero length does nothing. */
#include "kt.h"

#include <sys/mman.h>

#define PG 4096L

static char *map(long len, int prot, int flags) {
    return mmap(0, (size_t)len, prot, flags | MAP_ANONYMOUS, -1, 0);
}

/* The vector as "1010" for the messages. */
static const char *show(const unsigned char *v, int n) {
    static char s[80];
    int i;
    for (i = 0; i < n && i < 79; i++) s[i] = v[i] > 9 ? 'x' : (char)('0' + v[i]);
    s[i] = 0;
    return s;
}

#define KT_VEC(v, want)                                                                  \
    KT_TRUE(strcmp(show(v, (int)strlen(want)), want) == 0, "vector %s, want %s",       \
            show(v, (int)strlen(want)), want)

KT_CASE(anonymous_pages_are_resident_once_touched) {
    char *p = map(6 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    unsigned char v[8];
    memset(v, 0xee, sizeof v);
    KT_SYS_RET(mincore(p, 6 * PG, v), 0);
    KT_VEC(v, "000000");
    KT_EQ(v[6], 0xee);
    p[0] = 1;
    p[2 * PG + 100] = 1;
    /* a read maps a page too (Linux: the zero page) */
    KT_EQ(((volatile char *)p)[5 * PG], 0);
    KT_SYS_RET(mincore(p, 6 * PG, v), 0);
    KT_VEC(v, "101001");
    /* a length within a page counts the page; only the pages asked for
     * are written */
    memset(v, 0xee, sizeof v);
    KT_SYS_RET(mincore(p, 2 * PG + 1, v), 0);
    KT_VEC(v, "101");
    KT_EQ(v[3], 0xee);
    /* MADV_DONTNEED drops the page */
    KT_SYS_OK(madvise(p, PG, MADV_DONTNEED));
    KT_SYS_RET(mincore(p, 3 * PG, v), 0);
    KT_VEC(v, "001");
    /* the stack page of a local variable */
    unsigned char here = 0xee;
    volatile int local = 1;
    KT_SYS_RET(mincore((void *)((uintptr_t)&local & ~(PG - 1)), 1, &here), 0);
    KT_EQ(here, 1);
    KT_SYS_OK(munmap(p, 6 * PG));
}

KT_CASE(argument_errors) {
    char *p = map(3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    unsigned char v[4];
    memset(v, 0xee, sizeof v);
    KT_SYS_ERR(mincore(p + 1, PG, v), EINVAL);
    KT_SYS_ERR(mincore(p + 1, 0, v), EINVAL);
    /* a zero length does nothing, mapped or not */
    KT_SYS_RET(mincore(p, 0, v), 0);
    KT_SYS_RET(mincore((void *)PG, 0, 0), 0);
    KT_EQ(v[0], 0xee);
    /* past user space */
    KT_SYS_ERR(mincore((void *)0x7ffffffff000UL, 2 * PG, v), ENOMEM);
    KT_SYS_ERR(mincore((void *)0x800000000000UL, PG, v), ENOMEM);
    KT_SYS_ERR(mincore(p, (size_t)-4096, v), ENOMEM);
    /* a vector that cannot be written */
    KT_SYS_ERR(mincore(p, PG, 0), EFAULT);
    KT_SYS_ERR(mincore(p, PG, (unsigned char *)0xffff800000000000UL), EFAULT);
    char *ro = map(PG, PROT_READ, MAP_PRIVATE);
    KT_TRUE(ro != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_ERR(mincore(p, PG, (unsigned char *)ro), EFAULT);
    /* the range is looked at before the vector is written */
    KT_SYS_OK(munmap(p + PG, 2 * PG));
    KT_SYS_ERR(mincore(p + PG, PG, 0), ENOMEM);
    KT_SYS_OK(munmap(ro, PG));
    KT_SYS_OK(munmap(p, PG));
}

KT_CASE(a_hole_is_enomem_after_the_pages_before_it) {
    char *p = map(4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 1;
    p[3 * PG] = 1;
    KT_SYS_OK(munmap(p + 2 * PG, PG));
    unsigned char v[4];
    memset(v, 0xee, sizeof v);
    KT_SYS_ERR(mincore(p, 4 * PG, v), ENOMEM);
    /* the mapping before the hole was reported, nothing after */
    KT_EQ(v[0], 1);
    KT_EQ(v[1], 0);
    KT_EQ(v[2], 0xee);
    KT_EQ(v[3], 0xee);
    /* PROT_NONE is mapped */
    KT_SYS_OK(mprotect(p, 2 * PG, PROT_NONE));
    KT_SYS_RET(mincore(p, 2 * PG, v), 0);
    KT_VEC(v, "10");
    /* two mappings in one call */
    KT_TRUE(mmap(p + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p + 2 * PG,
            "MAP_FIXED: %s", kt_errname(errno));
    KT_SYS_RET(mincore(p, 4 * PG, v), 0);
    KT_VEC(v, "1001");
    KT_SYS_OK(munmap(p, 4 * PG));
}

KT_CASE(file_pages_in_the_page_cache_are_resident_unmapped) {
    int fd = KT_SYS_OK(open("/tmp/mincore.file", O_RDWR | O_CREAT | O_TRUNC, 0600));
    char buf[2 * PG];
    memset(buf, 'f', sizeof buf);
    KT_SYS_RET(write(fd, buf, sizeof buf), (long)sizeof buf);
    /* pages 2 and 3 are a hole: not in the cache */
    KT_SYS_OK(ftruncate(fd, 4 * PG));
    unsigned char v[4];
    char *s = mmap(0, 4 * PG, PROT_READ, MAP_SHARED, fd, 0);
    KT_TRUE(s != MAP_FAILED, "mmap shared: %s", kt_errname(errno));
    KT_SYS_RET(mincore(s, 4 * PG, v), 0);
    KT_VEC(v, "1100");
    /* an offset mapping looks at its own pages */
    char *o = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 3 * PG);
    KT_TRUE(o != MAP_FAILED, "mmap offset: %s", kt_errname(errno));
    KT_SYS_RET(mincore(o, PG, v), 0);
    KT_EQ(v[0], 0);
    char *q = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(q != MAP_FAILED, "mmap private: %s", kt_errname(errno));
    KT_SYS_RET(mincore(q, 4 * PG, v), 0);
    KT_VEC(v, "1100");
    /* a page written through write(2) enters the cache */
    KT_SYS_RET(pwrite(fd, "w", 1, 2 * PG), 1);
    KT_SYS_RET(mincore(s, 4 * PG, v), 0);
    KT_VEC(v, "1110");
    /* a private copy of a hole page: resident in this mapping, and the
     * tmpfs fault that read the hole put a page in the file's cache too */
    q[3 * PG] = 'c';
    KT_SYS_RET(mincore(q, 4 * PG, v), 0);
    KT_VEC(v, "1111");
    KT_SYS_RET(mincore(s, 4 * PG, v), 0);
    KT_VEC(v, "1111");
    KT_SYS_RET(mincore(o, PG, v), 0);
    KT_EQ(v[0], 1);
    KT_SYS_OK(munmap(o, PG));
    KT_SYS_OK(munmap(q, 4 * PG));
    KT_SYS_OK(munmap(s, 4 * PG));
    close(fd);
    unlink("/tmp/mincore.file");
}

KT_MAIN()
