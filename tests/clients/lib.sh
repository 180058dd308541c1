# Shared by tests/clients.sh and tests/dns.sh (sourced, not run): a real
# agent (rna-admin, rna-store, tcpserver + rnasp-d / rnaqp-d) on
# 127.0.0.1, stopped by PID at exit. Expects $tmp to exist.

pids=
stop_all() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  pids=
}

ok() {
  if [ "$1" -eq 0 ]; then printf 'ok - %s\n' "$2"; else printf 'not ok - %s\n' "$2"; fi
}

# rc_is WANT RC NAME
rc_is() {
  [ "$2" -eq "$1" ]
  r=$?
  [ "$r" -eq 0 ] || echo "# $3: exit $2, wanted $1"
  ok $r "$3"
}

# A port nobody listens on (for "agent down"): bind-free is enough,
# nothing is started there.
free_port() {
  p=$(( 20000 + ($$ * 7 + $1) % 30000 ))
  while tcpclient -T1 127.0.0.1 "$p" true 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# listen NAME IP ENV... -- PROG ARGS...: start tcpserver on a free port of
# IP; sets $port; the PID is kept for stop_all.
listen() {
  lname=$1
  lip=$2
  shift 2
  lenv=
  while [ "$1" != -- ]; do lenv="$lenv $1"; shift; done
  shift
  tries=0
  while [ $tries -lt 40 ]; do
    port=$(( 20000 + (($$ * 131 + tries * 977 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 40000) ))
    # shellcheck disable=SC2086
    env $lenv tcpserver -HRl0 "$lip" "$port" "$@" 2>>"$tmp/$lname.log" &
    lpid=$!
    i=0
    while [ $i -lt 50 ]; do
      if ! kill -0 "$lpid" 2>/dev/null; then break; fi
      if tcpclient -T1 "$lip" "$port" true 2>/dev/null; then
        pids="$pids $lpid"
        return 0
      fi
      sleep 0.05
      i=$((i + 1))
    done
    kill "$lpid" 2>/dev/null
    wait "$lpid" 2>/dev/null
    tries=$((tries + 1))
  done
  echo "# could not start $lname"
  return 1
}

# agent_start DIR: the store; its socket answers before we go on.
agent_start() {
  rna-store "$1" 2>>"$1/store.log" &
  spid=$!
  pids="$pids $spid"
  i=0
  while ! rna-admin -d "$1" stats >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 200 ] || return 1
    sleep 0.05
  done
}

# The octets of a file as one lower-case hex string.
hexof() {
  od -An -v -tx1 "$1" | tr -d ' \n'
}
