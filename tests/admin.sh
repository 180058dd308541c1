#!/bin/sh
# rna-admin and rna-clean: init, every subcommand against transcripts in
# tests/admin/*.out, every refusal with its exit code and message, failed
# edits leaving the text and cdb files as they were, passwords kept only
# as yescrypt hashes, and the real rna-store: reload on a compile, stats
# (text and JSON), expiry and compaction, exit 111 with no store.
# Run by tests/run.sh from the top with $BUILD/bin first on PATH.

BUILD=${BUILD:-build}
PATH="$(pwd)/$BUILD/bin:$PATH"
exp=tests/admin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rna-admin.XXXXXX") || exit 111
d=$tmp/agent
spid=
stop_store() {
  if [ -n "$spid" ]; then
    kill "$spid" 2>/dev/null
    wait "$spid"
    src=$?
    spid=
    return $src
  fi
  return 0
}
trap 'stop_store; rm -rf "$tmp"' EXIT
unset RNA_DIR

ok() {
  if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

# rc_is WANT RC NAME
rc_is() {
  [ "$2" -eq "$1" ]
  r=$?
  [ "$r" -eq 0 ] || echo "# $3: exit $2, wanted $1"
  ok $r "$3"
}

# refused WANTRC 'MESSAGE' NAME -- ARGS...: rna-admin -d $d ARGS exits
# WANTRC with exactly "rna-admin: fatal: MESSAGE" on stderr, nothing on
# stdout.
refused() {
  want=$1
  msg=$2
  name=$3
  shift 4
  rna-admin -d "$d" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  rc_is "$want" $rc "$name exits $want"
  got=$(cat "$tmp/err")
  [ "$got" = "rna-admin: fatal: $msg" ] && [ ! -s "$tmp/out" ]
  r=$?
  [ $r -eq 0 ] || echo "# $name: stderr '$got'"
  ok $r "$name message"
}

# transcript NAME -- ARGS...: stdout of rna-admin -d $d ARGS equals
# tests/admin/NAME.out, exit 0, stderr empty.
transcript() {
  name=$1
  shift 2
  rna-admin -d "$d" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/out" "$exp/$name.out"
  r=$?
  if [ $r -ne 0 ]; then
    echo "# $name: exit $rc"
    diff "$exp/$name.out" "$tmp/out" | sed 's/^/# /'
    sed 's/^/# stderr: /' "$tmp/err"
  fi
  ok $r "transcript $name"
}

sums() {
  cksum "$d"/config/* | sed "s|$d/||"
}

# ---- init
rna-admin -d "$d" init >"$tmp/out" 2>"$tmp/err"
rc_is 0 $? "init_exits_0"
[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]
ok $? "init_is_silent"
for f in domains accounts passwords mailboxes filters settings store.cdb auth.cdb; do
  [ -f "$d/config/$f" ]
  ok $? "init_creates config/$f"
done
[ -d "$d/store" ] && [ "$(stat -c %a "$d/store")" = 750 ]
ok $? "init_creates_store_dir_0750"
[ "$(stat -c %a "$d/config/passwords")" = 600 ]
ok $? "passwords_mode_0600"
[ "$(stat -c %a "$d/config/auth.cdb")" = 640 ]
ok $? "auth_cdb_mode_0640"
[ "$(stat -c %a "$d/config/store.cdb")" = 644 ]
ok $? "store_cdb_mode_0644"
cdb -d "$d/config/store.cdb" | tr '\0' '|' >"$tmp/cdb"
cmp -s "$tmp/cdb" "$exp/init-store-cdb.out"
ok $? "init_store_cdb_holds_the_default_settings"
grep -q '^# ' "$d/config/mailboxes" && grep -q '^expire 2592000$' "$d/config/settings"
ok $? "init_texts_have_comment_headers_and_defaults"
transcript get-defaults -- get
refused 100 "$d/config is not empty; init -f keeps its files and adds what is missing" \
  init_refuses_nonempty_config -- init
rm "$d/config/filters"
echo "example.net" >>"$d/config/domains"
rna-admin -d "$d" init -f
rc_is 0 $? "init_f_exits_0"
[ -f "$d/config/filters" ] && grep -q '^example.net$' "$d/config/domains"
ok $? "init_f_adds_missing_files_and_keeps_the_others"
rna-admin -d "$d" domain del example.net
ok $? "domain_del"

# ---- usage
rna-admin domain list >/dev/null 2>"$tmp/err"
rc_is 100 $? "no_dir_is_usage_error"
grep -q '^rna-admin: fatal: usage: ' "$tmp/err"
ok $? "usage_message"
RNA_DIR=$d rna-admin domain list >/dev/null
rc_is 0 $? "rna_dir_from_environment"
rna-admin -d "$d" frobnicate >/dev/null 2>&1
rc_is 100 $? "unknown_command_is_usage_error"
rna-admin -d "$tmp/none" domain list >/dev/null 2>"$tmp/err"
rc_is 100 $? "not_an_agent_directory_exits_100"
[ "$(cat "$tmp/err")" = "rna-admin: fatal: $tmp/none: not an agent directory (no config/; see rna-admin init)" ]
ok $? "not_an_agent_directory_message"

# ---- domains
rna-admin -d "$d" domain add example.org && rna-admin -d "$d" domain add Example.COM &&
  rna-admin -d "$d" domain add sub.example.org
ok $? "domain_add"
transcript domain-list -- domain list
refused 100 "domain 'example.org' exists" domain_add_duplicate -- domain add EXAMPLE.org
refused 100 "config/domains:7: invalid domain 'bad..example'" domain_add_invalid -- domain add bad..example
refused 100 "invalid domain: contains a blank" domain_add_blank -- domain add "a.org b.org"
refused 100 "no such domain 'nowhere.example'" domain_del_unknown -- domain del nowhere.example

# ---- accounts and passwords
echo 'correct horse' | rna-admin -d "$d" account add alice quota=50
ok $? "account_add_password_from_stdin"
printf 'battery staple\n' >"$tmp/pw"
rna-admin -d "$d" account add sales policy=oldest --fd 3 3<"$tmp/pw" </dev/null
ok $? "account_add_password_from_fd"
printf 'no newline at all' | rna-admin -d "$d" account add bob
ok $? "account_add_password_without_newline"
printf 'x\n' | rna-admin -d "$d" account add carol.c_d-1
ok $? "account_add_dots_underscores_dashes"
transcript account-list -- account list
refused 100 "account 'alice' exists" account_add_duplicate -- account add alice
refused 100 "empty password refused" account_add_empty_password -- account add dave
refused 100 "invalid account name 'bad/name'" account_add_bad_name -- account add bad/name
long=$(printf '%065d' 0)
refused 100 "invalid account name '$long'" account_add_name_too_long -- account add "$long"
refused 100 "invalid quota 'lots'" account_add_bad_quota -- account add erin quota=lots
refused 100 "unknown account 'zed'" account_passwd_unknown -- account passwd zed
head -c 1100 /dev/zero | tr '\0' x >"$tmp/longpw"
rna-admin -d "$d" account add frank <"$tmp/longpw" 2>"$tmp/err"
rc_is 100 $? "password_too_long_refused"
grep -q 'password longer than 1024 octets' "$tmp/err"
ok $? "password_too_long_message"
# the password is nowhere but as a hash
! grep -rq -e 'correct horse' -e 'battery staple' -e 'no newline' "$d"
ok $? "password_not_stored_in_clear"
[ "$(grep -c '^[a-z][^ ]* \$y\$' "$d/config/passwords")" -eq 4 ]
ok $? "passwords_are_yescrypt_hashes"
cdb -d "$d/config/auth.cdb" | grep -q '^+5,[0-9]*:alice->\$y\$'
ok $? "auth_cdb_holds_the_hash"
if command -v perl >/dev/null; then
  h=$(grep '^alice ' "$d/config/passwords" | cut -d' ' -f2)
  [ "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' 'correct horse' "$h")" = "$h" ]
  ok $? "hash_verifies_the_password"
  h1=$(grep '^sales ' "$d/config/passwords" | cut -d' ' -f2)
  echo 'new secret' | rna-admin -d "$d" account passwd sales
  ok $? "account_passwd"
  h2=$(grep '^sales ' "$d/config/passwords" | cut -d' ' -f2)
  [ "$h1" != "$h2" ] && [ "$(perl -e 'print crypt($ARGV[0], $ARGV[1])' 'new secret' "$h2")" = "$h2" ]
  ok $? "account_passwd_replaces_the_hash"
fi
[ "$(stat -c %a "$d/config/passwords")" = 600 ]
ok $? "passwords_stay_0600_after_edits"

# ---- mailboxes
rna-admin -d "$d" mailbox add alice@example.org alice &&
  rna-admin -d "$d" mailbox add alice@Example.COM alice &&
  rna-admin -d "$d" mailbox add sales-@example.org sales &&
  rna-admin -d "$d" mailbox add sales-eu-@example.org carol.c_d-1 &&
  rna-admin -d "$d" mailbox add Bob@example.org bob
ok $? "mailbox_add"
transcript mailbox-list -- mailbox list
transcript mailbox-list-account -- mailbox list alice
refused 100 "mailbox 'alice@example.org' exists" mailbox_add_duplicate -- mailbox add alice@EXAMPLE.ORG bob
refused 100 "config/mailboxes:13: unknown account 'nobody'" mailbox_add_unknown_account -- \
  mailbox add x@example.org nobody
refused 100 "config/mailboxes:13: domain 'elsewhere.example' is not served (config/domains)" \
  mailbox_add_missing_domain -- mailbox add x@elsewhere.example alice
refused 100 "invalid mailbox 'nodomain' (LOCAL@DOMAIN)" mailbox_add_no_at -- mailbox add nodomain alice
refused 100 "invalid account name 'a b'" mailbox_add_bad_account -- mailbox add x@example.org "a b"
refused 100 "no such mailbox 'nobody@example.org'" mailbox_del_unknown -- mailbox del nobody@example.org
rna-admin -d "$d" mailbox add tmp@example.org bob && rna-admin -d "$d" mailbox del tmp@example.org
ok $? "mailbox_del"
refused 100 "config/mailboxes:10: unknown account 'sales'" account_del_with_mailboxes_refused -- \
  account del sales
refused 100 "config/mailboxes:9: domain 'example.com' is not served (config/domains)" \
  domain_del_with_mailboxes_refused -- domain del example.com

# ---- filters
rna-admin -d "$d" filter add submitter 192.0.2.0/24 &&
  rna-admin -d "$d" filter add store .bad.example &&
  rna-admin -d "$d" filter add -a alice sender @spam.example &&
  rna-admin -d "$d" filter add -a alice size 100000 &&
  rna-admin -d "$d" filter add -a bob submitter 2001:db8::/32
ok $? "filter_add"
transcript filter-list -- filter list
transcript filter-list-account -- filter list -a alice
refused 100 "filter 'store .bad.example' exists" filter_add_duplicate -- filter add store .bad.example
refused 100 "config/filters:11: invalid filter 'size huge'" filter_add_bad_size -- filter add size huge
refused 100 "config/filters:11: invalid filter 'submitter 192.0.2.0/33'" filter_add_bad_prefix -- \
  filter add submitter 192.0.2.0/33
refused 100 "config/filters:11: invalid filter 'colour red'" filter_add_bad_kind -- filter add colour red
refused 100 "config/filters:11: invalid store domain '.bad..example'" filter_add_bad_store -- \
  filter add store .bad..example
refused 100 "config/filters:11: unknown account 'nobody'" filter_add_unknown_account -- \
  filter add -a nobody size 5
refused 100 "no such filter 'size 5'" filter_del_unknown -- filter del size 5
rna-admin -d "$d" filter add -a bob size 5 && rna-admin -d "$d" filter del -a bob size 5
ok $? "filter_del"

# ---- settings
rna-admin -d "$d" set quota-total 5000 && rna-admin -d "$d" set expire 7d &&
  rna-admin -d "$d" set policy-total oldest && rna-admin -d "$d" set sync 0 &&
  rna-admin -d "$d" set -a alice policy oldest && rna-admin -d "$d" set -a bob quota 7
ok $? "set"
transcript get-all -- get
transcript get-one -- get expire
transcript get-account -- get -a bob
transcript get-account-inherits -- get -a sales quota
rna-admin -d "$d" set sync default && rna-admin -d "$d" set -a alice quota default
ok $? "set_default_removes_the_override"
! grep -q '^sync' "$d/config/settings" && grep -q '^alice policy=oldest$' "$d/config/accounts"
ok $? "set_default_edits_the_texts"
refused 100 "invalid value for quota-total" set_bad_number -- set quota-total 12x
refused 100 "invalid value for quota-total" set_number_overflow -- set quota-total 18446744073709551616
refused 100 "invalid value for sync" set_bad_sync -- set sync 2
refused 100 "invalid value for expire" set_bad_age -- set expire 3w
refused 100 "unknown setting (quota-total, quota-account, policy-total, policy-account, expire, sync)" \
  set_unknown -- set colour red
refused 100 "invalid value for policy (none, oldest or default)" set_account_bad_policy -- \
  set -a alice policy newest
refused 100 "unknown account 'nobody'" set_account_unknown -- set -a nobody quota 1
refused 100 "unknown setting 'colour'" get_unknown -- get colour
transcript account-list-after -- account list
cdb -d "$d/config/store.cdb" | tr '\0' '|' >"$tmp/cdb"
cmp -s "$tmp/cdb" "$exp/store-cdb.out"
r=$?
[ $r -eq 0 ] || diff "$exp/store-cdb.out" "$tmp/cdb" | sed 's/^/# /'
ok $r "store_cdb_transcript"

# ---- hand edits: compile names file, line and reason; nothing changes
sums >"$tmp/sums.before"
cp "$d/config/mailboxes" "$tmp/mailboxes.good"
# handbroken FILE 'LINE' 'MESSAGE' NAME
handbroken() {
  cp "$d/config/$1" "$tmp/saved"
  printf '%s\n' "$2" >>"$d/config/$1"
  n=$(wc -l <"$d/config/$1")
  cp "$d/config/$1" "$tmp/edited"
  refused 100 "config/$1:$n: $3" "compile_$4" -- compile
  cmp -s "$d/config/$1" "$tmp/edited"
  ok $? "compile_$4 leaves the text alone"
  cp "$tmp/saved" "$d/config/$1"
}
handbroken mailboxes 'carol@example.org bob extra' 'expected LOCAL@DOMAIN ACCOUNT' mailbox_fields
handbroken mailboxes 'carol@example.org nobody' "unknown account 'nobody'" unknown_account
handbroken mailboxes 'alice@EXAMPLE.org bob' "duplicate mailbox 'alice@example.org' (also on line 8)" duplicate_mailbox
handbroken mailboxes 'x@missing.example bob' "domain 'missing.example' is not served (config/domains)" missing_domain
handbroken domains 'EXAMPLE.ORG' "duplicate domain 'example.org' (also on line 4)" duplicate_domain
lab=$(printf '%064d' 0)
handbroken domains "$lab.example" "invalid domain '$lab.example'" bad_domain
handbroken accounts 'bob' "duplicate account 'bob' (also on line 8)" duplicate_account
handbroken accounts 'bad!name' "invalid account name 'bad!name'" bad_account_name
handbroken accounts 'erin quota=-1' "invalid quota '-1'" bad_account_quota
handbroken accounts 'erin colour=red' "unknown account setting 'colour=red'" bad_account_setting
handbroken passwords 'nobody $y$j9T$abc$def' "unknown account 'nobody'" password_unknown_account
handbroken passwords 'carol.c_d-1 plaintext' "the hash of 'carol.c_d-1' is not in crypt(3) form" password_not_hashed
handbroken filters 'alice size 1x' "invalid filter 'size 1x'" bad_filter
handbroken filters '* store .bad.example' "duplicate filter 'store .bad.example' (also on line 7)" duplicate_filter
handbroken settings 'quota-total 1' "duplicate setting 'quota-total' (also on line 6)" duplicate_setting
handbroken settings 'sync 1x' "invalid value '1x' for sync" bad_number
handbroken settings 'colour red' "unknown setting 'colour'" unknown_setting
handbroken settings "$(printf 'sync 1\r')" "control octet or invalid UTF-8" carriage_return
handbroken settings "$(printf 'sync\0301')" "control octet or invalid UTF-8" invalid_utf8
sums >"$tmp/sums.after"
cmp -s "$tmp/sums.before" "$tmp/sums.after"
ok $? "failed_compiles_leave_every_file_in_force"
# a refused CLI edit changes nothing either
refused 100 "config/mailboxes:13: unknown account 'ghost'" failed_edit -- mailbox add g@example.org ghost
sums >"$tmp/sums.after"
cmp -s "$tmp/sums.before" "$tmp/sums.after"
ok $? "failed_edit_leaves_text_and_cdb_files_in_force"
ls "$d/config" | grep -v -e '^domains$' -e '^accounts$' -e '^passwords$' -e '^mailboxes$' \
  -e '^filters$' -e '^settings$' -e '^store.cdb$' -e '^auth.cdb$' >"$tmp/stray"
[ ! -s "$tmp/stray" ]
ok $? "no_temporaries_left_behind"
# comments and blank lines are kept by edits
printf '\n# hand comment\n' >>"$d/config/domains"
rna-admin -d "$d" domain add late.example && grep -q '^# hand comment$' "$d/config/domains"
ok $? "edits_keep_comments"
rna-admin -d "$d" domain del late.example
cp "$d/config/mailboxes" "$tmp/m"
printf 'late@example.org alice\n' >>"$d/config/mailboxes"
rna-admin -d "$d" compile
ok $? "compile_after_hand_edit"
cdb -d "$d/config/store.cdb" | tr '\0' '|' | grep -q 'mbox:example.org|late->alice'
ok $? "compile_puts_hand_edit_in_force"
cp "$tmp/m" "$d/config/mailboxes"
rna-admin -d "$d" compile

# ---- no store running
refused 111 "unable to reach the store at $d/store/socket: No such file or directory" \
  stats_without_store -- stats
rna-clean "$d" >"$tmp/out" 2>"$tmp/err"
rc_is 111 $? "rna_clean_without_store_exits_111"
[ "$(cat "$tmp/err")" = "rna-clean: fatal: unable to reach the store at $d/store/socket: No such file or directory" ]
ok $? "rna_clean_without_store_message"
rna-clean -a 3w "$d" >/dev/null 2>"$tmp/err"
rc_is 100 $? "rna_clean_bad_age_exits_100"
rna-clean >/dev/null 2>&1
rc_is 100 $? "rna_clean_usage_exits_100"

# ---- with the real store

# logged 'PATTERN' [MIN]: the store's log holds MIN (default 1) lines
# matching PATTERN. The store writes its log lines in batches, a few
# milliseconds after the answers (rna-store(8)), so wait for them: up to
# 10 s, which only a failure ever takes.
logged() {
  i=0
  while [ "$(grep -c -- "$1" "$d/store.log")" -lt "${2:-1}" ]; do
    [ $i -lt 200 ] || return 1
    sleep 0.05
    i=$((i + 1))
  done
}
rna-store "$d" 2>"$d/store.log" &
spid=$!
i=0
while ! rna-admin -d "$d" stats >/dev/null 2>&1 && [ $i -lt 200 ]; do
  sleep 0.05
  i=$((i + 1))
done
[ $i -lt 200 ]
ok $? "store_starts"
rna-admin -d "$d" stats >"$tmp/out"
ok $? "stats_exits_0"
# the store's own order, global counters first; every key once
[ "$(head -n 1 "$tmp/out")" = "$(printf 'held\t0')" ] &&
  grep -q "$(printf '^journal_generation\t[0-9]')" "$tmp/out" &&
  [ -z "$(cut -f1 "$tmp/out" | sort | uniq -d)" ]
ok $? "stats_prints_key_tab_value_lines"
! grep -qv "$(printf '^[a-z_0-9]*\t[0-9][0-9]*$')" "$tmp/out"
ok $? "stats_lines_are_key_tab_number"
grep -q "$(printf '^config\t1$')" "$tmp/out"
ok $? "store_loaded_the_compiled_config"
rna-admin -d "$d" stats --json >"$tmp/json"
[ "$(wc -l <"$tmp/json")" -eq 1 ] && grep -q '^{"held":0,"pending":0,.*"config":1,"rss_bytes":[0-9]*}$' "$tmp/json"
ok $? "stats_json_one_object"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["config"]==1 else 1)' <"$tmp/json"
  ok $? "stats_json_parses"
fi
transcript stats-account -- stats alice
transcript stats-account-json -- stats --json alice
transcript stats-accounts -- stats --accounts
transcript stats-accounts-json -- stats --accounts --json
refused 100 "invalid account name 'no/such'" stats_bad_account -- stats no/such
# a compile reaches the running store at once (reload request)
rna-admin -d "$d" set quota-total 4242
ok $? "set_with_store_running"
logged 'config loaded (reload request) quota_total=4242 '
ok $? "store_reloads_after_compile"
rna-admin -d "$d" mailbox add late@example.org alice >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]
ok $? "edit_with_store_running_is_silent"
logged 'config loaded (reload request)' 2
ok $? "store_reloads_after_every_compile"
# rna-clean: expire (configured age, then -a) and compact
g0=$(rna-admin -d "$d" stats | grep "$(printf '^journal_generation\t')" | cut -f2)
rna-clean "$d" >"$tmp/out" 2>"$tmp/err"
rc_is 0 $? "rna_clean_exits_0"
printf 'expired\t0\ncompacted\theld=0\tgeneration=%s\n' $((g0 + 1)) | cmp -s - "$tmp/out"
ok $? "rna_clean_prints_what_it_did"
logged 'expire age=604800 expired=0'
ok $? "rna_clean_uses_the_configured_age"
rna-clean -a 2h "$d" >"$tmp/out"
ok $? "rna_clean_with_age"
logged 'expire age=7200 expired=0'
ok $? "rna_clean_sends_the_age"
g2=$(rna-admin -d "$d" stats | grep "$(printf '^journal_generation\t')" | cut -f2)
[ "$g2" -eq $((g0 + 2)) ]
ok $? "rna_clean_compacts (generation $g0 -> $g2)"
rna-clean "$d" -a 90 >/dev/null && logged 'expire age=90 expired=0'
ok $? "rna_clean_option_after_dir"
stop_store
ok $? "store_stops_cleanly"
refused 111 "unable to reach the store at $d/store/socket: No such file or directory" \
  stats_after_store_stopped -- stats --json
rna-admin -d "$d" set quota-total 4343 2>"$tmp/err"
[ $? -eq 0 ] && [ ! -s "$tmp/err" ]
ok $? "compile_without_store_is_silent"
