/* price: the BTC/USD price cache. See price.h. No floating point: prices are
 * parsed from the exchanges' decimal strings into integer micro-USD. */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "db_sql.h"
#include "json.h"
#include "log.h"
#include "price.h"
#include "pricing.h"
#include "upstream.h"
#include "util.h"

#define CONNECT_TIMEOUT_S 3
#define ANSWERS_WANTED 2
#define HOLDER_FAILED "failed"
#define WAIT_STEP_MS 100

static const char *const source_names[PRICE_SRC__MAX] = {
	[PRICE_SRC_UNKNOWN] = "unknown",
	[PRICE_SRC_KRAKEN] = "kraken",
	[PRICE_SRC_COINBASE] = "coinbase",
	[PRICE_SRC_BINANCE] = "binance",
};

const char *
price_source_name(enum price_source s)
{
	return (unsigned)s < PRICE_SRC__MAX ? source_names[s] : "unknown";
}

int64_t
price_pick_lower(int64_t a, int64_t b)
{
	if (a <= 0)
		return b > 0 ? b : 0;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* ------------------------------------------------------------------------ */
/* Ticker formats                                                            */

/* A price value: a JSON string ("97123.45") or an integer. Doubles are refused
 * (json-c would hand back a float's rendering, not the exchange's digits). */
static enum rerr
parse_price_value(struct json_object *v, int64_t *micro)
{
	char tmp[32];

	if (v == NULL)
		return RERR_INVALID;
	if (json_object_is_type(v, json_type_string))
		return pricing_parse_btc_usd(json_object_get_string(v), micro);
	if (json_object_is_type(v, json_type_int)) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_object_get_int64(v));
		return pricing_parse_btc_usd(tmp, micro);
	}
	return RERR_INVALID;
}

/* Kraken: result.<pair>.c[0], the last trade. XXBTZUSD first, else the only
 * pair of the answer. A non-empty "error" array is a failure. */
static enum rerr
parse_kraken(struct json_object *root, int64_t *micro)
{
	struct json_object *err = json_get(root, "error"), *res = json_get(root, "result");
	struct json_object *pair, *c;

	if (err != NULL && json_object_is_type(err, json_type_array) &&
	    json_object_array_length(err) > 0)
		return RERR_INVALID;
	if (res == NULL || !json_object_is_type(res, json_type_object))
		return RERR_INVALID;
	pair = json_get(res, "XXBTZUSD");
	if (pair == NULL) {
		if (json_object_object_length(res) != 1)
			return RERR_INVALID;
		json_object_object_foreach(res, k, v) {
			(void)k;
			pair = v;
		}
	}
	c = json_get(pair, "c");
	if (c == NULL || !json_object_is_type(c, json_type_array) ||
	    json_object_array_length(c) < 1)
		return RERR_INVALID;
	return parse_price_value(json_object_array_get_idx(c, 0), micro);
}

enum rerr
price_parse_ticker(const char *body, size_t n, int64_t *micro, enum price_source *src)
{
	struct json_object *root = NULL, *data;
	const char *why = NULL;
	enum price_source s = PRICE_SRC_UNKNOWN;
	enum rerr e = RERR_INVALID;

	*micro = 0;
	if (body == NULL || n == 0 || n > PRICE_MAX_BODY)
		goto out;
	root = json_parse_strict(body, n, &why);
	if (root == NULL || !json_object_is_type(root, json_type_object))
		goto out;
	if (json_get(root, "result") != NULL) {
		s = PRICE_SRC_KRAKEN;
		e = parse_kraken(root, micro);
	} else if ((data = json_get(root, "data")) != NULL &&
	    json_object_is_type(data, json_type_object)) {
		const char *cur = json_get_str(data, "currency");

		s = PRICE_SRC_COINBASE;
		/* The spot endpoint names the quote currency; refuse any other. */
		if (cur != NULL && !str_ieq(cur, "USD"))
			goto out;
		e = parse_price_value(json_get(data, "amount"), micro);
	} else if (json_get(root, "price") != NULL) {
		s = PRICE_SRC_BINANCE;
		e = parse_price_value(json_get(root, "price"), micro);
	}
out:
	if (e != RERR_OK)
		*micro = 0;
	if (src != NULL)
		*src = s;
	json_object_put(root);
	return e;
}

/* ------------------------------------------------------------------------ */
/* Cache and lease (SQL)                                                     */

enum rerr
price_cached(struct db *db, int64_t *micro, int64_t *fetched_at)
{
	static const char sql[] =
	    "SELECT micro_usd, fetched_at FROM prices WHERE pair = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	enum rerr e = RERR_NOT_FOUND;
	int rc;

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, PRICE_PAIR_BTC_USD, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*micro = sqlite3_column_int64(st, 0);
		*fetched_at = sqlite3_column_int64(st, 1);
		e = *micro > 0 ? RERR_OK : RERR_NOT_FOUND;
	} else if (rc != SQLITE_DONE) {
		log_error("price: read cache: %s", sqlite3_errmsg(db_handle(db)));
		e = RERR_DB;
	}
	sqlite3_reset(st);
	return e;
}

static enum rerr
store_price(struct db *db, int64_t micro, const char *source, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO prices (pair, micro_usd, source, fetched_at) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (pair) DO UPDATE SET micro_usd = excluded.micro_usd, "
	    "source = excluded.source, fetched_at = excluded.fetched_at";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, PRICE_PAIR_BTC_USD, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, micro);
	sqlite3_bind_text(st, 3, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("price: store: %s", sqlite3_errmsg(db_handle(db)));
		return RERR_DB;
	}
	return RERR_OK;
}

enum lease { LEASE_TAKEN, LEASE_BUSY, LEASE_BACKOFF, LEASE_ERROR };

/* Take the refresh lease until now + PRICE_LEASE_SECONDS, only if it is free
 * (autocommit: one statement, no transaction held). holder is a unique token.
 * LEASE_BUSY: another refresh is running; LEASE_BACKOFF: a recent refresh
 * failed and the lease has not expired yet. */
static enum lease
take_lease(struct db *db, const char *holder, int64_t now)
{
	static const char up_sql[] =
	    "INSERT INTO price_leases (pair, until, holder) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (pair) DO UPDATE SET until = excluded.until, holder = excluded.holder "
	    "WHERE price_leases.until <= ?4";
	static const char who_sql[] = "SELECT holder FROM price_leases WHERE pair = ?1";
	sqlite3_stmt *st = db_stmt(db, up_sql);
	enum lease l = LEASE_ERROR;
	int rc;

	if (st == NULL)
		return LEASE_ERROR;
	sqlite3_bind_text(st, 1, PRICE_PAIR_BTC_USD, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now + PRICE_LEASE_SECONDS);
	sqlite3_bind_text(st, 3, holder, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("price: lease: %s", sqlite3_errmsg(db_handle(db)));
		return LEASE_ERROR;
	}
	if (sqlite3_changes(db_handle(db)) == 1)
		return LEASE_TAKEN;
	if ((st = db_stmt(db, who_sql)) == NULL)
		return LEASE_ERROR;
	sqlite3_bind_text(st, 1, PRICE_PAIR_BTC_USD, -1, SQLITE_STATIC);
	l = LEASE_BUSY;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);

		if (h != NULL && strcmp(h, HOLDER_FAILED) == 0)
			l = LEASE_BACKOFF;
	}
	sqlite3_reset(st);
	return l;
}

/* True while a refresh (not a failed one) holds the lease. */
static bool
lease_busy(struct db *db, int64_t now)
{
	static const char sql[] = "SELECT until, holder FROM price_leases WHERE pair = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	bool busy = false;

	if (st == NULL)
		return false;
	sqlite3_bind_text(st, 1, PRICE_PAIR_BTC_USD, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 1);

		busy = sqlite3_column_int64(st, 0) > now &&
		    (h == NULL || strcmp(h, HOLDER_FAILED) != 0);
	}
	sqlite3_reset(st);
	return busy;
}

/* Give our lease back: free at once after a success (until = 0), kept until
 * it expires after a failure (holder "failed", which callers do not wait
 * for). Only our own lease (holder token) is touched. */
static void
end_lease(struct db *db, const char *holder, bool ok, int64_t now)
{
	static const char sql[] =
	    "UPDATE price_leases SET until = ?1, holder = ?2 WHERE pair = ?3 AND holder = ?4";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, ok ? 0 : now + PRICE_LEASE_SECONDS);
	sqlite3_bind_text(st, 2, ok ? "" : HOLDER_FAILED, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, PRICE_PAIR_BTC_USD, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, holder, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warn("price: release lease: %s", sqlite3_errmsg(db_handle(db)));
	sqlite3_reset(st);
}

/* ------------------------------------------------------------------------ */
/* Fetching                                                                  */

/* GET one ticker URL on the thread's handle and parse it. */
static enum rerr
fetch_one(struct upstream *up, const char *url, int64_t *micro, enum price_source *src)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	struct upstream_request rq;
	struct upstream_result res;
	enum rerr e;

	memset(&rq, 0, sizeof(rq));
	memset(&res, 0, sizeof(res));
	rq.method = "GET";
	rq.url = url;
	rq.headers = headers;
	rq.connect_timeout_s = CONNECT_TIMEOUT_S;
	rq.idle_timeout_s = PRICE_HTTP_TIMEOUT_S;
	rq.total_timeout_s = PRICE_HTTP_TIMEOUT_S;
	rq.max_response = PRICE_MAX_BODY;
	e = upstream_perform(up, &rq, NULL, NULL, &res);
	if (e != RERR_OK) {
		log_warn("price: %s: %s", url, res.error[0] ? res.error : rerr_name(e));
		goto out;
	}
	if (res.status != 200) {
		log_warn("price: %s: HTTP %d", url, res.status);
		e = RERR_UPSTREAM;
		goto out;
	}
	e = price_parse_ticker(res.body.data, res.body.len, micro, src);
	if (e != RERR_OK) {
		log_warn("price: %s: unrecognised ticker answer", url);
		e = RERR_UPSTREAM;
	}
out:
	upstream_result_free(&res);
	return e;
}

/* Ask the sources in order until two answered; the lower answer wins. */
static enum rerr
fetch_sources(struct upstream *up, const char *const *sources, size_t nsrc,
    int64_t *micro, char *source, size_t sourcelen)
{
	size_t i, answers = 0;
	int64_t best = 0, v;
	enum price_source src;

	*micro = 0;
	for (i = 0; i < nsrc && answers < ANSWERS_WANTED; i++) {
		if (fetch_one(up, sources[i], &v, &src) != RERR_OK)
			continue;
		answers++;
		if (best <= 0 || v < best) {
			best = v;
			snprintf(source, sourcelen, "%s", price_source_name(src));
		}
	}
	if (answers == 0)
		return RERR_UPSTREAM;
	*micro = best;
	return RERR_OK;
}

enum rerr
price_refresh_from(struct db *db, struct upstream *up, const char *const *sources,
    size_t nsrc, int64_t now, int64_t *micro)
{
	char holder[64], uuid[37], source[16] = "unknown";
	int64_t v = 0;
	enum rerr e;

	uuid4(uuid);
	snprintf(holder, sizeof(holder), "pid:%ld:%s", (long)getpid(), uuid);
	switch (take_lease(db, holder, now)) {
	case LEASE_TAKEN:
		break;
	case LEASE_BUSY:
	case LEASE_BACKOFF:
		return RERR_CONFLICT;
	default:
		return RERR_DB;
	}
	/* The lease is a committed row: no lock is held from here on. */
	e = fetch_sources(up, sources, nsrc, &v, source, sizeof(source));
	if (e == RERR_OK)
		e = store_price(db, v, source, wall_sec());
	end_lease(db, holder, e == RERR_OK, wall_sec());
	if (e == RERR_OK) {
		log_info("price: BTC/USD %lld.%06lld from %s", (long long)(v / 1000000),
		    (long long)(v % 1000000), source);
		if (micro != NULL)
			*micro = v;
	} else {
		log_warn("price: no exchange answered; next try in %d s", PRICE_LEASE_SECONDS);
	}
	return e;
}

/* The price as price_btc_usd last found it, kept by this process for
 * PROC_CACHE_US so a request costs no database read for it; the database
 * stays the one place processes agree on. */
#define PROC_CACHE_US 1000000
static pthread_mutex_t proc_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t proc_micro, proc_age_s, proc_until_us;

enum rerr
price_refresh(struct db *db, struct upstream *up, int64_t *micro)
{
	const struct conf *c = conf_get();
	size_t n;
	const char *const *src = conf_list(c, CONF_PRICE_SOURCES, &n);

	pthread_mutex_lock(&proc_mu);
	proc_until_us = 0;
	pthread_mutex_unlock(&proc_mu);
	return price_refresh_from(db, up, src, n, wall_sec(), micro);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

enum rerr
price_btc_usd_at(struct db *db, struct upstream *up, const char *const *sources,
    size_t nsrc, int64_t max_age_s, int64_t fallback_micro, int64_t now,
    int64_t *micro, int64_t *age_s)
{
	int64_t v = 0, at = 0, deadline;
	enum rerr e, have;

	have = price_cached(db, &v, &at);
	if (have == RERR_OK && now - at < max_age_s)
		goto found;
	e = price_refresh_from(db, up, sources, nsrc, now, &v);
	if (e == RERR_OK) {
		at = wall_sec();
		goto found;
	}
	if (have == RERR_OK)
		goto found;	/* stale beats nothing; Routstr keeps the old value too */
	if (e == RERR_CONFLICT) {
		/* Empty cache and the lease is taken: wait for a running refresh
		 * (bounded in time), not for one that failed (backoff). */
		deadline = mono_usec() + (int64_t)PRICE_HTTP_TIMEOUT_S * 3 * 1000000;
		while (lease_busy(db, wall_sec()) && mono_usec() < deadline) {
			sleep_ms(WAIT_STEP_MS);
			if (price_cached(db, &v, &at) == RERR_OK)
				goto found;
		}
	}
	if (fallback_micro > 0) {
		*micro = fallback_micro;
		if (age_s != NULL)
			*age_s = -1;
		return RERR_OK;
	}
	*micro = 0;
	return RERR_NOT_FOUND;
found:
	*micro = v;
	if (age_s != NULL)
		*age_s = now - at > 0 ? now - at : 0;
	return RERR_OK;
}

enum rerr
price_btc_usd(struct db *db, struct upstream *up, int64_t *micro, int64_t *age_s)
{
	const struct conf *c = conf_get();
	size_t n;
	const char *const *src = conf_list(c, CONF_PRICE_SOURCES, &n);
	int64_t now = mono_usec(), a = 0;
	enum rerr e;

	pthread_mutex_lock(&proc_mu);
	if (now < proc_until_us) {
		*micro = proc_micro;
		if (age_s)
			*age_s = proc_age_s;
		pthread_mutex_unlock(&proc_mu);
		return RERR_OK;
	}
	pthread_mutex_unlock(&proc_mu);
	e = price_btc_usd_at(db, up, src, n, conf_int(c, CONF_PRICE_MAX_AGE_SECONDS),
	    conf_int(c, CONF_BTC_USD_FALLBACK), wall_sec(), micro, &a);
	if (age_s)
		*age_s = a;
	if (e == RERR_OK) {
		pthread_mutex_lock(&proc_mu);
		proc_micro = *micro;
		proc_age_s = a;
		proc_until_us = now + PROC_CACHE_US;
		pthread_mutex_unlock(&proc_mu);
	}
	return e;
}
