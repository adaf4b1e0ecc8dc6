# lib/cashu/wallet.mk: the Cashu mint client (mint.c) and the write-ahead
# wallet store (wallet.c), with their tests. Included from Makefile.am.
# routstrctl's decode-token and wallet commands live in cli/cmd_cashu.c
# (listed in cli/local.mk's CLI_COMMANDS); the schema is
# migrations/0003_cashu.sql (listed in migrations/local.mk).
libroutstr_a_SOURCES += \
	lib/cashu/mint.c lib/cashu/mint.h \
	lib/cashu/wallet.c lib/cashu/wallet.h

# test_cashu_wallet: no network. test_cashu_mint: against the Node test mint
# (tests/fakes/mint/mint.mjs, started per test on port 0; NODE overrides
# the node binary; exits 77 = skipped when there is no node).
check_PROGRAMS += tests/unit/test_cashu_wallet tests/unit/test_cashu_mint
TESTS += tests/unit/test_cashu_wallet tests/unit/test_cashu_mint
tests_unit_test_cashu_wallet_SOURCES = tests/unit/test_cashu_wallet.c
tests_unit_test_cashu_wallet_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cashu_wallet_LDADD = $(UNIT_LIBS)
tests_unit_test_cashu_mint_SOURCES = tests/unit/test_cashu_mint.c
tests_unit_test_cashu_mint_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cashu_mint_LDADD = $(UNIT_LIBS)
