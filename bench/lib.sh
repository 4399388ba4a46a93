# bench/lib.sh: helpers shared by the benchmark scripts (sourced, not run).

# bench_setup TOOL...: reads the settings both scripts share (SHARED, SIZES,
# RUNS, BENCH_DIR), checks for GNU time, installs the comparison TOOLs with
# apt-get when they are missing and it can (each is otherwise skipped with a
# note by the caller), and builds postmortem and the corpus generator into
# $work. Sets root, shared, sizes, runs and work.
bench_setup() {
  root=$(cd "$here/.." && pwd)
  shared=${SHARED:-$root/../shared}
  sizes=${SIZES:-"104857600 1073741824"}
  runs=${RUNS:-3}
  work=${BENCH_DIR:-$(mktemp -d)}
  mkdir -p "$work"
  if [ ! -x /usr/bin/time ]; then
    echo "bench: GNU time is needed (apt-get install time)" >&2; exit 1
  fi
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get install -y -qq "$tool" >/dev/null 2>&1 || true
    fi
  done
  echo "building postmortem..."
  (cd "$root" && go build -o "$work/postmortem" ./cmd/postmortem)
  (cd "$shared/bench" && go build -o "$work/gencorpus" ./gencorpus)
}

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
