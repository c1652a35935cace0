# SysV IPC and POSIX message queues from Debian's python3 (ctypes), and a
# queue's file in a mqueue mount (ls -l shows size 80, as Linux) (deb37)
d=/usr/local/lib/checks
python3 $d/sysvipc.py
python3 $d/posixmq.py
mkdir -p /tmp/mqfs && mount -t mqueue none /tmp/mqfs && python3 $d/posixmq.py keep | tail -1
stat -c '%A %s %n' /tmp/mqfs/deb37; cat /tmp/mqfs/deb37; rm /tmp/mqfs/deb37; ls /tmp/mqfs | wc -l; umount /tmp/mqfs
