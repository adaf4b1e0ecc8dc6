/* ledger: API keys, reservations and the append-only journal. This is the
 * only code that changes money columns (api_keys.balance, reserved,
 * total_spent; reservations; journal). Amounts are integer msat.
 *
 * Every function that changes money is one short transaction (BEGIN
 * IMMEDIATE ... COMMIT) on the caller's struct db, and writes its journal row
 * in that same transaction. None of them does network I/O, so no lock is ever
 * held across it: a request reserves, commits, talks to the upstream, then
 * settles in a second transaction.
 *
 * Policy (docs/money.md): balance >= 0 always; a billing key's reserved never
 * exceeds its balance, so available = balance - reserved is never negative
 * either (Routstr lets it go negative; we do not). */
#ifndef ROUTSTR_LEDGER_H
#define ROUTSTR_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "db.h"
#include "err.h"

#define LEDGER_KEY_MAX 128	/* bytes of a hashed key (64 hex in practice) */
#define LEDGER_TEXT_MAX 512	/* refund address, mint url, request id, model */
#define LEDGER_CHILD_MAX 50	/* child keys per call, as Routstr */
#define LEDGER_CHILD_LIST_MAX 1000	/* child keys one info answer lists */
#define LEDGER_SWEEP_BATCH 1000	/* reservations examined per sweep call */
#define LEDGER_AUDIT_MAX 1000	/* violations returned per audit */

/* Journal kinds; ledger_kind_name gives the stored text. */
enum ledger_kind {
	LEDGER_DEPOSIT,		/* initial credit of a new key */
	LEDGER_TOPUP,
	LEDGER_CHARGE,		/* settlement of a request */
	LEDGER_REFUND,		/* withdraw-all */
	LEDGER_REFUND_REVERT,	/* a withdrawal whose token could not be made */
	LEDGER_CHILD_KEY_FEE,
	LEDGER_ADJUST,		/* operator correction, either sign */
	LEDGER_KIND__MAX
};

enum ledger_reset {
	LEDGER_RESET_NONE,
	LEDGER_RESET_DAILY,
	LEDGER_RESET_WEEKLY,
	LEDGER_RESET_MONTHLY,
	LEDGER_RESET__MAX
};

/* Optional spending limit and validity of a key. */
struct ledger_limits {
	bool has_limit;
	int64_t balance_limit;	/* msat: bounds total_spent + reserved of the key */
	enum ledger_reset reset;
	bool has_validity;
	int64_t validity_date;	/* unix seconds; reservations refused after it */
};

/* One api_keys row, copied out (no borrowed SQLite memory). Strings are
 * "" when NULL. */
struct ledger_key {
	char hashed_key[LEDGER_KEY_MAX + 1];
	int64_t balance;
	int64_t reserved;
	int64_t total_spent;
	int64_t total_requests;
	char parent[LEDGER_KEY_MAX + 1];	/* "" for a billing key */
	struct ledger_limits lim;
	int64_t reset_at;			/* last limit reset, 0 if never */
	char refund_address[LEDGER_TEXT_MAX + 1];
	char refund_mint_url[LEDGER_TEXT_MAX + 1];
	char refund_currency[16];
	int64_t key_expiry_time;		/* -1 when NULL */
	int64_t created_at;
};

/* A new key. Strings are borrowed for the call; NULL = absent. */
struct ledger_key_new {
	const char *hashed_key;
	int64_t deposit_msat;		/* >= 0; journaled as 'deposit' when > 0 */
	const char *deposit_ref;	/* e.g. the request id, for people */
	const char *deposit_source;	/* the credit's source ("cashu-in:<tx>"): unique */
	const char *parent;		/* child key of this billing key */
	const char *refund_address;
	const char *refund_mint_url;
	const char *refund_currency;
	struct ledger_limits lim;
};

/* Why a reservation was refused. */
enum ledger_refusal {
	LEDGER_REFUSE_NONE,
	LEDGER_REFUSE_INSUFFICIENT,	/* 402 insufficient_balance */
	LEDGER_REFUSE_LIMIT,		/* 402 balance_limit_exceeded */
	LEDGER_REFUSE_EXPIRED,		/* 403 key_expired */
	LEDGER_REFUSE__MAX
};

/* The outcome of ledger_reserve, with the figures the 402 messages quote. */
struct ledger_reserve_result {
	int64_t id;			/* reservation id when granted */
	enum ledger_refusal refusal;
	int64_t balance;		/* billing key, as seen by the decision */
	int64_t reserved;
	int64_t available;
	int64_t limit;			/* presented key (refusal LIMIT) */
	int64_t spent;
	int64_t key_reserved;
};

/* What one finished request was, for the requests table (written in the
 * settle transaction). Strings borrowed for the call. */
struct ledger_request_log {
	const char *request_id;
	const char *model;
	const char *provider;
	int status;
	int64_t tokens_in;
	int64_t tokens_out;
	int64_t duration_ms;
	int64_t upstream_ms;
};

struct ledger_settle_result {
	int64_t charged;	/* what the billing key paid */
	int64_t forgiven;	/* cost - charged (an overrun the key could not cover) */
	int64_t balance_after;	/* billing key balance after the charge */
};

struct ledger_sweep_result {
	int checked;		/* active reservations examined */
	int alive;		/* owner still running: left alone */
	int foreign;		/* owner in another pid namespace: cannot tell, left alone */
	int swept;		/* owner gone: settled or released by the policy */
	int64_t charged;	/* msat charged by the sweep */
};

enum ledger_violation_kind {
	LEDGER_V_BALANCE_JOURNAL,	/* balance != sum(journal.delta) */
	LEDGER_V_RESERVED,		/* reserved != sum(active reservations) */
	LEDGER_V_NEGATIVE,		/* a negative balance or reserved */
	LEDGER_V_OVERDRAFT,		/* billing key reserved > balance */
	LEDGER_V_ORPHAN_JOURNAL,	/* journal rows of a key that does not exist */
	LEDGER_V_CHARGE_JOURNAL,	/* settled charge != its journal rows */
	LEDGER_V_DEAD_OWNER,		/* active reservation whose process is gone */
	LEDGER_V_RECEIPT_CREDIT,	/* a redeemed token not credited exactly once, exactly */
	LEDGER_V_CREDIT_SOURCE,		/* a credit that names no receipt or withdrawal */
	LEDGER_V_WITHDRAWAL,		/* a withdrawal's token is not worth its debit */
	LEDGER_V_WALLET,		/* proofs held != the wallet's history (mint, unit) */
	LEDGER_V_BOOKS_DEFICIT,		/* wallet < users + earnings + pending */
	LEDGER_V_BOOKS_SURPLUS,		/* wallet > users + earnings + pending */
	LEDGER_V_INSOLVENT,		/* proofs outside foreign mints < users + pending */
	LEDGER_V__MAX
};

struct ledger_violation {
	enum ledger_violation_kind kind;
	char key_hash[LEDGER_KEY_MAX + 1];
	int64_t reservation_id;		/* the row it is about (reservation, receipt,
					 * journal row, withdrawal by kind); 0: none */
	int64_t expected;
	int64_t actual;
};

/* Static names: "deposit", "charge", ...; "daily"...; "balance_journal"... */
const char *ledger_kind_name(enum ledger_kind k);
const char *ledger_reset_name(enum ledger_reset r);	/* NULL for NONE */
/* "daily" | "weekly" | "monthly" -> the enum; anything else (NULL, "") is
 * NONE, as Routstr (any other value never resets). */
enum ledger_reset ledger_reset_parse(const char *s);
const char *ledger_violation_name(enum ledger_violation_kind k);

/* THE one definition of what a key can still spend: balance - reserved.
 * For a child key pass its billing key (the parent). */
int64_t ledger_available(const struct ledger_key *billing);

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */

/* Create a key, crediting nk->deposit_msat with a 'deposit' journal row.
 * Idempotent on the hash: when it exists nothing changes, *created = false
 * and RERR_OK. A deposit_ref already credited: RERR_CONFLICT. A parent that
 * is missing or itself a child: RERR_INVALID (a child's deposit must be 0). */
enum rerr ledger_key_create(struct db *db, const struct ledger_key_new *nk, bool *created);

/* Read key hash into *key and, when billing is not NULL, its billing key
 * (the parent, or a copy of the key) into *billing, from one snapshot.
 * RERR_NOT_FOUND when absent. */
enum rerr ledger_key_get(struct db *db, const char *hash, struct ledger_key *key,
    struct ledger_key *billing);

/* Overwrite a billing key's limits (all three columns; absent ones become
 * NULL) and, when a reset policy is given, set its reset time to now. A
 * child key's limits are its parent's to set (ledger_child_keys_create):
 * RERR_NOT_FOUND for a child. */
enum rerr ledger_key_set_limits(struct db *db, const char *hash, const struct ledger_limits *lim);

/* Set refund_address (NULL: keep) and key_expiry_time (< 0: keep). */
enum rerr ledger_key_set_refund(struct db *db, const char *hash, const char *refund_address,
    int64_t key_expiry_time);

/* ledger_credit with a credit source (NULL: none): a source credits once,
 * whatever the kind; a repeat is RERR_CONFLICT with no change. */
enum rerr ledger_credit_src(struct db *db, const char *hash, int64_t amount,
    enum ledger_kind kind, const char *ref, const char *source, int64_t *balance_after);

/* Add amount (> 0) to the billing key of hash (a child's credit goes to its
 * parent), journaled with kind (DEPOSIT, TOPUP, REFUND_REVERT or ADJUST) and
 * ref. A DEPOSIT/TOPUP ref credits once: a repeat is RERR_CONFLICT with no
 * change. *balance_after (may be NULL) gets the new balance. */
enum rerr ledger_credit(struct db *db, const char *hash, int64_t amount, enum ledger_kind kind,
    const char *ref, int64_t *balance_after);

/* Operator correction: add delta (either sign, not 0) to a billing key.
 * A debit beyond its available balance is RERR_CONFLICT. */
enum rerr ledger_adjust(struct db *db, const char *hash, int64_t delta, const char *ref);


/* Create count child keys of parent with the given hashes (the caller makes
 * them: 32 random bytes as hex), charging cost_each per key to the parent
 * ('child_key_fee', total_spent grows). count 1..LEDGER_CHILD_MAX else
 * RERR_INVALID; a parent that is a child: RERR_INVALID; not enough
 * available: RERR_CONFLICT with *available set. *parent_balance (may be
 * NULL) gets the parent's balance after. */
enum rerr ledger_child_keys_create(struct db *db, const char *parent,
    const char *const *hashes, size_t count, int64_t cost_each,
    const struct ledger_limits *lim, int64_t *parent_balance, int64_t *available);

/* A child key as its parent's /v1/balance/info lists it. A child's
 * hashed_key is the key itself (random, stored unhashed, as Routstr), so
 * "sk-" + hashed_key is what its holder presents. */
struct ledger_child {
	char hashed_key[LEDGER_KEY_MAX + 1];
	int64_t total_requests;
	int64_t total_spent;
	struct ledger_limits lim;
};

/* Copy up to max child keys of parent into rows, oldest first (the order
 * they were created in), from one snapshot: *n gets how many were copied,
 * *total (may be NULL) how many parent has. A key with no children, a child
 * or an unknown key has none. rows is the caller's; nothing is borrowed. */
enum rerr ledger_children(struct db *db, const char *parent, struct ledger_child *rows,
    size_t max, size_t *n, size_t *total);

/* Set a child's total_spent to 0 (and its reset time to now when it has a
 * policy). RERR_NOT_FOUND: no such key; RERR_CONFLICT: not parent's child. */
enum rerr ledger_child_reset(struct db *db, const char *parent, const char *child);

/* ------------------------------------------------------------------------ */
/* Reservations                                                              */

/* Reserve amount (> 0) for a request of key hash: checks its validity date
 * (after it: EXPIRED), resets its limit period when due, then atomically
 *   billing: reserved += amount WHERE balance - reserved >= amount
 *   presented: WHERE no limit OR total_spent + reserved + amount <= limit
 * and records the reservation with this process as its owner. RERR_OK with
 * r->id; RERR_CONFLICT when refused (r->refusal and the figures say why);
 * RERR_NOT_FOUND for an unknown key. request_id and model are borrowed. */
enum rerr ledger_reserve(struct db *db, const char *hash, int64_t amount,
    const char *request_id, const char *model, struct ledger_reserve_result *r);

/* Record the estimated cost of what has been relayed so far (monotonic,
 * capped by the reservation). The sweeper charges this if the owner dies. */
enum rerr ledger_progress(struct db *db, int64_t id, int64_t cost_so_far);

/* Settle reservation id with the request's real cost, exactly once: the
 * reservation leaves reserved, the charge leaves the balance ('charge'
 * journal row, ref = the reservation id), total_spent/total_requests grow,
 * and log (may be NULL) is written to requests, all in one transaction.
 * When cost exceeds the reservation (the tolerance discount, an estimate
 * that was low) the overrun is charged from the key's free balance only -
 * never from funds other requests have reserved - and the rest is forgiven
 * (out->forgiven). Routstr instead charges min(balance, cost), which can eat
 * other requests' reservations and make available negative.
 * RERR_CONFLICT if already settled or released; RERR_NOT_FOUND. */
enum rerr ledger_settle(struct db *db, int64_t id, int64_t cost_msat,
    const struct ledger_request_log *log, struct ledger_settle_result *out);

/* Give reservation id back uncharged (upstream failed, nothing delivered),
 * exactly once: RERR_CONFLICT if already settled or released. */
enum rerr ledger_release(struct db *db, int64_t id);

/* Settle the active reservations (of key hash and its children, or all when
 * hash is NULL; at most LEDGER_SWEEP_BATCH per call) whose owning process is
 * gone: charge their recorded progress (already capped by the reservation),
 * or release them when nothing was recorded. A live owner's reservation is
 * never touched, however old. out may be NULL. */
enum rerr ledger_sweep(struct db *db, const char *hash, struct ledger_sweep_result *out);

/* Whether the process recorded as (pid, start_time, boot_id, pidns) is still
 * running: 1 alive, 0 gone, -1 cannot tell (another pid namespace). */
int ledger_owner_alive(pid_t pid, int64_t start_time, const char *boot_id, const char *pidns);

/* True when a key whose limit was last reset at then is due a reset at now
 * (local calendar day, ISO week, month changed). */
bool ledger_limit_reset_due(enum ledger_reset r, int64_t then, int64_t now);

/* ------------------------------------------------------------------------ */
/* Audit                                                                     */

/* Check the invariants on one snapshot: balance == sum(journal) per key,
 * reserved == sum(active reservations), no negative or overdrawn key, every
 * settled charge journaled, and (check_owners) no active reservation of a
 * dead process. *out (caller frees; NULL when none) gets up to
 * LEDGER_AUDIT_MAX violations, *n how many there were in all. */
enum rerr ledger_audit(struct db *db, bool check_owners, struct ledger_violation **out,
    size_t *n);

/* ledger_audit, and with_books the cross-checks with the Cashu wallet:
 * every receipt credited exactly once (RECEIPT_CREDIT), no credit without a
 * receipt (CREDIT_SOURCE), withdrawals worth their tokens (WITHDRAWAL), the
 * wallet's proofs equal to its history per mint and unit (WALLET), and the
 * books closing to the msat (BOOKS_DEFICIT / BOOKS_SURPLUS). */
enum rerr ledger_audit_all(struct db *db, bool check_owners, bool with_books,
    struct ledger_violation **out, size_t *n);

/* The books in msat (sat and msat units): what the wallet holds (unspent
 * and pending proofs) against what it owes: user balances + operator
 * earnings (charges, child-key fees, less adjustments) + the wallet's own
 * movements (less send fees paid to mints, plus minted, less melted, plus
 * receipts with no beneficiary) + pending (open withdrawals, receipts not
 * yet credited). wallet == owed when the books close. */
struct ledger_books {
	int64_t wallet, users, earned, wallet_ops, pending, owed;
};
enum rerr ledger_books(struct db *db, struct ledger_books *b);

/* What the operator has earned at each mint and unit: the wallet's proofs
 * there (unspent and pending), less what users are owed there (billing
 * keys' balances, by their refund mint and unit; primary_mint for keys
 * without one), less open withdrawals from there. Amounts in msat; earned
 * may be negative at a mint where users are owed more than is held there
 * (their value sits at another mint). */
struct ledger_earnings {
	char mint[LEDGER_TEXT_MAX + 1];
	char unit[16];
	int64_t held, users, pending, earned;
};
#define LEDGER_EARNINGS_MAX 64
enum rerr ledger_earnings(struct db *db, const char *primary_mint, struct ledger_earnings *rows,
    size_t max, size_t *n);

/* ------------------------------------------------------------------------ */
/* Withdrawals and receipts (the funds module's storage)                     */

/* One withdrawals row, copied out. */
struct ledger_withdrawal {
	int64_t id;
	char key_hash[LEDGER_KEY_MAX + 1];
	int64_t amount_msat;
	char mint[LEDGER_TEXT_MAX + 1];
	char unit[16];
	char source[32];
	char state[12];			/* open, done, reverted */
	int64_t tx_id;			/* the token made (done), else 0 */
	char method[12];		/* token, lightning */
	char bolt11[1024];		/* lightning: the invoice it pays */
	char owner[160];		/* lib/owner.h tag; "" once given up to recovery */
	char request_id[LEDGER_TEXT_MAX + 1];
	int64_t created_at;
};

/* Debit everything key hash can withdraw (the largest multiple of
 * unit_msat of its available balance) and record the withdrawal, owned by
 * this process, in one transaction ('refund' journal row, ref "wd:<id>").
 * out->id == 0 when there is nothing to withdraw. RERR_CONFLICT while the
 * key has active reservations; RERR_INVALID for a child key. */
enum rerr ledger_withdraw_begin(struct db *db, const char *hash, int64_t unit_msat,
    const char *mint, const char *unit, const char *source, const char *request_id,
    struct ledger_withdrawal *out);
/* The same while requests may be in flight: what no reservation holds, less
 * as much again as they reserved (the margin that pays an overrun). X-Cashu's
 * change up front, sent before a stream starts. */
enum rerr ledger_withdraw_begin_free(struct db *db, const char *hash, int64_t unit_msat,
    const char *mint, const char *unit, const char *source, const char *request_id,
    struct ledger_withdrawal *out);
/* A refund over Lightning: debit exactly amount_msat (reserved must be 0,
 * available at least that) and record the withdrawal with the recipient's
 * invoice, fetched before, in one transaction, as ledger_withdraw_begin
 * (method 'lightning'). RERR_CONFLICT while requests run or when the
 * balance no longer covers it; RERR_INVALID for a child key. */
enum rerr ledger_withdraw_begin_ln(struct db *db, const char *hash, int64_t amount_msat,
    const char *mint, const char *unit, const char *destination, const char *bolt11,
    const char *request_id, struct ledger_withdrawal *out);
/* The melt that pays a Lightning withdrawal (fund_ref "wd:<id>") is done:
 * open -> done with what it took (inputs less change, read from the
 * wallet's operation in the same transaction) and the rest of the debit
 * credited back (journal 'refund_revert', source "wd-back:<id>"). *spent and
 * *back (may be NULL) say how it split. RERR_CONFLICT when the row is not
 * open or no done melt is found. */
enum rerr ledger_withdraw_done_ln(struct db *db, int64_t id, int64_t *spent, int64_t *back);
/* The token (cashu_transactions id) was made: open -> done. RERR_CONFLICT
 * when the row is not open. */
enum rerr ledger_withdraw_done(struct db *db, int64_t id, int64_t tx_id);
/* No token was made: credit the amount back (journal 'refund_revert', source
 * "wd-revert:<id>") and open -> reverted, in one transaction, once. */
enum rerr ledger_withdraw_revert(struct db *db, int64_t id);
/* The runner gives an open withdrawal up to recovery. */
enum rerr ledger_withdraw_release(struct db *db, int64_t id);
/* The holder redeemed the token: it is not offered again. */
enum rerr ledger_withdraw_collected(struct db *db, int64_t id);
/* Up to max open withdrawals (of key hash, or all when NULL). */
enum rerr ledger_withdrawals_open(struct db *db, const char *hash, struct ledger_withdrawal *rows,
    size_t max, size_t *n);
/* The newest done, uncollected withdrawal of hash with source, or
 * RERR_NOT_FOUND. */
enum rerr ledger_withdraw_last(struct db *db, const char *hash, const char *source,
    struct ledger_withdrawal *w);

/* A redeemed token (cashu_transactions 'in' row) and who it is for. */
struct ledger_receipt {
	int64_t tx_id;
	char key_hash[LEDGER_KEY_MAX + 1];
	int64_t msat;			/* its value net of the mint's fee */
};
/* Up to max receipts with a beneficiary that no journal row credits yet. */
enum rerr ledger_receipts_uncredited(struct db *db, struct ledger_receipt *rows, size_t max,
    size_t *n);
/* Which key the credit of receipt tx_id went to: RERR_OK and key_hash, or
 * RERR_NOT_FOUND when it is not credited. */
enum rerr ledger_receipt_credited(struct db *db, int64_t tx_id, char key_hash[LEDGER_KEY_MAX + 1]);



#endif
