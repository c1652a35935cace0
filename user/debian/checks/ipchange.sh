# iproute2 changing addresses and routes in a network namespace of its own
# (lo up, nothing else), with `ip monitor` watching: exit codes (2 for an
# RTNETLINK error), what `ip addr`/`ip route` show, what the monitor saw
# (sorted, the local table's routes left out; without nodad Linux announces
# the IPv6 address twice, tentative first; ours keeps no IFA_F_NODAD, which
# Linux shows: dropped from the monitor's lines)
unshare -rn sh -c '
ip link set lo up
ip monitor address route > /tmp/mon.txt 2>&1 & m=$!
sleep 1
ip addr add 10.9.9.9/24 dev lo; echo "addr add $?"
ip addr add 10.9.9.9/24 dev lo 2>/dev/null; echo "addr again $?"
ip -4 -o addr show dev lo | awk "{print \$2, \$4, \$5, \$6}"
ip route add 192.168.5.0/24 dev lo; echo "route add $?"
ip route add 192.168.5.0/24 dev lo 2>/dev/null; echo "route again $?"
ip route add 192.168.6.0/24 via 203.0.113.1 2>/dev/null; echo "unreachable gw $?"
ip route replace 192.168.5.0/24 dev lo; echo "route replace $?"
ip route
ip route del 192.168.5.0/24; echo "route del $?"
ip route del 192.168.5.0/24 2>/dev/null; echo "route del again $?"
ip addr del 10.9.9.9/24 dev lo; echo "addr del $?"
ip addr del 10.9.9.9/24 dev lo 2>/dev/null; echo "addr del again $?"
ip -6 addr add 2001:db8::1/64 dev lo nodad; echo "addr6 add $?"
ip -6 route add 2001:db8:5::/64 dev lo; echo "route6 add $?"
ip -6 route show 2001:db8:5::/64
ip -6 route del 2001:db8:5::/64; echo "route6 del $?"
sleep 1; kill $m
ip link set lo down; ip -4 route show table all | wc -l
grep -v "table local" /tmp/mon.txt | sed "s/ nodad *\$//" | sort
'
