/* providers: see providers.h. */
#include "config.h"

#include "db_sql.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "conf.h"
#include "log.h"
#include "providers.h"
#include "util.h"

#define HEALTH_MAX 64

struct mapping {
	size_t provider;		/* index into providers */
	char *model_id;
	char *upstream_id;		/* NULL: the catalogue's */
	int64_t priority;
};

struct providers {
	int refs;			/* under cur_mu */
	int64_t version;
	struct provider *v;
	size_t n;
	struct mapping *maps;
	size_t nmaps;
};

static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;
static struct providers *cur;

/* ------------------------------------------------------------ snapshot */

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? xstrdup((const char *)s) : NULL;
}

static void
snapshot_free(struct providers *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		free((char *)ps->v[i].slug);
		free((char *)ps->v[i].type);
		free((char *)ps->v[i].base_url);
		free((char *)ps->v[i].api_key);
	}
	for (i = 0; i < ps->nmaps; i++) {
		free(ps->maps[i].model_id);
		free(ps->maps[i].upstream_id);
	}
	free(ps->v);
	free(ps->maps);
	free(ps);
}

static enum rerr
snapshot_load(struct db *db, int64_t version, struct providers **out)
{
	static const char psql[] =
	    "SELECT p.id, p.slug, p.type, p.base_url, p.api_key, coalesce(p.fee_ppm, -1),"
	    " p.priority, EXISTS (SELECT 1 FROM provider_models m WHERE m.provider_id = p.id)"
	    " FROM providers p WHERE p.enabled = 1 ORDER BY p.priority, p.id";
	static const char msql[] =
	    "SELECT m.provider_id, m.model_id, m.upstream_id, m.priority FROM provider_models m"
	    " JOIN providers p ON p.id = m.provider_id WHERE p.enabled = 1"
	    " ORDER BY m.priority, p.priority, p.id";
	struct providers *ps = xcalloc(1, sizeof(*ps));
	sqlite3_stmt *st;
	size_t cap = 0, i;
	int rc;

	ps->version = version;
	if ((st = db_stmt(db, psql)) == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct provider *p;

		if (ps->n == cap) {
			cap = cap ? cap * 2 : 4;
			ps->v = xrealloc(ps->v, cap * sizeof(*ps->v));
		}
		p = &ps->v[ps->n++];
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(st, 0);
		p->slug = col_dup(st, 1);
		p->type = col_dup(st, 2);
		p->base_url = col_dup(st, 3);
		p->api_key = col_dup(st, 4);
		p->fee_ppm = sqlite3_column_int64(st, 5);
		p->priority = sqlite3_column_int64(st, 6);
		p->has_models = sqlite3_column_int(st, 7) != 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	if ((st = db_stmt(db, msql)) == NULL)
		goto fail;
	cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(st, 0);
		struct mapping *m;

		for (i = 0; i < ps->n && ps->v[i].id != pid; i++)
			continue;
		if (i == ps->n)
			continue;
		if (ps->nmaps == cap) {
			cap = cap ? cap * 2 : 8;
			ps->maps = xrealloc(ps->maps, cap * sizeof(*ps->maps));
		}
		m = &ps->maps[ps->nmaps++];
		m->provider = i;
		m->model_id = col_dup(st, 1);
		m->upstream_id = col_dup(st, 2);
		m->priority = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	*out = ps;
	return RERR_OK;
fail:
	log_error("providers: cannot read the providers tables: %s",
	    sqlite3_errmsg(db_handle(db)));
	snapshot_free(ps);
	return RERR_DB;
}

struct providers *
providers_current(struct db *db)
{
	int64_t v = catalog_db_version(db);
	struct providers *ps = NULL, *old = NULL;

	pthread_mutex_lock(&cur_mu);
	if (cur != NULL && cur->version == v) {
		cur->refs++;
		ps = cur;
	}
	pthread_mutex_unlock(&cur_mu);
	if (ps != NULL)
		return ps;
	if (snapshot_load(db, v, &ps) != RERR_OK)
		return NULL;
	ps->refs = 2;	/* ours (as cur) and the caller's */
	pthread_mutex_lock(&cur_mu);
	old = cur;
	cur = ps;
	if (old != NULL && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&cur_mu);
	snapshot_free(old);
	return ps;
}

void
providers_release(struct providers *ps)
{
	bool last;

	if (ps == NULL)
		return;
	pthread_mutex_lock(&cur_mu);
	last = --ps->refs == 0;
	pthread_mutex_unlock(&cur_mu);
	if (last)
		snapshot_free(ps);
}

size_t
providers_count(const struct providers *ps)
{
	return ps ? ps->n : 0;
}

const struct provider *
providers_at(const struct providers *ps, size_t i)
{
	return ps && i < ps->n ? &ps->v[i] : NULL;
}

/* --------------------------------------------------------- candidates */

static bool
type_serves(const char *type, bool anthropic_api)
{
	if (anthropic_api)
		return strcmp(type, "anthropic") == 0 || strcmp(type, "openrouter") == 0 ||
		    strcmp(type, "generic") == 0;
	return strcmp(type, "anthropic") != 0;
}

static bool
listed(const struct provider_route *out, size_t n, const struct provider *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (out[i].p == p)
			return true;
	return false;
}

size_t
providers_for(const struct providers *ps, const char *name, const char *id,
    bool anthropic_api, struct provider_route *out, size_t max)
{
	struct provider_route tmp[PROVIDERS_MAX];
	size_t n = 0, i, k = 0;
	int pass;

	if (ps == NULL)
		return 0;
	for (i = 0; i < ps->nmaps && n < PROVIDERS_MAX; i++) {
		const struct mapping *m = &ps->maps[i];
		const struct provider *p = &ps->v[m->provider];

		if ((name == NULL || strcasecmp(m->model_id, name) != 0) &&
		    (id == NULL || strcasecmp(m->model_id, id) != 0))
			continue;
		if (!type_serves(p->type, anthropic_api) || listed(tmp, n, p))
			continue;
		tmp[n].p = p;
		tmp[n++].upstream_id = m->upstream_id;
	}
	for (i = 0; i < ps->n && n < PROVIDERS_MAX; i++) {
		const struct provider *p = &ps->v[i];

		if (p->has_models || !type_serves(p->type, anthropic_api) || listed(tmp, n, p))
			continue;
		tmp[n].p = p;
		tmp[n++].upstream_id = NULL;
	}
	/* Resting providers go last, in the same order. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n && k < max; i++)
			if (providers_resting(tmp[i].p->id) == (pass == 1))
				out[k++] = tmp[i];
	return k;
}

/* ------------------------------------------------------------- health */

static pthread_mutex_t health_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int64_t id;
	int fails;
	int64_t until_us;
} health[HEALTH_MAX];

void
providers_report(int64_t id, bool ok)
{
	size_t i, free_slot = HEALTH_MAX;

	pthread_mutex_lock(&health_mu);
	for (i = 0; i < HEALTH_MAX; i++) {
		if (health[i].id == id)
			break;
		if (health[i].id == 0 && free_slot == HEALTH_MAX)
			free_slot = i;
	}
	if (i == HEALTH_MAX && !ok && free_slot < HEALTH_MAX) {
		i = free_slot;
		health[i].id = id;
		health[i].fails = 0;
	}
	if (i < HEALTH_MAX) {
		if (ok) {
			health[i].fails = 0;
			health[i].until_us = 0;
		} else if (++health[i].fails >= PROVIDERS_FAILS_MAX) {
			health[i].until_us = mono_usec() + (int64_t)PROVIDERS_REST_S * 1000000;
			health[i].fails = 0;
			log_warn("providers: provider %lld failed %d times in a row: resting %d s",
			    (long long)id, PROVIDERS_FAILS_MAX, PROVIDERS_REST_S);
		}
	}
	pthread_mutex_unlock(&health_mu);
}

bool
providers_resting(int64_t id)
{
	bool r = false;
	size_t i;

	pthread_mutex_lock(&health_mu);
	for (i = 0; i < HEALTH_MAX; i++)
		if (health[i].id == id) {
			r = health[i].until_us > mono_usec();
			break;
		}
	pthread_mutex_unlock(&health_mu);
	return r;
}

void
providers_health_reset(void)
{
	pthread_mutex_lock(&health_mu);
	memset(health, 0, sizeof(health));
	pthread_mutex_unlock(&health_mu);
}

/* ------------------------------------------------------------- changes */

const char *
providers_type_of_url(const char *base_url)
{
	if (strstr(base_url, "openrouter.ai") != NULL)
		return "openrouter";
	if (strstr(base_url, "api.anthropic.com") != NULL)
		return "anthropic";
	if (strstr(base_url, "api.openai.com") != NULL)
		return "openai";
	return "generic";
}

/* Run one statement with up to 7 text/int arguments: "t" text (NULL binds
 * NULL), "i" int64. Returns changed rows or -1. */
static int
run(struct db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	va_list ap;
	int i, rc;

	if (st == NULL)
		return -1;
	va_start(ap, fmt);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("providers: %s", sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	return sqlite3_changes(db_handle(db));
}

enum rerr
providers_seed_env(struct db *db, const struct conf *c)
{
	static const char drop_sql[] =
	    "DELETE FROM providers WHERE from_env = 1 AND slug IS NOT ?1";
	static const char up_sql[] =
	    "INSERT INTO providers (slug, type, base_url, api_key, from_env, created_at)"
	    " VALUES (?1, ?1, ?2, ?3, 1, ?4) ON CONFLICT (slug) DO UPDATE SET"
	    " base_url = excluded.base_url, api_key = excluded.api_key"
	    " WHERE from_env = 1 AND (base_url IS NOT excluded.base_url"
	    " OR api_key IS NOT excluded.api_key)";
	const char *base = conf_str(c, CONF_UPSTREAM_BASE_URL);
	const char *key = conf_str(c, CONF_UPSTREAM_API_KEY);
	const char *type = *base ? providers_type_of_url(base) : NULL;

	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	if (run(db, drop_sql, "t", type) < 0 ||
	    (type && run(db, up_sql, "ttti", type, base, *key ? key : NULL, wall_sec()) < 0)) {
		db_rollback(db);
		return RERR_DB;
	}
	return db_commit(db);
}

enum rerr
providers_add(struct db *db, const char *slug, const char *type, const char *base_url,
    const char *api_key, int64_t fee_ppm, int64_t priority)
{
	static const char sql[] =
	    "INSERT INTO providers (slug, type, base_url, api_key, fee_ppm, priority, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, nullif(?5, -1), ?6, ?7)";

	/* The fee multiplies the cost (1000000 = 1.0, as UPSTREAM_PROVIDER_FEE):
	 * below 1.0 would sell below cost; -1 is the default. */
	if (slug == NULL || type == NULL || base_url == NULL ||
	    (fee_ppm != -1 && fee_ppm < 1000000))
		return RERR_INVALID;
	return run(db, sql, "ttttiii", slug, type, base_url, api_key, fee_ppm, priority,
	    wall_sec()) == 1 ? RERR_OK : RERR_CONFLICT;
}

bool
providers_slug_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 64 || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool
providers_type_ok(const char *t)
{
	return t && (strcmp(t, "openai") == 0 || strcmp(t, "openrouter") == 0 ||
	    strcmp(t, "anthropic") == 0 || strcmp(t, "generic") == 0);
}

enum rerr
providers_update(struct db *db, const char *slug, const char *type, const char *base_url,
    const char *api_key, int64_t fee_ppm, int64_t priority)
{
	static const char sql[] =
	    "UPDATE providers SET type = ?2, base_url = ?3, api_key = coalesce(?4, api_key),"
	    " fee_ppm = nullif(?5, -1), priority = ?6 WHERE slug = ?1";
	int n;

	if (slug == NULL || type == NULL || base_url == NULL ||
	    (fee_ppm != -1 && fee_ppm < 1000000))
		return RERR_INVALID;
	n = run(db, sql, "ttttii", slug, type, base_url, api_key, fee_ppm, priority);
	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}

enum rerr
providers_set_enabled(struct db *db, const char *slug, bool enabled)
{
	static const char sql[] = "UPDATE providers SET enabled = ?2 WHERE slug = ?1";
	int n = run(db, sql, "ti", slug, (int64_t)enabled);

	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}

enum rerr
providers_remove(struct db *db, const char *slug)
{
	static const char sql[] = "DELETE FROM providers WHERE slug = ?1";
	int n = run(db, sql, "t", slug);

	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}

enum rerr
providers_map(struct db *db, const char *slug, const char *model_id, const char *upstream_id,
    int64_t priority)
{
	static const char sql[] =
	    "INSERT INTO provider_models (provider_id, model_id, upstream_id, priority)"
	    " SELECT id, ?2, ?3, ?4 FROM providers WHERE slug = ?1"
	    " ON CONFLICT (provider_id, model_id) DO UPDATE SET"
	    " upstream_id = excluded.upstream_id, priority = excluded.priority";
	int n = run(db, sql, "ttti", slug, model_id, upstream_id, priority);

	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}
