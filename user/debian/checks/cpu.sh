# ps and top show real CPU times: perl spins until it has used 1.2 s of
# user time, says so, then sleeps
rm -f /tmp/spun
perl -e 'my $i = 0; while (1) { $i++ for 1 .. 100000; last if (times)[0] >= 1.2 } open(my $f, ">", "/tmp/spun"); print $f "spun\n"; close $f; sleep 60' &
spin=$!
until [ -s /tmp/spun ]; do sleep 0.2; done
ps -o pid=,stat=,time=,comm= -p $spin | sed "s/^ *$spin /PID /"
top -b -n 1 | grep -E '^(Tasks|%Cpu|MiB Mem)' | cut -c1-8
top -b -n 1 -p $spin | grep "^ *$spin " | tr -s ' ' | sed 's/^ //' | cut -d' ' -f8,11,12 | cut -c1-7,10-
kill $spin
wait $spin
echo "status $?"
