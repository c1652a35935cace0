# util-linux's ipcmk, ipcs and unshare --ipc / -Uri: segments per IPC namespace
ipcmk -M 4096 > /tmp/ipcmk.out && id=$(awk '{print $NF}' /tmp/ipcmk.out)
echo "outer $(ipcs -m | grep -c '^0x')"
unshare --ipc sh -c 'echo "inner $(ipcs -m | grep -c "^0x")"; ipcmk -M 8192 >/dev/null; ipcs -m | awk "/^0x/ {print \"inner\", \$2, \$5}"'
unshare -Uri sh -c 'echo "user $(ipcs -m | grep -c "^0x") $(id -u)"; ipcmk -M 12288 >/dev/null; ipcs -m | awk "/^0x/ {print \"user\", \$2, \$5}"'
echo "outer $(ipcs -m | grep -c '^0x')"
ipcrm -m "$id" && echo removed
# semaphore sets and message queues (ipcmk -S / -Q, ipcs -s -q, ipcrm -s -q), per namespace too
sid=$(ipcmk -S 3 | awk '{print $NF}') && qid=$(ipcmk -Q | awk '{print $NF}')
ipcs -s | awk '/^0x/ {print "sem", $4, $5}'
ipcs -q | awk '/^0x/ {print "msg", $4, $5, $6}'
unshare --ipc sh -c 'echo "inner sq $(ipcs -s -q | grep -c "^0x")"; ipcmk -S 2 >/dev/null; ipcmk -Q >/dev/null; ipcs -s -q | awk "/^0x/ {print \"inner\", \$2, \$5}"'
ipcrm -s "$sid" -q "$qid" && echo "removed sq $(ipcs -s -q | grep -c '^0x')"
