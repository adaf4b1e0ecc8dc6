/* test_ledger: lib/ledger on a real SQLite file in a temporary directory,
 * with the schema applied by the real migration runner. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db_sql.h"
#include "ledger.h"
#include "log.h"
#include "util.h"
#include "testlib.h"

static char tmpdir[TL_PATH_MAX];
/* LEDGER_TEST_SYNC=full measures the race tests with an fsync per commit. */
static enum db_sync
test_sync(void)
{
	const char *s = getenv("LEDGER_TEST_SYNC");

	return s != NULL && strcmp(s, "full") == 0 ? DB_SYNC_FULL : DB_SYNC_NORMAL;
}

static char dbpath[TL_PATH_MAX + 16];
static struct db *db;

static void
setup(void)
{
	tl_tmpdir(tmpdir, sizeof(tmpdir), "test-ledger");
	snprintf(dbpath, sizeof(dbpath), "%s/ledger.db", tmpdir);
	db = tl_db_open(dbpath, test_sync());
}

static void
teardown(void)
{
	db_close(db);
	db = NULL;
	tl_tmpdir_remove(tmpdir);
}

static struct db *
open_other(void)
{
	struct db *d = NULL;

	ck_assert_int_eq(db_open(dbpath, test_sync(), &d), RERR_OK);
	return d;
}

static void
make_key(const char *hash, int64_t deposit, const char *ref)
{
	struct ledger_key_new nk;
	bool created = false;

	memset(&nk, 0, sizeof(nk));
	nk.hashed_key = hash;
	nk.deposit_msat = deposit;
	nk.deposit_ref = ref;
	nk.deposit_source = ref;
	nk.refund_currency = "sat";
	ck_assert_int_eq(ledger_key_create(db, &nk, &created), RERR_OK);
	ck_assert(created);
}

/* Withdraw everything key hash holds, in whole units of unit_msat, as a
 * refund does (lib/funds.c): *amount is what was debited. */
static enum rerr
withdraw_all(struct db *d, const char *hash, int64_t unit_msat, int64_t *amount)
{
	struct ledger_withdrawal w;
	enum rerr e = ledger_withdraw_begin(d, hash, unit_msat, "http://mint.test",
	    unit_msat == 1 ? "msat" : "sat", "apikey", NULL, &w);

	*amount = w.amount_msat;
	return e;
}

static struct ledger_key
get(const char *hash)
{
	struct ledger_key k;

	ck_assert_int_eq(ledger_key_get(db, hash, &k, NULL), RERR_OK);
	return k;
}

/* Audit must find nothing. */
static void
audit_clean(struct db *d, bool owners)
{
	struct ledger_violation *v = NULL;
	size_t n = 0, i;

	ck_assert_int_eq(ledger_audit(d, owners, &v, &n), RERR_OK);
	for (i = 0; i < n && i < LEDGER_AUDIT_MAX; i++)
		fprintf(stderr, "violation %s key=%s res=%" PRId64 " expected=%" PRId64
		    " actual=%" PRId64 "\n", ledger_violation_name(v[i].kind), v[i].key_hash,
		    v[i].reservation_id, v[i].expected, v[i].actual);
	free(v);
	ck_assert_uint_eq(n, 0);
}

static int64_t
journal_sum(const char *hash)
{
	sqlite3_stmt *st;
	int64_t s;

	ck_assert_int_eq(sqlite3_prepare_v2(db_handle(db),
	    "SELECT coalesce(sum(delta), 0) FROM journal"
	    " WHERE key_id = (SELECT id FROM api_keys WHERE hashed_key = ?1)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	s = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return s;
}

/* ------------------------------------------------------------------------ */

START_TEST(t_arithmetic)
{
	struct ledger_reserve_result r;
	struct ledger_settle_result s;
	struct ledger_request_log log = { "req-1", "gpt-x", "mock", 200, 10, 20, 150, 120 };
	struct ledger_key_new nk;
	struct ledger_key k;
	bool created = true;
	int64_t id1, id2;

	make_key("aa", 10000, "tok-aa");
	/* Idempotent on the hash: nothing changes the second time. */
	memset(&nk, 0, sizeof(nk));
	nk.hashed_key = "aa";
	nk.deposit_msat = 99999;
	nk.deposit_ref = "tok-other";
	ck_assert_int_eq(ledger_key_create(db, &nk, &created), RERR_OK);
	ck_assert(!created);
	ck_assert_int_eq(get("aa").balance, 10000);
	/* A credit source credits once, even for another key... */
	nk.hashed_key = "bb";
	nk.deposit_source = "tok-aa";
	ck_assert_int_eq(ledger_key_create(db, &nk, &created), RERR_CONFLICT);
	ck_assert_int_eq(ledger_key_get(db, "bb", &k, NULL), RERR_NOT_FOUND);
	/* ...and whatever the kind: a deposit's source cannot top up (the
	 * double credit of issue 7, finding 1, at the ledger's depth). */
	ck_assert_int_eq(ledger_credit_src(db, "aa", 10000, LEDGER_TOPUP, "x", "tok-aa", NULL),
	    RERR_CONFLICT);
	ck_assert_int_eq(get("aa").balance, 10000);

	/* reserve 3000: available 7000; settle at 2500. */
	ck_assert_int_eq(ledger_reserve(db, "aa", 3000, "req-1", "gpt-x", &r), RERR_OK);
	id1 = r.id;
	ck_assert_int_gt(id1, 0);
	ck_assert_int_eq(r.available, 7000);
	k = get("aa");
	ck_assert_int_eq(k.reserved, 3000);
	ck_assert_int_eq(ledger_available(&k), 7000);
	ck_assert_int_eq(ledger_progress(db, id1, 100), RERR_OK);
	ck_assert_int_eq(ledger_settle(db, id1, 2500, &log, &s), RERR_OK);
	ck_assert_int_eq(s.charged, 2500);
	ck_assert_int_eq(s.forgiven, 0);
	ck_assert_int_eq(s.balance_after, 7500);
	k = get("aa");
	ck_assert_int_eq(k.balance, 7500);
	ck_assert_int_eq(k.reserved, 0);
	ck_assert_int_eq(k.total_spent, 2500);
	ck_assert_int_eq(k.total_requests, 1);
	/* Exactly once: no second settle, no release after it. */
	ck_assert_int_eq(ledger_settle(db, id1, 2500, NULL, &s), RERR_CONFLICT);
	ck_assert_int_eq(s.charged, 0);
	ck_assert_int_eq(ledger_release(db, id1), RERR_CONFLICT);
	ck_assert_int_eq(ledger_progress(db, id1, 5), RERR_CONFLICT);
	ck_assert_int_eq(get("aa").balance, 7500);

	/* reserve then release: no charge, no request counted. */
	ck_assert_int_eq(ledger_reserve(db, "aa", 2000, "req-2", NULL, &r), RERR_OK);
	id2 = r.id;
	ck_assert_int_ne(id2, id1);
	ck_assert_int_eq(ledger_release(db, id2), RERR_OK);
	ck_assert_int_eq(ledger_release(db, id2), RERR_CONFLICT);
	ck_assert_int_eq(ledger_settle(db, id2, 1, NULL, NULL), RERR_CONFLICT);
	k = get("aa");
	ck_assert_int_eq(k.balance, 7500);
	ck_assert_int_eq(k.reserved, 0);
	ck_assert_int_eq(k.total_requests, 1);

	/* settle at 0 (nothing produced): settled, nothing charged. */
	ck_assert_int_eq(ledger_reserve(db, "aa", 500, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_settle(db, r.id, 0, NULL, &s), RERR_OK);
	ck_assert_int_eq(s.charged, 0);
	ck_assert_int_eq(get("aa").balance, 7500);

	/* Bad input. */
	ck_assert_int_eq(ledger_settle(db, 999999, 1, NULL, NULL), RERR_NOT_FOUND);
	ck_assert_int_eq(ledger_settle(db, id1, -1, NULL, NULL), RERR_INVALID);
	ck_assert_int_eq(ledger_reserve(db, "aa", 0, NULL, NULL, &r), RERR_INVALID);
	ck_assert_int_eq(ledger_reserve(db, "nope", 10, NULL, NULL, &r), RERR_NOT_FOUND);
	ck_assert_int_eq(ledger_reserve(db, "", 10, NULL, NULL, &r), RERR_INVALID);

	/* Top-up: credits once per source. */
	ck_assert_int_eq(ledger_credit_src(db, "aa", 500, LEDGER_TOPUP, "r", "tok-2", NULL), RERR_OK);
	ck_assert_int_eq(ledger_credit_src(db, "aa", 500, LEDGER_TOPUP, "r", "tok-2", NULL),
	    RERR_CONFLICT);
	ck_assert_int_eq(ledger_credit(db, "aa", 0, LEDGER_TOPUP, "tok-3", NULL), RERR_INVALID);
	ck_assert_int_eq(ledger_credit(db, "aa", 5, LEDGER_CHARGE, "x", NULL), RERR_INVALID);
	ck_assert_int_eq(get("aa").balance, 8000);
	/* Operator adjustments, not past available. */
	ck_assert_int_eq(ledger_adjust(db, "aa", -1000, "fix"), RERR_OK);
	ck_assert_int_eq(ledger_adjust(db, "aa", -7001, "too much"), RERR_CONFLICT);
	ck_assert_int_eq(get("aa").balance, 7000);

	ck_assert_int_eq(journal_sum("aa"), 7000);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM requests WHERE request_id = 'req-1'"
	    " AND charged = 2500 AND tokens_out = 20"), 1);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM journal WHERE kind = 'charge'"), 1);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_insufficient)
{
	struct ledger_reserve_result r;
	char buf[64];

	make_key("k402", 1000, NULL);
	ck_assert_int_eq(ledger_reserve(db, "k402", 600, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "k402", 500, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_INSUFFICIENT);
	ck_assert_int_eq(r.id, 0);
	ck_assert_int_eq(r.balance, 1000);
	ck_assert_int_eq(r.reserved, 600);
	ck_assert_int_eq(r.available, 400);
	snprintf(buf, sizeof(buf), "%" PRId64, r.available);
	ck_assert_str_eq(buf, "400");
	/* Exactly the rest fits; then nothing. */
	ck_assert_int_eq(ledger_reserve(db, "k402", 400, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(r.available, 0);
	ck_assert_int_eq(ledger_reserve(db, "k402", 1, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_INSUFFICIENT);
	/* A key with nothing at all. */
	make_key("empty", 0, NULL);
	ck_assert_int_eq(ledger_reserve(db, "empty", 1, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_INSUFFICIENT);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_overrun)
{
	struct ledger_reserve_result a, b;
	struct ledger_settle_result s;
	struct ledger_key k;

	make_key("ov", 10000, NULL);
	ck_assert_int_eq(ledger_reserve(db, "ov", 4000, NULL, NULL, &a), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "ov", 5000, NULL, NULL, &b), RERR_OK);
	/* A costs 6000 against 4000 reserved; 1000 is free, B's 5000 is not
	 * touched: charged 5000, 1000 forgiven. */
	ck_assert_int_eq(ledger_settle(db, a.id, 6000, NULL, &s), RERR_OK);
	ck_assert_int_eq(s.charged, 5000);
	ck_assert_int_eq(s.forgiven, 1000);
	k = get("ov");
	ck_assert_int_eq(k.balance, 5000);
	ck_assert_int_eq(k.reserved, 5000);
	ck_assert_int_eq(ledger_available(&k), 0);
	/* B within its reservation. */
	ck_assert_int_eq(ledger_settle(db, b.id, 4999, NULL, &s), RERR_OK);
	ck_assert_int_eq(s.charged, 4999);
	ck_assert_int_eq(get("ov").balance, 1);
	/* An overrun that fits in the free balance is charged whole. */
	ck_assert_int_eq(ledger_credit(db, "ov", 999, LEDGER_TOPUP, NULL, NULL), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "ov", 100, NULL, NULL, &a), RERR_OK);
	ck_assert_int_eq(ledger_settle(db, a.id, 700, NULL, &s), RERR_OK);
	ck_assert_int_eq(s.charged, 700);
	ck_assert_int_eq(s.forgiven, 0);
	ck_assert_int_eq(get("ov").balance, 300);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_limit_periods)
{
	/* 2024-01-01 00:00:00 UTC, a Monday. */
	const int64_t t = 1704067200;

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert(!ledger_limit_reset_due(LEDGER_RESET_DAILY, t, t + 3600));
	ck_assert(ledger_limit_reset_due(LEDGER_RESET_DAILY, t, t + 86400));
	ck_assert(ledger_limit_reset_due(LEDGER_RESET_DAILY, t - 1, t));
	ck_assert(!ledger_limit_reset_due(LEDGER_RESET_WEEKLY, t, t + 6 * 86400 + 86399));
	ck_assert(ledger_limit_reset_due(LEDGER_RESET_WEEKLY, t, t + 7 * 86400));
	/* 2024-12-30 (Monday) and 2025-01-05 (Sunday) share ISO week 2025-W01. */
	ck_assert(!ledger_limit_reset_due(LEDGER_RESET_WEEKLY, 1735516800, 1736035200));
	ck_assert(!ledger_limit_reset_due(LEDGER_RESET_MONTHLY, t, t + 30 * 86400));
	ck_assert(ledger_limit_reset_due(LEDGER_RESET_MONTHLY, t, t + 31 * 86400));
	/* December to January (year greater, month smaller). */
	ck_assert(ledger_limit_reset_due(LEDGER_RESET_MONTHLY, t - 86400, t));
	ck_assert(!ledger_limit_reset_due(LEDGER_RESET_NONE, 0, t));
	ck_assert(ledger_limit_reset_due(LEDGER_RESET_DAILY, 0, t));	/* never reset */
	ck_assert_int_eq(ledger_reset_parse("weekly"), LEDGER_RESET_WEEKLY);
	ck_assert_int_eq(ledger_reset_parse("yearly"), LEDGER_RESET_NONE);
	ck_assert_int_eq(ledger_reset_parse(NULL), LEDGER_RESET_NONE);
}
END_TEST

START_TEST(t_limits)
{
	struct ledger_limits lim = { .has_limit = true, .balance_limit = 5000 };
	struct ledger_reserve_result r;
	struct ledger_settle_result s;
	char sql[256];
	int64_t first;

	make_key("lim", 100000, NULL);
	ck_assert_int_eq(ledger_key_set_limits(db, "lim", &lim), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "lim", 3000, NULL, NULL, &r), RERR_OK);
	first = r.id;
	/* 0 spent + 3000 reserved + 3000 > 5000. */
	ck_assert_int_eq(ledger_reserve(db, "lim", 3000, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_LIMIT);
	ck_assert_int_eq(r.limit, 5000);
	ck_assert_int_eq(r.key_reserved, 3000);
	ck_assert_int_eq(ledger_reserve(db, "lim", 2000, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_release(db, r.id), RERR_OK);
	ck_assert_int_eq(ledger_settle(db, first, 3000, NULL, &s), RERR_OK);
	/* 3000 spent + 2500 > 5000; 2000 fits exactly. */
	ck_assert_int_eq(ledger_reserve(db, "lim", 2500, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_LIMIT);
	ck_assert_int_eq(r.spent, 3000);
	ck_assert_int_eq(ledger_reserve(db, "lim", 2000, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_settle(db, r.id, 2000, NULL, &s), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "lim", 1, NULL, NULL, &r), RERR_CONFLICT);
	/* Daily reset: move the last reset two days back; the next
	 * reservation starts a new period with total_spent 0. */
	lim.reset = LEDGER_RESET_DAILY;
	ck_assert_int_eq(ledger_key_set_limits(db, "lim", &lim), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "lim", 1, NULL, NULL, &r), RERR_CONFLICT);
	snprintf(sql, sizeof(sql), "UPDATE api_keys SET balance_limit_reset_at = %" PRId64
	    " WHERE hashed_key = 'lim'", wall_sec() - 2 * 86400);
	ck_assert_int_eq(db_exec(db, sql), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "lim", 4000, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(get("lim").total_spent, 0);
	ck_assert_int_eq(get("lim").lim.reset, LEDGER_RESET_DAILY);
	/* Validity date in the past: 403 key_expired. */
	lim.has_validity = true;
	lim.validity_date = wall_sec() - 10;
	ck_assert_int_eq(ledger_key_set_limits(db, "lim", &lim), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "lim", 1, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_EXPIRED);
	lim.validity_date = wall_sec() + 3600;
	ck_assert_int_eq(ledger_key_set_limits(db, "lim", &lim), RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "lim", 1, NULL, NULL, &r), RERR_OK);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_child_keys)
{
	const char *kids[] = { "kid1", "kid2" };
	const char *grandkid[] = { "kid3" };
	struct ledger_limits lim = { .has_limit = true, .balance_limit = 1000 };
	struct ledger_reserve_result r;
	struct ledger_settle_result s;
	struct ledger_key k, b;
	int64_t pb = 0, avail = 0, amount, first;

	make_key("parent", 10000, NULL);
	ck_assert_int_eq(ledger_child_keys_create(db, "parent", kids, 2, 100, &lim, &pb, &avail),
	    RERR_OK);
	ck_assert_int_eq(pb, 9800);
	k = get("parent");
	ck_assert_int_eq(k.balance, 9800);
	ck_assert_int_eq(k.total_spent, 200);
	/* Key of a child: refused; too expensive: refused with available. */
	ck_assert_int_eq(ledger_child_keys_create(db, "kid1", grandkid, 1, 0, &lim, NULL, NULL),
	    RERR_INVALID);
	ck_assert_int_eq(ledger_child_keys_create(db, "parent", grandkid, 1, 9801, &lim, NULL,
	    &avail), RERR_CONFLICT);
	ck_assert_int_eq(avail, 9800);
	ck_assert_int_eq(ledger_child_keys_create(db, "parent", grandkid, 0, 1, &lim, NULL, NULL),
	    RERR_INVALID);

	/* A child spends its parent's balance within its own limit. */
	ck_assert_int_eq(ledger_reserve(db, "kid1", 800, NULL, NULL, &r), RERR_OK);
	first = r.id;
	ck_assert_int_eq(ledger_key_get(db, "kid1", &k, &b), RERR_OK);
	ck_assert_int_eq(k.reserved, 800);
	ck_assert_int_eq(b.reserved, 800);
	ck_assert_int_eq(ledger_available(&b), 9000);
	ck_assert_int_eq(ledger_reserve(db, "kid1", 300, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(r.refusal, LEDGER_REFUSE_LIMIT);
	ck_assert_int_eq(get("parent").reserved, 800);	/* rolled back whole */
	ck_assert_int_eq(ledger_settle(db, first, 700, NULL, &s), RERR_OK);
	ck_assert_int_eq(s.charged, 700);
	ck_assert_int_eq(ledger_key_get(db, "kid1", &k, &b), RERR_OK);
	ck_assert_int_eq(k.balance, 0);
	ck_assert_int_eq(k.reserved, 0);
	ck_assert_int_eq(k.total_spent, 700);
	ck_assert_int_eq(k.total_requests, 1);
	ck_assert_int_eq(b.balance, 9100);
	ck_assert_int_eq(b.total_spent, 900);
	ck_assert_int_eq(b.total_requests, 1);
	/* 700 spent + 400 > 1000; the parent presents itself without limit. */
	ck_assert_int_eq(ledger_reserve(db, "kid1", 400, NULL, NULL, &r), RERR_CONFLICT);
	ck_assert_int_eq(ledger_reserve(db, "parent", 5000, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_release(db, r.id), RERR_OK);
	/* Reset by someone else's parent: refused; by its parent: done. */
	make_key("stranger", 1, NULL);
	ck_assert_int_eq(ledger_child_reset(db, "stranger", "kid1"), RERR_CONFLICT);
	ck_assert_int_eq(ledger_child_reset(db, "parent", "nokid"), RERR_NOT_FOUND);
	ck_assert_int_eq(ledger_child_reset(db, "parent", "kid1"), RERR_OK);
	ck_assert_int_eq(get("kid1").total_spent, 0);
	ck_assert_int_eq(ledger_reserve(db, "kid1", 1000, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_release(db, r.id), RERR_OK);
	/* Credit through a child lands on the parent; no withdrawal by a child. */
	ck_assert_int_eq(ledger_credit(db, "kid2", 900, LEDGER_TOPUP, "kid-topup", NULL),
	    RERR_OK);
	ck_assert_int_eq(get("parent").balance, 10000);
	ck_assert_int_eq(get("kid2").balance, 0);
	ck_assert_int_eq(withdraw_all(db, "kid2", 1, &amount), RERR_INVALID);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_children)
{
	const char *first[] = { "kid-b", "kid-a" };
	const char *second[] = { "kid-c" };
	struct ledger_limits lim = { .has_limit = true, .balance_limit = 5000,
	    .reset = LEDGER_RESET_WEEKLY };
	struct ledger_limits none = { 0 };
	struct ledger_child rows[4];
	struct ledger_reserve_result r;
	struct ledger_settle_result s;
	size_t n = 99, total = 99;

	make_key("parent", 10000, NULL);
	make_key("other", 1000, NULL);
	/* No children yet: nothing, and no count beyond the page. */
	ck_assert_int_eq(ledger_children(db, "parent", rows, 4, &n, &total), RERR_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(total, 0);
	ck_assert_int_eq(ledger_child_keys_create(db, "parent", first, 2, 0, &lim, NULL, NULL),
	    RERR_OK);
	ck_assert_int_eq(ledger_child_keys_create(db, "parent", second, 1, 0, &none, NULL, NULL),
	    RERR_OK);
	ck_assert_int_eq(ledger_reserve(db, "kid-a", 700, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(ledger_settle(db, r.id, 640, NULL, &s), RERR_OK);

	/* Creation order, not key order; each child's own figures. */
	ck_assert_int_eq(ledger_children(db, "parent", rows, 4, &n, &total), RERR_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(total, 3);
	ck_assert_str_eq(rows[0].hashed_key, "kid-b");
	ck_assert_str_eq(rows[1].hashed_key, "kid-a");
	ck_assert_str_eq(rows[2].hashed_key, "kid-c");
	ck_assert_int_eq(rows[0].total_requests, 0);
	ck_assert_int_eq(rows[0].total_spent, 0);
	ck_assert_int_eq(rows[1].total_requests, 1);
	ck_assert_int_eq(rows[1].total_spent, 640);
	ck_assert(rows[1].lim.has_limit);
	ck_assert_int_eq(rows[1].lim.balance_limit, 5000);
	ck_assert_int_eq(rows[1].lim.reset, LEDGER_RESET_WEEKLY);
	ck_assert(!rows[1].lim.has_validity);
	ck_assert(!rows[2].lim.has_limit);
	ck_assert_int_eq(rows[2].lim.reset, LEDGER_RESET_NONE);

	/* A short page: the first max, and how many there are. */
	ck_assert_int_eq(ledger_children(db, "parent", rows, 2, &n, &total), RERR_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(total, 3);
	ck_assert_str_eq(rows[1].hashed_key, "kid-a");
	ck_assert_int_eq(ledger_children(db, "parent", rows, 0, &n, NULL), RERR_OK);
	ck_assert_uint_eq(n, 0);

	/* A child, another key, an unknown key: none. No key: refused. */
	ck_assert_int_eq(ledger_children(db, "kid-a", rows, 4, &n, &total), RERR_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(total, 0);
	ck_assert_int_eq(ledger_children(db, "other", rows, 4, &n, &total), RERR_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ledger_children(db, "nokey", rows, 4, &n, NULL), RERR_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ledger_children(db, "", rows, 4, &n, NULL), RERR_INVALID);
	/* Read-only: the books are as they were. */
	audit_clean(db, true);
}
END_TEST

START_TEST(t_withdraw)
{
	struct ledger_reserve_result r;
	int64_t amount = -1;

	make_key("wd", 12345, NULL);
	ck_assert_int_eq(ledger_reserve(db, "wd", 100, NULL, NULL, &r), RERR_OK);
	/* Policy: not while a request is in flight. */
	ck_assert_int_eq(withdraw_all(db, "wd", 1000, &amount), RERR_CONFLICT);
	ck_assert_int_eq(amount, 0);
	ck_assert_int_eq(ledger_release(db, r.id), RERR_OK);
	/* Whole sats: 12000 taken, 345 msat stay on the key. */
	ck_assert_int_eq(withdraw_all(db, "wd", 1000, &amount), RERR_OK);
	ck_assert_int_eq(amount, 12000);
	ck_assert_int_eq(get("wd").balance, 345);
	ck_assert_int_eq(withdraw_all(db, "wd", 1000, &amount), RERR_OK);
	ck_assert_int_eq(amount, 0);
	/* The token could not be made: the withdrawal is given back. */
	ck_assert_int_eq(ledger_credit(db, "wd", 12000, LEDGER_REFUND_REVERT, "refund-1", NULL),
	    RERR_OK);
	ck_assert_int_eq(withdraw_all(db, "wd", 1, &amount), RERR_OK);
	ck_assert_int_eq(amount, 12345);
	ck_assert_int_eq(get("wd").balance, 0);
	ck_assert_int_eq(withdraw_all(db, "missing", 1, &amount), RERR_NOT_FOUND);
	/* The key stays usable. */
	ck_assert_int_eq(ledger_credit(db, "wd", 5, LEDGER_TOPUP, NULL, NULL), RERR_OK);
	ck_assert_int_eq(journal_sum("wd"), 5);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_journal_immutable)
{
	make_key("imm", 777, "tok-imm");
	ck_assert_int_ne(db_exec(db, "UPDATE journal SET delta = 1000000"), RERR_OK);
	ck_assert_int_ne(db_exec(db, "DELETE FROM journal"), RERR_OK);
	ck_assert_int_eq(journal_sum("imm"), 777);
	/* The schema refuses what the ledger never does. */
	ck_assert_int_ne(db_exec(db, "UPDATE api_keys SET balance = -1 WHERE hashed_key = 'imm'"),
	    RERR_OK);
	ck_assert_int_ne(db_exec(db, "UPDATE api_keys SET reserved = 778 WHERE hashed_key = 'imm'"),
	    RERR_OK);
	audit_clean(db, true);
}
END_TEST

START_TEST(t_audit_detects)
{
	struct ledger_reserve_result r;
	struct ledger_violation *v = NULL;
	size_t n = 0;

	make_key("au", 1000, NULL);
	ck_assert_int_eq(ledger_reserve(db, "au", 100, NULL, NULL, &r), RERR_OK);
	/* Money changed behind the ledger's back. */
	ck_assert_int_eq(db_exec(db, "UPDATE api_keys SET balance = 2000, reserved = 50"
	    " WHERE hashed_key = 'au'"), RERR_OK);
	ck_assert_int_eq(ledger_audit(db, false, &v, &n), RERR_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[0].kind, LEDGER_V_BALANCE_JOURNAL);
	ck_assert_str_eq(v[0].key_hash, "au");
	ck_assert_int_eq(v[0].expected, 1000);
	ck_assert_int_eq(v[0].actual, 2000);
	ck_assert_int_eq(v[1].kind, LEDGER_V_RESERVED);
	ck_assert_int_eq(v[1].expected, 100);
	ck_assert_int_eq(v[1].actual, 50);
	free(v);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Races                                                                     */

#define RACE_THREADS 4
#define RACE_OPS 3000
#define RACE_DEPOSIT 20000000LL

struct race_arg {
	int seed;
	int64_t charged;
	int reserved_ok;
	int refused;
	int settled;
	int released;
	int errors;
};

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void *
race_thread(void *p)
{
	struct race_arg *a = p;
	struct db *d = open_other();
	int64_t ids[4], amts[4];
	int nout = 0, i;
	uint32_t s = (uint32_t)a->seed * 2654435761u + 1;

	for (i = 0; i < RACE_OPS || nout > 0; i++) {
		struct ledger_reserve_result r;
		struct ledger_settle_result sr;
		uint32_t x = rnd(&s);

		if (i < RACE_OPS && nout < 4 && (nout == 0 || x % 2 == 0)) {
			int64_t amt = 1 + rnd(&s) % 20000;
			enum rerr e = ledger_reserve(d, "race", amt, "r", "m", &r);

			if (e == RERR_OK) {
				ids[nout] = r.id;
				amts[nout++] = amt;
				a->reserved_ok++;
			} else if (e == RERR_CONFLICT &&
			    r.refusal == LEDGER_REFUSE_INSUFFICIENT) {
				a->refused++;
			} else {
				a->errors++;
			}
		} else {
			int j = (int)(rnd(&s) % (uint32_t)nout);

			if (rnd(&s) % 10 < 7) {
				/* up to 25 % over the reservation */
				int64_t cost = (int64_t)(rnd(&s) % (uint32_t)(amts[j] * 5 / 4 + 1));

				if (ledger_settle(d, ids[j], cost, NULL, &sr) == RERR_OK) {
					a->charged += sr.charged;
					a->settled++;
				} else {
					a->errors++;
				}
			} else {
				if (ledger_release(d, ids[j]) == RERR_OK)
					a->released++;
				else
					a->errors++;
			}
			ids[j] = ids[nout - 1];
			amts[j] = amts[nout - 1];
			nout--;
		}
	}
	db_close(d);
	return NULL;
}

/* 0007_lean_ledger carries a database of schema 6 forward: balances, active
 * reservations (settled afterwards by id), history and journal survive, new
 * reservation ids continue past every old one, and the audit stays clean. */
START_TEST(t_migrate_lean)
{
	struct ledger_reserve_result r;
	struct ledger_settle_result sr;
	struct db *old = NULL;
	char path[TL_PATH_MAX + 16], err[256] = "";
	int applied = 0;
	size_t six;

	for (six = 0; six < db_migrations_count && db_migrations[six].version <= 6; six++)
		continue;
	snprintf(path, sizeof(path), "%s/old.db", tmpdir);
	ck_assert_int_eq(db_open(path, DB_SYNC_NORMAL, &old), RERR_OK);
	ck_assert_int_eq(db_migrate(old, db_migrations, six, &applied, err, sizeof(err)), RERR_OK);
	ck_assert_int_eq(db_exec(old,
	    "INSERT INTO api_keys (hashed_key, balance, reserved, total_spent, total_requests,"
	    " created_at) VALUES ('pa', 10000, 300, 700, 1, 1);"
	    "INSERT INTO api_keys (hashed_key, parent_key_hash, reserved, created_at)"
	    " VALUES ('ch', 'pa', 100, 2);"
	    "INSERT INTO journal (key_hash, delta, kind, ref, balance_after, created_at)"
	    " VALUES ('pa', 10700, 'adjust', 'x', 10700, 1);"
	    "INSERT INTO journal (key_hash, delta, kind, ref, balance_after, created_at)"
	    " VALUES ('pa', -700, 'charge', '2', 10000, 1);"
	    "INSERT INTO reservations (key_hash, billing_key_hash, amount, state, owner_pid,"
	    " owner_start_time, owner_boot_id, owner_pidns, created_at)"
	    " VALUES ('pa', 'pa', 50, 'released', 1, 1, 'b', 'p', 1);"
	    "INSERT INTO reservations (key_hash, billing_key_hash, amount, state, owner_pid,"
	    " owner_start_time, owner_boot_id, owner_pidns, charged, settled_by, request_id,"
	    " created_at, settled_at) VALUES ('pa', 'pa', 900, 'settled', 1, 1, 'b', 'p', 700,"
	    " 'owner', 'req-2', 1, 2);"
	    "INSERT INTO reservations (key_hash, billing_key_hash, amount, state, owner_pid,"
	    " owner_start_time, owner_boot_id, owner_pidns, created_at)"
	    " VALUES ('pa', 'pa', 200, 'active', 1, 1, 'b', 'p', 1);"
	    "INSERT INTO reservations (key_hash, billing_key_hash, amount, state, owner_pid,"
	    " owner_start_time, owner_boot_id, owner_pidns, created_at)"
	    " VALUES ('ch', 'pa', 100, 'active', 1, 1, 'b', 'p', 1);"
	    "INSERT INTO requests (request_id, key_hash, reservation_id, model, provider, status,"
	    " tokens_in, tokens_out, cost_msat, created_at)"
	    " VALUES ('req-2', 'pa', 2, 'm', 'p', 200, 3, 4, 700, 2);"), RERR_OK);
	ck_assert_int_eq(db_migrate(old, db_migrations, db_migrations_count, &applied, err,
	    sizeof(err)), RERR_OK);
	ck_assert_int_eq(tl_db_int(old, "SELECT count(*) FROM reservations"), 2);
	ck_assert_int_eq(tl_db_int(old, "SELECT count(*) FROM requests WHERE id = 2"
	    " AND request_id = 'req-2' AND charged = 700 AND tokens_out = 4 AND provider = 'p'"), 1);
	ck_assert_int_eq(tl_db_int(old, "SELECT count(*) FROM requests WHERE id = 1"
	    " AND charged IS NULL"), 1);
	audit_clean(old, false);
	/* the old active reservations end by their ids, exactly once */
	ck_assert_int_eq(ledger_settle(old, 3, 150, NULL, &sr), RERR_OK);
	ck_assert_int_eq(sr.charged, 150);
	ck_assert_int_eq(ledger_settle(old, 3, 150, NULL, &sr), RERR_CONFLICT);
	ck_assert_int_eq(ledger_release(old, 4), RERR_OK);
	ck_assert_int_eq(ledger_release(old, 1), RERR_CONFLICT);
	ck_assert_int_eq(ledger_release(old, 99), RERR_NOT_FOUND);
	/* new ids never reuse an old one */
	ck_assert_int_eq(ledger_reserve(old, "ch", 10, "req-5", "m", &r), RERR_OK);
	ck_assert_int_eq(r.id, 5);
	ck_assert_int_eq(ledger_settle(old, r.id, 10, NULL, &sr), RERR_OK);
	ck_assert_int_eq(tl_db_int(old, "SELECT balance FROM api_keys WHERE hashed_key = 'pa'"),
	    10000 - 160);
	ck_assert_int_eq(tl_db_int(old, "SELECT reserved FROM api_keys"), 0);
	audit_clean(old, true);
	db_close(old);
}
END_TEST

START_TEST(t_race_reserve)
{
	pthread_t th[RACE_THREADS];
	struct race_arg args[RACE_THREADS];
	int64_t charged = 0, t0, us;
	int i, res = 0, refused = 0, settled = 0, released = 0;
	struct ledger_key k;

	make_key("race", RACE_DEPOSIT, NULL);
	memset(args, 0, sizeof(args));
	t0 = mono_usec();
	for (i = 0; i < RACE_THREADS; i++) {
		args[i].seed = i + 1;
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
	}
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	us = mono_usec() - t0;
	for (i = 0; i < RACE_THREADS; i++) {
		ck_assert_int_eq(args[i].errors, 0);
		charged += args[i].charged;
		res += args[i].reserved_ok;
		refused += args[i].refused;
		settled += args[i].settled;
		released += args[i].released;
	}
	k = get("race");
	fprintf(stderr, "race: %d threads, %d reservations (%d refused 402), %d settled, "
	    "%d released, %" PRId64 " msat charged, %.2f s, %.0f reservations/s, "
	    "%.0f transactions/s\n", RACE_THREADS, res, refused, settled, released, charged,
	    us / 1e6, res / (us / 1e6), (res + refused + settled + released) / (us / 1e6));
	ck_assert_int_eq(k.balance, RACE_DEPOSIT - charged);
	ck_assert_int_ge(k.balance, 0);
	ck_assert_int_eq(k.reserved, 0);
	ck_assert_int_eq(k.total_requests, settled);
	ck_assert_int_eq(journal_sum("race"), k.balance);
	ck_assert_int_gt(refused, 0);	/* the deposit ran out: 402s happened */
	audit_clean(db, true);
}
END_TEST

#define TOPUPS 400

static volatile int topups_done;

static void *
topup_thread(void *p)
{
	struct db *d = open_other();
	int i;
	char ref[32];

	(void)p;
	for (i = 0; i < TOPUPS; i++) {
		snprintf(ref, sizeof(ref), "topup-%d", i);
		ck_assert_int_eq(ledger_credit(d, "tw", 1000, LEDGER_TOPUP, ref, NULL), RERR_OK);
	}
	__atomic_store_n(&topups_done, 1, __ATOMIC_SEQ_CST);
	db_close(d);
	return NULL;
}

struct wd_arg {
	int64_t withdrawn;
	int calls;
};

static void *
withdraw_thread(void *p)
{
	struct wd_arg *a = p;
	struct db *d = open_other();
	int64_t amount;
	int last = 0, i;
	char ref[32];

	/* Bounded: stop after the top-ups are done, or after 100000 calls. */
	for (i = 0; i < 100000 && last < 2; i++) {
		if (__atomic_load_n(&topups_done, __ATOMIC_SEQ_CST))
			last++;
		snprintf(ref, sizeof(ref), "wd-%d", i);
		ck_assert_int_eq(withdraw_all(d, "tw", 1, &amount), RERR_OK);
		a->withdrawn += amount;
		a->calls++;
	}
	db_close(d);
	return NULL;
}

START_TEST(t_race_topup_withdraw)
{
	pthread_t a, b;
	struct wd_arg w = { 0, 0 };
	struct ledger_key k;

	make_key("tw", 5000, NULL);
	topups_done = 0;
	ck_assert_int_eq(pthread_create(&a, NULL, topup_thread, NULL), 0);
	ck_assert_int_eq(pthread_create(&b, NULL, withdraw_thread, &w), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	k = get("tw");
	fprintf(stderr, "topup/withdraw: %d top-ups, %d withdrawals, %" PRId64
	    " msat withdrawn, %" PRId64 " left\n", TOPUPS, w.calls, w.withdrawn, k.balance);
	/* Nothing lost, nothing made up. */
	ck_assert_int_eq(5000 + TOPUPS * 1000LL, w.withdrawn + k.balance);
	ck_assert_int_eq(journal_sum("tw"), k.balance);
	audit_clean(db, true);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Sweeper                                                                   */

START_TEST(t_sweeper)
{
	struct ledger_reserve_result mine, r;
	struct ledger_sweep_result sw;
	struct ledger_violation *v = NULL;
	struct ledger_key k;
	int64_t ids[2];
	int fds[2], status;
	pid_t pid;
	size_t n;

	make_key("sw", 100000, NULL);
	ck_assert_int_eq(ledger_reserve(db, "sw", 1000, NULL, NULL, &mine), RERR_OK);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* A worker that reserves twice, relays some of one, and dies. */
		struct db *d = NULL;

		close(fds[0]);
		if (db_open(dbpath, DB_SYNC_NORMAL, &d) != RERR_OK ||
		    ledger_reserve(d, "sw", 2000, "dead-1", NULL, &r) != RERR_OK)
			_exit(1);
		ids[0] = r.id;
		if (ledger_progress(d, r.id, 300) != RERR_OK ||
		    ledger_progress(d, r.id, 200) != RERR_OK ||	/* monotonic */
		    ledger_reserve(d, "sw", 3000, "dead-2", NULL, &r) != RERR_OK)
			_exit(1);
		ids[1] = r.id;
		if (write(fds[1], ids, sizeof(ids)) != (ssize_t)sizeof(ids))
			_exit(1);
		db_close(d);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], ids, sizeof(ids)), (ssize_t)sizeof(ids));
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(get("sw").reserved, 6000);

	/* The audit sees the two orphans. */
	ck_assert_int_eq(ledger_audit(db, true, &v, &n), RERR_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[0].kind, LEDGER_V_DEAD_OWNER);
	free(v);

	ck_assert_int_eq(ledger_sweep(db, NULL, &sw), RERR_OK);
	ck_assert_int_eq(sw.checked, 3);
	ck_assert_int_eq(sw.alive, 1);
	ck_assert_int_eq(sw.swept, 2);
	ck_assert_int_eq(sw.charged, 300);
	k = get("sw");
	ck_assert_int_eq(k.balance, 100000 - 300);
	ck_assert_int_eq(k.reserved, 1000);	/* ours, untouched */
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM requests WHERE charged = 300"
	    " AND settled_by = 'sweeper'"), 1);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM requests WHERE charged IS NULL"), 1);
	/* The owner cannot finish what the sweeper finished. */
	ck_assert_int_eq(ledger_settle(db, ids[0], 2000, NULL, NULL), RERR_CONFLICT);
	/* Our own reservation survives any number of sweeps, and we settle it. */
	ck_assert_int_eq(ledger_sweep(db, "sw", &sw), RERR_OK);
	ck_assert_int_eq(sw.alive, 1);
	ck_assert_int_eq(sw.swept, 0);
	audit_clean(db, true);

	/* A reused pid (same pid, other start time) is not the owner. */
	ck_assert_int_eq(ledger_progress(db, mine.id, 5000), RERR_OK);	/* capped at 1000 */
	ck_assert_int_eq(db_exec(db, "UPDATE reservations SET owner_start_time ="
	    " owner_start_time + 1"), RERR_OK);
	ck_assert_int_eq(ledger_sweep(db, NULL, &sw), RERR_OK);
	ck_assert_int_eq(sw.swept, 1);
	ck_assert_int_eq(sw.charged, 1000);
	/* Another pid namespace cannot be judged: left alone. Another boot:
	 * everything of it is gone. */
	ck_assert_int_eq(ledger_reserve(db, "sw", 10, NULL, NULL, &r), RERR_OK);
	ck_assert_int_eq(db_exec(db, "UPDATE reservations SET owner_pidns = 'pid:[1]'"
	    ""), RERR_OK);
	ck_assert_int_eq(ledger_sweep(db, NULL, &sw), RERR_OK);
	ck_assert_int_eq(sw.foreign, 1);
	ck_assert_int_eq(sw.swept, 0);
	ck_assert_int_eq(db_exec(db, "UPDATE reservations SET owner_boot_id = 'old-boot'"
	    ""), RERR_OK);
	ck_assert_int_eq(ledger_sweep(db, NULL, &sw), RERR_OK);
	ck_assert_int_eq(sw.swept, 1);
	ck_assert_int_eq(get("sw").reserved, 0);
	ck_assert_int_eq(get("sw").balance, 100000 - 1300);
	/* Live processes: ourselves yes, pid 1's fake start time no. */
	ck_assert_int_eq(ledger_owner_alive(getpid() + 0, -5, "x", "y"), 0);
	audit_clean(db, true);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("core");
	TCase *race = tcase_create("race");

	log_open(NULL, LOG_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_arithmetic);
	tcase_add_test(tc, t_insufficient);
	tcase_add_test(tc, t_overrun);
	tcase_add_test(tc, t_limit_periods);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_child_keys);
	tcase_add_test(tc, t_children);
	tcase_add_test(tc, t_withdraw);
	tcase_add_test(tc, t_journal_immutable);
	tcase_add_test(tc, t_audit_detects);
	tcase_add_test(tc, t_sweeper);
	tcase_add_test(tc, t_migrate_lean);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(race, setup, teardown);
	tcase_set_timeout(race, 300);
	tcase_add_test(race, t_race_reserve);
	tcase_add_test(race, t_race_topup_withdraw);
	suite_add_tcase(s, race);
	return s;
}
