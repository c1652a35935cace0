# network namespaces from Debian's tools: util-linux unshare -rn (a user
# namespace's root in a new network namespace), iproute2's ip over
# NETLINK_ROUTE, iputils ping over lo (its warnings aside: ours lacks
# SO_TIMESTAMP and IP_RECVERR on raw sockets), a Python server and client inside
unshare -rn ip addr
unshare -rn sh -c 'ip link set lo up; ip -4 addr show lo; ping -c1 -W2 127.0.0.1 >/dev/null 2>/tmp/ping.err; echo ping $?'
unshare -rn python3 -c '
import socket, threading, os
srv = socket.socket()
srv.bind(("127.0.0.1", 8001))
try:
    socket.create_connection(("127.0.0.1", 8001))
except OSError as e:
    print("lo down", e.errno)
os.system("ip link set lo up")
srv = socket.socket()
srv.bind(("127.0.0.1", 8000)); srv.listen()
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(100).upper()); c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(("127.0.0.1", 8000)); cl.sendall(b"hello ns")
print(cl.recv(100).decode()); t.join()
print(open("/proc/net/tcp").read().count("\n") - 1, "tcp rows")'
# the first namespace is another one, and its port 8000 is free
a=$(readlink /proc/self/ns/net); b=$(unshare -rn readlink /proc/self/ns/net)
[ "$a" != "$b" ] && echo "ns differ"
