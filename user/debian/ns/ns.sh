# The namespace tools' script of `cargo xtask ns` (xtask/src/nssys.rs): run
# by the Debian system's /init as /usr/local/lib/autorun.sh, on our kernel
# and on Debian's Linux; only deterministic output (no pids of the outer
# namespace, no inode or mount ids), so that the two consoles can be
# compared line by line. Each step is framed by "=== step NAME" and
# "=== status NAME N".
#
# bwrap pivots its root, and pivot_root(2) is EINVAL on an initramfs root
# (rootfs has no parent) on both kernels: the script first moves a bind of
# / over / and chroots into it, as switch_root does, so that the root is a
# mount with a parent and not a chroot (user namespaces allowed).
export LC_ALL=C.UTF-8 HOME=/root TZ=UTC
if [ "$1" != inner ]; then
    echo "=== step switch_root"
    # chroot(".") from the moved mount (a look-up of "/" would not cross
    # onto it: the process's root is still rootfs's)
    mkdir -p /mnt/r && mount --rbind / /mnt/r && cd /mnt/r && mount --move . / &&
        exec chroot . bash /usr/local/lib/autorun.sh inner
    echo "=== status switch_root $?"
    echo "=== ns done"
    exit 1
fi
echo "=== status switch_root 0"

step() {
    local name=$1; shift
    echo "=== step $name"
    ( cd /tmp && "$@" ) 2>&1
    echo "=== status $name $?"
}

# mountinfo without ids and device numbers: mount point, root, type,
# ro/rw and the propagation fields' kinds (exported: the sandboxes' sh
# runs it as `awk "$MI" /proc/self/mountinfo`)
export MI='{
    sep = 0; for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
    prop = ""; for (i = 7; i < sep; i++) { f = $i; sub(/:[0-9]+/, "", f); prop = prop " " f }
    r = $4; gsub(/\[[0-9]+\]/, "[N]", r)
    split($6, o, ","); print $5, r, $(sep + 1), o[1] prop
}'
mounts() {
    awk "$MI" /proc/self/mountinfo
}

BW="bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp"

bwrap_ids() {
    export OUTER_NS="$(for n in cgroup ipc mnt net pid uts user; do readlink /proc/self/ns/$n; done)"
    $BW --unshare-all --die-with-parent --hostname sandbox sh -c '
        id; echo "pid $$ ppid $PPID"; hostname
        i=0; for n in cgroup ipc mnt net pid uts user; do
            i=$((i + 1)); o=$(echo "$OUTER_NS" | sed -n ${i}p)
            [ "$(readlink /proc/self/ns/$n)" = "$o" ] && echo "$n shared" || echo "$n new"
        done
        cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups
        ip -o link | cut -d" " -f2,3'
    echo "rc $?"
}

bwrap_mounts() {
    $BW --unshare-all sh -c 'awk "$MI" /proc/self/mountinfo'
    echo "rc $?"
    $BW --unshare-all ls /dev | tr '\n' ' '; echo
    $BW --unshare-all sh -c 'ls -ld /tmp /proc /dev /dev/pts /dev/shm | cut -c1-10'
}

bwrap_ro() {
    $BW --unshare-all sh -c 'touch /etc/bw-x; echo "touch $?"; echo x > /usr/bw-y; echo "write $?"
        touch /tmp/ok && echo "tmp ok"; mkdir /bw-z; echo "mkdir $?"'
    $BW --unshare-all --remount-ro /tmp sh -c 'touch /tmp/x; echo "remount-ro $?"'
}

bwrap_bind() {
    mkdir -p /tmp/bwb && echo outer > /tmp/bwb/f
    # on the read-only root only existing directories take binds
    $BW --bind /tmp/bwb /mnt --unshare-all sh -c 'cat /mnt/f; echo inner > /mnt/g; echo "bind rc $?"'
    cat /tmp/bwb/g
    $BW --ro-bind /tmp/bwb /mnt --unshare-all sh -c 'echo x > /mnt/h; echo "ro-bind rc $?"'
    $BW --bind /tmp/bwb /data --unshare-all true; echo "bind on a missing dir $?"
    $BW --bind-try /nonexistent /mnt --unshare-all true; echo "bind-try $?"
    $BW --bind /nonexistent /mnt --unshare-all true; echo "bind missing $?"
    $BW --dir /tmp/d1/d2 --file 3 /tmp/d1/f --bind /tmp/bwb /tmp/d1/b --unshare-all sh -c 'ls -d /tmp/d1/d2; cat /tmp/d1/f /tmp/d1/b/f; awk "$MI" /proc/self/mountinfo | grep /tmp' 3<<<'from fd'
}

bwrap_symlink_chdir() {
    $BW --symlink /usr/bin /tmp/xbin --chdir /usr/share --unshare-all sh -c 'readlink /tmp/xbin; pwd; ls /tmp/xbin/sh'
    $BW --symlink /usr/bin /xbin --unshare-all true; echo "symlink on ro $?"
    $BW --chdir /nonexistent --unshare-all true; echo "chdir missing $?"
    $BW --setenv BW_V hello --unsetenv HOME --unshare-all sh -c 'echo "$BW_V ${HOME-unset}"'
}

bwrap_user() {
    $BW --unshare-user --uid 1234 --gid 5678 sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map'
    setpriv --reuid 1000 --regid 1000 --clear-groups $BW --unshare-user --unshare-pid sh -c '
        id; cat /proc/self/uid_map; echo "pid $$"; grep -E "^Cap(Eff|Prm)" /proc/self/status'
    setpriv --reuid 1000 --regid 1000 --clear-groups $BW --unshare-all --uid 0 --gid 0 --cap-add ALL sh -c '
        id; grep -E "^Cap(Eff|Prm)" /proc/self/status'
    setpriv --reuid 1000 --regid 1000 --clear-groups $BW --ro-bind / / true; echo "no userns $?"
}

bwrap_session() {
    $BW --unshare-pid --new-session sh -c 'set -- $(cat /proc/$$/stat); echo "sid==pid $([ $6 = $1 ] && echo yes || echo no) pgrp==pid $([ $5 = $1 ] && echo yes || echo no)"'
    $BW --unshare-pid sh -c 'set -- $(cat /proc/$$/stat); echo "without: sid==pid $([ $6 = $1 ] && echo yes || echo no)"'
    $BW --unshare-pid --as-pid-1 sh -c 'echo "as-pid-1 $$"'
}

bwrap_die() {
    # the sandbox's sleep dies with bwrap's parent (--die-with-parent: PR_SET_PDEATHSIG)
    sh -c "$BW --unshare-all --die-with-parent sleep 4321 & sleep 1; kill -9 \$\$"
    sleep 1; pgrep -x -f 'sleep 4321' >/dev/null && echo "still running" || echo "gone"
    sh -c "$BW --unshare-all sleep 4322 & sleep 1; kill -9 \$\$"
    sleep 1; pgrep -x -f 'sleep 4322' >/dev/null && echo "without: still running" || echo "without: gone"
    pkill -x -f 'sleep 4322'; sleep 0.2
}

bwrap_info() {
    $BW --unshare-all --info-fd 3 --json-status-fd 4 sh -c 'exit 7' 3>/tmp/bw.info 4>/tmp/bw.json
    echo "rc $?"
    sed 's/[0-9][0-9]*/N/g' /tmp/bw.info; echo; sed 's/[0-9][0-9]*/N/g' /tmp/bw.json
}

netns() {
    ip netns list; echo "list $?"
    ip netns add blue && ip netns add red; echo "add $?"
    ip netns list | sort
    ls /run/netns | sort | tr '\n' ' '; echo
    mounts | grep netns
    ip netns exec blue ip addr
    ip netns exec blue ip link set lo up
    ip netns exec blue ip -o addr | sed 's/ \+/ /g'
    ip netns exec blue ping -c 1 -W 2 127.0.0.1 | grep -E 'transmitted|bytes from' | sed 's/time=.*//'
    ip -n red -o link | cut -d' ' -f2,3
    ip netns exec red sh -c 'readlink /proc/self/ns/net > /tmp/red.ns'
    ip netns exec blue sh -c 'readlink /proc/self/ns/net' | cmp -s - /tmp/red.ns && echo "blue==red" || echo "blue!=red"
    ip netns identify $$; echo "identify $?"
    ip netns exec red sh -c 'ip netns identify $$'
    ip netns pids blue | wc -l
    ip netns exec blue sh -c 'awk "$MI" /proc/self/mountinfo | grep -E "^/sys |^/run/netns"'
    ip netns exec blue ls /sys/class/net
    ip link add veth0 type veth peer name veth1 >/dev/null 2>&1; echo "veth $?"
    ip netns delete blue; echo "delete $?"
    ip netns list
    ip netns exec blue true; echo "exec deleted $?"
    ip netns delete red; ls /run/netns | wc -l
    mounts | grep -c netns
}

unshare_tools() {
    unshare -Urmpf --mount-proc ps -e -o pid=,comm=
    unshare -Urmpf --mount-proc sh -c 'ps -o pid=,ppid=,comm= -p $$; id -u; cat /proc/self/uid_map'
    unshare -rm sh -c 'mount -t tmpfs t /mnt && echo tmpfs ok; awk "\$5 == \"/mnt\" {print \$5, \$9}" /proc/self/mountinfo'
    mountpoint -q /mnt && echo "outer sees /mnt" || echo "outer clean"
    unshare -u --fork sh -c 'hostname nsx; sleep 20' & sleep 1
    nsenter -t $(pgrep -n -x sleep) -u hostname
    nsenter -t $(pgrep -n -x sleep) -u -m -i -n -p sh -c hostname
    kill $!; wait 2>/dev/null
    hostname
    unshare -n --fork sleep 20 & sleep 1
    nsenter -t $(pgrep -n -x sleep) -n ip -o link | cut -d' ' -f2,3
    kill $!; wait 2>/dev/null
    nsenter -t 999999 -u true; echo "missing $?"
}

# A shared tmpfs at /srv/p: a mount made in an unshare'd namespace with
# --propagation MODE seen outside or not, and one made outside seen inside
prop_one() {
    local mode=$1
    mkdir -p /srv/p && mount -t tmpfs p /srv/p && mount --make-shared /srv/p && mkdir /srv/p/in /srv/p/out
    unshare -m --propagation $mode sh -c '
        mount -t tmpfs i /srv/p/in; sleep 2
        mountpoint -q /srv/p/out && echo "inside sees out" || echo "inside not out"
        awk "\$5 ~ /^\/srv\/p/ {f = \"\"; for (i = 7; \$i != \"-\"; i++) { g = \$i; sub(/:[0-9]+/, \"\", g); f = f \" \" g }; print \$5 f}" /proc/self/mountinfo' &
    sleep 1
    mount -t tmpfs o /srv/p/out
    mountpoint -q /srv/p/in && echo "outside sees in" || echo "outside not in"
    wait
    umount -R /srv/p
    echo "$mode done"
}

propagation() {
    prop_one slave
    prop_one private
    prop_one shared
    prop_one unchanged
}

# binds and their propagation: a bind of a mount seen through the bind, a
# private bind, an recursive bind's submounts in a peer, a lazy umount's
# submounts in a peer
bind_prop() {
    mkdir -p /srv/a /srv/b /srv/c && mount -t tmpfs a /srv/a && mkdir /srv/a/sub /srv/a/sub2
    mount --bind /srv/a /srv/b && mount --make-private /srv/b
    mount -t tmpfs s /srv/a/sub
    mountpoint -q /srv/b/sub && echo "private bind sees sub" || echo "private bind not sub"
    mount --make-shared /srv/a && mount --bind /srv/a /srv/c
    mount -t tmpfs s2 /srv/a/sub2
    mountpoint -q /srv/c/sub2 && echo "peer sees sub2" || echo "peer not sub2"
    mountpoint -q /srv/c/sub && echo "peer sees sub" || echo "peer not sub"
    mountpoint -q /srv/b/sub2 && echo "private bind sees sub2" || echo "private bind not sub2"
    mounts | grep ' /srv/'
    umount -R /srv/c /srv/b /srv/a
    # a recursive bind under a shared mount: its submounts in the peer
    mkdir -p /srv/s /srv/t /srv/src && mount -t tmpfs s /srv/s && mount --make-shared /srv/s && mkdir /srv/s/m
    mount --bind /srv/s /srv/t
    mount -t tmpfs src /srv/src && mkdir /srv/src/x && mount -t tmpfs x /srv/src/x && touch /srv/src/x/mark
    mount --rbind /srv/src /srv/s/m
    ls /srv/t/m/x; mountpoint -q /srv/t/m/x && echo "peer sees rbind's submount" || echo "peer not rbind's submount"
    umount -l /srv/s/m
    mountpoint -q /srv/t/m && echo "peer keeps m" || echo "peer lost m"
    mountpoint -q /srv/t/m/x && echo "peer keeps m/x" || echo "peer lost m/x"
    mounts | grep ' /srv/' | sort
    umount -R /srv/t 2>/dev/null; umount -R /srv/s 2>/dev/null; umount -R /srv/src
    mounts | grep -c ' /srv/'
}

step bwrap_ids bwrap_ids
step bwrap_mounts bwrap_mounts
step bwrap_ro bwrap_ro
step bwrap_bind bwrap_bind
step bwrap_symlink_chdir bwrap_symlink_chdir
step bwrap_user bwrap_user
step bwrap_session bwrap_session
step bwrap_die bwrap_die
step bwrap_info bwrap_info
step netns netns
step unshare_tools unshare_tools
step propagation propagation
step bind_prop bind_prop
echo "=== ns done"
