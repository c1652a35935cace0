# SysV semaphores and message queues through ctypes (semget/semop/semctl, msgsnd/msgrcv/msgctl): values, errno, SEM_UNDO, waiters woken by IPC_RMID (deb37)
import ctypes, os, struct, errno
c = ctypes.CDLL(None, use_errno=True)
def e(r): return r if r >= 0 else errno.errorcode[ctypes.get_errno()]
IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_STAT, IPC_SET, IPC_INFO = 0, 0o1000, 0o2000, 0o4000, 0, 2, 1, 3
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL, SEM_STAT, SEM_INFO = 11, 12, 13, 14, 15, 16, 17, 18, 19
sid = c.semget(IPC_PRIVATE, 3, IPC_CREAT | 0o600)
print("semget", sid >= 0)
print("setval", e(c.semctl(sid, 1, SETVAL, ctypes.c_int(7))), e(c.semctl(sid, 1, GETVAL)))
arr = (ctypes.c_ushort * 3)(1, 2, 3)
print("setall", e(c.semctl(sid, 0, SETALL, arr)), [e(c.semctl(sid, i, GETVAL)) for i in range(3)])
class sembuf(ctypes.Structure): _fields_ = [("n", ctypes.c_ushort), ("op", ctypes.c_short), ("flg", ctypes.c_short)]
ops = (sembuf * 2)(sembuf(0, -1, 0), sembuf(2, 5, 0x1000))
print("semop", e(c.semop(sid, ops, 2)), e(c.semctl(sid, 0, GETVAL)), e(c.semctl(sid, 2, GETVAL)), e(c.semctl(sid, 0, GETPID)) == os.getpid())
ops = (sembuf * 1)(sembuf(0, -1, IPC_NOWAIT))
print("eagain", e(c.semop(sid, ops, 1)))
ops = (sembuf * 1)(sembuf(5, -1, IPC_NOWAIT))
print("efbig", e(c.semop(sid, ops, 1)))
ops = (sembuf * 1)(sembuf(0, 32767, 0))
print("erange", e(c.semop(sid, ops, 1)), e(c.semctl(sid, 0, SETVAL, ctypes.c_int(32768))), e(c.semctl(sid, 0, SETVAL, ctypes.c_int(-1))))
buf = ctypes.create_string_buffer(256)
print("semctl bad", e(c.semctl(sid, 0, 99)), e(c.semctl(-1, 0, GETVAL)), e(c.semctl(sid, 3, GETVAL)))
r = c.semctl(0, 0, SEM_INFO, buf); print("sem_info", r >= 0, struct.unpack("10i", buf.raw[:40])[:4], struct.unpack("10i", buf.raw[:40])[7:])
r = c.semctl(0, 0, IPC_INFO, buf); print("ipc_info", r >= 0, struct.unpack("10i", buf.raw[:40]))
# undo through a child
pid = os.fork()
if pid == 0:
    ops = (sembuf * 1)(sembuf(1, 3, 0x1000)); c.semop(sid, ops, 1); os._exit(0)
os.waitpid(pid, 0); print("undo", e(c.semctl(sid, 1, GETVAL)))
# waiter counts
pid = os.fork()
if pid == 0:
    ops = (sembuf * 1)(sembuf(1, -100, 0)); r = c.semop(sid, ops, 1); os._exit(100 + (ctypes.get_errno() if r < 0 else 0))
import time
for _ in range(200):
    if c.semctl(sid, 1, GETNCNT) == 1: break
    time.sleep(0.05)
print("ncnt", e(c.semctl(sid, 1, GETNCNT)), e(c.semctl(sid, 1, GETZCNT)))
print("rmid", e(c.semctl(sid, 0, IPC_RMID)))
print("waiter", errno.errorcode.get(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) - 100))
print("after", e(c.semctl(sid, 0, GETVAL)))
print("semget errs", e(c.semget(IPC_PRIVATE, 0, IPC_CREAT)), e(c.semget(IPC_PRIVATE, 40000, IPC_CREAT)), e(c.semget(0x4242, 1, 0)))
k = c.semget(0x4242, 2, IPC_CREAT | 0o600)
print("excl", e(c.semget(0x4242, 2, IPC_CREAT | IPC_EXCL)), e(c.semget(0x4242, 3, 0)) , e(c.semget(0x4242, 1, 0)) == k)
c.semctl(k, 0, IPC_RMID)
# message queues
qid = c.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
def snd(t, body, fl=0):
    b = struct.pack("l", t) + body
    return e(c.msgsnd(qid, b, len(body), fl))
def rcv(t, n=64, fl=0):
    b = ctypes.create_string_buffer(8 + n)
    r = c.msgrcv(qid, b, n, ctypes.c_long(t), fl)
    return e(r) if r < 0 else (struct.unpack("l", b.raw[:8])[0], b.raw[8:8 + r])
print("snd", snd(3, b"three"), snd(1, b"one"), snd(2, b"two"), snd(0, b"zero"), snd(1, b"x" * 9000))
print("rcv", rcv(2), rcv(-2), rcv(5, fl=IPC_NOWAIT), rcv(3, 2), rcv(3, 2, 0o10000), rcv(0, fl=IPC_NOWAIT))
print("except", snd(4, b"a"), snd(5, b"b"), rcv(4, fl=0o20000), rcv(0, fl=IPC_NOWAIT))
MSG_COPY = 0o40000
print("copy", snd(7, b"c0"), snd(8, b"c1"), rcv(1, fl=MSG_COPY | IPC_NOWAIT), rcv(5, fl=MSG_COPY | IPC_NOWAIT), rcv(0, fl=MSG_COPY))
r = c.msgctl(qid, IPC_STAT, buf); print("stat", r, struct.unpack("QQQ", buf.raw[72:96]))
r = c.msgctl(0, IPC_INFO, buf); print("msginfo", r >= 0, struct.unpack("8i", buf.raw[:32]))
r = c.msgctl(0, 12, buf); print("msg_info", r >= 0, struct.unpack("8i", buf.raw[:32])[3:6])
print("msgctl bad", e(c.msgctl(qid, 99, buf)), e(c.msgctl(-5, IPC_STAT, buf)))
print("fill", [snd(1, b"y" * 8192, IPC_NOWAIT) for _ in range(3)])
print("rm", e(c.msgctl(qid, IPC_RMID, None)), rcv(0, fl=IPC_NOWAIT), snd(1, b"z"))
