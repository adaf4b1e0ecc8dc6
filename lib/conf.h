/* conf: the node's settings. Defaults < key=value file (-c or ROUTSTR_CONFIG)
 * < environment variables under Routstr's names. Every key is typed and
 * range-checked once at start; after conf_load the settings are read-only and
 * shared by all threads (conf_get). File keys are the environment names in
 * lower case: "upstream_base_url = http://127.0.0.1:9000/v1". */
#ifndef ROUTSTR_CONF_H
#define ROUTSTR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_key {
	/* process */
	CONF_LISTEN,			/* "" = spawned (socket on fd 0); unix:/p, tcp:host:port, :port */
	CONF_WORKERS,
	CONF_MAX_WORKERS,
	CONF_DB_POOL_SIZE,
	CONF_DATABASE_URL,
	CONF_DB_SYNCHRONOUS,		/* off | normal | full */
	CONF_MAX_BODY_BYTES,
	CONF_MAX_HEADER_BYTES,
	CONF_LOG_FILE,
	CONF_LOG_LEVEL,
	/* upstream */
	CONF_UPSTREAM_BASE_URL,
	CONF_UPSTREAM_API_KEY,
	CONF_UPSTREAM_CONNECT_TIMEOUT,
	CONF_UPSTREAM_IDLE_TIMEOUT,
	CONF_UPSTREAM_MAX_RESPONSE_BYTES,
	CONF_KEEPALIVE_INTERVAL,
	CONF_UPSTREAM_FORWARD_HEADERS,	/* client request headers forwarded beyond the built-in few */
	/* node identity */
	CONF_NAME,
	CONF_DESCRIPTION,
	CONF_NPUB,
	CONF_HTTP_URL,
	CONF_ONION_URL,
	CONF_CORS_ORIGINS,
	CONF_ROOT_PATH,			/* "" = detect the mount; "/" = the whole site; else the mount */
	/* cashu */
	CONF_CASHU_MINTS,
	CONF_PRIMARY_MINT_URL,
	CONF_PRIMARY_MINT_UNIT,
	CONF_MINT_OPERATION_TIMEOUT_SECONDS,
	CONF_MINT_RETRY_MAX_ATTEMPTS,
	/* pricing */
	CONF_MODELS_PATH,
	CONF_FIXED_PRICING,
	CONF_FIXED_COST_PER_REQUEST,
	CONF_FIXED_PER_1K_INPUT_TOKENS,
	CONF_FIXED_PER_1K_OUTPUT_TOKENS,
	CONF_EXCHANGE_FEE,
	CONF_UPSTREAM_PROVIDER_FEE,
	CONF_TOLERANCE_PERCENTAGE,
	CONF_MIN_REQUEST_MSAT,
	CONF_CHILD_KEY_COST,
	CONF_BTC_USD_FALLBACK,
	CONF_PRICE_MAX_AGE_SECONDS,
	CONF_PRICE_SOURCES,
	CONF_RECEIVE_LN_ADDRESS,
	CONF_MIN_PAYOUT_SAT,
	CONF_PAYOUT_INTERVAL_SECONDS,
	CONF_LNURL_ALLOW_HTTP,
	CONF_TEST_CRASH_FILE,
	CONF__MAX
};

enum conf_type {
	CONF_T_STR,	/* any string up to 4 KiB */
	CONF_T_URL,	/* "" or http(s)://... */
	CONF_T_PATH,	/* "", "/" or a URL path such as /~alice/routstr (lib/mount.h) */
	CONF_T_LIST,	/* comma-separated; items trimmed, empties dropped */
	CONF_T_INT,	/* int64 in [min, max] */
	CONF_T_BOOL,
	CONF_T_DEC,	/* decimal with up to 6 places, stored scaled by 1e6 */
	CONF_T_ENUM,	/* one of a '|'-separated set, stored as its index */
};

/* The static description of one key; index = enum conf_key. */
struct conf_def {
	const char *env;	/* environment name, e.g. "UPSTREAM_BASE_URL" */
	enum conf_type type;
	const char *def;	/* default, in file syntax */
	int64_t min, max;	/* INT and DEC (scaled) bounds */
	const char *choices;	/* ENUM: "off|normal|full" */
	const char *help;
};

extern const struct conf_def conf_defs[CONF__MAX];

struct conf;

/* Load defaults, then the file at path (NULL: ROUTSTR_CONFIG, or none), then
 * the environment. On error writes "file:line: message" (or "ENV: message")
 * into err and returns NULL. The caller owns the result. */
struct conf *conf_load(const char *path, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Install c as the process-wide settings (conf_get); the process keeps it. */
void conf_set_global(struct conf *c);
const struct conf *conf_get(void);

/* Typed readers. The returned strings are owned by c. */
const char *conf_str(const struct conf *c, enum conf_key k);
int64_t conf_int(const struct conf *c, enum conf_key k);	/* INT, DEC (scaled), ENUM index */
bool conf_bool(const struct conf *c, enum conf_key k);
/* LIST: the items (owned by c), count in *n. */
const char *const *conf_list(const struct conf *c, enum conf_key k, size_t *n);
/* Where the value came from: "default", "file", "env", "dashboard". */
const char *conf_source(const struct conf *c, enum conf_key k);

/* Set one key from text, as the file would (used by tests and routstrctl).
 * Returns 0, or -1 with a message in err. */
int conf_set(struct conf *c, enum conf_key k, const char *value, char *err, size_t errlen);

/* The dashboard's layer (lib/settings.c): whether k may change at run
 * time; set k from the operator's saved value (source "dashboard"), -1 with
 * err for a bad value or a key that may not change; the key of an
 * environment name, or -1. */
bool conf_editable(enum conf_key k);
int conf_set_dashboard(struct conf *c, enum conf_key k, const char *value, char *err,
    size_t errlen);
int conf_key_of(const char *env);
/* A fresh load from the same file and environment as old (caller owns). */
struct conf *conf_reload(const struct conf *old, char *err, size_t errlen);
/* The dashboard settings version c carries. */
int64_t conf_version(const struct conf *c);
void conf_set_version(struct conf *c, int64_t v);

#endif
