/* Unit tests for lib/cashu/crypto: every NUT-00 (crypto), NUT-01, NUT-02,
 * NUT-12 and NUT-13 vector from tests/data/cashu_vectors.json, read at run time
 * (tl_vectors(); env CASHU_VECTORS names another file), plus the computed BDHKE
 * round trips, random round trips and hostile inputs. A missing vector file
 * is a failure, not a skip. Each test prints how many vectors it ran. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util.h"
#include "cashu/crypto.h"
#include "testlib.h"

/* Decode hex of exactly n bytes, failing the test otherwise. */
static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	ck_assert_msg(hex_decode(hex, strlen(hex), out, n) == 0, "bad hex %s", hex);
}

static void
ck_hex_eq(const uint8_t *got, size_t n, const char *want, const char *what)
{
	char hex[2 * 64 + 1];

	ck_assert(n <= 64);
	hex_encode(got, n, hex);
	ck_assert_msg(strcmp(hex, want) == 0, "%s: got %s want %s", what, hex, want);
}

/* Run fn over each vector of `category` in section "vectors" (or another
 * array); returns how many ran. */
typedef void (*vec_fn)(json_object *inputs, json_object *expected, const char *name);

static int
for_each(json_object *root, const char *section, const char *category, vec_fn fn)
{
	json_object *arr = tl_get(root, section);
	size_t i, n = json_object_array_length(arr);
	int count = 0;

	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (strcmp(tl_get_str(v, "category"), category) != 0)
			continue;
		fn(tl_get(v, "inputs"), tl_get(v, "expected"), tl_get_str(v, "name"));
		count++;
	}
	return count;
}

static void
report(const char *nut, const char *category, int n, int min)
{
	printf("%s %s: %d vectors passed\n", nut, category, n);
	fflush(stdout);
	ck_assert_msg(n >= min, "%s: expected at least %d vectors, ran %d", category, min, n);
}

/* Keys object {"1": "02..", ...} into an array; returns -1 when any amount
 * or key is malformed (that is the NUT-01 validation). Caller frees *out. */
static int
keys_parse(json_object *keys, struct cashu_key **out, size_t *n)
{
	struct cashu_key *k = xcalloc((size_t)json_object_object_length(keys) + 1, sizeof(*k));
	size_t i = 0;
	int rc = 0;

	json_object_object_foreach(keys, amt, val) {
		if (parse_u64(amt, UINT64_MAX, &k[i].amount) != 0 ||
		    !json_object_is_type(val, json_type_string) ||
		    cashu_point_parse_hex(json_object_get_string(val), k[i].K) != 0)
			rc = -1;
		i++;
	}
	*out = k;
	*n = i;
	return rc;
}

/* ------------------------------------------------------------- NUT-00 */

static void
v_h2c(json_object *in, json_object *ex, const char *name)
{
	uint8_t msg[32], Y[33];

	unhex(tl_get_str(in, "message_hex"), msg, sizeof(msg));
	ck_assert_int_eq(cashu_hash_to_curve(msg, sizeof(msg), Y), 0);
	ck_hex_eq(Y, 33, tl_get_str(ex, "Y"), name);
}

static void
v_blind(json_object *in, json_object *ex, const char *name)
{
	uint8_t x[32], r[32], B_[33];

	unhex(tl_get_str(in, "x_hex"), x, sizeof(x));
	unhex(tl_get_str(in, "r"), r, sizeof(r));
	ck_assert_int_eq(cashu_blind(x, sizeof(x), r, B_), 0);
	ck_hex_eq(B_, 33, tl_get_str(ex, "B_"), name);
}

static void
v_sign(json_object *in, json_object *ex, const char *name)
{
	uint8_t k[32], B_[33], C_[33];

	unhex(tl_get_str(in, "k"), k, sizeof(k));
	unhex(tl_get_str(in, "B_"), B_, sizeof(B_));
	ck_assert_int_eq(cashu_sign(B_, k, C_), 0);
	ck_hex_eq(C_, 33, tl_get_str(ex, "C_"), name);
}

/* The computed round trips: h2c of the UTF-8 secret, blind, K, sign,
 * unblind, verify, deterministic DLEQ and both DLEQ checks. */
static void
v_roundtrip(json_object *in, json_object *ex, const char *name)
{
	const char *secret = tl_get_str(in, "secret_string");
	uint8_t r[32], k[32], Y[33], B_[33], K[33], C_[33], C[33], e[32], s[32];

	unhex(tl_get_str(in, "r"), r, sizeof(r));
	unhex(tl_get_str(in, "k"), k, sizeof(k));
	ck_assert_int_eq(cashu_hash_to_curve((const uint8_t *)secret, strlen(secret), Y), 0);
	ck_hex_eq(Y, 33, tl_get_str(ex, "Y"), name);
	ck_assert_int_eq(cashu_blind((const uint8_t *)secret, strlen(secret), r, B_), 0);
	ck_hex_eq(B_, 33, tl_get_str(ex, "B_"), name);
	ck_assert_int_eq(cashu_pubkey(k, K), 0);
	ck_hex_eq(K, 33, tl_get_str(ex, "K"), name);
	ck_assert_int_eq(cashu_sign(B_, k, C_), 0);
	ck_hex_eq(C_, 33, tl_get_str(ex, "C_"), name);
	ck_assert_int_eq(cashu_unblind(C_, r, K, C), 0);
	ck_hex_eq(C, 33, tl_get_str(ex, "C"), name);
	ck_assert_int_eq(cashu_verify((const uint8_t *)secret, strlen(secret), k, C), 1);
	ck_assert_int_eq(cashu_dleq_prove(k, B_, C_, NULL, e, s), 0);
	ck_hex_eq(e, 32, tl_get_str(ex, "dleq_e_deterministic"), name);
	ck_hex_eq(s, 32, tl_get_str(ex, "dleq_s_deterministic"), name);
	ck_assert_int_eq(cashu_dleq_verify(K, B_, C_, e, s), 1);
	ck_assert_int_eq(cashu_dleq_verify_proof(K, (const uint8_t *)secret, strlen(secret), C,
	    e, s, r), 1);
}

static void
v_nut07_y(json_object *in, json_object *ex, const char *name)
{
	const char *secret = tl_get_str(in, "secret");
	uint8_t Y[33];

	ck_assert_int_eq(cashu_hash_to_curve((const uint8_t *)secret, strlen(secret), Y), 0);
	ck_hex_eq(Y, 33, tl_get_str(ex, "Y"), name);
}

START_TEST(nut00_vectors)
{
	json_object *root = tl_vectors();

	report("NUT-00", "hash_to_curve", for_each(root, "vectors", "hash_to_curve", v_h2c), 3);
	report("NUT-00", "blinding", for_each(root, "vectors", "blinding", v_blind), 2);
	report("NUT-00", "blind_signature",
	    for_each(root, "vectors", "blind_signature", v_sign), 2);
	report("computed", "bdhke_roundtrip (unblinding, verify, DLEQ)",
	    for_each(root, "supplementary_computed_not_published", "bdhke_roundtrip",
		v_roundtrip), 2);
	report("computed", "nut07_Y",
	    for_each(root, "supplementary_computed_not_published", "nut07_Y", v_nut07_y), 2);
	json_object_put(root);
}
END_TEST

/* ------------------------------------------------------- NUT-01 / 02 */

static void
v_keys_valid(json_object *in, json_object *ex, const char *name)
{
	struct cashu_key *k;
	size_t n;
	int ok = keys_parse(tl_get(in, "keys"), &k, &n) == 0;

	ck_assert_msg(ok == json_object_get_boolean(tl_get(ex, "valid")), "%s: validity", name);
	free(k);
}

static void
v_id_v1(json_object *in, json_object *ex, const char *name)
{
	struct cashu_key *k;
	size_t n;
	char id[17];

	ck_assert_int_eq(keys_parse(tl_get(in, "keys"), &k, &n), 0);
	ck_assert_int_eq(cashu_keyset_id_v1(k, n, id), 0);
	ck_assert_msg(strcmp(id, tl_get_str(ex, "id")) == 0, "%s: %s", name, id);
	free(k);
}

static void
v_id_v2(json_object *in, json_object *ex, const char *name)
{
	struct cashu_key *k;
	json_object *fee = NULL, *exp = NULL;
	uint64_t vfee = 0, vexp = 0;
	size_t n;
	char id[67];

	ck_assert_int_eq(keys_parse(tl_get(in, "keys"), &k, &n), 0);
	if (json_object_object_get_ex(in, "input_fee_ppk", &fee) && fee != NULL)
		vfee = (uint64_t)json_object_get_int64(fee);
	if (json_object_object_get_ex(in, "final_expiry", &exp) && exp != NULL)
		vexp = (uint64_t)json_object_get_int64(exp);
	ck_assert_int_eq(cashu_keyset_id_v2(k, n, tl_get_str(in, "unit"), vfee, vexp, id), 0);
	ck_assert_msg(strcmp(id, tl_get_str(ex, "id")) == 0, "%s: %s", name, id);
	free(k);
}

START_TEST(nut01_02_vectors)
{
	json_object *root = tl_vectors();

	report("NUT-01", "keyset_keys_validation",
	    for_each(root, "vectors", "keyset_keys_validation", v_keys_valid), 4);
	report("NUT-02", "keyset_id_v1", for_each(root, "vectors", "keyset_id_v1", v_id_v1), 2);
	report("NUT-02", "keyset_id_v2", for_each(root, "vectors", "keyset_id_v2", v_id_v2), 3);
	json_object_put(root);
}
END_TEST

/* ------------------------------------------------------------- NUT-12 */

static void
v_hash_e(json_object *in, json_object *ex, const char *name)
{
	uint8_t pts[4][33], e[32];

	unhex(tl_get_str(in, "R1"), pts[0], 33);
	unhex(tl_get_str(in, "R2"), pts[1], 33);
	unhex(tl_get_str(in, "K"), pts[2], 33);
	unhex(tl_get_str(in, "C_"), pts[3], 33);
	ck_assert_int_eq(cashu_hash_e((const uint8_t (*)[33])pts, 4, e), 0);
	ck_hex_eq(e, 32, tl_get_str(ex, "hash"), name);
}

static void
v_dleq_det(json_object *in, json_object *ex, const char *name)
{
	uint8_t a[32], A[33], A2[33], B_[33], C_[33], C2[33], e[32], s[32];

	unhex(tl_get_str(in, "a"), a, 32);
	unhex(tl_get_str(in, "A"), A, 33);
	unhex(tl_get_str(in, "B_"), B_, 33);
	unhex(tl_get_str(in, "C_"), C_, 33);
	ck_assert_int_eq(cashu_pubkey(a, A2), 0);
	ck_assert(memcmp(A, A2, 33) == 0);
	ck_assert_int_eq(cashu_sign(B_, a, C2), 0);
	ck_assert(memcmp(C_, C2, 33) == 0);
	ck_assert_int_eq(cashu_dleq_prove(a, B_, C_, NULL, e, s), 0);
	ck_hex_eq(e, 32, tl_get_str(ex, "e"), name);
	ck_hex_eq(s, 32, tl_get_str(ex, "s"), name);
	ck_assert_int_eq(cashu_dleq_verify(A, B_, C_, e, s), 1);
}

static void
v_dleq_sig(json_object *in, json_object *ex, const char *name)
{
	json_object *sig = tl_get(in, "blind_signature"), *dleq = tl_get(sig, "dleq");
	uint8_t A[33], B_[33], C_[33], e[32], s[32];
	int want = json_object_get_boolean(tl_get(ex, "valid"));

	unhex(tl_get_str(in, "A"), A, 33);
	unhex(tl_get_str(in, "B_"), B_, 33);
	unhex(tl_get_str(sig, "C_"), C_, 33);
	unhex(tl_get_str(dleq, "e"), e, 32);
	unhex(tl_get_str(dleq, "s"), s, 32);
	ck_assert_msg(cashu_dleq_verify(A, B_, C_, e, s) == want, "%s", name);
	/* Any change to s, e or C_ breaks it. */
	s[31] ^= 1;
	ck_assert_int_eq(cashu_dleq_verify(A, B_, C_, e, s), 0);
	s[31] ^= 1;
	e[0] ^= 0x80;
	ck_assert_int_eq(cashu_dleq_verify(A, B_, C_, e, s), 0);
}

static void
v_dleq_proof(json_object *in, json_object *ex, const char *name)
{
	json_object *proof = tl_get(in, "proof"), *dleq = tl_get(proof, "dleq");
	const char *secret = tl_get_str(proof, "secret");
	uint8_t A[33], C[33], e[32], s[32], r[32];
	int want = json_object_get_boolean(tl_get(ex, "valid"));

	unhex(tl_get_str(in, "A"), A, 33);
	unhex(tl_get_str(proof, "C"), C, 33);
	unhex(tl_get_str(dleq, "e"), e, 32);
	unhex(tl_get_str(dleq, "s"), s, 32);
	unhex(tl_get_str(dleq, "r"), r, 32);
	ck_assert_msg(cashu_dleq_verify_proof(A, (const uint8_t *)secret, strlen(secret), C,
	    e, s, r) == want, "%s", name);
	/* A different secret or r must not verify. */
	ck_assert_int_eq(cashu_dleq_verify_proof(A, (const uint8_t *)secret,
	    strlen(secret) - 1, C, e, s, r), 0);
	r[5] ^= 1;
	ck_assert_int_eq(cashu_dleq_verify_proof(A, (const uint8_t *)secret, strlen(secret), C,
	    e, s, r), 0);
}

START_TEST(nut12_vectors)
{
	json_object *root = tl_vectors();

	report("NUT-12", "dleq_hash_e", for_each(root, "vectors", "dleq_hash_e", v_hash_e), 1);
	report("NUT-12", "dleq_create_deterministic",
	    for_each(root, "vectors", "dleq_create_deterministic", v_dleq_det), 1);
	report("NUT-12", "dleq_verify_blind_signature",
	    for_each(root, "vectors", "dleq_verify_blind_signature", v_dleq_sig), 1);
	report("NUT-12", "dleq_verify_proof",
	    for_each(root, "vectors", "dleq_verify_proof", v_dleq_proof), 1);
	json_object_put(root);
}
END_TEST

/* ------------------------------------------------------------- NUT-13 */

static void
v_kid_int(json_object *in, json_object *ex, const char *name)
{
	uint32_t v;

	ck_assert_int_eq(cashu_nut13_keyset_int(tl_get_str(in, "keyset_id"), &v), 0);
	/* the published key is misspelled "keyest_id_int" */
	ck_assert_msg((int64_t)v == json_object_get_int64(tl_get(ex, "keyest_id_int")),
	    "%s: %u", name, v);
}

/* Shared by v1 and v2: five counters, secret_i and r_i. */
static int nut13_count;

static void
v_nut13(json_object *in, json_object *ex, const char *name)
{
	json_object *counters = tl_get(in, "counters");
	json_object *secrets = tl_get(ex, "secrets"), *rs = tl_get(ex, "blinding_factors");
	const char *kid = tl_get_str(in, "keyset_id");
	uint8_t seed[64], r[32];
	char secret[65], key[32];
	size_t i;

	ck_assert_int_eq(cashu_bip39_seed(tl_get_str(in, "mnemonic"), NULL, seed), 0);
	for (i = 0; i < json_object_array_length(counters); i++) {
		uint32_t c = (uint32_t)json_object_get_int(json_object_array_get_idx(counters, i));

		ck_assert_int_eq(cashu_nut13_derive(seed, kid, c, secret, r), 0);
		snprintf(key, sizeof(key), "secret_%u", c);
		ck_assert_msg(strcmp(secret, tl_get_str(secrets, key)) == 0, "%s %s: %s", name, key,
		    secret);
		snprintf(key, sizeof(key), "r_%u", c);
		ck_hex_eq(r, 32, tl_get_str(rs, key), name);
		nut13_count++;
	}
}

START_TEST(nut13_vectors)
{
	json_object *root = tl_vectors();
	uint8_t seed[64], r[32];
	char secret[65];
	int n;

	report("NUT-13", "keyset_id_int",
	    for_each(root, "vectors", "nut13_keyset_id_int", v_kid_int), 1);
	nut13_count = 0;
	n = for_each(root, "vectors", "nut13_v1_bip32", v_nut13);
	printf("NUT-13 v1 (BIP-32): %d vector sets, %d secret/r pairs passed\n", n, nut13_count);
	ck_assert_int_ge(nut13_count, 5);
	nut13_count = 0;
	n = for_each(root, "vectors", "nut13_v2_hmac", v_nut13);
	printf("NUT-13 v2 (HMAC): %d vector sets, %d secret/r pairs passed\n", n, nut13_count);
	ck_assert_int_ge(nut13_count, 5);
	/* Bad ids: short v2 id, non-hex, unknown version, hardened overflow. */
	memset(seed, 7, sizeof(seed));
	ck_assert_int_eq(cashu_nut13_derive(seed, "015ba18a8adcd02e", 0, secret, r), -1);
	ck_assert_int_eq(cashu_nut13_derive(seed, "00zz1f293253e41e", 0, secret, r), -1);
	ck_assert_int_eq(cashu_nut13_derive(seed, "029a1f293253e41e", 0, secret, r), -1);
	ck_assert_int_eq(cashu_nut13_derive(seed, "009a1f293253e41e", 0x80000000u, secret, r),
	    -1);
	ck_assert_int_eq(cashu_nut13_derive(seed, "", 0, secret, r), -1);
	json_object_put(root);
}
END_TEST

/* Every vector from the NUTs this module covers has a category that one of
 * the two cashu test files runs, so a new vector cannot be silently skipped. */
START_TEST(no_vector_left_behind)
{
	static const char *const handled[] = {
		"hash_to_curve", "blinding", "blind_signature", "keyset_keys_validation",
		"keyset_id_v1", "keyset_id_v2", "dleq_hash_e", "dleq_create_deterministic",
		"dleq_verify_blind_signature", "dleq_verify_proof", "nut13_keyset_id_int",
		"nut13_v1_bip32", "nut13_v2_hmac",
		/* run by test_cashu_token */
		"token_v3_serialize", "token_v3_deserialize_invalid",
		"token_v3_deserialize_valid", "token_v4_serialize", "token_v4_binary",
	};
	static const char *const sources[] = {
		"tests/00-tests.md", "tests/01-tests.md", "tests/02-tests.md",
		"tests/12-tests.md", "tests/13-tests.md",
	};
	json_object *root = tl_vectors(), *arr = tl_get(root, "vectors");
	size_t i, j, n = json_object_array_length(arr);
	int total = 0;

	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *src = tl_get_str(v, "source"), *cat = tl_get_str(v, "category");
		int mine = 0, known = 0;

		for (j = 0; j < ARRAY_SIZE(sources); j++)
			mine |= strcmp(src, sources[j]) == 0;
		if (!mine)
			continue;
		for (j = 0; j < ARRAY_SIZE(handled); j++)
			known |= strcmp(cat, handled[j]) == 0;
		ck_assert_msg(known, "vector %s (%s) has no test", tl_get_str(v, "name"), cat);
		total++;
	}
	printf("NUT-00/01/02/12/13: %d vectors in the file, all categories covered\n", total);
	ck_assert_int_ge(total, 32);
	json_object_put(root);
}
END_TEST

/* ---------------------------------------------------- beyond the vectors */

START_TEST(random_roundtrips)
{
	int i;

	for (i = 0; i < 50; i++) {
		uint8_t sec[32], r[32], k[32], K[33], B_[33], C_[33], C[33], e[32], s[32];
		char secret[65];

		rand_bytes(sec, sizeof(sec));
		hex_encode(sec, sizeof(sec), secret);
		cashu_random_scalar(r);
		cashu_random_scalar(k);
		ck_assert_int_eq(cashu_pubkey(k, K), 0);
		ck_assert_int_eq(cashu_blind((const uint8_t *)secret, 64, r, B_), 0);
		ck_assert_int_eq(cashu_sign(B_, k, C_), 0);
		ck_assert_int_eq(cashu_dleq_prove(k, B_, C_, i % 2 ? NULL : r, e, s), 0);
		ck_assert_int_eq(cashu_dleq_verify(K, B_, C_, e, s), 1);
		ck_assert_int_eq(cashu_unblind(C_, r, K, C), 0);
		ck_assert_int_eq(cashu_verify((const uint8_t *)secret, 64, k, C), 1);
		ck_assert_int_eq(cashu_dleq_verify_proof(K, (const uint8_t *)secret, 64, C, e, s, r),
		    1);
		/* the wrong key or a different secret does not verify */
		k[31] ^= 1;
		ck_assert_int_eq(cashu_verify((const uint8_t *)secret, 64, k, C), 0);
		ck_assert_int_eq(cashu_verify((const uint8_t *)secret, 63, k, C), 0);
	}
	printf("random BDHKE+DLEQ round trips: 50 passed\n");
}
END_TEST

/* Worker: BDHKE round trips; returns (void *)1 on any failure. */
static void *
thread_roundtrips(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 25; i++) {
		uint8_t r[32], k[32], K[33], B_[33], C_[33], C[33], e[32], s[32];

		cashu_random_scalar(r);
		cashu_random_scalar(k);
		if (cashu_pubkey(k, K) || cashu_blind((const uint8_t *)"secret", 6, r, B_) ||
		    cashu_sign(B_, k, C_) || cashu_dleq_prove(k, B_, C_, NULL, e, s) ||
		    cashu_unblind(C_, r, K, C) ||
		    cashu_verify((const uint8_t *)"secret", 6, k, C) != 1 ||
		    cashu_dleq_verify(K, B_, C_, e, s) != 1)
			return (void *)1;
	}
	return NULL;
}

/* The shared context is created on first use by whichever thread comes
 * first (Check runs each test in a fresh process, so this is first use). */
START_TEST(threads_first_use)
{
	pthread_t th[4];
	void *ret;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(th); i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_roundtrips, NULL), 0);
	for (i = 0; i < ARRAY_SIZE(th); i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	printf("4 threads x 25 round trips from first use: passed\n");
}
END_TEST

START_TEST(hostile_inputs)
{
	static const uint8_t zero[32];
	uint8_t n_[32], big[32], pt[33], out[33], e[32], s[32], Y[33];

	memset(big, 0xff, sizeof(big));
	unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", n_, 32);
	ck_assert_int_eq(cashu_hash_to_curve((const uint8_t *)"", 0, Y), 0);
	ck_assert_int_eq(cashu_hash_to_curve(NULL, 1, Y), -1);
	/* scalars 0, n and 2^256-1 are rejected everywhere */
	unhex("02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2", pt, 33);
	ck_assert_int_eq(cashu_pubkey(zero, out), -1);
	ck_assert_int_eq(cashu_pubkey(n_, out), -1);
	ck_assert_int_eq(cashu_sign(pt, zero, out), -1);
	ck_assert_int_eq(cashu_sign(pt, big, out), -1);
	ck_assert_int_eq(cashu_blind((const uint8_t *)"x", 1, zero, out), -1);
	ck_assert_int_eq(cashu_blind((const uint8_t *)"x", 1, n_, out), -1);
	ck_assert_int_eq(cashu_unblind(pt, zero, pt, out), -1);
	/* C_ - r*K = infinity when C_ = r*K */
	{
		uint8_t one[32] = { 0 };

		one[31] = 1;
		ck_assert_int_eq(cashu_unblind(pt, one, pt, out), -1);
	}
	/* bad points: 04 prefix, off-curve x, wrong length in hex */
	pt[0] = 0x04;
	ck_assert_int_eq(cashu_sign(pt, n_, out), -1);
	ck_assert_int_eq(cashu_verify((const uint8_t *)"x", 1, big, pt), -1);
	ck_assert_int_eq(cashu_point_parse_hex(
	    "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2", NULL), 0);
	ck_assert_int_eq(cashu_point_parse_hex(
	    "0000000000000000000000000000000000000000000000000000000000000000ff", NULL), -1);
	ck_assert_int_eq(cashu_point_parse_hex(
	    "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107b", NULL), -1);
	ck_assert_int_eq(cashu_point_parse_hex(
	    "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2ff", NULL), -1);
	ck_assert_int_eq(cashu_point_parse_hex(
	    "0xa9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2", NULL), -1);
	ck_assert_int_eq(cashu_point_parse_hex(NULL, NULL), -1);
	/* DLEQ: s = 0 or s >= n never verifies; a = 0 cannot prove */
	unhex("02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2", pt, 33);
	memset(e, 1, sizeof(e));
	ck_assert_int_eq(cashu_dleq_verify(pt, pt, pt, e, zero), 0);
	ck_assert_int_eq(cashu_dleq_verify(pt, pt, pt, e, big), 0);
	ck_assert_int_eq(cashu_dleq_verify(pt, pt, pt, zero, e), 0);
	ck_assert_int_eq(cashu_dleq_prove(zero, pt, pt, NULL, e, s), -1);
	ck_assert_int_eq(cashu_dleq_prove(big, pt, pt, NULL, e, s), -1);
	ck_assert_int_eq(cashu_hash_e(NULL, 0, e), -1);
	/* keyset ids: empty, duplicate amounts, bad key, empty unit */
	{
		struct cashu_key k[2];
		char id[67];

		memset(k, 0, sizeof(k));
		memcpy(k[0].K, pt, 33);
		memcpy(k[1].K, pt, 33);
		k[0].amount = 1;
		k[1].amount = 1;
		ck_assert_int_eq(cashu_keyset_id_v1(k, 0, id), -1);
		ck_assert_int_eq(cashu_keyset_id_v1(k, 2, id), -1);
		k[1].amount = 2;
		ck_assert_int_eq(cashu_keyset_id_v1(k, 2, id), 0);
		ck_assert_int_eq(cashu_keyset_id_v2(k, 2, "", 0, 0, id), -1);
		ck_assert_int_eq(cashu_keyset_id_v2(k, 2, "sat", 0, 0, id), 0);
		k[1].K[0] = 0x05;
		ck_assert_int_eq(cashu_keyset_id_v2(k, 2, "sat", 0, 0, id), -1);
	}
	/* NUT-13 keyset int only for 8-byte v1 ids */
	{
		uint32_t v;

		ck_assert_int_eq(cashu_nut13_keyset_int("009a1f293253e41e", &v), 0);
		ck_assert_int_eq(cashu_nut13_keyset_int("019a1f293253e41e", &v), -1);
		ck_assert_int_eq(cashu_nut13_keyset_int("009a1f293253e4", &v), -1);
		ck_assert_int_eq(cashu_bip39_seed(NULL, NULL, (uint8_t[64]){ 0 }), -1);
	}
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("cashu_crypto");
	TCase *tc = tcase_create("vectors");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, threads_first_use);
	tcase_add_test(tc, nut00_vectors);
	tcase_add_test(tc, nut01_02_vectors);
	tcase_add_test(tc, nut12_vectors);
	tcase_add_test(tc, nut13_vectors);
	tcase_add_test(tc, no_vector_left_behind);
	tcase_add_test(tc, random_roundtrips);
	tcase_add_test(tc, hostile_inputs);
	suite_add_tcase(s, tc);
	return s;
}
