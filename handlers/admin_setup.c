/* admin_setup: the dashboard's setup pages: upstream providers (list, add,
 * edit, enable and disable), the settings and where each value comes from,
 * and the password. AUTH_ADMIN routes: the gate ran before (admin_gate.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "admin.h"
#include "admin_auth.h"
#include "admin_view.h"
#include "catalog.h"
#include "conf.h"
#include "handlers.h"
#include "log.h"
#include "providers.h"
#include "report.h"
#include "settings.h"
#include "upstream.h"
#include "server.h"
#include "util.h"

#define PROVIDER_ROWS 64

/* ------------------------------------------------------------ providers */

static void
providers_page(struct req *r, int status, const char *flash, const char *error)
{
	struct report_provider *rows = xcalloc(PROVIDER_ROWS, sizeof(*rows));
	char *edit = r->method == HTTP_GET ? admin_form(r, "edit", 64, true) : NULL;
	struct view v;
	size_t n = 0, i, row;
	bool filled = false;

	view_init(&v);
	view_set(&v, AK_title, "Providers");
	view_flag(&v, AK_nav_providers, true);
	if (flash)
		view_set(&v, AK_flash, "%s", flash);
	if (error)
		view_set(&v, AK_error, "%s", error);
	if (report_providers(r->worker->db, rows, PROVIDER_ROWS, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_providers);
			view_cell(&v, AK_providers, row, AK_pv_slug, "%s", rows[i].slug);
			view_cell(&v, AK_providers, row, AK_pv_type, "%s", rows[i].type);
			view_cell(&v, AK_providers, row, AK_pv_url, "%s", rows[i].base_url);
			if (rows[i].fee_ppm < 0)
				view_cell(&v, AK_providers, row, AK_pv_fee, "default");
			else
				view_cell(&v, AK_providers, row, AK_pv_fee, "%lld.%06lld",
				    (long long)(rows[i].fee_ppm / 1000000),
				    (long long)(rows[i].fee_ppm % 1000000));
			view_cell(&v, AK_providers, row, AK_pv_priority, "%lld",
			    (long long)rows[i].priority);
			view_cell(&v, AK_providers, row, AK_pv_state, "%s%s%s",
			    rows[i].enabled ? "enabled" : "disabled", rows[i].from_env ? ", from settings" : "",
			    rows[i].has_key ? ", key set" : "");
			view_cell(&v, AK_providers, row, AK_pv_toggle, "%s",
			    rows[i].enabled ? "Disable" : "Enable");
			/* ?edit=slug fills the form with what is stored (not the
			 * key: a secret is never shown; empty keeps it). */
			if (edit && strcmp(edit, rows[i].slug) == 0) {
				view_set(&v, AK_pf_slug, "%s", rows[i].slug);
				view_set(&v, AK_pf_url, "%s", rows[i].base_url);
				if (rows[i].fee_ppm >= 0)
					view_set(&v, AK_pf_fee, "%lld.%06lld",
					    (long long)(rows[i].fee_ppm / 1000000),
					    (long long)(rows[i].fee_ppm % 1000000));
				view_set(&v, AK_pf_priority, "%lld", (long long)rows[i].priority);
				view_flag(&v, strcmp(rows[i].type, "openrouter") == 0 ? AK_pf_openrouter :
				    strcmp(rows[i].type, "anthropic") == 0 ? AK_pf_anthropic :
				    strcmp(rows[i].type, "generic") == 0 ? AK_pf_generic : AK_pf_openai, true);
				filled = true;
			}
		}
	if (!filled) {
		view_set(&v, AK_pf_fee, "1");
		view_set(&v, AK_pf_priority, "100");
	}
	free(edit);
	admin_render(r, status, "providers", &v);
	view_free(&v);
	free(rows);
}

void
h_admin_providers(struct req *r)
{
	providers_page(r, 200, NULL, NULL);
}

/* A fee as the operator types it ("1.05") in ppm: 1000000 = 1.0. */
static int
fee_ppm(const char *s, int64_t *out)
{
	int64_t whole = 0, frac = 0, scale = 100000;
	const char *dot = strchr(s, '.');
	char w[24];

	if (*s == '\0' || strlen(s) > 20)
		return -1;
	snprintf(w, sizeof(w), "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if (parse_i64(w, 0, 1000, &whole) < 0)
		return -1;
	if (dot) {
		const char *p;

		if (dot[1] == '\0' || strlen(dot + 1) > 6)
			return -1;
		for (p = dot + 1; *p; p++, scale /= 10) {
			if (*p < '0' || *p > '9')
				return -1;
			frac += (*p - '0') * scale;
		}
	}
	*out = whole * 1000000 + frac;
	return 0;
}

void
h_admin_provider_save(struct req *r)
{
	char *slug = admin_form(r, "slug", 64, false), *type = admin_form(r, "type", 16, false);
	char *url = admin_form(r, "base_url", 1024, false), *key = admin_form(r, "api_key", 4096, false);
	char *fee = admin_form(r, "fee", 24, false), *prio = admin_form(r, "priority", 12, false);
	int64_t ppm = -1, priority = 100;
	const char *error = NULL;
	enum rerr e;

	if (slug == NULL || !providers_slug_ok(slug))
		error = "The slug is lower-case letters, digits and '-'.";
	else if (!providers_type_ok(type))
		error = "Unknown provider type.";
	else if (url == NULL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
		error = "The base URL must be http(s)://...";
	else if (fee && *fee && (fee_ppm(fee, &ppm) < 0 || ppm < 1000000))
		error = "The fee is a number of at least 1 (1.05 = 5 % on top of the upstream's price).";
	else if (prio && *prio && parse_i64(prio, -1000000, 1000000, &priority) < 0)
		error = "The priority is a whole number.";
	if (error == NULL) {
		e = providers_update(r->worker->db, slug, type, url, key && *key ? key : NULL, ppm,
		    priority);
		if (e == RERR_NOT_FOUND)
			e = providers_add(r->worker->db, slug, type, url, key && *key ? key : NULL, ppm,
			    priority);
		if (e != RERR_OK)
			error = "The provider could not be saved.";
		else
			log_info("request %s: dashboard: provider %s saved", r->id, slug);
	}
	providers_page(r, error ? 400 : 200, error ? NULL : "Provider saved.", error);
	free(slug);
	free(type);
	free(url);
	free(key);
	free(fee);
	free(prio);
}

void
h_admin_provider_toggle(struct req *r)
{
	struct report_provider *rows = xcalloc(PROVIDER_ROWS, sizeof(*rows));
	char *q = admin_form(r, "slug", 64, false);
	char slug[65];
	size_t n = 0, i;
	enum rerr e = RERR_NOT_FOUND;

	snprintf(slug, sizeof(slug), "%s", q ? q : "");
	free(q);
	if (providers_slug_ok(slug) && report_providers(r->worker->db, rows, PROVIDER_ROWS, &n) == RERR_OK)
		for (i = 0; i < n; i++)
			if (strcmp(rows[i].slug, slug) == 0)
				e = providers_set_enabled(r->worker->db, slug, !rows[i].enabled);
	free(rows);
	if (e == RERR_OK)
		log_info("request %s: dashboard: provider %s toggled", r->id, slug);
	providers_page(r, e == RERR_OK ? 200 : 404, e == RERR_OK ? "Provider changed." : NULL,
	    e == RERR_OK ? NULL : "No such provider.");
}

/* ------------------------------------------------------------ settings */

/* Whether a setting holds a secret: shown only as set or not. */
static bool
secret(const char *name)
{
	return strstr(name, "KEY") || strstr(name, "SECRET") || strstr(name, "NSEC") ||
	    strstr(name, "PASSWORD");
}

static void
settings_page(struct req *r, int status, const char *flash, const char *error)
{
	const struct conf *c = conf_get();
	struct view v;
	size_t k, row;

	view_init(&v);
	view_set(&v, AK_title, "Settings");
	view_flag(&v, AK_nav_settings, true);
	if (flash)
		view_set(&v, AK_flash, "%s", flash);
	if (error)
		view_set(&v, AK_error, "%s", error);
	for (k = 0; k < CONF__MAX; k++) {
		const char *val = conf_str(c, (enum conf_key)k);

		row = view_row(&v, AK_settings);
		view_cell(&v, AK_settings, row, AK_s_name, "%s", conf_defs[k].env);
		if (secret(conf_defs[k].env))
			view_cell(&v, AK_settings, row, AK_s_value, "%s", *val ? "(set, hidden)" : "");
		else
			view_cell(&v, AK_settings, row, AK_s_value, "%s", val);
		view_cell(&v, AK_settings, row, AK_s_source, "%s", conf_source(c, (enum conf_key)k));
		if (conf_editable((enum conf_key)k))
			view_cell(&v, AK_settings, row, AK_s_editable, "%s", "");
		if (strcmp(conf_source(c, (enum conf_key)k), "dashboard") == 0)
			view_cell(&v, AK_settings, row, AK_s_saved, "%s", "");
		view_cell(&v, AK_settings, row, AK_s_help, "%s", conf_defs[k].help);
	}
	admin_render(r, status, "settings", &v);
	view_free(&v);
}

void
h_admin_settings(struct req *r)
{
	settings_page(r, 200, NULL, NULL);
}

/* POST /admin/settings: name, value, action (save or reset). */
void
h_admin_setting_save(struct req *r)
{
	char *name = admin_form(r, "name", 64, false), *value = admin_form(r, "value", 4096, false);
	char *action = admin_form(r, "action", 8, false), why[256], msg[128];
	bool reset = action && strcmp(action, "reset") == 0;
	enum rerr e = RERR_INVALID;

	snprintf(why, sizeof(why), "Give a setting and a value.");
	if (name && (value || reset))
		e = settings_save(r->worker->db, name, reset ? NULL : value, why, sizeof(why));
	if (e == RERR_OK) {
		log_info("request %s: dashboard: setting %s %s", r->id, name, reset ? "reset" : "saved");
		snprintf(msg, sizeof(msg), "%s %s.", name, reset ? "is back to its file or default "
		    "value" : "saved");
		settings_page(r, 200, msg, NULL);
	} else {
		settings_page(r, 400, NULL, why);
	}
	free(name);
	free(value);
	free(action);
}

void
h_admin_password(struct req *r)
{
	char *cur = admin_form(r, "current_password", ADMIN_PASSWORD_MAX, false);
	char *pw = admin_form(r, "new_password", ADMIN_PASSWORD_MAX, false);
	enum rerr e = RERR_INVALID;

	if (cur && admin_password_check(r->worker->db, cur, NULL) != RERR_OK) {
		settings_page(r, 400, NULL, "The current password is wrong.");
		goto out;
	}
	if (cur && pw)
		e = admin_password_set(r->worker->db, pw, wall_sec());
	if (e != RERR_OK) {
		settings_page(r, 400, NULL, "The new password must be 12 to 1024 characters.");
		goto out;
	}
	/* Every session ended with the old password: log in again. */
	log_info("request %s: dashboard: password changed", r->id);
	admin_redirect(r, "/admin/login");
out:
	free(cur);
	free(pw);
}

/* ------------------------------------------------------------ models */

#define HIDDEN_MAX 500

/* fUSD per token as USD per million tokens, to the micro-dollar. */
static void
per_million(int64_t fusd, char out[32])
{
	int64_t micro = fusd / 1000;	/* fUSD x 1e6 tokens / 1e15 = micro-USD */

	snprintf(out, 32, "%lld.%06lld", (long long)(micro / 1000000), (long long)(micro % 1000000));
}

static void
models_page(struct req *r, int status, const char *q, const char *flash, const char *error)
{
	char (*hid)[CATALOG_MAX_ID + 1] = xcalloc(HIDDEN_MAX, sizeof(*hid));
	struct catalog *cat = catalog_current(r->worker->db);
	struct view v;
	char a[32], b[32];
	size_t i, n, row;
	int nh;

	view_init(&v);
	view_set(&v, AK_title, "Models");
	view_flag(&v, AK_nav_models, true);
	view_set(&v, AK_q, "%s", q ? q : "");
	if (flash)
		view_set(&v, AK_flash, "%s", flash);
	if (error)
		view_set(&v, AK_error, "%s", error);
	n = cat ? catalog_count(cat) : 0;
	for (i = 0; i < n; i++) {
		const struct catalog_model *m = catalog_at(cat, i);

		row = view_row(&v, AK_models);
		view_cell(&v, AK_models, row, AK_md_id, "%s", m->id);
		view_cell(&v, AK_models, row, AK_md_upstream, "%s", m->upstream_id);
		if (m->priced) {
			per_million(m->price.fusd[PRICING_PROMPT], a);
			per_million(m->price.fusd[PRICING_COMPLETION], b);
			view_cell(&v, AK_models, row, AK_md_prompt, "%s", a);
			view_cell(&v, AK_models, row, AK_md_completion, "%s", b);
		} else {
			view_cell(&v, AK_models, row, AK_md_prompt, "unpriced");
		}
		view_cell(&v, AK_models, row, AK_md_source, "%s", m->from_db ? "table" : "file");
	}
	catalog_release(cat);
	nh = catalog_hidden(r->worker->db, hid, HIDDEN_MAX);
	for (i = 0; nh > 0 && i < (size_t)nh; i++) {
		row = view_row(&v, AK_hidden);
		view_cell(&v, AK_hidden, row, AK_hd_id, "%s", hid[i]);
	}
	admin_render(r, status, "models", &v);
	view_free(&v);
	free(hid);
}

void
h_admin_models(struct req *r)
{
	models_page(r, 200, NULL, NULL, NULL);
}

void
h_admin_model_toggle(struct req *r)
{
	char *id = admin_form(r, "id", CATALOG_MAX_ID, false), *shown = admin_form(r, "shown", 2, false);
	bool show = shown && strcmp(shown, "1") == 0;
	enum rerr e = id ? catalog_set_shown(r->worker->db, id, show) : RERR_INVALID;

	if (e == RERR_OK)
		log_info("request %s: dashboard: model %s %s", r->id, id, show ? "shown" : "hidden");
	models_page(r, e == RERR_OK ? 200 : 400, NULL, e == RERR_OK ? (show ? "Model shown." :
	    "Model hidden.") : NULL, e == RERR_OK ? NULL : "No such model.");
	free(id);
	free(shown);
}

/* POST /admin/model-test: a one-line chat to the first provider that
 * serves the model, with the provider's key; nothing is billed. Shows the
 * status, the time and the start of the answer. */
void
h_admin_model_test(struct req *r)
{
	char *id = admin_form(r, "model", CATALOG_MAX_ID, false), msg[400];
	struct catalog *cat = catalog_current(r->worker->db);
	struct providers *ps = providers_current(r->worker->db);
	const struct catalog_model *m = cat && id ? catalog_find(cat, id) : NULL;
	struct provider_route route[4];
	struct upstream_request rq;
	struct upstream_result res;
	struct json_object *body = NULL, *msgs, *one;
	const char *text, *reply = "";
	char *url = NULL;
	size_t nr = 0;

	memset(&res, 0, sizeof(res));
	if (m == NULL || ps == NULL ||
	    (nr = providers_for(ps, id, m->id, false, route, 4)) == 0) {
		models_page(r, 400, id, NULL, m ? "No provider serves this model." : "No such model.");
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "model", json_object_new_string(route[0].upstream_id ?
	    route[0].upstream_id : m->upstream_id));
	msgs = json_object_new_array();
	one = json_object_new_object();
	json_object_object_add(one, "role", json_object_new_string("user"));
	json_object_object_add(one, "content", json_object_new_string("Reply with the word OK."));
	json_object_array_add(msgs, one);
	json_object_object_add(body, "messages", msgs);
	json_object_object_add(body, "max_tokens", json_object_new_int(8));
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	url = xasprintf("%s/chat/completions", route[0].p->base_url);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = url;
	rq.headers = (const char *const[]){ "Content-Type: application/json", NULL };
	rq.bearer = route[0].p->api_key;
	rq.body = text;
	rq.body_len = strlen(text);
	rq.connect_timeout_s = 10;
	rq.total_timeout_s = 30;
	rq.max_response = 64 * 1024;
	if (upstream_perform(r->worker->up, &rq, NULL, NULL, &res) != RERR_OK) {
		snprintf(msg, sizeof(msg), "%s via %s: no answer (%.200s)", m->id, route[0].p->slug,
		    res.error);
		models_page(r, 200, id, NULL, msg);
		goto out;
	}
	{
		struct json_object *o = json_tokener_parse(res.body.data ? res.body.data : "");
		struct json_object *ch, *c0, *mm, *ct;

		if (o && json_object_object_get_ex(o, "choices", &ch) && json_object_is_type(ch,
		    json_type_array) && (c0 = json_object_array_get_idx(ch, 0)) &&
		    json_object_object_get_ex(c0, "message", &mm) &&
		    json_object_object_get_ex(mm, "content", &ct) && json_object_is_type(ct, json_type_string))
			reply = json_object_get_string(ct);
		snprintf(msg, sizeof(msg), "%s via %s: HTTP %d in %lld ms%s%.120s%s", m->id,
		    route[0].p->slug, res.status, (long long)(res.total_us / 1000), *reply ? ": \"" : "",
		    reply, *reply ? "\"" : "");
		json_object_put(o);
	}
	log_info("request %s: dashboard: model test %s: %d", r->id, m->id, res.status);
	if (res.status >= 200 && res.status < 300)
		models_page(r, 200, id, msg, NULL);
	else
		models_page(r, 200, id, NULL, msg);
out:
	upstream_result_free(&res);
	json_object_put(body);
	free(url);
	free(id);
	providers_release(ps);
	catalog_release(cat);
}

/* USD per million tokens, as typed ("2.5", "0.15"), in fUSD per token:
 * x 1e15 / 1e6 = x 1e9, exact for up to 9 decimals. -1 when malformed. */
static int64_t
fusd_of_usd_per_million(const char *s)
{
	const char *dot = s ? strchr(s, '.') : NULL, *p;
	int64_t whole = 0, frac = 0, scale = 100000000;
	char w[24];

	if (s == NULL || *s == '\0' || strlen(s) > 24)
		return -1;
	snprintf(w, sizeof(w), "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if (parse_i64(w, 0, 1000000, &whole) < 0)
		return -1;
	if (dot) {
		if (dot[1] == '\0' || strlen(dot + 1) > 9)
			return -1;
		for (p = dot + 1; *p; p++, scale /= 10) {
			if (*p < '0' || *p > '9')
				return -1;
			frac += (*p - '0') * scale;
		}
	}
	return whole * 1000000000 + frac;
}

/* POST /admin/model-price: model, prompt, completion (USD per million). */
void
h_admin_model_price(struct req *r)
{
	char *id = admin_form(r, "model", CATALOG_MAX_ID, false);
	char *ps = admin_form(r, "prompt", 24, false), *cs = admin_form(r, "completion", 24, false);
	struct catalog *cat = catalog_current(r->worker->db);
	const struct catalog_model *m = cat && id ? catalog_find(cat, id) : NULL;
	int64_t pf = fusd_of_usd_per_million(ps), cf = fusd_of_usd_per_million(cs);
	enum rerr e = RERR_INVALID;
	char msg[300];

	if (m && pf >= 0 && cf >= 0)
		e = catalog_set_price(r->worker->db, m, pf, cf);
	if (e == RERR_OK) {
		log_info("request %s: dashboard: prices of %s set to %s / %s USD per million", r->id,
		    m->id, ps, cs);
		snprintf(msg, sizeof(msg), "Prices of %.200s saved.", m->id);
		catalog_release(cat);
		cat = NULL;
		models_page(r, 200, NULL, msg, NULL);
	} else {
		models_page(r, 400, NULL, NULL, m ? "Prices are USD per million tokens, e.g. 2.5." :
		    "No such model.");
	}
	catalog_release(cat);
	free(id);
	free(ps);
	free(cs);
}
