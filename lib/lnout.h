/* lnout: value leaving the node over Lightning (migrations/0012): a key's
 * refund to a Lightning address or LNURL-pay (on request, or when its
 * Key-Expiry-Time passes), and the operator's earnings paid out
 * (automatically to RECEIVE_LN_ADDRESS, or by hand with routstrctl
 * withdraw).
 *
 * Both go the same way: the recipient's invoice is fetched and sized
 * against a melt quote before anything is debited; then a write-ahead row
 * (a 'lightning' withdrawal that debits the key, or a payout) names the
 * melt ('wd:<id>' or 'po:<id>'), and the wallet's melt pays it. A refund's
 * unused fee reserve goes back to the key. A runner that dies is finished
 * by recovery from the melt's outcome at the mint: paid -> done, failed or
 * never sent -> the debit goes back; in flight -> left for later, the
 * value held, never paid twice.
 *
 * Who owns what: lib/lnurl.c talks to the recipient; the ledger owns the
 * debit and what goes back; the wallet owns the melt; this module decides
 * the amounts and drives the steps. */
#ifndef ROUTSTR_LNOUT_H
#define ROUTSTR_LNOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "funds.h"
#include "ledger.h"

#define LNOUT_MIN_MSAT 1000		/* invoices are of whole sats */
#define LNOUT_EXPIRY_BATCH 50

struct lnout_result {
	int64_t debited_msat;		/* refund: taken from the key */
	int64_t invoice_msat;		/* what the recipient's invoice asked */
	int64_t spent_msat;		/* what left the wallet (invoice + fees) */
	int64_t back_msat;		/* refund: credited back to the key */
	int64_t id;			/* the withdrawal or payout row */
	char preimage[129];
	enum mint_err mint;		/* FUNDS_MINT: why */
	struct mint_error me;
	char why[320];			/* FUNDS_RECIPIENT: the recipient's side */
};

/* Extra outcomes of funds_status used here:
 *   FUNDS_RECIPIENT    the address or its server refused or failed (nothing
 *                      was debited);
 *   FUNDS_UNCONFIRMED  the payment was dispatched and its outcome is not
 *                      known yet: the value is held until recovery learns
 *                      it (paid: done; failed: back to the key). */

/* Pay everything key (a billing key, no requests in flight) holds, in whole
 * sats, to destination (Lightning address, LNURL or https URL), less the
 * Lightning and mint fees; what the fees did not use goes back to the key.
 * Borrows everything. */
enum funds_status lnout_refund(const struct funds_ctx *fc, const struct ledger_key *key,
    const char *destination, struct lnout_result *out);

/* Recovery of one open Lightning withdrawal whose runner is gone (called by
 * funds' recovery): 1 finished (done or reverted), 0 still in flight, -1
 * error. With fc->up NULL (start-up) no mint is asked: an open melt is left
 * for cron. */
struct wallet_ctx;
int lnout_finish_withdrawal(const struct funds_ctx *fc, struct wallet_ctx *w,
    const struct ledger_withdrawal *wd, bool *reverted);

/* routstrctl cron: refund the keys whose Key-Expiry-Time has passed to their
 * Refund-LNURL (at most LNOUT_EXPIRY_BATCH). Counts into the pointers. */
int lnout_expired_refunds(const struct funds_ctx *fc, int *paid, int *failed);

/* Pay amount_msat (0: all the earnings of mint and unit that are above
 * the fees) of the operator's earnings at mint (NULL: primary) to
 * destination (an address, LNURL, URL or a bolt11 invoice, whose own amount
 * then rules), never more than the earnings. trigger: "auto" or
 * "operator". FUNDS_NOTHING when the earnings do not cover it. */
enum funds_status lnout_payout(const struct funds_ctx *fc, const char *destination,
    const char *mint, const char *unit, int64_t amount_msat, const char *trigger,
    struct lnout_result *out);

/* The operator's earnings at mint (NULL: primary) as a Cashu token of
 * amount_msat (a whole number of the unit), recorded as a payout. *token is
 * new (caller frees), stored in cashu_transactions (source 'admin') before
 * it is returned. FUNDS_NOTHING when the earnings do not cover it. */
enum funds_status lnout_payout_token(const struct funds_ctx *fc, const char *mint,
    const char *unit, int64_t amount_msat, char **token, struct lnout_result *out);

/* routstrctl cron: pay each trusted mint's earnings above MIN_PAYOUT_SAT to
 * RECEIVE_LN_ADDRESS, after finishing payouts whose runner died. status gets
 * one line. 0, or -1 when one failed. */
int lnout_auto_payouts(const struct funds_ctx *fc, char *status, size_t n);

/* The earnings of mint and unit that a payout may take, in msat: proofs
 * held there less what the keys of that mint hold, open withdrawals, and
 * every deposit minted but not credited yet. Never negative. */
int64_t lnout_payable(const struct funds_ctx *fc, const char *mint, const char *unit);

#endif
