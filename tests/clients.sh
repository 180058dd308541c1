#!/bin/sh
# rna-notify and rna-query against the real agent on 127.0.0.1 (rna-store,
# tcpserver + rnasp-d / rnaqp-d): every explicit location form (IPv4,
# IPv6, tcpclient), the text input form, per-notification reports and
# exit codes (accepted, nosuchmailbox, transaction aborted, quota,
# malformed, agent down), PDUs split at 1000, output formats, escaping of
# hostile strings, JSON, wrong password, retrieval clearing only after
# the output is out, and a hostile agent. SRV location is in dns.sh.
# Run by tests/run.sh from the top with $BUILD/bin first on PATH.

BUILD=${BUILD:-build}
PATH="$(pwd)/$BUILD/bin:$PATH"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rna-clients.XXXXXX") || exit 111
. tests/clients/lib.sh
trap 'stop_all; rm -rf "$tmp"' EXIT
unset DNSCACHEIP RNA_PASSWORD

d=$tmp/agent
ID1=000102030405060708090a0b0c0d0e0f
ID2=000102030405060708090a0b0c0d0e02
ID3=000102030405060708090a0b0c0d0e03

# ---- the agent
{
  rna-admin -d "$d" init &&
    rna-admin -d "$d" set sync 0 &&
    rna-admin -d "$d" domain add example.org &&
    echo 'correct horse' | rna-admin -d "$d" account add alice &&
    echo 'pw-bob' | rna-admin -d "$d" account add bob &&
    echo 'pw-q' | rna-admin -d "$d" account add tight quota=1 &&
    rna-admin -d "$d" mailbox add alice@example.org alice &&
    rna-admin -d "$d" mailbox add bob@example.org bob &&
    rna-admin -d "$d" mailbox add tight@example.org tight
} >/dev/null
ok $? "setup_agent_config"
agent_start "$d"
ok $? "setup_store_up"
listen rnasp 127.0.0.1 -- rnasp-d "$d"
ok $? "setup_rnasp_listener"
sp=$port
listen rnaqp 127.0.0.1 AUTH_DELAY_MS=20 -- rnaqp-d "$d"
ok $? "setup_rnaqp_listener"
qp=$port
dead=$(free_port 1)

query() {
  RNA_PASSWORD=$2 rna-query -a "127.0.0.1:$qp" "$1"
}

# ---- rna-notify: explicit IPv4 address
rna-notify -a "127.0.0.1:$sp" "alice@example.org store.example.net $ID1 bob@example.net 1234" >"$tmp/out"
rc_is 0 $? "notify_ipv4_exit_0"
[ "$(cat "$tmp/out")" = "1 accepted alice@example.org $ID1" ]
ok $? "notify_ipv4_reports_accepted"
query alice 'correct horse' >"$tmp/q"
rc_is 0 $? "query_exit_0"
n=$(wc -l <"$tmp/q")
[ "$n" -eq 1 ]
ok $? "query_one_notification ($n)"

# text format: 8 tab-separated fields in the documented order
IFS='	' read -r f_date f_sub f_sender f_rcpt f_store f_id f_size f_ssl <"$tmp/q"
echo "$f_date" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
ok $? "query_text_date_iso8601 ($f_date)"
echo "$f_sub" | grep -qE '^127\.0\.0\.1:[0-9]+$'
ok $? "query_text_submitter ($f_sub)"
[ "$f_sender" = bob@example.net ] && [ "$f_rcpt" = alice@example.org ] &&
  [ "$f_store" = store.example.net ] && [ "$f_id" = "$ID1" ] &&
  [ "$f_size" = 1234 ] && [ "$f_ssl" = - ]
ok $? "query_text_fields"
[ "$(awk -F'\t' '{print NF}' "$tmp/q")" = 8 ]
ok $? "query_text_eight_fields"
query alice 'correct horse' >"$tmp/q"
rc_is 0 $? "query_again_exit_0"
[ ! -s "$tmp/q" ]
ok $? "query_cleared_after_orderly_close"

# ---- explicit IPv6 address, if ::1 works here
if listen rnasp6 ::1 -- rnasp-d "$d" 2>/dev/null; then
  rna-notify -a "[::1]:$port" "alice@example.org [2001:db8::7]:9993,192.0.2.1:25 $ID2 <> ssl=s.example.net" >"$tmp/out"
  rc_is 0 $? "notify_ipv6_exit_0"
  query alice 'correct horse' >"$tmp/q"
  IFS='	' read -r f_date f_sub f_sender f_rcpt f_store f_id f_size f_ssl <"$tmp/q"
  [ "$f_sub" != "${f_sub#\[::1\]:}" ] && [ "$f_sender" = '<>' ] &&
    [ "$f_store" = '[2001:db8::7]:9993,192.0.2.1:25' ] && [ "$f_size" = - ] &&
    [ "$f_ssl" = s.example.net ]
  ok $? "notify_ipv6_literals_empty_sender_ssl ($f_sub $f_store $f_ssl)"
else
  echo "ok - SKIP notify_ipv6 (no IPv6 loopback)"
fi

# ---- under tcpclient (descriptors 6 and 7)
tcpclient -RHl0 127.0.0.1 "$sp" rna-notify -u "alice@example.org store.example.net $ID3 bob@example.net" >"$tmp/out"
rc_is 0 $? "notify_tcpclient_exit_0"
[ "$(cat "$tmp/out")" = "1 accepted alice@example.org $ID3" ]
ok $? "notify_tcpclient_reports_accepted"
tcpclient -RHl0 127.0.0.1 "$qp" env RNA_PASSWORD='correct horse' rna-query -u alice >"$tmp/q"
rc_is 0 $? "query_tcpclient_exit_0"
grep -q "	$ID3	" "$tmp/q"
ok $? "query_tcpclient_gets_it"
rna-notify -u "alice@example.org s $ID3 <>" >/dev/null 2>"$tmp/err"
rc_is 100 $? "notify_u_without_tcpclient_exit_100"

# ---- stdin: comments, blank lines, CRLF; line numbers in the report
printf '# a comment\n\nalice@example.org store.example.net %s a@b 1\r\n  bob@example.org store.example.net %s a@b\n' "$ID1" "$ID2" |
  rna-notify -a "127.0.0.1:$sp" >"$tmp/out"
rc_is 0 $? "notify_stdin_exit_0"
printf '3 accepted alice@example.org %s\n4 accepted bob@example.org %s\n' "$ID1" "$ID2" | cmp -s - "$tmp/out"
ok $? "notify_stdin_line_numbers"
query alice 'correct horse' >/dev/null
query bob pw-bob >/dev/null

# ---- unknown mailbox alone: permanent, 100
rna-notify -a "127.0.0.1:$sp" "nobody@example.org s.example $ID1 a@b" >"$tmp/out"
rc_is 100 $? "notify_unknown_mailbox_exit_100"
[ "$(cat "$tmp/out")" = "1 permanent nobody@example.org $ID1 nosuchmailbox" ]
ok $? "notify_unknown_mailbox_reported"

# ---- with others in the same PDU: the transaction aborts, nothing stored
rna-notify -a "127.0.0.1:$sp" "alice@example.org s.example $ID1 a@b" \
  "nobody@example.org s.example $ID2 a@b" "bob@example.org s.example $ID3 a@b" >"$tmp/out"
rc_is 111 $? "notify_aborted_transaction_exit_111"
printf '%s\n' "1 temporary alice@example.org $ID1 notaccepted (transaction aborted)" \
  "2 permanent nobody@example.org $ID2 nosuchmailbox" \
  "3 temporary bob@example.org $ID3 notaccepted (transaction aborted)" | cmp -s - "$tmp/out"
ok $? "notify_aborted_transaction_reports"
query alice 'correct horse' >"$tmp/q"
[ ! -s "$tmp/q" ]
ok $? "notify_aborted_transaction_stored_nothing"

# ---- quota: temporary
rna-notify -a "127.0.0.1:$sp" "tight@example.org s.example $ID1 a@b" "tight@example.org s.example $ID2 a@b" >"$tmp/out"
rc_is 111 $? "notify_quota_exit_111"
printf '%s\n' "1 temporary tight@example.org $ID1 notaccepted (transaction aborted)" \
  "2 temporary tight@example.org $ID2 quota" | cmp -s - "$tmp/out"
ok $? "notify_quota_reports"

# ---- malformed input: reported, the rest still go; exit 100
printf '%s\n' "alice@example.org s.example $ID1 a@b" "alice@example.org s.example 0011 a@b" \
  "alice s.example $ID1 a@b" "alice@example.org s.example $ID1" \
  "alice@example.org s..example $ID1 a@b" "alice@example.org 1.2.3:4 $ID1 a@b" \
  "alice@example.org s.example $ID1 a\\x01b" "alice@example.org s.example $ID1 a@b 12x" \
  "alice@example.org s.example $ID1 a@b 1 2" |
  rna-notify -a "127.0.0.1:$sp" >"$tmp/out"
rc_is 100 $? "notify_malformed_exit_100"
[ "$(grep -c ' permanent - - malformed (' "$tmp/out")" -eq 8 ] &&
  grep -q "^1 accepted alice@example.org $ID1\$" "$tmp/out"
ok $? "notify_malformed_reported_rest_sent"
grep -q '^2 permanent - - malformed (identifier: want 32 hex digits)$' "$tmp/out"
ok $? "notify_malformed_names_the_field"
query alice 'correct horse' >/dev/null

# ---- more than 1000: several PDUs on one connection
before=$(grep -c 'command=notify' "$tmp/rnasp.log")
i=0
while [ $i -lt 2500 ]; do
  printf 'alice@example.org s.example %032x a@b\n' $i
  i=$((i + 1))
done >"$tmp/many"
rna-notify -a "127.0.0.1:$sp" <"$tmp/many" >"$tmp/out"
rc_is 0 $? "notify_2500_exit_0"
[ "$(grep -c ' accepted ' "$tmp/out")" -eq 2500 ]
ok $? "notify_2500_all_accepted"
# rnasp-d logs a transaction just after its response: wait for the lines
i=0
while [ $i -lt 50 ] && [ "$(grep -c 'command=notify' "$tmp/rnasp.log")" -lt $((before + 3)) ]; do
  sleep 0.1
  i=$((i + 1))
done
after=$(grep -c 'command=notify' "$tmp/rnasp.log")
[ $((after - before)) -eq 3 ] && grep -q 'received=1000 ' "$tmp/rnasp.log" &&
  grep -q 'received=500 ' "$tmp/rnasp.log"
ok $? "notify_2500_is_three_pdus ($((after - before)))"
[ "$(awk '/command=notify received=(1000|500) /{print $2}' "$tmp/rnasp.log" | sort -u | wc -l)" -eq 1 ]
ok $? "notify_2500_one_connection"
query alice 'correct horse' >"$tmp/q"
[ "$(wc -l <"$tmp/q")" -eq 2500 ] && [ "$(cut -f6 "$tmp/q" | head -n 1)" = 00000000000000000000000000000000 ] &&
  [ "$(cut -f6 "$tmp/q" | tail -n 1)" = "$(printf '%032x' 2499)" ]
ok $? "query_2500_in_order"

# ---- agent down
rna-notify -a "127.0.0.1:$dead" "alice@example.org s.example $ID1 a@b" >"$tmp/out"
rc_is 111 $? "notify_agent_down_exit_111"
grep -q "^1 temporary alice@example.org $ID1 unreachable (127.0.0.1:$dead: Connection refused)\$" "$tmp/out"
ok $? "notify_agent_down_reported"
RNA_PASSWORD=x rna-query -a "127.0.0.1:$dead" alice >"$tmp/q" 2>"$tmp/err"
rc_is 111 $? "query_agent_down_exit_111"
[ ! -s "$tmp/q" ] && grep -q '^rna-query: fatal: unable to reach the agent' "$tmp/err"
ok $? "query_agent_down_message"

# ---- hostile strings: C1 CSI, bidi override, line separator, quote,
# backslash, blank, a literal "<>" sender
hl='a\xc2\x9b2Jb\x20c\xe2\x80\xae\x22\\\\d'
rna-notify -a "127.0.0.1:$sp" "alice@example.org s.example $ID1 $hl" \
  "x\xe2\x80\xa8y\xc2\x85@example.org s.example $ID2 \\x3c>" >"$tmp/out"
rc_is 111 $? "notify_hostile_exit_111_aborted_with_unknown_mailbox"
grep -q "^1 temporary alice@example.org $ID1 " "$tmp/out" &&
  grep -q '^2 permanent x\\xe2\\x80\\xa8y\\xc2\\x85@example.org ' "$tmp/out"
ok $? "notify_report_escapes_recipient"
echo 'pw-h' | rna-admin -d "$d" account add hostile >/dev/null &&
  rna-admin -d "$d" mailbox add "$(printf 'x\342\200\250y\302\205')@example.org" hostile >/dev/null
ok $? "setup_hostile_mailbox"
sleep 1.2 # the store picks up the compile within a second
rna-notify -a "127.0.0.1:$sp" "alice@example.org s.example $ID1 $hl" \
  "x\xe2\x80\xa8y\xc2\x85@example.org s.example $ID2 \\x3c>" >"$tmp/out"
rc_is 0 $? "notify_hostile_accepted"
query alice 'correct horse' >"$tmp/q"
query hostile pw-h >>"$tmp/q"
cut -f3 "$tmp/q" | head -n 1 >"$tmp/s"
[ "$(cat "$tmp/s")" = 'a\xc2\x9b2Jb\x20c\xe2\x80\xae\"\\\\d' ]
ok $? "query_text_escapes_sender ($(cat "$tmp/s"))"
[ "$(cut -f3 "$tmp/q" | tail -n 1)" = '\x3c>' ] &&
  [ "$(cut -f4 "$tmp/q" | tail -n 1)" = 'x\xe2\x80\xa8y\xc2\x85@example.org' ]
ok $? "query_text_escapes_recipient_and_literal_angle_sender"
hexof "$tmp/q" >"$tmp/qhex"
! grep -qE 'c2(8|9)[0-9a-f]|e280(a8|a9|ae)|1b' "$tmp/qhex" &&
  [ "$(LC_ALL=C tr -d '\t\n' <"$tmp/q" | LC_ALL=C tr -d '\040-\176' | wc -c)" -eq 0 ]
ok $? "query_text_no_raw_controls"
# the escaped fields go back into rna-notify as they are
f3=$(cut -f3 "$tmp/q" | head -n 1)
f4=$(cut -f4 "$tmp/q" | head -n 1)
rna-notify -a "127.0.0.1:$sp" "$f4 s.example $ID3 $f3" >/dev/null
RNA_PASSWORD='correct horse' rna-query --json -a "127.0.0.1:$qp" alice >"$tmp/j"
rc_is 0 $? "query_json_exit_0"
grep -qF '"sender":"a\u009b2Jb c\u202e\"\\\\d"' "$tmp/j"
ok $? "query_json_escapes_and_fields_roundtrip ($(cat "$tmp/j"))"
hexof "$tmp/j" >"$tmp/jhex"
! grep -qE 'c2(8|9)[0-9a-f]|e280(a8|a9|ae)' "$tmp/jhex"
ok $? "query_json_no_raw_controls"
if command -v python3 >/dev/null; then
  python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert o["sender"] == "a\u009b2Jb c\u202e\"\\\\d", o["sender"]
    assert o["recipient"] == {"localpart": "alice", "domain": "example.org"}
    assert o["identifier"] == sys.argv[2] and "size" not in o
    assert o["store"] == {"domain": "s.example"}
    assert o["submitter"]["address"] == "127.0.0.1" and o["date"] > 1600000000
' "$tmp/j" "$ID3"
  ok $? "query_json_parses"
fi

# JSON object per line, literals and size
rna-notify -a "127.0.0.1:$sp" "alice@example.org 192.0.2.1:25,[::1]:26 $ID1 <> 18446744073709551615 ssl=ssl.example" >/dev/null
RNA_PASSWORD='correct horse' rna-query -j -a "127.0.0.1:$qp" alice >"$tmp/j"
grep -qF '"sender":"","recipient":{"localpart":"alice","domain":"example.org"},"store":{"literals":[{"address":"192.0.2.1","port":25},{"address":"::1","port":26}]},"storessl":{"domain":"ssl.example"},"identifier":"'"$ID1"'","size":18446744073709551615}' "$tmp/j"
ok $? "query_json_literals_ssl_size"

# ---- wrong password: 100, nothing printed, nothing cleared
rna-notify -a "127.0.0.1:$sp" "alice@example.org s.example $ID1 a@b" >/dev/null
query alice 'wrong horse' >"$tmp/q" 2>"$tmp/err"
rc_is 100 $? "query_wrong_password_exit_100"
[ ! -s "$tmp/q" ] && [ "$(cat "$tmp/err")" = "rna-query: fatal: authentication failed (unknown account or wrong password)" ]
ok $? "query_wrong_password_message"
query nosuch 'correct horse' >/dev/null 2>&1
rc_is 100 $? "query_unknown_account_exit_100"
! grep -q 'wrong horse' "$tmp/err" "$tmp/rnaqp.log"
ok $? "query_password_not_logged"

# ---- password from a descriptor
printf 'correct horse\n' >"$tmp/pw"
rna-query -P 3 -a "127.0.0.1:$qp" alice 3<"$tmp/pw" >"$tmp/q"
rc_is 0 $? "query_password_fd_exit_0"
[ "$(wc -l <"$tmp/q")" -eq 1 ]
ok $? "query_password_fd_retrieves"
rna-query -a "127.0.0.1:$qp" alice >/dev/null 2>"$tmp/err" </dev/null
rc_is 100 $? "query_no_password_exit_100"

# ---- the output fails: the connection is reset, the agent keeps them
if [ -w /dev/full ]; then
  rna-notify -a "127.0.0.1:$sp" "alice@example.org s.example $ID2 a@b" >/dev/null
  query alice 'correct horse' >/dev/full 2>"$tmp/err"
  rc_is 111 $? "query_output_failure_exit_111"
  sleep 0.2
  grep -q 'command=retrieve account=alice returned=1 clear=aborted reason=reset' "$tmp/rnaqp.log"
  ok $? "query_output_failure_resets_session"
  query alice 'correct horse' >"$tmp/q"
  grep -q "	$ID2	" "$tmp/q"
  ok $? "query_output_failure_keeps_notifications"
fi

# ---- a hostile agent: a raw escape in a string is refused whole
printf 'raw 0000000c a20a800100810100a202a100\n' | rna-pdu encode >"$tmp/evil.bin"
# ResponseRetrieveAndClear holding one notification whose sender is ESC [ 2 J
printf 'pdu rnaqp response retrieve\nforceabort false\nstatus 0\nnotification\nstoreclear domain s\nlocalpart "a"\ndomain x\nidentifier %s\nsender "XXXX"\nsubmitter 192.0.2.1 1\ndate 0\nend\n' "$ID1" |
  rna-pdu encode >"$tmp/evil2.bin"
# patch "XXXX" to ESC [ 2 J (same length, so the framing holds)
printf 'raw %s\n' "$(hexof "$tmp/evil2.bin" | sed 's/58585858/1b5b324a/')" |
  rna-pdu encode >>"$tmp/evil.bin"
listen evil 127.0.0.1 -- sh -c "cat '$tmp/evil.bin'; cat >/dev/null"
RNA_PASSWORD=x rna-query -a "127.0.0.1:$port" alice >"$tmp/q" 2>"$tmp/err"
rc_is 111 $? "query_hostile_agent_exit_111"
[ ! -s "$tmp/q" ] && grep -q 'malformed response to CommandRetrieveAndClear' "$tmp/err"
ok $? "query_hostile_agent_prints_nothing"

# ---- usage
rna-query --keep -a "127.0.0.1:$qp" alice >/dev/null 2>"$tmp/err"
rc_is 100 $? "query_keep_refused_exit_100"
grep -q 'not possible' "$tmp/err"
ok $? "query_keep_explains"
RNA_PASSWORD=x rna-query alice >/dev/null 2>&1
rc_is 100 $? "query_needs_a_location"
RNA_PASSWORD=x rna-query -a "127.0.0.1:$qp" 'bad/acct' >/dev/null 2>&1
rc_is 100 $? "query_bad_account_exit_100"
rna-notify -a 127.0.0.1 "alice@example.org s $ID1 a@b" >/dev/null 2>&1
rc_is 100 $? "notify_bad_agent_exit_100"
rna-notify -a "127.0.0.1:$sp" -u "alice@example.org s $ID1 a@b" >/dev/null 2>&1
rc_is 100 $? "notify_a_and_u_exit_100"
for t in 0 86401 x 1s ''; do
  rna-notify -c "$t" -a "127.0.0.1:$sp" "alice@example.org s $ID1 a@b" >/dev/null 2>&1
  rc_is 100 $? "notify_bad_seconds_exit_100 (-c '$t')"
  RNA_PASSWORD=x rna-query -t "$t" -a "127.0.0.1:$qp" alice >/dev/null 2>&1
  rc_is 100 $? "query_bad_seconds_exit_100 (-t '$t')"
done
rna-notify -c 86400 -t 1 -a "127.0.0.1:$sp" </dev/null >"$tmp/out"
rc_is 0 $? "notify_seconds_bounds_accepted"
rna-notify -a "127.0.0.1:$sp" </dev/null >"$tmp/out"
rc_is 0 $? "notify_empty_input_exit_0"
if [ -w /dev/full ]; then
  rna-notify -a "127.0.0.1:$sp" "alice@example.org s $ID1 a@b" >/dev/full 2>/dev/null
  rc_is 111 $? "notify_report_write_error_exit_111"
fi
exit 0
