#!/bin/sh
# fuzz/run.sh SECONDS: run every libFuzzer target in build-fuzz/fuzz/ (built
# by `make fuzz-build`) for SECONDS each, one after the other.
#
# Each target starts from a scratch copy of fuzz/corpus/NAME/, so the repo's
# corpus never grows by itself; FUZZ_MERGE=1 merges what a run found back
# into fuzz/corpus/NAME/ (minimized) for a deliberate commit.
# Crash inputs are kept in build-fuzz/artifacts/. Prints the executions per
# target; exits 1 if any target crashed, leaked, timed out or did not run.
#
# The seeds are the frame bodies of tests/vectors/valid-pdus.txt (without
# the 4-octet length), the Notifications and NALDs inside them, and a few
# hand-made ones with unknown extensions; fuzz/corpus/frame/ holds a limit
# octet followed by whole frames.
secs=${1:-60}
case $secs in
  '' | *[!0-9]*) echo "usage: sh fuzz/run.sh SECONDS" >&2; exit 100 ;;
esac
bin=build-fuzz/fuzz
art=build-fuzz/artifacts
work=$(mktemp -d "${TMPDIR:-/tmp}/rna-fuzz.XXXXXX") || exit 111
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$art" || exit 111
fail=0
total=0

for src in fuzz/*.c; do
  name=$(basename "$src" .c)
  exe=$bin/$name
  if [ ! -x "$exe" ]; then
    echo "fuzz $name: FAILED: $exe not built (run make fuzz-build)"
    fail=1
    continue
  fi
  corpus=$work/$name
  mkdir -p "$corpus"
  if [ -d "fuzz/corpus/$name" ]; then
    cp fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
  fi
  seeds=$(find "$corpus" -type f | wc -l)
  log=$work/$name.log
  "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/$name-" "$corpus" \
    >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  found=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ -z "$execs" ]; then
    echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions"
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==|Test unit written|^ *#[0-9]+ ' \
      "$log" | head -n 40 | sed 's/^/  /'
    for a in "$art/$name"-*; do
      [ -e "$a" ] && echo "  artifact: $a"
    done
    fail=1
  else
    echo "fuzz $name: ok, $execs executions in ${secs}s, $cov, corpus $seeds -> $found"
    total=$((total + execs))
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
    mkdir -p "fuzz/corpus/$name"
    "$exe" -merge=1 "fuzz/corpus/$name" "$corpus" >"$work/$name.merge" 2>&1 ||
      echo "fuzz $name: merge failed"
  fi
done

echo "fuzz: $total executions in all"
if [ "$fail" -ne 0 ]; then
  echo "fuzz: FAILED"
  exit 1
fi
exit 0
