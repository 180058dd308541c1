#!/bin/sh
# bench/store-mem.sh [N] [ACCOUNTS]: memory per held notification.
# Starts rna-store on a scratch directory (sync off), fills it, prints
# the figures, stops the store by PID.
set -e
N=${1:-1000000}
A=${2:-100000}
BUILD=${BUILD:-build}
d=$(mktemp -d /tmp/rna-bench.XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$d"' EXIT
mkdir -p "$d/config"
{
  printf '+%d,0:domain:bench.example->\n' 20
  printf '+%d,1:set:sync->0\n' 8
  printf '+%d,%d:set:quota-total->%d\n' 15 ${#N} "$N"
  i=0
  while [ $i -lt "$A" ]; do
    printf '+%d,%d:mbox:bench.example\000a%d->a%d\n' $((20 + ${#i})) $((1 + ${#i})) $i $i
    i=$((i + 1))
  done
  echo
} | cdb -c "$d/config/store.cdb" 2>/dev/null || {
  # cdb -c reads cdbmake format on stdin
  echo "store-mem.sh: cdb failed" >&2; exit 111; }
"$BUILD/bin/rna-store" "$d" 2>"$d/store.log" &
pid=$!
i=0
while [ ! -S "$d/store/socket" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
"$BUILD/bench/store-mem" "$d" "$N" "$A"
