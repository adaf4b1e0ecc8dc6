#!/bin/sh
# run-fuzz.sh: fuzz the Cashu token decoder for a bounded time in `make check`.
#
# Uses, in order of preference:
#   1. tests/fuzz/fuzz_token, built by make with libFuzzer (CC=clang);
#   2. a libFuzzer build this script makes itself with clang, cached as
#      tests/fuzz/fuzz_token-clang in the build tree (the usual case when
#      configure picked gcc);
#   3. tests/fuzz/fuzz_token_replay: the harness with a plain driver that
#      replays the corpus and mutates it at random for the same time.
# The committed seed corpus (tests/fuzz/corpus/token) is copied to a temporary
# directory first, so inputs the fuzzer finds never land in the source tree.
# Environment: FUZZ_SECONDS (default 20; 0 only replays the corpus),
# srcdir (set by automake), CLANG (default clang), KEEP_FUZZ_DIR=1 keeps the
# work directory. Exit status: 0 clean, 1 a finding (the input is printed and
# kept), 77 never (a missing fuzzer falls back to the driver, not a skip).
set -u

srcdir=${srcdir:-.}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
CLANG=${CLANG:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

case $FUZZ_SECONDS in
''|*[!0-9]*) echo "run-fuzz: FUZZ_SECONDS must be a whole number" >&2; exit 2 ;;
esac
if [ "$FUZZ_SECONDS" -gt 3600 ]; then
	echo "run-fuzz: FUZZ_SECONDS capped at 3600" >&2
	FUZZ_SECONDS=3600
fi

corpus_src=$srcdir/tests/fuzz/corpus/token
if [ ! -d "$corpus_src" ]; then
	echo "run-fuzz: no seed corpus at $corpus_src" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/routstr-fuzz.XXXXXX") || exit 1
# shellcheck disable=SC2317
cleanup() {
	if [ "${KEEP_FUZZ_DIR:-0}" = 1 ]; then
		echo "run-fuzz: work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$work/corpus"
cp "$corpus_src"/* "$work/corpus/"
nseeds=$(find "$work/corpus" -type f | wc -l)

# A dictionary of the tokens' magic words and CBOR keys.
cat >"$work/token.dict" <<'DICT'
"cashuA"
"cashuB"
"cashu:"
"craw"
"\x61t"
"\x61i"
"\x61p"
"\x61a"
"\x61s"
"\x61c"
"\x61d"
"\x61m"
"\x61u"
"\x61w"
"\x62pe"
"\x9f"
"\xbf"
"\x7f"
"\x5f"
"\xff"
"\x1b\xff\xff\xff\xff\xff\xff\xff\xff"
"\x48\x00"
"\x58\x21\x02"
"\"token\""
"\"proofs\""
"\"amount\""
"\"mint\""
"\"secret\""
"\"dleq\""
"\"witness\""
"\"unit\""
"\"memo\""
"\"id\""
"\"C\""
"18446744073709551615"
"9223372036854775808"
DICT

# Pick the fuzzer.
fuzzer=
if [ -x tests/fuzz/fuzz_token ]; then
	fuzzer=tests/fuzz/fuzz_token
elif command -v "$CLANG" >/dev/null 2>&1 && [ -f config.h ]; then
	out=tests/fuzz/fuzz_token-clang
	srcs="$srcdir/tests/fuzz/fuzz_token.c $srcdir/lib/cashu/token.c
		$srcdir/lib/cashu/b64.c $srcdir/lib/buf.c $srcdir/lib/util.c"
	stale=1
	if [ -x "$out" ]; then
		stale=0
		for f in $srcs "$srcdir/lib/cashu/token.h" "$srcdir/lib/cashu/b64.h" \
		    "$srcdir/lib/buf.h" "$srcdir/lib/util.h"; do
			[ -n "$(find "$f" -newer "$out" 2>/dev/null)" ] && stale=1
		done
	fi
	if [ $stale = 1 ]; then
		mkdir -p tests/fuzz
		echo "run-fuzz: building $out with $CLANG -fsanitize=fuzzer,address,undefined"
		# shellcheck disable=SC2046,SC2086
		if "$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
		    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		    -I. -I"$srcdir" -I"$srcdir/lib" \
		    $("$PKG_CONFIG" --cflags json-c libcbor) \
		    -o "$out.tmp" $srcs \
		    $("$PKG_CONFIG" --libs json-c libcbor) 2>"$work/build.log"; then
			mv "$out.tmp" "$out"
		else
			echo "run-fuzz: clang build failed, using the replay driver:"
			sed 's/^/  /' "$work/build.log" | head -20
			rm -f "$out.tmp"
		fi
	fi
	[ -x "$out" ] && fuzzer=$out
fi

if [ -z "$fuzzer" ]; then
	if [ ! -x tests/fuzz/fuzz_token_replay ]; then
		echo "run-fuzz: tests/fuzz/fuzz_token_replay is not built" >&2
		exit 1
	fi
	echo "run-fuzz: no libFuzzer; replaying $nseeds seeds and mutating for ${FUZZ_SECONDS}s"
	tests/fuzz/fuzz_token_replay -t "$FUZZ_SECONDS" "$work/corpus"
	exit $?
fi

if [ "$FUZZ_SECONDS" = 0 ]; then
	set -- -runs=0
else
	set -- -max_total_time="$FUZZ_SECONDS"
fi
echo "run-fuzz: $fuzzer on $nseeds seeds for ${FUZZ_SECONDS}s"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$fuzzer" "$@" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$work/token.dict" -artifact_prefix="$work/" "$work/corpus" \
    >"$work/fuzz.log" 2>&1
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
cov=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -1)
ncorpus=$(find "$work/corpus" -type f | wc -l)
echo "run-fuzz: ${runs:-?} runs, ${speed:-?} exec/s, corpus $nseeds -> $ncorpus files"
[ -n "$cov" ] && echo "run-fuzz: last status: $cov"

if [ $rc -ne 0 ]; then
	echo "run-fuzz: the fuzzer failed (exit $rc); log tail:"
	tail -60 "$work/fuzz.log" | sed 's/^/  /'
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$a" ] || continue
		echo "run-fuzz: finding $a:"
		od -A d -t x1z "$a" | head -20 | sed 's/^/  /'
		mkdir -p tests/fuzz/findings
		cp "$a" tests/fuzz/findings/
		echo "run-fuzz: kept as tests/fuzz/findings/$(basename "$a")"
	done
	exit 1
fi
exit 0
