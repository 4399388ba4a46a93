# bench/lib.sh: helpers shared by the benchmark scripts (sourced, not run).
# Needs $runs and $work set by the caller.

# measure CMD...: prints "wall_seconds max_rss_kib" of the median of $runs
# runs, measured with GNU time.
measure() {
  local out=() i
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
      echo "bench: command failed: $*" >&2; cat "$work/stderr.txt" >&2; return 1; }
    out+=("$(cat "$work/time.txt")")
  done
  printf '%s\n' "${out[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
