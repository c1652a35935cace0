/* System V message queues as Linux 6.1: msgget's errors, msgsnd's and
 * msgrcv's checks in their order, msgrcv's type selection (0, > 0,
 * MSG_EXCEPT, < 0), E2BIG and MSG_NOERROR, MSG_COPY, ENOMSG, msg_qbytes
 * (bytes and messages), a full queue's EAGAIN and blocked sender, a
 * blocked receiver handed its type's message, EIDRM and EINTR for
 * sleepers, msgctl's IPC_STAT/IPC_SET/IPC_INFO/MSG_INFO/MSG_STAT,
 * /proc/sysvipc/msg and per-IPC-namespace queues. Run as root. */
#include "kt.h"

#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#define KEY 0x6b734d01
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef MSG_STAT
#define MSG_STAT 11
#define MSG_INFO 12
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef MSG_EXCEPT
#define MSG_EXCEPT 020000
#endif

struct m {
    long type;
    char text[64];
};

static long snd(int id, long type, const char *text, size_t n, int fl) {
    struct m b = {type, {0}};
    memcpy(b.text, text, n);
    return syscall(SYS_msgsnd, id, &b, n, fl);
}

static long rcv(int id, struct m *b, size_t n, long type, int fl) {
    memset(b, 0, sizeof *b);
    return syscall(SYS_msgrcv, id, b, n, type, fl);
}

static long mctl(int id, int cmd, void *buf) { return syscall(SYS_msgctl, id, cmd, buf); }

static int qnum(int id) {
    struct msqid_ds ds;
    return mctl(id, IPC_STAT, &ds) == 0 ? (int)ds.msg_qnum : -1;
}

static char proc_state_of(pid_t c) { return kt_proc_state(c); }

KT_CASE(msgget_errors) {
    msgctl(msgget(KEY, 0), IPC_RMID, 0);
    KT_SYS_ERR(msgget(KEY, 0600), ENOENT);
    int id = KT_SYS_OK(msgget(KEY, IPC_CREAT | 0600));
    KT_SYS_RET(msgget(KEY, 0), id);
    KT_SYS_ERR(msgget(KEY, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    int p = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    KT_NE(p, id);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
    KT_SYS_ERR(mctl(id, IPC_RMID, 0), EINVAL);
    KT_SYS_ERR(mctl(-1, IPC_RMID, 0), EINVAL);
    KT_SYS_ERR(mctl(p, -1, 0), EINVAL);
    KT_SYS_ERR(mctl(p, 99, 0), EINVAL);
    KT_SYS_ERR(mctl(p, IPC_STAT | 0x100, 0), EINVAL);
    KT_SYS_OK(mctl(p, IPC_RMID, 0));
}

KT_CASE(send_receive_errors_in_order) {
    int id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    struct m b;
    /* the type is read first */
    KT_SYS_ERR(syscall(SYS_msgsnd, -1, (void *)8, 1, 0), EFAULT);
    KT_SYS_ERR(snd(-1, 1, "x", 1, 0), EINVAL);
    KT_SYS_ERR(snd(id, 0, "x", 1, 0), EINVAL);
    KT_SYS_ERR(snd(id, -5, "x", 1, 0), EINVAL);
    static struct {
        long type;
        char text[8193];
    } big = {1, {0}};
    KT_SYS_ERR(syscall(SYS_msgsnd, id, &big, 8193, 0), EINVAL);
    KT_SYS_OK(syscall(SYS_msgsnd, id, &big, 8192, IPC_NOWAIT));
    KT_SYS_ERR(snd(id + 32768, 1, "x", 1, 0), EINVAL);
    /* the text is copied before the id is looked up */
    char *pg = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(pg != MAP_FAILED, "mmap");
    munmap(pg + 4096, 4096);
    long *t1 = (long *)(pg + 4096 - 8);
    *t1 = 1;
    KT_SYS_ERR(syscall(SYS_msgsnd, id + 32768, t1, 64, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_msgsnd, id + 32768, t1, 0, 0), EINVAL);
    munmap(pg, 4096);
    KT_SYS_ERR(rcv(-1, &b, 8, 0, 0), EINVAL);
    KT_SYS_ERR(rcv(id, &b, -1, 0, 0), EINVAL);
    KT_SYS_ERR(rcv(id, &b, 8, 0, MSG_COPY), EINVAL);
    KT_SYS_ERR(rcv(id, &b, 8, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT), EINVAL);
    KT_SYS_ERR(rcv(id + 32768, &b, 8, 0, 0), EINVAL);
    /* too long: E2BIG, the message stays */
    KT_SYS_ERR(rcv(id, &b, 10, 0, IPC_NOWAIT), E2BIG);
    KT_EQ(qnum(id), 1);
    /* MSG_NOERROR cuts it */
    KT_SYS_RET(rcv(id, &b, 10, 0, IPC_NOWAIT | MSG_NOERROR), 10);
    KT_EQ(b.type, 1);
    KT_EQ(qnum(id), 0);
    KT_SYS_ERR(rcv(id, &b, 10, 0, IPC_NOWAIT), ENOMSG);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
}

KT_CASE(type_selection_and_copy) {
    int id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    long types[] = {3, 1, 2, 1, 5};
    const char *texts[] = {"three", "one", "two", "one'", "five"};
    for (int i = 0; i < 5; i++) KT_SYS_OK(snd(id, types[i], texts[i], strlen(texts[i]), 0));
    struct m b;
    /* MSG_COPY: by index, left queued */
    KT_SYS_RET(rcv(id, &b, 64, 2, MSG_COPY | IPC_NOWAIT), 3);
    KT_TRUE(b.type == 2 && strcmp(b.text, "two") == 0, "%ld %s", b.type, b.text);
    KT_SYS_ERR(rcv(id, &b, 64, 5, MSG_COPY | IPC_NOWAIT), ENOMSG);
    KT_SYS_ERR(rcv(id, &b, 2, 0, MSG_COPY | IPC_NOWAIT), E2BIG);
    /* MSG_COPY reads the buffer first (prepare_copy): EFAULT before the id */
    KT_SYS_ERR(syscall(SYS_msgrcv, id + 32768, (void *)8, 16, 0, MSG_COPY | IPC_NOWAIT), EFAULT);
    KT_SYS_ERR(syscall(SYS_msgrcv, id + 32768, &b, 16, 0, MSG_COPY | IPC_NOWAIT), EINVAL);
    KT_EQ(qnum(id), 5);
    /* < 0: the first of the lowest type up to |msgtyp| */
    KT_SYS_RET(rcv(id, &b, 64, -2, 0), 3);
    KT_TRUE(b.type == 1 && strcmp(b.text, "one") == 0, "%ld %s", b.type, b.text);
    /* MSG_EXCEPT: the first of another type */
    KT_SYS_RET(rcv(id, &b, 64, 3, MSG_EXCEPT), 3);
    KT_TRUE(b.type == 2, "%ld", b.type);
    KT_SYS_RET(rcv(id, &b, 64, 5, 0), 4);
    KT_SYS_ERR(rcv(id, &b, 64, 4, IPC_NOWAIT), ENOMSG);
    KT_SYS_RET(rcv(id, &b, 64, 0, 0), 5);
    KT_TRUE(b.type == 3 && strcmp(b.text, "three") == 0, "%s", b.text);
    KT_SYS_RET(rcv(id, &b, 64, -100, 0), 4);
    KT_TRUE(strcmp(b.text, "one'") == 0, "%s", b.text);
    KT_EQ(qnum(id), 0);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
}

KT_CASE(stat_set_and_limits) {
    int id = KT_SYS_OK(msgget(IPC_PRIVATE, 0640));
    struct msqid_ds ds;
    KT_SYS_OK(mctl(id, IPC_STAT, &ds));
    KT_EQ(ds.msg_qbytes, 16384);
    KT_EQ(ds.msg_qnum, 0);
    KT_EQ(ds.msg_perm.mode, 0640);
    KT_EQ(ds.msg_stime, 0);
    KT_EQ(ds.msg_lspid, 0);
    KT_SYS_OK(snd(id, 7, "abcde", 5, 0));
    KT_SYS_OK(snd(id, 7, "xyz", 3, 0));
    KT_SYS_OK(mctl(id, IPC_STAT, &ds));
    KT_EQ(ds.msg_cbytes, 8);
    KT_EQ(ds.msg_qnum, 2);
    KT_EQ(ds.msg_lspid, getpid());
    KT_TRUE(ds.msg_stime > 0, "stime");
    KT_EQ(ds.msg_rtime, 0);
    /* IPC_SET: a smaller limit; above msgmnb is fine for root */
    ds.msg_qbytes = 10;
    KT_SYS_OK(mctl(id, IPC_SET, &ds));
    KT_SYS_ERR(snd(id, 1, "abc", 3, IPC_NOWAIT), EAGAIN);
    KT_SYS_OK(snd(id, 1, "ab", 2, IPC_NOWAIT));
    /* the limit counts messages too */
    struct m b;
    while (rcv(id, &b, 64, 0, IPC_NOWAIT) >= 0) {
    }
    ds.msg_qbytes = 2;
    KT_SYS_OK(mctl(id, IPC_SET, &ds));
    KT_SYS_OK(snd(id, 1, "", 0, IPC_NOWAIT));
    KT_SYS_OK(snd(id, 1, "", 0, IPC_NOWAIT));
    KT_SYS_ERR(snd(id, 1, "", 0, IPC_NOWAIT), EAGAIN);
    KT_SYS_OK(mctl(id, IPC_STAT, &ds));
    KT_EQ(ds.msg_lrpid, getpid());
    KT_EQ(ds.msg_qnum, 2);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(3000) || setuid(3000)) _exit(1);
        struct msqid_ds d2 = ds;
        d2.msg_qbytes = 100000;
        if (mctl(id, IPC_SET, &d2) != -1 || errno != EPERM) _exit(2);
        if (mctl(id, IPC_STAT, &d2) != -1 || errno != EACCES) _exit(3);
        if (mctl(id, MSG_STAT_ANY, &d2) != id) _exit(4);
        if (snd(id, 1, "", 0, IPC_NOWAIT) != -1 || errno != EACCES) _exit(5);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
}

KT_CASE(blocked_sender_gets_room) {
    int id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    struct msqid_ds ds;
    KT_SYS_OK(mctl(id, IPC_STAT, &ds));
    ds.msg_qbytes = 40;
    KT_SYS_OK(mctl(id, IPC_SET, &ds));
    char buf[64] = {0};
    KT_SYS_OK(snd(id, 1, buf, 30, 0));
    pid_t c = KT_FORK();
    if (c == 0) _exit(snd(id, 2, "later", 20, 0) == 0 ? 0 : 1);
    KT_TRUE(kt_wait_sleeping(c, 2000), "sender sleeps");
    kt_msleep(20);
    KT_EQ(qnum(id), 1);
    struct m b;
    KT_SYS_RET(rcv(id, &b, 64, 0, 0), 30);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_RET(rcv(id, &b, 64, 0, IPC_NOWAIT), 20);
    KT_EQ(b.type, 2);
    KT_TRUE(strcmp(b.text, "later") == 0, "%s", b.text);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
}

KT_CASE(blocked_receiver_gets_its_type) {
    int id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct m b;
        long n = rcv(id, &b, 64, 2, 0);
        char r = n == 3 && b.type == 2 && strcmp(b.text, "two") == 0 ? 'y' : 'n';
        write(p[1], &r, 1);
        _exit(0);
    }
    KT_TRUE(kt_wait_sleeping(c, 2000), "receiver sleeps");
    kt_msleep(20);
    KT_SYS_OK(snd(id, 1, "one", 3, 0));
    KT_SYS_OK(snd(id, 2, "two", 3, 0));
    char r = 0;
    KT_SYS_RET(read(p[0], &r, 1), 1);
    KT_EQ(r, 'y');
    KT_WAIT_STATUS(c, kt_exited(0));
    /* type 1 stayed; the receiver is the last receiver */
    struct msqid_ds ds;
    KT_SYS_OK(mctl(id, IPC_STAT, &ds));
    KT_EQ(ds.msg_qnum, 1);
    KT_EQ(ds.msg_lrpid, c);
    /* a waiting receiver with a small buffer gets E2BIG */
    c = KT_FORK();
    if (c == 0) {
        struct m b;
        long n = rcv(id, &b, 2, 3, 0);
        _exit(n == -1 && errno == E2BIG ? 0 : 1);
    }
    KT_TRUE(kt_wait_sleeping(c, 2000), "receiver sleeps");
    kt_msleep(20);
    KT_SYS_OK(snd(id, 3, "three", 5, 0));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(qnum(id), 2);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
    close(p[0]);
    close(p[1]);
}

static volatile int got_usr1;
static void on_usr1(int s) {
    (void)s;
    got_usr1 = 1;
}

KT_CASE(eidrm_and_eintr_for_sleepers) {
    int id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct m b;
        long n = rcv(id, &b, 64, 0, 0);
        _exit(n == -1 && errno == EIDRM ? 0 : 1);
    }
    KT_TRUE(kt_wait_sleeping(c, 2000), "receiver sleeps");
    kt_msleep(20);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
    KT_WAIT_STATUS(c, kt_exited(0));

    /* a full queue's sender: EIDRM too */
    id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    struct msqid_ds ds;
    KT_SYS_OK(mctl(id, IPC_STAT, &ds));
    ds.msg_qbytes = 4;
    KT_SYS_OK(mctl(id, IPC_SET, &ds));
    KT_SYS_OK(snd(id, 1, "abcd", 4, 0));
    c = KT_FORK();
    if (c == 0) _exit(snd(id, 1, "e", 1, 0) == -1 && errno == EIDRM ? 0 : 1);
    KT_TRUE(kt_wait_sleeping(c, 2000), "sender sleeps");
    kt_msleep(20);
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
    KT_WAIT_STATUS(c, kt_exited(0));

    /* a handled signal: EINTR even with SA_RESTART; the queue unchanged */
    id = KT_SYS_OK(msgget(IPC_PRIVATE, 0600));
    c = KT_FORK();
    if (c == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, 0);
        struct m b;
        long n = rcv(id, &b, 64, 0, 0);
        _exit(n == -1 && errno == EINTR && got_usr1 ? 0 : 1);
    }
    KT_TRUE(kt_wait_sleeping(c, 2000), "receiver sleeps");
    kt_msleep(20);
    KT_SYS_OK(kill(c, SIGUSR1));
    KT_WAIT_STATUS(c, kt_exited(0));
    /* a stop and continue does not end the wait (restarted) */
    c = KT_FORK();
    if (c == 0) {
        struct m b;
        long n = rcv(id, &b, 64, 0, 0);
        _exit(n == 2 && strcmp(b.text, "ok") == 0 ? 0 : 1);
    }
    KT_TRUE(kt_wait_sleeping(c, 2000), "receiver sleeps");
    kt_msleep(20);
    KT_SYS_OK(kill(c, SIGSTOP));
    int st;
    KT_SYS_RET(waitpid(c, &st, WUNTRACED), c);
    KT_SYS_OK(kill(c, SIGCONT));
    for (int i = 0; i < 200 && proc_state_of(c) != 'S'; i++) kt_msleep(5);
    KT_SYS_OK(snd(id, 1, "ok", 2, 0));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
}

static int ns_child(void) {
    int outer = msgget(KEY, IPC_CREAT | 0600);
    KT_CHILD_CHECK(1, outer >= 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWIPC) == 0);
    KT_CHILD_CHECK(3, msgget(KEY, 0) == -1 && errno == ENOENT);
    struct msqid_ds ds;
    KT_CHILD_CHECK(4, mctl(outer, IPC_STAT, &ds) == -1 && errno == EINVAL);
    int info[8];
    KT_CHILD_CHECK(5, mctl(0, IPC_INFO, info) == 0);
    unsigned short seg = ((unsigned short *)info)[14];
    KT_CHILD_CHECK(6, info[0] == 512000 && info[1] == 16384 && info[2] == 8192 && info[3] == 16384 &&
                          info[4] == 32000 && info[5] == 16 && info[6] == 16384 && seg == 0xffff);
    int a = msgget(KEY, IPC_CREAT | 0644);
    int b = msgget(IPC_PRIVATE, 0600);
    KT_CHILD_CHECK(7, a == 0 && b == 1);
    KT_CHILD_CHECK(8, snd(a, 1, "hello", 5, 0) == 0 && snd(a, 2, "hi", 2, 0) == 0 && snd(b, 1, "x", 1, 0) == 0);
    KT_CHILD_CHECK(9, mctl(0, MSG_INFO, info) == 1);
    KT_CHILD_CHECK(10, info[0] == 2 && info[1] == 3 && info[6] == 8);
    KT_CHILD_CHECK(11, mctl(1, MSG_STAT, &ds) == b && ds.msg_qnum == 1);
    KT_CHILD_CHECK(12, mctl(5, MSG_STAT, &ds) == -1 && errno == EINVAL);
    struct msqid_ds da, db;
    KT_CHILD_CHECK(13, mctl(a, IPC_STAT, &da) == 0 && mctl(b, IPC_STAT, &db) == 0);
    char want[1024], buf[2048];
    int n = snprintf(want, sizeof want,
                     "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      "
                     "stime      rtime      ctime\n");
    n += snprintf(want + n, sizeof want - n,
                  "%10d %10d  %4o  %10lu %10lu %5u %5u %5u %5u %5u %5u %10llu %10llu %10llu\n", KEY, a, 0644, 7UL,
                  2UL, getpid(), 0, 0, 0, 0, 0, (unsigned long long)da.msg_stime, 0ULL,
                  (unsigned long long)da.msg_ctime);
    snprintf(want + n, sizeof want - n, "%10d %10d  %4o  %10lu %10lu %5u %5u %5u %5u %5u %5u %10llu %10llu %10llu\n",
             0, b, 0600, 1UL, 1UL, getpid(), 0, 0, 0, 0, 0, (unsigned long long)db.msg_stime, 0ULL,
             (unsigned long long)db.msg_ctime);
    KT_CHILD_CHECK(14, kt_read_text("/proc/sysvipc/msg", buf, sizeof buf) > 0);
    if (strcmp(buf, want) != 0) printf("  got:\n%s  want:\n%s", buf, want);
    KT_CHILD_CHECK(15, strcmp(buf, want) == 0);
    /* kernel.msgmax and msgmnb of this namespace */
    int fd = open("/proc/sys/kernel/msgmax", O_WRONLY);
    KT_CHILD_CHECK(16, fd >= 0 && write(fd, "4", 1) == 1);
    close(fd);
    KT_CHILD_CHECK(17, snd(b, 1, "12345", 5, 0) == -1 && errno == EINVAL);
    fd = open("/proc/sys/kernel/msgmnb", O_WRONLY);
    KT_CHILD_CHECK(18, fd >= 0 && write(fd, "3", 1) == 1);
    close(fd);
    int c = msgget(IPC_PRIVATE, 0600);
    KT_CHILD_CHECK(19, mctl(c, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 3);
    /* root may raise msg_qbytes past msgmnb */
    ds.msg_qbytes = 100;
    KT_CHILD_CHECK(20, mctl(c, IPC_SET, &ds) == 0);
    /* MSG_COPY copies at most min(msgsz, msgmax) (copy_msg: EINVAL past
     * it), after the E2BIG check against msgsz: "hello" (5) is queued in
     * a, msgmax is 4 now */
    struct m mb;
    KT_CHILD_CHECK(21, rcv(a, &mb, 64, 0, MSG_COPY | IPC_NOWAIT) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(22, rcv(a, &mb, 3, 0, MSG_COPY | IPC_NOWAIT) == -1 && errno == E2BIG);
    KT_CHILD_CHECK(23, rcv(a, &mb, 64, 1, MSG_COPY | IPC_NOWAIT) == 2 && memcmp(mb.text, "hi", 2) == 0);
    return 0;
}

/* msgctl(IPC_SET)'s msg_qbytes is an int in Linux 6.1 (msgctl_down's
 * argument: the low 32 bits), compared with the unsigned msgmnb (so -1
 * needs CAP_SYS_RESOURCE, EPERM without) and widened to the unsigned long
 * q_qbytes: with the capability -1 is a queue with no byte bound of its
 * own (memory bounds it: the cgroup on Linux, the System V budget
 * here). */
static int qbytes_child(void) {
    int id = msgget(IPC_PRIVATE, 0600);
    KT_CHILD_CHECK(1, id >= 0);
    struct msqid_ds ds;
    KT_CHILD_CHECK(2, mctl(id, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 16384);
    ds.msg_qbytes = (unsigned long)-1;
    KT_CHILD_CHECK(3, mctl(id, IPC_SET, &ds) == 0);
    KT_CHILD_CHECK(4, mctl(id, IPC_STAT, &ds) == 0 && ds.msg_qbytes == (unsigned long)-1);
    /* past the default 16384 bytes and 16384 messages */
    for (int i = 0; i < 20000; i++) KT_CHILD_CHECK(5, snd(id, 1, "", 0, IPC_NOWAIT) == 0);
    char text[64];
    memset(text, 'x', sizeof text);
    for (int i = 0; i < 300; i++) KT_CHILD_CHECK(6, snd(id, 2, text, 64, IPC_NOWAIT) == 0);
    KT_CHILD_CHECK(7, mctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 20300 && ds.msg_cbytes == 300 * 64);
    ds.msg_qbytes = 0x100000010UL;
    KT_CHILD_CHECK(8, mctl(id, IPC_SET, &ds) == 0 && mctl(id, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 16);
    struct m mb;
    KT_CHILD_CHECK(9, rcv(id, &mb, 64, 2, IPC_NOWAIT) == 64);
    KT_CHILD_CHECK(10, mctl(id, IPC_RMID, 0) == 0);
    KT_CHILD_CHECK(11, setgid(65534) == 0 && setuid(65534) == 0);
    id = msgget(IPC_PRIVATE, 0600);
    KT_CHILD_CHECK(12, id >= 0 && mctl(id, IPC_STAT, &ds) == 0);
    ds.msg_qbytes = (unsigned long)-1;
    KT_CHILD_CHECK(13, mctl(id, IPC_SET, &ds) == -1 && errno == EPERM);
    ds.msg_qbytes = 0x100004001UL;
    KT_CHILD_CHECK(14, mctl(id, IPC_SET, &ds) == -1 && errno == EPERM);
    ds.msg_qbytes = 0x100000010UL;
    KT_CHILD_CHECK(15, mctl(id, IPC_SET, &ds) == 0 && mctl(id, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 16);
    KT_CHILD_CHECK(16, mctl(id, IPC_RMID, 0) == 0);
    return 0;
}

KT_CASE(qbytes_needs_cap_past_msgmnb) {
    KT_EQ(kt_in_child(qbytes_child), 0);
}

KT_CASE(namespaces_info_and_proc) {
    KT_EQ(kt_in_child(ns_child), 0);
    int id = KT_SYS_OK(msgget(KEY, 0));
    KT_SYS_OK(mctl(id, IPC_RMID, 0));
}

KT_MAIN()
