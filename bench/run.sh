#!/usr/bin/env bash
# bench/run.sh: measure `postmortem analyze` on generated corpora beside
# `wc -l` and lnav, in one run on this machine, and print the ratios and the
# peak RSS. Speed is shown here, never asserted in tests.
#
#   bash bench/run.sh                 # 100 MiB and 1 GiB corpora
#   SIZES="104857600" bash bench/run.sh
#   RUNS=5 bash bench/run.sh          # median of 5 runs (default 3)
#
# Needs: go, GNU time (/usr/bin/time), and lnav (installed with apt-get when
# missing and possible; skipped with a note otherwise). Corpora are written
# under $BENCH_DIR (default: a temporary directory) and never committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_setup lnav

printf '\n%-10s %-22s %9s %8s %10s\n' corpus tool wall_s x_wc rss_MiB
for size in $sizes; do
  dir="$work/corpus-$size"
  if [ ! -d "$dir" ]; then
    "$work/gencorpus" -out "$dir" -size "$size" -seed 1 -rotate=false -truth "$work/truth-$size.json" >/dev/null
  fi
  mapfile -t files < <(find "$dir" -type f | sort)
  plain=()
  for f in "${files[@]}"; do case "$f" in *.gz) ;; *) plain+=("$f") ;; esac; done
  cat "${files[@]}" >/dev/null # warm the page cache
  label="$((size / 1048576))MiB"
  read -r wc_s wc_rss < <(measure wc -l "${plain[@]}")
  printf '%-10s %-22s %9.2f %8.1f %10.1f\n' "$label" "wc -l" "$wc_s" 1 "$(echo "$wc_rss/1024" | bc -l)"
  read -r pm_s pm_rss < <(measure "$work/postmortem" analyze --format json -o "$work/out-$size.json" "$dir")
  printf '%-10s %-22s %9.2f %8.1f %10.1f\n' "$label" "postmortem analyze" "$pm_s" "$(echo "$pm_s/$wc_s" | bc -l)" "$(echo "$pm_rss/1024" | bc -l)"
  if command -v lnav >/dev/null 2>&1; then
    read -r ln_s ln_rss < <(measure lnav -n -c ';SELECT count(*) FROM all_logs' "${plain[@]}")
    printf '%-10s %-22s %9.2f %8.1f %10.1f\n' "$label" "lnav (headless count)" "$ln_s" "$(echo "$ln_s/$wc_s" | bc -l)" "$(echo "$ln_rss/1024" | bc -l)"
  else
    printf '%-10s %-22s %9s\n' "$label" "lnav" "not installed"
  fi
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$work/out-$size.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for f in r["findings"]:
    print(f"{sys.argv[2]} finding: {f['case']} {f['severity']} on {f.get('backend', '-')} at {f['start']}")
PY
  fi
done
echo
echo "corpora and outputs in $work"
