#!/bin/sh
# tools/demo.sh notify [LOCAL@DOMAIN]
# tools/demo.sh retrieve [ACCOUNT PASSWORD]
#
# Talk to the agent that `make run` started (ports in $DEMO/*.port), with
# nothing but rna-pdu and tcpclient: the PDU text sent is shown with
# "> ", then the decoded responses. notify submits one notification (a
# fresh random identifier each time) for LOCAL@DOMAIN (default
# demo@example.org) over RNASP; retrieve authenticates (default demo /
# demo) and retrieves-and-clears over RNAQP.
#
# A session ends when the client closes (PROTOCOL.md section 1), which a
# shell cannot do half-way through tcpclient; so the commands are
# followed by a zero-length frame, which the server answers with
# errormalformedpdu and a close. That answer is not shown. For RNAQP the
# extra frame is also the "next frame" that proves the retrieve response
# arrived (section 5.3), so the clear commits.
#
# Exit: 0 when every response says noerror; 1 otherwise; 111 when the
# demo is not running.
BUILD=${BUILD:-build}
DEMO=${DEMO:-demo}
bin=$BUILD/bin

port() {
  if [ ! -s "$DEMO/$1.port" ]; then
    echo "demo: fatal: no $DEMO/$1.port; start the demo with make run" >&2
    exit 111
  fi
  cat "$DEMO/$1.port"
}

# session PROTOCOL PORT: the PDU text on stdin goes out, the responses
# come back decoded, minus the answer to the closing frame.
session() {
  req=$(cat) || exit 111
  printf '%s\n' "$req" | sed 's/^/> /'
  resp=$( (printf '%s\n' "$req"; echo 'raw 00000000') | "$bin/rna-pdu" encode |
    tcpclient -RHl0 127.0.0.1 "$2" sh -c 'cat >&7; exec "$0" -p "$1" decode <&6' "$bin/rna-pdu" "$1")
  printf '%s\n' "$resp" |
    awk '/^pdu / { b = "" } { b = b $0 "\n" } /^end$/ { if (b !~ /errormalformedpdu/) printf "%s", b }'
  [ -n "$resp" ] || return 1
  # every response but the last (the close) must say noerror
  n=$(printf '%s\n' "$resp" | grep -c '^status ')
  ok=$(printf '%s\n' "$resp" | grep -c '^status 0 noerror$')
  [ "$ok" -eq $((n - 1)) ]
}

case "${1:-}" in
notify)
  rcpt=${2:-demo@example.org}
  id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  p=$(port rnasp) || exit 111
  session rnasp "$p" <<EOT
pdu rnasp command notify
notification
storeclear domain store.example.net
localpart "${rcpt%@*}"
domain ${rcpt##*@}
identifier $id
sender "alice@example.net"
size 2048
end
EOT
  ;;
retrieve)
  p=$(port rnaqp) || exit 111
  session rnaqp "$p" <<EOT
pdu rnaqp command authenticate
account "${2:-demo}"
password "${3:-demo}"
end
pdu rnaqp command retrieve
end
EOT
  ;;
*)
  echo "usage: tools/demo.sh notify [LOCAL@DOMAIN] | retrieve [ACCOUNT PASSWORD]" >&2
  exit 100
  ;;
esac
