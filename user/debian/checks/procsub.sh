# bash process substitution: <(...) through /dev/fd
diff <(seq 1 50) <(seq 1 50) && echo same
cat <(echo a) <(echo b)
wc -l < <(seq 1 42)
while read -r x; do echo "got $x"; done < <(printf '1\n2\n')
