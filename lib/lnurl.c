/* lnurl: see lnurl.h. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "json.h"
#include "lnurl.h"
#include "upstream.h"
#include "util.h"

#define LNURL_RESPONSE_MAX (64u << 10)	/* largest LNURL answer we buffer */
#define LNURL_CONNECT_TIMEOUT_S 5
#define LNURL_TIMEOUT_S 10
#define LNURL_USER_MAX 64		/* Lightning address user part */
#define BECH32_CHECKSUM_LEN 6
/* A BOLT11 data part holds at least a timestamp (7 words) and a signature
 * (104 words) before its checksum. */
#define BOLT11_DATA_MIN (7 + 104 + BECH32_CHECKSUM_LEN)
#define MSAT_PER_BTC INT64_C(100000000000)

/* ================================================================ errors */

static const struct {
	const char *name;
	const char *message;
	enum rerr rerr;
} err_tab[LNURL_E__MAX] = {
	[LNURL_OK] = { "ok", "OK", RERR_OK },
	[LNURL_E_INVALID] = { "invalid", "Invalid LNURL payment request", RERR_INVALID },
	[LNURL_E_URL] = { "url", "The Lightning address or LNURL is not acceptable", RERR_INVALID },
	[LNURL_E_UNREACHABLE] = { "unreachable", "The LNURL server is unreachable", RERR_UPSTREAM },
	[LNURL_E_HTTP] = { "http", "The LNURL server answered with an HTTP error", RERR_UPSTREAM },
	[LNURL_E_BAD_ANSWER] = { "bad_answer", "The LNURL server sent an invalid answer", RERR_UPSTREAM },
	[LNURL_E_REFUSED] = { "refused", "The LNURL server refused the payment", RERR_UPSTREAM },
	[LNURL_E_AMOUNT_RANGE] = { "amount_range", "The amount is outside the LNURL server's limits",
	    RERR_INVALID },
	[LNURL_E_INVOICE_AMOUNT] = { "invoice_amount",
	    "The LNURL server's invoice is not for the amount asked", RERR_UPSTREAM },
};

const char *
lnurl_err_name(enum lnurl_err e)
{
	return (unsigned)e < LNURL_E__MAX ? err_tab[e].name : "unknown";
}

const char *
lnurl_err_message(enum lnurl_err e)
{
	return (unsigned)e < LNURL_E__MAX ? err_tab[e].message : "unknown error";
}

enum rerr
lnurl_err_rerr(enum lnurl_err e)
{
	return (unsigned)e < LNURL_E__MAX ? err_tab[e].rerr : RERR_INTERNAL;
}

/* Fill e (not NULL) with kind and a printf-style message; returns kind. */
static enum lnurl_err fail(struct lnurl_error *e, enum lnurl_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum lnurl_err
fail(struct lnurl_error *e, enum lnurl_err kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return kind;
}

/* ================================================================ characters */

/* Locale-free ASCII classes: the rules below are about bytes, not text. */
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_lower(int c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static bool is_alnum(int c) { return is_digit(c) || is_lower(c) || is_upper(c); }
static int lc(int c) { return is_upper(c) ? c + 32 : c; }

/* Whether the n bytes at a and b are equal but for ASCII case. */
static bool
ieqn(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return false;
	return true;
}

static bool
is_hexdig(int c)
{
	return is_digit(c) || (lc(c) >= 'a' && lc(c) <= 'f');
}

/* One UTF-8 sequence at p (n bytes left): its length and code point, or 0
 * when it is not well formed. */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

/* Characters that must not reach a user's screen or a log line from a
 * server: C0, DEL, C1, line and paragraph separators, bidi controls. */
static bool
is_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f ||
	    c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

/* Copy server text in into out (size bytes): at most LNURL_SERVER_TEXT_MAX
 * bytes of it, whole UTF-8 characters only, unsafe ones and malformed bytes
 * dropped, "..." when cut. Borrows in. */
static void
server_text(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0, max = LNURL_SERVER_TEXT_MAX;

	if (max > size - 4)
		max = size - 4;
	while (i < n) {
		uint32_t c;
		size_t len = utf8_seq(p + i, n - i, &c);

		if (len == 0) {
			i++;
			continue;
		}
		if (!is_unsafe(c)) {
			if (o + len > max) {
				memcpy(out + o, "...", 3);
				o += 3;
				break;
			}
			memcpy(out + o, p + i, len);
			o += len;
		}
		i += len;
	}
	out[o] = '\0';
}

/* ================================================================ URLs */

/* Four decimal labels 0..255 without leading zeros (p is LDH labels). */
static bool
ipv4_ok(const char *p, size_t n)
{
	size_t i = 0, parts = 0;

	while (i <= n) {
		size_t s = i;
		uint64_t v;

		while (i < n && p[i] != '.')
			i++;
		if (i - s > 3 || (i - s > 1 && p[s] == '0') || parse_u64n(p + s, i - s, 255, &v) < 0)
			return false;
		parts++;
		i++;
	}
	return parts == 4;
}

/* A DNS name (LDH labels of 1..63, 253 in all, no trailing dot) whose last
 * label does not start with a digit, or else a dotted-quad IPv4 address:
 * nothing a resolver could read as a number in another base. */
static bool
hostname_ok(const char *p, size_t n)
{
	size_t i, start = 0;
	bool numeric = false;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (i == start || i - start > 63 || p[start] == '-' || p[i - 1] == '-')
				return false;
			numeric = is_digit(p[start]);
			start = i + 1;
		} else if (!is_alnum(p[i]) && p[i] != '-') {
			return false;
		}
	}
	return !numeric || ipv4_ok(p, n);
}

/* "[v6]" with an IPv6 literal inet_pton takes (no zone id). */
static bool
ipv6_ok(const char *p, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t i;

	if (n < 4 || p[0] != '[' || p[n - 1] != ']' || n - 2 >= sizeof(tmp))
		return false;
	for (i = 1; i < n - 1; i++)
		if (!is_hexdig(p[i]) && p[i] != ':' && p[i] != '.')
			return false;
	memcpy(tmp, p + 1, n - 2);
	tmp[n - 2] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* An authority: host[:port], the port 1..65535 without leading zeros.
 * *onion tells whether the host is a Tor onion name. */
static bool
authority_ok(const char *p, size_t n, bool *onion)
{
	const char *colon;
	size_t hl = n;
	uint64_t port;

	*onion = false;
	if (n > 0 && p[0] == '[') {
		const char *end = memchr(p, ']', n);

		if (end == NULL)
			return false;
		hl = (size_t)(end - p) + 1;
		if (!ipv6_ok(p, hl))
			return false;
		if (hl < n && p[hl] != ':')
			return false;
	} else {
		colon = memchr(p, ':', n);
		if (colon)
			hl = (size_t)(colon - p);
		if (!hostname_ok(p, hl))
			return false;
		*onion = hl > 6 && ieqn(p + hl - 6, ".onion", 6);
	}
	if (hl == n)
		return true;
	p += hl + 1;
	n -= hl + 1;
	return n > 0 && p[0] != '0' && parse_u64n(p, n, 65535, &port) == 0;
}

/* Path and query: RFC 3986 pchar, '/' and '?', with well-formed %XX. No
 * fragment, space, control, quote, backslash, bracket or non-ASCII byte. */
static bool
rest_ok(const char *p, size_t n)
{
	static const char ok[] = "-._~!$&'()*+,;=:@/?";
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '%') {
			if (n - i < 3 || !is_hexdig(p[i + 1]) || !is_hexdig(p[i + 2]))
				return false;
			i += 2;
		} else if (!is_alnum(p[i]) && (p[i] == '\0' || strchr(ok, p[i]) == NULL)) {
			return false;
		}
	}
	return true;
}

/* Check URL s (len bytes) against the rules of lnurl.h and, when out is not
 * NULL, copy it there (n bytes) with scheme and host lower-cased. */
static int
url_check(const char *s, size_t len, bool allow_http, char *out, size_t n)
{
	size_t i, a;
	bool http, onion;

	if (len == 0 || len > LNURL_URL_MAX)
		return -1;
	if (len >= 8 && ieqn(s, "https://", 8)) {
		http = false;
		a = 8;
	} else if (len >= 7 && ieqn(s, "http://", 7)) {
		http = true;
		a = 7;
	} else {
		return -1;
	}
	for (i = a; i < len && s[i] != '/' && s[i] != '?'; i++)
		continue;
	if (!authority_ok(s + a, i - a, &onion) || !rest_ok(s + i, len - i))
		return -1;
	if (http && !allow_http && !onion)
		return -1;
	if (out == NULL)
		return 0;
	if (len >= n)
		return -1;
	for (a = 0; a < i; a++)
		out[a] = (char)lc(s[a]);
	memcpy(out + i, s + i, len - i);
	out[len] = '\0';
	return 0;
}

/* ================================================================ bech32 */

static const char b32chars[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static int
b32_value(int c)
{
	const char *p;

	c = lc(c);
	if (c == '\0' || (p = strchr(b32chars, c)) == NULL)
		return -1;
	return (int)(p - b32chars);
}

/* BIP-173 checksum: one step of the polymod over GF(32). */
static uint32_t
polymod_step(uint32_t c)
{
	static const uint32_t gen[5] = {
		0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3
	};
	uint32_t b = c >> 25;
	int i;

	c = (c & 0x1ffffff) << 5;
	for (i = 0; i < 5; i++)
		if ((b >> i) & 1)
			c ^= gen[i];
	return c;
}

/* Whether s (len bytes) is bech32 (BIP-173, not bech32m) without the
 * 90-character limit: printable ASCII, one case, a '1' (the last one ends
 * the human-readable part, which is not empty) followed by at least six
 * data characters, and the checksum right. *sep is the '1''s position. */
static int
bech32_verify(const char *s, size_t len, size_t *sep)
{
	bool lower = false, upper = false;
	uint32_t chk = 1;
	size_t i, p = len;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c < 33 || c > 126)
			return -1;
		lower |= is_lower(c);
		upper |= is_upper(c);
		if (c == '1')
			p = i;
	}
	if ((lower && upper) || p == len || p == 0 || len - p - 1 < BECH32_CHECKSUM_LEN)
		return -1;
	for (i = 0; i < p; i++)
		chk = polymod_step(chk) ^ (uint32_t)(lc(s[i]) >> 5);
	chk = polymod_step(chk);
	for (i = 0; i < p; i++)
		chk = polymod_step(chk) ^ (uint32_t)(lc(s[i]) & 31);
	for (i = p + 1; i < len; i++) {
		int v = b32_value(s[i]);

		if (v < 0)
			return -1;
		chk = polymod_step(chk) ^ (uint32_t)v;
	}
	if (chk != 1)
		return -1;
	*sep = p;
	return 0;
}

/* ================================================================ resolve */

/* LUD-01: "lnurl1" + bech32 data whose bytes (5 to 8 bits, zero padding of
 * under 5 bits) are a URL under the rules. */
static int
lnurl_decode(const char *s, size_t len, bool allow_http, char *url, size_t n)
{
	char dec[LNURL_URL_MAX];
	size_t sep, i, nb = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (bech32_verify(s, len, &sep) < 0 || sep != 5 || !ieqn(s, "lnurl", 5))
		return -1;
	for (i = sep + 1; i < len - BECH32_CHECKSUM_LEN; i++) {
		acc = ((acc << 5) | (uint32_t)b32_value(s[i])) & 0x1fff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (nb == sizeof(dec))
				return -1;
			dec[nb++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return url_check(dec, nb, allow_http, url, n);
}

/* LUD-16: user@host[:port] to its well-known URL. */
static int
address_url(const char *s, size_t len, bool allow_http, char *url, size_t n)
{
	const char *at = memchr(s, '@', len);
	char user[LNURL_USER_MAX + 1];
	const char *scheme;
	size_t ul, i, hend;
	bool onion, dots = true;
	int w;

	if (at == NULL)
		return -1;
	ul = (size_t)(at - s);
	if (ul == 0 || ul > LNURL_USER_MAX)
		return -1;
	for (i = 0; i < ul; i++) {
		int c = lc(s[i]);

		if (!is_lower(c) && !is_digit(c) && c != '-' && c != '_' && c != '.' && c != '+')
			return -1;
		dots &= c == '.';
		user[i] = (char)c;
	}
	user[ul] = '\0';
	/* "." or ".." would climb out of /.well-known/lnurlp/. */
	if (dots)
		return -1;
	if (!authority_ok(at + 1, len - ul - 1, &onion))
		return -1;
	scheme = allow_http || onion ? "http" : "https";
	w = snprintf(url, n, "%s://%.*s/.well-known/lnurlp/%s", scheme, (int)(len - ul - 1),
	    at + 1, user);
	if (w < 0 || (size_t)w >= n || (size_t)w > LNURL_URL_MAX)
		return -1;
	hend = strlen(scheme) + 3 + (len - ul - 1);
	for (i = 0; i < hend; i++)
		url[i] = (char)lc(url[i]);
	return 0;
}

int
lnurl_resolve(const char *address, bool allow_http, char *url, size_t n)
{
	size_t len;

	if (address == NULL || url == NULL || n == 0)
		return -1;
	len = strnlen(address, LNURL_URL_MAX + 1);
	if (len == 0 || len > LNURL_URL_MAX)
		return -1;
	if (str_iprefix(address, "lightning:")) {
		address += 10;
		len -= 10;
		if (!str_iprefix(address, "lnurl1"))
			return -1;
		return lnurl_decode(address, len, allow_http, url, n);
	}
	if (str_iprefix(address, "https://") || str_iprefix(address, "http://"))
		return url_check(address, len, allow_http, url, n);
	if (memchr(address, '@', len))
		return address_url(address, len, allow_http, url, n);
	if (str_iprefix(address, "lnurl1"))
		return lnurl_decode(address, len, allow_http, url, n);
	return -1;
}

/* ================================================================ BOLT11 */

int
lnurl_bolt11_amount(const char *bolt11, int64_t *msat)
{
	static const char *const currencies[] = { "bc", "tb", "tbs", "bcrt", "sb" };
	size_t len, sep, i, d, k;
	uint64_t a;
	int64_t per;
	bool known = false;

	if (bolt11 == NULL || msat == NULL)
		return -1;
	len = strnlen(bolt11, LNURL_BOLT11_MAX + 1);
	if (len > LNURL_BOLT11_MAX || bech32_verify(bolt11, len, &sep) < 0 ||
	    len - sep - 1 < BOLT11_DATA_MIN)
		return -1;
	if (sep < 4 || lc(bolt11[0]) != 'l' || lc(bolt11[1]) != 'n')
		return -1;
	for (i = 2; i < sep && (is_lower(bolt11[i]) || is_upper(bolt11[i])); i++)
		continue;
	for (k = 0; k < ARRAY_SIZE(currencies); k++)
		if (strlen(currencies[k]) == i - 2 && ieqn(bolt11 + 2, currencies[k], i - 2))
			known = true;
	if (!known)
		return -1;
	if (i == sep) {
		*msat = 0;
		return 0;
	}
	for (d = i; d < sep && is_digit(bolt11[d]); d++)
		continue;
	if (d == i || bolt11[i] == '0' || parse_u64n(bolt11 + i, d - i, UINT64_MAX, &a) < 0)
		return -1;
	if (d == sep) {
		per = MSAT_PER_BTC;
	} else if (d + 1 != sep) {
		return -1;
	} else {
		switch (lc(bolt11[d])) {
		case 'm': per = MSAT_PER_BTC / 1000; break;
		case 'u': per = MSAT_PER_BTC / 1000000; break;
		case 'n': per = MSAT_PER_BTC / 1000000000; break;
		case 'p':
			/* 10 pico-bitcoin to the millisatoshi; less cannot be paid. */
			if (a % 10 != 0)
				return -1;
			a /= 10;
			per = 1;
			break;
		default:
			return -1;
		}
	}
	if (a > (uint64_t)(INT64_MAX / per))
		return -1;
	*msat = (int64_t)a * per;
	return 1;
}

/* ================================================================ LNURL-pay */

/* s percent-encoded but for RFC 3986 unreserved bytes; caller frees. */
static char *
url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	char *out = xmalloc(3 * n + 1);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* A string member of obj as C sees it, or NULL when absent, not a string,
 * or holding a NUL (which would cut it short). Borrowed from obj. */
static const char *
whole_str(struct json_object *obj, const char *key)
{
	struct json_object *v = json_get(obj, key);
	const char *s;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

/* GET url (what names it in messages) and parse its answer. LNURL_OK with
 * *out a new reference to the JSON object of a 200 that is no LNURL error;
 * otherwise *out is NULL and e says why. Borrows url. */
static enum lnurl_err
get_json(struct upstream *up, const char *url, const char *what, struct json_object **out,
    struct lnurl_error *e)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	struct upstream_request rq;
	struct upstream_result res;
	struct json_object *j = NULL;
	const char *status, *reason, *why = "invalid JSON";
	char text[LNURL_SERVER_TEXT_MAX + 4];
	enum lnurl_err kind = LNURL_OK;
	enum rerr rc;

	*out = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = url;
	rq.headers = headers;
	rq.connect_timeout_s = LNURL_CONNECT_TIMEOUT_S;
	rq.total_timeout_s = LNURL_TIMEOUT_S;
	rq.max_response = LNURL_RESPONSE_MAX;
	/* upstream sets no CURLOPT_FOLLOWLOCATION: a redirect comes back as
	 * its 3xx, which is refused below like any status but 200. */
	rc = upstream_perform(up, &rq, NULL, NULL, &res);
	e->http_status = res.status;
	if (rc == RERR_TOO_LARGE) {
		kind = fail(e, LNURL_E_BAD_ANSWER, "The LNURL server's %s answer is larger than %u KiB",
		    what, LNURL_RESPONSE_MAX >> 10);
		goto out;
	}
	if (rc == RERR_TIMEOUT) {
		kind = fail(e, LNURL_E_UNREACHABLE, "The LNURL server did not answer in time (%s)",
		    what);
		goto out;
	}
	if (rc != RERR_OK) {
		server_text(res.error, text, sizeof(text));
		kind = fail(e, LNURL_E_UNREACHABLE, "The LNURL server is unreachable (%s): %s", what,
		    text);
		goto out;
	}
	if (res.body.len > 0)
		j = json_parse_strict(res.body.data, res.body.len, &why);
	if (j != NULL && !json_object_is_type(j, json_type_object)) {
		why = "not a JSON object";
		json_object_put(j);
		j = NULL;
	}
	status = j ? whole_str(j, "status") : NULL;
	if (status && str_ieq(status, "ERROR")) {
		reason = json_get_str(j, "reason");
		server_text(reason ? reason : "", text, sizeof(text));
		kind = fail(e, LNURL_E_REFUSED, "The LNURL server refused: %s",
		    text[0] ? text : "no reason given");
		goto out;
	}
	if (res.status != 200) {
		kind = fail(e, LNURL_E_HTTP, "The LNURL server answered HTTP %d (%s)", res.status,
		    what);
		goto out;
	}
	if (j == NULL) {
		kind = fail(e, LNURL_E_BAD_ANSWER, "The LNURL server's %s answer is not JSON: %s",
		    what, res.body.len ? why : "empty body");
		goto out;
	}
	*out = j;
	j = NULL;
out:
	json_object_put(j);
	upstream_result_free(&res);
	return kind;
}

enum lnurl_err
lnurl_invoice(struct upstream *up, const char *url, bool allow_http, int64_t amount_msat,
    const char *comment, char **bolt11, struct lnurl_error *e)
{
	struct lnurl_error scratch;
	struct json_object *pay = NULL, *inv = NULL;
	const char *tag, *callback, *pr, *sep;
	char *cburl = NULL, *enc = NULL;
	int64_t min, max, allowed = 0, got = 0;
	enum lnurl_err kind;
	size_t cl;
	int rc;

	if (e == NULL)
		e = &scratch;
	memset(e, 0, sizeof(*e));
	if (bolt11 == NULL)
		return fail(e, LNURL_E_INVALID, "Invalid LNURL payment request");
	*bolt11 = NULL;
	if (up == NULL || url == NULL || amount_msat <= 0)
		return fail(e, LNURL_E_INVALID, "Invalid LNURL payment request");
	if (url_check(url, strnlen(url, LNURL_URL_MAX + 1), allow_http, NULL, 0) < 0)
		return fail(e, LNURL_E_URL, "The LNURL URL is not acceptable");

	if ((kind = get_json(up, url, "payRequest", &pay, e)) != LNURL_OK)
		goto out;
	tag = whole_str(pay, "tag");
	if (tag == NULL || strcmp(tag, "payRequest") != 0) {
		kind = fail(e, LNURL_E_BAD_ANSWER, "The LNURL server's answer is not a payRequest");
		goto out;
	}
	callback = whole_str(pay, "callback");
	if (callback == NULL) {
		kind = fail(e, LNURL_E_BAD_ANSWER, "The LNURL server's payRequest has no callback");
		goto out;
	}
	cl = strlen(callback);
	if (url_check(callback, cl, allow_http, NULL, 0) < 0) {
		kind = fail(e, LNURL_E_URL, "The LNURL server's callback URL is not acceptable");
		goto out;
	}
	/* LUD-06 makes both required; numbers only, no strings or floats. */
	if (json_get_i64(pay, "minSendable", &min) < 0 ||
	    json_get_i64(pay, "maxSendable", &max) < 0 || min < 1 || max < min) {
		kind = fail(e, LNURL_E_BAD_ANSWER,
		    "The LNURL server's payRequest has no valid minSendable and maxSendable");
		goto out;
	}
	e->min_sendable = min;
	e->max_sendable = max;
	if (amount_msat < min || amount_msat > max) {
		kind = fail(e, LNURL_E_AMOUNT_RANGE, "%" PRId64 " msat is outside what the LNURL "
		    "server accepts (%" PRId64 " to %" PRId64 " msat)", amount_msat, min, max);
		goto out;
	}
	/* LUD-12: a comment the server did not ask for, or a longer one, is
	 * left out rather than failing the payment. */
	if (json_get_i64(pay, "commentAllowed", &allowed) < 0)
		allowed = 0;
	if (comment && comment[0] && allowed > 0 && (uint64_t)allowed >= strlen(comment))
		enc = url_encode(comment);

	if (strchr(callback, '?') == NULL)
		sep = "?";
	else if (callback[cl - 1] == '?' || callback[cl - 1] == '&')
		sep = "";
	else
		sep = "&";
	cburl = xasprintf("%s%samount=%" PRId64 "%s%s", callback, sep, amount_msat,
	    enc ? "&comment=" : "", enc ? enc : "");
	if ((kind = get_json(up, cburl, "invoice", &inv, e)) != LNURL_OK)
		goto out;
	pr = whole_str(inv, "pr");
	if (pr == NULL) {
		kind = fail(e, LNURL_E_BAD_ANSWER, "The LNURL server's answer has no invoice (pr)");
		goto out;
	}
	rc = lnurl_bolt11_amount(pr, &got);
	if (rc < 0) {
		kind = fail(e, LNURL_E_BAD_ANSWER, "The LNURL server's invoice is malformed");
		goto out;
	}
	/* The check that matters: we pay what the invoice says, so it must
	 * say exactly what we asked for. */
	if (rc == 0) {
		kind = fail(e, LNURL_E_INVOICE_AMOUNT, "The LNURL server's invoice names no amount");
		goto out;
	}
	if (got != amount_msat) {
		kind = fail(e, LNURL_E_INVOICE_AMOUNT, "The LNURL server's invoice is for %" PRId64
		    " msat, not the %" PRId64 " msat asked", got, amount_msat);
		goto out;
	}
	*bolt11 = xstrdup(pr);
	e->kind = LNURL_OK;
out:
	json_object_put(pay);
	json_object_put(inv);
	free(cburl);
	free(enc);
	return kind;
}
