# start-up times, the mean of N runs measured with bash's $EPOCHREALTIME
# (what `cargo xtask bench` would measure inside its own initramfs)
mean() {
    local n=$1; shift
    local t0=$EPOCHREALTIME
    for ((i = 0; i < n; i++)); do "$@" || echo "failed: $*"; done
    local t1=$EPOCHREALTIME
    local us=$(( (${t1/./} - ${t0/./}) / n ))
    printf '%s: %d.%03d ms\n' "$*" $((us / 1000)) $((us % 1000))
}
mean 10 python3 -c pass
mean 20 bash -c true
