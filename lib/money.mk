# The money core (pricing and the ledger) and its unit tests. Included by
# Makefile.am; the schema is migrations/0002_ledger.sql (listed in
# migrations/local.mk).
libroutstr_a_SOURCES += \
	lib/pricing.c lib/pricing.h \
	lib/ledger.c lib/ledger.h \
	lib/funds.c lib/funds.h \
	lib/lightning.c lib/lightning.h \
	lib/fxswap.c lib/fxswap.h \
	lib/lnout.c lib/lnout.h

check_PROGRAMS += tests/unit/test_pricing tests/unit/test_ledger
tests_unit_test_pricing_SOURCES = tests/unit/test_pricing.c
tests_unit_test_pricing_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pricing_LDADD = $(UNIT_LIBS)
tests_unit_test_ledger_SOURCES = tests/unit/test_ledger.c
tests_unit_test_ledger_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ledger_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_pricing tests/unit/test_ledger

EXTRA_DIST += docs/money.md
