/* models: GET /v1/models (also /v1/models/, /models, /models/): the catalogue
 * in Routstr's shape (reference routstr-proxy.md 9.2), {"data":[...]} with no
 * "object" key. Every price is printed from an exact integer through
 * pricing_fmt_* and json_object_new_double_s, so no float rounding shows. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog.h"
#include "conf.h"
#include "handlers.h"
#include "buf.h"
#include "price.h"
#include "util.h"
#include "pricing.h"
#include "providers.h"
#include "server.h"

#define NUM_LEN 48

/* A JSON number printed as the exact decimal text ds. json-c wants a double
 * beside it; that double is never printed nor used for money. */
static struct json_object *
exact_num(const char *ds)
{
	return json_object_new_double_s(strtod(ds, NULL), ds);
}

static struct json_object *
fusd_num(int64_t fusd)
{
	char b[NUM_LEN];

	return exact_num(pricing_fmt_fusd(fusd, b, sizeof(b)));
}

static struct json_object *
psat_num(int64_t psat)
{
	char b[NUM_LEN];

	return exact_num(pricing_fmt_psat(psat, b, sizeof(b)));
}

static struct json_object *
msat_as_sat_num(int64_t msat)
{
	char b[NUM_LEN];

	return exact_num(pricing_fmt_msat_as_sat(msat, b, sizeof(b)));
}

/* Text of a stored JSON fragment as a new object (NULL for null). */
static struct json_object *
parsed(const char *text)
{
	return text != NULL ? json_tokener_parse(text) : NULL;
}

static struct json_object *
opt_str(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static struct json_object *
opt_count(int64_t v)
{
	return v >= 0 ? json_object_new_int64(v) : NULL;
}

/* "pricing": USD, provider fee applied; NULL when too large to print. */
static struct json_object *
usd_pricing(const struct catalog_model *m, const struct pricing_params *pp)
{
	static const char *const max_keys[3] = { "max_prompt_cost", "max_completion_cost",
		"max_cost" };
	int64_t v[CATALOG_USD__MAX];
	struct json_object *o;
	int i;

	if (catalog_usd_pricing(m, pp->provider_fee_ppm, pp->min_request_msat, v) != RERR_OK)
		return NULL;
	o = json_object_new_object();
	for (i = 0; i < PRICING__MAX; i++)
		json_object_object_add(o, pricing_field_key[i], fusd_num(v[i]));
	for (i = 0; i < 3; i++)
		json_object_object_add(o, max_keys[i], fusd_num(v[PRICING__MAX + i]));
	return o;
}

/* "sats_pricing": sats per unit and max costs in sats (both fees applied);
 * NULL without a BTC price. */
static struct json_object *
sats_pricing(const struct catalog_model *m, const struct pricing_params *pp)
{
	struct pricing_sats s;
	struct json_object *o;
	int i;

	if (pp->btc_usd_micro <= 0 || pricing_sats(pp, &m->price, &s) != RERR_OK)
		return NULL;
	o = json_object_new_object();
	for (i = 0; i < PRICING__MAX; i++)
		json_object_object_add(o, pricing_field_key[i], psat_num(s.psat[i]));
	json_object_object_add(o, "max_prompt_cost", msat_as_sat_num(s.max_prompt_msat));
	json_object_object_add(o, "max_completion_cost", msat_as_sat_num(s.max_completion_msat));
	json_object_object_add(o, "max_cost", msat_as_sat_num(s.max_cost_msat));
	return o;
}

static struct json_object *
top_provider(const struct catalog_model *m)
{
	struct json_object *o;

	if (!m->has_top_provider)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "context_length", opt_count(m->top_context_length));
	json_object_object_add(o, "max_completion_tokens",
	    opt_count(m->top_max_completion_tokens));
	json_object_object_add(o, "is_moderated", m->is_moderated < 0 ? NULL :
	    json_object_new_boolean(m->is_moderated));
	return o;
}

static struct json_object *
alias_ids(const struct catalog_model *m)
{
	struct json_object *a;
	size_t i;

	if (m->alias_ids == NULL)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < m->nalias_ids; i++)
		json_object_array_add(a, json_object_new_string(m->alias_ids[i]));
	return a;
}

/* Routstr reports the provider type; ours is guessed from the base URL. */
static const char *
provider_type(const char *base_url)
{
	if (strstr(base_url, "openrouter.ai") != NULL)
		return "openrouter";
	if (strstr(base_url, "api.openai.com") != NULL)
		return "openai";
	return "custom";
}

/* One item, keys in Routstr's order. */
static struct json_object *
model_item(const struct catalog_model *m, const struct pricing_params *pp, const char *prov)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(m->id));
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "created", json_object_new_int64(m->created));
	json_object_object_add(o, "description", json_object_new_string(m->description));
	json_object_object_add(o, "context_length",
	    json_object_new_int64(m->price.context_length));
	json_object_object_add(o, "architecture", parsed(m->architecture_json));
	json_object_object_add(o, "pricing", usd_pricing(m, pp));
	json_object_object_add(o, "sats_pricing", sats_pricing(m, pp));
	json_object_object_add(o, "per_request_limits", parsed(m->per_request_limits_json));
	json_object_object_add(o, "top_provider", top_provider(m));
	json_object_object_add(o, "enabled", json_object_new_boolean(1));
	json_object_object_add(o, "upstream_provider_id",
	    json_object_new_string(m->provider != NULL ? m->provider : prov));
	json_object_object_add(o, "canonical_slug", opt_str(m->canonical_slug));
	json_object_object_add(o, "alias_ids", alias_ids(m));
	json_object_object_add(o, "forwarded_model_id",
	    strcmp(m->upstream_id, m->id) != 0 ? json_object_new_string(m->upstream_id) : NULL);
	return o;
}

/* GET /v1/models. Unpriced models are listed only in FIXED_PRICING mode
 * (elsewhere they cannot be served). The BTC price may be refreshed first
 * (price_btc_usd); without one sats_pricing is null. */
void
h_models(struct req *r)
{
	const struct conf *c = conf_get();
	struct worker *w = r->worker;
	struct catalog *cat = catalog_current(w->db);
	struct json_object *root = json_object_new_object(), *data = json_object_new_array();
	struct pricing_params pp;
	const char *prov = provider_type(conf_str(c, CONF_UPSTREAM_BASE_URL));
	int64_t btc = 0, age = 0;
	size_t i, n = catalog_count(cat), shown = 0;
	bool fixed = conf_bool(c, CONF_FIXED_PRICING);

	if (price_btc_usd(w->db, w->up, &btc, &age) != RERR_OK)
		btc = 0;
	pricing_params_from_conf(c, 0, btc, &pp);
	for (i = 0; i < n; i++) {
		const struct catalog_model *m = catalog_at(cat, i);

		if (!m->priced && !fixed)
			continue;
		json_object_array_add(data, model_item(m, &pp, prov));
		shown++;
	}
	catalog_release(cat);
	json_object_object_add(root, "data", data);
	req_log_extra(r, "models=%zu btc_age=%lld", shown, (long long)age);
	resp_json(r, 200, root);
}

/* GET /v1/models/{id}: one model as the list shows it, or OpenAI's 404. The
 * id may hold slashes ("openai/gpt-4o"). */
void
h_model_get(struct req *r)
{
	const struct conf *c = conf_get();
	struct worker *w = r->worker;
	const char *id = r->path + strlen(strncmp(r->path, "/v1/", 4) == 0 ? "/v1/models/" :
	    "/models/");
	struct catalog *cat = catalog_current(w->db);
	const struct catalog_model *m = cat && *id ? catalog_find(cat, id) : NULL;
	struct pricing_params pp;
	int64_t btc = 0;

	if (m == NULL || (!m->priced && !conf_bool(c, CONF_FIXED_PRICING))) {
		if (cat)
			catalog_release(cat);
		resp_error(r, 404, "invalid_request_error", "model_not_found",
		    "The model '%s' does not exist", id);
		return;
	}
	if (price_btc_usd(w->db, w->up, &btc, NULL) != RERR_OK)
		btc = 0;
	pricing_params_from_conf(c, 0, btc, &pp);
	resp_json(r, 200, model_item(m, &pp, provider_type(conf_str(c, CONF_UPSTREAM_BASE_URL))));
	catalog_release(cat);
}

/* ---- /v1/models/paths: which providers serve each model (Routstr's
 * discovery shape; the selectors are informational, as in Routstr). */

/* Append s form-encoded (application/x-www-form-urlencoded) to b. */
static void
form_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3];

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '*') {
			buf_append(b, s, 1);
		} else if (c == ' ') {
			buf_append(b, "+", 1);
		} else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			buf_append(b, e, 3);
		}
	}
}

/* Append base form-encoded without what must not be published: a
 * "user:password@" and a query (some providers take their key there). */
static void
public_url(struct buf *b, const char *base)
{
	const char *scheme = strstr(base, "://"), *host = scheme ? scheme + 3 : base;
	const char *at, *end = base + strcspn(base, "?#");
	char *clean;

	at = memchr(host, '@', (size_t)(end - host));
	if (at != NULL && memchr(host, '/', (size_t)(at - host)) == NULL)
		clean = xasprintf("%.*s%.*s", (int)(host - base), base, (int)(end - at - 1), at + 1);
	else
		clean = xstrndup(base, (size_t)(end - base));
	form_encode(b, clean);
	free(clean);
}

/* The path objects of model m: one per provider that serves it. */
static struct json_object *
model_paths(const struct providers *ps, const struct catalog_model *m)
{
	struct provider_route r[PROVIDERS_MAX * 2];
	struct json_object *arr = json_object_new_array();
	size_t n, i, j;
	char id[32];

	n = providers_for(ps, m->id, m->id, false, r, PROVIDERS_MAX);
	n += providers_for(ps, m->id, m->id, true, r + n, PROVIDERS_MAX);
	for (i = 0; i < n; i++) {
		struct json_object *o, *p;
		struct buf b;
		bool dup = false;

		for (j = 0; j < i; j++)
			dup |= r[j].p == r[i].p;
		if (dup)
			continue;
		buf_init(&b, 4096);
		buf_append(&b, "url=", 4);
		public_url(&b, r[i].p->base_url);
		snprintf(id, sizeof(id), "%lld", (long long)r[i].p->id);
		buf_append(&b, "&provider-id=", 13);
		buf_append(&b, id, strlen(id));
		buf_append(&b, "&model-id=", 10);
		form_encode(&b, r[i].upstream_id ? r[i].upstream_id : m->upstream_id);
		o = json_object_new_object();
		json_object_object_add(o, "path", json_object_new_string_len(b.data, (int)b.len));
		p = json_object_new_object();
		json_object_object_add(p, "id", json_object_new_int64(r[i].p->id));
		json_object_object_add(p, "slug", json_object_new_string(r[i].p->slug));
		json_object_object_add(p, "type", json_object_new_string(r[i].p->type));
		json_object_object_add(o, "provider", p);
		json_object_object_add(o, "endpoint", NULL);
		json_object_array_add(arr, o);
		buf_free(&b);
	}
	return arr;
}

static bool
shown(const struct catalog_model *m)
{
	return m->priced || conf_bool(conf_get(), CONF_FIXED_PRICING);
}

void
h_model_paths(struct req *r)
{
	struct catalog *cat = catalog_current(r->worker->db);
	struct providers *ps = providers_current(r->worker->db);
	struct json_object *root = json_object_new_object(), *data = json_object_new_array();
	size_t i;

	for (i = 0; i < catalog_count(cat); i++) {
		const struct catalog_model *m = catalog_at(cat, i);
		struct json_object *o;

		if (!shown(m))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(m->id));
		json_object_object_add(o, "paths", model_paths(ps, m));
		json_object_array_add(data, o);
	}
	providers_release(ps);
	if (cat)
		catalog_release(cat);
	json_object_object_add(root, "data", data);
	json_object_object_add(root, "updated_at", NULL);	/* no remote refresh */
	resp_json(r, 200, root);
}

/* Decode a query value (percent escapes, '+' as space) in place. */
static void
query_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };

			*w++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

void
h_model_paths_model(struct req *r)
{
	char *id = req_query(r, "model_id"), *slash;
	struct catalog *cat;
	struct providers *ps;
	const struct catalog_model *m = NULL;
	struct json_object *root, *det, *item;

	if (id == NULL || (query_decode(id), *id == '\0') || strlen(id) > 256) {
		/* FastAPI's 422 for a missing required query parameter */
		root = json_object_new_object();
		det = json_object_new_array();
		item = json_object_new_object();
		json_object_object_add(item, "type", json_object_new_string("missing"));
		json_object_object_add(item, "loc", json_object_new_array());
		json_object_array_add(json_object_object_get(item, "loc"),
		    json_object_new_string("query"));
		json_object_array_add(json_object_object_get(item, "loc"),
		    json_object_new_string("model_id"));
		json_object_object_add(item, "msg", json_object_new_string("Field required"));
		json_object_array_add(det, item);
		json_object_object_add(root, "detail", det);
		resp_json(r, 422, root);
		free(id);
		return;
	}
	cat = catalog_current(r->worker->db);
	ps = providers_current(r->worker->db);
	if (cat) {
		m = catalog_find(cat, id);
		/* then without its "prefix/" */
		if (m == NULL && (slash = strchr(id, '/')) != NULL)
			m = catalog_find(cat, slash + 1);
	}
	if (m == NULL || !shown(m)) {
		root = json_object_new_object();
		json_object_object_add(root, "detail", json_object_new_string("Model not found"));
		json_object_object_add(root, "request_id", json_object_new_string(r->id));
		resp_json(r, 404, root);
	} else {
		root = json_object_new_object();
		json_object_object_add(root, "data", model_paths(ps, m));
		json_object_object_add(root, "updated_at", NULL);
		resp_json(r, 200, root);
	}
	providers_release(ps);
	if (cat)
		catalog_release(cat);
	free(id);
}
