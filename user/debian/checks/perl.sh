# a perl -e script: hashes, sort, map, sprintf, unpack, a pipe from a child
perl -e 'my %h; $h{$_ % 7}++ for 1..1000;
print join(",", map { "$_=$h{$_}" } sort keys %h), "\n";
print join(" ", map { sprintf "%x", $_ } unpack "C*", "ok"), "\n";
open(my $f, "-|", "echo", "from child") or die; print scalar(<$f>); close $f; print "status $?\n";'
