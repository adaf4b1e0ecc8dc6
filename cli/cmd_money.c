/* cli/cmd_money: see cmd_money.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cashu/wallet.h"
#include "cli.h"
#include "cmd_money.h"
#include "db.h"
#include "funds.h"
#include "ledger.h"
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

int
cli_cron(int argc, char **argv)
{
	struct db *db = cli_open_db();
	struct upstream *up;
	struct ledger_sweep_result sw;
	struct funds_ctx fc;
	struct funds_recover_stats fr;
	int64_t micro = 0;
	enum rerr e;
	int rc = 0;

	(void)argc; (void)argv;
	if (db == NULL)
		return 1;
	upstream_global_init();
	up = upstream_new();
	memset(&sw, 0, sizeof(sw));
	if (ledger_sweep(db, NULL, &sw) == RERR_OK)
		printf("sweep: %d active, %d alive, %d swept, %lld msat charged\n", sw.checked,
		    sw.alive, sw.swept, (long long)sw.charged);
	else
		rc = 1;
	e = price_refresh(db, up, &micro);
	if (e == RERR_OK)
		printf("price: BTC/USD %lld.%06lld\n", (long long)(micro / 1000000),
		    (long long)(micro % 1000000));
	else
		printf("price: not refreshed (%s)\n", rerr_name(e));
	fc.db = db;
	fc.up = up;
	fc.request_id = "cron";
	if (funds_recover(&fc, false, &fr) != 0)
		rc = 1;
	printf("funds: mint operations %d completed, %d rolled back, %d left; %d receipt(s) "
	    "credited; withdrawals %d done, %d reverted, %d left\n", fr.ops_done, fr.ops_failed,
	    fr.ops_left, fr.credited, fr.withdrawals_done, fr.withdrawals_reverted,
	    fr.withdrawals_left);
	upstream_free(up);
	upstream_global_cleanup();
	db_close(db);
	return rc;
}
