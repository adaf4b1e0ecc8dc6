/* lightning: see lightning.h. */
#include "config.h"

#include "db_sql.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cashu/mint.h"
#include "cashu/wallet.h"
#include "conf.h"
#include "lightning.h"
#include "log.h"
#include "owner.h"
#include "util.h"

void
ln_invoice_free(struct ln_invoice *iv)
{
	free(iv->bolt11);
	iv->bolt11 = NULL;
}

static void
random_id(char out[LN_ID_LEN + 1])
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[LN_ID_LEN];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		abort();	/* no randomness: nothing safe to do */
	for (i = 0; i < LN_ID_LEN; i++)
		out[i] = b64u[r[i] & 63];
	out[LN_ID_LEN] = '\0';
}

/* Routstr's key for an invoice that creates one: SHA-256("invoice-" id "-"
 * quote), so the same invoice always makes the same key. */
static void
created_key(const char *id, const char *quote, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *s = xasprintf("invoice-%s-%s", id, quote);

	SHA256((const unsigned char *)s, strlen(s), md);
	hex_encode(md, sizeof(md), out);
	free(s);
}

static const char *
primary_mint(void)
{
	return funds_primary_mint();
}

/* ------------------------------------------------------------ the row */

#define ROW_COLS "id, quote_id, mint_url, bolt11, amount_sats, purpose, api_key_hash, status," \
    " created_at, expires_at, coalesce(paid_at, 0), balance_limit, balance_limit_reset," \
    " validity_date"

struct row_extra {
	struct ledger_limits lim;
};

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", s ? (const char *)s : "");
}

static enum rerr
row_read(struct db *db, const char *key, bool by_bolt11, struct ln_invoice *iv, struct row_extra *x)
{
	static const char by_id[] = "SELECT " ROW_COLS " FROM lightning_invoices WHERE id = ?1";
	static const char by_b11[] =
	    "SELECT " ROW_COLS " FROM lightning_invoices WHERE bolt11 = ?1 ORDER BY created_at DESC";
	sqlite3_stmt *st = db_stmt(db, by_bolt11 ? by_b11 : by_id);
	const unsigned char *reset;
	int rc;

	ln_invoice_free(iv);
	memset(iv, 0, sizeof(*iv));
	memset(x, 0, sizeof(*x));
	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? RERR_NOT_FOUND : RERR_DB;
	}
	col_copy(st, 0, iv->id, sizeof(iv->id));
	col_copy(st, 1, iv->quote, sizeof(iv->quote));
	col_copy(st, 2, iv->mint, sizeof(iv->mint));
	iv->bolt11 = xstrdup((const char *)sqlite3_column_text(st, 3));
	iv->amount_sats = sqlite3_column_int64(st, 4);
	iv->purpose = strcmp((const char *)sqlite3_column_text(st, 5), "topup") == 0 ? LN_TOPUP :
	    LN_CREATE;
	col_copy(st, 6, iv->key_hash, sizeof(iv->key_hash));
	col_copy(st, 7, iv->status, sizeof(iv->status));
	iv->created_at = sqlite3_column_int64(st, 8);
	iv->expires_at = sqlite3_column_int64(st, 9);
	iv->paid_at = sqlite3_column_int64(st, 10);
	x->lim.has_limit = sqlite3_column_type(st, 11) != SQLITE_NULL;
	x->lim.balance_limit = sqlite3_column_int64(st, 11);
	reset = sqlite3_column_text(st, 12);
	x->lim.reset = ledger_reset_parse((const char *)reset);
	x->lim.has_validity = sqlite3_column_type(st, 13) != SQLITE_NULL;
	x->lim.validity_date = sqlite3_column_int64(st, 13);
	sqlite3_reset(st);
	return RERR_OK;
}

/* One settle of an invoice at a time: take its lease for LN_SETTLE_S when it
 * is free or its settler's process is gone, by compare-and-set on what was
 * read (so two threads of one process do not both take it). 1 taken, 0
 * another settle runs, -1 error. */
#define LN_SETTLE_S 60
static int
claim(struct db *db, const char *id, int64_t now)
{
	static const char get_sql[] =
	    "SELECT settling_until, coalesce(settler, '') FROM lightning_invoices WHERE id = ?1";
	static const char take_sql[] =
	    "UPDATE lightning_invoices SET settling_until = ?2 + ?3, settler = ?4"
	    " WHERE id = ?1 AND settling_until = ?5 AND coalesce(settler, '') = ?6";
	sqlite3_stmt *st;
	char me[OWNER_TAG_MAX], held[OWNER_TAG_MAX] = "";
	int64_t until = 0;
	int rc;

	if (owner_self_tag(me) < 0 || (st = db_stmt(db, get_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		until = sqlite3_column_int64(st, 0);
		snprintf(held, sizeof(held), "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_reset(st);
	/* Held and its settler alive (or in this process): another runs it.
	 * A settler that died leaves its lease at once. */
	if (until > now && *held && (strcmp(held, me) == 0 || owner_tag_alive(held) != 0))
		return 0;
	if ((st = db_stmt(db, take_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, LN_SETTLE_S);
	sqlite3_bind_text(st, 4, me, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, until);
	sqlite3_bind_text(st, 6, held, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db_handle(db)) == 1;
}

static void
unclaim(struct db *db, const char *id)
{
	static const char sql[] =
	    "UPDATE lightning_invoices SET settling_until = 0, settler = NULL WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_reset(st);
}

/* An unpaid pending invoice past its time becomes expired: only from
 * pending (a settle may have moved it on meanwhile). 1 when it moved. */
static int
expire(struct db *db, const char *id)
{
	static const char sql[] =
	    "UPDATE lightning_invoices SET status = 'expired' WHERE id = ?1 AND status = 'pending'";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db_handle(db)) : -1;
}

/* Move the status from one of the from list to to; 1 when it moved. */
static int
set_status(struct db *db, const char *id, const char *to, int64_t now)
{
	static const char sql[] =
	    "UPDATE lightning_invoices SET status = ?2, paid_at = CASE ?2 WHEN 'paid' THEN ?3"
	    " ELSE paid_at END WHERE id = ?1 AND status IN ('pending', 'settlement_pending',"
	    " 'expired') AND status <> ?2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db_handle(db));
}

/* The state of the wallet's mint operation for quote: "done", "open"
 * (prepared or sent), "failed" or "" (none). */
static void
mint_op_state(struct db *db, const char *quote, char out[16])
{
	static const char sql[] =
	    "SELECT CASE WHEN sum(state = 'done') > 0 THEN 'done'"
	    " WHEN sum(state IN ('prepared', 'sent')) > 0 THEN 'open'"
	    " WHEN count(*) > 0 THEN 'failed' ELSE '' END"
	    " FROM mint_operations WHERE kind = 'mint' AND quote = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	out[0] = '\0';
	if (st == NULL)
		return;
	sqlite3_bind_text(st, 1, quote, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, 16, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
}

/* ------------------------------------------------------------- create */

static int64_t
open_count(struct db *db, int64_t since)
{
	static const char sql[] =
	    "SELECT count(*) FROM lightning_invoices WHERE status = 'pending' AND created_at >= ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t n = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, since);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

enum ln_status
ln_invoice_create(const struct funds_ctx *fc, int64_t amount_sats, enum ln_purpose purpose,
    const char *key_hash, const struct ledger_limits *lim, struct ln_invoice *out)
{
	static const char sql[] =
	    "INSERT INTO lightning_invoices (id, quote_id, mint_url, unit, bolt11, amount_sats,"
	    " purpose, api_key_hash, balance_limit, balance_limit_reset, validity_date,"
	    " created_at, expires_at) VALUES (?1, ?2, ?3, 'sat', ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	    " ?11, ?12)";
	static const char *const reset_names[] = { NULL, "daily", "weekly", "monthly" };
	struct wallet_ctx w;
	struct mint_quote q;
	struct mint_error me;
	sqlite3_stmt *st;
	const char *mint = primary_mint();
	char key[65];
	int64_t now = wall_sec();
	int rc;

	memset(out, 0, sizeof(*out));
	if (amount_sats < 1 || amount_sats > LN_MAX_SATS || *mint == '\0' ||
	    (purpose == LN_TOPUP && key_hash == NULL))
		return LN_INVALID;
	/* Anyone may ask for an invoice: a bound on the unpaid ones keeps a
	 * flood from using up the node's standing with its mint. */
	if (open_count(fc->db, now - 3600) >= LN_OPEN_MAX)
		return LN_BUSY;
	funds_wallet(fc, &w);
	memset(&me, 0, sizeof(me));
	if (wallet_mint_quote(&w, mint, "sat", (uint64_t)amount_sats, &q, &me) != MINT_OK) {
		log_warn("lightning: no invoice from %s: %s", mint, me.detail);
		return LN_MINT;
	}
	/* The quote must be what was asked, and fit where it is kept. */
	if (q.quote == NULL || q.request == NULL || strlen(q.quote) >= sizeof(out->quote) ||
	    q.amount != (uint64_t)amount_sats || (q.unit[0] && strcmp(q.unit, "sat") != 0)) {
		log_warn("lightning: %s quoted something else than %lld sat", mint,
		    (long long)amount_sats);
		mint_quote_free(&q);
		return LN_MINT;
	}
	random_id(out->id);
	if (purpose == LN_CREATE)
		created_key(out->id, q.quote, key);
	else
		snprintf(key, sizeof(key), "%s", key_hash);
	snprintf(out->quote, sizeof(out->quote), "%s", q.quote);
	snprintf(out->mint, sizeof(out->mint), "%s", mint);
	out->bolt11 = xstrdup(q.request);
	out->amount_sats = amount_sats;
	out->purpose = purpose;
	snprintf(out->key_hash, sizeof(out->key_hash), "%s", key);
	snprintf(out->status, sizeof(out->status), "pending");
	out->created_at = now;
	out->expires_at = q.expiry > now ? q.expiry : now + LN_EXPIRY_S;
	mint_quote_free(&q);
	if ((st = db_stmt(fc->db, sql)) == NULL)
		return LN_INTERNAL;
	sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, out->quote, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, out->mint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, out->bolt11, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, amount_sats);
	sqlite3_bind_text(st, 6, purpose == LN_TOPUP ? "topup" : "create", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, out->key_hash, -1, SQLITE_STATIC);
	if (lim && lim->has_limit)
		sqlite3_bind_int64(st, 8, lim->balance_limit);
	if (lim && lim->reset > 0 && (size_t)lim->reset < ARRAY_SIZE(reset_names))
		sqlite3_bind_text(st, 9, reset_names[lim->reset], -1, SQLITE_STATIC);
	if (lim && lim->has_validity)
		sqlite3_bind_int64(st, 10, lim->validity_date);
	sqlite3_bind_int64(st, 11, now);
	sqlite3_bind_int64(st, 12, out->expires_at);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("lightning: cannot store invoice: %s", sqlite3_errmsg(db_handle(fc->db)));
		ln_invoice_free(out);
		return LN_INTERNAL;
	}
	return LN_OK;
}

/* ------------------------------------------------------------- settle */

/* Credit the invoice's key once (the journal source is unique). */
static enum rerr
credit(const struct funds_ctx *fc, const struct ln_invoice *iv, const struct row_extra *x)
{
	char src[64];
	int64_t msat = iv->amount_sats * 1000;
	enum rerr e;

	snprintf(src, sizeof(src), "ln-in:%s", iv->id);
	if (iv->purpose == LN_CREATE) {
		struct ledger_key_new nk;
		bool created = false;

		memset(&nk, 0, sizeof(nk));
		nk.hashed_key = iv->key_hash;
		nk.deposit_msat = msat;
		nk.deposit_ref = iv->id;
		nk.deposit_source = src;
		nk.refund_mint_url = iv->mint;
		nk.refund_currency = "sat";
		nk.lim = x->lim;
		e = ledger_key_create(fc->db, &nk, &created);
		/* exists already: made by an earlier settle of this invoice */
		if (e == RERR_OK && !created)
			e = RERR_CONFLICT;
	} else {
		e = ledger_credit_src(fc->db, iv->key_hash, msat, LEDGER_TOPUP, iv->id, src, NULL);
	}
	return e;
}

static enum ln_status settle_claimed(const struct funds_ctx *fc, struct ln_invoice *out,
    struct row_extra *xx, enum mint_quote_state qs, int64_t now);

enum ln_status
ln_invoice_settle(const struct funds_ctx *fc, const char *id, bool by_bolt11, bool grace,
    struct ln_invoice *out)
{
	struct mint_client mc;
	struct mint_quote q;
	struct mint_error me;
	struct row_extra x;
	int64_t now = wall_sec();
	enum mint_quote_state qs;
	enum ln_status s;
	enum rerr e;

	memset(out, 0, sizeof(*out));
	if ((e = row_read(fc->db, id, by_bolt11, out, &x)) != RERR_OK)
		return e == RERR_NOT_FOUND ? LN_NOT_FOUND : LN_INTERNAL;
	if (strcmp(out->status, "paid") == 0 || strcmp(out->status, "reconciliation_required") == 0)
		return LN_OK;
	if (strcmp(out->status, "expired") == 0 && !grace && now >= out->expires_at + LN_GRACE_S)
		return LN_OK;
	/* Is it paid? The mint says. */
	if (mint_client_init(&mc, fc->up, out->mint) != 0)
		return LN_INTERNAL;
	memset(&me, 0, sizeof(me));
	memset(&q, 0, sizeof(q));
	if (mint_mint_quote_state(&mc, out->quote, &q, &me) != MINT_OK) {
		mint_quote_free(&q);
		return strcmp(out->status, "settlement_pending") == 0 ? LN_MINT : LN_OK;
	}
	qs = q.state;
	mint_quote_free(&q);
	if (qs == MINT_QUOTE_UNPAID || qs == MINT_QUOTE_PENDING) {
		if (qs == MINT_QUOTE_UNPAID && now >= out->expires_at &&
		    expire(fc->db, out->id) == 1)
			snprintf(out->status, sizeof(out->status), "expired");
		return LN_OK;
	}
	/* Paid (or already issued to us): one settle at a time; the others
	 * wait for it, bounded, and answer what it wrote. */
	switch (claim(fc->db, out->id, now)) {
	case -1:
		return LN_INTERNAL;
	case 0: {
		char keep[LN_ID_LEN + 1];
		int tries;

		snprintf(keep, sizeof(keep), "%s", out->id);
		for (tries = 0; tries < 50; tries++) {
			usleep(100 * 1000);
			if (row_read(fc->db, keep, false, out, &x) == RERR_OK &&
			    strcmp(out->status, "paid") == 0)
				break;
		}
		return LN_OK;
	}
	default:
		break;
	}
	s = settle_claimed(fc, out, &x, qs, now);
	unclaim(fc->db, out->id);
	return s;
}

/* The settle of a paid invoice whose lease this process holds. */
static enum ln_status
settle_claimed(const struct funds_ctx *fc, struct ln_invoice *out, struct row_extra *xx,
    enum mint_quote_state qs, int64_t now)
{
	struct wallet_ctx w;
	struct mint_error me;
	struct row_extra x = *xx;
	struct ledger_key k;
	char op[16];
	enum rerr e;

	if (set_status(fc->db, out->id, "settlement_pending", now) < 0)
		return LN_INTERNAL;
	snprintf(out->status, sizeof(out->status), "settlement_pending");
	if (out->purpose == LN_TOPUP &&
	    (e = ledger_key_get(fc->db, out->key_hash, &k, NULL)) != RERR_OK) {
		if (e != RERR_NOT_FOUND)
			return LN_INTERNAL;	/* a busy database: the next settle */
		log_error("lightning: invoice %s paid for key %.8s, which is gone", out->id,
		    out->key_hash);
		set_status(fc->db, out->id, "reconciliation_required", now);
		snprintf(out->status, sizeof(out->status), "reconciliation_required");
		return LN_OK;
	}
	funds_wallet(fc, &w);
	mint_op_state(fc->db, out->quote, op);
	if (strcmp(op, "open") == 0) {
		/* Still open: a settle that died while minting. Its outputs are
		 * restored from the mint (NUT-09) by routstrctl cron's funds job
		 * (the wallet's recovery, off the request path); the watcher
		 * then credits it. */
		return LN_OK;
	}
	if (strcmp(op, "done") != 0) {
		struct wallet_receipt r;

		if (qs == MINT_QUOTE_ISSUED) {
			/* Issued, but not to an operation of ours we know of. */
			log_error("lightning: invoice %s: quote issued without our mint operation",
			    out->id);
			set_status(fc->db, out->id, "reconciliation_required", now);
			snprintf(out->status, sizeof(out->status), "reconciliation_required");
			return LN_OK;
		}
		memset(&me, 0, sizeof(me));
		if (wallet_mint_proofs(&w, out->mint, "sat", (uint64_t)out->amount_sats, out->quote,
		    &r, &me) != MINT_OK) {
			mint_op_state(fc->db, out->quote, op);
			if (strcmp(op, "done") != 0) {
				/* Another settle minted it meanwhile, or the mint
				 * is down: the watcher comes back. */
				log_warn("lightning: invoice %s not minted yet: %s", out->id, me.detail);
				return LN_OK;
			}
		}
	}
	e = credit(fc, out, &x);
	if (e != RERR_OK && e != RERR_CONFLICT) {
		log_error("lightning: invoice %s minted but not credited: %s", out->id, rerr_name(e));
		return LN_INTERNAL;
	}
	if (set_status(fc->db, out->id, "paid", now) == 1) {
		snprintf(out->status, sizeof(out->status), "paid");
		out->paid_at = now;
		log_info("lightning: invoice %s paid: %lld sats to %.8s", out->id,
		    (long long)out->amount_sats, out->key_hash);
	} else {
		/* Another settle marked it: read what it wrote. */
		char keep[LN_ID_LEN + 1];

		snprintf(keep, sizeof(keep), "%s", out->id);
		row_read(fc->db, keep, false, out, &x);
	}
	return LN_OK;
}

/* ------------------------------------------------------------- watcher */

static int
bulk_expire(struct db *db, int64_t now)
{
	static const char sql[] =
	    "UPDATE lightning_invoices SET status = 'expired' WHERE status = 'pending'"
	    " AND expires_at < ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db_handle(db)) : 0;
}

int
ln_watch(const struct funds_ctx *fc, int *checked, int *paid, int *expired)
{
	static const char sql[] =
	    "SELECT id FROM lightning_invoices WHERE status IN ('pending', 'settlement_pending')"
	    " OR (status = 'expired' AND expires_at > ?1) ORDER BY status = 'settlement_pending' DESC,"
	    " created_at DESC LIMIT ?2";
	char (*ids)[LN_ID_LEN + 1] = xcalloc(LN_WATCH_BATCH, sizeof(*ids));
	sqlite3_stmt *st = db_stmt(fc->db, sql);
	struct ln_invoice iv;
	size_t n = 0, i;
	int rc = 0;

	*checked = *paid = *expired = 0;
	if (st == NULL) {
		free(ids);
		return -1;
	}
	/* Unpaid past their time without asking the mint (Routstr's bulk
	 * expiry): they stay creditable for the grace period below. */
	*expired = bulk_expire(fc->db, wall_sec());
	sqlite3_bind_int64(st, 1, wall_sec() - LN_GRACE_S);
	sqlite3_bind_int(st, 2, LN_WATCH_BATCH);
	while (n < LN_WATCH_BATCH && sqlite3_step(st) == SQLITE_ROW)
		snprintf(ids[n++], LN_ID_LEN + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	memset(&iv, 0, sizeof(iv));
	for (i = 0; i < n; i++) {
		enum ln_status s = ln_invoice_settle(fc, ids[i], false, false, &iv);

		(*checked)++;
		if (s == LN_INTERNAL)
			rc = -1;
		if (strcmp(iv.status, "paid") == 0)
			(*paid)++;
		else if (strcmp(iv.status, "expired") == 0)
			(*expired)++;
		ln_invoice_free(&iv);
	}
	free(ids);
	return rc;
}
