/* report: read-only views of the books for the operator's dashboard and its
 * admin API: keys, a key's journal, requests, Cashu transactions, Lightning
 * invoices, payouts, and request and revenue buckets for the charts. No
 * writes; every query is bounded by its caller's max.
 *
 * Who owns what: rows are plain data copied out of SQLite (no borrowed
 * column text); arrays are the caller's. */
#ifndef ROUTSTR_REPORT_H
#define ROUTSTR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "ledger.h"

struct report_key {
	char hash[LEDGER_KEY_MAX + 1];
	char parent[LEDGER_KEY_MAX + 1];
	int64_t balance, reserved, total_spent, total_requests, created_at;
	char refund_address[LEDGER_TEXT_MAX + 1];
};
/* Keys whose hash or refund address contains q (NULL or "": all), newest
 * first, from offset; *total counts every match and *held sums the
 * balances of the matching billing keys. */
enum rerr report_keys(struct db *db, const char *q, size_t offset, struct report_key *rows,
    size_t max, size_t *n, int64_t *total, int64_t *held);

struct report_journal {
	int64_t id, delta, balance_after, created_at;
	char kind[16];
	char ref[LEDGER_TEXT_MAX + 1];
};
/* The newest max journal rows of key hash. */
enum rerr report_journal(struct db *db, const char *hash, struct report_journal *rows, size_t max,
    size_t *n);

struct report_request {
	int64_t id, reserved, charged, created_at;	/* charged -1: released */
	int status;
	char request_id[40];
	char model[128];
	char key[LEDGER_KEY_MAX + 1];
	char state[16];			/* settled, released, active */
};
/* Requests, newest first: all, or those of request_id. Active
 * reservations come first. */
enum rerr report_requests(struct db *db, const char *request_id, struct report_request *rows,
    size_t max, size_t *n);

struct report_tx {
	int64_t id, amount, created_at;
	char direction[4], source[32], unit[16];
	char mint[LEDGER_TEXT_MAX + 1];
	char key[LEDGER_KEY_MAX + 1];
	char status[16];		/* in: redeemed; out: issued, collected, swept */
};
enum rerr report_transactions(struct db *db, const char *source, struct report_tx *rows, size_t max,
    size_t *n);

struct report_invoice {
	char id[32], purpose[8], status[32];
	char key[LEDGER_KEY_MAX + 1];
	int64_t sats, created_at, paid_at;
};
enum rerr report_invoices(struct db *db, struct report_invoice *rows, size_t max, size_t *n);

struct report_payout {
	int64_t id, amount_msat, spent_msat, created_at;	/* spent -1: not known */
	char trigger[12], state[12];
	char destination[LEDGER_TEXT_MAX + 1];
	char mint[LEDGER_TEXT_MAX + 1];
};
enum rerr report_payouts(struct db *db, struct report_payout *rows, size_t max, size_t *n);

struct report_provider {
	int64_t id;
	char slug[65], type[16];
	char base_url[1025];
	int64_t fee_ppm, priority;	/* fee -1: the default */
	bool enabled, from_env, has_key;
};
/* Every provider, enabled or not, by priority. The key itself is never
 * read out. */
enum rerr report_providers(struct db *db, struct report_provider *rows, size_t max, size_t *n);

/* Requests and revenue (msat charged) in nb buckets of width seconds,
 * the last one ending at now (oldest first). */
struct report_bucket {
	int64_t start, requests, revenue_msat;
	int64_t successful, failed;	/* charged / released (nothing charged) */
	int64_t tokens_in, tokens_out;
};
enum rerr report_usage(struct db *db, int64_t now, int64_t width, struct report_bucket *b,
    size_t nb);

/* Requests, revenue and tokens per model since since, by revenue, at most
 * max. */
struct report_model {
	char model[128];
	int64_t requests, successful, failed, revenue_msat, tokens_in, tokens_out;
};
enum rerr report_by_model(struct db *db, int64_t since, struct report_model *rows, size_t max,
    size_t *n);

#endif
