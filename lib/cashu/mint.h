/* cashu/mint: the HTTP client for a Cashu mint (NUT-01..09, 12, 23 bolt11)
 * over lib/upstream's per-thread libcurl handle. It speaks JSON, validates
 * every byte a mint returns (types, counts, points, keyset ids, DLEQ) and
 * turns failures into one closed set of error kinds (enum mint_err). It keeps
 * no state of its own: caching and the write-ahead log live in cashu/wallet.
 *
 * Retries: only timeouts, connection failures, 5xx and 429 are retried, at
 * most mc->max_attempts times, and only for calls that are safe to repeat
 * (GETs, checkstate, restore, and swap/mint when the caller says the outputs
 * are write-ahead protected). A mint's definitive answer (a NUT error code
 * such as "already spent") is never retried. */
#ifndef ROUTSTR_CASHU_MINT_H
#define ROUTSTR_CASHU_MINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "cashu/crypto.h"
#include "cashu/token.h"

struct upstream;
struct json_object;

/* Every way a mint call or a wallet operation can fail. Wallet-level kinds
 * (UNTRUSTED .. ALREADY_REDEEMED) come from cashu/wallet; they share the
 * enum so callers map one set to HTTP statuses. */
enum mint_err {
	MINT_OK = 0,
	MINT_E_SPENT,		/* 11001 proofs already spent */
	MINT_E_PENDING,		/* 11002/11004/20005 proofs, outputs or quote pending */
	MINT_E_UNREACHABLE,	/* connection refused/reset, DNS, 5xx: the mint is not answering */
	MINT_E_TIMEOUT,		/* no answer within the operation timeout */
	MINT_E_RATE_LIMITED,	/* HTTP 429 */
	MINT_E_UNBALANCED,	/* 11005 inputs - fees != outputs */
	MINT_E_TOO_SMALL,	/* local: the amount does not cover the input fees */
	MINT_E_KEYSET_UNKNOWN,	/* 12001, or a token keyset id the mint does not list */
	MINT_E_KEYSET_INACTIVE,	/* 12002/12003 */
	MINT_E_OUTPUTS_SIGNED,	/* 11003 */
	MINT_E_PROOF_INVALID,	/* 10001 */
	MINT_E_QUOTE_UNPAID,	/* 20001 */
	MINT_E_QUOTE_ISSUED,	/* 20002 */
	MINT_E_QUOTE_EXPIRED,	/* 20007 */
	MINT_E_AMOUNT_LIMIT,	/* 11006/11014/11015 amount, inputs or outputs out of limits */
	MINT_E_UNIT,		/* 11009/11010/11013 unit unsupported or mixed */
	MINT_E_PAYMENT_FAILED,	/* 20004 Lightning payment failed */
	MINT_E_INVOICE_PAID,	/* 20006 */
	MINT_E_REJECTED,	/* any other error answer of the mint */
	MINT_E_PROTOCOL,	/* a malformed or hostile response (types, counts, points, ids, DLEQ) */
	MINT_E_INVALID,		/* bad arguments from our caller */
	MINT_E_DB,		/* the wallet store failed */
	MINT_E_UNTRUSTED,	/* wallet: the token's mint is not a trusted mint */
	MINT_E_TOKEN,		/* wallet: the token does not decode or validate */
	MINT_E_INSUFFICIENT,	/* wallet: not enough unspent proofs */
	MINT_E_ALREADY_REDEEMED,/* wallet: we redeemed these very proofs before */
	MINT_E_INTERRUPTED,	/* wallet: a test hook stopped the operation (simulated crash) */
	MINT_E__MAX
};

/* A short stable name ("spent", "unreachable", ...) and a sentence for
 * users. Static storage. */
const char *mint_err_name(enum mint_err e);
const char *mint_err_message(enum mint_err e);
/* The project-wide error kind closest to e (for code that only knows rerr). */
enum rerr mint_err_rerr(enum mint_err e);
/* True for the transient kinds (unreachable, timeout, rate limited, pending). */
bool mint_err_transient(enum mint_err e);

/* What went wrong, in detail, for logs (the detail is the mint's own text
 * and is not meant for users). */
struct mint_error {
	enum mint_err kind;
	int code;		/* the NUT error code, 0 if none */
	int http_status;	/* 0 when no response arrived */
	bool maybe_sent;	/* the request may have reached the mint (outcome unknown) */
	int attempts;		/* HTTP attempts made for the last call */
	long retry_after_s;	/* from a 429's Retry-After, 0 if none */
	char detail[256];
};

/* Fill e (may be NULL) with kind and a printf-style detail; returns kind. */
enum mint_err mint_error_set(struct mint_error *e, enum mint_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Map an HTTP response that is not a 200 (status, body) to an error kind:
 * 429 -> rate limited, 5xx -> unreachable, a NUT {"detail","code"} body ->
 * the kind of its code. Fills e (not NULL). Borrows body. */
enum mint_err mint_parse_error(int status, const char *body, size_t len, struct mint_error *e);
/* The kind of one NUT error code (0 or unknown -> MINT_E_REJECTED). */
enum mint_err mint_err_of_code(int code);

/* The NUT-00 JSON array of proofs (amount, id, secret, C, witness), as the
 * mint's "inputs" take them. Returns a new reference. */
struct json_object *mint_proofs_json(const struct cashu_proof *in, size_t n);

/* NUT-02 fee: ceil(sum_ppk / 1000) in integer arithmetic. */
uint64_t mint_fee_from_ppk(uint64_t sum_ppk);

/* One connection to one mint: borrowed handle, the mint's URL (normalised,
 * no trailing '/'), timeouts and retry policy. Plain data; the caller owns
 * it (usually on the stack). */
struct mint_client {
	struct upstream *up;		/* borrowed, per thread */
	char url[512];
	long timeout_s;			/* per HTTP attempt */
	long connect_timeout_s;
	int max_attempts;		/* >= 1 */
	long backoff_ms;		/* first retry delay; doubles per attempt */
};

/* Set url (trailing '/' stripped) and the defaults from the global settings
 * (MINT_OPERATION_TIMEOUT_SECONDS, MINT_RETRY_MAX_ATTEMPTS) or 30 s / 3 when
 * none are loaded. -1 when the URL is not http(s) or too long. */
int mint_client_init(struct mint_client *mc, struct upstream *up, const char *url);
/* Copy url into out (outsz bytes) without trailing slashes; -1 if too long
 * or not an http(s) URL. */
int mint_url_normalize(const char *url, char *out, size_t outsz);

/* ------------------------------------------------------------ data */

/* A keyset as the mint describes it. keys is NULL for GET /v1/keysets. */
struct mint_keyset {
	char id[67];			/* lower-case hex, 16 (v1) or 66 (v2) digits */
	char unit[16];
	bool active;
	uint64_t input_fee_ppk;
	int64_t final_expiry;		/* 0 if none */
	struct cashu_key *keys;		/* owned; ascending amounts */
	size_t nkeys;
};
void mint_keysets_free(struct mint_keyset *ks, size_t n);

/* A blinded message we created, with what we need to unblind its answer. */
struct mint_output {
	uint64_t amount;
	char id[67];			/* keyset to sign with (full id) */
	char B_[67];
	char secret[65];		/* hex string: the proof's secret */
	uint8_t r[CASHU_SCALAR_LEN];
};

/* A blind signature as validated from a response. */
struct mint_sig {
	bool present;			/* restore: false when the mint had none */
	uint64_t amount;
	char id[67];
	char C_[67];
	bool has_dleq;
	char e[65], s[65];
};

enum mint_proof_state { MINT_STATE_UNSPENT, MINT_STATE_PENDING, MINT_STATE_SPENT, MINT_STATE__MAX };

enum mint_quote_state {
	MINT_QUOTE_UNPAID, MINT_QUOTE_PAID, MINT_QUOTE_PENDING, MINT_QUOTE_ISSUED,
	MINT_QUOTE__MAX
};

/* A mint (NUT-04) or melt (NUT-05) bolt11 quote. Strings are owned. */
struct mint_quote {
	char *quote;
	char *request;			/* the bolt11 invoice */
	uint64_t amount;
	uint64_t fee_reserve;		/* melt only */
	char unit[16];
	enum mint_quote_state state;
	int64_t expiry;			/* 0 if none */
	char *preimage;			/* melt: payment_preimage, may be NULL */
	struct mint_sig *change;	/* melt response: NUT-08 change, by blank position */
	size_t nchange;
};
void mint_quote_free(struct mint_quote *q);

/* Create n outputs for amounts[] with fresh random secrets and blinding
 * factors for keyset id. Caller owns out[n]. -1 on a bad id. */
int mint_outputs_new(const char *keyset_id, const uint64_t *amounts, size_t n,
    struct mint_output *out);

/* Turn the signature for output o into a proof: verify the DLEQ when the
 * mint sent one (required when require_dleq), then C = C_ - r*K where K is
 * the keyset key for sig->amount. p->secret is a new string the caller owns
 * (free with cashu_token_free's rules: free(p->secret)). */
enum mint_err mint_unblind(const struct mint_keyset *ks, const struct mint_output *o,
    const struct mint_sig *sig, bool require_dleq, struct cashu_proof *p, struct mint_error *e);

/* Y = hash_to_curve(secret) as 66 hex digits. 0 or -1. */
int mint_proof_y(const char *secret, char Y[67]);

/* Check a keyset's keys: every key a compressed point on the curve and the
 * id (v1 or v2) recomputed from them equal to ks->id. MINT_OK or
 * MINT_E_PROTOCOL. */
enum mint_err mint_keyset_verify(const struct mint_keyset *ks, struct mint_error *e);

/* The keys of ks as a JSON object text {"1":"02..",...} for the cache, a
 * new string the caller frees; and back (ks->keys owned by ks, freed with
 * mint_keysets_free). MINT_OK or MINT_E_PROTOCOL. */
char *mint_keys_to_json(const struct mint_keyset *ks);
enum mint_err mint_keys_from_json(const char *text, struct mint_keyset *ks, struct mint_error *e);

/* Parse response bodies (exposed for the hostile-input tests). Each borrows
 * body and fills caller-owned results; MINT_E_PROTOCOL on anything odd. */
enum mint_err mint_parse_keysets(const char *body, size_t len, bool with_keys,
    struct mint_keyset **out, size_t *n, struct mint_error *e);
enum mint_err mint_parse_signatures(const char *body, size_t len, const char *member,
    const struct mint_output *outs, size_t nout, struct mint_sig *sigs, struct mint_error *e);

/* ------------------------------------------------------------ calls */
/* All calls borrow their arguments, fill caller-owned results, and return
 * MINT_OK or an error kind with details in *e (e may be NULL). */

/* NUT-06: GET /v1/info. *info is a new json-c reference the caller puts. */
enum mint_err mint_get_info(struct mint_client *mc, struct json_object **info,
    struct mint_error *e);
/* NUT-02: GET /v1/keysets (no keys). Caller frees with mint_keysets_free. */
enum mint_err mint_get_keysets(struct mint_client *mc, struct mint_keyset **out, size_t *n,
    struct mint_error *e);
/* NUT-01: GET /v1/keys (id NULL: the active keysets) or /v1/keys/{id}; every
 * keyset returned is checked with mint_keyset_verify, and for an id the
 * answer must be that keyset. Caller frees with mint_keysets_free. */
enum mint_err mint_get_keys(struct mint_client *mc, const char *id, struct mint_keyset **out,
    size_t *n, struct mint_error *e);
/* NUT-03: POST /v1/swap. sigs[nout] come back in output order, each with the
 * output's amount and keyset id. write_ahead: the outputs are stored, so a
 * repeat after a timeout is safe (enables retries). */
enum mint_err mint_swap(struct mint_client *mc, const struct cashu_proof *in, size_t nin,
    const struct mint_output *outs, size_t nout, bool write_ahead, struct mint_sig *sigs,
    struct mint_error *e);
/* NUT-07: POST /v1/checkstate for n Ys (hex); states[n] in the same order. */
enum mint_err mint_checkstate(struct mint_client *mc, const char *const *Ys, size_t n,
    enum mint_proof_state *states, struct mint_error *e);
/* NUT-09: POST /v1/restore. sigs[i].present tells which outputs the mint had
 * signed. */
enum mint_err mint_restore(struct mint_client *mc, const struct mint_output *outs, size_t n,
    struct mint_sig *sigs, struct mint_error *e);
/* NUT-04/23: POST /v1/mint/quote/bolt11, GET .../{quote}, POST /v1/mint/bolt11. */
enum mint_err mint_mint_quote(struct mint_client *mc, uint64_t amount, const char *unit,
    struct mint_quote *q, struct mint_error *e);
enum mint_err mint_mint_quote_state(struct mint_client *mc, const char *quote,
    struct mint_quote *q, struct mint_error *e);
enum mint_err mint_mint(struct mint_client *mc, const char *quote, const struct mint_output *outs,
    size_t nout, bool write_ahead, struct mint_sig *sigs, struct mint_error *e);
/* NUT-05/23: POST /v1/melt/quote/bolt11, GET .../{quote}, POST /v1/melt/bolt11
 * with NUT-08 blank outputs (may be 0). A melt is never repeated after a
 * timeout (the payment may be in flight); q gets the final quote state and
 * the change signatures. */
enum mint_err mint_melt_quote(struct mint_client *mc, const char *bolt11, const char *unit,
    struct mint_quote *q, struct mint_error *e);
enum mint_err mint_melt_quote_state(struct mint_client *mc, const char *quote,
    struct mint_quote *q, struct mint_error *e);
enum mint_err mint_melt(struct mint_client *mc, const char *quote, const struct cashu_proof *in,
    size_t nin, const struct mint_output *blanks, size_t nblank, struct mint_quote *q,
    struct mint_error *e);

/* NUT-08: how many blank outputs a melt with this fee reserve needs. */
size_t mint_blank_outputs_for(uint64_t fee_reserve);

#endif
