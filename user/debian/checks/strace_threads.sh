# strace -ff of a threaded program: each thread's calls of a few kinds in
# a file of its own, the tids (clone3's results and parent_tid) numbered
# P0, P1, ... in creation order and addresses as 0xX
cd /tmp && rm -rf stt && mkdir stt && cd stt
# (the program defaults to the image's threadprog: a short command line
# that the serial console's 80 columns do not wrap in its echo)
prog=${1:-/usr/local/lib/checks/threadprog}
strace -ff -o t -e trace=clone,clone3,getppid,exit,exit_group,rseq -e signal=none "$prog" >/dev/null 2>&1
pids=$(ls t.* | sed 's/^t\.//' | sort -n)
n=0
for p in $pids; do echo "s/= *$p\$/= P$n/; s/\[$p\]/[P$n]/g"; n=$((n+1)); done > norm.sed
echo 's/0x[0-9a-f]*/0xX/g; s/  */ /g' >> norm.sed
n=0
for p in $pids; do
    sed -f norm.sed "t.$p" | sed "s/^/P$n /; s/getppid() = [0-9]*\$/getppid() = N/"
    n=$((n+1))
done
cd /tmp && rm -rf stt
