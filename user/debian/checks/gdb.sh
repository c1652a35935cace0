# gdb -batch of a small program (gdbprog.c, built with -g): a breakpoint at
# main, run, bt, rip, continue to the exit; pids and addresses normalised
cd /tmp
gdb -q -nx -batch -ex 'break main' -ex run -ex bt -ex 'info registers rip' -ex continue \
    /usr/local/lib/checks/gdbprog 2>&1 </dev/null |
    sed -e 's/process [0-9]*/process N/; s/0x[0-9a-f]*/0xX/g; s/[[:space:]][[:space:]]*/ /g'
