# The Debian system booted from /dev/vda (cargo xtask qemu --debian --disk,
# checked by xtask's disk part with init=/usr/bin/bash): the root is the
# ext2 disk, what the last boot wrote is there, Python runs from it.
stat -f -c 'root fs %T' /
cat /root/kept 2>/dev/null || echo nothing-kept
echo "kept-$1" > /root/kept
sync
python3 -c 'print(6*7)'
# lsblk (util-linux) through /sys/block and /sys/dev/block: the root disk,
# as Linux lists it (MOUNTPOINTS left out: lsblk reads it from
# /proc/self/mountinfo, which this kernel lacks)
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
lsblk -n -o NAME,MAJ:MIN,RM,RO,TYPE | tr -s ' '
