/* Check suite for lib/lnurl: every form lnurl_resolve accepts and many
 * hostile ones, the LUD-01 vector; BOLT11 amounts from the BOLT 11 examples
 * and from invoices built here with a right checksum (overflow, p amounts,
 * bad checksums, bech32m); and lnurl_invoice against a tiny HTTP/1.1 server
 * on 127.0.0.1 in a thread of the test, which serves canned answers per
 * path: the happy path, LNURL errors, wrong tags and amounts, forbidden
 * callbacks, an invoice for another amount, non-JSON, 500, a redirect, an
 * oversized body and a closed connection. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lnurl.h"
#include "upstream.h"
#include "testlib.h"

/* ================================================================ bech32 */

static const char b32[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
#define BECH32 1u
#define BECH32M 0x2bc830a3u

/* Written from BIP-173 here rather than taken from lib/lnurl, so a mistake
 * there is not repeated in the test. */
static uint32_t
polymod(uint32_t c, unsigned v)
{
	static const uint32_t g[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3 };
	uint32_t top = c >> 25;
	int i;

	c = ((c & 0x1ffffff) << 5) ^ v;
	for (i = 0; i < 5; i++)
		if ((top >> i) & 1)
			c ^= g[i];
	return c;
}

/* hrp (lower case) + '1' + the words + their checksum (constant k) into out. */
static void
b32_encode(const char *hrp, const uint8_t *w, size_t nw, uint32_t k, char *out, size_t size)
{
	size_t hl = strlen(hrp), i, o;
	uint32_t c = 1;

	ck_assert_uint_lt(hl + 1 + nw + 6, size);
	for (i = 0; i < hl; i++)
		c = polymod(c, (unsigned char)hrp[i] >> 5);
	c = polymod(c, 0);
	for (i = 0; i < hl; i++)
		c = polymod(c, (unsigned char)hrp[i] & 31);
	for (i = 0; i < nw; i++)
		c = polymod(c, w[i]);
	for (i = 0; i < 6; i++)
		c = polymod(c, 0);
	c ^= k;
	memcpy(out, hrp, hl);
	o = hl;
	out[o++] = '1';
	for (i = 0; i < nw; i++)
		out[o++] = b32[w[i]];
	for (i = 0; i < 6; i++)
		out[o++] = b32[(c >> (5 * (5 - i))) & 31];
	out[o] = '\0';
}

/* An invoice with human-readable part hrp: 121 data words (timestamp,
 * signature and a little more; the contents do not matter here). */
static void
invoice_k(const char *hrp, uint32_t k, char *out, size_t size)
{
	uint8_t w[121];
	size_t i;

	for (i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)((i * 7 + 3) % 32);
	b32_encode(hrp, w, sizeof(w), k, out, size);
}

static void
invoice(const char *hrp, char *out, size_t size)
{
	invoice_k(hrp, BECH32, out, size);
}

/* The len bytes at url as a LUD-01 LNURL (upper case when upper). */
static void
lnurl_of_n(const char *url, size_t len, bool upper, char *out, size_t size)
{
	uint8_t w[4096];
	size_t n = 0, i;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | (unsigned char)url[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			w[n++] = (acc >> bits) & 31;
		}
	}
	if (bits > 0)
		w[n++] = (acc << (5 - bits)) & 31;
	ck_assert_uint_lt(n, sizeof(w));
	b32_encode("lnurl", w, n, BECH32, out, size);
	for (i = 0; upper && out[i]; i++)
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 32);
}

static void
lnurl_of(const char *url, bool upper, char *out, size_t size)
{
	lnurl_of_n(url, strlen(url), upper, out, size);
}

/* ================================================================ resolve */

#define LUD01 "LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS"
#define LUD01_URL "https://service.com/api?q=3fc3645b439ce8e7f2553a69e5267081d96dcd340693afabe04be7b0ccd178df"

START_TEST(resolve_accepts)
{
	static const struct {
		const char *in;
		bool http;
		const char *want;
	} t[] = {
		{ "alice@example.com", false, "https://example.com/.well-known/lnurlp/alice" },
		{ "Alice.B-c_d+e9@Example.COM", false,
		  "https://example.com/.well-known/lnurlp/alice.b-c_d+e9" },
		{ "bob@pay.example.com:8443", false,
		  "https://pay.example.com:8443/.well-known/lnurlp/bob" },
		{ "bob@localhost", false, "https://localhost/.well-known/lnurlp/bob" },
		{ "bob@xn--bcher-kva.example", false,
		  "https://xn--bcher-kva.example/.well-known/lnurlp/bob" },
		{ "bob@127.0.0.1:8080", true, "http://127.0.0.1:8080/.well-known/lnurlp/bob" },
		{ "bob@10.0.0.1", false, "https://10.0.0.1/.well-known/lnurlp/bob" },
		{ "bob@[::1]:8080", false, "https://[::1]:8080/.well-known/lnurlp/bob" },
		{ "bob@[2001:DB8::1]", false, "https://[2001:db8::1]/.well-known/lnurlp/bob" },
		{ "a..b@example.com", false, "https://example.com/.well-known/lnurlp/a..b" },
		/* LUD-16: an onion domain is reached over http. */
		{ "bob@abcdefghij.onion", false, "http://abcdefghij.onion/.well-known/lnurlp/bob" },
		{ "https://service.com/api?q=1&r=%2F", false, "https://service.com/api?q=1&r=%2F" },
		{ "HTTPS://Service.COM:443/Api?X=Y", false, "https://service.com:443/Api?X=Y" },
		{ "https://service.com", false, "https://service.com" },
		{ "https://service.com?q", false, "https://service.com?q" },
		{ "https://a.b/p;x=1/~u/!$'()*,@:", false, "https://a.b/p;x=1/~u/!$'()*,@:" },
		{ "http://127.0.0.1:1234/x", true, "http://127.0.0.1:1234/x" },
		{ "http://abc.onion/x", false, "http://abc.onion/x" },
		{ "HTTP://ABC.ONION/x", false, "http://abc.onion/x" },
		{ LUD01, false, LUD01_URL },
		{ "lightning:" LUD01, false, LUD01_URL },
		{ "LIGHTNING:" LUD01, false, LUD01_URL },
		{ "LiGhTnInG:" LUD01, false, LUD01_URL },
	};
	char url[LNURL_URL_MAX + 1], lower[sizeof(LUD01)];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(url, 'X', sizeof(url));
		ck_assert_msg(lnurl_resolve(t[i].in, t[i].http, url, sizeof(url)) == 0,
		    "refused %s", t[i].in);
		ck_assert_str_eq(url, t[i].want);
	}
	for (i = 0; i < sizeof(LUD01); i++)
		lower[i] = LUD01[i] >= 'A' && LUD01[i] <= 'Z' ? (char)(LUD01[i] + 32) : LUD01[i];
	ck_assert_int_eq(lnurl_resolve(lower, false, url, sizeof(url)), 0);
	ck_assert_str_eq(url, LUD01_URL);
	/* The result must fit, NUL included. */
	ck_assert_int_eq(lnurl_resolve("https://a.bc/", false, url, 14), 0);
	ck_assert_int_eq(lnurl_resolve("https://a.bc/", false, url, 13), -1);
	ck_assert_int_eq(lnurl_resolve("bob@a.bc", false, url, 20), -1);
}
END_TEST

START_TEST(resolve_refuses)
{
	static const struct {
		const char *in;
		bool http;
	} t[] = {
		{ "", false }, { "alice", false }, { "user@host/../x", false }, { "user@", false },
		{ "@host", false }, { "us er@host", false }, { "user@host#frag", false },
		{ "user@host/x", false }, { "user@host?x", false }, { "..@host", false },
		{ ".@host", false }, { "...@host", false }, { "a@b@host", false },
		{ "us%2fer@host", false }, { "us/er@host", false }, { "us\xc3\xa9r@host", false },
		{ "user@host:0", false }, { "user@host:65536", false }, { "user@host:080", false },
		{ "user@host:", false }, { "user@host:8a", false }, { "user@-host", false },
		{ "user@host-.com", false }, { "user@ho_st.com", false }, { "user@host.", false },
		{ "user@.host", false }, { "user@a..b", false }, { "user@1.2.3.256", false },
		{ "user@1.2.3", false }, { "user@1.2.3.4.5", false }, { "user@01.2.3.4", false },
		{ "user@0x7f.1", false }, { "user@127.1", false }, { "user@2130706433", false },
		{ "user@[::1%25eth0]", false }, { "user@[::1", false }, { "user@[::1]x", false },
		{ "user@[1.2.3.4]", false }, { "user@[]", false }, { "user@host\n", false },
		{ "user\r@host", false }, { "user@ho\tst", false }, { "user@h\x01st", false },
		{ "lightning:alice@example.com", false }, { "lightning:https://a.bc/", false },
		{ "http://example.com/", false }, { "http://127.0.0.1:1234/", false },
		{ "http://xonion/", false }, { "http://x.onion.evil.com/", false },
		{ "javascript:alert(1)", false }, { "javascript://a.bc/%0aalert(1)", true },
		{ "ftp://a.bc/", true }, { "file:///etc/passwd", true }, { "//a.bc/", true },
		{ "https:a.bc", false }, { "https:/a.bc", false }, { "https://", false },
		{ "https:///x", false }, { "https://user:pw@host/", false },
		{ "https://user@host/", false }, { "https://host:99999/", false },
		{ "https://host/a b", false }, { "https://host/a\tb", false },
		{ "https://host/\x01", false }, { "https://host/\x7f", false },
		{ "https://host/%zz", false }, { "https://host/%4", false },
		{ "https://host/a\\b", false }, { "https://host\\@evil.com/", false },
		{ "https://host/\"", false }, { "https://host/<x>", false },
		{ "https://host/{x}", false }, { "https://host/a|b", false },
		{ "https://host/`", false }, { "https://host/^", false },
		{ "https://host/[x]", false }, { "https://host/\xc3\xa9", false },
		{ "https://host/#", false }, { "https://host/x#frag", false },
		{ " https://host/", false }, { "https://host/ ", false },
		{ "https://ho st/", false }, { "https://host:443:80/", false },
		{ "lnurl1", false }, { "lnurl1qqqqqqqqqq", false },
		{ LUD01 "Q", false },
	};
	char url[LNURL_URL_MAX + 1], enc[4200], big[LNURL_URL_MAX + 16];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(lnurl_resolve(t[i].in, t[i].http, url, sizeof(url)) == -1,
		    "accepted %s", t[i].in);

	/* LUD-01 vector with its last character changed: the checksum fails. */
	snprintf(enc, sizeof(enc), "%s", LUD01);
	enc[strlen(enc) - 1] = 'A';
	ck_assert_int_eq(lnurl_resolve(enc, false, url, sizeof(url)), -1);
	/* One data character changed. */
	snprintf(enc, sizeof(enc), "%s", LUD01);
	enc[20] = enc[20] == 'Q' ? 'P' : 'Q';
	ck_assert_int_eq(lnurl_resolve(enc, false, url, sizeof(url)), -1);
	/* Mixed case. */
	snprintf(enc, sizeof(enc), "%s", LUD01);
	enc[10] = (char)(enc[10] + 32);
	ck_assert_int_eq(lnurl_resolve(enc, false, url, sizeof(url)), -1);

	/* A well-formed LNURL is still held to the URL rules. */
	lnurl_of("http://service.com/api", false, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, false, url, sizeof(url)), -1);
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), 0);
	ck_assert_str_eq(url, "http://service.com/api");
	lnurl_of("http://abc.onion/api", true, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, false, url, sizeof(url)), 0);
	ck_assert_str_eq(url, "http://abc.onion/api");
	lnurl_of("javascript:alert(1)", false, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), -1);
	lnurl_of("https://a.bc/\x01", false, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), -1);
	lnurl_of("https://u:p@a.bc/", false, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), -1);
	lnurl_of(LUD01, false, enc, sizeof(enc));	/* an LNURL in an LNURL */
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), -1);
	/* NUL bytes inside: C would see "https://a.bc/" only. */
	lnurl_of_n("https://a.bc/\0@evil.com", 24, false, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), -1);
	lnurl_of_n("https://a.bc/", 13, false, enc, sizeof(enc));
	ck_assert_int_eq(lnurl_resolve(enc, true, url, sizeof(url)), 0);
	/* Padding of 5 bits or more, or non-zero padding, is malformed. */
	{
		static const uint8_t five[] = { 13, 1 };	/* 5 bits left over; 2 bits, not 0 */
		char shortw[64];

		b32_encode("lnurl", five, 1, BECH32, shortw, sizeof(shortw));
		ck_assert_int_eq(lnurl_resolve(shortw, true, url, sizeof(url)), -1);
		b32_encode("lnurl", five, 2, BECH32, shortw, sizeof(shortw));
		ck_assert_int_eq(lnurl_resolve(shortw, true, url, sizeof(url)), -1);
	}

	/* Lengths: 2000 bytes pass, 2001 do not. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "https://a.bc/", 13);
	big[LNURL_URL_MAX] = '\0';
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), 0);
	big[LNURL_URL_MAX] = 'a';
	big[LNURL_URL_MAX + 1] = '\0';
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), -1);
	/* A 64-character user passes, 65 do not. */
	memset(big, 'u', 65);
	memcpy(big + 65, "@a.bc", 6);
	ck_assert_int_eq(lnurl_resolve(big + 1, false, url, sizeof(url)), 0);
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), -1);
	/* Host labels of 63 pass, 64 do not; names of 253 pass, 254 do not. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "u@", 2);
	memcpy(big + 2 + 63, ".bc", 4);
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), 0);
	memcpy(big + 2 + 64, ".bc", 4);
	big[2 + 63] = 'a';
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big, "u@", 2);
	big[2 + 63] = big[2 + 127] = big[2 + 191] = '.';
	big[2 + 253] = '\0';
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), 0);
	big[2 + 253] = 'a';
	big[2 + 254] = '\0';
	ck_assert_int_eq(lnurl_resolve(big, false, url, sizeof(url)), -1);
	ck_assert_int_eq(lnurl_resolve(NULL, false, url, sizeof(url)), -1);
}
END_TEST

/* ================================================================ BOLT11 */

/* The BOLT 11 examples (lightning/bolts 11-payment-encoding.md). */
static const struct {
	const char *inv;
	int rc;
	int64_t msat;
} bolt11_spec[] = {
	{ "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql", 0, 0 },
	{ "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh", 1, 250000000 },
	{ "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w", 0, 0 },
	{ "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp", 1, 250000000 },
	{ "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny", 1, 250000000 },
	{ "lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqscc6gd6ql3jrc5yzme8v4ntcewwz5cnw92tz0pc8qcuufvq7khhr8wpald05e92xw006sq94mg8v2ndf4sefvf9sygkshp5zfem29trqq2yxxz7", 1, 2000000000 },
	{ "lntb20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un98kmzzhznpurw9sgl2v0nklu2g4d0keph5t7tj9tcqd8rexnd07ux4uv2cjvcqwaxgj7v4uwn5wmypjd5n69z2xm3xgksg28nwht7f6zspwp3f9t", 1, 2000000000 },
	{ "lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j", 1, 967878534 },
	{ "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq67gye39hfg3zd8rgc80k32tvy9xk2xunwm5lzexnvpx6fd77en8qaq424dxgt56cag2dpt359k3ssyhetktkpqh24jqnjyw6uqd08sgptq44qu", 1, 2500000000 },
	{ "LNBC25M1PVJLUEZPP5QQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQYPQDQ5VDHKVEN9V5SXYETPDEESSP5ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGS9Q5SQQQQQQQQQQQQQQQPQSQ67GYE39HFG3ZD8RGC80K32TVY9XK2XUNWM5LZEXNVPX6FD77EN8QAQ424DXGT56CAG2DPT359K3SSYHETKTKPQH24JQNJYW6UQD08SGPTQ44QU", 1, 2500000000 },
	/* Invalid: bad checksum, no '1', mixed case, too short, multiplier x,
	 * sub-millisatoshi p amount. */
	{ "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt", -1, 0 },
	{ "pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny", -1, 0 },
	{ "LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny", -1, 0 },
	{ "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh", -1, 0 },
	{ "lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpujr6jxr9gq9pv6g46y7d20jfkegkg4gljz2ea2a3m9lmvvr95tq2s0kvu70u3axgelz3kyvtp2ywwt0y8hkx2869zq5dll9nelr83zzqqpgl2zg", -1, 0 },
	{ "lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu7hqtk93pkf7sw55rdv4k9z2vj050rxdr6za9ekfs3nlt5lr89jqpdmxsmlj9urqumg0h9wzpqecw7th56tdms40p2ny9q4ddvjsedzcplva53s", -1, 0 },
};

START_TEST(bolt11_spec_examples)
{
	size_t i;

	for (i = 0; i < sizeof(bolt11_spec) / sizeof(bolt11_spec[0]); i++) {
		int64_t msat = -7;
		int rc = lnurl_bolt11_amount(bolt11_spec[i].inv, &msat);

		ck_assert_msg(rc == bolt11_spec[i].rc, "example %zu: %d, not %d", i, rc,
		    bolt11_spec[i].rc);
		if (rc >= 0)
			ck_assert_int_eq(msat, bolt11_spec[i].msat);
	}
}
END_TEST

START_TEST(bolt11_amounts)
{
	static const struct {
		const char *hrp;
		int rc;
		int64_t msat;
	} t[] = {
		{ "lnbc", 0, 0 }, { "lntb", 0, 0 }, { "lntbs", 0, 0 }, { "lnbcrt", 0, 0 },
		{ "lnsb", 0, 0 },
		{ "lnbc1", 1, 100000000000 }, { "lnbc1m", 1, 100000000 }, { "lnbc1u", 1, 100000 },
		{ "lnbc1n", 1, 100 }, { "lnbc10p", 1, 1 }, { "lnbc20p", 1, 2 },
		{ "lnbc210n", 1, 21000 }, { "lnbcrt500u", 1, 50000000 }, { "lntbs1m", 1, 100000000 },
		{ "lnsb10n", 1, 1000 }, { "lntb25m", 1, 2500000000 },
		/* p amounts must be whole millisatoshis */
		{ "lnbc1p", -1, 0 }, { "lnbc15p", -1, 0 }, { "lnbc2500000001p", -1, 0 },
		/* the largest that fits, and one more */
		{ "lnbc92233720", 1, INT64_C(9223372000000000000) },
		{ "lnbc92233721", -1, 0 },
		{ "lnbc92233720368547m", -1, 0 },
		{ "lnbc92233720368547758070p", -1, 0 },
		{ "lnbc99999999999999999999999n", -1, 0 },
		{ "lnbc0", -1, 0 }, { "lnbc0n", -1, 0 }, { "lnbc010u", -1, 0 },
		{ "lnbc10x", -1, 0 }, { "lnbc10mm", -1, 0 }, { "lnbc10m5", -1, 0 },
		{ "lnbcm", -1, 0 }, { "lnbc-10n", -1, 0 }, { "lnbc+10n", -1, 0 },
		{ "lnxx10n", -1, 0 }, { "lnb10n", -1, 0 }, { "lnbcrtx10n", -1, 0 },
		{ "ln10n", -1, 0 }, { "lightning:lnbc10n", -1, 0 }, { "bc10n", -1, 0 },
		{ "lnbc 10n", -1, 0 }, { "lnbc10 n", -1, 0 },
	};
	char inv[400];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t msat = -7;
		int rc;

		invoice(t[i].hrp, inv, sizeof(inv));
		rc = lnurl_bolt11_amount(inv, &msat);
		ck_assert_msg(rc == t[i].rc, "%s: %d, not %d", t[i].hrp, rc, t[i].rc);
		if (rc >= 0)
			ck_assert_int_eq(msat, t[i].msat);
	}
}
END_TEST

START_TEST(bolt11_encoding)
{
	char inv[400], big[LNURL_BOLT11_MAX + 64];
	int64_t msat = 0;
	size_t i, n;
	uint8_t *w;

	invoice("lnbc210n", inv, sizeof(inv));
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), 1);
	ck_assert_int_eq(msat, 21000);
	/* All upper case is the same invoice. */
	for (i = 0; inv[i]; i++)
		if (inv[i] >= 'a' && inv[i] <= 'z')
			inv[i] = (char)(inv[i] - 32);
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), 1);
	ck_assert_int_eq(msat, 21000);
	/* One lower-case letter makes it mixed case. */
	inv[strlen(inv) - 1] = (char)(inv[strlen(inv) - 1] | 0x20);
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);

	/* Every single-character change, truncation and extension fails. */
	invoice("lnbc210n", inv, sizeof(inv));
	n = strlen(inv);
	for (i = 0; i < n; i++) {
		char save = inv[i];

		inv[i] = save == 'q' ? 'p' : 'q';
		if (i < 4)
			inv[i] = save == 'x' ? 'y' : 'x';
		ck_assert_msg(lnurl_bolt11_amount(inv, &msat) == -1, "changed at %zu", i);
		inv[i] = save;
	}
	inv[n - 1] = '\0';
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);
	invoice("lnbc210n", inv, sizeof(inv));
	inv[n] = 'q';
	inv[n + 1] = '\0';
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);

	/* bech32m is not bech32. */
	invoice_k("lnbc210n", BECH32M, inv, sizeof(inv));
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);

	/* Characters outside the bech32 set: b, i, o, and the separator. */
	invoice("lnbc210n", inv, sizeof(inv));
	inv[20] = 'b';
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);
	inv[20] = '1';	/* now the HRP would end here: a bad checksum */
	ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);

	/* Room for timestamp (7 words) and signature (104) is required. */
	{
		uint8_t few[111] = { 0 };

		b32_encode("lnbc210n", few, 110, BECH32, inv, sizeof(inv));
		ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), -1);
		b32_encode("lnbc210n", few, 111, BECH32, inv, sizeof(inv));
		ck_assert_int_eq(lnurl_bolt11_amount(inv, &msat), 1);
	}

	/* No 90-character limit; but LNURL_BOLT11_MAX is the cap. */
	n = LNURL_BOLT11_MAX - strlen("lnbc210n1") - 6;
	w = calloc(n + 1, 1);
	ck_assert_ptr_nonnull(w);
	b32_encode("lnbc210n", w, n, BECH32, big, sizeof(big));
	ck_assert_uint_eq(strlen(big), LNURL_BOLT11_MAX);
	ck_assert_int_eq(lnurl_bolt11_amount(big, &msat), 1);
	ck_assert_int_eq(msat, 21000);
	b32_encode("lnbc210n", w, n + 1, BECH32, big, sizeof(big));
	ck_assert_int_eq(lnurl_bolt11_amount(big, &msat), -1);
	free(w);

	ck_assert_int_eq(lnurl_bolt11_amount("", &msat), -1);
	ck_assert_int_eq(lnurl_bolt11_amount(NULL, &msat), -1);
}
END_TEST

/* ================================================================ the server */

enum mode { M_BODY, M_CLOSE, M_BIG };

/* One canned answer: GET path (query ignored) -> status and body. seen is
 * the request target of the last hit. */
struct route {
	char path[64];
	int status;
	char body[2048];
	enum mode mode;
	char extra[256];		/* more header lines */
	char seen[4096];
	int hits;
};

static struct route routes[8];
static size_t nroutes;
static int srv_fd = -1, srv_port;
static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
serve_one(int c)
{
	char req[8192], target[4096], head[512];
	size_t n = 0, i;
	struct route *r = NULL;
	const char *sp, *body;
	int status;

	while (n < sizeof(req) - 1) {
		ssize_t got = recv(c, req + n, sizeof(req) - 1 - n, 0);

		if (got <= 0)
			return;
		n += (size_t)got;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (strncmp(req, "GET ", 4) != 0 || (sp = strchr(req + 4, ' ')) == NULL ||
	    (size_t)(sp - req - 4) >= sizeof(target))
		return;
	memcpy(target, req + 4, (size_t)(sp - req - 4));
	target[sp - req - 4] = '\0';
	pthread_mutex_lock(&srv_mu);
	for (i = 0; i < nroutes; i++) {
		size_t pl = strlen(routes[i].path);

		if (strncmp(target, routes[i].path, pl) == 0 &&
		    (target[pl] == '\0' || target[pl] == '?')) {
			r = &routes[i];
			snprintf(r->seen, sizeof(r->seen), "%s", target);
			r->hits++;
		}
	}
	pthread_mutex_unlock(&srv_mu);
	status = r ? r->status : 404;
	body = r ? r->body : "not found";
	if (r && r->mode == M_CLOSE)
		return;
	if (r && r->mode == M_BIG) {
		static char big[100 << 10];

		memset(big, ' ', sizeof(big));
		big[0] = '{';
		big[sizeof(big) - 1] = '}';
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n", sizeof(big));
		send_all(c, head, strlen(head));
		send_all(c, big, sizeof(big));
		return;
	}
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, strlen(body),
	    r ? r->extra : "");
	send_all(c, head, strlen(head));
	send_all(c, body, strlen(body));
}

/* Serve the listening socket arg until it is closed. */
static void *
srv_main(void *arg)
{
	int fd = (int)(intptr_t)arg;

	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		serve_one(c);
		close(c);
	}
}

/* Listen on 127.0.0.1, port 0; srv_port is the port. */
static void
srv_listen(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(srv_fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(srv_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(srv_fd, 16), 0);
	ck_assert_int_eq(getsockname(srv_fd, (struct sockaddr *)&a, &al), 0);
	srv_port = ntohs(a.sin_port);
}

static void
srv_start(void)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, srv_main, (void *)(intptr_t)srv_fd), 0);
	pthread_detach(t);
}

/* Add a route; body is a printf format where "%d" may stand for the port.
 * Call before srv_start (the server thread reads the table). */
static struct route *route(const char *path, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct route *
route(const char *path, int status, const char *fmt, ...)
{
	struct route *r;
	va_list ap;

	ck_assert_uint_lt(nroutes, sizeof(routes) / sizeof(routes[0]));
	r = &routes[nroutes++];
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->body, sizeof(r->body), fmt, ap);
	va_end(ap);
	return r;
}

/* A payRequest answer with callback cb (a format with the port). */
#define PAYREQ(cb, min, max, extra) \
	"{\"tag\":\"payRequest\",\"callback\":\"" cb "\",\"minSendable\":" min \
	",\"maxSendable\":" max ",\"metadata\":\"[[\\\"text/plain\\\",\\\"hi\\\"]]\"" extra "}"

static struct upstream *up;
static char lnaddr_url[LNURL_URL_MAX + 1];

/* Per test (Check forks per case): a fresh handle, server and table. */
static void
setup(void)
{
	char addr[64];

	nroutes = 0;
	srv_listen();
	up = upstream_new();
	ck_assert_ptr_nonnull(up);
	snprintf(addr, sizeof(addr), "alice@127.0.0.1:%d", srv_port);
	ck_assert_int_eq(lnurl_resolve(addr, true, lnaddr_url, sizeof(lnaddr_url)), 0);
}

static void
teardown(void)
{
	upstream_free(up);
	close(srv_fd);
}

/* lnurl_invoice on the address's URL for msat; checks the result's shape. */
static enum lnurl_err
pay(int64_t msat, const char *comment, char **bolt11, struct lnurl_error *e)
{
	enum lnurl_err k = lnurl_invoice(up, lnaddr_url, true, msat, comment, bolt11, e);

	ck_assert_int_eq(e->kind, k);
	ck_assert_msg(k == LNURL_OK ? *bolt11 != NULL : *bolt11 == NULL, "bolt11 and result disagree");
	ck_assert_msg(k == LNURL_OK || e->message[0] != '\0', "no message");
	return k;
}

#define WELL_KNOWN "/.well-known/lnurlp/alice"

/* ================================================================ lnurl_invoice */

START_TEST(invoice_happy_path)
{
	struct lnurl_error e;
	struct route *cb;
	char inv[400], *b = NULL;

	invoice("lnbc210n", inv, sizeof(inv));
	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb?id=7", "1000", "100000000",
	    ",\"commentAllowed\":20"), srv_port);
	cb = route("/cb", 200, "{\"pr\":\"%s\",\"routes\":[]}", inv);
	srv_start();

	ck_assert_int_eq(pay(21000, "thanks & bye", &b, &e), LNURL_OK);
	ck_assert_str_eq(b, inv);
	ck_assert_str_eq(cb->seen, "/cb?id=7&amount=21000&comment=thanks%20%26%20bye");
	ck_assert_int_eq(e.min_sendable, 1000);
	ck_assert_int_eq(e.max_sendable, 100000000);
	ck_assert_int_eq(e.http_status, 200);
	free(b);

	/* A comment longer than commentAllowed is left out, as is an empty one. */
	ck_assert_int_eq(pay(21000, "123456789012345678901", &b, &e), LNURL_OK);
	ck_assert_str_eq(cb->seen, "/cb?id=7&amount=21000");
	free(b);
	ck_assert_int_eq(pay(21000, "", &b, &e), LNURL_OK);
	ck_assert_str_eq(cb->seen, "/cb?id=7&amount=21000");
	free(b);
	ck_assert_int_eq(pay(21000, "12345678901234567890", &b, &e), LNURL_OK);
	ck_assert_str_eq(cb->seen, "/cb?id=7&amount=21000&comment=12345678901234567890");
	free(b);
	ck_assert_int_eq(cb->hits, 4);
	/* e may be NULL. */
	ck_assert_int_eq(lnurl_invoice(up, lnaddr_url, true, 21000, NULL, &b, NULL), LNURL_OK);
	free(b);
}
END_TEST

START_TEST(invoice_callback_query)
{
	struct lnurl_error e;
	struct route *cb;
	char inv[400], *b = NULL;

	/* No query, and no commentAllowed: comment omitted. */
	invoice("lnbc1u", inv, sizeof(inv));
	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb", "1000", "1000000", ""),
	    srv_port);
	cb = route("/cb", 200, "{\"pr\":\"%s\"}", inv);
	srv_start();
	ck_assert_int_eq(pay(100000, "hi", &b, &e), LNURL_OK);
	ck_assert_str_eq(cb->seen, "/cb?amount=100000");
	free(b);
}
END_TEST

START_TEST(invoice_callback_query_trailing)
{
	struct lnurl_error e;
	struct route *cb;
	char inv[400], *b = NULL;

	invoice("lnbc1u", inv, sizeof(inv));
	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb?a=1&", "1000", "1000000",
	    ",\"commentAllowed\":\"20\""), srv_port);
	cb = route("/cb", 200, "{\"pr\":\"%s\"}", inv);
	srv_start();
	ck_assert_int_eq(pay(100000, "hi", &b, &e), LNURL_OK);
	ck_assert_str_eq(cb->seen, "/cb?a=1&amount=100000");
	free(b);
}
END_TEST

START_TEST(invoice_refused)
{
	struct lnurl_error e;
	char *b = (char *)1;
	char reason[1024];
	size_t i;

	/* A long reason with controls, an escape sequence and bidi override. */
	snprintf(reason, sizeof(reason), "no\\nsuch\\u001b[31m user\\u202e\\u0085x");
	for (i = strlen(reason); i < 600; i++)
		reason[i] = 'z';
	reason[i] = '\0';
	route(WELL_KNOWN, 200, "{\"status\":\"ERROR\",\"reason\":\"%s\"}", reason);
	srv_start();
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_REFUSED);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(e.message, "nosuch[31m userx") != NULL, "message: %s", e.message);
	ck_assert_uint_le(strlen(e.message), strlen("The LNURL server refused: ") + 203);
	for (i = 0; e.message[i]; i++)
		ck_assert_msg((unsigned char)e.message[i] >= 0x20 && e.message[i] != 0x7f,
		    "control character in %s", e.message);
	ck_assert_ptr_null(strstr(e.message, "\xe2\x80\xae"));
	ck_assert_int_eq(e.http_status, 200);
}
END_TEST

START_TEST(invoice_refused_on_404)
{
	struct lnurl_error e;
	char *b = NULL;

	route(WELL_KNOWN, 404, "{\"status\":\"ERROR\",\"reason\":\"unknown user\"}");
	srv_start();
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_REFUSED);
	ck_assert_str_eq(e.message, "The LNURL server refused: unknown user");
	ck_assert_int_eq(e.http_status, 404);
}
END_TEST

START_TEST(invoice_refused_by_callback)
{
	struct lnurl_error e;
	char *b = NULL;

	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb", "1000", "1000000", ""), srv_port);
	route("/cb", 200, "{\"status\":\"ERROR\"}");
	srv_start();
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_REFUSED);
	ck_assert_str_eq(e.message, "The LNURL server refused: no reason given");
}
END_TEST

START_TEST(invoice_bad_payrequests)
{
	static const char *const bodies[] = {
		"{\"tag\":\"withdrawRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":1000,\"maxSendable\":1000000}",
		"{\"callback\":\"http://127.0.0.1:1/cb\",\"minSendable\":1000,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"minSendable\":1000,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":7,\"minSendable\":1000,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\",\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\",\"minSendable\":1000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":\"1000\",\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":1000,\"maxSendable\":1e6}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":1000.0,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":0,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":-5,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":5000,\"maxSendable\":4000}",
		"{\"tag\":\"payRequest\",\"tag\":\"x\"}",
		"{\"tag\":\"payRequest\",\"callback\":\"http://127.0.0.1:1/cb\\u0000x\","
		    "\"minSendable\":1000,\"maxSendable\":1000000}",
		"{\"tag\":\"payRequest\\u0000\",\"callback\":\"http://127.0.0.1:1/cb\","
		    "\"minSendable\":1000,\"maxSendable\":1000000}",
		"[\"payRequest\"]",
		"\"payRequest\"",
		"{\"tag\":\"payRequest\"",
		"not json at all",
		"{\"tag\":\"payRequest\"} trailing",
		"",
	};
	struct lnurl_error e;
	char *b = NULL;
	size_t i;

	route(WELL_KNOWN, 200, "-");
	srv_start();
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		pthread_mutex_lock(&srv_mu);
		snprintf(routes[0].body, sizeof(routes[0].body), "%s", bodies[i]);
		pthread_mutex_unlock(&srv_mu);
		ck_assert_msg(pay(21000, NULL, &b, &e) == LNURL_E_BAD_ANSWER, "body %zu: %s (%s)",
		    i, lnurl_err_name(e.kind), e.message);
	}
}
END_TEST

START_TEST(invoice_amount_range)
{
	struct lnurl_error e;
	char *b = NULL;
	struct route *cb;

	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb", "1000", "1000000", ""), srv_port);
	cb = route("/cb", 200, "{\"pr\":\"x\"}");
	srv_start();
	ck_assert_int_eq(pay(999, NULL, &b, &e), LNURL_E_AMOUNT_RANGE);
	ck_assert_int_eq(e.min_sendable, 1000);
	ck_assert_int_eq(e.max_sendable, 1000000);
	ck_assert_str_eq(e.message,
	    "999 msat is outside what the LNURL server accepts (1000 to 1000000 msat)");
	ck_assert_int_eq(pay(1000001, NULL, &b, &e), LNURL_E_AMOUNT_RANGE);
	ck_assert_int_eq(cb->hits, 0);
	/* Our own bad arguments. */
	ck_assert_int_eq(pay(0, NULL, &b, &e), LNURL_E_INVALID);
	ck_assert_int_eq(pay(-1000, NULL, &b, &e), LNURL_E_INVALID);
	ck_assert_int_eq(lnurl_invoice(up, NULL, true, 1000, NULL, &b, &e), LNURL_E_INVALID);
	ck_assert_int_eq(lnurl_invoice(up, lnaddr_url, true, 1000, NULL, NULL, &e),
	    LNURL_E_INVALID);
}
END_TEST

START_TEST(invoice_forbidden_urls)
{
	static const char *const callbacks[] = {
		"javascript:alert(1)", "ftp://127.0.0.1/cb", "https://user:pw@127.0.0.1/cb",
		"https://127.0.0.1/cb#x", "https://127.0.0.1/c b", "/cb", "https://evil.com\\\\@a.b/",
		"https://127.0.0.1/\\u0001x", "lnurl1dp68gurn8ghj7", "",
	};
	struct lnurl_error e;
	char url[256], *b = NULL;
	size_t i;

	route(WELL_KNOWN, 200, "-");
	srv_start();
	for (i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++) {
		pthread_mutex_lock(&srv_mu);
		snprintf(routes[0].body, sizeof(routes[0].body), PAYREQ("%s", "1000", "1000000", ""),
		    callbacks[i]);
		pthread_mutex_unlock(&srv_mu);
		ck_assert_msg(pay(21000, NULL, &b, &e) == LNURL_E_URL, "callback %s: %s", callbacks[i],
		    lnurl_err_name(e.kind));
	}
	ck_assert_int_eq(routes[0].hits, (int)i);

	/* Without allow_http, the http URL itself is refused before any I/O,
	 * and so would be an http callback. */
	ck_assert_int_eq(lnurl_invoice(up, lnaddr_url, false, 21000, NULL, &b, &e), LNURL_E_URL);
	ck_assert_int_eq(routes[0].hits, (int)i);
	snprintf(url, sizeof(url), "http://u:p@127.0.0.1:%d" WELL_KNOWN, srv_port);
	ck_assert_int_eq(lnurl_invoice(up, url, true, 21000, NULL, &b, &e), LNURL_E_URL);
	ck_assert_int_eq(routes[0].hits, (int)i);
}
END_TEST

START_TEST(invoice_wrong_amount)
{
	static const char *const hrps[] = {
		"lnbc2100n",	/* ten times more: the attack */
		"lnbc210010p",	/* 21001 msat */
		"lnbc209n",	/* less */
		"lnbc",		/* any amount */
	};
	struct lnurl_error e;
	char inv[400], *b = NULL;
	size_t i;

	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb", "1000", "100000000", ""),
	    srv_port);
	route("/cb", 200, "-");
	srv_start();
	for (i = 0; i < sizeof(hrps) / sizeof(hrps[0]); i++) {
		invoice(hrps[i], inv, sizeof(inv));
		pthread_mutex_lock(&srv_mu);
		snprintf(routes[1].body, sizeof(routes[1].body), "{\"pr\":\"%s\"}", inv);
		pthread_mutex_unlock(&srv_mu);
		ck_assert_msg(pay(21000, NULL, &b, &e) == LNURL_E_INVOICE_AMOUNT, "%s: %s", hrps[i],
		    lnurl_err_name(e.kind));
	}
	invoice("lnbc2100n", inv, sizeof(inv));
	pthread_mutex_lock(&srv_mu);
	snprintf(routes[1].body, sizeof(routes[1].body), "{\"pr\":\"%s\"}", inv);
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_INVOICE_AMOUNT);
	ck_assert_str_eq(e.message,
	    "The LNURL server's invoice is for 210000 msat, not the 21000 msat asked");
}
END_TEST

START_TEST(invoice_bad_invoices)
{
	struct lnurl_error e;
	char inv[400], body[1024], *b = NULL;
	size_t i;
	/* Each body is pre, the invoice (its checksum broken in the first), post. */
	static const struct {
		const char *pre, *post;
	} t[] = {
		{ "{\"pr\":\"", "\"}" },
		{ "{\"routes\":[]}", NULL },
		{ "{\"pr\":7}", NULL },
		{ "{\"pr\":null}", NULL },
		{ "{\"pr\":\"", "\\u0000lnbc2100n\"}" },	/* NUL: C would see a prefix */
		{ "{\"pr\":\"lightning:", "\"}" },
		{ "{\"pr\":[\"", "\"]}" },
		{ "[]", NULL },
	};
	invoice("lnbc210n", inv, sizeof(inv));
	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb", "1000", "100000000", ""),
	    srv_port);
	route("/cb", 200, "-");
	srv_start();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char bad[400];

		snprintf(bad, sizeof(bad), "%s", inv);
		if (i == 0)
			bad[30] = bad[30] == 'q' ? 'p' : 'q';
		snprintf(body, sizeof(body), "%s%s%s", t[i].pre, t[i].post ? bad : "",
		    t[i].post ? t[i].post : "");
		pthread_mutex_lock(&srv_mu);
		snprintf(routes[1].body, sizeof(routes[1].body), "%s", body);
		pthread_mutex_unlock(&srv_mu);
		ck_assert_msg(pay(21000, NULL, &b, &e) == LNURL_E_BAD_ANSWER, "%s: %s", body,
		    lnurl_err_name(e.kind));
	}
}
END_TEST

START_TEST(invoice_http_failures)
{
	struct lnurl_error e;
	struct route *r, *target;
	char *b = NULL;

	r = route(WELL_KNOWN, 500, "Internal Server Error");
	target = route("/elsewhere", 200, PAYREQ("http://127.0.0.1:%d/cb", "1", "100000000", ""),
	    srv_port);
	srv_start();
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_HTTP);
	ck_assert_int_eq(e.http_status, 500);
	ck_assert_str_eq(e.message, "The LNURL server answered HTTP 500 (payRequest)");

	/* A 200 that is not JSON, then an empty one. */
	pthread_mutex_lock(&srv_mu);
	r->status = 200;
	snprintf(r->body, sizeof(r->body), "<html>hello</html>");
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_BAD_ANSWER);
	pthread_mutex_lock(&srv_mu);
	r->body[0] = '\0';
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_BAD_ANSWER);

	/* A redirect is not followed. */
	pthread_mutex_lock(&srv_mu);
	r->status = 302;
	snprintf(r->body, sizeof(r->body), "{}");
	snprintf(r->extra, sizeof(r->extra), "Location: http://127.0.0.1:%d/elsewhere\r\n",
	    srv_port);
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_HTTP);
	ck_assert_int_eq(e.http_status, 302);
	ck_assert_int_eq(target->hits, 0);

	/* Larger than 64 KiB. */
	pthread_mutex_lock(&srv_mu);
	r->mode = M_BIG;
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_BAD_ANSWER);
	ck_assert_str_eq(e.message, "The LNURL server's payRequest answer is larger than 64 KiB");

	/* The server closes the connection without answering. */
	pthread_mutex_lock(&srv_mu);
	r->mode = M_CLOSE;
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_UNREACHABLE);
	ck_assert_int_eq(e.http_status, 0);
}
END_TEST

START_TEST(invoice_callback_failures)
{
	struct lnurl_error e;
	struct route *cb;
	char *b = NULL;

	route(WELL_KNOWN, 200, PAYREQ("http://127.0.0.1:%d/cb", "1000", "100000000", ""),
	    srv_port);
	cb = route("/cb", 500, "oops");
	srv_start();
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_HTTP);
	ck_assert_str_eq(e.message, "The LNURL server answered HTTP 500 (invoice)");
	pthread_mutex_lock(&srv_mu);
	cb->mode = M_BIG;
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_BAD_ANSWER);
	pthread_mutex_lock(&srv_mu);
	cb->mode = M_CLOSE;
	pthread_mutex_unlock(&srv_mu);
	ck_assert_int_eq(pay(21000, NULL, &b, &e), LNURL_E_UNREACHABLE);
}
END_TEST

START_TEST(invoice_unreachable)
{
	struct lnurl_error e;
	char url[128], *b = NULL;

	/* The listening socket is closed: nothing answers on the port. */
	close(srv_fd);
	srv_fd = -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", srv_port);
	ck_assert_int_eq(lnurl_invoice(up, url, true, 1000, NULL, &b, &e), LNURL_E_UNREACHABLE);
	ck_assert_int_eq(e.http_status, 0);
	ck_assert_ptr_null(b);
}
END_TEST

START_TEST(err_tables)
{
	int k;

	for (k = 0; k < LNURL_E__MAX; k++) {
		ck_assert_ptr_nonnull(lnurl_err_name(k));
		ck_assert_ptr_nonnull(lnurl_err_message(k));
	}
	ck_assert_str_eq(lnurl_err_name(LNURL_E__MAX), "unknown");
	ck_assert_int_eq(lnurl_err_rerr(LNURL_E_URL), RERR_INVALID);
	ck_assert_int_eq(lnurl_err_rerr(LNURL_E_INVOICE_AMOUNT), RERR_UPSTREAM);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("lnurl");
	TCase *codec = tcase_create("codec"), *http = tcase_create("http");

	upstream_global_init();
	tcase_add_test(codec, resolve_accepts);
	tcase_add_test(codec, resolve_refuses);
	tcase_add_test(codec, bolt11_spec_examples);
	tcase_add_test(codec, bolt11_amounts);
	tcase_add_test(codec, bolt11_encoding);
	tcase_add_test(codec, err_tables);
	suite_add_tcase(s, codec);

	tcase_set_timeout(http, 60);
	tcase_add_checked_fixture(http, setup, teardown);
	tcase_add_test(http, invoice_happy_path);
	tcase_add_test(http, invoice_callback_query);
	tcase_add_test(http, invoice_callback_query_trailing);
	tcase_add_test(http, invoice_refused);
	tcase_add_test(http, invoice_refused_on_404);
	tcase_add_test(http, invoice_refused_by_callback);
	tcase_add_test(http, invoice_bad_payrequests);
	tcase_add_test(http, invoice_amount_range);
	tcase_add_test(http, invoice_forbidden_urls);
	tcase_add_test(http, invoice_wrong_amount);
	tcase_add_test(http, invoice_bad_invoices);
	tcase_add_test(http, invoice_http_failures);
	tcase_add_test(http, invoice_callback_failures);
	tcase_add_test(http, invoice_unreachable);
	suite_add_tcase(s, http);
	return s;
}
