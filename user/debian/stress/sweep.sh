#!/bin/sh
# Debian's stress-ng as a test of the kernel: every stressor one at a time
# (1 instance, 2 s, --verify, killed after 40 s), its exit status printed
# as "=== NAME rc=N" (0 passed, 1 not started by stress-ng's own check,
# 2 failed, 3 out of resources, 137 killed at the cap) with the first
# lines of its output when it did not pass; then a power-off. Run it on
# both kernels and compare (docs/status.md, "Lead's work (2026-12-06
# fourteenth session)"):
#   cargo xtask qemu --packages stress-ng --memory 2G \
#       --include user/debian/stress/sweep.sh:/usr/local/lib/autorun.sh --timeout 2400 [--linux]
# STRESSORS="a b c" in the environment limits it to those.
cd /tmp || exit 1
echo "=== sweep start $(uname -r) $(nproc) cpus"
# the machine's own: a reboot, the kernel log, sysfs writes, PCI config
SKIP=" reboot klog sysfs pci "
for s in ${STRESSORS:-$(stress-ng --stressors)}; do
  case "$SKIP" in *" $s "*) echo "=== $s skipped"; continue;; esac
  out=$(timeout -s KILL 40 stress-ng --"$s" 1 -t 2 --verify --no-rand-seed 2>&1)
  rc=$?
  echo "=== $s rc=$rc"
  [ $rc -ne 0 ] && echo "$out" | grep -vE "^stress-ng: info" | head -8 | sed 's/^/    | /'
done
echo "=== sweep done"
poweroff -f
