/* lnurl: the paying side of LNURL-pay (LUD-01, LUD-06, LUD-16), to pay a
 * user's refund or the operator's payout to a Lightning address, and the
 * amount of a BOLT11 invoice. No FastCGI, no database, no state.
 *
 * Everything here is hostile: the address comes from an API user and the
 * LNURL server is that user's, so an attacker may run it. Addresses and
 * URLs are checked with strict whole-string rules before anything is
 * fetched.
 *
 * URL rules (the address's URL and the LNURL's):
 * https, or http only when the caller allows it (tests) or the host is a
 * .onion (LUD-01); a host that is a DNS name, a dotted-quad IPv4 or a
 * bracketed IPv6 literal, with an optional port 1..65535; no userinfo, no
 * fragment, no space, control or non-ASCII byte, only RFC 3986 characters
 * and well-formed %XX escapes after the host; at most LNURL_URL_MAX bytes.
 * Loopback and private addresses are not refused: a name can resolve to
 * one whatever it looks like, so that check belongs where the connection is
 * made (lib/upstream), not here. */
#ifndef ROUTSTR_LNURL_H
#define ROUTSTR_LNURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LNURL_URL_MAX 2000		/* bytes of an address, LNURL or URL */
#define LNURL_BOLT11_MAX 8192		/* bytes of an invoice we accept */

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

#endif
