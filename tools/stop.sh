#!/bin/sh
# make stop: end the demo agent that `make run` started, by the PIDs in
# $DEMO/pids (only processes that still run one of our programs, so a
# recycled PID is left alone), and wait until they are gone.
DEMO=${DEMO:-demo}
[ -f "$DEMO/pids" ] || exit 0
pids=
while read -r pid; do
  case "$pid" in ""|*[!0-9]*) continue ;; esac
  grep -qa -e rna-store -e tcpserver "/proc/$pid/cmdline" 2>/dev/null || continue
  kill "$pid" 2>/dev/null && pids="$pids $pid"
done <"$DEMO/pids"
n=50
for pid in $pids; do
  while kill -0 "$pid" 2>/dev/null && [ -e "/proc/$pid/cmdline" ] &&
      ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && [ "$n" -gt 0 ]; do
    sleep 0.1
    n=$((n - 1))
  done
  if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    echo "stop: warning: $pid did not stop on SIGTERM; killing it" >&2
    kill -9 "$pid" 2>/dev/null
  fi
done
rm -f "$DEMO/pids" "$DEMO/rnasp.port" "$DEMO/rnaqp.port"
[ -z "$pids" ] || echo "demo agent stopped"
