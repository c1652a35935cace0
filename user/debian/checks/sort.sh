# sort | md5sum of a generated file (the same pipeline runs on the host)
seq 200000 -3 1 | sed 's/$/ line/' > /tmp/gen
sort /tmp/gen | md5sum
sort -n /tmp/gen | md5sum
rm /tmp/gen
