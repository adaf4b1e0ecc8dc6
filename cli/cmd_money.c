/* cli/cmd_money: see cmd_money.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "cashu/wallet.h"
#include "cli.h"
#include "cmd_money.h"
#include "conf.h"
#include "cron.h"
#include "db.h"
#include "funds.h"
#include "ledger.h"
#include "lightning.h"
#include "lnout.h"
#include "owner.h"
#include "price.h"
#include "upstream.h"
#include "util.h"

/* The names of the row a violation is about, by kind. */
static const char *
row_name(enum ledger_violation_kind k)
{
	switch (k) {
	case LEDGER_V_RECEIPT_CREDIT: return "receipt";
	case LEDGER_V_CREDIT_SOURCE: return "journal";
	case LEDGER_V_WITHDRAWAL: return "withdrawal";
	default: return "reservation";
	}
}

int
cli_audit(int argc, char **argv)
{
	struct db *db = cli_open_db();
	struct ledger_violation *v = NULL;
	struct wallet_balance *wb = NULL;
	struct ledger_books bk;
	struct wallet_ctx w;
	size_t n = 0, nb = 0, i;
	int rc = 1;

	(void)argc; (void)argv;
	if (db == NULL)
		return 1;
	if (ledger_audit_all(db, true, true, &v, &n) != RERR_OK || ledger_books(db, &bk) != RERR_OK) {
		fprintf(stderr, "routstrctl audit: cannot read the ledger\n");
		goto out;
	}
	for (i = 0; i < n && i < LEDGER_AUDIT_MAX; i++)
		printf("violation %s key=%s %s=%lld expected=%lld actual=%lld\n",
		    ledger_violation_name(v[i].kind), v[i].key_hash, row_name(v[i].kind),
		    (long long)v[i].reservation_id, (long long)v[i].expected, (long long)v[i].actual);
	wallet_ctx_init(&w, db, NULL);
	if (wallet_balance(&w, &wb, &nb) != MINT_OK) {
		fprintf(stderr, "routstrctl audit: cannot read the wallet\n");
		goto out;
	}
	for (i = 0; i < nb; i++)
		printf("wallet: %s %s: %llu unspent + %llu pending in %zu proofs\n", wb[i].mint,
		    wb[i].unit, (unsigned long long)wb[i].unspent, (unsigned long long)wb[i].pending,
		    wb[i].nproofs);
	printf("books (msat): wallet %lld = users %lld + earnings %lld + wallet operations %lld "
	    "+ pending %lld (= %lld): %s %lld\n", (long long)bk.wallet, (long long)bk.users,
	    (long long)bk.earned, (long long)bk.wallet_ops, (long long)bk.pending,
	    (long long)bk.owed, bk.wallet >= bk.owed ? "surplus" : "deficit",
	    (long long)(bk.wallet >= bk.owed ? bk.wallet - bk.owed : bk.owed - bk.wallet));
	rc = n == 0 ? 0 : 1;
	printf("ledger: %zu violation(s)\naudit: %s\n", n, rc == 0 ? "clean" : "FAILED");
out:
	free(v);
	free(wb);
	db_close(db);
	return rc;
}

/* earnings: what the operator has earned at each mint and unit (msat), and
 * the whole units of it that could be paid out (payouts round down). */
int
cli_earnings(int argc, char **argv)
{
	struct ledger_earnings *rows = xcalloc(LEDGER_EARNINGS_MAX, sizeof(*rows));
	const struct conf *c = conf_get();
	struct db *db;
	size_t n = 0, i;
	int rc = 1;

	(void)argc; (void)argv;
	if ((db = cli_open_db()) == NULL) {
		free(rows);
		return 1;
	}
	if (ledger_earnings(db, conf_str(c, CONF_PRIMARY_MINT_URL), rows, LEDGER_EARNINGS_MAX,
	    &n) == RERR_OK) {
		printf("%-5s %14s %14s %12s %14s %10s  %s\n", "unit", "held msat", "users msat",
		    "pending", "earned msat", "payable", "mint");
		for (i = 0; i < n; i++) {
			int64_t per = strcmp(rows[i].unit, "msat") == 0 ? 1 : 1000;

			printf("%-5s %14lld %14lld %12lld %14lld %10lld  %s\n", rows[i].unit,
			    (long long)rows[i].held, (long long)rows[i].users,
			    (long long)rows[i].pending, (long long)rows[i].earned,
			    (long long)(rows[i].earned > 0 ? rows[i].earned / per : 0), rows[i].mint);
		}
		rc = 0;
	}
	free(rows);
	db_close(db);
	return rc;
}

/* withdraw: pay the operator's earnings over Lightning, to a bolt11 invoice
 * (its amount) or an address / LNURL (--sats N, else all that is payable),
 * from the primary mint or --mint URL. Never more than the earnings. */
int
cli_withdraw(int argc, char **argv)
{
	struct funds_ctx fc;
	struct lnout_result r;
	enum funds_status fs;
	const char *dest = NULL, *mint = NULL;
	int64_t sats = 0;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--sats") == 0 && a + 1 < argc) {
			if (parse_i64(argv[++a], 1, INT64_MAX / 1000, &sats) < 0)
				goto usage;
		} else if (strcmp(argv[a], "--mint") == 0 && a + 1 < argc) {
			mint = argv[++a];
		} else if (argv[a][0] != '-' && dest == NULL) {
			dest = argv[a];
		} else {
			goto usage;
		}
	}
	if (dest == NULL)
		goto usage;
	if ((fc.db = cli_open_db()) == NULL)
		return 1;
	upstream_global_init();
	fc.up = upstream_new();
	fc.request_id = "routstrctl-withdraw";
	fs = lnout_payout(&fc, dest, mint, NULL, sats * 1000, "operator", &r);
	if (fs == FUNDS_OK)
		printf("paid %lld msat to %s (payout %lld; %lld msat left the wallet with fees)\n",
		    (long long)r.invoice_msat, dest, (long long)r.id, (long long)r.spent_msat);
	else
		fprintf(stderr, "routstrctl: withdraw: %s%s%s\n", funds_status_name(fs),
		    r.why[0] || r.me.detail[0] ? ": " : "", r.why[0] ? r.why : r.me.detail);
	upstream_free(fc.up);
	upstream_global_cleanup();
	db_close(fc.db);
	return fs == FUNDS_OK ? 0 : 1;
usage:
	fprintf(stderr, "usage: routstrctl withdraw BOLT11|ADDRESS|LNURL [--sats N] [--mint URL]\n");
	return 2;
}

/* ---- cron: the periodic jobs, each under its lease (lib/cron.c) ---- */

struct cron_ctx {
	struct db *db;
	struct upstream *up;
};

static int
job_sweep(struct cron_ctx *cx, char *status, size_t n)
{
	struct ledger_sweep_result sw;

	memset(&sw, 0, sizeof(sw));
	if (ledger_sweep(cx->db, NULL, &sw) != RERR_OK) {
		snprintf(status, n, "sweep: failed");
		return 1;
	}
	snprintf(status, n, "sweep: %d active, %d alive, %d swept, %lld msat charged", sw.checked,
	    sw.alive, sw.swept, (long long)sw.charged);
	return 0;
}

static int
job_price(struct cron_ctx *cx, char *status, size_t n)
{
	int64_t micro = 0;
	enum rerr e = price_refresh(cx->db, cx->up, &micro);

	if (e == RERR_OK)
		snprintf(status, n, "price: BTC/USD %lld.%06lld", (long long)(micro / 1000000),
		    (long long)(micro % 1000000));
	else
		snprintf(status, n, "price: not refreshed (%s)", rerr_name(e));
	return 0;
}

static int
job_funds(struct cron_ctx *cx, char *status, size_t n)
{
	struct funds_ctx fc;
	struct funds_recover_stats fr;
	int rc;

	fc.db = cx->db;
	fc.up = cx->up;
	fc.request_id = "cron";
	rc = funds_recover(&fc, false, &fr) != 0;
	snprintf(status, n, "funds: mint operations %d completed, %d rolled back, %d left; %d "
	    "receipt(s) credited; withdrawals %d done, %d reverted, %d left; foreign swaps %d "
	    "finished, %d left", fr.ops_done, fr.ops_failed, fr.ops_left, fr.credited,
	    fr.withdrawals_done, fr.withdrawals_reverted, fr.withdrawals_left, fr.swaps_done,
	    fr.swaps_left);
	return rc;
}

static int
job_invoices(struct cron_ctx *cx, char *status, size_t n)
{
	struct funds_ctx fc;
	int checked, paid, expired, rc;

	fc.db = cx->db;
	fc.up = cx->up;
	fc.request_id = "cron";
	rc = ln_watch(&fc, &checked, &paid, &expired) != 0;
	snprintf(status, n, "invoices: %d checked, %d paid, %d expired", checked, paid, expired);
	return rc;
}

static int
job_expiry(struct cron_ctx *cx, char *status, size_t n)
{
	struct funds_ctx fc;
	int paid, failed, rc;

	fc.db = cx->db;
	fc.up = cx->up;
	fc.request_id = "cron";
	rc = lnout_expired_refunds(&fc, &paid, &failed) != 0;
	snprintf(status, n, "expiry: %d expired key(s) refunded over Lightning, %d failed", paid,
	    failed);
	return rc;
}

static int
job_payouts(struct cron_ctx *cx, char *status, size_t n)
{
	struct funds_ctx fc;

	fc.db = cx->db;
	fc.up = cx->up;
	fc.request_id = "cron";
	return lnout_auto_payouts(&fc, status, n) != 0;
}

/* The jobs, in the order they run. every_s 0: at every cron run. lease_s
 * bounds how long a runner that died blocks the job. */
static const struct cron_job {
	const char *name;
	int (*run)(struct cron_ctx *cx, char *status, size_t n);
	int64_t every_s;
	int64_t lease_s;
	const char *what;
	int every_conf;			/* a setting that overrides every_s, or -1 */
} cron_jobs[] = {
	{ "sweep", job_sweep, 0, 300, "settle reservations of dead processes", -1 },
	{ "price", job_price, 0, 120, "refresh the BTC price (its own max age applies)", -1 },
	{ "funds", job_funds, 0, 900,
	    "finish mint operations, credits, withdrawals and foreign swaps left by dead processes", -1 },
	{ "invoices", job_invoices, 0, 600, "credit paid Lightning invoices nobody polled; expire unpaid ones", -1 },
	{ "expiry", job_expiry, 60, 900, "refund keys past their Key-Expiry-Time to their Refund-LNURL", -1 },
	{ "payouts", job_payouts, 900, 900, "pay earnings above MIN_PAYOUT_SAT to RECEIVE_LN_ADDRESS",
	    CONF_PAYOUT_INTERVAL_SECONDS },
};

static int
cron_list(struct db *db)
{
	struct cron_row row;
	size_t i;

	printf("%-8s %6s %5s %12s %12s %s\n", "job", "every", "runs", "next due", "lease until",
	    "last status");
	for (i = 0; i < ARRAY_SIZE(cron_jobs); i++) {
		if (cron_read(db, cron_jobs[i].name, &row) != RERR_OK)
			return 1;
		printf("%-8s %5llds %5lld %12lld %12lld %s\n", row.name,
		    (long long)cron_jobs[i].every_s, (long long)row.runs, (long long)row.next_due,
		    (long long)row.lease_until, row.last_status);
	}
	return 0;
}

int
cli_cron(int argc, char **argv)
{
	struct cron_ctx cx;
	char holder[OWNER_TAG_MAX], status[CRON_STATUS_MAX + 1];
	bool force = false, list = false, any_named = false;
	size_t i;
	int a, rc = 0, k;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--force") == 0)
			force = true;
		else if (strcmp(argv[a], "--list") == 0)
			list = true;
		else
			any_named = true;
	}
	for (a = 1; a < argc; a++) {
		/* An unknown option is an error, not a run of nothing that
		 * exits 0 (cron would stop doing its jobs silently). */
		bool known = strcmp(argv[a], "--force") == 0 || strcmp(argv[a], "--list") == 0;

		for (i = 0; i < ARRAY_SIZE(cron_jobs) && !known; i++)
			known = strcmp(argv[a], cron_jobs[i].name) == 0;
		if (!known) {
			fprintf(stderr, "usage: routstrctl cron [--force] [--list] [JOB...]\njobs:");
			for (i = 0; i < ARRAY_SIZE(cron_jobs); i++)
				fprintf(stderr, "\n  %-8s %s", cron_jobs[i].name, cron_jobs[i].what);
			fprintf(stderr, "\n");
			return 2;
		}
	}
	if ((cx.db = cli_open_db()) == NULL)
		return 1;
	if (list) {
		rc = cron_list(cx.db);
		db_close(cx.db);
		return rc;
	}
	if (owner_self_tag(holder) < 0) {
		db_close(cx.db);
		return 1;
	}
	upstream_global_init();
	cx.up = upstream_new();
	for (i = 0; i < ARRAY_SIZE(cron_jobs); i++) {
		const struct cron_job *j = &cron_jobs[i];
		bool named = !any_named;

		for (a = 1; a < argc && !named; a++)
			named = strcmp(argv[a], j->name) == 0;
		if (!named)
			continue;
		/* A job named on the command line runs even if not due. */
		k = cron_take(cx.db, j->name, wall_sec(), j->lease_s, force || any_named, holder);
		if (k < 0) {
			rc = 1;
			continue;
		}
		if (k == 0) {
			printf("%s: skipped (not due, or another runner holds it)\n", j->name);
			continue;
		}
		status[0] = '\0';
		if (j->run(&cx, status, sizeof(status)) != 0)
			rc = 1;
		printf("%s\n", status);
		if (cron_done(cx.db, j->name, holder, wall_sec(), j->every_conf >= 0 ?
		    conf_int(conf_get(), (enum conf_key)j->every_conf) : j->every_s, status) != RERR_OK)
			fprintf(stderr, "routstrctl: cron: the lease of %s was lost while it ran\n",
			    j->name);
	}
	upstream_free(cx.up);
	upstream_global_cleanup();
	db_close(cx.db);
	return rc;
}
