/* catalog: the model catalogue. An immutable, in-memory index of the models
 * this node serves, built from the models.json at MODELS_PATH (OpenRouter's
 * format) and the `models` table (rows override file models with the same id,
 * add models, or hide them when disabled). One catalogue is shared by all
 * threads of a process; it is never changed after it is built, so readers
 * take no lock beyond catalog_current's reference count.
 *
 * Ids. Each model has a public id (what clients send and /v1/models lists)
 * and an upstream id (what is sent upstream as "model"). In models.json the
 * entry's "id" is the upstream id and "forwarded_model_id", when present, the
 * public one (Routstr's convention, reference 9.3); otherwise both are "id".
 * In the table, column id is public and upstream_id (NULL = id) upstream.
 *
 * Lookup is case-insensitive over every alias of reference 9.5: both ids,
 * each without its first "vendor/" prefix, dated ids ("-YYYY-MM-DD") without
 * the date, canonical_slug and its forms, alias_ids. When the exact name is
 * unknown and it ends in "-YYYYMMDD", the name without that suffix is tried.
 * An alias shared by two models goes to the higher priority (public id 5,
 * upstream id 4, unprefixed id 3, unprefixed canonical slug 2, other 1), then
 * the cheaper model, then the first loaded.
 *
 * Prices are fUSD per unit before any fee (struct pricing_model). A model
 * whose pricing is missing, or has a negative or malformed prompt or
 * completion price, or any malformed price, is unpriced (priced = false): it
 * can only be served in FIXED_PRICING mode. Zero prices are valid (free local
 * models still pay MIN_REQUEST_MSAT). */
#ifndef ROUTSTR_CATALOG_H
#define ROUTSTR_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pricing.h"

struct db;

#define CATALOG_MAX_ID 256		/* longest id or alias, bytes */
#define CATALOG_MAX_MODELS 20000
#define CATALOG_MAX_FILE (32u << 20)	/* models.json cap: 32 MiB */

/* One model. Every string is owned by the catalogue and lives as long as it. */
struct catalog_model {
	const char *id;			/* public id */
	const char *upstream_id;	/* sent upstream as "model" */
	const char *name;		/* defaults to id */
	const char *description;	/* "" if none */
	const char *canonical_slug;	/* NULL if none */
	const char *provider;		/* "upstream_provider_id" of the entry, NULL if none */
	int64_t created;		/* unix seconds, 0 if unknown */
	struct pricing_model price;	/* fUSD per unit before fees; context sizes */
	bool priced;
	/* top_provider: present or null, and each member or -1 for null */
	bool has_top_provider;
	int64_t top_context_length;
	int64_t top_max_completion_tokens;
	int is_moderated;		/* 1, 0, -1 = null */
	const char *const *alias_ids;	/* configured alias_ids; NULL when none (JSON null) */
	size_t nalias_ids;
	/* Compact JSON text, re-parsed per response so no json-c object is
	 * shared between threads. architecture is normalised to Routstr's five
	 * keys; per_request_limits is NULL for JSON null. */
	const char *architecture_json;
	const char *per_request_limits_json;
	bool from_db;			/* a table row made or overrode it */
};

struct catalog;

/* Build a catalogue from the file at models_path (NULL or "" = none) and, when
 * db is non-NULL, the models table. The caller owns *out (refcount 1; drop it
 * with catalog_release). RERR_IO: the file cannot be read; RERR_INVALID: it is
 * not a catalogue (the reason is logged); RERR_DB. Individual bad entries are
 * skipped with a warning, not fatal. */
enum rerr catalog_load(struct db *db, const char *models_path, struct catalog **out);

/* Take and drop a reference. The last release frees the catalogue. Both are
 * thread-safe (atomic). */
struct catalog *catalog_ref(struct catalog *c);
void catalog_release(struct catalog *c);

/* The process-wide catalogue for MODELS_PATH (conf_get()), reloaded when the
 * database's catalog_version changed or the file changed (checked by stat at
 * most once a second). Cost when nothing changed: one cached SELECT of an
 * integer and a mutex. Never NULL: when a reload fails the previous catalogue
 * stays (an empty one at first). The caller owns a reference: release it with
 * catalog_release. db is the calling thread's. */
struct catalog *catalog_current(struct db *db);
/* The same for an explicit file path (tests, routstrctl). */
struct catalog *catalog_current_path(struct db *db, const char *models_path);
/* Drop the process-wide catalogue (tests, shutdown). */
void catalog_reset(void);

/* The table's version counter; -1 on error. */
int64_t catalog_db_version(struct db *db);

/* Find a model by id or alias (see above). Borrowed from c; NULL if unknown.
 * Names longer than CATALOG_MAX_ID are unknown. */
const struct catalog_model *catalog_find(const struct catalog *c, const char *name);

/* The models in listing order (file order, then table-only rows by id). */
size_t catalog_count(const struct catalog *c);
const struct catalog_model *catalog_at(const struct catalog *c, size_t i);
/* The version of the table the catalogue was built from (-1 without db). */
int64_t catalog_version(const struct catalog *c);

/* Routstr's USD "pricing" object of a model, fee applied (reference 9.6):
 * the eight per-unit prices then max_prompt_cost, max_completion_cost,
 * max_cost, in fUSD, each rounded up. fee_ppm: UPSTREAM_PROVIDER_FEE x 1e6;
 * min_request_msat floors max_cost when the model states no size.
 * RERR_TOO_LARGE when a value passes INT64 fUSD. */
#define CATALOG_USD_MAX_PROMPT PRICING__MAX
#define CATALOG_USD_MAX_COMPLETION (PRICING__MAX + 1)
#define CATALOG_USD_MAX_COST (PRICING__MAX + 2)
#define CATALOG_USD__MAX (PRICING__MAX + 3)
enum rerr catalog_usd_pricing(const struct catalog_model *m, int64_t fee_ppm,
    int64_t min_request_msat, int64_t out[CATALOG_USD__MAX]);

/* The operator hides a model (a file model too) or shows it again
 * (dashboard). The catalogue's version moves, so every process rebuilds. */
enum rerr catalog_set_shown(struct db *db, const char *id, bool shown);
/* The operator's prices for model m (fUSD per prompt and completion token,
 * >= 0): a models row that carries m as it is now with those prices (the
 * row replaces the whole entry). */
enum rerr catalog_set_price(struct db *db, const struct catalog_model *m, int64_t prompt_fusd,
    int64_t completion_fusd);
/* The ids of hidden models, at most max; their count or -1. */
int catalog_hidden(struct db *db, char (*ids)[CATALOG_MAX_ID + 1], size_t max);

#endif
