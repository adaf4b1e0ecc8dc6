#!/bin/sh
# Run every end-to-end test (tests/e2e/*.test.mjs) with node's test runner, one
# file at a time, from the tests directory (where node_modules is). The exit
# status is node's: non-zero when any test failed.
#
#   tests/e2e/run.sh                 # from the build dir (make check) or anywhere
#   ROUTSTR_FCGI=/path/routstr.fcgi tests/e2e/run.sh
#   ROUTSTR_E2E_REQUIRED=1 ...       # missing lighttpd/apache2/binary = failure
#   tests/e2e/run.sh foundation      # only files whose name contains "foundation"
set -u

here=$(cd "$(dirname "$0")" && pwd)
tests_dir=$(dirname "$here")

# The binary: $ROUTSTR_FCGI, else routstr.fcgi in the directory we were
# started from (the build dir under make), else the harness's own fallback
# (the top of the source tree).
if [ -z "${ROUTSTR_FCGI:-}" ] && [ -x "$PWD/routstr.fcgi" ]; then
	ROUTSTR_FCGI="$PWD/routstr.fcgi"
	export ROUTSTR_FCGI
fi

if ! command -v node >/dev/null 2>&1; then
	echo "run.sh: node not found" >&2
	if [ -n "${ROUTSTR_E2E_REQUIRED:-}" ]; then exit 1; fi
	exit 77	# automake's "skipped"
fi
if [ ! -d "$tests_dir/node_modules/openai" ]; then
	echo "run.sh: $tests_dir/node_modules is missing (cd tests && npm ci)" >&2
	if [ -n "${ROUTSTR_E2E_REQUIRED:-}" ]; then exit 1; fi
	exit 77
fi

cd "$tests_dir" || exit 1
files=""
for f in e2e/*.test.mjs; do
	case "$f" in
	*"${1:-}"*) files="$files $f" ;;
	esac
done
if [ -z "$files" ]; then
	echo "run.sh: no test file matches '${1:-}'" >&2
	exit 1
fi
echo "run.sh: routstr.fcgi = ${ROUTSTR_FCGI:-(harness default)}"
# shellcheck disable=SC2086
node --test --test-concurrency=1 $files
