# tests/: Check unit suites (one per lib/ module) and the end-to-end suite.
# Every suite links the test library (tests/unit/testlib.h: main(), temporary
# directory, migrated database, test data) and defines only suite() and its
# cases; tests/unit/README says how to add one.
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
UNIT_LIBS = tests/unit/libtestlib.a $(LIB_LIBS) $(CHECK_LIBS)

check_LIBRARIES = tests/unit/libtestlib.a
tests_unit_libtestlib_a_SOURCES = tests/unit/testlib.c tests/unit/testlib.h
tests_unit_libtestlib_a_CFLAGS = $(UNIT_CFLAGS)
EXTRA_DIST += tests/unit/README

check_PROGRAMS += tests/unit/test_conf tests/unit/test_log tests/unit/test_router \
	tests/unit/test_db tests/unit/test_sse tests/unit/test_lnurl tests/unit/test_template \
	tests/unit/test_admin_auth tests/unit/test_mount
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_LDADD = $(UNIT_LIBS)
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_log_LDADD = $(UNIT_LIBS)
tests_unit_test_router_SOURCES = tests/unit/test_router.c fcgi/router.c
tests_unit_test_router_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_router_LDADD = $(UNIT_LIBS)
tests_unit_test_db_SOURCES = tests/unit/test_db.c
tests_unit_test_db_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_db_LDADD = $(UNIT_LIBS)
tests_unit_test_sse_SOURCES = tests/unit/test_sse.c
tests_unit_test_sse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sse_LDADD = $(UNIT_LIBS)
tests_unit_test_lnurl_SOURCES = tests/unit/test_lnurl.c
tests_unit_test_lnurl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lnurl_LDADD = $(UNIT_LIBS)
tests_unit_test_template_SOURCES = tests/unit/test_template.c
tests_unit_test_template_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_template_LDADD = $(UNIT_LIBS)
tests_unit_test_admin_auth_SOURCES = tests/unit/test_admin_auth.c
tests_unit_test_admin_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_admin_auth_LDADD = $(UNIT_LIBS)
tests_unit_test_mount_SOURCES = tests/unit/test_mount.c
tests_unit_test_mount_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mount_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_conf tests/unit/test_log tests/unit/test_router \
	tests/unit/test_db tests/unit/test_sse tests/unit/test_lnurl tests/unit/test_template \
	tests/unit/test_admin_auth tests/unit/test_mount

# Fuzzing: a test tests/fuzz/NAME.fuzz (added by the local.mk of the module it
# fuzzes, with its harness's programs) is run by run-fuzz.sh, which fuzzes
# tests/fuzz/fuzz_NAME* from the seeds in tests/fuzz/corpus/NAME for
# FUZZ_SECONDS (default 20).
TEST_EXTENSIONS = .fuzz
FUZZ_LOG_COMPILER = $(SHELL) $(srcdir)/tests/fuzz/run-fuzz.sh
EXTRA_DIST += tests/fuzz/run-fuzz.sh

# End-to-end: the real binaries under real lighttpd and Apache (node:test).
if E2E_TESTS
TESTS += tests/e2e/run.sh
endif
AM_TESTS_ENVIRONMENT = \
	ROUTSTR_FCGI='$(abs_top_builddir)/routstr.fcgi'; export ROUTSTR_FCGI; \
	ROUTSTRCTL='$(abs_top_builddir)/routstrctl'; export ROUTSTRCTL; \
	TOP_SRCDIR='$(abs_top_srcdir)'; export TOP_SRCDIR; \
	CK_DEFAULT_TIMEOUT=60; export CK_DEFAULT_TIMEOUT;
EXTRA_DIST += tests/data tests/e2e tests/fakes tests/bench tests/package.json tests/package-lock.json

# Benchmark: prints figures, never pass/fail; not part of `make check`.
bench: routstr.fcgi
	ROUTSTR_FCGI='$(abs_top_builddir)/routstr.fcgi' bash '$(abs_top_srcdir)/tests/bench/bench.sh'
.PHONY: bench

# Run directories, artifacts (screenshots) and results of the end-to-end
# tests stay out of the tarball: an in-tree make check leaves
# tests/e2e/run.sh.log and .trs, which a VPATH build would find through
# VPATH and take as its own, up to date.
dist-hook:
	rm -rf $(distdir)/tests/e2e/.run $(distdir)/tests/e2e/.artifacts $(distdir)/tests/node_modules
	rm -f $(distdir)/tests/e2e/*.log $(distdir)/tests/e2e/*.trs
