#!/usr/bin/env bash
# lab/keep.sh [OUTDIR...]: trim lab/run.sh incident folders and keep them
# as fixtures under testdata/lab/<scenario>/, with a checksummed MANIFEST.
# Without arguments it keeps every folder under lab/out/.
#
# Trimming is mechanical and the same for every run:
#   - nginx access logs: every line whose status or upstream status is not
#     200 is kept; of the 200 lines, the first of every $KEEP_EVERY is kept;
#   - haproxy logs: every line that is not a tcplog session with
#     termination state "--" is kept; of those, the first of every
#     $KEEP_EVERY is kept;
#   - config/ copies: absolute paths of the run are replaced by ${RUN}
#     and ${OUT} (lab/run.sh already does this for new runs);
#   - everything else is copied as written.
# Lines are never rewritten, only dropped. The MANIFEST records the run
# (from RUN.txt), the trimming rule and the sha256 of every kept file; the
# lab's Go test refuses fixtures whose files do not match it.
set -euo pipefail
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$LAB_DIR/.." && pwd)
KEEP_EVERY=${KEEP_EVERY:-20}

if [ $# -eq 0 ]; then
  set -- "$LAB_DIR"/out/*/
fi

keep_one() {
  local src=${1%/} scen dst f rel tmp
  [ -f "$src/truth.json" ] && [ -f "$src/RUN.txt" ] || { echo "keep: $src is not a finished lab run" >&2; return 1; }
  scen=$(sed -n 's/^scenario: //p' "$src/RUN.txt")
  [ -n "$scen" ] || { echo "keep: no scenario in $src/RUN.txt" >&2; return 1; }
  dst=$ROOT/testdata/lab/$scen
  tmp=$(mktemp -d)
  (cd "$src" && find . -type f | LC_ALL=C sort) | while read -r f; do
    rel=${f#./}
    mkdir -p "$tmp/$(dirname "$rel")"
    case "$rel" in
      nginx/*/access.log)
        awk -v n="$KEEP_EVERY" '{
          # status is the field after the quoted request; us= is the upstream status
          q = index($0, "\" "); rest = substr($0, q + 2); split(rest, a, " ")
          us = ""; if (match($0, / us=[^ ]*/)) us = substr($0, RSTART + 4, RLENGTH - 4)
          if (a[1] != "200" || (us != "200" && us != "")) { print; next }
          if (ok++ % n == 0) print
        }' "$src/$rel" >"$tmp/$rel" ;;
      haproxy/*.log)
        awk -v n="$KEEP_EVERY" '{
          if ($0 ~ /\] fe_[^ ]+ [^ ]+\/[^ ]+ [-0-9]+\/[-0-9]+\/[-0-9]+ [0-9]+ -- /) { if (ok++ % n == 0) print; next }
          print
        }' "$src/$rel" >"$tmp/$rel" ;;
      config/*)
        # Runs before the runner wrote placeholders kept machine paths:
        # replace any absolute run/output path with ${RUN} or ${OUT}.
        sed -E -e 's|/[^ ;]*/pmlab\.[A-Za-z0-9]+|${RUN}|g' -e "s|$src|\${OUT}|g" "$src/$rel" >"$tmp/$rel" ;;
      *) cp "$src/$rel" "$tmp/$rel" ;;
    esac
  done
  {
    echo "# Lab fixture: produced by lab/run.sh and trimmed by lab/keep.sh; not edited by hand."
    echo "scenario: $scen"
    sed -n 's/^run: /run: /p' "$src/RUN.txt"
    echo "trim: nginx access 200/200 and haproxy '--' session lines kept 1 in $KEEP_EVERY; all other lines kept"
    echo "files:"
    (cd "$tmp" && find . -type f ! -path ./MANIFEST | LC_ALL=C sort | sed 's|^\./||' | while read -r rel; do
      printf '%s  %s\n' "$(sha256sum "$rel" | cut -d' ' -f1)" "$rel"
    done)
  } >"$tmp/MANIFEST"
  rm -rf "$dst"
  mkdir -p "$(dirname "$dst")"
  mv "$tmp" "$dst"
  chmod -R a+rX "$dst"
  echo "kept $src -> testdata/lab/$scen ($(du -sh "$dst" | cut -f1))"
}

for d in "$@"; do keep_one "$d"; done
