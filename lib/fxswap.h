/* fxswap: tokens of mints the node does not trust, swapped into the primary
 * mint over Lightning (migrations/0011_fx_swaps.sql) and credited there, so
 * a user's balance is only ever backed by proofs of a trusted mint.
 *
 *   quote    a mint quote at the primary mint for what the token is worth
 *            less the foreign mint's Lightning fee reserve and input fees,
 *            checked with a melt quote at the foreign mint; nothing of the
 *            token is touched yet (a mint that cannot be reached, or fees
 *            that eat the token, leave it with its owner);
 *   receive  the token's proofs swapped for the wallet's own at the foreign
 *            mint (a write-ahead wallet swap naming 'fx:<id>');
 *   melt     those proofs pay the primary mint's invoice (a write-ahead
 *            melt naming 'fx:<id>'; the unused fee reserve comes back as
 *            change at the foreign mint and stays the node's, as Routstr
 *            does);
 *   mint     the primary mint's proofs minted for the quote (write-ahead);
 *   credit   `net` credited to the key once (journal source 'fx-in:<id>').
 *
 * Who owns what: the fx_swaps row, written before the token is touched,
 * names the key; its state says which step is done; the wallet's
 * operations are the evidence each step is checked against, so a runner
 * that died between any two steps is finished by the next one (the same
 * token presented again, or routstrctl cron) without the token string.
 * A Lightning payment that fails for good gives the value back as a token
 * of the foreign mint, kept on the row and handed out on every retry. */
#ifndef ROUTSTR_FXSWAP_H
#define ROUTSTR_FXSWAP_H

#include <stdbool.h>

#include "funds.h"
#include "ledger.h"

#define FX_LEASE_S 120		/* one runner per swap at a time */
#define FX_QUOTE_TRIES 3	/* new quotes when the melt needs more fees */
#define FX_OPEN_MAX 200		/* swaps in progress, node-wide; more wait */

/* Swap token (of an untrusted mint) into the primary mint and credit it to
 * beneficiary (created with lim when missing), or, when it was presented
 * before, report or finish that swap. The outcome as funds_deposit's:
 * FUNDS_OK (out->swapped, out->msat, out->fee_msat), FUNDS_SPENT (another
 * key had it), FUNDS_PENDING (a step is still running or unresolved at a
 * mint: retry), FUNDS_MINT (out->mint says why; out->returned holds the
 * value given back when Lightning failed). Borrows everything. */
enum funds_status fx_deposit(const struct funds_ctx *fc, const char *token,
    const char *beneficiary, const char *source, const struct ledger_limits *lim,
    struct funds_deposit *out);

/* Finish the swaps whose runner is gone (routstrctl cron, funds job). Counts
 * into the pointers (may be NULL): finished (credited, returned or
 * abandoned now), left (still open). -1 on a database error. */
int fx_recover(const struct funds_ctx *fc, int *finished, int *left);

#endif
