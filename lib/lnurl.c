/* lnurl: see lnurl.h. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnurl.h"
#include "util.h"

#define LNURL_USER_MAX 64		/* Lightning address user part */
#define BECH32_CHECKSUM_LEN 6
/* A BOLT11 data part holds at least a timestamp (7 words) and a signature
 * (104 words) before its checksum. */
#define BOLT11_DATA_MIN (7 + 104 + BECH32_CHECKSUM_LEN)
#define MSAT_PER_BTC INT64_C(100000000000)

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
