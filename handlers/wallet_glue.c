/* wallet_glue: see wallet_glue.h. The one place where a Cashu wallet result
 * becomes a ledger entry and an HTTP answer. Order on every path: the mint
 * operation is durable in the wallet store first, then the ledger entry is
 * made with the wallet transaction as its reference, so a crash between the
 * two is completed the next time the same token is presented (the wallet
 * answers "already redeemed" with the earlier receipt, and the ledger's
 * reference makes the credit happen at most once). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cashu/wallet.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "pricing.h"
#include "server.h"
#include "util.h"
#include "wallet_glue.h"

/* Routstr's Cashu error taxonomy (reference proxy 7.3). */
static void
answer_mint_error(struct req *r, enum mint_err e, const struct mint_error *me)
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
	resp_error(r, status, type, code, "%s", mint_err_message(e));
}

/* msat of amount in unit; -1 for a unit we do not hold balances in. */
static int64_t
to_msat(uint64_t amount, const char *unit)
{
	if (amount > (uint64_t)INT64_MAX / 1000)
		return -1;
	if (strcmp(unit, "sat") == 0)
		return (int64_t)amount * 1000;
	if (strcmp(unit, "msat") == 0)
		return (int64_t)amount;
	return -1;
}

/* Redeem token for key hash: the receipt of this or an earlier redemption
 * of the same proofs. Returns 0, or -1 after answering. */
static int
redeem(struct req *r, const char *token, const char *hash, const char *source,
    struct wallet_receipt *rec, int64_t *msat)
{
	struct wallet_ctx w;
	struct wallet_meta meta = { r->id, hash, source };
	struct mint_error me;
	enum mint_err e;

	memset(&me, 0, sizeof(me));
	wallet_ctx_init(&w, r->worker->db, r->worker->up);
	e = wallet_receive_token(&w, token, &meta, rec, &me);
	if (e != MINT_OK && e != MINT_E_ALREADY_REDEEMED) {
		answer_mint_error(r, e, &me);
		return -1;
	}
	*msat = to_msat(rec->credited, rec->unit);
	if (*msat < 0) {
		resp_error(r, 400, "invalid_token", "invalid_cashu_token",
		    "Tokens in unit '%s' are not accepted", rec->unit);
		return -1;
	}
	if (*msat == 0) {
		resp_error(r, 400, "cashu_error", "cashu_token_zero_value",
		    "Failed to redeem Cashu token: token yielded no value");
		return -1;
	}
	req_log_extra(r, "redeemed_msat=%lld%s", (long long)*msat,
	    e == MINT_E_ALREADY_REDEEMED ? " redeemed_before=1" : "");
	return e == MINT_OK ? 0 : 1;
}

int
wallet_glue_create_key(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim)
{
	struct wallet_receipt rec;
	struct ledger_key_new nk;
	char ref[64];
	int64_t msat = 0;
	bool created = false;
	enum rerr e;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rc = redeem(r, token, hash, "apikey", &rec, &msat);
	if (rc < 0)
		return -1;
	snprintf(ref, sizeof(ref), "cashu-tx:%lld", (long long)rec.tx_id);
	memset(&nk, 0, sizeof(nk));
	nk.hashed_key = hash;
	nk.deposit_msat = msat;
	nk.deposit_ref = ref;
	nk.refund_mint_url = rec.mint;
	nk.refund_currency = rec.unit;
	if (lim)
		nk.lim = *lim;
	e = ledger_key_create(r->worker->db, &nk, &created);
	if (e == RERR_OK && created)
		return 0;
	if (e == RERR_OK || e == RERR_CONFLICT) {
		/* The proofs were credited before (to this key, created meanwhile
		 * by a concurrent request, or elsewhere): nothing more to give. */
		struct ledger_key k, b;

		if (ledger_key_get(r->worker->db, hash, &k, &b) == RERR_OK && rc == 1)
			return 0;
		resp_error(r, 400, "token_already_spent", "cashu_token_already_spent",
		    "Token already spent");
		return -1;
	}
	log_error("request %s: token redeemed (tx %lld, %lld msat) but the key could not be "
	    "created: %s; presenting the token again completes it", r->id, (long long)rec.tx_id,
	    (long long)msat, rerr_name(e));
	resp_error(r, 500, "api_error", "internal_error", "Internal error during token redemption");
	return -1;
}

int
wallet_glue_topup(struct req *r, const char *hash, const char *token, int64_t *credited)
{
	struct wallet_receipt rec;
	char ref[64];
	int64_t msat = 0;
	enum rerr e;

	memset(&rec, 0, sizeof(rec));
	if (redeem(r, token, hash, "apikey", &rec, &msat) < 0)
		return -1;
	snprintf(ref, sizeof(ref), "cashu-tx:%lld", (long long)rec.tx_id);
	e = ledger_credit(r->worker->db, hash, msat, LEDGER_TOPUP, ref, NULL);
	if (e == RERR_CONFLICT) {
		resp_error(r, 400, "token_already_spent", "cashu_token_already_spent",
		    "Token already spent");
		return -1;
	}
	if (e != RERR_OK) {
		log_error("request %s: token redeemed (tx %lld) but the top-up failed: %s",
		    r->id, (long long)rec.tx_id, rerr_name(e));
		resp_error(r, 500, "api_error", "internal_error", "Internal error during top-up");
		return -1;
	}
	*credited = msat;
	return 0;
}

void
wallet_glue_refund(struct req *r)
{
	const struct conf *c = conf_get();
	struct auth a;
	struct wallet_ctx w;
	struct wallet_receipt rec;
	struct wallet_meta meta;
	struct mint_error me;
	struct json_object *o;
	const char *mint, *unit;
	char ref[64], amt[32], *token = NULL;
	int64_t amount = 0, unit_msat;
	enum mint_err me_kind;
	enum rerr e;

	if (*auth_bearer(r) == '\0') {
		resp_error(r, 401, "invalid_request_error", "missing_api_key",
		    "API key or Cashu token required");
		return;
	}
	if (auth_key(r, false, &a) < 0)
		return;
	if (a.key.parent[0]) {
		resp_error(r, 400, "invalid_request_error", "child_key",
		    "Cannot refund child key. Please refund the parent key instead.");
		return;
	}
	/* Reservations of processes that died are settled first; live ones
	 * block the refund. */
	ledger_sweep(r->worker->db, a.hash, NULL);
	unit = a.key.refund_currency[0] ? a.key.refund_currency : conf_str(c, CONF_PRIMARY_MINT_UNIT);
	unit_msat = strcmp(unit, "msat") == 0 ? 1 : 1000;
	mint = a.key.refund_mint_url[0] ? a.key.refund_mint_url : conf_str(c, CONF_PRIMARY_MINT_URL);
	snprintf(ref, sizeof(ref), "refund:%s", r->id);
	e = ledger_withdraw_all(r->worker->db, a.hash, unit_msat, ref, &amount);
	if (e == RERR_CONFLICT) {
		resp_error(r, 400, "invalid_request_error", "ongoing_requests",
		    "Cannot refund key. There are ongoing requests for this api key.");
		return;
	}
	if (e != RERR_OK) {
		resp_error(r, 500, "internal_error", NULL, "Refund failed");
		return;
	}
	if (amount == 0) {
		if (ledger_available(&a.billing) > 0)
			resp_error(r, 400, "invalid_request_error", "balance_too_small",
			    "Balance too small to refund");
		else
			resp_error(r, 400, "invalid_request_error", "no_balance", "No balance to refund");
		return;
	}
	wallet_ctx_init(&w, r->worker->db, r->worker->up);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = r->id;
	meta.api_key_hash = a.hash;
	meta.source = "apikey";
	memset(&me, 0, sizeof(me));
	me_kind = wallet_send(&w, mint, unit, (uint64_t)(amount / unit_msat), &meta, &token, &rec, &me);
	if (me_kind != MINT_OK) {
		/* No token was made: the balance goes back to the key. */
		if (ledger_credit(r->worker->db, a.hash, amount, LEDGER_REFUND_REVERT, ref, NULL) != RERR_OK)
			log_error("request %s: refund of %lld msat failed and could not be reverted",
			    r->id, (long long)amount);
		log_warn("request %s: refund failed: %s: %s", r->id, mint_err_name(me_kind), me.detail);
		if (mint_err_transient(me_kind))
			resp_error(r, 503, "mint_unreachable", "cashu_mint_unreachable",
			    "Mint service unavailable");
		else
			resp_error(r, 500, "internal_error", NULL, "Refund failed");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	snprintf(amt, sizeof(amt), "%lld", (long long)(amount / unit_msat));
	json_object_object_add(o, unit_msat == 1 ? "msats" : "sats", json_object_new_string(amt));
	req_log_extra(r, "refunded_msat=%lld", (long long)amount);
	resp_json(r, 200, o);
	free(token);
}

void
wallet_glue_fetch_change(struct req *r, const char *token)
{
	(void)token;
	resp_error(r, 404, "not_found", "refund_not_found", "Refund not found");
}

void
wallet_glue_history(struct req *r, const char *hash)
{
	struct json_object *o = json_object_new_object();

	(void)hash;
	json_object_object_add(o, "transactions", json_object_new_array());
	resp_json(r, 200, o);
}
