/* cashu/crypto: see crypto.h. BDHKE on libsecp256k1 (one randomised context
 * created once and then only read, so every function is thread-safe);
 * hashes, HMACs and PBKDF2 from OpenSSL. Scalar arithmetic uses the
 * constant-time secp256k1_ec_seckey_* functions. Intermediate secrets are
 * wiped with OPENSSL_cleanse before returning. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <secp256k1.h>

#include "util.h"
#include "cashu/crypto.h"

#define H2C_MAX_TRIES 65536u
#define KEYSET_MAX_KEYS 4096u

/* The group order n, big-endian. */
static const uint8_t secp_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

static secp256k1_context *crypto_ctx_ptr;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

/* Create and randomise the shared context; aborts if that is impossible
 * (nothing in this module can work without it). */
static void
crypto_ctx_init(void)
{
	uint8_t seed[32];

	crypto_ctx_ptr = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (crypto_ctx_ptr == NULL) {
		fprintf(stderr, "routstr: secp256k1_context_create failed\n");
		abort();
	}
	rand_bytes(seed, sizeof(seed));
	if (!secp256k1_context_randomize(crypto_ctx_ptr, seed)) {
		fprintf(stderr, "routstr: secp256k1_context_randomize failed\n");
		abort();
	}
	OPENSSL_cleanse(seed, sizeof(seed));
}

/* The shared context; borrowed, lives for the whole process. */
static const secp256k1_context *
crypto_ctx(void)
{
	pthread_once(&crypto_once, crypto_ctx_init);
	return crypto_ctx_ptr;
}

/* ---------------------------------------------------------------- helpers */

/* out = SHA256(a || b); b may be NULL when blen is 0. */
static int
crypto_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = -1;

	if (md == NULL)
		goto out;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(md, b, blen) != 1) ||
	    EVP_DigestFinal_ex(md, out, NULL) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* out = HMAC-SHA256(key, data). */
static int
crypto_hmac256(const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
    uint8_t out[32])
{
	unsigned int olen = 0;

	if (HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) == NULL || olen != 32)
		return -1;
	return 0;
}

/* out = HMAC-SHA512(key, data). */
static int
crypto_hmac512(const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
    uint8_t out[64])
{
	unsigned int olen = 0;

	if (HMAC(EVP_sha512(), key, (int)klen, data, dlen, out, &olen) == NULL || olen != 64)
		return -1;
	return 0;
}

/* x mod n for a 32-byte big-endian x (x < 2^256 < 2n, so at most one
 * subtraction). Branch-free on the value of x. */
static void
crypto_scalar_reduce(const uint8_t in[32], uint8_t out[32])
{
	uint8_t diff[32];
	int borrow = 0, i;
	uint8_t mask;

	for (i = 31; i >= 0; i--) {
		int d = (int)in[i] - (int)secp_n[i] - borrow;

		borrow = d < 0;
		diff[i] = (uint8_t)(d + (borrow << 8));
	}
	/* borrow == 1: in < n, keep in; borrow == 0: in >= n, take diff. */
	mask = (uint8_t)(borrow - 1);	/* 0xff when in >= n */
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)((diff[i] & mask) | (in[i] & (uint8_t)~mask));
	OPENSSL_cleanse(diff, sizeof(diff));
}

/* Parse a 33-byte compressed encoding (02/03 only). */
static int
crypto_parse(const uint8_t in[CASHU_POINT_LEN], secp256k1_pubkey *pk)
{
	if (in[0] != 0x02 && in[0] != 0x03)
		return -1;
	return secp256k1_ec_pubkey_parse(crypto_ctx(), pk, in, CASHU_POINT_LEN) ? 0 : -1;
}

/* Serialise compressed into out[33]. */
static void
crypto_ser(const secp256k1_pubkey *pk, uint8_t out[CASHU_POINT_LEN])
{
	size_t len = CASHU_POINT_LEN;

	(void)secp256k1_ec_pubkey_serialize(crypto_ctx(), out, &len, pk,
	    SECP256K1_EC_COMPRESSED);
}

/* Serialise uncompressed into out[65]. */
static void
crypto_ser65(const secp256k1_pubkey *pk, uint8_t out[65])
{
	size_t len = 65;

	(void)secp256k1_ec_pubkey_serialize(crypto_ctx(), out, &len, pk,
	    SECP256K1_EC_UNCOMPRESSED);
}

/* *res = P - Q; -1 when the result is the point at infinity. */
static int
crypto_sub(const secp256k1_pubkey *P, const secp256k1_pubkey *Q, secp256k1_pubkey *res)
{
	secp256k1_pubkey negq = *Q;
	const secp256k1_pubkey *both[2];

	if (!secp256k1_ec_pubkey_negate(crypto_ctx(), &negq))
		return -1;
	both[0] = P;
	both[1] = &negq;
	return secp256k1_ec_pubkey_combine(crypto_ctx(), res, both, 2) ? 0 : -1;
}

/* hash_e over already parsed points. */
static int
crypto_hash_e_pk(const secp256k1_pubkey *const *pts, size_t n, uint8_t e[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t raw[65];
	char hex[131];
	size_t i;
	int rc = -1;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		crypto_ser65(pts[i], raw);
		hex_encode(raw, sizeof(raw), hex);
		if (EVP_DigestUpdate(md, hex, 130) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, e, NULL) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* ------------------------------------------------------------------ BDHKE */

/* See crypto.h. */
int
cashu_hash_to_curve(const uint8_t *msg, size_t len, uint8_t Y[CASHU_POINT_LEN])
{
	static const char dst[] = "Secp256k1_HashToCurve_Cashu_";
	uint8_t msg_hash[32], cand[CASHU_POINT_LEN], ctr[4];
	secp256k1_pubkey pk;
	uint32_t i;

	if (msg == NULL && len > 0)
		return -1;
	if (crypto_sha256_2(dst, sizeof(dst) - 1, msg, len, msg_hash) != 0)
		return -1;
	cand[0] = 0x02;
	for (i = 0; i < H2C_MAX_TRIES; i++) {
		ctr[0] = (uint8_t)(i & 0xff);
		ctr[1] = (uint8_t)(i >> 8 & 0xff);
		ctr[2] = (uint8_t)(i >> 16 & 0xff);
		ctr[3] = (uint8_t)(i >> 24 & 0xff);
		if (crypto_sha256_2(msg_hash, sizeof(msg_hash), ctr, sizeof(ctr), cand + 1) != 0)
			return -1;
		if (secp256k1_ec_pubkey_parse(crypto_ctx(), &pk, cand, sizeof(cand))) {
			memcpy(Y, cand, CASHU_POINT_LEN);
			return 0;
		}
	}
	return -1;
}

/* See crypto.h. */
int
cashu_point_parse_hex(const char *hex, uint8_t out[CASHU_POINT_LEN])
{
	uint8_t raw[CASHU_POINT_LEN];
	secp256k1_pubkey pk;

	if (hex == NULL || strlen(hex) != 2 * CASHU_POINT_LEN ||
	    hex_decode(hex, 2 * CASHU_POINT_LEN, raw, sizeof(raw)) != 0 ||
	    crypto_parse(raw, &pk) != 0)
		return -1;
	if (out != NULL)
		memcpy(out, raw, sizeof(raw));
	return 0;
}

/* See crypto.h. */
int
cashu_blind(const uint8_t *secret, size_t len, const uint8_t r[CASHU_SCALAR_LEN],
    uint8_t B_[CASHU_POINT_LEN])
{
	uint8_t Y[CASHU_POINT_LEN];
	secp256k1_pubkey pk;

	if (cashu_hash_to_curve(secret, len, Y) != 0 || crypto_parse(Y, &pk) != 0)
		return -1;
	if (!secp256k1_ec_seckey_verify(crypto_ctx(), r))
		return -1;
	if (!secp256k1_ec_pubkey_tweak_add(crypto_ctx(), &pk, r))
		return -1;
	crypto_ser(&pk, B_);
	return 0;
}

/* See crypto.h. */
int
cashu_unblind(const uint8_t C_[CASHU_POINT_LEN], const uint8_t r[CASHU_SCALAR_LEN],
    const uint8_t K[CASHU_POINT_LEN], uint8_t C[CASHU_POINT_LEN])
{
	secp256k1_pubkey c_, rk, res;

	if (crypto_parse(C_, &c_) != 0 || crypto_parse(K, &rk) != 0)
		return -1;
	if (!secp256k1_ec_pubkey_tweak_mul(crypto_ctx(), &rk, r))
		return -1;
	if (crypto_sub(&c_, &rk, &res) != 0)
		return -1;
	crypto_ser(&res, C);
	return 0;
}

/* See crypto.h. */
int
cashu_sign(const uint8_t B_[CASHU_POINT_LEN], const uint8_t k[CASHU_SCALAR_LEN],
    uint8_t C_[CASHU_POINT_LEN])
{
	secp256k1_pubkey pk;

	if (crypto_parse(B_, &pk) != 0)
		return -1;
	if (!secp256k1_ec_pubkey_tweak_mul(crypto_ctx(), &pk, k))
		return -1;
	crypto_ser(&pk, C_);
	return 0;
}

/* See crypto.h. */
int
cashu_verify(const uint8_t *secret, size_t len, const uint8_t k[CASHU_SCALAR_LEN],
    const uint8_t C[CASHU_POINT_LEN])
{
	uint8_t Y[CASHU_POINT_LEN], kY[CASHU_POINT_LEN];
	secp256k1_pubkey pc;

	if (crypto_parse(C, &pc) != 0)
		return -1;
	if (cashu_hash_to_curve(secret, len, Y) != 0 || cashu_sign(Y, k, kY) != 0)
		return -1;
	return ct_memeq(kY, C, CASHU_POINT_LEN) ? 1 : 0;
}

/* See crypto.h. */
int
cashu_pubkey(const uint8_t k[CASHU_SCALAR_LEN], uint8_t K[CASHU_POINT_LEN])
{
	secp256k1_pubkey pk;

	if (!secp256k1_ec_pubkey_create(crypto_ctx(), &pk, k))
		return -1;
	crypto_ser(&pk, K);
	return 0;
}

/* ------------------------------------------------------------------- DLEQ */

/* See crypto.h. */
int
cashu_hash_e(const uint8_t (*points)[CASHU_POINT_LEN], size_t n, uint8_t e[CASHU_SCALAR_LEN])
{
	secp256k1_pubkey pk[8];
	const secp256k1_pubkey *pp[8];
	size_t i;

	if (n == 0 || n > ARRAY_SIZE(pk))
		return -1;
	for (i = 0; i < n; i++) {
		if (crypto_parse(points[i], &pk[i]) != 0)
			return -1;
		pp[i] = &pk[i];
	}
	return crypto_hash_e_pk(pp, n, e);
}

/* The deterministic NUT-12 nonce for (a, A, B_, C_): the first of
 * HMAC-SHA256(a, "Cashu_DLEQ_R_v1"||A65||B_65||C_65||ctr), ctr = 0..255,
 * that is a valid scalar. */
static int
crypto_dleq_nonce(const uint8_t a[32], const secp256k1_pubkey *A, const secp256k1_pubkey *B_,
    const secp256k1_pubkey *C_, uint8_t r[32])
{
	static const char tag[] = "Cashu_DLEQ_R_v1";
	uint8_t msg[15 + 3 * 65 + 1];
	unsigned ctr;
	int rc = -1;

	memcpy(msg, tag, 15);
	crypto_ser65(A, msg + 15);
	crypto_ser65(B_, msg + 15 + 65);
	crypto_ser65(C_, msg + 15 + 130);
	for (ctr = 0; ctr < 256; ctr++) {
		msg[sizeof(msg) - 1] = (uint8_t)ctr;
		if (crypto_hmac256(a, 32, msg, sizeof(msg), r) != 0)
			break;
		if (secp256k1_ec_seckey_verify(crypto_ctx(), r)) {
			rc = 0;
			break;
		}
	}
	if (rc != 0)
		OPENSSL_cleanse(r, 32);
	return rc;
}

/* See crypto.h. */
int
cashu_dleq_prove(const uint8_t a[CASHU_SCALAR_LEN], const uint8_t B_[CASHU_POINT_LEN],
    const uint8_t C_[CASHU_POINT_LEN], const uint8_t *p, uint8_t e[CASHU_SCALAR_LEN],
    uint8_t s[CASHU_SCALAR_LEN])
{
	const secp256k1_context *ctx = crypto_ctx();
	secp256k1_pubkey A, pb, pc, R1, R2;
	const secp256k1_pubkey *pts[4];
	uint8_t r[32], ered[32], hash[32], ea[32];
	int rc = -1;

	if (!secp256k1_ec_pubkey_create(ctx, &A, a) || crypto_parse(B_, &pb) != 0 ||
	    crypto_parse(C_, &pc) != 0)
		goto out;
	if (p != NULL) {
		if (!secp256k1_ec_seckey_verify(ctx, p))
			goto out;
		memcpy(r, p, 32);
	} else if (crypto_dleq_nonce(a, &A, &pb, &pc, r) != 0)
		goto out;
	R2 = pb;
	if (!secp256k1_ec_pubkey_create(ctx, &R1, r) ||
	    !secp256k1_ec_pubkey_tweak_mul(ctx, &R2, r))
		goto out;
	pts[0] = &R1;
	pts[1] = &R2;
	pts[2] = &A;
	pts[3] = &pc;
	if (crypto_hash_e_pk(pts, 4, hash) != 0)
		goto out;
	/* s = r + e*a mod n */
	crypto_scalar_reduce(hash, ered);
	memcpy(ea, a, 32);
	if (!secp256k1_ec_seckey_tweak_mul(ctx, ea, ered) ||
	    !secp256k1_ec_seckey_tweak_add(ctx, ea, r))
		goto out;
	memcpy(e, hash, 32);
	memcpy(s, ea, 32);
	rc = 0;
out:
	OPENSSL_cleanse(r, sizeof(r));
	OPENSSL_cleanse(ea, sizeof(ea));
	return rc;
}

/* Alice's check on parsed points: 1 valid, 0 not. */
static int
crypto_dleq_check(const secp256k1_pubkey *A, const secp256k1_pubkey *B_,
    const secp256k1_pubkey *C_, const uint8_t e[32], const uint8_t s[32])
{
	const secp256k1_context *ctx = crypto_ctx();
	secp256k1_pubkey sG, eA, sB, eC, R1, R2;
	const secp256k1_pubkey *pts[4];
	uint8_t ered[32], hash[32];

	crypto_scalar_reduce(e, ered);
	if (!secp256k1_ec_seckey_verify(ctx, s) || !secp256k1_ec_seckey_verify(ctx, ered))
		return 0;
	eA = *A;
	sB = *B_;
	eC = *C_;
	if (!secp256k1_ec_pubkey_create(ctx, &sG, s) ||
	    !secp256k1_ec_pubkey_tweak_mul(ctx, &eA, ered) ||
	    !secp256k1_ec_pubkey_tweak_mul(ctx, &sB, s) ||
	    !secp256k1_ec_pubkey_tweak_mul(ctx, &eC, ered))
		return 0;
	if (crypto_sub(&sG, &eA, &R1) != 0 || crypto_sub(&sB, &eC, &R2) != 0)
		return 0;
	pts[0] = &R1;
	pts[1] = &R2;
	pts[2] = A;
	pts[3] = C_;
	if (crypto_hash_e_pk(pts, 4, hash) != 0)
		return 0;
	return memcmp(hash, e, 32) == 0 ? 1 : 0;
}

/* See crypto.h. */
int
cashu_dleq_verify(const uint8_t A[CASHU_POINT_LEN], const uint8_t B_[CASHU_POINT_LEN],
    const uint8_t C_[CASHU_POINT_LEN], const uint8_t e[CASHU_SCALAR_LEN],
    const uint8_t s[CASHU_SCALAR_LEN])
{
	secp256k1_pubkey pa, pb, pc;

	if (crypto_parse(A, &pa) != 0 || crypto_parse(B_, &pb) != 0 ||
	    crypto_parse(C_, &pc) != 0)
		return -1;
	return crypto_dleq_check(&pa, &pb, &pc, e, s);
}

/* See crypto.h. Carol: C_ = C + r*A, B_ = Y + r*G, then Alice's check. */
int
cashu_dleq_verify_proof(const uint8_t A[CASHU_POINT_LEN], const uint8_t *secret,
    size_t len, const uint8_t C[CASHU_POINT_LEN], const uint8_t e[CASHU_SCALAR_LEN],
    const uint8_t s[CASHU_SCALAR_LEN], const uint8_t r[CASHU_SCALAR_LEN])
{
	const secp256k1_context *ctx = crypto_ctx();
	secp256k1_pubkey pa, pc, rA, c_, b_;
	const secp256k1_pubkey *both[2];
	uint8_t B_[CASHU_POINT_LEN];

	if (crypto_parse(A, &pa) != 0 || crypto_parse(C, &pc) != 0)
		return -1;
	if (!secp256k1_ec_seckey_verify(ctx, r))
		return 0;
	if (cashu_blind(secret, len, r, B_) != 0 || crypto_parse(B_, &b_) != 0)
		return -1;
	rA = pa;
	if (!secp256k1_ec_pubkey_tweak_mul(ctx, &rA, r))
		return 0;
	both[0] = &pc;
	both[1] = &rA;
	if (!secp256k1_ec_pubkey_combine(ctx, &c_, both, 2))
		return 0;
	return crypto_dleq_check(&pa, &b_, &c_, e, s);
}

/* ------------------------------------------------------------ keyset ids */

/* qsort order: ascending amount. */
static int
crypto_key_cmp(const void *a, const void *b)
{
	const struct cashu_key *x = a, *y = b;

	return x->amount < y->amount ? -1 : x->amount > y->amount;
}

/* A sorted, validated copy of keys (caller frees), or NULL. */
static struct cashu_key *
crypto_sorted_keys(const struct cashu_key *keys, size_t n)
{
	struct cashu_key *s;
	secp256k1_pubkey pk;
	size_t i;

	if (keys == NULL || n == 0 || n > KEYSET_MAX_KEYS)
		return NULL;
	s = xcalloc(n, sizeof(*s));
	memcpy(s, keys, n * sizeof(*s));
	qsort(s, n, sizeof(*s), crypto_key_cmp);
	for (i = 0; i < n; i++) {
		if (crypto_parse(s[i].K, &pk) != 0 || (i > 0 && s[i].amount == s[i - 1].amount)) {
			free(s);
			return NULL;
		}
	}
	return s;
}

/* See crypto.h. */
int
cashu_keyset_id_v1(const struct cashu_key *keys, size_t n, char out[17])
{
	struct cashu_key *s = crypto_sorted_keys(keys, n);
	EVP_MD_CTX *md = NULL;
	uint8_t h[32];
	size_t i;
	int rc = -1;

	if (s == NULL)
		goto out;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (EVP_DigestUpdate(md, s[i].K, CASHU_POINT_LEN) != 1)
			goto out;
	if (EVP_DigestFinal_ex(md, h, NULL) != 1)
		goto out;
	out[0] = '0';
	out[1] = '0';
	hex_encode(h, 7, out + 2);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(s);
	return rc;
}

/* See crypto.h. */
int
cashu_keyset_id_v2(const struct cashu_key *keys, size_t n, const char *unit,
    uint64_t input_fee_ppk, uint64_t final_expiry, char out[67])
{
	struct cashu_key *s = NULL;
	EVP_MD_CTX *md = NULL;
	char part[128], hex[2 * CASHU_POINT_LEN + 1];
	uint8_t h[32];
	size_t i;
	int rc = -1, len;

	if (unit == NULL || unit[0] == '\0')
		goto out;
	s = crypto_sorted_keys(keys, n);
	md = EVP_MD_CTX_new();
	if (s == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		hex_encode(s[i].K, CASHU_POINT_LEN, hex);
		len = snprintf(part, sizeof(part), "%s%llu:%s", i ? "," : "",
		    (unsigned long long)s[i].amount, hex);
		if (len < 0 || (size_t)len >= sizeof(part) ||
		    EVP_DigestUpdate(md, part, (size_t)len) != 1)
			goto out;
	}
	if (EVP_DigestUpdate(md, "|unit:", 6) != 1 ||
	    EVP_DigestUpdate(md, unit, strlen(unit)) != 1)
		goto out;
	if (input_fee_ppk != 0) {
		len = snprintf(part, sizeof(part), "|input_fee_ppk:%llu",
		    (unsigned long long)input_fee_ppk);
		if (len < 0 || (size_t)len >= sizeof(part) ||
		    EVP_DigestUpdate(md, part, (size_t)len) != 1)
			goto out;
	}
	if (final_expiry != 0) {
		len = snprintf(part, sizeof(part), "|final_expiry:%llu",
		    (unsigned long long)final_expiry);
		if (len < 0 || (size_t)len >= sizeof(part) ||
		    EVP_DigestUpdate(md, part, (size_t)len) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, h, NULL) != 1)
		goto out;
	out[0] = '0';
	out[1] = '1';
	hex_encode(h, sizeof(h), out + 2);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(s);
	return rc;
}

/* ----------------------------------------------------------------- NUT-13 */

/* See crypto.h. */
int
cashu_nut13_keyset_int(const char *keyset_id, uint32_t *out)
{
	uint8_t raw[8];
	uint64_t v = 0;
	size_t i;

	if (keyset_id == NULL || strlen(keyset_id) != 16 ||
	    hex_decode(keyset_id, 16, raw, sizeof(raw)) != 0 || raw[0] != 0x00)
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		v = v << 8 | raw[i];
	*out = (uint32_t)(v % 2147483647u);
	return 0;
}

/* See crypto.h. */
int
cashu_bip39_seed(const char *mnemonic, const char *passphrase, uint8_t seed[64])
{
	char *salt;
	size_t plen, mlen;
	int ok;

	if (mnemonic == NULL)
		return -1;
	if (passphrase == NULL)
		passphrase = "";
	mlen = strlen(mnemonic);
	plen = strlen(passphrase);
	if (mlen == 0 || mlen > 4096 || plen > 4096)
		return -1;
	salt = xasprintf("mnemonic%s", passphrase);
	ok = PKCS5_PBKDF2_HMAC(mnemonic, (int)mlen, (const unsigned char *)salt,
	    (int)(8 + plen), 2048, EVP_sha512(), 64, seed);
	OPENSSL_cleanse(salt, 8 + plen);
	free(salt);
	return ok == 1 ? 0 : -1;
}

/* One BIP-32 private child derivation step: (k, chain) -> child index i
 * (hardened when i >= 2^31), in place. */
static int
crypto_bip32_child(uint8_t k[32], uint8_t chain[32], uint32_t i)
{
	const secp256k1_context *ctx = crypto_ctx();
	uint8_t data[37], I[64];
	secp256k1_pubkey pk;
	int rc = -1;

	if (i & 0x80000000u) {
		data[0] = 0x00;
		memcpy(data + 1, k, 32);
	} else {
		if (!secp256k1_ec_pubkey_create(ctx, &pk, k))
			goto out;
		crypto_ser(&pk, data);
	}
	data[33] = (uint8_t)(i >> 24);
	data[34] = (uint8_t)(i >> 16);
	data[35] = (uint8_t)(i >> 8);
	data[36] = (uint8_t)i;
	if (crypto_hmac512(chain, 32, data, sizeof(data), I) != 0)
		goto out;
	/* child = IL + k; IL >= n or a zero result is invalid (BIP-32 says to
	 * skip to the next index; with probability ~2^-127 we just fail). */
	if (!secp256k1_ec_seckey_verify(ctx, I) || !secp256k1_ec_seckey_tweak_add(ctx, k, I))
		goto out;
	memcpy(chain, I + 32, 32);
	rc = 0;
out:
	OPENSSL_cleanse(data, sizeof(data));
	OPENSSL_cleanse(I, sizeof(I));
	return rc;
}

/* NUT-13 v1: m/129372'/0'/{kid}'/{counter}'/{0|1}. */
static int
crypto_nut13_v1(const uint8_t seed[64], const char *keyset_id, uint32_t counter,
    uint8_t secret[32], uint8_t r[32])
{
	static const char bip32_key[] = "Bitcoin seed";
	const uint32_t H = 0x80000000u;
	uint8_t I[64], k[32], chain[32], k2[32], chain2[32];
	uint32_t kid;
	int rc = -1;

	if (counter >= H || cashu_nut13_keyset_int(keyset_id, &kid) != 0)
		goto out;
	if (crypto_hmac512((const uint8_t *)bip32_key, sizeof(bip32_key) - 1, seed, 64, I) != 0)
		goto out;
	memcpy(k, I, 32);
	memcpy(chain, I + 32, 32);
	if (!secp256k1_ec_seckey_verify(crypto_ctx(), k))
		goto out;
	if (crypto_bip32_child(k, chain, 129372u | H) != 0 ||
	    crypto_bip32_child(k, chain, 0u | H) != 0 ||
	    crypto_bip32_child(k, chain, kid | H) != 0 ||
	    crypto_bip32_child(k, chain, counter | H) != 0)
		goto out;
	memcpy(k2, k, 32);
	memcpy(chain2, chain, 32);
	if (crypto_bip32_child(k, chain, 0) != 0 || crypto_bip32_child(k2, chain2, 1) != 0)
		goto out;
	memcpy(secret, k, 32);
	memcpy(r, k2, 32);
	rc = 0;
out:
	OPENSSL_cleanse(I, sizeof(I));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(chain, sizeof(chain));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(chain2, sizeof(chain2));
	return rc;
}

/* NUT-13 v2: msg = "Cashu_KDF_HMAC_SHA256"||id(33)||u64be(counter);
 * secret = HMAC(seed, msg||00), r = HMAC(seed, msg||01) mod n. */
static int
crypto_nut13_v2(const uint8_t seed[64], const char *keyset_id, uint32_t counter,
    uint8_t secret[32], uint8_t r[32])
{
	static const char tag[] = "Cashu_KDF_HMAC_SHA256";
	uint8_t msg[21 + 33 + 8 + 1], h[32];
	int i, rc = -1;

	if (strlen(keyset_id) != 66 || hex_decode(keyset_id, 66, msg + 21, 33) != 0 ||
	    msg[21] != 0x01)
		goto out;
	memcpy(msg, tag, 21);
	for (i = 0; i < 8; i++)
		msg[54 + i] = (uint8_t)((uint64_t)counter >> (56 - 8 * i));
	msg[62] = 0x00;
	if (crypto_hmac256(seed, 64, msg, sizeof(msg), secret) != 0)
		goto out;
	msg[62] = 0x01;
	if (crypto_hmac256(seed, 64, msg, sizeof(msg), h) != 0)
		goto out;
	crypto_scalar_reduce(h, r);
	if (!secp256k1_ec_seckey_verify(crypto_ctx(), r))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}

/* See crypto.h. */
int
cashu_nut13_derive(const uint8_t seed[64], const char *keyset_id, uint32_t counter,
    char secret_hex[65], uint8_t r[CASHU_SCALAR_LEN])
{
	uint8_t secret[32];
	int rc = -1;

	if (seed == NULL || keyset_id == NULL)
		return -1;
	if (strncmp(keyset_id, "00", 2) == 0)
		rc = crypto_nut13_v1(seed, keyset_id, counter, secret, r);
	else if (strncmp(keyset_id, "01", 2) == 0)
		rc = crypto_nut13_v2(seed, keyset_id, counter, secret, r);
	if (rc == 0)
		hex_encode(secret, sizeof(secret), secret_hex);
	else
		OPENSSL_cleanse(r, CASHU_SCALAR_LEN);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

/* See crypto.h. */
void
cashu_random_scalar(uint8_t out[CASHU_SCALAR_LEN])
{
	do
		rand_bytes(out, CASHU_SCALAR_LEN);
	while (!secp256k1_ec_seckey_verify(crypto_ctx(), out));
}
