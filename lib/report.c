/* report: see report.h. */
#include "config.h"

#include "db_sql.h"

#include <stdio.h>
#include <string.h>

#include "report.h"

static void
col(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* Step st into rows with fill(), at most max; RERR_OK or RERR_DB. */
static enum rerr
each(sqlite3_stmt *st, void *rows, size_t size, size_t max, size_t *n,
    void (*fill)(sqlite3_stmt *st, void *row))
{
	int rc;

	*n = 0;
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset((char *)rows + *n * size, 0, size);
		fill(st, (char *)rows + *n * size);
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return RERR_DB;
	}
	sqlite3_reset(st);
	return RERR_OK;
}

/* ------------------------------------------------------------ keys */

static void
fill_key(sqlite3_stmt *st, void *p)
{
	struct report_key *k = p;

	col(st, 0, k->hash, sizeof(k->hash));
	col(st, 1, k->parent, sizeof(k->parent));
	k->balance = sqlite3_column_int64(st, 2);
	k->reserved = sqlite3_column_int64(st, 3);
	k->total_spent = sqlite3_column_int64(st, 4);
	k->total_requests = sqlite3_column_int64(st, 5);
	k->created_at = sqlite3_column_int64(st, 6);
	col(st, 7, k->refund_address, sizeof(k->refund_address));
}

#define KEY_MATCH "(?1 = '' OR instr(hashed_key, ?1) > 0 OR instr(coalesce(refund_address, ''), ?1) > 0)"

enum rerr
report_keys(struct db *db, const char *q, size_t offset, struct report_key *rows, size_t max,
    size_t *n, int64_t *total, int64_t *held)
{
	static const char list_sql[] =
	    "SELECT hashed_key, coalesce(parent_key_hash, ''), balance, reserved, total_spent,"
	    " total_requests, created_at, coalesce(refund_address, '') FROM api_keys"
	    " WHERE " KEY_MATCH " ORDER BY id DESC LIMIT ?2 OFFSET ?3";
	static const char sum_sql[] =
	    "SELECT count(*), coalesce(sum(CASE WHEN parent_key_hash IS NULL THEN balance END), 0)"
	    " FROM api_keys WHERE " KEY_MATCH;
	sqlite3_stmt *st;
	enum rerr e;

	*n = 0;
	*total = *held = 0;
	if ((st = db_stmt(db, sum_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, q ? q : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		*held = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if ((st = db_stmt(db, list_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, q ? q : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	sqlite3_bind_int64(st, 3, (int64_t)offset);
	e = each(st, rows, sizeof(*rows), max, n, fill_key);
	return e;
}

static void
fill_journal(sqlite3_stmt *st, void *p)
{
	struct report_journal *j = p;

	j->id = sqlite3_column_int64(st, 0);
	j->delta = sqlite3_column_int64(st, 1);
	col(st, 2, j->kind, sizeof(j->kind));
	col(st, 3, j->ref, sizeof(j->ref));
	j->balance_after = sqlite3_column_int64(st, 4);
	j->created_at = sqlite3_column_int64(st, 5);
}

enum rerr
report_journal(struct db *db, const char *hash, struct report_journal *rows, size_t max,
    size_t *n)
{
	static const char sql[] =
	    "SELECT j.id, j.delta, j.kind, coalesce(j.source, j.ref, ''), j.balance_after, j.created_at"
	    " FROM journal j JOIN api_keys k ON k.id = j.key_id WHERE k.hashed_key = ?1"
	    " ORDER BY j.id DESC LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_journal);
}

/* ------------------------------------------------------------ requests */

static void
fill_request(sqlite3_stmt *st, void *p)
{
	struct report_request *q = p;

	q->id = sqlite3_column_int64(st, 0);
	col(st, 1, q->request_id, sizeof(q->request_id));
	col(st, 2, q->key, sizeof(q->key));
	q->reserved = sqlite3_column_int64(st, 3);
	q->charged = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
	col(st, 5, q->model, sizeof(q->model));
	q->status = sqlite3_column_int(st, 6);
	q->created_at = sqlite3_column_int64(st, 7);
	col(st, 8, q->state, sizeof(q->state));
}

enum rerr
report_requests(struct db *db, const char *request_id, struct report_request *rows, size_t max,
    size_t *n)
{
	/* Active reservations, then history: requests has no index but its
	 * rowid (a page write per request saved), so a search by request id
	 * scans it; the newest rows come first and the scan stops at max. */
	static const char sql[] =
	    "SELECT * FROM (SELECT v.id, coalesce(v.request_id, ''), k.hashed_key, v.amount, NULL,"
	    "   '', 0, v.created_at, 'active' FROM reservations v JOIN api_keys k ON k.id = v.key_id"
	    "   WHERE ?1 = '' OR v.request_id = ?1 ORDER BY v.id DESC)"
	    " UNION ALL SELECT * FROM (SELECT r.id, coalesce(r.request_id, ''), k.hashed_key,"
	    "   r.reserved, r.charged, coalesce(r.model, ''), coalesce(r.status, 0), r.created_at,"
	    "   CASE WHEN r.charged IS NULL THEN 'released' ELSE 'settled' END"
	    "   FROM requests r JOIN api_keys k ON k.id = r.key_id"
	    "   WHERE ?1 = '' OR r.request_id = ?1 ORDER BY r.id DESC LIMIT ?2)"
	    " LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, request_id ? request_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_request);
}

/* ------------------------------------------------------------ money in and out */

static void
fill_tx(sqlite3_stmt *st, void *p)
{
	struct report_tx *t = p;

	t->id = sqlite3_column_int64(st, 0);
	col(st, 1, t->direction, sizeof(t->direction));
	col(st, 2, t->source, sizeof(t->source));
	t->amount = sqlite3_column_int64(st, 3);
	col(st, 4, t->unit, sizeof(t->unit));
	col(st, 5, t->mint, sizeof(t->mint));
	col(st, 6, t->key, sizeof(t->key));
	t->created_at = sqlite3_column_int64(st, 7);
	col(st, 8, t->status, sizeof(t->status));
}

enum rerr
report_transactions(struct db *db, const char *source, struct report_tx *rows, size_t max,
    size_t *n)
{
	static const char sql[] =
	    "SELECT id, direction, coalesce(source, ''), amount, unit, mint_url,"
	    " coalesce(api_key_hash, ''), created_at, CASE WHEN direction = 'in' THEN 'redeemed'"
	    " WHEN swept THEN 'swept' WHEN collected THEN 'collected' ELSE 'issued' END"
	    " FROM cashu_transactions WHERE ?1 = '' OR source = ?1 ORDER BY id DESC LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, source ? source : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_tx);
}

static void
fill_invoice(sqlite3_stmt *st, void *p)
{
	struct report_invoice *i = p;

	col(st, 0, i->id, sizeof(i->id));
	col(st, 1, i->purpose, sizeof(i->purpose));
	i->sats = sqlite3_column_int64(st, 2);
	col(st, 3, i->status, sizeof(i->status));
	col(st, 4, i->key, sizeof(i->key));
	i->created_at = sqlite3_column_int64(st, 5);
	i->paid_at = sqlite3_column_int64(st, 6);
}

enum rerr
report_invoices(struct db *db, struct report_invoice *rows, size_t max, size_t *n)
{
	static const char sql[] =
	    "SELECT id, purpose, amount_sats, status, api_key_hash, created_at, coalesce(paid_at, 0)"
	    " FROM lightning_invoices ORDER BY created_at DESC LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_invoice);
}

static void
fill_payout(sqlite3_stmt *st, void *p)
{
	struct report_payout *o = p;

	o->id = sqlite3_column_int64(st, 0);
	col(st, 1, o->trigger, sizeof(o->trigger));
	col(st, 2, o->destination, sizeof(o->destination));
	col(st, 3, o->mint, sizeof(o->mint));
	o->amount_msat = sqlite3_column_int64(st, 4);
	o->spent_msat = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
	col(st, 6, o->state, sizeof(o->state));
	o->created_at = sqlite3_column_int64(st, 7);
}

enum rerr
report_payouts(struct db *db, struct report_payout *rows, size_t max, size_t *n)
{
	static const char sql[] =
	    "SELECT id, trigger, destination, mint_url, amount_msat, spent_msat, state, created_at"
	    " FROM payouts ORDER BY id DESC LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_payout);
}

static void
fill_provider(sqlite3_stmt *st, void *p)
{
	struct report_provider *v = p;

	col(st, 0, v->slug, sizeof(v->slug));
	col(st, 1, v->type, sizeof(v->type));
	col(st, 2, v->base_url, sizeof(v->base_url));
	v->fee_ppm = sqlite3_column_int64(st, 3);
	v->priority = sqlite3_column_int64(st, 4);
	v->enabled = sqlite3_column_int(st, 5) != 0;
	v->from_env = sqlite3_column_int(st, 6) != 0;
	v->has_key = sqlite3_column_int(st, 7) != 0;
	v->id = sqlite3_column_int64(st, 8);
}

enum rerr
report_providers(struct db *db, struct report_provider *rows, size_t max, size_t *n)
{
	static const char sql[] =
	    "SELECT slug, type, base_url, coalesce(fee_ppm, -1), priority, enabled, from_env,"
	    " coalesce(api_key, '') <> '', id FROM providers ORDER BY priority, id LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_provider);
}

/* ------------------------------------------------------------ usage */

enum rerr
report_usage(struct db *db, int64_t now, int64_t width, struct report_bucket *b, size_t nb)
{
	static const char sql[] =
	    "SELECT (created_at - ?1) / ?2, count(*), coalesce(sum(charged), 0),"
	    " count(charged), count(*) - count(charged), coalesce(sum(tokens_in), 0),"
	    " coalesce(sum(tokens_out), 0) FROM requests"
	    " WHERE created_at >= ?1 AND created_at < ?3 GROUP BY 1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t from = now - width * (int64_t)nb + 1, i;
	int rc;

	for (i = 0; i < (int64_t)nb; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].start = from + i * width;
	}
	if (st == NULL || width <= 0)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, width);
	sqlite3_bind_int64(st, 3, now + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		i = sqlite3_column_int64(st, 0);
		if (i >= 0 && i < (int64_t)nb) {
			b[i].requests = sqlite3_column_int64(st, 1);
			b[i].revenue_msat = sqlite3_column_int64(st, 2);
			b[i].successful = sqlite3_column_int64(st, 3);
			b[i].failed = sqlite3_column_int64(st, 4);
			b[i].tokens_in = sqlite3_column_int64(st, 5);
			b[i].tokens_out = sqlite3_column_int64(st, 6);
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? RERR_OK : RERR_DB;
}

static void
fill_model(sqlite3_stmt *st, void *p)
{
	struct report_model *m = p;

	col(st, 0, m->model, sizeof(m->model));
	m->requests = sqlite3_column_int64(st, 1);
	m->successful = sqlite3_column_int64(st, 2);
	m->failed = sqlite3_column_int64(st, 3);
	m->revenue_msat = sqlite3_column_int64(st, 4);
	m->tokens_in = sqlite3_column_int64(st, 5);
	m->tokens_out = sqlite3_column_int64(st, 6);
}

enum rerr
report_by_model(struct db *db, int64_t since, struct report_model *rows, size_t max, size_t *n)
{
	static const char sql[] =
	    "SELECT coalesce(model, ''), count(*), count(charged), count(*) - count(charged),"
	    " coalesce(sum(charged), 0), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0)"
	    " FROM requests WHERE created_at >= ?1 GROUP BY 1 ORDER BY 5 DESC, 2 DESC LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	*n = 0;
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	return each(st, rows, sizeof(*rows), max, n, fill_model);
}
