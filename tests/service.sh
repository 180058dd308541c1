#!/bin/sh
# rna-conf and the daemontools service tree it makes: every refusal with
# its exit code, the files and modes it writes, then a real svscan on the
# generated tree in a temporary directory: the store, both tcpserver
# listeners and the cleaner come up, a notification submitted over RNASP
# comes back over RNAQP, multilog writes each log/main/current, and
# everything stops cleanly (svc -dx, svscan killed by PID, no supervise
# left). Also make install into a DESTDIR.
# Run by tests/run.sh from the top with $BUILD/bin first on PATH.

BUILD=${BUILD:-build}
top=$(pwd)
PATH="$top/$BUILD/bin:$PATH"
. tools/common.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rna-service.XXXXXX") || exit 111
d=$tmp/agent
sv=$tmp/service
me=$(id -un)
svpid=

ok() {
  if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

rc_is() {
  [ "$2" -eq "$1" ]
  r=$?
  [ "$r" -eq 0 ] || echo "# $3: exit $2, wanted $1"
  ok $r "$3"
}

# our processes: anything whose working directory is under $tmp
ours() {
  for c in /proc/[0-9]*/cwd; do
    case "$(readlink "$c" 2>/dev/null)" in "$tmp"/*) echo "${c%/cwd}" ;; esac
  done
}

none_supervised() {
  for s in "$sv"/*/ "$sv"/*/log/; do
    [ -d "$s/supervise" ] && svok "$s" && return 1
  done
  return 0
}

stopped=
stop_all() {
  [ -z "$stopped" ] || return 0
  stopped=1
  # svscan first, so that it starts nothing again; then each service
  # and, once its output is closed, its log
  if [ -n "$svpid" ]; then
    kill "$svpid" 2>/dev/null
    wait "$svpid" 2>/dev/null
    svpid=
  fi
  [ -d "$sv" ] || return 0
  for s in "$sv"/*/; do [ -d "$s/supervise" ] && svc -dx "$s"; done
  for s in "$sv"/*/; do [ -d "$s/supervise" ] && wait_for 10 svok_not "$s"; done
  for s in "$sv"/*/log/; do [ -d "$s/supervise" ] && svc -dx "$s"; done
  wait_for 10 none_supervised
}

svok_not() { ! svok "$1"; }

trap 'stop_all; rm -rf "$tmp"' EXIT

rna-admin -d "$d" init && rna-admin -d "$d" domain add example.org &&
  echo 'svc pass' | rna-admin -d "$d" account add bob &&
  rna-admin -d "$d" mailbox add bob@example.org bob
ok $? "agent_configured"

sp=$(free_port)
qp=$(free_port "$sp")

# ---- refusals: exit code, one message, nothing created
refused() {
  want=$1
  name=$2
  shift 2
  rna-conf "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  rc_is "$want" $rc "$name"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^rna-conf: fatal: ' "$tmp/err" &&
    [ ! -s "$tmp/out" ] && [ ! -e "$tmp/x/rnasp" ]
  ok $? "$name: one fatal line, nothing created"
}
refused 100 conf_usage_with_too_few_arguments "$d" "$tmp/x" "$me" "$me" 127.0.0.1:$sp
refused 100 conf_not_an_agent_directory "$tmp" "$tmp/x" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp
refused 111 conf_unknown_account "$d" "$tmp/x" no-such-user-rna "$me" 127.0.0.1:$sp 127.0.0.1:$qp
refused 111 conf_unknown_log_account "$d" "$tmp/x" "$me" no-such-user-rna 127.0.0.1:$sp 127.0.0.1:$qp
refused 100 conf_rnasp_maxconn_below_2 -s 1 "$d" "$tmp/x" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp
refused 100 conf_rnaqp_maxconn_below_5 -q 4 "$d" "$tmp/x" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp
refused 100 conf_same_address_for_both "$d" "$tmp/x" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$sp
refused 100 conf_bad_address "$d" "$tmp/x" "$me" "$me" 127.0.0.300:$sp 127.0.0.1:$qp
refused 100 conf_bad_port "$d" "$tmp/x" "$me" "$me" 127.0.0.1:65536 127.0.0.1:$qp
refused 100 conf_shell_characters_in_path "$d" "$tmp/x;touch \$HOME/owned" "$me" "$me" \
  127.0.0.1:$sp 127.0.0.1:$qp
refused 100 conf_bad_clean_interval "$d" "$tmp/x" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp \
  --clean-every soon

# ---- the tree
rna-conf -q 5 "$d" "$sv" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp --clean-every 3600 \
  >"$tmp/out" 2>"$tmp/err"
rc_is 0 $? "conf_exits_0"
[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]
ok $? "conf_is_silent"
r=0
for s in rna-store rnasp rnaqp rna-clean; do
  for f in run log/run; do
    [ -f "$sv/$s/$f" ] && [ "$(stat -c %a "$sv/$s/$f")" = 755 ] || { r=1; echo "# $s/$f"; }
  done
  [ -d "$sv/$s/env" ] && [ -d "$sv/$s/log/main" ] || r=1
  head -n 2 "$sv/$s/log/run" | grep -qx "exec setuidgid $me multilog t ./main" || r=1
done
ok $r "conf_makes_four_services_with_run_env_and_log"
grep -qx 'exec 2>&1' "$sv/rnasp/run" && grep -q "envdir ./env envuidgid $me sh -c" "$sv/rnasp/run" &&
  grep -q "tcpserver -v -U -HRl0 -c \"\$MAXCONN\" -x rules.cdb \"\$IP\" \"\$PORT\"" "$sv/rnasp/run" &&
  grep -q "$top/$BUILD/bin/rnasp-d $d\$" "$sv/rnasp/run" &&
  grep -q "$top/$BUILD/bin/rnaqp-d $d\$" "$sv/rnaqp/run" &&
  grep -qx "exec envdir ./env setuidgid $me $top/$BUILD/bin/rna-store $d" "$sv/rna-store/run"
ok $? "run_scripts_join_stderr_drop_privileges_and_name_programs_absolutely"
[ "$(cat "$sv/rnasp/env/IP") $(cat "$sv/rnasp/env/PORT") $(cat "$sv/rnasp/env/MAXCONN")" = "127.0.0.1 $sp 40" ] &&
  [ "$(cat "$sv/rnaqp/env/IP") $(cat "$sv/rnaqp/env/PORT") $(cat "$sv/rnaqp/env/MAXCONN")" = "127.0.0.1 $qp 5" ] &&
  [ "$(cat "$sv/rna-clean/env/INTERVAL")" = 3600 ]
ok $? "env_holds_address_port_and_concurrency_limit"
[ -s "$sv/rnasp/rules.cdb" ] && [ -s "$sv/rnaqp/rules.cdb" ] && grep -qx ':allow' "$sv/rnasp/rules" &&
  cdb -d "$sv/rnasp/rules.cdb" | grep -q '^+0,'
ok $? "rules_compiled_with_tcprules"
[ "$(stat -c %U "$d/store") $(stat -c %U "$d/config/auth.cdb")" = "$me $me" ]
ok $? "agent_files_belong_to_the_service_account"
rna-conf "$d" "$sv" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp >/dev/null 2>"$tmp/err"
rc_is 100 $? "conf_refuses_existing_service_directories"
grep -q "rnasp exists\|rna-store exists" "$tmp/err"
ok $? "conf_names_the_existing_directory"

# the listener's own guard against a hand-edited env/MAXCONN
mkdir -p "$tmp/g" && cp "$sv/rnasp/run" "$tmp/g/run" && mkdir -p "$tmp/g/env" &&
  cp "$sv/rnasp/env/"* "$tmp/g/env/" && echo 1 >"$tmp/g/env/MAXCONN"
(cd "$tmp/g" && sed 's/sleep 10/sleep 0/' run >run2 && sh ./run2 >out 2>&1)
rc_is 100 $? "run_refuses_maxconn_below_the_minimum"
grep -q 'rnasp: fatal: env/MAXCONN must be a number of at least 2' "$tmp/g/out"
ok $? "run_says_why"

# ---- a real svscan
svscan "$sv" >"$tmp/svscan.out" 2>&1 &
svpid=$!
wait_for 20 test -S "$d/store/socket"
ok $? "svscan_starts_the_store"
wait_for 20 listening "$sp"
ok $? "svscan_starts_the_rnasp_listener"
wait_for 20 listening "$qp"
ok $? "svscan_starts_the_rnaqp_listener"

mkdir -p "$tmp/ports" && echo "$sp" >"$tmp/ports/rnasp.port" && echo "$qp" >"$tmp/ports/rnaqp.port"
DEMO=$tmp/ports sh tools/demo.sh notify bob@example.org >"$tmp/n.out" 2>&1
ok $? "notification_submitted_over_rnasp"
id=$(sed -n 's/^> identifier //p' "$tmp/n.out")
DEMO=$tmp/ports sh tools/demo.sh retrieve bob 'svc pass' >"$tmp/r.out" 2>&1
ok $? "retrieved_over_rnaqp"
[ -n "$id" ] && grep -qx "identifier $id" "$tmp/r.out" && grep -qx 'localpart "bob"' "$tmp/r.out"
ok $? "the_notification_came_back"
DEMO=$tmp/ports sh tools/demo.sh retrieve bob 'svc pass' >"$tmp/r2.out" 2>&1 &&
  ! grep -q '^notification' "$tmp/r2.out"
ok $? "and_was_cleared"

wait_for 10 grep -q 'command=notify .*accepted=1' "$sv/rnasp/log/main/current"
ok $? "multilog_writes_rnasp_log"
wait_for 10 grep -q 'command=retrieve account=bob returned=1 clear=committed' "$sv/rnaqp/log/main/current"
ok $? "multilog_writes_rnaqp_log"
wait_for 10 grep -q 'rna-store: info: started' "$sv/rna-store/log/main/current"
ok $? "multilog_writes_store_log"
wait_for 20 grep -q '^@[0-9a-f]\{24\} compacted' "$sv/rna-clean/log/main/current"
ok $? "cleaner_runs_and_logs"
grep -q '^@[0-9a-f]\{24\} tcpserver: status: 0/5$' "$sv/rnaqp/log/main/current"
ok $? "rnaqp_concurrency_limit_from_env"

# ---- stop cleanly
stop_all
none_supervised
ok $? "svc_dx_stops_every_supervise"
sleep 0.2
[ -z "$(ours)" ]
r=$?
[ $r -eq 0 ] || ours | sed 's/^/# left: /'
ok $r "nothing_left_running"
! listening "$sp" && ! listening "$qp"
ok $? "listeners_closed"

# ---- make install
make -s install DESTDIR="$tmp/inst" PREFIX=/usr BUILD="$BUILD" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 5 "$tmp/out" | sed 's/^/# make: /'
rc_is 0 $rc "make_install_exits_0"
[ -x "$tmp/inst/usr/bin/rna-conf" ] && [ -x "$tmp/inst/usr/bin/rna-store" ] &&
  [ -f "$tmp/inst/usr/share/man/man1/rna-pdu.1" ] && [ -f "$tmp/inst/usr/share/man/man8/rna-conf.8" ]
ok $? "make_install_puts_programs_and_man_pages"
"$tmp/inst/usr/bin/rna-conf" "$d" "$tmp/sv2" "$me" "$me" 127.0.0.1:$sp 127.0.0.1:$qp &&
  grep -q "$tmp/inst/usr/bin/rnasp-d" "$tmp/sv2/rnasp/run"
ok $? "installed_rna_conf_points_run_scripts_at_its_own_directory"
