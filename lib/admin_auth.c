/* admin_auth: see admin_auth.h and migrations/0013_admin.sql.
 *
 * Statement discipline as in ledger.c: each cached statement is fetched,
 * bound, stepped and reset before the next db_stmt(). Session ids and tokens
 * are looked up by their SHA-256, so the lookup's timing says nothing about
 * the secret; the CSRF token and the password's key are compared with
 * CRYPTO_memcmp. */
#include "config.h"

#include "db_sql.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "admin_auth.h"
#include "cashu/b64.h"
#include "log.h"
#include "util.h"

/* The parameters of new hashes. N = 2^15, r = 8, p = 1 takes 128 * r * N =
 * 32 MiB and about 0.1 s of one core on the 2-core CI machine: twice the
 * work of Routstr's N = 2^14, which matters only for a weak password chosen
 * by hand, while a login stays cheap on a shared host. 2^16 would take
 * 64 MiB and 0.3 s per try; p = 1 because a login should not take more than
 * one core of a machine serving requests. A stored string names its own
 * parameters, so these can grow later without breaking old hashes. */
#define KDF_LN 15
#define KDF_R 8
#define KDF_P 1
#define KDF_SALT 16
#define KDF_KEY 32
/* At most this many hashes at once per process: a burst of logins (as many
 * as the rate limit lets through) must not take 32 MiB each at once. */
#define KDF_CONCURRENCY 2

#define B64_STD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define B64_URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* Bind fmt's arguments to sql as ?1, ?2, ... ("t" text, "i" int64_t: pass
 * that type), step it (no rows expected) and reset it: the rows changed, or
 * -1 (logged). */
static int
vrun(struct db *db, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int i, rc;

	if (st == NULL)
		return -1;
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("admin_auth: %s", sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	return sqlite3_changes(db_handle(db));
}

/* vrun() inside the caller's transaction. */
static int
run(struct db *db, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vrun(db, sql, fmt, ap);
	va_end(ap);
	return n;
}

/* vrun() in a write transaction of its own. */
static int
run_tx(struct db *db, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (db_begin(db) != RERR_OK)
		return -1;
	va_start(ap, fmt);
	n = vrun(db, sql, fmt, ap);
	va_end(ap);
	if (n < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) == RERR_OK ? n : -1;
}

/* 32 random bytes as unpadded base64url: session ids, CSRF tokens. */
static void
random_secret(char out[ADMIN_SECRET_LEN + 1])
{
	uint8_t b[32];

	rand_bytes(b, sizeof(b));
	b64_encode(b, sizeof(b), B64_URL, false, out, ADMIN_SECRET_LEN + 1);
	OPENSSL_cleanse(b, sizeof(b));
}

/* s is exactly ADMIN_SECRET_LEN base64url characters. */
static bool
secret_ok(const char *s)
{
	return s != NULL && strnlen(s, ADMIN_SECRET_LEN + 1) == ADMIN_SECRET_LEN &&
	    strspn(s, B64_URL_CHARS) == ADMIN_SECRET_LEN;
}

static void
sha256_hex(const char *s, char out[2 * SHA256_DIGEST_LENGTH + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), md);
	hex_encode(md, sizeof(md), out);
}

/* ------------------------------------------------------------------------ */
/* Password hashing                                                          */

static pthread_mutex_t kdf_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kdf_cv = PTHREAD_COND_INITIALIZER;
static int kdf_running;

/* What a stored string may ask for: r * N <= 2^19 is 64 MiB of scratch
 * (ln = 16 at r = 8), r * N * p <= 2^20 bounds the time (about 0.6 s). The
 * floor refuses strings too weak to have come from this module. */
static bool
kdf_params_ok(uint64_t ln, uint64_t r, uint64_t p)
{
	return ln >= 10 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16 &&
	    (r << ln) <= ((uint64_t)1 << 19) && ((r * p) << ln) <= ((uint64_t)1 << 20);
}

/* scrypt through OpenSSL 3's EVP_KDF, at most KDF_CONCURRENCY at a time in
 * this process. Parameters already checked. 0 or -1 (logged). */
static int
kdf(const char *pw, const uint8_t *salt, size_t saltlen, unsigned ln, unsigned r, unsigned p,
    uint8_t *out, size_t outlen)
{
	uint64_t n = (uint64_t)1 << ln;
	/* OpenSSL's own count of what it allocates: V and B. */
	uint64_t maxmem = 128 * (uint64_t)r * (n + 2 + p);
	uint32_t r32 = r, p32 = p;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, strlen(pw)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	EVP_KDF *k = NULL;
	EVP_KDF_CTX *ctx = NULL;
	int rc = -1;

	pthread_mutex_lock(&kdf_mu);
	while (kdf_running >= KDF_CONCURRENCY)
		pthread_cond_wait(&kdf_cv, &kdf_mu);
	kdf_running++;
	pthread_mutex_unlock(&kdf_mu);
	if ((k = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(k)) == NULL ||
	    EVP_KDF_derive(ctx, out, outlen, params) != 1) {
		log_error("admin_auth: scrypt failed (ln=%u r=%u p=%u)", ln, r, p);
		goto out;
	}
	rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(k);
	pthread_mutex_lock(&kdf_mu);
	kdf_running--;
	pthread_cond_signal(&kdf_cv);
	pthread_mutex_unlock(&kdf_mu);
	return rc;
}

enum rerr
admin_password_hash(const char *pw, char *out, size_t outsz)
{
	uint8_t salt[KDF_SALT], key[KDF_KEY];
	char s64[64], k64[64];
	int n;

	if (strnlen(pw, ADMIN_PASSWORD_MAX + 1) > ADMIN_PASSWORD_MAX)
		return RERR_INVALID;
	rand_bytes(salt, sizeof(salt));
	if (kdf(pw, salt, sizeof(salt), KDF_LN, KDF_R, KDF_P, key, sizeof(key)) < 0)
		return RERR_INTERNAL;
	b64_encode(salt, sizeof(salt), B64_STD, false, s64, sizeof(s64));
	b64_encode(key, sizeof(key), B64_STD, false, k64, sizeof(k64));
	OPENSSL_cleanse(key, sizeof(key));
	n = snprintf(out, outsz, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", KDF_LN, KDF_R, KDF_P, s64, k64);
	return n > 0 && (size_t)n < outsz ? RERR_OK : RERR_TOO_LARGE;
}

/* Read "<prefix><decimal>" at *s, advancing past it. 0 or -1. */
static int
take_num(const char **s, const char *prefix, uint64_t *out)
{
	size_t np = strlen(prefix), nd;

	if (strncmp(*s, prefix, np) != 0)
		return -1;
	*s += np;
	nd = strspn(*s, "0123456789");
	if (nd == 0 || nd > 3 || parse_u64n(*s, nd, 999, out) < 0)
		return -1;
	*s += nd;
	return 0;
}

/* Read unpadded standard base64 at *s up to end (the next character),
 * decoding min..max bytes into out; advances past the end character. 0 or
 * -1. The key is always KDF_KEY bytes, so a truncated string is refused
 * rather than checked against fewer bytes; the salt may be 8 to 32, so
 * every string within the bounds fits ADMIN_HASH_SIZE. */
static int
take_b64(const char **s, char end, uint8_t *out, size_t min, size_t max, size_t *len)
{
	size_t n = strspn(*s, B64_STD_CHARS);

	if ((*s)[n] != end || b64_decode(*s, n, out, max, len) < 0 || *len < min)
		return -1;
	*s += n + (end != '\0');
	return 0;
}

bool
admin_password_verify(const char *pw, const char *stored)
{
	uint8_t salt[32], want[KDF_KEY], got[KDF_KEY];
	size_t saltlen, keylen;
	uint64_t ln, r, p;
	const char *s = stored;
	bool ok = false;

	if (pw == NULL || s == NULL || strnlen(pw, ADMIN_PASSWORD_MAX + 1) > ADMIN_PASSWORD_MAX ||
	    strnlen(s, ADMIN_HASH_SIZE) >= ADMIN_HASH_SIZE || strncmp(s, "$scrypt$", 8) != 0)
		return false;
	s += 8;
	if (take_num(&s, "ln=", &ln) < 0 || take_num(&s, ",r=", &r) < 0 ||
	    take_num(&s, ",p=", &p) < 0 || *s++ != '$' || !kdf_params_ok(ln, r, p) ||
	    take_b64(&s, '$', salt, 8, sizeof(salt), &saltlen) < 0 ||
	    take_b64(&s, '\0', want, KDF_KEY, KDF_KEY, &keylen) < 0)
		return false;
	if (kdf(pw, salt, saltlen, (unsigned)ln, (unsigned)r, (unsigned)p, got, keylen) == 0)
		ok = CRYPTO_memcmp(got, want, keylen) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

void
admin_password_generate(char out[ADMIN_GENERATED_SIZE])
{
	static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
	/* Bytes from 248 up are drawn again, so each of the 31 is as likely. */
	const unsigned n = sizeof(alphabet) - 1, lim = 256 - 256 % n;
	size_t i, o = 0;
	uint8_t c;

	for (i = 0; i < 20; i++) {
		do
			rand_bytes(&c, 1);
		while (c >= lim);
		if (i > 0 && i % 5 == 0)
			out[o++] = '-';
		out[o++] = alphabet[c % n];
	}
	out[o] = '\0';
}

enum rerr
admin_password_set(struct db *db, const char *pw, int64_t now)
{
	static const char set_sql[] =
	    "INSERT INTO admin_password (id, hash, generation, updated_at) VALUES (1, ?1, 1, ?2)"
	    " ON CONFLICT (id) DO UPDATE SET hash = excluded.hash,"
	    " generation = generation + 1, updated_at = excluded.updated_at";
	static const char end_sql[] = "DELETE FROM admin_sessions";
	char hash[ADMIN_HASH_SIZE];
	enum rerr e;
	size_t n = strnlen(pw, ADMIN_PASSWORD_MAX + 1);

	if (n < ADMIN_PASSWORD_MIN || n > ADMIN_PASSWORD_MAX)
		return RERR_INVALID;
	/* The hash first: 0.1 s is too long to hold the write lock. */
	if ((e = admin_password_hash(pw, hash, sizeof(hash))) != RERR_OK)
		return e;
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	if (run(db, set_sql, "ti", hash, now) != 1 || run(db, end_sql, "") < 0) {
		db_rollback(db);
		return RERR_DB;
	}
	return db_commit(db);
}

enum rerr
admin_password_check(struct db *db, const char *pw, int64_t *generation)
{
	static const char sql[] = "SELECT hash, generation FROM admin_password WHERE id = 1";
	char stored[ADMIN_HASH_SIZE] = "";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t gen = 0;
	int rc;

	if (st == NULL)
		return RERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 0);

		/* A longer string is malformed: verify() refuses the "" left. */
		if (h && (size_t)sqlite3_column_bytes(st, 0) < sizeof(stored))
			memcpy(stored, h, (size_t)sqlite3_column_bytes(st, 0) + 1);
		gen = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return RERR_NOT_FOUND;
	if (rc != SQLITE_ROW) {
		log_error("admin_auth: %s", sqlite3_errmsg(db_handle(db)));
		return RERR_DB;
	}
	db_release(db);
	if (!admin_password_verify(pw, stored))
		return RERR_INVALID;
	if (generation)
		*generation = gen;
	return RERR_OK;
}

int
admin_password_init(struct db *db, int64_t now, char out[ADMIN_GENERATED_SIZE])
{
	static const char has_sql[] = "SELECT count(*) FROM admin_password";
	static const char ins_sql[] =
	    "INSERT OR IGNORE INTO admin_password (id, hash, generation, updated_at)"
	    " VALUES (1, ?1, 1, ?2)";
	char hash[ADMIN_HASH_SIZE];
	sqlite3_stmt *st = db_stmt(db, has_sql);
	int rc = -1, n;

	out[0] = '\0';
	if (st == NULL)
		return -1;
	n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_reset(st);
	if (n != 0)
		return n > 0 ? 0 : -1;
	admin_password_generate(out);
	/* Several processes may start at once: the one whose row lands shows
	 * its password; the others find theirs ignored and show nothing. */
	if (admin_password_hash(out, hash, sizeof(hash)) == RERR_OK)
		rc = run_tx(db, ins_sql, "ti", hash, now);
	if (rc != 1)
		OPENSSL_cleanse(out, ADMIN_GENERATED_SIZE);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                  */

_Static_assert(ADMIN_SESSION_IDLE <= ADMIN_SESSION_LIFETIME, "a session idles out first");

static const char session_purge_sql[] = "DELETE FROM admin_sessions WHERE expires_at <= ?1";

enum rerr
admin_session_create(struct db *db, int64_t generation, int64_t now, struct admin_session *out)
{
	static const char ins_sql[] =
	    "INSERT INTO admin_sessions (id_hash, csrf, created_at, last_seen, expires_at)"
	    " SELECT ?1, ?2, ?3, ?3, ?4 FROM admin_password WHERE id = 1 AND generation = ?5";
	char idh[2 * SHA256_DIGEST_LENGTH + 1];
	enum rerr e = RERR_DB;
	int n = -1;

	memset(out, 0, sizeof(*out));
	random_secret(out->id);
	random_secret(out->csrf);
	sha256_hex(out->id, idh);
	out->created_at = out->last_seen = now;
	out->expires_at = now + ADMIN_SESSION_IDLE;
	if (db_begin(db) == RERR_OK) {
		if (run(db, session_purge_sql, "i", now) < 0 || (n = run(db, ins_sql, "ttiii", idh,
		    out->csrf, now, out->expires_at, generation)) < 0)
			db_rollback(db);
		else if (db_commit(db) == RERR_OK)
			e = n == 1 ? RERR_OK : RERR_CONFLICT;
	}
	if (e != RERR_OK)
		memset(out, 0, sizeof(*out));
	return e;
}

enum rerr
admin_session_check(struct db *db, const char *id, int64_t now, struct admin_session *out)
{
	static const char get_sql[] =
	    "SELECT csrf, created_at, last_seen, expires_at FROM admin_sessions"
	    " WHERE id_hash = ?1 AND expires_at > ?2";
	static const char touch_sql[] =
	    "UPDATE admin_sessions SET last_seen = ?2, expires_at = ?3"
	    " WHERE id_hash = ?1 AND expires_at > ?2";
	char idh[2 * SHA256_DIGEST_LENGTH + 1];
	sqlite3_stmt *st;
	int64_t exp;
	int rc, n;

	memset(out, 0, sizeof(*out));
	if (!secret_ok(id))
		return RERR_NOT_FOUND;
	sha256_hex(id, idh);
	if ((st = db_stmt(db, get_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, idh, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->csrf, sizeof(out->csrf), "%s", (const char *)sqlite3_column_text(st, 0));
		out->created_at = sqlite3_column_int64(st, 1);
		out->last_seen = sqlite3_column_int64(st, 2);
		out->expires_at = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return RERR_NOT_FOUND;
	if (rc != SQLITE_ROW) {
		log_error("admin_auth: %s", sqlite3_errmsg(db_handle(db)));
		return RERR_DB;
	}
	memcpy(out->id, id, ADMIN_SECRET_LEN + 1);
	if (now - out->last_seen < ADMIN_SESSION_TOUCH)
		return RERR_OK;
	/* Slide the idle expiry, never past the absolute lifetime. */
	exp = now + ADMIN_SESSION_IDLE;
	if (exp > out->created_at + ADMIN_SESSION_LIFETIME)
		exp = out->created_at + ADMIN_SESSION_LIFETIME;
	if ((n = run_tx(db, touch_sql, "tii", idh, now, exp)) < 0)
		return RERR_DB;
	if (n == 0)	/* logged out (or the password changed) meanwhile */
		return RERR_NOT_FOUND;
	out->last_seen = now;
	out->expires_at = exp;
	return RERR_OK;
}

enum rerr
admin_session_delete(struct db *db, const char *id)
{
	static const char sql[] = "DELETE FROM admin_sessions WHERE id_hash = ?1";
	char idh[2 * SHA256_DIGEST_LENGTH + 1];
	int n;

	if (!secret_ok(id))
		return RERR_NOT_FOUND;
	sha256_hex(id, idh);
	n = run_tx(db, sql, "t", idh);
	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}

enum rerr
admin_session_delete_all(struct db *db)
{
	static const char sql[] = "DELETE FROM admin_sessions";

	return run_tx(db, sql, "") < 0 ? RERR_DB : RERR_OK;
}

int
admin_session_purge(struct db *db, int64_t now)
{
	return run_tx(db, session_purge_sql, "i", now);
}

bool
admin_csrf_equal(const char *a, const char *b)
{
	return a != NULL && b != NULL && strnlen(a, ADMIN_SECRET_LEN + 1) == ADMIN_SECRET_LEN &&
	    strnlen(b, ADMIN_SECRET_LEN + 1) == ADMIN_SECRET_LEN &&
	    CRYPTO_memcmp(a, b, ADMIN_SECRET_LEN) == 0;
}

/* ------------------------------------------------------------------------ */
/* Login rate limit                                                          */

#define CLIENT_KEY_SIZE (INET6_ADDRSTRLEN + 4)

/* The rate limit's bucket for a peer address: an IPv4 address (IPv4-mapped
 * IPv6 too), an IPv6 address by its /64, since one host usually has a whole
 * /64 to pick from; anything else shares the bucket "other". */
static void
client_key(const char *ip, char out[CLIENT_KEY_SIZE])
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t a[16];
	char txt[INET6_ADDRSTRLEN];

	if (ip && inet_pton(AF_INET, ip, a) == 1 &&
	    inet_ntop(AF_INET, a, out, CLIENT_KEY_SIZE))
		return;
	if (ip && inet_pton(AF_INET6, ip, a) == 1) {
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0 &&
		    inet_ntop(AF_INET, a + 12, out, CLIENT_KEY_SIZE))
			return;
		memset(a + 8, 0, 8);
		if (inet_ntop(AF_INET6, a, txt, sizeof(txt))) {
			snprintf(out, CLIENT_KEY_SIZE, "%s/64", txt);
			return;
		}
	}
	snprintf(out, CLIENT_KEY_SIZE, "other");
}

/* Seconds until a bucket of count attempts (all inside the window) drops
 * under limit: when its (count - limit + 1)-th oldest leaves the window.
 * client NULL: the whole node. 0 when under the limit, -1 on error. */
static int64_t
wait_for(struct db *db, const char *client, int64_t count, int64_t limit, int64_t now)
{
	static const char sql[] =
	    "SELECT at FROM login_attempts WHERE ?1 IS NULL OR client = ?1"
	    " ORDER BY at LIMIT 1 OFFSET ?2";
	sqlite3_stmt *st;
	int64_t at = 0;
	int rc;

	if (count < limit)
		return 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	if (client)
		sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, count - limit);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		at = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return -1;
	return at + ADMIN_LOGIN_WINDOW - now > 0 ? at + ADMIN_LOGIN_WINDOW - now : 1;
}

int
admin_login_allowed(struct db *db, const char *ip, int64_t now, int64_t *retry_after)
{
	static const char purge_sql[] = "DELETE FROM login_attempts WHERE at <= ?1";
	static const char count_sql[] =
	    "SELECT count(*), count(*) FILTER (WHERE client = ?1) FROM login_attempts";
	static const char ins_sql[] = "INSERT INTO login_attempts (client, at) VALUES (?1, ?2)";
	char client[CLIENT_KEY_SIZE];
	int64_t all = 0, mine = 0, w1, w2;
	sqlite3_stmt *st;
	int rc;

	if (retry_after)
		*retry_after = 0;
	client_key(ip, client);
	if (db_begin(db) != RERR_OK)
		return -1;
	if (run(db, purge_sql, "i", now - ADMIN_LOGIN_WINDOW) < 0 ||
	    (st = db_stmt(db, count_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		all = sqlite3_column_int64(st, 0);
		mine = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		goto fail;
	w1 = wait_for(db, client, mine, ADMIN_LOGIN_PER_CLIENT, now);
	w2 = wait_for(db, NULL, all, ADMIN_LOGIN_GLOBAL, now);
	if (w1 < 0 || w2 < 0)
		goto fail;
	if (w1 > 0 || w2 > 0) {
		if (retry_after)
			*retry_after = w1 > w2 ? w1 : w2;
		return db_commit(db) == RERR_OK ? 0 : -1;
	}
	if (run(db, ins_sql, "ti", client, now) != 1)
		goto fail;
	return db_commit(db) == RERR_OK ? 1 : -1;
fail:
	db_rollback(db);
	return -1;
}

enum rerr
admin_login_record(struct db *db, const char *ip, int64_t now, bool ok)
{
	static const char pending_sql[] =
	    "SELECT min(id) FROM login_attempts WHERE client = ?1 AND pending = 1";
	static const char ok_sql[] = "DELETE FROM login_attempts WHERE id = ?1";
	static const char fail_sql[] = "UPDATE login_attempts SET pending = 0, at = ?2 WHERE id = ?1";
	/* allowed() was not called, or its row is gone: count the failure. */
	static const char ins_sql[] =
	    "INSERT INTO login_attempts (client, at, pending) VALUES (?1, ?2, 0)";
	char client[CLIENT_KEY_SIZE];
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc, n;

	client_key(ip, client);
	if (db_begin(db) != RERR_OK)
		return RERR_DB;
	if ((st = db_stmt(db, pending_sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);	/* NULL reads 0: none pending */
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		goto fail;
	if (ok)
		n = id ? run(db, ok_sql, "i", id) : 1;
	else if (id)
		n = run(db, fail_sql, "ii", id, now);
	else
		n = run(db, ins_sql, "ti", client, now);
	if (n != 1)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return RERR_DB;
}

/* ------------------------------------------------------------------------ */
/* Admin tokens                                                              */

/* NULL, or printable UTF-8 within ADMIN_TOKEN_NAME_MAX: a name is printed
 * on the operator's terminal and the dashboard. */
static bool
name_ok(const char *s)
{
	size_t n, i;

	if (s == NULL)
		return true;
	n = strnlen(s, ADMIN_TOKEN_NAME_MAX + 1);
	if (n > ADMIN_TOKEN_NAME_MAX || !utf8_valid(s, n))
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

enum rerr
admin_token_create(struct db *db, const char *name, int64_t now, char token[ADMIN_TOKEN_LEN + 1],
    int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO admin_tokens (name, token_hash, created_at) VALUES (?1, ?2, ?3)";
	char th[2 * SHA256_DIGEST_LENGTH + 1];

	token[0] = '\0';
	if (!name_ok(name))
		return RERR_INVALID;
	memcpy(token, ADMIN_TOKEN_PREFIX, 4);
	random_secret(token + 4);
	sha256_hex(token, th);
	if (run_tx(db, sql, "tti", name ? name : "", th, now) != 1) {
		OPENSSL_cleanse(token, ADMIN_TOKEN_LEN + 1);
		return RERR_DB;
	}
	/* The connection is still this db's: the rowid is ours. */
	if (id)
		*id = sqlite3_last_insert_rowid(db_handle(db));
	return RERR_OK;
}

enum rerr
admin_token_check(struct db *db, const char *token, int64_t now, int64_t *id)
{
	static const char get_sql[] =
	    "SELECT id, coalesce(last_used, 0) FROM admin_tokens WHERE token_hash = ?1";
	static const char touch_sql[] = "UPDATE admin_tokens SET last_used = ?2 WHERE id = ?1";
	char th[2 * SHA256_DIGEST_LENGTH + 1];
	sqlite3_stmt *st;
	int64_t tid = 0, last = 0;
	int rc, n;

	if (token == NULL || strncmp(token, ADMIN_TOKEN_PREFIX, 4) != 0 || !secret_ok(token + 4))
		return RERR_NOT_FOUND;
	sha256_hex(token, th);
	if ((st = db_stmt(db, get_sql)) == NULL)
		return RERR_DB;
	sqlite3_bind_text(st, 1, th, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		tid = sqlite3_column_int64(st, 0);
		last = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return RERR_NOT_FOUND;
	if (rc != SQLITE_ROW) {
		log_error("admin_auth: %s", sqlite3_errmsg(db_handle(db)));
		return RERR_DB;
	}
	if (now - last >= ADMIN_SESSION_TOUCH) {
		if ((n = run_tx(db, touch_sql, "ii", tid, now)) < 0)
			return RERR_DB;
		if (n == 0)	/* revoked meanwhile */
			return RERR_NOT_FOUND;
	}
	if (id)
		*id = tid;
	return RERR_OK;
}

enum rerr
admin_token_list(struct db *db, struct admin_token **out, size_t *n)
{
	static const char sql[] =
	    "SELECT id, name, created_at, coalesce(last_used, 0) FROM admin_tokens ORDER BY id";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct admin_token *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return RERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 1);

		if (cnt == cap) {
			cap = cap ? 2 * cap : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[cnt].id = sqlite3_column_int64(st, 0);
		snprintf(v[cnt].name, sizeof(v[cnt].name), "%s", name ? (const char *)name : "");
		v[cnt].created_at = sqlite3_column_int64(st, 2);
		v[cnt].last_used = sqlite3_column_int64(st, 3);
		cnt++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("admin_auth: %s", sqlite3_errmsg(db_handle(db)));
		free(v);
		return RERR_DB;
	}
	*out = v;
	*n = cnt;
	return RERR_OK;
}

enum rerr
admin_token_revoke(struct db *db, int64_t id)
{
	static const char sql[] = "DELETE FROM admin_tokens WHERE id = ?1";
	int n = run_tx(db, sql, "i", id);

	return n < 0 ? RERR_DB : n == 0 ? RERR_NOT_FOUND : RERR_OK;
}
