/* admin_auth: the operator's credentials, all kept in SQLite (migration
 * 0013) so every process and thread of the node agrees: the dashboard
 * password (scrypt), login sessions with their CSRF tokens, the login rate
 * limit, and bearer tokens for scripts. No HTTP here: the dashboard handlers
 * own cookies, headers and status codes; this module gives them primitives.
 *
 * A login, in the handler's order:
 *	admin_login_allowed(db, ip, now, &retry)	0: answer 429 + Retry-After
 *	admin_password_check(db, pw, &gen)		once allowed() said 1
 *	admin_login_record(db, ip, now, ok)		always after allowed() said 1
 *	admin_session_create(db, gen, now, &s)		on success: cookie s.id
 *
 * Every function that depends on the time takes now (Unix seconds), so tests
 * drive the clock. Strings are borrowed; results go into the caller's
 * buffers unless said otherwise. */
#ifndef ROUTSTR_ADMIN_AUTH_H
#define ROUTSTR_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"

#define ADMIN_PASSWORD_MIN 12		/* bytes, for a password the operator sets */
#define ADMIN_PASSWORD_MAX 1024
#define ADMIN_HASH_SIZE 128		/* buffer for a stored hash string */
#define ADMIN_GENERATED_SIZE 24		/* "xxxxx-xxxxx-xxxxx-xxxxx" + NUL */

/* Session ids and CSRF tokens: 32 random bytes in unpadded base64url. */
#define ADMIN_SECRET_LEN 43
/* A session dies after ADMIN_SESSION_IDLE seconds unused, and at the latest
 * ADMIN_SESSION_LIFETIME after login however much it is used. last_seen
 * (and with it the idle expiry) is written at most once per
 * ADMIN_SESSION_TOUCH, to spare a write per dashboard request. */
#define ADMIN_SESSION_IDLE (12 * 3600)
#define ADMIN_SESSION_LIFETIME (7 * 86400)
#define ADMIN_SESSION_TOUCH 60

/* Login rate limit: at most ADMIN_LOGIN_PER_CLIENT failed attempts per
 * client (IPv4 address, IPv6 /64) and ADMIN_LOGIN_GLOBAL on the whole node
 * in any ADMIN_LOGIN_WINDOW seconds. The global limit bounds the guessing
 * of an attacker with many addresses, at the price that such an attacker
 * can keep the dashboard's login closed; routstrctl and admin tokens still
 * work then. */
#define ADMIN_LOGIN_WINDOW 900
#define ADMIN_LOGIN_PER_CLIENT 5
#define ADMIN_LOGIN_GLOBAL 100

/* Admin tokens: "rsa_" + 32 random bytes in unpadded base64url. */
#define ADMIN_TOKEN_PREFIX "rsa_"
#define ADMIN_TOKEN_LEN (4 + ADMIN_SECRET_LEN)
#define ADMIN_TOKEN_NAME_MAX 64

/* ------------------------------------------------------------- password */

/* Hash pw into out (outsz bytes; ADMIN_HASH_SIZE is enough) as
 * "$scrypt$ln=15,r=8,p=1$<salt>$<key>" (unpadded standard base64, 16-byte
 * salt, 32-byte key). RERR_INVALID for a password over ADMIN_PASSWORD_MAX,
 * RERR_TOO_LARGE when out is too small, RERR_INTERNAL when OpenSSL fails. */
enum rerr admin_password_hash(const char *pw, char *out, size_t outsz);

/* True when pw matches stored, compared in constant time. False for a
 * malformed string (the key must be 32 bytes, the salt 8 to 32) and for
 * parameters beyond what this module would ever need: at most 64 MiB and
 * about 0.6 s, so a hostile row cannot make it allocate or spin. */
bool admin_password_verify(const char *pw, const char *stored);

/* Store the hash of pw (ADMIN_PASSWORD_MIN..MAX bytes, else RERR_INVALID)
 * and end every session, in one transaction. */
enum rerr admin_password_set(struct db *db, const char *pw, int64_t now);

/* Check pw against the stored password: RERR_OK when it matches, with the
 * password's generation in *generation (may be NULL) for
 * admin_session_create; RERR_INVALID when it does not; RERR_NOT_FOUND when
 * none is set; RERR_DB. Leaves the connection to the pool during the
 * hash (about 0.1 s), unless the caller is inside a transaction. */
enum rerr admin_password_check(struct db *db, const char *pw, int64_t *generation);

/* First start: when no password is stored, generate one, store its hash and
 * return 1 with the plain text in out for the caller to show once (it is
 * never stored or logged). 0 when a password exists (also when another
 * process stored one meanwhile), -1 on a database error. */
int admin_password_init(struct db *db, int64_t now, char out[ADMIN_GENERATED_SIZE]);

/* A random password of 20 characters from an alphabet without look-alikes
 * (no 0/o, 1/l/i), in four groups of five: about 99 bits. */
void admin_password_generate(char out[ADMIN_GENERATED_SIZE]);

/* ------------------------------------------------------------- sessions */

struct admin_session {
	char id[ADMIN_SECRET_LEN + 1];	/* the cookie value */
	char csrf[ADMIN_SECRET_LEN + 1];
	int64_t created_at, last_seen, expires_at;
};

/* A new session under the password generation a login just checked.
 * RERR_CONFLICT when the password changed (or was removed) since. Purges
 * expired sessions on the way. */
enum rerr admin_session_create(struct db *db, int64_t generation, int64_t now,
    struct admin_session *out);

/* The live session of cookie value id: RERR_OK with *out filled (id copied,
 * times as after this use, expiry slid when last_seen is older than
 * ADMIN_SESSION_TOUCH), RERR_NOT_FOUND when id is unknown, expired or
 * malformed, RERR_DB. id must not point into *out. */
enum rerr admin_session_check(struct db *db, const char *id, int64_t now,
    struct admin_session *out);

/* Logout: RERR_OK, or RERR_NOT_FOUND when there was no such session. */
enum rerr admin_session_delete(struct db *db, const char *id);
enum rerr admin_session_delete_all(struct db *db);

/* Delete expired sessions; the number deleted, or -1. */
int admin_session_purge(struct db *db, int64_t now);

/* Constant-time comparison of a submitted CSRF token with the session's;
 * false for NULL or anything not ADMIN_SECRET_LEN long. */
bool admin_csrf_equal(const char *a, const char *b);

/* ----------------------------------------------------------- rate limit */

/* May client ip (the peer address the web server reports) try a password
 * now? 1: yes, and a pending attempt is recorded, counted as a failure
 * until admin_login_record() settles it, so concurrent tries cannot pass
 * the limit together. 0: no, *retry_after (may be NULL) is the number of
 * seconds until one may. -1 on a database error (refuse the login).
 * Attempts older than the window are deleted on the way. */
int admin_login_allowed(struct db *db, const char *ip, int64_t now, int64_t *retry_after);

/* Settle the attempt admin_login_allowed() let through: a failure counts
 * from now; a success is forgotten. */
enum rerr admin_login_record(struct db *db, const char *ip, int64_t now, bool ok);

/* ---------------------------------------------------------------- tokens */

struct admin_token {
	int64_t id;
	char name[ADMIN_TOKEN_NAME_MAX + 1];
	int64_t created_at;
	int64_t last_used;	/* 0: never */
};

/* A new token named name (NULL or up to ADMIN_TOKEN_NAME_MAX bytes of UTF-8
 * without control characters, else RERR_INVALID) into token, to be shown
 * once: only its SHA-256 is stored. Its id into *id (may be NULL). */
enum rerr admin_token_create(struct db *db, const char *name, int64_t now,
    char token[ADMIN_TOKEN_LEN + 1], int64_t *id);

/* RERR_OK with the token's id in *id (may be NULL) when token is a live
 * admin token (last_used is written at most once per ADMIN_SESSION_TOUCH);
 * RERR_NOT_FOUND when unknown, revoked or malformed; RERR_DB. */
enum rerr admin_token_check(struct db *db, const char *token, int64_t now, int64_t *id);

/* Every token, oldest first, in a new array the caller frees (free()). */
enum rerr admin_token_list(struct db *db, struct admin_token **out, size_t *n);

/* RERR_OK, or RERR_NOT_FOUND when there is no token id. */
enum rerr admin_token_revoke(struct db *db, int64_t id);

#endif
