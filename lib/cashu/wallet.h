/* cashu/wallet: the node's Cashu wallet in SQLite (migrations/0003_cashu.sql):
 * keyset cache, proofs, the write-ahead log of mint operations and its
 * recovery, amount selection and splitting, and the high-level operations
 * the money code calls (receive a token, send a token, mint, melt, balance).
 *
 * Write-ahead rule: the outputs of a swap, mint or melt (secrets and blinding
 * factors) and the inputs it spends are committed in a mint_operations row
 * ('prepared'), the row is committed 'sent' before the request leaves, and
 * the result is stored in a new short transaction ('done' or 'failed'). No
 * transaction is open during network I/O. A crash (or a lost answer) between
 * 'sent' and the answer is resolved by wallet_recover() with NUT-07
 * checkstate (inputs spent?) and NUT-09 restore (our outputs signed?).
 *
 * Secrets are random (not NUT-13): the database is the backup. */
#ifndef ROUTSTR_CASHU_WALLET_H
#define ROUTSTR_CASHU_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cashu/mint.h"

struct db;
struct upstream;

/* Points where a test hook may stop an operation as if the process died. */
enum wallet_hook_point {
	WALLET_HOOK_PREPARED,	/* 'prepared' committed, nothing sent */
	WALLET_HOOK_SENT,	/* 'sent' committed, request not yet sent */
	WALLET_HOOK_ANSWERED,	/* the mint answered 200, nothing stored yet */
	WALLET_HOOK__MAX
};

/* Per-thread context. db and up are borrowed (the worker owns them); the
 * other fields are defaults from wallet_ctx_init that callers may change. */
struct wallet_ctx {
	struct db *db;
	struct upstream *up;
	const char *const *trusted;	/* borrowed trusted mint URLs; NULL: from the settings */
	size_t ntrusted;
	long timeout_s;			/* per mint HTTP attempt */
	int max_attempts;
	long backoff_ms;
	int64_t keysets_max_age_s;	/* re-read GET /v1/keysets after this */
	bool require_dleq;		/* refuse mint signatures without a DLEQ proof */
	/* Receive and send at any mint, trusted or not: only for the foreign
	 * swap (lib/fxswap.c), whose proofs at an untrusted mint are melted at
	 * once and never credited as they are. */
	bool allow_untrusted;
	/* Test hook: a non-zero return stops the operation at that point
	 * (returns MINT_E_INTERRUPTED, the row stays as it is). */
	int (*hook)(void *ud, enum wallet_hook_point at, int64_t op_id);
	void *hook_ud;
};

/* Fill w with the borrowed handles and defaults from the settings
 * (MINT_OPERATION_TIMEOUT_SECONDS, MINT_RETRY_MAX_ATTEMPTS; 30 s and 3 when
 * no settings are loaded). */
void wallet_ctx_init(struct wallet_ctx *w, struct db *db, struct upstream *up);

/* Who asked and for whom, written with the mint operation before it is sent
 * and on the cashu_transactions row, so recovery knows the beneficiary. All
 * borrowed, all may be NULL. */
struct wallet_meta {
	const char *request_id;
	const char *api_key_hash;	/* receive: the key to credit; send: the key debited */
	const char *source;		/* apikey, x-cashu, x-cashu-change, ... */
	const char *fund_ref;		/* send: the withdrawal it makes a token for */
	const char *const *units;	/* receive: accepted units (NULL-terminated); NULL: any */
	uint64_t melt_max;		/* melt: refuse before sending when the quote's
					 * amount, reserve and input fee exceed it; 0: no cap */
};

/* The outcome of a receive (or, on MINT_E_ALREADY_REDEEMED, of the earlier
 * one) or a send. Plain data. */
struct wallet_receipt {
	int64_t tx_id;			/* cashu_transactions.id */
	int64_t op_id;			/* mint_operations.id, 0 if none */
	uint64_t amount;		/* token face value */
	uint64_t fee;			/* input fee paid to the mint */
	uint64_t credited;		/* receive: amount - fee, now unspent in the wallet */
	char unit[16];
	char mint[512];
	char api_key_hash[129];		/* receive: who it was for ("" if nobody) */
	char source[32];
};

/* True when url (normalised) is the primary mint or in CASHU_MINTS (or in
 * w->trusted when set). */
bool wallet_mint_trusted(const struct wallet_ctx *w, const char *url);

/* Re-read a mint's keysets (GET /v1/keysets) into the cache, and fetch and
 * verify the keys (GET /v1/keys/{id}) of every keyset not cached yet. force:
 * even when the cache is younger than keysets_max_age_s. */
enum mint_err wallet_refresh_keysets(struct wallet_ctx *w, const char *mint_url, bool force,
    struct mint_error *e);
/* The cached keysets of a mint (from the database only). Caller frees with
 * mint_keysets_free; keys is NULL for keysets whose keys are not cached. */
enum mint_err wallet_keysets(struct wallet_ctx *w, const char *mint_url, struct mint_keyset **out,
    size_t *n, struct mint_error *e);

/* Redeem a token: decode (V3/V4), refuse untrusted mints (MINT_E_UNTRUSTED;
 * swapping foreign tokens into a trusted mint over Lightning is not done
 * yet), refuse proofs we already redeemed (MINT_E_ALREADY_REDEEMED, r then
 * describes the earlier redemption), resolve short keyset ids, check points,
 * amounts and DLEQs, and swap the proofs for fresh ones worth amount - fee,
 * stored unspent, with an 'in' cashu_transactions row. Borrows token. */
enum mint_err wallet_receive_token(struct wallet_ctx *w, const char *token,
    const struct wallet_meta *meta, struct wallet_receipt *r, struct mint_error *e);

/* Make a V4 token worth exactly amount (unit) from the wallet's proofs at
 * mint_url: proofs that add up exactly are sent as they are, otherwise a
 * swap makes the exact amount (its input fee is paid by the wallet). The
 * token is stored in cashu_transactions ('out') in the same transaction that
 * marks its proofs spent, before it is returned. *token is a new string the
 * caller frees. */
enum mint_err wallet_send(struct wallet_ctx *w, const char *mint_url, const char *unit,
    uint64_t amount, const struct wallet_meta *meta, char **token, struct wallet_receipt *r,
    struct mint_error *e);

/* NUT-04: ask a trusted mint for a bolt11 mint quote (q owned by the caller,
 * mint_quote_free), then, once it is paid, mint its amount into the wallet
 * (write-ahead). */
enum mint_err wallet_mint_quote(struct wallet_ctx *w, const char *mint_url, const char *unit,
    uint64_t amount, struct mint_quote *q, struct mint_error *e);
enum mint_err wallet_mint_proofs(struct wallet_ctx *w, const char *mint_url, const char *unit,
    uint64_t amount, const char *quote, struct wallet_receipt *r, struct mint_error *e);

/* NUT-05: pay bolt11 from the wallet's proofs at mint_url (write-ahead, with
 * NUT-08 change). MINT_E_PENDING when the payment is still in flight (the
 * operation stays 'sent' for wallet_recover). */
struct wallet_melt_result {
	uint64_t amount;		/* the quote amount paid */
	uint64_t fee_reserve;
	uint64_t inputs;		/* sum of the proofs spent */
	uint64_t input_fee;
	uint64_t change;		/* returned as fresh proofs */
	char preimage[129];
	int64_t op_id;
};
enum mint_err wallet_melt(struct wallet_ctx *w, const char *mint_url, const char *unit,
    const char *bolt11, struct wallet_melt_result *res, struct mint_error *e);
/* The same, the operation naming meta's request, key, source and fund_ref
 * (the withdrawal, payout or swap it pays for), so recovery can tell whose
 * it was. */
enum mint_err wallet_melt_for(struct wallet_ctx *w, const char *mint_url, const char *unit,
    const char *bolt11, const struct wallet_meta *meta, struct wallet_melt_result *res,
    struct mint_error *e);
/* The melt or mint operation of fund_ref (melt) or quote (mint), newest
 * first: 1 with *op_id and state ("prepared", "sent", "done", "failed"), 0
 * none, -1 error. */
int wallet_op_find(struct wallet_ctx *w, const char *kind, const char *fund_ref,
    const char *quote, int64_t *op_id, char state[16]);

/* Unspent (and pending) totals per mint and unit, from the database. Caller
 * frees *out with free(). */
struct wallet_balance {
	char mint[512];
	char unit[16];
	uint64_t unspent;
	uint64_t pending;
	size_t nproofs;			/* unspent proofs */
};
enum mint_err wallet_balance(struct wallet_ctx *w, struct wallet_balance **out, size_t *n);

/* Resolve every operation not 'done' or 'failed' whose last change is at
 * least min_age_s old (so live operations of other workers are left alone):
 * 'prepared' ones were never sent and are rolled back; 'sent' ones are
 * settled with checkstate + restore: signatures found -> outputs stored,
 * inputs spent, done; inputs unspent and nothing signed -> failed, inputs
 * released; inputs pending or the mint unreachable -> left for next time. */
struct wallet_recover_stats {
	int examined, done, failed, left;
	int live;			/* open but run by a live process: not touched */
};
enum mint_err wallet_recover(struct wallet_ctx *w, int64_t min_age_s,
    struct wallet_recover_stats *st, struct mint_error *e);
/* The same, at once, for the open operations of one token (token_hash as
 * wallet_token_hash), one withdrawal (fund_ref) or one key (api_key_hash);
 * NULL matches any. st->live counts those a live runner still holds. */
enum mint_err wallet_recover_for(struct wallet_ctx *w, const char *token_hash,
    const char *fund_ref, const char *api_key_hash, struct wallet_recover_stats *st,
    struct mint_error *e);

/* The same for the open operations of one mint or melt quote. */
enum mint_err wallet_recover_quote(struct wallet_ctx *w, const char *quote,
    struct wallet_recover_stats *st, struct mint_error *e);

/* The receipt of an earlier redemption of token's proofs (whatever its
 * encoding): 1 and *r, 0 none (or the token does not decode), -1 error.
 * hash gets the token hash ("" when it does not decode). */
int wallet_find_receipt(struct wallet_ctx *w, const char *token, struct wallet_receipt *r,
    char hash[65]);

/* How many operations of token_hash / fund_ref / api_key_hash (NULL: any)
 * are open, whoever runs them; -1 on error. No network. */
int wallet_op_open(struct wallet_ctx *w, const char *token_hash, const char *fund_ref,
    const char *api_key_hash);

/* The outgoing token made for fund_ref: 1 and *tx_id, 0 none, -1 error. */
int wallet_tx_by_fund_ref(struct wallet_ctx *w, const char *fund_ref, int64_t *tx_id);
/* A stored token by its cashu_transactions id. *token is new (caller
 * frees). MINT_E_INVALID when there is no such row. */
enum mint_err wallet_tx_get(struct wallet_ctx *w, int64_t tx_id, char **token, uint64_t *amount,
    char unit[16]);
/* NUT-07: whether any proof of token has been spent at its mint (the holder
 * redeemed it). Borrows token. */
enum mint_err wallet_token_spent(struct wallet_ctx *w, const char *token, bool *spent,
    struct mint_error *e);

/* One cashu_transactions row, as /v1/balance/history shows it. */
struct wallet_tx {
	int64_t id;
	char direction[4];		/* "in" or "out" */
	char source[32];
	uint64_t amount;
	char unit[16];
	char mint[512];
	int64_t created_at;
	bool collected, swept;
};

/* The tokens in and out linked to api_key_hash, newest first (at most 500).
 * Caller frees *out with free(). */
enum mint_err wallet_tx_history(struct wallet_ctx *w, const char *api_key_hash,
    struct wallet_tx **out, size_t *n);


/* ------------------------------------------------------------ pure helpers */

/* Split amount into denominations (denoms ascending, e.g. the keyset's key
 * amounts 1, 2, 4, ...): largest first, the largest repeated as needed, the
 * result in ascending order. Returns the count, or (size_t)-1 when it would
 * exceed max or the denominations cannot make the amount. */
size_t wallet_split(uint64_t amount, const uint64_t *denoms, size_t ndenoms, uint64_t *out,
    size_t max);

/* A proof as selection sees it. */
struct wallet_coin {
	uint64_t amount;
	uint64_t fee_ppk;		/* its keyset's input_fee_ppk */
};
/* exact: pick coins adding up to exactly target (no fee: nothing is swapped).
 * Otherwise pick coins with sum >= target + fee(chosen), fewest-inputs
 * first: the smallest single coin that covers it, else the largest coins in
 * turn. chosen[] (n entries) gets indexes; *fee the input fee of the choice.
 * 0 when found, -1 when the coins cannot cover it. */
int wallet_select(const struct wallet_coin *coins, size_t n, uint64_t target, bool exact,
    size_t *chosen, size_t *nchosen, uint64_t *fee);

/* SHA-256 (hex) over the sorted proof secrets of t: the same proofs give the
 * same hash whatever their encoding. */
void wallet_token_hash(const struct cashu_token *t, char out[65]);

#endif
