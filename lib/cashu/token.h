/* cashu/token: NUT-00 token serialisation, V4 (cashuB, CBOR) and V3 (cashuA,
 * base64url JSON). Decoders validate everything they read (prefix, base64,
 * structure, hex lengths, amounts as uint64 without overflow of the total) and
 * never crash on hostile input; sizes are capped (CASHU_TOKEN_MAX).
 *
 * What decode accepts: optional surrounding ASCII whitespace; an optional
 * "cashu:", "cashu://" or "web+cashu://" scheme (case-insensitive); then
 * "cashuA" or "cashuB" and base64 in either alphabet, padded or not (strict
 * otherwise, see b64.h). V4: CBOR of definite or indefinite lengths, nesting
 * at most 16 deep, no trailing bytes, unknown keys ignored, known keys at most
 * once. V3: strict JSON, several mint entries allowed (each proof keeps its
 * mint). Keyset ids are 8 or 33 bytes (16/66 hex), C and p2pk_e 33-byte
 * 02/03-prefixed encodings (curve membership is checked later, by
 * cashu_point_parse_hex, when the proofs are used), DLEQ e/s/r 32 bytes. All
 * hex is stored lower-case. Strings must be UTF-8 without NUL. Amounts are
 * integers in [1, 2^64-2] (2^64-1 is refused because JSON parsing saturates
 * there) and their total must fit in uint64. */
#ifndef ROUTSTR_CASHU_TOKEN_H
#define ROUTSTR_CASHU_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define CASHU_TOKEN_MAX (256u * 1024u)	/* longest token string accepted */
#define CASHU_PROOFS_MAX 1000u		/* most proofs in one token */

struct cashu_dleq {
	int present;
	char e[65], s[65], r[65];	/* hex; r may be "" */
};

struct cashu_proof {
	uint64_t amount;
	char keyset_id[67];		/* hex as in the token (short v2 ids stay short) */
	char *secret;			/* owned; the secret string */
	char C[67];			/* hex compressed point */
	char *witness;			/* owned, may be NULL (JSON string) */
	struct cashu_dleq dleq;
	char p2pk_e[67];		/* NUT-28 ephemeral key, hex; "" when absent */
	char mint[512];			/* normalised; V3 tokens can hold several mints */
};

struct cashu_token {
	char *mint;			/* owned; normalised (no trailing '/'); the
					 * first entry's mint for a V3 token */
	char unit[16];			/* "sat" when absent */
	char *memo;			/* owned, may be NULL */
	struct cashu_proof *proofs;	/* owned */
	size_t nproofs;
	uint64_t total;			/* sum of amounts, checked for overflow */
	int version;			/* 3 or 4 */
};

enum cashu_token_err {
	CASHU_TOK_OK = 0,
	CASHU_TOK_PREFIX,	/* not cashuA/cashuB (after an optional "cashu:") */
	CASHU_TOK_BASE64,
	CASHU_TOK_CBOR,
	CASHU_TOK_JSON,
	CASHU_TOK_STRUCTURE,	/* a required field is missing or of the wrong type */
	CASHU_TOK_AMOUNT,	/* zero, overflowing or non-integer amount */
	CASHU_TOK_TOO_LARGE,
	CASHU_TOK_MULTI_MINT,	/* proofs from several mints (V3) where one is required */
	CASHU_TOK_EMPTY,	/* no proofs */
	CASHU_TOK__MAX
};

/* A readable message for an error kind. Static storage. */
const char *cashu_token_strerror(enum cashu_token_err e);

/* Decode text (len bytes, not necessarily NUL-terminated) into *out, which
 * the caller frees with cashu_token_free (also after a failure: out is then
 * already empty, and freeing it again is harmless). Borrows text. */
enum cashu_token_err cashu_token_decode(const char *text, size_t len, struct cashu_token *out);
/* Decode a binary V4 token ("craw" "B" CBOR, NUT-00 for NFC and the like);
 * same rules and ownership as cashu_token_decode. */
enum cashu_token_err cashu_token_decode_binary(const uint8_t *data, size_t len,
    struct cashu_token *out);
/* Free what *t owns and zero it; NULL and already-freed tokens are fine. */
void cashu_token_free(struct cashu_token *t);

/* 1 when every proof comes from t->mint (always for V4), else 0. Callers
 * that redeem at one mint reject the rest with CASHU_TOK_MULTI_MINT. */
int cashu_token_single_mint(const struct cashu_token *t);

/* Resolve a keyset id from a token against the full ids a mint published
 * (GET /v1/keysets). A full id, or a v1 id, must equal one entry (ignoring
 * case); a short v2 id (16 hex digits starting "01") matches every 66-digit
 * "01" id it prefixes. Returns 0 and sets *out (borrowed from full_ids) on
 * exactly one distinct match, -1 on none, -2 when ambiguous (the spec says
 * the token must then be refused). */
int cashu_keyset_id_match(const char *short_or_full, const char *const *full_ids, size_t n,
    const char **out);

/* Encode as V4 (cashuB, keys in the spec's order t,d,m,u / i,p / a,s,c, then
 * the optional d (dleq: e,s,r), w, pe), definite lengths, proofs grouped by
 * keyset id in order of first appearance, unpadded base64url. Returns a new
 * string the caller frees, or NULL on bad input (a keyset id that is not hex,
 * no proofs, a zero amount, proofs from several mints, ...). */
char *cashu_token_encode_v4(const struct cashu_token *t);
/* The same CBOR as a binary token ("craw" "B" CBOR); the caller frees the
 * result and gets its length in *len. NULL on bad input. */
uint8_t *cashu_token_encode_binary(const struct cashu_token *t, size_t *len);
/* Encode as V3 (cashuA, compact JSON in the published key order, unpadded
 * base64url): one "token" entry per distinct mint, in order of first
 * appearance. Caller frees; NULL on bad input. */
char *cashu_token_encode_v3(const struct cashu_token *t);

#endif
