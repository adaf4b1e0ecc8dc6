/* balance: the account endpoints under /v1/balance/ (and their deprecated
 * /v1/wallet/ aliases): info, create, top-up, refund, history, child keys.
 * Money moves only through lib/ledger and the Cashu wallet (wallet_glue). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "errors.h"
#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "ledger.h"
#include "log.h"
#include "pricing.h"
#include "server.h"
#include "util.h"
#include "wallet_glue.h"

static struct json_object *
opt_int(bool has, int64_t v)
{
	return has ? json_object_new_int64(v) : NULL;
}

/* The body as a JSON object, or an empty object when there is none. Returns
 * NULL after answering 400 for a body that is not a JSON object. */
static struct json_object *
body_object(struct req *r)
{
	struct json_object *o;
	const char *why = NULL;

	if (r->body_len == 0)
		return json_object_new_object();
	o = json_parse_strict(r->body, r->body_len, &why);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		api_error(r, E_JSON_NOT_OBJECT);
		return NULL;
	}
	return o;
}

/* Add a key's own usage and limits to o, in Routstr's order: total_requests,
 * total_spent, balance_limit, balance_limit_reset, validity_date (absent
 * limits are null). */
static void
add_usage(struct json_object *o, int64_t requests, int64_t spent,
    const struct ledger_limits *lim)
{
	const char *reset = ledger_reset_name(lim->reset);

	json_object_object_add(o, "total_requests", json_object_new_int64(requests));
	json_object_object_add(o, "total_spent", json_object_new_int64(spent));
	json_object_object_add(o, "balance_limit", opt_int(lim->has_limit, lim->balance_limit));
	json_object_object_add(o, "balance_limit_reset", reset ? json_object_new_string(reset) : NULL);
	json_object_object_add(o, "validity_date",
	    opt_int(lim->has_validity, lim->validity_date));
}

/* The child keys of parent as Routstr's "child_keys" array, oldest first, or
 * NULL in *out when it has none (Routstr then leaves the member out). A
 * child's stored key is the key itself, so its "api_key" is the one its
 * holder presents. Returns 0, or -1 after answering 500. */
static int
child_keys_json(struct req *r, const char *parent, struct json_object **out)
{
	struct ledger_child *rows;
	struct json_object *arr, *c;
	char key[LEDGER_KEY_MAX + 4];
	size_t n = 0, total = 0, i;

	*out = NULL;
	rows = xcalloc(LEDGER_CHILD_LIST_MAX, sizeof(*rows));
	if (ledger_children(r->worker->db, parent, rows, LEDGER_CHILD_LIST_MAX, &n,
	    &total) != RERR_OK) {
		free(rows);
		api_error(r, E_CHILD_KEYS_READ_FAILED);
		return -1;
	}
	if (total > n)
		log_warn("balance info: key %.8s... has %zu child keys, listing the first %zu",
		    parent, total, n);
	if (n > 0) {
		arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			c = json_object_new_object();
			snprintf(key, sizeof(key), "sk-%s", rows[i].hashed_key);
			json_object_object_add(c, "api_key", json_object_new_string(key));
			add_usage(c, rows[i].total_requests, rows[i].total_spent, &rows[i].lim);
			json_object_array_add(arr, c);
		}
		*out = arr;
	}
	free(rows);
	return 0;
}

/* GET /v1/balance/info: the presented key, with its billing key's money;
 * a child names its parent, a parent lists its children. */
void
h_balance_info(struct req *r)
{
	struct auth a;
	struct json_object *o, *children = NULL;
	char key[LEDGER_KEY_MAX + 4];

	if (auth_key(r, true, &a) < 0)
		return;
	/* Read before building the answer, so a failure answers only 500. */
	if (a.key.parent[0] == '\0' && child_keys_json(r, a.hash, &children) < 0)
		return;
	o = json_object_new_object();
	snprintf(key, sizeof(key), "sk-%s", a.hash);
	json_object_object_add(o, "api_key", json_object_new_string(key));
	json_object_object_add(o, "balance", json_object_new_int64(ledger_available(&a.billing)));
	json_object_object_add(o, "reserved", json_object_new_int64(a.billing.reserved));
	json_object_object_add(o, "is_child", json_object_new_boolean(a.key.parent[0] != '\0'));
	add_usage(o, a.key.total_requests, a.key.total_spent, &a.key.lim);
	if (a.key.parent[0]) {
		char preview[16];

		snprintf(preview, sizeof(preview), "%.8s...", a.key.parent);
		json_object_object_add(o, "parent_key_preview", json_object_new_string(preview));
	}
	if (children != NULL)
		json_object_object_add(o, "child_keys", children);
	resp_json(r, 200, o);
}

/* An optional integer from the JSON body or else the query string: 1 and *v
 * when present, 0 when absent, -1 when present but not a whole number. */
static int
opt_i64(struct req *r, struct json_object *body, const char *name, int64_t *v)
{
	char *q;
	int rc;

	if (json_get(body, name) && json_object_get_type(json_get(body, name)) != json_type_null)
		return json_get_i64(body, name, v) == 0 ? 1 : -1;
	q = req_query(r, name);
	if (q == NULL)
		return 0;
	rc = parse_i64(q, INT64_MIN, INT64_MAX, v) == 0 ? 1 : -1;
	free(q);
	return rc;
}

/* Read optional limits (balance_limit, balance_limit_reset, validity_date)
 * from the body or the query string. *any: one was given. Returns 0, or -1
 * after answering 400. */
int
read_limits(struct req *r, struct json_object *body, struct ledger_limits *lim, bool *any)
{
	int64_t v;
	int has;
	char *q = NULL;
	const char *s;

	memset(lim, 0, sizeof(*lim));
	*any = false;
	has = opt_i64(r, body, "balance_limit", &v);
	if (has < 0 || (has > 0 && v < 0)) {
		api_error(r, E_INVALID_LIMIT);
		return -1;
	}
	if (has > 0) {
		lim->has_limit = true;
		lim->balance_limit = v;
		*any = true;
	}
	s = json_get_str(body, "balance_limit_reset");
	if (s == NULL)
		s = q = req_query(r, "balance_limit_reset");
	if (s) {
		lim->reset = ledger_reset_parse(s);
		*any = *any || lim->reset != LEDGER_RESET_NONE;
	}
	free(q);
	has = opt_i64(r, body, "validity_date", &v);
	if (has < 0) {
		api_error(r, E_INVALID_VALIDITY_DATE);
		return -1;
	}
	if (has > 0 && v > 0) {
		lim->has_validity = true;
		lim->validity_date = v;
		*any = true;
	}
	return 0;
}

/* GET|POST /v1/balance/create: a key from initial_balance_token. */
void
h_balance_create(struct req *r)
{
	struct json_object *body = NULL, *o;
	struct ledger_limits lim;
	struct ledger_key key, billing;
	const char *token;
	char *qtoken = NULL, hash[65], out[LEDGER_KEY_MAX + 4];
	bool any;

	if ((body = body_object(r)) == NULL)
		return;
	token = json_get_str(body, "initial_balance_token");
	if (token == NULL)
		token = qtoken = req_query(r, "initial_balance_token");
	if (token == NULL || *token == '\0') {
		api_error(r, E_MISSING_TOKEN);
		goto out;
	}
	if (read_limits(r, body, &lim, &any) < 0)
		goto out;
	if (strncmp(token, "sk-", 3) == 0) {
		if (strlen(token + 3) > LEDGER_KEY_MAX ||
		    ledger_key_get(r->worker->db, token + 3, &key, &billing) != RERR_OK) {
			api_error(r, E_INVALID_API_KEY);
			goto out;
		}
		snprintf(hash, sizeof(hash), "%s", token + 3);
		/* Presenting a key is not its parent's authority: a child's
		 * limits change only through the parent's child-key calls. */
		if (any && key.parent[0]) {
			api_error(r, E_CHILD_LIMITS_PARENT_ONLY);
			goto out;
		}
	} else {
		auth_token_hash(token, hash);
		/* A new key gets its limits in the transaction that creates it. */
		if (ledger_key_get(r->worker->db, hash, &key, &billing) != RERR_OK &&
		    wallet_glue_create_key(r, token, hash, any ? &lim : NULL) < 0)
			goto out;
	}
	if (any && ledger_key_set_limits(r->worker->db, hash, &lim) != RERR_OK) {
		api_error(r, E_LIMITS_WRITE_FAILED);
		goto out;
	}
	if (ledger_key_get(r->worker->db, hash, &key, &billing) != RERR_OK) {
		api_error(r, E_NEW_KEY_READ_FAILED);
		goto out;
	}
	o = json_object_new_object();
	snprintf(out, sizeof(out), "sk-%s", hash);
	json_object_object_add(o, "api_key", json_object_new_string(out));
	json_object_object_add(o, "balance", json_object_new_int64(billing.balance));
	resp_json(r, 200, o);
out:
	free(qtoken);
	json_object_put(body);
}

/* POST /v1/balance/topup: credit a token to the billing key. */
void
h_balance_topup(struct req *r)
{
	struct json_object *body = NULL, *o;
	struct auth a;
	const char *token;
	char *qtoken = NULL, *clean = NULL, *w;
	int64_t credited = 0;
	size_t i;

	if ((body = body_object(r)) == NULL)
		return;
	if (auth_key(r, true, &a) < 0)
		goto out;
	token = json_get_str(body, "cashu_token");
	if (token == NULL)
		token = qtoken = req_query(r, "cashu_token");
	if (token == NULL) {
		api_error(r, E_MISSING_CASHU_TOKEN);
		goto out;
	}
	clean = w = xstrdup(token);
	for (i = 0; token[i]; i++)
		if (token[i] != '\n' && token[i] != '\r' && token[i] != '\t')
			*w++ = token[i];
	*w = '\0';
	if (strlen(clean) < 10 || strstr(clean, "cashu") == NULL) {
		api_error(r, E_INVALID_CASHU_TOKEN);
		goto out;
	}
	if (wallet_glue_topup(r, a.billing.hashed_key, clean, &credited) < 0)
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "msats", json_object_new_int64(credited));
	resp_json(r, 200, o);
out:
	free(qtoken);
	free(clean);
	json_object_put(body);
}

/* POST /v1/balance/refund: everything left, as a Cashu token; or, with an
 * X-Cashu header, the change of an earlier X-Cashu request. */
void
h_balance_refund(struct req *r)
{
	const char *x = req_header(r, "x-cashu");

	if (x && *x) {
		wallet_glue_fetch_change(r, x);
		return;
	}
	wallet_glue_refund(r);
}

/* GET /v1/balance/history: the key's deposits and refunds. */
void
h_balance_history(struct req *r)
{
	struct auth a;

	if (auth_key(r, false, &a) < 0)
		return;
	if (a.key.parent[0]) {
		api_error(r, E_CHILD_KEY_HISTORY);
		return;
	}
	wallet_glue_history(r, a.hash);
}

/* POST /v1/balance/child-key: count new keys billing this key. */
void
h_balance_child_key(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *body = NULL, *o, *keys;
	struct ledger_limits lim;
	struct auth a;
	char **hashes = NULL, key[LEDGER_KEY_MAX + 4];
	int64_t count = 1, cost, parent_balance = 0, available = 0;
	bool any;
	enum rerr e;
	int64_t i;

	if ((body = body_object(r)) == NULL)
		return;
	if (auth_key(r, true, &a) < 0)
		goto out;
	if (json_get(body, "count") && json_get_i64(body, "count", &count) < 0)
		count = 0;
	if (count < 1 || count > LEDGER_CHILD_MAX) {
		api_error(r, E_INVALID_COUNT, LEDGER_CHILD_MAX);
		goto out;
	}
	if (a.key.parent[0]) {
		api_error(r, E_CHILD_OF_CHILD);
		goto out;
	}
	if (read_limits(r, body, &lim, &any) < 0)
		goto out;
	cost = conf_int(c, CONF_CHILD_KEY_COST);
	hashes = xcalloc((size_t)count, sizeof(char *));
	for (i = 0; i < count; i++) {
		uint8_t raw[32];

		hashes[i] = xmalloc(65);
		rand_bytes(raw, sizeof(raw));
		hex_encode(raw, sizeof(raw), hashes[i]);
	}
	e = ledger_child_keys_create(r->worker->db, a.hash, (const char *const *)hashes,
	    (size_t)count, cost, &lim, &parent_balance, &available);
	if (e == RERR_CONFLICT) {
		api_error(r, E_CHILD_KEYS_UNAFFORDABLE, (long long)count, (long long)(cost * count));
		goto out;
	}
	if (e != RERR_OK) {
		api_error(r, E_CHILD_KEYS_FAILED);
		goto out;
	}
	o = json_object_new_object();
	keys = json_object_new_array();
	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "sk-%s", hashes[i]);
		json_object_array_add(keys, json_object_new_string(key));
	}
	json_object_object_add(o, "api_keys", keys);
	json_object_object_add(o, "count", json_object_new_int64(count));
	json_object_object_add(o, "cost_msats", json_object_new_int64(cost * count));
	json_object_object_add(o, "cost_sats",
	    json_object_new_int64(pricing_msat_to_sat_floor(cost * count)));
	json_object_object_add(o, "parent_balance", json_object_new_int64(parent_balance));
	json_object_object_add(o, "parent_balance_sats",
	    json_object_new_int64(pricing_msat_to_sat_floor(parent_balance)));
	resp_json(r, 200, o);
out:
	for (i = 0; hashes && i < count; i++)
		free(hashes[i]);
	free(hashes);
	json_object_put(body);
}

/* POST /v1/balance/child-key/reset: zero a child's spending counter. */
void
h_balance_child_reset(struct req *r)
{
	struct json_object *body = NULL, *o;
	struct auth a;
	const char *child;
	enum rerr e;

	if ((body = body_object(r)) == NULL)
		return;
	if (auth_key(r, false, &a) < 0)
		goto out;
	child = json_get_str(body, "child_key");
	if (child == NULL || *child == '\0') {
		api_error(r, E_MISSING_CHILD_KEY);
		goto out;
	}
	if (strncmp(child, "sk-", 3) == 0)
		child += 3;
	e = *child == '\0' || strlen(child) > LEDGER_KEY_MAX ? RERR_NOT_FOUND :
	    ledger_child_reset(r->worker->db, a.hash, child);
	if (e == RERR_INVALID)
		e = RERR_NOT_FOUND;
	if (e == RERR_NOT_FOUND) {
		api_error(r, E_CHILD_KEY_NOT_FOUND);
		goto out;
	}
	if (e == RERR_CONFLICT) {
		api_error(r, E_NOT_PARENT);
		goto out;
	}
	if (e != RERR_OK) {
		api_error(r, E_CHILD_RESET_FAILED);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "message",
	    json_object_new_string("Child key balance reset successfully."));
	resp_json(r, 200, o);
out:
	json_object_put(body);
}

/* Any other path under /v1/balance/ or /v1/wallet/. */
void
h_balance_not_found(struct req *r)
{
	api_error(r, E_BALANCE_PATH_NOT_FOUND);
}
