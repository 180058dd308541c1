#!/bin/sh
# make run: install what is missing (Debian), build, and start a demo
# agent in $DEMO (default demo/) on 127.0.0.1: rna-store and the RNASP and
# RNAQP listeners under tcpserver, in the background, PIDs in $DEMO/pids,
# logs in $DEMO/*.log. Prints the ports and the commands to try. A second
# run stops the first demo and starts afresh. `make stop` ends it.
#
# This is a demo: everything runs as you, without daemontools. For a
# real installation see doc/guide.md (rna-conf, svscan).
#
# RNA_NO_APT=1: never install packages, fail instead (the test suite).
BUILD=${BUILD:-build}
DEMO=${DEMO:-demo}
MAKE=${MAKE:-make}
. tools/common.sh

PKGS="build-essential libcdb-dev tinycdb libcrypt-dev ucspi-tcp-ipv6 daemontools"

have_all() {
  for c in cc tcpserver tcpclient; do
    command -v "$c" >/dev/null 2>&1 || return 1
  done
  printf '#include <cdb.h>\n#include <crypt.h>\n' | cc -E - >/dev/null 2>&1
}

if ! have_all; then
  if [ -n "${RNA_NO_APT:-}" ]; then
    echo "run: fatal: packages missing; install them with: apt-get install $PKGS" >&2
    exit 111
  fi
  if [ "$(id -u)" = 0 ]; then
    sudo=
  elif command -v sudo >/dev/null 2>&1; then
    sudo=sudo
  else
    echo "run: fatal: packages missing; as root, run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends $PKGS" >&2
    exit 111
  fi
  echo "run: installing $PKGS"
  $sudo apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $PKGS ||
    { echo "run: fatal: apt-get failed" >&2; exit 111; }
fi

progs="rna-store rnasp-d rnaqp-d rna-admin rna-pdu"
for p in rna-notify rna-query; do [ -f "$p/$p.c" ] && progs="$progs $p"; done
targets=
for p in $progs; do targets="$targets $BUILD/bin/$p"; done
$MAKE BUILD="$BUILD" $targets >/dev/null || exit 111

DEMO=$DEMO sh tools/stop.sh || exit 111
rm -rf "$DEMO/agent" "$DEMO"/*.log
mkdir -p "$DEMO" || exit 111
demo=$(cd "$DEMO" && pwd) || exit 111
bin=$(cd "$BUILD/bin" && pwd) || exit 111
agent=$demo/agent

"$bin/rna-admin" -d "$agent" init &&
  "$bin/rna-admin" -d "$agent" domain add example.org &&
  echo demo | "$bin/rna-admin" -d "$agent" account add demo &&
  "$bin/rna-admin" -d "$agent" mailbox add demo@example.org demo || exit 111

# setsid: the agent outlives this shell and the terminal it ran in.
start() {
  log=$1
  shift
  setsid "$@" >"$demo/$log.log" 2>&1 </dev/null &
  echo $! >>"$demo/pids"
}

fail() {
  echo "run: fatal: $1; see $DEMO/$2.log:" >&2
  tail -n 5 "$demo/$2.log" >&2
  DEMO=$DEMO sh tools/stop.sh
  exit 111
}

start rna-store "$bin/rna-store" "$agent"
wait_for 10 test -S "$agent/store/socket" || fail "the store did not start" rna-store
# listener NAME PROG [AVOID]: tcpserver on a free port, in PORT. A port
# taken between the choice and the bind is retried with another.
listener() {
  for try in 1 2 3 4 5; do
    PORT=$(free_port "${3:-}")
    start "$1" tcpserver -v -HRl0 -c 40 127.0.0.1 "$PORT" "$bin/$2" "$agent"
    lpid=$!
    n=100
    while [ "$n" -gt 0 ] && kill -0 "$lpid" 2>/dev/null; do
      grep -q 'tcpserver: status:' "$demo/$1.log" && listening "$PORT" && return 0
      sleep 0.1
      n=$((n - 1))
    done
    kill "$lpid" 2>/dev/null
  done
  return 1
}
listener rnasp rnasp-d || fail "the RNASP listener did not start" rnasp
sp=$PORT
listener rnaqp rnaqp-d "$sp" || fail "the RNAQP listener did not start" rnaqp
qp=$PORT
echo "$sp" >"$demo/rnasp.port"
echo "$qp" >"$demo/rnaqp.port"

# the commands as they must be typed here: the clients if they are
# built, else tools/demo.sh (rna-pdu and tcpclient); DEMO and BUILD only
# when not the defaults
pre=
[ "$DEMO" = demo ] || pre="DEMO=$DEMO "
[ "$BUILD" = build ] || pre="${pre}BUILD=$BUILD "
stop="make stop"
[ "$DEMO" = demo ] || stop="make stop DEMO=$DEMO"
if [ -x "$bin/rna-notify" ] && [ -x "$bin/rna-query" ]; then
  notify="$BUILD/bin/rna-notify -a 127.0.0.1:$sp 'demo@example.org store.example.net 0123456789abcdef0123456789abcdef alice@example.net'"
  retrieve="RNA_PASSWORD=demo $BUILD/bin/rna-query -a 127.0.0.1:$qp demo"
else
  notify="${pre}sh tools/demo.sh notify"
  retrieve="${pre}sh tools/demo.sh retrieve"
fi

cat <<EOT
RNA demo agent running in $DEMO/agent (logs: $DEMO/*.log)
  RNASP  127.0.0.1:$sp   message stores submit notifications here
  RNAQP  127.0.0.1:$qp   the recipient retrieves them (account demo, password demo)
  mailbox demo@example.org -> account demo

Submit a notification for demo@example.org:
  $notify
Retrieve (and clear) what account demo holds:
  $retrieve
The same, showing the PDUs on the wire (rna-pdu and tcpclient only):
  ${pre}sh tools/demo.sh notify; ${pre}sh tools/demo.sh retrieve

Stop it with: $stop
EOT
