#!/bin/sh
# bench/run.sh: `make bench`. Measures the figures of the benchmark issue
# against baselines run in the same session, A and B alternately (A B A
# B ...), and writes bench/RESULTS.md. Everything listens on 127.0.0.1 or
# on Unix sockets under a scratch directory; every server is started here
# and stopped by PID.
#
# PAIRS (default 5) pairs per figure, SECS (default 1.5) seconds per
# throughput run, N (default 1000000) and ACCTS (default 100000) for the
# data figures, RESULTS (default bench/RESULTS.md).
set -eu
BUILD=${BUILD:-build}
PAIRS=${PAIRS:-5}
SECS=${SECS:-1.5}
N=${N:-1000000}
ACCTS=${ACCTS:-100000}
RESULTS=${RESULTS:-bench/RESULTS.md}
W=$(mktemp -d /tmp/rna-bench.XXXXXX)
# Measure copies: a rebuild of $BUILD during the run must not change (or
# briefly remove) the programs under test.
mkdir "$W/bin"
for p in rna-store rnasp-d rnaqp-d; do cp "$BUILD/bin/$p" "$W/bin/"; done
for p in rnabench null-filter null-unix; do cp "$BUILD/bench/$p" "$W/bin/"; done
RB=$W/bin/rnabench
BIN=$W/bin
NULLF=$W/bin/null-filter
PIDS=""
T=$W/results.tsv
: > "$T"

stop() { # stop PID...: SIGTERM, wait
  for p in "$@"; do
    kill "$p" 2>/dev/null || :
    wait "$p" 2>/dev/null || :
  done
}
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || :; done
  for p in $PIDS; do wait "$p" 2>/dev/null || :; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bench: $*" >&2; }

# ---- servers ----

# new_store NAME SYNC: a scratch agent directory with the configuration.
new_store() {
  mkdir -p "$W/$1/config"
  "$RB" config "$W/$1" "$2" $((ACCTS + 1))
  "$RB" authcdb "$W/$1" "a$ACCTS" benchpw
}
# start_store NAME: sets SPID.
start_store() {
  "$BIN/rna-store" "$W/$1" 2>>"$W/$1/store.log" &
  SPID=$!
  PIDS="$PIDS $SPID"
  i=0
  until "$RB" mem "store:$W/$1" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 600 ] || { say "rna-store $1 did not start"; exit 111; }
    sleep 0.1
  done
}
# start_redis NAME FSYNC: FSYNC always|everysec|no|off; sets RPID, RSOCK.
start_redis() {
  mkdir -p "$W/$1"
  if [ "$2" = off ]; then aof="--appendonly no"; else aof="--appendonly yes --appendfsync $2"; fi
  # shellcheck disable=SC2086
  redis-server --port 0 --unixsocket "$W/$1/sock" --dir "$W/$1" --save '' $aof \
    --daemonize no --logfile "$W/$1/log" &
  RPID=$!
  RSOCK=$W/$1/sock
  PIDS="$PIDS $RPID"
  i=0
  until [ "$(redis-cli -s "$RSOCK" ping 2>/dev/null)" = PONG ]; do
    i=$((i + 1))
    [ $i -lt 600 ] || { say "redis-server $1 did not start"; exit 111; }
    sleep 0.1
  done
}
# listen NAME PROG [ENV=V]: tcpserver on 127.0.0.1, a free port; sets LPID, LPORT.
listen() {
  name=$1 prog=$2
  shift 2
  env "$@" tcpserver -1 -b 64 -c 100 -HRl0 127.0.0.1 0 "$prog" "$W/$name" \
    >"$W/$name.port.$$" 2>>"$W/$name/$(basename "$prog").log" &
  LPID=$!
  PIDS="$PIDS $LPID"
  i=0
  until [ -s "$W/$name.port.$$" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || { say "tcpserver for $prog did not start"; exit 111; }
    sleep 0.05
  done
  LPORT=$(cat "$W/$name.port.$$")
  rm -f "$W/$name.port.$$"
}

# ---- measuring ----

# val KEY OUTPUT: the number after KEY in rnabench's output.
val() { echo "$2" | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
# one FIELD 'command': run it, print the field; a failed run is retried
# once, then recorded as NA.
one() {
  o=$(eval "$2") || o=$(eval "$2") || { say "failed twice: $2"; echo NA; return; }
  v=$(val "$1" "$o")
  echo "${v:-NA}"
}
# pairs FIG KEY FIELD 'A command' 'B command' ['C command']: one warm-up of
# each, then PAIRS rounds A B (C); one line per pair into $T.
pairs() {
  fig=$1 key=$2 field=$3 a=$4 b=$5 c=${6:-}
  say "figure $fig $key: warm-up"
  one "$field" "$a" >/dev/null
  one "$field" "$b" >/dev/null
  [ -z "$c" ] || one "$field" "$c" >/dev/null
  p=1
  while [ $p -le "$PAIRS" ]; do
    va=$(one "$field" "$a")
    vb=$(one "$field" "$b")
    vc=
    [ -z "$c" ] || vc=$(one "$field" "$c")
    say "figure $fig $key pair $p: A $va B $vb${vc:+ C $vc}"
    printf '%s\t%s\t%s\t%s\t%s\n' "$key" "$p" "$va" "$vb" "${vc:--}" >> "$T"
    p=$((p + 1))
  done
}

T0=$(date +%s)

# ---- figure 1: RNASP sessions through tcpserver ----
new_store f1 0
start_store f1; F1S=$SPID
listen f1 "$BIN/rnasp-d"; SPA=$LPORT; SPL=$LPID
listen f1 "$NULLF"; SPB=$LPORT; SPN=$LPID
for c in 1 8 32; do
  pairs 1 "sp-c$c" sessions_per_s "'$RB' sp $SPA $c $SECS 1" "'$RB' sp $SPB $c $SECS 1"
done
pairs 1 sp-100pdu pdu_rtt_us "'$RB' sp $SPA 1 $SECS 100" "'$RB' sp $SPB 1 $SECS 100"
stop "$SPL" "$SPN" "$F1S"

# ---- figure 2: ingest, sync off, against Redis (AOF written, not fsynced) ----
new_store f2 0
start_store f2; F2S=$SPID
start_redis r2 no; R2=$RPID; R2S=$RSOCK
"$BIN/null-unix" "$W/null.sock" & NU=$!
PIDS="$PIDS $NU"
for cd in 1:1 8:1 1:64; do
  c=${cd%:*} d=${cd#*:}
  pairs 2 "ingest-c$c-d$d" notifications_per_s \
    "'$RB' ingest store:$W/f2 $c $d $SECS" "'$RB' ingest redis:$R2S $c $d $SECS" \
    "'$RB' ingest null:$W/null.sock $c $d $SECS"
done
stop "$F2S" "$R2" "$NU"

# ---- figure 3: ingest with fsync group commit ----
new_store f3 1
start_store f3; F3S=$SPID
start_redis r3a always; R3A=$RPID; R3AS=$RSOCK
start_redis r3b everysec; R3B=$RPID; R3BS=$RSOCK
pairs 3 sync-c8-d1 notifications_per_s \
  "'$RB' ingest store:$W/f3 8 1 $SECS" "'$RB' ingest redis:$R3AS 8 1 $SECS"
pairs 3 sync-c1-d64 notifications_per_s \
  "'$RB' ingest store:$W/f3 1 64 $SECS" "'$RB' ingest redis:$R3BS 1 64 $SECS"
stop "$F3S" "$R3A" "$R3B"

# ---- figure 5 (and the data of 4 and 6): N notifications in ACCTS accounts ----
new_store f5 0
start_store f5
r0=$("$RB" mem "store:$W/f5")
say "filling rna-store with $N notifications in $ACCTS accounts"
fs=$(val fill_s "$("$RB" fill "store:$W/f5" "$N" "$ACCTS")")
r1=$("$RB" mem "store:$W/f5")
stop "$SPID"
start_redis r5 off; R5=$RPID; R5S=$RSOCK
m0=$("$RB" mem "redis:$R5S")
say "filling redis with $N notifications in $ACCTS accounts"
frs=$(val fill_s "$("$RB" fill "redis:$R5S" "$N" "$ACCTS")")
m1=$("$RB" mem "redis:$R5S")
stop "$R5"
printf 'mem\t1\t%s\t%s\t-\n' \
  "$(awk -v a="$r0" -v b="$r1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }')" \
  "$(awk -v a="$m0" -v b="$m1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }')" >> "$T"
say "figure 5: store $r0 -> $r1, redis $m0 -> $m1"

# ---- figure 6: journal replay of the store just filled ----
JOUR=$(ls "$W"/f5/store/journal.*)
JBYTES=$(cat $JOUR | wc -c)
pairs 6 replay ms "'$RB' replay '$BIN/rna-store' '$W/f5'" "'$RB' readfiles $JOUR"

# ---- figure 4: retrieve-and-clear of 10,000 ----
new_store f4 0
start_store f4; F4S=$SPID
listen f4 "$BIN/rnaqp-d" AUTH_DELAY_MS=0; QPE=$LPORT; QPEL=$LPID
start_store f5; F5S=$SPID
listen f5 "$BIN/rnaqp-d" AUTH_DELAY_MS=0; QPF=$LPORT; QPFL=$LPID
start_redis r4 no; R4=$RPID; R4S=$RSOCK
pairs 4 retrieve ms \
  "'$RB' retr-qp $QPE '$W/f4' a$ACCTS benchpw 10000" "'$RB' retr-redis $R4S 10000"
pairs 4 retrieve-full ms \
  "'$RB' retr-qp $QPF '$W/f5' a$ACCTS benchpw 10000" "'$RB' retr-qp $QPE '$W/f4' a$ACCTS benchpw 10000"
stop "$QPEL" "$QPFL" "$F4S" "$F5S" "$R4"
T1=$(date +%s)

# ---- bench/RESULTS.md ----

# stats KEY COL: min median max of column COL (3 = A, 4 = B, 5 = C) for KEY.
stats() {
  awk -F '\t' -v k="$1" -v c="$2" '$1 == k && $c ~ /^[0-9.]+$/ { print $c }' "$T" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.4g %.4g %.4g\n", v[1], m, v[NR] }'
}
# ratios KEY: per-pair A/B, then the median.
ratios() {
  awk -F '\t' -v k="$1" '$1 == k && $3 ~ /^[0-9.]+$/ && $4 ~ /^[0-9.]+$/ && $4 > 0 { printf "%s%.3f", n++ ? " " : "", $3 / $4 }
    END { print "" }' "$T"
}
medratio() {
  awk -F '\t' -v k="$1" '$1 == k && $3 ~ /^[0-9.]+$/ && $4 ~ /^[0-9.]+$/ && $4 > 0 { print $3 / $4 }' "$T" | sort -g |
    awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.3f\n", m }'
}
# verdict RATIO OP GOAL
verdict() {
  awk -v r="$1" -v op="$2" -v g="$3" 'BEGIN {
    ok = op == ">=" ? r >= g : r <= g; print ok ? "MET" : "**MISSED**" }'
}
VERDICTS=$W/verdicts
: > "$VERDICTS"
# row KEY WHAT UNIT A-NAME B-NAME OP GOAL
row() {
  mr=$(medratio "$1")
  v=$(verdict "$mr" "$6" "$7")
  echo "$v $1" >> "$VERDICTS"
  set -- "$@" "$(stats "$1" 3)" "$(stats "$1" 4)" "$(ratios "$1")" "$mr" "$v"
  printf '| %s (%s) | %s: %s | %s: %s | %s | **%s** | %s %s | %s |\n' \
    "$2" "$3" "$4" "$8" "$5" "$9" "${10}" "${11}" "$6" "$7" "${12}"
}

cpu=$(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
tcpv=$(dpkg-query -W -f '${Package} ${Version}' ucspi-tcp-ipv6 2>/dev/null ||
       dpkg-query -W -f '${Package} ${Version}' ucspi-tcp 2>/dev/null || echo unknown)
redv=$(redis-server --version | sed 's/^Redis server //')
{
cat <<EOF
# Benchmark results

Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'),
in $((T1 - T0)) s; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- . ':!bench/RESULTS.md' 2>/dev/null || echo ' (with uncommitted changes in the tree)').

## Machine

- CPUs: $(nproc) x $cpu
- kernel: $(uname -sr)
- memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
- gcc: $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)
- redis-server: $redv
- tcpserver: $tcpv

## Method

Every figure is measured as A (ours) against B (its baseline) in the same
run, alternately: a warm-up run of each, then $PAIRS pairs A B A B ...
(the issue asks for several repetitions; $PAIRS pairs of ${SECS} s runs
keep \`make bench\` well under 15 minutes on this 2-core machine). Each
cell shows min / median / max of the $PAIRS runs; the ratio is A/B per
pair, and the verdict is taken on the median of the per-pair ratios,
which cancels the drift of a shared machine. Baselines are not tuned.

- Load generators: \`bench/rnabench.c\` (one process per client, blocking
  sockets; the same client code for A and B). Redis is spoken in RESP
  over its Unix socket, one Lua script per notification (EVALSHA: SADD of
  the collapse key \`store:identifier\` to \`d:ACCOUNT\`, LLEN check
  against the quota 10000, RPUSH of the same 236-octet DER to
  \`l:ACCOUNT\`). Notifications are those of bench/store-mem.c: 236 octets,
  distinct identifiers, spread over 1000 accounts per client.
- Baselines built here: \`bench/null-filter.c\` (reads a frame, answers a
  fixed ResponseNotify, under the same \`tcpserver -HRl0 -b 64 -c 100\`),
  \`bench/null-unix.c\` (a poll-loop AF_UNIX server answering every frame
  with a fixed store-style ok; shown as C in figure 2, for reference).
- rna-store runs with \`set:sync 0\` except in figure 3. Figure 1's store
  runs with sync 0 too, so that the figure measures the filter rather
  than the disk.
- Redis: \`--save ''\`, Unix socket only; figures 2 and 4 with
  \`--appendonly yes --appendfsync no\` (the AOF is written, not fsynced:
  what sync 0 does with the journal); figure 3 with \`always\` and
  \`everysec\`; figure 5 with no AOF (used_memory does not depend on it).
- Figure 1 per-PDU round trip: one client, 100 CommandNotify of one
  notification each in a session; the time from the 2nd PDU sent to the
  100th answer, per PDU (the first one pays the process start-up).
- Figure 4: retrieve-and-clear is timed from sending
  CommandRetrieveAndClear until its response is read, plus the next
  frame (a second, empty retrieve) and its answer, which is what commits
  the clear (PROTOCOL.md 5.3); authentication (yescrypt) is done before
  the clock starts. Each run first refills the account with 10,000
  through the store protocol (untimed). Redis: MULTI; LRANGE l 0 -1;
  DEL l d; EXEC, sent in one write, until the EXEC reply is read. Both
  clients read into memory they have before the clock starts: the Redis
  client parses through its 64 KiB buffer, the RNAQP client (which keeps
  the whole response, to check it after the clock) into a buffer of 300
  octets a notification, allocated and touched before the clock (fresh
  pages cost some 12 us each to touch on this machine).
- Figure 5: one measurement each (memory is deterministic, and a fill
  of $N takes ${fs} s for the store and ${frs} s for Redis): rna-store's
  \`rss_bytes\` stat (RSS, collapse index included) before and after,
  against Redis's \`used_memory\` before and after, divided by $N.
- Figure 6: the store of figure 5 ($N notifications, journal of
  $JBYTES octets), stopped; A is the time from fork+exec of rna-store to
  its socket accepting a connection, B is reading the journal files
  sequentially (1 MiB reads); both with the page cache warm (warm-up runs
  first).

## Figures

| figure | A | B | ratios A/B per pair | median A/B | goal | verdict |
|---|---|---|---|---|---|---|
EOF
row sp-c1 "1. RNASP session, 1 client" "sessions/s" "rnasp-d" "null filter" ">=" 0.8
row sp-c8 "1. RNASP session, 8 clients" "sessions/s" "rnasp-d" "null filter" ">=" 0.8
row sp-c32 "1. RNASP session, 32 clients" "sessions/s" "rnasp-d" "null filter" ">=" 0.8
row sp-100pdu "1. per-PDU round trip, 100 PDUs in a session" "us" "rnasp-d" "null filter" "<=" 2
row ingest-c1-d1 "2. ingest, sync off, 1 client" "notifications/s" "rna-store" "Redis" ">=" 1.5
row ingest-c8-d1 "2. ingest, sync off, 8 clients" "notifications/s" "rna-store" "Redis" ">=" 1.5
row ingest-c1-d64 "2. ingest, sync off, pipelined 64 in flight" "notifications/s" "rna-store" "Redis" ">=" 2
row sync-c8-d1 "3. ingest, fsync, 8 clients" "notifications/s" "rna-store sync 1" "Redis always" ">=" 2
row sync-c1-d64 "3. ingest, fsync, pipelined 64" "notifications/s" "rna-store sync 1" "Redis everysec" ">=" 1
row retrieve "4. retrieve-and-clear 10,000, empty store" "ms" "rnaqp-d" "Redis MULTI" "<=" 1
row retrieve-full "4. the same with $N others in $ACCTS accounts" "ms" "full store" "empty store" "<=" 1.2
row mem "5. memory per held notification" "octets" "rna-store RSS" "Redis used_memory" "<=" 0.9
row replay "6. restart: replay of $N" "ms" "rna-store start" "read journal" "<=" 3
cat <<EOF

Reference (C, figure 2): the null AF_UNIX server, same client, same
concurrency, notifications/s min / median / max:
1 client $(stats ingest-c1-d1 5); 8 clients $(stats ingest-c8-d1 5); pipelined $(stats ingest-c1-d64 5).

Figure 5 raw: rna-store rss_bytes $r0 -> $r1; Redis used_memory $m0 -> $m1.

## Goals missed

EOF
if grep -q MISSED "$VERDICTS"; then
  grep MISSED "$VERDICTS" | while read -r _ k; do
    echo "- \`$k\`: goal MISSED (median ratio $(medratio "$k")); see the table."
  done
  echo
  echo "Where the time goes in each missed figure, and what would change it:"
  echo "doc/performance.md."
else
  echo "None: every goal was met in this run."
fi
cat <<EOF

## Raw pairs

\`key  pair  A  B  C\`

\`\`\`
$(cat "$T")
\`\`\`
EOF
} > "$RESULTS"
say "wrote $RESULTS in $((T1 - T0)) s"
grep -c MISSED "$VERDICTS" >/dev/null && say "some goals were missed: see $RESULTS" || :
