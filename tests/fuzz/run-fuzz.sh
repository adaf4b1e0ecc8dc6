#!/bin/sh
# run-fuzz.sh: fuzz one harness for a bounded time in `make check`. The
# test driver of the .fuzz tests (TEST_EXTENSIONS in tests/local.mk):
#
#	run-fuzz.sh tests/fuzz/NAME.fuzz
#
# NAME.fuzz says what a clang build of the harness needs (fuzz_sources,
# fuzz_headers, fuzz_pkgs) and fuzz_max_len; next to it are NAME.dict, a
# libFuzzer dictionary, and corpus/NAME/, the seeds.
#
# Uses, in order of preference:
#   1. tests/fuzz/fuzz_NAME, built by make with libFuzzer (CC=clang);
#   2. a libFuzzer build this script makes itself with clang, cached as
#      tests/fuzz/fuzz_NAME-clang in the build tree (the usual case when
#      configure picked gcc);
#   3. tests/fuzz/fuzz_NAME_replay: the harness with a plain driver that
#      replays the corpus and mutates it at random for the same time.
# The committed seed corpus is copied to a temporary directory first, so
# inputs the fuzzer finds never land in the source tree.
# Environment: FUZZ_SECONDS (default 20; 0 only replays the corpus),
# srcdir (set by automake), CLANG (default clang), KEEP_FUZZ_DIR=1 keeps the
# work directory. Exit status: 0 clean, 1 a finding (the input is printed and
# kept), 2 misuse, 77 never (a missing fuzzer falls back to the driver, not
# a skip).
set -u

srcdir=${srcdir:-.}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
CLANG=${CLANG:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	echo "usage: run-fuzz.sh tests/fuzz/NAME.fuzz" >&2
	exit 2
fi
desc=$1
case $desc in */*) ;; *) desc=./$desc ;; esac
name=$(basename "$desc" .fuzz)
fuzz_sources= fuzz_headers= fuzz_pkgs= fuzz_max_len=8192
# shellcheck disable=SC1090
. "$desc"

case $FUZZ_SECONDS in
''|*[!0-9]*) echo "run-fuzz: FUZZ_SECONDS must be a whole number" >&2; exit 2 ;;
esac
if [ "$FUZZ_SECONDS" -gt 3600 ]; then
	echo "run-fuzz: FUZZ_SECONDS capped at 3600" >&2
	FUZZ_SECONDS=3600
fi

corpus_src=$srcdir/tests/fuzz/corpus/$name
if [ ! -d "$corpus_src" ]; then
	echo "run-fuzz: no seed corpus at $corpus_src" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/routstr-fuzz-$name.XXXXXX") || exit 1
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
dict=
if [ -f "$srcdir/tests/fuzz/$name.dict" ]; then
	dict=-dict=$srcdir/tests/fuzz/$name.dict
fi

# Pick the fuzzer.
fuzzer=
if [ -x "tests/fuzz/fuzz_$name" ]; then
	fuzzer=tests/fuzz/fuzz_$name
elif command -v "$CLANG" >/dev/null 2>&1 && [ -f config.h ]; then
	out=tests/fuzz/fuzz_$name-clang
	srcs= hdrs= pkg_cflags= pkg_libs=
	for f in $fuzz_sources; do srcs="$srcs $srcdir/$f"; done
	for f in $fuzz_headers; do hdrs="$hdrs $srcdir/$f"; done
	if [ -n "$fuzz_pkgs" ]; then
		# shellcheck disable=SC2086
		pkg_cflags=$("$PKG_CONFIG" --cflags $fuzz_pkgs)
		# shellcheck disable=SC2086
		pkg_libs=$("$PKG_CONFIG" --libs $fuzz_pkgs)
	fi
	stale=1
	if [ -x "$out" ]; then
		stale=0
		for f in $srcs $hdrs "$desc"; do
			[ -n "$(find "$f" -newer "$out" 2>/dev/null)" ] && stale=1
		done
	fi
	if [ $stale = 1 ]; then
		mkdir -p tests/fuzz
		echo "run-fuzz: building $out with $CLANG -fsanitize=fuzzer,address,undefined"
		# shellcheck disable=SC2086
		if "$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
		    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		    -I. -I"$srcdir" -I"$srcdir/lib" $pkg_cflags \
		    -o "$out.tmp" $srcs $pkg_libs 2>"$work/build.log"; then
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
	if [ ! -x "tests/fuzz/fuzz_${name}_replay" ]; then
		echo "run-fuzz: tests/fuzz/fuzz_${name}_replay is not built" >&2
		exit 1
	fi
	echo "run-fuzz: no libFuzzer; replaying $nseeds seeds and mutating for ${FUZZ_SECONDS}s"
	"tests/fuzz/fuzz_${name}_replay" -t "$FUZZ_SECONDS" "$work/corpus"
	exit $?
fi

if [ "$FUZZ_SECONDS" = 0 ]; then
	set -- -runs=0
else
	set -- -max_total_time="$FUZZ_SECONDS"
fi
echo "run-fuzz: $fuzzer on $nseeds seeds for ${FUZZ_SECONDS}s"
# shellcheck disable=SC2086
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$fuzzer" "$@" -max_len="$fuzz_max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 $dict -artifact_prefix="$work/" "$work/corpus" \
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
