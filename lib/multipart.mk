# multipart/form-data (lib/multipart: boundary, parser, field lookup and
# replacement), its unit test and its fuzzer. Included by Makefile.am. The
# unit test reads the bodies real clients wrote, tests/data/multipart/.
libroutstr_a_SOURCES += lib/multipart.c lib/multipart.h

check_PROGRAMS += tests/unit/test_multipart
TESTS += tests/unit/test_multipart
tests_unit_test_multipart_SOURCES = tests/unit/test_multipart.c
tests_unit_test_multipart_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_multipart_LDADD = $(UNIT_LIBS)

# Fuzzing, as for the token decoder (lib/cashu/local.mk): the replay driver
# always, the libFuzzer build with CC=clang; tests/fuzz/multipart.fuzz is the
# test (tests/local.mk), tests/fuzz/corpus/multipart the seeds: the captured
# bodies and the edge cases of test_multipart, each a Content-Type line, '\n'
# and the body.
check_PROGRAMS += tests/fuzz/fuzz_multipart_replay
tests_fuzz_fuzz_multipart_replay_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz_multipart.c
tests_fuzz_fuzz_multipart_replay_LDADD = $(LIB_LIBS)

if HAVE_LIBFUZZER
check_PROGRAMS += tests/fuzz/fuzz_multipart
tests_fuzz_fuzz_multipart_SOURCES = tests/fuzz/fuzz_multipart.c lib/multipart.c lib/util.c
tests_fuzz_fuzz_multipart_CFLAGS = $(AM_CFLAGS) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
tests_fuzz_fuzz_multipart_LDFLAGS = -fsanitize=fuzzer,address,undefined
endif

TESTS += tests/fuzz/multipart.fuzz
EXTRA_DIST += tests/fuzz/multipart.fuzz tests/fuzz/multipart.dict tests/fuzz/corpus/multipart
CLEANFILES += tests/fuzz/fuzz_multipart-clang
