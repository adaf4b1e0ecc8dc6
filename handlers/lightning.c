/* lightning: Routstr's Lightning deposit routes (routstr-money.md 1.10),
 * over lib/lightning.c. The invoice id and the bolt11 are the capabilities
 * of status and recover; creating a top-up invoice needs the key. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "errors.h"
#include "handlers.h"
#include "json.h"
#include "lightning.h"
#include "server.h"
#include "util.h"
#include "wallet_glue.h"

/* {"status","api_key","amount_sats","paid_at","created_at","expires_at"}.
 * The key goes only to the status poll of an invoice that created it (the
 * invoice id is that capability): never for a top-up (its payer may be
 * anyone; the owner has the key) and never to /recover, whose bolt11 every
 * payer has seen. */
static void
answer_status(struct req *r, const struct ln_invoice *iv, bool give_key)
{
	struct json_object *o = json_object_new_object();
	bool paid = strcmp(iv->status, "paid") == 0;
	bool key_out = paid && give_key && iv->purpose == LN_CREATE;
	char key[LEDGER_KEY_MAX + 4];

	snprintf(key, sizeof(key), "sk-%s", iv->key_hash);
	json_object_object_add(o, "status", json_object_new_string(iv->status));
	json_object_object_add(o, "api_key", key_out ? json_object_new_string(key) : NULL);
	json_object_object_add(o, "amount_sats", json_object_new_int64(iv->amount_sats));
	json_object_object_add(o, "paid_at", paid ? json_object_new_int64(iv->paid_at) : NULL);
	json_object_object_add(o, "created_at", json_object_new_int64(iv->created_at));
	json_object_object_add(o, "expires_at", json_object_new_int64(iv->expires_at));
	resp_json(r, 200, o);
}

static void
detail(struct req *r, int status, const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "detail", json_object_new_string(msg));
	json_object_object_add(o, "request_id", json_object_new_string(r->id));
	resp_json(r, status, o);
}

void
h_ln_invoice(struct req *r)
{
	struct json_object *body = NULL, *o;
	struct ledger_limits lim;
	struct ledger_key k;
	struct funds_ctx fc;
	struct ln_invoice iv;
	const char *purpose, *cred, *bkey;
	int64_t amount;
	bool any = false, topup;
	enum ln_status s;

	memset(&iv, 0, sizeof(iv));
	body = json_parse_strict(r->body ? r->body : "", r->body_len, NULL);
	if (body == NULL || !json_object_is_type(body, json_type_object)) {
		api_error(r, E_JSON_NOT_OBJECT);
		goto out;
	}
	if (json_get_i64(body, "amount_sats", &amount) < 0 || amount < 1 || amount > LN_MAX_SATS) {
		detail(r, 422, "amount_sats must be an integer from 1 to 1000000");
		goto out;
	}
	purpose = json_get_str(body, "purpose");
	if (purpose == NULL && json_get(body, "purpose") != NULL &&
	    !json_object_is_type(json_get(body, "purpose"), json_type_null))
		purpose = "";	/* not a string: refused below */
	if (purpose == NULL)
		purpose = "create";
	if (strcmp(purpose, "create") != 0 && strcmp(purpose, "topup") != 0) {
		detail(r, 422, "purpose must be create or topup");
		goto out;
	}
	topup = strcmp(purpose, "topup") == 0;
	if (read_limits(r, body, &lim, &any) < 0)
		goto out;
	/* The header wins over the (deprecated) api_key field. */
	cred = auth_bearer(r);
	bkey = *cred ? cred : json_get_str(body, "api_key");
	if (topup) {
		if (bkey == NULL || *bkey == '\0') {
			detail(r, 401, "Authorization bearer api key is required for topup");
			goto out;
		}
		if (strncmp(bkey, "sk-", 3) != 0 || strlen(bkey + 3) > LEDGER_KEY_MAX) {
			detail(r, 400, "Invalid API key format");
			goto out;
		}
		if (ledger_key_get(r->worker->db, bkey + 3, &k, NULL) != RERR_OK) {
			detail(r, 404, "API key not found");
			goto out;
		}
		if (k.parent[0]) {
			detail(r, 400, "A child key spends its parent's balance: top up the parent");
			goto out;
		}
	}
	wallet_glue_ctx(r, &fc);
	s = ln_invoice_create(&fc, amount, topup ? LN_TOPUP : LN_CREATE, topup ? bkey + 3 : NULL,
	    any ? &lim : NULL, &iv);
	if (s == LN_BUSY) {
		resp_header(r, "Retry-After", "60");
		detail(r, 429, "Too many unpaid invoices; retry later");
		goto out;
	}
	if (s != LN_OK) {
		detail(r, s == LN_INVALID ? 422 : 500, "Failed to create Lightning invoice");
		goto out;
	}
	req_log_extra(r, "invoice=%s sats=%lld purpose=%s", iv.id, (long long)amount, purpose);
	o = json_object_new_object();
	json_object_object_add(o, "invoice_id", json_object_new_string(iv.id));
	json_object_object_add(o, "bolt11", json_object_new_string(iv.bolt11));
	json_object_object_add(o, "amount_sats", json_object_new_int64(amount));
	json_object_object_add(o, "expires_at", json_object_new_int64(iv.expires_at));
	json_object_object_add(o, "payment_hash", json_object_new_string(iv.quote));
	resp_json(r, 200, o);
out:
	ln_invoice_free(&iv);
	json_object_put(body);
}

/* GET .../invoice/{id}/status: settle first if it may have been paid. */
void
h_ln_status(struct req *r)
{
	const char *p = strstr(r->path, "/invoice/");
	char id[LN_ID_LEN + 1];
	struct funds_ctx fc;
	struct ln_invoice iv;
	size_t n;
	enum ln_status s;

	memset(&iv, 0, sizeof(iv));
	p = p ? p + strlen("/invoice/") : "";
	n = strcspn(p, "/");
	if (n != LN_ID_LEN || strcmp(p + n, "/status") != 0) {
		detail(r, 404, "Invoice not found");
		return;
	}
	memcpy(id, p, n);
	id[n] = '\0';
	wallet_glue_ctx(r, &fc);
	s = ln_invoice_settle(&fc, id, false, false, &iv);
	if (s == LN_NOT_FOUND)
		detail(r, 404, "Invoice not found");
	else if (s == LN_INTERNAL)
		detail(r, 500, "Could not settle the invoice");
	else
		answer_status(r, &iv, true);
	ln_invoice_free(&iv);
}

/* POST .../recover {"bolt11"}: settle it, the grace period ignored. */
void
h_ln_recover(struct req *r)
{
	struct json_object *body = json_parse_strict(r->body ? r->body : "", r->body_len, NULL);
	const char *b11 = json_get_str(body, "bolt11");
	struct funds_ctx fc;
	struct ln_invoice iv;
	enum ln_status s;

	memset(&iv, 0, sizeof(iv));
	if (b11 == NULL || *b11 == '\0' || strlen(b11) > 4096) {
		detail(r, 422, "bolt11 is required");
		json_object_put(body);
		return;
	}
	wallet_glue_ctx(r, &fc);
	s = ln_invoice_settle(&fc, b11, true, true, &iv);
	if (s == LN_NOT_FOUND)
		detail(r, 404, "Invoice not found");
	else if (s == LN_INTERNAL)
		detail(r, 500, "Could not settle the invoice");
	else
		answer_status(r, &iv, false);
	ln_invoice_free(&iv);
	json_object_put(body);
}
