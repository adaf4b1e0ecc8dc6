/* providers: the upstreams a node relays to (migrations/0008_providers.sql),
 * which models each serves and in what order, and which are resting after
 * repeated failures.
 *
 * Who owns what: a process keeps one read-only snapshot of the providers
 * tables, rebuilt when catalog_version changes (one integer read per
 * request, as the catalogue does), and shared by reference between threads
 * (providers_current / providers_release). The health table (failures and
 * rest periods, lighttpd's disable-time idea) is per process, in memory:
 * a provider that fails PROVIDERS_FAILS_MAX times in a row rests for
 * PROVIDERS_REST_S seconds, during which it is tried only when nothing
 * else is left. */
#ifndef ROUTSTR_PROVIDERS_H
#define ROUTSTR_PROVIDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"

#define PROVIDERS_MAX 32		/* candidates considered for one request */
#define PROVIDERS_FAILS_MAX 3
#define PROVIDERS_REST_S 30

struct conf;

struct provider {
	int64_t id;
	const char *slug;
	const char *type;		/* openai, openrouter, anthropic, generic */
	const char *base_url;
	const char *api_key;		/* NULL: none */
	int64_t fee_ppm;		/* -1: UPSTREAM_PROVIDER_FEE */
	int64_t priority;
	bool has_models;		/* serves only its provider_models rows */
};

/* One way to serve a model: a provider and its id for the model. */
struct provider_route {
	const struct provider *p;	/* borrowed from the snapshot */
	const char *upstream_id;	/* NULL: the catalogue's upstream id */
};

struct providers;

/* The current snapshot (a reference the caller releases). NULL only when
 * the tables cannot be read. */
struct providers *providers_current(struct db *db);
void providers_release(struct providers *ps);

/* Candidates for the model the client named (name) or its catalogue id (id),
 * in order: explicit mappings by their priority, then providers serving every
 * model, each by priority; resting providers last. anthropic_api: the
 * request is Anthropic's Messages API (served by anthropic, openrouter and
 * generic providers), otherwise OpenAI's (not by anthropic ones). Returns the
 * number written to out (at most max). */
size_t providers_for(const struct providers *ps, const char *name, const char *id,
    bool anthropic_api, struct provider_route *out, size_t max);

/* Every provider of the snapshot, in order (for /v1/models/paths). */
size_t providers_count(const struct providers *ps);
const struct provider *providers_at(const struct providers *ps, size_t i);

/* Report how an attempt went: failures past the limit rest the provider. */
void providers_report(int64_t id, bool ok);
/* Whether provider id rests now. */
bool providers_resting(int64_t id);
/* Forget all health (tests). */
void providers_health_reset(void);

/* Seed the from_env row from UPSTREAM_BASE_URL / UPSTREAM_API_KEY (or drop it
 * when the setting is empty); its type and slug come from the URL. Only
 * routstr.fcgi calls it, at start: routstrctl, run from cron with another
 * environment, must not rewrite the node's key. */
enum rerr providers_seed_env(struct db *db, const struct conf *c);

/* The provider type a base URL names (openrouter.ai, api.anthropic.com,
 * api.openai.com), else "generic". */
const char *providers_type_of_url(const char *base_url);

/* Operator changes (routstrctl provider ...). */
enum rerr providers_add(struct db *db, const char *slug, const char *type, const char *base_url,
    const char *api_key, int64_t fee_ppm, int64_t priority);
/* What a provider's slug may be (a-z 0-9 '-', 1..64, not starting with
 * '-') and its type (openai, openrouter, anthropic, generic). */
bool providers_slug_ok(const char *s);
bool providers_type_ok(const char *t);

/* Change an existing provider (api_key NULL: keep it). RERR_NOT_FOUND. */
enum rerr providers_update(struct db *db, const char *slug, const char *type, const char *base_url,
    const char *api_key, int64_t fee_ppm, int64_t priority);
enum rerr providers_set_enabled(struct db *db, const char *slug, bool enabled);
enum rerr providers_remove(struct db *db, const char *slug);
enum rerr providers_map(struct db *db, const char *slug, const char *model_id,
    const char *upstream_id, int64_t priority);

#endif
