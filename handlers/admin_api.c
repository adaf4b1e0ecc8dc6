/* admin_api: the operator's JSON API under /admin/api/, in Routstr's routes
 * and shapes where they exist (reference: routstr-ops.md 2.4), for scripts
 * and Routstr's own dashboard. Authenticated by the gate (admin_gate.c): a
 * login session (cookie + CSRF token, or its id as a bearer token, which is
 * what POST /admin/api/login hands out, as Routstr does) or an admin token.
 * Errors are {"detail": ..., "request_id"} as Routstr's are. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_auth.h"
#include "admin_gate.h"
#include "cashu/wallet.h"
#include "catalog.h"
#include "conf.h"
#include "funds.h"
#include "handlers.h"
#include "json.h"
#include "ledger.h"
#include "lnout.h"
#include "providers.h"
#include "log.h"
#include "report.h"
#include "settings.h"
#include "server.h"
#include "util.h"

#define API_ROWS_MAX 500

static void
detail(struct req *r, int status, const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "detail", json_object_new_string(msg));
	json_object_object_add(o, "request_id", json_object_new_string(r->id));
	resp_json(r, status, o);
}

static struct json_object *
body_json(struct req *r)
{
	const char *why = NULL;
	struct json_object *o;

	if (r->body == NULL)
		return NULL;
	o = json_parse_strict(r->body, r->body_len, &why);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A whole-number query parameter in [min, max], else dflt. */
static int64_t
query_int(const struct req *r, const char *name, int64_t min, int64_t max, int64_t dflt)
{
	char *s = req_query(r, name);
	int64_t v = dflt;

	if (s && parse_i64(s, min, max, &v) < 0)
		v = dflt;
	free(s);
	return v;
}

/* ------------------------------------------------------------ login */

/* POST /admin/api/login {password}: {ok, token, expires_in}. The token is
 * a login session's id, used as a bearer token. AUTH_NONE route, with the
 * login rate limit. */
void
h_admin_api_login(struct req *r)
{
	struct json_object *b = body_json(r), *o;
	const char *pw = b ? json_get_str(b, "password") : NULL;
	const char *ip = r->remote_addr ? r->remote_addr : "";
	struct admin_session s;
	int64_t now = wall_sec(), retry = 0, gen = 0;
	char ra[24];
	enum rerr e;

	if (admin_login_allowed(r->worker->db, ip, now, &retry) <= 0) {
		snprintf(ra, sizeof(ra), "%lld", (long long)(retry > 0 ? retry : 60));
		resp_header(r, "Retry-After", ra);
		detail(r, 429, "Too many login attempts");
		goto out;
	}
	e = pw && strlen(pw) <= ADMIN_PASSWORD_MAX ? admin_password_check(r->worker->db, pw, &gen) :
	    RERR_INVALID;
	admin_login_record(r->worker->db, ip, now, e == RERR_OK);
	if (e == RERR_NOT_FOUND) {
		detail(r, 500, "Admin password not configured");
		goto out;
	}
	if (e != RERR_OK) {
		detail(r, 401, "Invalid password");
		goto out;
	}
	if (admin_session_create(r->worker->db, gen, now, &s) != RERR_OK) {
		detail(r, 500, "Internal server error");
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "token", json_object_new_string(s.id));
	json_object_object_add(o, "expires_in", json_object_new_int64(s.expires_at - now));
	json_object_object_add(o, "csrf_token", json_object_new_string(s.csrf));
	resp_json(r, 200, o);
out:
	json_object_put(b);
}

void
h_admin_api_logout(struct req *r)
{
	struct admin_session s;
	const char *auth = req_header(r, "authorization");
	struct json_object *o = json_object_new_object();

	if (admin_session_of(r, &s))
		admin_session_delete(r->worker->db, s.id);
	else if (auth && str_iprefix(auth, "Bearer "))
		admin_session_delete(r->worker->db, auth + 7);
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	resp_json(r, 200, o);
}

void
h_admin_api_password(struct req *r)
{
	struct json_object *b = body_json(r), *o;
	const char *cur = b ? json_get_str(b, "current_password") : NULL;
	const char *pw = b ? json_get_str(b, "new_password") : NULL;

	if (cur == NULL || pw == NULL) {
		detail(r, 400, "current_password and new_password are required");
	} else if (admin_password_check(r->worker->db, cur, NULL) != RERR_OK) {
		detail(r, 401, "Current password is incorrect");
	} else if (admin_password_set(r->worker->db, pw, wall_sec()) != RERR_OK) {
		detail(r, 400, "The new password must be 12 to 1024 characters");
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "message", json_object_new_string(
		    "Password updated successfully; every session has ended"));
		resp_json(r, 200, o);
	}
	json_object_put(b);
}

/* ------------------------------------------------------------ reads */

/* GET /admin/api/settings: every setting as flat JSON (lower-case keys),
 * secrets as "[REDACTED]" when set. */
void
h_admin_api_settings(struct req *r)
{
	const struct conf *c = conf_get();
	struct json_object *o = json_object_new_object();
	char name[64];
	size_t k, i;

	for (k = 0; k < CONF__MAX; k++) {
		const char *env = conf_defs[k].env, *val = conf_str(c, (enum conf_key)k);

		for (i = 0; env[i] && i + 1 < sizeof(name); i++)
			name[i] = (char)(env[i] >= 'A' && env[i] <= 'Z' ? env[i] + 32 : env[i]);
		name[i] = '\0';
		if (strstr(env, "KEY") || strstr(env, "SECRET") || strstr(env, "NSEC"))
			json_object_object_add(o, name, json_object_new_string(*val ? "[REDACTED]" : ""));
		else
			json_object_object_add(o, name, json_object_new_string(val));
	}
	resp_json(r, 200, o);
}

/* PATCH /admin/api/settings {name: value, ...}: each run-time setting
 * saved as the dashboard saves it (lower-case names as GET gives them);
 * null resets one. All are checked before any is saved: 400 with the list
 * of errors, as Routstr answers a validation failure. Then the settings. */
void
h_admin_api_settings_patch(struct req *r)
{
	struct json_object *b = body_json(r), *errs = json_object_new_array(), *o;
	struct conf *scratch = NULL;
	char env[64], why[256];
	size_t i;
	int pass;

	if (b == NULL) {
		json_object_put(errs);
		detail(r, 400, "A JSON object is required");
		return;
	}
	scratch = conf_reload(conf_get(), why, sizeof(why));
	for (pass = 0; pass < 2; pass++) {
		json_object_object_foreach(b, k, val) {
			const char *text = json_object_is_type(val, json_type_null) ? NULL :
			    json_object_get_string(val);
			int key;

			for (i = 0; k[i] && i + 1 < sizeof(env); i++)
				env[i] = (char)(k[i] >= 'a' && k[i] <= 'z' ? k[i] - 32 : k[i]);
			env[i] = '\0';
			key = conf_key_of(env);
			if (pass == 0) {
				/* Every value checked on a scratch copy first, so a
				 * bad one saves none. */
				if (key < 0 || !conf_editable((enum conf_key)key)) {
					snprintf(why, sizeof(why), "%s cannot be changed at run time", k);
					json_object_array_add(errs, json_object_new_string(why));
				} else if (text && scratch && conf_set_dashboard(scratch, (enum conf_key)key,
				    text, why, sizeof(why)) < 0) {
					json_object_array_add(errs, json_object_new_string(why));
				}
				continue;
			}
			if (settings_save(r->worker->db, env, text, why, sizeof(why)) != RERR_OK)
				json_object_array_add(errs, json_object_new_string(why));
		}
		if (json_object_array_length(errs) > 0) {
			o = json_object_new_object();
			json_object_object_add(o, "detail", errs);
			json_object_object_add(o, "request_id", json_object_new_string(r->id));
			resp_json(r, 400, o);
			json_object_put(b);
			conf_free(scratch);
			return;
		}
	}
	conf_free(scratch);
	json_object_put(errs);
	json_object_put(b);
	log_info("request %s: admin api: settings saved", r->id);
	h_admin_api_settings(r);
}

/* GET /admin/api/balances: per trusted mint and unit, in that unit. */
void
h_admin_api_balances(struct req *r)
{
	struct ledger_earnings *rows = xcalloc(LEDGER_EARNINGS_MAX, sizeof(*rows));
	struct json_object *a = json_object_new_array();
	size_t n = 0, i;

	if (ledger_earnings(r->worker->db, conf_str(conf_get(), CONF_PRIMARY_MINT_URL), rows,
	    LEDGER_EARNINGS_MAX, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();
			int64_t per = strcmp(rows[i].unit, "msat") == 0 ? 1 : 1000;

			json_object_object_add(o, "mint_url", json_object_new_string(rows[i].mint));
			json_object_object_add(o, "unit", json_object_new_string(rows[i].unit));
			json_object_object_add(o, "wallet_balance",
			    json_object_new_int64(rows[i].held / per));
			/* Liabilities round up, earnings down (docs/money.md). */
			json_object_object_add(o, "user_balance",
			    json_object_new_int64((rows[i].users + rows[i].pending + per - 1) / per));
			json_object_object_add(o, "owner_balance", json_object_new_int64(
			    rows[i].earned >= 0 ? rows[i].earned / per : -((-rows[i].earned + per - 1) / per)));
			json_object_array_add(a, o);
		}
	free(rows);
	resp_json(r, 200, a);
}

/* GET /admin/api/temporary-balances?search&limit&offset */
void
h_admin_api_keys(struct req *r)
{
	size_t limit = (size_t)query_int(r, "limit", 1, API_ROWS_MAX, 50);
	size_t offset = (size_t)query_int(r, "offset", 0, INT32_MAX, 0);
	struct report_key *rows = xcalloc(limit, sizeof(*rows));
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(), *t;
	char *q = req_query(r, "search");
	int64_t total = 0, held = 0, spent = 0, reqs = 0;
	size_t n = 0, i;

	if (q && strlen(q) > 128)
		q[128] = '\0';
	report_keys(r->worker->db, q, offset, rows, limit, &n, &total, &held);
	for (i = 0; i < n; i++) {
		struct json_object *k = json_object_new_object();

		json_object_object_add(k, "hashed_key", json_object_new_string(rows[i].hash));
		json_object_object_add(k, "balance", json_object_new_int64(rows[i].balance));
		json_object_object_add(k, "total_spent", json_object_new_int64(rows[i].total_spent));
		json_object_object_add(k, "total_requests",
		    json_object_new_int64(rows[i].total_requests));
		json_object_object_add(k, "refund_address", rows[i].refund_address[0] ?
		    json_object_new_string(rows[i].refund_address) : NULL);
		json_object_object_add(k, "parent_key_hash", rows[i].parent[0] ?
		    json_object_new_string(rows[i].parent) : NULL);
		json_object_object_add(k, "created_at", json_object_new_int64(rows[i].created_at));
		json_object_array_add(a, k);
		spent += rows[i].total_spent;
		reqs += rows[i].total_requests;
	}
	json_object_object_add(o, "balances", a);
	json_object_object_add(o, "total", json_object_new_int64(total));
	t = json_object_new_object();
	json_object_object_add(t, "total_balance", json_object_new_int64(held));
	json_object_object_add(t, "total_spent", json_object_new_int64(spent));
	json_object_object_add(t, "total_requests", json_object_new_int64(reqs));
	json_object_object_add(o, "totals", t);
	resp_json(r, 200, o);
	free(rows);
	free(q);
}

/* GET /admin/api/transactions?source&limit */
void
h_admin_api_transactions(struct req *r)
{
	size_t limit = (size_t)query_int(r, "limit", 1, API_ROWS_MAX, 50), n = 0, i;
	struct report_tx *tx = xcalloc(limit, sizeof(*tx));
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	char *source = req_query(r, "source");

	if (source && strlen(source) > 31)
		source[31] = '\0';
	report_transactions(r->worker->db, source, tx, limit, &n);
	for (i = 0; i < n; i++) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "id", json_object_new_int64(tx[i].id));
		json_object_object_add(t, "type", json_object_new_string(tx[i].direction));
		json_object_object_add(t, "source", json_object_new_string(tx[i].source));
		json_object_object_add(t, "amount", json_object_new_int64(tx[i].amount));
		json_object_object_add(t, "unit", json_object_new_string(tx[i].unit));
		json_object_object_add(t, "mint_url", json_object_new_string(tx[i].mint));
		json_object_object_add(t, "api_key_hashed_key", tx[i].key[0] ?
		    json_object_new_string(tx[i].key) : NULL);
		json_object_object_add(t, "status", json_object_new_string(tx[i].status));
		json_object_object_add(t, "created_at", json_object_new_int64(tx[i].created_at));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "transactions", a);
	json_object_object_add(o, "total", json_object_new_int64((int64_t)n));
	resp_json(r, 200, o);
	free(tx);
	free(source);
}

/* GET /admin/api/logs?request_id&limit: the requests the ledger recorded. */
void
h_admin_api_logs(struct req *r)
{
	size_t limit = (size_t)query_int(r, "limit", 1, API_ROWS_MAX, 100), n = 0, i;
	struct report_request *rq = xcalloc(limit, sizeof(*rq));
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	char *id = req_query(r, "request_id");

	if (id && strlen(id) > 39)
		id[39] = '\0';
	report_requests(r->worker->db, id, rq, limit, &n);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "request_id", json_object_new_string(rq[i].request_id));
		json_object_object_add(e, "model", json_object_new_string(rq[i].model));
		json_object_object_add(e, "reserved_msats", json_object_new_int64(rq[i].reserved));
		json_object_object_add(e, "charged_msats", rq[i].charged >= 0 ?
		    json_object_new_int64(rq[i].charged) : NULL);
		json_object_object_add(e, "status", json_object_new_string(rq[i].state));
		json_object_object_add(e, "status_code", json_object_new_int(rq[i].status));
		json_object_object_add(e, "timestamp", json_object_new_int64(rq[i].created_at));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "entries", a);
	json_object_object_add(o, "total", json_object_new_int64((int64_t)n));
	resp_json(r, 200, o);
	free(rq);
	free(id);
}

/* The sums of one or more buckets as Routstr's usage fields (from the
 * ledger's requests, not from logs). */
static void
usage_fields(struct json_object *o, const struct report_bucket *b)
{
	json_object_object_add(o, "total_requests", json_object_new_int64(b->requests));
	json_object_object_add(o, "requests", json_object_new_int64(b->requests));
	json_object_object_add(o, "successful_chat_completions", json_object_new_int64(b->successful));
	json_object_object_add(o, "failed_requests", json_object_new_int64(b->failed));
	json_object_object_add(o, "revenue_msats", json_object_new_int64(b->revenue_msat));
	json_object_object_add(o, "input_tokens", json_object_new_int64(b->tokens_in));
	json_object_object_add(o, "output_tokens", json_object_new_int64(b->tokens_out));
	json_object_object_add(o, "total_tokens", json_object_new_int64(b->tokens_in + b->tokens_out));
}

/* GET /admin/api/usage/summary?hours=24 */
void
h_admin_api_usage(struct req *r)
{
	int64_t hours = query_int(r, "hours", 1, 24 * 366, 24);
	struct report_bucket b;
	struct json_object *o = json_object_new_object();

	memset(&b, 0, sizeof(b));
	report_usage(r->worker->db, wall_sec(), hours * 3600, &b, 1);
	json_object_object_add(o, "hours", json_object_new_int64(hours));
	usage_fields(o, &b);
	json_object_object_add(o, "revenue_sats", json_object_new_int64(b.revenue_msat / 1000));
	json_object_object_add(o, "success_rate", json_object_new_double(b.requests ?
	    100.0 * (double)b.successful / (double)b.requests : 0.0));
	json_object_object_add(o, "avg_revenue_per_request_msats", json_object_new_int64(b.requests ?
	    b.revenue_msat / b.requests : 0));
	resp_json(r, 200, o);
}

/* GET /admin/api/usage/metrics?hours=24&interval=15 (minutes) */
void
h_admin_api_metrics(struct req *r)
{
	int64_t hours = query_int(r, "hours", 1, 8760, 24), interval = query_int(r, "interval", 1, 1440, 15);
	size_t nb = (size_t)((hours * 60 + interval - 1) / interval), i;
	struct report_bucket *b, tot;
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(), *t;
	char ts[32];

	if (nb > 10000) {
		json_object_put(o);
		json_object_put(a);
		detail(r, 400, "At most 10000 buckets: a wider interval, or fewer hours");
		return;
	}
	b = xcalloc(nb, sizeof(*b));
	memset(&tot, 0, sizeof(tot));
	report_usage(r->worker->db, wall_sec(), interval * 60, b, nb);
	for (i = 0; i < nb; i++) {
		struct json_object *m = json_object_new_object();
		time_t start = (time_t)b[i].start;
		struct tm tm;

		gmtime_r(&start, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:00", &tm);
		json_object_object_add(m, "timestamp", json_object_new_string(ts));
		usage_fields(m, &b[i]);
		json_object_array_add(a, m);
		tot.requests += b[i].requests;
		tot.successful += b[i].successful;
		tot.failed += b[i].failed;
		tot.revenue_msat += b[i].revenue_msat;
		tot.tokens_in += b[i].tokens_in;
		tot.tokens_out += b[i].tokens_out;
	}
	json_object_object_add(o, "metrics", a);
	json_object_object_add(o, "interval_minutes", json_object_new_int64(interval));
	json_object_object_add(o, "hours_back", json_object_new_int64(hours));
	json_object_object_add(o, "total_buckets", json_object_new_int64((int64_t)nb));
	t = json_object_new_object();
	usage_fields(t, &tot);
	json_object_object_add(o, "totals", t);
	resp_json(r, 200, o);
	free(b);
}

/* GET /admin/api/usage/revenue-by-model?hours=24&limit=20 */
void
h_admin_api_by_model(struct req *r)
{
	int64_t hours = query_int(r, "hours", 1, 8760, 24);
	size_t limit = (size_t)query_int(r, "limit", 1, 100, 20), n = 0, i;
	struct report_model *rows = xcalloc(limit, sizeof(*rows));
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	int64_t total = 0;

	report_by_model(r->worker->db, wall_sec() - hours * 3600, rows, limit, &n);
	for (i = 0; i < n; i++) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "model", json_object_new_string(rows[i].model));
		json_object_object_add(m, "revenue_sats", json_object_new_int64(rows[i].revenue_msat / 1000));
		json_object_object_add(m, "revenue_msats", json_object_new_int64(rows[i].revenue_msat));
		json_object_object_add(m, "requests", json_object_new_int64(rows[i].requests));
		json_object_object_add(m, "successful", json_object_new_int64(rows[i].successful));
		json_object_object_add(m, "failed", json_object_new_int64(rows[i].failed));
		json_object_object_add(m, "avg_revenue_per_request", json_object_new_int64(
		    rows[i].requests ? rows[i].revenue_msat / rows[i].requests : 0));
		json_object_array_add(a, m);
		total += rows[i].revenue_msat;
	}
	json_object_object_add(o, "models", a);
	json_object_object_add(o, "total_revenue_sats", json_object_new_int64(total / 1000));
	json_object_object_add(o, "total_models", json_object_new_int64((int64_t)n));
	resp_json(r, 200, o);
	free(rows);
}

/* ------------------------------------------------------------ writes */

/* PATCH /admin/api/apikeys/{hashed_key} {balance_limit?, balance_limit_reset?,
 * validity_date?}: null or absent keeps a value. */
void
h_admin_api_key_patch(struct req *r)
{
	const char *hash = r->path + strlen("/admin/api/apikeys/");
	struct json_object *b = body_json(r), *o;
	struct ledger_key k;
	struct ledger_limits lim;
	const char *reset;
	int64_t v;

	if (b == NULL) {
		detail(r, 400, "A JSON object is required");
		return;
	}
	if (strlen(hash) > LEDGER_KEY_MAX || ledger_key_get(r->worker->db, hash, &k, NULL) != RERR_OK) {
		detail(r, 404, "API key not found");
		goto out;
	}
	lim = k.lim;
	if (json_get(b, "balance_limit")) {
		if (json_get_i64(b, "balance_limit", &v) < 0 || v < 0) {
			detail(r, 400, "balance_limit must be a non-negative integer (msat)");
			goto out;
		}
		lim.has_limit = true;
		lim.balance_limit = v;
	}
	if ((reset = json_get_str(b, "balance_limit_reset")) != NULL) {
		lim.reset = ledger_reset_parse(reset);
		if (*reset && lim.reset == LEDGER_RESET_NONE) {
			detail(r, 400, "balance_limit_reset must be daily, weekly or monthly");
			goto out;
		}
	}
	if (json_get(b, "validity_date")) {
		if (json_get_i64(b, "validity_date", &v) < 0 || v < 0) {
			detail(r, 400, "validity_date must be a Unix time");
			goto out;
		}
		lim.has_validity = true;
		lim.validity_date = v;
	}
	if (ledger_key_set_limits(r->worker->db, hash, &lim) != RERR_OK) {
		detail(r, 500, "Internal server error");
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "hashed_key", json_object_new_string(hash));
	json_object_object_add(o, "balance_limit", lim.has_limit ?
	    json_object_new_int64(lim.balance_limit) : NULL);
	json_object_object_add(o, "balance_limit_reset", lim.reset != LEDGER_RESET_NONE ?
	    json_object_new_string(ledger_reset_name(lim.reset)) : NULL);
	json_object_object_add(o, "validity_date", lim.has_validity ?
	    json_object_new_int64(lim.validity_date) : NULL);
	resp_json(r, 200, o);
out:
	json_object_put(b);
}

/* POST /admin/withdraw {amount, mint_url?, unit?}: {token, mint_url}, from
 * the earnings only (Routstr lets its admin take users' funds; we do not). */
void
h_admin_api_withdraw(struct req *r)
{
	struct json_object *b = body_json(r), *o;
	const char *mint = b ? json_get_str(b, "mint_url") : NULL, *unit = NULL;
	struct funds_ctx fc = { r->worker->db, r->worker->up, r->id };
	struct lnout_result res;
	enum funds_status fs;
	char *token = NULL;
	int64_t amount = 0, per;
	const char *ct = req_header(r, "content-type");

	/* The dashboard's form posts here too. */
	if (ct && str_iprefix(ct, "application/x-www-form-urlencoded")) {
		json_object_put(b);
		h_admin_withdraw(r);
		return;
	}
	if (b)
		unit = json_get_str(b, "unit");
	unit = unit ? unit : "sat";
	per = strcmp(unit, "msat") == 0 ? 1 : 1000;
	if (b == NULL || json_get_i64(b, "amount", &amount) < 0 || amount <= 0 ||
	    amount > INT64_MAX / 1000 || (strcmp(unit, "sat") != 0 && strcmp(unit, "msat") != 0)) {
		detail(r, 400, "Withdrawal amount must be positive");
		goto out;
	}
	fs = lnout_payout_token(&fc, mint, unit, amount * per, &token, &res);
	if (fs != FUNDS_OK) {
		detail(r, fs == FUNDS_NOTHING ? 400 : fs == FUNDS_PENDING ? 409 : 502,
		    fs == FUNDS_NOTHING ? "Insufficient earnings (users' balances are not withdrawable)" :
		    fs == FUNDS_PENDING ? "Another payout is running" : "The mint did not make the token");
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "mint_url", json_object_new_string(mint && *mint ? mint :
	    conf_str(conf_get(), CONF_PRIMARY_MINT_URL)));
	resp_json(r, 200, o);
out:
	free(token);
	json_object_put(b);
}

/* ------------------------------------------------------------ providers */

#define ADMIN_PROVIDERS_MAX 64

static struct json_object *
provider_json(const struct report_provider *p)
{
	struct json_object *o = json_object_new_object();
	char fee[32];

	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "slug", json_object_new_string(p->slug));
	json_object_object_add(o, "provider_type", json_object_new_string(p->type));
	json_object_object_add(o, "base_url", json_object_new_string(p->base_url));
	json_object_object_add(o, "api_key", json_object_new_string(p->has_key ? "[REDACTED]" : ""));
	json_object_object_add(o, "api_version", NULL);
	json_object_object_add(o, "enabled", json_object_new_boolean(p->enabled));
	if (p->fee_ppm < 0) {
		json_object_object_add(o, "provider_fee", NULL);
	} else {
		/* The fee as Routstr writes it (1.01), from the exact ppm. */
		snprintf(fee, sizeof(fee), "%lld.%06lld", (long long)(p->fee_ppm / 1000000),
		    (long long)(p->fee_ppm % 1000000));
		json_object_object_add(o, "provider_fee", json_object_new_double_s(
		    (double)p->fee_ppm / 1e6, fee));
	}
	json_object_object_add(o, "priority", json_object_new_int64(p->priority));
	json_object_object_add(o, "provider_settings", NULL);
	return o;
}

/* The provider {pid} names: all digits an id, else a slug. 1 found. */
static int
provider_find(struct req *r, const char *pid, struct report_provider *out)
{
	struct report_provider *rows = xcalloc(ADMIN_PROVIDERS_MAX, sizeof(*rows));
	size_t n = 0, i;
	int64_t id = -1;
	int found = 0;

	if (*pid && strspn(pid, "0123456789") == strlen(pid))
		parse_i64(pid, 0, INT64_MAX, &id);
	if (report_providers(r->worker->db, rows, ADMIN_PROVIDERS_MAX, &n) == RERR_OK)
		for (i = 0; i < n && !found; i++)
			if (rows[i].id == id || strcmp(rows[i].slug, pid) == 0) {
				*out = rows[i];
				found = 1;
			}
	free(rows);
	return found;
}

/* provider_fee as JSON (1.01) in ppm; -1 when absent; -2 when invalid. */
static int64_t
fee_of(struct json_object *b)
{
	struct json_object *f = json_get(b, "provider_fee");
	double d;

	if (f == NULL || json_object_is_type(f, json_type_null))
		return -1;
	if (!json_object_is_type(f, json_type_double) && !json_object_is_type(f, json_type_int))
		return -2;
	d = json_object_get_double(f);
	if (!(d >= 1.0 && d <= 1000.0))
		return -2;
	return (int64_t)(d * 1e6 + 0.5);
}

/* GET and POST /admin/api/upstream-providers */
void
h_admin_api_providers(struct req *r)
{
	struct report_provider *rows, p;
	struct json_object *a, *b;
	const char *slug, *type, *url, *key;
	int64_t fee, prio = 100;
	size_t n = 0, i;
	enum rerr e;

	if (r->method == HTTP_GET) {
		rows = xcalloc(ADMIN_PROVIDERS_MAX, sizeof(*rows));
		a = json_object_new_array();
		if (report_providers(r->worker->db, rows, ADMIN_PROVIDERS_MAX, &n) == RERR_OK)
			for (i = 0; i < n; i++)
				json_object_array_add(a, provider_json(&rows[i]));
		free(rows);
		resp_json(r, 200, a);
		return;
	}
	b = body_json(r);
	slug = b ? json_get_str(b, "slug") : NULL;
	type = b ? json_get_str(b, "provider_type") : NULL;
	url = b ? json_get_str(b, "base_url") : NULL;
	key = b ? json_get_str(b, "api_key") : NULL;
	fee = b ? fee_of(b) : -2;
	if (b && json_get(b, "priority") && json_get_i64(b, "priority", &prio) < 0)
		fee = -2;
	if (b == NULL || !providers_slug_ok(slug) || !providers_type_ok(type) || url == NULL ||
	    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) || fee == -2 ||
	    strlen(url) > 1024 || (key && strlen(key) > 4096)) {
		detail(r, 400, "slug (a-z 0-9 -), provider_type (openai, openrouter, anthropic, "
		    "generic), an http(s) base_url and a provider_fee of at least 1.0 are required");
		goto out;
	}
	e = providers_add(r->worker->db, slug, type, url, key && *key ? key : NULL, fee, prio);
	if (e == RERR_CONFLICT) {
		detail(r, 409, "A provider with this slug exists");
		goto out;
	}
	if (e != RERR_OK || !provider_find(r, slug, &p)) {
		detail(r, 500, "Internal server error");
		goto out;
	}
	log_info("request %s: admin api: provider %s added", r->id, slug);
	resp_json(r, 201, provider_json(&p));
out:
	json_object_put(b);
}

/* GET /admin/api/upstream-providers/{pid}/models: the catalogue's models
 * this provider serves, in Routstr's shape (db_models; no live fetch of
 * the upstream's list, so remote_models is empty). */
static void
provider_models(struct req *r, const struct report_provider *p)
{
	struct catalog *cat = catalog_current(r->worker->db);
	struct providers *ps = providers_current(r->worker->db);
	struct json_object *o = json_object_new_object(), *pv = json_object_new_object();
	struct json_object *a = json_object_new_array();
	struct provider_route routes[16];
	size_t i, k, n = cat ? catalog_count(cat) : 0, nr;
	char price[48];

	for (i = 0; ps && i < n; i++) {
		const struct catalog_model *m = catalog_at(cat, i);
		struct json_object *mj, *pr;

		nr = providers_for(ps, m->id, m->id, false, routes, 16);
		for (k = 0; k < nr && routes[k].p->id != p->id; k++)
			;
		if (k == nr)
			continue;
		mj = json_object_new_object();
		json_object_object_add(mj, "id", json_object_new_string(m->id));
		json_object_object_add(mj, "name", json_object_new_string(m->name));
		json_object_object_add(mj, "forwarded_model_id", json_object_new_string(
		    routes[k].upstream_id ? routes[k].upstream_id : m->upstream_id));
		pr = json_object_new_object();
		snprintf(price, sizeof(price), "%lld.%015lld",
		    (long long)(m->price.fusd[PRICING_PROMPT] / PRICING_FUSD_PER_USD),
		    (long long)(m->price.fusd[PRICING_PROMPT] % PRICING_FUSD_PER_USD));
		json_object_object_add(pr, "prompt", json_object_new_string(price));
		snprintf(price, sizeof(price), "%lld.%015lld",
		    (long long)(m->price.fusd[PRICING_COMPLETION] / PRICING_FUSD_PER_USD),
		    (long long)(m->price.fusd[PRICING_COMPLETION] % PRICING_FUSD_PER_USD));
		json_object_object_add(pr, "completion", json_object_new_string(price));
		json_object_object_add(mj, "pricing", pr);
		json_object_object_add(mj, "enabled", json_object_new_boolean(1));
		json_object_array_add(a, mj);
	}
	json_object_object_add(pv, "id", json_object_new_int64(p->id));
	json_object_object_add(pv, "provider_type", json_object_new_string(p->type));
	json_object_object_add(pv, "base_url", json_object_new_string(p->base_url));
	json_object_object_add(o, "provider", pv);
	json_object_object_add(o, "db_models", a);
	json_object_object_add(o, "remote_models", json_object_new_array());
	resp_json(r, 200, o);
	providers_release(ps);
	catalog_release(cat);
}

/* GET, PATCH and DELETE /admin/api/upstream-providers/{pid} */
void
h_admin_api_provider(struct req *r)
{
	const char *pid = r->path + strlen("/admin/api/upstream-providers/");
	const char *slash = strchr(pid, '/');
	struct report_provider p;
	struct json_object *b = NULL, *o, *en;
	const char *type, *url, *key;
	int64_t fee, prio;
	char id[65];

	snprintf(id, sizeof(id), "%.*s", slash ? (int)(slash - pid) : (int)strlen(pid), pid);
	if (strlen(pid) > 80 || !provider_find(r, id, &p)) {
		detail(r, 404, "Provider not found");
		return;
	}
	if (slash) {
		if (strcmp(slash, "/models") == 0 && r->method == HTTP_GET)
			provider_models(r, &p);
		else
			detail(r, 404, "Not found");
		return;
	}
	if (r->method == HTTP_GET) {
		resp_json(r, 200, provider_json(&p));
		return;
	}
	if (r->method == HTTP_DELETE) {
		if (providers_remove(r->worker->db, p.slug) != RERR_OK) {
			detail(r, 500, "Internal server error");
			return;
		}
		log_info("request %s: admin api: provider %s removed", r->id, p.slug);
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "deleted_id", json_object_new_int64(p.id));
		resp_json(r, 200, o);
		return;
	}
	b = body_json(r);
	if (b == NULL) {
		detail(r, 400, "A JSON object is required");
		return;
	}
	type = json_get_str(b, "provider_type");
	url = json_get_str(b, "base_url");
	key = json_get_str(b, "api_key");
	fee = fee_of(b);
	prio = p.priority;
	if ((type && !providers_type_ok(type)) || (url && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0) || fee == -2 ||
	    (json_get(b, "priority") && json_get_i64(b, "priority", &prio) < 0) ||
	    (url && strlen(url) > 1024) || (key && strlen(key) > 4096)) {
		detail(r, 400, "Invalid provider fields");
		goto out;
	}
	/* Routstr's clients send the redacted key back: that keeps it. */
	if (key && (*key == '\0' || strcmp(key, "[REDACTED]") == 0))
		key = NULL;
	if (providers_update(r->worker->db, p.slug, type ? type : p.type, url ? url : p.base_url, key,
	    json_get(b, "provider_fee") ? fee : p.fee_ppm, prio) != RERR_OK) {
		detail(r, 500, "Internal server error");
		goto out;
	}
	en = json_get(b, "enabled");
	if (en && json_object_is_type(en, json_type_boolean))
		providers_set_enabled(r->worker->db, p.slug, json_object_get_boolean(en));
	provider_find(r, p.slug, &p);
	log_info("request %s: admin api: provider %s changed", r->id, p.slug);
	resp_json(r, 200, provider_json(&p));
out:
	json_object_put(b);
}

/* ------------------------------------------------------------ invoices, tokens */

/* GET /admin/api/lightning-invoices?limit */
void
h_admin_api_invoices(struct req *r)
{
	size_t limit = (size_t)query_int(r, "limit", 1, API_ROWS_MAX, 50), n = 0, i;
	struct report_invoice *iv = xcalloc(limit, sizeof(*iv));
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	report_invoices(r->worker->db, iv, limit, &n);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "id", json_object_new_string(iv[i].id));
		json_object_object_add(e, "purpose", json_object_new_string(iv[i].purpose));
		json_object_object_add(e, "amount_sats", json_object_new_int64(iv[i].sats));
		json_object_object_add(e, "status", json_object_new_string(iv[i].status));
		json_object_object_add(e, "api_key_hash", json_object_new_string(iv[i].key));
		json_object_object_add(e, "created_at", json_object_new_int64(iv[i].created_at));
		json_object_object_add(e, "paid_at", iv[i].paid_at ?
		    json_object_new_int64(iv[i].paid_at) : NULL);
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "invoices", a);
	json_object_object_add(o, "total", json_object_new_int64((int64_t)n));
	resp_json(r, 200, o);
	free(iv);
}

/* GET and POST /admin/api/cli-tokens: the admin tokens (Routstr's CLI
 * tokens); the token itself only once, when made. Only its hash is kept, so
 * there is no preview of it. */
void
h_admin_api_tokens(struct req *r)
{
	struct admin_token *t = NULL;
	struct json_object *a, *b, *o;
	char tok[ADMIN_TOKEN_LEN + 1];
	const char *name;
	int64_t id = 0;
	size_t n = 0, i;

	if (r->method == HTTP_GET) {
		a = json_object_new_array();
		if (admin_token_list(r->worker->db, &t, &n) == RERR_OK)
			for (i = 0; i < n; i++) {
				o = json_object_new_object();
				json_object_object_add(o, "id", json_object_new_int64(t[i].id));
				json_object_object_add(o, "name", json_object_new_string(t[i].name));
				json_object_object_add(o, "created_at", json_object_new_int64(t[i].created_at));
				json_object_object_add(o, "last_used_at", t[i].last_used ?
				    json_object_new_int64(t[i].last_used) : NULL);
				json_object_object_add(o, "expires_at", NULL);
				json_object_array_add(a, o);
			}
		free(t);
		resp_json(r, 200, a);
		return;
	}
	b = body_json(r);
	name = b ? json_get_str(b, "name") : NULL;
	if (name == NULL || *name == '\0') {
		detail(r, 400, "Name is required");
	} else if (admin_token_create(r->worker->db, name, wall_sec(), tok, &id) != RERR_OK) {
		detail(r, 400, "The name must be up to 64 characters without control characters");
	} else {
		log_info("request %s: admin api: admin token %lld made", r->id, (long long)id);
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(id));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "token", json_object_new_string(tok));
		json_object_object_add(o, "created_at", json_object_new_int64(wall_sec()));
		json_object_object_add(o, "expires_at", NULL);
		resp_json(r, 200, o);
	}
	json_object_put(b);
}

/* DELETE /admin/api/cli-tokens/{id} */
void
h_admin_api_token_delete(struct req *r)
{
	const char *p = r->path + strlen("/admin/api/cli-tokens/");
	struct json_object *o;
	int64_t id;

	if (parse_i64(p, 1, INT64_MAX, &id) < 0 || admin_token_revoke(r->worker->db, id) != RERR_OK) {
		detail(r, 404, "Token not found");
		return;
	}
	log_info("request %s: admin api: admin token %lld revoked", r->id, (long long)id);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "deleted_id", json_object_new_int64(id));
	resp_json(r, 200, o);
}
