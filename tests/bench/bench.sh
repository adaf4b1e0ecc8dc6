#!/usr/bin/env bash
# bench.sh: throughput and latency of routstr.fcgi under lighttpd, against
# the same mock upstream hit directly. It prints figures; it never fails on
# speed. It fails (non-zero) only when it cannot run: a missing tool, the
# mock, the test mint, lighttpd or routstr.fcgi not coming up. Without a
# routstr.fcgi binary or lighttpd it measures the direct row and exits 0.
#
# Rows: direct (mock), GET /health through lighttpd + routstr.fcgi (the
# FastCGI floor), and the paid path (non-streaming chat with a funded sk- key)
# under DB_SYNCHRONOUS=<product default> and DB_SYNCHRONOUS=full. The key is
# funded inside the bench from the test mint. At the end: `routstrctl audit`
# on the bench database.
#
# Run from the build directory (what `make bench` does):
#   tests/bench/bench.sh            or   /path/to/src/tests/bench/bench.sh
# Environment:
#   ROUTSTR_FCGI    the product binary (default ./routstr.fcgi, then the
#                   source dir's routstr.fcgi for in-tree builds)
#   ROUTSTRCTL      the admin tool (default: routstrctl next to routstr.fcgi)
#   BENCH_SECONDS   wrk duration per row (default 10)
#   BENCH_CONNS     wrk connections (default 16)
#   BENCH_THREADS   wrk threads (default 2)
#   BENCH_WARMUP    warm-up seconds per row, not measured (default 1)
#   BENCH_WORKERS   WORKERS given to routstr.fcgi (default 4)
#   BENCH_LOG_LEVEL LOG_LEVEL given to routstr.fcgi (default: its own)
#   BENCH_SATS      sats put on the bench's sk- key (default: enough for the
#                   run, from BENCH_SECONDS and BENCH_WARMUP)
#   BENCH_KEEP=1    keep the temporary directory (configs, logs, database)
# Everything listens on 127.0.0.1; everything started here is stopped on exit.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILD_DIR=$PWD
MOCK="$SRC_DIR/tests/fakes/mock-upstream.mjs"
MINT="$SRC_DIR/tests/fakes/mint/mint.mjs"
MODELS="$SRC_DIR/tests/fakes/models.json"
LUA="$SCRIPT_DIR/chat.lua"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONNS=${BENCH_CONNS:-16}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_WORKERS=${BENCH_WORKERS:-4}

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# A whole-string decimal integer in [lo, hi].
check_int() { # name value lo hi
	if ! [[ $2 =~ ^[0-9]{1,10}$ ]] || (( 10#$2 < $3 || 10#$2 > $4 )); then
		die "$1 must be an integer in [$3, $4], got '$2'"
	fi
}
check_int BENCH_SECONDS "$BENCH_SECONDS" 1 3600
check_int BENCH_CONNS "$BENCH_CONNS" 1 10000
check_int BENCH_THREADS "$BENCH_THREADS" 1 64
check_int BENCH_WARMUP "$BENCH_WARMUP" 0 60
check_int BENCH_WORKERS "$BENCH_WORKERS" 1 256
(( BENCH_CONNS >= BENCH_THREADS )) || die "BENCH_CONNS must be >= BENCH_THREADS"
# Funding: the mock model costs 6 msat per bench request (measured); budget
# 50 msat per request at 10000 requests/s over both paid rows and their
# warm-ups, so the run cannot drain the key (1 sat = 1000 msat). With the
# default 10 s rows that is 12000 sats.
BENCH_SATS=${BENCH_SATS:-$(( (BENCH_SECONDS + BENCH_WARMUP) * 2 * 10000 * 50 / 1000 + 1000 ))}
check_int BENCH_SATS "$BENCH_SATS" 1 2000000000

for t in node wrk curl; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed"
done
[[ -f $MOCK ]] || die "mock upstream not found at $MOCK"

# ------------------------------------------------------------ temp dir, cleanup

TMP=$(mktemp -d "${TMPDIR:-/tmp}/routstr-bench.XXXXXX")
MOCK_PID=
MINT_PID=
LIGHTTPD_PID=
FCGI_PIDS=

# shellcheck disable=SC2317  # stop_pid and cleanup run from the EXIT trap
# Stop one process we started: TERM, up to 5 s, then KILL.
stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# Stop lighttpd and the routstr.fcgi it spawned (remembered before lighttpd
# goes, in case it leaves them behind).
# shellcheck disable=SC2317
stop_proxy() {
	local p
	if [[ -n $LIGHTTPD_PID ]]; then
		FCGI_PIDS="$FCGI_PIDS $(pgrep -P "$LIGHTTPD_PID" 2>/dev/null | tr '\n' ' ' || true)"
	fi
	stop_pid "$LIGHTTPD_PID"
	for p in $FCGI_PIDS; do
		stop_pid "$p"
	done
	if [[ -n $LIGHTTPD_PID ]]; then
		wait "$LIGHTTPD_PID" 2>/dev/null || true
	fi
	LIGHTTPD_PID='' FCGI_PIDS=''
}

# shellcheck disable=SC2317
cleanup() {
	set +e	# best effort: one failed step must not skip the others
	stop_proxy
	stop_pid "$MINT_PID"
	stop_pid "$MOCK_PID"
	wait 2>/dev/null || true
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback TCP port (the kernel picks it; tiny race until bound).
free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close();});'
}

# start_node_server NAME SCRIPT ARGS...: start a Node fake that prints one
# JSON line with "port" on stdout; sets NODE_PID and NODE_PORT (empty when it
# did not come up within 5 s).
start_node_server() {
	local name=$1 i
	shift
	node "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	NODE_PID=$!
	NODE_PORT=
	for ((i = 0; i < 50; i++)); do
		if [[ -s $TMP/$name.out ]]; then
			NODE_PORT=$(sed -n 's/^{"port":\([0-9][0-9]*\)[,}].*/\1/p' "$TMP/$name.out" | head -n 1)
			[[ -n $NODE_PORT ]] && break
		fi
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep 0.1
	done
}

# ------------------------------------------------------------ wrk runs

# run_wrk LABEL URL [ENV=VAL...]: warm up, reset the mock's counters, call
# $PRE_MEASURE if set (the paid rows snapshot the key there), measure, and
# leave the BENCH line's fields in R_* variables. Returns non-zero when wrk
# printed no BENCH line.
PRE_MEASURE=
run_wrk() {
	local label=$1 url=$2 out line kv
	shift 2
	if (( BENCH_WARMUP > 0 )); then
		env "$@" wrk -t"$BENCH_THREADS" -c"$BENCH_CONNS" -d"${BENCH_WARMUP}s" \
			--timeout 10s -s "$LUA" "$url" >/dev/null 2>&1 || true
		# Requests wrk left in flight still reach the mock and the ledger:
		# let them finish before the counters are zeroed.
		sleep 1
	fi
	# Zero the mock's counters so they cover the measured run only.
	curl -s --max-time 5 -X POST "$MOCK_URL/_mock/reset" >/dev/null || true
	if [[ -n $PRE_MEASURE ]]; then
		"$PRE_MEASURE"
	fi
	note "measuring $label for ${BENCH_SECONDS}s ($BENCH_THREADS threads, $BENCH_CONNS connections)"
	out=$(env "$@" wrk -t"$BENCH_THREADS" -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" \
		--timeout 10s --latency -s "$LUA" "$url" 2>&1) || true
	echo "$out" >"$TMP/wrk-${label// /_}.txt"
	line=$(grep '^BENCH ' <<<"$out" | tail -n 1) || true
	if [[ -z $line ]]; then
		note "wrk gave no result for $label:"
		echo "$out" >&2
		return 1
	fi
	R_requests=0 R_rps=0 R_p50_us=0 R_p99_us=0 R_non2xx=0
	R_connect_err=0 R_read_err=0 R_write_err=0 R_timeout_err=0
	for kv in ${line#BENCH }; do
		case ${kv%%=*} in
		requests|rps|p50_us|p99_us|non2xx|connect_err|read_err|write_err|timeout_err)
			printf -v "R_${kv%%=*}" '%s' "${kv#*=}" ;;
		esac
	done
	R_errors=$((R_connect_err + R_read_err + R_write_err + R_timeout_err))
}

ROWS=()
# add_row LABEL: a table row from the last run_wrk.
add_row() {
	ROWS+=("$(awk -v l="$1" -v rps="$R_rps" -v p50="$R_p50_us" -v p99="$R_p99_us" \
		-v n="$R_requests" -v bad="$R_non2xx" -v err="$R_errors" 'BEGIN {
		printf "%-26s %10.1f %10.3f %10.3f %10d %8d %7d", l, rps, p50/1000, p99/1000, n, bad, err }')")
}

print_table() {
	printf '%-26s %10s %10s %10s %10s %8s %7s\n' target 'req/s' 'p50 ms' 'p99 ms' \
		requests 'non-2xx' errors
	printf '%s\n' "${ROWS[@]}"
}

# ------------------------------------------------------------ mock upstream

start_node_server mock "$MOCK" --port 0 --host 127.0.0.1
MOCK_PID=$NODE_PID MOCK_PORT=$NODE_PORT
[[ -n $MOCK_PORT ]] || { cat "$TMP/mock.err" >&2; die "mock upstream did not start"; }
MOCK_URL="http://127.0.0.1:$MOCK_PORT"

echo "routstr bench: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) cpus, wrk ${BENCH_SECONDS}s" \
	"x $BENCH_THREADS threads x $BENCH_CONNS connections, non-streaming chat"
echo "mock upstream: $MOCK_URL (node $(node --version))"

run_wrk "direct" "$MOCK_URL" || die "direct run failed"
add_row "direct (mock)"
D_rps=$R_rps D_p50=$R_p50_us D_p99=$R_p99_us

# ------------------------------------------------------------ lighttpd + routstr.fcgi

find_fcgi() {
	if [[ -n ${ROUTSTR_FCGI:-} ]]; then
		FCGI=$ROUTSTR_FCGI
	elif [[ -x $BUILD_DIR/routstr.fcgi ]]; then
		FCGI=$BUILD_DIR/routstr.fcgi
	elif [[ -x $SRC_DIR/routstr.fcgi ]]; then
		FCGI=$SRC_DIR/routstr.fcgi
	else
		FCGI=$BUILD_DIR/routstr.fcgi
	fi
	[[ $FCGI == /* ]] || FCGI=$BUILD_DIR/$FCGI
	[[ -x $FCGI && -f $FCGI ]]
}

# write_routstr_conf MINT_URL: the key=value settings file (ROUTSTR_CONFIG),
# read by routstr.fcgi and by `routstrctl -c` alike.
write_routstr_conf() {
	cat >"$TMP/routstr.conf" <<CONF
# written by tests/bench/bench.sh
models_path = $MODELS
cashu_mints = $1
# no exchange is reachable: price sats at this BTC/USD rate
btc_usd_fallback = 100000
price_sources = http://127.0.0.1:1/none
upstream_base_url = $MOCK_URL/v1
upstream_api_key = sk-mock-provider-key
database_url = sqlite:///$TMP/bench.db
log_file = $TMP/routstr.log
CONF
}

# start_proxy [DB_SYNCHRONOUS]: write lighttpd.conf (DB_SYNCHRONOUS set only
# when given, else the product's default), start lighttpd on a fresh port and
# wait for GET /health to answer 200. Sets PROXY_URL. Returns 1, with the logs'
# tails, when it does not come up within 10 s.
start_proxy() {
	local sync=${1:-} port up=0 code='' i f
	port=$(free_port)
	{
		echo 'server.modules = ( "mod_fastcgi" )'
		echo "server.document-root = \"$TMP/www\""
		echo 'server.bind = "127.0.0.1"'
		echo "server.port = $port"
		echo "server.errorlog = \"$TMP/lighttpd-error.log\""
		echo 'server.max-keep-alive-requests = 10000'
		echo 'server.max-keep-alive-idle = 30'
		# Stream both ways, as the product's example config does (SSE).
		echo 'server.stream-response-body = 2'
		echo 'server.stream-request-body = 2'
		echo 'fastcgi.server = ( "/" => ( "routstr" => ('
		echo "  \"bin-path\" => \"$FCGI\","
		echo "  \"socket\" => \"$TMP/routstr.sock\","
		echo '  "max-procs" => 1,'
		echo '  "check-local" => "disable",'
		echo '  "fix-root-scriptname" => "enable",'
		echo '  "bin-environment" => ('
		echo "    \"ROUTSTR_CONFIG\" => \"$TMP/routstr.conf\","
		echo "    \"WORKERS\" => \"$BENCH_WORKERS\","
		[[ -n $sync ]] && echo "    \"DB_SYNCHRONOUS\" => \"$sync\","
		[[ -n ${BENCH_LOG_LEVEL:-} ]] && echo "    \"LOG_LEVEL\" => \"$BENCH_LOG_LEVEL\","
		echo "    \"LOG_FILE\" => \"$TMP/routstr.log\""
		echo '  )'
		echo ') ) )'
	} >"$TMP/lighttpd.conf"
	lighttpd -tt -f "$TMP/lighttpd.conf" >/dev/null 2>"$TMP/lighttpd-test.err" || {
		cat "$TMP/lighttpd-test.err" >&2
		note "lighttpd rejected the bench config ($TMP/lighttpd.conf)"
		return 1
	}
	lighttpd -D -f "$TMP/lighttpd.conf" >>"$TMP/lighttpd.out" 2>&1 &
	LIGHTTPD_PID=$!
	PROXY_URL="http://127.0.0.1:$port"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$LIGHTTPD_PID" 2>/dev/null || break
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$PROXY_URL/health" || true)
		if [[ $code == 200 ]]; then up=1; break; fi
		sleep 0.1
	done
	if (( !up )); then
		note "lighttpd + routstr.fcgi did not answer GET /health with 200 within 10 s (last: ${code:-none})"
		for f in lighttpd.out lighttpd-error.log routstr.log; do
			[[ -s $TMP/$f ]] && { echo "--- $f" >&2; tail -n 20 "$TMP/$f" >&2; }
		done
		return 1
	fi
}

# A whole-number field of a flat JSON object ("" when absent).
json_int() { # json field
	sed -n "s/.*\"$2\":\\(-\\{0,1\\}[0-9][0-9]*\\).*/\\1/p" <<<"$1" | head -n 1
}

# key_info: GET /v1/balance/info with the bench key into K_balance,
# K_requests and K_spent (msat; empty when the call failed).
key_info() {
	local j
	j=$(curl -s --max-time 10 -H "Authorization: Bearer $SK_KEY" "$PROXY_URL/v1/balance/info" || true)
	K_balance=$(json_int "$j" balance)
	K_requests=$(json_int "$j" total_requests)
	K_spent=$(json_int "$j" total_spent)
}
# shellcheck disable=SC2317  # called through $PRE_MEASURE
snapshot_key() {
	key_info
	S_requests=$K_requests S_spent=$K_spent
}

# fund_key: mint BENCH_SATS at the test mint, turn the token into an sk- key
# (GET /v1/balance/create). Sets SK_KEY; returns 1 with a note on failure.
fund_key() {
	local token j
	if ! token=$(cd "$SRC_DIR/tests" && node fakes/mint-token.mjs "$MINT_URL" "$BENCH_SATS" 2>"$TMP/mint-token.err"); then
		note "could not mint $BENCH_SATS sats at the test mint:"
		head -c 600 "$TMP/mint-token.err" >&2
		return 1
	fi
	j=$(curl -s --max-time 30 "$PROXY_URL/v1/balance/create?initial_balance_token=$token" || true)
	SK_KEY=$(sed -n 's/.*"api_key":"\(sk-[0-9A-Za-z_-]*\)".*/\1/p' <<<"$j")
	if [[ -z $SK_KEY ]]; then
		note "GET /v1/balance/create gave no api_key: ${j:0:300}"
		return 1
	fi
}

# bench_paid LABEL: one paid row (non-streaming chat with the bench key):
# a sanity request, the wrk run, the key's billing over the measured run and
# the mock's counters. Appends to ROWS and PAID_LINES.
PAID_LINES=()
bench_paid() {
	local label=$1 code
	code=$(curl -s --max-time 10 -o "$TMP/sanity.body" -w '%{http_code}' \
		-H 'Content-Type: application/json' -H "Authorization: Bearer $SK_KEY" \
		--data '{"model":"mock-model","messages":[{"role":"user","content":"hi"}],"max_tokens":16}' \
		"$PROXY_URL/v1/chat/completions" || true)
	if [[ $code != 200 ]]; then
		note "WARNING: a single paid chat request answered ${code:-nothing}, not 200:"
		head -c 300 "$TMP/sanity.body" >&2 2>/dev/null || true
		echo >&2
		note "the '$label' row below measures that answer, not a relayed completion"
	fi
	PRE_MEASURE=snapshot_key
	if ! run_wrk "$label" "$PROXY_URL" BENCH_AUTH="$SK_KEY"; then
		PRE_MEASURE=
		PAID_LINES+=("$label: wrk gave no result")
		return 0
	fi
	PRE_MEASURE=
	add_row "$label"
	local rps=$R_rps p50=$R_p50_us p99=$R_p99_us stats up_req up_conn wal
	# Let the requests still in flight when wrk stopped settle first.
	sleep 1
	stats=$(curl -s --max-time 5 "$MOCK_URL/_mock/stats" || true)
	key_info
	up_req=$(json_int "$stats" requests)
	up_conn=$(json_int "$stats" api_connections)
	PAID_LINES+=("$(awk -v l="$label" -v drps="$D_rps" -v rps="$rps" -v d50="$D_p50" \
		-v p50="$p50" -v d99="$D_p99" -v p99="$p99" 'BEGIN {
		printf "%s: throughput paid/direct %.3f; added latency p50 %+.3f ms, p99 %+.3f ms",
			l, (drps > 0 ? rps / drps : 0), (p50 - d50) / 1000, (p99 - d99) / 1000 }')")
	if [[ -n $K_requests && -n ${S_requests:-} ]]; then
		PAID_LINES+=("$(awk -v l="$label" -v n=$((K_requests - S_requests)) \
			-v m=$((K_spent - S_spent)) -v b="$K_balance" 'BEGIN {
			printf "%s: billed %d requests, %d msat (%.2f msat/request); balance left %d msat",
				l, n, m, (n > 0 ? m / n : 0), b }')")
	else
		PAID_LINES+=("$label: billing not read (GET /v1/balance/info failed)")
	fi
	wal=$(( $(stat -c %s "$TMP/bench.db-wal" 2>/dev/null || echo 0) / 1048576 ))
	PAID_LINES+=("$label: upstream saw ${up_req:-?} requests over ${up_conn:-?} TCP connections; SQLite WAL file at ${wal} MiB")
	if [[ ${up_req:-0} == 0 ]]; then
		PAID_LINES+=("WARNING: no request reached the mock upstream during '$label': nothing was relayed")
	fi
	if (( R_non2xx > 0 )); then
		PAID_LINES+=("WARNING: '$label' had $R_non2xx responses >= 400 (drained key? see $TMP/routstr.log with BENCH_KEEP=1)")
	fi
}

# bench_proxy: everything behind lighttpd. Returns 1 when a server needed for
# it did not start (the caller prints the report, then exits 1).
SYNC_DEFAULT=
AUDIT_LINE=
bench_proxy() {
	local ctl
	if [[ ! -f $MINT ]]; then
		note "test mint not found at $MINT"
		return 1
	fi
	start_node_server mint "$MINT" --port 0
	MINT_PID=$NODE_PID
	if [[ -z $NODE_PORT ]]; then
		cat "$TMP/mint.err" >&2
		note "the test mint did not start"
		return 1
	fi
	MINT_URL="http://127.0.0.1:$NODE_PORT"
	write_routstr_conf "$MINT_URL"
	mkdir -p "$TMP/www"

	ctl=${ROUTSTRCTL:-$(dirname "$FCGI")/routstrctl}
	if [[ -x $ctl ]]; then
		SYNC_DEFAULT=$(ROUTSTR_CONFIG="$TMP/routstr.conf" "$ctl" -c "$TMP/routstr.conf" config 2>/dev/null |
			awk '$1 == "DB_SYNCHRONOUS" { print $3 " (" $2 ")" }' || true)
	fi

	start_proxy || return 1
	echo "proxy: $PROXY_URL (lighttpd $(lighttpd -v 2>/dev/null | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p' | head -n 1), $FCGI, WORKERS=$BENCH_WORKERS)"
	echo "test mint: $MINT_URL"

	if run_wrk "health" "$PROXY_URL" BENCH_GET=/health; then
		add_row "GET /health (fcgi floor)"
	fi

	if fund_key; then
		key_info
		echo "bench key: funded with $BENCH_SATS sats, balance ${K_balance:-?} msat"
		echo "SQLite synchronous mode, first paid row: ${SYNC_DEFAULT:-the product default (routstrctl not found)}"
		bench_paid "paid sync=${SYNC_DEFAULT%% *}"
		stop_proxy
		start_proxy full || return 1
		echo "SQLite synchronous mode, second paid row: full (DB_SYNCHRONOUS=full, lighttpd restarted on $PROXY_URL)"
		bench_paid "paid sync=full"
	else
		PAID_LINES+=("paid path: not measured (no funded key, see the messages above)")
	fi
	stop_proxy

	if [[ -x $ctl ]]; then
		AUDIT_LINE=$(DATABASE_URL="sqlite:///$TMP/bench.db" CASHU_MINTS="$MINT_URL" \
			"$ctl" -c "$TMP/routstr.conf" audit 2>&1 | tail -n 1 || true)
	else
		AUDIT_LINE="not run: $ctl not found (set ROUTSTRCTL)"
	fi
}

SETUP_FAILED=0
PROXY_NOTE=
if ! find_fcgi; then
	PROXY_NOTE="routstr.fcgi not found (looked at ${ROUTSTR_FCGI:-$BUILD_DIR/routstr.fcgi and $SRC_DIR/routstr.fcgi}); build it (make) or set ROUTSTR_FCGI; only the direct row is measured"
elif ! command -v lighttpd >/dev/null 2>&1; then
	PROXY_NOTE="lighttpd is not installed; only the direct row is measured"
elif ! bench_proxy; then
	SETUP_FAILED=1
	PROXY_NOTE="a server did not start (see above); the rows not shown were not measured"
fi

# ------------------------------------------------------------ report

echo
print_table
[[ -n $PROXY_NOTE ]] && echo "$PROXY_NOTE"
if ((${#PAID_LINES[@]})); then
	printf '%s\n' "${PAID_LINES[@]}"
fi
[[ -n $AUDIT_LINE ]] && echo "routstrctl audit: $AUDIT_LINE"
exit "$SETUP_FAILED"
