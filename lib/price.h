/* price: the BTC/USD price, in integer micro-USD per BTC (97123.45 USD ->
 * 97123450000), cached in the database (table prices) so every thread and
 * process agrees on it.
 *
 * Sources are public exchange tickers (PRICE_SOURCES), each recognised by the
 * shape of its JSON answer:
 *   Kraken    {"error":[],"result":{"XXBTZUSD":{"c":["97123.4","0.01"],...}}}
 *   Coinbase  {"data":{"amount":"97123.45","base":"BTC","currency":"USD"}}
 *   Binance   {"symbol":"BTCUSDT","price":"97123.45000000"}
 * They are asked in order, one at a time (5 s total timeout each), until two
 * have answered; the price is the lower of the answers (a lower BTC price
 * charges users more sats, never fewer), as Routstr does.
 *
 * Refreshes are serialised across threads and processes by a lease row
 * (price_leases): a conditional upsert takes it only when it is free. No
 * database lock or transaction is held during the HTTP calls. A failed
 * refresh keeps the lease until it expires (PRICE_LEASE_SECONDS), which
 * spaces out retries while the exchanges are down. */
#ifndef ROUTSTR_PRICE_H
#define ROUTSTR_PRICE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct db;
struct upstream;

#define PRICE_PAIR_BTC_USD "BTC/USD"
#define PRICE_LEASE_SECONDS 30		/* longest a refresh may hold the lease */
#define PRICE_HTTP_TIMEOUT_S 5		/* total time per ticker request */
#define PRICE_MAX_BODY 65536		/* cap on a ticker answer */

/* Which exchange format a ticker answer has. */
enum price_source {
	PRICE_SRC_UNKNOWN,
	PRICE_SRC_KRAKEN,
	PRICE_SRC_COINBASE,
	PRICE_SRC_BINANCE,
	PRICE_SRC__MAX
};

/* "kraken", "coinbase", "binance", "unknown". Static storage. */
const char *price_source_name(enum price_source s);

/* Parse one ticker answer (n bytes of JSON) into micro-USD, recognising the
 * format by its shape. *src (may be NULL) gets the format. The price string
 * is parsed exactly (pricing_parse_btc_usd, digits past the 6th decimal are
 * dropped); no floating point. RERR_INVALID for anything else: not JSON, an
 * exchange error, a missing, zero or malformed price. */
enum rerr price_parse_ticker(const char *body, size_t n, int64_t *micro,
    enum price_source *src);

/* The BTC price to use now. Reads the cache; when it is missing or older than
 * PRICE_MAX_AGE_SECONDS, refreshes it from PRICE_SOURCES first (only one
 * caller at a time does; the others use the stale value, or, with an empty
 * cache, wait up to PRICE_HTTP_TIMEOUT_S x 3 for the refresher). When no source
 * answers: the stale cached value if there is one, else BTC_USD_FALLBACK
 * (*age_s = -1) if it is > 0, else RERR_NOT_FOUND (no price: sats pricing is
 * unavailable). *age_s (may be NULL) is the age of the value in seconds.
 * db and up are the calling thread's; both borrowed. Settings from conf_get().
 * A value found is kept by the process for one second (no DB read per request). */
enum rerr price_btc_usd(struct db *db, struct upstream *up, int64_t *micro, int64_t *age_s);

/* Refresh now, whatever the cache's age (routstrctl cron). RERR_CONFLICT when
 * another refresh holds the lease, RERR_UPSTREAM when no source answered.
 * *micro (may be NULL) gets the stored price. */
enum rerr price_refresh(struct db *db, struct upstream *up, int64_t *micro);

/* The cached price and its fetch time (unix seconds), no refresh.
 * RERR_NOT_FOUND when there is none. */
enum rerr price_cached(struct db *db, int64_t *micro, int64_t *fetched_at);

/* The same, with everything explicit (tests): sources[0..nsrc) are ticker
 * URLs, now is the wall clock in seconds. */
enum rerr price_refresh_from(struct db *db, struct upstream *up,
    const char *const *sources, size_t nsrc, int64_t now, int64_t *micro);
enum rerr price_btc_usd_at(struct db *db, struct upstream *up,
    const char *const *sources, size_t nsrc, int64_t max_age_s, int64_t fallback_micro,
    int64_t now, int64_t *micro, int64_t *age_s);

/* The lower of two prices, ignoring values <= 0; 0 if both are. */
int64_t price_pick_lower(int64_t a, int64_t b);

#endif
