/* test_price: the three ticker formats parsed exactly, the lower of two
 * answers, the cache's staleness, the fallback, the refresh lease, and one
 * refresh against the fake exchange (tests/fakes/ticker.mjs, when node runs). */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db_sql.h"
#include "log.h"
#include "price.h"
#include "upstream.h"
#include "util.h"
#include "testlib.h"

/* A port nothing listens on: connections are refused at once. */
#define DEAD_URL "http://127.0.0.1:9/0/public/Ticker"

static char dir[TL_PATH_MAX];
static char dbpath[TL_PATH_MAX + 16];

static void
setup(void)
{
	tl_tmpdir(dir, sizeof(dir), "test_price");
	snprintf(dbpath, sizeof(dbpath), "%s/t.db", dir);
}

static void
teardown(void)
{
	tl_tmpdir_remove(dir);
}

static enum rerr
parse(const char *s, int64_t *v, enum price_source *src)
{
	return price_parse_ticker(s, strlen(s), v, src);
}

START_TEST(parses_formats)
{
	int64_t v;
	enum price_source src;

	ck_assert_int_eq(parse("{\"error\":[],\"result\":{\"XXBTZUSD\":{\"a\":[\"1\",\"1\",\"1\"],"
	    "\"c\":[\"97123.40000\",\"0.00100000\"]}}}", &v, &src), RERR_OK);
	ck_assert_int_eq(v, 97123400000LL);
	ck_assert_int_eq(src, PRICE_SRC_KRAKEN);
	/* Kraken with another pair name, when it is the only one */
	ck_assert_int_eq(parse("{\"error\":[],\"result\":{\"XBTUSD\":{\"c\":[\"50000\",\"1\"]}}}",
	    &v, &src), RERR_OK);
	ck_assert_int_eq(v, 50000000000LL);
	ck_assert_int_eq(parse("{\"data\":{\"amount\":\"97123.45\",\"base\":\"BTC\","
	    "\"currency\":\"USD\"}}", &v, &src), RERR_OK);
	ck_assert_int_eq(v, 97123450000LL);
	ck_assert_int_eq(src, PRICE_SRC_COINBASE);
	ck_assert_int_eq(parse("{\"symbol\":\"BTCUSDT\",\"price\":\"97123.45678912\"}", &v, &src),
	    RERR_OK);
	ck_assert_int_eq(v, 97123456789LL);	/* truncated past 6 decimals */
	ck_assert_int_eq(src, PRICE_SRC_BINANCE);
	/* an integer price is exact too */
	ck_assert_int_eq(parse("{\"price\":97000}", &v, NULL), RERR_OK);
	ck_assert_int_eq(v, 97000000000LL);
	/* exponent form is a decimal too */
	ck_assert_int_eq(parse("{\"price\":\"1e5\"}", &v, NULL), RERR_OK);
	ck_assert_int_eq(v, 100000000000LL);
}
END_TEST

START_TEST(refuses_junk)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"error\":[\"EGeneral:Too many requests\"],\"result\":{}}",
		"{\"error\":[],\"result\":{\"A\":{\"c\":[\"1\"]},\"B\":{\"c\":[\"2\"]}}}",
		"{\"error\":[],\"result\":{\"XXBTZUSD\":{\"c\":[]}}}",
		"{\"data\":{\"amount\":\"90000\",\"currency\":\"EUR\"}}",
		"{\"data\":{\"amount\":\"-5\",\"currency\":\"USD\"}}",
		"{\"price\":\"0\"}",
		"{\"price\":\"0.0000001\"}",
		"{\"price\":97000.5}",		/* a float: its digits are not trusted */
		"{\"price\":\"97000\"} x",
		"{\"price\":null}",
	};
	size_t i;
	int64_t v = 1;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(parse(bad[i], &v, NULL) == RERR_INVALID, "%s", bad[i]);
		ck_assert_int_eq(v, 0);
	}
}
END_TEST

START_TEST(picks_lower)
{
	ck_assert_int_eq(price_pick_lower(5, 3), 3);
	ck_assert_int_eq(price_pick_lower(3, 5), 3);
	ck_assert_int_eq(price_pick_lower(0, 5), 5);
	ck_assert_int_eq(price_pick_lower(5, -1), 5);
	ck_assert_int_eq(price_pick_lower(0, 0), 0);
	ck_assert_str_eq(price_source_name(PRICE_SRC_BINANCE), "binance");
	ck_assert_str_eq(price_source_name((enum price_source)99), "unknown");
}
END_TEST

static void
put_price(struct db *db, int64_t micro, int64_t at)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO prices (pair, micro_usd, source, "
	    "fetched_at) VALUES ('BTC/USD', %lld, 'test', %lld)", (long long)micro,
	    (long long)at);
	ck_assert_int_eq(db_exec(db, sql), RERR_OK);
}

/* Fresh cache: no fetch at all. Stale cache and no exchange: the stale value.
 * Empty cache: the fallback, else not found. */
START_TEST(staleness_and_fallback)
{
	static const char *const dead[] = { DEAD_URL, "http://127.0.0.1:9/x" };
	struct db *db = tl_db_open(dbpath, DB_SYNC_NORMAL);
	struct upstream *up = upstream_new();
	int64_t v, age, now = wall_sec(), t0;

	ck_assert_int_eq(price_btc_usd_at(db, up, dead, 2, 300, 0, now, &v, &age),
	    RERR_NOT_FOUND);
	ck_assert_int_eq(v, 0);
	/* the failed refresh holds the lease (backoff): no new attempt, no wait */
	t0 = mono_usec();
	ck_assert_int_eq(price_btc_usd_at(db, up, dead, 2, 300, 90000000000LL, now, &v, &age),
	    RERR_OK);
	ck_assert_int_lt(mono_usec() - t0, 500000);
	ck_assert_int_eq(v, 90000000000LL);
	ck_assert_int_eq(age, -1);
	ck_assert_int_eq(price_refresh_from(db, up, dead, 2, now, NULL), RERR_CONFLICT);
	/* after the lease expires a refresh is tried again */
	ck_assert_int_eq(price_refresh_from(db, up, dead, 2, now + PRICE_LEASE_SECONDS + 1,
	    NULL), RERR_UPSTREAM);

	put_price(db, 97000000000LL, now - 10);
	/* fresh: sources are not even looked at */
	ck_assert_int_eq(price_btc_usd_at(db, up, NULL, 0, 300, 0, now, &v, &age), RERR_OK);
	ck_assert_int_eq(v, 97000000000LL);
	ck_assert_int_eq(age, 10);
	/* stale, exchanges down: the stale value beats the fallback */
	ck_assert_int_eq(price_btc_usd_at(db, up, dead, 2, 5, 1000000LL,
	    now + 2 * PRICE_LEASE_SECONDS + 4, &v, &age), RERR_OK);
	ck_assert_int_eq(v, 97000000000LL);
	ck_assert_int_eq(age, 2 * PRICE_LEASE_SECONDS + 14);
	ck_assert_int_eq(price_cached(db, &v, &t0), RERR_OK);
	ck_assert_int_eq(t0, now - 10);
	upstream_free(up);
	db_close(db);
}
END_TEST

/* Another refresher holds the lease: we do not fetch, we use what is cached. */
START_TEST(lease_serialises)
{
	static const char *const dead[] = { DEAD_URL };
	struct db *db = tl_db_open(dbpath, DB_SYNC_NORMAL);
	struct upstream *up = upstream_new();
	int64_t v, age, now = wall_sec(), t0;

	ck_assert_int_eq(db_exec(db, "INSERT INTO price_leases (pair, until, holder) "
	    "VALUES ('BTC/USD', strftime('%s','now') + 1, 'pid:other')"), RERR_OK);
	ck_assert_int_eq(price_refresh_from(db, up, dead, 1, now, NULL), RERR_CONFLICT);
	/* empty cache: wait for the holder, bounded; it never delivers, the
	 * lease runs out after ~1 s, then the fallback */
	t0 = mono_usec();
	ck_assert_int_eq(price_btc_usd_at(db, up, dead, 1, 300, 42000000LL, now, &v, &age),
	    RERR_OK);
	ck_assert_int_eq(v, 42000000LL);
	ck_assert_int_lt(mono_usec() - t0, 3 * 1000000);
	upstream_free(up);
	db_close(db);
}
END_TEST

/* ---------------------------------------------------------------- fake */

static pid_t ticker_pid = -1;

/* Start node tests/fakes/ticker.mjs with args; returns its port, or -1 when
 * node cannot run here. */
static int
ticker_start(const char *const *args, size_t nargs)
{
	int fds[2], port = -1;
	char line[128];
	const char *argv[16];
	size_t i, k = 0;
	FILE *f;

	ck_assert_int_eq(pipe(fds), 0);
	argv[k++] = "node";
	argv[k++] = TOP_SRCDIR "/tests/fakes/ticker.mjs";
	for (i = 0; i < nargs && k < ARRAY_SIZE(argv) - 1; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	ticker_pid = fork();
	ck_assert_int_ge(ticker_pid, 0);
	if (ticker_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp("node", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f != NULL && fgets(line, sizeof(line), f) != NULL)
		sscanf(line, "{\"port\":%d}", &port);
	if (f != NULL)
		fclose(f);
	return port;
}

static void
ticker_stop(void)
{
	if (ticker_pid > 0) {
		kill(ticker_pid, SIGTERM);
		waitpid(ticker_pid, NULL, 0);
		ticker_pid = -1;
	}
}

/* A GET/POST to the fake's control paths; the body into out. */
static void
ticker_ctl(struct upstream *up, int port, const char *method, const char *path,
    const char *body, char *out, size_t outlen)
{
	struct upstream_request rq;
	struct upstream_result res;
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	memset(&rq, 0, sizeof(rq));
	memset(&res, 0, sizeof(res));
	rq.method = method;
	rq.url = url;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.total_timeout_s = 5;
	rq.max_response = 4096;
	ck_assert_int_eq(upstream_perform(up, &rq, NULL, NULL, &res), RERR_OK);
	ck_assert_int_eq(res.status, 200);
	snprintf(out, outlen, "%.*s", (int)res.body.len, res.body.data ? res.body.data : "");
	upstream_result_free(&res);
}

START_TEST(refresh_against_fake)
{
	static const char *const args[] = { "--kraken", "97123.45", "--coinbase", "97000.10",
		"--binance", "50000" };
	struct db *db = tl_db_open(dbpath, DB_SYNC_NORMAL);
	struct upstream *up = upstream_new();
	char k[96], cb[96], bn[96], out[256];
	const char *src[3] = { k, cb, bn };
	int port = ticker_start(args, ARRAY_SIZE(args));
	int64_t v, at, now = wall_sec();

	if (port <= 0) {
		fprintf(stderr, "test_price: node not available; fake exchange test skipped\n");
		goto out;
	}
	snprintf(k, sizeof(k), "http://127.0.0.1:%d/0/public/Ticker?pair=XBTUSD", port);
	snprintf(cb, sizeof(cb), "http://127.0.0.1:%d/v2/prices/BTC-USD/spot", port);
	snprintf(bn, sizeof(bn), "http://127.0.0.1:%d/api/v3/ticker/price?symbol=BTCUSDT", port);
	/* two answers (Kraken, Coinbase): the lower; Binance is not asked */
	ck_assert_int_eq(price_refresh_from(db, up, src, 3, now, &v), RERR_OK);
	ck_assert_int_eq(v, 97000100000LL);
	ck_assert_int_eq(price_cached(db, &v, &at), RERR_OK);
	ck_assert_int_eq(v, 97000100000LL);
	ticker_ctl(up, port, "GET", "/_ticker/stats", NULL, out, sizeof(out));
	ck_assert_str_eq(out, "{\"kraken\":1,\"coinbase\":1,\"binance\":0}");
	/* Kraken down: Coinbase and Binance answer */
	ticker_ctl(up, port, "POST", "/_ticker/price", "{\"fail\":[\"kraken\"]}", out,
	    sizeof(out));
	ck_assert_int_eq(price_refresh_from(db, up, src, 3, now, &v), RERR_OK);
	ck_assert_int_eq(v, 50000000000LL);
	/* only one answers (the others fail or send garbage): that one */
	ticker_ctl(up, port, "POST", "/_ticker/price",
	    "{\"fail\":[\"kraken\"],\"garbage\":[\"binance\"],\"coinbase\":\"96000\"}", out,
	    sizeof(out));
	ck_assert_int_eq(price_refresh_from(db, up, src, 3, now, &v), RERR_OK);
	ck_assert_int_eq(v, 96000000000LL);
	/* price_btc_usd refreshes a stale value through the same path */
	ticker_ctl(up, port, "POST", "/_ticker/reset", "", out, sizeof(out));
	ticker_ctl(up, port, "POST", "/_ticker/price", "{\"price\":\"100000\"}", out,
	    sizeof(out));
	ck_assert_int_eq(price_btc_usd_at(db, up, src, 3, 60, 0, wall_sec() + 120, &v, &at),
	    RERR_OK);
	ck_assert_int_eq(v, 100000000000LL);
out:
	ticker_stop();
	upstream_free(up);
	db_close(db);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("price");
	TCase *tc = tcase_create("core");

	log_open(NULL, LOG_ERROR);
	upstream_global_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, parses_formats);
	tcase_add_test(tc, refuses_junk);
	tcase_add_test(tc, picks_lower);
	tcase_add_test(tc, staleness_and_fallback);
	tcase_add_test(tc, lease_serialises);
	tcase_add_test(tc, refresh_against_fake);
	suite_add_tcase(s, tc);
	return s;
}
