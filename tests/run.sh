#!/bin/sh
# Runs every unit test binary and every system test script; each prints
# "ok - NAME" / "not ok - NAME" lines. A test that exits non-zero without
# printing a "not ok" line counts as one failure of its own.
# Ends with "N passed, M failed"; exits 1 on any failure.
# TESTS="name ..." runs only those (unit binary or tests/NAME.sh).
BUILD=${BUILD:-build}
export BUILD
top=$(pwd)
export RNA_TOP="$top"
export PATH="$top/$BUILD/bin:$PATH"
out=$(mktemp -d "${TMPDIR:-/tmp}/rna-run.XXXXXX") || exit 111
pass=0
fail=0

run_one() {
  name=$1
  shift
  log="$out/$name.log"
  start=$(date +%s)
  "$@" >"$log" 2>"$out/$name.err" </dev/null
  rc=$?
  p=$(grep -c '^ok - ' "$log")
  f=$(grep -c '^not ok - ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "not ok - $name exited $rc" >>"$log"
    f=1
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    echo "not ok - $name ran no check" >>"$log"
    f=1
  fi
  pass=$((pass + p))
  fail=$((fail + f))
  echo "$name: $p passed, $f failed ($(( $(date +%s) - start ))s)"
  grep '^# ' "$log" | sed 's/^/  /'   # figures a test reports
  if [ "$f" -ne 0 ]; then
    grep '^not ok' "$log" | sed 's/^/  /'
    echo "  --- stderr (last 30 lines):"
    tail -n 30 "$out/$name.err" | sed 's/^/  /'
  fi
}

want() {
  [ -z "$TESTS" ] && return 0
  for t in $TESTS; do [ "$t" = "$1" ] && return 0; done
  return 1
}

for bin in "$BUILD"/tests/*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  want "$name" || continue
  run_one "$name" "$bin"
done
for sh in tests/*.sh; do
  name=$(basename "$sh" .sh)
  [ "$name" = run ] && continue
  want "$name" || continue
  run_one "$name" sh "$sh"
done
rm -rf "$out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
