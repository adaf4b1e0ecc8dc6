# lib/relay/: the relay engine, the endpoint descriptions and the cost
# fields (relay.h). The adapter is handlers/proxy.c.
libroutstr_a_SOURCES += \
	lib/relay/relay.h \
	lib/relay/engine.c \
	lib/relay/endpoints.c \
	lib/relay/bill.c \
	lib/relay/upstream_error.c

check_PROGRAMS += tests/unit/test_relay
TESTS += tests/unit/test_relay
tests_unit_test_relay_SOURCES = tests/unit/test_relay.c
tests_unit_test_relay_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_relay_LDADD = $(UNIT_LIBS)
