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
