/* fcntl F_NOTIFY (dnotify): directories only (ENOTDIR), the events of the
 * entries of the watched directory (DN_CREATE, DN_DELETE, DN_RENAME,
 * DN_ATTRIB) sent as SIGIO to the process that set the watch, one-shot
 * unless DN_MULTISHOT, masks added up, a watch gone with a 0 mask or a
 * close of its descriptor. */
#include "kt.h"

#ifndef F_NOTIFY
#define F_NOTIFY 1026
#endif
#ifndef DN_CREATE
#define DN_ACCESS 0x00000001
#define DN_MODIFY 0x00000002
#define DN_CREATE 0x00000004
#define DN_DELETE 0x00000008
#define DN_RENAME 0x00000010
#define DN_ATTRIB 0x00000020
#define DN_MULTISHOT 0x80000000
#endif

static char dir[64];
static char name[128];
static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig) {
    (void)sig;
    sigio_count++;
}

/* A fresh empty directory (path in `dir`), opened read-only; SIGIO caught
 * and counted from 0. */
static int fresh_dir(void) {
    static int n;
    snprintf(dir, sizeof dir, "/tmp/kt_dn_%d_%d", (int)getpid(), n++);
    if (mkdir(dir, 0755) != 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigio;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGIO, &sa, 0);
    sigio_count = 0;
    return open(dir, O_RDONLY | O_DIRECTORY);
}

/* `dir`/`leaf` in `name`. */
static const char *in(const char *leaf) {
    snprintf(name, sizeof name, "%s/%s", dir, leaf);
    return name;
}

/* `dir`/`leaf` in a second buffer. */
static const char *in2(const char *leaf) {
    static char name2[128];
    snprintf(name2, sizeof name2, "%s/%s", dir, leaf);
    return name2;
}

static void touch(const char *leaf) {
    int fd = open(in(leaf), O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
}

static void cleanup(int fd, const char *const *leaves) {
    close(fd);
    for (; *leaves; leaves++) {
        unlink(in(*leaves));
        rmdir(in(*leaves));
    }
    rmdir(dir);
    signal(SIGIO, SIG_DFL);
}

KT_CASE(notify_on_regular_file_enotdir) {
    int d = KT_SYS_OK(fresh_dir());
    touch("f");
    int f = KT_SYS_OK(open(in("f"), O_RDONLY));
    KT_SYS_ERR(fcntl(f, F_NOTIFY, DN_CREATE), ENOTDIR);
    KT_SYS_ERR(fcntl(f, F_NOTIFY, DN_MULTISHOT | DN_ATTRIB), ENOTDIR);
    /* no event bit: nothing to remove, whatever the file */
    KT_SYS_RET(fcntl(f, F_NOTIFY, 0), 0);
    KT_SYS_RET(fcntl(f, F_NOTIFY, DN_MULTISHOT), 0);
    close(f);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(fcntl(p[0], F_NOTIFY, DN_CREATE), ENOTDIR);
    close(p[0]);
    close(p[1]);
    cleanup(d, (const char *const[]){"f", 0});
}

KT_CASE(create_fires_once) {
    int d = KT_SYS_OK(fresh_dir());
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE), 0);
    touch("a");
    KT_EQ(sigio_count, 1);
    /* one-shot: the watch went */
    touch("b");
    KT_EQ(sigio_count, 1);
    cleanup(d, (const char *const[]){"a", "b", 0});
}

KT_CASE(multishot_fires_every_time) {
    int d = KT_SYS_OK(fresh_dir());
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    touch("a");
    KT_EQ(sigio_count, 1);
    KT_SYS_OK(mkdir(in("sub"), 0755));
    KT_EQ(sigio_count, 2);
    KT_SYS_OK(symlink("a", in("link")));
    KT_EQ(sigio_count, 3);
    KT_SYS_OK(link(in("a"), in2("hard")));
    KT_EQ(sigio_count, 4);
    KT_SYS_OK(mknod(in("fifo"), S_IFIFO | 0600, 0));
    KT_EQ(sigio_count, 5);
    /* opening an existing file with O_CREAT creates nothing */
    int f = KT_SYS_OK(open(in("a"), O_RDWR | O_CREAT, 0644));
    close(f);
    KT_EQ(sigio_count, 5);
    /* nor does a change one level down */
    char deep[160];
    snprintf(deep, sizeof deep, "%s/sub/x", dir);
    f = KT_SYS_OK(open(deep, O_WRONLY | O_CREAT, 0644));
    close(f);
    KT_EQ(sigio_count, 5);
    KT_SYS_OK(unlink(deep));
    cleanup(d, (const char *const[]){"a", "sub", "link", "hard", "fifo", 0});
}

KT_CASE(delete_events) {
    int d = KT_SYS_OK(fresh_dir());
    touch("a");
    KT_SYS_OK(mkdir(in("sub"), 0755));
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    /* a removal is not a creation */
    KT_SYS_OK(unlink(in("a")));
    KT_EQ(sigio_count, 0);
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_DELETE | DN_MULTISHOT), 0);
    KT_SYS_OK(rmdir(in("sub")));
    KT_EQ(sigio_count, 1);
    touch("b");
    KT_EQ(sigio_count, 2);
    KT_SYS_OK(unlink(in("b")));
    KT_EQ(sigio_count, 3);
    cleanup(d, (const char *const[]){0});
}

KT_CASE(rename_events) {
    int d = KT_SYS_OK(fresh_dir());
    touch("a");
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_RENAME), 0);
    KT_SYS_OK(rename(in("a"), in2("b")));
    KT_EQ(sigio_count, 1);
    KT_SYS_OK(rename(in("b"), in2("c")));
    KT_EQ(sigio_count, 1);
    /* across directories: the source sees DN_DELETE, the target DN_CREATE */
    char other[64];
    strcpy(other, dir);
    int d2 = KT_SYS_OK(fresh_dir());
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_DELETE), 0);
    KT_SYS_RET(fcntl(d2, F_NOTIFY, DN_CREATE), 0);
    char from[160], to[160];
    snprintf(from, sizeof from, "%s/c", other);
    snprintf(to, sizeof to, "%s/c", dir);
    KT_SYS_OK(rename(from, to));
    KT_EQ(sigio_count, 1);
    /* both one-shot watches fired and went */
    KT_SYS_OK(rename(to, from));
    KT_EQ(sigio_count, 1);
    KT_SYS_OK(unlink(from));
    cleanup(d2, (const char *const[]){0});
    close(d);
    rmdir(other);
}

KT_CASE(attrib_of_entry_and_directory) {
    int d = KT_SYS_OK(fresh_dir());
    touch("a");
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_ATTRIB | DN_MULTISHOT), 0);
    touch("b");
    KT_EQ(sigio_count, 0);
    KT_SYS_OK(chmod(in("a"), 0600));
    KT_EQ(sigio_count, 1);
    KT_SYS_OK(chmod(dir, 0700));
    KT_EQ(sigio_count, 2);
    cleanup(d, (const char *const[]){"a", "b", 0});
}

KT_CASE(masks_add_up) {
    int d = KT_SYS_OK(fresh_dir());
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE), 0);
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_DELETE | DN_MULTISHOT), 0);
    touch("a");
    KT_EQ(sigio_count, 1);
    KT_SYS_OK(unlink(in("a")));
    KT_EQ(sigio_count, 2);
    touch("b");
    KT_EQ(sigio_count, 3);
    cleanup(d, (const char *const[]){"a", "b", 0});
}

KT_CASE(zero_mask_removes_watch) {
    int d = KT_SYS_OK(fresh_dir());
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_MULTISHOT), 0);
    touch("a");
    KT_EQ(sigio_count, 0);
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    KT_SYS_RET(fcntl(d, F_NOTIFY, 0), 0);
    touch("b");
    KT_EQ(sigio_count, 0);
    cleanup(d, (const char *const[]){"a", "b", 0});
}

KT_CASE(close_of_any_descriptor_removes_watch) {
    int d = KT_SYS_OK(fresh_dir());
    int dup_fd = KT_SYS_OK(dup(d));
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    close(dup_fd);
    touch("a");
    KT_EQ(sigio_count, 0);
    /* a watch of another open of the directory stays */
    int d2 = KT_SYS_OK(open(dir, O_RDONLY));
    KT_SYS_RET(fcntl(d2, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT), 0);
    close(d);
    touch("b");
    KT_EQ(sigio_count, 1);
    cleanup(d2, (const char *const[]){"a", "b", 0});
}

KT_CASE(watcher_is_the_setting_process) {
    int d = KT_SYS_OK(fresh_dir());
    int pipefd[2];
    KT_SYS_OK(pipe(pipefd));
    pid_t p = KT_FORK();
    if (p == 0) {
        /* the child's watch signals the child */
        sigio_count = 0;
        KT_SYS_RET(fcntl(d, F_NOTIFY, DN_CREATE), 0);
        write(pipefd[1], "r", 1);
        for (int i = 0; i < 200 && sigio_count == 0; i++) kt_msleep(10);
        _exit(sigio_count == 1 ? 0 : 1);
    }
    char c;
    KT_SYS_RET(read(pipefd[0], &c, 1), 1);
    touch("a");
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(sigio_count, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    cleanup(d, (const char *const[]){"a", 0});
}

KT_CASE(notify_on_o_path_ebadf) {
    int d = KT_SYS_OK(fresh_dir());
    int o = KT_SYS_OK(open(dir, O_PATH));
    KT_SYS_ERR(fcntl(o, F_NOTIFY, DN_CREATE), EBADF);
    close(o);
    cleanup(d, (const char *const[]){0});
}

KT_MAIN()
