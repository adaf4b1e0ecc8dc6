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
#include <unistd.h>

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
/* After the mint said "spent" or "pending" for a token whose key (hash) is
 * being made by a concurrent request with the same token: wait up to 5 s for
 * that key. True when it appeared. */
static bool
key_appears(struct req *r, const char *hash)
{
	struct ledger_key k, b;
	int i;

	for (i = 0; i < 100; i++) {
		if (ledger_key_get(r->worker->db, hash, &k, &b) == RERR_OK)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static int
redeem(struct req *r, const char *token, const char *hash, const char *source,
    struct wallet_receipt *rec, int64_t *msat, const char *echo, bool keyed)
{
	struct wallet_ctx w;
	struct wallet_meta meta = { r->id, hash, source };
	struct mint_error me;
	enum mint_err e;

	memset(&me, 0, sizeof(me));
	wallet_ctx_init(&w, r->worker->db, r->worker->up);
	e = wallet_receive_token(&w, token, &meta, rec, &me);
	if (keyed && (e == MINT_E_SPENT || e == MINT_E_PENDING) && key_appears(r, hash))
		return 2;
	if (e != MINT_OK && e != MINT_E_ALREADY_REDEEMED) {
		answer_mint_error(r, e, &me, echo);
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
	return wallet_glue_create_key_as(r, token, hash, lim, "apikey");
}

int
wallet_glue_create_key_as(struct req *r, const char *token, const char *hash,
    const struct ledger_limits *lim, const char *source)
{
	struct wallet_receipt rec;
	struct ledger_key_new nk;
	char ref[64];
	int64_t msat = 0;
	bool created = false;
	enum rerr e;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rc = redeem(r, token, hash, source, &rec, &msat,
	    strcmp(source, "x-cashu") == 0 ? token : NULL, true);
	if (rc == 2)
		return 0;	/* a concurrent request with the same token made the key */
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
		/* The proofs were credited before: to this very key (its hash is
		 * the token's, so a concurrent request with the same token made
		 * it), or elsewhere (a top-up), which leaves nothing to give. */
		struct ledger_key k, b;

		if (ledger_key_get(r->worker->db, hash, &k, &b) == RERR_OK)
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
	if (redeem(r, token, hash, "apikey", &rec, &msat, NULL, false) < 0)
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

/* True when the wallet has proofs at mint in unit held by a mint operation
 * that has not finished (the mint stopped answering mid-way; `routstrctl
 * cron` recovers it). */
static bool
pending_at(struct wallet_ctx *w, const char *mint, const char *unit)
{
	struct wallet_balance *wb = NULL;
	size_t n = 0, i;
	bool pending = false;

	if (wallet_balance(w, &wb, &n) != MINT_OK)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(wb[i].mint, mint) == 0 && strcmp(wb[i].unit, unit) == 0 && wb[i].pending > 0)
			pending = true;
	free(wb);
	return pending;
}

enum wd_result
wallet_glue_withdraw(struct req *r, const struct ledger_key *key, const char *source,
    char **token, int64_t *msat, char unit_out[16])
{
	const struct conf *c = conf_get();
	struct wallet_ctx w;
	struct wallet_receipt rec;
	struct wallet_meta meta;
	struct mint_error me;
	const char *mint, *unit;
	char ref[64];
	int64_t amount = 0, unit_msat;
	enum mint_err mk;
	enum rerr e;

	*token = NULL;
	*msat = 0;
	/* Reservations of processes that died are settled first; live ones
	 * block the withdrawal. */
	ledger_sweep(r->worker->db, key->hashed_key, NULL);
	unit = key->refund_currency[0] ? key->refund_currency : conf_str(c, CONF_PRIMARY_MINT_UNIT);
	unit_msat = strcmp(unit, "msat") == 0 ? 1 : 1000;
	snprintf(unit_out, 16, "%s", unit);
	mint = key->refund_mint_url[0] ? key->refund_mint_url : conf_str(c, CONF_PRIMARY_MINT_URL);
	snprintf(ref, sizeof(ref), "refund:%s", r->id);
	e = ledger_withdraw_all(r->worker->db, key->hashed_key, unit_msat, ref, &amount);
	if (e == RERR_CONFLICT)
		return WD_BUSY;
	if (e != RERR_OK)
		return WD_FAILED;
	if (amount == 0) {
		struct ledger_key k, b;

		if (ledger_key_get(r->worker->db, key->hashed_key, &k, &b) == RERR_OK &&
		    ledger_available(&b) > 0)
			return WD_TOO_SMALL;
		return WD_NOTHING;
	}
	wallet_ctx_init(&w, r->worker->db, r->worker->up);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = r->id;
	meta.api_key_hash = key->hashed_key;
	meta.source = source;
	memset(&me, 0, sizeof(me));
	mk = wallet_send(&w, mint, unit, (uint64_t)(amount / unit_msat), &meta, token, &rec, &me);
	if (mk != MINT_OK) {
		/* No token was made: the balance goes back to the key. */
		*token = NULL;
		if (ledger_credit(r->worker->db, key->hashed_key, amount, LEDGER_REFUND_REVERT, ref,
		    NULL) != RERR_OK)
			log_error("request %s: withdrawal of %lld msat failed and could not be reverted",
			    r->id, (long long)amount);
		log_warn("request %s: withdrawal failed: %s: %s", r->id, mint_err_name(mk), me.detail);
		if (mk == MINT_E_INSUFFICIENT && pending_at(&w, mint, unit))
			return WD_MINT_DOWN;	/* proofs held by an unfinished operation */
		return mint_err_transient(mk) ? WD_MINT_DOWN : WD_FAILED;
	}
	*msat = amount;
	req_log_extra(r, "withdrawn_msat=%lld", (long long)amount);
	return WD_OK;
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
answer_withdraw_error(struct req *r, enum wd_result wd)
{
	switch (wd) {
	case WD_BUSY:
		resp_error(r, 400, "invalid_request_error", "ongoing_requests",
		    "Cannot refund key. There are ongoing requests for this api key.");
		break;
	case WD_TOO_SMALL:
		resp_error(r, 400, "invalid_request_error", "balance_too_small",
		    "Balance too small to refund");
		break;
	case WD_NOTHING:
		resp_error(r, 400, "invalid_request_error", "no_balance", "No balance to refund");
		break;
	case WD_MINT_DOWN:
		resp_header(r, "Retry-After", "60");
		resp_error(r, 503, "mint_unreachable", "cashu_mint_unreachable",
		    "Mint service unavailable; the balance is kept, retry later");
		break;
	default:
		resp_error(r, 500, "internal_error", NULL, "Refund failed");
		break;
	}
}

void
wallet_glue_refund(struct req *r)
{
	struct auth a;
	char *token = NULL, unit[16];
	int64_t msat = 0;
	enum wd_result wd;

	if (auth_key(r, false, &a) < 0)
		return;
	if (a.key.parent[0]) {
		resp_error(r, 400, "invalid_request_error", "child_key",
		    "Cannot refund child key. Please refund the parent key instead.");
		return;
	}
	wd = wallet_glue_withdraw(r, &a.key, "apikey", &token, &msat, unit);
	if (wd == WD_OK)
		answer_token(r, token, msat, unit);
	else
		answer_withdraw_error(r, wd);
	free(token);
}

/* X-Cashu change: what the token's key still holds is withdrawn now (a
 * change that could not be made at the time, or a stream's), else the change
 * token made at the end of the request is returned again. */
void
wallet_glue_fetch_change(struct req *r, const char *token)
{
	struct ledger_key key, billing;
	struct wallet_ctx w;
	char hash[65], *out = NULL, unit[16];
	uint64_t amount = 0;
	int64_t msat = 0;
	enum wd_result wd;

	auth_token_hash(token, hash);
	if (ledger_key_get(r->worker->db, hash, &key, &billing) != RERR_OK) {
		resp_error(r, 404, "not_found", "refund_not_found", "Refund not found");
		return;
	}
	wd = wallet_glue_withdraw(r, &key, "x-cashu-change", &out, &msat, unit);
	if (wd == WD_OK) {
		resp_header(r, "X-Cashu", out);
		answer_token(r, out, msat, unit);
		free(out);
		return;
	}
	if (wd == WD_BUSY) {
		resp_header(r, "Retry-After", "2");
		resp_error(r, 425, "invalid_request_error", "refund_pending",
		    "Refund is pending; retry shortly.");
		return;
	}
	if (wd == WD_MINT_DOWN || wd == WD_FAILED) {
		answer_withdraw_error(r, wd);
		return;
	}
	wallet_ctx_init(&w, r->worker->db, r->worker->up);
	if (wallet_tx_last_out(&w, hash, "x-cashu-change", &out, &amount, unit) != MINT_OK) {
		int64_t withdrawn = 0;

		/* The balance left the key but no token is stored yet: the
		 * change is being made by the request right now. */
		if (ledger_withdrawals(r->worker->db, hash, &withdrawn) == RERR_OK && withdrawn > 0) {
			resp_header(r, "Retry-After", "1");
			resp_error(r, 425, "invalid_request_error", "refund_pending",
			    "Refund is pending; retry shortly.");
			return;
		}
		resp_error(r, 404, "not_found", "refund_not_found", "Refund not found");
		return;
	}
	resp_header(r, "X-Cashu", out);
	answer_token(r, out, strcmp(unit, "msat") == 0 ? (int64_t)amount : (int64_t)amount * 1000,
	    unit);
	free(out);
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
		resp_error(r, 500, "internal_error", NULL, "Could not read the history");
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
