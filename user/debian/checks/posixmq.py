# POSIX message queues through ctypes (mq_open/mq_send/mq_receive/mq_getattr/mq_setattr/mq_unlink): priorities, limits, errno (deb37)
import ctypes, os, sys, errno, struct
c = ctypes.CDLL(None, use_errno=True)
def e(r): return r if r >= 0 else errno.errorcode[ctypes.get_errno()]
class attr(ctypes.Structure): _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long), ("cur", ctypes.c_long), ("pad", ctypes.c_long * 4)]
c.mq_open.restype = ctypes.c_int
c.mq_unlink(b"/deb37")
a = attr(0, 4, 64, 0)
q = c.mq_open(b"/deb37", os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o640, ctypes.byref(a))
print("open", q >= 0, e(c.mq_open(b"/deb37", os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o640, ctypes.byref(a))))
for p, m in [(1, b"low"), (9, b"high"), (5, b"mid"), (9, b"high2")]:
    print("send", e(c.mq_send(q, m, len(m), p)), end=" ")
print()
g = attr(); c.mq_getattr(q, ctypes.byref(g)); print("attr", g.flags, g.maxmsg, g.msgsize, g.cur)
a2 = attr(os.O_NONBLOCK); print("setattr", e(c.mq_setattr(q, ctypes.byref(a2), None)))
print("full", e(c.mq_send(q, b"x", 1, 0)), e(c.mq_send(q, b"x" * 65, 65, 0)))
buf = ctypes.create_string_buffer(64); pr = ctypes.c_uint()
print("small", e(c.mq_receive(q, buf, 10, ctypes.byref(pr))))
out = []
for _ in range(5):
    r = c.mq_receive(q, buf, 64, ctypes.byref(pr)); out.append((e(r), pr.value, buf.raw[:r] if r > 0 else b""))
print("recv", out)
print("errs", e(c.mq_open(b"/a/b", os.O_CREAT | os.O_RDWR, 0o600, None)), e(c.mq_open(b"/nope", os.O_RDWR)), e(c.mq_unlink(b"/nope")),
      e(c.mq_open(b"/big", os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(attr(0, 100000, 64, 0)))), e(c.mq_send(q, b"x", 1, 40000)))
if len(sys.argv) > 1:
    c.mq_send(q, b"kept", 4, 3)
else:
    print("unlink", e(c.mq_unlink(b"/deb37")), e(c.mq_unlink(b"/deb37")))
print("close", e(c.mq_close(q)), e(c.mq_close(q)))
