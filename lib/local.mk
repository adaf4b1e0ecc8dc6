# lib/: config, log, db, buffers, upstream relay, SSE framing, LNURL-pay client,
# HTML templates, the operator's credentials.
libroutstr_a_SOURCES += \
	lib/util.c lib/util.h \
	lib/buf.c lib/buf.h \
	lib/err.c lib/err.h \
	lib/conf.c lib/conf.h \
	lib/log.c lib/log.h \
	lib/owner.c lib/owner.h \
	lib/db.c lib/db.h lib/db_sql.h \
	lib/sse.c lib/sse.h \
	lib/upstream.c lib/upstream.h \
	lib/json.c lib/json.h \
	lib/usage.c lib/usage.h \
	lib/providers.c lib/providers.h \
	lib/cron.c lib/cron.h \
	lib/lnurl.c lib/lnurl.h \
	lib/mount.c lib/mount.h \
	lib/template.c lib/template.h \
	lib/admin_auth.c lib/admin_auth.h \
	lib/report.c lib/report.h \
	lib/settings.c lib/settings.h

# Fuzzing the mount (tests/local.mk runs the .fuzz tests), as for the token
# decoder (lib/cashu/local.mk): the replay driver always, the libFuzzer build
# with CC=clang; tests/fuzz/mount.fuzz is the test, tests/fuzz/corpus/mount
# the seeds (what the servers pass, as in tests/unit/test_mount.c).
check_PROGRAMS += tests/fuzz/fuzz_mount_replay
tests_fuzz_fuzz_mount_replay_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz_mount.c
tests_fuzz_fuzz_mount_replay_LDADD = $(LIB_LIBS)

if HAVE_LIBFUZZER
check_PROGRAMS += tests/fuzz/fuzz_mount
tests_fuzz_fuzz_mount_SOURCES = tests/fuzz/fuzz_mount.c lib/mount.c lib/util.c
tests_fuzz_fuzz_mount_CFLAGS = $(AM_CFLAGS) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
tests_fuzz_fuzz_mount_LDFLAGS = -fsanitize=fuzzer,address,undefined
endif

TESTS += tests/fuzz/mount.fuzz
EXTRA_DIST += tests/fuzz/mount.fuzz tests/fuzz/mount.dict tests/fuzz/corpus/mount
CLEANFILES += tests/fuzz/fuzz_mount-clang
