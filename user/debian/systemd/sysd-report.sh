#!/bin/bash
# Run by sysd-report.service (cargo xtask systemd): what systemd says of the
# boot, one `=== ` line per question, then a clean power-off by systemctl.
# Only lines that do not depend on times or pids are printed between
# "=== sysd report" and "=== sysd done".
export LANG=C.UTF-8 SYSTEMD_COLORS=0 SYSTEMD_PAGER=
up=$(cut -d' ' -f1 /proc/uptime)
echo "=== sysd report"
state=$(timeout 120 systemctl is-system-running --wait)
echo "=== is-system-running: $state"
echo "=== failed units:"
systemctl list-units --failed --no-legend --plain | awk '{print "=== failed", $1, $2, $3, $4}'
echo "=== jobs:"
systemctl list-jobs --no-legend | awk '{print "=== job", $2, $3, $4}'
echo "=== default target: $(systemctl get-default) $(systemctl is-active multi-user.target)"
echo "=== active units: $(systemctl list-units --state=active --no-legend --plain | awk '{print $1}' | grep -v '[.]device$' | sort | tr '\n' ' ')"
echo "=== dbus: $(busctl --no-pager call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.DBus.Properties Get ss org.freedesktop.systemd1.Manager Version 2>&1 | cut -d' ' -f1-2)"
echo "=== sysd done"
echo "(uptime at the report's start: $up s)"
systemd-analyze time 2>&1 | head -2
systemctl list-units --failed --plain --no-pager 2>&1 | head -20
for u in $(systemctl list-units --failed --no-legend --plain | awk '{print $1}'); do
    systemctl status --no-pager -n 8 "$u" 2>&1 | tail -10
done
# journald's own log goes to /dev/kmsg; by hand it says why it stops
if systemctl is-failed -q systemd-journald.service; then
    echo "(systemd-journald by hand, its debug log on the console)"
    SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug timeout 20 /lib/systemd/systemd-journald 2>&1 | head -80
    echo "(systemd-journald by hand: exit ${PIPESTATUS[0]})"
fi
systemctl poweroff
