#!/bin/sh
# SRV location against a real DNS server: tinydns on a loopback address
# of its own (port 53, hence root), named by $DNSCACHEIP, serving a
# generated zone "test"; the real agent behind it. Priority order,
# weights over many runs, a dead first target, every address of a target
# in turn, NXDOMAIN (100), no SRV records and no DNS answer (111), the
# "." refusal (100), a hostile target name, grouping by domain, HOST:PORT
# by name, and rna-query -s.
# Run by tests/run.sh from the top with $BUILD/bin first on PATH.

BUILD=${BUILD:-build}
PATH="$(pwd)/$BUILD/bin:$PATH"
if [ "$(id -u)" -ne 0 ]; then
  echo "ok - SKIP dns tests: tinydns must bind port 53, which needs root"
  exit 0
fi
if ! command -v tinydns >/dev/null || ! command -v tinydns-data >/dev/null; then
  echo "ok - SKIP dns tests: tinydns and tinydns-data are not installed"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rna-dns.XXXXXX") || exit 111
. tests/clients/lib.sh
trap 'stop_all; rm -rf "$tmp"' EXIT
unset RNA_PASSWORD
# fail fast when no server answers
RES_OPTIONS="timeout:1 attempts:1"
export RES_OPTIONS

d=$tmp/agent
ID=0f0e0d0c0b0a09080706050403020100
doms="prio w fail multi nodata dot gone evil grp"

{
  rna-admin -d "$d" init &&
    rna-admin -d "$d" set sync 0 &&
    echo 'pw-a' | rna-admin -d "$d" account add alice &&
    for x in $doms; do
      rna-admin -d "$d" domain add "$x.test" &&
        rna-admin -d "$d" mailbox add "alice@$x.test" alice || exit 1
    done
} >/dev/null
ok $? "setup_agent_config"
agent_start "$d"
ok $? "setup_store_up"
listen p1 127.0.0.1 -- rnasp-d "$d"
ok $? "setup_rnasp_listener_1"
p1=$port
listen p2 127.0.0.1 -- rnasp-d "$d"
ok $? "setup_rnasp_listener_2"
p2=$port
listen qp 127.0.0.1 AUTH_DELAY_MS=20 -- rnaqp-d "$d"
ok $? "setup_rnaqp_listener"
qp=$port
dead=$(free_port 3)

# ---- the zone, in tinydns-data's generic form for SRV and AAAA
o16() { printf '\\%03o\\%03o' $(($1 / 256)) $(($1 % 256)); }
wire() {
  if [ "$1" = . ]; then printf '\\000'; return; fi
  w=
  for l in $(echo "$1" | tr . ' '); do w="$w$(printf '\\%03o' ${#l})$l"; done
  printf '%s\\000' "$w"
}
srv() { printf ':%s:33:%s%s%s%s:300\n' "$1" "$(o16 "$2")" "$(o16 "$3")" "$(o16 "$4")" "$(wire "$5")"; }

mkdir "$tmp/dns"
a=$(( ($$ / 200) % 200 + 20 ))
b=$(( $$ % 200 + 20 ))
ns=127.53.$a.$b
{
  echo ".test:$ns:ns:300"
  echo "+agent.test:127.0.0.1:300"
  echo "+live.test:127.0.0.1:300"
  echo "+dead.test:127.0.0.1:300"
  echo "+m.test:127.0.0.2:300"
  echo "+m.test:127.0.0.1:300"
  echo ":m.test:28:\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\001:300"
  echo "+_rnasp._tcp.nodata.test:127.0.0.9:300"
  srv _rnasp._tcp.prio.test 20 0 "$p1" live.test
  srv _rnasp._tcp.prio.test 10 0 "$p2" live.test
  srv _rnasp._tcp.w.test 5 10 "$p1" live.test
  srv _rnasp._tcp.w.test 5 30 "$p2" live.test
  srv _rnasp._tcp.grp.test 0 0 "$p1" live.test
  srv _rnasp._tcp.fail.test 1 0 "$dead" dead.test
  srv _rnasp._tcp.fail.test 2 0 "$p1" live.test
  srv _rnasp._tcp.multi.test 0 0 "$p1" m.test
  srv _rnasp._tcp.dot.test 0 0 0 .
  srv _rnasp._tcp.gone.test 0 0 "$dead" dead.test
  # a target label holding ESC x
  printf ':_rnasp._tcp.evil.test:33:\\000\\000\\000\\000%s\\002\\033x\\004test\\000:300\n' "$(o16 "$p1")"
  srv _rnaqp._tcp.q.test 0 0 "$qp" live.test
} >"$tmp/dns/data"
(cd "$tmp/dns" && tinydns-data)
ok $? "setup_tinydns_data"
env ROOT="$tmp/dns" IP="$ns" UID=0 GID=0 tinydns >"$tmp/tinydns.log" 2>&1 &
tpid=$!
pids="$pids $tpid"
i=0
until dnsq a agent.test "$ns" 2>/dev/null | grep -q '^answer: agent.test'; do
  i=$((i + 1))
  if [ $i -ge 100 ] || ! kill -0 "$tpid" 2>/dev/null; then break; fi
  sleep 0.05
done
dnsq a agent.test "$ns" 2>/dev/null | grep -q '^answer: agent.test'
ok $? "setup_tinydns_answers_on_$ns"
DNSCACHEIP=$ns
export DNSCACHEIP

notify() {
  rna-notify -v "alice@$1 s.example $ID a@b" 2>"$tmp/err" >"$tmp/out"
}

# ---- SRV with the real agent
notify prio.test
rc_is 0 $? "srv_submit_exit_0"
grep -q "^1 accepted alice@prio.test $ID\$" "$tmp/out"
ok $? "srv_submit_accepted"

# ---- priority: the lower value always, whatever the weights
c2=0
i=0
while [ $i -lt 20 ]; do
  notify prio.test && grep -q "connected to 127.0.0.1:$p2\$" "$tmp/err" && c2=$((c2 + 1))
  i=$((i + 1))
done
[ $c2 -eq 20 ]
ok $? "srv_priority_lowest_first ($c2 of 20)"

# ---- weights 10 and 30: RFC 2782 gives the first 11/41 (~54 of 200)
c1=0
c2=0
i=0
while [ $i -lt 200 ]; do
  notify w.test
  if grep -q "connected to 127.0.0.1:$p1\$" "$tmp/err"; then c1=$((c1 + 1)); fi
  if grep -q "connected to 127.0.0.1:$p2\$" "$tmp/err"; then c2=$((c2 + 1)); fi
  i=$((i + 1))
done
[ $((c1 + c2)) -eq 200 ] && [ $c1 -ge 25 ] && [ $c1 -le 85 ]
ok $? "srv_weights_distribution ($c1 and $c2 of 200)"

# ---- a dead first target falls over to the next
notify fail.test
rc_is 0 $? "srv_dead_first_target_exit_0"
grep -q "unable to connect to 127.0.0.1:$dead: Connection refused" "$tmp/err" &&
  grep -q "connected to 127.0.0.1:$p1\$" "$tmp/err"
ok $? "srv_dead_first_target_falls_over"

# ---- every address of a target in turn: AAAA ::1, then the A records
notify multi.test
rc_is 0 $? "srv_every_address_exit_0"
grep -n 'connect' "$tmp/err" >"$tmp/lines"
l6=$(grep -F "unable to connect to [::1]:$p1" "$tmp/lines" | cut -d: -f1)
l4=$(grep -F "connected to 127.0.0.1:$p1" "$tmp/lines" | cut -d: -f1)
[ -n "$l6" ] && [ -n "$l4" ] && [ "$l6" -lt "$l4" ]
ok $? "srv_every_address_in_turn"

# ---- no such domain: permanent
notify nx.test
rc_is 100 $? "srv_nxdomain_exit_100"
grep -q "^1 permanent alice@nx.test $ID unreachable (no such domain _rnasp._tcp.nx.test)\$" "$tmp/out"
ok $? "srv_nxdomain_reported"

# ---- the name exists, no SRV records: temporary
notify nodata.test
rc_is 111 $? "srv_no_records_exit_111"
grep -q "^1 temporary alice@nodata.test $ID unreachable (no SRV records for _rnasp._tcp.nodata.test)\$" "$tmp/out"
ok $? "srv_no_records_reported"

# ---- no answer from the DNS: temporary
DNSCACHEIP=127.53.$a.$((b + 1)) rna-notify "alice@prio.test s.example $ID a@b" >"$tmp/out" 2>&1
rc_is 111 $? "srv_no_dns_answer_exit_111"
grep -q 'unreachable (no answer from the DNS for _rnasp._tcp.prio.test)' "$tmp/out"
ok $? "srv_no_dns_answer_reported"

# ---- "." : the service is decidedly not available
notify dot.test
rc_is 100 $? "srv_dot_target_exit_100"

# ---- only a dead target: temporary
notify gone.test
rc_is 111 $? "srv_only_dead_target_exit_111"
grep -q "unreachable (no target of _rnasp._tcp.gone.test answered (last: 127.0.0.1:$dead: Connection refused))" "$tmp/out"
ok $? "srv_only_dead_target_reported"

# ---- a hostile target name never reaches the terminal raw
notify evil.test
rc_is 111 $? "srv_hostile_target_exit_111"
! LC_ALL=C grep -q "$(printf '\033')" "$tmp/out" "$tmp/err" &&
  grep -q 'x\.test' "$tmp/err"
ok $? "srv_hostile_target_escaped"

# ---- one session per agent: domains compared without case
before=$(grep -c 'command=notify' "$tmp/p1.log")
rna-notify "alice@grp.test s.example $ID a@b" "alice@GRP.Test s.example $ID a@b" >"$tmp/out"
rc_is 0 $? "srv_group_exit_0"
after=$(grep -c 'command=notify' "$tmp/p1.log")
[ $((after - before)) -eq 1 ] && tail -n 1 "$tmp/p1.log" | grep -q 'received=2 '
ok $? "srv_group_one_pdu_per_domain"
printf '1 accepted alice@grp.test %s\n2 accepted alice@GRP.Test %s\n' "$ID" "$ID" | cmp -s - "$tmp/out"
ok $? "srv_group_reports_in_input_order"

# ---- HOST:PORT with a name
rna-notify -a "agent.test:$p1" "alice@prio.test s.example $ID a@b" >"$tmp/out"
rc_is 0 $? "notify_host_name_exit_0"
rna-notify -a "nohost.test:$p1" "alice@prio.test s.example $ID a@b" >"$tmp/out"
rc_is 100 $? "notify_unknown_host_exit_100"
DNSCACHEIP=not-an-ip rna-notify "alice@prio.test s.example $ID a@b" >/dev/null 2>&1
rc_is 100 $? "notify_bad_dnscacheip_exit_100"

# ---- rna-query by SRV
RNA_PASSWORD=pw-a rna-query -s q.test alice >"$tmp/q"
rc_is 0 $? "query_srv_exit_0"
[ "$(cut -f6 "$tmp/q" | sort -u)" = "$ID" ]
ok $? "query_srv_retrieves"
RNA_PASSWORD=pw-a rna-query -s nx.test alice >/dev/null 2>&1
rc_is 100 $? "query_srv_nxdomain_exit_100"
exit 0
