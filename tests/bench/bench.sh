#!/usr/bin/env bash
# bench.sh: throughput, latency, streams and ledger cost of routstr.fcgi behind
# a web server, against the same mock upstream hit directly and through nginx.
# It prints figures; it never fails on speed. It fails (non-zero) only when it
# cannot run: a missing tool, the mock, the test mint, lighttpd or
# routstr.fcgi not coming up. Without a routstr.fcgi binary or lighttpd it
# measures the direct (and nginx) rows and exits 0.
#
# Rows (tests/bench/README.md explains each):
#   wrk, at each of BENCH_CONNS: direct (mock), nginx (plain reverse proxy to
#   the mock), and the paid path (non-streaming chat with a funded sk- key)
#   through lighttpd + routstr.fcgi under DB_SYNCHRONOUS=<product default> and
#   =full; GET /health (the FastCGI floor) at the first BENCH_CONNS.
#   ledger: WAL frames and database bytes per paid request, in both modes.
#   streams, at each of BENCH_STREAMS: N concurrent paid streamed chats
#   (streams.mjs) against the mock directly, through lighttpd and through
#   Apache mod_proxy_fcgi with a standalone routstr.fcgi on a unix socket.
# The key is funded inside the bench from the test mint. At the end:
# `routstrctl audit` on the bench database.
#
# Run from the build directory (what `make bench` does):
#   tests/bench/bench.sh            or   /path/to/src/tests/bench/bench.sh
# Environment:
#   ROUTSTR_FCGI    the product binary (default ./routstr.fcgi, then the
#                   source dir's routstr.fcgi for in-tree builds)
#   ROUTSTRCTL      the admin tool (default: routstrctl next to routstr.fcgi)
#   BENCH_SECONDS   wrk duration per row (default 10)
#   BENCH_CONNS     wrk connection counts, one set of rows each ("16 64")
#   BENCH_THREADS   wrk threads (default 2)
#   BENCH_WARMUP    warm-up seconds per row, not measured (default 1)
#   BENCH_WORKERS   WORKERS given to routstr.fcgi (default 4)
#   BENCH_LOG_LEVEL LOG_LEVEL given to routstr.fcgi (default: its own)
#   BENCH_LEDGER_SECONDS  sequential paid requests for the ledger row, in
#                   seconds (default 2; 0 = no ledger row)
#   BENCH_STREAMS   concurrent stream counts ("100 500 1000"; "" = none)
#   BENCH_STREAM_SECONDS  length of each stream (default 10)
#   BENCH_STREAM_TIMEOUT  a stream row ends after this (default
#                   BENCH_STREAM_SECONDS + 10)
#   BENCH_SATS      sats put on the bench's sk- key (default: enough for the
#                   run, from the settings above)
#   BENCH_KEEP=1    keep the temporary directory (configs, logs, database)
# Everything listens on 127.0.0.1; everything started here is stopped on exit.

set -euo pipefail
# Configs are filled in with ${text//@NAME@/value}: "&" in a value is literal.
shopt -u patsub_replacement 2>/dev/null || true

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
BUILD_DIR=$PWD
MOCK="$SRC_DIR/tests/fakes/mock-upstream.mjs"
MINT="$SRC_DIR/tests/fakes/mint/mint.mjs"
MODELS="$SRC_DIR/tests/fakes/models.json"
LUA="$SCRIPT_DIR/chat.lua"
STREAMS_JS="$SCRIPT_DIR/streams.mjs"
APACHE_CONF_SRC="$SRC_DIR/apache-example.conf"
APACHE_MODULES=/usr/lib/apache2/modules
APACHE=$(command -v apache2 || true)
[[ -z $APACHE && -x /usr/sbin/apache2 ]] && APACHE=/usr/sbin/apache2

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONNS=${BENCH_CONNS:-16 64}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_WORKERS=${BENCH_WORKERS:-4}
BENCH_LEDGER_SECONDS=${BENCH_LEDGER_SECONDS:-2}
BENCH_STREAMS=${BENCH_STREAMS-100 500 1000}
BENCH_STREAM_SECONDS=${BENCH_STREAM_SECONDS:-10}
BENCH_STREAM_TIMEOUT=${BENCH_STREAM_TIMEOUT:-$((BENCH_STREAM_SECONDS + 10))}
# Content events per stream; the mock spaces them over BENCH_STREAM_SECONDS.
STREAM_TOKENS=10

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# A whole-string decimal integer in [lo, hi].
check_int() { # name value lo hi
	if ! [[ $2 =~ ^[0-9]{1,10}$ ]] || (( 10#$2 < $3 || 10#$2 > $4 )); then
		die "$1 must be an integer in [$3, $4], got '$2'"
	fi
}
# A space-separated list of such integers (may be empty when allowed).
check_list() { # name value lo hi
	local v
	for v in $2; do
		check_int "$1 (each)" "$v" "$3" "$4"
	done
}
check_int BENCH_SECONDS "$BENCH_SECONDS" 1 3600
check_list BENCH_CONNS "$BENCH_CONNS" 1 10000
[[ -n ${BENCH_CONNS// /} ]] || die "BENCH_CONNS must name at least one connection count"
check_int BENCH_THREADS "$BENCH_THREADS" 1 64
check_int BENCH_WARMUP "$BENCH_WARMUP" 0 60
check_int BENCH_WORKERS "$BENCH_WORKERS" 1 256
check_int BENCH_LEDGER_SECONDS "$BENCH_LEDGER_SECONDS" 0 600
check_list BENCH_STREAMS "$BENCH_STREAMS" 1 20000
check_int BENCH_STREAM_SECONDS "$BENCH_STREAM_SECONDS" 1 600
check_int BENCH_STREAM_TIMEOUT "$BENCH_STREAM_TIMEOUT" 1 3600
read -r -a CONNS <<<"$BENCH_CONNS"
read -r -a STREAMS <<<"$BENCH_STREAMS"
C0=${CONNS[0]}
for c in "${CONNS[@]}"; do [[ $c == 16 ]] && C0=16; done
STREAMS_MAX=0
STREAMS_SUM=0
for n in "${STREAMS[@]}"; do
	(( n > STREAMS_MAX )) && STREAMS_MAX=$n
	STREAMS_SUM=$((STREAMS_SUM + n))
done
# Funding: the mock model costs 6 msat per bench request (measured); budget
# 50 msat per request at 10000 requests/s over every paid wrk row (two sync
# modes times BENCH_CONNS) and its warm-up, and over the two ledger rows, so
# the run cannot drain the key (1 sat = 1000 msat). A stream holds a
# reservation of 12 msat while it runs (measured), so 1 sat per stream and
# server is ample. With the defaults that is 28200 sats.
BENCH_SATS=${BENCH_SATS:-$(( ((BENCH_SECONDS + BENCH_WARMUP) * 2 * ${#CONNS[@]} + \
	2 * BENCH_LEDGER_SECONDS) * 10000 * 50 / 1000 + STREAMS_SUM * 2 + 1000 ))}
check_int BENCH_SATS "$BENCH_SATS" 1 2000000000

for t in node wrk curl; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed"
done
[[ -f $MOCK ]] || die "mock upstream not found at $MOCK"
# N streams hold N client sockets here and about 2N in the web server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 3 * STREAMS_MAX + 256 )); then
	note "ulimit -n is $(ulimit -n), low for $STREAMS_MAX streams: expect connection errors"
fi

# ------------------------------------------------------------ temp dir, cleanup

TMP=$(mktemp -d "${TMPDIR:-/tmp}/routstr-bench.XXXXXX")
MOCK_PID=
MINT_PID=
NGINX_PID=
LIGHTTPD_PID=
FCGI_PIDS=
APACHE_CONF=
APACHE_DAEMON_PID=
HOLD_PID=
HOLD_FD=

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

# Stop Apache (its own -k stop, then its parent's pid) and the standalone
# routstr.fcgi behind it.
# shellcheck disable=SC2317
stop_apache() {
	local pid
	if [[ -n $APACHE_CONF ]]; then
		pid=$(cat "$TMP/apache/apache.pid" 2>/dev/null || true)
		"$APACHE" -f "$APACHE_CONF" -D ROUTSTR_PROXY_FCGI -k stop >/dev/null 2>&1 || true
		if [[ $pid =~ ^[0-9]+$ ]]; then
			stop_pid "$pid"
		fi
		APACHE_CONF=
	fi
	stop_pid "$APACHE_DAEMON_PID"
	if [[ -n $APACHE_DAEMON_PID ]]; then
		wait "$APACHE_DAEMON_PID" 2>/dev/null || true
	fi
	APACHE_DAEMON_PID=
}

# Let go of the ledger row's read transaction.
# shellcheck disable=SC2317
release_reader() {
	if [[ -n $HOLD_FD ]]; then
		{ echo 'COMMIT;' >&"$HOLD_FD"; } 2>/dev/null || true
		exec {HOLD_FD}>&-
		HOLD_FD=
	fi
	if [[ -n $HOLD_PID ]]; then
		stop_pid "$HOLD_PID"
		wait "$HOLD_PID" 2>/dev/null || true
		HOLD_PID=
	fi
}

# shellcheck disable=SC2317
cleanup() {
	set +eu	# best effort: one failed step must not skip the others
	release_reader
	stop_proxy
	stop_apache
	stop_pid "$NGINX_PID"
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

# wait_http URL SECONDS: poll until URL answers 200; returns 1 otherwise.
wait_http() {
	local i code
	for ((i = 0; i < $2 * 10; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)
		[[ $code == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# Arithmetic on decimals (awk): calc EXPR, printed with %.3f unless FMT given.
calc() { # expr [fmt]
	awk "BEGIN { printf \"${2:-%.3f}\", $1 }"
}

# ------------------------------------------------------------ wrk runs

# run_wrk LABEL URL CONNS [ENV=VAL...]: warm up, reset the mock's counters,
# call $PRE_MEASURE if set (the paid rows snapshot the key there), measure,
# and leave the BENCH line's fields in R_* variables. Returns non-zero when
# wrk printed no BENCH line.
PRE_MEASURE=
run_wrk() {
	local label=$1 url=$2 conns=$3 threads out line kv
	shift 3
	threads=$(( BENCH_THREADS < conns ? BENCH_THREADS : conns ))
	if (( BENCH_WARMUP > 0 )); then
		env "$@" wrk -t"$threads" -c"$conns" -d"${BENCH_WARMUP}s" \
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
	note "measuring $label for ${BENCH_SECONDS}s ($threads threads, $conns connections)"
	out=$(env "$@" wrk -t"$threads" -c"$conns" -d"${BENCH_SECONDS}s" \
		--timeout 10s --latency -s "$LUA" "$url" 2>&1) || true
	echo "$out" >"$TMP/wrk-${label// /_}-c$conns.txt"
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

# Results by "<kind>:<conns>" (kind: direct, nginx, paid-<mode>), for the
# ratio lines.
declare -A RPS P50 P99
ROWS=()
# add_row LABEL KEY CONNS: a table row from the last run_wrk, remembered
# under KEY when given.
add_row() {
	ROWS+=("$(awk -v l="$1" -v c="$3" -v rps="$R_rps" -v p50="$R_p50_us" -v p99="$R_p99_us" \
		-v n="$R_requests" -v bad="$R_non2xx" -v err="$R_errors" 'BEGIN {
		printf "%-26s %5d %10.1f %9.3f %9.3f %9d %8d %7d", l, c, rps, p50/1000, p99/1000, n, bad, err }')")
	if [[ -n $2 ]]; then
		RPS[$2]=$R_rps P50[$2]=$R_p50_us P99[$2]=$R_p99_us
	fi
}

print_table() {
	printf '%-26s %5s %10s %9s %9s %9s %8s %7s\n' target conns 'req/s' 'p50 ms' 'p99 ms' \
		requests 'non-2xx' errors
	printf '%s\n' "${ROWS[@]}"
}

# ------------------------------------------------------------ mock upstream

start_node_server mock "$MOCK" --port 0 --host 127.0.0.1
MOCK_PID=$NODE_PID MOCK_PORT=$NODE_PORT
[[ -n $MOCK_PORT ]] || { cat "$TMP/mock.err" >&2; die "mock upstream did not start"; }
MOCK_URL="http://127.0.0.1:$MOCK_PORT"

echo "routstr bench: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) cpus, wrk ${BENCH_SECONDS}s" \
	"x up to $BENCH_THREADS threads x {${CONNS[*]}} connections, non-streaming chat;" \
	"streams {${STREAMS[*]:-none}} x ${BENCH_STREAM_SECONDS}s; ulimit -n $(ulimit -n)"
echo "mock upstream: $MOCK_URL (node $(node --version))"

for c in "${CONNS[@]}"; do
	run_wrk "direct" "$MOCK_URL" "$c" || die "direct run failed"
	add_row "direct (mock)" "direct:$c" "$c"
done

# ------------------------------------------------------------ nginx

# start_nginx: nginx as a plain reverse proxy to the mock (its own config in
# $TMP/nginx: loopback, keep-alive to the upstream, no response buffering).
# Sets NGINX_URL; returns 1 when it does not come up within 10 s.
start_nginx() {
	local d=$TMP/nginx port
	mkdir -p "$d/tmp"
	port=$(free_port)
	cat >"$d/nginx.conf" <<CONF
# written by tests/bench/bench.sh
daemon off;
worker_processes auto;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	upstream mock {
		server 127.0.0.1:$MOCK_PORT;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$port;
		location / {
			proxy_pass http://mock;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
		}
	}
}
CONF
	if ! "$NGINX" -t -q -p "$d" -e "$d/error.log" -c "$d/nginx.conf" 2>"$d/test.err"; then
		cat "$d/test.err" >&2
		note "nginx rejected the bench config ($d/nginx.conf)"
		return 1
	fi
	"$NGINX" -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >>"$d/nginx.out" 2>&1 &
	NGINX_PID=$!
	NGINX_URL="http://127.0.0.1:$port"
	if ! wait_http "$NGINX_URL/_mock/stats" 10; then
		note "nginx did not answer within 10 s"
		tail -n 20 "$d/error.log" >&2 2>/dev/null || true
		return 1
	fi
}

NGINX_NOTE=
NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
if [[ -z $NGINX ]]; then
	NGINX_NOTE="nginx is not installed (apt-get install nginx-light, or scripts/dev deps): no nginx rows, no ratios to nginx"
elif ! start_nginx; then
	NGINX_NOTE="nginx did not start: no nginx rows, no ratios to nginx"
else
	echo "nginx: $NGINX_URL ($("$NGINX" -v 2>&1 | sed 's/.*version: //'), reverse proxy to the mock)"
	for c in "${CONNS[@]}"; do
		run_wrk "nginx" "$NGINX_URL" "$c" && add_row "nginx (mock)" "nginx:$c" "$c"
	done
	stop_pid "$NGINX_PID"
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=
fi

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

# Pids of the running routstr.fcgi processes: those whose executable is
# $FCGI (by inode, so another worktree's binary is not counted).
fcgi_pids() {
	local d
	for d in /proc/[0-9]*; do
		[[ $d/exe -ef $FCGI ]] && echo "${d#/proc/}"
	done
	return 0
}

# Sum of /proc/<pid>/io write_bytes over the routstr.fcgi processes: the
# bytes they caused to be written to storage (database, WAL, log).
fcgi_write_bytes() {
	local p k v sum=0
	for p in $(fcgi_pids); do
		while read -r k v; do
			[[ $k == write_bytes: ]] && sum=$((sum + v))
		done <"/proc/$p/io" 2>/dev/null || true
	done
	echo "$sum"
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
# the stream rows steer the mock (token count, delay between events)
upstream_forward_headers = x-mock-*
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
		# Room for the stream rows: lighttpd's defaults (max-fds 4096,
		# listen backlog 1024) sit close to 1000 streams, which hold a
		# client and a backend socket each.
		echo 'server.max-fds = 16384'
		echo 'server.max-connections = 8192'
		echo 'server.listen-backlog = 4096'
		# Stream both ways, as the product's example config does (SSE).
		echo 'server.stream-response-body = 2'
		echo 'server.stream-request-body = 2'
		echo 'fastcgi.server = ( "/" => ( "routstr" => ('
		echo "  \"bin-path\" => \"$FCGI\","
		echo "  \"socket\" => \"$TMP/routstr.sock\","
		echo '  "max-procs" => 1,'
		echo '  "listen-backlog" => 4096,'
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
	S_wbytes=$(fcgi_write_bytes)
	S_logsize=$(stat -c %s "$TMP/routstr.log" 2>/dev/null || echo 0)
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

# sanity_paid LABEL: one paid chat by hand; a warning when it is not a 200,
# because the row would then measure a refusal.
sanity_paid() {
	local code
	code=$(curl -s --max-time 10 -o "$TMP/sanity.body" -w '%{http_code}' \
		-H 'Content-Type: application/json' -H "Authorization: Bearer $SK_KEY" \
		--data '{"model":"mock-model","messages":[{"role":"user","content":"hi"}],"max_tokens":16}' \
		"$PROXY_URL/v1/chat/completions" || true)
	if [[ $code != 200 ]]; then
		note "WARNING: a single paid chat request answered ${code:-nothing}, not 200:"
		head -c 300 "$TMP/sanity.body" >&2 2>/dev/null || true
		echo >&2
		note "the '$1' row below measures that answer, not a relayed completion"
	fi
}

# bench_paid LABEL KEY CONNS: one paid row (non-streaming chat with the bench
# key): a sanity request, the wrk run, the key's billing over the measured
# run, the mock's counters and the bytes routstr wrote. Appends to ROWS and
# PAID_LINES.
PAID_LINES=()
bench_paid() {
	local label=$1 key=$2 conns=$3
	sanity_paid "$label"
	PRE_MEASURE=snapshot_key
	if ! run_wrk "$label" "$PROXY_URL" "$conns" BENCH_AUTH="$SK_KEY"; then
		PRE_MEASURE=
		PAID_LINES+=("$label c$conns: wrk gave no result")
		return 0
	fi
	PRE_MEASURE=
	add_row "$label" "$key" "$conns"
	local stats up_req up_conn wal n wb logb
	# Let the requests still in flight when wrk stopped settle first.
	sleep 1
	stats=$(curl -s --max-time 5 "$MOCK_URL/_mock/stats" || true)
	key_info
	wb=$(( $(fcgi_write_bytes) - S_wbytes ))
	logb=$(( $(stat -c %s "$TMP/routstr.log" 2>/dev/null || echo 0) - S_logsize ))
	up_req=$(json_int "$stats" requests)
	up_conn=$(json_int "$stats" api_connections)
	if [[ -n $K_requests && -n ${S_requests:-} ]]; then
		n=$((K_requests - S_requests))
		PAID_LINES+=("$(awk -v l="$label c$conns" -v n="$n" \
			-v m=$((K_spent - S_spent)) -v b="$K_balance" 'BEGIN {
			printf "%s: billed %d requests, %d msat (%.2f msat/request); balance left %d msat",
				l, n, m, (n > 0 ? m / n : 0), b }')")
		if (( n > 0 && wb >= 0 )); then
			PAID_LINES+=("$label c$conns: disk writes $(calc "$wb / $n" %.0f) B/request (/proc/<pid>/io write_bytes of routstr.fcgi; the log grew $(calc "$logb / $n" %.0f) B/request)")
		fi
	else
		PAID_LINES+=("$label c$conns: billing not read (GET /v1/balance/info failed)")
	fi
	wal=$(( $(stat -c %s "$TMP/bench.db-wal" 2>/dev/null || echo 0) / 1048576 ))
	PAID_LINES+=("$label c$conns: upstream saw ${up_req:-?} requests over ${up_conn:-?} TCP connections; SQLite WAL file at ${wal} MiB")
	if [[ ${up_req:-0} == 0 ]]; then
		PAID_LINES+=("WARNING: no request reached the mock upstream during '$label c$conns': nothing was relayed")
	fi
	if (( R_non2xx > 0 )); then
		PAID_LINES+=("WARNING: '$label c$conns' had $R_non2xx responses >= 400 (drained key? see $TMP/routstr.log with BENCH_KEEP=1)")
	fi
}

# ------------------------------------------------------------ ledger cost

# sq SQL...: the sqlite3 shell on the bench database, waiting up to 5 s for
# locks.
sq() {
	sqlite3 -batch -noheader -cmd '.timeout 5000' "$TMP/bench.db" "$@"
}

# bench_ledger MODE: WAL frames and database bytes per paid request. The WAL
# is checkpointed and truncated first; a read transaction opened on the
# empty WAL then holds off every checkpoint, so the WAL only grows and its
# size counts every frame (page write) the paid requests made: frames =
# (size - 32) / (page_size + 24). wrk sends paid requests on one connection
# for BENCH_LEDGER_SECONDS; the key's total_requests counts them. Then the
# reader goes, a checkpoint copies the pages into the database, and
# page_count's growth is the database bytes the requests added.
LEDGER_ROWS=()
declare -A L_FRAMES L_DBB
bench_ledger() {
	local mode=$1 ck ps pc0 pc1 fl0 fl1 i out n wal frames wb
	(( BENCH_LEDGER_SECONDS > 0 )) || return 0
	if ! command -v sqlite3 >/dev/null 2>&1; then
		LEDGER_ROWS+=("$(printf '%-26s not measured: sqlite3 is not installed' "ledger sync=$mode")")
		return 0
	fi
	sleep 1
	ck=$(sq 'PRAGMA wal_checkpoint(TRUNCATE);' 2>&1 || true)
	ps=$(sq 'PRAGMA page_size;')
	pc0=$(sq 'PRAGMA page_count;')
	fl0=$(sq 'PRAGMA freelist_count;')
	if [[ $ck != 0\|0\|0 || $(stat -c %s "$TMP/bench.db-wal" 2>/dev/null || echo 0) != 0 ]]; then
		LEDGER_ROWS+=("$(printf '%-26s not measured: the WAL could not be truncated (%s)' "ledger sync=$mode" "$ck")")
		return 0
	fi
	rm -f "$TMP/hold.fifo"
	mkfifo "$TMP/hold.fifo"
	sqlite3 -batch -noheader "$TMP/bench.db" <"$TMP/hold.fifo" >"$TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	exec {HOLD_FD}>"$TMP/hold.fifo"
	echo 'BEGIN; SELECT count(*) FROM sqlite_master;' >&"$HOLD_FD"
	for ((i = 0; i < 50; i++)); do
		[[ -s $TMP/hold.out ]] && break
		sleep 0.1
	done
	snapshot_key
	note "measuring ledger sync=$mode for ${BENCH_LEDGER_SECONDS}s (1 connection, WAL held)"
	out=$(BENCH_AUTH="$SK_KEY" wrk -t1 -c1 -d"${BENCH_LEDGER_SECONDS}s" --timeout 10s \
		-s "$LUA" "$PROXY_URL" 2>&1 || true)
	sleep 1
	key_info
	wb=$(( $(fcgi_write_bytes) - S_wbytes ))
	wal=$(stat -c %s "$TMP/bench.db-wal" 2>/dev/null || echo 0)
	release_reader
	ck=$(sq 'PRAGMA wal_checkpoint(TRUNCATE);' 2>&1 || true)
	pc1=$(sq 'PRAGMA page_count;')
	fl1=$(sq 'PRAGMA freelist_count;')
	n=$(( ${K_requests:-0} - ${S_requests:-0} ))
	if (( n <= 0 )); then
		LEDGER_ROWS+=("$(printf '%-26s not measured: no paid request was billed' "ledger sync=$mode")")
		echo "$out" >&2
		return 0
	fi
	frames=$(( wal >= 32 ? (wal - 32) / (ps + 24) : 0 ))
	L_FRAMES[$mode]=$(calc "$frames / $n" %.2f)
	# Pages in use: page_count less the free list.
	L_DBB[$mode]=$(calc "(($pc1 - $fl1) - ($pc0 - $fl0)) * $ps / $n" %.0f)
	LEDGER_ROWS+=("$(printf '%-26s %8d %10s %10s %10s %10s' "ledger sync=$mode" "$n" \
		"${L_FRAMES[$mode]}" "$(calc "$wal / $n" %.0f)" "${L_DBB[$mode]}" "$(calc "$wb / $n" %.0f)")")
}

print_ledger() {
	printf '%-26s %8s %10s %10s %10s %10s\n' 'ledger (per paid request)' requests \
		'WAL frms' 'WAL B' 'DB B' 'io B'
	printf '%s\n' "${LEDGER_ROWS[@]}"
}

# ------------------------------------------------------------ streams

# start_apache: apache-example.conf rendered as the e2e tests do (every
# @PLACEHOLDER@ filled), its mod_proxy_fcgi variant, with thread and backlog
# limits raised for BENCH_STREAMS, and a standalone routstr.fcgi on
# $TMP/apache/fcgi.sock (run as this user: it shares the bench database).
# Sets APACHE_URL; returns 1 when something does not come up.
start_apache() {
	local d=$TMP/apache port text name t m i
	mkdir -p "$d"
	chmod 755 "$d"
	chmod 711 "$TMP"	# Apache's children (www-data) reach the socket through it
	port=$(free_port)
	text=$(<"$APACHE_CONF_SRC")
	for kv in "PORT=$port" "RUNDIR=$d" "FCGI_BIN=$FCGI" "UPSTREAM=$MOCK_URL/v1" \
	    "UPSTREAM_API_KEY=sk-mock-provider-key" "MAX_BODY_BYTES=16777216" "WORKERS=$BENCH_WORKERS" \
	    "MOUNT="; do
		name=${kv%%=*}
		text=${text//@"$name"@/${kv#*=}}
	done
	if [[ $text =~ @[A-Z_]+@ ]]; then
		note "apache-example.conf: no value for placeholder ${BASH_REMATCH[0]}"
		return 1
	fi
	# Threads for every stream plus a margin: the example's 64 would leave
	# the rest in the listen queue. ServerLimit stays 1 (the example's
	# one pool of connections to routstr, one per thread: max= follows).
	t=$(( STREAMS_MAX + 64 > 64 ? STREAMS_MAX + 64 : 64 ))
	text=${text//enablereuse=on max=64 /enablereuse=on max=$t }
	APACHE_CONF=$d/apache.conf
	{
		echo "$text"
		echo
		echo "# ---- added by tests/bench/bench.sh: room for $STREAMS_MAX concurrent streams"
		echo '<IfDefine ROUTSTR_PROXY_FCGI>'
		echo "ThreadLimit $t"
		echo "ThreadsPerChild $t"
		echo "MaxRequestWorkers $t"
		echo "MaxSpareThreads $t"
		echo '</IfDefine>'
		echo 'ListenBacklog 4096'
	} >"$APACHE_CONF"
	env ROUTSTR_CONFIG="$TMP/routstr.conf" ${BENCH_LOG_LEVEL:+"LOG_LEVEL=$BENCH_LOG_LEVEL"} \
		"$FCGI" -s "unix:$d/fcgi.sock" -w "$BENCH_WORKERS" -c "$TMP/routstr.conf" \
		>>"$d/routstr.out" 2>&1 &
	APACHE_DAEMON_PID=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $d/fcgi.sock ]] && break
		kill -0 "$APACHE_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [[ ! -S $d/fcgi.sock ]]; then
		note "routstr.fcgi -s unix:$d/fcgi.sock did not create its socket"
		tail -n 20 "$d/routstr.out" >&2 2>/dev/null || true
		return 1
	fi
	if ! "$APACHE" -f "$APACHE_CONF" -D ROUTSTR_PROXY_FCGI -k start >"$d/start.out" 2>&1; then
		cat "$d/start.out" >&2
		note "apache2 -k start failed"
		return 1
	fi
	APACHE_URL="http://127.0.0.1:$port"
	if ! wait_http "$APACHE_URL/health" 15; then
		note "Apache + routstr.fcgi did not answer GET /health with 200 within 15 s"
		tail -n 20 "$d/apache-error.log" >&2 2>/dev/null || true
		return 1
	fi
}

# Why Apache rows cannot run here ("" when they can).
apache_missing() {
	local m
	[[ -n $APACHE ]] || { echo "apache2 is not installed"; return; }
	[[ -f $APACHE_CONF_SRC ]] || { echo "$APACHE_CONF_SRC not found"; return; }
	for m in mod_mpm_event.so mod_authz_core.so mod_proxy.so mod_proxy_fcgi.so; do
		[[ -f $APACHE_MODULES/$m ]] || { echo "$APACHE_MODULES/$m not found"; return; }
	done
	# The config switches to User www-data, which needs root.
	(( EUID == 0 )) || echo "not root (Apache switches to www-data)"
}

# run_streams LABEL N URL [KEY [API]]: streams.mjs; a row for the streams
# table. With a key, the requests are paid and routstr.fcgi's RSS is
# sampled. API is chat (default), responses or messages; the added time to
# first token is against the direct row of the same API and N.
STREAM_ROWS=()
declare -A D_TTFT50 D_TTFT99 D_TTFTMAX
run_streams() {
	local label=$1 n=$2 url=$3 key=${4:-} api=${5:-chat} line kv args a50 a99 rss
	args=(--url "$url" --n "$n" --seconds "$BENCH_STREAM_SECONDS"
		--timeout "$BENCH_STREAM_TIMEOUT" --tokens "$STREAM_TOKENS" --api "$api")
	[[ -n $key ]] && args+=(--key "$key" --fcgi "$FCGI")
	note "measuring $label: $n streams of ${BENCH_STREAM_SECONDS}s (timeout ${BENCH_STREAM_TIMEOUT}s)"
	line=$(node "$STREAMS_JS" "${args[@]}" 2>>"$TMP/streams.err" | grep '^STREAMS ' | tail -n 1) || true
	if [[ -z $line ]]; then
		STREAM_ROWS+=("$(printf '%-26s %5d  no result (see %s)' "$label" "$n" "$TMP/streams.err")")
		return 0
	fi
	local T_completed=0 T_timed_out=0 T_status_other=0 T_errors=0 T_first_token=0
	local T_ttft_p50_ms=inf T_ttft_p99_ms=inf T_ttft_max_ms=inf T_chunks_per_event=nan
	local T_rss_peak_kib=0 T_statuses=-
	for kv in ${line#STREAMS }; do
		case ${kv%%=*} in
		completed|timed_out|status_other|errors|first_token|ttft_p50_ms|ttft_p99_ms|\
		ttft_max_ms|chunks_per_event|rss_peak_kib|statuses)
			printf -v "T_${kv%%=*}" '%s' "${kv#*=}" ;;
		esac
	done
	if [[ -z $key ]]; then
		D_TTFT50[$api:$n]=$T_ttft_p50_ms D_TTFT99[$api:$n]=$T_ttft_p99_ms
		D_TTFTMAX[$api:$n]=$T_ttft_max_ms
		a50=- a99=- rss=-
	else
		a50=$(added "$T_ttft_p50_ms" "${D_TTFT50[$api:$n]:-inf}")
		a99=$(added "$T_ttft_p99_ms" "${D_TTFT99[$api:$n]:-inf}")
		rss=$(calc "$T_rss_peak_kib / 1024" %.1f)
		STREAM_RSS[$label:$n]=$T_rss_peak_kib
		STREAM_OK[$label:$n]="$T_completed $T_first_token $T_ttft_max_ms"
	fi
	if [[ $T_statuses != 200:"$n" ]]; then
		STREAM_NOTES+=("$label, $n streams: HTTP statuses $T_statuses (status:count; the rest had no answer)")
	fi
	STREAM_ROWS+=("$(printf '%-26s %5d %5d %6d %7d %6d %6d %9s %9s %9s %9s %7s %8s' \
		"$label" "$n" "$T_completed" "$T_first_token" "$T_timed_out" "$T_status_other" \
		"$T_errors" "$T_ttft_p50_ms" "$T_ttft_p99_ms" "$a50" "$a99" "$T_chunks_per_event" "$rss")")
}
declare -A STREAM_RSS STREAM_OK

# added A B: A - B in ms with a sign, or "inf" when either is not finite.
added() {
	if [[ $1 == inf || $2 == inf ]]; then
		echo inf
	else
		calc "$1 - $2" %+.1f
	fi
}

print_streams() {
	printf '%-26s %5s %5s %6s %7s %6s %6s %9s %9s %9s %9s %7s %8s\n' \
		"streams (${BENCH_STREAM_SECONDS}s each)" N 'done' 1st-tk timeout other errors \
		'ttft p50' 'ttft p99' '+p50 ms' '+p99 ms' 'chk/ev' 'RSS MiB'
	printf '%s\n' "${STREAM_ROWS[@]}"
}

# bench_streams: for each N, direct, lighttpd, then Apache mod_proxy_fcgi,
# each server started fresh for its row and stopped after it.
STREAM_NOTES=()
bench_streams() {
	local n why
	why=$(apache_missing)
	[[ -n $why ]] && STREAM_NOTES+=("Apache rows not measured: $why")
	for n in "${STREAMS[@]}"; do
		run_streams "direct (mock)" "$n" "$MOCK_URL"
		run_streams "direct, /v1/responses" "$n" "$MOCK_URL" "" responses
		run_streams "direct, /v1/messages" "$n" "$MOCK_URL" "" messages
		if start_proxy; then
			run_streams "lighttpd + routstr" "$n" "$PROXY_URL" "$SK_KEY"
			# The other streaming APIs, through the same engine.
			run_streams "lighttpd, /v1/responses" "$n" "$PROXY_URL" "$SK_KEY" responses
			run_streams "lighttpd, /v1/messages" "$n" "$PROXY_URL" "$SK_KEY" messages
		else
			STREAM_NOTES+=("lighttpd did not start for $n streams")
		fi
		stop_proxy
		if [[ -z $why ]]; then
			if start_apache; then
				run_streams "apache proxy_fcgi+routstr" "$n" "$APACHE_URL" "$SK_KEY"
			else
				STREAM_NOTES+=("Apache did not start for $n streams")
			fi
			stop_apache
		fi
	done
}

# bench_proxy: everything behind routstr. Returns 1 when a server needed for
# it did not start (the caller prints the report, then exits 1).
SYNC_DEFAULT=
AUDIT_LINE=
bench_proxy() {
	local ctl c mode
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
	mode=${SYNC_DEFAULT%% *}
	mode=${mode:-default}

	start_proxy || return 1
	echo "proxy: $PROXY_URL (lighttpd $(lighttpd -v 2>/dev/null | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p' | head -n 1), $FCGI, WORKERS=$BENCH_WORKERS)"
	echo "test mint: $MINT_URL"

	if run_wrk "health" "$PROXY_URL" "$C0" BENCH_GET=/health; then
		add_row "GET /health (fcgi floor)" "" "$C0"
	fi

	if fund_key; then
		key_info
		echo "bench key: funded with $BENCH_SATS sats, balance ${K_balance:-?} msat"
		echo "SQLite synchronous mode, first paid rows: ${SYNC_DEFAULT:-the product default (routstrctl not found)}"
		for c in "${CONNS[@]}"; do
			bench_paid "paid sync=$mode" "paid-$mode:$c" "$c"
		done
		bench_ledger "$mode"
		stop_proxy
		start_proxy full || return 1
		echo "SQLite synchronous mode, second paid rows: full (DB_SYNCHRONOUS=full, lighttpd restarted on $PROXY_URL)"
		for c in "${CONNS[@]}"; do
			bench_paid "paid sync=full" "paid-full:$c" "$c"
		done
		bench_ledger full
		stop_proxy
		if ((${#STREAMS[@]})); then
			bench_streams
		fi
	else
		PAID_LINES+=("paid path: not measured (no funded key, see the messages above)")
		stop_proxy
	fi

	if [[ -x $ctl ]]; then
		AUDIT_LINE=$(DATABASE_URL="sqlite:///$TMP/bench.db" CASHU_MINTS="$MINT_URL" \
			"$ctl" -c "$TMP/routstr.conf" audit 2>&1 | tail -n 1 || true)
	else
		AUDIT_LINE="not run: $ctl not found (set ROUTSTRCTL)"
	fi
	PAID_MODE=$mode
}

SETUP_FAILED=0
PROXY_NOTE=
PAID_MODE=
if ! find_fcgi; then
	PROXY_NOTE="routstr.fcgi not found (looked at ${ROUTSTR_FCGI:-$BUILD_DIR/routstr.fcgi and $SRC_DIR/routstr.fcgi}); build it (make) or set ROUTSTR_FCGI; only the direct and nginx rows are measured"
elif ! command -v lighttpd >/dev/null 2>&1; then
	PROXY_NOTE="lighttpd is not installed; only the direct and nginx rows are measured"
elif ! bench_proxy; then
	SETUP_FAILED=1
	PROXY_NOTE="a server did not start (see above); the rows not shown were not measured"
fi

# ------------------------------------------------------------ report

# ratio_lines: each nginx and paid row against nginx and the direct mock at
# the same connection count.
ratio_lines() {
	local c k kind
	for c in "${CONNS[@]}"; do
		if [[ -n ${RPS[nginx:$c]:-} && -n ${RPS[direct:$c]:-} ]]; then
			echo "nginx c$c: $(calc "${RPS[nginx:$c]} / ${RPS[direct:$c]}")x direct req/s;" \
				"added latency over direct p50 $(calc "(${P50[nginx:$c]} - ${P50[direct:$c]}) / 1000" %+.3f) ms," \
				"p99 $(calc "(${P99[nginx:$c]} - ${P99[direct:$c]}) / 1000" %+.3f) ms"
		fi
	done
	for kind in "paid-$PAID_MODE" paid-full; do
		for c in "${CONNS[@]}"; do
			k=$kind:$c
			[[ -n ${RPS[$k]:-} && -n ${RPS[direct:$c]:-} ]] || continue
			echo "${kind/-/ sync=} c$c:" \
				"$([[ -n ${RPS[nginx:$c]:-} ]] && echo "$(calc "${RPS[$k]} / ${RPS[nginx:$c]}")x nginx req/s,")" \
				"$(calc "${RPS[$k]} / ${RPS[direct:$c]}")x direct;" \
				"added latency over direct p50 $(calc "(${P50[$k]} - ${P50[direct:$c]}) / 1000" %+.3f) ms," \
				"p99 $(calc "(${P99[$k]} - ${P99[direct:$c]}) / 1000" %+.3f) ms"
		done
	done
}

# met COND: "met" or "missed" for an awk condition.
met() {
	awk "BEGIN { print (($1) ? \"met\" : \"missed\") }"
}

# target_lines: the figures against issue 8's targets (reported, never
# enforced).
target_lines() {
	local k=paid-$PAID_MODE:$C0 r a n l rss c1 ft mx slack m api
	if [[ -n ${RPS[$k]:-} && -n ${RPS[nginx:$C0]:-} ]]; then
		r=$(calc "${RPS[$k]} / ${RPS[nginx:$C0]}")
		echo "target: paid >= 0.5x nginx req/s at $C0 connections: ${r}x ($(met "$r >= 0.5"))"
	fi
	if [[ -n ${RPS[$k]:-} && -n ${RPS[direct:$C0]:-} ]]; then
		a=$(calc "(${P50[$k]} - ${P50[direct:$C0]}) / 1000")
		echo "target: paid adds <= 0.5 ms at p50 over direct at $C0 connections: ${a} ms ($(met "$a <= 0.5"))"
	fi
	for m in "$PAID_MODE" full; do
		[[ -n ${L_FRAMES[$m]:-} ]] || continue
		echo "target: <= 8 page writes and <= 400 DB bytes per paid request, sync=$m:" \
			"${L_FRAMES[$m]} WAL frames ($(met "${L_FRAMES[$m]} <= 8")), ${L_DBB[$m]} B ($(met "${L_DBB[$m]} <= 400"))"
	done
	# One event interval of the mock: a stream that waited for another
	# stream to end would be a whole stream (seconds) late.
	slack=$(( BENCH_STREAM_SECONDS * 1000 / (STREAM_TOKENS + 2) ))
	for l in "lighttpd + routstr" "lighttpd, /v1/responses" "lighttpd, /v1/messages" \
	    "apache proxy_fcgi+routstr"; do
		[[ -n ${STREAM_RSS[$l:$STREAMS_MAX]:-} ]] || continue
		n=$STREAMS_MAX
		case $l in
		*responses) api=responses ;;
		*messages) api=messages ;;
		*) api=chat ;;
		esac
		rss=$(calc "${STREAM_RSS[$l:$n]} / 1024" %.1f)
		read -r c1 ft mx <<<"${STREAM_OK[$l:$n]}"
		# The RSS says little when most streams never reached routstr.
		echo "target: $n streams via $l with <= 64 MiB total routstr.fcgi RSS: $rss MiB ($(met "$rss <= 64")," \
			"while $ft of the $n streams were served); $c1/$n completed;" \
			"every first token within ${slack} ms of the slowest direct one (max ${mx} ms vs ${D_TTFTMAX[$api:$n]:-inf} ms):" \
			"$([[ $ft == "$n" && $mx != inf && ${D_TTFTMAX[$api:$n]:-inf} != inf ]] && met "$mx <= ${D_TTFTMAX[$api:$n]} + $slack" || echo missed)"
	done
}

echo
print_table
[[ -n $NGINX_NOTE ]] && echo "$NGINX_NOTE"
[[ -n $PROXY_NOTE ]] && echo "$PROXY_NOTE"
if ((${#LEDGER_ROWS[@]})); then
	echo
	print_ledger
fi
if ((${#STREAM_ROWS[@]})); then
	echo
	print_streams
fi
if ((${#STREAM_NOTES[@]})); then
	printf '%s\n' "${STREAM_NOTES[@]}"
fi
echo
ratio_lines
if ((${#PAID_LINES[@]})); then
	printf '%s\n' "${PAID_LINES[@]}"
fi
[[ -n $AUDIT_LINE ]] && echo "routstrctl audit: $AUDIT_LINE"
target_lines
echo "bench: $SECONDS s in all"
exit "$SETUP_FAILED"
