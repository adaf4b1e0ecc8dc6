/* fxswap: see fxswap.h and docs/money.md ("Tokens of other mints"). */
#include "config.h"

#include "db_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cashu/mint.h"
#include "cashu/token.h"
#include "cashu/wallet.h"
#include "conf.h"
#include "fxswap.h"
#include "log.h"
#include "owner.h"
#include "util.h"

#define FX_BATCH 100

/* One fx_swaps row, copied out. */
struct fx_row {
	int64_t id;
	char token_hash[65];
	char key[LEDGER_KEY_MAX + 1];
	char source[32];
	struct ledger_limits lim;
	char foreign_mint[512];
	char foreign_unit[16];
	int64_t amount;
	char mint[512];
	char unit[16];
	char quote[128];
	char *bolt11;			/* owned */
	int64_t net;
	int64_t fee_reserve;
	char state[16];
	int64_t return_tx_id;
};

static void
row_free(struct fx_row *r)
{
	free(r->bolt11);
	r->bolt11 = NULL;
}

static int64_t
unit_msat(const char *unit)
{
	return strcmp(unit, "msat") == 0 ? 1 : 1000;
}

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", t ? (const char *)t : "");
}

#define ROW_COLS "id, token_hash, api_key_hash, source, balance_limit, balance_limit_reset," \
    " validity_date, foreign_mint, foreign_unit, amount, mint_url, unit, mint_quote, bolt11, net," \
    " fee_reserve, state, coalesce(return_tx_id, 0)"

/* Read the row of id (by_token: the live row of token hash key). RERR_OK,
 * RERR_NOT_FOUND or RERR_DB. */
static enum rerr
row_read(struct db *db, int64_t id, const char *token_hash, struct fx_row *r)
{
	static const char by_id[] = "SELECT " ROW_COLS " FROM fx_swaps WHERE id = ?1";
	static const char by_token[] = "SELECT " ROW_COLS " FROM fx_swaps"
	    " WHERE token_hash = ?2 AND state <> 'abandoned'";
	sqlite3_stmt *st = db_stmt(db, token_hash ? by_token : by_id);
	int rc;

	memset(r, 0, sizeof(*r));
	if (st == NULL)
		return RERR_DB;
	if (token_hash)
		sqlite3_bind_text(st, 2, token_hash, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? RERR_NOT_FOUND : RERR_DB;
	}
	r->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, r->token_hash, sizeof(r->token_hash));
	col_copy(st, 2, r->key, sizeof(r->key));
	col_copy(st, 3, r->source, sizeof(r->source));
	r->lim.has_limit = sqlite3_column_type(st, 4) != SQLITE_NULL;
	r->lim.balance_limit = sqlite3_column_int64(st, 4);
	r->lim.reset = ledger_reset_parse((const char *)sqlite3_column_text(st, 5));
	r->lim.has_validity = sqlite3_column_type(st, 6) != SQLITE_NULL;
	r->lim.validity_date = sqlite3_column_int64(st, 6);
	col_copy(st, 7, r->foreign_mint, sizeof(r->foreign_mint));
	col_copy(st, 8, r->foreign_unit, sizeof(r->foreign_unit));
	r->amount = sqlite3_column_int64(st, 9);
	col_copy(st, 10, r->mint, sizeof(r->mint));
	col_copy(st, 11, r->unit, sizeof(r->unit));
	col_copy(st, 12, r->quote, sizeof(r->quote));
	r->bolt11 = xstrdup((const char *)sqlite3_column_text(st, 13));
	r->net = sqlite3_column_int64(st, 14);
	r->fee_reserve = sqlite3_column_int64(st, 15);
	col_copy(st, 16, r->state, sizeof(r->state));
	r->return_tx_id = sqlite3_column_int64(st, 17);
	sqlite3_reset(st);
	return RERR_OK;
}

/* Move the row from state `from` to `to` (compare-and-set): 1 moved, 0 it
 * was not in `from`, -1 error. */
static int
row_move(struct db *db, struct fx_row *r, const char *to, const char *error)
{
	static const char sql[] =
	    "UPDATE fx_swaps SET state = ?3, error = coalesce(?4, error), updated_at = ?5"
	    " WHERE id = ?1 AND state = ?2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_text(st, 2, r->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	if (error)
		sqlite3_bind_text(st, 4, error, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, wall_sec());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(db_handle(db)) != 1)
		return 0;
	snprintf(r->state, sizeof(r->state), "%s", to);
	return 1;
}

/* One runner per swap: take the row's lease when it is free or its runner's
 * process is gone (compare-and-set on what was read). 1 taken, 0 another
 * runs it, -1 error. */
static int
claim(struct db *db, int64_t id)
{
	static const char get_sql[] =
	    "SELECT running_until, coalesce(runner, '') FROM fx_swaps WHERE id = ?1";
	static const char take_sql[] =
	    "UPDATE fx_swaps SET running_until = ?2, runner = ?3"
	    " WHERE id = ?1 AND running_until = ?4 AND coalesce(runner, '') = ?5";
	sqlite3_stmt *st;
	char me[OWNER_TAG_MAX], held[OWNER_TAG_MAX] = "";
	int64_t until = 0, now = wall_sec();
	int rc;

	if (owner_self_tag(me) < 0 || (st = db_stmt(db, get_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		until = sqlite3_column_int64(st, 0);
		col_copy(st, 1, held, sizeof(held));
	}
	sqlite3_reset(st);
	if (until > now && *held && (strcmp(held, me) == 0 || owner_tag_alive(held) != 0))
		return 0;
	if ((st = db_stmt(db, take_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now + FX_LEASE_S);
	sqlite3_bind_text(st, 3, me, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, until);
	sqlite3_bind_text(st, 5, held, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db_handle(db)) == 1;
}

static void
unclaim(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE fx_swaps SET running_until = 0, runner = NULL WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_step(st);
	sqlite3_reset(st);
}

/* ------------------------------------------------------------ quoting */

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

static unsigned
popcount64(uint64_t v)
{
	unsigned n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* The input fee of n proofs at fee_ppk, as NUT-02 rounds it (up). */
static uint64_t
input_fee(uint64_t n, uint64_t ppk)
{
	return (n * ppk + 999) / 1000;
}

/* The highest input_fee_ppk of the foreign mint's keysets in unit: what
 * its input fees cost at most. */
static enum mint_err
foreign_fee_ppk(struct mint_client *mc, const char *unit, uint64_t *ppk, struct mint_error *e)
{
	struct mint_keyset *ks = NULL;
	size_t n = 0, i;
	enum mint_err rc;

	*ppk = 0;
	if ((rc = mint_get_keysets(mc, &ks, &n, e)) != MINT_OK)
		return rc;
	for (i = 0; i < n; i++)
		if (strcmp(ks[i].unit, unit) == 0 && ks[i].input_fee_ppk > *ppk)
			*ppk = ks[i].input_fee_ppk;
	mint_keysets_free(ks, n);
	return MINT_OK;
}

/* What a token of amount (foreign unit, nproofs proofs) is worth at the
 * primary mint after the foreign mint's fees, when `less` more primary
 * units are held back: the amount to ask a mint quote for. The Lightning
 * fee reserve comes from a melt quote on an invoice of the first estimate.
 * 0 with *net (0 when the fees eat it); a mint error otherwise (the token
 * is untouched). */
static enum mint_err
estimate(const struct funds_ctx *fc, struct mint_client *fm, const char *funit, uint64_t amount,
    size_t nproofs, int64_t less, int64_t *net, int64_t *fee_reserve, struct mint_error *e)
{
	struct wallet_ctx w;
	struct mint_quote mq, lq;
	uint64_t ppk, fees, left;
	int64_t pu = unit_msat(primary_unit()), fu = unit_msat(funit), gross;
	enum mint_err rc;

	*net = *fee_reserve = 0;
	memset(&mq, 0, sizeof(mq));
	memset(&lq, 0, sizeof(lq));
	if ((rc = foreign_fee_ppk(fm, funit, &ppk, e)) != MINT_OK)
		return rc;
	/* The receive swap's fee on the token's proofs, and the melt's on
	 * the proofs it gives (one per bit of what is left). */
	fees = input_fee(nproofs, ppk);
	if (fees >= amount)
		return MINT_OK;
	left = amount - fees;
	fees += input_fee(popcount64(left), ppk);
	if (fees >= amount)
		return MINT_OK;
	gross = (int64_t)(amount - fees) * fu / pu;
	if (gross <= 0)
		return MINT_OK;
	funds_wallet(fc, &w);
	if ((rc = wallet_mint_quote(&w, primary_mint(), primary_unit(), (uint64_t)gross, &mq,
	    e)) != MINT_OK)
		return rc;
	rc = mint_melt_quote(fm, mq.request, funit, &lq, e);
	if (rc == MINT_OK && lq.fee_reserve >= amount - fees)
		rc = MINT_OK;		/* the fees eat the token: *net stays 0 */
	else if (rc == MINT_OK) {
		*fee_reserve = (int64_t)lq.fee_reserve;
		/* What the quote's amount and reserve take, in primary units,
		 * rounded so the melt is always covered. */
		*net = ((int64_t)(amount - fees) - (int64_t)lq.fee_reserve) * fu / pu - less;
		if (*net < 0)
			*net = 0;
	}
	mint_quote_free(&mq);
	mint_quote_free(&lq);
	return rc;
}

/* ------------------------------------------------------------ the steps */

/* A fresh mint quote for r->net at the primary mint, written on the row in
 * place of the old one (only while the value is still ours to route: state
 * received). 0, or -1 (*e says why). */
static int
requote(const struct funds_ctx *fc, struct fx_row *r, struct mint_error *e)
{
	static const char sql[] =
	    "UPDATE fx_swaps SET mint_quote = ?2, bolt11 = ?3, net = ?4, updated_at = ?5"
	    " WHERE id = ?1 AND state = 'received'";
	struct wallet_ctx w;
	struct mint_quote q;
	sqlite3_stmt *st;
	int ok = -1;

	funds_wallet(fc, &w);
	if (wallet_mint_quote(&w, r->mint, r->unit, (uint64_t)r->net, &q, e) != MINT_OK)
		return -1;
	if ((st = db_stmt(fc->db, sql)) != NULL) {
		sqlite3_bind_int64(st, 1, r->id);
		sqlite3_bind_text(st, 2, q.quote, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, q.request, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r->net);
		sqlite3_bind_int64(st, 5, wall_sec());
		if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db_handle(fc->db)) == 1) {
			snprintf(r->quote, sizeof(r->quote), "%s", q.quote);
			free(r->bolt11);
			r->bolt11 = xstrdup(q.request);
			ok = 0;
		}
		sqlite3_reset(st);
	}
	mint_quote_free(&q);
	return ok;
}

static uint64_t received(struct db *db, int64_t id);

/* What a step found. */
enum step { STEP_NEXT, STEP_WAIT, STEP_FAILED, STEP_ERROR };

/* Tests kill a swap at each point of each step: the wallet's points of
 * the receive, melt and mint ("fx-receive-sent", ...), and
 * "fx-<step>-done" once a step's wallet work is done but before the row
 * says so. The wallet for a step takes any mint: the foreign one is not
 * trusted. */
static void
fx_wallet(const struct funds_ctx *fc, struct wallet_ctx *w, const char *flow)
{
	funds_wallet_flow(fc, w, flow);
	w->allow_untrusted = true;
}

/* quoted -> received: the token's proofs become the wallet's at the
 * foreign mint. token NULL (recovery): only an earlier receive is looked
 * for. STEP_FAILED when the token was not taken (the row is abandoned,
 * *me says why). */
static enum step
step_receive(const struct funds_ctx *fc, struct fx_row *r, const char *token,
    const char *request_id, struct mint_error *me)
{
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_receipt rec;
	struct wallet_recover_stats st;
	struct mint_error scratch;
	char ref[32];
	int64_t tx = 0;
	int attempt;
	enum mint_err e = MINT_E_INTERRUPTED;

	fx_wallet(fc, &w, "fx-receive");
	snprintf(ref, sizeof(ref), "fx:%lld", (long long)r->id);
	mint_error_set(me, MINT_E_INTERRUPTED, "the swap stopped before the token was taken");
	for (attempt = 0; attempt < 2; attempt++) {
		if (token && (attempt == 0 || e == MINT_E_SPENT || e == MINT_E_PENDING)) {
			memset(&meta, 0, sizeof(meta));
			meta.request_id = request_id;
			meta.source = "fx-swap";	/* no key: credited after the swap */
			meta.fund_ref = ref;
			meta.units = funds_units;
			memset(me, 0, sizeof(*me));
			e = wallet_receive_token(&w, token, &meta, &rec, me);
			if (e == MINT_OK) {
				funds_crash_at("fx-receive", "done");
				return row_move(fc->db, r, "received", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
			}
		}
		/* An earlier receive of ours (a dead runner's): finish it and
		 * look for its receipt. */
		memset(&scratch, 0, sizeof(scratch));
		wallet_recover_for(&w, r->token_hash, NULL, NULL, &st, &scratch);
		if (wallet_tx_by_fund_ref(&w, ref, &tx) == 1)
			return row_move(fc->db, r, "received", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
		if (wallet_op_open(&w, r->token_hash, NULL, NULL) != 0)
			return STEP_WAIT;
		/* Nothing of ours holds the proofs now: with the token in hand,
		 * a refusal that came from our own dead operation is worth one
		 * more try. */
		if (token == NULL || (e != MINT_E_SPENT && e != MINT_E_PENDING))
			break;
	}
	if (e == MINT_E_ALREADY_REDEEMED)
		/* Redeemed by the wallet outside this swap: not ours to route. */
		mint_error_set(me, MINT_E_ALREADY_REDEEMED, "token already redeemed");
	log_info("fxswap %lld: token not taken (%s), abandoned", (long long)r->id, me->detail);
	if (row_move(fc->db, r, "abandoned", me->detail) < 0)
		return STEP_ERROR;
	return STEP_FAILED;
}

/* Whether the primary mint's quote of the swap is paid: the primary is
 * trusted, the foreign mint is not, so this, not the foreign mint's word,
 * says whether the Lightning leg happened. 1 paid (or issued), 0 unpaid,
 * -1 unknown (the primary did not answer). */
static int
primary_paid(const struct funds_ctx *fc, const struct fx_row *r)
{
	struct mint_client mc;
	struct mint_quote q;
	struct mint_error e;
	int paid = -1;

	memset(&q, 0, sizeof(q));
	memset(&e, 0, sizeof(e));
	if (mint_client_init(&mc, fc->up, r->mint) != 0 ||
	    mint_mint_quote_state(&mc, r->quote, &q, &e) != MINT_OK)
		return -1;
	if (q.state == MINT_QUOTE_PAID || q.state == MINT_QUOTE_ISSUED)
		paid = 1;
	else if (q.state == MINT_QUOTE_UNPAID)
		paid = 0;
	mint_quote_free(&q);
	return paid;
}

/* received -> melted: the proofs at the foreign mint pay the primary mint's
 * invoice. STEP_FAILED when Lightning failed for good (the value is still
 * in the wallet: give it back). */
static enum step
step_melt(const struct funds_ctx *fc, struct fx_row *r, const char *request_id,
    struct mint_error *me)
{
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_melt_result res;
	struct wallet_recover_stats st;
	struct mint_error scratch;
	char ref[32], state[16];
	int64_t op = 0;
	int tries, found;
	enum mint_err e;

	fx_wallet(fc, &w, "fx-melt");
	snprintf(ref, sizeof(ref), "fx:%lld", (long long)r->id);
	for (tries = 0; tries < FX_QUOTE_TRIES; tries++) {
		found = wallet_op_find(&w, "melt", ref, NULL, &op, state);
		if (found < 0)
			return STEP_ERROR;
		if (found == 1 && (strcmp(state, "prepared") == 0 || strcmp(state, "sent") == 0)) {
			memset(&scratch, 0, sizeof(scratch));
			wallet_recover_for(&w, NULL, ref, NULL, &st, &scratch);
			found = wallet_op_find(&w, "melt", ref, NULL, &op, state);
			if (found != 1 || strcmp(state, "prepared") == 0 || strcmp(state, "sent") == 0)
				return STEP_WAIT;	/* in flight, or its runner is alive */
		}
		if (found == 1 && strcmp(state, "done") == 0)
			return row_move(fc->db, r, "melted", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
		/* None yet, or the last one failed: melt (again). */
		memset(&meta, 0, sizeof(meta));
		meta.request_id = request_id;
		meta.source = "fx-swap";
		meta.fund_ref = ref;
		memset(me, 0, sizeof(*me));
		e = wallet_melt_for(&w, r->foreign_mint, r->foreign_unit, r->bolt11, &meta, &res, me);
		if (e == MINT_OK)
			funds_crash_at("fx-melt", "done");
		if (e == MINT_OK)
			return row_move(fc->db, r, "melted", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
		if (e == MINT_E_PENDING || e == MINT_E_INTERRUPTED)
			return STEP_WAIT;
		found = wallet_op_find(&w, "melt", ref, NULL, &op, state);
		if (found == 1 && strcmp(state, "done") == 0)
			return row_move(fc->db, r, "melted", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
		if (found == 1 && strcmp(state, "failed") != 0 && op == res.op_id && op != 0)
			return STEP_WAIT;	/* sent, answer lost: recovery settles it */
		/* Whatever the foreign mint answered, an earlier melt of this
		 * swap may have paid the quote: the primary mint says. */
		switch (primary_paid(fc, r)) {
		case 1:
			return row_move(fc->db, r, "melted", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
		case -1:
			return STEP_WAIT;
		default:
			break;
		}
		if (e == MINT_E_INSUFFICIENT || e == MINT_E_UNBALANCED) {
			/* The fees came out higher than quoted: route less,
			 * on a new invoice, by what was missing (rounded up
			 * to the primary unit). */
			int64_t held = (int64_t)received(fc->db, r->id);
			int64_t miss;

			/* Numbers from an untrusted mint: bounded before any
			 * arithmetic (a reserve above the token is absurd). */
			if (res.amount > (uint64_t)r->amount || res.fee_reserve > (uint64_t)r->amount ||
			    res.input_fee > (uint64_t)r->amount)
				return STEP_FAILED;
			miss = (int64_t)res.amount + (int64_t)res.fee_reserve +
			    (int64_t)res.input_fee + 1 - held;
			int64_t fu = unit_msat(r->foreign_unit), pu = unit_msat(r->unit);

			if (miss < 1)
				miss = 1;
			r->net -= (miss * fu + pu - 1) / pu;
			if (r->net <= 0 || requote(fc, r, me) != 0)
				return STEP_FAILED;
			continue;
		}
		if (e == MINT_E_PAYMENT_FAILED || e == MINT_E_INVOICE_PAID ||
		    e == MINT_E_QUOTE_EXPIRED || e == MINT_E_REJECTED || e == MINT_E_AMOUNT_LIMIT)
			return STEP_FAILED;
		return STEP_WAIT;	/* unreachable or busy: the next run tries again */
	}
	return STEP_FAILED;
}

/* melted -> minted: the primary mint's proofs for the quote. */
static enum step
step_mint(const struct funds_ctx *fc, struct fx_row *r, struct mint_error *me)
{
	struct wallet_ctx w;
	struct wallet_receipt rec;
	char state[16];
	int64_t op = 0;
	int found;

	fx_wallet(fc, &w, "fx-mint");
	found = wallet_op_find(&w, "mint", NULL, r->quote, &op, state);
	if (found < 0)
		return STEP_ERROR;
	if (found == 1 && strcmp(state, "done") != 0 && strcmp(state, "failed") != 0) {
		/* A dead runner's mint: restore its outputs (NUT-09) now; a
		 * live runner's is left alone by the wallet's recovery. */
		struct wallet_recover_stats st;
		struct mint_error scratch;

		memset(&scratch, 0, sizeof(scratch));
		wallet_recover_quote(&w, r->quote, &st, &scratch);
		found = wallet_op_find(&w, "mint", NULL, r->quote, &op, state);
		if (found != 1 || (strcmp(state, "done") != 0 && strcmp(state, "failed") != 0))
			return STEP_WAIT;
	}
	if (found == 0 || strcmp(state, "failed") == 0) {
		if (wallet_mint_proofs(&w, r->mint, r->unit, (uint64_t)r->net, r->quote, &rec,
		    me) != MINT_OK) {
			found = wallet_op_find(&w, "mint", NULL, r->quote, &op, state);
			if (found != 1 || strcmp(state, "done") != 0) {
				log_warn("fxswap %lld: not minted yet: %s", (long long)r->id, me->detail);
				return STEP_WAIT;
			}
		}
		funds_crash_at("fx-mint", "done");
	}
	return row_move(fc->db, r, "minted", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
}

/* minted -> credited: net to the key, once. */
static enum step
step_credit(const struct funds_ctx *fc, struct fx_row *r, bool *now)
{
	char src[48], ref[48];
	bool created;
	enum rerr e;

	snprintf(src, sizeof(src), "fx-in:%lld", (long long)r->id);
	snprintf(ref, sizeof(ref), "fx:%lld", (long long)r->id);
	e = funds_credit(fc, r->key, r->net * unit_msat(r->unit), src, ref, r->mint, r->unit,
	    &r->lim, &created, now);
	if (e != RERR_OK) {
		log_error("fxswap %lld: minted but not credited: %s; recovery will", (long long)r->id,
		    rerr_name(e));
		return STEP_ERROR;
	}
	funds_crash_at("fx-credit", "done");
	return row_move(fc->db, r, "credited", NULL) < 0 ? STEP_ERROR : STEP_NEXT;
}

/* What the receive swap of swap id left in the wallet (its face value less
 * the fee): 0 when there is no such receipt. */
static uint64_t
received(struct db *db, int64_t id)
{
	static const char sql[] =
	    "SELECT amount - fee FROM cashu_transactions WHERE direction = 'in' AND fund_ref = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	char ref[32];
	int64_t v = 0;

	if (st == NULL)
		return 0;
	snprintf(ref, sizeof(ref), "fx:%lld", (long long)id);
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v > 0 ? (uint64_t)v : 0;
}

/* received (Lightning failed for good) -> returned: the value as a token
 * of the foreign mint, stored before it is shown. */
static enum step
step_return(const struct funds_ctx *fc, struct fx_row *r, struct mint_error *me)
{
	static const char sql[] =
	    "UPDATE fx_swaps SET state = 'returned', return_tx_id = ?2, updated_at = ?3"
	    " WHERE id = ?1 AND state = 'received'";
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_balance *bal = NULL;
	sqlite3_stmt *st;
	char ref[32], *tok = NULL;
	uint64_t held = 0;
	size_t nb = 0, i;
	int64_t tx = 0;
	int rc;

	fx_wallet(fc, &w, "fx-return");
	snprintf(ref, sizeof(ref), "fxr:%lld", (long long)r->id);
	/* coverity/readers: the block below makes the token once; a runner
	 * that died after wallet_send finds it by its fund_ref. */
	if (wallet_tx_by_fund_ref(&w, ref, &tx) != 1) {
		/* What the receive gave (its value net of the swap fee), as
		 * far as the wallet still holds it at that mint (a failed melt
		 * released its inputs). */
		uint64_t amount = received(fc->db, r->id);

		if (amount == 0)
			return STEP_ERROR;
		if (wallet_balance(&w, &bal, &nb) == MINT_OK)
			for (i = 0; i < nb; i++)
				if (strcmp(bal[i].mint, r->foreign_mint) == 0 &&
				    strcmp(bal[i].unit, r->foreign_unit) == 0)
					held = bal[i].unspent;
		free(bal);
		amount = held < amount ? held : amount;
		memset(&meta, 0, sizeof(meta));
		meta.source = "fx-return";
		meta.fund_ref = ref;
		for (rc = 0; amount > 0 && rc < 4; rc++, amount--) {
			memset(me, 0, sizeof(*me));
			if (wallet_send(&w, r->foreign_mint, r->foreign_unit, amount, &meta, &tok, NULL,
			    me) == MINT_OK)
				break;
			if (me->kind != MINT_E_INSUFFICIENT && me->kind != MINT_E_TOO_SMALL)
				return STEP_WAIT;
		}
		free(tok);
		if (wallet_tx_by_fund_ref(&w, ref, &tx) != 1)
			return STEP_WAIT;
	}
	if ((st = db_stmt(fc->db, sql)) == NULL)
		return STEP_ERROR;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int64(st, 2, tx);
	sqlite3_bind_int64(st, 3, wall_sec());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return STEP_ERROR;
	if (sqlite3_changes(db_handle(fc->db)) != 1)
		return STEP_WAIT;	/* another runner moved it on: its outcome stands */
	snprintf(r->state, sizeof(r->state), "returned");
	r->return_tx_id = tx;
	log_warn("fxswap %lld: Lightning failed; value returned as a token of %s", (long long)r->id,
	    r->foreign_mint);
	return STEP_NEXT;
}

/* Drive a claimed row as far as it goes. *credited_now: this run made the
 * credit. The row's state afterwards says where it stopped. */
static enum step
run(const struct funds_ctx *fc, struct fx_row *r, const char *token, bool *credited_now,
    struct mint_error *me)
{
	enum step s = STEP_NEXT;

	*credited_now = false;
	while (s == STEP_NEXT) {
		if (strcmp(r->state, "quoted") == 0)
			s = step_receive(fc, r, token, fc->request_id, me);
		else if (strcmp(r->state, "received") == 0) {
			s = step_melt(fc, r, fc->request_id, me);
			if (s == STEP_FAILED)
				s = step_return(fc, r, me) == STEP_NEXT ? STEP_FAILED : STEP_WAIT;
		} else if (strcmp(r->state, "melted") == 0)
			s = step_mint(fc, r, me);
		else if (strcmp(r->state, "minted") == 0)
			s = step_credit(fc, r, credited_now);
		else
			break;		/* credited, returned, abandoned */
	}
	return s;
}

/* ------------------------------------------------------------ entry points */

static enum rerr
row_insert(struct db *db, const char *hash, const char *key, const char *source,
    const struct ledger_limits *lim, const struct cashu_token *t, const struct mint_quote *q,
    int64_t net, int64_t fee_reserve, const char *request_id, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO fx_swaps (token_hash, api_key_hash, source, balance_limit,"
	    " balance_limit_reset, validity_date, foreign_mint, foreign_unit, amount, mint_url, unit,"
	    " mint_quote, bolt11, net, fee_reserve, request_id, created_at, updated_at,"
	    " running_until, runner)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17,"
	    " ?17 + ?18, ?19)";
	sqlite3_stmt *st = db_stmt(db, sql);
	char me[OWNER_TAG_MAX];
	int rc;

	if (st == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
	if (lim && lim->has_limit) {
		sqlite3_bind_int64(st, 4, lim->balance_limit);
		sqlite3_bind_text(st, 5, ledger_reset_name(lim->reset), -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 4);
		sqlite3_bind_null(st, 5);
	}
	if (lim && lim->has_validity)
		sqlite3_bind_int64(st, 6, lim->validity_date);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, t->mint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, t->unit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)t->total);
	sqlite3_bind_text(st, 10, primary_mint(), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, primary_unit(), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, q->quote, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, q->request, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, net);
	sqlite3_bind_int64(st, 15, fee_reserve);
	if (request_id)
		sqlite3_bind_text(st, 16, request_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 16);
	sqlite3_bind_int64(st, 17, wall_sec());
	/* Born leased to its creator, so cron cannot take (and abandon) a
	 * swap whose token only the creator holds. */
	sqlite3_bind_int64(st, 18, FX_LEASE_S);
	if (owner_self_tag(me) == 0)
		sqlite3_bind_text(st, 19, me, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 19);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return RERR_CONFLICT;
	if (rc != SQLITE_DONE)
		return RERR_DB;
	*id = sqlite3_last_insert_rowid(db_handle(db));
	return RERR_OK;
}

static int64_t
open_swaps(struct db *db)
{
	static const char sql[] = "SELECT count(*) FROM fx_swaps"
	    " WHERE state IN ('quoted', 'received', 'melted', 'minted')";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t n = 0;

	if (st == NULL)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* The outcome of row r for beneficiary, as funds_deposit reports it. */
static enum funds_status
report(const struct funds_ctx *fc, const struct fx_row *r, const char *beneficiary,
    enum step s, bool credited_now, bool fresh, const struct mint_error *me,
    struct funds_deposit *out)
{
	struct wallet_ctx w;
	uint64_t amount = 0;
	char unit[16];

	if (strcmp(r->state, "credited") == 0) {
		if (strcmp(r->key, beneficiary) != 0)
			return FUNDS_SPENT;
		out->swapped = true;
		out->again = !credited_now && !fresh;
		out->msat = credited_now || fresh ? r->net * unit_msat(r->unit) : 0;
		out->fee_msat = r->amount * unit_msat(r->foreign_unit) - r->net * unit_msat(r->unit);
		return FUNDS_OK;
	}
	if (strcmp(r->state, "returned") == 0) {
		if (strcmp(r->key, beneficiary) != 0)
			return FUNDS_SPENT;
		funds_wallet(fc, &w);
		wallet_tx_get(&w, r->return_tx_id, &out->returned, &amount, unit);
		out->mint = MINT_E_PAYMENT_FAILED;
		mint_error_set(&out->me, MINT_E_PAYMENT_FAILED,
		    "the token's mint could not pay the primary mint; its value was returned");
		return FUNDS_MINT;
	}
	if (strcmp(r->state, "abandoned") == 0 || s == STEP_FAILED) {
		out->mint = me && me->kind != MINT_OK ? me->kind : MINT_E_UNTRUSTED;
		if (me)
			out->me = *me;
		return FUNDS_MINT;
	}
	return s == STEP_ERROR ? FUNDS_INTERNAL : FUNDS_PENDING;
}

enum funds_status
fx_deposit(const struct funds_ctx *fc, const char *token, const char *beneficiary,
    const char *source, const struct ledger_limits *lim, struct funds_deposit *out)
{
	struct cashu_token t;
	struct mint_client fm;
	struct mint_quote q;
	struct mint_error me;
	struct fx_row r;
	struct wallet_ctx w;
	char hash[65];
	int64_t net = 0, reserve = 0, id = 0;
	enum funds_status fs;
	enum step s = STEP_WAIT;
	enum mint_err e;
	enum rerr re;
	bool now = false, fresh = false;
	int got;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	memset(&q, 0, sizeof(q));
	memset(&me, 0, sizeof(me));
	memset(&r, 0, sizeof(r));
	if (cashu_token_decode(token, strlen(token), &t) != CASHU_TOK_OK ||
	    !cashu_token_single_mint(&t)) {
		out->mint = mint_error_set(&out->me, MINT_E_TOKEN, "token does not decode");
		fs = FUNDS_MINT;
		goto done;
	}
	if (funds_to_msat(t.total, t.unit) < 0) {
		out->mint = mint_error_set(&out->me, MINT_E_UNIT, "tokens in unit '%.15s' are not "
		    "accepted", t.unit);
		fs = FUNDS_MINT;
		goto done;
	}
	wallet_token_hash(&t, hash);
	re = row_read(fc->db, 0, hash, &r);
	if (re == RERR_NOT_FOUND && open_swaps(fc->db) >= FX_OPEN_MAX) {
		/* Every foreign mint is someone's: a flood of swaps stuck at
		 * mints that never answer must not bury the node's recovery. */
		out->mint = mint_error_set(&out->me, MINT_E_RATE_LIMITED,
		    "too many foreign-mint swaps in progress; try again later");
		fs = FUNDS_MINT;
		goto done;
	}
	if (re == RERR_NOT_FOUND) {
		/* New: quote it without touching the token. */
		funds_wallet(fc, &w);
		if (mint_client_init(&fm, fc->up, t.mint) != 0) {
			out->mint = mint_error_set(&out->me, MINT_E_TOKEN, "token mint is not a URL");
			fs = FUNDS_MINT;
			goto done;
		}
		e = estimate(fc, &fm, t.unit, t.total, t.nproofs, 0, &net, &reserve, &out->me);
		if (e == MINT_OK && net <= 0)
			e = mint_error_set(&out->me, MINT_E_TOO_SMALL,
			    "the foreign mint's fees exceed the token's amount");
		if (e == MINT_OK)
			e = wallet_mint_quote(&w, primary_mint(), primary_unit(), (uint64_t)net, &q,
			    &out->me);
		if (e != MINT_OK) {
			out->mint = e;
			fs = FUNDS_MINT;
			goto done;
		}
		re = row_insert(fc->db, hash, beneficiary, source, lim, &t, &q, net, reserve,
		    fc->request_id, &id);
		if (re == RERR_OK) {
			fresh = true;
			funds_crash_point("fx-quoted");
			re = row_read(fc->db, id, NULL, &r);
		} else if (re == RERR_CONFLICT) {
			re = row_read(fc->db, 0, hash, &r);	/* another request won */
		}
	}
	if (re != RERR_OK) {
		fs = FUNDS_INTERNAL;
		goto done;
	}
	got = fresh ? 1 : claim(fc->db, r.id);	/* a fresh row is born ours */
	if (got < 0) {
		fs = FUNDS_INTERNAL;
		goto done;
	}
	if (got == 1) {
		s = run(fc, &r, token, &now, &me);
		unclaim(fc->db, r.id);
	} else if (strcmp(r.state, "credited") == 0 || strcmp(r.state, "returned") == 0 ||
	    strcmp(r.state, "abandoned") == 0) {
		s = STEP_NEXT;
	}
	fs = report(fc, &r, beneficiary, s, now, fresh, &me, out);
	if (fs == FUNDS_OK && out->msat > 0)
		log_info("fxswap %lld: %lld %s of %s credited as %lld msat to %.8s", (long long)r.id,
		    (long long)r.amount, r.foreign_unit, r.foreign_mint, (long long)out->msat,
		    r.key);
done:
	row_free(&r);
	mint_quote_free(&q);
	cashu_token_free(&t);
	return fs;
}

int
fx_recover(const struct funds_ctx *fc, int *finished, int *left)
{
	/* Least recently tried first, and each try is stamped: swaps stuck at
	 * a mint that never answers cannot starve the others. */
	static const char sql[] =
	    "SELECT id FROM fx_swaps WHERE state IN ('quoted', 'received', 'melted', 'minted')"
	    " ORDER BY updated_at, id LIMIT ?1";
	static const char touch_sql[] = "UPDATE fx_swaps SET updated_at = ?2 WHERE id = ?1";
	int64_t *ids = xcalloc(FX_BATCH, sizeof(*ids));
	sqlite3_stmt *st = db_stmt(fc->db, sql);
	struct mint_error me;
	struct fx_row r;
	size_t n = 0, i;
	bool now;
	int rc = 0, got;

	if (finished)
		*finished = 0;
	if (left)
		*left = 0;
	if (st == NULL) {
		free(ids);
		return -1;
	}
	sqlite3_bind_int64(st, 1, FX_BATCH);
	while (sqlite3_step(st) == SQLITE_ROW && n < FX_BATCH)
		ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (i = 0; i < n; i++) {
		if (row_read(fc->db, ids[i], NULL, &r) != RERR_OK) {
			rc = -1;
			continue;
		}
		got = claim(fc->db, r.id);
		if (got == 1) {
			memset(&me, 0, sizeof(me));
			run(fc, &r, NULL, &now, &me);
			unclaim(fc->db, r.id);
			if ((st = db_stmt(fc->db, touch_sql)) != NULL) {
				sqlite3_bind_int64(st, 1, r.id);
				sqlite3_bind_int64(st, 2, wall_sec());
				sqlite3_step(st);
				sqlite3_reset(st);
			}
		}
		if (got < 0)
			rc = -1;
		if (strcmp(r.state, "credited") == 0 || strcmp(r.state, "returned") == 0 ||
		    strcmp(r.state, "abandoned") == 0) {
			if (finished)
				(*finished)++;
		} else if (left) {
			(*left)++;
		}
		row_free(&r);
	}
	free(ids);
	return rc;
}
