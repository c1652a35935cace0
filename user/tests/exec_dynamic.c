/* Dynamically linked programs (PT_INTERP): execve loads the interpreter
 * and starts the program through it, with Linux's auxv and errors.
 *
 * Real programs: a gcc-built glibc hello and a musl-gcc hello
 * (user/dynamic/hello.c, in /usr/local/bin), Debian's coreutils `ls` and
 * perl-base's `perl` with glibc's ld.so and their libraries at their Debian
 * paths (xtask puts them in the initramfs). Errors: ELF files written here
 * into /tmp, a tiny program (exits 200 when it runs itself) naming a tiny
 * interpreter (exits 201) in every way Linux's load_elf_binary refuses. */
#include "kt.h"

#include <elf.h>
#include <spawn.h>
#include <sys/stat.h>

#define HELLO_GLIBC "/usr/local/bin/hello-glibc"
#define HELLO_MUSL "/usr/local/bin/hello-musl"
#define LD_SO "/lib64/ld-linux-x86-64.so.2"
#define PROG "/tmp/ed_prog"
#define INTERP "/tmp/ed_interp"
#define OUT_MAX 65536

static char out[OUT_MAX + 1];
static char *const envp[] = {"PATH=/bin:/usr/bin", "HOME=/", "LC_ALL=C", 0};

/* Runs argv (argv[0] is the path) with stdout and stderr on a pipe into
 * `out`; returns the wait status. */
static int run(char *const argv[]) {
    int p[2];
    out[0] = 0;
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        dup2(p[1], 2);
        if (p[1] > 2) close(p[1]);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(p[0], out + len, OUT_MAX - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len == OUT_MAX) break;
    }
    out[len] = 0;
    close(p[0]);
    int st = -1;
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {
    }
    return st;
}

#define RUN(want_out, want_status, ...)                                                   \
    do {                                                                                  \
        char *const kt_argv_[] = {__VA_ARGS__, 0};                                        \
        int kt_st_ = run(kt_argv_);                                                       \
        KT_TRUE(strcmp(out, (want_out)) == 0, "output \"%.300s\", want \"%.200s\"", out, (want_out)); \
        KT_STATUS(kt_st_, (want_status));                                                 \
    } while (0)

/* exit(code) on x86_64: mov edi, code; mov eax, 60; syscall */
static void put_exit(unsigned char *p, unsigned code) {
    static const unsigned char insn[] = {0xbf, 0, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05};
    memcpy(p, insn, sizeof insn);
    memcpy(p + 1, &code, 4);
}

struct elf_spec {
    int type;               /* ET_EXEC (at 0x400000) or ET_DYN (at 0) */
    int machine;            /* EM_X86_64 unless changed */
    unsigned exit_code;     /* what the code does */
    const char *interp;     /* PT_INTERP bytes (0: none) */
    size_t interp_len;      /* its p_filesz */
    unsigned long interp_off; /* its p_offset (0: 0x1000, where it is written) */
    unsigned long vaddr;    /* where an ET_EXEC goes (0: 0x400000) */
    const char *interp2;    /* a second PT_INTERP (string with its NUL, at 0x800) */
};

static unsigned char img[0x3000];

/* Writes an ELF image: headers, one PT_LOAD of the first page (code at
 * 0x100), PT_INTERP's bytes at 0x1000. Returns its size. */
static size_t build(const struct elf_spec *s) {
    memset(img, 0, sizeof img);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof *eh);
    unsigned long base = s->type == ET_EXEC ? (s->vaddr ? s->vaddr : 0x400000) : 0;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = s->type;
    eh->e_machine = s->machine ? s->machine : EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = base + 0x100;
    eh->e_phoff = sizeof *eh;
    eh->e_ehsize = sizeof *eh;
    eh->e_phentsize = sizeof *ph;
    eh->e_phnum = s->interp ? (s->interp2 ? 3 : 2) : 1;
    ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0, .p_vaddr = base,
                         .p_paddr = base, .p_filesz = 0x1000, .p_memsz = 0x1000, .p_align = 0x1000};
    put_exit(img + 0x100, s->exit_code);
    size_t size = 0x1000;
    if (s->interp) {
        ph[1] = (Elf64_Phdr){.p_type = PT_INTERP, .p_flags = PF_R,
                             .p_offset = s->interp_off ? s->interp_off : 0x1000,
                             .p_filesz = s->interp_len, .p_memsz = s->interp_len, .p_align = 1};
        memcpy(img + 0x1000, s->interp, s->interp_len);
        size += s->interp_len;
    }
    if (s->interp && s->interp2) {
        size_t n = strlen(s->interp2) + 1;
        ph[2] = (Elf64_Phdr){.p_type = PT_INTERP, .p_flags = PF_R, .p_offset = 0x800, .p_filesz = n,
                             .p_memsz = n, .p_align = 1};
        memcpy(img + 0x800, s->interp2, n);
    }
    return size;
}

static int write_file(const char *path, mode_t mode, const void *data, size_t len) {
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return -1;
    ssize_t n = write(fd, data, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* The interpreter: ET_DYN, exits 201. */
static int write_interp(void) {
    struct elf_spec s = {.type = ET_DYN, .exit_code = 201};
    return write_file(INTERP, 0755, img, build(&s));
}

/* The program naming `interp` (len bytes, NUL included when wanted). */
static int write_prog(const char *interp, size_t len) {
    struct elf_spec s = {.type = ET_EXEC, .exit_code = 200, .interp = interp, .interp_len = len};
    return write_file(PROG, 0755, img, build(&s));
}

/* execve(PROG) in a child: its exit status is the errno, or 200/201 when
 * the program or its interpreter ran. */
static int exec_status(void) {
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {PROG, 0};
        execve(PROG, argv, envp);
        _exit(errno);
    }
    int st = -1;
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {
    }
    return st;
}

#define IPATH(s) s, sizeof s /* a string literal with its NUL */

/* ---- real programs -------------------------------------------------------- */

KT_CASE(glibc_hello_runs_through_ld_linux) {
    RUN("hello from glibc\n", kt_exited(7), HELLO_GLIBC);
}

KT_CASE(musl_hello_runs_through_ld_musl) {
    RUN("hello from musl\n", kt_exited(7), HELLO_MUSL);
}

KT_CASE(glibc_program_sees_linux_auxv) {
    /* AT_BASE (ld.so's ELF header there), AT_ENTRY = _start, AT_PHDR, AT_PHNUM,
     * AT_PHENT, AT_EXECFN, AT_PLATFORM, ids; the break after the program */
    RUN("auxv ok\n", kt_exited(0), HELLO_GLIBC, "auxv");
}

KT_CASE(musl_program_sees_linux_auxv) {
    RUN("auxv ok\n", kt_exited(0), HELLO_MUSL, "auxv");
}

KT_CASE(proc_self_exe_is_the_program_not_the_interpreter) {
    RUN(HELLO_GLIBC "\n", kt_exited(0), HELLO_GLIBC, "exe");
    RUN(HELLO_MUSL "\n", kt_exited(0), HELLO_MUSL, "exe");
}

KT_CASE(proc_maps_names_the_interpreter_by_its_resolved_path) {
    /* /lib64/ld-linux-x86-64.so.2 is a link to /lib/x86_64-linux-gnu/... */
    RUN("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n", kt_exited(0), HELLO_GLIBC, "maps");
    RUN("/lib/ld-musl-x86_64.so.1\n", kt_exited(0), HELLO_MUSL, "maps");
}

KT_CASE(ld_so_run_directly_loads_the_program) {
    RUN("hello from glibc\n", kt_exited(7), LD_SO, HELLO_GLIBC);
}

KT_CASE(ld_musl_run_directly_loads_the_program) {
    RUN("hello from musl\n", kt_exited(7), "/lib/ld-musl-x86_64.so.1", HELLO_MUSL);
}

KT_CASE(dynamic_programs_from_a_shell) {
    RUN("hello from glibc\n7\nhello from musl\n7\n", kt_exited(0), "/bin/sh", "-c",
        HELLO_GLIBC "; echo $?; " HELLO_MUSL "; echo $?");
}

KT_CASE(posix_spawn_of_a_dynamic_program) {
    /* musl's posix_spawn: clone(CLONE_VM | CLONE_VFORK) then execve */
    pid_t pid;
    char *argv[] = {HELLO_GLIBC, "auxv", 0};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    KT_EQ(posix_spawn(&pid, HELLO_GLIBC, &fa, 0, argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    KT_WAIT_STATUS(pid, kt_exited(0));
}

KT_CASE(debian_perl_e) {
    RUN("42\n", kt_exited(0), "/usr/bin/perl", "-e", "print 6*7, \"\\n\"");
    RUN("a b c|3\n", kt_exited(0), "/usr/bin/perl", "-e", "print \"@ARGV|\", scalar(@ARGV), \"\\n\"",
        "a", "b", "c");
    RUN("", kt_exited(3), "/usr/bin/perl", "-e", "exit 3");
}

KT_CASE(script_run_by_dynamic_perl) {
    /* #! names a dynamic program: execve follows the script to perl, then
     * loads perl's interpreter */
    static const char script[] = "#!/usr/bin/perl -w\nprint \"$0 @ARGV\\n\"; exit 5;\n";
    KT_SYS_OK(write_file("/tmp/ed_script.pl", 0755, script, sizeof script - 1));
    RUN("/tmp/ed_script.pl x y\n", kt_exited(5), "/tmp/ed_script.pl", "x", "y");
}

KT_CASE(debian_ls_la_root) {
    char *const argv[] = {"/usr/bin/ls", "-la", "/", 0};
    int st = run(argv);
    KT_STATUS(st, kt_exited(0));
    KT_TRUE(strncmp(out, "total ", 6) == 0, "output \"%.500s\"", out);
    /* every line is "mode links owner group size date name" */
    const char *names[] = {" .\n", " ..\n", " tests\n", " tmp\n", " usr\n", " init\n"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        KT_TRUE(strstr(out, names[i]) != 0, "no line ending \"%s\" in \"%.400s\"", names[i], out);
    KT_TRUE(strstr(out, "\ndrwx") != 0 && strstr(out, "ls:") == 0, "output \"%.500s\"", out);
}

KT_CASE(debian_ls_of_a_file) {
    RUN("/usr/local/bin/hello-glibc\n", kt_exited(0), "/usr/bin/ls", "-d", HELLO_GLIBC);
    RUN("/usr/bin/ls: cannot access '/nowhere': No such file or directory\n", kt_exited(2),
        "/usr/bin/ls", "/nowhere");
}

/* ---- the interpreter's path ---------------------------------------------- */

KT_CASE(handmade_interpreter_runs_instead_of_the_program) {
    KT_SYS_OK(write_interp());
    KT_SYS_OK(write_prog(0, 0));
    KT_STATUS(exec_status(), kt_exited(200)); /* no PT_INTERP: the program */
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(201)); /* PT_INTERP: the interpreter */
}

KT_CASE(missing_interpreter_is_enoent) {
    KT_SYS_OK(write_prog(IPATH("/tmp/ed_no_such_interpreter")));
    KT_STATUS(exec_status(), kt_exited(ENOENT));
    KT_SYS_OK(write_prog(IPATH("/tmp/ed_no_dir/ld.so")));
    KT_STATUS(exec_status(), kt_exited(ENOENT));
}

KT_CASE(relative_interpreter_path_is_from_the_cwd) {
    KT_SYS_OK(write_interp());
    KT_SYS_OK(write_prog(IPATH("ed_interp")));
    pid_t pid = KT_FORK();
    if (pid == 0) {
        if (chdir("/tmp") != 0) _exit(99);
        _exit(WEXITSTATUS(exec_status()));
    }
    KT_WAIT_STATUS(pid, kt_exited(201));
    pid = KT_FORK();
    if (pid == 0) {
        if (chdir("/") != 0) _exit(99);
        _exit(WEXITSTATUS(exec_status()));
    }
    KT_WAIT_STATUS(pid, kt_exited(ENOENT));
}

KT_CASE(interpreter_path_without_nul_is_enoexec) {
    KT_SYS_OK(write_interp());
    KT_SYS_OK(write_prog(INTERP, strlen(INTERP)));
    KT_STATUS(exec_status(), kt_exited(ENOEXEC));
}

KT_CASE(interpreter_path_of_one_byte_is_enoexec) {
    KT_SYS_OK(write_prog("", 1));
    KT_STATUS(exec_status(), kt_exited(ENOEXEC));
    /* two bytes, an empty path: open_exec("") finds the working directory
     * (getname_kernel accepts an empty name), which is no regular file */
    KT_SYS_OK(write_prog("\0", 2));
    KT_STATUS(exec_status(), kt_exited(EACCES));
}

KT_CASE(interpreter_path_of_4096_bytes) {
    static char path[4098];
    KT_SYS_OK(write_interp());
    /* 4095 characters and the NUL: PATH_MAX bytes, accepted */
    memset(path, '/', sizeof path);
    memcpy(path, "/tmp", 4);
    memcpy(path + 4095 - 9, "ed_interp", 9);
    path[4095] = 0;
    KT_SYS_OK(write_prog(path, 4096));
    KT_STATUS(exec_status(), kt_exited(201));
    /* 4096 characters and the NUL: over PATH_MAX, ENOEXEC */
    memset(path, '/', sizeof path);
    memcpy(path, "/tmp", 4);
    memcpy(path + 4096 - 9, "ed_interp", 9);
    path[4096] = 0;
    KT_SYS_OK(write_prog(path, 4097));
    KT_STATUS(exec_status(), kt_exited(ENOEXEC));
}

KT_CASE(interpreter_path_past_the_end_of_the_file_is_eio) {
    struct elf_spec s = {.type = ET_EXEC, .exit_code = 200, .interp = INTERP,
                         .interp_len = sizeof INTERP, .interp_off = 0x100000};
    KT_SYS_OK(write_file(PROG, 0755, img, build(&s)));
    KT_STATUS(exec_status(), kt_exited(EIO));
}

KT_CASE(the_first_pt_interp_counts) {
    KT_SYS_OK(write_interp());
    struct elf_spec s = {.type = ET_EXEC, .exit_code = 200, .interp = IPATH(INTERP),
                         .interp2 = "/tmp/ed_no_such_interpreter"};
    KT_SYS_OK(write_file(PROG, 0755, img, build(&s)));
    KT_STATUS(exec_status(), kt_exited(201));
    struct elf_spec t = {.type = ET_EXEC, .exit_code = 200, .interp = IPATH("/tmp/ed_no_such_interpreter"),
                         .interp2 = INTERP};
    KT_SYS_OK(write_file(PROG, 0755, img, build(&t)));
    KT_STATUS(exec_status(), kt_exited(ENOENT));
}

/* ---- the interpreter's file ---------------------------------------------- */

KT_CASE(interpreter_that_is_not_elf_is_elibbad) {
    static const char text[] =
        "#!/bin/sh\necho a script is no interpreter for an ELF program, even a long one\n";
    KT_SYS_OK(write_file(INTERP, 0755, text, sizeof text - 1));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(ELIBBAD));
}

KT_CASE(interpreter_shorter_than_an_elf_header_is_eio) {
    KT_SYS_OK(write_file(INTERP, 0755, "#!/bin/sh\n", 10));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(EIO));
    KT_SYS_OK(write_file(INTERP, 0755, "", 0));
    KT_STATUS(exec_status(), kt_exited(EIO));
}

KT_CASE(truncated_interpreter) {
    struct elf_spec s = {.type = ET_DYN, .exit_code = 201};
    build(&s);
    /* cut inside the ELF header: EIO */
    KT_SYS_OK(write_file(INTERP, 0755, img, 63));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(EIO));
    /* cut inside its program headers: ELIBBAD */
    build(&s);
    KT_SYS_OK(write_file(INTERP, 0755, img, 100));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(ELIBBAD));
}

KT_CASE(interpreter_cut_in_its_segments_kills_with_sigsegv) {
    /* Debian's ld.so cut in half: its headers are whole, so execve passes
     * the point of no return; load_elf_interp cannot zero the bss tail of
     * a page past the end of the file (EFAULT), and the process dies of
     * SIGSEGV */
    static char half[128 * 1024];
    int fd = KT_SYS_OK(open(LD_SO, O_RDONLY));
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    size_t n = (size_t)st.st_size / 2;
    KT_TRUE(n <= sizeof half, "ld.so of %ld bytes", (long)st.st_size);
    KT_SYS_RET(read(fd, half, n), (long)n);
    close(fd);
    KT_SYS_OK(write_file(INTERP, 0755, half, n));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_killed(SIGSEGV));
}

KT_CASE(interpreter_of_type_et_rel_kills_with_sigsegv) {
    /* load_elf_interp refuses it (EINVAL) past the point of no return */
    struct elf_spec s = {.type = ET_REL, .exit_code = 201};
    KT_SYS_OK(write_file(INTERP, 0755, img, build(&s)));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_killed(SIGSEGV));
}

KT_CASE(interpreter_for_another_machine_is_elibbad) {
    struct elf_spec s = {.type = ET_DYN, .exit_code = 201, .machine = EM_386};
    KT_SYS_OK(write_file(INTERP, 0755, img, build(&s)));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(ELIBBAD));
    /* bad magic */
    s.machine = 0;
    size_t n = build(&s);
    img[1] = 'e';
    KT_SYS_OK(write_file(INTERP, 0755, img, n));
    KT_STATUS(exec_status(), kt_exited(ELIBBAD));
}

KT_CASE(interpreter_that_names_an_interpreter_still_runs) {
    /* load_elf_interp ignores the interpreter's own PT_INTERP */
    struct elf_spec s = {.type = ET_DYN, .exit_code = 201, .interp = IPATH("/tmp/ed_nowhere")};
    KT_SYS_OK(write_file(INTERP, 0755, img, build(&s)));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(201));
}

KT_CASE(et_exec_interpreter_runs_at_its_own_address) {
    struct elf_spec s = {.type = ET_EXEC, .exit_code = 201, .vaddr = 0x10000000};
    KT_SYS_OK(write_file(INTERP, 0755, img, build(&s)));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(201));
}

KT_CASE(et_exec_interpreter_over_the_program_replaces_it) {
    /* load_elf_interp maps an ET_EXEC interpreter with MAP_FIXED: at the
     * program's own 0x400000 it replaces the program's page and runs */
    struct elf_spec s = {.type = ET_EXEC, .exit_code = 201};
    KT_SYS_OK(write_file(INTERP, 0755, img, build(&s)));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(201));
}

KT_CASE(interpreter_without_execute_permission_is_eacces) {
    KT_SYS_OK(write_interp());
    KT_SYS_OK(chmod(INTERP, 0644));
    KT_SYS_OK(write_prog(IPATH(INTERP)));
    KT_STATUS(exec_status(), kt_exited(EACCES));
    KT_SYS_OK(chmod(INTERP, 0100));
    KT_STATUS(exec_status(), kt_exited(201));
}

KT_CASE(interpreter_that_is_a_directory_is_eacces) {
    KT_SYS_OK(write_prog(IPATH("/tmp")));
    KT_STATUS(exec_status(), kt_exited(EACCES));
}

KT_CASE(interpreter_path_through_a_file_is_enotdir) {
    KT_SYS_OK(write_interp());
    KT_SYS_OK(write_prog(IPATH(INTERP "/x")));
    KT_STATUS(exec_status(), kt_exited(ENOTDIR));
}

KT_MAIN()
