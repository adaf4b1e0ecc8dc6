/* funds: the protocols that move value between Cashu and the ledger, each
 * built on write-ahead records that name their beneficiary (DESIGN.md 5):
 *
 *   deposit   a token redeemed at its mint and credited to one key (create,
 *             top-up, Bearer cashu, X-Cashu); the wallet's mint operation
 *             and receipt name the key, and the journal's unique credit
 *             source ("cashu-in:<receipt>") makes one redemption one credit
 *             whatever the route;
 *   withdraw  a key's balance made into a token (refund, X-Cashu change):
 *             the debit and a 'withdrawals' row are one transaction before
 *             any mint I/O; the row ends done (with its token, offered again
 *             until the mint says it was redeemed) or reverted (credited
 *             back);
 *   recover   finishes what a dead process left: operations at the mint,
 *             receipts not credited, withdrawals neither done nor reverted.
 *             It runs at start-up (without the mint), from cron, and inline
 *             when the same token or refund is presented again.
 *
 * No FastCGI here: callers pass what a request borrows (db, upstream handle,
 * request id) and map the outcome to their answer. */
#ifndef ROUTSTR_FUNDS_H
#define ROUTSTR_FUNDS_H

#include <stdbool.h>
#include <stdint.h>

#include "cashu/mint.h"
#include "ledger.h"

struct db;
struct upstream;

/* What one call borrows. up may be NULL for funds_recover(offline). */
struct funds_ctx {
	struct db *db;
	struct upstream *up;
	const char *request_id;		/* may be NULL */
};

enum funds_status {
	FUNDS_OK,
	FUNDS_MINT,		/* the mint or the token said no: see .mint and .me */
	FUNDS_SPENT,		/* the token's value was credited to another key, or before */
	FUNDS_PENDING,		/* an operation on this token or key is still running: retry */
	FUNDS_ZERO,		/* the token is worth nothing after the mint's fee */
	FUNDS_BUSY,		/* the key has requests in flight */
	FUNDS_NOTHING,		/* no balance to withdraw */
	FUNDS_TOO_SMALL,	/* less than one unit of the refund mint */
	FUNDS_INVALID,		/* a child key cannot withdraw */
	FUNDS_INTERNAL,		/* the database failed (logged) */
	FUNDS_RECIPIENT,	/* Lightning out: the recipient refused or failed */
	FUNDS_UNCONFIRMED,	/* Lightning out: dispatched, outcome not known yet */
	FUNDS__MAX
};

/* The units a balance can be held in. */
extern const char *const funds_units[];

/* The primary mint's URL, normalised as the wallet stores mints (no
 * trailing '/'): PRIMARY_MINT_URL, else the first of CASHU_MINTS; "" when
 * neither is set. Thread-local storage, valid until the next call. And its
 * unit (sat or msat). */
const char *funds_primary_mint(void);
const char *funds_primary_unit(void);

/* The msat value of amount in unit: -1 for a unit we do not hold balances
 * in (only sat and msat) or an overflow. */
int64_t funds_to_msat(uint64_t amount, const char *unit);

struct funds_deposit {
	int64_t msat;			/* credited to the beneficiary by this call */
	bool created;			/* the beneficiary key was created */
	bool again;			/* credited to this key before (same token again) */
	enum mint_err mint;		/* FUNDS_MINT: why */
	struct mint_error me;
	/* A token of an untrusted mint (lib/fxswap.c): */
	bool swapped;			/* it was swapped into the primary mint */
	int64_t fee_msat;		/* what the swap cost (Lightning and mint fees) */
	char *returned;			/* Lightning failed: the value as a token of its
					 * own mint, to hand back (new string, caller
					 * frees; funds_deposit_free) */
};
void funds_deposit_free(struct funds_deposit *d);

/* Redeem token (refusing units other than sat/msat before any swap) and
 * credit its value to key beneficiary, creating it with lim (may be NULL)
 * and the token's mint and unit as its refund mint when it does not exist.
 * A token redeemed before is not redeemed again: its receipt's own
 * beneficiary is credited if it was not yet (recovery), and the result says
 * OK with again (this key had it) or SPENT (another key had it). Borrows
 * everything. */
enum funds_status funds_deposit(const struct funds_ctx *fc, const char *token,
    const char *beneficiary, const char *source, const struct ledger_limits *lim,
    struct funds_deposit *out);

/* Credit msat to key under the unique journal source src (ref for people),
 * creating the key with lim and refund mint and unit when it does not
 * exist. *now: this call made the credit; false with RERR_OK when src was
 * credited before (to whichever key). For the money modules (deposits,
 * Lightning, foreign swaps). */
enum rerr funds_credit(const struct funds_ctx *fc, const char *key, int64_t msat, const char *src,
    const char *ref, const char *mint, const char *unit, const struct ledger_limits *lim,
    bool *created, bool *now);

/* Finish an earlier redemption of token that a dead process left (its
 * receipt not credited, or its swap unresolved), crediting the key it was
 * for. Never redeems a token the wallet has not seen. True when the token's
 * key is now credited. */
bool funds_recover_token(const struct funds_ctx *fc, const char *token);

struct funds_withdrawal {
	char *token;			/* new string, caller frees */
	int64_t msat;
	char unit[16];
	bool again;			/* a token made earlier, not yet redeemed, offered again */
	enum mint_err mint;		/* FUNDS_MINT: why */
	struct mint_error me;
};

/* Make everything key (a billing key) can withdraw into a token of its
 * refund mint and unit (else the primary mint's), persisted before it is
 * returned; when there is nothing new, offer again the newest token of this
 * source the holder has not redeemed. Finishes the key's abandoned
 * withdrawals first. FUNDS_PENDING while another one of the key's is still
 * running or its mint operation is unresolved; FUNDS_MINT when the mint
 * failed (the balance stays on the key). */
/* The wallet of fc, with the test crash points (TEST_CRASH_FILE) armed:
 * for the other money modules (lib/lightning.c). */
struct wallet_ctx;
void funds_wallet(const struct funds_ctx *fc, struct wallet_ctx *w);

/* The wallet of fc for one step of a money flow, whose test crash points are
 * named "<flow>-prepared", "<flow>-sent", "<flow>-answered" (flow is a
 * string literal, e.g. "fx-melt"); and the flow's own points,
 * "<flow>-<at>". */
void funds_wallet_flow(const struct funds_ctx *fc, struct wallet_ctx *w, const char *flow);
void funds_crash_at(const char *flow, const char *at);

/* Tests: die here (SIGKILL) when the TEST_CRASH_FILE setting names a file
 * that holds `name` (the file is removed first). Nothing otherwise. */
void funds_crash_point(const char *name);

enum funds_status funds_withdraw(const struct funds_ctx *fc, const struct ledger_key *key,
    const char *source, struct funds_withdrawal *out);
/* The same for the part no reservation holds, while requests are in flight:
 * X-Cashu's change above what its request reserved, made before the stream
 * starts. FUNDS_NOTHING when that is below one unit. */
enum funds_status funds_withdraw_free(const struct funds_ctx *fc, const struct ledger_key *key,
    const char *source, struct funds_withdrawal *out);

struct funds_recover_stats {
	int ops_done, ops_failed, ops_left;	/* mint operations */
	int credited;				/* receipts credited */
	int withdrawals_done, withdrawals_reverted, withdrawals_left;
	int swaps_done, swaps_left;		/* foreign-mint swaps (lib/fxswap.c) */
};

/* Finish what dead processes left (see the top). offline: do not contact
 * mints (start-up): only receipts already stored are credited and only
 * withdrawals with no open mint operation are finished. 0 when nothing is
 * left open, else -1 (the counts say what). */
int funds_recover(const struct funds_ctx *fc, bool offline, struct funds_recover_stats *st);

const char *funds_status_name(enum funds_status s);

/* Finish the abandoned withdrawals of key hash now (its runner is gone):
 * 0 when none is left open, else -1. */
int funds_recover_key(const struct funds_ctx *fc, const char *hash);

#endif
