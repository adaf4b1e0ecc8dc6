/* catalog: the model catalogue. See catalog.h. Built once per change, then
 * read-only: every string and table below belongs to one struct catalog and
 * dies with its last reference. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "catalog.h"
#include "conf.h"
#include "db_sql.h"
#include "json.h"
#include "log.h"
#include "util.h"

typedef unsigned __int128 u128;

/* Alias priorities (reference 9.5). */
enum prio { PRIO_OTHER = 1, PRIO_SLUG = 2, PRIO_UNPREFIXED = 3, PRIO_UPSTREAM = 4, PRIO_ID = 5 };

struct slot {
	char *key;		/* lower-cased; NULL = empty slot */
	uint64_t hash;
	uint32_t model;		/* index into models */
	uint8_t prio;
};

/* Open addressing, linear probing, power-of-two size, at most half full. */
struct map {
	struct slot *slots;
	size_t mask;
	size_t used;
};

struct catalog {
	atomic_long refs;
	struct catalog_model *models;
	size_t n, cap;
	bool *hidden;		/* while loading: a disabled row removed the model */
	struct map ids;		/* while loading: public id -> model */
	struct map aliases;	/* every alias -> model */
	void **strs;		/* every string and array the models point to */
	size_t nstrs, capstrs;
	int64_t version;
};

/* ------------------------------------------------------------------------ */
/* Strings and the alias map                                                 */

/* Hand the heap block p to the catalogue, which frees it with itself. */
static void *
cat_keep(struct catalog *c, void *p)
{
	if (c->nstrs == c->capstrs) {
		c->capstrs = c->capstrs ? c->capstrs * 2 : 64;
		c->strs = xrealloc(c->strs, c->capstrs * sizeof(*c->strs));
	}
	c->strs[c->nstrs++] = p;
	return p;
}

/* A copy of s owned by the catalogue. */
static const char *
cat_strdup(struct catalog *c, const char *s)
{
	return cat_keep(c, xstrdup(s));
}

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Lower-case s into out (CATALOG_MAX_ID + 1 bytes). -1 when s is empty or
 * longer than CATALOG_MAX_ID. */
static int
lower_key(const char *s, char *out, size_t *len)
{
	size_t i, n = strnlen(s, CATALOG_MAX_ID + 1);

	if (n == 0 || n > CATALOG_MAX_ID)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	*len = n;
	return 0;
}

/* The slot holding key (len bytes, hash h), or the empty slot where it would
 * go; NULL for a map never grown. Borrowed from m. */
static struct slot *
map_probe(const struct map *m, const char *key, size_t len, uint64_t h)
{
	size_t i;

	if (m->slots == NULL)
		return NULL;
	for (i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
		struct slot *s = &m->slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && strncmp(s->key, key, len) == 0 && s->key[len] == '\0')
			return s;
	}
}

/* Double m (or create it at 64 slots), moving every entry. */
static void
map_grow(struct map *m)
{
	struct map nm;
	size_t i, size = m->slots ? (m->mask + 1) * 2 : 64;

	nm.slots = xcalloc(size, sizeof(*nm.slots));
	nm.mask = size - 1;
	nm.used = m->used;
	for (i = 0; m->slots && i <= m->mask; i++) {
		struct slot *s = &m->slots[i];

		if (s->key != NULL)
			*map_probe(&nm, s->key, strlen(s->key), s->hash) = *s;
	}
	free(m->slots);
	*m = nm;
}

static void
map_free(struct map *m)
{
	size_t i;

	for (i = 0; m->slots && i <= m->mask; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* Routstr's cost score (reference 9.5), scaled by 10 to stay integral. */
static u128
cost_score(const struct catalog_model *m)
{
	const int64_t *f = m->price.fusd;

	return (u128)f[PRICING_PROMPT] * 10 + (u128)f[PRICING_COMPLETION] * 5 +
	    (u128)f[PRICING_REQUEST] * 10 + (u128)f[PRICING_IMAGE] +
	    (u128)f[PRICING_WEB_SEARCH] + (u128)f[PRICING_REASONING] * 2;
}

/* Point alias name (any case; skipped when too long) at model idx unless a
 * better claim holds it: higher priority, then lower cost, then first. */
static void
alias_add(struct catalog *c, const char *name, size_t namelen, uint32_t idx, enum prio p)
{
	char key[CATALOG_MAX_ID + 1], tmp[CATALOG_MAX_ID + 1];
	size_t len;
	uint64_t h;
	struct slot *s;

	if (namelen == 0 || namelen > CATALOG_MAX_ID)
		return;
	memcpy(tmp, name, namelen);
	tmp[namelen] = '\0';
	if (lower_key(tmp, key, &len) < 0)
		return;
	if ((c->aliases.used + 1) * 2 > c->aliases.mask + 1 || c->aliases.slots == NULL)
		map_grow(&c->aliases);
	h = fnv1a(key, len);
	s = map_probe(&c->aliases, key, len, h);
	if (s->key == NULL) {
		s->key = xstrndup(key, len);
		s->hash = h;
		s->model = idx;
		s->prio = (uint8_t)p;
		c->aliases.used++;
		return;
	}
	if (s->model == idx) {
		if (p > s->prio)
			s->prio = (uint8_t)p;
		return;
	}
	if (p > s->prio || (p == s->prio &&
	    cost_score(&c->models[idx]) < cost_score(&c->models[s->model]))) {
		s->model = idx;
		s->prio = (uint8_t)p;
	}
}

/* ------------------------------------------------------------------------ */
/* Id forms                                                                  */

/* The id without its first "vendor/" prefix (the whole id when none). */
static const char *
unprefixed(const char *id)
{
	const char *sl = strchr(id, '/');

	return sl != NULL && sl[1] != '\0' ? sl + 1 : id;
}

static bool
is_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Length of s without a trailing "-YYYY-MM-DD", or len when none. */
static size_t
strip_dashed_date(const char *s, size_t len)
{
	const char *d;

	if (len <= 11)
		return len;
	d = s + len - 11;
	if (d[0] == '-' && is_digits(d + 1, 4) && d[5] == '-' && is_digits(d + 6, 2) &&
	    d[8] == '-' && is_digits(d + 9, 2))
		return len - 11;
	return len;
}

/* Length of s without a trailing "-YYYYMMDD", or len when none. */
static size_t
strip_compact_date(const char *s, size_t len)
{
	if (len > 9 && s[len - 9] == '-' && is_digits(s + len - 8, 8))
		return len - 9;
	return len;
}

/* The aliases of one id (public or upstream; reference 9.5). */
static void
alias_id_forms(struct catalog *c, const char *id, uint32_t idx, enum prio p)
{
	const char *un = unprefixed(id);
	size_t ulen = strlen(un), dlen;
	char buf[2 * CATALOG_MAX_ID + 2];

	alias_add(c, id, strlen(id), idx, p);
	if (un != id)
		alias_add(c, un, ulen, idx, PRIO_UNPREFIXED);
	dlen = strip_dashed_date(un, ulen);
	if (dlen != ulen) {
		alias_add(c, un, dlen, idx, PRIO_OTHER);
		if (un != id && (size_t)(un - id) + dlen < sizeof(buf)) {
			/* prefix/ + undated */
			memcpy(buf, id, (size_t)(un - id));
			memcpy(buf + (un - id), un, dlen);
			alias_add(c, buf, (size_t)(un - id) + dlen, idx, PRIO_OTHER);
		}
	}
}

static void
alias_model(struct catalog *c, uint32_t idx)
{
	const struct catalog_model *m = &c->models[idx];
	size_t i;

	alias_id_forms(c, m->id, idx, PRIO_ID);
	if (strcmp(m->upstream_id, m->id) != 0)
		alias_id_forms(c, m->upstream_id, idx, PRIO_UPSTREAM);
	if (m->canonical_slug != NULL) {
		const char *un = unprefixed(m->canonical_slug);
		size_t ulen = strlen(un);

		alias_add(c, m->canonical_slug, strlen(m->canonical_slug), idx, PRIO_OTHER);
		alias_add(c, un, ulen, idx, PRIO_SLUG);
		alias_add(c, un, strip_dashed_date(un, ulen), idx, PRIO_OTHER);
	}
	for (i = 0; i < m->nalias_ids; i++)
		alias_add(c, m->alias_ids[i], strlen(m->alias_ids[i]), idx, PRIO_OTHER);
}

/* ------------------------------------------------------------------------ */
/* One model from an OpenRouter-format object                                */

/* A non-negative integer member, or def when absent, null or not an integer. */
static int64_t
get_count(struct json_object *o, const char *key, int64_t def)
{
	int64_t v;

	if (json_get_i64(o, key, &v) < 0 || v < 0)
		return def;
	return v;
}

/* A price member into fUSD: absent or null is 0 (*present = false). Strings
 * are parsed exactly; JSON numbers by their source text (json-c keeps it for
 * parsed numbers). */
static enum rerr
get_price(struct json_object *pricing, const char *key, int64_t *fusd, bool *present)
{
	struct json_object *v = json_get(pricing, key);

	*fusd = 0;
	*present = false;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return RERR_OK;
	*present = true;
	if (json_object_is_type(v, json_type_string))
		return pricing_parse_usd(json_object_get_string(v), fusd);
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return pricing_parse_usd(json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN), fusd);
	return RERR_INVALID;
}

/* The eight prices; unpriced when prompt or completion is missing or any
 * field is malformed or negative. */
static bool
parse_prices(struct json_object *o, struct pricing_model *pm)
{
	struct json_object *pricing = json_get(o, "pricing");
	bool present, ok = true;
	int i;

	if (pricing == NULL || !json_object_is_type(pricing, json_type_object))
		return false;
	for (i = 0; i < PRICING__MAX; i++) {
		if (get_price(pricing, pricing_field_key[i], &pm->fusd[i], &present) != RERR_OK)
			ok = false;
		else if (!present && (i == PRICING_PROMPT || i == PRICING_COMPLETION))
			ok = false;
	}
	if (!ok)
		memset(pm->fusd, 0, sizeof(pm->fusd));
	return ok;
}

/* A string array member with its default, as a new json array. */
static struct json_object *
str_array(struct json_object *src, const char *def)
{
	struct json_object *a = json_object_new_array();
	size_t i, n;

	if (src != NULL && json_object_is_type(src, json_type_array)) {
		n = json_object_array_length(src);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(src, i);

			if (json_object_is_type(e, json_type_string))
				json_object_array_add(a, json_object_new_string(
				    json_object_get_string(e)));
		}
		return a;
	}
	json_object_array_add(a, json_object_new_string(def));
	return a;
}

/* Routstr's architecture object, normalised to its five keys, as text. */
static const char *
architecture_text(struct catalog *c, struct json_object *o)
{
	struct json_object *src = json_get(o, "architecture"), *a = json_object_new_object();
	const char *modality = json_get_str(src, "modality");
	const char *tokenizer = json_get_str(src, "tokenizer");
	const char *instruct = json_get_str(src, "instruct_type");
	const char *text;

	json_object_object_add(a, "modality",
	    json_object_new_string(modality ? modality : "text->text"));
	json_object_object_add(a, "input_modalities",
	    str_array(json_get(src, "input_modalities"), "text"));
	json_object_object_add(a, "output_modalities",
	    str_array(json_get(src, "output_modalities"), "text"));
	json_object_object_add(a, "tokenizer",
	    json_object_new_string(tokenizer ? tokenizer : "Other"));
	json_object_object_add(a, "instruct_type",
	    instruct ? json_object_new_string(instruct) : NULL);
	text = cat_strdup(c, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return text;
}

/* alias_ids from a JSON array (strings only); NULL array = none. */
static void
set_alias_ids(struct catalog *c, struct catalog_model *m, struct json_object *arr)
{
	const char **ids;
	size_t i, n, k = 0;

	m->alias_ids = NULL;
	m->nalias_ids = 0;
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	if (n > 256)
		n = 256;
	ids = cat_keep(c, xcalloc(n + 1, sizeof(*ids)));
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		if (json_object_is_type(json_object_array_get_idx(arr, i), json_type_string) &&
		    *s != '\0' && strlen(s) <= CATALOG_MAX_ID)
			ids[k++] = cat_strdup(c, s);
	}
	m->alias_ids = ids;
	m->nalias_ids = k;
}

/* Fill m from the OpenRouter-format object o. pub and up are the public and
 * upstream ids (borrowed; copied). alias_arr overrides o's alias_ids when
 * non-NULL. Returns -1 when the ids are unusable. */
static int
model_from_json(struct catalog *c, struct json_object *o, const char *pub, const char *up,
    struct json_object *alias_arr, struct catalog_model *m)
{
	struct json_object *tp, *prl;
	const char *s;
	int64_t v;

	memset(m, 0, sizeof(*m));
	if (pub == NULL || up == NULL || *pub == '\0' || *up == '\0' ||
	    strlen(pub) > CATALOG_MAX_ID || strlen(up) > CATALOG_MAX_ID)
		return -1;
	m->id = cat_strdup(c, pub);
	m->upstream_id = cat_strdup(c, up);
	s = json_get_str(o, "name");
	m->name = cat_strdup(c, s ? s : pub);
	s = json_get_str(o, "description");
	m->description = cat_strdup(c, s ? s : "");
	s = json_get_str(o, "canonical_slug");
	m->canonical_slug = s && *s && strlen(s) <= CATALOG_MAX_ID ? cat_strdup(c, s) : NULL;
	s = json_get_str(o, "upstream_provider_id");
	m->provider = s && *s ? cat_strdup(c, s) : NULL;
	m->created = json_get_i64(o, "created", &v) == 0 ? v : 0;
	m->price.context_length = get_count(o, "context_length", 0);
	m->top_context_length = -1;
	m->top_max_completion_tokens = -1;
	m->is_moderated = -1;
	tp = json_get(o, "top_provider");
	if (tp != NULL && json_object_is_type(tp, json_type_object)) {
		struct json_object *mod = json_get(tp, "is_moderated");

		m->has_top_provider = true;
		m->top_context_length = get_count(tp, "context_length", -1);
		m->top_max_completion_tokens = get_count(tp, "max_completion_tokens", -1);
		if (mod != NULL && json_object_is_type(mod, json_type_boolean))
			m->is_moderated = json_object_get_boolean(mod) ? 1 : 0;
	}
	m->price.top_context_length = m->top_context_length > 0 ? m->top_context_length : 0;
	m->price.max_completion_tokens =
	    m->top_max_completion_tokens > 0 ? m->top_max_completion_tokens : 0;
	m->priced = parse_prices(o, &m->price);
	m->architecture_json = architecture_text(c, o);
	prl = json_get(o, "per_request_limits");
	m->per_request_limits_json = prl != NULL && json_object_is_type(prl, json_type_object) ?
	    cat_strdup(c, json_object_to_json_string_ext(prl, JSON_C_TO_STRING_PLAIN)) : NULL;
	set_alias_ids(c, m, alias_arr != NULL ? alias_arr : json_get(o, "alias_ids"));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static struct catalog *
cat_new(void)
{
	struct catalog *c = xcalloc(1, sizeof(*c));

	atomic_init(&c->refs, 1);
	c->version = -1;
	return c;
}

static void
cat_free(struct catalog *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nstrs; i++)
		free(c->strs[i]);
	free(c->strs);
	free(c->models);
	free(c->hidden);
	map_free(&c->ids);
	map_free(&c->aliases);
	free(c);
}

/* Index of the visible model whose public id is id (case-insensitive), or
 * -1. Used only while loading, before the alias map exists. */
static long
find_public(const struct catalog *c, const char *id)
{
	char key[CATALOG_MAX_ID + 1];
	const struct slot *sl;
	size_t len;

	if (lower_key(id, key, &len) < 0)
		return -1;
	sl = map_probe(&c->ids, key, len, fnv1a(key, len));
	if (sl == NULL || sl->key == NULL || c->hidden[sl->model])
		return -1;
	return (long)sl->model;
}

/* Record model idx under its public id (called once per appended model). */
static void
index_public(struct catalog *c, uint32_t idx)
{
	char key[CATALOG_MAX_ID + 1];
	struct slot *sl;
	size_t len;
	uint64_t h;

	if (lower_key(c->models[idx].id, key, &len) < 0)
		return;
	if (c->ids.slots == NULL || (c->ids.used + 1) * 2 > c->ids.mask + 1)
		map_grow(&c->ids);
	h = fnv1a(key, len);
	sl = map_probe(&c->ids, key, len, h);
	if (sl->key == NULL) {
		sl->key = xstrndup(key, len);
		sl->hash = h;
		c->ids.used++;
	}
	sl->model = idx;
}

static struct catalog_model *
append(struct catalog *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->models = xrealloc(c->models, c->cap * sizeof(*c->models));
		c->hidden = xrealloc(c->hidden, c->cap * sizeof(*c->hidden));
	}
	c->hidden[c->n] = false;
	return &c->models[c->n++];
}

/* Read the whole file (capped) into a new buffer the caller frees. */
static enum rerr
read_file(const char *path, char **out, size_t *len)
{
	FILE *f = NULL;
	struct stat st;
	char *buf = NULL;
	enum rerr e = RERR_IO;
	size_t n;

	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) < 0) {
		log_error("catalog: %s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > CATALOG_MAX_FILE) {
		log_error("catalog: %s: larger than %u bytes", path, CATALOG_MAX_FILE);
		e = RERR_TOO_LARGE;
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size) {
		log_error("catalog: %s: short read", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	e = RERR_OK;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return e;
}

/* The models of a models.json: {"data":[...]}, {"models":[...]} or [...]. */
static enum rerr
load_file(struct catalog *c, const char *path)
{
	struct json_object *root = NULL, *arr = NULL;
	char *text = NULL;
	const char *why = NULL;
	size_t len = 0, i, n;
	enum rerr e;

	if ((e = read_file(path, &text, &len)) != RERR_OK)
		goto out;
	e = RERR_INVALID;
	if ((root = json_parse_strict(text, len, &why)) == NULL) {
		log_error("catalog: %s: %s", path, why ? why : "not JSON");
		goto out;
	}
	if (json_object_is_type(root, json_type_array))
		arr = root;
	else if ((arr = json_get(root, "data")) == NULL)
		arr = json_get(root, "models");
	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		log_error("catalog: %s: no \"data\" or \"models\" array", path);
		goto out;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *en;
		const char *up = json_get_str(o, "id");
		const char *fwd = json_get_str(o, "forwarded_model_id");
		const char *pub = fwd != NULL && *fwd != '\0' ? fwd : up;
		struct catalog_model m;

		en = json_get(o, "enabled");
		if (en != NULL && json_object_is_type(en, json_type_boolean) &&
		    !json_object_get_boolean(en))
			continue;
		if (c->n >= CATALOG_MAX_MODELS) {
			log_warn("catalog: %s: more than %d models; the rest are ignored", path,
			    CATALOG_MAX_MODELS);
			break;
		}
		if (model_from_json(c, o, pub, up, NULL, &m) < 0) {
			log_warn("catalog: %s: entry %zu has no usable id; skipped", path, i);
			continue;
		}
		if (find_public(c, m.id) >= 0) {
			log_warn("catalog: %s: duplicate model id %s; the first wins", path, m.id);
			continue;
		}
		*append(c) = m;
		index_public(c, (uint32_t)(c->n - 1));
	}
	e = RERR_OK;
out:
	json_object_put(root);
	free(text);
	return e;
}

int64_t
catalog_db_version(struct db *db)
{
	static const char sql[] = "SELECT version FROM catalog_version WHERE id = 1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t v = -1;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/* Apply the models table: override, add, hide. */
static enum rerr
load_db(struct catalog *c, struct db *db)
{
	static const char sql[] =
	    "SELECT id, upstream_id, data, alias_ids, enabled FROM models ORDER BY id";
	sqlite3_stmt *st = db_stmt(db, sql);
	enum rerr e = RERR_OK;
	int rc;

	if (st == NULL)
		return RERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *up = (const char *)sqlite3_column_text(st, 1);
		const char *data = (const char *)sqlite3_column_text(st, 2);
		const char *aliases = (const char *)sqlite3_column_text(st, 3);
		bool enabled = sqlite3_column_int(st, 4) != 0;
		struct json_object *o = NULL, *al = NULL;
		struct catalog_model m;
		const char *why = NULL;
		long at;

		if (id == NULL)
			continue;
		at = find_public(c, id);
		if (!enabled) {
			if (at >= 0)
				c->hidden[at] = true;
			continue;
		}
		o = data ? json_parse_strict(data, strlen(data), &why) : NULL;
		if (aliases != NULL)
			al = json_parse_strict(aliases, strlen(aliases), &why);
		if (o == NULL || !json_object_is_type(o, json_type_object) ||
		    model_from_json(c, o, id, up ? up : id, al, &m) < 0) {
			log_warn("catalog: models row %s is unusable; skipped", id);
		} else {
			m.from_db = true;
			if (at >= 0)
				c->models[at] = m;
			else if (c->n < CATALOG_MAX_MODELS) {
				*append(c) = m;
				index_public(c, (uint32_t)(c->n - 1));
			}
		}
		json_object_put(o);
		json_object_put(al);
	}
	if (rc != SQLITE_DONE) {
		log_error("catalog: read models: %s", sqlite3_errmsg(db_handle(db)));
		e = RERR_DB;
	}
	sqlite3_reset(st);
	return e;
}

/* Drop hidden models and index every alias. */
static void
finish(struct catalog *c)
{
	size_t i, k = 0;

	for (i = 0; i < c->n; i++)
		if (!c->hidden[i])
			c->models[k++] = c->models[i];
	c->n = k;
	free(c->hidden);
	c->hidden = NULL;
	map_free(&c->ids);
	for (i = 0; i < c->n; i++)
		alias_model(c, (uint32_t)i);
}

enum rerr
catalog_load(struct db *db, const char *models_path, struct catalog **out)
{
	struct catalog *c = cat_new();
	enum rerr e = RERR_OK;

	*out = NULL;
	if (db != NULL)
		c->version = catalog_db_version(db);
	if (models_path != NULL && *models_path != '\0' &&
	    (e = load_file(c, models_path)) != RERR_OK)
		goto out;
	if (db != NULL && (e = load_db(c, db)) != RERR_OK)
		goto out;
	finish(c);
	*out = c;
	c = NULL;
out:
	cat_free(c);
	return e;
}

struct catalog *
catalog_ref(struct catalog *c)
{
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void
catalog_release(struct catalog *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		cat_free(c);
}

/* ------------------------------------------------------------------------ */
/* Lookup                                                                    */

static const struct catalog_model *
find_exact(const struct catalog *c, const char *key, size_t len)
{
	const struct slot *s = map_probe(&c->aliases, key, len, fnv1a(key, len));

	return s != NULL && s->key != NULL ? &c->models[s->model] : NULL;
}

const struct catalog_model *
catalog_find(const struct catalog *c, const char *name)
{
	char key[CATALOG_MAX_ID + 1];
	const struct catalog_model *m;
	size_t len, cut;

	if (c == NULL || name == NULL || lower_key(name, key, &len) < 0)
		return NULL;
	if ((m = find_exact(c, key, len)) != NULL)
		return m;
	cut = strip_compact_date(key, len);
	return cut != len ? find_exact(c, key, cut) : NULL;
}

size_t
catalog_count(const struct catalog *c)
{
	return c != NULL ? c->n : 0;
}

const struct catalog_model *
catalog_at(const struct catalog *c, size_t i)
{
	return c != NULL && i < c->n ? &c->models[i] : NULL;
}

int64_t
catalog_version(const struct catalog *c)
{
	return c != NULL ? c->version : -1;
}

/* ------------------------------------------------------------------------ */
/* USD pricing for /v1/models                                                */

/* ceil(v * fee / 1e6) into an int64; -1 past INT64. */
static int
fee_up(u128 v, int64_t fee_ppm, int64_t *out)
{
	u128 r;

	/* fee_ppm <= 1e7 (conf caps fees at 10x) < 2^24, so v <= 2^100 keeps
	 * the product inside 128 bits; anything larger is past INT64 anyway. */
	if (v > ((u128)1 << 100) || (uint64_t)fee_ppm > (1u << 24))
		return -1;
	r = (v * (u128)(uint64_t)fee_ppm + (PRICING_PPM - 1)) / PRICING_PPM;
	if (r > (u128)INT64_MAX)
		return -1;
	*out = (int64_t)r;
	return 0;
}

enum rerr
catalog_usd_pricing(const struct catalog_model *m, int64_t fee_ppm, int64_t min_request_msat,
    int64_t out[CATALOG_USD__MAX])
{
	const int64_t *f = m->price.fusd;
	u128 pr = (u128)f[PRICING_PROMPT], co = (u128)f[PRICING_COMPLETION];
	u128 hi = pr > co ? pr : co, mp, mc, mx, floor = 0;
	u128 cl = (u128)m->price.top_context_length, mct = (u128)m->price.max_completion_tokens;
	u128 L = (u128)m->price.context_length;
	int i, bad = 0;

	if (fee_ppm <= 0)
		fee_ppm = PRICING_PPM;
	for (i = 0; i < PRICING__MAX; i++)
		bad |= fee_up((u128)f[i], fee_ppm, &out[i]);
	/* Reference 9.6. Token counts and prices are < 2^63, so each product
	 * fits u128; sums of three fit too. */
	if (cl > 0 && mct > 0) {
		mp = cl * pr;
		if (cl > mct) {
			mc = mct * co;
			mx = (cl - mct) * pr + mct * co;
		} else {
			mc = cl * co;
			mx = cl * hi;
		}
	} else if (cl > 0 || (mct == 0 && L > 0)) {
		u128 n = cl > 0 ? cl : L;

		mp = n * pr;
		mc = n * co;
		mx = n * hi;
	} else if (mct > 0) {
		mp = mct * pr;
		mc = mct * co;
		mx = mct * co;
	} else {
		mp = pr * 1000000;
		mc = co * 32000;
		mx = mp + mc + (u128)f[PRICING_REQUEST] * 100000 + (u128)f[PRICING_IMAGE] * 100 +
		    (u128)f[PRICING_WEB_SEARCH] * 1000 + (u128)f[PRICING_REASONING] * 100;
		/* MIN_REQUEST_MSAT / 1e6 "USD", as Routstr writes it. */
		floor = (u128)(min_request_msat > 0 ? min_request_msat : 0) * 1000000000;
	}
	bad |= fee_up(mp, fee_ppm, &out[CATALOG_USD_MAX_PROMPT]);
	bad |= fee_up(mc, fee_ppm, &out[CATALOG_USD_MAX_COMPLETION]);
	bad |= fee_up(mx, fee_ppm, &out[CATALOG_USD_MAX_COST]);
	if (!bad && (u128)out[CATALOG_USD_MAX_COST] < floor && floor <= (u128)INT64_MAX)
		out[CATALOG_USD_MAX_COST] = (int64_t)floor;
	if (bad) {
		memset(out, 0, sizeof(int64_t) * CATALOG_USD__MAX);
		return RERR_TOO_LARGE;
	}
	return RERR_OK;
}

/* ------------------------------------------------------------------------ */
/* The process-wide catalogue                                                */

struct file_sig {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;	/* guards cur_* */
static pthread_mutex_t reload_mu = PTHREAD_MUTEX_INITIALIZER;	/* one reload at a time */
static struct catalog *cur;		/* holds one reference */
static int64_t cur_version = -2;
static char *cur_path;
static struct file_sig cur_sig;
static int64_t cur_checked_us;		/* last stat of the file */

#define STAT_EVERY_US 1000000

static void
file_sig_of(const char *path, struct file_sig *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (path == NULL || *path == '\0' || stat(path, &st) < 0)
		return;
	s->exists = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
}

static bool
file_sig_eq(const struct file_sig *a, const struct file_sig *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* True when cur matches version v and path (caller holds cur_mu). */
static bool
cur_fresh(int64_t v, const char *path)
{
	return cur != NULL && cur_version == v && cur_path != NULL && strcmp(cur_path, path) == 0;
}

struct catalog *
catalog_current_path(struct db *db, const char *models_path)
{
	const char *path = models_path != NULL ? models_path : "";
	int64_t v = db != NULL ? catalog_db_version(db) : -1, now = mono_usec();
	struct catalog *c = NULL, *old = NULL;
	struct file_sig sig;
	bool stat_due;

	pthread_mutex_lock(&cur_mu);
	if (cur_fresh(v, path)) {
		stat_due = now - cur_checked_us >= STAT_EVERY_US;
		if (!stat_due) {
			c = catalog_ref(cur);
			pthread_mutex_unlock(&cur_mu);
			return c;
		}
		cur_checked_us = now;
		pthread_mutex_unlock(&cur_mu);
		file_sig_of(path, &sig);
		pthread_mutex_lock(&cur_mu);
		if (cur_fresh(v, path) && file_sig_eq(&sig, &cur_sig)) {
			c = catalog_ref(cur);
			pthread_mutex_unlock(&cur_mu);
			return c;
		}
	}
	/* A reload is needed. While another thread reloads, serve the old one;
	 * with none yet, wait for the first load and use it. */
	if (pthread_mutex_trylock(&reload_mu) != 0) {
		if (cur != NULL) {
			c = catalog_ref(cur);
			pthread_mutex_unlock(&cur_mu);
			return c;
		}
		pthread_mutex_unlock(&cur_mu);
		/* The loader needs a database connection: do not hold one
		 * while waiting for it. */
		db_release(db);
		pthread_mutex_lock(&reload_mu);
		pthread_mutex_lock(&cur_mu);
		if (cur_fresh(v, path)) {
			c = catalog_ref(cur);
			pthread_mutex_unlock(&cur_mu);
			pthread_mutex_unlock(&reload_mu);
			return c;
		}
	}
	pthread_mutex_unlock(&cur_mu);
	file_sig_of(path, &sig);
	if (catalog_load(db, path, &c) != RERR_OK) {
		log_error("catalog: reload failed; keeping the previous catalogue");
		c = NULL;
	} else {
		log_info("catalog: %zu models (db version %lld)", catalog_count(c), (long long)v);
	}
	pthread_mutex_lock(&cur_mu);
	if (c != NULL) {
		old = cur;
		cur = c;
	} else if (cur == NULL) {
		cur = cat_new();
		finish(cur);
	}
	cur_version = v;
	cur_sig = sig;
	cur_checked_us = mono_usec();
	free(cur_path);
	cur_path = xstrdup(path);
	c = catalog_ref(cur);
	pthread_mutex_unlock(&cur_mu);
	pthread_mutex_unlock(&reload_mu);
	catalog_release(old);
	return c;
}

struct catalog *
catalog_current(struct db *db)
{
	return catalog_current_path(db, conf_str(conf_get(), CONF_MODELS_PATH));
}

void
catalog_reset(void)
{
	struct catalog *old;

	pthread_mutex_lock(&reload_mu);
	pthread_mutex_lock(&cur_mu);
	old = cur;
	cur = NULL;
	cur_version = -2;
	free(cur_path);
	cur_path = NULL;
	memset(&cur_sig, 0, sizeof(cur_sig));
	cur_checked_us = 0;
	pthread_mutex_unlock(&cur_mu);
	pthread_mutex_unlock(&reload_mu);
	catalog_release(old);
}

enum rerr
catalog_set_shown(struct db *db, const char *id, bool shown)
{
	/* A hidden file model is a row of its own with no data; showing it
	 * again drops that row. A model the table made keeps its row. */
	static const char get_sql[] = "SELECT data = '{}' FROM models WHERE id = ?1";
	static const char hide_sql[] =
	    "INSERT INTO models (id, data, enabled, updated_at) VALUES (?1, '{}', 0, ?2)"
	    " ON CONFLICT (id) DO UPDATE SET enabled = 0, updated_at = ?2";
	static const char show_empty_sql[] = "DELETE FROM models WHERE id = ?1 AND data = '{}'";
	static const char show_sql[] = "UPDATE models SET enabled = 1, updated_at = ?2 WHERE id = ?1";
	sqlite3_stmt *st;
	int rc, empty = -1;

	if (id == NULL || strlen(id) == 0 || strlen(id) > CATALOG_MAX_ID)
		return RERR_INVALID;
	if ((st = db_stmt(db, get_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		empty = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	st = db_stmt(db, !shown ? hide_sql : empty == 1 ? show_empty_sql : show_sql);
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (!(shown && empty == 1))
		sqlite3_bind_int64(st, 2, wall_sec());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? RERR_OK : RERR_DB;
}

int
catalog_hidden(struct db *db, char (*ids)[CATALOG_MAX_ID + 1], size_t max)
{
	static const char sql[] = "SELECT id FROM models WHERE enabled = 0 ORDER BY id LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	size_t n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		snprintf(ids[n++], CATALOG_MAX_ID + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return (int)n;
}

/* fUSD (1e-15 USD) as the decimal USD text of a models.json price. */
static struct json_object *
usd_text(int64_t fusd)
{
	char s[48];

	snprintf(s, sizeof(s), "%s%lld.%015lld", fusd < 0 ? "-" : "",
	    (long long)(llabs(fusd) / PRICING_FUSD_PER_USD),
	    (long long)(llabs(fusd) % PRICING_FUSD_PER_USD));
	return json_object_new_string(s);
}

enum rerr
catalog_set_price(struct db *db, const struct catalog_model *m, int64_t prompt_fusd,
    int64_t completion_fusd)
{
	static const char sql[] =
	    "INSERT INTO models (id, upstream_id, data, enabled, updated_at) VALUES (?1, ?2, ?3, 1, ?4)"
	    " ON CONFLICT (id) DO UPDATE SET upstream_id = ?2, data = ?3, enabled = 1, updated_at = ?4";
	struct json_object *o, *p, *tp, *sub;
	sqlite3_stmt *st;
	const char *why = NULL, *text;
	int f, rc;

	if (prompt_fusd < 0 || completion_fusd < 0)
		return RERR_INVALID;
	/* The model as it is now, its prices changed: the row replaces the
	 * whole entry (load_db), so everything else is carried over. */
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "description", json_object_new_string(m->description));
	if (m->canonical_slug)
		json_object_object_add(o, "canonical_slug", json_object_new_string(m->canonical_slug));
	if (m->created)
		json_object_object_add(o, "created", json_object_new_int64(m->created));
	if (m->price.context_length)
		json_object_object_add(o, "context_length",
		    json_object_new_int64(m->price.context_length));
	if (m->architecture_json && (sub = json_parse_strict(m->architecture_json,
	    strlen(m->architecture_json), &why)) != NULL)
		json_object_object_add(o, "architecture", sub);
	if (m->per_request_limits_json && (sub = json_parse_strict(m->per_request_limits_json,
	    strlen(m->per_request_limits_json), &why)) != NULL)
		json_object_object_add(o, "per_request_limits", sub);
	if (m->has_top_provider) {
		tp = json_object_new_object();
		json_object_object_add(tp, "context_length", m->top_context_length >= 0 ?
		    json_object_new_int64(m->top_context_length) : NULL);
		json_object_object_add(tp, "max_completion_tokens", m->top_max_completion_tokens >= 0 ?
		    json_object_new_int64(m->top_max_completion_tokens) : NULL);
		json_object_object_add(tp, "is_moderated", m->is_moderated < 0 ? NULL :
		    json_object_new_boolean(m->is_moderated));
		json_object_object_add(o, "top_provider", tp);
	}
	p = json_object_new_object();
	for (f = 0; f < PRICING__MAX; f++)
		json_object_object_add(p, pricing_field_key[f], usd_text(f == PRICING_PROMPT ?
		    prompt_fusd : f == PRICING_COMPLETION ? completion_fusd : m->price.fusd[f]));
	json_object_object_add(o, "pricing", p);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if ((st = db_stmt(db, sql)) == NULL) {
		json_object_put(o);
		return RERR_DB;
	}
	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_TRANSIENT);
	if (strcmp(m->upstream_id, m->id) != 0)
		sqlite3_bind_text(st, 2, m->upstream_id, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, wall_sec());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	json_object_put(o);
	return rc == SQLITE_DONE ? RERR_OK : RERR_DB;
}
