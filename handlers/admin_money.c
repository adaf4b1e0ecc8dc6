/* admin_money: the dashboard's money pages: withdraw the earnings (a Cashu
 * token, or over Lightning), payouts, transactions and the request log. The
 * money itself moves in lib/lnout.c; these only read forms and show
 * results. AUTH_ADMIN routes: the gate ran before (admin_gate.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "admin_view.h"
#include "cashu/wallet.h"
#include "conf.h"
#include "funds.h"
#include "handlers.h"
#include "ledger.h"
#include "lnout.h"
#include "log.h"
#include "report.h"
#include "server.h"
#include "util.h"

#define TX_ROWS 200
#define INVOICE_ROWS 100
#define REQUEST_ROWS 200
#define PAYOUT_ROWS 200

static void
funds_ctx_of(struct req *r, struct funds_ctx *fc)
{
	fc->db = r->worker->db;
	fc->up = r->worker->up;
	fc->request_id = r->id;
}

/* The withdraw page, with what was just made (token, may be NULL). */
static void
withdraw_page(struct req *r, int status, const char *token, int64_t msat, const char *mint,
    const char *flash, const char *error)
{
	struct ledger_earnings *rows = xcalloc(LEDGER_EARNINGS_MAX, sizeof(*rows));
	struct funds_ctx fc;
	struct wallet_ctx w;
	struct view v;
	size_t n = 0, i, row;
	int64_t payable = 0;

	funds_ctx_of(r, &fc);
	funds_wallet(&fc, &w);
	view_init(&v);
	view_set(&v, AK_title, "Withdraw earnings");
	view_flag(&v, AK_nav_withdraw, true);
	if (flash)
		view_set(&v, AK_flash, "%s", flash);
	if (error)
		view_set(&v, AK_error, "%s", error);
	if (token) {
		view_set(&v, AK_token, "%s", token);
		view_set(&v, AK_token_amount, "%lld", (long long)(msat / 1000));
		view_set(&v, AK_token_unit, "sat");
		view_set(&v, AK_token_mint, "%s", mint);
		{
			char *qr = admin_qr_svg(token);

			if (qr)
				view_set_markup_UNSAFE(&v, AK_token_qr, qr);
		}
	}
	if (ledger_earnings(r->worker->db, conf_str(conf_get(), CONF_PRIMARY_MINT_URL), rows,
	    LEDGER_EARNINGS_MAX, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			int64_t p;

			if (!wallet_mint_trusted(&w, rows[i].mint) || strcmp(rows[i].unit, "sat") != 0)
				continue;
			p = lnout_payable(&fc, rows[i].mint, rows[i].unit);
			payable += p;
			row = view_row(&v, AK_mint_opts);
			view_cell(&v, AK_mint_opts, row, AK_o_mint, "%s", rows[i].mint);
			view_cell(&v, AK_mint_opts, row, AK_o_earned, "%lld", (long long)(p / 1000));
		}
	view_set(&v, AK_payable, "%lld sat", (long long)(payable / 1000));
	admin_render(r, status, "withdraw", &v);
	view_free(&v);
	free(rows);
}

void
h_admin_withdraw_page(struct req *r)
{
	withdraw_page(r, 200, NULL, 0, NULL, NULL, NULL);
}

static const char *
status_text(enum funds_status fs)
{
	switch (fs) {
	case FUNDS_NOTHING: return "The earnings do not cover that amount (users' balances are "
	    "never paid out).";
	case FUNDS_INVALID: return "Give a whole number of sats and a trusted mint.";
	case FUNDS_PENDING: return "Another payout is running; try again in a moment.";
	case FUNDS_TOO_SMALL: return "Too small to pay after the fees.";
	case FUNDS_RECIPIENT: return "The recipient refused or failed.";
	case FUNDS_UNCONFIRMED: return "Dispatched; the outcome is not known yet (see Payouts).";
	case FUNDS_MINT: return "The mint did not do it.";
	default: return "It failed.";
	}
}

void
h_admin_withdraw(struct req *r)
{
	struct funds_ctx fc;
	struct lnout_result res;
	char *amount = admin_form(r, "amount", 20, false);
	char *mint = admin_form(r, "mint", LEDGER_TEXT_MAX, false), *token = NULL;
	enum funds_status fs = FUNDS_INVALID;
	int64_t sats = 0;

	funds_ctx_of(r, &fc);
	memset(&res, 0, sizeof(res));
	if (amount && parse_i64(amount, 1, INT64_MAX / 1000, &sats) == 0)
		fs = lnout_payout_token(&fc, mint, "sat", sats * 1000, &token, &res);
	if (fs == FUNDS_OK) {
		log_info("request %s: dashboard: a token of %lld sat withdrawn", r->id, (long long)sats);
		withdraw_page(r, 200, token, sats * 1000, mint && *mint ? mint :
		    conf_str(conf_get(), CONF_PRIMARY_MINT_URL), "Token made.", NULL);
	} else {
		withdraw_page(r, fs == FUNDS_INTERNAL ? 500 : 400, NULL, 0, NULL, NULL,
		    status_text(fs));
	}
	free(token);
	free(amount);
	free(mint);
}

void
h_admin_withdraw_ln(struct req *r)
{
	struct funds_ctx fc;
	struct lnout_result res;
	char *dest = admin_form(r, "destination", 2000, false);
	char *sats_s = admin_form(r, "sats", 20, false), msg[160];
	enum funds_status fs = FUNDS_INVALID;
	int64_t sats = 0;

	funds_ctx_of(r, &fc);
	memset(&res, 0, sizeof(res));
	if (dest && *dest && (sats_s == NULL || *sats_s == '\0' ||
	    parse_i64(sats_s, 1, INT64_MAX / 1000, &sats) == 0))
		fs = lnout_payout(&fc, dest, NULL, NULL, sats * 1000, "operator", &res);
	if (fs == FUNDS_OK) {
		snprintf(msg, sizeof(msg), "Paid %lld sat (payout %lld).",
		    (long long)(res.invoice_msat / 1000), (long long)res.id);
		withdraw_page(r, 200, NULL, 0, NULL, msg, NULL);
	} else if (fs == FUNDS_RECIPIENT && res.why[0]) {
		snprintf(msg, sizeof(msg), "%.150s", res.why);
		withdraw_page(r, 400, NULL, 0, NULL, NULL, msg);
	} else {
		withdraw_page(r, fs == FUNDS_INTERNAL ? 500 : 400, NULL, 0, NULL, NULL,
		    status_text(fs));
	}
	free(dest);
	free(sats_s);
}

void
h_admin_payouts(struct req *r)
{
	struct report_payout *rows = xcalloc(PAYOUT_ROWS, sizeof(*rows));
	const struct conf *c = conf_get();
	struct view v;
	char when[32];
	size_t n = 0, i, row;

	view_init(&v);
	view_set(&v, AK_title, "Payouts");
	view_flag(&v, AK_nav_payouts, true);
	view_set(&v, AK_receive_address, "%s", *conf_str(c, CONF_RECEIVE_LN_ADDRESS) ?
	    conf_str(c, CONF_RECEIVE_LN_ADDRESS) : "(not set: RECEIVE_LN_ADDRESS)");
	view_set(&v, AK_min_payout, "%lld", (long long)conf_int(c, CONF_MIN_PAYOUT_SAT));
	view_set(&v, AK_payout_interval, "%lld", (long long)conf_int(c, CONF_PAYOUT_INTERVAL_SECONDS));
	if (report_payouts(r->worker->db, rows, PAYOUT_ROWS, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_payouts);
			view_cell(&v, AK_payouts, row, AK_p_id, "%lld", (long long)rows[i].id);
			admin_time(rows[i].created_at, when);
			view_cell(&v, AK_payouts, row, AK_p_at, "%s", when);
			view_cell(&v, AK_payouts, row, AK_p_trigger, "%s", rows[i].trigger);
			view_cell(&v, AK_payouts, row, AK_p_dest, "%s", rows[i].destination);
			view_cell(&v, AK_payouts, row, AK_p_amount, "%lld", (long long)rows[i].amount_msat);
			if (rows[i].spent_msat >= 0)
				view_cell(&v, AK_payouts, row, AK_p_spent, "%lld",
				    (long long)rows[i].spent_msat);
			view_cell(&v, AK_payouts, row, AK_p_state, "%s", rows[i].state);
		}
	admin_render(r, 200, "payouts", &v);
	view_free(&v);
	free(rows);
}

void
h_admin_transactions(struct req *r)
{
	struct report_tx *tx = xcalloc(TX_ROWS, sizeof(*tx));
	struct report_invoice *iv = xcalloc(INVOICE_ROWS, sizeof(*iv));
	struct view v;
	char when[32];
	size_t n = 0, i, row;

	view_init(&v);
	view_set(&v, AK_title, "Transactions");
	view_flag(&v, AK_nav_transactions, true);
	if (report_transactions(r->worker->db, NULL, tx, TX_ROWS, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_txs);
			view_cell(&v, AK_txs, row, AK_t_id, "%lld", (long long)tx[i].id);
			admin_time(tx[i].created_at, when);
			view_cell(&v, AK_txs, row, AK_t_at, "%s", when);
			view_cell(&v, AK_txs, row, AK_t_dir, "%s", tx[i].direction);
			view_cell(&v, AK_txs, row, AK_t_source, "%s", tx[i].source);
			view_cell(&v, AK_txs, row, AK_t_amount, "%lld", (long long)tx[i].amount);
			view_cell(&v, AK_txs, row, AK_t_unit, "%s", tx[i].unit);
			view_cell(&v, AK_txs, row, AK_t_mint, "%s", tx[i].mint);
			view_cell(&v, AK_txs, row, AK_t_key, "%.16s", tx[i].key);
			view_cell(&v, AK_txs, row, AK_t_status, "%s", tx[i].status);
		}
	if (report_invoices(r->worker->db, iv, INVOICE_ROWS, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_invoices);
			view_cell(&v, AK_invoices, row, AK_i_id, "%s", iv[i].id);
			admin_time(iv[i].created_at, when);
			view_cell(&v, AK_invoices, row, AK_i_at, "%s", when);
			view_cell(&v, AK_invoices, row, AK_i_purpose, "%s", iv[i].purpose);
			view_cell(&v, AK_invoices, row, AK_i_sats, "%lld", (long long)iv[i].sats);
			view_cell(&v, AK_invoices, row, AK_i_status, "%s", iv[i].status);
			view_cell(&v, AK_invoices, row, AK_i_key, "%.16s", iv[i].key);
		}
	admin_render(r, 200, "transactions", &v);
	view_free(&v);
	free(tx);
	free(iv);
}

void
h_admin_logs(struct req *r)
{
	struct report_request *rq = xcalloc(REQUEST_ROWS, sizeof(*rq));
	char *q = admin_form(r, "request_id", 40, true), when[32];
	struct view v;
	size_t n = 0, i, row;

	view_init(&v);
	view_set(&v, AK_title, "Requests");
	view_flag(&v, AK_nav_logs, true);
	view_set(&v, AK_q, "%s", q ? q : "");
	if (report_requests(r->worker->db, q, rq, REQUEST_ROWS, &n) == RERR_OK)
		for (i = 0; i < n; i++) {
			row = view_row(&v, AK_reqs);
			view_cell(&v, AK_reqs, row, AK_r_id, "%s", rq[i].request_id);
			admin_time(rq[i].created_at, when);
			view_cell(&v, AK_reqs, row, AK_r_at, "%s", when);
			view_cell(&v, AK_reqs, row, AK_r_model, "%s", rq[i].model);
			view_cell(&v, AK_reqs, row, AK_r_reserved, "%lld", (long long)rq[i].reserved);
			if (rq[i].charged >= 0)
				view_cell(&v, AK_reqs, row, AK_r_charged, "%lld", (long long)rq[i].charged);
			view_cell(&v, AK_reqs, row, AK_r_state, "%s", rq[i].state);
			view_cell(&v, AK_reqs, row, AK_r_key, "%.16s", rq[i].key);
		}
	admin_render(r, 200, "logs", &v);
	view_free(&v);
	free(rq);
	free(q);
}
