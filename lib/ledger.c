/* ledger: see ledger.h and docs/money.md.
 *
 * Statement discipline: db_stmt() may evict (finalize) a cached statement
 * when its cache is full, so no statement here is kept across another
 * db_stmt() call: each is fetched, bound, stepped and reset before the next.
 * Loops over a SELECT copy the rows out first. */
#include "config.h"

#include "db_sql.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "log.h"
#include "owner.h"
#include "util.h"

/* The msat value of a receipt row t (cashu_transactions, direction 'in'):
 * (amount - fee) in its unit; and the journal source of its credit. */
#define RECEIPT_MSAT_SQL \
    "((t.amount - t.fee) * CASE t.unit WHEN 'msat' THEN 1 ELSE 1000 END)"
#define RECEIPT_SOURCE_SQL "('cashu-in:' || t.id)"

/* The one SQL spelling of "available"; ledger_available() is the C one. */
#define AVAILABLE_SQL "(balance - reserved)"

static const char *const kind_names[LEDGER_KIND__MAX] = {
	[LEDGER_DEPOSIT] = "deposit",
	[LEDGER_TOPUP] = "topup",
	[LEDGER_CHARGE] = "charge",
	[LEDGER_REFUND] = "refund",
	[LEDGER_REFUND_REVERT] = "refund_revert",
	[LEDGER_CHILD_KEY_FEE] = "child_key_fee",
	[LEDGER_ADJUST] = "adjust",
};

static const char *const reset_names[LEDGER_RESET__MAX] = {
	[LEDGER_RESET_NONE] = NULL,
	[LEDGER_RESET_DAILY] = "daily",
	[LEDGER_RESET_WEEKLY] = "weekly",
	[LEDGER_RESET_MONTHLY] = "monthly",
};

static const char *const violation_names[LEDGER_V__MAX] = {
	[LEDGER_V_BALANCE_JOURNAL] = "balance_journal",
	[LEDGER_V_RESERVED] = "reserved",
	[LEDGER_V_NEGATIVE] = "negative",
	[LEDGER_V_OVERDRAFT] = "overdraft",
	[LEDGER_V_ORPHAN_JOURNAL] = "orphan_journal",
	[LEDGER_V_CHARGE_JOURNAL] = "charge_journal",
	[LEDGER_V_DEAD_OWNER] = "dead_owner",
	[LEDGER_V_RECEIPT_CREDIT] = "receipt_credit",
	[LEDGER_V_CREDIT_SOURCE] = "credit_without_receipt",
	[LEDGER_V_WITHDRAWAL] = "withdrawal",
	[LEDGER_V_WALLET] = "wallet_history",
	[LEDGER_V_BOOKS_DEFICIT] = "books_deficit",
	[LEDGER_V_BOOKS_SURPLUS] = "books_surplus",
	[LEDGER_V_INSOLVENT] = "insolvent",
};

const char *
ledger_kind_name(enum ledger_kind k)
{
	return (unsigned)k < LEDGER_KIND__MAX ? kind_names[k] : "unknown";
}

const char *
ledger_reset_name(enum ledger_reset r)
{
	return (unsigned)r < LEDGER_RESET__MAX ? reset_names[r] : NULL;
}

enum ledger_reset
ledger_reset_parse(const char *s)
{
	int i;

	if (s == NULL)
		return LEDGER_RESET_NONE;
	for (i = 1; i < LEDGER_RESET__MAX; i++)
		if (strcmp(s, reset_names[i]) == 0)
			return (enum ledger_reset)i;
	return LEDGER_RESET_NONE;
}

const char *
ledger_violation_name(enum ledger_violation_kind k)
{
	return (unsigned)k < LEDGER_V__MAX ? violation_names[k] : "unknown";
}

int64_t
ledger_available(const struct ledger_key *billing)
{
	return billing->balance - billing->reserved;
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static bool
key_ok(const char *h)
{
	size_t n;

	if (h == NULL)
		return false;
	n = strnlen(h, LEDGER_KEY_MAX + 1);
	return n > 0 && n <= LEDGER_KEY_MAX;
}

/* NULL or a string within LEDGER_TEXT_MAX. */
static bool
text_ok(const char *s)
{
	return s == NULL || strnlen(s, LEDGER_TEXT_MAX + 1) <= LEDGER_TEXT_MAX;
}

/* Step a statement that returns no rows and reset it. Returns the number of
 * rows changed, or -1 (logged) on error. */
static int
step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st), n;

	if (rc != SQLITE_DONE) {
		/* A unique credit reference is an expected refusal, not a fault. */
		if (sqlite3_extended_errcode(db_handle(db)) == SQLITE_CONSTRAINT_UNIQUE)
			log_debug("ledger: %s", sqlite3_errmsg(db_handle(db)));
		else
			log_error("ledger: %s", sqlite3_errmsg(db_handle(db)));
		sqlite3_reset(st);
		return -1;
	}
	n = sqlite3_changes(db_handle(db));
	sqlite3_reset(st);
	return n;
}

static void
col_text(sqlite3_stmt *st, int i, char *dst, size_t n)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(dst, n, "%s", s ? (const char *)s : "");
}

static int64_t
col_i64_or(sqlite3_stmt *st, int i, int64_t dflt)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

static void
bind_opt_i64(sqlite3_stmt *st, int i, bool has, int64_t v)
{
	if (has)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Append one journal row. The caller is inside a transaction and has just
 * changed the balance of key by delta. 0 or -1. */
static int
journal_add_src(struct db *db, const char *key, int64_t delta, enum ledger_kind kind,
    const char *ref, const char *source, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO journal (key_id, delta, kind, ref, balance_after, created_at, source) "
	    "SELECT id, ?2, ?3, ?4, balance, ?5, ?6 FROM api_keys WHERE hashed_key = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, delta);
	sqlite3_bind_text(st, 3, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_text(st, 6, source, -1, SQLITE_STATIC);
	return step_done(db, st) == 1 ? 0 : -1;
}

/* A journal row with no credit source (charges, refunds, fees). */
static int
journal_add(struct db *db, const char *key, int64_t delta, enum ledger_kind kind,
    const char *ref, int64_t now)
{
	return journal_add_src(db, key, delta, kind, ref, NULL, now);
}

static const char key_select_sql[] =
    "SELECT hashed_key, balance, reserved, total_spent, total_requests, parent_key_hash,"
    " balance_limit, balance_limit_reset, balance_limit_reset_at, validity_date,"
    " refund_address, refund_mint_url, refund_currency, key_expiry_time, created_at"
    " FROM api_keys WHERE hashed_key = ?1";

/* Read one key row into *k. RERR_OK, RERR_NOT_FOUND or RERR_DB. */
static enum rerr
key_read(struct db *db, const char *hash, struct ledger_key *k)
{
	sqlite3_stmt *st = db_stmt(db, key_select_sql);
	const unsigned char *reset;
	int rc;

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return RERR_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		log_error("ledger: key read: %s", sqlite3_errmsg(db_handle(db)));
		sqlite3_reset(st);
		return RERR_DB;
	}
	memset(k, 0, sizeof(*k));
	col_text(st, 0, k->hashed_key, sizeof(k->hashed_key));
	k->balance = sqlite3_column_int64(st, 1);
	k->reserved = sqlite3_column_int64(st, 2);
	k->total_spent = sqlite3_column_int64(st, 3);
	k->total_requests = sqlite3_column_int64(st, 4);
	col_text(st, 5, k->parent, sizeof(k->parent));
	k->lim.has_limit = sqlite3_column_type(st, 6) != SQLITE_NULL;
	k->lim.balance_limit = col_i64_or(st, 6, 0);
	reset = sqlite3_column_text(st, 7);
	k->lim.reset = ledger_reset_parse((const char *)reset);
	k->reset_at = col_i64_or(st, 8, 0);
	k->lim.has_validity = sqlite3_column_type(st, 9) != SQLITE_NULL;
	k->lim.validity_date = col_i64_or(st, 9, 0);
	col_text(st, 10, k->refund_address, sizeof(k->refund_address));
	col_text(st, 11, k->refund_mint_url, sizeof(k->refund_mint_url));
	col_text(st, 12, k->refund_currency, sizeof(k->refund_currency));
	k->key_expiry_time = col_i64_or(st, 13, -1);
	k->created_at = col_i64_or(st, 14, 0);
	sqlite3_reset(st);
	return RERR_OK;
}

/* Commit, or roll back when e is not OK or the commit fails. Returns the
 * final result. */
static enum rerr
finish(struct db *db, enum rerr e)
{
	if (e == RERR_OK && db_commit(db) != RERR_OK)
		e = RERR_DB;
	if (e != RERR_OK)
		db_rollback(db);
	return e;
}

int
ledger_owner_alive(pid_t pid, int64_t start_time, const char *boot_id, const char *pidns)
{
	return owner_alive(pid, start_time, boot_id, pidns);
}

/* ------------------------------------------------------------------------ */
/* Balance limits                                                            */

bool
ledger_limit_reset_due(enum ledger_reset r, int64_t then, int64_t now)
{
	time_t t0 = (time_t)then, t1 = (time_t)now;
	struct tm a, b;
	char wa[16], wb[16];

	if (r == LEDGER_RESET_NONE)
		return false;
	if (localtime_r(&t0, &a) == NULL || localtime_r(&t1, &b) == NULL)
		return false;
	switch (r) {
	case LEDGER_RESET_DAILY:
		return a.tm_year != b.tm_year || a.tm_yday != b.tm_yday;
	case LEDGER_RESET_WEEKLY:
		strftime(wa, sizeof(wa), "%G-%V", &a);
		strftime(wb, sizeof(wb), "%G-%V", &b);
		return strcmp(wa, wb) != 0;
	case LEDGER_RESET_MONTHLY:
		return a.tm_year != b.tm_year || a.tm_mon != b.tm_mon;
	default:
		return false;
	}
}

/* Inside a transaction: reset k's spent counter when its period turned. */
static int
limit_reset_if_due(struct db *db, struct ledger_key *k, int64_t now)
{
	static const char sql[] =
	    "UPDATE api_keys SET total_spent = 0, balance_limit_reset_at = ?2 "
	    "WHERE hashed_key = ?1";
	sqlite3_stmt *st;

	if (!ledger_limit_reset_due(k->lim.reset, k->reset_at, now))
		return 0;
	st = db_stmt(db, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, k->hashed_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (step_done(db, st) != 1)
		return -1;
	k->total_spent = 0;
	k->reset_at = now;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */

static bool
limits_ok(const struct ledger_limits *lim)
{
	return (!lim->has_limit || lim->balance_limit >= 0) &&
	    (unsigned)lim->reset < LEDGER_RESET__MAX;
}

enum rerr
ledger_key_create(struct db *db, const struct ledger_key_new *nk, bool *created)
{
	static const char ins_sql[] =
	    "INSERT INTO api_keys (hashed_key, balance, parent_key_hash, refund_address,"
	    " refund_mint_url, refund_currency, balance_limit, balance_limit_reset,"
	    " balance_limit_reset_at, validity_date, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	struct ledger_key k, parent;
	sqlite3_stmt *st;
	enum rerr e;
	int64_t now = wall_sec();

	*created = false;
	if (!key_ok(nk->hashed_key) || nk->deposit_msat < 0 || !text_ok(nk->deposit_ref) ||
	    !text_ok(nk->deposit_source) ||
	    !text_ok(nk->refund_address) || !text_ok(nk->refund_mint_url) ||
	    (nk->refund_currency != NULL && strlen(nk->refund_currency) >= 16) ||
	    !limits_ok(&nk->lim) || (nk->parent != NULL && !key_ok(nk->parent)) ||
	    (nk->parent != NULL && nk->deposit_msat != 0))
		return RERR_INVALID;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = key_read(db, nk->hashed_key, &k);
	if (e == RERR_OK)
		goto out;	/* idempotent: the key exists, nothing changes */
	if (e != RERR_NOT_FOUND)
		goto out;
	if (nk->parent != NULL) {
		e = key_read(db, nk->parent, &parent);
		if (e == RERR_NOT_FOUND || (e == RERR_OK && parent.parent[0] != '\0'))
			e = RERR_INVALID;
		if (e != RERR_OK)
			goto out;
	}
	e = RERR_DB;
	if ((st = db_stmt(db, ins_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, nk->hashed_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, nk->deposit_msat);
	sqlite3_bind_text(st, 3, nk->parent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, nk->refund_address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, nk->refund_mint_url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, nk->refund_currency, -1, SQLITE_STATIC);
	bind_opt_i64(st, 7, nk->lim.has_limit, nk->lim.balance_limit);
	sqlite3_bind_text(st, 8, reset_names[nk->lim.reset], -1, SQLITE_STATIC);
	bind_opt_i64(st, 9, nk->lim.reset != LEDGER_RESET_NONE, now);
	bind_opt_i64(st, 10, nk->lim.has_validity, nk->lim.validity_date);
	sqlite3_bind_int64(st, 11, now);
	if (step_done(db, st) != 1)
		goto out;
	if (nk->deposit_msat > 0 &&
	    journal_add_src(db, nk->hashed_key, nk->deposit_msat, LEDGER_DEPOSIT, nk->deposit_ref,
	    nk->deposit_source, now) < 0) {
		/* The only way this insert fails on valid input is the
		 * unique credit reference: that deposit was already made. */
		e = sqlite3_extended_errcode(db_handle(db)) == SQLITE_CONSTRAINT_UNIQUE ?
		    RERR_CONFLICT : RERR_DB;
		goto out;
	}
	e = RERR_OK;
	*created = true;
out:
	return finish(db, e);
}

enum rerr
ledger_key_get(struct db *db, const char *hash, struct ledger_key *key,
    struct ledger_key *billing)
{
	enum rerr e;

	if (!key_ok(hash))
		return RERR_INVALID;
	/* A deferred read transaction: both rows come from one snapshot. */
	if (db_exec(db, "BEGIN") != RERR_OK)
		return RERR_DB;
	e = key_read(db, hash, key);
	if (e == RERR_OK && billing != NULL) {
		if (key->parent[0] != '\0')
			e = key_read(db, key->parent, billing);
		else
			*billing = *key;
	}
	return finish(db, e);
}

enum rerr
ledger_key_set_limits(struct db *db, const char *hash, const struct ledger_limits *lim)
{
	static const char sql[] =
	    "UPDATE api_keys SET balance_limit = ?2, balance_limit_reset = ?3,"
	    " balance_limit_reset_at = CASE WHEN ?3 IS NULL THEN balance_limit_reset_at ELSE ?4 END,"
	    " validity_date = ?5 WHERE hashed_key = ?1 AND parent_key_hash IS NULL";
	sqlite3_stmt *st;
	int n;

	if (!key_ok(hash) || !limits_ok(lim))
		return RERR_INVALID;
	if ((st = db_stmt(db, sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	bind_opt_i64(st, 2, lim->has_limit, lim->balance_limit);
	sqlite3_bind_text(st, 3, reset_names[lim->reset], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, wall_sec());
	bind_opt_i64(st, 5, lim->has_validity, lim->validity_date);
	n = step_done(db, st);
	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}

enum rerr
ledger_key_set_refund(struct db *db, const char *hash, const char *refund_address,
    int64_t key_expiry_time)
{
	static const char sql[] =
	    "UPDATE api_keys SET refund_address = coalesce(?2, refund_address),"
	    " key_expiry_time = CASE WHEN ?3 < 0 THEN key_expiry_time ELSE ?3 END"
	    " WHERE hashed_key = ?1";
	sqlite3_stmt *st;
	int n;

	if (!key_ok(hash) || !text_ok(refund_address))
		return RERR_INVALID;
	if ((st = db_stmt(db, sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, refund_address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, key_expiry_time);
	n = step_done(db, st);
	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}

/* Inside a transaction: the billing key of hash ("" parent = itself). */
static enum rerr
billing_of(struct db *db, const char *hash, struct ledger_key *b)
{
	enum rerr e = key_read(db, hash, b);

	if (e == RERR_OK && b->parent[0] != '\0') {
		char parent[LEDGER_KEY_MAX + 1];

		snprintf(parent, sizeof(parent), "%s", b->parent);
		e = key_read(db, parent, b);
	}
	return e;
}

/* Inside a transaction: balance += delta on billing key b (delta may be
 * negative only down to its available balance) plus the journal row. */
static enum rerr
balance_change_src(struct db *db, const struct ledger_key *b, int64_t delta,
    enum ledger_kind kind, const char *ref, const char *source, int64_t now,
    int64_t *balance_after)
{
	static const char sql[] =
	    "UPDATE api_keys SET balance = balance + ?2"
	    " WHERE hashed_key = ?1 AND " AVAILABLE_SQL " + ?2 >= 0";
	sqlite3_stmt *st;
	int n;

	if ((delta > 0 && b->balance > INT64_MAX - delta) || delta == 0)
		return RERR_INVALID;
	if ((st = db_stmt(db, sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, b->hashed_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, delta);
	n = step_done(db, st);
	if (n < 0)
		return RERR_DB;
	if (n == 0)
		return RERR_CONFLICT;
	if (journal_add_src(db, b->hashed_key, delta, kind, ref, source, now) < 0)
		return sqlite3_extended_errcode(db_handle(db)) == SQLITE_CONSTRAINT_UNIQUE ?
		    RERR_CONFLICT : RERR_DB;
	if (balance_after != NULL)
		*balance_after = b->balance + delta;
	return RERR_OK;
}

static enum rerr
balance_change(struct db *db, const struct ledger_key *b, int64_t delta, enum ledger_kind kind,
    const char *ref, int64_t now, int64_t *balance_after)
{
	return balance_change_src(db, b, delta, kind, ref, NULL, now, balance_after);
}

enum rerr
ledger_credit(struct db *db, const char *hash, int64_t amount, enum ledger_kind kind,
    const char *ref, int64_t *balance_after)
{
	return ledger_credit_src(db, hash, amount, kind, ref, NULL, balance_after);
}

enum rerr
ledger_credit_src(struct db *db, const char *hash, int64_t amount, enum ledger_kind kind,
    const char *ref, const char *source, int64_t *balance_after)
{
	struct ledger_key b;
	enum rerr e;

	if (!key_ok(hash) || amount <= 0 || !text_ok(ref) || !text_ok(source) ||
	    (kind != LEDGER_DEPOSIT && kind != LEDGER_TOPUP && kind != LEDGER_REFUND_REVERT &&
	    kind != LEDGER_ADJUST))
		return RERR_INVALID;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = billing_of(db, hash, &b);
	if (e == RERR_OK)
		e = balance_change_src(db, &b, amount, kind, ref, source, wall_sec(), balance_after);
	return finish(db, e);
}

enum rerr
ledger_adjust(struct db *db, const char *hash, int64_t delta, const char *ref)
{
	struct ledger_key b;
	enum rerr e;

	if (!key_ok(hash) || delta == 0 || delta == INT64_MIN || !text_ok(ref))
		return RERR_INVALID;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = billing_of(db, hash, &b);
	if (e == RERR_OK)
		e = balance_change(db, &b, delta, LEDGER_ADJUST, ref, wall_sec(), NULL);
	return finish(db, e);
}

enum rerr
ledger_child_keys_create(struct db *db, const char *parent, const char *const *hashes,
    size_t count, int64_t cost_each, const struct ledger_limits *lim,
    int64_t *parent_balance, int64_t *available)
{
	static const char fee_sql[] =
	    "UPDATE api_keys SET balance = balance - ?2, total_spent = total_spent + ?2"
	    " WHERE hashed_key = ?1 AND " AVAILABLE_SQL " >= ?2";
	static const char ins_sql[] =
	    "INSERT INTO api_keys (hashed_key, parent_key_hash, balance_limit,"
	    " balance_limit_reset, balance_limit_reset_at, validity_date, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	struct ledger_key p;
	sqlite3_stmt *st;
	enum rerr e;
	int64_t total, now = wall_sec();
	size_t i;
	int n;

	if (available != NULL)
		*available = 0;
	if (!key_ok(parent) || count < 1 || count > LEDGER_CHILD_MAX || cost_each < 0 ||
	    !limits_ok(lim) || __builtin_mul_overflow(cost_each, (int64_t)count, &total))
		return RERR_INVALID;
	for (i = 0; i < count; i++)
		if (!key_ok(hashes[i]))
			return RERR_INVALID;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = key_read(db, parent, &p);
	if (e != RERR_OK)
		goto out;
	if (available != NULL)
		*available = ledger_available(&p);
	e = RERR_INVALID;
	if (p.parent[0] != '\0')
		goto out;
	if (total > 0) {
		e = RERR_DB;
		if ((st = db_stmt(db, fee_sql)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, total);
		n = step_done(db, st);
		if (n != 1) {
			e = n == 0 ? RERR_CONFLICT : RERR_DB;
			goto out;
		}
		if (journal_add(db, parent, -total, LEDGER_CHILD_KEY_FEE, NULL, now) < 0)
			goto out;
		p.balance -= total;
	}
	for (i = 0; i < count; i++) {
		e = RERR_DB;
		if ((st = db_stmt(db, ins_sql)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, hashes[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, parent, -1, SQLITE_STATIC);
		bind_opt_i64(st, 3, lim->has_limit, lim->balance_limit);
		sqlite3_bind_text(st, 4, reset_names[lim->reset], -1, SQLITE_STATIC);
		bind_opt_i64(st, 5, lim->reset != LEDGER_RESET_NONE, now);
		bind_opt_i64(st, 6, lim->has_validity, lim->validity_date);
		sqlite3_bind_int64(st, 7, now);
		if (step_done(db, st) != 1) {
			if (sqlite3_extended_errcode(db_handle(db)) ==
			    SQLITE_CONSTRAINT_PRIMARYKEY)
				e = RERR_CONFLICT;
			goto out;
		}
	}
	if (parent_balance != NULL)
		*parent_balance = p.balance;
	e = RERR_OK;
out:
	return finish(db, e);
}

enum rerr
ledger_child_reset(struct db *db, const char *parent, const char *child)
{
	static const char sql[] =
	    "UPDATE api_keys SET total_spent = 0, balance_limit_reset_at ="
	    " CASE WHEN balance_limit_reset IS NULL THEN balance_limit_reset_at ELSE ?2 END"
	    " WHERE hashed_key = ?1";
	struct ledger_key c;
	sqlite3_stmt *st;
	enum rerr e;

	if (!key_ok(parent) || !key_ok(child))
		return RERR_INVALID;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = key_read(db, child, &c);
	if (e != RERR_OK)
		goto out;
	e = RERR_CONFLICT;
	if (strcmp(c.parent, parent) != 0)
		goto out;
	e = RERR_DB;
	if ((st = db_stmt(db, sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, child, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, wall_sec());
	if (step_done(db, st) == 1)
		e = RERR_OK;
out:
	return finish(db, e);
}

enum rerr
ledger_children(struct db *db, const char *parent, struct ledger_child *rows, size_t max,
    size_t *n, size_t *total)
{
	/* id order is creation order; the partial index on parent_key_hash
	 * finds the rows. */
	static const char list_sql[] =
	    "SELECT hashed_key, total_requests, total_spent, balance_limit,"
	    " balance_limit_reset, validity_date"
	    " FROM api_keys WHERE parent_key_hash = ?1 ORDER BY id LIMIT ?2";
	static const char count_sql[] =
	    "SELECT count(*) FROM api_keys WHERE parent_key_hash = ?1";
	sqlite3_stmt *st;
	enum rerr e;
	int rc = SQLITE_DONE;

	*n = 0;
	if (total != NULL)
		*total = 0;
	if (!key_ok(parent))
		return RERR_INVALID;
	/* A deferred read transaction: the list and the count agree. */
	if (db_exec(db, "BEGIN") != RERR_OK)
		return RERR_DB;
	e = RERR_DB;
	if ((st = db_stmt(db, list_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)(max > INT64_MAX ? INT64_MAX : max));
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_child *c = &rows[(*n)++];

		memset(c, 0, sizeof(*c));
		col_text(st, 0, c->hashed_key, sizeof(c->hashed_key));
		c->total_requests = sqlite3_column_int64(st, 1);
		c->total_spent = sqlite3_column_int64(st, 2);
		c->lim.has_limit = sqlite3_column_type(st, 3) != SQLITE_NULL;
		c->lim.balance_limit = col_i64_or(st, 3, 0);
		c->lim.reset = ledger_reset_parse((const char *)sqlite3_column_text(st, 4));
		c->lim.has_validity = sqlite3_column_type(st, 5) != SQLITE_NULL;
		c->lim.validity_date = col_i64_or(st, 5, 0);
	}
	if (*n < max && rc != SQLITE_DONE) {
		log_error("ledger: children: %s", sqlite3_errmsg(db_handle(db)));
		sqlite3_reset(st);
		goto out;
	}
	sqlite3_reset(st);
	if (total != NULL) {
		*total = *n;
		/* Only a full page can hide more rows. */
		if (*n == max) {
			if ((st = db_stmt(db, count_sql)) == NULL)
				goto out;
			sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				*total = (size_t)sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			if (rc != SQLITE_ROW)
				goto out;
		}
	}
	e = RERR_OK;
out:
	if (e != RERR_OK)
		*n = 0;
	return finish(db, e);
}

/* ------------------------------------------------------------------------ */
/* Reservations                                                              */

enum rerr
ledger_reserve(struct db *db, const char *hash, int64_t amount, const char *request_id,
    const char *model, struct ledger_reserve_result *r)
{
	/* One statement for the billing key; when the presented key is the
	 * billing key its limit is checked here too (atomically - Routstr
	 * only pre-checks it). */
	static const char bill_sql[] =
	    "UPDATE api_keys SET reserved = reserved + ?2"
	    " WHERE hashed_key = ?1 AND " AVAILABLE_SQL " >= ?2"
	    " AND (hashed_key <> ?3 OR balance_limit IS NULL"
	    "      OR total_spent + reserved + ?2 <= balance_limit)";
	static const char child_sql[] =
	    "UPDATE api_keys SET reserved = reserved + ?2"
	    " WHERE hashed_key = ?1"
	    " AND (balance_limit IS NULL OR total_spent + reserved + ?2 <= balance_limit)";
	/* Ids are never reused (0007_lean_ledger.sql): one past the highest
	 * active or finished reservation, taken under the write lock. */
	static const char ins_sql[] =
	    "INSERT INTO reservations (id, key_id, billing_id, amount, owner_pid,"
	    " owner_start_time, owner_boot_id, owner_pidns, request_id, model, created_at)"
	    " VALUES (max(coalesce((SELECT max(id) FROM reservations), 0),"
	    " coalesce((SELECT max(id) FROM requests), 0)) + 1,"
	    " (SELECT id FROM api_keys WHERE hashed_key = ?1),"
	    " (SELECT id FROM api_keys WHERE hashed_key = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
	struct ledger_key k, b;
	struct owner me;
	sqlite3_stmt *st;
	enum rerr e;
	int64_t now = wall_sec();
	bool child;
	int n;

	memset(r, 0, sizeof(*r));
	if (!key_ok(hash) || amount <= 0 || !text_ok(request_id) || !text_ok(model))
		return RERR_INVALID;
	if (owner_self(&me) < 0)
		return RERR_INTERNAL;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = key_read(db, hash, &k);
	if (e != RERR_OK)
		goto out;
	child = k.parent[0] != '\0';
	if (child)
		e = key_read(db, k.parent, &b);
	else
		b = k;
	if (e != RERR_OK)
		goto out;
	r->balance = b.balance;
	r->reserved = b.reserved;
	r->available = ledger_available(&b);
	r->limit = k.lim.balance_limit;
	r->key_reserved = k.reserved;
	if (k.lim.has_validity && now > k.lim.validity_date) {
		r->refusal = LEDGER_REFUSE_EXPIRED;
		e = RERR_CONFLICT;
		goto out;
	}
	e = RERR_DB;
	if (limit_reset_if_due(db, &k, now) < 0)
		goto out;
	if (!child)
		b.total_spent = k.total_spent;
	r->spent = k.total_spent;

	if ((st = db_stmt(db, bill_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, b.hashed_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, amount);
	sqlite3_bind_text(st, 3, k.hashed_key, -1, SQLITE_STATIC);
	if ((n = step_done(db, st)) < 0)
		goto out;
	if (n == 0) {
		/* We hold the write lock: the figures read above are current. */
		r->refusal = r->available < amount ? LEDGER_REFUSE_INSUFFICIENT :
		    LEDGER_REFUSE_LIMIT;
		e = RERR_CONFLICT;
		goto out;
	}
	if (child) {
		if ((st = db_stmt(db, child_sql)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, k.hashed_key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, amount);
		if ((n = step_done(db, st)) < 0)
			goto out;
		if (n == 0) {
			r->refusal = LEDGER_REFUSE_LIMIT;
			e = RERR_CONFLICT;
			goto out;
		}
	}
	if ((st = db_stmt(db, ins_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, k.hashed_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b.hashed_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, amount);
	sqlite3_bind_int64(st, 4, (int64_t)me.pid);
	sqlite3_bind_int64(st, 5, me.start_time);
	sqlite3_bind_text(st, 6, me.boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, me.pidns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, request_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now);
	if (step_done(db, st) != 1)
		goto out;
	r->id = sqlite3_last_insert_rowid(db_handle(db));
	r->reserved += amount;
	r->available -= amount;
	r->key_reserved += amount;
	e = RERR_OK;
out:
	e = finish(db, e);
	if (e != RERR_OK)
		r->id = 0;
	return e;
}

enum rerr
ledger_progress(struct db *db, int64_t id, int64_t cost_so_far)
{
	static const char sql[] =
	    "UPDATE reservations SET progress = min(max(progress, ?2), amount) WHERE id = ?1";
	sqlite3_stmt *st;
	int n;

	if (cost_so_far < 0)
		return RERR_INVALID;
	if ((st = db_stmt(db, sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, cost_so_far);
	n = step_done(db, st);
	return n < 0 ? RERR_DB : n == 0 ? RERR_CONFLICT : RERR_OK;
}

/* A reservation row, copied out. */
struct resv {
	int64_t id;
	char key[LEDGER_KEY_MAX + 1];
	char billing[LEDGER_KEY_MAX + 1];
	int64_t key_id;
	int64_t billing_id;
	int64_t amount;
	int64_t created_at;
	char request_id[LEDGER_TEXT_MAX + 1];
	char model[LEDGER_TEXT_MAX + 1];
};

/* Read active reservation id. RERR_CONFLICT when it has ended already (its
 * history row exists: settle and release are exactly once), RERR_NOT_FOUND
 * when there never was one. */
static enum rerr
resv_read(struct db *db, int64_t id, struct resv *v)
{
	static const char sql[] =
	    "SELECT k.hashed_key, b.hashed_key, r.key_id, r.billing_id, r.amount, r.created_at,"
	    " r.request_id, r.model FROM reservations r JOIN api_keys k ON k.id = r.key_id"
	    " JOIN api_keys b ON b.id = r.billing_id WHERE r.id = ?1";
	static const char ended_sql[] = "SELECT 1 FROM requests WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v->id = id;
		col_text(st, 0, v->key, sizeof(v->key));
		col_text(st, 1, v->billing, sizeof(v->billing));
		v->key_id = sqlite3_column_int64(st, 2);
		v->billing_id = sqlite3_column_int64(st, 3);
		v->amount = sqlite3_column_int64(st, 4);
		v->created_at = sqlite3_column_int64(st, 5);
		col_text(st, 6, v->request_id, sizeof(v->request_id));
		col_text(st, 7, v->model, sizeof(v->model));
		sqlite3_reset(st);
		return RERR_OK;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return RERR_DB;
	if ((st = db_stmt(db, ended_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RERR_CONFLICT : rc == SQLITE_DONE ? RERR_NOT_FOUND : RERR_DB;
}

/* Inside a transaction: take reservation v out of reserved on its billing
 * key (charging charge from the balance) and, for a child, on the child.
 * requests is 1 for a finished request, 0 for a release. */
static enum rerr
unreserve(struct db *db, const struct resv *v, int64_t charge, int requests)
{
	static const char bill_sql[] =
	    "UPDATE api_keys SET reserved = reserved - ?2, balance = balance - ?3,"
	    " total_spent = total_spent + ?3, total_requests = total_requests + ?4"
	    " WHERE hashed_key = ?1 AND reserved >= ?2 AND balance >= ?3";
	static const char child_sql[] =
	    "UPDATE api_keys SET reserved = reserved - ?2,"
	    " total_spent = total_spent + ?3, total_requests = total_requests + ?4"
	    " WHERE hashed_key = ?1 AND reserved >= ?2";
	sqlite3_stmt *st;
	int n;

	if ((st = db_stmt(db, bill_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, v->billing, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v->amount);
	sqlite3_bind_int64(st, 3, charge);
	sqlite3_bind_int(st, 4, requests);
	if ((n = step_done(db, st)) != 1) {
		if (n == 0)
			log_error("ledger: reservation %lld: billing key state does not match",
			    (long long)v->id);
		return n == 0 ? RERR_INTERNAL : RERR_DB;
	}
	if (strcmp(v->key, v->billing) != 0) {
		if ((st = db_stmt(db, child_sql)) == NULL)
			return RERR_DB;
		sqlite3_bind_text(st, 1, v->key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, v->amount);
		sqlite3_bind_int64(st, 3, charge);
		sqlite3_bind_int(st, 4, requests);
		if ((n = step_done(db, st)) != 1)
			return n == 0 ? RERR_INTERNAL : RERR_DB;
	}
	return RERR_OK;
}

/* End reservation v: its active row goes, its history row is written
 * once. charge < 0 is a release; log may be NULL (sweeper, release). */
static enum rerr
resv_end(struct db *db, const struct resv *v, int64_t charge, const char *by,
    const struct ledger_request_log *log, int64_t now)
{
	static const char del_sql[] = "DELETE FROM reservations WHERE id = ?1";
	static const char sql[] =
	    "INSERT INTO requests (id, request_id, key_id, billing_id, reserved, charged,"
	    " settled_by, model, provider, status, tokens_in, tokens_out, duration_ms,"
	    " upstream_ms, created_at, settled_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
	const char *rid = log && log->request_id ? log->request_id : v->request_id;
	const char *model = log && log->model ? log->model : v->model;
	sqlite3_stmt *st;

	if ((st = db_stmt(db, del_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, v->id);
	if (step_done(db, st) != 1)
		return RERR_DB;
	if ((st = db_stmt(db, sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, v->id);
	sqlite3_bind_text(st, 2, rid[0] ? rid : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, v->key_id);
	sqlite3_bind_int64(st, 4, v->billing_id);
	sqlite3_bind_int64(st, 5, v->amount);
	if (charge >= 0) {
		sqlite3_bind_int64(st, 6, charge);
		sqlite3_bind_text(st, 7, by, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 8, model && model[0] ? model : NULL, -1, SQLITE_STATIC);
	if (log != NULL) {
		sqlite3_bind_text(st, 9, log->provider, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 10, log->status);
		sqlite3_bind_int64(st, 11, log->tokens_in);
		sqlite3_bind_int64(st, 12, log->tokens_out);
		sqlite3_bind_int64(st, 13, log->duration_ms);
		sqlite3_bind_int64(st, 14, log->upstream_ms);
	} else {
		sqlite3_bind_int(st, 11, 0);
		sqlite3_bind_int(st, 12, 0);
		sqlite3_bind_int(st, 13, 0);
		sqlite3_bind_int(st, 14, 0);
	}
	sqlite3_bind_int64(st, 15, v->created_at);
	sqlite3_bind_int64(st, 16, now);
	return step_done(db, st) == 1 ? RERR_OK : RERR_DB;
}

/* Settle (state 'settled', by owner or sweeper) or release (charge < 0)
 * reservation id, in its own transaction. cap_at_amount: the sweeper never
 * charges past the reservation. */
static enum rerr
finish_reservation(struct db *db, int64_t id, int64_t cost, bool cap_at_amount,
    const char *by, const struct ledger_request_log *log, struct ledger_settle_result *out)
{
	struct ledger_settle_result res;
	struct ledger_key b;
	struct resv v;
	enum rerr e;
	int64_t now = wall_sec(), charge = 0, free_msat;
	char ref[24];

	memset(&res, 0, sizeof(res));
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = resv_read(db, id, &v);	/* RERR_CONFLICT: ended already, exactly once */
	if (e != RERR_OK)
		goto out;
	if ((e = key_read(db, v.billing, &b)) != RERR_OK) {
		if (e == RERR_NOT_FOUND)
			e = RERR_INTERNAL;
		goto out;
	}
	if (cost >= 0) {
		/* The overrun rule (ledger.h): up to the reservation, plus
		 * whatever of the balance nobody has reserved. */
		free_msat = ledger_available(&b);
		if (free_msat < 0)
			free_msat = 0;
		charge = cost <= v.amount ? cost :
		    cap_at_amount ? v.amount :
		    cost - v.amount <= free_msat ? cost : v.amount + free_msat;
		res.charged = charge;
		res.forgiven = cost - charge;
	}
	if ((e = unreserve(db, &v, charge, cost >= 0 ? 1 : 0)) != RERR_OK)
		goto out;
	if ((e = resv_end(db, &v, cost >= 0 ? charge : -1, by, log, now)) != RERR_OK)
		goto out;
	e = RERR_DB;
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	if (charge > 0 && journal_add(db, v.billing, -charge, LEDGER_CHARGE, ref, now) < 0)
		goto out;
	res.balance_after = b.balance - charge;
	e = RERR_OK;
out:
	e = finish(db, e);
	if (out != NULL)
		*out = e == RERR_OK ? res : (struct ledger_settle_result){ 0, 0, 0 };
	return e;
}

enum rerr
ledger_settle(struct db *db, int64_t id, int64_t cost_msat,
    const struct ledger_request_log *log, struct ledger_settle_result *out)
{
	if (cost_msat < 0 || (log != NULL && (!text_ok(log->request_id) ||
	    !text_ok(log->model) || !text_ok(log->provider)))) {
		if (out != NULL)
			memset(out, 0, sizeof(*out));
		return RERR_INVALID;
	}
	return finish_reservation(db, id, cost_msat, false, "owner", log, out);
}

enum rerr
ledger_release(struct db *db, int64_t id)
{
	return finish_reservation(db, id, -1, false, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Sweeper                                                                   */

struct sweep_row {
	int64_t id;
	pid_t pid;
	int64_t start_time;
	int64_t progress;
	char boot_id[64];
	char pidns[64];
};

/* Copy out up to max active reservations (of hash and its children, or all). */
static enum rerr
sweep_rows(struct db *db, const char *hash, struct sweep_row *rows, size_t max, size_t *n)
{
	static const char all_sql[] =
	    "SELECT id, owner_pid, owner_start_time, progress, owner_boot_id, owner_pidns"
	    " FROM reservations ORDER BY id LIMIT ?1";
	static const char key_sql[] =
	    "SELECT id, owner_pid, owner_start_time, progress, owner_boot_id, owner_pidns"
	    " FROM reservations WHERE (SELECT id FROM api_keys WHERE hashed_key = ?2)"
	    " IN (key_id, billing_id) ORDER BY id LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, hash ? key_sql : all_sql);
	int rc;

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	if (hash != NULL)
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct sweep_row *w = &rows[(*n)++];

		w->id = sqlite3_column_int64(st, 0);
		w->pid = (pid_t)sqlite3_column_int64(st, 1);
		w->start_time = sqlite3_column_int64(st, 2);
		w->progress = sqlite3_column_int64(st, 3);
		col_text(st, 4, w->boot_id, sizeof(w->boot_id));
		col_text(st, 5, w->pidns, sizeof(w->pidns));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("ledger: sweep: %s", sqlite3_errmsg(db_handle(db)));
		return RERR_DB;
	}
	return RERR_OK;
}

enum rerr
ledger_sweep(struct db *db, const char *hash, struct ledger_sweep_result *out)
{
	struct ledger_sweep_result res;
	struct sweep_row *rows = NULL;
	size_t n = 0, i;
	enum rerr e;

	memset(&res, 0, sizeof(res));
	if (hash != NULL && !key_ok(hash)) {
		e = RERR_INVALID;
		goto out;
	}
	rows = xcalloc(LEDGER_SWEEP_BATCH, sizeof(*rows));
	if ((e = sweep_rows(db, hash, rows, LEDGER_SWEEP_BATCH, &n)) != RERR_OK)
		goto out;
	for (i = 0; i < n; i++) {
		struct ledger_settle_result sr;
		int alive = ledger_owner_alive(rows[i].pid, rows[i].start_time,
		    rows[i].boot_id, rows[i].pidns);
		enum rerr r;

		res.checked++;
		if (alive != 0) {
			if (alive > 0)
				res.alive++;
			else
				res.foreign++;
			continue;
		}
		/* Policy: the owner died mid-request. Charge what it recorded
		 * as relayed (capped by the reservation); nothing recorded
		 * means nothing is known to have been delivered: release. */
		if (rows[i].progress > 0)
			r = finish_reservation(db, rows[i].id, rows[i].progress, true, "sweeper",
			    NULL, &sr);
		else
			r = finish_reservation(db, rows[i].id, -1, true, NULL, NULL, &sr);
		if (r == RERR_CONFLICT)
			continue;	/* finished meanwhile by someone else */
		if (r != RERR_OK) {
			e = r;
			goto out;
		}
		res.swept++;
		res.charged += sr.charged;
		log_info("ledger: swept reservation %lld of dead pid %ld, charged %lld msat",
		    (long long)rows[i].id, (long)rows[i].pid, (long long)sr.charged);
	}
	e = RERR_OK;
out:
	free(rows);
	if (out != NULL)
		*out = res;
	return e;
}

/* ------------------------------------------------------------------------ */
/* Audit                                                                     */

struct vlist {
	struct ledger_violation *v;
	size_t n;	/* all found */
};

static void
vadd(struct vlist *l, enum ledger_violation_kind kind, const char *key, int64_t rid,
    int64_t expected, int64_t actual)
{
	struct ledger_violation *x;

	if (l->n++ >= LEDGER_AUDIT_MAX)
		return;
	if (l->v == NULL)
		l->v = xcalloc(LEDGER_AUDIT_MAX, sizeof(*l->v));
	x = &l->v[l->n - 1];
	x->kind = kind;
	snprintf(x->key_hash, sizeof(x->key_hash), "%s", key ? key : "");
	x->reservation_id = rid;
	x->expected = expected;
	x->actual = actual;
}

/* Run one audit query whose rows are (key, reservation id, expected,
 * actual), each row a violation of kind. */
static enum rerr
audit_query(struct db *db, const char *sql, enum ledger_violation_kind kind, struct vlist *l)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return RERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		vadd(l, kind, (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("ledger: audit: %s", sqlite3_errmsg(db_handle(db)));
		return RERR_DB;
	}
	return RERR_OK;
}

#define MSAT_OF(t) "(CASE " t " WHEN 'msat' THEN 1 ELSE 1000 END)"
/* What a done melt took from the wallet, in msat: its inputs less the
 * change it gave back. x is the mint_operations alias. */
#define MELT_SPENT_SQL(x) \
    "(((SELECT coalesce(sum(json_extract(i.value, '$.amount')), 0)" \
    " FROM json_each(" x ".inputs_json) i) - (SELECT coalesce(sum(p.amount), 0)" \
    " FROM wallet_proofs p WHERE p.origin_operation_id = " x ".id)) * " MSAT_OF(x ".unit") ")"


/* Rows: key, reservation id, expected, actual. */
static const char audit_balance_sql[] =
    "SELECT k.hashed_key, 0, coalesce(j.s, 0), k.balance FROM api_keys k"
    " LEFT JOIN (SELECT key_id, sum(delta) AS s FROM journal GROUP BY key_id) j"
    " ON j.key_id = k.id WHERE k.balance <> coalesce(j.s, 0)";
static const char audit_orphan_sql[] =
    "SELECT 'key #' || key_id, 0, 0, sum(delta) FROM journal"
    " WHERE key_id NOT IN (SELECT id FROM api_keys)"
    " GROUP BY key_id HAVING sum(delta) <> 0";
static const char audit_reserved_sql[] =
    "SELECT k.hashed_key, 0, coalesce(r.s, 0), k.reserved FROM api_keys k"
    " LEFT JOIN (SELECT key_id AS kid, sum(amount) AS s, 1 AS child FROM reservations"
    "   WHERE key_id <> billing_id GROUP BY key_id"
    "   UNION ALL SELECT billing_id, sum(amount), 0 FROM reservations GROUP BY billing_id) r"
    " ON r.kid = k.id AND r.child = (k.parent_key_hash IS NOT NULL)"
    " WHERE k.reserved <> coalesce(r.s, 0)";
static const char audit_negative_sql[] =
    "SELECT hashed_key, 0, 0, min(balance, reserved, total_spent) FROM api_keys"
    " WHERE balance < 0 OR reserved < 0 OR total_spent < 0";
static const char audit_overdraft_sql[] =
    "SELECT hashed_key, 0, balance, reserved FROM api_keys"
    " WHERE parent_key_hash IS NULL AND reserved > balance";
static const char audit_charge_sql[] =
    "SELECT k.hashed_key, r.id, r.charged, coalesce(j.s, 0) FROM requests r"
    " JOIN api_keys k ON k.id = r.billing_id"
    " LEFT JOIN (SELECT ref, -sum(delta) AS s FROM journal WHERE kind = 'charge' GROUP BY ref) j"
    " ON j.ref = CAST(r.id AS TEXT) WHERE r.charged IS NOT NULL AND r.charged <> coalesce(j.s, 0)";
/* Every redeemed token with a beneficiary is credited exactly once, with
 * exactly its value. Rows: key, receipt id, value, credited (sum). */
static const char audit_receipt_sql[] =
    "SELECT t.api_key_hash, t.id, " RECEIPT_MSAT_SQL ", coalesce(c.s, 0) FROM cashu_transactions t"
    " LEFT JOIN (SELECT source, sum(delta) AS s, count(*) AS n FROM journal"
    "   WHERE source LIKE 'cashu-in:%' GROUP BY source) c ON c.source = " RECEIPT_SOURCE_SQL
    " WHERE t.direction = 'in' AND t.api_key_hash IS NOT NULL AND t.unit IN ('sat', 'msat')"
    " AND t.amount > t.fee AND (c.n IS NULL OR c.n <> 1 OR c.s <> " RECEIPT_MSAT_SQL ")";
/* Every Lightning invoice marked paid, and every one the wallet minted more
 * than ten minutes ago, is credited exactly once with exactly its value.
 * Rows: key, 0, value, credited. */
static const char audit_ln_sql[] =
    "SELECT i.api_key_hash, 0, i.amount_sats * 1000, coalesce(c.s, 0) FROM lightning_invoices i"
    " LEFT JOIN (SELECT source, sum(delta) AS s, count(*) AS n FROM journal"
    "   WHERE source LIKE 'ln-in:%' GROUP BY source) c ON c.source = 'ln-in:' || i.id"
    " WHERE (i.status = 'paid' OR (i.created_at < CAST(strftime('%s', 'now') AS INTEGER) - 600"
    "   AND EXISTS (SELECT 1 FROM mint_operations x WHERE x.kind = 'mint'"
    "     AND x.quote = i.quote_id AND x.state = 'done')))"
    " AND (c.n IS NULL OR c.n <> 1 OR c.s <> i.amount_sats * 1000)";
/* Every foreign swap the primary mint minted for (or marked credited) is
 * credited exactly once with exactly its net. Rows: key, swap id, value,
 * credited. */
static const char audit_fx_sql[] =
    "SELECT f.api_key_hash, f.id, f.net * " MSAT_OF("f.unit") ", coalesce(c.s, 0) FROM fx_swaps f"
    " LEFT JOIN (SELECT source, sum(delta) AS s, count(*) AS n FROM journal"
    "   WHERE source LIKE 'fx-in:%' GROUP BY source) c ON c.source = 'fx-in:' || f.id"
    " WHERE (f.state = 'credited' OR EXISTS (SELECT 1 FROM mint_operations x"
    "   WHERE x.kind = 'mint' AND x.quote = f.mint_quote AND x.state = 'done'"
    "   AND x.updated_at < CAST(strftime('%s', 'now') AS INTEGER) - 600))"
    " AND (c.n IS NULL OR c.n <> 1 OR c.s <> f.net * " MSAT_OF("f.unit") ")";
/* A credit that names no receipt (or none at all): value from nowhere.
 * Rows: key, journal id, 0, delta. */
static const char audit_credit_source_sql[] =
    "SELECT (SELECT hashed_key FROM api_keys WHERE id = j.key_id), j.id, 0, j.delta"
    " FROM journal j WHERE (j.kind IN ('deposit', 'topup')"
    "   AND (j.source IS NULL OR NOT EXISTS (SELECT 1 FROM cashu_transactions t"
    "     WHERE t.direction = 'in' AND " RECEIPT_SOURCE_SQL " = j.source))"
    "   AND NOT EXISTS (SELECT 1 FROM lightning_invoices i WHERE 'ln-in:' || i.id = j.source"
    "     AND i.amount_sats * 1000 = j.delta AND i.status IN ('paid', 'settlement_pending')"
    "     AND j.key_id = (SELECT id FROM api_keys WHERE hashed_key = i.api_key_hash))"
    "   AND NOT EXISTS (SELECT 1 FROM fx_swaps f WHERE 'fx-in:' || f.id = j.source"
    "     AND f.net * " MSAT_OF("f.unit") " = j.delta AND f.state IN ('minted', 'credited')"
    "     AND j.key_id = (SELECT id FROM api_keys WHERE hashed_key = f.api_key_hash)))"
    " OR (j.kind = 'refund_revert' AND j.source LIKE 'wd-back:%' AND NOT EXISTS"
    "   (SELECT 1 FROM withdrawals w WHERE 'wd-back:' || w.id = j.source"
    "    AND w.state = 'done' AND w.method = 'lightning'"
    "    AND w.amount_msat - w.spent_msat = j.delta))"
    " OR (j.kind = 'refund_revert' AND j.source LIKE 'wd-revert:%' AND NOT EXISTS"
    "   (SELECT 1 FROM withdrawals w WHERE 'wd-revert:' || w.id = j.source"
    "    AND w.state = 'reverted' AND w.amount_msat = j.delta))";
/* A finished withdrawal's token is worth what the key was debited.
 * Rows: key, withdrawal id, debited, token value. */
static const char audit_withdrawal_sql[] =
    "SELECT w.key_hash, w.id, w.amount_msat, coalesce(t.amount * CASE t.unit WHEN 'msat' THEN 1"
    "   ELSE 1000 END, 0) FROM withdrawals w LEFT JOIN cashu_transactions t ON t.id = w.tx_id"
    " WHERE w.state = 'done' AND w.method = 'token' AND (t.id IS NULL OR t.direction <> 'out'"
    "   OR t.amount * CASE t.unit WHEN 'msat' THEN 1 ELSE 1000 END <> w.amount_msat)";
/* A finished Lightning withdrawal took what its melt took, and gave the
 * rest back once. Rows: key, withdrawal id, debited, melt + given back. */
static const char audit_withdrawal_ln_sql[] =
    "SELECT w.key_hash, w.id, w.amount_msat, coalesce((SELECT sum(" MELT_SPENT_SQL("x") ")"
    "   FROM mint_operations x WHERE x.fund_ref = 'wd:' || w.id AND x.kind = 'melt'"
    "   AND x.state = 'done'), 0) + coalesce((SELECT sum(j.delta) FROM journal j"
    "   WHERE j.source = 'wd-back:' || w.id), 0)"
    " FROM withdrawals w WHERE w.method = 'lightning' AND w.state = 'done'"
    " AND w.amount_msat <> coalesce((SELECT sum(" MELT_SPENT_SQL("x") ")"
    "   FROM mint_operations x WHERE x.fund_ref = 'wd:' || w.id AND x.kind = 'melt'"
    "   AND x.state = 'done'), 0) + coalesce((SELECT sum(j.delta) FROM journal j"
    "   WHERE j.source = 'wd-back:' || w.id), 0)";
/* Per mint and unit, the wallet's proofs equal its history: tokens in (net
 * of fees) - tokens out - fees paid on sends + minted - melted. Rows:
 * "unit mint", 0, from history, proofs held. */
#define MU "m.mint_url = x.mint_url AND m.unit = x.unit"
static const char audit_wallet_sql[] =
    "SELECT m.unit || ' ' || m.mint_url, 0,"
    " (SELECT coalesce(sum(x.amount - x.fee), 0) FROM cashu_transactions x"
    "   WHERE x.direction = 'in' AND " MU ")"
    " - (SELECT coalesce(sum(x.amount), 0) FROM cashu_transactions x"
    "   WHERE x.direction = 'out' AND " MU ")"
    " - (SELECT coalesce(sum(x.fee), 0) FROM mint_operations x"
    "   WHERE x.kind = 'swap' AND x.purpose = 'send' AND x.state = 'done' AND " MU ")"
    " + (SELECT coalesce(sum(p.amount), 0) FROM wallet_proofs p JOIN mint_operations x"
    "   ON x.id = p.origin_operation_id WHERE x.kind = 'mint' AND " MU ")"
    " - (SELECT coalesce(sum((SELECT coalesce(sum(json_extract(i.value, '$.amount')), 0)"
    "   FROM json_each(x.inputs_json) i) - (SELECT coalesce(sum(p.amount), 0) FROM wallet_proofs p"
    "   WHERE p.origin_operation_id = x.id)), 0) FROM mint_operations x"
    "   WHERE x.kind = 'melt' AND x.state = 'done' AND " MU "),"
    " (SELECT coalesce(sum(x.amount), 0) FROM wallet_proofs x"
    "   WHERE x.state IN ('unspent', 'pending') AND " MU ") AS held"
    " FROM (SELECT mint_url, unit FROM wallet_proofs UNION"
    "   SELECT mint_url, unit FROM cashu_transactions) m";
#undef MU

/* Per mint and unit: proofs held against the wallet's history. */
static enum rerr
audit_wallet(struct db *db, struct vlist *l)
{
	sqlite3_stmt *st = db_stmt(db, audit_wallet_sql);
	int rc;

	if (st == NULL)
		return RERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_int64(st, 2) != sqlite3_column_int64(st, 3))
			vadd(l, LEDGER_V_WALLET, (const char *)sqlite3_column_text(st, 0), 0,
			    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? RERR_OK : RERR_DB;
}

/* One number of the books, in msat. */
static enum rerr
books_sum(struct db *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	*v = 0;
	if (st == NULL)
		return RERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RERR_OK : RERR_DB;
}

static const char books_wallet_sql[] =
    "SELECT coalesce(sum(amount * " MSAT_OF("unit") "), 0) FROM wallet_proofs"
    " WHERE state IN ('unspent', 'pending') AND unit IN ('sat', 'msat')";
/* Proofs at the mints users can be paid from: all but the untrusted mints
 * foreign swaps came from (whatever is held there is the node's). */
static const char books_solvent_sql[] =
    "SELECT coalesce(sum(amount * " MSAT_OF("unit") "), 0) FROM wallet_proofs"
    " WHERE state IN ('unspent', 'pending') AND unit IN ('sat', 'msat')"
    " AND mint_url NOT IN (SELECT foreign_mint FROM fx_swaps)";
static const char books_users_sql[] =
    "SELECT coalesce(sum(balance), 0) FROM api_keys WHERE parent_key_hash IS NULL";
static const char books_earned_sql[] =
    "SELECT coalesce(-sum(delta), 0) FROM journal WHERE kind IN ('charge', 'child_key_fee', 'adjust')";
static const char books_wallet_ops_sql[] =
    "SELECT coalesce((SELECT -sum(fee * " MSAT_OF("unit") ") FROM mint_operations"
    "   WHERE kind = 'swap' AND purpose = 'send' AND state = 'done' AND unit IN ('sat', 'msat')), 0)"
    " + coalesce((SELECT sum(p.amount * " MSAT_OF("p.unit") ") FROM wallet_proofs p"
    "   JOIN mint_operations x ON x.id = p.origin_operation_id"
    "   WHERE x.kind = 'mint' AND p.unit IN ('sat', 'msat')"
    "   AND x.quote NOT IN (SELECT quote_id FROM lightning_invoices)"
    "   AND x.quote NOT IN (SELECT mint_quote FROM fx_swaps)), 0)"
    " - coalesce((SELECT sum(((SELECT coalesce(sum(json_extract(i.value, '$.amount')), 0)"
    "   FROM json_each(x.inputs_json) i) - (SELECT coalesce(sum(p.amount), 0) FROM wallet_proofs p"
    "   WHERE p.origin_operation_id = x.id)) * " MSAT_OF("x.unit") ") FROM mint_operations x"
    "   WHERE x.kind = 'melt' AND x.state = 'done' AND x.unit IN ('sat', 'msat')"
    /* A key's Lightning refund is paid from its debit, not the node's. */
    "   AND coalesce(x.fund_ref, '') NOT LIKE 'wd:%'), 0)"
    " + coalesce((SELECT sum(" RECEIPT_MSAT_SQL ") FROM cashu_transactions t"
    "   WHERE t.direction = 'in' AND t.api_key_hash IS NULL AND t.unit IN ('sat', 'msat')), 0)"
    /* A foreign swap's value handed back as a token of its mint, and
     * the operator's earnings taken as a token. */
    " - coalesce((SELECT sum(amount * " MSAT_OF("unit") ") FROM cashu_transactions"
    "   WHERE direction = 'out' AND source IN ('fx-return', 'admin') AND unit IN ('sat', 'msat')),"
    "   0)";
static const char books_pending_sql[] =
    "SELECT coalesce((SELECT sum(w.amount_msat - coalesce((SELECT sum(" MELT_SPENT_SQL("x") ")"
    "   FROM mint_operations x WHERE x.fund_ref = 'wd:' || w.id AND x.kind = 'melt'"
    "   AND x.state = 'done'), 0)) FROM withdrawals w WHERE w.state = 'open'), 0)"
    " + coalesce((SELECT sum(" RECEIPT_MSAT_SQL ") FROM cashu_transactions t"
    "   WHERE t.direction = 'in' AND t.api_key_hash IS NOT NULL AND t.unit IN ('sat', 'msat')"
    "   AND t.amount > t.fee"
    "   AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.source = " RECEIPT_SOURCE_SQL ")), 0)"
    /* Lightning deposits minted into the wallet, not credited yet. */
    " + coalesce((SELECT sum(i.amount_sats * 1000) FROM lightning_invoices i"
    "   WHERE EXISTS (SELECT 1 FROM mint_operations x WHERE x.kind = 'mint'"
    "     AND x.quote = i.quote_id AND x.state = 'done')"
    "   AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.source = 'ln-in:' || i.id)), 0)"
    /* Foreign swaps minted at the primary mint, not credited yet. */
    " + coalesce((SELECT sum(f.net * " MSAT_OF("f.unit") ") FROM fx_swaps f"
    "   WHERE EXISTS (SELECT 1 FROM mint_operations x WHERE x.kind = 'mint'"
    "     AND x.quote = f.mint_quote AND x.state = 'done')"
    "   AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.source = 'fx-in:' || f.id)), 0)";

enum rerr
ledger_books(struct db *db, struct ledger_books *b)
{
	enum rerr e;

	memset(b, 0, sizeof(*b));
	if ((e = books_sum(db, books_wallet_sql, &b->wallet)) != RERR_OK ||
	    (e = books_sum(db, books_users_sql, &b->users)) != RERR_OK ||
	    (e = books_sum(db, books_earned_sql, &b->earned)) != RERR_OK ||
	    (e = books_sum(db, books_wallet_ops_sql, &b->wallet_ops)) != RERR_OK ||
	    (e = books_sum(db, books_pending_sql, &b->pending)) != RERR_OK)
		return e;
	b->owed = b->users + b->earned + b->wallet_ops + b->pending;
	return RERR_OK;
}

enum rerr
ledger_audit(struct db *db, bool check_owners, struct ledger_violation **out, size_t *n)
{
	return ledger_audit_all(db, check_owners, false, out, n);
}

enum rerr
ledger_audit_all(struct db *db, bool check_owners, bool with_books,
    struct ledger_violation **out, size_t *n)
{
	struct ledger_books books;
	struct vlist l = { NULL, 0 };
	struct sweep_row *rows = NULL;
	size_t nrows = 0, i;
	enum rerr e;

	*out = NULL;
	*n = 0;
	/* A deferred transaction: every check reads the same snapshot, and
	 * writers are not blocked meanwhile (WAL). */
	if (db_exec(db, "BEGIN") != RERR_OK)
		return RERR_DB;
	if ((e = audit_query(db, audit_balance_sql, LEDGER_V_BALANCE_JOURNAL, &l)) != RERR_OK ||
	    (e = audit_query(db, audit_orphan_sql, LEDGER_V_ORPHAN_JOURNAL, &l)) != RERR_OK ||
	    (e = audit_query(db, audit_reserved_sql, LEDGER_V_RESERVED, &l)) != RERR_OK ||
	    (e = audit_query(db, audit_negative_sql, LEDGER_V_NEGATIVE, &l)) != RERR_OK ||
	    (e = audit_query(db, audit_overdraft_sql, LEDGER_V_OVERDRAFT, &l)) != RERR_OK ||
	    (e = audit_query(db, audit_charge_sql, LEDGER_V_CHARGE_JOURNAL, &l)) != RERR_OK)
		goto out;
	if (with_books) {
		if ((e = audit_query(db, audit_receipt_sql, LEDGER_V_RECEIPT_CREDIT, &l)) != RERR_OK ||
		    (e = audit_query(db, audit_ln_sql, LEDGER_V_RECEIPT_CREDIT, &l)) != RERR_OK ||
		    (e = audit_query(db, audit_fx_sql, LEDGER_V_RECEIPT_CREDIT, &l)) != RERR_OK ||
		    (e = audit_query(db, audit_credit_source_sql, LEDGER_V_CREDIT_SOURCE,
		    &l)) != RERR_OK ||
		    (e = audit_query(db, audit_withdrawal_sql, LEDGER_V_WITHDRAWAL, &l)) != RERR_OK ||
		    (e = audit_query(db, audit_withdrawal_ln_sql, LEDGER_V_WITHDRAWAL, &l)) != RERR_OK ||
		    (e = audit_wallet(db, &l)) != RERR_OK ||
		    (e = ledger_books(db, &books)) != RERR_OK)
			goto out;
		/* The books close exactly: a surplus hides a loss as surely
		 * as a deficit shows one. */
		if (books.wallet < books.owed)
			vadd(&l, LEDGER_V_BOOKS_DEFICIT, NULL, 0, books.owed, books.wallet);
		else if (books.wallet > books.owed)
			vadd(&l, LEDGER_V_BOOKS_SURPLUS, NULL, 0, books.owed, books.wallet);
		/* Closing books do not prove the users can be paid: earnings
		 * paid out beyond what was earned close them too. */
		{
			int64_t solvent = 0;

			if ((e = books_sum(db, books_solvent_sql, &solvent)) != RERR_OK)
				goto out;
			if (solvent < books.users + books.pending)
				vadd(&l, LEDGER_V_INSOLVENT, NULL, 0, books.users + books.pending,
				    solvent);
		}
	}
	if (check_owners) {
		rows = xcalloc(LEDGER_SWEEP_BATCH, sizeof(*rows));
		if ((e = sweep_rows(db, NULL, rows, LEDGER_SWEEP_BATCH, &nrows)) != RERR_OK)
			goto out;
		for (i = 0; i < nrows; i++)
			if (ledger_owner_alive(rows[i].pid, rows[i].start_time, rows[i].boot_id,
			    rows[i].pidns) == 0)
				vadd(&l, LEDGER_V_DEAD_OWNER, NULL, rows[i].id, 0,
				    (int64_t)rows[i].pid);
	}
	e = RERR_OK;
out:
	free(rows);
	db_exec(db, e == RERR_OK ? "COMMIT" : "ROLLBACK");
	if (e != RERR_OK) {
		free(l.v);
		return e;
	}
	*out = l.v;
	*n = l.n;
	return RERR_OK;
}



/* ------------------------------------------------------------------------ */
/* Withdrawals (migrations/0005_funds.sql)                                   */

#define WD_COLS \
    "id, key_hash, amount_msat, mint_url, unit, source, state, coalesce(tx_id, 0)," \
    " coalesce(owner, ''), created_at, coalesce(request_id, ''), method, coalesce(bolt11, '')"

static void
wd_read(sqlite3_stmt *st, struct ledger_withdrawal *w)
{
	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, w->key_hash, sizeof(w->key_hash));
	w->amount_msat = sqlite3_column_int64(st, 2);
	col_text(st, 3, w->mint, sizeof(w->mint));
	col_text(st, 4, w->unit, sizeof(w->unit));
	col_text(st, 5, w->source, sizeof(w->source));
	col_text(st, 6, w->state, sizeof(w->state));
	w->tx_id = sqlite3_column_int64(st, 7);
	col_text(st, 8, w->owner, sizeof(w->owner));
	w->created_at = sqlite3_column_int64(st, 9);
	col_text(st, 10, w->request_id, sizeof(w->request_id));
	col_text(st, 11, w->method, sizeof(w->method));
	col_text(st, 12, w->bolt11, sizeof(w->bolt11));
}

/* free_only: take what no reservation holds, even while requests are in
 * flight (their reservations stay covered); otherwise refuse while any is. */
/* What a withdrawal pays to: a token (ln NULL), or a Lightning invoice of
 * exactly want msat. */
struct wd_ln {
	int64_t want;
	const char *destination;
	const char *bolt11;
};

static enum rerr
withdraw_begin(struct db *db, const char *hash, int64_t unit_msat, const char *mint,
    const char *unit, const char *source, const char *request_id, bool free_only,
    const struct wd_ln *ln, struct ledger_withdrawal *out)
{
	static const char debit_sql[] =
	    "UPDATE api_keys SET balance = balance - ?2"
	    " WHERE hashed_key = ?1 AND reserved = 0 AND balance >= ?2";
	static const char debit_free_sql[] =
	    "UPDATE api_keys SET balance = balance - ?2"
	    " WHERE hashed_key = ?1 AND " AVAILABLE_SQL " >= ?2";
	static const char ins_sql[] =
	    "INSERT INTO withdrawals (key_hash, amount_msat, mint_url, unit, source, request_id,"
	    " owner, created_at, updated_at, method, destination, bolt11)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)";
	struct ledger_key k;
	struct owner me;
	sqlite3_stmt *st;
	char ref[48];
	enum rerr e;
	int64_t take, now = wall_sec();

	memset(out, 0, sizeof(*out));
	if (!key_ok(hash) || unit_msat <= 0 || !text_ok(mint) || mint == NULL || unit == NULL ||
	    (strcmp(unit, "sat") != 0 && strcmp(unit, "msat") != 0) || source == NULL ||
	    strlen(source) >= sizeof(out->source) || !text_ok(request_id))
		return RERR_INVALID;
	if (owner_self(&me) < 0)
		return RERR_INTERNAL;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	e = key_read(db, hash, &k);
	if (e != RERR_OK)
		goto out;
	e = RERR_INVALID;
	if (k.parent[0] != '\0')
		goto out;
	/* Policy: no withdrawal while requests are in flight; what they
	 * will cost is not known yet. */
	e = RERR_CONFLICT;
	if (k.reserved != 0 && !free_only)
		goto out;
	take = ledger_available(&k);
	/* While requests run, as much again as they reserved stays: a real
	 * cost above a reservation (a prompt that tokenises worse than its
	 * estimate) is charged from the free balance, and forgiven without
	 * one. */
	if (free_only)
		take -= k.reserved;
	take -= take % unit_msat;
	if (ln) {
		/* Exactly the invoice's worth, or nothing. */
		e = RERR_CONFLICT;
		if (take < ln->want)
			goto out;
		take = ln->want;
	}
	e = RERR_OK;
	if (take <= 0)
		goto out;
	e = RERR_DB;
	if ((st = db_stmt(db, ins_sql)) == NULL)
		goto out;
	owner_tag(&me, out->owner);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, take);
	sqlite3_bind_text(st, 3, mint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, unit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, request_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, out->owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_text(st, 9, ln ? "lightning" : "token", -1, SQLITE_STATIC);
	if (ln) {
		sqlite3_bind_text(st, 10, ln->destination, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, ln->bolt11, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 10);
		sqlite3_bind_null(st, 11);
	}
	if (step_done(db, st) != 1)
		goto out;
	out->id = sqlite3_last_insert_rowid(db_handle(db));
	if ((st = db_stmt(db, free_only ? debit_free_sql : debit_sql)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, take);
	if (step_done(db, st) != 1)
		goto out;
	snprintf(ref, sizeof(ref), "wd:%lld", (long long)out->id);
	if (journal_add(db, hash, -take, LEDGER_REFUND, ref, now) < 0)
		goto out;
	snprintf(out->key_hash, sizeof(out->key_hash), "%s", hash);
	snprintf(out->mint, sizeof(out->mint), "%s", mint);
	snprintf(out->unit, sizeof(out->unit), "%s", unit);
	snprintf(out->source, sizeof(out->source), "%s", source);
	snprintf(out->state, sizeof(out->state), "open");
	snprintf(out->method, sizeof(out->method), "%s", ln ? "lightning" : "token");
	if (ln)
		snprintf(out->bolt11, sizeof(out->bolt11), "%s", ln->bolt11);
	snprintf(out->request_id, sizeof(out->request_id), "%s", request_id ? request_id : "");
	out->amount_msat = take;
	out->created_at = now;
	e = RERR_OK;
out:
	e = finish(db, e);
	if (e != RERR_OK)
		memset(out, 0, sizeof(*out));
	return e;
}

enum rerr
ledger_withdraw_begin(struct db *db, const char *hash, int64_t unit_msat, const char *mint,
    const char *unit, const char *source, const char *request_id, struct ledger_withdrawal *out)
{
	return withdraw_begin(db, hash, unit_msat, mint, unit, source, request_id, false, NULL, out);
}

enum rerr
ledger_withdraw_begin_ln(struct db *db, const char *hash, int64_t amount_msat, const char *mint,
    const char *unit, const char *destination, const char *bolt11, const char *request_id,
    struct ledger_withdrawal *out)
{
	struct wd_ln ln = { amount_msat, destination, bolt11 };

	if (amount_msat <= 0 || destination == NULL || bolt11 == NULL || !text_ok(destination) ||
	    strlen(bolt11) >= sizeof(out->bolt11)) {
		memset(out, 0, sizeof(*out));
		return RERR_INVALID;
	}
	return withdraw_begin(db, hash, 1, mint, unit, "ln-refund", request_id, false, &ln, out);
}

enum rerr
ledger_withdraw_begin_free(struct db *db, const char *hash, int64_t unit_msat, const char *mint,
    const char *unit, const char *source, const char *request_id, struct ledger_withdrawal *out)
{
	return withdraw_begin(db, hash, unit_msat, mint, unit, source, request_id, true, NULL, out);
}

enum rerr
ledger_withdraw_done(struct db *db, int64_t id, int64_t tx_id)
{
	static const char sql[] =
	    "UPDATE withdrawals SET state = 'done', tx_id = ?2, owner = NULL, updated_at = ?3"
	    " WHERE id = ?1 AND state = 'open'";
	sqlite3_stmt *st = db_stmt(db, sql);
	int n;

	if (st == NULL || tx_id <= 0)
		return st == NULL ? RERR_DB : RERR_INVALID;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, tx_id);
	sqlite3_bind_int64(st, 3, wall_sec());
	n = step_done(db, st);
	return n < 0 ? RERR_DB : n == 0 ? RERR_CONFLICT : RERR_OK;
}

/* Inside the caller's transaction: credit amount of withdrawal id back to
 * key, journaled as 'refund_revert' with source "<tag>:<id>" (unique, so
 * it happens once). 0, or -1. */
static int
withdraw_credit_back(struct db *db, const char *key, int64_t id, int64_t amount, const char *tag,
    int64_t now)
{
	static const char sql[] = "UPDATE api_keys SET balance = balance + ?2 WHERE hashed_key = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	char ref[48], src[48];

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, amount);
	if (step_done(db, st) != 1)
		return -1;
	snprintf(ref, sizeof(ref), "wd:%lld", (long long)id);
	snprintf(src, sizeof(src), "%s:%lld", tag, (long long)id);
	return journal_add_src(db, key, amount, LEDGER_REFUND_REVERT, ref, src, now) < 0 ? -1 : 0;
}

enum rerr
ledger_withdraw_done_ln(struct db *db, int64_t id, int64_t *spent, int64_t *back)
{
	static const char get_sql[] =
	    "SELECT w.key_hash, w.amount_msat, " MELT_SPENT_SQL("x") " FROM withdrawals w"
	    " JOIN mint_operations x ON x.fund_ref = 'wd:' || w.id AND x.kind = 'melt'"
	    "   AND x.state = 'done'"
	    " WHERE w.id = ?1 AND w.state = 'open' AND w.method = 'lightning'"
	    " ORDER BY x.id DESC LIMIT 1";
	static const char upd_sql[] =
	    "UPDATE withdrawals SET state = 'done', spent_msat = ?2, owner = NULL, updated_at = ?3"
	    " WHERE id = ?1 AND state = 'open'";
	char key[LEDGER_KEY_MAX + 1];
	sqlite3_stmt *st;
	int64_t amount, took, now = wall_sec();
	enum rerr e = RERR_DB;
	int rc;

	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	if ((st = db_stmt(db, get_sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		e = rc == SQLITE_DONE ? RERR_CONFLICT : RERR_DB;
		goto out;
	}
	col_text(st, 0, key, sizeof(key));
	amount = sqlite3_column_int64(st, 1);
	took = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	/* The melt was sized to the debit; more would be the node's money
	 * paying a user's refund, and is refused loudly. */
	e = RERR_INTERNAL;
	if (took < 0 || took > amount) {
		log_error("ledger: withdrawal %lld: its melt took %lld msat of %lld debited",
		    (long long)id, (long long)took, (long long)amount);
		goto out;
	}
	e = RERR_DB;
	if ((st = db_stmt(db, upd_sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, took);
	sqlite3_bind_int64(st, 3, now);
	if (step_done(db, st) != 1)
		goto out;
	if (amount > took && withdraw_credit_back(db, key, id, amount - took, "wd-back", now) < 0)
		goto out;
	if (spent)
		*spent = took;
	if (back)
		*back = amount - took;
	e = RERR_OK;
out:
	return finish(db, e);
}

enum rerr
ledger_withdraw_revert(struct db *db, int64_t id)
{
	static const char get_sql[] =
	    "SELECT key_hash, amount_msat FROM withdrawals WHERE id = ?1 AND state = 'open'";
	static const char upd_sql[] =
	    "UPDATE withdrawals SET state = 'reverted', owner = NULL, updated_at = ?2"
	    " WHERE id = ?1 AND state = 'open'";
	char key[LEDGER_KEY_MAX + 1];
	sqlite3_stmt *st;
	int64_t amount, now = wall_sec();
	enum rerr e = RERR_DB;
	int rc;

	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	if ((st = db_stmt(db, get_sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		e = rc == SQLITE_DONE ? RERR_CONFLICT : RERR_DB;
		goto out;
	}
	col_text(st, 0, key, sizeof(key));
	amount = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if ((st = db_stmt(db, upd_sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (step_done(db, st) != 1)
		goto out;
	if (withdraw_credit_back(db, key, id, amount, "wd-revert", now) < 0)
		goto out;
	e = RERR_OK;
out:
	return finish(db, e);
}

/* One autocommit UPDATE of withdrawal id (bound as ?1). */
static enum rerr
wd_update(struct db *db, const char *sql, int64_t id)
{
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, id);
	return step_done(db, st) < 0 ? RERR_DB : RERR_OK;
}

enum rerr
ledger_withdraw_release(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE withdrawals SET owner = NULL WHERE id = ?1";

	return wd_update(db, sql, id);
}

enum rerr
ledger_withdraw_collected(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE withdrawals SET collected = 1 WHERE id = ?1";

	return wd_update(db, sql, id);
}

/* Copy out rows of a withdrawal query bound with (?1 = limit, ?2 = hash or
 * NULL, ?3 = source or NULL). */
static enum rerr
wd_list(struct db *db, const char *sql, const char *hash, const char *source,
    struct ledger_withdrawal *rows, size_t max, size_t *n)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		wd_read(st, &rows[(*n)++]);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? RERR_OK : RERR_DB;
}

enum rerr
ledger_withdrawals_open(struct db *db, const char *hash, struct ledger_withdrawal *rows,
    size_t max, size_t *n)
{
	static const char sql[] = "SELECT " WD_COLS " FROM withdrawals WHERE state = 'open'"
	    " AND (?2 IS NULL OR key_hash = ?2) AND (?3 IS NULL OR source = ?3)"
	    " ORDER BY id LIMIT ?1";

	return wd_list(db, sql, hash, NULL, rows, max, n);
}

enum rerr
ledger_withdraw_last(struct db *db, const char *hash, const char *source,
    struct ledger_withdrawal *w)
{
	static const char sql[] = "SELECT " WD_COLS " FROM withdrawals WHERE state = 'done'"
	    " AND collected = 0 AND key_hash = ?2 AND source = ?3 ORDER BY id DESC LIMIT ?1";
	size_t n = 0;
	enum rerr e;

	e = wd_list(db, sql, hash, source, w, 1, &n);
	if (e == RERR_OK && n == 0)
		e = RERR_NOT_FOUND;
	return e;
}

/* ------------------------------------------------------------------------ */
/* Receipts: redeemed tokens and their one credit                           */


enum rerr
ledger_receipts_uncredited(struct db *db, struct ledger_receipt *rows, size_t max, size_t *n)
{
	static const char sql[] =
	    "SELECT t.id, t.api_key_hash, " RECEIPT_MSAT_SQL
	    " FROM cashu_transactions t WHERE t.direction = 'in' AND t.api_key_hash IS NOT NULL"
	    " AND t.unit IN ('sat', 'msat') AND t.amount > t.fee"
	    " AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.source = " RECEIPT_SOURCE_SQL ")"
	    " ORDER BY t.id LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct ledger_receipt *r = &rows[(*n)++];

		r->tx_id = sqlite3_column_int64(st, 0);
		col_text(st, 1, r->key_hash, sizeof(r->key_hash));
		r->msat = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? RERR_OK : RERR_DB;
}

enum rerr
ledger_receipt_credited(struct db *db, int64_t tx_id, char key_hash[LEDGER_KEY_MAX + 1])
{
	static const char sql[] =
	    "SELECT k.hashed_key FROM journal j JOIN api_keys k ON k.id = j.key_id"
	    " WHERE j.source = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	char src[48];
	int rc;

	key_hash[0] = '\0';
	if (st == NULL)
		return RERR_DB;
	snprintf(src, sizeof(src), "cashu-in:%lld", (long long)tx_id);
	sqlite3_bind_text(st, 1, src, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, key_hash, LEDGER_KEY_MAX + 1);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? RERR_OK : rc == SQLITE_DONE ? RERR_NOT_FOUND : RERR_DB;
}

enum rerr
ledger_earnings(struct db *db, const char *primary_mint, struct ledger_earnings *rows, size_t max,
    size_t *n)
{
	static const char sql[] =
	    "WITH m AS (SELECT mint_url, unit FROM wallet_proofs"
	    "   WHERE state IN ('unspent', 'pending') AND unit IN ('sat', 'msat') UNION"
	    "   SELECT coalesce(nullif(refund_mint_url, ''), ?1),"
	    "   coalesce(nullif(refund_currency, ''), 'sat') FROM api_keys"
	    "   WHERE parent_key_hash IS NULL AND balance > 0)"
	    " SELECT m.mint_url, m.unit,"
	    " (SELECT coalesce(sum(amount), 0) FROM wallet_proofs p WHERE p.mint_url = m.mint_url"
	    "   AND p.unit = m.unit AND p.state IN ('unspent', 'pending')) * " MSAT_OF("m.unit") ","
	    " (SELECT coalesce(sum(balance), 0) FROM api_keys k WHERE k.parent_key_hash IS NULL"
	    "   AND coalesce(nullif(k.refund_mint_url, ''), ?1) = m.mint_url"
	    "   AND coalesce(nullif(k.refund_currency, ''), 'sat') = m.unit),"
	    " (SELECT coalesce(sum(amount_msat), 0) FROM withdrawals w WHERE w.state = 'open'"
	    "   AND w.mint_url = m.mint_url AND w.unit = m.unit)"
	    " FROM m ORDER BY 1, 2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, primary_mint ? primary_mint : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct ledger_earnings *e = &rows[(*n)++];

		col_text(st, 0, e->mint, sizeof(e->mint));
		col_text(st, 1, e->unit, sizeof(e->unit));
		e->held = sqlite3_column_int64(st, 2);
		e->users = sqlite3_column_int64(st, 3);
		e->pending = sqlite3_column_int64(st, 4);
		e->earned = e->held - e->users - e->pending;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? RERR_OK : RERR_DB;
}
