# Shell helpers for tools/*.sh and the system tests (sourced, not run).

# listening PORT: true when something listens on TCP PORT (any address).
# Reads /proc/net/tcp{,6} rather than connecting, so that probing starts
# no session and leaves no log line.
listening() {
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# in_use PORT: a TCP socket in any state has PORT as its local port
in_use() {
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk -v p=":$hex" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# free_port [AVOID]: print a TCP port nobody uses (nor AVOID), from 20000
# up to below the kernel's ephemeral range (where outgoing connections
# take their ports: a busy machine has thousands there). Another program
# may still take it before we bind: callers check that their listener
# came up, and retry.
free_port() {
  hi=59999
  if read -r e1 e2 </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null &&
      [ "$e1" -gt 21000 ] 2>/dev/null; then
    hi=$((e1 - 1))
  fi
  while :; do
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    p=$((20000 + n % (hi - 19999)))
    [ "$p" = "${1:-}" ] && continue
    in_use "$p" || break
  done
  echo "$p"
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; false
# when SECONDS pass first.
wait_for() {
  tries=$(($1 * 10))
  shift
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    tries=$((tries - 1))
  done
  return 1
}
