# util-linux's namespace and process tools as container and sandbox
# scripts call them (deb38): unshare -Urmpf --mount-proc (proc mounted by
# a user namespace's root in its own PID namespace), proc refused without
# one, choom (/proc/PID/oom_score), prlimit, setpriv, taskset, chrt,
# ionice, flock, nsenter; a netlink socket's port in a PID namespace
unshare -Urmpf --mount-proc sh -c 'ps -e -o comm= > /tmp/sb.ps; echo $(id -u) $$ $(sort /tmp/sb.ps | tr "\n" " ")'
unshare -Urm sh -c 'mount -t proc proc /mnt 2>/dev/null; echo noproc $?'
unshare -Urmpf sh -c 'mount -t proc proc /mnt; echo proc $? $(ls /mnt | grep -c "^1$"); umount /mnt'
choom -n 300 -- sh -c 'choom -p $$ | sed "s/pid [0-9]*/pid N/; s/score: [0-9]*/score: S/"'
choom -p $$ | awk 'NR==1 { print "score", ($NF >= 666 && $NF < 700) }'
prlimit --nofile=100:200 sh -c 'echo $(ulimit -n) $(ulimit -Hn)'; prlimit --nproc=10:5 true; echo $?
setpriv --no-new-privs grep NoNewPrivs /proc/self/status; setpriv --bounding-set=-net_raw grep CapBnd /proc/self/status
taskset -c 1 grep Cpus_allowed_list /proc/self/status; taskset -c 5 true 2>&1 | sed 's/pid [0-9]*/pid N/'
chrt -f 10 sh -c 'chrt -p $$' | sed 's/pid [0-9]*/pid N/'; ionice -c 2 -n 3 sh -c 'ionice -p $$'
(flock -n 9 && sleep 2) 9>/tmp/sb.lk & sleep 1; flock -n /tmp/sb.lk true; echo flock $?; wait
unshare -u --fork sh -c 'hostname nsx; sleep 20' & sleep 1; nsenter -t $(pgrep -n -x sleep) -u hostname; kill $!; wait 2>/dev/null
unshare -pfn python3 -c 'import socket, os; s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); s.bind((0, 0)); print("nl", s.getsockname()[0], os.getpid())'
