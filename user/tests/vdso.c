/* The vDSO: AT_SYSINFO_EHDR names an ELF shared object mapped as [vdso]
 * right above [vvar]; its five functions are found by name and version
 * LINUX_2.6 (a tiny ELF lookup, as musl's vdsosym); each agrees with its
 * system call; the clocks never go back, also when the thread moves
 * between CPUs; [vvar] cannot be made writable; a fork keeps it all. */
#include "kt.h"

#include <elf.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

typedef long (*cg_fn)(long, struct timespec *);
typedef long (*gtod_fn)(struct timeval *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static const unsigned char *vdso_base(void) {
    return (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
}

/* The address of symbol `name` of version `ver` in the vDSO, 0 when there
 * is none; *bind gets its binding (STB_GLOBAL, STB_WEAK). */
static void *vdso_sym(const char *name, const char *ver, int *bind) {
    const unsigned char *b = vdso_base();
    if (!b) return 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(b + eh->e_phoff);
    uintptr_t bias = 0;
    const Elf64_Dyn *dyn = 0;
    int have_load = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !have_load) {
            bias = (uintptr_t)b + ph[i].p_offset - ph[i].p_vaddr;
            have_load = 1;
        }
        if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn *)(b + ph[i].p_offset);
    }
    if (!have_load || !dyn) return 0;
    const uint32_t *hash = 0;
    const Elf64_Sym *syms = 0;
    const char *strs = 0;
    const uint16_t *versym = 0;
    const Elf64_Verdef *verdef = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        const void *p = (const void *)(bias + dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_HASH: hash = p; break;
        case DT_SYMTAB: syms = p; break;
        case DT_STRTAB: strs = p; break;
        case DT_VERSYM: versym = p; break;
        case DT_VERDEF: verdef = p; break;
        }
    }
    if (!hash || !syms || !strs || !versym || !verdef) return 0;
    for (uint32_t i = 1; i < hash[1]; i++) {
        if (strcmp(strs + syms[i].st_name, name) != 0) continue;
        if (syms[i].st_shndx == SHN_UNDEF || ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC) continue;
        const Elf64_Verdef *d = verdef;
        for (;;) {
            if (!(d->vd_flags & VER_FLG_BASE) && (d->vd_ndx & 0x7fff) == (versym[i] & 0x7fff)) {
                const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
                if (strcmp(strs + aux->vda_name, ver) != 0) return 0;
                if (bind) *bind = ELF64_ST_BIND(syms[i].st_info);
                return (void *)(bias + syms[i].st_value);
            }
            if (!d->vd_next) return 0;
            d = (const Elf64_Verdef *)((const char *)d + d->vd_next);
        }
    }
    return 0;
}

static long long ts_ns(struct timespec t) {
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return sched_setaffinity(0, sizeof s, &s);
}

static cpu_set_t initial;
__attribute__((constructor)) static void save_initial(void) {
    CPU_ZERO(&initial);
    sched_getaffinity(0, sizeof initial, &initial);
}
static void unpin(void) {
    sched_setaffinity(0, sizeof initial, &initial);
}

KT_CASE(auxv_names_an_elf_shared_object) {
    const unsigned char *b = vdso_base();
    KT_TRUE(b != 0, "no AT_SYSINFO_EHDR");
    KT_EQ((uintptr_t)b % 4096, 0);
    KT_EQ(memcmp(b, ELFMAG, SELFMAG), 0);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
    KT_EQ(eh->e_ident[EI_CLASS], ELFCLASS64);
    KT_EQ(eh->e_type, ET_DYN);
    KT_EQ(eh->e_machine, EM_X86_64);
    KT_EQ(eh->e_phentsize, sizeof(Elf64_Phdr));
}

/* "[vdso]" r-xp at AT_SYSINFO_EHDR, "[vvar]" r--p ending where it starts. */
KT_CASE(maps_show_vvar_right_below_vdso) {
    FILE *f = fopen("/proc/self/maps", "r");
    KT_TRUE(f != 0, "open /proc/self/maps");
    char line[512];
    unsigned long vs = 0, ve = 0, ds = 0, de = 0;
    char vp[5] = "", dp[5] = "";
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char perm[5];
        if (sscanf(line, "%lx-%lx %4s", &s, &e, perm) != 3) continue;
        if (strstr(line, " [vvar]\n")) vs = s, ve = e, memcpy(vp, perm, 5);
        if (strstr(line, " [vdso]\n")) ds = s, de = e, memcpy(dp, perm, 5);
    }
    fclose(f);
    KT_EQ(ds, (uintptr_t)vdso_base());
    KT_TRUE(de > ds, "[vdso] %lx-%lx", ds, de);
    KT_TRUE(strcmp(dp, "r-xp") == 0, "[vdso] is %s", dp);
    KT_TRUE(strcmp(vp, "r--p") == 0, "[vvar] is %s", vp);
    KT_EQ(ve, ds);
    KT_TRUE(vs < ve, "[vvar] %lx-%lx", vs, ve);
}

static const char *const FUNCS[] = {"clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"};

KT_CASE(the_five_functions_are_found_with_version_linux_2_6) {
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "__vdso_%s", FUNCS[i]);
        int bind = -1, wbind = -1;
        void *p = vdso_sym(name, "LINUX_2.6", &bind);
        KT_TRUE(p != 0, "%s not found", name);
        KT_EQ(bind, STB_GLOBAL);
        /* the unprefixed name is a weak alias */
        KT_TRUE(vdso_sym(FUNCS[i], "LINUX_2.6", &wbind) == p, "%s", FUNCS[i]);
        KT_EQ(wbind, STB_WEAK);
        KT_TRUE(vdso_sym(name, "LINUX_2.5", 0) == 0, "%s has another version", name);
    }
    KT_TRUE(vdso_sym("__vdso_nothing", "LINUX_2.6", 0) == 0, "found a symbol that is not there");
}

/* The vDSO's clock lies between two system calls around it. */
KT_CASE(clock_gettime_agrees_with_the_system_call) {
    cg_fn cg = (cg_fn)vdso_sym("__vdso_clock_gettime", "LINUX_2.6", 0);
    KT_TRUE(cg != 0, "no __vdso_clock_gettime");
    static const int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
                                 CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, 11 /* TAI */};
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        for (int round = 0; round < 50; round++) {
            struct timespec a, b, c;
            KT_EQ(syscall(SYS_clock_gettime, clocks[i], &a), 0);
            KT_EQ(cg(clocks[i], &b), 0);
            KT_EQ(syscall(SYS_clock_gettime, clocks[i], &c), 0);
            KT_TRUE(b.tv_nsec >= 0 && b.tv_nsec < 1000000000, "clock %d: nsec %ld", clocks[i], b.tv_nsec);
            KT_TRUE(ts_ns(a) <= ts_ns(b) && ts_ns(b) <= ts_ns(c), "clock %d: %lld %lld %lld", clocks[i],
                    ts_ns(a), ts_ns(b), ts_ns(c));
        }
    }
    /* the CPU-time clocks go to the system call: they still work */
    struct timespec t = {0, 0};
    KT_EQ(cg(CLOCK_PROCESS_CPUTIME_ID, &t), 0);
    KT_TRUE(t.tv_nsec >= 0 && t.tv_nsec < 1000000000, "process CPU time %lld", ts_ns(t));
    KT_EQ(cg(CLOCK_THREAD_CPUTIME_ID, &t), 0);
    /* an unknown clock: the system call's -EINVAL, returned as is */
    KT_EQ(cg(100, &t), -EINVAL);
    KT_EQ(cg(-1, &t), -EINVAL);
    /* and the C library's clock_gettime (which uses it) agrees too */
    struct timespec a, b;
    KT_SYS_OK(clock_gettime(CLOCK_MONOTONIC, &a));
    KT_EQ(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b), 0);
    KT_TRUE(ts_ns(a) <= ts_ns(b), "libc %lld, syscall %lld", ts_ns(a), ts_ns(b));
}

KT_CASE(monotonic_never_goes_back_over_many_calls_and_cpu_moves) {
    cg_fn cg = (cg_fn)vdso_sym("__vdso_clock_gettime", "LINUX_2.6", 0);
    KT_TRUE(cg != 0, "no __vdso_clock_gettime");
    struct timespec t;
    KT_EQ(cg(CLOCK_MONOTONIC, &t), 0);
    long long last = ts_ns(t);
    for (int i = 0; i < 100000; i++) {
        KT_EQ(cg(CLOCK_MONOTONIC, &t), 0);
        long long now = ts_ns(t);
        KT_TRUE(now >= last, "call %d: %lld after %lld", i, now, last);
        last = now;
    }
    int ncpu = CPU_COUNT(&initial);
    int back = 0;
    long long worst = 0;
    for (int i = 0; i < 200 && ncpu > 1; i++) {
        KT_SYS_OK(pin(i % 2));
        for (int k = 0; k < 3; k++) {
            KT_EQ(cg(k == 1 ? CLOCK_BOOTTIME : CLOCK_MONOTONIC, &t), 0);
            long long now = ts_ns(t);
            if (now < last) {
                back++;
                if (last - now > worst) worst = last - now;
            }
            last = now;
        }
    }
    unpin();
    KT_TRUE(back == 0, "%d readings went back (by up to %lld ns)", back, worst);
}

KT_CASE(gettimeofday_time_and_getcpu_agree_with_their_system_calls) {
    gtod_fn gtod = (gtod_fn)vdso_sym("__vdso_gettimeofday", "LINUX_2.6", 0);
    time_fn tm = (time_fn)vdso_sym("__vdso_time", "LINUX_2.6", 0);
    getcpu_fn gc = (getcpu_fn)vdso_sym("__vdso_getcpu", "LINUX_2.6", 0);
    KT_TRUE(gtod && tm && gc, "missing symbols");
    for (int round = 0; round < 20; round++) {
        struct timeval a, b, c;
        KT_EQ(syscall(SYS_gettimeofday, &a, 0), 0);
        KT_EQ(gtod(&b, 0), 0);
        KT_EQ(syscall(SYS_gettimeofday, &c, 0), 0);
        long long ua = a.tv_sec * 1000000LL + a.tv_usec, ub = b.tv_sec * 1000000LL + b.tv_usec,
                  uc = c.tv_sec * 1000000LL + c.tv_usec;
        KT_TRUE(b.tv_usec >= 0 && b.tv_usec < 1000000, "usec %ld", b.tv_usec);
        KT_TRUE(ua <= ub && ub <= uc, "%lld %lld %lld", ua, ub, uc);
        /* time: between the gettimeofday seconds around it */
        long t0 = (long)syscall(SYS_time, 0), stored = -1;
        long t1 = tm(&stored);
        long t2 = (long)syscall(SYS_time, 0);
        KT_EQ(stored, t1);
        KT_TRUE(t0 <= t1 && t1 <= t2, "%ld %ld %ld", t0, t1, t2);
        KT_TRUE(tm(0) >= t1, "time went back");
    }
    /* the time zone is zeros, as the system call's */
    struct {
        int west, dst;
    } tz = {7, 7}, stz = {8, 8};
    KT_EQ(gtod(0, &tz), 0);
    KT_EQ(syscall(SYS_gettimeofday, 0, &stz), 0);
    KT_EQ(tz.west, stz.west);
    KT_EQ(tz.dst, stz.dst);
    /* getcpu: the CPU the thread is pinned to, node 0 */
    int ncpu = CPU_COUNT(&initial);
    for (int cpu = 0; cpu < ncpu && cpu < 2; cpu++) {
        KT_SYS_OK(pin(cpu));
        unsigned c = 99, n = 99, sc = 98, sn = 98;
        KT_EQ(gc(&c, &n, 0), 0);
        KT_EQ(syscall(SYS_getcpu, &sc, &sn, 0), 0);
        KT_EQ(c, (unsigned)cpu);
        KT_EQ(sc, (unsigned)cpu);
        KT_EQ(n, sn);
        KT_EQ(gc(0, 0, 0), 0);
    }
    unpin();
}

KT_CASE(clock_getres_agrees_with_the_system_call) {
    typedef long (*res_fn)(long, struct timespec *);
    res_fn gr = (res_fn)vdso_sym("__vdso_clock_getres", "LINUX_2.6", 0);
    KT_TRUE(gr != 0, "no __vdso_clock_getres");
    for (long clk = -1; clk <= 12; clk++) {
        struct timespec a = {5, 5}, b = {6, 6};
        long ra = gr(clk, &a);
        long rb = syscall(SYS_clock_getres, clk, &b);
        if (rb == -1) {
            KT_EQ(ra, -errno);
            continue;
        }
        KT_EQ(ra, 0);
        KT_EQ(a.tv_sec, b.tv_sec);
        KT_EQ(a.tv_nsec, b.tv_nsec);
        KT_EQ(gr(clk, 0), 0);
    }
}

/* [vvar] cannot be made writable (EACCES); [vdso] can (a private copy, as
 * for any private mapping): in a child, whose parent keeps its vDSO. */
static int vdso_write_child(void) {
    const unsigned char *b = vdso_base();
    FILE *f = fopen("/proc/self/maps", "r");
    KT_CHILD_CHECK(1, f != 0);
    char line[512];
    unsigned long vs = 0, ds = 0, de = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) != 2) continue;
        if (strstr(line, " [vvar]\n")) vs = s;
        if (strstr(line, " [vdso]\n")) ds = s, de = e;
    }
    fclose(f);
    KT_CHILD_CHECK(2, vs != 0 && ds == (uintptr_t)b);
    KT_CHILD_CHECK(3, mprotect((void *)vs, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    KT_CHILD_CHECK(4, mprotect((void *)ds, de - ds, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
    unsigned char *last = (unsigned char *)de - 1;
    *last ^= 0x5a;
    cg_fn cg = (cg_fn)vdso_sym("__vdso_clock_gettime", "LINUX_2.6", 0);
    struct timespec t;
    KT_CHILD_CHECK(5, cg && cg(CLOCK_MONOTONIC, &t) == 0 && ts_ns(t) > 0);
    return 0;
}

KT_CASE(vvar_is_never_writable_and_a_written_vdso_page_is_private) {
    unsigned char before = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    KT_TRUE(f != 0, "maps");
    char line[512];
    unsigned long de = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && strstr(line, " [vdso]\n")) de = e;
    }
    fclose(f);
    KT_TRUE(de != 0, "no [vdso]");
    before = *((const unsigned char *)de - 1);
    KT_EQ(kt_in_child(vdso_write_child), 0);
    KT_EQ(*((const unsigned char *)de - 1), before);
}

/* A forked child has the vDSO at the same place, and it works there. */
static int fork_child(void) {
    cg_fn cg = (cg_fn)vdso_sym("__vdso_clock_gettime", "LINUX_2.6", 0);
    struct timespec a, b;
    KT_CHILD_CHECK(1, cg != 0);
    KT_CHILD_CHECK(2, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a) == 0);
    KT_CHILD_CHECK(3, cg(CLOCK_MONOTONIC, &b) == 0 && ts_ns(b) >= ts_ns(a));
    return 0;
}

KT_CASE(a_forked_child_keeps_the_vdso) {
    KT_TRUE(vdso_base() != 0, "no vDSO");
    KT_EQ(kt_in_child(fork_child), 0);
}

KT_MAIN()
