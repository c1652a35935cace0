/* A dynamically linked program for user/tests/exec_dynamic.c, built twice:
 * with gcc against glibc (/usr/local/bin/hello-glibc, interpreter
 * /lib64/ld-linux-x86-64.so.2) and with musl-gcc against musl
 * (/usr/local/bin/hello-musl, interpreter /lib/ld-musl-x86_64.so.1).
 *
 *   hello          prints "hello from <libc>" and exits with 7
 *   hello auxv     checks what the kernel gave it (auxv, break) and prints
 *                  "auxv ok", or the first check that failed; exits 0 or 1
 *   hello exe      prints the target of /proc/self/exe
 *   hello maps     prints the name of the mapping at AT_BASE (the
 *                  interpreter) in /proc/self/maps
 *   hello rseq     glibc: prints "rseq <__rseq_size> ok|bad thread ok|bad":
 *                  the main thread's and a new thread's struct rseq (glibc
 *                  registers each at start) hold the CPU getcpu(2) names;
 *                  musl registers none: "rseq none"
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <sys/rseq.h>
#endif

#ifdef __GLIBC__
#define LIBC "glibc"
#else
#define LIBC "musl"
#endif

extern const char __ehdr_start[]; /* the program's ELF header (linker-made) */
extern char _start[];
extern char end[];

#define CHECK(cond)                                  \
    do {                                             \
        if (!(cond)) {                               \
            printf("auxv bad: %s\n", #cond);         \
            return 1;                                \
        }                                            \
    } while (0)

static int auxv(const char *argv0) {
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)__ehdr_start;
    uintptr_t base = getauxval(AT_BASE);
    CHECK(base != 0);
    CHECK(base % 4096 == 0);
    /* the interpreter's own ELF header is mapped at its base */
    CHECK(memcmp((const void *)base, ELFMAG, SELFMAG) == 0);
    CHECK(((const Elf64_Ehdr *)base)->e_type == ET_DYN);
    CHECK(getauxval(AT_ENTRY) == (uintptr_t)_start);
    CHECK(getauxval(AT_PHDR) == (uintptr_t)__ehdr_start + eh->e_phoff);
    CHECK(getauxval(AT_PHNUM) == eh->e_phnum);
    CHECK(getauxval(AT_PHENT) == sizeof(Elf64_Phdr));
    CHECK(getauxval(AT_PAGESZ) == 4096);
    CHECK(getauxval(AT_FLAGS) == 0);
    CHECK(getauxval(AT_CLKTCK) == 100);
    CHECK(getauxval(AT_SECURE) == 0);
    CHECK(getauxval(AT_UID) == getuid() && getauxval(AT_EUID) == geteuid());
    CHECK(getauxval(AT_GID) == getgid() && getauxval(AT_EGID) == getegid());
    CHECK(getauxval(AT_RANDOM) != 0);
    CHECK(getauxval(AT_PLATFORM) != 0 && strcmp((const char *)getauxval(AT_PLATFORM), "x86_64") == 0);
    CHECK(getauxval(AT_EXECFN) != 0 && strcmp((const char *)getauxval(AT_EXECFN), argv0) == 0);
    /* the program is a PIE here, below the interpreter */
    CHECK(eh->e_type == ET_DYN);
    CHECK((uintptr_t)__ehdr_start < base);
    /* the break follows the program, not the interpreter */
    uintptr_t brk = (uintptr_t)sbrk(0);
    CHECK(brk >= (uintptr_t)end);
    CHECK(brk < base);
    printf("auxv ok\n");
    return 0;
}

static int maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        perror("/proc/self/maps");
        return 1;
    }
    char line[512];
    unsigned long base = getauxval(AT_BASE);
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        char *name = strchr(line, '/');
        if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start == base && name) {
            printf("%s", name);
            fclose(f);
            return 0;
        }
    }
    fclose(f);
    printf("no mapping at AT_BASE %lx\n", base);
    return 1;
}

#ifdef __GLIBC__
/* Whether this thread's glibc-registered struct rseq names the CPU it runs
 * on (a move between the reads is retried). */
static int rseq_cpu_ok(void) {
    char *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    volatile struct rseq *r = (volatile struct rseq *)(tp + __rseq_offset);
    for (int i = 0; i < 100; i++) {
        unsigned cpu = ~0u;
        uint32_t a = r->cpu_id;
        if (syscall(SYS_getcpu, &cpu, 0, 0) == 0 && a == cpu && r->cpu_id_start == cpu) return 1;
    }
    return 0;
}

static void *rseq_thread(void *arg) {
    (void)arg;
    return (void *)(long)rseq_cpu_ok();
}
#endif

static int rseq_mode(void) {
#ifdef __GLIBC__
    if (__rseq_size == 0) {
        printf("rseq 0\n");
        return 1;
    }
    int main_ok = rseq_cpu_ok();
    pthread_t th;
    void *r = 0;
    if (pthread_create(&th, 0, rseq_thread, 0) != 0 || pthread_join(th, &r) != 0) r = 0;
    printf("rseq %u %s thread %s\n", __rseq_size, main_ok ? "ok" : "bad", r ? "ok" : "bad");
    return main_ok && r ? 0 : 1;
#else
    printf("rseq none\n");
    return 0;
#endif
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "rseq") == 0) return rseq_mode();
    if (argc > 1 && strcmp(argv[1], "maps") == 0) return maps();
    if (argc > 1 && strcmp(argv[1], "auxv") == 0) return auxv(argv[0]);
    if (argc > 1 && strcmp(argv[1], "exe") == 0) {
        char buf[4096];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n < 0) {
            perror("readlink");
            return 1;
        }
        buf[n] = 0;
        printf("%s\n", buf);
        return 0;
    }
    printf("hello from %s\n", LIBC);
    return 7;
}
