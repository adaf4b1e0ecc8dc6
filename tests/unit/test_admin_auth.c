/* Check suite for lib/admin_auth: scrypt strings (round trip, a known answer
 * from RFC 7914, malformed and hostile rows refused), the stored password
 * (first-start generation once, set ends sessions, a login racing a change),
 * sessions on a driven clock (sliding and absolute expiry, touch rate,
 * tampered ids, logout, purge), CSRF comparison, the login rate limit (per
 * client, IPv6 /64, global, pending attempts, the window) and admin tokens. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_auth.h"
#include "log.h"
#include "testlib.h"

static char dir[TL_PATH_MAX];
static struct db *db;

#define T0 1700000000

static void
setup(void)
{
	char path[TL_PATH_MAX + 16];

	tl_tmpdir(dir, sizeof(dir), "test_admin_auth");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	db = tl_db_open(path, DB_SYNC_OFF);
}

static void
teardown(void)
{
	db_close(db);
	tl_tmpdir_remove(dir);
}

/* ------------------------------------------------------------- password */

START_TEST(hash_round_trip)
{
	char a[ADMIN_HASH_SIZE], b[ADMIN_HASH_SIZE], small[40];

	ck_assert_int_eq(admin_password_hash("correct horse battery", a, sizeof(a)), RERR_OK);
	ck_assert_int_eq(strncmp(a, "$scrypt$ln=15,r=8,p=1$", strlen("$scrypt$ln=15,r=8,p=1$")), 0);
	ck_assert(admin_password_verify("correct horse battery", a));
	ck_assert(!admin_password_verify("correct horse batterY", a));
	ck_assert(!admin_password_verify("", a));
	/* A fresh salt each time. */
	ck_assert_int_eq(admin_password_hash("correct horse battery", b, sizeof(b)), RERR_OK);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(admin_password_hash("x", small, sizeof(small)), RERR_TOO_LARGE);
}
END_TEST

/* RFC 7914 section 12, third vector (N = 16384, r = 8, p = 1), its first 32
 * bytes: a string of other parameters than ours verifies, and "ln" is
 * log2(N). */
START_TEST(verify_known_answer)
{
	static const char s[] = "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$"
	    "cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI";

	ck_assert(admin_password_verify("pleaseletmein", s));
	ck_assert(!admin_password_verify("pleaseletmeout", s));
}
END_TEST

START_TEST(verify_refuses_hostile)
{
	static const char *const bad[] = {
		"",
		"$scrypt$",
		"scrypt:16384:8:1:U29kaXVtQ2hsb3JpZGU=:cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI=",
		"$SCRYPT$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		/* bad base64: a character outside the alphabet, url alphabet, padding */
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdof!",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU=$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		/* absurd parameters: 2^40 blocks, 128 MiB, no r, no p, too many p */
		"$scrypt$ln=40,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=17,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=0,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=0$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=99$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=99999999999999999999,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=-1,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		/* fields missing, reordered, extra */
		"$scrypt$r=8,ln=14,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=8$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI$",
		"$scrypt$ln=14,r=8,p=1$$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		/* a salt under 8 bytes or over 32, a key longer than 32 */
		"$scrypt$ln=14,r=8,p=1$U29kaQ$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGVTb2RpdW1DaGxvcmlkZVNvZGl1bUNobG9y"
		"$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
		"$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofIAA",
	};
	static const char good[] = "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$"
	    "cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI";
	char cut[sizeof(good)];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!admin_password_verify("pleaseletmein", bad[i]), "accepted %s", bad[i]);
	/* Every truncation, down to nothing. */
	for (i = 0; i + 1 < sizeof(good); i++) {
		memcpy(cut, good, i);
		cut[i] = '\0';
		ck_assert_msg(!admin_password_verify("pleaseletmein", cut), "accepted %s", cut);
	}
	ck_assert(!admin_password_verify("pleaseletmein", NULL));
	ck_assert(!admin_password_verify(NULL, good));
}
END_TEST

/* Strings whose key is right for their parameters (computed with Python's
 * hashlib.scrypt): the bound, not a mismatch, decides. */
START_TEST(verify_bounds)
{
	static const char *const refused[] = {
		/* 128 MiB */
		"$scrypt$ln=17,r=8,p=1$U29kaXVtQ2hsb3JpZGU$LxD82hRTLWVDM0zYmXdkB/8K6HnDcDct5bTjnU0tIe0",
		/* 64 MiB three times over */
		"$scrypt$ln=16,r=8,p=3$U29kaXVtQ2hsb3JpZGU$cWVNLkcPe0F+MFJIMrzNAJRPOaTLukrdEByf7lZiAYM",
		/* too weak to be ours, r and p out of range */
		"$scrypt$ln=9,r=8,p=1$U29kaXVtQ2hsb3JpZGU$del4i/foHostoLlh8s7NzFJj742TGNzXulEGLiS1k5M",
		"$scrypt$ln=10,r=33,p=1$U29kaXVtQ2hsb3JpZGU$ZgeoFmVu4qvn853jj2TMaKSW0F8WArxO5lfxqyG9tMs",
		"$scrypt$ln=10,r=1,p=17$U29kaXVtQ2hsb3JpZGU$LXezAfcXkUACxsOdKr0z9lSaWxGHyVkiCWzSN3Qj3fg",
	};
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ck_assert_msg(!admin_password_verify("pleaseletmein", refused[i]), "accepted %s",
		    refused[i]);
	/* The largest accepted: one step above what we write today. */
	ck_assert(admin_password_verify("pleaseletmein", "$scrypt$ln=16,r=8,p=1$U29kaXVtQ2hsb3JpZGU$"
	    "ErGUyG176nfODFj3snl0pgAKnxh9+LvComPF/SLOPCE"));
}
END_TEST

START_TEST(generated_password)
{
	char a[ADMIN_GENERATED_SIZE], b[ADMIN_GENERATED_SIZE];
	size_t i;

	admin_password_generate(a);
	admin_password_generate(b);
	ck_assert_uint_eq(strlen(a), ADMIN_GENERATED_SIZE - 1);
	ck_assert_str_ne(a, b);
	for (i = 0; a[i]; i++) {
		if (i % 6 == 5)
			ck_assert_int_eq(a[i], '-');
		else
			ck_assert_ptr_nonnull(strchr("23456789abcdefghjkmnpqrstuvwxyz", a[i]));
	}
}
END_TEST

START_TEST(init_once)
{
	char pw[ADMIN_GENERATED_SIZE], again[ADMIN_GENERATED_SIZE];
	int64_t gen = 0;

	ck_assert_int_eq(admin_password_check(db, "anything at all", NULL), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_password_init(db, T0, pw), 1);
	ck_assert_uint_eq(strlen(pw), ADMIN_GENERATED_SIZE - 1);
	ck_assert_int_eq(admin_password_check(db, pw, &gen), RERR_OK);
	ck_assert_int_eq(gen, 1);
	ck_assert_int_eq(admin_password_init(db, T0 + 1, again), 0);
	ck_assert_str_eq(again, "");
	ck_assert_int_eq(admin_password_check(db, pw, NULL), RERR_OK);
	/* Only the hash is stored. */
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM admin_password"
	    " WHERE hash LIKE '$scrypt$ln=15,r=8,p=1$%'"), 1);
}
END_TEST

START_TEST(set_ends_sessions)
{
	struct admin_session s, t, x;
	char tok[ADMIN_TOKEN_LEN + 1];
	int64_t gen = 0, old = 0;

	ck_assert_int_eq(admin_password_set(db, "eleven char", T0), RERR_INVALID);
	ck_assert_int_eq(admin_password_set(db, "twelve chars", T0), RERR_OK);
	{
		char *big = malloc(ADMIN_PASSWORD_MAX + 2);

		memset(big, 'x', ADMIN_PASSWORD_MAX + 1);
		big[ADMIN_PASSWORD_MAX + 1] = '\0';
		ck_assert_int_eq(admin_password_set(db, big, T0), RERR_INVALID);
		big[ADMIN_PASSWORD_MAX] = '\0';
		ck_assert_int_eq(admin_password_set(db, big, T0), RERR_OK);
		free(big);
	}
	ck_assert_int_eq(admin_password_set(db, "first password", T0), RERR_OK);
	ck_assert_int_eq(admin_password_check(db, "first password", &old), RERR_OK);
	ck_assert_int_eq(admin_session_create(db, old, T0, &s), RERR_OK);
	ck_assert_int_eq(admin_session_create(db, old, T0, &t), RERR_OK);
	ck_assert_int_eq(admin_token_create(db, "ci", T0, tok, NULL), RERR_OK);

	ck_assert_int_eq(admin_password_set(db, "second password", T0 + 5), RERR_OK);
	ck_assert_int_eq(admin_session_check(db, s.id, T0 + 6, &x), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_check(db, t.id, T0 + 6, &x), RERR_NOT_FOUND);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM admin_sessions"), 0);
	ck_assert_int_eq(admin_password_check(db, "first password", NULL), RERR_INVALID);
	ck_assert_int_eq(admin_password_check(db, "second password", &gen), RERR_OK);
	ck_assert_int_gt(gen, old);
	/* A login that checked the old password before the change lands
	 * after it: refused. */
	ck_assert_int_eq(admin_session_create(db, old, T0 + 6, &s), RERR_CONFLICT);
	ck_assert_int_eq(admin_session_create(db, gen, T0 + 6, &s), RERR_OK);
	/* Admin tokens are credentials of their own: they survive. */
	ck_assert_int_eq(admin_token_check(db, tok, T0 + 6, NULL), RERR_OK);
}
END_TEST

START_TEST(hostile_row_is_a_wrong_password)
{
	ck_assert_int_eq(admin_password_set(db, "a good password", T0), RERR_OK);
	ck_assert_int_eq(db_exec(db, "UPDATE admin_password SET hash ="
	    " '$scrypt$ln=60,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI'"),
	    RERR_OK);
	ck_assert_int_eq(admin_password_check(db, "a good password", NULL), RERR_INVALID);
	ck_assert_int_eq(db_exec(db, "UPDATE admin_password SET hash = '$scrypt$' || hex(zeroblob(4096))"),
	    RERR_OK);
	ck_assert_int_eq(admin_password_check(db, "a good password", NULL), RERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------- sessions */

/* A session at T0 under a freshly set password. */
static void
login(struct admin_session *s, int64_t now)
{
	int64_t gen;

	if (tl_db_int(db, "SELECT count(*) FROM admin_password") == 0)
		ck_assert_int_eq(admin_password_set(db, "session password", T0), RERR_OK);
	gen = tl_db_int(db, "SELECT generation FROM admin_password");
	ck_assert_int_eq(admin_session_create(db, gen, now, s), RERR_OK);
}

START_TEST(session_create_check)
{
	struct admin_session s, c;
	char q[160];

	login(&s, T0);
	ck_assert_uint_eq(strlen(s.id), ADMIN_SECRET_LEN);
	ck_assert_uint_eq(strlen(s.csrf), ADMIN_SECRET_LEN);
	ck_assert_str_ne(s.id, s.csrf);
	ck_assert_int_eq(s.expires_at, T0 + ADMIN_SESSION_IDLE);
	ck_assert_int_eq(admin_session_check(db, s.id, T0 + 10, &c), RERR_OK);
	ck_assert_str_eq(c.id, s.id);
	ck_assert_str_eq(c.csrf, s.csrf);
	ck_assert_int_eq(c.created_at, T0);
	/* The id itself is not in the database. */
	snprintf(q, sizeof(q), "SELECT count(*) FROM admin_sessions WHERE id_hash = '%s'", s.id);
	ck_assert_int_eq(tl_db_int(db, q), 0);
	ck_assert_int_eq(tl_db_int(db, "SELECT length(id_hash) FROM admin_sessions"), 64);
}
END_TEST

START_TEST(session_tampered)
{
	struct admin_session s, c;
	char id[ADMIN_SECRET_LEN + 2];

	login(&s, T0);
	memcpy(id, s.id, sizeof(s.id));
	id[7] = id[7] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(admin_session_check(db, id, T0, &c), RERR_NOT_FOUND);
	ck_assert_str_eq(c.csrf, "");
	memcpy(id, s.id, sizeof(s.id));
	id[ADMIN_SECRET_LEN - 1] = '\0';	/* one short */
	ck_assert_int_eq(admin_session_check(db, id, T0, &c), RERR_NOT_FOUND);
	memcpy(id, s.id, sizeof(s.id));
	id[ADMIN_SECRET_LEN] = 'x';		/* one long */
	id[ADMIN_SECRET_LEN + 1] = '\0';
	ck_assert_int_eq(admin_session_check(db, id, T0, &c), RERR_NOT_FOUND);
	memcpy(id, s.id, sizeof(s.id));
	id[0] = '%';
	ck_assert_int_eq(admin_session_check(db, id, T0, &c), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_check(db, "", T0, &c), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_check(db, NULL, T0, &c), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_check(db, s.id, T0, &c), RERR_OK);
}
END_TEST

START_TEST(session_idle_expiry_slides)
{
	struct admin_session s, c;

	login(&s, T0);
	/* Within a minute: no write. */
	ck_assert_int_eq(admin_session_check(db, s.id, T0 + 30, &c), RERR_OK);
	ck_assert_int_eq(tl_db_int(db, "SELECT last_seen FROM admin_sessions"), T0);
	ck_assert_int_eq(c.expires_at, T0 + ADMIN_SESSION_IDLE);
	/* Later: the idle expiry moves. */
	ck_assert_int_eq(admin_session_check(db, s.id, T0 + 3600, &c), RERR_OK);
	ck_assert_int_eq(c.last_seen, T0 + 3600);
	ck_assert_int_eq(c.expires_at, T0 + 3600 + ADMIN_SESSION_IDLE);
	ck_assert_int_eq(tl_db_int(db, "SELECT expires_at FROM admin_sessions"),
	    T0 + 3600 + ADMIN_SESSION_IDLE);
	/* Past the slid expiry, not before. */
	ck_assert_int_eq(admin_session_check(db, s.id, T0 + 3600 + ADMIN_SESSION_IDLE - 1, &c),
	    RERR_OK);
	ck_assert_int_eq(admin_session_check(db, s.id,
	    T0 + 3600 + 2 * ADMIN_SESSION_IDLE, &c), RERR_NOT_FOUND);
}
END_TEST

START_TEST(session_absolute_lifetime)
{
	struct admin_session s, c;
	int64_t t;

	login(&s, T0);
	/* Used every 11 hours it never idles out, but ends at the lifetime. */
	for (t = T0 + 11 * 3600; t < T0 + ADMIN_SESSION_LIFETIME; t += 11 * 3600) {
		ck_assert_int_eq(admin_session_check(db, s.id, t, &c), RERR_OK);
		ck_assert_int_le(c.expires_at, T0 + ADMIN_SESSION_LIFETIME);
	}
	ck_assert_int_eq(c.expires_at, T0 + ADMIN_SESSION_LIFETIME);
	ck_assert_int_eq(admin_session_check(db, s.id, T0 + ADMIN_SESSION_LIFETIME, &c),
	    RERR_NOT_FOUND);
}
END_TEST

START_TEST(session_logout_and_purge)
{
	struct admin_session a, b, c, x;

	login(&a, T0);
	login(&b, T0);
	ck_assert_int_eq(admin_session_delete(db, a.id), RERR_OK);
	ck_assert_int_eq(admin_session_check(db, a.id, T0 + 1, &x), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_delete(db, a.id), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_delete(db, "not a session"), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_session_check(db, b.id, T0 + 1, &x), RERR_OK);
	/* b expires at T0 + IDLE; creating c then purges it. */
	login(&c, T0 + ADMIN_SESSION_IDLE);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM admin_sessions"), 1);
	ck_assert_int_eq(admin_session_purge(db, T0 + ADMIN_SESSION_IDLE + 1), 0);
	ck_assert_int_eq(admin_session_purge(db, T0 + 2 * ADMIN_SESSION_IDLE), 1);
	login(&a, T0);
	login(&b, T0);
	ck_assert_int_eq(admin_session_delete_all(db), RERR_OK);
	ck_assert_int_eq(admin_session_check(db, a.id, T0 + 1, &x), RERR_NOT_FOUND);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM admin_sessions"), 0);
}
END_TEST

START_TEST(csrf_compare)
{
	struct admin_session s;
	char t[ADMIN_SECRET_LEN + 2];

	login(&s, T0);
	memcpy(t, s.csrf, sizeof(s.csrf));
	ck_assert(admin_csrf_equal(s.csrf, t));
	t[ADMIN_SECRET_LEN - 1] ^= 1;
	ck_assert(!admin_csrf_equal(s.csrf, t));
	memcpy(t, s.csrf, sizeof(s.csrf));
	t[ADMIN_SECRET_LEN - 1] = '\0';
	ck_assert(!admin_csrf_equal(s.csrf, t));
	memcpy(t, s.csrf, sizeof(s.csrf));
	t[ADMIN_SECRET_LEN] = 'x';
	t[ADMIN_SECRET_LEN + 1] = '\0';
	ck_assert(!admin_csrf_equal(s.csrf, t));
	ck_assert(!admin_csrf_equal(s.csrf, ""));
	ck_assert(!admin_csrf_equal("", ""));
	ck_assert(!admin_csrf_equal(s.csrf, NULL));
	ck_assert(!admin_csrf_equal(NULL, NULL));
}
END_TEST

/* ----------------------------------------------------------- rate limit */

/* One failed login of ip at now; returns what allowed() said. */
static int
fail_once(const char *ip, int64_t now, int64_t *retry)
{
	int r = admin_login_allowed(db, ip, now, retry);

	if (r == 1)
		ck_assert_int_eq(admin_login_record(db, ip, now, false), RERR_OK);
	return r;
}

START_TEST(limit_per_client)
{
	int64_t retry = -1;
	int i;

	for (i = 0; i < ADMIN_LOGIN_PER_CLIENT; i++)
		ck_assert_int_eq(fail_once("203.0.113.7", T0 + 10 * i, &retry), 1);
	ck_assert_int_eq(retry, 0);
	ck_assert_int_eq(fail_once("203.0.113.7", T0 + 100, &retry), 0);
	ck_assert_int_eq(retry, ADMIN_LOGIN_WINDOW - 100);
	/* The same address spelt as IPv4-mapped IPv6 is the same client. */
	ck_assert_int_eq(fail_once("::ffff:203.0.113.7", T0 + 100, &retry), 0);
	/* Another address is not limited. */
	ck_assert_int_eq(fail_once("203.0.113.8", T0 + 100, &retry), 1);
	/* The oldest failure leaves the window: one more try. */
	ck_assert_int_eq(fail_once("203.0.113.7", T0 + ADMIN_LOGIN_WINDOW - 1, &retry), 0);
	ck_assert_int_eq(retry, 1);
	ck_assert_int_eq(fail_once("203.0.113.7", T0 + ADMIN_LOGIN_WINDOW, &retry), 1);
	ck_assert_int_eq(fail_once("203.0.113.7", T0 + ADMIN_LOGIN_WINDOW, &retry), 0);
	ck_assert_int_eq(retry, 10);
	/* Long after, all is forgotten and the old rows are gone. */
	ck_assert_int_eq(admin_login_allowed(db, "203.0.113.7", T0 + 10 * ADMIN_LOGIN_WINDOW, NULL),
	    1);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM login_attempts"), 1);
}
END_TEST

START_TEST(limit_ipv6_prefix)
{
	int i;

	for (i = 0; i < ADMIN_LOGIN_PER_CLIENT; i++) {
		char ip[64];

		snprintf(ip, sizeof(ip), "2001:db8:0:1::%x", i + 1);
		ck_assert_int_eq(fail_once(ip, T0, NULL), 1);
	}
	/* Any address of the same /64 is refused; the next /64 is not. */
	ck_assert_int_eq(fail_once("2001:db8:0:1:ffff:ffff:ffff:ffff", T0, NULL), 0);
	ck_assert_int_eq(fail_once("2001:db8:0:2::1", T0, NULL), 1);
}
END_TEST

START_TEST(limit_success_and_pending)
{
	int i;

	/* Successes do not count. */
	for (i = 0; i < 3 * ADMIN_LOGIN_PER_CLIENT; i++) {
		ck_assert_int_eq(admin_login_allowed(db, "198.51.100.1", T0, NULL), 1);
		ck_assert_int_eq(admin_login_record(db, "198.51.100.1", T0, true), RERR_OK);
	}
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM login_attempts"), 0);
	/* Attempts in flight count, so a burst cannot pass the limit together. */
	for (i = 0; i < ADMIN_LOGIN_PER_CLIENT; i++)
		ck_assert_int_eq(admin_login_allowed(db, "198.51.100.1", T0, NULL), 1);
	ck_assert_int_eq(admin_login_allowed(db, "198.51.100.1", T0, NULL), 0);
	/* One succeeds: its slot frees. */
	ck_assert_int_eq(admin_login_record(db, "198.51.100.1", T0, true), RERR_OK);
	ck_assert_int_eq(admin_login_allowed(db, "198.51.100.1", T0, NULL), 1);
	/* Unknown or missing addresses share one bucket. */
	for (i = 0; i < ADMIN_LOGIN_PER_CLIENT; i++)
		ck_assert_int_eq(fail_once(i % 2 ? "not an address" : NULL, T0, NULL), 1);
	ck_assert_int_eq(fail_once("", T0, NULL), 0);
}
END_TEST

START_TEST(limit_global)
{
	char ip[32];
	int64_t retry = 0;
	int i;

	for (i = 0; i < ADMIN_LOGIN_GLOBAL; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		ck_assert_int_eq(fail_once(ip, T0 + i, NULL), 1);
	}
	ck_assert_int_eq(fail_once("198.51.100.200", T0 + 200, &retry), 0);
	ck_assert_int_eq(retry, ADMIN_LOGIN_WINDOW - 200);
	ck_assert_int_eq(fail_once("198.51.100.200", T0 + ADMIN_LOGIN_WINDOW, &retry), 1);
}
END_TEST

/* ---------------------------------------------------------------- tokens */

START_TEST(tokens)
{
	char tok[ADMIN_TOKEN_LEN + 1], other[ADMIN_TOKEN_LEN + 1], bad[ADMIN_TOKEN_NAME_MAX + 2];
	struct admin_token *list = NULL;
	int64_t id = 0, got = 0, id2 = 0;
	size_t n = 0;

	ck_assert_int_eq(admin_token_create(db, "ci", T0, tok, &id), RERR_OK);
	ck_assert_int_eq(admin_token_create(db, NULL, T0 + 1, other, &id2), RERR_OK);
	ck_assert_uint_eq(strlen(tok), ADMIN_TOKEN_LEN);
	ck_assert_int_eq(strncmp(tok, "rsa_", 4), 0);
	ck_assert_str_ne(tok, other);
	ck_assert_int_eq(tl_db_int(db, "SELECT count(*) FROM admin_tokens WHERE token_hash LIKE 'rsa_%'"),
	    0);

	ck_assert_int_eq(admin_token_check(db, tok, T0 + 100, &got), RERR_OK);
	ck_assert_int_eq(got, id);
	ck_assert_int_eq(tl_db_int(db, "SELECT last_used FROM admin_tokens WHERE name = 'ci'"), T0 + 100);
	ck_assert_int_eq(admin_token_check(db, tok, T0 + 130, NULL), RERR_OK);
	ck_assert_int_eq(tl_db_int(db, "SELECT last_used FROM admin_tokens WHERE name = 'ci'"), T0 + 100);

	memcpy(other, tok, sizeof(tok));
	other[10] = other[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(admin_token_check(db, other, T0, NULL), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_token_check(db, tok + 4, T0, NULL), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_token_check(db, "rsa_", T0, NULL), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_token_check(db, NULL, T0, NULL), RERR_NOT_FOUND);

	ck_assert_int_eq(admin_token_list(db, &list, &n), RERR_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(list[0].id, id);
	ck_assert_str_eq(list[0].name, "ci");
	ck_assert_int_eq(list[0].created_at, T0);
	ck_assert_int_eq(list[0].last_used, T0 + 100);
	ck_assert_str_eq(list[1].name, "");
	ck_assert_int_eq(list[1].last_used, 0);
	free(list);

	ck_assert_int_eq(admin_token_revoke(db, id), RERR_OK);
	ck_assert_int_eq(admin_token_check(db, tok, T0 + 200, NULL), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_token_revoke(db, id), RERR_NOT_FOUND);
	ck_assert_int_eq(admin_token_list(db, &list, &n), RERR_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0].id, id2);
	free(list);

	ck_assert_int_eq(admin_token_create(db, "two\nlines", T0, tok, NULL), RERR_INVALID);
	ck_assert_str_eq(tok, "");
	ck_assert_int_eq(admin_token_create(db, "\x1b[31mred", T0, tok, NULL), RERR_INVALID);
	ck_assert_int_eq(admin_token_create(db, "\xff", T0, tok, NULL), RERR_INVALID);
	memset(bad, 'n', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	ck_assert_int_eq(admin_token_create(db, bad, T0, tok, NULL), RERR_INVALID);
	bad[ADMIN_TOKEN_NAME_MAX] = '\0';
	ck_assert_int_eq(admin_token_create(db, bad, T0, tok, NULL), RERR_OK);
}
END_TEST

Suite *
suite(void)
{
	Suite *s = suite_create("admin_auth");
	TCase *tc = tcase_create("core");

	log_open(NULL, LOG_ERROR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hash_round_trip);
	tcase_add_test(tc, verify_known_answer);
	tcase_add_test(tc, verify_refuses_hostile);
	tcase_add_test(tc, verify_bounds);
	tcase_add_test(tc, generated_password);
	tcase_add_test(tc, init_once);
	tcase_add_test(tc, set_ends_sessions);
	tcase_add_test(tc, hostile_row_is_a_wrong_password);
	tcase_add_test(tc, session_create_check);
	tcase_add_test(tc, session_tampered);
	tcase_add_test(tc, session_idle_expiry_slides);
	tcase_add_test(tc, session_absolute_lifetime);
	tcase_add_test(tc, session_logout_and_purge);
	tcase_add_test(tc, csrf_compare);
	tcase_add_test(tc, limit_per_client);
	tcase_add_test(tc, limit_ipv6_prefix);
	tcase_add_test(tc, limit_success_and_pending);
	tcase_add_test(tc, limit_global);
	tcase_add_test(tc, tokens);
	suite_add_tcase(s, tc);
	return s;
}
