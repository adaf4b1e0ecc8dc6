/* wallet_glue: the handlers' side of lib/funds. Calls the funds protocols
 * with what the request borrows and answers the client with Routstr's Cashu
 * error taxonomy. No money logic lives here. */
#ifndef ROUTSTR_WALLET_GLUE_H
#define ROUTSTR_WALLET_GLUE_H

#include "funds.h"
#include "http.h"
#include "ledger.h"

/* The funds context of request r (its worker's db and upstream handle). */
void wallet_glue_ctx(struct req *r, struct funds_ctx *fc);

/* Redeem token into key hash (created with lim, may be NULL, when it does
 * not exist), recording the redemption under source ("x-cashu" also echoes
 * the token in an X-Cashu header when the mint did not take it). The same
 * token for the same key again is fine (the key exists). Returns 0, or -1
 * after answering the client. */
int wallet_glue_create_key_as(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim, const char *source);
int wallet_glue_create_key(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim);

/* Redeem token into the billing key hash (a top-up). *credited gets the msat
 * credited. A token credited before (to this key or another) is 400
 * cashu_token_already_spent. Returns 0, or -1 after answering. */
int wallet_glue_topup(struct req *r, const char *hash, const char *token, int64_t *credited);

/* POST /v1/balance/refund with a bearer key: withdraw everything as a token
 * (persisted before it is returned; offered again until redeemed). Answers
 * the client. */
void wallet_glue_refund(struct req *r);

/* POST /v1/balance/refund with X-Cashu: the change of the X-Cashu request
 * paid by token. Answers the client. */
void wallet_glue_fetch_change(struct req *r, const char *token);

/* GET /v1/balance/history of key hash. Answers the client. */
void wallet_glue_history(struct req *r, const char *hash);

#endif
