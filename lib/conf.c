/* conf: see conf.h. The table below is the one list of settings: add a key
 * to enum conf_key and here, and the file parser, the environment override,
 * the range check and `routstrctl config` all know it. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "mount.h"
#include "util.h"

#define MiB (1024LL * 1024)
#define CONF_VALUE_MAX 4096

const struct conf_def conf_defs[CONF__MAX] = {
	[CONF_LISTEN] = { "LISTEN", CONF_T_STR, "", 0, 0, NULL,
	    "socket to listen on when not spawned: unix:/path, tcp:127.0.0.1:PORT or :PORT" },
	[CONF_WORKERS] = { "WORKERS", CONF_T_INT, "4", 1, 256, NULL,
	    "worker threads kept waiting for requests (the floor; more start on demand)" },
	[CONF_MAX_WORKERS] = { "MAX_WORKERS", CONF_T_INT, "1024", 1, 65536, NULL,
	    "most requests served at once per process; beyond it: 503 with Retry-After" },
	[CONF_DB_POOL_SIZE] = { "DB_POOL_SIZE", CONF_T_INT, "8", 1, 256, NULL,
	    "SQLite connections per process, each held only for a transaction" },
	[CONF_DATABASE_URL] = { "DATABASE_URL", CONF_T_STR, "sqlite:///var/routstr.db", 0, 0, NULL,
	    "sqlite:///relative/path or sqlite:////absolute/path" },
	[CONF_DB_SYNCHRONOUS] = { "DB_SYNCHRONOUS", CONF_T_ENUM, "normal", 0, 0, "off|normal|full",
	    "SQLite synchronous mode (WAL: normal is durable across process crashes)" },
	[CONF_MAX_BODY_BYTES] = { "MAX_BODY_BYTES", CONF_T_INT, "16777216", 1024, 1024 * MiB, NULL,
	    "largest request body accepted (413 above)" },
	[CONF_MAX_HEADER_BYTES] = { "MAX_HEADER_BYTES", CONF_T_INT, "32768", 1024, 1 * MiB, NULL,
	    "largest total of request header names and values (431 above)" },
	[CONF_LOG_FILE] = { "LOG_FILE", CONF_T_STR, "", 0, 0, NULL,
	    "log file path; empty logs to stderr" },
	[CONF_LOG_LEVEL] = { "LOG_LEVEL", CONF_T_STR, "INFO", 0, 0, NULL,
	    "TRACE, DEBUG, INFO, WARNING, ERROR or CRITICAL" },
	[CONF_UPSTREAM_BASE_URL] = { "UPSTREAM_BASE_URL", CONF_T_URL, "", 0, 0, NULL,
	    "OpenAI-compatible upstream, e.g. https://api.openai.com/v1" },
	[CONF_UPSTREAM_API_KEY] = { "UPSTREAM_API_KEY", CONF_T_STR, "", 0, 0, NULL,
	    "provider key sent upstream instead of the client's" },
	[CONF_UPSTREAM_CONNECT_TIMEOUT] = { "UPSTREAM_CONNECT_TIMEOUT", CONF_T_INT, "10", 1, 300, NULL,
	    "seconds to connect to the upstream" },
	[CONF_UPSTREAM_IDLE_TIMEOUT] = { "UPSTREAM_IDLE_TIMEOUT", CONF_T_INT, "600", 0, 86400, NULL,
	    "abort an upstream transfer silent for this many seconds (0: never)" },
	[CONF_UPSTREAM_MAX_RESPONSE_BYTES] = { "UPSTREAM_MAX_RESPONSE_BYTES", CONF_T_INT, "67108864",
	    4096, 1024 * MiB, NULL, "largest non-streamed upstream body" },
	[CONF_KEEPALIVE_INTERVAL] = { "KEEPALIVE_INTERVAL", CONF_T_INT, "15", 0, 3600, NULL,
	    "seconds of upstream silence before a ': keepalive' comment is streamed (0: never)" },
	[CONF_UPSTREAM_FORWARD_HEADERS] = { "UPSTREAM_FORWARD_HEADERS", CONF_T_LIST, "", 0, 0, NULL,
	    "client request headers also sent upstream (comma-separated; \"x-foo-*\" a prefix)" },
	[CONF_NAME] = { "NAME", CONF_T_STR, "ARoutstrNode", 0, 0, NULL, "node name" },
	[CONF_DESCRIPTION] = { "DESCRIPTION", CONF_T_STR, "A Routstr Node", 0, 0, NULL,
	    "node description" },
	[CONF_NPUB] = { "NPUB", CONF_T_STR, "", 0, 0, NULL, "the node's Nostr public key" },
	[CONF_HTTP_URL] = { "HTTP_URL", CONF_T_URL, "", 0, 0, NULL, "public clear-web URL" },
	[CONF_ONION_URL] = { "ONION_URL", CONF_T_URL, "", 0, 0, NULL, "Tor hidden-service URL" },
	[CONF_CORS_ORIGINS] = { "CORS_ORIGINS", CONF_T_LIST, "*", 0, 0, NULL,
	    "allowed CORS origins" },
	[CONF_ROOT_PATH] = { "ROOT_PATH", CONF_T_PATH, "", 0, 0, NULL,
	    "URL path the node is mounted under, e.g. /~alice/routstr ('/': the whole site; "
	    "'': worked out from what the web server passes)" },
	[CONF_CASHU_MINTS] = { "CASHU_MINTS", CONF_T_LIST, "", 0, 0, NULL,
	    "trusted mints, comma-separated" },
	[CONF_PRIMARY_MINT_URL] = { "PRIMARY_MINT_URL", CONF_T_URL, "", 0, 0, NULL,
	    "mint for swaps and withdrawals (default: the first of CASHU_MINTS)" },
	[CONF_PRIMARY_MINT_UNIT] = { "PRIMARY_MINT_UNIT", CONF_T_ENUM, "sat", 0, 0, "sat|msat",
	    "unit of the primary mint" },
	[CONF_MINT_OPERATION_TIMEOUT_SECONDS] = { "MINT_OPERATION_TIMEOUT_SECONDS", CONF_T_INT, "30",
	    1, 600, NULL, "timeout of one mint request" },
	[CONF_MINT_RETRY_MAX_ATTEMPTS] = { "MINT_RETRY_MAX_ATTEMPTS", CONF_T_INT, "3", 0, 10, NULL,
	    "retries of a mint request that timed out or was rate-limited" },
	[CONF_MODELS_PATH] = { "MODELS_PATH", CONF_T_STR, "", 0, 0, NULL,
	    "models.json in OpenRouter's format" },
	[CONF_FIXED_PRICING] = { "FIXED_PRICING", CONF_T_BOOL, "false", 0, 0, NULL,
	    "charge a flat price per request" },
	[CONF_FIXED_COST_PER_REQUEST] = { "FIXED_COST_PER_REQUEST", CONF_T_INT, "1", 0, 100000000,
	    NULL, "flat price in sats" },
	[CONF_FIXED_PER_1K_INPUT_TOKENS] = { "FIXED_PER_1K_INPUT_TOKENS", CONF_T_INT, "0", 0,
	    100000000, NULL, "sats per 1000 input tokens, overriding model prices when non-zero" },
	[CONF_FIXED_PER_1K_OUTPUT_TOKENS] = { "FIXED_PER_1K_OUTPUT_TOKENS", CONF_T_INT, "0", 0,
	    100000000, NULL, "sats per 1000 output tokens, overriding model prices when non-zero" },
	[CONF_EXCHANGE_FEE] = { "EXCHANGE_FEE", CONF_T_DEC, "1.005", 1000000, 10000000, NULL,
	    "multiplier covering BTC/USD exchange costs" },
	[CONF_UPSTREAM_PROVIDER_FEE] = { "UPSTREAM_PROVIDER_FEE", CONF_T_DEC, "1.05", 1000000,
	    10000000, NULL, "multiplier covering the provider's own fees" },
	[CONF_TOLERANCE_PERCENTAGE] = { "TOLERANCE_PERCENTAGE", CONF_T_DEC, "1.0", 0, 100000000,
	    NULL, "percent discount on the worst-case reservation" },
	[CONF_MIN_REQUEST_MSAT] = { "MIN_REQUEST_MSAT", CONF_T_INT, "1", 0, 100000000000LL, NULL,
	    "floor on the charge of one request" },
	[CONF_CHILD_KEY_COST] = { "CHILD_KEY_COST", CONF_T_INT, "0", 0, 100000000000LL, NULL,
	    "msat charged for creating a child key" },
	[CONF_BTC_USD_FALLBACK] = { "BTC_USD_FALLBACK", CONF_T_DEC, "0", 0, 100000000000000LL, NULL,
	    "BTC price in USD used when no exchange answers (0: refuse priced requests)" },
	[CONF_PRICE_MAX_AGE_SECONDS] = { "PRICE_MAX_AGE_SECONDS", CONF_T_INT, "300", 10, 86400, NULL,
	    "a cached BTC price older than this is refreshed" },
	[CONF_PRICE_SOURCES] = { "PRICE_SOURCES", CONF_T_LIST,
	    "https://api.kraken.com/0/public/Ticker?pair=XBTUSD,"
	    "https://api.coinbase.com/v2/prices/BTC-USD/spot,"
	    "https://api.binance.com/api/v3/ticker/price?symbol=BTCUSDT", 0, 0, NULL,
	    "BTC/USD ticker URLs (Kraken, Coinbase, Binance formats)" },
	[CONF_RECEIVE_LN_ADDRESS] = { "RECEIVE_LN_ADDRESS", CONF_T_STR, "", 0, 0, NULL,
	    "Lightning address or LNURL the operator's earnings are paid to ('': no payouts)" },
	[CONF_MIN_PAYOUT_SAT] = { "MIN_PAYOUT_SAT", CONF_T_INT, "210", 1, 2100000000000000LL, NULL,
	    "pay earnings out once they exceed this many sats (per mint and unit)" },
	[CONF_PAYOUT_INTERVAL_SECONDS] = { "PAYOUT_INTERVAL_SECONDS", CONF_T_INT, "900", 60,
	    604800, NULL, "how often routstrctl cron pays earnings out" },
	[CONF_LNURL_ALLOW_HTTP] = { "LNURL_ALLOW_HTTP", CONF_T_BOOL, "false", 0, 0, NULL,
	    "accept plain-http LNURL servers (tests only; .onion is always allowed)" },
	[CONF_TEST_CRASH_FILE] = { "TEST_CRASH_FILE", CONF_T_STR, "", 0, 0, NULL,
	    "tests only: a file naming a money-flow point where the process kills itself" },
};

enum conf_src { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_DASHBOARD };

struct conf_val {
	char *text;		/* as given (owned) */
	int64_t num;
	char **items;		/* LIST items, NULL-terminated (owned) */
	size_t nitems;
	enum conf_src src;
};

struct conf {
	struct conf_val v[CONF__MAX];
	char *path;		/* the file it was loaded from, NULL if none */
	int64_t version;	/* the dashboard settings it carries (lib/settings.c) */
};

/* Swapped whole when the dashboard's settings change; a retired one is
 * never freed (threads may still read its strings), so each edit keeps one
 * copy, a few KiB, until the process ends. */
static _Atomic(const struct conf *) global;

static void
val_clear(struct conf_val *v)
{
	size_t i;

	free(v->text);
	for (i = 0; i < v->nitems; i++)
		free(v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Parse a decimal "12.345" with up to 6 places into value * 1e6. */
static int
parse_dec6(const char *s, int64_t *out)
{
	const char *dot = strchr(s, '.');
	uint64_t whole, frac = 0;
	size_t flen = 0, i;

	if (dot == NULL)
		return parse_u64(s, (uint64_t)INT64_MAX / 1000000, &whole) < 0 ? -1 :
		    (*out = (int64_t)whole * 1000000, 0);
	if (parse_u64n(s, (size_t)(dot - s), (uint64_t)INT64_MAX / 1000000, &whole) < 0)
		return -1;
	flen = strlen(dot + 1);
	if (flen == 0 || flen > 6 || parse_u64n(dot + 1, flen, 999999, &frac) < 0)
		return -1;
	for (i = flen; i < 6; i++)
		frac *= 10;
	*out = (int64_t)(whole * 1000000 + frac);
	return 0;
}

static int
enum_index(const char *choices, const char *s)
{
	const char *p = choices;
	int i = 0;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (strlen(s) == n && strncmp(p, s, n) == 0)
			return i;
		if (!bar)
			break;
		p = bar + 1;
		i++;
	}
	return -1;
}

static int
set_value(struct conf *c, enum conf_key k, const char *value, enum conf_src src,
    char *err, size_t errlen)
{
	const struct conf_def *d = &conf_defs[k];
	struct conf_val nv = { 0 };
	bool b;

	if (strlen(value) > CONF_VALUE_MAX) {
		snprintf(err, errlen, "%s: value longer than %d bytes", d->env, CONF_VALUE_MAX);
		return -1;
	}
	nv.text = xstrdup(value);
	nv.src = src;
	switch (d->type) {
	case CONF_T_STR:
		break;
	case CONF_T_URL:
		if (*value && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
			snprintf(err, errlen, "%s: '%s' is not an http(s) URL", d->env, value);
			goto fail;
		}
		break;
	case CONF_T_PATH:
		if (!mount_setting_ok(value)) {
			snprintf(err, errlen, "%s: '%s' is not '/' or a URL path like /~alice/routstr "
			    "(no trailing '/', no empty, '.' or '..' segment)", d->env, value);
			goto fail;
		}
		break;
	case CONF_T_INT:
		if (parse_i64(value, d->min, d->max, &nv.num) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a whole number in [%lld, %lld]", d->env,
			    value, (long long)d->min, (long long)d->max);
			goto fail;
		}
		break;
	case CONF_T_DEC:
		if (parse_dec6(value, &nv.num) < 0 || nv.num < d->min || nv.num > d->max) {
			snprintf(err, errlen,
			    "%s: '%s' is not a decimal (up to 6 places) in [%lld.%06lld, %lld.%06lld]",
			    d->env, value, (long long)(d->min / 1000000), (long long)(d->min % 1000000),
			    (long long)(d->max / 1000000), (long long)(d->max % 1000000));
			goto fail;
		}
		break;
	case CONF_T_BOOL:
		if (parse_bool(value, &b) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a boolean (true/false)", d->env, value);
			goto fail;
		}
		nv.num = b;
		break;
	case CONF_T_ENUM:
		nv.num = enum_index(d->choices, value);
		if (nv.num < 0) {
			snprintf(err, errlen, "%s: '%s' is not one of %s", d->env, value, d->choices);
			goto fail;
		}
		break;
	case CONF_T_LIST: {
		char *copy = xstrdup(value), *p = copy, *comma;

		nv.items = xcalloc(1, sizeof(char *));
		for (;;) {
			char *item;

			comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			item = trim(p);
			if (*item) {
				nv.items = xrealloc(nv.items, (nv.nitems + 2) * sizeof(char *));
				nv.items[nv.nitems++] = xstrdup(item);
				nv.items[nv.nitems] = NULL;
			}
			if (!comma)
				break;
			p = comma + 1;
		}
		free(copy);
		break;
	}
	}
	val_clear(&c->v[k]);
	c->v[k] = nv;
	return 0;
fail:
	val_clear(&nv);
	return -1;
}

static int
key_by_name(const char *name)
{
	int k;

	for (k = 0; k < CONF__MAX; k++)
		if (str_ieq(conf_defs[k].env, name))
			return k;
	return -1;
}

static int
load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[CONF_VALUE_MAX + 256];
	char why[512];
	int lineno = 0, rc = -1;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;
		int k;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (strlen(val) >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[strlen(val) - 1] == val[0]) {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		k = key_by_name(key);
		if (k < 0) {
			snprintf(err, errlen, "%s:%d: unknown setting '%s'", path, lineno, key);
			goto out;
		}
		if (set_value(c, (enum conf_key)k, val, SRC_FILE, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto out;
		}
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

/* Routstr's legacy names, applied only when the new name is absent. */
static int
load_legacy_env(struct conf *c, char *err, size_t errlen)
{
	static const struct { const char *old; enum conf_key k; bool invert; } aliases[] = {
		{ "MODEL_BASED_PRICING", CONF_FIXED_PRICING, true },
		{ "COST_PER_REQUEST", CONF_FIXED_COST_PER_REQUEST, false },
		{ "COST_PER_1K_INPUT_TOKENS", CONF_FIXED_PER_1K_INPUT_TOKENS, false },
		{ "COST_PER_1K_OUTPUT_TOKENS", CONF_FIXED_PER_1K_OUTPUT_TOKENS, false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(aliases); i++) {
		const char *v = getenv(aliases[i].old);
		bool b;

		if (v == NULL || getenv(conf_defs[aliases[i].k].env) != NULL)
			continue;
		if (aliases[i].invert) {
			if (parse_bool(v, &b) < 0) {
				snprintf(err, errlen, "%s: '%s' is not a boolean", aliases[i].old, v);
				return -1;
			}
			v = b ? "false" : "true";
		}
		if (set_value(c, aliases[i].k, v, SRC_ENV, err, errlen) < 0)
			return -1;
	}
	return 0;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	int k;

	for (k = 0; k < CONF__MAX; k++) {
		if (set_value(c, (enum conf_key)k, conf_defs[k].def, SRC_DEFAULT, err, errlen) < 0)
			goto fail;	/* a bad default is a programming error */
	}
	if (path == NULL)
		path = getenv("ROUTSTR_CONFIG");
	if (path && *path && load_file(c, path, err, errlen) < 0)
		goto fail;
	if (path && *path)
		c->path = xstrdup(path);
	for (k = 0; k < CONF__MAX; k++) {
		const char *v = getenv(conf_defs[k].env);

		if (v && set_value(c, (enum conf_key)k, v, SRC_ENV, err, errlen) < 0)
			goto fail;
	}
	if (load_legacy_env(c, err, errlen) < 0)
		goto fail;
	/* The primary mint defaults to the first trusted mint. */
	if (*conf_str(c, CONF_PRIMARY_MINT_URL) == '\0' && c->v[CONF_CASHU_MINTS].nitems > 0)
		set_value(c, CONF_PRIMARY_MINT_URL, c->v[CONF_CASHU_MINTS].items[0],
		    SRC_DEFAULT, err, errlen);
	return c;
fail:
	conf_free(c);
	return NULL;
}

void
conf_free(struct conf *c)
{
	int k;

	if (c == NULL)
		return;
	for (k = 0; k < CONF__MAX; k++)
		val_clear(&c->v[k]);
	free(c->path);
	free(c);
}

void
conf_set_global(struct conf *c)
{
	/* A retired conf stays reachable here (threads may still read its
	 * strings), so it is kept, not leaked: one per dashboard edit. */
	static const struct conf **retired;
	static size_t nretired;
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	const struct conf *old;

	pthread_mutex_lock(&mu);
	old = atomic_exchange(&global, c);
	if (old && old != c) {
		retired = xrealloc(retired, (nretired + 1) * sizeof(*retired));
		retired[nretired++] = old;
	}
	pthread_mutex_unlock(&mu);
}

const struct conf *
conf_get(void)
{
	return global;
}

const char *
conf_str(const struct conf *c, enum conf_key k)
{
	return c->v[k].text ? c->v[k].text : "";
}

int64_t
conf_int(const struct conf *c, enum conf_key k)
{
	return c->v[k].num;
}

bool
conf_bool(const struct conf *c, enum conf_key k)
{
	return c->v[k].num != 0;
}

const char *const *
conf_list(const struct conf *c, enum conf_key k, size_t *n)
{
	static const char *const empty[] = { NULL };

	*n = c->v[k].nitems;
	return c->v[k].items ? (const char *const *)c->v[k].items : empty;
}

const char *
conf_source(const struct conf *c, enum conf_key k)
{
	static const char *const names[] = { "default", "file", "env", "dashboard" };

	return names[c->v[k].src];
}

int
conf_set(struct conf *c, enum conf_key k, const char *value, char *err, size_t errlen)
{
	return set_value(c, k, value, SRC_FILE, err, errlen);
}

/* What the operator may change at run time: what is read per use. Not the
 * process's shape (listen, workers, database), the upstream key (a secret:
 * the providers table holds keys), logging, or test hooks. */
static const enum conf_key editable[] = {
	CONF_NAME, CONF_DESCRIPTION, CONF_NPUB, CONF_HTTP_URL, CONF_ONION_URL, CONF_CORS_ORIGINS,
	CONF_CASHU_MINTS, CONF_PRIMARY_MINT_URL, CONF_MINT_OPERATION_TIMEOUT_SECONDS,
	CONF_MINT_RETRY_MAX_ATTEMPTS, CONF_FIXED_PRICING, CONF_FIXED_COST_PER_REQUEST,
	CONF_FIXED_PER_1K_INPUT_TOKENS, CONF_FIXED_PER_1K_OUTPUT_TOKENS, CONF_EXCHANGE_FEE,
	CONF_UPSTREAM_PROVIDER_FEE, CONF_TOLERANCE_PERCENTAGE, CONF_MIN_REQUEST_MSAT,
	CONF_CHILD_KEY_COST, CONF_BTC_USD_FALLBACK, CONF_PRICE_MAX_AGE_SECONDS,
	CONF_KEEPALIVE_INTERVAL, CONF_RECEIVE_LN_ADDRESS, CONF_MIN_PAYOUT_SAT,
	CONF_PAYOUT_INTERVAL_SECONDS,
};

bool
conf_editable(enum conf_key k)
{
	size_t i;

	for (i = 0; i < sizeof(editable) / sizeof(editable[0]); i++)
		if (editable[i] == k)
			return true;
	return false;
}

int
conf_key_of(const char *env)
{
	int k;

	for (k = 0; k < CONF__MAX; k++)
		if (strcmp(conf_defs[k].env, env) == 0)
			return k;
	return -1;
}

int
conf_set_dashboard(struct conf *c, enum conf_key k, const char *value, char *err, size_t errlen)
{
	if (!conf_editable(k)) {
		snprintf(err, errlen, "%s cannot be changed at run time", conf_defs[k].env);
		return -1;
	}
	return set_value(c, k, value, SRC_DASHBOARD, err, errlen);
}

struct conf *
conf_reload(const struct conf *old, char *err, size_t errlen)
{
	return conf_load(old ? old->path : NULL, err, errlen);
}

int64_t
conf_version(const struct conf *c)
{
	return c ? c->version : 0;
}

void
conf_set_version(struct conf *c, int64_t v)
{
	c->version = v;
}
