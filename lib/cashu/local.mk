# lib/cashu/: token codec, BDHKE crypto, mint client, wallet store.
libroutstr_a_SOURCES += \
	lib/cashu/b64.c lib/cashu/b64.h \
	lib/cashu/crypto.c lib/cashu/crypto.h \
	lib/cashu/token.c lib/cashu/token.h

# The unit tests read the official vectors at run time (tl_vectors():
# tests/data/cashu_vectors.json, or env CASHU_VECTORS). A missing file fails
# them.
check_PROGRAMS += tests/unit/test_cashu_crypto tests/unit/test_cashu_token
TESTS += tests/unit/test_cashu_crypto tests/unit/test_cashu_token

tests_unit_test_cashu_crypto_SOURCES = tests/unit/test_cashu_crypto.c
tests_unit_test_cashu_crypto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cashu_crypto_LDADD = $(UNIT_LIBS)

tests_unit_test_cashu_token_SOURCES = tests/unit/test_cashu_token.c
tests_unit_test_cashu_token_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cashu_token_LDADD = $(UNIT_LIBS)

# Fuzzing (tests/local.mk runs the .fuzz tests). The replay driver is always
# built: run-fuzz.sh falls back to it when there is no libFuzzer. With
# CC=clang (HAVE_LIBFUZZER) the real libFuzzer binary is built here, from the
# sources themselves so that they carry the coverage instrumentation; with
# gcc, run-fuzz.sh builds it with clang on its own (tests/fuzz/fuzz_token-clang)
# from the sources tests/fuzz/token.fuzz lists.
check_PROGRAMS += tests/fuzz/fuzz_token_replay
tests_fuzz_fuzz_token_replay_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz_token.c
tests_fuzz_fuzz_token_replay_LDADD = $(LIB_LIBS)

if HAVE_LIBFUZZER
check_PROGRAMS += tests/fuzz/fuzz_token
tests_fuzz_fuzz_token_SOURCES = tests/fuzz/fuzz_token.c \
	lib/cashu/token.c lib/cashu/b64.c lib/buf.c lib/util.c
tests_fuzz_fuzz_token_CFLAGS = $(AM_CFLAGS) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
tests_fuzz_fuzz_token_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_token_LDADD = $(JSONC_LIBS) $(CBOR_LIBS)
endif

TESTS += tests/fuzz/token.fuzz
EXTRA_DIST += tests/fuzz/token.fuzz tests/fuzz/token.dict tests/fuzz/corpus/token
CLEANFILES += tests/fuzz/fuzz_token-clang
