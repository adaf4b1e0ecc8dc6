# The model catalogue, the BTC/USD price cache and GET /v1/models, with their
# unit tests. Included by Makefile.am (after handlers/local.mk, which sets
# HANDLER_SOURCES). The schema is migrations/0004_catalog.sql (listed in
# migrations/local.mk).
libroutstr_a_SOURCES += \
	lib/catalog.c lib/catalog.h \
	lib/price.c lib/price.h

HANDLER_SOURCES += handlers/models.c

check_PROGRAMS += tests/unit/test_catalog tests/unit/test_price
tests_unit_test_catalog_SOURCES = tests/unit/test_catalog.c
tests_unit_test_catalog_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_catalog_LDADD = $(UNIT_LIBS)
tests_unit_test_price_SOURCES = tests/unit/test_price.c
tests_unit_test_price_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_price_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_catalog tests/unit/test_price
