/* lnurl: the paying side of LNURL-pay (LUD-01, LUD-06, LUD-16), to pay a
 * user's refund or the operator's payout to a Lightning address, and the
 * amount of a BOLT11 invoice. No FastCGI, no database, no state: the HTTP
 * goes through lib/upstream's per-thread handle.
 *
 * Everything here is hostile: the address comes from an API user and the
 * LNURL server is that user's, so an attacker may run it. Addresses and
 * URLs are checked with strict whole-string rules before anything is
 * fetched; answers are capped (64 KiB, 10 s), parsed strictly, and the
 * invoice the server hands back must be for exactly the amount asked, so a
 * server cannot make us pay more than we meant to.
 *
 * URL rules (the address's URL, the LNURL's, and the server's callback):
 * https, or http only when the caller allows it (tests) or the host is a
 * .onion (LUD-01); a host that is a DNS name, a dotted-quad IPv4 or a
 * bracketed IPv6 literal, with an optional port 1..65535; no userinfo, no
 * fragment, no space, control or non-ASCII byte, only RFC 3986 characters
 * and well-formed %XX escapes after the host; at most LNURL_URL_MAX bytes.
 * Loopback and private addresses are not refused: a name can resolve to
 * one whatever it looks like, so that check belongs where the connection is
 * made (lib/upstream), not here; until it exists, these GETs can reach the
 * node's own network (the answers stay in here but for a short message). */
#ifndef ROUTSTR_LNURL_H
#define ROUTSTR_LNURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct upstream;

#define LNURL_URL_MAX 2000		/* bytes of an address, LNURL or URL */
#define LNURL_BOLT11_MAX 8192		/* bytes of an invoice we accept */
#define LNURL_SERVER_TEXT_MAX 200	/* bytes of server text put in a message */

/* Every way lnurl_invoice can fail. */
enum lnurl_err {
	LNURL_OK = 0,
	LNURL_E_INVALID,	/* bad arguments from our caller (amount <= 0, NULL) */
	LNURL_E_URL,		/* the URL, or the server's callback, breaks the URL rules */
	LNURL_E_UNREACHABLE,	/* no HTTP answer: DNS, connection, TLS, timeout */
	LNURL_E_HTTP,		/* an HTTP status other than 200 without an LNURL error */
	LNURL_E_BAD_ANSWER,	/* not JSON, too large, wrong tag, missing or odd members */
	LNURL_E_REFUSED,	/* {"status":"ERROR","reason":...} */
	LNURL_E_AMOUNT_RANGE,	/* the amount is outside [minSendable, maxSendable] */
	LNURL_E_INVOICE_AMOUNT,	/* the invoice is not for exactly the amount asked */
	LNURL_E__MAX
};

/* A short stable name ("refused", ...) and a generic sentence. Static. */
const char *lnurl_err_name(enum lnurl_err e);
const char *lnurl_err_message(enum lnurl_err e);
/* The project-wide error kind closest to e. */
enum rerr lnurl_err_rerr(enum lnurl_err e);

/* What went wrong. message is one line fit to show the API user: our own
 * words plus at most LNURL_SERVER_TEXT_MAX bytes of the server's reason,
 * with control and bidi characters removed. Plain data, caller-owned. */
struct lnurl_error {
	enum lnurl_err kind;
	int http_status;		/* of the last answer, 0 if none arrived */
	int64_t min_sendable;		/* msat, from the server; 0 until known */
	int64_t max_sendable;
	char message[320];
};

/* Turn what a user gave into the URL of its LNURL-pay endpoint, written to
 * url (n bytes, NUL-terminated). Accepted:
 *   user@host[:port]  a Lightning address (LUD-16): user of a-z 0-9 - _ . +
 *                     (upper case is lowered; not only dots), at most 64;
 *                     -> https://host[:port]/.well-known/lnurlp/user, or
 *                     http:// with allow_http or for a .onion host;
 *   lnurl1...         a bech32 LNURL (LUD-01), either case, optionally after
 *                     "lightning:" (any case), whose bytes are a URL;
 *   https://...       a URL as it is (http:// as the URL rules above say).
 * Borrows address. 0, or -1 when it is none of these, breaks the URL rules,
 * is longer than LNURL_URL_MAX, or the result does not fit in n. */
int lnurl_resolve(const char *address, bool allow_http, char *url, size_t n);

/* The amount of a BOLT11 invoice, from its human-readable part: "ln", a
 * currency (bc, tb, tbs, bcrt, sb), then an optional amount with no leading
 * zero and an optional multiplier m, u, n or p (p amounts must be whole
 * millisatoshis). The whole invoice must be valid bech32 (one case, right
 * checksum, no length limit up to LNURL_BOLT11_MAX) with room for the
 * timestamp and signature. Borrows bolt11. 1 with *msat set, 0 when the
 * invoice names no amount (*msat = 0), -1 when it is malformed or the
 * amount does not fit in an int64. */
int lnurl_bolt11_amount(const char *bolt11, int64_t *msat);

/* LUD-06 with the URL from lnurl_resolve: GET url, check the payRequest
 * (tag, callback under the URL rules, integer minSendable <= amount_msat <=
 * maxSendable), GET the callback with amount=<amount_msat> (and comment,
 * URL-encoded, only when the server's commentAllowed is at least its
 * length; omitted otherwise), and check that the invoice it returns parses
 * and is for exactly amount_msat. Each of the two GETs: connect 5 s, 10 s,
 * answers up to 64 KiB, and no redirect is followed (a 3xx is
 * LNURL_E_HTTP). An {"status":"ERROR"} answer is LNURL_E_REFUSED whatever
 * its HTTP status.
 *
 * up is borrowed (the calling thread's handle); url and comment (may be
 * NULL) are borrowed. On LNURL_OK *bolt11 is a new string the caller frees;
 * otherwise *bolt11 is NULL and e (may be NULL) says why. Nothing is paid
 * here: the caller pays the invoice (a melt) and must not pay one that did
 * not come back with LNURL_OK. */
enum lnurl_err lnurl_invoice(struct upstream *up, const char *url, bool allow_http,
    int64_t amount_msat, const char *comment, char **bolt11, struct lnurl_error *e);

#endif
