/* cashu/crypto: BDHKE (NUT-00), DLEQ (NUT-12), keyset ids (NUT-02) and
 * NUT-13 deterministic secrets, on libsecp256k1 and OpenSSL.
 * Points are 33-byte compressed secp256k1 encodings; scalars are 32 bytes
 * big-endian. All functions are thread-safe (one shared, randomised,
 * read-only secp256k1 context) and return 0 on success, -1 on bad input. */
#ifndef ROUTSTR_CASHU_CRYPTO_H
#define ROUTSTR_CASHU_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CASHU_POINT_LEN 33
#define CASHU_SCALAR_LEN 32

/* hash_to_curve(msg): the NUT-00 domain-separated try-and-increment map.
 * For a proof, msg is the UTF-8 secret string (not its hex decoding). Fails
 * (-1) after 2^16 counters, as nutshell and cashu-ts do. */
int cashu_hash_to_curve(const uint8_t *msg, size_t len, uint8_t Y[CASHU_POINT_LEN]);

/* Parse 66 hex digits (either case) as a compressed point that lies on the
 * curve: 0, or -1 for anything else (wrong length, 04 prefix, off-curve).
 * out may be NULL to only validate. */
int cashu_point_parse_hex(const char *hex, uint8_t out[CASHU_POINT_LEN]);

/* B_ = Y + r*G, with Y = hash_to_curve(secret). */
int cashu_blind(const uint8_t *secret, size_t len, const uint8_t r[CASHU_SCALAR_LEN],
    uint8_t B_[CASHU_POINT_LEN]);
/* C = C_ - r*K. */
int cashu_unblind(const uint8_t C_[CASHU_POINT_LEN], const uint8_t r[CASHU_SCALAR_LEN],
    const uint8_t K[CASHU_POINT_LEN], uint8_t C[CASHU_POINT_LEN]);
/* Mint side: C_ = k*B_. */
int cashu_sign(const uint8_t B_[CASHU_POINT_LEN], const uint8_t k[CASHU_SCALAR_LEN],
    uint8_t C_[CASHU_POINT_LEN]);
/* Mint side: 1 when C == k*hash_to_curve(secret), 0 when not, -1 on bad input. */
int cashu_verify(const uint8_t *secret, size_t len, const uint8_t k[CASHU_SCALAR_LEN],
    const uint8_t C[CASHU_POINT_LEN]);
/* K = k*G. */
int cashu_pubkey(const uint8_t k[CASHU_SCALAR_LEN], uint8_t K[CASHU_POINT_LEN]);

/* NUT-12 hash_e: SHA256 over the lower-case hex text of the 65-byte
 * uncompressed forms of n compressed points. */
int cashu_hash_e(const uint8_t (*points)[CASHU_POINT_LEN], size_t n,
    uint8_t e[CASHU_SCALAR_LEN]);

/* NUT-12: mint creates (e, s) for C_ = a*B_ with nonce p; when p is NULL the
 * spec's deterministic nonce HMAC-SHA256(a, "Cashu_DLEQ_R_v1"||A||B_||C_||ctr)
 * is used (what the vectors and cashu-ts produce). */
int cashu_dleq_prove(const uint8_t a[CASHU_SCALAR_LEN], const uint8_t B_[CASHU_POINT_LEN],
    const uint8_t C_[CASHU_POINT_LEN], const uint8_t *p, uint8_t e[CASHU_SCALAR_LEN],
    uint8_t s[CASHU_SCALAR_LEN]);
/* Alice: 1 when (e, s) proves C_ = a*B_ for A = a*G; 0 when not; -1 bad input. */
int cashu_dleq_verify(const uint8_t A[CASHU_POINT_LEN], const uint8_t B_[CASHU_POINT_LEN],
    const uint8_t C_[CASHU_POINT_LEN], const uint8_t e[CASHU_SCALAR_LEN],
    const uint8_t s[CASHU_SCALAR_LEN]);
/* Carol: re-blind with r and verify a proof carried in a token. */
int cashu_dleq_verify_proof(const uint8_t A[CASHU_POINT_LEN], const uint8_t *secret,
    size_t len, const uint8_t C[CASHU_POINT_LEN], const uint8_t e[CASHU_SCALAR_LEN],
    const uint8_t s[CASHU_SCALAR_LEN], const uint8_t r[CASHU_SCALAR_LEN]);

/* One key of a keyset: amount and its public key. */
struct cashu_key {
	uint64_t amount;
	uint8_t K[CASHU_POINT_LEN];
};

/* Keyset id v1 ("00" + 14 hex) over the keys in ascending amount order
 * (the function sorts a copy; duplicate amounts or bad points fail). out: 17 bytes. */
int cashu_keyset_id_v1(const struct cashu_key *keys, size_t n, char out[17]);
/* Keyset id v2 ("01" + 64 hex) over keys, unit, input_fee_ppk (0 omits it)
 * and final_expiry (0 omits it). out: 67 bytes. */
int cashu_keyset_id_v2(const struct cashu_key *keys, size_t n, const char *unit,
    uint64_t input_fee_ppk, uint64_t final_expiry, char out[67]);

/* NUT-13: deterministic secret (as the 64-char lower-case hex string that
 * becomes the proof's secret) and blinding factor r for keyset_id and
 * counter, from a BIP-39 seed (64 bytes). Covers v1 (BIP-32 derivation) and
 * v2 (HMAC-SHA256) keyset ids, as the spec and its vectors define. */
/* keyset_id must be a full id: 16 hex digits starting "00" (v1, counter <
 * 2^31) or 66 hex digits starting "01" (v2); short v2 ids are resolved first. */
int cashu_nut13_derive(const uint8_t seed[64], const char *keyset_id, uint32_t counter,
    char secret_hex[65], uint8_t r[CASHU_SCALAR_LEN]);

/* NUT-13 v1: the keyset id (16 hex digits, "00...") as an integer mod
 * 2^31-1, the hardened index used in the BIP-32 path. */
int cashu_nut13_keyset_int(const char *keyset_id, uint32_t *out);

/* BIP-39 seed from a mnemonic and passphrase (NULL = ""): PBKDF2-HMAC-SHA512,
 * 2048 rounds, salt "mnemonic"||passphrase. The words are used as given (no
 * word-list check, no NFKD normalisation: callers pass ASCII English words
 * separated by single spaces). */
int cashu_bip39_seed(const char *mnemonic, const char *passphrase, uint8_t seed[64]);

/* A uniformly random valid scalar in [1, n-1]. */
void cashu_random_scalar(uint8_t out[CASHU_SCALAR_LEN]);

#endif
