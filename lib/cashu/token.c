/* cashu/token: see token.h. Decoding goes text -> prefix -> base64 -> CBOR
 * (libcbor) or JSON (json-c) -> struct cashu_token; every step validates.
 * CBOR is first walked with libcbor's streaming decoder to bound nesting
 * depth and declared lengths before cbor_load builds the tree, so a hostile
 * header cannot make libcbor allocate or recurse beyond the input's size.
 * V4 encoding writes the CBOR by hand (definite, minimal-length heads, the
 * spec's key order) so it reproduces the published vectors byte for byte. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <json-c/json.h>

#include "buf.h"
#include "util.h"
#include "cashu/b64.h"
#include "cashu/token.h"

#define TOK_CBOR_DEPTH 16	/* token CBOR nests 5 deep; leave room for extensions */
#define TOK_JSON_DEPTH 16
#define TOK_MINT_MAX 511	/* fits cashu_proof.mint */
#define TOK_UNIT_MAX 15		/* fits cashu_token.unit */

static const char *const tok_errstr[CASHU_TOK__MAX] = {
	[CASHU_TOK_OK] = "ok",
	[CASHU_TOK_PREFIX] = "not a Cashu token (expected cashuA or cashuB)",
	[CASHU_TOK_BASE64] = "token is not valid base64",
	[CASHU_TOK_CBOR] = "token is not valid CBOR",
	[CASHU_TOK_JSON] = "token is not valid JSON",
	[CASHU_TOK_STRUCTURE] = "token has a missing or malformed field",
	[CASHU_TOK_AMOUNT] = "token has a zero, negative, non-integer or overflowing amount",
	[CASHU_TOK_TOO_LARGE] = "token is too large",
	[CASHU_TOK_MULTI_MINT] = "token holds proofs from several mints",
	[CASHU_TOK_EMPTY] = "token holds no proofs",
};

/* See token.h. */
const char *
cashu_token_strerror(enum cashu_token_err e)
{
	if ((unsigned)e >= CASHU_TOK__MAX)
		return "unknown token error";
	return tok_errstr[e];
}

/* See token.h. */
void
cashu_token_free(struct cashu_token *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nproofs; i++) {
		free(t->proofs[i].secret);
		free(t->proofs[i].witness);
	}
	free(t->proofs);
	free(t->mint);
	free(t->memo);
	memset(t, 0, sizeof(*t));
}

/* See token.h. */
int
cashu_token_single_mint(const struct cashu_token *t)
{
	size_t i;

	if (t == NULL || t->mint == NULL)
		return 0;
	for (i = 0; i < t->nproofs; i++)
		if (strcmp(t->proofs[i].mint, t->mint) != 0)
			return 0;
	return 1;
}

/* ------------------------------------------------------- shared checks */

/* A new zeroed proof at the end of t->proofs (owned by t), or NULL when the
 * token already holds CASHU_PROOFS_MAX proofs. */
static struct cashu_proof *
tok_new_proof(struct cashu_token *t)
{
	static const size_t first = 8;
	size_t have = t->nproofs;

	if (have >= CASHU_PROOFS_MAX)
		return NULL;
	/* capacity grows in powers of two from `first` */
	if (have == 0 || (have >= first && (have & (have - 1)) == 0)) {
		size_t cap = have == 0 ? first : have * 2;

		t->proofs = xrealloc(t->proofs, cap * sizeof(*t->proofs));
	}
	memset(&t->proofs[have], 0, sizeof(t->proofs[have]));
	t->nproofs++;
	return &t->proofs[have];
}

/* Add amount to the running total: AMOUNT on zero, UINT64_MAX or overflow. */
static enum cashu_token_err
tok_add_amount(struct cashu_token *t, struct cashu_proof *p, uint64_t amount)
{
	if (amount == 0 || amount == UINT64_MAX || amount > UINT64_MAX - t->total)
		return CASHU_TOK_AMOUNT;
	p->amount = amount;
	t->total += amount;
	return CASHU_TOK_OK;
}

/* A string we keep: valid UTF-8 and no NUL inside. */
static bool
tok_text_ok(const char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL && utf8_valid(s, n);
}

/* Normalise a mint URL (strip trailing '/') into out[TOK_MINT_MAX+1]:
 * non-empty, UTF-8, no control characters or spaces. */
static enum cashu_token_err
tok_mint(const char *s, size_t n, char out[TOK_MINT_MAX + 1])
{
	size_t i;

	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n == 0 || !tok_text_ok(s, n))
		return CASHU_TOK_STRUCTURE;
	if (n > TOK_MINT_MAX)
		return CASHU_TOK_TOO_LARGE;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return CASHU_TOK_STRUCTURE;
	memcpy(out, s, n);
	out[n] = '\0';
	return CASHU_TOK_OK;
}

/* Unit: 1..15 characters from [A-Za-z0-9_-]. */
static enum cashu_token_err
tok_unit(const char *s, size_t n, char out[TOK_UNIT_MAX + 1])
{
	size_t i;

	if (n == 0 || n > TOK_UNIT_MAX)
		return CASHU_TOK_STRUCTURE;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return CASHU_TOK_STRUCTURE;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return CASHU_TOK_OK;
}

/* Lower-case hex string of n chars into out[n+1]; -1 unless all hex. */
static int
tok_hex_norm(const char *s, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Field checks on raw bytes. */
static bool
tok_id_len_ok(size_t n)
{
	return n == 8 || n == 33;
}

static bool
tok_point_ok(const uint8_t *b, size_t n)
{
	return n == 33 && (b[0] == 0x02 || b[0] == 0x03);
}

/* ------------------------------------------------------- CBOR pre-scan */

enum scan_kind { SCAN_CONT, SCAN_BYTES, SCAN_TEXT };

struct scan_frame {
	uint64_t left;		/* items still expected (definite containers, tags) */
	bool indef;
	enum scan_kind kind;
};

struct scan {
	struct scan_frame st[TOK_CBOR_DEPTH];
	size_t depth;
	size_t remaining;	/* input bytes from the current head on */
	bool done;		/* the top-level item is complete */
	bool bad;
};

/* One item finished at the current level: count it against the enclosing
 * frame, closing frames that are now complete. */
static void
scan_complete(struct scan *s)
{
	for (;;) {
		struct scan_frame *f;

		if (s->depth == 0) {
			if (s->done)
				s->bad = true;	/* a second top-level item */
			s->done = true;
			return;
		}
		f = &s->st[s->depth - 1];
		if (f->kind != SCAN_CONT) {
			s->bad = true;	/* only chunks go inside indefinite strings */
			return;
		}
		if (f->indef)
			return;
		if (--f->left > 0)
			return;
		s->depth--;
	}
}

static void
scan_push(struct scan *s, uint64_t left, bool indef, enum scan_kind kind)
{
	if (s->done || s->depth >= TOK_CBOR_DEPTH) {
		s->bad = true;
		return;
	}
	if (s->depth > 0 && s->st[s->depth - 1].kind != SCAN_CONT) {
		s->bad = true;
		return;
	}
	s->st[s->depth].left = left;
	s->st[s->depth].indef = indef;
	s->st[s->depth].kind = kind;
	s->depth++;
}

/* The libcbor callbacks: every scalar is one complete item. */
static void
scan_leaf(void *ctx)
{
	scan_complete(ctx);
}

static void scan_u8(void *c, uint8_t v) { (void)v; scan_leaf(c); }
static void scan_u16(void *c, uint16_t v) { (void)v; scan_leaf(c); }
static void scan_u32(void *c, uint32_t v) { (void)v; scan_leaf(c); }
static void scan_u64(void *c, uint64_t v) { (void)v; scan_leaf(c); }
static void scan_f4(void *c, float v) { (void)v; scan_leaf(c); }
static void scan_f8(void *c, double v) { (void)v; scan_leaf(c); }
static void scan_bool(void *c, bool v) { (void)v; scan_leaf(c); }

/* A definite string: a chunk of an enclosing indefinite string of the same
 * kind, or an ordinary item. */
static void
scan_string(struct scan *s, enum scan_kind kind)
{
	if (s->depth > 0 && s->st[s->depth - 1].kind != SCAN_CONT) {
		if (s->st[s->depth - 1].kind != kind)
			s->bad = true;
		return;
	}
	scan_complete(s);
}

static void
scan_bytes(void *c, cbor_data d, size_t n)
{
	(void)d;
	(void)n;
	scan_string(c, SCAN_BYTES);
}

static void
scan_text(void *c, cbor_data d, size_t n)
{
	(void)d;
	(void)n;
	scan_string(c, SCAN_TEXT);
}

static void
scan_bytes_start(void *c)
{
	scan_push(c, 0, true, SCAN_BYTES);
}

static void
scan_text_start(void *c)
{
	scan_push(c, 0, true, SCAN_TEXT);
}

static void
scan_indef(void *c)
{
	scan_push(c, 0, true, SCAN_CONT);
}

/* A definite container of n items (2n for maps): each needs at least one
 * input byte, so n beyond the remaining input is a lie. */
static void
scan_container(struct scan *s, size_t n, unsigned per)
{
	if (n == 0) {
		scan_complete(s);
		return;
	}
	if (n > s->remaining / per) {
		s->bad = true;
		return;
	}
	scan_push(s, (uint64_t)n * per, false, SCAN_CONT);
}

static void
scan_array(void *c, size_t n)
{
	scan_container(c, n, 1);
}

static void
scan_map(void *c, size_t n)
{
	scan_container(c, n, 2);
}

static void
scan_tag(void *c, uint64_t v)
{
	(void)v;
	scan_push(c, 1, false, SCAN_CONT);
}

static void
scan_break(void *ctx)
{
	struct scan *s = ctx;

	if (s->depth == 0 || !s->st[s->depth - 1].indef) {
		s->bad = true;
		return;
	}
	s->depth--;
	scan_complete(s);
}

static const struct cbor_callbacks scan_cbs = {
	.uint8 = scan_u8, .uint16 = scan_u16, .uint32 = scan_u32, .uint64 = scan_u64,
	.negint8 = scan_u8, .negint16 = scan_u16, .negint32 = scan_u32, .negint64 = scan_u64,
	.byte_string_start = scan_bytes_start, .byte_string = scan_bytes,
	.string = scan_text, .string_start = scan_text_start,
	.indef_array_start = scan_indef, .array_start = scan_array,
	.indef_map_start = scan_indef, .map_start = scan_map,
	.tag = scan_tag,
	.float2 = scan_f4, .float4 = scan_f4, .float8 = scan_f8,
	.undefined = scan_leaf, .null = scan_leaf, .boolean = scan_bool,
	.indef_break = scan_break,
};

/* 0 when data is exactly one well-formed CBOR item within our limits. */
static int
cbor_prescan(const uint8_t *data, size_t len)
{
	struct scan s;
	size_t off = 0;

	memset(&s, 0, sizeof(s));
	while (off < len && !s.bad) {
		struct cbor_decoder_result r;

		s.remaining = len - off;
		r = cbor_stream_decode(data + off, len - off, &scan_cbs, &s);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
			return -1;
		off += r.read;
	}
	return !s.bad && s.done && s.depth == 0 ? 0 : -1;
}

/* ----------------------------------------------------------- CBOR -> token */

/* Copy a text string (definite or chunked) into a new NUL-terminated string
 * the caller frees; *n gets its length. -1 when item is not a valid string. */
static int
cb_text_dup(cbor_item_t *it, char **out, size_t *n)
{
	struct buf b;
	size_t i;

	*out = NULL;
	if (!cbor_isa_string(it))
		return -1;
	buf_init(&b, CASHU_TOKEN_MAX);
	if (cbor_string_is_definite(it)) {
		if (buf_append(&b, cbor_string_handle(it), cbor_string_length(it)) != 0)
			goto fail;
	} else {
		cbor_item_t **ch = cbor_string_chunks_handle(it);

		for (i = 0; i < cbor_string_chunk_count(it); i++)
			if (buf_append(&b, cbor_string_handle(ch[i]),
			    cbor_string_length(ch[i])) != 0)
				goto fail;
	}
	if (!tok_text_ok(b.data ? b.data : "", b.len))
		goto fail;
	*n = b.len;
	*out = b.data ? buf_steal(&b, NULL) : xstrdup("");
	return 0;
fail:
	buf_free(&b);
	return -1;
}

/* Copy a byte string (definite or chunked) of at most cap bytes into out. */
static int
cb_bytes(cbor_item_t *it, uint8_t *out, size_t cap, size_t *n)
{
	size_t i, len = 0;

	if (!cbor_isa_bytestring(it))
		return -1;
	if (cbor_bytestring_is_definite(it)) {
		len = cbor_bytestring_length(it);
		if (len > cap)
			return -1;
		if (len)
			memcpy(out, cbor_bytestring_handle(it), len);
	} else {
		cbor_item_t **ch = cbor_bytestring_chunks_handle(it);

		for (i = 0; i < cbor_bytestring_chunk_count(it); i++) {
			size_t cl = cbor_bytestring_length(ch[i]);

			if (cl > cap - len)
				return -1;
			if (cl)
				memcpy(out + len, cbor_bytestring_handle(ch[i]), cl);
			len += cl;
		}
	}
	*n = len;
	return 0;
}

/* The key of a map pair as a short NUL-terminated string in key[4], or ""
 * when it is not a text string of at most 3 bytes (such keys are unknown to
 * us and ignored). */
static void
cb_key(cbor_item_t *it, char key[4])
{
	char *s = NULL;
	size_t n = 0;

	key[0] = '\0';
	if (!cbor_isa_string(it))
		return;
	if (cbor_string_is_definite(it) && cbor_string_length(it) > 3)
		return;
	if (cb_text_dup(it, &s, &n) == 0 && n <= 3)
		memcpy(key, s, n + 1);
	free(s);
}

/* A byte string of exactly `want` (<= 33) bytes into lower-case hex. */
static int
cb_hex(cbor_item_t *it, size_t want, char *out)
{
	uint8_t raw[33];
	size_t n;

	if (cb_bytes(it, raw, sizeof(raw), &n) != 0 || n != want)
		return -1;
	hex_encode(raw, n, out);
	return 0;
}

/* Duplicate known keys are refused: the first and second values could be
 * read differently by different decoders. */
#define CB_ONCE(bit) do { if (seen & (bit)) return CASHU_TOK_STRUCTURE; seen |= (bit); } while (0)

static enum cashu_token_err
cb_dleq(cbor_item_t *map, struct cashu_dleq *d)
{
	struct cbor_pair *pairs;
	unsigned seen = 0;
	size_t i;

	if (!cbor_isa_map(map))
		return CASHU_TOK_STRUCTURE;
	pairs = cbor_map_handle(map);
	for (i = 0; i < cbor_map_size(map); i++) {
		char key[4];

		cb_key(pairs[i].key, key);
		if (strcmp(key, "e") == 0) {
			CB_ONCE(1);
			if (cb_hex(pairs[i].value, 32, d->e) != 0)
				return CASHU_TOK_STRUCTURE;
		} else if (strcmp(key, "s") == 0) {
			CB_ONCE(2);
			if (cb_hex(pairs[i].value, 32, d->s) != 0)
				return CASHU_TOK_STRUCTURE;
		} else if (strcmp(key, "r") == 0) {
			CB_ONCE(4);
			if (cb_hex(pairs[i].value, 32, d->r) != 0)
				return CASHU_TOK_STRUCTURE;
		}
	}
	if ((seen & 3) != 3)
		return CASHU_TOK_STRUCTURE;
	d->present = 1;
	return CASHU_TOK_OK;
}

static enum cashu_token_err
cb_proof(cbor_item_t *map, struct cashu_token *t, struct cashu_proof *p)
{
	struct cbor_pair *pairs;
	enum cashu_token_err e;
	unsigned seen = 0;
	size_t i, n;

	if (!cbor_isa_map(map))
		return CASHU_TOK_STRUCTURE;
	pairs = cbor_map_handle(map);
	for (i = 0; i < cbor_map_size(map); i++) {
		cbor_item_t *v = pairs[i].value;
		char key[4];

		cb_key(pairs[i].key, key);
		if (strcmp(key, "a") == 0) {
			CB_ONCE(1);
			if (!cbor_isa_uint(v))
				return CASHU_TOK_AMOUNT;
			if ((e = tok_add_amount(t, p, cbor_get_int(v))) != CASHU_TOK_OK)
				return e;
		} else if (strcmp(key, "s") == 0) {
			CB_ONCE(2);
			if (cb_text_dup(v, &p->secret, &n) != 0 || n == 0)
				return CASHU_TOK_STRUCTURE;
		} else if (strcmp(key, "c") == 0) {
			uint8_t raw[33];

			CB_ONCE(4);
			if (cb_bytes(v, raw, sizeof(raw), &n) != 0 || !tok_point_ok(raw, n))
				return CASHU_TOK_STRUCTURE;
			hex_encode(raw, n, p->C);
		} else if (strcmp(key, "d") == 0) {
			CB_ONCE(8);
			if ((e = cb_dleq(v, &p->dleq)) != CASHU_TOK_OK)
				return e;
		} else if (strcmp(key, "w") == 0) {
			CB_ONCE(16);
			if (cb_text_dup(v, &p->witness, &n) != 0)
				return CASHU_TOK_STRUCTURE;
		} else if (strcmp(key, "pe") == 0) {
			uint8_t raw[33];

			CB_ONCE(32);
			if (cb_bytes(v, raw, sizeof(raw), &n) != 0 || !tok_point_ok(raw, n))
				return CASHU_TOK_STRUCTURE;
			hex_encode(raw, n, p->p2pk_e);
		}
	}
	if ((seen & 7) != 7)
		return CASHU_TOK_STRUCTURE;
	return CASHU_TOK_OK;
}

/* One t[] entry: {i: bytes, p: [proof...]}. */
static enum cashu_token_err
cb_group(cbor_item_t *map, struct cashu_token *t)
{
	struct cbor_pair *pairs;
	cbor_item_t *plist = NULL;
	char id[67];
	unsigned seen = 0;
	size_t i, n;

	if (!cbor_isa_map(map))
		return CASHU_TOK_STRUCTURE;
	pairs = cbor_map_handle(map);
	for (i = 0; i < cbor_map_size(map); i++) {
		char key[4];
		uint8_t raw[33];

		cb_key(pairs[i].key, key);
		if (strcmp(key, "i") == 0) {
			CB_ONCE(1);
			if (cb_bytes(pairs[i].value, raw, sizeof(raw), &n) != 0 ||
			    !tok_id_len_ok(n))
				return CASHU_TOK_STRUCTURE;
			hex_encode(raw, n, id);
		} else if (strcmp(key, "p") == 0) {
			CB_ONCE(2);
			plist = pairs[i].value;
			if (!cbor_isa_array(plist))
				return CASHU_TOK_STRUCTURE;
		}
	}
	if (seen != 3)
		return CASHU_TOK_STRUCTURE;
	n = cbor_array_size(plist);
	for (i = 0; i < n; i++) {
		struct cashu_proof *p = tok_new_proof(t);
		enum cashu_token_err e;

		if (p == NULL)
			return CASHU_TOK_TOO_LARGE;
		memcpy(p->keyset_id, id, sizeof(id));
		if ((e = cb_proof(cbor_array_handle(plist)[i], t, p)) != CASHU_TOK_OK)
			return e;
	}
	return CASHU_TOK_OK;
}

/* The whole V4 token from CBOR bytes into t (partially filled on error;
 * the caller frees). */
static enum cashu_token_err
tok_from_cbor(const uint8_t *data, size_t len, struct cashu_token *t)
{
	struct cbor_load_result res;
	cbor_item_t *root = NULL, *groups = NULL;
	struct cbor_pair *pairs;
	enum cashu_token_err e = CASHU_TOK_CBOR;
	char mint[TOK_MINT_MAX + 1];
	unsigned seen = 0;
	size_t i, n;

	t->version = 4;
	if (cbor_prescan(data, len) != 0)
		goto out;
	root = cbor_load(data, len, &res);
	if (root == NULL || res.error.code != CBOR_ERR_NONE || res.read != len)
		goto out;
	e = CASHU_TOK_STRUCTURE;
	if (!cbor_isa_map(root))
		goto out;
	pairs = cbor_map_handle(root);
	for (i = 0; i < cbor_map_size(root); i++) {
		cbor_item_t *v = pairs[i].value;
		enum cashu_token_err fe;
		char key[4], *s = NULL;
		unsigned bit;

		cb_key(pairs[i].key, key);
		if (key[0] == '\0' || key[1] != '\0' || strchr("tdmu", key[0]) == NULL)
			continue;
		if (key[0] == 't') {
			if (seen & 1)
				goto out;
			seen |= 1;
			groups = v;
			if (!cbor_isa_array(groups))
				goto out;
			continue;
		}
		if (cb_text_dup(v, &s, &n) != 0)
			goto out;
		if (key[0] == 'm') {
			bit = 2;
			fe = tok_mint(s, n, mint);
			if (fe == CASHU_TOK_OK && !(seen & bit))
				t->mint = xstrdup(mint);
		} else if (key[0] == 'u') {
			bit = 4;
			fe = seen & bit ? CASHU_TOK_STRUCTURE : tok_unit(s, n, t->unit);
		} else {
			bit = 8;
			fe = CASHU_TOK_OK;
			if (!(seen & bit)) {
				t->memo = s;
				s = NULL;
			}
		}
		free(s);
		if (seen & bit)
			fe = CASHU_TOK_STRUCTURE;	/* duplicate key */
		seen |= bit;
		if (fe != CASHU_TOK_OK) {
			e = fe;
			goto out;
		}
	}
	if ((seen & 3) != 3)
		goto out;
	if (!(seen & 4))
		memcpy(t->unit, "sat", 4);
	n = cbor_array_size(groups);
	for (i = 0; i < n; i++)
		if ((e = cb_group(cbor_array_handle(groups)[i], t)) != CASHU_TOK_OK)
			goto out;
	for (i = 0; i < t->nproofs; i++)
		memcpy(t->proofs[i].mint, t->mint, strlen(t->mint) + 1);
	e = t->nproofs == 0 ? CASHU_TOK_EMPTY : CASHU_TOK_OK;
out:
	if (root != NULL)
		cbor_decref(&root);
	return e;
}

/* ----------------------------------------------------------- JSON -> token */

/* An optional member: NULL when absent or JSON null. Borrowed. */
static json_object *
js_opt(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A string member into *s and *n (borrowed from json-c); -1 unless a string
 * of valid UTF-8 without NUL. */
static int
js_str(json_object *v, const char **s, size_t *n)
{
	if (v == NULL || !json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return tok_text_ok(*s, *n) ? 0 : -1;
}

/* A hex string member of exactly `chars` digits into out (lower-case). */
static int
js_hex(json_object *v, size_t chars, char *out)
{
	const char *s;
	size_t n;

	if (js_str(v, &s, &n) != 0 || n != chars)
		return -1;
	return tok_hex_norm(s, n, out);
}

static enum cashu_token_err
js_proof(json_object *o, struct cashu_token *t, struct cashu_proof *p, const char *mint)
{
	json_object *v;
	enum cashu_token_err e;
	const char *s;
	size_t n;

	if (!json_object_is_type(o, json_type_object))
		return CASHU_TOK_STRUCTURE;
	memcpy(p->mint, mint, strlen(mint) + 1);
	/* amount: a JSON integer; json-c saturates past 2^64-1, which
	 * tok_add_amount refuses together with 0. */
	v = js_opt(o, "amount");
	if (v == NULL)
		return CASHU_TOK_STRUCTURE;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return CASHU_TOK_AMOUNT;
	if ((e = tok_add_amount(t, p, json_object_get_uint64(v))) != CASHU_TOK_OK)
		return e;
	if (js_str(js_opt(o, "id"), &s, &n) != 0 || !tok_id_len_ok(n / 2) || n % 2 ||
	    tok_hex_norm(s, n, p->keyset_id) != 0)
		return CASHU_TOK_STRUCTURE;
	if (js_str(js_opt(o, "secret"), &s, &n) != 0 || n == 0)
		return CASHU_TOK_STRUCTURE;
	p->secret = xstrndup(s, n);
	if (js_hex(js_opt(o, "C"), 66, p->C) != 0 || (strncmp(p->C, "02", 2) != 0 &&
	    strncmp(p->C, "03", 2) != 0))
		return CASHU_TOK_STRUCTURE;
	if ((v = js_opt(o, "dleq")) != NULL) {
		json_object *r;

		if (!json_object_is_type(v, json_type_object) ||
		    js_hex(js_opt(v, "e"), 64, p->dleq.e) != 0 ||
		    js_hex(js_opt(v, "s"), 64, p->dleq.s) != 0)
			return CASHU_TOK_STRUCTURE;
		if ((r = js_opt(v, "r")) != NULL && js_hex(r, 64, p->dleq.r) != 0)
			return CASHU_TOK_STRUCTURE;
		p->dleq.present = 1;
	}
	if ((v = js_opt(o, "witness")) != NULL) {
		/* normally a JSON string; some wallets put the object itself */
		if (json_object_is_type(v, json_type_object)) {
			s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE, &n);
			if (s == NULL || !tok_text_ok(s, n))
				return CASHU_TOK_STRUCTURE;
		} else if (js_str(v, &s, &n) != 0)
			return CASHU_TOK_STRUCTURE;
		p->witness = xstrndup(s, n);
	}
	if ((v = js_opt(o, "p2pk_e")) != NULL && (js_hex(v, 66, p->p2pk_e) != 0 ||
	    (strncmp(p->p2pk_e, "02", 2) != 0 && strncmp(p->p2pk_e, "03", 2) != 0)))
		return CASHU_TOK_STRUCTURE;
	return CASHU_TOK_OK;
}

/* The whole V3 token from JSON bytes into t (partially filled on error). */
static enum cashu_token_err
tok_from_json(const char *data, size_t len, struct cashu_token *t)
{
	struct json_tokener *tok = NULL;
	json_object *root = NULL, *entries, *v;
	enum cashu_token_err e = CASHU_TOK_JSON;
	const char *s;
	size_t i, j, n;

	t->version = 3;
	if (len > INT32_MAX)
		goto out;
	tok = json_tokener_new_ex(TOK_JSON_DEPTH);
	if (tok == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, data, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		goto out;
	e = CASHU_TOK_STRUCTURE;
	if (!json_object_is_type(root, json_type_object))
		goto out;
	entries = js_opt(root, "token");
	if (entries == NULL || !json_object_is_type(entries, json_type_array))
		goto out;
	if ((v = js_opt(root, "unit")) != NULL) {
		if (js_str(v, &s, &n) != 0 || (e = tok_unit(s, n, t->unit)) != CASHU_TOK_OK)
			goto out;
		e = CASHU_TOK_STRUCTURE;
	} else
		memcpy(t->unit, "sat", 4);
	if ((v = js_opt(root, "memo")) != NULL) {
		if (js_str(v, &s, &n) != 0)
			goto out;
		t->memo = xstrndup(s, n);
	}
	for (i = 0; i < json_object_array_length(entries); i++) {
		json_object *ent = json_object_array_get_idx(entries, i), *proofs;
		char mint[TOK_MINT_MAX + 1];

		e = CASHU_TOK_STRUCTURE;
		if (!json_object_is_type(ent, json_type_object) ||
		    js_str(js_opt(ent, "mint"), &s, &n) != 0)
			goto out;
		if ((e = tok_mint(s, n, mint)) != CASHU_TOK_OK)
			goto out;
		e = CASHU_TOK_STRUCTURE;
		proofs = js_opt(ent, "proofs");
		if (proofs == NULL || !json_object_is_type(proofs, json_type_array))
			goto out;
		if (t->mint == NULL)
			t->mint = xstrdup(mint);
		for (j = 0; j < json_object_array_length(proofs); j++) {
			struct cashu_proof *p = tok_new_proof(t);

			if (p == NULL) {
				e = CASHU_TOK_TOO_LARGE;
				goto out;
			}
			e = js_proof(json_object_array_get_idx(proofs, j), t, p, mint);
			if (e != CASHU_TOK_OK)
				goto out;
		}
	}
	e = t->nproofs == 0 ? CASHU_TOK_EMPTY : CASHU_TOK_OK;
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return e;
}

/* ------------------------------------------------------------ decoding */

/* Strip an optional URI scheme; returns how many bytes to skip. */
static size_t
tok_scheme_len(const char *s, size_t n)
{
	static const char *const schemes[] = { "web+cashu://", "cashu://", "cashu:" };
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(schemes); i++) {
		size_t sl = strlen(schemes[i]);

		if (n < sl)
			continue;
		for (j = 0; j < sl; j++) {
			char c = s[j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			if (c != schemes[i][j])
				break;
		}
		if (j == sl)
			return sl;
	}
	return 0;
}

static bool
tok_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* See token.h. */
enum cashu_token_err
cashu_token_decode(const char *text, size_t len, struct cashu_token *out)
{
	enum cashu_token_err e = CASHU_TOK_PREFIX;
	uint8_t *raw = NULL;
	size_t rawlen = 0, skip;
	char version;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		goto out;
	if (len > CASHU_TOKEN_MAX) {
		e = CASHU_TOK_TOO_LARGE;
		goto out;
	}
	while (len > 0 && tok_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && tok_space(text[len - 1]))
		len--;
	skip = tok_scheme_len(text, len);
	text += skip;
	len -= skip;
	if (len < 6 || memcmp(text, "cashu", 5) != 0 || (text[5] != 'A' && text[5] != 'B'))
		goto out;
	version = text[5];
	text += 6;
	len -= 6;
	e = CASHU_TOK_BASE64;
	raw = xmalloc(b64_decoded_max(len) + 1);
	if (len == 0 || b64_decode(text, len, raw, b64_decoded_max(len), &rawlen) != 0)
		goto out;
	if (version == 'A')
		e = tok_from_json((const char *)raw, rawlen, out);
	else
		e = tok_from_cbor(raw, rawlen, out);
out:
	free(raw);
	if (e != CASHU_TOK_OK)
		cashu_token_free(out);
	return e;
}

/* See token.h. */
enum cashu_token_err
cashu_token_decode_binary(const uint8_t *data, size_t len, struct cashu_token *out)
{
	enum cashu_token_err e = CASHU_TOK_PREFIX;

	memset(out, 0, sizeof(*out));
	if (data == NULL)
		goto out;
	if (len > CASHU_TOKEN_MAX) {
		e = CASHU_TOK_TOO_LARGE;
		goto out;
	}
	if (len < 5 || memcmp(data, "crawB", 5) != 0)
		goto out;
	e = tok_from_cbor(data + 5, len - 5, out);
out:
	if (e != CASHU_TOK_OK)
		cashu_token_free(out);
	return e;
}

/* ------------------------------------------------------------ encoding */

/* A CBOR head with the shortest length encoding. */
static int
cbw_head(struct buf *b, unsigned major, uint64_t v)
{
	uint8_t h[9];
	size_t n, i;

	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		return buf_append(b, h, 1);
	}
	if (v <= 0xff)
		n = 1;
	else if (v <= 0xffff)
		n = 2;
	else if (v <= 0xffffffffu)
		n = 4;
	else
		n = 8;
	h[0] = (uint8_t)(major << 5 | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
	for (i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return buf_append(b, h, 1 + n);
}

static int
cbw_text(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (cbw_head(b, 3, n) != 0)
		return -1;
	return buf_append(b, s, n);
}

/* Hex string to a CBOR byte string; -1 unless even-length hex of at most
 * 33 bytes (and of exactly `want` bytes when want is not 0). */
static int
cbw_hexbytes(struct buf *b, const char *hex, size_t want)
{
	uint8_t raw[33];
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > sizeof(raw) || (want && n / 2 != want) ||
	    hex_decode(hex, n, raw, n / 2) != 0)
		return -1;
	if (cbw_head(b, 2, n / 2) != 0)
		return -1;
	return buf_append(b, raw, n / 2);
}

/* Checks every proof for encoding: amount, id, secret, C. */
static int
tok_enc_check(const struct cashu_token *t)
{
	size_t i;
	uint64_t total = 0;

	if (t == NULL || t->nproofs == 0 || t->nproofs > CASHU_PROOFS_MAX)
		return -1;
	for (i = 0; i < t->nproofs; i++) {
		const struct cashu_proof *p = &t->proofs[i];
		size_t idn = strlen(p->keyset_id);

		if (p->amount == 0 || p->amount > UINT64_MAX - total || p->secret == NULL ||
		    !tok_id_len_ok(idn / 2) || idn % 2 || strlen(p->C) != 66)
			return -1;
		total += p->amount;
	}
	return 0;
}

/* One proof map: a, s, c, then d, w, pe when present. */
static int
cbw_proof(struct buf *b, const struct cashu_proof *p)
{
	unsigned n = 3 + (p->dleq.present ? 1 : 0) + (p->witness ? 1 : 0) +
	    (p->p2pk_e[0] ? 1 : 0);

	if (cbw_head(b, 5, n) || cbw_text(b, "a") || cbw_head(b, 0, p->amount) ||
	    cbw_text(b, "s") || cbw_text(b, p->secret) ||
	    cbw_text(b, "c") || cbw_hexbytes(b, p->C, 33))
		return -1;
	if (p->dleq.present) {
		bool r = p->dleq.r[0] != '\0';

		if (cbw_text(b, "d") || cbw_head(b, 5, r ? 3 : 2) ||
		    cbw_text(b, "e") || cbw_hexbytes(b, p->dleq.e, 32) ||
		    cbw_text(b, "s") || cbw_hexbytes(b, p->dleq.s, 32))
			return -1;
		if (r && (cbw_text(b, "r") || cbw_hexbytes(b, p->dleq.r, 32)))
			return -1;
	}
	if (p->witness && (cbw_text(b, "w") || cbw_text(b, p->witness)))
		return -1;
	if (p->p2pk_e[0] && (cbw_text(b, "pe") || cbw_hexbytes(b, p->p2pk_e, 33)))
		return -1;
	return 0;
}

/* The V4 CBOR of t into b. */
static int
tok_cbor(const struct cashu_token *t, struct buf *b)
{
	size_t *group = NULL, ngroups = 0, i, j, k, cnt;
	int rc = -1;

	if (tok_enc_check(t) != 0 || t->mint == NULL || t->mint[0] == '\0' ||
	    !cashu_token_single_mint(t))
		return -1;
	/* group[i]: index of the first proof of the i-th distinct keyset id */
	group = xcalloc(t->nproofs, sizeof(*group));
	for (i = 0; i < t->nproofs; i++) {
		for (j = 0; j < ngroups; j++)
			if (strcmp(t->proofs[group[j]].keyset_id, t->proofs[i].keyset_id) == 0)
				break;
		if (j == ngroups)
			group[ngroups++] = i;
	}
	if (cbw_head(b, 5, t->memo ? 4 : 3) || cbw_text(b, "t") || cbw_head(b, 4, ngroups))
		goto out;
	for (j = 0; j < ngroups; j++) {
		const char *id = t->proofs[group[j]].keyset_id;

		for (cnt = 0, k = group[j]; k < t->nproofs; k++)
			cnt += strcmp(t->proofs[k].keyset_id, id) == 0;
		if (cbw_head(b, 5, 2) || cbw_text(b, "i") || cbw_hexbytes(b, id, 0) ||
		    cbw_text(b, "p") || cbw_head(b, 4, cnt))
			goto out;
		for (k = group[j]; k < t->nproofs; k++)
			if (strcmp(t->proofs[k].keyset_id, id) == 0 &&
			    cbw_proof(b, &t->proofs[k]) != 0)
				goto out;
	}
	if (t->memo && (cbw_text(b, "d") || cbw_text(b, t->memo)))
		goto out;
	if (cbw_text(b, "m") || cbw_text(b, t->mint) ||
	    cbw_text(b, "u") || cbw_text(b, t->unit[0] ? t->unit : "sat"))
		goto out;
	rc = 0;
out:
	free(group);
	return rc;
}

/* "prefix" + unpadded base64url of data; caller frees. */
static char *
tok_wrap(const char *prefix, const void *data, size_t len)
{
	size_t pl = strlen(prefix), el = b64_encoded_len(len, false);
	char *s = xmalloc(pl + el + 1);

	memcpy(s, prefix, pl);
	if (b64_encode(data, len, B64_URL, false, s + pl, el + 1) != el) {
		free(s);
		return NULL;
	}
	return s;
}

/* See token.h. */
char *
cashu_token_encode_v4(const struct cashu_token *t)
{
	struct buf b;
	char *s = NULL;

	buf_init(&b, CASHU_TOKEN_MAX);
	if (tok_cbor(t, &b) == 0)
		s = tok_wrap("cashuB", b.data, b.len);
	buf_free(&b);
	return s;
}

/* See token.h. */
uint8_t *
cashu_token_encode_binary(const struct cashu_token *t, size_t *len)
{
	struct buf b;

	buf_init(&b, CASHU_TOKEN_MAX);
	if (buf_append(&b, "crawB", 5) != 0 || tok_cbor(t, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return (uint8_t *)buf_steal(&b, NULL);
}

/* One V3 proof object in the published key order; new reference. */
static json_object *
js_proof_obj(const struct cashu_proof *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "amount", json_object_new_uint64(p->amount));
	json_object_object_add(o, "id", json_object_new_string(p->keyset_id));
	json_object_object_add(o, "secret", json_object_new_string(p->secret));
	json_object_object_add(o, "C", json_object_new_string(p->C));
	if (p->dleq.present) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "e", json_object_new_string(p->dleq.e));
		json_object_object_add(d, "s", json_object_new_string(p->dleq.s));
		if (p->dleq.r[0])
			json_object_object_add(d, "r", json_object_new_string(p->dleq.r));
		json_object_object_add(o, "dleq", d);
	}
	if (p->witness)
		json_object_object_add(o, "witness", json_object_new_string(p->witness));
	if (p->p2pk_e[0])
		json_object_object_add(o, "p2pk_e", json_object_new_string(p->p2pk_e));
	return o;
}

/* See token.h. */
char *
cashu_token_encode_v3(const struct cashu_token *t)
{
	json_object *root = NULL, *entries;
	const char *json;
	size_t i, j, jlen = 0;
	char *s = NULL;

	if (tok_enc_check(t) != 0)
		return NULL;
	root = json_object_new_object();
	entries = json_object_new_array();
	json_object_object_add(root, "token", entries);
	for (i = 0; i < t->nproofs; i++) {
		const char *mint = t->proofs[i].mint[0] ? t->proofs[i].mint : t->mint;
		json_object *ent = NULL, *proofs;

		if (mint == NULL)
			goto out;
		/* skip mints already written */
		for (j = 0; j < i; j++) {
			const char *m = t->proofs[j].mint[0] ? t->proofs[j].mint : t->mint;

			if (strcmp(m, mint) == 0)
				break;
		}
		if (j < i)
			continue;
		ent = json_object_new_object();
		proofs = json_object_new_array();
		json_object_object_add(ent, "mint", json_object_new_string(mint));
		json_object_object_add(ent, "proofs", proofs);
		json_object_array_add(entries, ent);
		for (j = i; j < t->nproofs; j++) {
			const char *m = t->proofs[j].mint[0] ? t->proofs[j].mint : t->mint;

			if (strcmp(m, mint) == 0)
				json_object_array_add(proofs, js_proof_obj(&t->proofs[j]));
		}
	}
	json_object_object_add(root, "unit", json_object_new_string(t->unit[0] ? t->unit : "sat"));
	if (t->memo)
		json_object_object_add(root, "memo", json_object_new_string(t->memo));
	json = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &jlen);
	if (json != NULL && jlen <= CASHU_TOKEN_MAX)
		s = tok_wrap("cashuA", json, jlen);
out:
	json_object_put(root);
	return s;
}

/* -------------------------------------------------- keyset id matching */

/* See token.h. */
int
cashu_keyset_id_match(const char *short_or_full, const char *const *full_ids, size_t n,
    const char **out)
{
	const char *found = NULL;
	size_t i, len;
	bool is_short;

	*out = NULL;
	if (short_or_full == NULL || full_ids == NULL)
		return -1;
	len = strlen(short_or_full);
	is_short = len == 16 && short_or_full[0] == '0' && short_or_full[1] == '1';
	for (i = 0; i < n; i++) {
		const char *id = full_ids[i];
		bool hit;

		if (id == NULL)
			continue;
		if (is_short)
			hit = strlen(id) == 66 && str_iprefix(id, short_or_full);
		else
			hit = str_ieq(id, short_or_full);
		if (!hit)
			continue;
		if (found != NULL && !str_ieq(found, id))
			return -2;
		if (found == NULL)
			found = id;
	}
	if (found == NULL)
		return -1;
	*out = found;
	return 0;
}
