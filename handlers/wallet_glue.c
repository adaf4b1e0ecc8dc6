/* wallet_glue: see wallet_glue.h. The money protocols themselves are in
 * lib/funds.c; this file maps their outcomes to HTTP answers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "errors.h"
#include "cashu/wallet.h"
#include "funds.h"
#include "lnout.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "pricing.h"
#include "server.h"
#include "util.h"
#include "wallet_glue.h"

/* Routstr's Cashu error taxonomy (reference proxy 7.3). */
static void
answer_mint_error(struct req *r, enum mint_err e, const struct mint_error *me, const char *echo)
{
	int status;
	const char *type, *code;

	switch (e) {
	case MINT_E_SPENT:
	case MINT_E_ALREADY_REDEEMED:
		status = 400; type = "token_already_spent"; code = "cashu_token_already_spent";
		break;
	case MINT_E_TOKEN:
	case MINT_E_PROOF_INVALID:
	case MINT_E_KEYSET_UNKNOWN:
	case MINT_E_UNIT:
		status = 400; type = "invalid_token"; code = "invalid_cashu_token";
		break;
	case MINT_E_TOO_SMALL:
	case MINT_E_UNBALANCED:
		status = 422; type = "mint_error"; code = "cashu_token_swap_fees_exceed_amount";
		break;
	case MINT_E_UNTRUSTED:
		status = 422; type = "mint_error"; code = "cashu_foreign_mint_swap_failed";
		break;
	case MINT_E_UNREACHABLE:
	case MINT_E_TIMEOUT:
		status = 503; type = "mint_unreachable"; code = "cashu_mint_unreachable";
		break;
	case MINT_E_RATE_LIMITED:
		status = 503; type = "mint_rate_limited"; code = "cashu_mint_rate_limited";
		break;
	case MINT_E_PENDING:
		status = 503; type = "mint_unreachable"; code = "cashu_token_pending";
		break;
	case MINT_E_DB:
	case MINT_E_INTERRUPTED:
		status = 500; type = "api_error"; code = "internal_error";
		break;
	default:
		status = 400; type = "cashu_error"; code = "cashu_token_redemption_failed";
		break;
	}
	log_warn("request %s: cashu %s: %s", r->id, mint_err_name(e), me ? me->detail : "");
	/* X-Cashu: the token goes back to the client while it is still
	 * spendable (the mint did not take it). */
	if (echo && e != MINT_E_SPENT && e != MINT_E_ALREADY_REDEEMED && status != 500)
		resp_header(r, "X-Cashu", echo);
	resp_error(r, status, type, code, "%s", mint_err_message(e));
}

void
wallet_glue_ctx(struct req *r, struct funds_ctx *fc)
{
	fc->db = r->worker->db;
	fc->up = r->worker->up;
	fc->request_id = r->id;
}

static void
answer_spent(struct req *r)
{
	api_error(r, E_TOKEN_SPENT);
}

/* A deposit that did not credit this key: answer why. echo: the X-Cashu
 * token, returned while it is still the client's. */
/* A token of an untrusted mint whose Lightning swap failed for good: its
 * value is handed back as a token of that mint (the same one on every
 * retry), in the body and, as Routstr returns change, in X-Cashu. */
static void
answer_returned(struct req *r, const char *token)
{
	struct json_object *env, *err;

	log_warn("request %s: foreign swap failed; value returned as a token", r->id);
	err = json_object_new_object();
	json_object_object_add(err, "message", json_object_new_string(
	    "The token's mint could not pay the node's mint over Lightning; its value is returned "
	    "in refund_token"));
	json_object_object_add(err, "type", json_object_new_string("mint_error"));
	json_object_object_add(err, "code", json_object_new_string("cashu_foreign_mint_swap_failed"));
	json_object_object_add(err, "refund_token", json_object_new_string(token));
	env = json_object_new_object();
	json_object_object_add(env, "error", err);
	json_object_object_add(env, "request_id", json_object_new_string(r->id));
	resp_header(r, "X-Cashu", token);
	resp_json(r, 422, env);
}

static void
answer_deposit_error(struct req *r, enum funds_status fs, const struct funds_deposit *d,
    const char *echo)
{
	switch (fs) {
	case FUNDS_MINT:
		if (d->returned) {
			answer_returned(r, d->returned);
			break;
		}
		answer_mint_error(r, d->mint, &d->me, echo);
		break;
	case FUNDS_SPENT:
		answer_spent(r);
		break;
	case FUNDS_PENDING:
		resp_header(r, "Retry-After", "2");
		api_error(r, E_CASHU_TOKEN_PENDING);
		break;
	case FUNDS_ZERO:
		api_error(r, E_CASHU_TOKEN_ZERO_VALUE);
		break;
	default:
		api_error(r, E_REDEMPTION_FAILED);
		break;
	}
}

int
wallet_glue_create_key(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim)
{
	return wallet_glue_create_key_as(r, token, hash, lim, "apikey");
}

int
wallet_glue_create_key_as(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim, const char *source)
{
	struct funds_ctx fc;
	struct funds_deposit d;
	enum funds_status fs;

	wallet_glue_ctx(r, &fc);
	fs = funds_deposit(&fc, token, hash, source, lim, &d);
	if (fs == FUNDS_OK) {
		req_log_extra(r, "redeemed_msat=%lld%s%s", (long long)d.msat,
		    d.again ? " redeemed_before=1" : "", d.swapped ? " swapped=1" : "");
		funds_deposit_free(&d);
		return 0;
	}
	answer_deposit_error(r, fs, &d, strcmp(source, "x-cashu") == 0 ? token : NULL);
	funds_deposit_free(&d);
	return -1;
}

int
wallet_glue_topup(struct req *r, const char *hash, const char *token, int64_t *credited)
{
	struct funds_ctx fc;
	struct funds_deposit d;
	enum funds_status fs;

	wallet_glue_ctx(r, &fc);
	fs = funds_deposit(&fc, token, hash, "apikey", NULL, &d);
	if (fs == FUNDS_OK && d.again)
		fs = FUNDS_SPENT;	/* a top-up credits a token once */
	if (fs != FUNDS_OK) {
		answer_deposit_error(r, fs, &d, NULL);
		funds_deposit_free(&d);
		return -1;
	}
	funds_deposit_free(&d);
	req_log_extra(r, "redeemed_msat=%lld", (long long)d.msat);
	*credited = d.msat;
	return 0;
}

/* The body of a successful withdrawal: {"token", "sats"|"msats"}. */
static void
answer_token(struct req *r, const char *token, int64_t msat, const char *unit)
{
	struct json_object *o = json_object_new_object();
	bool in_msat = strcmp(unit, "msat") == 0;
	char amt[32];

	json_object_object_add(o, "token", json_object_new_string(token));
	snprintf(amt, sizeof(amt), "%lld", (long long)(in_msat ? msat : msat / 1000));
	json_object_object_add(o, in_msat ? "msats" : "sats", json_object_new_string(amt));
	resp_json(r, 200, o);
}

static void
answer_withdraw_error(struct req *r, enum funds_status fs, const struct funds_withdrawal *w)
{
	switch (fs) {
	case FUNDS_BUSY:
		api_error(r, E_ONGOING_REQUESTS);
		break;
	case FUNDS_TOO_SMALL:
		api_error(r, E_BALANCE_TOO_SMALL);
		break;
	case FUNDS_NOTHING:
		api_error(r, E_NO_BALANCE);
		break;
	case FUNDS_INVALID:
		api_error(r, E_CHILD_KEY_REFUND);
		break;
	case FUNDS_PENDING:
		resp_header(r, "Retry-After", "2");
		api_error(r, E_REFUND_PENDING);
		break;
	case FUNDS_MINT:
		log_warn("request %s: withdrawal: %s: %s", r->id, mint_err_name(w->mint),
		    w->me.detail);
		resp_header(r, "Retry-After", "60");
		api_error(r, E_CASHU_MINT_UNREACHABLE);
		break;
	default:
		api_error(r, E_REFUND_FAILED);
		break;
	}
}

/* Withdraw key's balance as a token of source and answer with it (also in
 * an X-Cashu header when xcashu). */
static void
withdraw_and_answer(struct req *r, const struct ledger_key *key, const char *source, bool xcashu)
{
	struct funds_ctx fc;
	struct funds_withdrawal w;
	enum funds_status fs;

	wallet_glue_ctx(r, &fc);
	fs = funds_withdraw(&fc, key, source, &w);
	/* X-Cashu change: the request that makes it may still be running
	 * (its reservation is live), and "nothing" means no such change. */
	if (xcashu && fs == FUNDS_BUSY)
		fs = FUNDS_PENDING;
	if (xcashu && (fs == FUNDS_NOTHING || fs == FUNDS_TOO_SMALL)) {
		api_error(r, E_REFUND_NOT_FOUND);
		return;
	}
	if (fs != FUNDS_OK) {
		answer_withdraw_error(r, fs, &w);
		return;
	}
	req_log_extra(r, "withdrawn_msat=%lld%s", (long long)w.msat, w.again ? " again=1" : "");
	if (xcashu)
		resp_header(r, "X-Cashu", w.token);
	answer_token(r, w.token, w.msat, w.unit);
	free(w.token);
}

/* A refund to the key's Refund-LNURL: {"recipient", "sats"} as Routstr
 * means it, with what the invoice asked, what Lightning and the mint took,
 * and what went back to the key (it stays usable). */
static void
refund_lightning(struct req *r, const struct ledger_key *key)
{
	struct funds_ctx fc;
	struct lnout_result res;
	struct json_object *o;
	enum funds_status fs;
	char amt[32];

	wallet_glue_ctx(r, &fc);
	fs = lnout_refund(&fc, key, key->refund_address, &res);
	switch (fs) {
	case FUNDS_OK:
		o = json_object_new_object();
		json_object_object_add(o, "recipient", json_object_new_string(key->refund_address));
		snprintf(amt, sizeof(amt), "%lld", (long long)(res.debited_msat / 1000));
		json_object_object_add(o, "sats", json_object_new_string(amt));
		json_object_object_add(o, "paid_msats", json_object_new_int64(res.invoice_msat));
		json_object_object_add(o, "fee_msats",
		    json_object_new_int64(res.spent_msat - res.invoice_msat));
		json_object_object_add(o, "returned_msats", json_object_new_int64(res.back_msat));
		json_object_object_add(o, "preimage", res.preimage[0] ?
		    json_object_new_string(res.preimage) : NULL);
		req_log_extra(r, "refund_ln_msat=%lld", (long long)res.invoice_msat);
		resp_json(r, 200, o);
		return;
	case FUNDS_RECIPIENT:
		api_error(r, E_REFUND_RECIPIENT, key->refund_address, res.why);
		return;
	case FUNDS_UNCONFIRMED:
		api_error(r, E_REFUND_UNCONFIRMED);
		return;
	default:
		answer_withdraw_error(r, fs, &(struct funds_withdrawal){ .mint = res.mint,
		    .me = res.me });
		return;
	}
}

void
wallet_glue_refund(struct req *r)
{
	struct auth a;

	if (auth_key(r, false, &a) < 0)
		return;
	if (a.key.refund_address[0] && a.key.parent[0] == '\0' && ledger_available(&a.key) > 0) {
		refund_lightning(r, &a.key);
		return;
	}
	withdraw_and_answer(r, &a.key, "apikey", false);
}

/* X-Cashu change: what the token's key still holds is withdrawn now (a
 * change that could not be made at the time, or a stream's), else the change
 * token made at the end of the request is offered again. */
void
wallet_glue_fetch_change(struct req *r, const char *token)
{
	struct ledger_key key, billing;
	struct funds_ctx fc;
	char hash[65];

	auth_token_hash(token, hash);
	wallet_glue_ctx(r, &fc);
	/* A request that died while redeeming the token: finish that first. */
	if (ledger_key_get(r->worker->db, hash, &key, &billing) != RERR_OK &&
	    (!funds_recover_token(&fc, token) ||
	    ledger_key_get(r->worker->db, hash, &key, &billing) != RERR_OK)) {
		api_error(r, E_REFUND_NOT_FOUND);
		return;
	}
	r->authenticated = true;	/* the holder of the token that paid */
	withdraw_and_answer(r, &key, "x-cashu-change", true);
}

void
wallet_glue_history(struct req *r, const char *hash)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct wallet_ctx w;
	struct wallet_tx *v = NULL;
	size_t n = 0, i;

	wallet_ctx_init(&w, r->worker->db, r->worker->up);
	if (wallet_tx_history(&w, hash, &v, &n) != MINT_OK) {
		json_object_put(o);
		json_object_put(arr);
		api_error(r, E_HISTORY_FAILED);
		return;
	}
	for (i = 0; i < n; i++) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "id", json_object_new_int64(v[i].id));
		json_object_object_add(t, "type", json_object_new_string(v[i].direction));
		json_object_object_add(t, "source", json_object_new_string(v[i].source));
		json_object_object_add(t, "amount", json_object_new_int64((int64_t)v[i].amount));
		json_object_object_add(t, "unit", json_object_new_string(v[i].unit));
		json_object_object_add(t, "mint_url", json_object_new_string(v[i].mint));
		json_object_object_add(t, "created_at", json_object_new_int64(v[i].created_at));
		json_object_object_add(t, "collected", json_object_new_boolean(v[i].collected));
		json_object_object_add(t, "swept", json_object_new_boolean(v[i].swept));
		json_object_array_add(arr, t);
	}
	free(v);
	json_object_object_add(o, "transactions", arr);
	resp_json(r, 200, o);
}
