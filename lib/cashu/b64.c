/* cashu/b64: see b64.h. */
#include "config.h"

#include <string.h>

#include "cashu/b64.h"

static const char b64_chars[B64__MAX][65] = {
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

/* Length of the encoding of n bytes; no overflow for n below SIZE_MAX / 2. */
size_t
b64_encoded_len(size_t n, bool pad)
{
	size_t full = n / 3 * 4, rest = n % 3;

	if (rest == 0)
		return full;
	return full + (pad ? 4 : rest + 1);
}

/* Upper bound on decoded bytes for len characters. */
size_t
b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 3;
}

/* Encode into caller-owned out; returns the length or (size_t)-1. */
size_t
b64_encode(const uint8_t *in, size_t n, enum b64_alphabet a, bool pad, char *out,
    size_t outsz)
{
	const char *tab;
	size_t need, i, o = 0;

	if ((unsigned)a >= B64__MAX || n > (SIZE_MAX - 8) / 2)
		return (size_t)-1;
	tab = b64_chars[a];
	need = b64_encoded_len(n, pad);
	if (outsz < need + 1)
		return (size_t)-1;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* The 6-bit value of c, noting which alphabet its special characters
 * belong to in *seen (bit 1: standard, bit 2: url); -1 if not base64. */
static int
b64_val(char c, unsigned *seen)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	switch (c) {
	case '+':
		*seen |= 1;
		return 62;
	case '/':
		*seen |= 1;
		return 63;
	case '-':
		*seen |= 2;
		return 62;
	case '_':
		*seen |= 2;
		return 63;
	default:
		return -1;
	}
}

/* Strict decode into caller-owned out; see b64.h. */
int
b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t npad = 0, ndata, i, o = 0, rest;
	unsigned seen = 0;
	uint32_t acc = 0;
	int bits = 0;

	*outlen = 0;
	/* Padding: up to two '=' at the very end, and then the whole length
	 * must be a multiple of four. */
	while (npad < len && npad < 3 && in[len - 1 - npad] == '=')
		npad++;
	if (npad > 2 || (npad > 0 && len % 4 != 0))
		return -1;
	ndata = len - npad;
	rest = ndata % 4;
	if (rest == 1)
		return -1;
	if (npad > 0 && npad != 4 - rest)
		return -1;
	if (ndata / 4 * 3 + (rest ? rest - 1 : 0) > outsz)
		return -1;
	for (i = 0; i < ndata; i++) {
		int v = b64_val(in[i], &seen);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits & 0xff);
			acc &= (1u << bits) - 1;
		}
	}
	if (seen == 3)	/* both alphabets in one string */
		return -1;
	if (acc != 0)	/* non-canonical trailing bits */
		return -1;
	*outlen = o;
	return 0;
}
