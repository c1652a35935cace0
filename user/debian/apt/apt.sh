# The script of `cargo xtask apt` (xtask/src/aptsys.rs): run by the Debian
# system's /init as /usr/local/lib/autorun.sh, on our kernel and on
# Debian's Linux, each with a local apt repository that xtask serves on the
# host's 127.0.0.1 (10.0.2.2 here; its port is `kt.aptport=` on the kernel
# command line). Nothing else is reached: /etc/resolv.conf names 127.0.0.1.
# Only deterministic output (the port, times and pids normalised), so that
# the two consoles can be compared line by line. Each step is framed by
# "=== step NAME" and "=== status NAME N".
export LC_ALL=C.UTF-8 HOME=/root TZ=UTC DEBIAN_FRONTEND=noninteractive
P=$(sed -n 's/.*kt\.aptport=\([0-9]*\).*/\1/p' /proc/cmdline)
H=10.0.2.2
U=http://$H:$P
W=/tmp/apt
mkdir -p $W && cd $W || exit 1
norm() {
    sed -e "s/$H:$P/$H:PORT/g" \
        -e 's/^Fetched \([0-9.,]* [kMG]*B\) in .*/Fetched \1/' \
        -e 's/after [0-9]* ms/after N ms/' \
        -e 's/process [0-9]*/process N/'
}
step() {
    local name=$1
    shift
    echo "=== step $name"
    (cd $W && "$@") 2>&1 | norm
    echo "=== status $name ${PIPESTATUS[0]}"
}

net_up() {
    # Linux: virtio-net is a module; ours has eth0 configured at boot
    if ! ip link show eth0 >/dev/null 2>&1; then
        for m in /usr/lib/kt-net-modules/*.ko; do
            insmod "$m" || echo "insmod $m failed"
        done
        for _ in $(seq 100); do
            ip link show eth0 >/dev/null 2>&1 && break
            sleep 0.1
        done
        ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2
    fi
    ip link set lo up
    ip -4 -o addr show eth0 | awk '{print $2, $3, $4}'
    ip route show default
    echo "nameserver 127.0.0.1" >/etc/resolv.conf
    # what apt's postinst (adduser) and a first apt-get would have made
    grep -q '^_apt:' /etc/passwd || echo '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin' >>/etc/passwd
    echo "deb [trusted=yes] $U/ ./" >/etc/apt/sources.list
    test -n "$P" && echo "port given"
}

curl_wget() {
    curl -sS -o blob $U/blob.bin
    echo "curl rc $?"
    echo "blob $(sha256sum <blob | cut -d' ' -f1) $(stat -c %s blob)"
    curl -sS $U/blob.bin | sha256sum | cut -d' ' -f1 | sed 's/^/pipe /'
    # two requests on one connection
    curl -sS $U/blob.bin $U/Release | wc -c | sed 's/^/two /'
    curl -sSI $U/blob.bin | tr -d '\r' | grep -i -E '^(HTTP|content-length)'
    curl -sSf $U/missing
    echo "404 rc $?"
    # the host's loopback, a closed port: refused
    curl -sS --max-time 30 http://$H:1/
    echo "refused rc $?"
    wget -q -O - $U/blob.bin | sha256sum | cut -d' ' -f1 | sed 's/^/wget /'
    wget -q -O /dev/null $U/missing
    echo "wget 404 rc $?"
    # a long transfer to a file and through a pipe, three at once (-Z:
    # one process polling three sockets), a POST the server refuses
    curl -sS -o big $U/big.bin
    echo "big $(sha256sum <big | cut -d' ' -f1) $(stat -c %s big)"
    wget -q -O - $U/big.bin | sha256sum | cut -d' ' -f1 | sed 's/^/wget big /'
    # (-Z's meter shows despite -s: its times differ)
    curl -sS -Z -o p1 $U/blob.bin -o p2 $U/big.bin -o p3 $U/blob.bin 2>/dev/null
    echo "parallel rc $?"
    for f in p1 p2 p3; do echo "$f $(sha256sum <$f | cut -d' ' -f1)"; done
    curl -sS -o /dev/null -w '%{http_code} %{size_download}\n' -X POST -d x $U/blob.bin
    rm -f big p1 p2 p3
}

apt_update() {
    apt-get update
    echo "update rc $?"
    ls /var/lib/apt/lists | sort
    apt-cache policy hello
    apt-cache show hello | grep -E '^(Package|Version|Filename|Size):'
}

apt_install() {
    apt-get install -y hello
    echo "install rc $?"
    hello
    echo "hello rc $?"
    hello -g 'from the local repository'
    command -v hello
    dpkg -l hello | tail -n 1 | awk '{print $1, $2, $3, $4}'
    dpkg -s hello | grep -E '^(Status|Version):'
    dpkg -L hello | sort
    dpkg --audit
    echo "audit rc $?"
    ls /var/cache/apt/archives
}

apt_remove() {
    apt-get remove -y hello
    echo "remove rc $?"
    command -v hello
    echo "command rc $?"
    dpkg -l hello | tail -n 1 | awk '{print $1, $2, $3}'
    apt-get purge -y hello
    echo "purge rc $?"
    dpkg -l hello 2>&1 | tail -n 1
    apt-get clean
    ls /var/cache/apt/archives
}

download_dpkg_i() {
    apt-get download hello
    echo "download rc $?"
    ls *.deb
    dpkg -i hello_*.deb
    echo "dpkg -i rc $?"
    hello -g again
    dpkg -r hello
    echo "dpkg -r rc $?"
    command -v hello
    echo "command rc $?"
}

lock_held() {
    # another process holds dpkg's front-end lock (fcntl F_SETLK, as apt
    # takes it): apt names it (F_GETLK's pid) and gives up
    mkfifo held
    python3 -c '
import fcntl, sys, time
f = open("/var/lib/dpkg/lock-frontend", "w")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)' >held &
    local pid=$!
    read -r line <held
    echo "$line"
    apt-get install -y hello
    echo "locked install rc $?"
    kill $pid
    wait $pid
    echo "holder $?"
    apt-get install -y hello
    echo "install rc $?"
    apt-get install -y --reinstall hello
    echo "reinstall rc $?"
    hello -g twice
    apt-get purge -y hello
    echo "purge rc $?"
}

step net net_up
step curl_wget curl_wget
step apt_update apt_update
step apt_install apt_install
step apt_remove apt_remove
step download_dpkg_i download_dpkg_i
several() {
    # six packages in one go (pipelined requests to one server), jq's
    # libraries found in the repository, figlet's postinst
    # (update-alternatives), then autoremove of the automatic ones
    apt-get install -y jq tree figlet pv
    echo "install rc $?"
    echo '{"a":[1,2,{"b":"c"}]}' | jq -c '.a[2], (.a | length)'
    mkdir -p t/a/b && touch t/a/f t/a/b/g && tree --noreport t
    figlet -w 60 apt40
    update-alternatives --query figlet | grep -E '^(Name|Link|Value):'
    readlink /etc/alternatives/figlet
    pv -q blob | sha256sum | cut -d' ' -f1 | sed 's/^/pv /'
    apt-mark showauto
    apt-cache depends jq | sort
    apt-get remove -y jq
    echo "remove rc $?"
    apt-get autoremove -y
    echo "autoremove rc $?"
    dpkg -l jq libjq1 libonig5 tree figlet pv 2>&1 | grep -E '^[a-z][a-z] ' | awk '{print $1, $2, $3}'
    apt-get purge -y tree figlet pv
    echo "purge rc $?"
    test -e /etc/alternatives/figlet
    echo "alternative left $?"
    stat -c '%U %a %n' /var/cache/apt/archives/partial /var/lib/apt/lists/partial
    apt-get check
    echo "check rc $?"
}

step lock_held lock_held
step several several
# `cargo xtask apt --seccomp` (kt.aptseccomp): apt's methods under their
# seccomp filter (not apt 2.6's default). Our kernel has no seccomp(2)
# (ENOSYS, and EINVAL from prctl(PR_SET_SECCOMP), as a Linux built without
# CONFIG_SECCOMP): apt's http method dies there, Linux runs it.
seccomp() {
    apt-get -o APT::Sandbox::Seccomp=true update
    echo "seccomp update rc $?"
    grep -E '^Seccomp' /proc/self/status
}
grep -q kt.aptseccomp /proc/cmdline && step seccomp seccomp
echo "=== apt done"
# the tty drains to the serial port before /init powers off (Linux lost
# the last lines without it)
sleep 2
