# multipart/form-data (lib/multipart: boundary, parser, field lookup and
# replacement) and its unit test. Included by Makefile.am. The test reads the
# bodies real clients wrote, tests/data/multipart/.
libroutstr_a_SOURCES += lib/multipart.c lib/multipart.h

check_PROGRAMS += tests/unit/test_multipart
TESTS += tests/unit/test_multipart
tests_unit_test_multipart_SOURCES = tests/unit/test_multipart.c
tests_unit_test_multipart_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_multipart_LDADD = $(UNIT_LIBS)
