/* lnout: see lnout.h and docs/money.md ("Lightning out"). */
#include "config.h"

#include "db_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cashu/mint.h"
#include "cashu/wallet.h"
#include "conf.h"
#include "lnout.h"
#include "lnurl.h"
#include "log.h"
#include "owner.h"
#include "util.h"

#define MAX_INPUTS_FEE 64	/* inputs a melt's fee is estimated for */

static const char *
primary_mint(void)
{
	return funds_primary_mint();
}

static const char *
primary_unit(void)
{
	return funds_primary_unit();
}

static int64_t
unit_msat(const char *unit)
{
	return strcmp(unit, "msat") == 0 ? 1 : 1000;
}

/* Tests kill a payment at "lnout-<what>-<point>": the wallet's points of
 * its melt (prepared, sent, answered), "-debited" once the row is written,
 * "-melted" once the melt is done but before the row says so. */
static void
point(const char *what, const char *at)
{
	char flow[32];

	snprintf(flow, sizeof(flow), "lnout-%s", what);
	funds_crash_at(flow, at);
}

/* ------------------------------------------------------------ sizing */

/* What paying bolt11 from mint's proofs takes at most, in msat: the quote's
 * amount and fee reserve, and the input fee of up to MAX_INPUTS_FEE proofs
 * at the mint's dearest keyset. */
static enum mint_err
melt_need(const struct funds_ctx *fc, const char *mint, const char *unit, const char *bolt11,
    int64_t *need, struct mint_error *e)
{
	struct wallet_ctx w;
	struct mint_client mc;
	struct mint_quote q;
	struct mint_keyset *ks = NULL;
	uint64_t ppk = 0;
	size_t n = 0, i;
	enum mint_err rc;

	*need = 0;
	funds_wallet(fc, &w);
	if (mint_client_init(&mc, fc->up, mint) != 0)
		return mint_error_set(e, MINT_E_INVALID, "bad mint URL");
	if (wallet_keysets(&w, mint, &ks, &n, e) == MINT_OK) {
		for (i = 0; i < n; i++)
			if (strcmp(ks[i].unit, unit) == 0 && ks[i].input_fee_ppk > ppk)
				ppk = ks[i].input_fee_ppk;
		mint_keysets_free(ks, n);
	}
	memset(&q, 0, sizeof(q));
	if ((rc = mint_melt_quote(&mc, bolt11, unit, &q, e)) != MINT_OK)
		return rc;
	if (q.amount > INT64_MAX / 4000 || q.fee_reserve > INT64_MAX / 4000) {
		mint_quote_free(&q);
		return mint_error_set(e, MINT_E_PROTOCOL, "absurd melt quote");
	}
	*need = ((int64_t)q.amount + (int64_t)q.fee_reserve +
	    (int64_t)((MAX_INPUTS_FEE * ppk + 999) / 1000)) * unit_msat(unit);
	mint_quote_free(&q);
	return MINT_OK;
}

/* Routstr's first guess at what Lightning costs: 1 % (at least 2 sats),
 * plus 1 sat. */
static int64_t
fee_guess(int64_t budget)
{
	int64_t sats = budget / 1000, pct = (sats + 99) / 100;

	return ((pct > 2 ? pct : 2) + 1) * 1000;
}

/* An invoice from destination whose melt at mint fits in budget msat: a
 * bolt11 given as destination is taken as it is (its amount rules);
 * otherwise the LNURL server is asked for budget less the fees, and asked
 * again for less when the mint's quote is dearer. FUNDS_OK with *bolt11
 * (new) and *inv_msat; FUNDS_TOO_SMALL, FUNDS_RECIPIENT (out->why),
 * FUNDS_MINT. */
static enum funds_status
invoice_within(const struct funds_ctx *fc, const char *destination, const char *mint,
    const char *unit, int64_t budget, char **bolt11, int64_t *inv_msat, struct lnout_result *out)
{
	bool http = conf_bool(conf_get(), CONF_LNURL_ALLOW_HTTP);
	struct lnurl_error le;
	char url[LNURL_URL_MAX + 1];
	int64_t want, need = 0, amt = 0;
	enum mint_err me;
	int tries;

	*bolt11 = NULL;
	*inv_msat = 0;
	if (lnurl_bolt11_amount(destination, &amt) == 1) {
		me = melt_need(fc, mint, unit, destination, &need, &out->me);
		if (me != MINT_OK) {
			out->mint = me;
			return FUNDS_MINT;
		}
		if (need > budget)
			return FUNDS_NOTHING;
		*bolt11 = xstrdup(destination);
		*inv_msat = amt;
		return FUNDS_OK;
	}
	if (lnurl_resolve(destination, http, url, sizeof(url)) != 0) {
		snprintf(out->why, sizeof(out->why), "not a Lightning address, LNURL or invoice");
		return FUNDS_RECIPIENT;
	}
	want = budget - fee_guess(budget);
	for (tries = 0; tries < 3; tries++) {
		want -= want % 1000;
		if (want < LNOUT_MIN_MSAT)
			return FUNDS_TOO_SMALL;
		memset(&le, 0, sizeof(le));
		if (lnurl_invoice(fc->up, url, http, want, NULL, bolt11, &le) != LNURL_OK) {
			snprintf(out->why, sizeof(out->why), "%s", le.message);
			return FUNDS_RECIPIENT;
		}
		me = melt_need(fc, mint, unit, *bolt11, &need, &out->me);
		if (me != MINT_OK) {
			free(*bolt11);
			*bolt11 = NULL;
			out->mint = me;
			return FUNDS_MINT;
		}
		if (need <= budget) {
			*inv_msat = want;
			return FUNDS_OK;
		}
		free(*bolt11);
		*bolt11 = NULL;
		want -= need - budget + 999;
	}
	return FUNDS_TOO_SMALL;
}

/* ------------------------------------------------------------ refunds */

/* The mint a key's refund is paid from: its refund mint while trusted,
 * else the primary. */
static void
refund_mint(const struct funds_ctx *fc, const struct ledger_key *key, const char **mint,
    const char **unit)
{
	struct wallet_ctx w;

	funds_wallet(fc, &w);
	*mint = key->refund_mint_url[0] && wallet_mint_trusted(&w, key->refund_mint_url) ?
	    key->refund_mint_url : primary_mint();
	*unit = strcmp(key->refund_currency, "msat") == 0 ? "msat" : "sat";
}

enum funds_status
lnout_refund(const struct funds_ctx *fc, const struct ledger_key *key, const char *destination,
    struct lnout_result *out)
{
	struct ledger_withdrawal wd;
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_melt_result res;
	const char *mint, *unit;
	char *bolt11 = NULL, ref[32], state[16];
	int64_t avail, budget, inv = 0, op = 0;
	enum funds_status fs;
	enum mint_err e;
	enum rerr re;

	memset(out, 0, sizeof(*out));
	if (key->parent[0])
		return FUNDS_INVALID;
	if (funds_recover_key(fc, key->hashed_key) != 0)
		return FUNDS_PENDING;
	if (key->reserved > 0)
		return FUNDS_BUSY;
	avail = ledger_available(key);
	budget = avail - avail % 1000;
	if (budget <= 0)
		return avail > 0 ? FUNDS_TOO_SMALL : FUNDS_NOTHING;
	refund_mint(fc, key, &mint, &unit);
	fs = invoice_within(fc, destination, mint, unit, budget, &bolt11, &inv, out);
	if (fs != FUNDS_OK)
		return fs == FUNDS_NOTHING ? FUNDS_TOO_SMALL : fs;
	re = ledger_withdraw_begin_ln(fc->db, key->hashed_key, budget, mint, unit, destination,
	    bolt11, fc->request_id, &wd);
	if (re != RERR_OK || wd.id == 0) {
		free(bolt11);
		return re == RERR_CONFLICT || (re == RERR_OK) ? FUNDS_BUSY :
		    re == RERR_INVALID ? FUNDS_INVALID : FUNDS_INTERNAL;
	}
	out->id = wd.id;
	out->debited_msat = budget;
	out->invoice_msat = inv;
	point("refund", "debited");

	funds_wallet_flow(fc, &w, "lnout-refund");
	snprintf(ref, sizeof(ref), "wd:%lld", (long long)wd.id);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = fc->request_id;
	meta.api_key_hash = key->hashed_key;
	meta.source = "ln-refund";
	meta.fund_ref = ref;
	meta.melt_max = (uint64_t)(budget / unit_msat(unit));
	e = wallet_melt_for(&w, mint, unit, bolt11, &meta, &res, &out->me);
	free(bolt11);
	if (e == MINT_OK) {
		point("refund", "melted");
		snprintf(out->preimage, sizeof(out->preimage), "%s", res.preimage);
	}
	if (wallet_op_find(&w, "melt", ref, NULL, &op, state) < 0)
		return FUNDS_INTERNAL;
	if (strcmp(state, "done") == 0) {
		if (ledger_withdraw_done_ln(fc->db, wd.id, &out->spent_msat, &out->back_msat) != RERR_OK)
			return FUNDS_INTERNAL;	/* recovery finishes it */
		log_info("lnout: refund %lld: %lld msat of %.8s paid to %.80s (%lld took, %lld back)",
		    (long long)wd.id, (long long)inv, key->hashed_key, destination,
		    (long long)out->spent_msat, (long long)out->back_msat);
		return FUNDS_OK;
	}
	if (strcmp(state, "prepared") == 0 || strcmp(state, "sent") == 0) {
		/* Dispatched, outcome unknown: the debit holds the value
		 * until recovery learns it. */
		ledger_withdraw_release(fc->db, wd.id);
		return FUNDS_UNCONFIRMED;
	}
	/* Never sent, or refused: nothing left the wallet. */
	if (ledger_withdraw_revert(fc->db, wd.id) != RERR_OK)
		return FUNDS_INTERNAL;
	out->mint = e;
	if (e == MINT_E_PAYMENT_FAILED || e == MINT_E_INVOICE_PAID || e == MINT_E_QUOTE_EXPIRED) {
		snprintf(out->why, sizeof(out->why), "the Lightning payment failed");
		return FUNDS_RECIPIENT;
	}
	return FUNDS_MINT;
}

int
lnout_finish_withdrawal(const struct funds_ctx *fc, struct wallet_ctx *w,
    const struct ledger_withdrawal *wd, bool *reverted)
{
	struct wallet_recover_stats st;
	struct mint_error me;
	char ref[32], state[16];
	int64_t op = 0;
	int found;

	*reverted = false;
	snprintf(ref, sizeof(ref), "wd:%lld", (long long)wd->id);
	found = wallet_op_find(w, "melt", ref, NULL, &op, state);
	/* Offline (start-up, no upstream handle): an open melt waits for
	 * cron, which may ask the mint. */
	if (found == 1 && fc->up && (strcmp(state, "prepared") == 0 || strcmp(state, "sent") == 0)) {
		memset(&me, 0, sizeof(me));
		wallet_recover_for(w, NULL, ref, NULL, &st, &me);
		found = wallet_op_find(w, "melt", ref, NULL, &op, state);
	}
	if (found < 0)
		return -1;
	if (found == 1 && (strcmp(state, "prepared") == 0 || strcmp(state, "sent") == 0))
		return 0;		/* in flight at the mint: later */
	if (found == 1 && strcmp(state, "done") == 0) {
		if (ledger_withdraw_done_ln(fc->db, wd->id, NULL, NULL) != RERR_OK)
			return 0;
		log_info("lnout: refund %lld finished by recovery: paid", (long long)wd->id);
		return 1;
	}
	if (ledger_withdraw_revert(fc->db, wd->id) != RERR_OK)
		return 0;
	*reverted = true;
	log_info("lnout: refund %lld finished by recovery: not paid, %lld msat back to %.8s",
	    (long long)wd->id, (long long)wd->amount_msat, wd->key_hash);
	return 1;
}

int
lnout_expired_refunds(const struct funds_ctx *fc, int *paid, int *failed)
{
	/* Least recently tried first; an address that failed waits its
	 * back-off (expiry_attempts), so bad ones cannot starve the rest. */
	static const char sql[] =
	    "SELECT k.hashed_key FROM api_keys k LEFT JOIN expiry_attempts a"
	    " ON a.key_hash = k.hashed_key WHERE k.parent_key_hash IS NULL"
	    " AND coalesce(k.refund_address, '') <> '' AND k.key_expiry_time IS NOT NULL"
	    " AND k.key_expiry_time < ?1 AND k.balance - k.reserved >= ?2 AND k.reserved = 0"
	    " AND coalesce(a.next_at, 0) <= ?1"
	    " ORDER BY coalesce(a.last_at, 0), k.key_expiry_time LIMIT ?3";
	static const char fail_sql[] =
	    "INSERT INTO expiry_attempts (key_hash, failures, last_at, next_at, last_error)"
	    " VALUES (?1, 1, ?2, ?2 + 60, ?3) ON CONFLICT (key_hash) DO UPDATE SET"
	    " failures = failures + 1, last_at = ?2,"
	    " next_at = ?2 + min(86400, 60 << min(failures, 11)), last_error = ?3";
	static const char ok_sql[] = "DELETE FROM expiry_attempts WHERE key_hash = ?1";
	char (*keys)[LEDGER_KEY_MAX + 1] = xcalloc(LNOUT_EXPIRY_BATCH, sizeof(*keys));
	sqlite3_stmt *st = db_stmt(fc->db, sql);
	struct ledger_key k;
	struct lnout_result r;
	enum funds_status fs;
	size_t n = 0, i;

	*paid = *failed = 0;
	if (st == NULL) {
		free(keys);
		return -1;
	}
	sqlite3_bind_int64(st, 1, wall_sec());
	sqlite3_bind_int64(st, 2, 5000);	/* below a few sats, fees eat it */
	sqlite3_bind_int64(st, 3, LNOUT_EXPIRY_BATCH);
	while (sqlite3_step(st) == SQLITE_ROW && n < LNOUT_EXPIRY_BATCH)
		snprintf(keys[n++], LEDGER_KEY_MAX + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		if (ledger_key_get(fc->db, keys[i], &k, NULL) != RERR_OK)
			continue;
		fs = lnout_refund(fc, &k, k.refund_address, &r);
		if ((st = db_stmt(fc->db, fs == FUNDS_OK ? ok_sql : fail_sql)) != NULL) {
			sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
			if (fs != FUNDS_OK) {
				sqlite3_bind_int64(st, 2, wall_sec());
				sqlite3_bind_text(st, 3, r.why[0] ? r.why : r.me.detail[0] ? r.me.detail :
				    funds_status_name(fs), -1, SQLITE_TRANSIENT);
			}
			sqlite3_step(st);
			sqlite3_reset(st);
		}
		if (fs == FUNDS_OK) {
			(*paid)++;
		} else {
			(*failed)++;
			log_warn("lnout: expired key %.8s: refund to %.80s: %s %s", keys[i],
			    k.refund_address, funds_status_name(fs), r.why[0] ? r.why : r.me.detail);
		}
	}
	free(keys);
	return *failed ? -1 : 0;
}

/* ------------------------------------------------------------ payouts */

int64_t
lnout_payable(const struct funds_ctx *fc, const char *mint, const char *unit)
{
	struct ledger_earnings rows[LEDGER_EARNINGS_MAX];
	struct ledger_books b;
	struct wallet_ctx w;
	int64_t here = 0, trusted = 0, free_all;
	size_t n = 0, i;

	if (ledger_earnings(fc->db, primary_mint(), rows, LEDGER_EARNINGS_MAX, &n) != RERR_OK ||
	    n == LEDGER_EARNINGS_MAX || ledger_books(fc->db, &b) != RERR_OK)
		return 0;
	funds_wallet(fc, &w);
	for (i = 0; i < n; i++) {
		if (!wallet_mint_trusted(&w, rows[i].mint))
			continue;
		trusted += rows[i].held;
		if (strcmp(rows[i].mint, mint) == 0 && strcmp(rows[i].unit, unit) == 0)
			here = rows[i].earned;
	}
	/* Both must hold after the payout: this mint keeps what its keys
	 * and open withdrawals are owed, and the trusted mints together keep
	 * every user's balance and every pending deposit (a key topped up at
	 * another mint than its refund mint is owed there too). */
	free_all = trusted - b.users - b.pending;
	if (free_all < here)
		here = free_all;
	return here > 0 ? here : 0;
}

/* Write the payout row, unless another is still open (one at a time, so
 * two never spend the same earnings). 0 and *id, 1 another is open, -1. */
static int
payout_begin(struct db *db, const char *trigger, const char *destination, const char *bolt11,
    const char *mint, const char *unit, int64_t amount, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO payouts (trigger, destination, bolt11, mint_url, unit, amount_msat, owner,"
	    " created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8"
	    " WHERE NOT EXISTS (SELECT 1 FROM payouts WHERE state = 'open')";
	sqlite3_stmt *st = db_stmt(db, sql);
	char me[OWNER_TAG_MAX];
	int rc;

	*id = 0;
	if (st == NULL || owner_self_tag(me) < 0)
		return -1;
	sqlite3_bind_text(st, 1, trigger, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, destination, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, bolt11, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, mint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, unit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, amount);
	sqlite3_bind_text(st, 7, me, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, wall_sec());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(db_handle(db)) != 1)
		return 1;
	*id = sqlite3_last_insert_rowid(db_handle(db));
	return 0;
}

/* Close payout id from its melt: paid (spent read from the operation),
 * failed, or left open (owner released) while in flight. 1 closed, 0 left,
 * -1 error. *paid: it was paid. */
static int
payout_close(const struct funds_ctx *fc, struct wallet_ctx *w, int64_t id, const char *error,
    bool *paid, int64_t *spent)
{
	static const char paid_sql[] =
	    "UPDATE payouts SET state = 'paid', owner = NULL, updated_at = ?2, spent_msat ="
	    " (SELECT ((SELECT coalesce(sum(json_extract(i.value, '$.amount')), 0)"
	    "   FROM json_each(x.inputs_json) i) - (SELECT coalesce(sum(p.amount), 0)"
	    "   FROM wallet_proofs p WHERE p.origin_operation_id = x.id))"
	    "   * (CASE x.unit WHEN 'msat' THEN 1 ELSE 1000 END)"
	    "   FROM mint_operations x WHERE x.id = ?3)"
	    " WHERE id = ?1 AND state = 'open' RETURNING spent_msat";
	static const char failed_sql[] =
	    "UPDATE payouts SET state = 'failed', owner = NULL, error = ?3, updated_at = ?2"
	    " WHERE id = ?1 AND state = 'open'";
	static const char release_sql[] =
	    "UPDATE payouts SET owner = NULL, updated_at = ?2 WHERE id = ?1 AND state = 'open'";
	sqlite3_stmt *st;
	char ref[32], state[16];
	int64_t op = 0;
	int found, rc;

	*paid = false;
	snprintf(ref, sizeof(ref), "po:%lld", (long long)id);
	found = wallet_op_find(w, "melt", ref, NULL, &op, state);
	if (found < 0)
		return -1;
	if (found == 1 && (strcmp(state, "prepared") == 0 || strcmp(state, "sent") == 0)) {
		if ((st = db_stmt(fc->db, release_sql)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, wall_sec());
		sqlite3_step(st);
		sqlite3_reset(st);
		return 0;
	}
	if (found == 1 && strcmp(state, "done") == 0) {
		if ((st = db_stmt(fc->db, paid_sql)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, wall_sec());
		sqlite3_bind_int64(st, 3, op);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && spent)
			*spent = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		*paid = true;
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? 1 : -1;
	}
	if ((st = db_stmt(fc->db, failed_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, wall_sec());
	sqlite3_bind_text(st, 3, error ? error : "not paid", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 1 : -1;
}

enum funds_status
lnout_payout(const struct funds_ctx *fc, const char *destination, const char *mint,
    const char *unit, int64_t amount_msat, const char *trigger, struct lnout_result *out)
{
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_melt_result res;
	char *bolt11 = NULL, ref[32];
	int64_t payable, budget, inv = 0, id = 0, need = 0;
	enum funds_status fs;
	enum mint_err e;
	bool paid = false;
	int rc;

	memset(out, 0, sizeof(*out));
	mint = mint && *mint ? mint : primary_mint();
	unit = unit && *unit ? unit : primary_unit();
	funds_wallet(fc, &w);
	if (!wallet_mint_trusted(&w, mint) || amount_msat < 0)
		return FUNDS_INVALID;
	payable = lnout_payable(fc, mint, unit);
	budget = amount_msat > 0 ? amount_msat : payable;
	if (budget > payable || budget < LNOUT_MIN_MSAT)
		return FUNDS_NOTHING;
	budget -= budget % 1000;
	fs = invoice_within(fc, destination, mint, unit, budget, &bolt11, &inv, out);
	if (fs != FUNDS_OK)
		return fs;
	rc = payout_begin(fc->db, trigger, destination, bolt11, mint, unit, inv, &id);
	if (rc != 0) {
		free(bolt11);
		return rc > 0 ? FUNDS_PENDING : FUNDS_INTERNAL;
	}
	out->id = id;
	out->invoice_msat = inv;
	/* Earnings may have moved while the invoice was fetched (another
	 * payout finished): check again, now that no other can start. */
	if (melt_need(fc, mint, unit, bolt11, &need, &out->me) != MINT_OK ||
	    need > lnout_payable(fc, mint, unit)) {
		free(bolt11);
		payout_close(fc, &w, id, "earnings no longer cover it", &paid, NULL);
		return FUNDS_NOTHING;
	}
	point("payout", "begun");
	funds_wallet_flow(fc, &w, "lnout-payout");
	snprintf(ref, sizeof(ref), "po:%lld", (long long)id);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = fc->request_id;
	meta.source = "payout";
	meta.fund_ref = ref;
	meta.melt_max = (uint64_t)(lnout_payable(fc, mint, unit) / unit_msat(unit));
	e = wallet_melt_for(&w, mint, unit, bolt11, &meta, &res, &out->me);
	free(bolt11);
	if (e == MINT_OK) {
		point("payout", "melted");
		snprintf(out->preimage, sizeof(out->preimage), "%s", res.preimage);
	}
	rc = payout_close(fc, &w, id, e == MINT_OK ? NULL : out->me.detail, &paid, &out->spent_msat);
	if (rc < 0)
		return FUNDS_INTERNAL;
	if (rc == 0)
		return FUNDS_UNCONFIRMED;
	if (paid) {
		log_info("lnout: payout %lld (%s): %lld msat to %.80s, %lld left the wallet",
		    (long long)id, trigger, (long long)inv, destination, (long long)out->spent_msat);
		return FUNDS_OK;
	}
	out->mint = e;
	if (e == MINT_E_PAYMENT_FAILED) {
		snprintf(out->why, sizeof(out->why), "the Lightning payment failed");
		return FUNDS_RECIPIENT;
	}
	return FUNDS_MINT;
}

enum funds_status
lnout_payout_token(const struct funds_ctx *fc, const char *mint, const char *unit,
    int64_t amount_msat, char **token, struct lnout_result *out)
{
	static const char close_sql[] =
	    "UPDATE payouts SET state = ?2, spent_msat = ?3, error = ?4, owner = NULL,"
	    " updated_at = ?5 WHERE id = ?1 AND state = 'open'";
	struct wallet_ctx w;
	struct wallet_meta meta;
	sqlite3_stmt *st;
	char ref[32];
	int64_t id = 0, per;
	enum mint_err e;
	int rc;

	memset(out, 0, sizeof(*out));
	*token = NULL;
	mint = mint && *mint ? mint : primary_mint();
	unit = unit && *unit ? unit : primary_unit();
	per = unit_msat(unit);
	funds_wallet(fc, &w);
	if (!wallet_mint_trusted(&w, mint) || amount_msat <= 0 || amount_msat % per != 0)
		return FUNDS_INVALID;
	if (amount_msat > lnout_payable(fc, mint, unit))
		return FUNDS_NOTHING;
	/* A payouts row, so it is journaled and never runs beside another
	 * payout spending the same earnings. */
	rc = payout_begin(fc->db, "operator", "cashu token", "-", mint, unit, amount_msat, &id);
	if (rc != 0)
		return rc > 0 ? FUNDS_PENDING : FUNDS_INTERNAL;
	out->id = id;
	if (amount_msat > lnout_payable(fc, mint, unit)) {
		e = MINT_E_INSUFFICIENT;
		goto close;
	}
	snprintf(ref, sizeof(ref), "po:%lld", (long long)id);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = fc->request_id;
	meta.source = "admin";
	meta.fund_ref = ref;
	e = wallet_send(&w, mint, unit, (uint64_t)(amount_msat / per), &meta, token, NULL, &out->me);
close:
	if ((st = db_stmt(fc->db, close_sql)) == NULL)
		return FUNDS_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, e == MINT_OK ? "paid" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, e == MINT_OK ? amount_msat : 0);
	if (e == MINT_OK)
		sqlite3_bind_null(st, 4);
	else
		sqlite3_bind_text(st, 4, out->me.detail, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, wall_sec());
	sqlite3_step(st);
	sqlite3_reset(st);
	if (e == MINT_E_INSUFFICIENT && *token == NULL)
		return FUNDS_NOTHING;
	if (e != MINT_OK) {
		out->mint = e;
		return FUNDS_MINT;
	}
	out->spent_msat = amount_msat;
	log_info("lnout: payout %lld: a token of %lld msat at %s for the operator", (long long)id,
	    (long long)amount_msat, mint);
	return FUNDS_OK;
}

/* Finish the open payouts whose runner is gone or gave them up. */
static int
payouts_recover(const struct funds_ctx *fc, int *left)
{
	static const char sql[] =
	    "SELECT id, coalesce(owner, '') FROM payouts WHERE state = 'open' ORDER BY id LIMIT 50";
	sqlite3_stmt *st = db_stmt(fc->db, sql);
	struct wallet_recover_stats rs;
	struct wallet_ctx w;
	struct mint_error me;
	int64_t ids[50];
	char ref[32];
	size_t n = 0, i;
	bool paid;

	*left = 0;
	if (st == NULL)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW && n < 50) {
		const char *owner = (const char *)sqlite3_column_text(st, 1);

		if (owner && *owner && owner_tag_alive(owner) != 0) {
			(*left)++;	/* its runner is still at it */
			continue;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	funds_wallet(fc, &w);
	for (i = 0; i < n; i++) {
		snprintf(ref, sizeof(ref), "po:%lld", (long long)ids[i]);
		memset(&me, 0, sizeof(me));
		wallet_recover_for(&w, NULL, ref, NULL, &rs, &me);
		if (payout_close(fc, &w, ids[i], "not paid (recovered)", &paid, NULL) != 1)
			(*left)++;
	}
	return 0;
}

int
lnout_auto_payouts(const struct funds_ctx *fc, char *status, size_t n)
{
	const struct conf *c = conf_get();
	const char *to = conf_str(c, CONF_RECEIVE_LN_ADDRESS);
	int64_t min = conf_int(c, CONF_MIN_PAYOUT_SAT) * 1000, payable;
	const char *const *mints;
	struct lnout_result r;
	enum funds_status fs;
	size_t nm = 0, i, used = 0;
	int left = 0, rc = 0, paid = 0;
	char line[160];

	if (payouts_recover(fc, &left) < 0)
		rc = -1;
	if (*to == '\0') {
		snprintf(status, n, "payouts: RECEIVE_LN_ADDRESS is not set; %d open", left);
		return rc;
	}
	mints = conf_list(c, CONF_CASHU_MINTS, &nm);
	status[0] = '\0';
	for (i = 0; i <= nm; i++) {
		const char *mint = i == nm ? primary_mint() : mints[i];
		size_t k;
		bool seen = false;

		/* The primary is usually in CASHU_MINTS too: once. */
		for (k = 0; i == nm && k < nm; k++)
			if (strcmp(mints[k], mint) == 0)
				seen = true;
		if (seen || *mint == '\0')
			continue;
		payable = lnout_payable(fc, mint, primary_unit());
		if (payable <= min)
			continue;
		fs = lnout_payout(fc, to, mint, primary_unit(), 0, "auto", &r);
		if (fs == FUNDS_OK)
			paid++;
		else
			rc = -1;
		snprintf(line, sizeof(line), "%s%s: %s %lld msat", used ? "; " : "", mint,
		    funds_status_name(fs), (long long)(fs == FUNDS_OK ? r.invoice_msat : payable));
		if (used + strlen(line) < n) {
			memcpy(status + used, line, strlen(line) + 1);
			used += strlen(line);
		}
	}
	if (used == 0)
		snprintf(status, n, "payouts: nothing above %lld sat%s", (long long)(min / 1000),
		    left ? "; some still open" : "");
	return rc;
}
