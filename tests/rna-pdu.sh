#!/bin/sh
# rna-pdu: every vector round-trips (frame -> text -> frame, and the text
# is stable), decode transcripts against tests/rna-pdu/*.out, malformed
# input, encode syntax errors with line numbers, hostile strings, exit
# codes. Run by tests/run.sh from the top with $BUILD/bin on PATH.
# Binary data lives only in files: a shell variable cannot hold NUL.

BUILD=${BUILD:-build}
PATH="$(pwd)/$BUILD/bin:$PATH"
dir=tests/rna-pdu
vectors=tests/vectors/valid-pdus.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rna-pdu.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT

ok() {
  if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

# The octets of a file as one lower-case hex string.
hexof() {
  od -An -v -tx1 "$1" | tr -d ' \n'
}

# rc_is WANT RC NAME: the exit code RC of the command just run is WANT.
rc_is() {
  [ "$2" -eq "$1" ]
  r=$?
  [ "$r" -eq 0 ] || echo "# $3: exit $2, wanted $1"
  ok $r "$3"
}

# ---- every vector: hex -> frame -> text -> frame, text -> frame -> text
count=0
while read -r name; do
  case $name in rna*) ;; *) continue ;; esac
  read -r desc
  read -r hex
  proto=${name%%-*}
  count=$((count + 1))
  printf 'raw %s\n' "$hex" | rna-pdu encode >"$tmp/v.bin"
  [ "$(hexof "$tmp/v.bin")" = "$hex" ]
  ok $? "raw_writes_vector_octets $name"
  rna-pdu -p "$proto" decode <"$tmp/v.bin" >"$tmp/v.txt"
  ok $? "decode_accepts $name"
  rna-pdu encode <"$tmp/v.txt" >"$tmp/v2.bin"
  ok $? "encode_accepts_decoded_text $name"
  [ "$(hexof "$tmp/v2.bin")" = "$hex" ]
  ok $? "roundtrip_same_octets $name"
  rna-pdu -p "$proto" decode <"$tmp/v2.bin" >"$tmp/v2.txt" &&
    cmp -s "$tmp/v.txt" "$tmp/v2.txt"
  ok $? "roundtrip_same_text $name"
  # the same PDU with -p on encode is accepted, the other protocol refused
  rna-pdu -p "$proto" encode <"$tmp/v.txt" >/dev/null
  ok $? "encode_p_same_protocol $name"
  other=rnaqp
  [ "$proto" = rnaqp ] && other=rnasp
  rna-pdu -p "$other" encode <"$tmp/v.txt" >/dev/null 2>&1
  rc_is 100 $? "encode_p_other_protocol_refused $name"
  # every line begins with a known key (one element per line)
  bad=$(grep -cvE '^(end|notification|rejected)$|^(pdu|storeclear|storessl|localpart|domain|identifier|sender|size|submitter|submitter-domain|date|forceabort|status|rejected|account|password) [^ ]' "$tmp/v.txt")
  [ "$bad" -eq 0 ]
  ok $? "decode_lines_start_with_a_key $name"
done <"$vectors"
[ "$count" -eq 19 ]
ok $? "vectors_file_holds_19_frames ($count)"

# All the vectors in one stream of each protocol: one run decodes them all.
for proto in rnasp rnaqp; do
  grep -A2 "^$proto-" "$vectors" | grep -E '^[0-9a-f]+$' |
    sed 's/^/raw /' | rna-pdu encode >"$tmp/all.bin"
  rna-pdu -p "$proto" decode <"$tmp/all.bin" >"$tmp/all.txt"
  ok $? "decode_stream_of_frames $proto"
  rna-pdu encode <"$tmp/all.txt" | cmp -s - "$tmp/all.bin"
  ok $? "encode_stream_of_pdus $proto"
done

# ---- transcripts: decode output against hand-checked files
for f in "$dir"/rn*.out; do
  name=$(basename "$f" .out)
  hex=$(grep -A2 "^$name\$" "$vectors" | tail -n 1)
  printf 'raw %s\n' "$hex" | rna-pdu encode |
    rna-pdu -p "${name%%-*}" decode >"$tmp/t.txt"
  cmp -s "$tmp/t.txt" "$f"
  ok $? "decode_transcript $name"
done

# ---- malformed frames: one error line each, decoding goes on, exit 100
rna-pdu encode <"$dir/malformed.in" >"$tmp/m.bin"
rna-pdu -p rnaqp decode <"$tmp/m.bin" >"$tmp/m.txt"
rc_is 100 $? "decode_malformed_exits_100"
cmp -s "$tmp/m.txt" "$dir/malformed.out"
ok $? "decode_malformed_transcript"

printf 'raw 00000000\nraw 00000006 a104a002a100\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnaqp decode <"$tmp/b.bin" >"$tmp/b.txt"
rc_is 100 $? "decode_zero_length_exits_100"
[ "$(cat "$tmp/b.txt")" = "error bad-frame-length 0" ]
ok $? "decode_zero_length_stops_reading"

printf 'raw 00000006 a104a002a100\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnaqp -m 5 decode <"$tmp/b.bin" >"$tmp/b.txt"
rc_is 100 $? "decode_over_limit_exits_100"
[ "$(cat "$tmp/b.txt")" = "error bad-frame-length 6" ]
ok $? "decode_over_limit_names_length"

printf 'raw ffffffff a1\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnasp decode <"$tmp/b.bin" >"$tmp/b.txt"
[ "$(cat "$tmp/b.txt")" = "error bad-frame-length 4294967295" ]
ok $? "decode_huge_length_not_read"

printf 'raw 00000008 a106a004a002a000 00\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnasp decode <"$tmp/b.bin" >"$tmp/b.txt"
rc_is 100 $? "decode_partial_header_exits_100"
printf 'pdu rnasp command notify\nend\nerror truncated 1\n' |
  cmp -s - "$tmp/b.txt"
ok $? "decode_partial_header_after_good_frame"

# RNAQP's retrieve alternative is unknown to RNASP: unexpected command.
printf 'raw 00000006 a104a002a100\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnasp decode <"$tmp/b.bin" >"$tmp/b.txt"
rc_is 100 $? "decode_protocol_matters_exit"
[ "$(cat "$tmp/b.txt")" = "error unknown-command 1" ]
ok $? "decode_protocol_matters_unknown_command"

# responsedata [1]: ResponseNotify in RNASP, ResponseAuthenticate in RNAQP
printf 'raw 0000000c a20a800100810100a202a100\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnasp decode <"$tmp/b.bin" | head -n 1 >"$tmp/b.txt"
rna-pdu -p rnaqp decode <"$tmp/b.bin" | head -n 1 >>"$tmp/b.txt"
printf 'pdu rnasp response notify\npdu rnaqp response authenticate\n' |
  cmp -s - "$tmp/b.txt"
ok $? "decode_same_octets_two_protocols"

# An unknown extension element is skipped, and said to be skipped.
printf 'raw 00000008 a106a004a1028500\n' | rna-pdu encode >"$tmp/b.bin"
rna-pdu -p rnaqp decode <"$tmp/b.bin" >"$tmp/b.txt"
ok $? "decode_extension_element_accepted"
printf 'pdu rnaqp command retrieve\n# unknown elements skipped: the text does not show every octet\nend\n' |
  cmp -s - "$tmp/b.txt"
ok $? "decode_extension_element_noted"
[ "$(rna-pdu encode <"$tmp/b.txt" | od -An -v -tx1 | tr -d ' \n')" = \
  "00000006a104a002a100" ]
ok $? "encode_ignores_comment_drops_extension"

# ---- hostile strings: escaped on output, read back to the same octets
for proto in rnasp rnaqp; do
  rna-pdu encode <"$dir/hostile-$proto.txt" >"$tmp/h.bin"
  ok $? "encode_hostile_strings $proto"
  rna-pdu -p "$proto" decode <"$tmp/h.bin" >"$tmp/h.txt"
  cmp -s "$tmp/h.txt" "$dir/hostile-$proto.txt"
  ok $? "hostile_strings_roundtrip_text $proto"
done
[ "$(hexof "$tmp/h.bin")" = "00000013a111a00fa00d80017881086122625c63c29b20" ]
ok $? "hostile_password_octets"
rna-pdu encode <"$dir/hostile-rnasp.txt" >"$tmp/h.bin"
case $(hexof "$tmp/h.bin") in
*800c6122625c63c28564e280ae65*) r=0 ;;
*) r=1 ;;
esac
ok $r "hostile_localpart_octets"
case $(hexof "$tmp/h.bin") in
*a117160673742e6f72651608657820616d706c6516036e6574*) r=0 ;;
*) r=1 ;;
esac
ok $r "escaped_dot_and_space_stay_inside_labels"
# no raw control octet, C1 or bidi control reaches the output
LC_ALL=C grep -c "$(printf '[\001-\037\177]')" "$tmp/h.txt" >/dev/null
[ $? -eq 1 ]
ok $? "decode_output_has_no_raw_controls"
rna-pdu -p rnasp decode <"$tmp/h.bin" | od -An -v -tx1 | tr -d ' \n' >"$tmp/h.hex"
! grep -qE 'c2(8|9)[0-9a-f]|e280ae' "$tmp/h.hex"
ok $? "decode_output_has_no_raw_c1_or_bidi"

# A non-canonical escape (\x41 for A, \xc3\xbc for u-umlaut) is accepted
# and decodes to the canonical text.
printf 'pdu rnaqp command authenticate\naccount "\\x41b"\npassword "J\\xc3\\xbc"\nend\n' |
  rna-pdu encode | rna-pdu -p rnaqp decode >"$tmp/c.txt"
printf 'pdu rnaqp command authenticate\naccount "Ab"\npassword "J\303\274"\nend\n' |
  cmp -s - "$tmp/c.txt"
ok $? "encode_accepts_noncanonical_escapes"

# ---- forms the vectors do not cover
roundtrip_text() {
  name=$1
  proto=$2
  rna-pdu encode >"$tmp/r.bin" <"$tmp/r.txt" &&
    rna-pdu -p "$proto" decode <"$tmp/r.bin" | cmp -s - "$tmp/r.txt"
  ok $? "$name"
}
printf 'pdu rnasp response notify\nforceabort true\nstatus 9 errorwouldexceedquota\nrejected\nend\n' >"$tmp/r.txt"
roundtrip_text "rejected_present_but_empty" rnasp
[ "$(hexof "$tmp/r.bin")" = "0000000ea20c8001ff810109a204a102a000" ]
ok $? "rejected_empty_octets"
printf 'pdu rnaqp response null\nforceabort false\nstatus 8 unknown\nend\n' >"$tmp/r.txt"
roundtrip_text "status_without_name_roundtrip" rnaqp
printf 'pdu rnasp response null\nforceabort false\nstatus 4294967295 unknown\nend\n' >"$tmp/r.txt"
roundtrip_text "status_largest_roundtrip" rnasp
printf 'pdu rnaqp response retrieve\nforceabort false\nstatus 0 noerror\nnotification\nstoreclear literal ::ffff:192.0.2.1 0\nstoreclear literal 10.0.0.1 65535\nstoreclear literal :: 1\nlocalpart "b"\ndomain x\nidentifier ffffffffffffffffffffffffffffffff\nsender ""\nsubmitter ::1 1\nsubmitter-domain a.b\ndate 0\nend\n' >"$tmp/r.txt"
roundtrip_text "literals_v4_v6_mapped_roundtrip" rnaqp
# a domain of exactly 253 octets written with dots, and 127 labels
{
  printf 'pdu rnaqp response retrieve\nforceabort false\nstatus 0 noerror\nnotification\nstoreclear domain '
  i=0
  while [ $i -lt 84 ]; do printf 'ab.'; i=$((i + 1)); done
  printf 'a\nlocalpart "b"\ndomain '
  i=0
  while [ $i -lt 126 ]; do printf 'x.'; i=$((i + 1)); done
  printf 'y\nidentifier ffffffffffffffffffffffffffffffff\nsender ""\nsubmitter 192.0.2.1 1\ndate 0\nend\n'
} >"$tmp/r.txt"
roundtrip_text "domain_limits_roundtrip" rnaqp

# Sixteen literals are allowed, a seventeenth is refused.
{
  printf 'pdu rnasp command notify\nnotification\n'
  i=0
  while [ $i -lt 16 ]; do
    printf 'storeclear literal 192.0.2.%d 1\n' $i
    i=$((i + 1))
  done
  printf 'localpart "a"\ndomain x\nidentifier 000102030405060708090a0b0c0d0e0f\nsender ""\nend\n'
} >"$tmp/r.txt"
roundtrip_text "sixteen_literals_roundtrip" rnasp
sed 's/^localpart/storeclear literal 192.0.2.99 1\nlocalpart/' "$tmp/r.txt" >"$tmp/r17.txt"
rna-pdu encode <"$tmp/r17.txt" >"$tmp/o.bin" 2>"$tmp/err"
[ $? -eq 100 ] && [ ! -s "$tmp/o.bin" ] &&
  grep -q '^rna-pdu: fatal: line 19: storeclear: more than 16 literals$' "$tmp/err"
ok $? "seventeenth_literal_refused"

# 1000 notifications encode; 1001 are refused by the decoder's limit.
notifs() {
  printf 'pdu rnasp command notify\n'
  i=0
  while [ "$i" -lt "$1" ]; do
    printf 'notification\nstoreclear domain s\nlocalpart "a"\ndomain x\nidentifier 000102030405060708090a0b0c0d0e0f\nsender ""\n'
    i=$((i + 1))
  done
  printf 'end\n'
}
notifs 1000 | rna-pdu encode | rna-pdu -p rnasp decode | grep -c '^notification$' >"$tmp/n"
[ "$(cat "$tmp/n")" -eq 1000 ]
ok $? "encode_1000_notifications"
notifs 1001 | rna-pdu encode >"$tmp/o.bin" 2>"$tmp/err"
[ $? -eq 100 ] && [ ! -s "$tmp/o.bin" ] &&
  grep -q '^rna-pdu: fatal: line 6008: the PDU breaks a rule' "$tmp/err"
ok $? "encode_1001_notifications_refused"

# ---- encode errors: message with line number, exit 100, nothing written
# for the bad PDU (an earlier good PDU is already out).
good='pdu rnaqp command retrieve\nend\n'
enc_err() {
  name=$1
  text=$2
  want=$3
  printf "$text" | rna-pdu encode >"$tmp/o.bin" 2>"$tmp/err"
  rc=$?
  [ "$rc" -eq 100 ] && [ "$(cat "$tmp/err")" = "rna-pdu: fatal: $want" ]
  r=$?
  [ "$r" -eq 0 ] || echo "# $name: exit $rc, stderr: $(cat "$tmp/err")"
  ok $r "encode_error_$name"
}
N='notification\nstoreclear domain s\nlocalpart "a"\ndomain x\nidentifier 000102030405060708090a0b0c0d0e0f\nsender ""\n'
enc_err unknown_key "${good}pdu rnaqp command retrieve\nbogus 1\nend\n" \
  "line 4: unknown key bogus here"
[ "$(hexof "$tmp/o.bin")" = "00000006a104a002a100" ]
ok $? "encode_error_keeps_earlier_pdus"
enc_err key_outside_pdu "# comment\n\nend\n" "line 3: end outside a PDU (want pdu or raw)"
enc_err unknown_protocol "pdu smtp command retrieve\nend\n" "line 1: pdu: unknown protocol smtp"
enc_err unknown_pdu "pdu rnasp command retrieve\nend\n" "line 1: pdu: rnasp has no command retrieve"
enc_err pdu_inside_pdu "pdu rnaqp command retrieve\npdu rnaqp command retrieve\nend\n" "line 2: pdu inside a PDU (no end line?)"
enc_err missing_end "pdu rnaqp command retrieve\n" "line 1: end of input inside a PDU (no end line)"
enc_err missing_status "pdu rnasp response null\nforceabort true\nend\n" "line 3: response without status"
enc_err missing_forceabort "pdu rnasp response null\nstatus 0\nend\n" "line 3: response without forceabort"
enc_err bad_bool "pdu rnasp response null\nforceabort yes\n" "line 2: forceabort: want true or false"
enc_err status_name_mismatch "pdu rnasp response null\nforceabort true\nstatus 7 errorauthenticationfailed\nend\n" \
  "line 3: status: 7 is unknown, not errorauthenticationfailed"
enc_err bad_number "pdu rnasp response null\nforceabort true\nstatus 1x\nend\n" \
  "line 3: status: not a decimal number from 0 to 4294967295"
enc_err status_overflow "pdu rnasp response null\nforceabort true\nstatus 4294967296\nend\n" \
  "line 3: status: not a decimal number from 0 to 4294967295"
enc_err twice "pdu rnasp response null\nforceabort true\nforceabort true\n" "line 3: forceabort given twice"
enc_err rejected_order "pdu rnasp response notify\nforceabort true\nstatus 9\nrejected 2 1\nend\n" \
  "line 4: rejected: positions must ascend"
enc_err rejected_in_null "pdu rnasp response null\nforceabort true\nstatus 9\nrejected 1\nend\n" \
  "line 4: unknown key rejected here"
enc_err missing_identifier "pdu rnasp command notify\nnotification\nstoreclear domain s\nlocalpart \"a\"\ndomain x\nsender \"\"\nend\n" \
  "line 2: notification without identifier"
enc_err missing_submitter "pdu rnaqp response retrieve\nforceabort false\nstatus 0\n${N}date 1\nend\n" \
  "line 4: notification without submitter"
enc_err submitter_in_rnasp "pdu rnasp command notify\n${N}submitter 192.0.2.1 25\nend\n" \
  "line 8: unknown key submitter here"
enc_err bad_hex_identifier "pdu rnasp command notify\nnotification\nidentifier 000102030405060708090a0b0c0d0e0g\n" \
  "line 3: identifier: want 32 hex digits"
enc_err short_identifier "pdu rnasp command notify\nnotification\nidentifier 0001\n" \
  "line 3: identifier: want 32 hex digits"
enc_err bad_escape "pdu rnaqp command authenticate\naccount \"a\\\\qb\"\n" \
  "line 2: account: bad escape or unescaped character in the string"
enc_err unquoted "pdu rnaqp command authenticate\naccount alice\n" \
  "line 2: account: the value must be one double-quoted string"
enc_err bare_quote "pdu rnaqp command authenticate\naccount \"a\"b\"\n" \
  "line 2: account: bad escape or unescaped character in the string"
enc_err bad_account "pdu rnaqp command authenticate\naccount \"a b\"\n" \
  "line 2: account: only letters, digits, '.', '_' and '-'"
enc_err empty_password "pdu rnaqp command authenticate\naccount \"a\"\npassword \"\"\n" \
  "line 3: password: must not be empty"
enc_err control_in_string "pdu rnaqp command authenticate\naccount \"a\"\npassword \"\\\\x1b[2J\"\n" \
  "line 3: password: not UTF-8, or holds a control character"
enc_err invalid_utf8 "pdu rnaqp command authenticate\naccount \"a\"\npassword \"\\\\xc3\"\n" \
  "line 3: password: not UTF-8, or holds a control character"
enc_err long_localpart "pdu rnasp command notify\nnotification\nlocalpart \"$(printf '%0256d' 0)\"\n" \
  "line 3: localpart: longer than 255 octets"
enc_err empty_label "pdu rnasp command notify\nnotification\ndomain a..b\n" \
  "line 3: domain: empty label in domain name"
enc_err long_label "pdu rnasp command notify\nnotification\ndomain $(printf '%064d' 0).b\n" \
  "line 3: domain: label longer than 63 octets"
enc_err long_domain "pdu rnasp command notify\nnotification\ndomain $(printf '%0250d' 0).abc\n" \
  "line 3: domain: label longer than 63 octets"
enc_err domain_text_limit "pdu rnasp command notify\nnotification\ndomain $(i=0; while [ $i -lt 84 ]; do printf 'ab.'; i=$((i+1)); done)ab\n" \
  "line 3: domain: domain name longer than 253 octets"
enc_err too_many_labels "pdu rnasp command notify\nnotification\ndomain $(i=0; while [ $i -lt 127 ]; do printf 'x.'; i=$((i+1)); done)y\n" \
  "line 3: domain: more than 127 labels"
enc_err bad_ipv4 "pdu rnasp command notify\nnotification\nstoreclear literal 192.0.2 25\n" \
  "line 3: storeclear: bad IPv4 address"
enc_err bad_ipv6 "pdu rnasp command notify\nnotification\nstoreclear literal 2001:db8:::1 25\n" \
  "line 3: storeclear: bad IPv6 address"
enc_err bad_port "pdu rnasp command notify\nnotification\nstoreclear literal 192.0.2.1 65536\n" \
  "line 3: storeclear: not a decimal number from 0 to 65535"
enc_err literal_after_domain "pdu rnasp command notify\nnotification\nstoreclear domain s\nstoreclear literal 192.0.2.1 1\n" \
  "line 4: storeclear: literal after domain"
enc_err leading_zero "pdu rnasp command notify\nnotification\nsize 01\n" \
  "line 3: size: not a decimal number from 0 to 18446744073709551615"
enc_err size_overflow "pdu rnasp command notify\nnotification\nsize 18446744073709551616\n" \
  "line 3: size: not a decimal number from 0 to 18446744073709551615"
enc_err trailing_text "pdu rnaqp command retrieve\nend now\n" "line 2: end: unexpected text after it"
enc_err raw_odd "raw 000\n" "line 1: raw: odd number of hex digits"
enc_err raw_not_hex "raw 00zz\n" "line 1: raw: not hex: 00zz"
enc_err raw_inside_pdu "pdu rnaqp command retrieve\nraw 00\n" "line 2: unknown key raw here"
enc_err escaped_in_message "pdu rnaqp command retrieve\n\033[31m 1\n" \
  "line 2: unknown key \\x1b[31m here"
printf 'pdu rnaqp command retrieve\nend\n' | rna-pdu -p rnasp encode >"$tmp/o.bin" 2>"$tmp/err"
[ $? -eq 100 ] && [ ! -s "$tmp/o.bin" ] &&
  [ "$(cat "$tmp/err")" = "rna-pdu: fatal: line 1: pdu: rnaqp, but -p says otherwise" ]
ok $? "encode_error_protocol_option"

# Blank lines, comments, indentation and CRLF are tolerated.
printf '\n# x\n  pdu rnaqp command retrieve \r\n\tend\r\n' | rna-pdu encode >"$tmp/o.bin"
[ "$(hexof "$tmp/o.bin")" = "00000006a104a002a100" ]
ok $? "encode_tolerates_blanks_comments_crlf"

# ---- usage and exit codes
rna-pdu 2>/dev/null
rc_is 100 $? "usage_no_command"
rna-pdu decode </dev/null 2>/dev/null
rc_is 100 $? "usage_decode_needs_protocol"
rna-pdu -p smtp encode </dev/null 2>/dev/null
rc_is 100 $? "usage_bad_protocol"
rna-pdu -m 0 encode </dev/null 2>/dev/null
rc_is 100 $? "usage_bad_limit"
rna-pdu -p rnasp print </dev/null 2>/dev/null
rc_is 100 $? "usage_unknown_command"
rna-pdu -p rnasp decode </dev/null
rc_is 0 $? "decode_empty_input"
rna-pdu encode </dev/null
rc_is 0 $? "encode_empty_input"
if [ -w /dev/full ]; then
  printf 'raw 00000006 a104a002a100\n' | rna-pdu encode >"$tmp/b.bin"
  rna-pdu -p rnaqp decode <"$tmp/b.bin" >/dev/full 2>/dev/null
  rc_is 111 $? "decode_write_error_exits_111"
  printf 'pdu rnaqp command retrieve\nend\n' >"$tmp/r.txt"
  rna-pdu encode <"$tmp/r.txt" >/dev/full 2>/dev/null
  rc_is 111 $? "encode_write_error_exits_111"
fi
rna-pdu -p rnaqp decode <"$dir" 2>/dev/null
rc_is 111 $? "decode_read_error_exits_111"
exit 0
