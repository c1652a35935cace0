# strace -ff of a shell pipeline: each process's calls of a few kinds, the
# pids (the results of clone and wait4) numbered P0, P1, ... in creation
# order and addresses as 0xX
cd /tmp && rm -rf st && mkdir st && cd st
strace -ff -o t -e trace=execve,pipe2,clone,wait4,exit_group,dup2 -e signal=none sh -c 'ls / | wc -l' >/dev/null 2>&1
pids=$(ls t.* | sed 's/^t\.//' | sort -n)
n=0
for p in $pids; do echo "s/= *$p\$/= P$n/"; n=$((n+1)); done > norm.sed
echo 's/0x[0-9a-f]*/0xX/g; s/  */ /g' >> norm.sed
n=0
for p in $pids; do
    sed -f norm.sed "t.$p" | sed "s/^/P$n /"
    n=$((n+1))
done
cd /tmp && rm -rf st
