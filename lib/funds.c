/* funds: see funds.h and docs/money.md ("Funds"). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cashu/wallet.h"
#include "conf.h"
#include "funds.h"
#include "fxswap.h"
#include "lnout.h"
#include "log.h"
#include "owner.h"
#include "util.h"

#define FUNDS_BATCH 200		/* rows recovered per pass */
#define FUNDS_WAIT_MS 3000	/* wait for a live redemption of the same token */

const char *const funds_units[] = { "sat", "msat", NULL };

static const char *const status_names[FUNDS__MAX] = {
	[FUNDS_OK] = "ok", [FUNDS_MINT] = "mint", [FUNDS_SPENT] = "spent",
	[FUNDS_PENDING] = "pending", [FUNDS_ZERO] = "zero", [FUNDS_BUSY] = "busy",
	[FUNDS_NOTHING] = "nothing", [FUNDS_TOO_SMALL] = "too_small",
	[FUNDS_INVALID] = "invalid", [FUNDS_INTERNAL] = "internal",
	[FUNDS_RECIPIENT] = "recipient", [FUNDS_UNCONFIRMED] = "unconfirmed",
};

const char *
funds_status_name(enum funds_status s)
{
	return (unsigned)s < FUNDS__MAX ? status_names[s] : "?";
}

const char *
funds_primary_mint(void)
{
	static _Thread_local char norm[512];
	const struct conf *c = conf_get();
	const char *const *mints;
	const char *url = "";
	size_t n;

	if (c && *conf_str(c, CONF_PRIMARY_MINT_URL))
		url = conf_str(c, CONF_PRIMARY_MINT_URL);
	else if (c && (mints = conf_list(c, CONF_CASHU_MINTS, &n)) != NULL && n > 0)
		url = mints[0];
	if (mint_url_normalize(url, norm, sizeof(norm)) != 0)
		norm[0] = '\0';
	return norm;
}

const char *
funds_primary_unit(void)
{
	const struct conf *c = conf_get();

	return c && strcmp(conf_str(c, CONF_PRIMARY_MINT_UNIT), "msat") == 0 ? "msat" : "sat";
}

int64_t
funds_to_msat(uint64_t amount, const char *unit)
{
	if (amount > (uint64_t)INT64_MAX / 1000)
		return -1;
	if (strcmp(unit, "sat") == 0)
		return (int64_t)amount * 1000;
	if (strcmp(unit, "msat") == 0)
		return (int64_t)amount;
	return -1;
}

/* ------------------------------------------------------------ crash points */

/* Tests kill the process at a named point of a money flow: the file named
 * by the TEST_CRASH_FILE setting holds the point's name; the first process
 * to reach it removes the file and dies with SIGKILL, as kill -9 would.
 * Unset (production), this costs one settings look-up per call. */
static void crash_point(const char *name);

static const char *
crash_file(void)
{
	const struct conf *c = conf_get();

	return c ? conf_str(c, CONF_TEST_CRASH_FILE) : "";
}

void
funds_crash_point(const char *name)
{
	const char *f = crash_file();
	char buf[64];
	FILE *fp;
	size_t n;

	if (f == NULL || *f == '\0' || (fp = fopen(f, "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (strcmp(buf, name) != 0 || unlink(f) != 0)
		return;
	log_warn("test: crash point %s reached, dying", name);
	raise(SIGKILL);
}

static void
crash_point(const char *name)
{
	funds_crash_point(name);
}

static int
wallet_crash_hook(void *ud, enum wallet_hook_point at, int64_t op_id)
{
	static const char *const names[WALLET_HOOK__MAX] = {
		[WALLET_HOOK_PREPARED] = "wallet-prepared",
		[WALLET_HOOK_SENT] = "wallet-sent",
		[WALLET_HOOK_ANSWERED] = "wallet-answered",
	};

	(void)ud;
	(void)op_id;
	crash_point(names[at]);
	return 0;
}

static void
wallet_for(const struct funds_ctx *fc, struct wallet_ctx *w)
{
	wallet_ctx_init(w, fc->db, fc->up);
	if (*crash_file())
		w->hook = wallet_crash_hook;
}

void
funds_wallet(const struct funds_ctx *fc, struct wallet_ctx *w)
{
	wallet_for(fc, w);
}

void
funds_crash_at(const char *flow, const char *at)
{
	char name[64];

	if (*crash_file() == '\0')
		return;
	snprintf(name, sizeof(name), "%s-%s", flow, at);
	funds_crash_point(name);
}

static int
flow_crash_hook(void *ud, enum wallet_hook_point at, int64_t op_id)
{
	static const char *const names[WALLET_HOOK__MAX] = {
		[WALLET_HOOK_PREPARED] = "prepared", [WALLET_HOOK_SENT] = "sent",
		[WALLET_HOOK_ANSWERED] = "answered",
	};

	(void)op_id;
	funds_crash_at(ud, names[at]);
	return 0;
}

void
funds_wallet_flow(const struct funds_ctx *fc, struct wallet_ctx *w, const char *flow)
{
	wallet_for(fc, w);
	if (w->hook) {
		w->hook = flow_crash_hook;
		w->hook_ud = (void *)flow;
	}
}

/* ---------------------------------------------------------------- deposit */

/* Credit receipt tx_id (worth msat) to key, creating the key with lim and
 * the receipt's mint and unit when it does not exist. *now: this call made
 * the credit; false with RERR_OK when it was made before (to whom:
 * ledger_receipt_credited). */
static enum rerr
credit_receipt(const struct funds_ctx *fc, int64_t tx_id, const char *key, int64_t msat,
    const char *mint, const char *unit, const struct ledger_limits *lim, bool *created,
    bool *now)
{
	char src[48], ref[48];

	snprintf(src, sizeof(src), "cashu-in:%lld", (long long)tx_id);
	snprintf(ref, sizeof(ref), "cashu-tx:%lld", (long long)tx_id);
	return funds_credit(fc, key, msat, src, ref, mint, unit, lim, created, now);
}

enum rerr
funds_credit(const struct funds_ctx *fc, const char *key, int64_t msat, const char *src,
    const char *ref, const char *mint, const char *unit, const struct ledger_limits *lim,
    bool *created, bool *now)
{
	struct ledger_key_new nk;
	struct ledger_key k, b;
	enum rerr e;

	*created = *now = false;
	e = ledger_key_get(fc->db, key, &k, &b);
	if (e == RERR_NOT_FOUND) {
		memset(&nk, 0, sizeof(nk));
		nk.hashed_key = key;
		nk.deposit_msat = msat;
		nk.deposit_ref = ref;
		nk.deposit_source = src;
		nk.refund_mint_url = mint && *mint ? mint : NULL;
		nk.refund_currency = unit && *unit ? unit : NULL;
		if (lim)
			nk.lim = *lim;
		e = ledger_key_create(fc->db, &nk, created);
		if (e == RERR_OK && *created) {
			*now = true;
			return RERR_OK;
		}
		if (e == RERR_CONFLICT)
			return RERR_OK;		/* the source was credited before */
		if (e != RERR_OK)
			return e;
		/* Created meanwhile by someone else: credit it below. */
	} else if (e != RERR_OK) {
		return e;
	}
	e = ledger_credit_src(fc->db, key, msat, LEDGER_TOPUP, ref, src, NULL);
	if (e == RERR_CONFLICT)
		return RERR_OK;
	if (e == RERR_OK)
		*now = true;
	return e;
}

/* The outcome of a receipt for beneficiary: credit its own beneficiary if
 * that was not done yet, then say whose it is. fresh: this call made the
 * receipt, so a credit found already made (recovery raced us) is still
 * this call's deposit, not a token presented again. */
static enum funds_status
settle_receipt(const struct funds_ctx *fc, const struct wallet_receipt *rec,
    const char *beneficiary, const struct ledger_limits *lim, bool fresh,
    struct funds_deposit *out)
{
	char owner[LEDGER_KEY_MAX + 1];
	/* A fresh receipt is this call's, for beneficiary; an earlier one
	 * names its own key. One that names no key is the node's (a foreign
	 * swap's proofs, a donation): never credited to whoever presents the
	 * same secrets again, whatever mint the token now claims. */
	const char *who = fresh ? beneficiary : rec->api_key_hash;
	int64_t msat = funds_to_msat(rec->credited, rec->unit);
	bool created = false, now = false;
	enum rerr e;

	if (who[0] == '\0')
		return FUNDS_SPENT;

	if (msat < 0) {
		out->mint = MINT_E_UNIT;
		mint_error_set(&out->me, MINT_E_UNIT, "unit %s is not accepted", rec->unit);
		return FUNDS_MINT;
	}
	if (msat == 0)
		return FUNDS_ZERO;
	crash_point("deposit-received");
	e = credit_receipt(fc, rec->tx_id, who, msat, rec->mint, rec->unit,
	    strcmp(who, beneficiary) == 0 ? lim : NULL, &created, &now);
	if (e != RERR_OK) {
		log_error("request %s: receipt %lld (%lld msat for %.8s) could not be credited: %s; "
		    "recovery will credit it", fc->request_id ? fc->request_id : "-",
		    (long long)rec->tx_id, (long long)msat, who, rerr_name(e));
		return FUNDS_INTERNAL;
	}
	if (!now && ledger_receipt_credited(fc->db, rec->tx_id, owner) == RERR_OK)
		who = owner;
	if (strcmp(who, beneficiary) != 0)
		return FUNDS_SPENT;
	out->created = created;
	out->again = !now && !fresh;
	out->msat = now || fresh ? msat : 0;
	return FUNDS_OK;
}

enum funds_status
funds_deposit(const struct funds_ctx *fc, const char *token, const char *beneficiary,
    const char *source, const struct ledger_limits *lim, struct funds_deposit *out)
{
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_receipt rec;
	struct wallet_recover_stats st;
	struct mint_error re;
	char hash[65];
	enum mint_err e;
	int waited, found;

	memset(out, 0, sizeof(*out));
	wallet_for(fc, &w);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = fc->request_id;
	meta.api_key_hash = beneficiary;
	meta.source = source;
	meta.units = funds_units;
	e = wallet_receive_token(&w, token, &meta, &rec, &out->me);
	if (e == MINT_OK || e == MINT_E_ALREADY_REDEEMED)
		return settle_receipt(fc, &rec, beneficiary, lim, e == MINT_OK, out);
	if (e == MINT_E_UNTRUSTED)	/* refused before any I/O: swap it in */
		return fx_deposit(fc, token, beneficiary, source, lim, out);
	if (e != MINT_E_SPENT && e != MINT_E_PENDING) {
		out->mint = e;
		return FUNDS_MINT;
	}
	/* The mint says the proofs are spent or pending. If the spender is one
	 * of our own operations, finish it (a dead process's) or wait for it
	 * (a live one's); else the token was spent elsewhere. */
	for (waited = 0;; waited += 100) {
		memset(&re, 0, sizeof(re));
		found = wallet_find_receipt(&w, token, &rec, hash);
		if (found == 1)
			return settle_receipt(fc, &rec, beneficiary, lim, false, out);
		if (found < 0)
			return FUNDS_INTERNAL;
		if (hash[0] == '\0')
			break;
		wallet_recover_for(&w, hash, NULL, NULL, &st, &re);
		if (wallet_find_receipt(&w, token, &rec, hash) == 1)
			return settle_receipt(fc, &rec, beneficiary, lim, false, out);
		if (st.live == 0 && st.left == 0)
			break;		/* none of ours: spent elsewhere */
		if (st.left > 0 || waited >= FUNDS_WAIT_MS)
			return FUNDS_PENDING;	/* unresolved at the mint, or still running */
		usleep(100 * 1000);
	}
	out->mint = e;
	return FUNDS_MINT;
}

void
funds_deposit_free(struct funds_deposit *d)
{
	free(d->returned);
	d->returned = NULL;
}

bool
funds_recover_token(const struct funds_ctx *fc, const char *token)
{
	struct wallet_ctx w;
	struct wallet_receipt rec;
	struct wallet_recover_stats st;
	struct mint_error me;
	struct funds_deposit d;
	char hash[65];
	int found;

	wallet_for(fc, &w);
	found = wallet_find_receipt(&w, token, &rec, hash);
	if (found == 0 && hash[0] && wallet_op_open(&w, hash, NULL, NULL) > 0) {
		memset(&me, 0, sizeof(me));
		wallet_recover_for(&w, hash, NULL, NULL, &st, &me);
		found = wallet_find_receipt(&w, token, &rec, hash);
	}
	if (found != 1 || rec.api_key_hash[0] == '\0')
		return false;
	memset(&d, 0, sizeof(d));
	return settle_receipt(fc, &rec, rec.api_key_hash, NULL, false, &d) == FUNDS_OK;
}

/* --------------------------------------------------------------- withdraw */

/* Finish withdrawal wd, whose runner is gone or gave up: done when its
 * token exists, else reverted. Only the runner stores a withdrawal's token,
 * so once it is gone no token can appear any more, whatever state the mint
 * operation is in: a send that recovery completes keeps every output in
 * the wallet. 1 finished, 0 left open (another finisher won), -1 error. */
static int
finish_withdrawal(const struct funds_ctx *fc, struct wallet_ctx *w,
    const struct ledger_withdrawal *wd, struct funds_recover_stats *rs)
{
	char ref[48];
	int64_t tx = 0;
	int found;

	if (strcmp(wd->method, "lightning") == 0) {
		bool reverted = false;
		int done = lnout_finish_withdrawal(fc, w, wd, &reverted);

		if (done == 1 && rs) {
			if (reverted)
				rs->withdrawals_reverted++;
			else
				rs->withdrawals_done++;
		}
		return done;
	}
	snprintf(ref, sizeof(ref), "wd:%lld", (long long)wd->id);
	found = wallet_tx_by_fund_ref(w, ref, &tx);
	if (found < 0)
		return -1;
	if (found == 1) {
		if (ledger_withdraw_done(fc->db, wd->id, tx) != RERR_OK)
			return 0;
		if (rs)
			rs->withdrawals_done++;
		return 1;
	}
	if (ledger_withdraw_revert(fc->db, wd->id) != RERR_OK)
		return 0;
	log_info("funds: withdrawal %lld of %lld msat from %.8s reverted (no token made)",
	    (long long)wd->id, (long long)wd->amount_msat, wd->key_hash);
	if (rs)
		rs->withdrawals_reverted++;
	return 1;
}

/* Finish the abandoned open withdrawals of key hash (NULL: all). Returns
 * how many are still open (live or unresolved), -1 on error. */
static int
recover_withdrawals(const struct funds_ctx *fc, struct wallet_ctx *w, const char *hash,
    struct funds_recover_stats *rs)
{
	struct ledger_withdrawal *rows = xcalloc(FUNDS_BATCH, sizeof(*rows));
	size_t n = 0, i;
	int open = 0;

	if (ledger_withdrawals_open(fc->db, hash, rows, FUNDS_BATCH, &n) != RERR_OK) {
		free(rows);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (owner_tag_alive(rows[i].owner) != 0) {
			open++;
			continue;
		}
		if (finish_withdrawal(fc, w, &rows[i], rs) < 0)
			open++;
	}
	free(rows);
	return open;
}

/* Resolve the abandoned mint operations that debited key (sends whose
 * runner gave up or died), so their proofs are free again. Best effort: a
 * mint still down leaves them for later. */
static void
recover_key_ops(struct wallet_ctx *w, const char *key)
{
	struct wallet_recover_stats st;
	struct mint_error me;

	memset(&me, 0, sizeof(me));
	if (wallet_op_open(w, NULL, NULL, key) > 0)
		wallet_recover_for(w, NULL, NULL, key, &st, &me);
}

/* Offer again the newest token of source that key has not redeemed. */
static enum funds_status
offer_again(const struct funds_ctx *fc, struct wallet_ctx *w, const char *key, const char *source,
    struct funds_withdrawal *out)
{
	struct ledger_withdrawal wd;
	struct mint_error me;
	uint64_t amount = 0;
	bool spent = false;

	while (ledger_withdraw_last(fc->db, key, source, &wd) == RERR_OK) {
		free(out->token);
		out->token = NULL;
		if (wallet_tx_get(w, wd.tx_id, &out->token, &amount, out->unit) != MINT_OK)
			return FUNDS_INTERNAL;
		memset(&me, 0, sizeof(me));
		/* The mint unreachable: offer it anyway, it is the holder's. */
		if (wallet_token_spent(w, out->token, &spent, &me) != MINT_OK || !spent) {
			out->msat = wd.amount_msat;
			out->again = true;
			return FUNDS_OK;
		}
		ledger_withdraw_collected(fc->db, wd.id);
	}
	free(out->token);
	out->token = NULL;
	return FUNDS_NOTHING;
}

static enum funds_status
withdraw(const struct funds_ctx *fc, const struct ledger_key *key, const char *source,
    bool free_only, struct funds_withdrawal *out)
{
	const struct conf *c = conf_get();
	struct ledger_withdrawal wd;
	struct ledger_key k, b;
	struct wallet_ctx w;
	struct wallet_meta meta;
	struct wallet_receipt rec;
	const char *mint, *unit;
	char ref[48];
	int64_t unit_msat;
	enum funds_status fs;
	enum mint_err mk;
	enum rerr e;
	int open;

	memset(out, 0, sizeof(*out));
	if (key->parent[0])
		return FUNDS_INVALID;
	wallet_for(fc, &w);
	/* The key's abandoned operations at the mint first (their proofs may
	 * be what this withdrawal needs), then its abandoned withdrawals. */
	recover_key_ops(&w, key->hashed_key);
	open = recover_withdrawals(fc, &w, key->hashed_key, NULL);
	if (open < 0)
		return FUNDS_INTERNAL;
	if (open > 0)
		return FUNDS_PENDING;
	/* Reservations of processes that died are settled first; live ones
	 * block the withdrawal. */
	ledger_sweep(fc->db, key->hashed_key, NULL);
	unit = key->refund_currency[0] ? key->refund_currency : conf_str(c, CONF_PRIMARY_MINT_UNIT);
	mint = key->refund_mint_url[0] ? key->refund_mint_url : conf_str(c, CONF_PRIMARY_MINT_URL);
	if (funds_to_msat(1, unit) < 0)
		unit = "sat";
	unit_msat = funds_to_msat(1, unit);
	snprintf(out->unit, sizeof(out->unit), "%s", unit);
	e = (free_only ? ledger_withdraw_begin_free : ledger_withdraw_begin)(fc->db,
	    key->hashed_key, unit_msat, mint, unit, source, fc->request_id, &wd);
	if (e == RERR_CONFLICT)
		return FUNDS_BUSY;
	if (e != RERR_OK)
		return e == RERR_INVALID ? FUNDS_INVALID : FUNDS_INTERNAL;
	if (wd.id == 0 && free_only)
		return FUNDS_NOTHING;
	if (wd.id == 0) {
		fs = offer_again(fc, &w, key->hashed_key, source, out);
		if (fs != FUNDS_NOTHING)
			return fs;
		if (ledger_key_get(fc->db, key->hashed_key, &k, &b) == RERR_OK &&
		    ledger_available(&b) > 0)
			return FUNDS_TOO_SMALL;
		return FUNDS_NOTHING;
	}
	crash_point("withdraw-debited");
	snprintf(ref, sizeof(ref), "wd:%lld", (long long)wd.id);
	memset(&meta, 0, sizeof(meta));
	meta.request_id = fc->request_id;
	meta.api_key_hash = key->hashed_key;
	meta.source = source;
	meta.fund_ref = ref;
	mk = wallet_send(&w, mint, unit, (uint64_t)(wd.amount_msat / unit_msat), &meta, &out->token,
	    &rec, &out->me);
	if (mk == MINT_OK) {
		crash_point("withdraw-made");
		/* If this fails the token stays stored and recovery marks it
		 * done by its fund_ref. */
		if (ledger_withdraw_done(fc->db, wd.id, rec.tx_id) != RERR_OK) {
			/* Released, so the next refund or cron marks it done
			 * at once rather than waiting for this process to end. */
			ledger_withdraw_release(fc->db, wd.id);
			log_error("request %s: withdrawal %lld made token %lld but is not marked done",
			    fc->request_id ? fc->request_id : "-", (long long)wd.id,
			    (long long)rec.tx_id);
		}
		out->msat = wd.amount_msat;
		return FUNDS_OK;
	}
	free(out->token);
	out->token = NULL;
	out->mint = mk;
	log_warn("request %s: withdrawal %lld failed: %s: %s", fc->request_id ? fc->request_id : "-",
	    (long long)wd.id, mint_err_name(mk), out->me.detail);
	/* No token was stored, so none can appear: the balance goes back now
	 * (the mint operation, if its outcome is unknown, is the wallet's to
	 * recover; its proofs stay counted in the books meanwhile). */
	if (finish_withdrawal(fc, &w, &wd, NULL) < 0) {
		ledger_withdraw_release(fc->db, wd.id);
		return FUNDS_INTERNAL;
	}
	return FUNDS_MINT;
}

enum funds_status
funds_withdraw(const struct funds_ctx *fc, const struct ledger_key *key, const char *source,
    struct funds_withdrawal *out)
{
	return withdraw(fc, key, source, false, out);
}

enum funds_status
funds_withdraw_free(const struct funds_ctx *fc, const struct ledger_key *key, const char *source,
    struct funds_withdrawal *out)
{
	return withdraw(fc, key, source, true, out);
}

/* ---------------------------------------------------------------- recover */

int
funds_recover_key(const struct funds_ctx *fc, const char *hash)
{
	struct wallet_ctx w;

	wallet_for(fc, &w);
	return recover_withdrawals(fc, &w, hash, NULL) == 0 ? 0 : -1;
}

int
funds_recover(const struct funds_ctx *fc, bool offline, struct funds_recover_stats *rs)
{
	struct funds_recover_stats scratch;
	struct ledger_receipt *rows = NULL;
	struct wallet_recover_stats st;
	struct wallet_ctx w;
	struct mint_error me;
	size_t n = 0, i;
	int rc = 0;

	if (rs == NULL)
		rs = &scratch;
	memset(rs, 0, sizeof(*rs));
	wallet_for(fc, &w);
	if (!offline) {
		memset(&st, 0, sizeof(st));
		memset(&me, 0, sizeof(me));
		if (wallet_recover(&w, 0, &st, &me) != MINT_OK)
			rc = -1;
		rs->ops_done = st.done;
		rs->ops_failed = st.failed;
		rs->ops_left = st.left;
	}
	rows = xcalloc(FUNDS_BATCH, sizeof(*rows));
	if (ledger_receipts_uncredited(fc->db, rows, FUNDS_BATCH, &n) != RERR_OK)
		rc = -1;
	for (i = 0; i < n; i++) {
		bool created, now;

		if (credit_receipt(fc, rows[i].tx_id, rows[i].key_hash, rows[i].msat, NULL, NULL, NULL,
		    &created, &now) == RERR_OK && now) {
			rs->credited++;
			log_info("funds: receipt %lld credited to %.8s (%lld msat) by recovery",
			    (long long)rows[i].tx_id, rows[i].key_hash, (long long)rows[i].msat);
		}
	}
	free(rows);
	if (recover_withdrawals(fc, &w, NULL, rs) < 0)
		rc = -1;
	/* Foreign swaps go on after their wallet operations are settled. */
	if (!offline && fx_recover(fc, &rs->swaps_done, &rs->swaps_left) < 0)
		rc = -1;
	return rc == 0 && rs->ops_left == 0 && rs->withdrawals_left == 0 &&
	    rs->swaps_left == 0 ? 0 : -1;
}
