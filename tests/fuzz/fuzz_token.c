/* Fuzz harness for lib/cashu/token (and b64). Each input is tried three
 * ways so the fuzzer reaches the parsers without having to learn base64:
 * as token text, as the raw CBOR of a binary V4 token, and as the JSON of a
 * V3 token (wrapped here). Every accepted token must satisfy the decoder's
 * invariants and survive encode -> decode unchanged; a violation aborts, so
 * libFuzzer reports it like a crash. Built with libFuzzer when clang is
 * there, otherwise linked with driver.c, which replays and mutates a corpus. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "cashu/b64.h"
#include "cashu/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...) do { fprintf(stderr, "fuzz_token: " __VA_ARGS__); \
	fputc('\n', stderr); abort(); } while (0)

/* Structural invariants of a decoded token. */
static void
fuzz_invariants(const struct cashu_token *t)
{
	uint64_t sum = 0;
	size_t i, idn;

	if (t->nproofs == 0 || t->nproofs > CASHU_PROOFS_MAX || t->mint == NULL ||
	    t->mint[0] == '\0' || t->unit[0] == '\0' || (t->version != 3 && t->version != 4))
		FUZZ_FAIL("bad token header");
	for (i = 0; i < t->nproofs; i++) {
		const struct cashu_proof *p = &t->proofs[i];

		idn = strlen(p->keyset_id);
		if (p->amount == 0 || p->amount > UINT64_MAX - sum)
			FUZZ_FAIL("bad amount");
		sum += p->amount;
		if ((idn != 16 && idn != 66) || strlen(p->C) != 66 || p->secret == NULL ||
		    p->secret[0] == '\0' || p->mint[0] == '\0')
			FUZZ_FAIL("bad proof %zu", i);
		if (p->dleq.present && (strlen(p->dleq.e) != 64 || strlen(p->dleq.s) != 64))
			FUZZ_FAIL("bad dleq");
	}
	if (sum != t->total)
		FUZZ_FAIL("total mismatch");
}

static int
fuzz_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
fuzz_proof_eq(const struct cashu_proof *p, const struct cashu_proof *q)
{
	return p->amount == q->amount && fuzz_streq(p->keyset_id, q->keyset_id) &&
	    fuzz_streq(p->secret, q->secret) && fuzz_streq(p->C, q->C) &&
	    fuzz_streq(p->witness, q->witness) && p->dleq.present == q->dleq.present &&
	    fuzz_streq(p->dleq.e, q->dleq.e) && fuzz_streq(p->dleq.s, q->dleq.s) &&
	    fuzz_streq(p->dleq.r, q->dleq.r) && fuzz_streq(p->p2pk_e, q->p2pk_e) &&
	    fuzz_streq(p->mint, q->mint);
}

/* u must hold t's proofs in the V4 encoder's order: grouped by keyset id,
 * groups in order of first appearance. */
static void
fuzz_same_grouped(const struct cashu_token *t, const struct cashu_token *u)
{
	size_t i, j, k = 0;

	if (u->nproofs != t->nproofs || u->total != t->total || !fuzz_streq(t->mint, u->mint) ||
	    !fuzz_streq(t->unit, u->unit) || !fuzz_streq(t->memo, u->memo))
		FUZZ_FAIL("round trip changed the token");
	for (i = 0; i < t->nproofs; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(t->proofs[j].keyset_id, t->proofs[i].keyset_id) == 0)
				break;
		if (j < i)
			continue;	/* group already emitted */
		for (j = i; j < t->nproofs; j++)
			if (strcmp(t->proofs[j].keyset_id, t->proofs[i].keyset_id) == 0 &&
			    !fuzz_proof_eq(&t->proofs[j], &u->proofs[k++]))
				FUZZ_FAIL("round trip changed proof %zu", j);
	}
}

/* Encode an accepted token both ways and decode it again. */
static void
fuzz_roundtrip(const struct cashu_token *t)
{
	struct cashu_token u;
	char *s;

	fuzz_invariants(t);
	s = cashu_token_encode_v4(t);
	if (cashu_token_single_mint(t)) {
		if (s == NULL)
			FUZZ_FAIL("encode_v4 refused a decoded token");
		if (strlen(s) <= CASHU_TOKEN_MAX) {
			if (cashu_token_decode(s, strlen(s), &u) != CASHU_TOK_OK)
				FUZZ_FAIL("own V4 encoding does not decode");
			fuzz_same_grouped(t, &u);
			cashu_token_free(&u);
		}
	} else if (s != NULL)
		FUZZ_FAIL("encode_v4 accepted a multi-mint token");
	free(s);
	s = cashu_token_encode_v3(t);
	if (s == NULL)
		FUZZ_FAIL("encode_v3 refused a decoded token");
	if (strlen(s) <= CASHU_TOKEN_MAX) {
		if (cashu_token_decode(s, strlen(s), &u) != CASHU_TOK_OK)
			FUZZ_FAIL("own V3 encoding does not decode");
		if (u.nproofs != t->nproofs || u.total != t->total)
			FUZZ_FAIL("V3 round trip changed the token");
		cashu_token_free(&u);
	}
	free(s);
}

/* libFuzzer entry point; also called by driver.c. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cashu_token t;
	uint8_t *tmp;
	char *txt;
	size_t n, el;

	if (size > CASHU_TOKEN_MAX + 64)
		return 0;
	/* 1: token text */
	if (cashu_token_decode((const char *)data, size, &t) == CASHU_TOK_OK)
		fuzz_roundtrip(&t);
	cashu_token_free(&t);
	/* 2: raw CBOR as a binary token */
	tmp = xmalloc(size + 5);
	memcpy(tmp, "crawB", 5);
	if (size)
		memcpy(tmp + 5, data, size);
	if (cashu_token_decode_binary(tmp, size + 5, &t) == CASHU_TOK_OK)
		fuzz_roundtrip(&t);
	cashu_token_free(&t);
	free(tmp);
	/* 3: raw JSON as a V3 token */
	el = b64_encoded_len(size, false);
	txt = xmalloc(6 + el + 1);
	memcpy(txt, "cashuA", 6);
	if (b64_encode(data, size, B64_URL, false, txt + 6, el + 1) != el)
		FUZZ_FAIL("b64_encode failed");
	if (cashu_token_decode(txt, 6 + el, &t) == CASHU_TOK_OK)
		fuzz_roundtrip(&t);
	cashu_token_free(&t);
	/* base64 round trip: what decodes must re-encode to an equivalent */
	tmp = xmalloc(b64_decoded_max(el) + 1);
	if (b64_decode(txt + 6, el, tmp, b64_decoded_max(el), &n) != 0 || n != size ||
	    (size && memcmp(tmp, data, size) != 0))
		FUZZ_FAIL("base64 round trip");
	free(tmp);
	free(txt);
	/* the raw input as base64 */
	tmp = xmalloc(b64_decoded_max(size) + 1);
	(void)b64_decode((const char *)data, size, tmp, b64_decoded_max(size), &n);
	free(tmp);
	return 0;
}
