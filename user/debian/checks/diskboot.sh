# The Debian system booted from /dev/vda (cargo xtask qemu --debian --disk,
# checked by xtask's disk part with init=/usr/bin/bash): the root is the
# ext2 disk, what the last boot wrote is there, Python runs from it.
stat -f -c 'root fs %T' /
cat /root/kept 2>/dev/null || echo nothing-kept
echo "kept-$1" > /root/kept
sync
python3 -c 'print(6*7)'
