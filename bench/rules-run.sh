#!/usr/bin/env bash
# bench/rules-run.sh: measure `postmortem rules run` over generated archives
# (per host, rotated, the part before the 06:25 logrotate gzipped) beside
# `wc -l` over the same files, and beside goaccess and lnav on the same
# access log; print wall-time ratios and peak RSS. Speed is shown here,
# never asserted in tests.
#
#   bash bench/rules-run.sh                  # 100 MiB and 1 GiB archives
#   SIZES="104857600" RUNS=5 bash bench/rules-run.sh
#
# Needs go and GNU time; installs goaccess and lnav with apt-get when they
# are missing and it can (each is skipped with a note otherwise). Archives go
# under $BENCH_DIR (default: a temporary directory), never into the repo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_setup goaccess lnav

row() { # label tool seconds base_seconds rss_kib (ratio "-" when the base rounds to 0)
  local ratio=-
  if [ "$(echo "$4 > 0" | bc -l)" = 1 ]; then ratio=$(printf '%.1f' "$(echo "$3/$4" | bc -l)"); fi
  printf '%-8s %-34s %8.2f %8s %9.1f\n' "$1" "$2" "$3" "$ratio" "$(echo "$5/1024" | bc -l)"
}

printf '\n%-8s %-34s %8s %8s %9s\n' corpus tool wall_s ratio rss_MiB
for size in $sizes; do
  dir="$work/archive-$size"
  if [ ! -d "$dir" ]; then
    "$work/gencorpus" -out "$dir" -size "$size" -seed 1 -rotate=true -truth "$work/truth-$size.json" >/dev/null
  fi
  mapfile -t files < <(find "$dir" -type f | sort)
  cat "${files[@]}" >/dev/null # warm the page cache
  label="$((size / 1048576))MiB"
  # Whole archive: wc -l over the same files (gzip members counted as bytes).
  read -r wc_s wc_rss < <(measure wc -l "${files[@]}")
  row "$label" "wc -l (all files)" "$wc_s" "$wc_s" "$wc_rss"
  read -r pm_s pm_rss < <(measure "$work/postmortem" rules run --format json -o "$work/out-$size.json" "$dir")
  row "$label" "postmortem rules run (all files)" "$pm_s" "$wc_s" "$pm_rss"
  # One access log, the same for every tool (ratios against wc -l on it).
  access="$dir/nginx/vm-b/access.log"
  read -r wa_s wa_rss < <(measure wc -l "$access")
  row "$label" "wc -l (vm-b access.log)" "$wa_s" "$wa_s" "$wa_rss"
  read -r pa_s pa_rss < <(measure "$work/postmortem" rules run --format json -o /dev/null "$access")
  row "$label" "postmortem rules run (access.log)" "$pa_s" "$wa_s" "$pa_rss"
  if command -v goaccess >/dev/null 2>&1; then
    read -r ga_s ga_rss < <(measure goaccess "$access" --log-format=COMBINED -o "$work/goaccess-$size.json")
    row "$label" "goaccess (access.log)" "$ga_s" "$wa_s" "$ga_rss"
  else
    printf '%-8s %-34s not installed\n' "$label" goaccess
  fi
  if command -v lnav >/dev/null 2>&1; then
    read -r ln_s ln_rss < <(measure lnav -n -c ';SELECT count(*) FROM all_logs' "$access")
    row "$label" "lnav headless count (access.log)" "$ln_s" "$wa_s" "$ln_rss"
  else
    printf '%-8s %-34s not installed\n' "$label" lnav
  fi
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$work/out-$size.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for rule in r["rules"]:
    for f in rule["findings"]:
        print(f"{sys.argv[2]} {rule['rule']} {f['severity']} on {f.get('backend', '-')} {f['start']} .. {f['end']}")
PY
  fi
done
echo
echo "archives and outputs in $work"
