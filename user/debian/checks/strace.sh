# strace -ff of a shell pipeline: each process's calls of a few kinds, the
# pids numbered P0, P1, ... in creation order and addresses as 0xX
cd /tmp && rm -rf st && mkdir st && cd st
strace -ff -o t -e trace=execve,pipe2,clone,wait4,exit_group,dup2 -e signal=none sh -c 'ls / | wc -l' >/dev/null 2>&1
pids=$(ls t.* | sed 's/^t\.//' | sort -n)
n=0; s=''
for p in $pids; do s="$s -e s/\\b$p\\b/P$n/g"; n=$((n+1)); done
for p in $pids; do
    sed $s -e 's/0x[0-9a-f]*/0xX/g' -e 's/  */ /g' "t.$p" | sed "s/^/$(echo "$p" | sed $s) /"
done
cd /tmp && rm -rf st
