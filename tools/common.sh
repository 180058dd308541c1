# Shell helpers for tools/*.sh and the system tests (sourced, not run).

# listening PORT: true when something listens on TCP PORT (any address).
# Reads /proc/net/tcp{,6} rather than connecting, so that probing starts
# no session and leaves no log line.
listening() {
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# free_port [AVOID]: print a TCP port in 20000..59999 nobody listens on
# (nor AVOID). Another program may take it before we bind: callers check
# that their listener came up.
free_port() {
  while :; do
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    p=$((20000 + n % 40000))
    [ "$p" = "${1:-}" ] && continue
    listening "$p" || break
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
