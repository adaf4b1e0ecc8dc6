/* wallet_glue: the handlers' side of the Cashu wallet. Redeems tokens into
 * keys and turns balances into tokens, answering the client with Routstr's
 * Cashu error taxonomy when the mint says no. */
#ifndef ROUTSTR_WALLET_GLUE_H
#define ROUTSTR_WALLET_GLUE_H

#include "http.h"
#include "ledger.h"

/* Redeem token (swap at a trusted mint, fees accounted) and create the key
 * hash with the credited balance and lim (may be NULL), idempotently for the
 * same token. Returns 0, or -1 after answering the client. */
int wallet_glue_create_key(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim);

/* The same, recording the redemption under source ("x-cashu" also echoes
 * the token in an X-Cashu header when the mint did not take it). */
int wallet_glue_create_key_as(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim, const char *source);

/* Withdraw everything key holds as a token of its refund mint and unit,
 * persisted (cashu_transactions, source) before it is returned. Does not
 * answer the client. *token (new string, caller frees) and *msat on WD_OK. */
enum wd_result {
	WD_OK,
	WD_NOTHING,	/* no balance */
	WD_TOO_SMALL,	/* less than one unit */
	WD_BUSY,	/* live reservations */
	WD_MINT_DOWN,	/* the mint did not answer: the balance stays on the key */
	WD_FAILED,
};
enum wd_result wallet_glue_withdraw(struct req *r, const struct ledger_key *key,
    const char *source, char **token, int64_t *msat, char unit[16]);

/* Redeem token into the billing key hash (a top-up). *credited gets the msat
 * credited. Returns 0, or -1 after answering. */
int wallet_glue_topup(struct req *r, const char *hash, const char *token, int64_t *credited);

/* POST /v1/balance/refund with a bearer key: withdraw everything as a token
 * (persisted before it is returned). Answers the client. */
void wallet_glue_refund(struct req *r);

/* POST /v1/balance/refund with X-Cashu: the change of the X-Cashu request
 * paid by token. Answers the client. */
void wallet_glue_fetch_change(struct req *r, const char *token);

/* GET /v1/balance/history of key hash. Answers the client. */
void wallet_glue_history(struct req *r, const char *hash);

#endif
