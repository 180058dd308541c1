#!/bin/sh
# make run and make stop as a new user would use them, without a
# terminal: the demo starts in the background and make returns, the
# commands it prints submit a notification and retrieve it, a second make
# run replaces the first, make stop ends it. RNA_NO_APT=1 keeps package
# installation out of it (a missing package makes run fail instead,
# which is tested too). The demo goes to a temporary DEMO directory, so a
# demo of your own in demo/ is left alone.
# Run by tests/run.sh from the top.

BUILD=${BUILD:-build}
. tools/common.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rna-demo.XXXXXX") || exit 111
demo=$tmp/demo
export RNA_NO_APT=1
trap 'make -s stop DEMO="$demo" >/dev/null 2>&1; rm -rf "$tmp"' EXIT

ok() {
  if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

alive() {
  for p in $1; do kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && return 0; done
  return 1
}

# make run returns (timeout guards a run that would not), leaves the agent
timeout 120 make -s run DEMO="$demo" BUILD="$BUILD" >"$tmp/run.out" 2>"$tmp/run.err" </dev/null
ok $? "make_run_returns_0"
sed 's/^/# /' "$tmp/run.err"
sp=$(sed -n 's/^  RNASP  127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/run.out")
qp=$(sed -n 's/^  RNAQP  127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/run.out")
[ -n "$sp" ] && [ -n "$qp" ] && [ "$sp" != "$qp" ]
ok $? "make_run_prints_two_ports"
listening "$sp" && listening "$qp"
ok $? "both_listeners_run_after_make_returns"
pids1=$(cat "$demo/pids")
[ "$(echo "$pids1" | wc -l)" -eq 3 ] && alive "$pids1"
ok $? "pids_recorded"

# the two commands exactly as printed
notify=$(grep -A1 '^Submit a notification' "$tmp/run.out" | sed -n '2s/^  //p')
retrieve=$(grep -A1 '^Retrieve' "$tmp/run.out" | sed -n '2s/^  //p')
[ -n "$notify" ] && [ -n "$retrieve" ]
ok $? "make_run_prints_the_commands"
sh -c "$notify" >"$tmp/n.out" 2>&1
ok $? "printed_notify_command_works"
id=$( (printf '%s\n' "$notify"; cat "$tmp/n.out") | grep -o '[0-9a-f]\{32\}' | head -n 1)
sh -c "$retrieve" >"$tmp/r.out" 2>&1
ok $? "printed_retrieve_command_works"
[ -n "$id" ] && grep -q "$id" "$tmp/r.out" && grep -q 'demo@example.org\|localpart "demo"' "$tmp/r.out"
ok $? "the_demo_notification_came_back"
sh -c "$retrieve" >"$tmp/r2.out" 2>&1 && ! grep -q "$id" "$tmp/r2.out"
ok $? "retrieve_cleared_it"
demo_sh=$(grep -A1 '^The same, showing the PDUs' "$tmp/run.out" | sed -n '2s/^  //p')
sh -c "$demo_sh" >"$tmp/d.out" 2>&1 && [ "$(grep -c '^> identifier ' "$tmp/d.out")" -eq 1 ] &&
  [ "$(grep -c '^identifier ' "$tmp/d.out")" -eq 1 ]
ok $? "printed_rna_pdu_commands_work"
# README: the same commands, with the ports read from the demo directory
grep -qF "build/bin/rna-notify -a 127.0.0.1:\$(cat demo/rnasp.port) 'demo@example.org " README.md &&
  grep -qF 'RNA_PASSWORD=demo build/bin/rna-query -a 127.0.0.1:$(cat demo/rnaqp.port) demo' README.md &&
  grep -q '^    make run' README.md && grep -q '^    make stop' README.md
ok $? "readme_shows_the_same_commands"

# a second run replaces the first
timeout 120 make -s run DEMO="$demo" BUILD="$BUILD" >"$tmp/run2.out" 2>&1 </dev/null
ok $? "second_make_run_returns_0"
! alive "$pids1"
ok $? "second_make_run_stopped_the_first"
pids2=$(cat "$demo/pids")
alive "$pids2"
ok $? "second_demo_runs"
sp2=$(sed -n 's/^  RNASP  127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/run2.out")
qp2=$(sed -n 's/^  RNAQP  127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/run2.out")

make -s stop DEMO="$demo" >"$tmp/stop.out" 2>&1
ok $? "make_stop_returns_0"
! alive "$pids2"
ok $? "make_stop_ends_the_agent"
! listening "$sp2" && ! listening "$qp2"
ok $? "make_stop_closes_the_ports"
[ ! -e "$demo/pids" ]
ok $? "make_stop_removes_pids"
make -s stop DEMO="$demo" >/dev/null 2>&1
ok $? "make_stop_twice_is_harmless"

# no packages and no apt: refuse, say what to install
mkdir "$tmp/bin"
for f in /usr/local/bin/* /usr/bin/* /bin/*; do
  n=${f##*/}
  [ "$n" = tcpserver ] || [ -e "$tmp/bin/$n" ] || ln -s "$f" "$tmp/bin/$n"
done
PATH=$tmp/bin make -s run DEMO="$tmp/demo2" BUILD="$BUILD" >/dev/null 2>"$tmp/err" </dev/null
[ $? -ne 0 ] && grep -q 'apt-get install .*ucspi-tcp-ipv6' "$tmp/err" && [ ! -e "$tmp/demo2/pids" ]
ok $? "missing_package_without_apt_fails_and_names_the_packages"
