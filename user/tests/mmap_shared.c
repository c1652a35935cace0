/* File mappings over the page cache: MAP_SHARED mappings share pages with
 * read/write and with other processes, MAP_PRIVATE copies on write, SIGBUS
 * past the end of the file, msync, /dev/shm and shm_open, memfd_create and
 * its seals, System V shared memory. */
#include "kt.h"

#include <grp.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/statfs.h>

#define PG 4096L

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#define MFD_ALLOW_SEALING 2U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 1
#define F_SEAL_SHRINK 2
#define F_SEAL_GROW 4
#define F_SEAL_WRITE 8
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x10
#endif

static int memfd(const char *name, unsigned flags) { return (int)syscall(SYS_memfd_create, name, flags); }

/* A new file in /tmp of `size` bytes, opened read-write (unlinked). */
static int tmpfile_of(long size) {
    char path[] = "/tmp/mmap_shared_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);
    if (size && ftruncate(fd, size) != 0) return -1;
    return fd;
}


KT_CASE(shared_store_is_seen_by_read) {
    int fd = KT_SYS_OK(tmpfile_of(2 * PG));
    char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    memcpy(p + PG + 10, "hello", 5);
    char buf[5];
    KT_SYS_RET(pread(fd, buf, 5, PG + 10), 5);
    KT_TRUE(memcmp(buf, "hello", 5) == 0, "pread saw %.5s", buf);
    munmap(p, 2 * PG);
    close(fd);
}

KT_CASE(write_is_seen_by_shared_and_private_mappings) {
    int fd = KT_SYS_OK(tmpfile_of(PG));
    char *s = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(s != MAP_FAILED && p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_EQ(p[100], 0);
    KT_SYS_RET(pwrite(fd, "abc", 3, 100), 3);
    KT_EQ(s[100], 'a');
    /* a private page not yet written shows the file */
    KT_EQ(p[101], 'b');
    /* its first write copies it: the file and the shared mapping keep theirs */
    p[100] = 'X';
    KT_EQ(s[100], 'a');
    KT_SYS_RET(pwrite(fd, "Z", 1, 102), 1);
    KT_EQ(s[102], 'Z');
    KT_EQ(p[102], 'c');
    char c;
    KT_SYS_RET(pread(fd, &c, 1, 100), 1);
    KT_EQ(c, 'a');
    munmap(s, PG);
    munmap(p, PG);
    close(fd);
}

KT_CASE(two_opens_share_pages) {
    char path[] = "/tmp/mmap_shared_two_XXXXXX";
    int a = KT_SYS_OK(mkstemp(path));
    KT_SYS_OK(ftruncate(a, PG));
    int b = KT_SYS_OK(open(path, O_RDWR));
    unlink(path);
    volatile char *pa = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
    volatile char *pb = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
    KT_TRUE(pa != MAP_FAILED && pb != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_TRUE(pa != pb, "two mappings");
    pa[7] = 42;
    KT_EQ(pb[7], 42);
    munmap((void *)pa, PG);
    munmap((void *)pb, PG);
    close(a);
    close(b);
}

KT_CASE(shared_file_mapping_is_shared_across_fork) {
    int fd = KT_SYS_OK(tmpfile_of(PG));
    volatile int *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    pid_t c = KT_FORK();
    if (c == 0) {
        p[0] = 1234;
        /* a mapping the child makes itself shares the same pages too */
        volatile int *q = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (q == MAP_FAILED) _exit(2);
        q[1] = 5678;
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(p[0], 1234);
    KT_EQ(p[1], 5678);
    int v;
    KT_SYS_RET(pread(fd, &v, 4, 4), 4);
    KT_EQ(v, 5678);
    munmap((void *)p, PG);
    close(fd);
}

KT_CASE(private_file_mapping_is_copied_across_fork) {
    int fd = KT_SYS_OK(tmpfile_of(PG));
    volatile int *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 1;
    pid_t c = KT_FORK();
    if (c == 0) {
        p[0] = 2;
        _exit(p[0] == 2 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(p[0], 1);
    int v = -1;
    KT_SYS_RET(pread(fd, &v, 4, 0), 4);
    KT_EQ(v, 0);
    munmap((void *)p, PG);
    close(fd);
}

KT_CASE(mapping_outlives_close_and_keeps_the_file) {
    int fd = KT_SYS_OK(tmpfile_of(PG));
    char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    int fd2 = KT_SYS_OK(dup(fd));
    close(fd);
    strcpy(p, "kept");
    munmap(p, PG);
    char buf[5] = {0};
    KT_SYS_RET(pread(fd2, buf, 4, 0), 4);
    KT_TRUE(strcmp(buf, "kept") == 0, "got %s", buf);
    close(fd2);
}

KT_CASE(page_past_end_of_file_is_sigbus) {
    int fd = KT_SYS_OK(tmpfile_of(100));
    volatile char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    /* the page holding the end is there, zero past the end */
    KT_EQ(p[200], 0);
    KT_STATUS(kt_status_of(kt_touch_read, p + PG), kt_killed(SIGBUS));
    KT_STATUS(kt_status_of(kt_touch_write, p + PG), kt_killed(SIGBUS));
    /* the file grows under the mapping: the page becomes reachable */
    KT_SYS_RET(pwrite(fd, "x", 1, PG + 5), 1);
    KT_EQ(p[PG + 5], 'x');
    KT_STATUS(kt_status_of(kt_touch_read, p + PG), kt_exited(0));
    munmap((void *)p, 2 * PG);
    close(fd);
}

KT_CASE(truncate_makes_mapped_pages_sigbus) {
    int fd = KT_SYS_OK(tmpfile_of(3 * PG));
    volatile char *s = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    volatile char *p = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(s != MAP_FAILED && p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    s[2 * PG] = 'a';
    p[2 * PG] = 'b'; /* a private copy */
    KT_SYS_OK(ftruncate(fd, PG + 1));
    KT_EQ(s[PG], 0);
    KT_STATUS(kt_status_of(kt_touch_read, s + 2 * PG), kt_killed(SIGBUS));
    /* truncate takes private copies of the dropped pages too */
    KT_STATUS(kt_status_of(kt_touch_read, p + 2 * PG), kt_killed(SIGBUS));
    /* growing again gives zero pages */
    KT_SYS_OK(ftruncate(fd, 3 * PG));
    KT_EQ(s[2 * PG], 0);
    munmap((void *)s, 3 * PG);
    munmap((void *)p, 3 * PG);
    close(fd);
}

KT_CASE(shared_writable_mapping_needs_a_writable_file) {
    char name[] = "/tmp/mmap_shared_ro_XXXXXX";
    int w = KT_SYS_OK(mkstemp(name));
    KT_SYS_OK(ftruncate(w, PG));
    int r = KT_SYS_OK(open(name, O_RDONLY));
    unlink(name);
    KT_TRUE(mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0) == MAP_FAILED && errno == EACCES,
            "shared RW of O_RDONLY: %s", kt_errname(errno));
    char *ro = mmap(0, PG, PROT_READ, MAP_SHARED, r, 0);
    KT_TRUE(ro != MAP_FAILED, "shared RO: %s", kt_errname(errno));
    KT_SYS_ERR(mprotect(ro, PG, PROT_READ | PROT_WRITE), EACCES);
    char *pv = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, r, 0);
    KT_TRUE(pv != MAP_FAILED, "private RW of O_RDONLY: %s", kt_errname(errno));
    pv[0] = 1;
    int wo = KT_SYS_OK(open("/dev/null", O_WRONLY));
    KT_TRUE(mmap(0, PG, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED, "mapping an O_WRONLY fd");
    munmap(ro, PG);
    munmap(pv, PG);
    close(r);
    close(w);
    close(wo);
}

KT_CASE(msync_checks_and_succeeds) {
    int fd = KT_SYS_OK(tmpfile_of(2 * PG));
    char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    p[0] = 'm';
    KT_SYS_RET(msync(p, 2 * PG, MS_SYNC), 0);
    KT_SYS_RET(msync(p, 1, MS_ASYNC), 0);
    KT_SYS_RET(msync(p, PG, MS_INVALIDATE), 0);
    KT_SYS_RET(msync(p, 0, MS_SYNC), 0);
    /* the length is rounded up to pages with wrapping: near 2^64 it is 0 */
    KT_SYS_RET(msync(p, (size_t)-1, MS_SYNC), 0);
    KT_SYS_RET(msync(p, (size_t)-4095, MS_SYNC), 0);
    KT_SYS_ERR(msync(p, (size_t)-4096, MS_SYNC), ENOMEM);
    KT_SYS_ERR(msync(p + 1, PG, MS_SYNC), EINVAL);
    KT_SYS_ERR(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL);
    KT_SYS_ERR(msync(p, PG, 8), EINVAL);
    KT_SYS_OK(munmap(p + PG, PG));
    KT_SYS_ERR(msync(p, 2 * PG, MS_SYNC), ENOMEM);
    KT_SYS_ERR(msync(p + PG, PG, MS_ASYNC), ENOMEM);
    char c;
    KT_SYS_RET(pread(fd, &c, 1, 0), 1);
    KT_EQ(c, 'm');
    munmap(p, PG);
    close(fd);
}

KT_CASE(proc_files_cannot_be_mapped) {
    int fd = KT_SYS_OK(open("/proc/self/status", O_RDONLY));
    KT_TRUE(mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == ENODEV,
            "mmap of /proc/self/status: %s", kt_errname(errno));
    KT_TRUE(mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == ENODEV,
            "shared mmap of /proc/self/status: %s", kt_errname(errno));
    close(fd);
}

KT_CASE(dev_shm_is_a_tmpfs_for_shm_open) {
    struct statfs sf;
    KT_SYS_OK(statfs("/dev/shm", &sf));
    KT_EQ(sf.f_type, 0x01021994);
    struct stat st;
    KT_SYS_OK(stat("/dev/shm", &st));
    KT_EQ(st.st_mode & 07777, 01777);
    int fd = KT_SYS_OK(shm_open("/kt_shm_test", O_RDWR | O_CREAT | O_EXCL, 0600));
    KT_SYS_OK(access("/dev/shm/kt_shm_test", F_OK));
    KT_SYS_OK(ftruncate(fd, PG));
    volatile int *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    pid_t c = KT_FORK();
    if (c == 0) {
        int f = shm_open("/kt_shm_test", O_RDWR, 0);
        if (f < 0) _exit(2);
        volatile int *q = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
        if (q == MAP_FAILED) _exit(3);
        q[3] = 99;
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(p[3], 99);
    KT_SYS_OK(shm_unlink("/kt_shm_test"));
    KT_SYS_ERR(shm_open("/kt_shm_test", O_RDWR, 0), ENOENT);
    munmap((void *)p, PG);
    close(fd);
}

KT_CASE(memfd_create_makes_an_anonymous_file) {
    int fd = KT_SYS_OK(memfd("kt-memfd", 0));
    KT_SYS_RET(write(fd, "data", 4), 4);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 4);
    KT_EQ(st.st_nlink, 0);
    KT_TRUE(S_ISREG(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(st.st_mode & 0777, 0777);
    KT_EQ(fcntl(fd, F_GETFD), 0);
    KT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
    char path[64], link[128];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = KT_SYS_OK(readlink(path, link, sizeof link - 1));
    link[n] = 0;
    KT_TRUE(strcmp(link, "/memfd:kt-memfd (deleted)") == 0, "link %s", link);
    char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_EQ(p[2], 't');
    p[0] = 'D';
    char buf[4];
    KT_SYS_RET(pread(fd, buf, 4, 0), 4);
    KT_EQ(buf[0], 'D');
    munmap(p, PG);
    close(fd);
    int c = KT_SYS_OK(memfd("x", MFD_CLOEXEC));
    KT_EQ(fcntl(c, F_GETFD), FD_CLOEXEC);
    close(c);
}

KT_CASE(memfd_create_errors) {
    KT_SYS_ERR(memfd("x", 0x100), EINVAL);
    KT_SYS_ERR(memfd("x", 0x80000000U), EINVAL);
    char name[300];
    memset(name, 'n', sizeof name);
    name[250] = 0;
    KT_SYS_ERR(memfd(name, 0), EINVAL);
    name[249] = 0;
    int fd = KT_SYS_OK(memfd(name, 0));
    close(fd);
    KT_SYS_ERR(syscall(SYS_memfd_create, (char *)8, 0), EFAULT);
}

KT_CASE(seals_without_allow_sealing) {
    int fd = KT_SYS_OK(memfd("s", 0));
    KT_SYS_RET(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
    KT_SYS_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    close(fd);
    /* a tmpfs file has the same seals */
    int t = KT_SYS_OK(tmpfile_of(0));
    KT_SYS_RET(fcntl(t, F_GET_SEALS), F_SEAL_SEAL);
    close(t);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(fcntl(p[0], F_GET_SEALS), EINVAL);
    KT_SYS_ERR(fcntl(p[1], F_ADD_SEALS, F_SEAL_GROW), EINVAL);
    close(p[0]);
    close(p[1]);
}

KT_CASE(shrink_and_grow_seals) {
    int fd = KT_SYS_OK(memfd("s", MFD_ALLOW_SEALING));
    KT_SYS_RET(fcntl(fd, F_GET_SEALS), 0);
    KT_SYS_OK(ftruncate(fd, 2 * PG));
    KT_SYS_RET(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
    KT_SYS_ERR(ftruncate(fd, PG), EPERM);
    KT_SYS_OK(ftruncate(fd, 3 * PG));
    KT_SYS_RET(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
    KT_SYS_RET(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
    KT_SYS_ERR(ftruncate(fd, 4 * PG), EPERM);
    KT_SYS_OK(ftruncate(fd, 3 * PG));
    /* writes inside the file are fine, past its end are not */
    KT_SYS_RET(pwrite(fd, "ab", 2, 100), 2);
    KT_SYS_ERR(pwrite(fd, "ab", 2, 3 * PG), EPERM);
    KT_SYS_ERR(fcntl(fd, F_ADD_SEALS, 0x100), EINVAL);
    KT_SYS_RET(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
    KT_SYS_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    close(fd);
}

KT_CASE(write_seal) {
    int fd = KT_SYS_OK(memfd("w", MFD_ALLOW_SEALING));
    KT_SYS_OK(ftruncate(fd, PG));
    char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    /* a writable shared mapping exists */
    KT_SYS_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
    munmap(p, PG);
    /* a private one does not count */
    p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_RET(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
    KT_SYS_ERR(write(fd, "x", 1), EPERM);
    KT_SYS_ERR(pwrite(fd, "x", 1, 0), EPERM);
    KT_TRUE(mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM,
            "shared RW after F_SEAL_WRITE: %s", kt_errname(errno));
    char *ro = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0);
    KT_TRUE(ro != MAP_FAILED, "shared RO after F_SEAL_WRITE: %s", kt_errname(errno));
    /* which may not become writable */
    KT_SYS_ERR(mprotect(ro, PG, PROT_READ | PROT_WRITE), EACCES);
    p[0] = 'p';
    KT_EQ(ro[0], 0);
    munmap(p, PG);
    munmap(ro, PG);
    close(fd);
}

KT_CASE(future_write_seal) {
    int fd = KT_SYS_OK(memfd("fw", MFD_ALLOW_SEALING));
    KT_SYS_OK(ftruncate(fd, PG));
    volatile char *w = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    KT_TRUE(w != MAP_FAILED, "mmap: %s", kt_errname(errno));
    /* unlike F_SEAL_WRITE, a writable shared mapping does not stop it */
    KT_SYS_RET(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
    KT_SYS_RET(fcntl(fd, F_GET_SEALS), F_SEAL_FUTURE_WRITE);
    KT_SYS_ERR(write(fd, "x", 1), EPERM);
    KT_SYS_ERR(pwrite(fd, "x", 1, 0), EPERM);
    /* the mapping made before still writes the file */
    w[0] = 'w';
    char c;
    KT_SYS_RET(pread(fd, &c, 1, 0), 1);
    KT_EQ(c, 'w');
    /* no new writable shared mapping, nor a read-only one made writable */
    KT_TRUE(mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM,
            "shared RW after F_SEAL_FUTURE_WRITE: %s", kt_errname(errno));
    char *ro = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0);
    KT_TRUE(ro != MAP_FAILED, "shared RO: %s", kt_errname(errno));
    KT_EQ(ro[0], 'w');
    KT_SYS_ERR(mprotect(ro, PG, PROT_READ | PROT_WRITE), EACCES);
    /* a private mapping copies on write */
    char *pv = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    KT_TRUE(pv != MAP_FAILED, "private: %s", kt_errname(errno));
    pv[0] = 'p';
    KT_EQ(ro[0], 'w');
    /* F_SEAL_WRITE still counts the old writable mapping */
    KT_SYS_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
    munmap((void *)w, PG);
    munmap(ro, PG);
    munmap(pv, PG);
    close(fd);
}

KT_CASE(sysv_shm_is_shared_across_processes) {
    int id = KT_SYS_OK(shmget(IPC_PRIVATE, 2 * PG, IPC_CREAT | 0600));
    volatile int *p = shmat(id, 0, 0);
    KT_TRUE(p != (void *)-1, "shmat: %s", kt_errname(errno));
    KT_EQ(p[0], 0);
    p[0] = 11;
    struct shmid_ds ds;
    KT_SYS_RET(shmctl(id, IPC_STAT, &ds), 0);
    KT_EQ(ds.shm_segsz, 2 * PG);
    KT_EQ(ds.shm_nattch, 1);
    KT_EQ(ds.shm_cpid, getpid());
    KT_EQ(ds.shm_lpid, getpid());
    KT_EQ(ds.shm_perm.mode & 0777, 0600);
    KT_EQ(ds.shm_perm.uid, geteuid());
    KT_EQ(ds.shm_perm.__ipc_perm_key, IPC_PRIVATE);
    KT_TRUE(ds.shm_atime != 0 && ds.shm_ctime != 0, "times %ld %ld", (long)ds.shm_atime, (long)ds.shm_ctime);
    pid_t c = KT_FORK();
    if (c == 0) {
        /* the attachment is inherited, and a second one sees the same pages */
        volatile int *q = shmat(id, 0, 0);
        if (q == (void *)-1 || q[0] != 11 || p[0] != 11) _exit(2);
        q[PG / 4] = 22;
        _exit(shmdt((void *)q) == 0 ? 0 : 3);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(p[PG / 4], 22);
    KT_SYS_RET(shmdt((void *)p), 0);
    KT_SYS_RET(shmctl(id, IPC_STAT, &ds), 0);
    KT_EQ(ds.shm_nattch, 0);
    KT_TRUE(ds.shm_dtime != 0, "dtime %ld", (long)ds.shm_dtime);
    /* the pages stay with the segment while it exists */
    p = shmat(id, 0, SHM_RDONLY);
    KT_TRUE(p != (void *)-1, "shmat: %s", kt_errname(errno));
    KT_EQ(p[0], 11);
    KT_STATUS(kt_status_of(kt_touch_write, (volatile char *)p), kt_killed(SIGSEGV));
    KT_SYS_RET(shmdt((void *)p), 0);
    KT_SYS_RET(shmctl(id, IPC_RMID, 0), 0);
    KT_SYS_ERR(shmctl(id, IPC_STAT, &ds), EINVAL);
    KT_TRUE(shmat(id, 0, 0) == (void *)-1 && errno == EINVAL, "shmat after IPC_RMID: %s", kt_errname(errno));
}

KT_CASE(sysv_shm_removed_while_attached) {
    int id = KT_SYS_OK(shmget(IPC_PRIVATE, PG, 0600));
    char *p = shmat(id, 0, 0);
    KT_TRUE(p != (void *)-1, "shmat: %s", kt_errname(errno));
    strcpy(p, "alive");
    KT_SYS_RET(shmctl(id, IPC_RMID, 0), 0);
    struct shmid_ds ds;
    KT_SYS_RET(shmctl(id, IPC_STAT, &ds), 0);
    KT_EQ(ds.shm_perm.mode & 01000, 01000);
    KT_EQ(ds.shm_nattch, 1);
    KT_TRUE(strcmp(p, "alive") == 0, "content %s", p);
    KT_SYS_RET(shmdt(p), 0);
    KT_SYS_ERR(shmctl(id, IPC_STAT, &ds), EINVAL);
}

KT_CASE(sysv_shm_keys) {
    key_t key = 0x4b540000 + getpid();
    KT_SYS_ERR(shmget(key, PG, 0600), ENOENT);
    int id = KT_SYS_OK(shmget(key, PG, IPC_CREAT | IPC_EXCL | 0600));
    KT_SYS_RET(shmget(key, PG, 0600), id);
    KT_SYS_RET(shmget(key, 10, IPC_CREAT | 0600), id);
    KT_SYS_ERR(shmget(key, PG, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    KT_SYS_ERR(shmget(key, 2 * PG, 0600), EINVAL);
    struct shmid_ds ds;
    KT_SYS_RET(shmctl(id, IPC_STAT, &ds), 0);
    KT_EQ(ds.shm_perm.__ipc_perm_key, key);
    KT_EQ(ds.shm_segsz, PG);
    ds.shm_perm.mode = 0640;
    KT_SYS_RET(shmctl(id, IPC_SET, &ds), 0);
    KT_SYS_RET(shmctl(id, IPC_STAT, &ds), 0);
    KT_EQ(ds.shm_perm.mode & 0777, 0640);
    KT_SYS_RET(shmctl(id, IPC_RMID, 0), 0);
    KT_SYS_ERR(shmget(key, PG, 0600), ENOENT);
}

KT_CASE(sysv_shmget_checks_every_permission_triplet_of_its_flags) {
    key_t key = 0x4b550000 + getpid();
    int id = KT_SYS_OK(shmget(key, PG, IPC_CREAT | IPC_EXCL | 0604));
    pid_t pid = KT_SYS_OK(fork());
    if (pid == 0) {
        if (setgroups(0, 0) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        /* ipcperms asks (flags >> 6) | (flags >> 3) | flags of "other" 04 */
        if (shmget(key, 0, 0) != id) _exit(3);
        if (shmget(key, 0, 0004) != id || shmget(key, 0, 0400) != id || shmget(key, 0, 0040) != id) _exit(4);
        if (shmget(key, 0, 0002) != -1 || errno != EACCES) _exit(5);
        if (shmget(key, 0, 0020) != -1 || errno != EACCES) _exit(6);
        if (shmget(key, 0, 0100) != -1 || errno != EACCES) _exit(7);
        if (shmget(key, 0, 0644) != -1 || errno != EACCES) _exit(8);
        _exit(0);
    }
    int st;
    KT_SYS_RET(waitpid(pid, &st, 0), pid);
    KT_EQ(st, 0);
    KT_SYS_RET(shmctl(id, IPC_RMID, 0), 0);
}

KT_CASE(sysv_shm_errors) {
    KT_SYS_ERR(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
    KT_TRUE(shmat(-1, 0, 0) == (void *)-1 && errno == EINVAL, "shmat(-1): %s", kt_errname(errno));
    int id = KT_SYS_OK(shmget(IPC_PRIVATE, PG, 0600));
    KT_TRUE(shmat(id, (void *)0x10000001, 0) == (void *)-1 && errno == EINVAL, "unaligned: %s",
            kt_errname(errno));
    /* SHM_RND rounds the address down */
    char *want = mmap(0, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(want != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_OK(munmap(want, 2 * PG));
    char *got = shmat(id, want + 5, SHM_RND);
    KT_TRUE(got == want, "SHM_RND: got %p want %p (%s)", (void *)got, (void *)want, kt_errname(errno));
    /* an address in use needs SHM_REMAP */
    KT_TRUE(shmat(id, want, 0) == (void *)-1 && errno == EINVAL, "in use: %s", kt_errname(errno));
    KT_TRUE(shmat(id, want, SHM_REMAP) == want, "SHM_REMAP: %s", kt_errname(errno));
    KT_SYS_RET(shmdt(want), 0);
    KT_SYS_ERR(shmdt(want), EINVAL);
    /* SHM_REMAP needs an address; a size past MAX_LFS_FILESIZE is EINVAL */
    KT_TRUE(shmat(id, 0, SHM_REMAP) == (void *)-1 && errno == EINVAL, "SHM_REMAP at 0: %s", kt_errname(errno));
    KT_SYS_ERR(shmget(IPC_PRIVATE, (size_t)1 << 63, IPC_CREAT | 0600), EINVAL);
    char *anon = mmap(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_SYS_ERR(shmdt(anon), EINVAL);
    KT_SYS_ERR(shmdt(anon + 1), EINVAL);
    munmap(anon, PG);
    KT_SYS_ERR(shmctl(id, 99, 0), EINVAL);
    /* IPC_SET copies the buffer in before it looks the id up */
    KT_SYS_ERR(shmctl(id, IPC_SET, (struct shmid_ds *)8), EFAULT);
    KT_SYS_ERR(shmctl(0x7fff0000, IPC_SET, (struct shmid_ds *)8), EFAULT);
    KT_SYS_ERR(shmctl(0x7fff0000, IPC_RMID, 0), EINVAL);
    KT_SYS_RET(shmctl(id, IPC_RMID, 0), 0);
    KT_SYS_ERR(shmctl(id, IPC_RMID, 0), EINVAL);
}

KT_CASE(deleted_tmpfs_file_gives_its_memory_back) {
    long before = kt_meminfo_kb("MemFree:");
    KT_TRUE(before > 0, "MemFree %ld", before);
    int fd = KT_SYS_OK(open("/tmp/kt_memfree", O_RDWR | O_CREAT | O_TRUNC, 0600));
    static char chunk[65536];
    memset(chunk, 'm', sizeof chunk);
    for (int i = 0; i < 512; i++) KT_SYS_RET(write(fd, chunk, sizeof chunk), (long)sizeof chunk);
    long full = kt_meminfo_kb("MemFree:");
    KT_TRUE(before - full >= 24 * 1024, "32 MiB written: MemFree %ld -> %ld kB", before, full);
    close(fd);
    KT_SYS_OK(unlink("/tmp/kt_memfree"));
    long after = kt_meminfo_kb("MemFree:");
    KT_TRUE(after >= before - 4096, "after unlink: MemFree %ld kB, was %ld kB", after, before);
}

KT_CASE(removed_sysv_segment_gives_its_memory_back_when_its_last_attacher_exits) {
    long before = kt_meminfo_kb("MemFree:");
    KT_TRUE(before > 0, "MemFree %ld", before);
    int id = KT_SYS_OK(shmget(IPC_PRIVATE, 32 << 20, IPC_CREAT | 0600));
    pid_t pid = KT_SYS_OK(fork());
    if (pid == 0) {
        char *p = shmat(id, 0, 0);
        if (p == (void *)-1) _exit(2);
        memset(p, 's', 32 << 20);
        if (shmctl(id, IPC_RMID, 0) != 0) _exit(3);
        if (before - kt_meminfo_kb("MemFree:") < 24 * 1024) _exit(4);
        /* no shmdt: the exit detaches */
        _exit(0);
    }
    int st;
    KT_SYS_RET(waitpid(pid, &st, 0), pid);
    KT_EQ(st, 0);
    /* nothing else was asked of System V IPC since the exit */
    long after = kt_meminfo_kb("MemFree:");
    KT_TRUE(after >= before - 4096, "after the exit: MemFree %ld kB, was %ld kB", after, before);
    struct shmid_ds ds;
    KT_SYS_ERR(shmctl(id, IPC_STAT, &ds), EINVAL);
}

KT_CASE(drained_pipes_give_their_memory_back) {
    int fds[16][2];
    long before = kt_meminfo_kb("MemFree:");
    static char chunk[65536];
    memset(chunk, 'p', sizeof chunk);
    for (int i = 0; i < 16; i++) {
        KT_SYS_OK(pipe2(fds[i], O_NONBLOCK));
        KT_SYS_RET(fcntl(fds[i][1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
        for (int k = 0; k < 16; k++) KT_SYS_RET(write(fds[i][1], chunk, sizeof chunk), (long)sizeof chunk);
        KT_SYS_ERR(write(fds[i][1], chunk, 1), EAGAIN);
    }
    long full = kt_meminfo_kb("MemFree:");
    KT_TRUE(before - full >= 12 * 1024, "16 MiB in pipes: MemFree %ld -> %ld kB", before, full);
    for (int i = 0; i < 16; i++) {
        for (int k = 0; k < 16; k++) KT_SYS_RET(read(fds[i][0], chunk, sizeof chunk), (long)sizeof chunk);
    }
    long drained = kt_meminfo_kb("MemFree:");
    /* what stays (a spare page per pipe, the kernel's own growth) is far
     * below the 16 MiB a heap that never shrinks would keep */
    KT_TRUE(drained >= before - 4096, "drained: MemFree %ld kB, was %ld kB", drained, before);
    for (int i = 0; i < 16; i++) {
        close(fds[i][0]);
        close(fds[i][1]);
    }
}

KT_MAIN()
