/* lightning: deposits over Lightning (migrations/0010_lightning.sql). An
 * invoice is a NUT-04 mint quote at the primary mint; once it is paid its
 * proofs are minted into the wallet (write-ahead) and the key is created or
 * topped up exactly once, whoever settles it: a status poll, several polls
 * at once, or the watcher of routstrctl cron when nobody polls.
 *
 * Who owns what: the lightning_invoices row is written before the invoice
 * is shown and names the key it credits; the wallet owns the mint
 * operation (its quote links the two); the ledger owns the credit, whose
 * journal source 'ln-in:<id>' is unique, so settling twice credits once.
 * Every step can be cut by kill -9: the next settle of the same invoice
 * (poll, /recover or cron) takes it from where it stopped. */
#ifndef ROUTSTR_LIGHTNING_H
#define ROUTSTR_LIGHTNING_H

#include <stdbool.h>
#include <stdint.h>

#include "funds.h"
#include "ledger.h"

#define LN_ID_LEN 22
#define LN_MAX_SATS 1000000
#define LN_EXPIRY_S 3600		/* when the mint names no expiry */
#define LN_GRACE_S 86400		/* an expired invoice paid late is still credited */
#define LN_WATCH_BATCH 100
#define LN_OPEN_MAX 1000		/* unpaid invoices of the last hour, node-wide */

enum ln_purpose { LN_CREATE, LN_TOPUP };

struct ln_invoice {
	char id[LN_ID_LEN + 1];
	char quote[128];
	char mint[512];
	char *bolt11;			/* owned (ln_invoice_free) */
	int64_t amount_sats;
	enum ln_purpose purpose;
	char key_hash[LEDGER_KEY_MAX + 1];
	char status[32];
	int64_t created_at, expires_at, paid_at;
};
void ln_invoice_free(struct ln_invoice *iv);

enum ln_status {
	LN_OK,
	LN_NOT_FOUND,
	LN_INVALID,		/* amount out of range */
	LN_MINT,		/* the mint refused or could not be reached */
	LN_BUSY,		/* too many unpaid invoices: try later */
	LN_INTERNAL,
};

/* Ask the primary mint for an invoice of amount_sats and write it down.
 * purpose LN_TOPUP credits key_hash (which must exist); LN_CREATE makes a
 * key (with lim) when paid. */
enum ln_status ln_invoice_create(const struct funds_ctx *fc, int64_t amount_sats,
    enum ln_purpose purpose, const char *key_hash, const struct ledger_limits *lim,
    struct ln_invoice *out);

/* Read invoice id (or, with by_bolt11, the one of that bolt11) and settle it
 * if it may have been paid: ask the mint, mint its proofs, credit the key,
 * mark it paid, each step once. grace: credit an expired invoice paid within
 * LN_GRACE_S (always for /recover). *out is the row afterwards. */
enum ln_status ln_invoice_settle(const struct funds_ctx *fc, const char *id, bool by_bolt11,
    bool grace, struct ln_invoice *out);

/* The watcher: settle the open invoices (and expired ones within the
 * grace), at most LN_WATCH_BATCH. Counts into *paid and *expired. */
int ln_watch(const struct funds_ctx *fc, int *checked, int *paid, int *expired);

#endif
