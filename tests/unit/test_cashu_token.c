/* Unit tests for lib/cashu/token and lib/cashu/b64: every NUT-00 token
 * vector (V3 and V4, valid and invalid, binary) from tests/data/cashu_vectors.json
 * read at run time (env CASHU_VECTORS; a missing file fails), the cashu-ts
 * short-id token, round trips, and hand-made hostile tokens. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "util.h"
#include "cashu/b64.h"
#include "cashu/token.h"
#include "testlib.h"

static json_object *
opt(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static enum cashu_token_err
dec(const char *s, struct cashu_token *t)
{
	return cashu_token_decode(s, strlen(s), t);
}

/* Two decoded tokens carry the same money and data (version aside). */
static void
ck_tokens_equal(const struct cashu_token *a, const struct cashu_token *b)
{
	size_t i;

	ck_assert_str_eq(a->mint, b->mint);
	ck_assert_str_eq(a->unit, b->unit);
	ck_assert_int_eq(a->memo == NULL, b->memo == NULL);
	if (a->memo)
		ck_assert_str_eq(a->memo, b->memo);
	ck_assert_uint_eq(a->nproofs, b->nproofs);
	ck_assert_uint_eq(a->total, b->total);
	for (i = 0; i < a->nproofs; i++) {
		const struct cashu_proof *p = &a->proofs[i], *q = &b->proofs[i];

		ck_assert_uint_eq(p->amount, q->amount);
		ck_assert_str_eq(p->keyset_id, q->keyset_id);
		ck_assert_str_eq(p->secret, q->secret);
		ck_assert_str_eq(p->C, q->C);
		ck_assert_str_eq(p->mint, q->mint);
		ck_assert_int_eq(p->dleq.present, q->dleq.present);
		ck_assert_str_eq(p->dleq.e, q->dleq.e);
		ck_assert_str_eq(p->dleq.s, q->dleq.s);
		ck_assert_str_eq(p->dleq.r, q->dleq.r);
		ck_assert_str_eq(p->p2pk_e, q->p2pk_e);
		ck_assert_int_eq(p->witness == NULL, q->witness == NULL);
		if (p->witness)
			ck_assert_str_eq(p->witness, q->witness);
	}
}

/* encode_v4(t) decodes to the same token; same for V3. */
static void
ck_roundtrips(const struct cashu_token *t)
{
	struct cashu_token u;
	char *s;

	s = cashu_token_encode_v4(t);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dec(s, &u), CASHU_TOK_OK);
	ck_assert_int_eq(u.version, 4);
	ck_tokens_equal(t, &u);
	cashu_token_free(&u);
	free(s);
	s = cashu_token_encode_v3(t);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dec(s, &u), CASHU_TOK_OK);
	ck_assert_int_eq(u.version, 3);
	ck_tokens_equal(t, &u);
	cashu_token_free(&u);
	free(s);
}

/* t matches a V3-shaped JSON object (token[{mint, proofs}], unit, memo). */
static void
ck_matches_v3json(const struct cashu_token *t, json_object *j)
{
	json_object *entries = tl_get(j, "token"), *memo = opt(j, "memo");
	size_t i, k, n = 0;
	uint64_t total = 0;

	for (i = 0; i < json_object_array_length(entries); i++) {
		json_object *ent = json_object_array_get_idx(entries, i);
		json_object *proofs = tl_get(ent, "proofs");

		for (k = 0; k < json_object_array_length(proofs); k++, n++) {
			json_object *p = json_object_array_get_idx(proofs, k);

			ck_assert_uint_lt(n, t->nproofs);
			ck_assert_uint_eq(t->proofs[n].amount,
			    (uint64_t)json_object_get_int64(tl_get(p, "amount")));
			total += t->proofs[n].amount;
			ck_assert_str_eq(t->proofs[n].keyset_id, tl_get_str(p, "id"));
			ck_assert_str_eq(t->proofs[n].secret, tl_get_str(p, "secret"));
			ck_assert_str_eq(t->proofs[n].C, tl_get_str(p, "C"));
			ck_assert_str_eq(t->proofs[n].mint, tl_get_str(ent, "mint"));
		}
	}
	ck_assert_uint_eq(n, t->nproofs);
	ck_assert_uint_eq(total, t->total);
	ck_assert_str_eq(t->unit, opt(j, "unit") ? tl_get_str(j, "unit") : "sat");
	if (memo)
		ck_assert_str_eq(t->memo, json_object_get_string(memo));
	else
		ck_assert_ptr_null(t->memo);
}

/* t matches a V4-shaped JSON object with {"$bytes_hex": ...} bytes. */
static void
ck_matches_v4json(const struct cashu_token *t, json_object *j)
{
	json_object *groups = tl_get(j, "t"), *memo = opt(j, "d");
	size_t i, k, n = 0;

	for (i = 0; i < json_object_array_length(groups); i++) {
		json_object *g = json_object_array_get_idx(groups, i), *proofs = tl_get(g, "p");
		const char *id = tl_get_str(tl_get(g, "i"), "$bytes_hex");

		for (k = 0; k < json_object_array_length(proofs); k++, n++) {
			json_object *p = json_object_array_get_idx(proofs, k);

			ck_assert_uint_lt(n, t->nproofs);
			ck_assert_uint_eq(t->proofs[n].amount,
			    (uint64_t)json_object_get_int64(tl_get(p, "a")));
			ck_assert_str_eq(t->proofs[n].keyset_id, id);
			ck_assert_str_eq(t->proofs[n].secret, tl_get_str(p, "s"));
			ck_assert_str_eq(t->proofs[n].C, tl_get_str(tl_get(p, "c"), "$bytes_hex"));
		}
	}
	ck_assert_uint_eq(n, t->nproofs);
	ck_assert_str_eq(t->mint, tl_get_str(j, "m"));
	ck_assert_str_eq(t->unit, tl_get_str(j, "u"));
	if (memo)
		ck_assert_str_eq(t->memo, json_object_get_string(memo));
	else
		ck_assert_ptr_null(t->memo);
}

/* The string without trailing '=' (for comparing padded vectors). */
static size_t
unpadded_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '=')
		n--;
	return n;
}

/* ------------------------------------------------------------ vectors */

START_TEST(nut00_token_vectors)
{
	json_object *root = tl_vectors(), *arr = tl_get(root, "vectors");
	int n_v3ser = 0, n_v3inv = 0, n_v3ok = 0, n_v4ser = 0, n_v4bin = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		json_object *in = tl_get(v, "inputs"), *ex = tl_get(v, "expected");
		const char *cat = tl_get_str(v, "category"), *name = tl_get_str(v, "name");
		struct cashu_token t;
		char *enc;

		if (strcmp(cat, "token_v3_serialize") == 0) {
			const char *ser = tl_get_str(ex, "serialized");

			ck_assert_msg(dec(ser, &t) == CASHU_TOK_OK, "%s", name);
			ck_matches_v3json(&t, tl_get(in, "token_json"));
			/* published key order: byte-for-byte */
			enc = cashu_token_encode_v3(&t);
			ck_assert_str_eq(enc, ser);
			free(enc);
			ck_roundtrips(&t);
			cashu_token_free(&t);
			n_v3ser++;
		} else if (strcmp(cat, "token_v3_deserialize_invalid") == 0) {
			ck_assert(!json_object_get_boolean(tl_get(ex, "valid")));
			ck_assert_msg(dec(tl_get_str(in, "token"), &t) != CASHU_TOK_OK, "%s", name);
			ck_assert_uint_eq(t.nproofs, 0);
			cashu_token_free(&t);
			n_v3inv++;
		} else if (strcmp(cat, "token_v3_deserialize_valid") == 0) {
			ck_assert(json_object_get_boolean(tl_get(ex, "valid")));
			ck_assert_msg(dec(tl_get_str(in, "token"), &t) == CASHU_TOK_OK, "%s", name);
			if (opt(ex, "token_json"))
				ck_matches_v3json(&t, tl_get(ex, "token_json"));
			ck_assert_int_eq(t.version, 3);
			ck_roundtrips(&t);
			cashu_token_free(&t);
			n_v3ok++;
		} else if (strcmp(cat, "token_v4_serialize") == 0) {
			const char *ser = tl_get_str(ex, "serialized");

			ck_assert_msg(dec(ser, &t) == CASHU_TOK_OK, "%s", name);
			ck_assert_int_eq(t.version, 4);
			ck_matches_v4json(&t, tl_get(in, "token_json_bytes_as_hex"));
			/* spec key order, definite lengths: equal up to padding */
			enc = cashu_token_encode_v4(&t);
			ck_assert_ptr_nonnull(enc);
			ck_assert_uint_eq(strlen(enc), unpadded_len(ser));
			ck_assert(memcmp(enc, ser, strlen(enc)) == 0);
			free(enc);
			ck_roundtrips(&t);
			cashu_token_free(&t);
			n_v4ser++;
		} else if (strcmp(cat, "token_v4_binary") == 0) {
			const char *hex = tl_get_str(ex, "binary_hex");
			size_t blen = strlen(hex) / 2, olen = 0;
			uint8_t *bin = xmalloc(blen), *out;

			ck_assert_int_eq(hex_decode(hex, strlen(hex), bin, blen), 0);
			ck_assert_msg(cashu_token_decode_binary(bin, blen, &t) == CASHU_TOK_OK,
			    "%s", name);
			ck_matches_v4json(&t, tl_get(in, "token_json_bytes_as_hex"));
			out = cashu_token_encode_binary(&t, &olen);
			ck_assert_ptr_nonnull(out);
			ck_assert_uint_eq(olen, blen);
			ck_assert(memcmp(out, bin, blen) == 0);
			free(out);
			/* the text decoder refuses binary tokens */
			cashu_token_free(&t);
			ck_assert_int_ne(cashu_token_decode((const char *)bin, blen, &t),
			    CASHU_TOK_OK);
			free(bin);
			n_v4bin++;
		}
	}
	printf("NUT-00 token_v3_serialize: %d vectors passed\n", n_v3ser);
	printf("NUT-00 token_v3_deserialize_invalid: %d vectors passed\n", n_v3inv);
	printf("NUT-00 token_v3_deserialize_valid: %d vectors passed\n", n_v3ok);
	printf("NUT-00 token_v4_serialize: %d vectors passed\n", n_v4ser);
	printf("NUT-00 token_v4_binary: %d vectors passed\n", n_v4bin);
	ck_assert_int_ge(n_v3ser, 1);
	ck_assert_int_ge(n_v3inv, 2);
	ck_assert_int_ge(n_v3ok, 3);
	ck_assert_int_ge(n_v4ser, 2);
	ck_assert_int_ge(n_v4bin, 1);
	json_object_put(root);
}
END_TEST

START_TEST(cashu_ts_short_id)
{
	json_object *root = tl_vectors();
	json_object *arr = tl_get(root, "supplementary_computed_not_published");
	int count = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		json_object *in, *ex, *p0;
		struct cashu_token t;
		const char *full, *ids[3], *out = NULL;

		if (strcmp(tl_get_str(v, "category"), "token_v4_short_id") != 0)
			continue;
		in = tl_get(v, "inputs");
		ex = tl_get(v, "expected");
		p0 = json_object_array_get_idx(tl_get(in, "proofs"), 0);
		full = tl_get_str(p0, "id");
		ck_assert_int_eq(dec(tl_get_str(ex, "serialized"), &t), CASHU_TOK_OK);
		ck_assert_str_eq(t.mint, tl_get_str(in, "mint"));
		ck_assert_str_eq(t.unit, tl_get_str(in, "unit"));
		ck_assert_uint_eq(t.nproofs, 1);
		ck_assert_str_eq(t.proofs[0].keyset_id, tl_get_str(ex, "i_field_hex"));
		ck_assert_str_eq(t.proofs[0].secret, tl_get_str(p0, "secret"));
		ck_assert_str_eq(t.proofs[0].C, tl_get_str(p0, "C"));
		/* resolve the short id against the mint's keysets */
		ids[0] = "009a1f293253e41e";
		ids[1] = full;
		ids[2] = "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a";
		ck_assert_int_eq(cashu_keyset_id_match(t.proofs[0].keyset_id, ids, 3, &out), 0);
		ck_assert_ptr_eq(out, full);
		ck_roundtrips(&t);
		cashu_token_free(&t);
		count++;
	}
	printf("computed token_v4_short_id (cashu-ts 4.8.0): %d vectors passed\n", count);
	ck_assert_int_ge(count, 1);
	json_object_put(root);
}
END_TEST

START_TEST(keyset_id_match)
{
	static const char *const ids[] = {
		"009a1f293253e41e",
		"0123e7ff7fc6ae5ec416266b5eef512c7fb0991265e34fbfe65e42fda06b858ec8",
		"015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a",
		"015ba18a8adcd02eaaaa58358eb618da4a4b3791151a4bee5e968bb88406ccf76a",
		"0123e7ff7fc6ae5ec416266b5eef512c7fb0991265e34fbfe65e42fda06b858ec8",
	};
	const char *out;

	ck_assert_int_eq(cashu_keyset_id_match("0123e7ff7fc6ae5e", ids, 5, &out), 0);
	ck_assert_ptr_eq(out, ids[1]);	/* the same id listed twice is one match */
	ck_assert_int_eq(cashu_keyset_id_match("015ba18a8adcd02e", ids, 5, &out), -2);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(cashu_keyset_id_match("01ffffffffffffff", ids, 5, &out), -1);
	ck_assert_int_eq(cashu_keyset_id_match("009a1f293253e41e", ids, 5, &out), 0);
	ck_assert_ptr_eq(out, ids[0]);
	ck_assert_int_eq(cashu_keyset_id_match("009A1F293253E41E", ids, 5, &out), 0);
	ck_assert_int_eq(cashu_keyset_id_match(ids[2], ids, 5, &out), 0);
	ck_assert_ptr_eq(out, ids[2]);
	/* a v1 id is never a prefix match, nor is a truncated full id */
	ck_assert_int_eq(cashu_keyset_id_match("009a1f29", ids, 5, &out), -1);
	ck_assert_int_eq(cashu_keyset_id_match("015ba18a8adcd02e715a", ids, 5, &out), -1);
	ck_assert_int_eq(cashu_keyset_id_match("", ids, 5, &out), -1);
	ck_assert_int_eq(cashu_keyset_id_match(NULL, ids, 5, &out), -1);
	ck_assert_int_eq(cashu_keyset_id_match("0123e7ff7fc6ae5e", ids, 0, &out), -1);
}
END_TEST

/* ------------------------------------------------------------- base64 */

START_TEST(b64_strict)
{
	uint8_t out[64];
	size_t n;
	char enc[64];

	ck_assert_int_eq(b64_decode("Zm9vYg", 6, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out, "foob", 4) == 0);
	ck_assert_int_eq(b64_decode("Zm9vYg==", 8, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(b64_decode("Zm9vYmE", 7, out, sizeof(out), &n), 0);
	ck_assert_int_eq(b64_decode("Zm9vYmE=", 8, out, sizeof(out), &n), 0);
	ck_assert_int_eq(b64_decode("", 0, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 0);
	/* -_ and +/ both fine, mixing is not */
	ck_assert_int_eq(b64_decode("-_-_", 4, out, sizeof(out), &n), 0);
	ck_assert_int_eq(b64_decode("+/+/", 4, out, sizeof(out), &n), 0);
	ck_assert_int_eq(b64_decode("+_+_", 4, out, sizeof(out), &n), -1);
	/* bad padding, lengths, characters, trailing bits */
	ck_assert_int_eq(b64_decode("Zm9vYg=", 7, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9vYg===", 9, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9vY", 5, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9v=Yg=", 8, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9vYmE==", 9, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9 vYg", 7, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9v\nYg", 7, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9vYh", 6, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("====", 4, out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 5, &n), -1);	/* out too small */
	ck_assert_int_eq(b64_decode("Zm\0vYmFy", 8, out, sizeof(out), &n), -1);
	/* encoder */
	ck_assert_uint_eq(b64_encode((const uint8_t *)"foob", 4, B64_URL, false, enc,
	    sizeof(enc)), 6);
	ck_assert_str_eq(enc, "Zm9vYg");
	ck_assert_uint_eq(b64_encode((const uint8_t *)"foob", 4, B64_STD, true, enc,
	    sizeof(enc)), 8);
	ck_assert_str_eq(enc, "Zm9vYg==");
	ck_assert_uint_eq(b64_encode((const uint8_t *)"\xfb\xff", 2, B64_URL, true, enc,
	    sizeof(enc)), 4);
	ck_assert_str_eq(enc, "-_8=");
	ck_assert_uint_eq(b64_encode((const uint8_t *)"foob", 4, B64_URL, false, enc, 6),
	    (size_t)-1);
}
END_TEST

/* ------------------------------------------------ hand-made hostile tokens */

/* "cashuA" + base64url(json). Caller frees. */
static char *
mk_v3(const char *json)
{
	size_t n = strlen(json), el = b64_encoded_len(n, false);
	char *s = xmalloc(6 + el + 1);

	memcpy(s, "cashuA", 6);
	ck_assert_uint_eq(b64_encode((const uint8_t *)json, n, B64_URL, false, s + 6, el + 1), el);
	return s;
}

/* "cashuB" + base64url(cbor bytes). Caller frees. */
static char *
mk_v4(const uint8_t *cbor, size_t n)
{
	size_t el = b64_encoded_len(n, false);
	char *s = xmalloc(6 + el + 1);

	memcpy(s, "cashuB", 6);
	ck_assert_uint_eq(b64_encode(cbor, n, B64_URL, false, s + 6, el + 1), el);
	return s;
}

static enum cashu_token_err
dec_v3(const char *json)
{
	struct cashu_token t;
	char *s = mk_v3(json);
	enum cashu_token_err e = dec(s, &t);

	if (e != CASHU_TOK_OK)
		ck_assert_uint_eq(t.nproofs, 0);
	cashu_token_free(&t);
	free(s);
	return e;
}

#define P_C "\"C\":\"02bc9097997d81afb2cc7346b5e4345a9346bd2a506eb7958598a72f0cf85163ea\""
#define P_ID "\"id\":\"009a1f293253e41e\""
#define V3BODY(proofs) "\"token\":[{\"mint\":\"https://m.example/\",\"proofs\":[" proofs "]}]"
#define V3(proofs) "{" V3BODY(proofs) "}"
#define PROOF(amount) "{\"amount\":" amount "," P_ID ",\"secret\":\"s\"," P_C "}"

START_TEST(v3_hostile)
{
	struct cashu_token t;
	char *s;

	ck_assert_int_eq(dec_v3(V3(PROOF("1"))), CASHU_TOK_OK);
	/* amounts */
	ck_assert_int_eq(dec_v3(V3(PROOF("0"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("-1"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("-0"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("1.0"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("1e3"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("\"1\""))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("true"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("null"))), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3(PROOF("18446744073709551615"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("18446744073709551616"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("99999999999999999999999999"))), CASHU_TOK_AMOUNT);
	ck_assert_int_eq(dec_v3(V3(PROOF("9223372036854775808"))), CASHU_TOK_OK);
	ck_assert_int_eq(dec_v3(V3(PROOF("9223372036854775808") ","
	    PROOF("9223372036854775807"))), CASHU_TOK_OK);
	ck_assert_int_eq(dec_v3(V3(PROOF("9223372036854775808") ","
	    PROOF("9223372036854775808"))), CASHU_TOK_AMOUNT);
	/* 2^63 keeps its exact value */
	s = mk_v3(V3(PROOF("9223372036854775808")));
	ck_assert_int_eq(dec(s, &t), CASHU_TOK_OK);
	ck_assert_uint_eq(t.total, 9223372036854775808ull);
	ck_assert_str_eq(t.mint, "https://m.example");	/* trailing '/' stripped */
	ck_assert_str_eq(t.unit, "sat");
	ck_roundtrips(&t);
	cashu_token_free(&t);
	free(s);
	/* structure */
	ck_assert_int_eq(dec_v3("[]"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{}"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":{}}"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":[]}"), CASHU_TOK_EMPTY);
	ck_assert_int_eq(dec_v3(V3("")), CASHU_TOK_EMPTY);
	ck_assert_int_eq(dec_v3("{\"token\":[{\"mint\":\"https://m\",\"proofs\":{}}]}"),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":[{\"mint\":5,\"proofs\":[]}]}"),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":[{\"mint\":\"///\",\"proofs\":[]}]}"),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":[{\"mint\":\"a b\",\"proofs\":[]}]}"),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":[5]}"), CASHU_TOK_STRUCTURE);
	/* regression: a bad entry after a good one is not ignored */
	ck_assert_int_eq(dec_v3("{\"token\":[{\"mint\":\"https://m\",\"proofs\":["
	    PROOF("1") "]},5]}"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"token\":[{\"mint\":\"https://m\",\"proofs\":["
	    PROOF("1") "]},{\"mint\":\"https://n\"}]}"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("5")), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID "," P_C "}")), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID ",\"secret\":\"\"," P_C "}")),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID ",\"secret\":\"a\\u0000b\"," P_C "}")),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1,\"id\":\"009a1f293253e4\",\"secret\":\"s\","
	    P_C "}")), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1,\"id\":\"I2yN+iRYfkzT\",\"secret\":\"s\","
	    P_C "}")), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID ",\"secret\":\"s\",\"C\":\"04bc\"}")),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID ",\"secret\":\"s\",\"C\":"
	    "\"04bc9097997d81afb2cc7346b5e4345a9346bd2a506eb7958598a72f0cf85163ea\"}")),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID ",\"secret\":\"s\"," P_C
	    ",\"dleq\":{\"e\":\"00\"}}")), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3(V3("{\"amount\":1," P_ID ",\"secret\":\"s\"," P_C
	    ",\"witness\":7}")), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"unit\":\"a-very-long-unit-name\"," V3BODY(PROOF("1")) "}"),
	    CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("{\"memo\":\"\xff\"," V3BODY(PROOF("1")) "}"), CASHU_TOK_STRUCTURE);
	/* unknown keys are ignored; witness objects become strings */
	ck_assert_int_eq(dec_v3("{\"x\":[1,{}],\"token\":[{\"mint\":\"https://m\",\"y\":1,"
	    "\"proofs\":[{\"amount\":1,\"z\":null," P_ID ",\"secret\":\"s\"," P_C
	    ",\"witness\":{\"signatures\":[\"ab\"]}}]}]}"), CASHU_TOK_OK);
	/* JSON syntax, trailing bytes, depth */
	ck_assert_int_eq(dec_v3("{"), CASHU_TOK_JSON);
	ck_assert_int_eq(dec_v3(""), CASHU_TOK_BASE64);
	ck_assert_int_eq(dec_v3(V3(PROOF("1")) " \n"), CASHU_TOK_OK);	/* JSON whitespace */
	ck_assert_int_eq(dec_v3(V3(PROOF("1")) " x"), CASHU_TOK_JSON);
	ck_assert_int_eq(dec_v3(V3(PROOF("1")) "{}"), CASHU_TOK_JSON);
	ck_assert_int_eq(dec_v3("{\"token\":[],}"), CASHU_TOK_JSON);
	ck_assert_int_eq(dec_v3("{\"token\":[01]}"), CASHU_TOK_JSON);
	ck_assert_int_eq(dec_v3("{\"token\":[\"\x01\"]}"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v3("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), CASHU_TOK_JSON);
}
END_TEST

START_TEST(v3_multi_mint_and_caps)
{
	struct cashu_token t;
	struct buf b;
	char *s, *enc;
	unsigned i;

	s = mk_v3("{\"token\":[{\"mint\":\"https://a\",\"proofs\":[" PROOF("1") "]},"
	    "{\"mint\":\"https://b\",\"proofs\":[" PROOF("2") "," PROOF("4") "]},"
	    "{\"mint\":\"https://a/\",\"proofs\":[" PROOF("8") "]}],\"unit\":\"usd\"}");
	ck_assert_int_eq(dec(s, &t), CASHU_TOK_OK);
	ck_assert_uint_eq(t.nproofs, 4);
	ck_assert_uint_eq(t.total, 15);
	ck_assert_str_eq(t.mint, "https://a");
	ck_assert_str_eq(t.proofs[0].mint, "https://a");
	ck_assert_str_eq(t.proofs[1].mint, "https://b");
	ck_assert_str_eq(t.proofs[2].mint, "https://b");
	ck_assert_str_eq(t.proofs[3].mint, "https://a");
	ck_assert_str_eq(t.unit, "usd");
	ck_assert_int_eq(cashu_token_single_mint(&t), 0);
	ck_assert_ptr_null(cashu_token_encode_v4(&t));
	enc = cashu_token_encode_v3(&t);
	ck_assert_ptr_nonnull(enc);
	cashu_token_free(&t);
	ck_assert_int_eq(dec(enc, &t), CASHU_TOK_OK);
	ck_assert_uint_eq(t.nproofs, 4);
	ck_assert_str_eq(t.proofs[1].mint, "https://a");	/* grouped by mint */
	ck_assert_uint_eq(t.proofs[1].amount, 8);
	cashu_token_free(&t);
	free(enc);
	free(s);

	/* CASHU_PROOFS_MAX proofs pass, one more is refused */
	for (i = CASHU_PROOFS_MAX; i <= CASHU_PROOFS_MAX + 1; i++) {
		unsigned k;

		buf_init(&b, 1u << 20);
		buf_puts(&b, "{\"token\":[{\"mint\":\"https://a\",\"proofs\":[");
		for (k = 0; k < i; k++)
			buf_printf(&b, "%s" PROOF("1"), k ? "," : "");
		buf_puts(&b, "]}]}");
		s = mk_v3(b.data);
		ck_assert_int_eq(dec(s, &t),
		    i == CASHU_PROOFS_MAX ? CASHU_TOK_OK : CASHU_TOK_TOO_LARGE);
		if (i == CASHU_PROOFS_MAX) {
			ck_assert_uint_eq(t.total, CASHU_PROOFS_MAX);
			ck_roundtrips(&t);
		}
		cashu_token_free(&t);
		free(s);
		buf_free(&b);
	}
}
END_TEST

/* A tiny CBOR writer for hand-made V4 tokens; indef selects indefinite
 * lengths (and two-chunk strings) everywhere. */
static int indef;

static void
cw_head(struct buf *b, unsigned major, uint64_t v)
{
	uint8_t h[9];
	size_t n = v < 24 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8, i;

	h[0] = (uint8_t)(major << 5 | (n == 0 ? v : n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
	for (i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	buf_append(b, h, 1 + n);
}

static void
cw_open(struct buf *b, unsigned major, uint64_t n)
{
	if (indef)
		buf_append(b, major == 4 ? "\x9f" : "\xbf", 1);
	else
		cw_head(b, major, n);
}

static void
cw_close(struct buf *b)
{
	if (indef)
		buf_append(b, "\xff", 1);
}

static void
cw_str(struct buf *b, unsigned major, const void *p, size_t n)
{
	if (indef && n > 1) {
		buf_append(b, major == 3 ? "\x7f" : "\x5f", 1);
		cw_head(b, major, n / 2);
		buf_append(b, p, n / 2);
		cw_head(b, major, n - n / 2);
		buf_append(b, (const char *)p + n / 2, n - n / 2);
		buf_append(b, "\xff", 1);
	} else {
		cw_head(b, major, n);
		buf_append(b, p, n);
	}
}

static void
cw_text(struct buf *b, const char *s)
{
	cw_str(b, 3, s, strlen(s));
}

static void
cw_hex(struct buf *b, const char *hex)
{
	uint8_t raw[64];
	size_t n = strlen(hex) / 2;

	ck_assert_int_eq(hex_decode(hex, strlen(hex), raw, n), 0);
	cw_str(b, 2, raw, n);
}

/* Raw CBOR bytes from hex. */
static void
cw_raw(struct buf *b, const char *hex)
{
	uint8_t raw[64];
	size_t n = strlen(hex) / 2;

	ck_assert_int_eq(hex_decode(hex, strlen(hex), raw, n), 0);
	buf_append(b, raw, n);
}

#define CHEX "038618543ffb6b8695df4ad4babcde92a34a96bdcd97dcee0d7ccf98d472126792"
#define IDHEX "00ad268c4d1f5826"

/* {t:[{i:id, p:[{a:<amount_raw>, s:"secret", c:c}]}], m:..., u:"sat"} */
static enum cashu_token_err
dec_v4_simple(const char *amount_raw, const char *id, const char *c, struct cashu_token *t)
{
	struct buf b;
	char *s;
	enum cashu_token_err e;

	buf_init(&b, 1u << 16);
	cw_open(&b, 5, 3);
	cw_text(&b, "t");
	cw_open(&b, 4, 1);
	cw_open(&b, 5, 2);
	cw_text(&b, "i");
	cw_hex(&b, id);
	cw_text(&b, "p");
	cw_open(&b, 4, 1);
	cw_open(&b, 5, 3);
	cw_text(&b, "a");
	cw_raw(&b, amount_raw);
	cw_text(&b, "s");
	cw_text(&b, "9a6dbb847bd232ba76db0df197216b29d3b8cc14553cd27827fc1cc942fedb4e");
	cw_text(&b, "c");
	cw_hex(&b, c);
	cw_close(&b);
	cw_close(&b);
	cw_close(&b);
	cw_close(&b);
	cw_text(&b, "m");
	cw_text(&b, "http://localhost:3338/");
	cw_text(&b, "u");
	cw_text(&b, "sat");
	cw_close(&b);
	s = mk_v4((const uint8_t *)b.data, b.len);
	e = dec(s, t);
	free(s);
	buf_free(&b);
	return e;
}

static enum cashu_token_err
dec_v4_hex(const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *raw = xmalloc(n + 1);
	struct cashu_token t;
	enum cashu_token_err e;
	char *s;

	ck_assert_int_eq(hex_decode(hex, strlen(hex), raw, n), 0);
	s = mk_v4(raw, n);
	e = dec(s, &t);
	cashu_token_free(&t);
	free(s);
	free(raw);
	return e;
}

/* The published single-keyset token's CBOR. */
#define V4_CBOR "a4617481a261694800ad268c4d1f5826617081a361610161737840396136646262383437" \
	"62643233326261373664623064663139373231366232396433623863633134353533636432" \
	"37383237666331636339343266656462346561635821038618543ffb6b8695df4ad4babcde" \
	"92a34a96bdcd97dcee0d7ccf98d4721267926164695468616e6b20796f75616d7568747470" \
	"3a2f2f6c6f63616c686f73743a33333338617563736174"

START_TEST(v4_hostile)
{
	struct cashu_token t, u;

	/* definite and indefinite spellings decode to the same token */
	indef = 0;
	ck_assert_int_eq(dec_v4_simple("01", IDHEX, CHEX, &t), CASHU_TOK_OK);
	indef = 1;
	ck_assert_int_eq(dec_v4_simple("01", IDHEX, CHEX, &u), CASHU_TOK_OK);
	ck_tokens_equal(&t, &u);
	ck_assert_str_eq(t.mint, "http://localhost:3338");
	ck_roundtrips(&u);
	cashu_token_free(&t);
	cashu_token_free(&u);
	for (indef = 0; indef < 2; indef++) {
		/* amounts: 0, negative, floats, text, 2^64-1, tagged */
		ck_assert_int_eq(dec_v4_simple("00", IDHEX, CHEX, &t), CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("20", IDHEX, CHEX, &t), CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("3bffffffffffffffff", IDHEX, CHEX, &t),
		    CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("f93c00", IDHEX, CHEX, &t), CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("fb3ff0000000000000", IDHEX, CHEX, &t),
		    CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("6131", IDHEX, CHEX, &t), CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("f6", IDHEX, CHEX, &t), CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("1bffffffffffffffff", IDHEX, CHEX, &t),
		    CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("c201", IDHEX, CHEX, &t), CASHU_TOK_AMOUNT);
		ck_assert_int_eq(dec_v4_simple("1b8000000000000000", IDHEX, CHEX, &t),
		    CASHU_TOK_OK);
		ck_assert_uint_eq(t.total, 9223372036854775808ull);
		cashu_token_free(&t);
		/* non-minimal heads are still valid CBOR */
		ck_assert_int_eq(dec_v4_simple("1b0000000000000001", IDHEX, CHEX, &t),
		    CASHU_TOK_OK);
		cashu_token_free(&t);
		/* keyset id lengths: 8 and 33 bytes only */
		ck_assert_int_eq(dec_v4_simple("01", "00ad268c4d1f58", CHEX, &t),
		    CASHU_TOK_STRUCTURE);
		ck_assert_int_eq(dec_v4_simple("01", "", CHEX, &t), CASHU_TOK_STRUCTURE);
		ck_assert_int_eq(dec_v4_simple("01", "01" IDHEX IDHEX IDHEX IDHEX, CHEX, &t),
		    CASHU_TOK_OK);
		cashu_token_free(&t);
		/* C: 33 bytes with 02/03 */
		ck_assert_int_eq(dec_v4_simple("01", IDHEX, "04" IDHEX IDHEX IDHEX IDHEX, &t),
		    CASHU_TOK_STRUCTURE);
		ck_assert_int_eq(dec_v4_simple("01", IDHEX, IDHEX, &t), CASHU_TOK_STRUCTURE);
	}
	indef = 0;
	/* the published token and hostile edits of it */
	ck_assert_int_eq(dec_v4_hex(V4_CBOR), CASHU_TOK_OK);
	ck_assert_int_eq(dec_v4_hex(V4_CBOR "00"), CASHU_TOK_CBOR);	/* trailing */
	ck_assert_int_eq(dec_v4_hex(V4_CBOR "ff"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("ff"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("a0"), CASHU_TOK_STRUCTURE);	/* {} */
	ck_assert_int_eq(dec_v4_hex("80"), CASHU_TOK_STRUCTURE);	/* [] */
	ck_assert_int_eq(dec_v4_hex("01"), CASHU_TOK_STRUCTURE);
	/* {"t": [], "m": "x"} -> no proofs */
	ck_assert_int_eq(dec_v4_hex("a2617480616d6178"), CASHU_TOK_EMPTY);
	/* regression (found by fuzz_token): a valid "u" must not turn a token
	 * without "m" into success: {"u": "sat"}, {"t": [], "u": "sat"} */
	ck_assert_int_eq(dec_v4_hex("a1617563736174"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v4_hex("a2617480617563736174"), CASHU_TOK_STRUCTURE);
	ck_assert_int_eq(dec_v4_hex("a3617563736174617563736174616d6178"), CASHU_TOK_STRUCTURE);
	/* {"t": [], "m": "x", "m": "y"} -> duplicate key */
	ck_assert_int_eq(dec_v4_hex("a3617480616d6178616d6179"), CASHU_TOK_STRUCTURE);
	/* {"t": [], "m": 1} */
	ck_assert_int_eq(dec_v4_hex("a2617480616d01"), CASHU_TOK_STRUCTURE);
	/* {"t": {}, "m": "x"} */
	ck_assert_int_eq(dec_v4_hex("a26174a0616d6178"), CASHU_TOK_STRUCTURE);
	/* {"m": "x"}: no t */
	ck_assert_int_eq(dec_v4_hex("a16d6178"), CASHU_TOK_CBOR);	/* 0x6d is not "m" */
	ck_assert_int_eq(dec_v4_hex("a1616d6178"), CASHU_TOK_STRUCTURE);
	/* huge declared lengths: array of 2^32 items, map of 2^63 pairs, text of
	 * 2^32-1 bytes, bytes of 2^64-1 */
	ck_assert_int_eq(dec_v4_hex("a261749b00000001000000006176f6"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("bb7fffffffffffffff6174"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("a1617a7affffffff00"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("a1617a5bffffffffffffffff00"), CASHU_TOK_CBOR);
	/* reserved additional info, break inside a definite array, unclosed */
	ck_assert_int_eq(dec_v4_hex("a1617a1c"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("a1617a81ff"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("bf6174809f"), CASHU_TOK_CBOR);
	/* an indefinite text string with a byte-string chunk, or nested */
	ck_assert_int_eq(dec_v4_hex("a1617a7f4161ff"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("a1617a7f7fffff"), CASHU_TOK_CBOR);
	ck_assert_int_eq(dec_v4_hex("a1617a7f01ff"), CASHU_TOK_CBOR);
	/* tags chained past the depth limit */
	ck_assert_int_eq(dec_v4_hex("a1617ac1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c101"),
	    CASHU_TOK_CBOR);
	/* unknown top-level keys, even nested and tagged, are ignored */
	ck_assert_int_eq(dec_v4_hex("a1617ac1c101"), CASHU_TOK_STRUCTURE);
	/* deep nesting (100 arrays) is refused before libcbor sees it */
	{
		char hex[2 * 110 + 1];
		size_t i;

		memcpy(hex, "a1617a", 6);
		for (i = 0; i < 100; i++)
			memcpy(hex + 6 + 2 * i, "81", 2);
		memcpy(hex + 206, "01", 3);
		ck_assert_int_eq(dec_v4_hex(hex), CASHU_TOK_CBOR);
	}
	/* every truncation of a valid token fails cleanly */
	{
		size_t n = strlen(V4_CBOR) / 2, k;
		uint8_t raw[256];

		ck_assert_int_eq(hex_decode(V4_CBOR, strlen(V4_CBOR), raw, n), 0);
		for (k = 0; k < n; k++) {
			char *s = mk_v4(raw, k);

			ck_assert_int_ne(dec(s, &t), CASHU_TOK_OK);
			cashu_token_free(&t);
			free(s);
		}
	}
}
END_TEST

START_TEST(v4_dleq_witness_extensions)
{
	struct cashu_token t;
	struct buf b;
	char *s;

	indef = 0;
	buf_init(&b, 1u << 16);
	cw_open(&b, 5, 4);
	cw_text(&b, "m");
	cw_text(&b, "https://mint.example");
	cw_text(&b, "u");
	cw_text(&b, "sat");
	cw_text(&b, "zz");	/* unknown key with a nested value */
	cw_raw(&b, "a2616101616280");
	cw_text(&b, "t");
	cw_open(&b, 4, 1);
	cw_open(&b, 5, 2);
	cw_text(&b, "p");
	cw_open(&b, 4, 1);
	cw_open(&b, 5, 7);
	cw_text(&b, "w");
	cw_text(&b, "{\"signatures\":[]}");
	cw_text(&b, "d");
	cw_open(&b, 5, 3);
	cw_text(&b, "e");
	cw_hex(&b, "b31e58ac6527f34975ffab13e70a48b6d2b0d35abc4b03f0151f09ee1a9763d4");
	cw_text(&b, "s");
	cw_hex(&b, "8fbae004c59e754d71df67e392b6ae4e29293113ddc2ec86592a0431d16306d8");
	cw_text(&b, "r");
	cw_hex(&b, "a6d13fcd7a18442e6076f5e1e7c887ad5de40a019824bdfa9fe740d302e8d861");
	cw_text(&b, "pe");
	cw_hex(&b, CHEX);
	cw_text(&b, "x");
	cw_raw(&b, "f6");
	cw_text(&b, "c");
	cw_hex(&b, CHEX);
	cw_text(&b, "s");
	cw_text(&b, "[\"P2PK\",{\"data\":\"02ab\"}]");
	cw_text(&b, "a");
	cw_raw(&b, "1904d2");
	cw_text(&b, "i");
	cw_hex(&b, "0123e7ff7fc6ae5e");
	s = mk_v4((const uint8_t *)b.data, b.len);
	ck_assert_int_eq(dec(s, &t), CASHU_TOK_OK);
	ck_assert_uint_eq(t.total, 1234);
	ck_assert_str_eq(t.proofs[0].keyset_id, "0123e7ff7fc6ae5e");
	ck_assert_str_eq(t.proofs[0].witness, "{\"signatures\":[]}");
	ck_assert_int_eq(t.proofs[0].dleq.present, 1);
	ck_assert_str_eq(t.proofs[0].dleq.r,
	    "a6d13fcd7a18442e6076f5e1e7c887ad5de40a019824bdfa9fe740d302e8d861");
	ck_assert_str_eq(t.proofs[0].p2pk_e, CHEX);
	ck_assert_str_eq(t.proofs[0].secret, "[\"P2PK\",{\"data\":\"02ab\"}]");
	ck_roundtrips(&t);
	cashu_token_free(&t);
	free(s);
	buf_free(&b);
}
END_TEST

START_TEST(prefixes_and_sizes)
{
	json_object *root = tl_vectors(), *arr = tl_get(root, "vectors");
	const char *good = NULL;
	struct cashu_token t;
	struct buf b;
	char *s;
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (strcmp(tl_get_str(v, "name"), "nut00_tokenv4_multiple_keysets") == 0)
			good = tl_get_str(tl_get(v, "expected"), "serialized");
	}
	ck_assert_ptr_nonnull(good);
	buf_init(&b, 1u << 20);
	/* schemes, case, whitespace */
	buf_printf(&b, "cashu:%s", good);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_OK);
	cashu_token_free(&t);
	buf_reset(&b);
	buf_printf(&b, "CASHU:%s", good);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_OK);
	cashu_token_free(&t);
	buf_reset(&b);
	buf_printf(&b, "web+cashu://%s", good);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_OK);
	cashu_token_free(&t);
	buf_reset(&b);
	buf_printf(&b, " \t%s\r\n", good);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_OK);
	cashu_token_free(&t);
	buf_reset(&b);
	buf_printf(&b, "cashu:cashu:%s", good);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_PREFIX);
	buf_reset(&b);
	buf_printf(&b, "Cashu%s", good + 5);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_PREFIX);
	buf_reset(&b);
	buf_printf(&b, "cashuC%s", good + 6);
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_PREFIX);
	/* the standard alphabet spelling of the same token */
	buf_reset(&b);
	buf_puts(&b, good);
	for (i = 6; i < b.len; i++) {
		if (b.data[i] == '-')
			b.data[i] = '+';
		else if (b.data[i] == '_')
			b.data[i] = '/';
	}
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_OK);
	cashu_token_free(&t);
	/* a space inside, a bad character, a NUL inside */
	buf_reset(&b);
	buf_puts(&b, good);
	b.data[20] = ' ';
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_BASE64);
	b.data[20] = '!';
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_BASE64);
	b.data[20] = '\0';
	ck_assert_int_eq(cashu_token_decode(b.data, b.len, &t), CASHU_TOK_BASE64);
	/* the NUL-terminated prefix is a valid-looking shorter string */
	ck_assert_int_ne(cashu_token_decode(b.data, strlen(b.data), &t), CASHU_TOK_OK);
	/* short, empty, NULL, oversized */
	ck_assert_int_eq(dec("", &t), CASHU_TOK_PREFIX);
	ck_assert_int_eq(dec("cashu", &t), CASHU_TOK_PREFIX);
	ck_assert_int_eq(dec("cashuA", &t), CASHU_TOK_BASE64);
	ck_assert_int_eq(dec("cashuB", &t), CASHU_TOK_BASE64);
	ck_assert_int_eq(dec("cashuBo", &t), CASHU_TOK_BASE64);
	ck_assert_int_eq(cashu_token_decode(NULL, 10, &t), CASHU_TOK_PREFIX);
	s = xmalloc(CASHU_TOKEN_MAX + 2);
	memset(s, 'A', CASHU_TOKEN_MAX + 1);
	memcpy(s, "cashuB", 6);
	s[CASHU_TOKEN_MAX + 1] = '\0';
	ck_assert_int_eq(cashu_token_decode(s, CASHU_TOKEN_MAX + 1, &t), CASHU_TOK_TOO_LARGE);
	ck_assert_int_ne(cashu_token_decode(s, CASHU_TOKEN_MAX, &t), CASHU_TOK_OK);
	free(s);
	ck_assert_int_eq(cashu_token_decode_binary((const uint8_t *)"crawA", 5, &t),
	    CASHU_TOK_PREFIX);
	ck_assert_int_eq(cashu_token_decode_binary((const uint8_t *)"crawB", 5, &t),
	    CASHU_TOK_CBOR);
	/* every error has a message; free is idempotent */
	for (i = 0; i < CASHU_TOK__MAX; i++)
		ck_assert_ptr_nonnull(cashu_token_strerror((enum cashu_token_err)i));
	ck_assert_ptr_nonnull(cashu_token_strerror(CASHU_TOK__MAX));
	cashu_token_free(&t);
	cashu_token_free(&t);
	cashu_token_free(NULL);
	/* encoders refuse bad tokens */
	memset(&t, 0, sizeof(t));
	ck_assert_ptr_null(cashu_token_encode_v4(&t));
	ck_assert_ptr_null(cashu_token_encode_v3(&t));
	ck_assert_ptr_null(cashu_token_encode_v4(NULL));
	ck_assert_int_eq(dec(good, &t), CASHU_TOK_OK);
	memcpy(t.proofs[0].keyset_id, "zz", 2);	/* same length, not hex */
	ck_assert_ptr_null(cashu_token_encode_v4(&t));
	cashu_token_free(&t);
	ck_assert_int_eq(dec(good, &t), CASHU_TOK_OK);
	t.proofs[1].amount = 0;
	ck_assert_ptr_null(cashu_token_encode_v4(&t));
	ck_assert_ptr_null(cashu_token_encode_v3(&t));
	cashu_token_free(&t);
	buf_free(&b);
	json_object_put(root);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("cashu_token");
	TCase *tc = tcase_create("token");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, nut00_token_vectors);
	tcase_add_test(tc, cashu_ts_short_id);
	tcase_add_test(tc, keyset_id_match);
	tcase_add_test(tc, b64_strict);
	tcase_add_test(tc, v3_hostile);
	tcase_add_test(tc, v3_multi_mint_and_caps);
	tcase_add_test(tc, v4_hostile);
	tcase_add_test(tc, v4_dleq_witness_extensions);
	tcase_add_test(tc, prefixes_and_sizes);
	suite_add_tcase(s, tc);
	return s;
}
