/* Unit tests for lib/cashu/mint and lib/cashu/wallet without a network: the
 * NUT-02 fee formula, NUT-08 blank counts, amount splitting, proof
 * selection, error-JSON mapping, hostile mint responses (keysets, keys,
 * signatures, DLEQ), token hashing, and the wallet store's schema. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "util.h"
#include "cashu/crypto.h"
#include "cashu/mint.h"
#include "cashu/token.h"
#include "cashu/wallet.h"
#include "testlib.h"

/* ---------------------------------------------------------------- fees */

START_TEST(fee_formula)
{
	ck_assert_uint_eq(mint_fee_from_ppk(0), 0);
	ck_assert_uint_eq(mint_fee_from_ppk(1), 1);
	ck_assert_uint_eq(mint_fee_from_ppk(300), 1);	/* 3 inputs at 100 ppk */
	ck_assert_uint_eq(mint_fee_from_ppk(999), 1);
	ck_assert_uint_eq(mint_fee_from_ppk(1000), 1);	/* 10 inputs: 1 */
	ck_assert_uint_eq(mint_fee_from_ppk(1001), 2);
	ck_assert_uint_eq(mint_fee_from_ppk(1100), 2);	/* 11 inputs: 2 */
	ck_assert_uint_eq(mint_fee_from_ppk(2000), 2);	/* 20 inputs: 2 */
	ck_assert_uint_eq(mint_fee_from_ppk(2100), 3);
	ck_assert_uint_eq(mint_fee_from_ppk(UINT64_MAX), UINT64_MAX / 1000 + 1);
}
END_TEST

START_TEST(blank_outputs)
{
	ck_assert_uint_eq(mint_blank_outputs_for(0), 0);
	ck_assert_uint_eq(mint_blank_outputs_for(1), 1);
	ck_assert_uint_eq(mint_blank_outputs_for(2), 1);
	ck_assert_uint_eq(mint_blank_outputs_for(3), 2);
	ck_assert_uint_eq(mint_blank_outputs_for(1000), 10);
	ck_assert_uint_eq(mint_blank_outputs_for(1024), 10);
	ck_assert_uint_eq(mint_blank_outputs_for(UINT64_MAX), 63);
}
END_TEST

/* ---------------------------------------------------------------- split */

START_TEST(split_powers_of_two)
{
	uint64_t d[32], out[1100];
	size_t i, n;

	for (i = 0; i < 32; i++)
		d[i] = 1ull << i;
	n = wallet_split(13, d, 32, out, 64);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_uint_eq(out[1], 4);
	ck_assert_uint_eq(out[2], 8);
	ck_assert_uint_eq(wallet_split(0, d, 32, out, 64), 0);
	n = wallet_split((1ull << 32) - 1, d, 32, out, 64);
	ck_assert_uint_eq(n, 32);
	for (i = 0; i < 32; i++)
		ck_assert_uint_eq(out[i], 1ull << i);
	/* Above the largest key: the largest repeats. */
	n = wallet_split(12, d, 3, out, 64);
	ck_assert_uint_eq(n, 3);
	ck_assert(out[0] == 4 && out[1] == 4 && out[2] == 4);
	n = wallet_split((1ull << 33) + 5, d, 32, out, 64);
	ck_assert_uint_eq(n, 6);	/* 1, 4, then 2^33 as 4 x 2^31 */
	ck_assert(out[0] == 1 && out[1] == 4 && out[5] == 1ull << 31);
}
END_TEST

START_TEST(split_limits)
{
	uint64_t d[] = { 2, 4, 8 }, out[8];
	uint64_t p2[32], big[2000];
	size_t i;

	for (i = 0; i < 32; i++)
		p2[i] = 1ull << i;
	ck_assert_uint_eq(wallet_split(3, d, 3, out, 8), (size_t)-1);	/* no 1 */
	ck_assert_uint_eq(wallet_split(6, d, 3, out, 8), 2);
	ck_assert_uint_eq(wallet_split(255, p2, 0, out, 8), (size_t)-1);	/* no denominations */
	ck_assert_uint_eq(wallet_split(255, p2, 32, out, 7), (size_t)-1);	/* 8 parts > 7 */
	ck_assert_uint_eq(wallet_split(255, p2, 32, out, 8), 8);
	/* 2^40 with keys up to 2^31 needs 512 outputs */
	ck_assert_uint_eq(wallet_split(1ull << 40, p2, 32, big, 2000), 512);
}
END_TEST

/* ---------------------------------------------------------------- select */

START_TEST(select_exact_and_cover)
{
	struct wallet_coin c[] = { { 64, 0 }, { 32, 0 }, { 4, 0 }, { 1, 0 }, { 16, 0 } };
	size_t ch[8], n;
	uint64_t fee, sum;
	size_t i;

	ck_assert_int_eq(wallet_select(c, 5, 37, true, ch, &n, &fee), 0);
	for (i = 0, sum = 0; i < n; i++)
		sum += c[ch[i]].amount;
	ck_assert_uint_eq(sum, 37);
	ck_assert_uint_eq(fee, 0);
	ck_assert_int_eq(wallet_select(c, 5, 38, true, ch, &n, &fee), -1);	/* no 2 */
	/* Cover: the smallest single coin that covers (64 for 38). */
	ck_assert_int_eq(wallet_select(c, 5, 38, false, ch, &n, &fee), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(c[ch[0]].amount, 64);
	/* More than any coin: the largest coins in turn. */
	ck_assert_int_eq(wallet_select(c, 5, 90, false, ch, &n, &fee), 0);
	for (i = 0, sum = 0; i < n; i++)
		sum += c[ch[i]].amount;
	ck_assert_uint_ge(sum, 90);
	ck_assert_int_eq(wallet_select(c, 5, 118, false, ch, &n, &fee), -1);	/* total 117 */
	ck_assert_int_eq(wallet_select(c, 5, 117, false, ch, &n, &fee), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(wallet_select(c, 0, 1, false, ch, &n, &fee), -1);
}
END_TEST

START_TEST(select_with_fees)
{
	/* 100 ppk each: 117 total; 117 needs all 5 coins -> fee 1 -> fails. */
	struct wallet_coin c[] = { { 64, 100 }, { 32, 100 }, { 4, 100 }, { 1, 100 }, { 16, 100 } };
	size_t ch[8], n, i;
	uint64_t fee, sum;

	ck_assert_int_eq(wallet_select(c, 5, 117, false, ch, &n, &fee), -1);
	ck_assert_int_eq(wallet_select(c, 5, 116, false, ch, &n, &fee), 0);
	ck_assert_uint_eq(fee, 1);
	/* 64 exactly with a fee needs more than the 64 coin. */
	ck_assert_int_eq(wallet_select(c, 5, 64, false, ch, &n, &fee), 0);
	for (i = 0, sum = 0; i < n; i++)
		sum += c[ch[i]].amount;
	ck_assert_uint_ge(sum, 64 + fee);
	ck_assert_uint_eq(fee, 1);
	ck_assert_uint_ge(n, 2);
	/* 1000 ppk coins: each input costs a whole unit. */
	{
		struct wallet_coin d[] = { { 2, 1000 }, { 2, 1000 }, { 2, 1000 } };

		ck_assert_int_eq(wallet_select(d, 3, 1, false, ch, &n, &fee), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_uint_eq(fee, 1);
		ck_assert_int_eq(wallet_select(d, 3, 3, false, ch, &n, &fee), 0);
		ck_assert_uint_eq(n, 3);
		ck_assert_uint_eq(fee, 3);
		ck_assert_int_eq(wallet_select(d, 3, 4, false, ch, &n, &fee), -1);
	}
}
END_TEST

/* ---------------------------------------------------------------- errors */

static enum mint_err
perr(int status, const char *body, struct mint_error *e)
{
	memset(e, 0, sizeof(*e));
	return mint_parse_error(status, body, body ? strlen(body) : 0, e);
}

START_TEST(error_mapping)
{
	static const struct {
		int code;
		enum mint_err kind;
	} tab[] = {
		{ 10001, MINT_E_PROOF_INVALID }, { 11001, MINT_E_SPENT }, { 11002, MINT_E_PENDING },
		{ 11003, MINT_E_OUTPUTS_SIGNED }, { 11004, MINT_E_PENDING }, { 11005, MINT_E_UNBALANCED },
		{ 11006, MINT_E_AMOUNT_LIMIT }, { 11007, MINT_E_REJECTED }, { 11013, MINT_E_UNIT },
		{ 11014, MINT_E_AMOUNT_LIMIT }, { 12001, MINT_E_KEYSET_UNKNOWN },
		{ 12002, MINT_E_KEYSET_INACTIVE }, { 12003, MINT_E_KEYSET_INACTIVE },
		{ 20001, MINT_E_QUOTE_UNPAID }, { 20002, MINT_E_QUOTE_ISSUED },
		{ 20004, MINT_E_PAYMENT_FAILED }, { 20005, MINT_E_PENDING },
		{ 20006, MINT_E_INVOICE_PAID }, { 20007, MINT_E_QUOTE_EXPIRED },
		{ 31004, MINT_E_REJECTED }, { 0, MINT_E_REJECTED }, { 99999, MINT_E_REJECTED },
	};
	struct mint_error e;
	size_t i;
	int k;

	for (i = 0; i < ARRAY_SIZE(tab); i++)
		ck_assert_int_eq(mint_err_of_code(tab[i].code), tab[i].kind);
	ck_assert_int_eq(perr(400, "{\"detail\":\"Token already spent.\",\"code\":11001}", &e),
	    MINT_E_SPENT);
	ck_assert_int_eq(e.code, 11001);
	ck_assert_int_eq(e.http_status, 400);
	ck_assert_ptr_nonnull(strstr(e.detail, "Token already spent."));
	/* text without a code (older mints) */
	ck_assert_int_eq(perr(400, "{\"detail\":\"proofs ALREADY spent\"}", &e), MINT_E_SPENT);
	ck_assert_int_eq(perr(400, "{\"detail\":\"oops\",\"code\":1337}", &e), MINT_E_REJECTED);
	ck_assert_int_eq(perr(429, "{\"detail\":\"slow down\",\"code\":11001}", &e), MINT_E_RATE_LIMITED);
	ck_assert_int_eq(perr(429, NULL, &e), MINT_E_RATE_LIMITED);
	ck_assert_int_eq(perr(503, "<html>bad gateway</html>", &e), MINT_E_UNREACHABLE);
	ck_assert_int_eq(perr(502, "", &e), MINT_E_UNREACHABLE);
	ck_assert_int_eq(perr(500, "{\"detail\":\"x\",\"code\":11001}", &e), MINT_E_SPENT);
	ck_assert_int_eq(perr(404, "not json", &e), MINT_E_REJECTED);
	ck_assert_int_eq(perr(400, "{\"detail\":5,\"code\":\"11001\"}", &e), MINT_E_REJECTED);
	ck_assert_int_eq(perr(400, "{\"detail\":\"x\",\"code\":1.5e4}", &e), MINT_E_REJECTED);
	ck_assert_int_eq(perr(400, "[11001]", &e), MINT_E_REJECTED);
	/* every kind has a name, a message and a rerr */
	for (k = 0; k < MINT_E__MAX; k++) {
		ck_assert_ptr_nonnull(mint_err_name((enum mint_err)k));
		ck_assert_ptr_nonnull(mint_err_message((enum mint_err)k));
		ck_assert(strcmp(mint_err_name((enum mint_err)k), "unknown") != 0);
	}
	ck_assert(mint_err_transient(MINT_E_TIMEOUT));
	ck_assert(mint_err_transient(MINT_E_RATE_LIMITED));
	ck_assert(!mint_err_transient(MINT_E_SPENT));
	ck_assert_int_eq(mint_err_rerr(MINT_E_SPENT), RERR_CONFLICT);
	ck_assert_int_eq(mint_err_rerr(MINT_E_UNREACHABLE), RERR_UPSTREAM);
}
END_TEST

/* ---------------------------------------------------------------- keysets */

#define K1 "03a40f20667ed53513075dc51e715ff2046cad64eb68960632269ba7f0210e38bc"
#define K2 "03fd4ce5a16b65576145949e6f99f445f8249fee17c606b688b504a849cdc452de"
#define K4 "02648eccfa4c026960966276fa5a4cae46ce0fd432211a4f449bf84f13aa5f8303"
#define K8 "02fdfd6796bfeac490cbee12f778f867f0a2c68f6508d17c649759ea0dc3547528"
#define KEYS4 "{\"1\":\"" K1 "\",\"2\":\"" K2 "\",\"4\":\"" K4 "\",\"8\":\"" K8 "\"}"
#define ID_V2 "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a"

static enum mint_err
pks(const char *body, bool keys, size_t *n)
{
	struct mint_keyset *ks = NULL;
	struct mint_error e = { 0 };
	enum mint_err rc;

	rc = mint_parse_keysets(body, strlen(body), keys, &ks, n, &e);
	if (rc != MINT_OK)
		ck_assert_msg(e.detail[0] != '\0', "error without a detail");
	mint_keysets_free(ks, *n);
	return rc;
}

START_TEST(keysets_valid)
{
	const char *v2 = "{\"keysets\":[{\"id\":\"" ID_V2 "\",\"unit\":\"sat\",\"active\":true,"
	    "\"input_fee_ppk\":100,\"final_expiry\":2059210353,\"keys\":" KEYS4 "}]}";
	const char *v1 = "{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":false,"
	    "\"input_fee_ppk\":null,\"keys\":" KEYS4 "}]}";
	const char *list = "{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":false},"
	    "{\"id\":\"" ID_V2 "\",\"unit\":\"sat\",\"active\":true,\"input_fee_ppk\":100},"
	    "{\"id\":\"I2yN+iRYfkzT\",\"unit\":\"sat\",\"active\":false}]}";
	struct mint_keyset *ks = NULL;
	struct mint_error e = { 0 };
	size_t n = 0;
	char *json;

	ck_assert_int_eq(mint_parse_keysets(v2, strlen(v2), true, &ks, &n, &e), MINT_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ks[0].id, ID_V2);
	ck_assert_uint_eq(ks[0].input_fee_ppk, 100);
	ck_assert_int_eq(ks[0].final_expiry, 2059210353);
	ck_assert_uint_eq(ks[0].nkeys, 4);
	ck_assert_uint_eq(ks[0].keys[3].amount, 8);
	/* round trip through the cache format */
	json = mint_keys_to_json(&ks[0]);
	free(ks[0].keys);
	ks[0].keys = NULL;
	ck_assert_int_eq(mint_keys_from_json(json, &ks[0], &e), MINT_OK);
	ck_assert_int_eq(mint_keyset_verify(&ks[0], &e), MINT_OK);
	free(json);
	mint_keysets_free(ks, n);
	ck_assert_int_eq(pks(v1, true, &n), MINT_OK);
	ck_assert_uint_eq(n, 1);
	/* a legacy base64 id is skipped, not fatal */
	ck_assert_int_eq(pks(list, false, &n), MINT_OK);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(keysets_hostile)
{
	static const char *const bad_lists[] = {
		"", "not json", "[]", "{}", "{\"keysets\":{}}", "{\"keysets\":[1]}",
		"{\"keysets\":[{\"id\":5,\"unit\":\"sat\",\"active\":true}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":\"yes\"}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\"}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"active\":true}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"averyveryverylongunit\",\"active\":true}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"input_fee_ppk\":-1}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"input_fee_ppk\":1.5}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"input_fee_ppk\":\"100\"}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"final_expiry\":true}]}",
		"{\"keysets\":[]} trailing",
	};
	static const char *const bad_keys[] = {
		/* keys missing */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true}]}",
		/* keys not an object */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":[]}]}",
		/* NUT-01 negative vector 1: a key one byte short */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":"
		"{\"1\":\"03a40f20667ed53513075dc51e715ff2046cad64eb68960632269ba7f0210e38\",\"2\":\"" K2 "\"}}]}",
		/* NUT-01 negative vector 2: an uncompressed key */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":"
		"{\"1\":\"" K1 "\",\"2\":\"04fd4ce5a16b65576145949e6f99f445f8249fee17c606b688b504a849cdc452de3625246cb2c27dac965cb7200a5986467eee92eb7d496bbf1453b074e223e481\"}}]}",
		/* not on the curve */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":"
		"{\"1\":\"020000000000000000000000000000000000000000000000000000000000000005\"}}]}",
		/* amount keys that are not numbers, zero, duplicates-by-spelling */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":{\"one\":\"" K1 "\"}}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":{\"0\":\"" K1 "\"}}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":{\"1\":\"" K1 "\",\"01\":\"" K2 "\"}}]}",
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c46\",\"unit\":\"sat\",\"active\":true,\"keys\":{\"1\":5}}]}",
		/* valid keys that do not hash to the id (v1 and v2) */
		"{\"keysets\":[{\"id\":\"00456a94ab4e1c47\",\"unit\":\"sat\",\"active\":true,\"keys\":" KEYS4 "}]}",
		"{\"keysets\":[{\"id\":\"" ID_V2 "\",\"unit\":\"sat\",\"active\":true,\"input_fee_ppk\":0,"
		"\"final_expiry\":2059210353,\"keys\":" KEYS4 "}]}",
		"{\"keysets\":[{\"id\":\"" ID_V2 "\",\"unit\":\"msat\",\"active\":true,\"input_fee_ppk\":100,"
		"\"final_expiry\":2059210353,\"keys\":" KEYS4 "}]}",
	};
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(bad_lists); i++)
		ck_assert_msg(pks(bad_lists[i], false, &n) == MINT_E_PROTOCOL, "accepted list %zu", i);
	for (i = 0; i < ARRAY_SIZE(bad_keys); i++)
		ck_assert_msg(pks(bad_keys[i], true, &n) == MINT_E_PROTOCOL, "accepted keys %zu", i);
	printf("keysets_hostile: %zu hostile bodies refused\n", ARRAY_SIZE(bad_lists) + ARRAY_SIZE(bad_keys));
}
END_TEST

/* ---------------------------------------------------------------- signatures */

/* A keyset with one key (amount 8, k = 7f..7f... valid scalar) signing one output. */
struct fixture {
	uint8_t k[32];
	struct mint_keyset ks;
	struct mint_output o;
	char C_[67], e[65], s[65];
};

static void
fixture_make(struct fixture *f)
{
	uint64_t amt = 8;
	uint8_t B[33], C_[33], e[32], s[32];

	memset(f, 0, sizeof(*f));
	memset(f->k, 0x7f, 32);
	f->ks.keys = xcalloc(1, sizeof(*f->ks.keys));
	f->ks.nkeys = 1;
	f->ks.keys[0].amount = 8;
	ck_assert_int_eq(cashu_pubkey(f->k, f->ks.keys[0].K), 0);
	ck_assert_int_eq(cashu_keyset_id_v1(f->ks.keys, 1, f->ks.id), 0);
	memcpy(f->ks.unit, "sat", 4);
	ck_assert_int_eq(mint_outputs_new(f->ks.id, &amt, 1, &f->o), 0);
	ck_assert_int_eq(hex_decode(f->o.B_, 66, B, 33), 0);
	ck_assert_int_eq(cashu_sign(B, f->k, C_), 0);
	ck_assert_int_eq(cashu_dleq_prove(f->k, B, C_, NULL, e, s), 0);
	hex_encode(C_, 33, f->C_);
	hex_encode(e, 32, f->e);
	hex_encode(s, 32, f->s);
}

static char *
sig_body(const char *id, const char *amount, const char *C_, const char *dleq)
{
	return xasprintf("{\"signatures\":[{\"id\":%s,\"amount\":%s,\"C_\":%s%s%s}]}", id, amount, C_,
	    dleq ? ",\"dleq\":" : "", dleq ? dleq : "");
}

START_TEST(signatures_and_unblind)
{
	struct fixture f;
	struct mint_sig sig;
	struct mint_error e = { 0 };
	struct cashu_proof p;
	char id[80], C_[80], dleq[200], *body;
	uint8_t C[33];

	fixture_make(&f);
	snprintf(id, sizeof(id), "\"%s\"", f.ks.id);
	snprintf(C_, sizeof(C_), "\"%s\"", f.C_);
	snprintf(dleq, sizeof(dleq), "{\"e\":\"%s\",\"s\":\"%s\"}", f.e, f.s);
	body = sig_body(id, "8", C_, dleq);
	ck_assert_int_eq(mint_parse_signatures(body, strlen(body), "signatures", &f.o, 1, &sig, &e), MINT_OK);
	free(body);
	ck_assert(sig.has_dleq);
	ck_assert_int_eq(mint_unblind(&f.ks, &f.o, &sig, true, &p, &e), MINT_OK);
	ck_assert_uint_eq(p.amount, 8);
	ck_assert_int_eq(hex_decode(p.C, 66, C, 33), 0);
	ck_assert_int_eq(cashu_verify((const uint8_t *)p.secret, strlen(p.secret), f.k, C), 1);
	free(p.secret);

	/* tampered DLEQ: a clear protocol error */
	sig.e[0] = sig.e[0] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(mint_unblind(&f.ks, &f.o, &sig, false, &p, &e), MINT_E_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(e.detail, "DLEQ"));
	/* no DLEQ while one is required */
	sig.has_dleq = false;
	ck_assert_int_eq(mint_unblind(&f.ks, &f.o, &sig, true, &p, &e), MINT_E_PROTOCOL);
	/* no DLEQ, not required: accepted */
	ck_assert_int_eq(mint_unblind(&f.ks, &f.o, &sig, false, &p, &e), MINT_OK);
	free(p.secret);
	/* an amount the keyset has no key for */
	sig.amount = 16;
	ck_assert_int_eq(mint_unblind(&f.ks, &f.o, &sig, false, &p, &e), MINT_E_PROTOCOL);
	free(f.ks.keys);
}
END_TEST

START_TEST(signatures_hostile)
{
	struct fixture f;
	struct mint_sig sig[2];
	struct mint_error e = { 0 };
	char id[80], C_[80], *bodies[16], other[80];
	size_t i, n = 0;

	fixture_make(&f);
	snprintf(id, sizeof(id), "\"%s\"", f.ks.id);
	snprintf(C_, sizeof(C_), "\"%s\"", f.C_);
	snprintf(other, sizeof(other), "\"%s\"", "00456a94ab4e1c46");
	bodies[n++] = xasprintf("{\"signatures\":[]}");			/* wrong count */
	bodies[n++] = xasprintf("{\"signatures\":[{\"id\":%s,\"amount\":8,\"C_\":%s},{\"id\":%s,\"amount\":8,\"C_\":%s}]}",
	    id, C_, id, C_);						/* too many */
	bodies[n++] = xasprintf("{\"promises\":[{\"id\":%s,\"amount\":8,\"C_\":%s}]}", id, C_);
	bodies[n++] = sig_body(id, "4", C_, NULL);			/* wrong amount */
	bodies[n++] = sig_body(id, "\"8\"", C_, NULL);			/* amount as string */
	bodies[n++] = sig_body(id, "8.0", C_, NULL);			/* amount as float */
	bodies[n++] = sig_body(id, "-8", C_, NULL);
	bodies[n++] = sig_body(other, "8", C_, NULL);			/* wrong keyset */
	bodies[n++] = sig_body(id, "8", "\"02\"", NULL);		/* short point */
	bodies[n++] = sig_body(id, "8", "\"020000000000000000000000000000000000000000000000000000000000000005\"", NULL);
	bodies[n++] = sig_body(id, "8", "null", NULL);
	bodies[n++] = sig_body(id, "8", C_, "{\"e\":\"zz\",\"s\":\"00\"}");	/* malformed dleq */
	bodies[n++] = sig_body(id, "8", C_, "[1,2]");
	bodies[n++] = xasprintf("{\"signatures\":[null]}");
	bodies[n++] = xasprintf("{\"signatures\":\"none\"}");
	bodies[n++] = xasprintf("{\"signatures\":[{\"id\":%s,\"amount\":99999999999999999999999,\"C_\":%s}]}", id, C_);
	for (i = 0; i < n; i++) {
		ck_assert_msg(mint_parse_signatures(bodies[i], strlen(bodies[i]), "signatures", &f.o, 1, sig,
		    &e) == MINT_E_PROTOCOL, "accepted body %zu: %s", i, bodies[i]);
		free(bodies[i]);
	}
	printf("signatures_hostile: %zu hostile bodies refused\n", n);
	free(f.ks.keys);
}
END_TEST

/* ---------------------------------------------------------------- token hash */

START_TEST(token_hash_encoding_independent)
{
	struct cashu_token t, a, b;
	struct cashu_proof p[2];
	char *v3, *v4, h1[65], h2[65], h3[65];

	memset(&t, 0, sizeof(t));
	memset(p, 0, sizeof(p));
	p[0].amount = 2;
	memcpy(p[0].keyset_id, "009a1f293253e41e", 17);
	p[0].secret = "407915bc212be61a77e3e6d2aeb4c727980bda51cd06a6afc29e2861768a7837";
	memcpy(p[0].C, "02bc9097997d81afb2cc7346b5e4345a9346bd2a506eb7958598a72f0cf85163ea", 67);
	p[1].amount = 8;
	memcpy(p[1].keyset_id, "009a1f293253e41e", 17);
	p[1].secret = "fe15109314e61d7756b0f8ee0f23a624acaa3f4e042f61433c728c7057b931be";
	memcpy(p[1].C, "029e8e5050b890a7d6c0968db16bc1d5d5fa040ea1de284f6ec69d61299f671059", 67);
	t.mint = "https://8333.space:3338";
	memcpy(p[0].mint, t.mint, strlen(t.mint) + 1);
	memcpy(p[1].mint, t.mint, strlen(t.mint) + 1);
	memcpy(t.unit, "sat", 4);
	t.proofs = p;
	t.nproofs = 2;
	t.total = 10;
	v3 = cashu_token_encode_v3(&t);
	v4 = cashu_token_encode_v4(&t);
	ck_assert_ptr_nonnull(v3);
	ck_assert_ptr_nonnull(v4);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(cashu_token_decode(v3, strlen(v3), &a), CASHU_TOK_OK);
	ck_assert_int_eq(cashu_token_decode(v4, strlen(v4), &b), CASHU_TOK_OK);
	wallet_token_hash(&a, h1);
	wallet_token_hash(&b, h2);
	ck_assert_str_eq(h1, h2);
	/* order does not matter; a different proof set does */
	{
		struct cashu_proof q[2] = { p[1], p[0] };

		t.proofs = q;
		wallet_token_hash(&t, h3);
		ck_assert_str_eq(h1, h3);
		t.nproofs = 1;
		wallet_token_hash(&t, h3);
		ck_assert_str_ne(h1, h3);
	}
	cashu_token_free(&a);
	cashu_token_free(&b);
	free(v3);
	free(v4);
}
END_TEST

/* ---------------------------------------------------------------- store */

/* A migrated database in a new temporary directory (into dir). */
static struct db *
open_store(char *dir, size_t dirsz)
{
	char path[TL_PATH_MAX + 16];

	tl_tmpdir(dir, dirsz, "test_wallet");
	snprintf(path, sizeof(path), "%s/w.db", dir);
	return tl_db_open(path, DB_SYNC_NORMAL);
}

START_TEST(store_schema_and_balance)
{
	char dir[TL_PATH_MAX];
	struct db *db = open_store(dir, sizeof(dir));
	struct wallet_ctx w;
	struct wallet_balance *b = NULL;
	struct wallet_recover_stats st;
	struct mint_error e = { 0 };
	const char *trusted[] = { "http://127.0.0.1:1/" };
	size_t n = 9;

	wallet_ctx_init(&w, db, NULL);
	w.trusted = trusted;
	w.ntrusted = 1;
	ck_assert(wallet_mint_trusted(&w, "http://127.0.0.1:1"));
	ck_assert(wallet_mint_trusted(&w, "http://127.0.0.1:1///"));
	ck_assert(!wallet_mint_trusted(&w, "http://127.0.0.1:2"));
	ck_assert(!wallet_mint_trusted(&w, "ftp://127.0.0.1:1"));
	ck_assert_int_eq(wallet_balance(&w, &b, &n), MINT_OK);
	ck_assert_uint_eq(n, 0);
	free(b);
	ck_assert_int_eq(db_exec(db,
	    "INSERT INTO wallet_proofs (mint_url, keyset_id, amount, secret, C, Y, unit, state, created_at, updated_at)"
	    " VALUES ('http://m', '00aa', 8, 's1', 'c', 'y', 'sat', 'unspent', 0, 0),"
	    " ('http://m', '00aa', 4, 's2', 'c', 'y', 'sat', 'pending', 0, 0),"
	    " ('http://m', '00aa', 2, 's3', 'c', 'y', 'sat', 'spent', 0, 0),"
	    " ('http://m', '00aa', 1, 's4', 'c', 'y', 'sat', 'unspent', 0, 0),"
	    " ('http://m', '00bb', 1000, 's5', 'c', 'y', 'msat', 'unspent', 0, 0)"), RERR_OK);
	ck_assert_int_eq(wallet_balance(&w, &b, &n), MINT_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(b[0].unit, "msat");
	ck_assert_uint_eq(b[0].unspent, 1000);
	ck_assert_str_eq(b[1].unit, "sat");
	ck_assert_uint_eq(b[1].unspent, 9);
	ck_assert_uint_eq(b[1].pending, 4);
	ck_assert_uint_eq(b[1].nproofs, 2);
	free(b);
	/* secrets are unique; states are a closed set */
	ck_assert_int_ne(db_exec(db,
	    "INSERT INTO wallet_proofs (mint_url, keyset_id, amount, secret, C, Y, unit, state, created_at, updated_at)"
	    " VALUES ('http://m', '00aa', 8, 's1', 'c', 'y', 'sat', 'unspent', 0, 0)"), RERR_OK);
	ck_assert_int_ne(db_exec(db,
	    "INSERT INTO wallet_proofs (mint_url, keyset_id, amount, secret, C, Y, unit, state, created_at, updated_at)"
	    " VALUES ('http://m', '00aa', 8, 's9', 'c', 'y', 'sat', 'lost', 0, 0)"), RERR_OK);
	/* a 'prepared' operation is rolled back by recovery without the network */
	ck_assert_int_eq(db_exec(db,
	    "INSERT INTO mint_operations (kind, purpose, mint_url, unit, state, created_at, updated_at)"
	    " VALUES ('swap', 'send', 'http://127.0.0.1:1', 'sat', 'prepared', 0, 0);"
	    "UPDATE wallet_proofs SET state = 'pending', operation_id = 1 WHERE secret = 's1'"), RERR_OK);
	ck_assert_int_eq(wallet_recover(&w, 0, &st, &e), MINT_OK);
	ck_assert_int_eq(st.examined, 1);
	ck_assert_int_eq(st.failed, 1);
	ck_assert_int_eq(wallet_balance(&w, &b, &n), MINT_OK);
	ck_assert_uint_eq(b[1].unspent, 9);	/* s1 released (8 + 1) */
	free(b);
	db_close(db);
	tl_tmpdir_remove(dir);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("cashu_wallet");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fee_formula);
	tcase_add_test(tc, blank_outputs);
	tcase_add_test(tc, split_powers_of_two);
	tcase_add_test(tc, split_limits);
	tcase_add_test(tc, select_exact_and_cover);
	tcase_add_test(tc, select_with_fees);
	tcase_add_test(tc, error_mapping);
	tcase_add_test(tc, keysets_valid);
	tcase_add_test(tc, keysets_hostile);
	tcase_add_test(tc, signatures_and_unblind);
	tcase_add_test(tc, signatures_hostile);
	tcase_add_test(tc, token_hash_encoding_independent);
	tcase_add_test(tc, store_schema_and_balance);
	suite_add_tcase(s, tc);
	return s;
}
